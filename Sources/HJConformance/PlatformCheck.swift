import HJ212
import HJLoad
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
        PlatformSuite(options: options, catalogue: catalogue, hooks: hooks).run()
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

    func wants(_ ids: String...) -> Bool { ids.contains { selected.contains($0) } }
    func wantsGroup(_ prefix: String) -> Bool { selected.contains { $0.hasPrefix(prefix) } }

    func rule(_ id: String) -> CheckRule? { rules.first { $0.id == id } }

    /// Records a verdict (once per rule; a later fail replaces an earlier pass).
    func judge(_ id: String, _ verdict: Verdict, _ message: String, wire: [WireRecord] = []) {
        guard let rule = rule(id) else { return }
        if let existing = results[id], existing.verdict == .fail || (existing.verdict == .warn && verdict != .fail) { return }
        let keep = verdict == .fail || verdict == .warn
        results[id] = CheckResult(rule: rule, verdict: verdict, message: message, wire: keep ? Array(wire.suffix(200)) : [])
    }

    var shouldContinue: Bool {
        if interrupted { return false }
        if !hooks.shouldContinue() { interrupted = true }
        return !interrupted
    }

    func progress(_ text: String) {
        let done = results.count
        hooks.progress("check platform \(options.host):\(options.port): \(done)/\(rules.count) checks · \(text)")
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
            let c = Conversation(link: link, mn: mn ?? packets.mn, pw: pw ?? packets.pw)
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
    /// wait after the last send); with `grace`, keeps listening a little longer for answers to
    /// packets that must not get one.
    func awaitAnswers(_ conv: Conversation, _ batch: [SentPacket?], grace: Bool = false) {
        let list = batch.compactMap { $0 }
        let last = list.map(\.sentAt).max() ?? probeClock()
        wait([conv], until: last + answerWait) {
            !conv.link.usable || list.allSatisfy { !$0.expectsAnswer || $0.answered }
        }
        if grace, conv.link.usable {
            // In-order platforms answer a bad frame before the good one that follows it; the
            // grace period covers platforms that answer out of order.
            let typical = list.compactMap { $0.firstAnswer?.latency }.max() ?? 0.05
            let extra = min(options.overTime, max(0.1, typical * 2))
            wait([conv], until: probeClock() + extra) { false }
        }
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
        judgeAckForms()
        judgeCommands()
        judgeLatency()
        for c in conversations where !c.link.isClosed { c.link.close() }

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
        guard uploads.count >= 3, !uploads.contains(where: \.answered) else { return }
        silent = true
        let why = "the platform answered none of the \(uploads.count) uploads within \(format(answerWait)) s (OverTime plus grace)"
        facts.append(("silent", why))
        for r in rules where results[r.id] == nil && !r.id.hasPrefix("P-CMD-") && !r.id.hasPrefix("P-ACK-") {
            judge(r.id, .notExercised, "not exercised: \(why)")
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
        let responder = CommandResponder(suite: self, conversation: conv, withholdFirst: wants("P-CMD-RESEND"))
        self.responder = responder
        conv.responder = { [unowned responder] frame in responder.handle(frame) }
        // The boot packet identifies the logger (C.24: sent after connecting).
        let boot = conv.send(packets.segment(cn: "2081", qn: qns.next(), flag: 5, cp: ProbePackets.uploadCP("2081", now: chinaWallMilliseconds())))
        awaitAnswers(conv, [boot])
        judgeUpload("P-ACK-2081", boot, conv)
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

    func judgeUpload(_ id: String, _ packet: SentPacket?, _ conv: Conversation) {
        guard wants(id) else { return }
        guard let packet else {
            judge(id, .fail, "could not send: \(conv.link.failure ?? (conv.link.peerClosed ? "the platform closed the connection" : "connection closed"))", wire: conv.log.snapshot)
            return
        }
        if let a = packet.firstAnswer {
            let cn = a.frame.segment.cn ?? "?"
            judge(id, .pass, "\(packet.cn) answered by \(cn) in \(ms(a.latency))\(a.byQN ? "" : " (QN not echoed)")")
        } else {
            judge(id, .fail, "no answer to \(packet.describe) within \(format(answerWait)) s\(conv.link.peerClosed ? "; the platform closed the connection" : "")",
                  wire: conv.log.snapshot)
        }
    }

    func uploads() {
        let ids = ["2011", "2051", "2061", "2031", "2041", "2021", "3020"]
        let any = ids.contains { wants("P-ACK-\($0)") } || wantsGroup("P-ACK-")
        guard any, let conv = primaryConversation() else { return }
        // One write per upload, back to back, as a logger with a send window does; answers are
        // matched by QN (in order when the platform does not echo it).
        var sent: [(String, SentPacket?)] = []
        for cn in ids where shouldContinue {
            sent.append((cn, conv.send(packets.segment(cn: cn, qn: qns.next(), flag: 5, cp: ProbePackets.uploadCP(cn, now: chinaWallMilliseconds())))))
        }
        awaitAnswers(conv, sent.map(\.1))
        for (cn, p) in sent { judgeUpload("P-ACK-\(cn)", p, conv) }
    }

    // MARK: - Step 3: flows

    func flows() {
        guard let conv = primaryConversation() else { return }
        if wants("P-NOACK-FLAG") {
            let mark = conv.log.records.count
            let silent = conv.send(packets.segment(cn: "2011", qn: qns.next(), flag: 4, cp: ProbePackets.uploadCP("2011", now: chinaWallMilliseconds())),
                                   mustNotAnswer: true)
            let good = conv.send(packets.segment(cn: "2011", qn: qns.next(), flag: 5, cp: ProbePackets.uploadCP("2011", now: chinaWallMilliseconds())))
            awaitAnswers(conv, [silent, good], grace: true)
            judgeNegative("P-NOACK-FLAG", bad: silent, good: good, conv, since: mark, what: "the upload with Flag=4 (A=0)", refusalAllowed: false)
        }
        if wants("P-NOTIFY-1013", "P-NOTIFY-1012") || wantsGroup("P-ACK-") {
            let mark = conv.log.records.count
            let n = conv.send(packets.segment(cn: "1013", qn: qns.next(), flag: 5, cp: [[Field("PolId", "w01018")]]), kind: .notification)
            time1013 = probeClock()
            awaitAnswers(conv, [n])
            if let n, let a = n.firstAnswer {
                let cn = a.frame.segment.cn ?? "?"
                if cn == "9013" {
                    judge("P-NOTIFY-1013", .pass, "1013 answered by 9013 in \(ms(a.latency))")
                } else {
                    judge("P-NOTIFY-1013", .fail, "1013 answered by CN \(cn), expected 9013", wire: Array(conv.log.snapshot.dropFirst(mark)))
                }
            } else {
                judge("P-NOTIFY-1013", .fail, "no 9013 answering the 1013 within \(format(answerWait)) s", wire: Array(conv.log.snapshot.dropFirst(mark)))
            }
        }
        if wants("P-SPLIT-ACK") {
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
            let unanswered = sent.filter { !$0.answered }
            if sent.count < parts.count {
                judge("P-SPLIT-ACK", .fail, "could not send all \(parts.count) packets: \(conv.link.failure ?? "connection closed")", wire: Array(conv.log.snapshot.dropFirst(mark)))
            } else if unanswered.isEmpty {
                judge("P-SPLIT-ACK", .pass, "\(parts.count) packets (PNUM=\(parts.count)), each answered by its own 9014")
            } else {
                judge("P-SPLIT-ACK", .fail, "\(unanswered.count) of \(parts.count) split packets not answered (PNO \(unanswered.compactMap { $0.segment.header("PNO") }.joined(separator: ", ")))",
                      wire: Array(conv.log.snapshot.dropFirst(mark)))
            }
        }
        if wants("P-RESEND-ACK") {
            let mark = conv.log.records.count
            let segment = packets.segment(cn: "2051", qn: qns.next(), flag: 5, cp: ProbePackets.uploadCP("2051", now: chinaWallMilliseconds()))
            let first = conv.send(segment)
            awaitAnswers(conv, [first])
            conv.log.note("sending the same frame again (same QN), as after a lost 9014")
            let second = conv.send(segment)
            awaitAnswers(conv, [second])
            if let first, let second, first.answered, second.answered {
                judge("P-RESEND-ACK", .pass, "both sends of QN \(segment.qn ?? "-") answered")
            } else if let first, !first.answered {
                judge("P-RESEND-ACK", .notExercised, "not exercised: the first send was not answered either (see P-ACK-2051)")
            } else {
                judge("P-RESEND-ACK", .fail, "the resent frame (same QN) was not answered again", wire: Array(conv.log.snapshot.dropFirst(mark)))
            }
        }
    }

    /// A negative check: `bad` must not be accepted and `good`, sent after it, must be answered.
    /// With `refusalAllowed`, a 9011 refusing `bad` (QnRtn other than 1) is a correct answer;
    /// otherwise (a packet with A=0) any answer is wrong.
    func judgeNegative(_ id: String, bad: SentPacket?, good: SentPacket?, _ conv: Conversation, since mark: Int, what: String,
                       refusalAllowed: Bool = true) {
        let wire = Array(conv.log.snapshot.dropFirst(mark))
        guard let bad else {
            judge(id, .fail, "could not send \(what): \(conv.link.failure ?? "connection closed")", wire: wire)
            return
        }
        if let a = refusalAllowed ? bad.acceptance : bad.firstAnswer {
            judge(id, .fail, "\(what) was \(refusalAllowed ? "accepted" : "answered") (\(a.frame.segment.cn ?? "?")\(a.frame.segment.cpValue("QnRtn").map { " QnRtn=\($0)" } ?? "") after \(ms(a.latency))\(a.byQN ? "" : ", attributed in order")); it must not be",
                  wire: wire)
            return
        }
        let refused = bad.refusal.map { " (refused with 9011 QnRtn=\($0.frame.refusalCode ?? "?"))" } ?? ""
        guard let good, good.answered else {
            let why = conv.link.peerClosed ? "the platform closed the connection after \(what)" : "the good frame sent after \(what) was not answered within \(format(answerWait)) s"
            judge(id, .fail, "\(what) was not accepted\(refused), but \(why): the connection no longer serves", wire: wire)
            return
        }
        judge(id, .pass, "\(what) was not accepted\(refused); the next good frame was answered (\(ms(good.firstAnswer.map(\.latency) ?? 0)))")
    }

    // MARK: - Step 3b: stream framing

    func framing() {
        guard wants("P-FRAME-CUT", "P-FRAME-MULTI"), let conv = primaryConversation() else { return }
        if wants("P-FRAME-CUT") {
            let mark = conv.log.records.count
            let segment = packets.segment(cn: "2011", qn: qns.next(), flag: 5, cp: ProbePackets.uploadCP("2011", now: chinaWallMilliseconds()))
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
            if let p, let a = p.firstAnswer {
                judge("P-FRAME-CUT", .pass, "a 2011 sent in \(cuts.count) writes was answered in \(ms(a.latency))")
            } else {
                judge("P-FRAME-CUT", .fail, ok ? "a 2011 sent in \(cuts.count) writes (30 ms apart) was not answered within \(format(answerWait)) s"
                                              : "could not send: \(conv.link.failure ?? "connection closed")", wire: Array(conv.log.snapshot.dropFirst(mark)))
            }
        }
        if wants("P-FRAME-MULTI") {
            let mark = conv.log.records.count
            let segments = (0..<3).map { _ in packets.segment(cn: "2011", qn: qns.next(), flag: 5, cp: ProbePackets.uploadCP("2011", now: chinaWallMilliseconds())) }
            let bytes = segments.flatMap { FrameEncoder.frame($0) }
            let ok = conv.link.send(bytes, logAs: "one write: " + segments.map { showBytes(FrameEncoder.frame($0, trailer: false)) }.joined(separator: "\\r\\n"))
            let sent = ok ? segments.map { conv.record($0) } : []
            awaitAnswers(conv, sent)
            let answered = sent.filter(\.answered).count
            if ok && answered == 3 {
                judge("P-FRAME-MULTI", .pass, "three frames in one write, three answers")
            } else {
                judge("P-FRAME-MULTI", .fail, ok ? "three frames in one write, \(answered) answered" : "could not send: \(conv.link.failure ?? "connection closed")",
                      wire: Array(conv.log.snapshot.dropFirst(mark)))
            }
        }
    }

    // MARK: - Step 4: bad frames

    func badFrames() {
        let cases: [(id: String, what: String, make: (ProbePackets, QNSource) -> (DataSegment?, [UInt8]))] = [
            ("P-BAD-GARBAGE", "noise bytes", { _, _ in
                (nil, [0x00, 0x01, 0xFE, 0xFF, 0x7F] + Array("GET / HTTP/1.0\r\n\r\n# #\r\n".utf8) + [0x80, 0xC3, 0x28, 0x0D, 0x0A])
            }),
            ("P-BAD-CRC", "the frame with a wrong CRC", { p, q in
                let s = p.segment(cn: "2011", qn: q.next(), flag: 5, cp: ProbePackets.uploadCP("2011", now: chinaWallMilliseconds()))
                var bytes = FrameEncoder.frame(s)
                let crcAt = bytes.count - 6
                let right = String(decoding: bytes[crcAt..<(crcAt + 4)], as: UTF8.self)
                let wrong = right == "0000" ? "FFFF" : "0000"
                bytes.replaceSubrange(crcAt..<(crcAt + 4), with: Array(wrong.utf8))
                return (s, bytes)
            }),
            ("P-BAD-LENGTH", "the frame with a wrong length field", { p, q in
                let s = p.segment(cn: "2011", qn: q.next(), flag: 5, cp: ProbePackets.uploadCP("2011", now: chinaWallMilliseconds()))
                var bytes = FrameEncoder.frame(s)
                let n = s.serializedBytes().count + 7
                let digits = Array(String(n).utf8)
                bytes.replaceSubrange(2..<6, with: [UInt8](repeating: 0x30, count: 4 - digits.count) + digits)
                return (s, bytes)
            }),
            ("P-BAD-OVERSIZE", "the oversized frame", { p, q in
                let s = p.oversized(qn: q.next(), now: chinaWallMilliseconds())
                return (s, FrameEncoder.frame(s))
            }),
        ]
        for c in cases where wants(c.id) && shouldContinue {
            let conv: Conversation
            switch connect("logger 1 (\(c.id))") {
            case .failure(let e): judge(c.id, .fail, "could not connect: \(e.message)"); continue
            case .success(let x): conv = x
            }
            // A good frame first (the connection is served), then the bad one, then a good one.
            let first = conv.send(packets.segment(cn: "2011", qn: qns.next(), flag: 5, cp: ProbePackets.uploadCP("2011", now: chinaWallMilliseconds())))
            let mark = max(0, conv.log.records.count - 1)
            let (segment, bytes) = c.make(packets, qns)
            var bad: SentPacket?
            if let segment {
                bad = conv.send(segment, mustNotAnswer: true, bytes: bytes)
            } else {
                conv.link.send(bytes)
            }
            wait([conv], until: probeClock() + 0.02) { false }
            let good = conv.send(packets.segment(cn: "2011", qn: qns.next(), flag: 5, cp: ProbePackets.uploadCP("2011", now: chinaWallMilliseconds())))
            awaitAnswers(conv, [first, bad, good], grace: true)
            if segment == nil {
                // Garbage cannot be answered as such; any answer besides the good frame's is stray.
                let wire = Array(conv.log.snapshot.dropFirst(mark))
                if let good, good.answered, conv.link.usable {
                    judge(c.id, .pass, "noise ignored; the next good frame was answered (\(ms(good.firstAnswer.map(\.latency) ?? 0)))")
                } else {
                    judge(c.id, .fail, conv.link.peerClosed ? "the platform closed the connection after the noise"
                                                           : "the good frame sent after the noise was not answered within \(format(answerWait)) s", wire: wire)
                }
            } else {
                judgeNegative(c.id, bad: bad, good: good, conv, since: mark, what: c.what)
            }
            conv.link.close()
        }
    }

    // MARK: - Step 5: access, dialects, profile packets

    func unknownMN() -> String {
        let known = Set(options.credentials.map(\.mn))
        let base = packets.mn
        for suffix in ["F0F0F0", "E1E1E1", "D2D2D2", "C3C3C3"] {
            let mn = base.count > suffix.count ? String(base.dropLast(suffix.count)) + suffix : base + suffix
            if !known.contains(mn) { return mn }
        }
        return base + "X"
    }

    func access() {
        let cases: [(id: String, what: String, mn: String, pw: String)] = [
            ("P-ACCESS-PW", "the packet with a wrong PW", packets.mn, packets.pw == "000000" ? "999999" : "000000"),
            ("P-ACCESS-MN", "the packet from an unknown MN", unknownMN(), packets.pw),
        ]
        for c in cases where wants(c.id) && shouldContinue {
            let conv: Conversation
            switch connect("logger 1 (\(c.id))") {
            case .failure(let e): judge(c.id, .fail, "could not connect: \(e.message)"); continue
            case .success(let x): conv = x
            }
            let bad = conv.send(packets.segment(cn: "2011", qn: qns.next(), flag: 5, cp: ProbePackets.uploadCP("2011", now: chinaWallMilliseconds()),
                                                mn: c.mn, pw: c.pw), mustNotAnswer: true)
            let good = conv.send(packets.segment(cn: "2011", qn: qns.next(), flag: 5, cp: ProbePackets.uploadCP("2011", now: chinaWallMilliseconds())))
            awaitAnswers(conv, [bad, good], grace: true)
            let wire = conv.log.snapshot
            if c.id == "P-ACCESS-MN" { acceptsUnknownMN = bad?.acceptance != nil }
            // A 9011 with QnRtn 3 (wrong PW) or 4 (unknown MN) is a correct refusal, not an acknowledgement.
            let refused = bad?.refusal.map { " (refused with 9011 QnRtn=\($0.frame.refusalCode ?? "?"))" } ?? ""
            if let bad, bad.acceptance != nil {
                let open = c.id == "P-ACCESS-MN"
                    ? "the platform acknowledged MN \(c.mn), which is not among the credentials given: it accepts every MN (open registry?)"
                    : "the platform acknowledged MN \(c.mn) with the wrong PW \(c.pw): it does not check passwords"
                judge(c.id, .fail, open, wire: wire)
            } else if bad == nil {
                judge(c.id, .fail, "could not send: \(conv.link.failure ?? "connection closed")", wire: wire)
            } else if conv.link.peerClosed {
                judge(c.id, .pass, "\(c.what) was not acknowledged\(refused) (the platform closed the connection)")
            } else if let good, good.answered {
                judge(c.id, .pass, "\(c.what) was not acknowledged\(refused); the registered logger's next packet was")
            } else {
                // Neither answered: the platform may just be slow or broken; the refusal is not shown.
                judge(c.id, .notExercised, "not exercised: the registered logger's own packet was not answered either, so the refusal shows nothing", wire: wire)
            }
            conv.link.close()
        }
        if let accepts = acceptsUnknownMN { facts.append(("registry", accepts ? "the platform accepts unknown MNs" : "the platform refuses unknown MNs")) }
    }

    func dialects() {
        if wants("P-V2005-ACK"), shouldContinue, case .success(let conv) = connect("logger 1 (HJ/T 212-2005)") {
            let p = conv.send(packets.legacy2051(qn: qns.next(), now: chinaWallMilliseconds()))
            awaitAnswers(conv, [p])
            if let a = p?.firstAnswer {
                let form = a.frame.segment.cpValue("QN") != nil ? "the HJ/T 212-2005 form (QN in CP)" : "the HJ 212-2017 form"
                judge("P-V2005-ACK", .pass, "answered by \(a.frame.segment.cn ?? "?") in \(form), \(ms(a.latency))")
            } else {
                judge("P-V2005-ACK", .fail, "no answer to the HJ/T 212-2005 2051 (Flag=1) within \(format(answerWait)) s", wire: conv.log.snapshot)
            }
            conv.link.close()
        }
        if wants("P-V2025-ACK", "P-V2025-HEARTBEAT"), shouldContinue, case .success(let conv) = connect("logger 1 (HJ 212-2025)") {
            if wants("P-V2025-ACK") {
                let p = conv.send(packets.segment(cn: "2011", qn: qns.next(), flag: 9, cp: ProbePackets.uploadCP("2011", now: chinaWallMilliseconds())))
                awaitAnswers(conv, [p])
                if let a = p?.firstAnswer, a.frame.segment.cn == "9014" {
                    judge("P-V2025-ACK", .pass, "2011 with Flag=9 answered by 9014 Flag=\(a.frame.segment.header("Flag") ?? "-") in \(ms(a.latency))")
                } else {
                    judge("P-V2025-ACK", .fail, p?.firstAnswer.map { "answered by CN \($0.frame.segment.cn ?? "?"), expected 9014" }
                          ?? "no answer to the 2011 with Flag=9 within \(format(answerWait)) s", wire: conv.log.snapshot)
                }
            }
            if wants("P-V2025-HEARTBEAT") {
                let p = conv.send(packets.segment(cn: "9015", qn: qns.next(), flag: 9, cp: [], st: "91"), kind: .notification)
                awaitAnswers(conv, [p])
                if let a = p?.firstAnswer, a.frame.segment.cn == "9013" {
                    judge("P-V2025-HEARTBEAT", .pass, "9015 answered by 9013 in \(ms(a.latency))")
                } else {
                    judge("P-V2025-HEARTBEAT", .fail, p?.firstAnswer.map { "answered by CN \($0.frame.segment.cn ?? "?"), expected 9013" }
                          ?? "no 9013 answering the 9015 heartbeat within \(format(answerWait)) s", wire: conv.log.snapshot)
                }
            }
            conv.link.close()
        }
        if wantsGroup("P-JS-"), shouldContinue, case .success(let conv) = connect("logger 1 (Jiangsu)") {
            for (id, segment) in [("P-JS-DYNAMIC", packets.dynamicControl3020(qn: qns.next(), now: chinaWallMilliseconds())),
                                  ("P-JS-PROCESS", packets.process2011(qn: qns.next(), now: chinaWallMilliseconds()))] where wants(id) {
                let p = conv.send(segment)
                awaitAnswers(conv, [p])
                judgeUpload(id, p, conv)
            }
            conv.link.close()
        }
    }

    // MARK: - Step 6: load

    func load() {
        if wants("P-LOAD-CONCURRENT", "P-LOAD-LATENCY"), shouldContinue { concurrency() }
        if wants("P-LOAD-RECONNECT"), shouldContinue { reconnects() }
    }

    /// The credentials of logger `i` of the concurrency check: the given list in order while it
    /// lasts; beyond it MNs derived from the first one when the platform accepts unknown MNs,
    /// otherwise the given list again (several connections of one MN).
    func credentials(_ i: Int) -> (mn: String, pw: String) {
        let list = options.credentials.isEmpty ? [(mn: packets.mn, pw: packets.pw)] : options.credentials
        if i < list.count { return list[i] }
        if acceptsUnknownMN == true {
            let base = list[0].mn
            let hex = String(i, radix: 16, uppercase: true)
            let suffix = String(repeating: "0", count: max(0, 4 - hex.count)) + hex
            return (base.count > 4 ? String(base.dropLast(4)) + suffix : base + suffix, list[0].pw)
        }
        return list[i % list.count]
    }

    /// Loggers of the concurrency check whose packets join the run-wide judgements (the
    /// acknowledgement form, commands); the others only count and are timed.
    static let trackedLoggers = 200

    /// Connect timeouts in a row after which the concurrency check stops connecting.
    static let maxConsecutiveTimeouts = 5

    /// The longest the concurrency check spends connecting its `n` loggers (seconds).
    static func connectPhaseSeconds(_ n: Int) -> Double { 60 + 0.05 * Double(n) }

    func concurrency() {
        let n = max(1, options.concurrency)
        let rounds = 5
        let log = WireLog(origin: origin, limit: 200)
        var convs: [Conversation] = []
        var failures: [String] = []
        // Connecting stops after `maxConsecutiveTimeouts` timeouts in a row (the platform
        // stopped accepting) or at an overall deadline, so that the step cannot take hours.
        let connectDeadline = probeClock() + Self.connectPhaseSeconds(n)
        var consecutiveTimeouts = 0
        var stoppedConnecting: String?
        for i in 0..<n where shouldContinue {
            if consecutiveTimeouts >= Self.maxConsecutiveTimeouts {
                stoppedConnecting = "connecting stopped after \(consecutiveTimeouts) timeouts in a row (the platform stopped accepting after \(convs.count) loggers)"
                break
            }
            if probeClock() >= connectDeadline {
                stoppedConnecting = "connecting stopped at the \(format(Self.connectPhaseSeconds(n))) s limit of the step"
                break
            }
            let id = credentials(i)
            // Each connection logs into the shared log only its notes and the first logger's frames.
            switch connect("logger \(i + 1) (\(id.mn))", mn: id.mn, pw: id.pw, log: i == 0 ? log : WireLog(origin: origin, limit: 24), track: i < Self.trackedLoggers,
                           deadline: connectDeadline) {
            case .success(let c):
                convs.append(c)
                consecutiveTimeouts = 0
            case .failure(let e):
                consecutiveTimeouts = e.timedOut ? consecutiveTimeouts + 1 : 0
                if failures.count < 5 { failures.append("logger \(i + 1): \(e.message)") }
                log.note("logger \(i + 1): \(e.message)")
            }
            if i % 50 == 49 { progress("concurrency: \(i + 1)/\(n) connected") }
        }
        if let stoppedConnecting {
            log.note(stoppedConnecting)
            failures.insert(stoppedConnecting, at: 0)
            facts.append(("concurrency connects", stoppedConnecting))
        }
        let tracked = Set(conversations.map(ObjectIdentifier.init))
        let unique = Set(convs.map(\.mn)).count
        facts.append(("concurrency", "\(convs.count) of \(n) loggers connected at once (\(unique) distinct MNs), \(rounds) uploads each"))
        var pending: [ObjectIdentifier: SentPacket] = [:]
        var sentCount = 0, answeredCount = 0
        var round: [ObjectIdentifier: Int] = [:]
        var concurrent = LatencyHistogram()
        func sendNext(_ c: Conversation) {
            let k = round[ObjectIdentifier(c), default: 0]
            guard k < rounds, c.link.usable else { pending[ObjectIdentifier(c)] = nil; return }
            round[ObjectIdentifier(c)] = k + 1
            let packet = ProbePackets(mn: c.mn, pw: c.pw, st: packets.st)
            if let p = c.send(packet.segment(cn: "2011", qn: qns.next(), flag: 5, cp: ProbePackets.uploadCP("2011", now: chinaWallMilliseconds()))) {
                pending[ObjectIdentifier(c)] = p
                sentCount += 1
            } else {
                pending[ObjectIdentifier(c)] = nil
            }
        }
        for c in convs { sendNext(c) }
        var lastProgress = probeClock()
        var deadline = probeClock() + answerWait
        while !pending.isEmpty && shouldContinue && probeClock() < deadline {
            ProbeLink.pump(convs.map(\.link), until: min(deadline, probeClock() + 0.05), shouldContinue: { shouldContinue }) { false }
            var progressed = false
            for c in convs {
                c.process()
                guard let p = pending[ObjectIdentifier(c)] else { continue }
                if let a = p.firstAnswer {
                    answeredCount += 1
                    concurrent.record(microseconds: UInt64(max(0, a.latency * 1e6)))
                    // Tracked conversations are timed with the rest of the run; the others here.
                    if !tracked.contains(ObjectIdentifier(c)) { latencies.record(microseconds: UInt64(max(0, a.latency * 1e6))) }
                    progressed = true
                    sendNext(c)
                } else if !c.link.usable {
                    pending[ObjectIdentifier(c)] = nil
                }
            }
            if progressed { deadline = probeClock() + answerWait }
            if probeClock() - lastProgress > 0.5 {
                lastProgress = probeClock()
                progress("concurrency: \(answeredCount)/\(convs.count * rounds) answered")
            }
        }
        responder?.tick()
        let closed = convs.filter { $0.link.peerClosed }.count
        for c in convs { c.link.close() }
        if concurrent.total > 0 {
            facts.append(("latency under load", "p50 \(LatencyHistogram.format(concurrent.percentile(50))), p99 \(LatencyHistogram.format(concurrent.percentile(99))), max \(LatencyHistogram.format(concurrent.max)) over \(concurrent.total) acknowledgements"))
        }
        let expected = n * rounds
        if convs.count == n && answeredCount == expected {
            judge("P-LOAD-CONCURRENT", .pass, "\(n) loggers at once (\(unique) distinct MNs): \(answeredCount) of \(expected) uploads answered")
        } else if interrupted {
            return
        } else {
            var why = "\(convs.count) of \(n) loggers connected, \(answeredCount) of \(expected) uploads answered"
            if closed > 0 { why += ", the platform closed \(closed) connections" }
            if unique < convs.count { why += " (\(unique) distinct MNs: give --registry with more loggers if the platform allows one connection per MN)" }
            if !failures.isEmpty { why += "; " + failures.joined(separator: "; ") }
            judge("P-LOAD-CONCURRENT", .fail, why, wire: log.snapshot)
        }
    }

    func reconnects() {
        let log = WireLog(origin: origin)
        var steps: [String] = []
        for (i, reset) in [(1, false), (2, true), (3, false)] {
            guard shouldContinue else { return }
            let conv: Conversation
            switch connect("logger 1 (connection \(i))", log: log) {
            case .failure(let e):
                judge("P-LOAD-RECONNECT", .fail, "connection \(i) failed: \(e.message)", wire: log.snapshot)
                return
            case .success(let c): conv = c
            }
            let p = conv.send(packets.segment(cn: "2011", qn: qns.next(), flag: 5, cp: ProbePackets.uploadCP("2011", now: chinaWallMilliseconds())))
            awaitAnswers(conv, [p])
            guard let a = p?.firstAnswer else {
                judge("P-LOAD-RECONNECT", .fail, i == 1 ? "the first connection's upload was not answered" :
                        "after \(i == 2 ? "closing" : "resetting") the previous connection, the upload on connection \(i) was not answered within \(format(answerWait)) s",
                      wire: log.snapshot)
                conv.link.close()
                return
            }
            steps.append("connection \(i): \(ms(a.latency))")
            conv.link.close(reset: reset)
        }
        judge("P-LOAD-RECONNECT", .pass, "served after a close and after a reset: " + steps.joined(separator: ", "))
    }

    // MARK: - Judgements over the whole run

    /// Every 9013/9014 attributed to a packet the tool sent, judged for its form.
    func judgeAckForms() {
        struct Finding { var text: String; var wire: [WireRecord] }
        var bad: [String: [Finding]] = [:]
        var counted = 0
        var twice: [Finding] = []
        func add(_ id: String, _ text: String, _ c: Conversation, _ frame: ProbeFrame, _ p: SentPacket) {
            guard bad[id, default: []].count < 5 else { bad[id]!.append(Finding(text: "", wire: [])); return }
            bad[id, default: []].append(Finding(text: text, wire: [
                WireRecord(time: round3(p.sentAt - origin), direction: .up, text: showBytes(FrameEncoder.frame(p.segment, trailer: false))),
                WireRecord(time: round3(frame.time - origin), direction: .down, text: frame.text),
            ]))
        }
        var lateCount = 0
        for c in conversations {
            for p in c.sent where p.kind != .reply {
                for (i, a) in p.answers.enumerated() {
                    let f = a.frame
                    let s = f.segment
                    // A 9011 refusing a packet that must not be accepted (wrong PW, unknown MN,
                    // bad CRC) is no acknowledgement: its form is not judged as one.
                    if p.mustNotAnswer && f.refusalCode != nil { continue }
                    counted += 1
                    if i == 0 {
                        latencies.record(microseconds: UInt64(max(0, a.latency * 1e6)))
                        if a.latency > (slowest?.1.latency ?? -1) { slowest = (p, a) }
                    }
                    let legacy = p.version == 0 || s.cpValue("QN") != nil
                    let expectedCN = p.kind == .notification ? "9013" : "9014"
                    if s.cn != expectedCN { add("P-ACK-CN", "\(p.describe) answered by CN \(s.cn ?? "-"), expected \(expectedCN)", c, f, p) }
                    if s.st != "91" { add("P-ACK-ST", "\(p.cn) answered with ST=\(s.st ?? "missing"), expected 91", c, f, p) }
                    let flagExpected = p.version << 2
                    if legacy {
                        if let flag = s.header("Flag"), Int(flag) != 0 {
                            add("P-ACK-FLAG", "HJ/T 212-2005 \(p.cn) answered with Flag=\(flag), expected 0 or none", c, f, p)
                        }
                    } else if s.header("Flag") != String(flagExpected) {
                        add("P-ACK-FLAG", "\(p.cn) (Flag=\(p.segment.header("Flag") ?? "-")) answered with Flag=\(s.header("Flag") ?? "missing"), expected \(flagExpected)", c, f, p)
                    }
                    let echoed = legacy ? (s.cpValue("QN") ?? s.qn) : s.qn
                    if echoed != p.qn {
                        add("P-ACK-QN", "\(p.cn) QN=\(p.qn ?? "-") answered with QN=\(echoed ?? "missing")", c, f, p)
                    }
                    if legacy {
                        let allowed: Set<String> = ["QN", "CN", "PNO", "PNUM"]
                        if s.cpFields.contains(where: { !allowed.contains($0.name) }) {
                            add("P-ACK-CP", "HJ/T 212-2005 \(p.cn) answered with CP=&&\(s.cpText)&&, expected QN (and CN) only", c, f, p)
                        }
                    } else if s.cp == nil || !(s.cp ?? []).allSatisfy({ $0.isEmpty }) {
                        add("P-ACK-CP", "\(p.cn) answered with \(s.cp == nil ? "no CP" : "CP=&&\(s.cpText)&&"), expected CP=&&&&", c, f, p)
                    }
                    if let pw = s.pw, pw != (p.segment.pw ?? "") {
                        add("P-ACK-PWMN", "\(p.cn) with PW=\(p.segment.pw ?? "-") answered with PW=\(pw)", c, f, p)
                    } else if s.pw == nil && !legacy {
                        add("P-ACK-PWMN", "\(p.cn) answered without PW", c, f, p)
                    }
                    if let mn = s.mn, mn != (p.segment.mn ?? "") {
                        add("P-ACK-PWMN", "\(p.cn) from MN=\(p.segment.mn ?? "-") answered with MN=\(mn)", c, f, p)
                    } else if s.mn == nil && !legacy {
                        add("P-ACK-PWMN", "\(p.cn) answered without MN", c, f, p)
                    }
                    if !f.crcOK {
                        let declared = String(decoding: f.raw.crcBytes, as: UTF8.self)
                        let right = CRC.hex(CRC.hj212(f.raw.segmentBytes))
                        let what = f.crcVariant.map { "is the \($0.rawValue) variant" } ?? "is wrong"
                        add("P-ACK-CRC", "\(s.cn ?? "answer") CRC \(declared) \(what) (HJ 212 CRC: \(right))", c, f, p)
                    } else if f.raw.crcBytes.contains(where: { $0 >= 0x61 && $0 <= 0x66 }) {
                        add("P-ACK-CRC", "\(s.cn ?? "answer") CRC in lower case (\(String(decoding: f.raw.crcBytes, as: UTF8.self)))", c, f, p)
                    }
                    if f.raw.declaredLength != f.raw.segment.count {
                        add("P-ACK-FRAMING", "\(s.cn ?? "answer") length field \(showBytes(f.raw.lengthBytes)), the data segment has \(f.raw.segment.count) bytes", c, f, p)
                    }
                    if f.raw.trailer != .crlf {
                        add("P-ACK-FRAMING", "\(s.cn ?? "answer") ends with \(f.raw.trailer.rawValue), expected CR LF", c, f, p)
                    }
                    if i == 0, a.latency > options.overTime {
                        lateCount += 1
                        add("P-ACK-TIME", "\(p.cn) QN=\(p.qn ?? "-") answered after \(ms(a.latency)), OverTime is \(format(options.overTime)) s", c, f, p)
                    }
                    if i == 1, twice.count < 5, p.expectsAnswer || p.mustNotAnswer {
                        twice.append(Finding(text: "\(p.describe) answered \(p.answerCount) times", wire: [
                            WireRecord(time: round3(p.sentAt - origin), direction: .up, text: showBytes(FrameEncoder.frame(p.segment, trailer: false))),
                        ] + p.answers.map { WireRecord(time: round3($0.frame.time - origin), direction: .down, text: $0.frame.text) }))
                    }
                }
            }
        }
        if counted == 0 {
            for id in ["P-ACK-CN", "P-ACK-ST", "P-ACK-FLAG", "P-ACK-QN", "P-ACK-CP", "P-ACK-PWMN", "P-ACK-CRC", "P-ACK-FRAMING", "P-ACK-TIME", "P-ACK-ONCE"] {
                judge(id, .notExercised, "not exercised: the platform acknowledged nothing the tool sent")
            }
            return
        }
        facts.append(("acknowledgements", "\(counted) answers to the tool's packets judged"))
        for id in ["P-ACK-CN", "P-ACK-ST", "P-ACK-FLAG", "P-ACK-QN", "P-ACK-CP", "P-ACK-PWMN", "P-ACK-CRC", "P-ACK-FRAMING", "P-ACK-TIME"] {
            let list = bad[id] ?? []
            if list.isEmpty {
                judge(id, .pass, "all \(counted) answers conform")
            } else {
                let shown = list.filter { !$0.text.isEmpty }
                let more = list.count > shown.count ? " (and more)" : ""
                judge(id, .fail, "\(id == "P-ACK-TIME" ? lateCount : list.count) of \(counted) answers: " + shown.map(\.text).prefix(3).joined(separator: "; ") + more,
                      wire: shown.flatMap(\.wire))
            }
        }
        if twice.isEmpty {
            judge("P-ACK-ONCE", .pass, "no packet answered twice")
        } else {
            judge("P-ACK-ONCE", .fail, twice.map(\.text).prefix(3).joined(separator: "; "), wire: twice.flatMap(\.wire))
        }
    }

    func judgeCommands() {
        guard wantsGroup("P-CMD-") || wants("P-NOTIFY-1012") else { return }
        struct Finding { var text: String; var frame: ProbeFrame }
        var bad: [String: [Finding]] = [:]
        var total = 0
        var cns: [String: Int] = [:]
        let linter = try? Linter(options: LintOptions(strict: false))
        var set1012 = false
        for c in conversations {
            var byQN: [String: String] = [:]
            for (frame, version) in c.commands {
                total += 1
                let s = frame.segment
                let cn = s.cn ?? "?"
                cns[cn, default: 0] += 1
                func add(_ id: String, _ text: String) { if bad[id, default: []].count < 20 { bad[id, default: []].append(Finding(text: "\(cn) QN=\(s.qn ?? "-"): \(text)", frame: frame)) } }
                // Form: frame, header, known CN, lint errors.
                var problems: [String] = []
                if !frame.crcOK { problems.append("CRC \(String(decoding: frame.raw.crcBytes, as: UTF8.self)) is wrong\(frame.crcVariant.map { " (\($0.rawValue))" } ?? "")") }
                if frame.raw.declaredLength != frame.raw.segment.count { problems.append("length field \(showBytes(frame.raw.lengthBytes)) for \(frame.raw.segment.count) bytes") }
                if frame.raw.trailer != .crlf { problems.append("ends with \(frame.raw.trailer.rawValue), not CR LF") }
                let missing = ["QN", "ST", "CN", "PW", "MN", "Flag"].filter { s.header($0) == nil } + (s.cp == nil ? ["CP"] : [])
                if !missing.isEmpty { problems.append("missing " + missing.joined(separator: ", ")) }
                if let linter {
                    let report = linter.check(frame.raw, index: 0)
                    if let e = report.diagnostics.first(where: { $0.severity == .error }) { problems.append("\(e.rule): \(e.message)") }
                }
                if !problems.isEmpty { add("P-CMD-FORM", problems.prefix(3).joined(separator: "; ")) }
                // ST: the logger's, never 91.
                if let st = s.st, !c.sts.contains(st) { add("P-CMD-ST", "ST=\(st), the logger uses \(c.sts.sorted().joined(separator: "/"))") }
                else if s.st == nil { add("P-CMD-ST", "no ST") }
                // Flag: A=1, D=0, the logger's version.
                if let flag = s.flag {
                    if !flag.needsAck || flag.isSplit || flag.version != version {
                        add("P-CMD-FLAG", "Flag=\(flag.rawValue), expected \(PacketFlag(version: version, split: false, ack: true).rawValue) (A=1, version \(version))")
                    }
                } else {
                    add("P-CMD-FLAG", "Flag=\(s.header("Flag") ?? "missing")")
                }
                // QN: 17 digits, a valid time, one per command.
                if let qn = s.qn, qn.utf8.count == 17, HJTime(qn, allowMilliseconds: true) != nil {
                    let key = cn + "|" + s.cpText
                    if let previous = byQN[qn], previous != key { add("P-CMD-QN", "QN reused by a different command") }
                    byQN[qn] = key
                } else {
                    add("P-CMD-QN", "QN=\(s.qn ?? "missing") is not a valid 17-digit time")
                }
                // PW and MN of the logger.
                let pair = (s.mn ?? "") + "\u{1}" + (s.pw ?? "")
                if !(c.identities.contains(pair) || (s.mn == c.mn && s.pw == c.pw)) {
                    add("P-CMD-PWMN", "MN=\(s.mn ?? "-") PW=\(s.pw ?? "-"), the logger is MN=\(c.mn) PW=\(c.pw)")
                }
                if cn == "1012", let t = time1013, frame.time >= t { set1012 = true }
            }
        }
        facts.append(("commands", total == 0 ? "none seen" : cns.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: ", ")))
        if time1013 != nil && wants("P-NOTIFY-1012") {
            if set1012 { judge("P-NOTIFY-1012", .pass, "a 1012 set-time command followed the 1013") }
            else { judge("P-NOTIFY-1012", .fail, "no 1012 set-time command followed the 1013 during the run", wire: primary?.log.snapshot ?? []) }
        }
        let window = options.commandWindow
        guard total > 0 else {
            for id in ["P-CMD-FORM", "P-CMD-ST", "P-CMD-FLAG", "P-CMD-QN", "P-CMD-PWMN", "P-CMD-FLOW", "P-CMD-RESEND"] {
                judge(id, .notExercised, "not exercised: the platform sent no command during the run (command window \(format(window)) s)")
            }
            return
        }
        for id in ["P-CMD-FORM", "P-CMD-ST", "P-CMD-FLAG", "P-CMD-QN", "P-CMD-PWMN"] {
            let list = bad[id] ?? []
            if list.isEmpty {
                judge(id, .pass, "all \(total) commands conform")
            } else {
                judge(id, .fail, "\(list.count) of \(total) commands: " + list.prefix(3).map(\.text).joined(separator: "; "),
                      wire: list.prefix(5).map { WireRecord(time: round3($0.frame.time - origin), direction: .down, text: $0.frame.text) })
            }
        }
        responder?.judge()
    }

    func judgeLatency() {
        guard wants("P-LOAD-LATENCY") else { return }
        guard latencies.total > 0 else {
            judge("P-LOAD-LATENCY", .notExercised, "not exercised: no acknowledgement was timed")
            return
        }
        let p50 = latencies.percentile(50), p99 = latencies.percentile(99)
        let text = "p50 \(LatencyHistogram.format(p50)), p99 \(LatencyHistogram.format(p99)), max \(LatencyHistogram.format(latencies.max)) over \(latencies.total) acknowledgements"
        facts.append(("ack latency", text))
        if Double(p99) / 1e6 <= options.overTime {
            judge("P-LOAD-LATENCY", .pass, text + "; OverTime \(format(options.overTime)) s")
        } else {
            var wire: [WireRecord] = []
            if let (p, a) = slowest {
                wire = [WireRecord(time: round3(p.sentAt - origin), direction: .up, text: showBytes(FrameEncoder.frame(p.segment, trailer: false))),
                        WireRecord(time: round3(a.frame.time - origin), direction: .down, text: a.frame.text),
                        WireRecord(time: round3(a.frame.time - origin), direction: .note, text: "the slowest answer: \(ms(a.latency))")]
            }
            judge("P-LOAD-LATENCY", .fail, text + "; p99 exceeds OverTime \(format(options.overTime)) s: loggers would resend", wire: wire)
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
