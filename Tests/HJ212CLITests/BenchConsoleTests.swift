import Testing
@testable import HJ212
@testable import HJ212CLI
import TestSupport

/// The pieces of `bench console` that can be wrong without a running city: the probe's packet
/// and the HTTP client's chunked decoding.
@Suite struct BenchConsoleTests {
    @Test func probePacketIsAValidFlaggedMinuteRecord() throws {
        let frame = ConsoleBenchmark.minuteFrame(time: 1_764_000_000_000, flag: "D", qnOffset: 3)
        var decoder = FrameDecoder()
        decoder.feed(frame)
        guard case .frame(let raw)? = decoder.next() else { Issue.record("not a frame"); return }
        #expect(CRC.parseHex(raw.crcBytes) == CRC.hj212(raw.segmentBytes))
        let segment = SegmentParser.parse(raw.segmentBytes).segment
        #expect(segment.command == .minuteData)
        #expect(segment.mn == ConsoleBenchmark.probeMN)
        #expect(segment.cpValue("w01018-Flag") == "D")
        let errors = try Linter(options: LintOptions(dialect: .hj2017)).check(raw, index: 0).diagnostics.filter { $0.severity == .error }
        #expect(errors.isEmpty, "\(errors)")
    }

    @Test func chunkedBodiesAreJoined() {
        let body = Array("4\r\nWiki\r\n6;ext=1\r\npedia \r\n0\r\n\r\n".utf8)
        #expect(HTTPGet.dechunk(body) == Array("Wikipedia ".utf8))
        #expect(HTTPGet.dechunk(Array("zz\r\n".utf8)) == nil)
        #expect(HTTPGet.dechunk(Array("9\r\nabc".utf8)) == nil)
    }
}
