import Foundation
import HJ212
import HJConformance
import HJNetwork
import HJRoles
import Synchronization
import Testing
@testable import HJ212CLI
import TestSupport

/// A platform played by a script over every frame it receives (the tool's own replies
/// 9011–9014 excluded): the script answers with actions, each reply sent after its own delay,
/// or a close. It plays the misbehaviours of review 20 (`/tmp/rev20/fake.py`): late
/// acceptances of bad packets, refusals of everything, closes on any frame, a refused dialect,
/// silence, a backlog.
final class MisbehavingPlatform: @unchecked Sendable {
    // Sendable: `port` is immutable; each handler touches only its own state on its loop.
    let group: EventLoopGroup
    let server: TCPServer
    let port: UInt16
    static let mn = "010000A8900016F000169DC0"
    static let pw = "123456"

    /// A frame received, with what a platform judges it by.
    struct Incoming: Sendable {
        var segment: DataSegment
        var crcOK: Bool
        var lengthOK: Bool
        /// Bytes of the data segment.
        var size: Int
        /// The connection's number (0 for the first accepted) and the frame's on it.
        var connection: Int
        var index: Int

        /// The registered logger, a right CRC and length, at most 1024 bytes, A=1.
        var isGood: Bool {
            crcOK && lengthOK && size <= 1024 && segment.mn == MisbehavingPlatform.mn && segment.pw == MisbehavingPlatform.pw
                && (segment.flag?.needsAck ?? false)
        }
    }

    enum Action: Sendable {
        /// Sends the segment `after` seconds (on this connection, if still open).
        case reply(DataSegment, after: Double)
        case close
        /// Closes with a reset (`SO_LINGER` 0: an RST instead of a FIN).
        case reset
    }

    init(_ script: @escaping @Sendable (Incoming) -> [Action]) throws {
        group = try EventLoopGroup(threads: 1, name: "misbehaving-platform")
        let counter = Atomic<Int>(0)
        server = try TCPServer.start(on: .loopback(port: 0), group: group) { _ in
            Handler(connection: counter.add(1, ordering: .relaxed).oldValue, script)
        }
        port = server.localAddress.port
    }

    func stop() {
        _ = server.stopAndWait(timeout: .seconds(3))
        group.shutdown()
    }

    /// `check platform` against it (JSON report parsed).
    func check(_ extra: [String], overTime: String = "0.4") throws -> (status: Int32, json: JSONValue, out: String) {
        let r = hj212(["check", "platform", "127.0.0.1:\(port)", "--mn", Self.mn, "--pw", Self.pw, "--overtime", overTime,
                       "--command-window", "0.3", "--format", "json"] + extra)
        let json = try JSONValue.parse(r.out)
        // Every message these platforms draw out reads in Chinese in a --lang zh report (review 20, F10).
        let catalogue = try RuleCatalogue.load().messages
        let english = (json["checks"]?.array ?? []).compactMap { $0["message"]?.string }.filter { hasEnglish(catalogue.localized($0, .zh)) }
        #expect(english.isEmpty, "not in Chinese: \(english.map { catalogue.localized($0, .zh) })")
        return (r.status, json, r.out + r.err)
    }

    static func result(_ json: JSONValue, _ id: String) -> (verdict: String, raw: String, message: String) {
        let c = json["checks"]?.array.first { $0["id"]?.string == id }
        return (c?["verdict"]?.string ?? "missing", c?["raw_verdict"]?.string ?? c?["verdict"]?.string ?? "missing", c?["message"]?.string ?? "")
    }

    /// A proper acknowledgement (9013 for 1013/9015, else 9014) in the HJ 212-2017 form.
    static func ack(_ s: DataSegment) -> DataSegment {
        var request = s
        if request.qn == nil, let qn = s.cpValue("QN") { request.header.insert(Field("QN", qn), at: 0) }
        return replySegment(cn: s.cn == "1013" || s.cn == "9015" ? "9013" : "9014", to: request, cp: [], version: 1)
    }

    /// A 9011 with this QnRtn (echoing the QN, from the header or, for HJ/T 212-2005, from CP).
    static func refusal(_ s: DataSegment, _ code: String) -> DataSegment {
        var request = s
        if request.qn == nil, let qn = s.cpValue("QN") { request.header.insert(Field("QN", qn), at: 0) }
        return replySegment(cn: "9011", to: request, cp: [[Field("QnRtn", code)]], version: 1)
    }

