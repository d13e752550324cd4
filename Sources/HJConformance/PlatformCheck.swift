import HJ212
import HJReportKit
import HJRoles
import HJSimulation

/// `hj212 check platform`: plays data loggers against a platform under test and judges its
/// answers against the `P-…` rules of the catalogue (`Profiles/checks/platform.json`).
///
/// The run, in order (each step only when one of its rules is selected):
/// 1. connect (unreachable: `reachable = false`, every check not exercised, exit 2);
/// 2. a 2081 boot packet, then the command window: the platform's commands are answered as
///    `hj212`'s simulated logger would (`LoggerSession`), the first one withheld once to see
///    the platform resend it;
/// 3. one upload of each type, A=0, 1013, a split record, a resend, frames cut across writes
///    and several in one write;
/// 4. bad frames (garbage, CRC, length, oversize), each on a fresh connection between good ones;
/// 5. a wrong PW and an unknown MN; 2005 and 2025 packets; Jiangsu packets (per profile);
/// 6. N loggers at once (five uploads each), reconnects; ack latency over the run.
/// The acknowledgement-form rules (`ack-form`) judge every 9013/9014 of the run; the command
/// rules judge every command the platform sent on any connection.
///
/// Every wait has a deadline: OverTime plus a grace period for answers, the command window
/// for commands. `CheckHooks.shouldContinue` is polled at least every 50 ms; when it turns
/// false the run ends and reports what ran (`interrupted`).
///
/// ```swift
/// let options = PlatformCheckOptions(host: "127.0.0.1", port: 7001, credentials: [("010000A8900016F000169DC0", "123456")])
/// let run = PlatformCheck.run(options, catalogue: try RuleCatalogue.load())
/// print(CheckReport.render(run, format: .text, lang: .en), run.exitStatus)
/// ```
public enum PlatformCheck {
    public static func run(_ options: PlatformCheckOptions, catalogue: RuleCatalogue, hooks: CheckHooks = CheckHooks()) -> CheckRun {
        var run = PlatformSuite(options: options, catalogue: catalogue, hooks: hooks).run()
        run.messages = catalogue.messages
        run.outOfScope = catalogue.rules(for: .platform).filter { $0.applies(to: options.selection.profile) && !options.selection.selects($0) }
            .map { ($0, "removed by --only/--skip") }
        return run
    }
}

/// The state of one `check platform` run. Not Sendable: one thread runs it from start to end.
final class PlatformSuite {
    let options: PlatformCheckOptions
    let hooks: CheckHooks
    let rules: [CheckRule]
    let selected: Set<String>
    let catalogueVersion: String
    let origin = probeClock()
    let startedWall = chinaWallMilliseconds()
    var results: [String: CheckResult] = [:]
    var conversations: [Conversation] = []
    var facts: [(String, String)] = []
    let qns = QNSource()
    let packets: ProbePackets
    /// How long to wait for an answer: OverTime plus a grace period, so that a late answer is
    /// still seen (and judged late) rather than missed.
    let answerWait: Double
    var interrupted = false
    var primary: Conversation?
    var responder: CommandResponder?
    var latencies = LatencyHistogram()
    /// Whether the platform acknowledged an unknown MN (the access check), nil when not tried.
    var acceptsUnknownMN: Bool?
    var linkCount = 0
    var negatives: [Negative] = []
    var time1013: Double?
    /// The slowest first answer of the run (shown when the latency check fails).
    var slowest: (SentPacket, SentPacket.Answer)?

    init(options: PlatformCheckOptions, catalogue: RuleCatalogue, hooks: CheckHooks) {
        self.options = options
        self.hooks = hooks
        rules = catalogue.rules(for: .platform).filter(options.selection.selects)
        selected = Set(rules.map(\.id))
        catalogueVersion = catalogue.versions[.platform] ?? ""
        let first = options.credentials.first ?? (mn: "010000A8900016F000169DC0", pw: "123456")
        packets = ProbePackets(mn: first.mn, pw: first.pw, st: "32")
        answerWait = options.overTime + max(1.0, options.overTime / 2)
    }

    // MARK: - Results

    func wants(_ ids: RuleID...) -> Bool { ids.contains { selected.contains($0.rawValue) } }
    func wantsGroup(_ prefix: String) -> Bool { selected.contains { $0.hasPrefix(prefix) } }

    func rule(_ id: RuleID) -> CheckRule? { rules.first { $0.id == id.rawValue } }

