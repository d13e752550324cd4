import HJ212
import HJRoles
import HJSimulation

/// Answers the platform's commands on the primary connection as `hj212`'s simulated logger does
/// (`LoggerSession` over a `LoggerDevice` that produces no uploads of its own): 9011, the data,
/// 9012; 9013 for notifications. Watches the 9011/9012 flow for P-CMD-FLOW and, when asked,
/// withholds its answer to the first command once to see it resent (P-CMD-RESEND).
///
/// Not Sendable: driven by the suite's thread.
final class CommandResponder {
    unowned let suite: PlatformSuite
    var conversation: Conversation
    var session: LoggerSession?
    var withholdFirst: Bool
    /// The first command that asks for a 9011 (Flag A=1), withheld: its QN, CN and arrival.
    var withheld: (qn: String, cn: String, at: Double)?
    /// Its frame, answered when the window closes if the platform never sent it again.
    var withheldFrame: ProbeFrame?
    var resentAt: Double?
    /// Other commands that came while the first was withheld (the platform moved on).
    var movedOnWith: String?
    /// When the tool sent 9011 for each command QN (the newest `maxAnswered`; `answeredOrder`
    /// holds them oldest first, to evict).
    var answered: [String: Double] = [:]
    var answeredOrder: [String] = []
    var answeredCount = 0
    static let maxAnswered = 1_000
    var resentAfterReply: [(cn: String, qn: String, after: Double)] = []
    /// Data packets the tool sent with A=1 in answer to commands.
    var dataPackets: [SentPacket] = []
    var commandsSeen = 0
    var windowOpen = true

    init(suite: PlatformSuite, conversation: Conversation, withholdFirst: Bool) {
        self.suite = suite
        self.conversation = conversation
        self.withholdFirst = withholdFirst
        let identity = LoggerIdentity(mn: conversation.mn, pw: conversation.pw)
        if let template = try? UnitTemplate.load("industrial-wastewater"),
           let simulator = try? UnitSimulator(template: template, identity: identity, seed: 1, start: chinaWallMilliseconds()) {
            let device = LoggerDevice(simulator: simulator)
            var s = LoggerSession(device: device)
            _ = s.connected(at: chinaWallMilliseconds())
            session = s
        }
    }

    func handle(_ frame: ProbeFrame) {
        let now = probeClock()
        commandsSeen += 1
        let qn = frame.segment.qn ?? frame.segment.cpValue("QN") ?? ""
        let cn = frame.segment.cn ?? "?"
        // Only a command that asks for a 9011 (A=1) is resent when unanswered: one with A=0 is
        // answered at once, and the next one that asks is withheld instead.
        if withholdFirst && windowOpen && withheld == nil && (frame.segment.flag?.needsAck ?? false) {
            withheld = (qn, cn, now)
            withheldFrame = frame
            conversation.log.note("withholding the answer to \(cn) QN=\(qn) to see whether the platform resends it")
            return
        }
        if let w = withheld, resentAt == nil {
            if qn == w.qn {
                resentAt = now
                conversation.log.note("\(cn) QN=\(qn) resent after \(ms(now - w.at)); answering it now")
            } else if movedOnWith == nil {
                movedOnWith = "\(cn) QN=\(qn)"
            }
        }
        if let t = answered[qn], now - t > 0.25, resentAfterReply.count < 10 {
            resentAfterReply.append((cn, qn, now - t))
        }
        guard var s = session else { return }
        perform(s.received(frame.raw.bytes, at: chinaWallMilliseconds()), &s)
        session = s
    }

    /// Resends of the tool's own data packets that waited for 9014.
    func tick() {
        guard var s = session else { return }
        let actions = s.tick(at: chinaWallMilliseconds())
        if !actions.isEmpty { perform(actions, &s) }
        session = s
    }