    /// Touched only on its connection's loop (the rule behind `@unchecked Sendable`).
    final class Handler: TCPConnectionHandler, @unchecked Sendable {
        var decoder = FrameDecoder()
        let script: @Sendable (Incoming) -> [Action]
        let connection: Int
        var index = 0
        init(connection: Int, _ script: @escaping @Sendable (Incoming) -> [Action]) {
            self.connection = connection
            self.script = script
        }

        func connection(_ c: TCPConnection, didRead bytes: [UInt8]) {
            decoder.feed(bytes)
            while let event = decoder.next() {
                guard case .frame(let raw) = event else { continue }
                let s = SegmentParser.parse(raw.segmentBytes).segment
                if ["9011", "9012", "9013", "9014"].contains(s.cn ?? "") { continue }
                let crcOK = CRC.parseHex(raw.crcBytes).map { CRC.match(declared: $0, segment: raw.segmentBytes).match == .hj212 } ?? false
                let incoming = Incoming(segment: s, crcOK: crcOK, lengthOK: raw.declaredLength == raw.segment.count,
                                        size: raw.segment.count, connection: connection, index: index)
                index += 1
                for action in script(incoming) {
                    switch action {
                    case .reply(let segment, let after):
                        let bytes = FrameEncoder.frame(segment)
                        if after <= 0 {
                            _ = c.write(bytes)
                        } else {
                            _ = c.loop.scheduleOnLoop(after: .milliseconds(Int64(after * 1000))) { _ = c.write(bytes) }
                        }
                    case .close:
                        c.close()
                        return
                    case .reset:
                        c.close(reset: true)
                        return
                    }
                }
            }
        }

        func connection(_ c: TCPConnection, didCloseWith reason: CloseReason) {}
        func connectionDidDrain(_ c: TCPConnection) {}
    }
}

@Suite("check platform against misbehaving platforms (review 20)")
struct CheckPlatformMisbehavingTests {
    /// F1: good packets acknowledged at once, every bad one acknowledged by a proper 9014 0.3 s
    /// later (within OverTime): each negative check must fail.
    @Test("bad packets acknowledged within OverTime, later than the good ones, fail their checks")
    func lateAcceptanceOfBadPackets() async throws {
        let r = try await offPool {
            let platform = try MisbehavingPlatform { f in
                if f.segment.qn == nil && f.segment.cpValue("QN") == nil { return [] }
                return [.reply(MisbehavingPlatform.ack(f.segment), after: f.isGood ? 0 : 0.3)]
            }
            defer { platform.stop() }
            return try platform.check(["--only", "P-BAD-CRC,P-BAD-LENGTH,P-BAD-OVERSIZE,P-NOACK-FLAG,P-ACCESS-PW,P-ACCESS-MN"], overTime: "1")
        }
        for id in ["P-BAD-CRC", "P-BAD-LENGTH", "P-BAD-OVERSIZE", "P-NOACK-FLAG", "P-ACCESS-PW", "P-ACCESS-MN"] {
            // Failed (P-BAD-OVERSIZE is a SHOULD: reported as a warning without --strict).
            let c = MisbehavingPlatform.result(r.json, id)
            #expect(c.raw == "fail", "\(id): \(c.verdict) \(c.message)")
        }
        #expect(r.status == 1, "\(r.out)")
        #expect(!r.out.contains("refuses unknown MNs"), "\(r.out)")
    }

    /// F2: every packet answered by 9011 QnRtn=2 (refused): nothing was served.
    @Test("a platform that refuses every packet with 9011 QnRtn=2 is never credited with serving")
    func refusalsAreNotService() async throws {
        let ids = ["P-ACK-2011", "P-ACK-2051", "P-SPLIT-ACK", "P-RESEND-ACK", "P-FRAME-CUT", "P-FRAME-MULTI", "P-NOACK-FLAG", "P-BAD-CRC",
                   "P-LOAD-RECONNECT", "P-LOAD-CONCURRENT", "P-V2005-ACK"]
        let r = try await offPool {
            let platform = try MisbehavingPlatform { f in [.reply(MisbehavingPlatform.refusal(f.segment, "2"), after: 0)] }
            defer { platform.stop() }
            return try platform.check(["--only", ids.joined(separator: ","), "--loggers", "2"])
        }
        for id in ids {
            let c = MisbehavingPlatform.result(r.json, id)
            #expect(c.verdict != "pass", "\(id): \(c.verdict) \(c.message)")
        }
        let upload = MisbehavingPlatform.result(r.json, "P-ACK-2011")
        #expect(upload.verdict == "fail" && upload.message.contains("refused with 9011 QnRtn=2"), "\(upload.message)")
        #expect(r.status != 0, "\(r.out)")
    }