    /// Records a verdict (once per rule; a later fail replaces an earlier pass).
    ///
    /// Once the run is interrupted, a wait that was under way was cut short: a verdict that
    /// rests on what did not arrive (no answer, no acceptance) is not established and is
    /// dropped, so that the check is reported not exercised. `established` marks a verdict
    /// that rests on what did arrive (an acceptance, a refusal, a malformed answer) and stands.
    func judge(_ id: RuleID, _ verdict: Verdict, _ message: String, wire: [WireRecord] = [], established: Bool = false) {
        guard let rule = rule(id) else { return }
        if interrupted && !established && verdict != .notExercised { return }
        if let existing = results[id.rawValue], existing.verdict == .fail || (existing.verdict == .warn && verdict != .fail) { return }
        let keep = verdict == .fail || verdict == .warn
        results[id.rawValue] = CheckResult(rule: rule, verdict: verdict, message: message, wire: keep ? Array(wire.suffix(200)) : [])
    }

    var shouldContinue: Bool {
        if interrupted { return false }
        if !hooks.shouldContinue() { interrupted = true }
        return !interrupted
    }

    func progress(_ text: String) {
        let done = results.count
        let elapsed = LoggerCheckRunner.duration(probeClock() - origin)
        hooks.progress("check platform \(options.host):\(options.port): \(text) · \(elapsed) elapsed · \(done)/\(rules.count) checks done")
    }

    // MARK: - Connections

    /// Opens a connection. `track: false` keeps it out of the run-wide judgements (the
    /// concurrency check's loggers beyond the first few hundred, so that memory stays bounded).
    /// The connect wait is OverTime (1…30 s), or less when `deadline` (monotonic) comes sooner;
    /// Ctrl-C is polled during it.
    func connect(_ label: String, mn: String? = nil, pw: String? = nil, log: WireLog? = nil, track: Bool = true,
                 deadline: Double? = nil) -> Result<Conversation, ProbeError> {
        linkCount += 1
        let log = log ?? WireLog(origin: origin)
        var timeout = min(max(options.overTime, 1), 30)
        if let deadline { timeout = max(0.1, min(timeout, deadline - probeClock())) }
        switch ProbeLink.connect(host: options.host, port: options.port, timeout: timeout, label: label, log: log, shouldContinue: { shouldContinue }) {
        case .success(let link):
            link.trace = options.trace
            let c = Conversation(link: link, mn: mn ?? packets.mn, pw: pw ?? packets.pw)
            c.answerWindow = answerWait
            if track { conversations.append(c) }
            return .success(c)
        case .failure(let e):
            return .failure(e)
        }
    }

    /// Waits for `done` (checking every conversation's inbox), at most until `deadline`.
    func wait(_ convs: [Conversation], until deadline: Double, done: () -> Bool) {
        ProbeLink.pump(convs.map(\.link), until: deadline, shouldContinue: { shouldContinue }) {
            for c in convs { c.process() }
            responder?.tick()
            return done()
        }
        for c in convs { c.process() }
    }

    /// Waits until every packet of `batch` that expects an answer has one (at most the answer
    /// wait after the last send); with `grace`, then keeps listening for answers to the packets
    /// that must not get one until the answer wait after each was sent (OverTime plus grace),
    /// unless the platform closed the connection or accepted them all already: a platform may
    /// accept a bad packet later than it answers good ones (a slower path for an unknown MN,
    /// say), and an acceptance within OverTime is an acceptance.
    func awaitAnswers(_ conv: Conversation, _ batch: [SentPacket?], grace: Bool = false) {
        let list = batch.compactMap { $0 }
        let last = list.map(\.sentAt).max() ?? probeClock()
        wait([conv], until: last + answerWait) {
            !conv.link.usable || list.allSatisfy { !$0.expectsAnswer || $0.answered }
        }
        let negatives = list.filter(\.mustNotAnswer)
        if grace, !negatives.isEmpty {
            let end = negatives.map { $0.sentAt + answerWait }.max() ?? probeClock()
            wait([conv], until: end) {
                !conv.link.usable || negatives.allSatisfy { $0.acceptance != nil }
            }
        }
    }

    /// Closes a connection after taking what already arrived on it, so that it is attributed,
    /// judged and traced (`--trace` records every frame the platform sent, not only those a wait
    /// happened to read).
    func close(_ conv: Conversation, reset: Bool = false) {
        if conv.link.usable {
            conv.link.readAvailable()
            conv.process()
        }
        conv.link.close(reset: reset)
    }