    func perform(_ outputs: [LoggerOutput], _ s: inout LoggerSession) {
        for case .send(let bytes, let what) in outputs {
            let segment = SegmentParser.parse(Self.segmentBytes(bytes)).segment
            // 9011/9012/9013 are replies; a response packet (1011, 3020 …) goes as data.
            let isReply = if case .reply(let code, _) = what { code.isInteraction } else { false }
            guard let p = conversation.send(segment, kind: isReply ? .reply : .upload, bytes: bytes) else { continue }
            if case .reply(.requestReply, let qn?) = what, answered[qn] == nil {
                answered[qn] = probeClock()
                answeredOrder.append(qn)
                answeredCount += 1
                if answeredOrder.count > Self.maxAnswered {
                    let drop = answeredOrder.count - Self.maxAnswered * 3 / 4
                    for old in answeredOrder.prefix(drop) { answered[old] = nil }
                    answeredOrder.removeFirst(drop)
                }
            }
            if !isReply && (segment.flag?.needsAck ?? false) && dataPackets.count < 1_000 { dataPackets.append(p) }
        }
    }

    static func segmentBytes(_ frame: [UInt8]) -> ArraySlice<UInt8> {
        var end = frame.count
        while end > 0 && (frame[end - 1] == 0x0D || frame[end - 1] == 0x0A) { end -= 1 }
        guard end >= 10 else { return [] }
        return frame[6..<(end - 4)]
    }

    /// The command window ended: a withheld command that never came back is answered now, so
    /// that the platform's queue moves on (its resend, if it comes later, is answered as usual).
    func windowClosed() {
        windowOpen = false
        withholdFirst = false
        if let w = withheld, resentAt == nil, let frame = withheldFrame, var s = session {
            conversation.log.note("the command window closed: answering the withheld \(w.cn) QN=\(w.qn) now")
            perform(s.received(frame.raw.bytes, at: chinaWallMilliseconds()), &s)
            session = s
        }
        withheldFrame = nil
    }

    func finish() { windowOpen = false }

    /// P-CMD-FLOW and P-CMD-RESEND.
    func judge() {
        let window = suite.options.commandWindow
        if let w = withheld {
            if let r = resentAt {
                suite.judge(RuleID.platformCmdResend, .pass, "\(w.cn) QN=\(w.qn) resent with the same QN after \(ms(r - w.at)) without an answer", established: true)
            } else if let other = movedOnWith {
                suite.judge(RuleID.platformCmdResend, .fail, "\(w.cn) QN=\(w.qn) got no 9011 and was not resent; the platform sent \(other) instead",
                            wire: conversation.log.snapshot)
            } else {
                suite.judge(RuleID.platformCmdResend, .notExercised,
                            "not exercised: \(w.cn) QN=\(w.qn) was not resent within the \(format(window)) s command window (longer than the platform's OverTime?)")
            }
        } else {
            suite.judge(RuleID.platformCmdResend, .notExercised, "not exercised: no command arrived during the \(format(window)) s command window")
        }
        guard !answered.isEmpty else {
            let why = withheld != nil && resentAt == nil
                ? "the only command on the watched connection was the withheld one, and the platform did not send it again within the window"
                : "no command arrived on the watched connection"
            suite.judge(RuleID.platformCmdFlow, .notExercised, "not exercised: the tool answered no command (\(why))")
            return
        }
        let unacked = dataPackets.filter { !$0.answered }
        if !resentAfterReply.isEmpty {
            let r = resentAfterReply[0]
            suite.judge(RuleID.platformCmdFlow, .fail, "\(r.cn) QN=\(r.qn) sent again \(ms(r.after)) after the tool's 9011 (\(resentAfterReply.count) such resends)",
                        wire: conversation.log.snapshot, established: true)
        } else if !unacked.isEmpty {
            suite.judge(RuleID.platformCmdFlow, .fail, "\(unacked.count) of \(dataPackets.count) data packets sent with A=1 in answer to commands got no 9014 (first: \(unacked[0].describe))",
                        wire: conversation.log.snapshot)
        } else {
            suite.judge(RuleID.platformCmdFlow, .pass, "\(answeredCount) commands answered with 9011/9012, none resent after its 9011\(dataPackets.isEmpty ? "" : ", \(dataPackets.count) data packets acknowledged")")
        }
    }
}