    /// F2: a platform that keeps an MN bound to its first connection and refuses the later ones.
    @Test("reconnects refused with 9011 QnRtn=2 fail P-LOAD-RECONNECT")
    func stickySessionRefusesReconnects() async throws {
        let r = try await offPool {
            let platform = try MisbehavingPlatform { f in
                [.reply(f.connection == 0 ? MisbehavingPlatform.ack(f.segment) : MisbehavingPlatform.refusal(f.segment, "2"), after: 0)]
            }
            defer { platform.stop() }
            return try platform.check(["--only", "P-LOAD-RECONNECT"])
        }
        let c = MisbehavingPlatform.result(r.json, "P-LOAD-RECONNECT")
        #expect(c.verdict == "fail" && c.message.contains("QnRtn=2"), "\(c.verdict) \(c.message)")
        #expect(r.status == 1, "\(r.out)")
    }

    /// F5: a close proves a refusal only on a connection that was served first.
    @Test("a platform that closes every connection on its first frame does not pass the access checks")
    func closeIsNoRefusal() async throws {
        let r = try await offPool {
            let platform = try MisbehavingPlatform { _ in [.close] }
            defer { platform.stop() }
            return try platform.check(["--only", "P-ACCESS"])
        }
        for id in ["P-ACCESS-PW", "P-ACCESS-MN"] {
            let c = MisbehavingPlatform.result(r.json, id)
            #expect(c.verdict == "not-exercised", "\(id): \(c.verdict) \(c.message)")
        }
        #expect(!r.out.contains("refuses unknown MNs") && !r.out.contains("accepts unknown MNs"), "\(r.out)")
        #expect(r.status != 0, "\(r.out)")
    }

    @Test("a platform that serves the registered logger and closes on a wrong identity passes the access checks")
    func closeAfterServiceIsRefusal() async throws {
        let r = try await offPool {
            let platform = try MisbehavingPlatform { f in f.isGood ? [.reply(MisbehavingPlatform.ack(f.segment), after: 0)] : [.close] }
            defer { platform.stop() }
            return try platform.check(["--only", "P-ACCESS"])
        }
        for id in ["P-ACCESS-PW", "P-ACCESS-MN"] {
            let c = MisbehavingPlatform.result(r.json, id)
            #expect(c.verdict == "pass" && c.message.contains("closed the connection"), "\(id): \(c.verdict) \(c.message)")
        }
        #expect(r.out.contains("refuses unknown MNs"), "\(r.out)")
        #expect(r.status == 0, "\(r.out)")
    }