    /// Why `packet` was not accepted, for messages: `refused with 9011 QnRtn=2`, `answered by
    /// CN 9012, which does not accept it`, `not answered: the platform closed the connection`
    /// (when `conv` was closed by the platform), or `not answered within 15 s`.
    func whyNotAccepted(_ packet: SentPacket, _ conv: Conversation? = nil) -> String {
        if let r = packet.refusal { return "refused with 9011 QnRtn=\(r.frame.refusalCode ?? "?")" }
        if let a = packet.firstAnswer { return "answered by CN \(a.frame.segment.cn ?? "?"), which does not accept it" }
        if conv?.link.peerClosed == true { return "not answered: the platform closed the connection" }
        return "not answered within \(format(answerWait)) s"
    }

    // MARK: - Run

    func run() -> CheckRun {
        var run = CheckRun(target: .platform, address: "\(options.host):\(options.port)", profile: options.selection.profile,
                           strict: options.selection.strict, started: isoChina(startedWall))
        run.catalogueVersion = catalogueVersion
        facts.append(("OverTime", "\(format(options.overTime)) s"))
        facts.append(("logger", "MN \(packets.mn), PW \(packets.pw), ST \(packets.st)"))
        progress("connecting")
        switch connect("logger 1", log: WireLog(origin: origin)) {
        case .failure(let e):
            run.reachable = false
            run.facts = facts + [("unreachable", e.message)]
            run.results = rules.map { CheckResult(rule: $0, verdict: .notExercised, message: "not exercised: the platform could not be reached (\(e.message))") }
            run.seconds = probeClock() - origin
            return run
        case .success(let c):
            primary = c
        }

        let steps: [(String, () -> Void)] = [
            ("command window", commandWindow),
            ("uploads", uploads),
            ("flows", flows),
            ("framing", framing),
            ("bad frames", badFrames),
            ("access", access),
            ("dialects", dialects),
            ("concurrency", load),
        ]
        for (name, step) in steps {
            guard shouldContinue else { break }
            if silent {
                // Nothing was answered: the remaining steps would each wait out their deadlines
                // to learn nothing more.
                break
            }
            progress(name)
            step()
            if name == "uploads" { checkSilence() }
        }
        if let responder { responder.finish() }
        // What arrived and was not read yet is judged (and traced) too.
        for c in conversations where c.link.usable {
            c.link.readAvailable()
            c.process()
        }
        settleNegatives()
        judgeAckForms()
        judgeCommands()
        judgeLatency()
        for c in conversations where !c.link.isClosed { close(c) }

        run.interrupted = interrupted
        run.facts = facts
        run.results = rules.map { r in
            results[r.id] ?? CheckResult(rule: r, verdict: .notExercised,
                                         message: interrupted ? "not exercised: the run was interrupted before this check completed" : "not exercised")
        }
        run.seconds = ((probeClock() - origin) * 10).rounded() / 10
        return run
    }

    /// Set when the platform answered none of the uploads of step 2.
    var silent = false

    /// After the uploads: a platform that answered none of them (within OverTime and the grace
    /// period) is reported as silent, and the checks that need answers are not exercised.
    func checkSilence() {
        let uploads = conversations.flatMap(\.sent).filter { $0.expectsAnswer }
        // An interrupted wait shows no silence.
        guard !interrupted, uploads.count >= 3, !uploads.contains(where: \.answered) else { return }
        silent = true
        let why = "the platform answered none of the \(uploads.count) uploads within \(format(answerWait)) s (OverTime plus grace)"
        facts.append(("silent", why))
        for r in rules where results[r.id] == nil && !r.id.hasPrefix("P-CMD-") && !r.id.hasPrefix("P-ACK-") {
            judge(RuleID(r.id), .notExercised, "not exercised: \(why)")
        }
    }

    /// The primary connection, reconnected if the platform closed it.
    func primaryConversation() -> Conversation? {
        if let p = primary, p.link.usable { return p }
        let log = primary?.log ?? WireLog(origin: origin)
        log.note("reconnecting the primary logger")
        switch connect("logger 1", log: log) {
        case .success(let c):
            c.responder = primary?.responder
            if let responder { responder.conversation = c }
            primary = c
            return c
        case .failure:
            return nil
        }
    }

