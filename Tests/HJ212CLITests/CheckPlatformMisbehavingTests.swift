import Foundation
import HJ212
import HJConformance
import HJNetwork
import HJRoles
import Synchronization
import Testing
@testable import HJ212CLI
import TestSupport

@Suite("check platform against misbehaving platforms (review 20)")
struct CheckPlatformMisbehavingTests {
    /// F1: good packets acknowledged at once, every bad one acknowledged by a proper 9014 0.3 s
    /// later (within OverTime): each negative check must fail.
    @Test("bad packets acknowledged within OverTime, later than the good ones, fail their checks")
    func lateAcceptanceOfBadPackets() async throws {
        let r = try await offPool {
            let platform = try WirePlatform { f in
                if f.segment.qn == nil && f.segment.cpValue("QN") == nil { return [] }
                return [.reply(Wire.ackSegment(f.segment), after: f.isGood ? 0 : 0.3)]
            }
            defer { platform.stop() }
            return try platform.check(["--only", "P-BAD-CRC,P-BAD-LENGTH,P-BAD-OVERSIZE,P-NOACK-FLAG,P-ACCESS-PW,P-ACCESS-MN"], overTime: "1", commandWindow: "0.3", messagesInChinese: true)
        }
        for id in ["P-BAD-CRC", "P-BAD-LENGTH", "P-BAD-OVERSIZE", "P-NOACK-FLAG", "P-ACCESS-PW", "P-ACCESS-MN"] {
            // Failed (P-BAD-OVERSIZE is a SHOULD: reported as a warning without --strict).
            let c = WirePlatform.result(r.json, id)
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
            let platform = try WirePlatform { f in [.reply(Wire.refusalSegment(f.segment, "2"))] }
            defer { platform.stop() }
            return try platform.check(["--only", ids.joined(separator: ","), "--loggers", "2"], commandWindow: "0.3", messagesInChinese: true)
        }
        for id in ids {
            let c = WirePlatform.result(r.json, id)
            #expect(c.verdict != "pass", "\(id): \(c.verdict) \(c.message)")
        }
        let upload = WirePlatform.result(r.json, "P-ACK-2011")
        #expect(upload.verdict == "fail" && upload.message.contains("refused with 9011 QnRtn=2"), "\(upload.message)")
        #expect(r.status != 0, "\(r.out)")
    }

    /// F2: a platform that keeps an MN bound to its first connection and refuses the later ones.
    @Test("reconnects refused with 9011 QnRtn=2 fail P-LOAD-RECONNECT")
    func stickySessionRefusesReconnects() async throws {
        let r = try await offPool {
            let platform = try WirePlatform { f in
                [.reply(f.connection == 0 ? Wire.ackSegment(f.segment) : Wire.refusalSegment(f.segment, "2"))]
            }
            defer { platform.stop() }
            return try platform.check(["--only", "P-LOAD-RECONNECT"], commandWindow: "0.3", messagesInChinese: true)
        }
        let c = WirePlatform.result(r.json, "P-LOAD-RECONNECT")
        #expect(c.verdict == "fail" && c.message.contains("QnRtn=2"), "\(c.verdict) \(c.message)")
        #expect(r.status == 1, "\(r.out)")
    }

    /// F5: a close proves a refusal only on a connection that was served first.
    @Test("a platform that closes every connection on its first frame does not pass the access checks")
    func closeIsNoRefusal() async throws {
        let r = try await offPool {
            let platform = try WirePlatform { _ in [.close] }
            defer { platform.stop() }
            return try platform.check(["--only", "P-ACCESS"], commandWindow: "0.3", messagesInChinese: true)
        }
        for id in ["P-ACCESS-PW", "P-ACCESS-MN"] {
            let c = WirePlatform.result(r.json, id)
            #expect(c.verdict == "not-exercised", "\(id): \(c.verdict) \(c.message)")
        }
        #expect(!r.out.contains("refuses unknown MNs") && !r.out.contains("accepts unknown MNs"), "\(r.out)")
        #expect(r.status != 0, "\(r.out)")
    }

