import HJ212
import HJSimulation
import Testing
@testable import HJRoles

/// `LoggerSession.sendUpload` reads a queued packet's header bytes (QN, CN, PW, Flag) instead of
/// parsing its segment, and keeps the CN and QN of what is in flight apart from the packet. A
/// session fed the packets as bytes only must therefore send, resend, match acknowledgements and
/// give up exactly as one fed the same packets as built segments (the path that parses), for
/// every unit template, through a password change (1072: the old bytes are re-framed), resends
/// past OverTime and a reconnect.
@Suite struct LoggerSessionFastPathTests {
    static let start = HJTime(year: 2026, month: 11, day: 30, hour: 10).wallMilliseconds

    /// Two sessions side by side: `fast` gets each packet as bytes only, `parsed` as a segment only.
    struct Pair {
        var fast: LoggerSession
        var parsed: LoggerSession
        var log: [String] = []

        init(template: UnitTemplate) throws {
            let identity = LoggerIdentity(mn: "010000A8900016F000169DC0", pw: "123456")
            func session() throws -> LoggerSession {
                let sim = try UnitSimulator(template: template, identity: identity, seed: 3, start: LoggerSessionFastPathTests.start)
                return LoggerSession(device: LoggerDevice(simulator: sim))
            }
            fast = try session()
            parsed = try session()
        }

        /// Both sessions' outputs must be the same; the fast session's are returned.
        @discardableResult
        mutating func same(_ step: String, _ body: (inout LoggerSession) -> [LoggerOutput]) -> [LoggerOutput] {
            let a = body(&fast), b = body(&parsed)
            #expect(a.map(\.described) == b.map(\.described), "\(step)")
            log.append(step)
            return a
        }

        func enqueue(_ p: GeneratedPacket) {
            fast.link.enqueue(GeneratedPacket(time: p.time, cn: p.cn, bytes: p.bytes))
            parsed.link.enqueue(GeneratedPacket(time: p.time, cn: p.cn, segment: p.segment, bytes: []))
        }
    }

    /// The 9014 of every awaited upload in `outputs`.
    static func acks(_ outputs: [LoggerOutput]) -> [[UInt8]] {
        var out: [[UInt8]] = []
        for case .send(let bytes, .upload(_, _, _, true)) in outputs {
            guard let segment = TestFrames.segments(bytes).first else { continue }
            out.append(FrameEncoder.frame(replySegment(cn: "9014", to: segment, cp: [])))
        }
        return out
    }

    @Test(arguments: ["industrial-wastewater", "industrial-boiler", "msw-incinerator", "thermal-power", "voc-process",
                      "wwtp-inlet", "wwtp-outlet", "np-wastewater", "hazardous-waste-incinerator"])
    func bytesOnlyPacketsBehaveAsSegments(_ name: String) throws {
        let template = try UnitTemplate.load(name)
        var source = try UnitSimulator(template: template, identity: LoggerIdentity(mn: "010000A8900016F000169DC0", pw: "123456"),
                                       seed: 9, start: Self.start)
        var packets: [GeneratedPacket] = []
        source.advance(to: Self.start + 3_600_000) { packets.append($0) }
        #expect(packets.count > 100)
        var pair = try Pair(template: template)
        var now = Self.start
        var sent = pair.same("connect") { $0.connected(at: now) }
        for (i, p) in packets.enumerated() {
            pair.enqueue(p)
            now += 1_000
            var next: [LoggerOutput] = []
            // Two steps of three acknowledge what was sent; the third leaves it to run past
            // OverTime, to be resent by a later tick (and acknowledged then).
            if i % 3 != 0 {
                for ack in Self.acks(sent) { next += pair.same("ack \(i)") { $0.received(ack, at: now) } }
            }
            if i % 40 == 39 { now += 11_000 }
            next += pair.same("tick \(i)") { $0.tick(at: now) }
            if i == packets.count / 2 {
                // 1072 (ST of the unit, as a platform sends it): a new password; what is queued
                // was made with the old one and is re-framed.
                let request = DataSegment(header: [Field("QN", "20261130100000123"), Field("ST", template.st), Field("CN", "1072"), Field("PW", "123456"),
                                                   Field("MN", "010000A8900016F000169DC0"), Field("Flag", "5")],
                                          cp: [[Field("NewPW", "654321")]])
                next += pair.same("1072") { $0.received(FrameEncoder.frame(request), at: now) }
                #expect(pair.fast.password == "654321")
            }
            if i == packets.count * 3 / 4 {
                _ = pair.same("disconnect") { $0.disconnected(at: now); return [] }
                next = pair.same("reconnect") { $0.connected(at: now) }
            }
            sent = next
        }
        for _ in 0..<20 {
            now += 1_000
            var next: [LoggerOutput] = []
            for ack in Self.acks(sent) { next += pair.same("drain ack") { $0.received(ack, at: now) } }
            sent = next + pair.same("drain tick") { $0.tick(at: now) }
        }
        #expect(pair.fast.statistics == pair.parsed.statistics)
        #expect(pair.fast.statistics.acknowledged > packets.count / 2)
        #expect(pair.fast.statistics.resent > 0)
        #expect(pair.fast.pendingCount == pair.parsed.pendingCount)
    }

    /// A queued packet that lacks a header field the fast path reads goes through the parsed
    /// segment (and is sent as before).
    @Test func incompleteHeaderTakesTheParsedPath() {
        #expect(LoggerSession.plainHeader(Array("QN=20261130100000123;ST=32;CN=2011;PW=123456;MN=1;Flag=5;CP=&&&&".utf8)) != nil)
        #expect(LoggerSession.plainHeader(Array("QN=20261130100000123;ST=32;CN=2011;MN=1;Flag=5;CP=&&&&".utf8)) == nil)
        #expect(LoggerSession.plainHeader(Array("ST=32;CN=2011;PW=123456;MN=1;Flag=5;CP=&&&&".utf8)) == nil)
        #expect(LoggerSession.plainHeader(Array("QN=20261130100000123;ST=32;CN=2011;PW=123456;MN=1;Flag=x;CP=&&&&".utf8)) == nil)
        #expect(LoggerSession.plainHeader([]) == nil)
    }
}

extension LoggerOutput {
    /// Every part of an output, for comparing two sessions.
    var described: String {
        switch self {
        case .send(let bytes, let tag): "send \(String(decoding: bytes, as: UTF8.self)) \(tag)"
        default: String(describing: self)
        }
    }
}

/// Frames of a byte string decoded into segments.
enum TestFrames {
    static func segments(_ bytes: [UInt8]) -> [DataSegment] {
        FrameDecoder.frames(in: bytes).map { SegmentParser.parse($0.segmentBytes).segment }
    }
}