    // MARK: - Step 1: commands

    func commandWindow() {
        guard let conv = primaryConversation() else { return }
        let responder = CommandResponder(suite: self, conversation: conv, withholdFirst: wants(RuleID.platformCmdResend))
        self.responder = responder
        conv.responder = { [unowned responder] frame in responder.handle(frame) }
        // The boot packet identifies the logger (C.24: sent after connecting).
        let boot = conv.send(packets.segment(cn: .bootTime, qn: qns.next(), flag: 5, cp: ProbePackets.uploadCP(.bootTime, now: chinaWallMilliseconds())))
        awaitAnswers(conv, [boot])
        judgeUpload(RuleID.platformAck2081, boot, conv)
        guard wantsGroup("P-CMD-"), options.commandWindow > 0 else {
            responder.withholdFirst = false
            return
        }
        let end = probeClock() + options.commandWindow
        conv.log.note("watching for commands for \(format(options.commandWindow)) s")
        wait([conv], until: end) {
            progress("command window: \(Int(max(0, end - probeClock()))) s left, \(responder.commandsSeen) commands")
            return false
        }
        responder.windowClosed()
    }

    // MARK: - Step 2: uploads

    func judgeUpload(_ id: RuleID, _ packet: SentPacket?, _ conv: Conversation) {
        guard wants(id) else { return }
        guard let packet else {
            judge(id, .fail, "could not send: \(conv.link.whyUnusable)", wire: conv.log.snapshot)
            return
        }
        if let a = packet.acceptance {
            let cn = a.frame.segment.cn ?? "?"
            judge(id, .pass, "\(packet.cn) answered by \(cn) in \(ms(a.latency))\(a.byQN ? "" : " (QN not echoed)")", established: true)
        } else if packet.answered {
            // A 9011 refusing the upload (QnRtn other than 1) answers it but does not serve it.
            judge(id, .fail, "\(packet.cn) \(whyNotAccepted(packet))", wire: conv.log.snapshot, established: true)
        } else {
            judge(id, .fail, "no answer to \(packet.describe) within \(format(answerWait)) s\(conv.link.peerClosed ? "; the platform closed the connection" : "")",
                  wire: conv.log.snapshot)
        }
    }

    func uploads() {
        let ids: [CommandCode] = [.realTimeData, .minuteData, .hourData, .dailyData, .dailyRunningTime, .runningStatus, .loggerInfo]
        let any = ids.contains { wants(.platformAck($0)) } || wantsGroup("P-ACK-")
        guard any, let conv = primaryConversation() else { return }
        // One write per upload, back to back, as a logger with a send window does; answers are
        // matched by QN (in order when the platform does not echo it).
        var sent: [(CommandCode, SentPacket?)] = []
        for cn in ids where shouldContinue {
            sent.append((cn, conv.send(packets.segment(cn: cn, qn: qns.next(), flag: 5, cp: ProbePackets.uploadCP(cn, now: chinaWallMilliseconds())))))
        }
        awaitAnswers(conv, sent.map(\.1))
        for (cn, p) in sent { judgeUpload(.platformAck(cn), p, conv) }
    }

    // MARK: - Step 3: flows

