@testable import HJ212
@testable import HJRoles
import Testing
import TestSupport

/// The shortcuts of the platform's per-packet path (session 12) give what the general code gives:
/// the header read in one pass, the remembered role of a CN, the 9014 written as bytes.
@Suite("Platform per-packet shortcuts")
struct PlatformHotPathTests {
    @Test("HeaderFields finds what DataSegment.header(name) finds, first of each name, on random headers")
    func headerFieldsMatchTheSegment() {
        var rng = SplitMix64(seed: 12)
        let names = ["QN", "ST", "CN", "PW", "MN", "Flag", "PNUM", "PNO", "QX", "NM", "Fla", "Flags", "FLAG", "pw", "", "CP", "PNUM2"]
        for _ in 0..<2_000 {
            var header: [Field] = []
            for _ in 0..<rng.below(9) {
                let name = names[rng.below(names.count)]
                let value = rng.below(4) == 0 ? "" : String(rng.below(400)) + (rng.below(3) == 0 ? "x" : "")
                header.append(Field(name, value))
            }
            let segment = DataSegment(header: header, cp: nil)
            let head = HeaderFields(segment)
            #expect(head.qn == segment.qn && head.st == segment.st && head.cn == segment.cn)
            #expect(head.pw == segment.pw && head.mn == segment.mn)
            #expect(head.flagText == segment.header("Flag") && head.pnumText == segment.header("PNUM"))
            #expect(head.flag == segment.flag, "\(header)")
            #expect(head.isSplit == ((segment.flag?.isSplit ?? false) || segment.header("PNUM") != nil))
        }
    }

    /// A 2017 or 2025 upload or notification as the logger sends it.
    static func frame(cn: String, qn: String, flag: Int, mn: String = "010000A8900016F000169DC0", cp: String = "DataTime=20261130080000;w01018-Rtd=12.5,w01018-Flag=N") -> [UInt8] {
        FrameEncoder.frame("QN=\(qn);ST=32;CN=\(cn);PW=123456;MN=\(mn);Flag=\(flag);CP=&&\(cp)&&")
    }

    @Test("the remembered role follows the CN and the dialect from packet to packet")
    func roleFollowsTheCN() throws {
        let state = try PlatformState()
        var session = PlatformSession(state: state, peer: "127.0.0.1:40000", options: {
            var o = PlatformSession.Options()
            o.answerTimeRequests = false
            return o
        }())
        // 2011 upload, 9014 (a platform's code: unexpected), 2011, 1013 notification, 2011 of
        // 2025 (Flag 9), 2051, and a CN a logger does not send (1000: a request).
        let packets: [(cn: String, flag: Int)] = [("2011", 5), ("9014", 5), ("2011", 5), ("1013", 5), ("2011", 9), ("2051", 5), ("1000", 5), ("2011", 5)]
        var acks: [String] = []
        for (i, p) in packets.enumerated() {
            let out = session.received(Self.frame(cn: p.cn, qn: "2026113008000000\(i)", flag: p.flag), at: 1_000 + SessionTime(i))
            for case .send(let bytes, _) in out {
                let raw = try #require(FrameDecoder.frames(in: bytes).first)
                acks.append(SegmentParser.parse(raw.segmentBytes).segment.cn ?? "?")
            }
        }
        #expect(acks == ["9014", "9014", "9013", "9014", "9014", "9014"])
        #expect(state.counters.unexpected == 2)
        #expect(state.counters.records == 5)
    }

    @Test("the 9014 and 9013 written as bytes are the frames of replySegment, for 2017 and 2025",
          arguments: [(5, "2011"), (9, "2011"), (5, "1013"), (9, "2051"), (5, "2061")])
    func ackBytesAreTheReplySegment(flag: Int, cn: String) throws {
        let state = try PlatformState()
        var session = PlatformSession(state: state, peer: "127.0.0.1:40000")
        let bytes = Self.frame(cn: cn, qn: "20261130080000123", flag: flag, mn: "0100AD0000000000000000FF")
        let out = session.received(bytes, at: 1_000)
        let sent = out.compactMap { o -> [UInt8]? in if case .send(let b, _) = o { b } else { nil } }
        let request = SegmentParser.parse(try #require(FrameDecoder.frames(in: bytes).first).segmentBytes).segment
        let reply = replySegment(cn: cn == "1013" ? "9013" : "9014", to: request, cp: [], version: flag >> 2)
        #expect(sent.first.map { String(decoding: $0, as: UTF8.self) } == String(decoding: FrameEncoder.frame(reply), as: UTF8.self))
    }

    @Test("one commit of many packets and records, new units between them: each record counts for its own unit")
    func recordsFindTheirUnitsInABatch() throws {
        let state = try PlatformState()
        var outputs: [PlatformOutput] = []
        var segments: [DataSegment] = []
        // 300 new MNs (the units dictionary grows, and moves, several times within the batch);
        // each packet's record comes right after it, two packets later, or never.
        for i in 0..<300 {
            let mn = "0100AD" + String(String(i, radix: 16, uppercase: true).reversed()).padding(toLength: 18, withPad: "0", startingAt: 0)
            let raw = try #require(FrameDecoder.frames(in: Self.frame(cn: "2011", qn: "20261130080000\(100 + i)", flag: 5, mn: mn)).first)
            let segment = SegmentParser.parse(raw.segmentBytes).segment
            segments.append(segment)
            outputs.append(.packetAccepted(AcceptedPacket(frame: raw.bytes, segment: segment, time: 1_000, peer: "p", dialect: .hj2017)))
            switch i % 3 {
            case 0: outputs.append(.recordAccepted(AcceptedRecord(segment: segment, time: 1_000)))
            case 1: if i >= 2 { outputs.append(.recordAccepted(AcceptedRecord(segment: segments[i - 2], time: 1_000))) }
            default: break
            }
        }
        state.commit(outputs)
        let units = state.units
        #expect(units.count == 300)
        for (i, segment) in segments.enumerated() {
            let unit = try #require(units[segment.mn ?? ""])
            #expect(unit.packetsByCN["2011"] == 1)
            let records = (i % 3 == 0 ? 1 : 0) + (i + 2 < 300 && (i + 2) % 3 == 1 ? 1 : 0)
            #expect(unit.recordsByCN["2011", default: 0] == records, "unit \(i)")
            #expect((unit.lastRecords["2011"] != nil) == (records > 0))
        }
    }
}