    /// With `reset`, the close comes as an RST (`SO_LINGER` 0): the probe must read ECONNRESET as
    /// the platform closing, not as a failure of the link (session 23: under load the kernel turned
    /// this platform's close into a reset, and P-ACCESS-PW/MN came out not exercised).
    @Test("a platform that serves the registered logger and closes (or resets) on a wrong identity passes the access checks",
          arguments: [false, true])
    func closeAfterServiceIsRefusal(reset: Bool) async throws {
        let r = try await offPool {
            let platform = try WirePlatform { f in f.isGood ? [.reply(Wire.ackSegment(f.segment))] : [reset ? .reset : .close] }
            defer { platform.stop() }
            return try platform.check(["--only", "P-ACCESS"], commandWindow: "0.3", messagesInChinese: true)
        }
        for id in ["P-ACCESS-PW", "P-ACCESS-MN"] {
            let c = WirePlatform.result(r.json, id)
            #expect(c.verdict == "pass" && c.message.contains("closed the connection"), "\(id): \(c.verdict) \(c.message)")
        }
        #expect(r.out.contains("refuses unknown MNs"), "\(r.out)")
        #expect(r.status == 0, "\(r.out)")
    }

    /// F6: refusing the optional HJ/T 212-2005 dialect (9011 QnRtn=6) is no malformed ack.
    @Test("a platform that refuses HJ/T 212-2005 packets passes the ack-form checks and is told 2005 is not supported")
    func refused2005IsNotSupported() async throws {
        let r = try await offPool {
            let platform = try WirePlatform { f in
                let legacy = (f.segment.flag?.version ?? 0) == 0
                return [.reply(legacy ? Wire.refusalSegment(f.segment, "6") : Wire.ackSegment(f.segment))]
            }
            defer { platform.stop() }
            return try platform.check(["--only", "P-ACK-2011,P-ACK-CN,P-ACK-CP,P-V2005-ACK"], commandWindow: "0.3", messagesInChinese: true)
        }
        for id in ["P-ACK-CN", "P-ACK-CP"] {
            let c = WirePlatform.result(r.json, id)
            #expect(c.verdict == "pass", "\(id): \(c.verdict) \(c.message)")
        }
        let v2005 = WirePlatform.result(r.json, "P-V2005-ACK")
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
            let platform = try WirePlatform { f in
                guard f.isGood else { return [] }
                let delay = free.withLock { next -> Double in
                    let now = monotonicSeconds()
                    let at = max(now, next[f.connection] ?? now) + 0.7
                    next[f.connection] = at
                    return at - now
                }
                return [.reply(Wire.ackSegment(f.segment), after: delay)]
            }
            defer { platform.stop() }
            return try platform.check(["--only", "P-ACK-2011,P-NOACK-FLAG"], overTime: "1", commandWindow: "0.3", messagesInChinese: true)
        }
        let c = WirePlatform.result(r.json, "P-NOACK-FLAG")
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
            let platform = try WirePlatform { f in
                if f.connection == 0, f.crcOK, f.segment.mn == WirePlatform.mn, f.segment.flag?.needsAck == false {
                    a0.store(f.index, ordering: .relaxed)
                    return [.reply(Wire.ackSegment(f.segment), after: 2.0)]
                }
                guard f.isGood else { return [] }
                // The good upload right after the A=0 one is answered at once (the check passes
                // after its own wait); the framing step's frame after that, 1 s late.
                let first = a0.load(ordering: .relaxed)
                let framing = f.connection == 0 && first >= 0 && f.index >= first + 2
                return [.reply(Wire.ackSegment(f.segment), after: framing ? 1.0 : 0)]
            }
            defer { platform.stop() }
            return try platform.check(["--only", "P-NOACK-FLAG,P-FRAME-CUT"], overTime: "0.4", commandWindow: "0.3", messagesInChinese: true)
        }
        let c = WirePlatform.result(r.json, "P-NOACK-FLAG")
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
            let platform = try WirePlatform { _ in [] }
            defer { platform.stop() }
            let options = PlatformCheckOptions(host: "127.0.0.1", port: platform.port, credentials: [(WirePlatform.mn, WirePlatform.pw)],
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