    func flows() {
        guard let conv = primaryConversation() else { return }
        if wants(RuleID.platformNoackFlag) {
            let mark = conv.log.records.count
            let silent = conv.send(packets.segment(cn: .realTimeData, qn: qns.next(), flag: 4, cp: ProbePackets.uploadCP(.realTimeData, now: chinaWallMilliseconds())),
                                   mustNotAnswer: true)
            let good = conv.send(packets.segment(cn: .realTimeData, qn: qns.next(), flag: 5, cp: ProbePackets.uploadCP(.realTimeData, now: chinaWallMilliseconds())))
            awaitAnswers(conv, [silent, good], grace: true)
            judgeNegative(RuleID.platformNoackFlag, bad: silent, good: good, conv, since: mark, what: "the upload with Flag=4 (A=0)", refusalAllowed: false)
        }
        if wants(RuleID.platformNotify1013, RuleID.platformNotify1012) || wantsGroup("P-ACK-") {
            let mark = conv.log.records.count
            let n = conv.send(packets.segment(cn: .timeCalibrationRequest, qn: qns.next(), flag: 5, cp: [[Field("PolId", "w01018")]]), kind: .notification)
            time1013 = probeClock()
            awaitAnswers(conv, [n])
            if let n, let a = n.firstAnswer {
                let cn = a.frame.segment.cn ?? "?"
                if let r = n.refusal {
                    judge(RuleID.platformNotify1013, .fail, "1013 refused with 9011 QnRtn=\(r.frame.refusalCode ?? "?")", wire: Array(conv.log.snapshot.dropFirst(mark)), established: true)
                } else if a.frame.segment.isCN(.notificationReply) {
                    judge(RuleID.platformNotify1013, .pass, "1013 answered by 9013 in \(ms(a.latency))", established: true)
                } else {
                    judge(RuleID.platformNotify1013, .fail, "1013 answered by CN \(cn), expected 9013", wire: Array(conv.log.snapshot.dropFirst(mark)), established: true)
                }
            } else {
                judge(RuleID.platformNotify1013, .fail, "no 9013 answering the 1013 within \(format(answerWait)) s", wire: Array(conv.log.snapshot.dropFirst(mark)))
            }
        }
        if wants(RuleID.platformSplitAck) {
            let mark = conv.log.records.count
            let parts = packets.splitRecord(qn: qns.next(), now: chinaWallMilliseconds())
            // The split packets take consecutive QNs after the first; keep the QN source ahead of them.
            for _ in 1..<max(1, parts.count) { _ = qns.next() }
            var sent: [SentPacket] = []
            for part in parts {
                guard let p = conv.send(part) else { break }
                sent.append(p)
                awaitAnswers(conv, [p])
            }
            let unanswered = sent.filter { $0.acceptance == nil }
            if sent.count < parts.count {
                judge(RuleID.platformSplitAck, .fail, "could not send all \(parts.count) packets: \(conv.link.whyUnusable)", wire: Array(conv.log.snapshot.dropFirst(mark)))
            } else if unanswered.isEmpty {
                // Each accepted; the message names the 9014 only when that is what came (another
                // acceptance, a 9013 or a 9011 QnRtn=1, is judged by P-ACK-CN).
                let all9014 = sent.allSatisfy { $0.acceptance?.frame.segment.command == .dataReply }
                judge(RuleID.platformSplitAck, .pass, all9014 ? "\(parts.count) packets (PNUM=\(parts.count)), each answered by its own 9014"
                                                              : "\(parts.count) packets (PNUM=\(parts.count)), each accepted by its own answer", established: true)
            } else if !unanswered.contains(where: \.answered) {
                judge(RuleID.platformSplitAck, .fail, "\(unanswered.count) of \(parts.count) split packets not answered (PNO \(unanswered.compactMap { $0.segment.header("PNO") }.joined(separator: ", ")))",
                      wire: Array(conv.log.snapshot.dropFirst(mark)))
            } else {
                let each = unanswered.map { "PNO \($0.segment.header("PNO") ?? "?") \(whyNotAccepted($0))" }
                judge(RuleID.platformSplitAck, .fail, "\(unanswered.count) of \(parts.count) split packets not accepted: \(each.joined(separator: "; "))",
                      wire: Array(conv.log.snapshot.dropFirst(mark)), established: true)
            }
        }
        if wants(RuleID.platformResendAck) {
            let mark = conv.log.records.count
            let segment = packets.segment(cn: .minuteData, qn: qns.next(), flag: 5, cp: ProbePackets.uploadCP(.minuteData, now: chinaWallMilliseconds()))
            let first = conv.send(segment)
            awaitAnswers(conv, [first])
            conv.log.note("sending the same frame again (same QN), as after a lost 9014")
            let second = conv.send(segment)
            awaitAnswers(conv, [second])
            if let first, let second, first.acceptance != nil, second.acceptance != nil {
                judge(RuleID.platformResendAck, .pass, "both sends of QN \(segment.qn ?? "-") answered", established: true)
            } else if let first, !first.answered {
                judge(RuleID.platformResendAck, .notExercised, "not exercised: the first send was not answered either (see P-ACK-2051)")
            } else if let first, first.acceptance == nil {
                judge(RuleID.platformResendAck, .notExercised, "not exercised: the first send was not accepted either (\(whyNotAccepted(first)); see P-ACK-2051)")
            } else if let second, second.answered {
                judge(RuleID.platformResendAck, .fail, "the resent frame (same QN) was not accepted again: \(whyNotAccepted(second))",
                      wire: Array(conv.log.snapshot.dropFirst(mark)), established: true)
            } else {
                judge(RuleID.platformResendAck, .fail, "the resent frame (same QN) was not answered again", wire: Array(conv.log.snapshot.dropFirst(mark)))
            }
        }
    }

