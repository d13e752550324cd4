import CPingPong
import HJ212
import Testing

/// The baseline client of `bench load` gives each connection its own MN (a platform keeps state
/// per MN; one MN for 10,000 connections would measure a platform with one logger).
@Suite struct PingPongClientTests {
    static let frame = Array(("##0101QN=20261130080000000;ST=32;CN=2011;PW=123456;MN=0100AD000000000000000000;Flag=5;CP=&&"
                              + "DataTime=20261130080000;w01018-Rtd=12.5,w01018-Flag=N&&").utf8)

    /// A frame with a correct length and CRC around `body`.
    static func framed(_ segment: [UInt8]) -> [UInt8] {
        let length = String(segment.count)
        let crc = String(CRC.hj212(segment), radix: 16, uppercase: true)
        return Array("##".utf8) + Array((String(repeating: "0", count: 4 - length.count) + length).utf8) + segment
            + Array((String(repeating: "0", count: 4 - crc.count) + crc).utf8) + [13, 10]
    }

    func clientFrame(_ frame: [UInt8], _ index: UInt32) -> (Int32, [UInt8]) {
        var out = [UInt8](repeating: 0, count: frame.count)
        let r = frame.withUnsafeBufferPointer { f in out.withUnsafeMutableBufferPointer { pp_client_frame(f.baseAddress, f.count, index, $0.baseAddress) } }
        return (r, out)
    }

    @Test func eachConnectionSendsItsOwnMNWithAValidCRC() throws {
        let frame = Self.framed(Array(Self.frame.dropFirst(6)))
        var seen: Set<String> = []
        for index: UInt32 in [0, 1, 15, 16, 4095, 10_000, 0xABCD_EF12, .max] {
            let (r, out) = clientFrame(frame, index)
            #expect(r == 1)
            var decoder = FrameDecoder()
            decoder.feed(out)
            guard case .frame(let raw)? = decoder.next() else { Issue.record("not a frame"); continue }
            #expect(CRC.parseHex(raw.crcBytes) == CRC.hj212(raw.segmentBytes))
            let segment = SegmentParser.parse(raw.segmentBytes).segment
            let mn = try #require(segment.mn)
            let hex = String(index, radix: 16, uppercase: true)
            #expect(mn == "0100AD0000000000" + String(repeating: "0", count: 8 - hex.count) + hex)
            // Only the MN's last eight characters and the CRC differ from the template.
            #expect(zip(out, frame).filter { $0 != $1 }.count <= 12)
            seen.insert(mn)
        }
        #expect(seen.count == 8)
    }

    @Test func aFrameWithoutALongEnoughMNIsSentAsItIs() {
        let noMN = Self.framed(Array("QN=20261130080000000;ST=32;CN=2011;PW=123456;Flag=5;CP=&&&&".utf8))
        let shortMN = Self.framed(Array("QN=20261130080000000;ST=32;CN=2011;PW=123456;MN=1234567;Flag=5;CP=&&&&".utf8))
        for frame in [noMN, shortMN, Array("##00".utf8)] {
            let (r, out) = clientFrame(frame, 7)
            #expect(r == 0)
            #expect(out == frame)
        }
    }
}