    /// F6: refusing the optional HJ/T 212-2005 dialect (9011 QnRtn=6) is no malformed ack.
    @Test("a platform that refuses HJ/T 212-2005 packets passes the ack-form checks and is told 2005 is not supported")
    func refused2005IsNotSupported() async throws {
        let r = try await offPool {
            let platform = try MisbehavingPlatform { f in
                let legacy = (f.segment.flag?.version ?? 0) == 0
                return [.reply(legacy ? MisbehavingPlatform.refusal(f.segment, "6") : MisbehavingPlatform.ack(f.segment), after: 0)]
            }
            defer { platform.stop() }
            return try platform.check(["--only", "P-ACK-2011,P-ACK-CN,P-ACK-CP,P-V2005-ACK"])
        }
        for id in ["P-ACK-CN", "P-ACK-CP"] {
            let c = MisbehavingPlatform.result(r.json, id)
            #expect(c.verdict == "pass", "\(id): \(c.verdict) \(c.message)")
        }
        let v2005 = MisbehavingPlatform.result(r.json, "P-V2005-ACK")
        #expect(v2005.raw == "fail" && v2005.verdict == "warn" && v2005.message.contains("not supported") && v2005.message.contains("QnRtn=6"),
                "\(v2005.verdict) \(v2005.message)")
        #expect(r.status == 0, "\(r.out)")
    }

    /// F11.1: a platform that answers one frame at a time, 0.7 s each, falls behind the uploads;
    /// the good frame after the A=0 packet is not answered in time because of that backlog.
    @Test("a backlogged platform is not told that the connection no longer serves")
    func backlogIsNoDeadConnection() async throws {
        let r = try await offPool {
            let free = Mutex<[Int: Double]>([:])
            let platform = try MisbehavingPlatform { f in
                guard f.isGood else { return [] }
                let delay = free.withLock { next -> Double in
                    let now = monotonicSeconds()
                    let at = max(now, next[f.connection] ?? now) + 0.7
                    next[f.connection] = at
                    return at - now
                }
                return [.reply(MisbehavingPlatform.ack(f.segment), after: delay)]
            }
            defer { platform.stop() }
            return try platform.check(["--only", "P-ACK-2011,P-NOACK-FLAG"], overTime: "1")
        }
        let c = MisbehavingPlatform.result(r.json, "P-NOACK-FLAG")
        #expect(c.verdict == "not-exercised" && c.message.contains("behind"), "\(c.verdict) \(c.message)")
        #expect(!c.message.contains("no longer serves"), "\(c.message)")
    }

    /// Review 20, left in session 20: a negative check on the main connection is judged once
    /// after its own wait (OverTime plus grace) and once more at the end of the run. Here the
    /// platform answers the A=0 upload 2 s after it came, when its wait (0.4 + 1 s) has ended: the
    /// answer arrives while the framing step waits on the same connection (the platform answers
    /// that step's frame 1 s late, so that the step is still waiting then). The check passed
    /// after its own wait; the final report must fail it, with the late answer's latency.
    @Test("an A=0 upload answered on the main connection after its own wait, during a later step, fails P-NOACK-FLAG at the end")
    func lateAnswerToA0DuringLaterStep() async throws {
        let r = try await offPool {
            let a0 = Atomic<Int>(-1)  // the A=0 upload's index on the main connection
            let platform = try MisbehavingPlatform { f in
                if f.connection == 0, f.crcOK, f.segment.mn == MisbehavingPlatform.mn, f.segment.flag?.needsAck == false {
                    a0.store(f.index, ordering: .relaxed)
                    return [.reply(MisbehavingPlatform.ack(f.segment), after: 2.0)]
                }
                guard f.isGood else { return [] }
                // The good upload right after the A=0 one is answered at once (the check passes
                // after its own wait); the framing step's frame after that, 1 s late.
                let first = a0.load(ordering: .relaxed)
                let framing = f.connection == 0 && first >= 0 && f.index >= first + 2
                return [.reply(MisbehavingPlatform.ack(f.segment), after: framing ? 1.0 : 0)]
            }
            defer { platform.stop() }
            return try platform.check(["--only", "P-NOACK-FLAG,P-FRAME-CUT"], overTime: "0.4")
        }
        let c = MisbehavingPlatform.result(r.json, "P-NOACK-FLAG")
        #expect(c.raw == "fail" && c.message.contains("the upload with Flag=4 (A=0) was answered (9014 after ") && c.message.hasSuffix("it must not be"),
                "\(c.verdict) \(c.message)")
        // Answered after its own wait (OverTime 0.4 s plus 1 s of grace), not within it.
        let after = c.message.components(separatedBy: "9014 after ").dropFirst().first ?? ""
        let number = after.prefix { $0 == "." || $0.isNumber }
        #expect(after.dropFirst(number.count).hasPrefix(" s") && (Double(String(number)) ?? 0) >= 1.4, "\(c.message)")
        #expect(r.status == 1, "\(r.out)")
    }

    /// F7: a wait cut by Ctrl-C proves nothing.
    @Test("a check whose wait was cut by the interrupt is not exercised, not failed")
    func interruptedWaitIsNotJudged() async throws {
        let run = try await offPool { () -> CheckRun in
            let platform = try MisbehavingPlatform { _ in [] }
            defer { platform.stop() }
            let options = PlatformCheckOptions(host: "127.0.0.1", port: platform.port, credentials: [(MisbehavingPlatform.mn, MisbehavingPlatform.pw)],
                                               overTime: 8, commandWindow: 2, concurrency: 2)
            let stopAt = monotonicSeconds() + 1
            return PlatformCheck.run(options, catalogue: try RuleCatalogue.load(), hooks: CheckHooks(shouldContinue: { monotonicSeconds() < stopAt }))
        }
        #expect(run.interrupted)
        let boot = run.results.first { $0.rule.id == "P-ACK-2081" }
        #expect(boot?.verdict == .notExercised && boot?.message.contains("interrupted") == true, "\(boot?.verdict as Any) \(boot?.message ?? "")")
        let failed = run.results.filter { $0.verdict == .fail }.map { "\($0.rule.id): \($0.message)" }
        #expect(failed.isEmpty, "\(failed)")
    }
}