    /// A negative check judged, kept to be judged again once the run's answers are all in.
    struct Negative {
        var id: RuleID
        var bad: SentPacket?
        var good: SentPacket?
        var conv: Conversation
        var mark: Int
        var what: String
        var refusalAllowed: Bool
    }

    /// A negative check: `bad` must not be accepted and `good`, sent after it, must be accepted.
    /// With `refusalAllowed`, a 9011 refusing `bad` (QnRtn other than 1) is a correct answer;
    /// otherwise (a packet with A=0) any answer is wrong. `bad` not being accepted shows
    /// something only on a connection the platform serves: when it accepted no packet on it
    /// before `bad`, or is still behind on earlier packets, the check is not exercised.
    func judgeNegative(_ id: RuleID, bad: SentPacket?, good: SentPacket?, _ conv: Conversation, since mark: Int, what: String,
                       refusalAllowed: Bool = true, record: Bool = true) {
        if record { negatives.append(Negative(id: id, bad: bad, good: good, conv: conv, mark: mark, what: what, refusalAllowed: refusalAllowed)) }
        let wire = Array(conv.log.snapshot.dropFirst(mark))
        guard let bad else {
            judge(id, .fail, "could not send \(what): \(conv.link.whyUnusable)", wire: wire)
            return
        }
        if let a = refusalAllowed ? bad.acceptance : bad.firstAnswer {
            judge(id, .fail, "\(what) was \(refusalAllowed ? "accepted" : "answered") (\(a.frame.segment.cn ?? "?")\(a.frame.segment.cpValue("QnRtn").map { " QnRtn=\($0)" } ?? "") after \(ms(a.latency))\(a.byQN ? "" : ", attributed in order")); it must not be",
                  wire: wire, established: true)
            return
        }
        let refused = bad.refusal.map { " (refused with 9011 QnRtn=\($0.frame.refusalCode ?? "?"))" } ?? ""
        if let good, let a = good.acceptance {
            judge(id, .pass, "\(what) was not accepted\(refused); the next good frame was answered (\(ms(a.latency)))")
            return
        }
        let served = conv.sent.contains { $0 !== bad && $0.sentAt <= bad.sentAt && $0.acceptance != nil }
        guard served else {
            judge(id, .notExercised, "not exercised: the platform accepted no packet on this connection before \(what), so that it did not accept it shows nothing",
                  wire: wire)
            return
        }
        let behind = conv.sent.filter { $0 !== bad && $0.expectsAnswer && !$0.answered && $0.sentAt < bad.sentAt }.count
        if behind > 0, !conv.link.peerClosed, good?.answered != true {
            // A backlogged platform has not failed to serve: it has not got to the good frame yet.
            judge(id, .notExercised, "not exercised: the good frame sent after \(what) was not answered within \(format(answerWait)) s, "
                  + "with \(behind) earlier packets on the connection still unanswered: the platform is behind (see P-ACK-TIME)", wire: wire)
            return
        }
        let why: String
        if conv.link.peerClosed {
            why = "the platform closed the connection after \(what)"
        } else if let good, good.answered {
            why = "the good frame sent after \(what) was \(whyNotAccepted(good))"
        } else {
            why = "the good frame sent after \(what) was not answered within \(format(answerWait)) s"
        }
        judge(id, .fail, "\(what) was not accepted\(refused), but \(why): the connection no longer serves", wire: wire,
              established: conv.link.peerClosed || good?.answered == true)
    }

    /// Once every step has run: the connections of negative checks still open are read until
    /// the answer wait after their bad packet has passed, and a negative check whose bad packet
    /// has been accepted since it was judged is judged again (a fail replaces its pass).
    func settleNegatives() {
        let open = negatives.filter { $0.conv.link.usable && $0.bad != nil }
        var convs: [Conversation] = []
        for n in open where !convs.contains(where: { $0 === n.conv }) { convs.append(n.conv) }
        if let end = open.compactMap({ $0.bad.map { $0.sentAt + answerWait } }).max(), end > probeClock() {
            wait(convs, until: end) { open.allSatisfy { $0.bad?.acceptance != nil } }
        }
        for n in negatives {
            guard let bad = n.bad, n.refusalAllowed ? bad.acceptance != nil : bad.answered else { continue }
            judgeNegative(n.id, bad: bad, good: n.good, n.conv, since: n.mark, what: n.what, refusalAllowed: n.refusalAllowed, record: false)
        }
    }

