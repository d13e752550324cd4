import Testing
import TestSupport
@testable import HJ212

/// The zero-copy header view agrees with `SegmentParser` (the reference reading) on every field,
/// on the shared vectors, on hand-made edge cases and on random byte strings.
@Suite struct SegmentHeaderViewTests {
    /// Every header field and the CP area of the view, compared with the parser's reading.
    static func agree(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
        let view = SegmentHeaderView(bytes)
        let parsed = SegmentParser.parse(bytes)
        let s = parsed.segment
        for (name, range) in [("QN", view.qn), ("ST", view.st), ("CN", view.cn), ("PW", view.pw), ("MN", view.mn),
                              ("Flag", view.flag), ("PNUM", view.pnum), ("PNO", view.pno)] {
            #expect(view.text(range) == s.header(name), "\(name) of \(String(decoding: bytes, as: UTF8.self).debugDescription)",
                    sourceLocation: sourceLocation)
        }
        #expect(view.cp == parsed.cpArea, "CP area of \(String(decoding: bytes, as: UTF8.self).debugDescription)", sourceLocation: sourceLocation)
        if let cn = s.cn { #expect(view.isCN(CommandCode(cn)), sourceLocation: sourceLocation) }
        #expect(view.command == s.command, sourceLocation: sourceLocation)
        if let st = s.st { #expect(view.isST(SystemType(st)), sourceLocation: sourceLocation) }
        if let qn = s.qn, qn.count == 17, qn.utf8.allSatisfy({ (48...57).contains($0) }) {
            #expect(view.qnNumber == Int64(qn), sourceLocation: sourceLocation)
        } else {
            #expect(view.qnNumber == nil, sourceLocation: sourceLocation)
        }
        if let f = s.header("Flag"), f.utf8.count <= 3, f.utf8.allSatisfy({ (48...57).contains($0) }), !f.isEmpty {
            #expect(view.flagNumber == Int(f) && view.packetFlag == s.flag, sourceLocation: sourceLocation)
        } else {
            #expect(view.flagNumber == nil, sourceLocation: sourceLocation)
        }
        #expect(view.mnBytes.map { String(decoding: $0, as: UTF8.self) } == s.mn, sourceLocation: sourceLocation)
    }

    @Test(arguments: Vectors.appendix) func appendixVectors(_ v: Vectors.Appendix) throws {
        var d = FrameDecoder()
        d.feed(Array((v.frame + "\r\n").utf8))
        guard case .frame(let f)? = d.next() else { Issue.record("no frame"); return }
        Self.agree(Array(f.segmentBytes))
        let view = SegmentHeaderView(f.segmentBytes)
        #expect(view.isCN(CommandCode(v.cn)))
        #expect(view.bytes.startIndex == f.segment.lowerBound, "a view over the frame's own storage")
        let whole = try #require(SegmentHeaderView(frame: f.bytes))
        #expect(whole.text(whole.qn) == view.text(view.qn) && whole.cp.map(\.count) == view.cp.map(\.count))
    }

    @Test(arguments: Vectors.malformed) func malformedVectors(_ v: Vectors.Malformed) {
        let bytes = Array(v.frame.utf8)
        var d = FrameDecoder()
        d.feed(bytes + [13, 10])
        while let event = d.next() {
            if case .frame(let f) = event { Self.agree(Array(f.segmentBytes)) }
        }
        // The text between ## + length and the CRC, however broken, as a segment.
        if bytes.count > 10 { Self.agree(Array(bytes[6..<(bytes.count - 4)])) }
    }

    @Test func noiseStreamVector() throws {
        let bytes = try Vectors.bytes("stream-with-noise.txt")
        var d = FrameDecoder()
        d.feed(bytes)
        var n = 0
        while let event = d.next() {
            if case .frame(let f) = event { Self.agree(Array(f.segmentBytes)); n += 1 }
        }
        #expect(n > 0)
    }

    @Test(arguments: [
        "",
        "CP=&&&&",
        "CP=&&a=1&&;QN=20260101000000001",
        "QN=20260101000000001;;ST=91;;CN=9014;CP=&&&&",
        "QN=20260101000000001;QN=20260101000000002;CN=9014;CN=2011;CP=&&&&",
        " QN = 20260101000000001 ; ST= 91;CN =9014 ,Flag=4,CP=&&&&",
        "QN=20260101000000001;CN=9014;MN=ABCP=&&x;CP=&&y&&",
        "QN=20260101000000001;CN=9014;CP=a=1",
        "QN=20260101000000001;CN=9014;CP=&a=1&&",
        "QN=20260101000000001;CN=9014;CP=&&a=1&&zz",
        "QN=20260101000000001;CN=9014;CP=&&a=//x&&y//&&zz",
        "QN=20260101000000001;CN=9014;CP=&&",
        "QN=20260101000000001;CN=9014;CP=",
        "QN;ST;CN=;=x;Flag=;PNUM=2;PNO=1;CP=&&&&",
        "Flag=0004;Flag=4;QN=2026010100000000;CN=90140",
        "QN=2026010100000000x;Flag=+4;CN=9o14",
        "QN=20260101000000001;ST=32;CN=2011;PW=123456;MN=010000A8900016F000169DC0;Flag=5;CP=&&DataTime=20260101000000;w01018-Rtd=2.2&&",
    ])
    func edgeCases(_ text: String) {
        Self.agree(Array(text.utf8))
    }

    @Test func firstOccurrenceWinsLikeTheParser() {
        let v = SegmentHeaderView(Array("QN=20260101000000001;QN=20260101000000002;ST=32;ST=91;CN=9014;CN=2011;CP=&&&&".utf8))
        #expect(v.qnNumber == 20260101000000001)
        #expect(v.isCN(.dataReply) && !v.isCN(.realTimeData))
        #expect(!v.isST(.systemInteraction))
    }

    @Test func plainAcknowledgement() {
        func qn(_ s: String) -> String? { SegmentHeaderView(Array(s.utf8)).plainAcknowledgementQN }
        #expect(qn("QN=20260101000000001;ST=91;CN=9014;PW=1;MN=2;Flag=4;CP=&&&&") == "20260101000000001")
        #expect(qn("ST=91;CN=9014;QN=7;CP=&&&&") == "7", "QN anywhere in the header")
        #expect(qn("QN=1;CN=9014;CP=&&QN=2&&") == nil, "data in CP: not plain")
        #expect(qn("QN=1;CN=9014;CP=&&&&x") == nil, "bytes after CP")
        #expect(qn("QN=1;CN=9014;CP=&&") == nil, "unterminated CP")
        #expect(qn("QN=;CN=9014;CP=&&&&") == nil, "empty QN")
        #expect(qn("CN=9014;CP=&&&&") == nil, "no QN")
        #expect(qn("QN=1;CN=9013;CP=&&&&") == nil, "a 9013 is not a data acknowledgement")
        #expect(qn("QN=1;CN=90140;CP=&&&&") == nil)
    }

    @Test func wholeFrames() throws {
        let frame = FrameEncoder.frame(SegmentParser.parse("QN=20260101000000123;ST=32;CN=2011;PW=123456;MN=AB;Flag=5;CP=&&DataTime=20260101000000&&").segment)
        let v = try #require(SegmentHeaderView(frame: frame))
        #expect(v.qnNumber == 20260101000000123 && v.isCN(.realTimeData) && v.isST(.waterPollutionSource) && v.flagNumber == 5)
        #expect(v.mnBytes.map(Array.init) == Array("AB".utf8))
        #expect(SegmentHeaderView(frame: Array("##01".utf8)) == nil)
        #expect(SegmentHeaderView(frame: Array("##0x10QN=1".utf8)) == nil)
        #expect(SegmentHeaderView(frame: Array("##0100QN=1".utf8)) == nil, "shorter than its length")
        #expect(SegmentHeaderView(frame: Array("#!0000".utf8)) == nil)
        #expect(SegmentHeaderView(frame: Array("##0000".utf8))?.qn == nil)
    }

    /// Random mutations of real segments (the kinds of damage seen in the field) and random bytes:
    /// never a trap, and always the parser's reading.
    @Test func randomInputsAgreeAndNeverTrap() {
        var rng = SplitMix64(seed: 212)
        let seeds = Vectors.appendix.map { v -> [UInt8] in
            let b = Array(v.frame.utf8)
            return Array(b[6..<(b.count - 4)])
        } + [Array("QN=20260101000000001;ST=91;CN=9014;PW=1;MN=2;Flag=4;CP=&&&&".utf8)]
        let alphabet = Array("QNSTCPWMFlagUO=;,& /0123456789".utf8)
        for round in 0..<20_000 {
            var b: [UInt8]
            if round % 5 == 0 {
                b = (0..<Int(rng.next() % 64)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
            } else {
                b = seeds[Int(rng.next() % UInt64(seeds.count))]
                for _ in 0..<(1 + Int(rng.next() % 4)) where !b.isEmpty {
                    let at = Int(rng.next() % UInt64(b.count))
                    switch rng.next() % 4 {
                    case 0: b[at] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
                    case 1: b.remove(at: at)
                    case 2: b.insert(alphabet[Int(rng.next() % UInt64(alphabet.count))], at: at)
                    default: b.insert(contentsOf: b[at..<min(b.count, at + 8)], at: at)
                    }
                }
            }
            Self.agree(b)
        }
    }

    /// A view over a slice in the middle of a larger buffer reports ranges in that buffer.
    @Test func rangesIndexTheGivenStorage() {
        let buffer = Array("xxxxQN=20260101000000001;CN=9014;CP=&&&&yyyy".utf8)
        let v = SegmentHeaderView(buffer[4..<(buffer.count - 4)])
        #expect(v.qn == 7..<24 && v.cn == 28..<32 && v.cpStart == 33 && v.isCPEmpty)
    }
}