    // MARK: - Step 3b: stream framing

    func framing() {
        guard wants(RuleID.platformFrameCut, RuleID.platformFrameMulti), let conv = primaryConversation() else { return }
        if wants(RuleID.platformFrameCut) {
            let mark = conv.log.records.count
            let segment = packets.segment(cn: .realTimeData, qn: qns.next(), flag: 5, cp: ProbePackets.uploadCP(.realTimeData, now: chinaWallMilliseconds()))
            let bytes = FrameEncoder.frame(segment)
            let cuts = [1, 4, bytes.count / 2, bytes.count - 3, bytes.count]
            var start = 0
            var ok = true
            for (i, end) in cuts.enumerated() {
                ok = ok && conv.link.send(Array(bytes[start..<end]), logAs: "piece \(i + 1)/\(cuts.count): \(showBytes(bytes[start..<end]))")
                start = end
                if i < cuts.count - 1 { wait([conv], until: probeClock() + 0.03) { false } }
            }
            let p = ok ? conv.record(segment) : nil
            awaitAnswers(conv, [p])
            if let p, let a = p.acceptance {
                judge(RuleID.platformFrameCut, .pass, "a 2011 sent in \(cuts.count) writes was answered in \(ms(a.latency))", established: true)
            } else if let p, p.answered {
                judge(RuleID.platformFrameCut, .fail, "a 2011 sent in \(cuts.count) writes (30 ms apart) was \(whyNotAccepted(p))",
                      wire: Array(conv.log.snapshot.dropFirst(mark)), established: true)
            } else {
                judge(RuleID.platformFrameCut, .fail, ok ? "a 2011 sent in \(cuts.count) writes (30 ms apart) was not answered within \(format(answerWait)) s"
                                              : "could not send: \(conv.link.whyUnusable)", wire: Array(conv.log.snapshot.dropFirst(mark)))
            }
        }
        if wants(RuleID.platformFrameMulti) {
            let mark = conv.log.records.count
            let segments = (0..<3).map { _ in packets.segment(cn: .realTimeData, qn: qns.next(), flag: 5, cp: ProbePackets.uploadCP(.realTimeData, now: chinaWallMilliseconds())) }
            let bytes = segments.flatMap { FrameEncoder.frame($0) }
            let ok = conv.link.send(bytes, logAs: "one write: " + segments.map { showBytes(FrameEncoder.frame($0, trailer: false)) }.joined(separator: "\\r\\n"))
            let sent = ok ? segments.map { conv.record($0) } : []
            awaitAnswers(conv, sent)
            let answered = sent.filter(\.answered).count
            let accepted = sent.filter { $0.acceptance != nil }.count
            if ok && accepted == 3 {
                judge(RuleID.platformFrameMulti, .pass, "three frames in one write, three answers", established: true)
            } else if ok && answered > accepted, let refused = sent.first(where: { $0.answered && $0.acceptance == nil }) {
                judge(RuleID.platformFrameMulti, .fail, "three frames in one write, \(accepted) accepted; \(refused.cn) QN=\(refused.qn ?? "-") \(whyNotAccepted(refused))",
                      wire: Array(conv.log.snapshot.dropFirst(mark)), established: true)
            } else {
                judge(RuleID.platformFrameMulti, .fail, ok ? "three frames in one write, \(answered) answered" : "could not send: \(conv.link.whyUnusable)",
                      wire: Array(conv.log.snapshot.dropFirst(mark)))
            }
        }
    }

}

func ms(_ seconds: Double) -> String {
    seconds < 1 ? "\(Int((seconds * 1000).rounded())) ms" : "\(format(seconds)) s"
}

func round3(_ v: Double) -> Double { (v * 1000).rounded() / 1000 }

/// `2026-11-30T08:00:00+08:00` from China wall milliseconds.
func isoChina(_ ms: Int64) -> String {
    let t = HJTime(wallMilliseconds: ms)
    func two(_ v: Int) -> String { v < 10 ? "0\(v)" : String(v) }
    return "\(t.year)-\(two(t.month))-\(two(t.day))T\(two(t.hour)):\(two(t.minute)):\(two(t.second))+08:00"
}
