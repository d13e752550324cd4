import HJ212
import HJSimulation

/// One frame of a recorded session (a JSON Lines trace or a capture), in recording order.
///
/// ```swift
/// let f = RecordedFrame(time: HJTime("20261130120000")!.wallMilliseconds, up: true,
///                       connection: "127.0.0.1:50412", peer: "127.0.0.1:50412", raw: raw)
/// ```
public struct RecordedFrame: Sendable {
    /// When the frame was recorded: China local wall-clock milliseconds (as `HJTime.wallMilliseconds`).
    public var time: Int64
    /// Sent by the logger (true) or by the platform.
    public var up: Bool
    /// Names the TCP connection it travelled on (a trace's `peer`, a capture's connection number).
    public var connection: String
    /// The logger's address, for reports.
    public var peer: String
    public var raw: RawFrame

    public init(time: Int64, up: Bool, connection: String, peer: String, raw: RawFrame) {
        self.time = time
        self.up = up
        self.connection = connection
        self.peer = peer
        self.raw = raw
    }
}

/// `hj212 check logger --offline`: the passive judgements of `check logger` over a recorded
/// session, a bureau's way to judge a site's logger from a capture without touching it.
///
/// The recording is fed frame by frame (memory is bounded as on a live run: the probe keeps at
/// most 30,000 frames for the judgements). Uploads are judged exactly as live records are: the
/// recorded 9014/9013 of the platform say which were acknowledged, the platform's recorded
/// requests and the logger's answers make the exchanges the reply checks judge, a recorded
/// 1061/1063 gives the intervals, a 1062/1064 ends the cadence judgement, a 1072 changes the
/// password. The checks that need the bench to act (commands, withheld acknowledgements,
/// outages) are *not exercised*, so a full-scope offline run is `incomplete`, never `pass`;
/// `--only`/`--skip` take them out of scope knowingly.
///
/// ```swift
/// let check = OfflineLoggerCheck(options, catalogue: catalogue, source: "site.pcapng")
/// for f in frames { check.add(f) }
/// let run = check.finish()     // run.verdict: .incomplete (the active MUST checks), or .fail
/// ```
public final class OfflineLoggerCheck {
    let runner: LoggerCheckRunner
    /// Checks of the profile out of scope, with why (`LoggerCheck.scope`).
    let outOfScope: [(rule: CheckRule, why: String)]
    let options: LoggerCheckOptions
    let source: String
    /// OverTime and ReCount declared by the user (`--overtime`, `--recount`); a recorded 1000 wins.
    let declaredOverTime: Double?
    let declaredReCount: Int?

    var start: Int64?
    var last: Int64 = 0
    var ordinals: [String: Int] = [:]
    /// The last recorded time of each connection (by ordinal), seconds since the start.
    var lastOnConnection: [Int: Double] = [:]
    /// The request in flight per connection, with the frame count when it came and its range.
    struct Open {
        var exchange: LoggerCheckRunner.Exchange
        var startIndex: Int
        var from: Int64?
        var to: Int64?
    }
    var open: [Int: Open] = [:]
    var closed: [(x: LoggerCheckRunner.Exchange, start: Int, end: Int)] = []
    var unanswered = 0
    static let maxExchanges = 10_000
    static let maxConnections = 100_000

    /// `overTime`/`reCount`: what the user declared of the logger's configuration, or nil.
    public init(_ options: LoggerCheckOptions, catalogue: RuleCatalogue, source: String, overTime: Double? = nil, reCount: Int? = nil,
                hooks: CheckHooks = CheckHooks()) {
        // The same scope as live: without the instruments' readings the value checks are out of scope.
        let scope = LoggerCheck.scope(options, catalogue: catalogue, offline: true)
        outOfScope = scope.outOfScope
        let rules = scope.inScope
        var o = options
        if let overTime { o.overTime = overTime }
        if let reCount { o.reCount = reCount }
        self.options = o
        self.source = source
        declaredOverTime = overTime
        declaredReCount = reCount
        runner = LoggerCheckRunner(options: o, rules: rules, hooks: hooks)
        runner.probe = LoggerProbe(linter: runner.linter, version: runner.dialect == .hj2025 ? 2 : 1, hooks: hooks)
        runner.probe.recordedNow = 0
        catalogueVersion = catalogue.versions[.logger] ?? ""
        messages = catalogue.messages
    }

    let catalogueVersion: String
    let messages: MessageCatalogue

    var probe: LoggerProbe { runner.probe }

    /// Feeds the next frame of the recording.
    public func add(_ f: RecordedFrame) {
        if start == nil { start = f.time }
        last = max(last, f.time)
        let t = Double(f.time - start!) / 1000
        probe.recordedNow = max(probe.recordedNow ?? 0, t)
        let ordinal: Int
        if let o = ordinals[f.connection] { ordinal = o } else {
            probe.connectionCount += 1
            ordinal = probe.connectionCount
            if ordinals.count < Self.maxConnections { ordinals[f.connection] = ordinal }
            probe.peers[ordinal] = f.peer
            probe.note("connection #\(ordinal) from \(f.peer) (recorded)")
        }
        lastOnConnection[ordinal] = t
        if f.up { up(f.raw, time: t, connection: ordinal) } else { down(f.raw, time: t, connection: ordinal) }
    }

    func up(_ raw: RawFrame, time: Double, connection: Int) {
        let index = probe.frameCount
        probe.frameCount += 1
        let report = probe.linter.check(raw, index: index)
        let segment = report.segment
        let text = raw.textWithoutTrailer
        probe.log(.up, text)
        let cn = segment.cn ?? ""
        var role = ObservedFrame.Role.upload
        if let r = open[connection], cn == r.exchange.request.cn, let from = r.from, let to = r.to,
           let dt = segment.cpValue("DataTime").flatMap({ HJTime($0) })?.wallMilliseconds, dt >= from, dt <= to {
            role = .history
        } else if let r = open[connection], segment.qn == r.exchange.qn || segment.cpValue("QN") == r.exchange.qn {
            role = .reply
        } else if ["9011", "9012", "9013", "9014"].contains(cn) {
            role = .other
        }
        let f = ObservedFrame(index: index, time: time, connection: connection, report: report, role: role, text: text)
        probe.lintErrors += report.hasErrors ? 1 : 0
        probe.lintCounts.count(report)
        if role == .upload, ["2011", "2051", "2061", "2031", "3020"].contains(cn), let lt = f.loggerTime {
            probe.loggerTimeRange = probe.loggerTimeRange.map { (min($0.first, lt), max($0.last, lt)) } ?? (lt, lt)
        }
        if probe.framesDropped == 0, probe.frames.count < LoggerProbe.maxFrames, probe.storedBytes + text.utf8.count <= LoggerProbe.maxStoredBytes {
            if let qn = f.qn { probe.byQN[qn, default: []].append(index) }
            probe.storedBytes += text.utf8.count
            probe.frames.append(f)
        } else {
            probe.framesDropped += 1
        }
        guard var r = open[connection], role == .reply || role == .history else { return }
        if role == .reply { r.exchange.replies.append(f) } else { r.exchange.records.append(f) }
        open[connection] = r
        let rejected = cn == "9011" && segment.cpValue("QnRtn") != "1"
        if cn == "9012" || rejected { close(connection, problem: nil) }
    }

    func down(_ raw: RawFrame, time: Double, connection: Int) {
        let segment = SegmentParser.parse(raw.segmentBytes).segment
        probe.log(.down, raw.textWithoutTrailer)
        let cn = segment.cn ?? ""
        if cn == "9013" || cn == "9014" {
            // The acknowledgement answers the latest frame with its QN (a copy sent before it
            // arrived was then a legitimate resend).
            let qn = segment.qn ?? segment.cpValue("QN")
            if let qn, let i = probe.byQN[qn]?.last, i < probe.frames.count, probe.frames[i].index == i { probe.frames[i].acked = true }
            return
        }
        guard !["9011", "9012"].contains(cn), let qn = segment.qn else { return }
        if open[connection] != nil { close(connection, problem: "another request followed before its 9012") }
        let range = (segment.cpValue("BeginTime").flatMap { HJTime($0) }?.wallMilliseconds, segment.cpValue("EndTime").flatMap { HJTime($0) }?.wallMilliseconds)
        open[connection] = Open(exchange: LoggerCheckRunner.Exchange(request: segment, qn: qn, sentAt: time), startIndex: probe.frameCount,
                                from: range.0, to: range.1)
        if cn == "1062" || cn == "1064" { runner.cadenceCutoff = min(runner.cadenceCutoff, probe.frameCount) }
    }

    func close(_ connection: Int, problem: String?) {
        guard var r = open.removeValue(forKey: connection) else { return }
        if r.exchange.replies.isEmpty { r.exchange.problem = problem ?? "no 9011 in the recording" }
        else if r.exchange.exeRtn == nil && r.exchange.qnRtn == .ready { r.exchange.problem = problem ?? "no 9012 in the recording" }
        r.exchange.wire = probe.wire(since: r.exchange.sentAt)
        guard closed.count < Self.maxExchanges else { return }
        closed.append((r.exchange, r.startIndex, probe.frameCount))
    }

    /// Judges what was fed; the run's report.
    public func finish() -> CheckRun {
        let runner = self.runner
        let recordedSeconds = start.map { Double(last - $0) / 1000 } ?? 0
        // Requests left open: one the recording ended on before OverTime passed is no evidence.
        for (c, r) in open.sorted(by: { $0.key < $1.key }) {
            if r.exchange.replies.isEmpty && recordedSeconds - r.exchange.sentAt < options.overTime { open[c] = nil; unanswered += 1 }
            else { close(c, problem: "the recording ends before its 9012") }
        }
        closed.sort { $0.x.sentAt < $1.x.sentAt }
        runner.exchanges = closed.map(\.x)
        runner.windowEnd = recordedSeconds
        // What the recorded exchanges say of the logger's configuration.
        var overTime = declaredOverTime, reCount = declaredReCount
        for (x, s, e) in closed where x.qnRtn == .ready {
            switch x.request.cn {
            case "1000" where x.ok:
                if let v = x.request.cpValue("OverTime").flatMap(Double.init) { overTime = v }
                if let v = x.request.cpValue("ReCount").flatMap(Int.init) { reCount = v }
            case "1061": if let v = x.responses.first?.segment.cpValue("RtdInterval").flatMap(Int64.init), v > 0 { runner.rtdInterval = runner.rtdInterval ?? v * 1000 }
            case "1063": if let v = x.responses.first?.segment.cpValue("MinInterval").flatMap(Int64.init), v > 0 { runner.minInterval = runner.minInterval ?? v * 60_000 }
            case "1072" where x.ok:
                if let new = x.request.cpValue("NewPW"), let old = x.request.pw { runner.passwordChanges.append((s, e, old, new)) }
            default: break
            }
        }
        let frames = probe.frames
        let first = frames.first { $0.segment.mn.map { !$0.isEmpty } ?? false }
        runner.mn = options.mn ?? first?.segment.mn
        // The password: --pw, or the one the platform used in a request the logger accepted.
        let accepted = closed.first { $0.x.qnRtn == .ready && $0.x.request.pw != nil }?.x.request.pw
        let pw = options.pw ?? runner.passwordChanges.first?.old ?? accepted
        runner.pw = pw
        if let s = runner.unitST() { runner.st = s }
        var facts: [(String, String)] = [("recording", source), ("mode", "offline: the passive checks judged on the recording; the checks that need the bench to act are not exercised"),
                                          ("connections", String(probe.connectionCount)), ("frames from the logger", String(probe.frameCount)),
                                          ("recorded span", LoggerCheckRunner.duration(recordedSeconds))]
        if unanswered > 0 { facts.append(("requests at the end of the recording", "\(unanswered), not judged (the recording ends within OverTime)")) }
        if probe.framesDropped > 0 { facts.append(("frames beyond the memory cap (lint counted only)", String(probe.framesDropped))) }
        if let first {
            if let expected = options.mn, first.segment.mn != expected {
                runner.fail(.loggerConnect, "the first packet in the recording carries MN \(first.segment.mn ?? "-"), not \(expected)", wire: probe.wire(of: [first.index]))
            } else {
                runner.pass(.loggerConnect, "recorded: connected from \(probe.peers[first.connection] ?? "an unknown address"), first packet \(first.cn)")
            }
            facts.append(("MN", runner.mn ?? "-"))
            runner.chooseTemplate()
            facts += runner.facts
            runner.facts = []
            if pw == nil { runner.skip(.loggerPw, "the password is unknown: give --pw (the recording holds no request the logger accepted)") }
            else if options.pw == nil { facts.append(("PW", "\(pw!) (from the platform's requests in the recording)")) }
            if runner.exchanges.isEmpty {
                for id: RuleID in [.loggerReplyForm, .loggerReplyTime] { runner.skip(id, "the recording holds no request from the platform") }
            }
            if let x = runner.exchanges.first(where: { $0.request.isCN(.getLoggerTime) }) {
                runner.judgeClockConsistency(x, x.responses.first { $0.cn == "1011" }?.segment.cpValue("SystemTime").flatMap { HJTime($0) })
            } else {
                runner.skip(.loggerClockConsistent, "the recording holds no 1011 (the bench asks for the logger's time live)")
            }
            judgeRecordedClock()
            judgeRecordedResends(overTime: overTime, reCount: reCount)
            runner.judgePassive()
        } else {
            let why = probe.frameCount == 0 ? "the recording holds no frame from the logger" : "the recording holds no packet with an MN from the logger"
            runner.notReachedReason = why
            if probe.frameCount > 0 { runner.fail(.loggerConnect, why, wire: probe.wire(since: 0)); runner.judgeLint() }
        }
        facts += runner.facts
        var run = CheckRun(target: .logger, address: "offline \(source)", profile: options.selection.profile, strict: options.selection.strict,
                           started: start.map { SimClock.iso($0, offsetMinutes: SimClock.chinaOffsetMinutes) } ?? runner.startedISO)
        run.seconds = (recordedSeconds * 10).rounded() / 10
        run.reachable = true
        run.interrupted = !runner.hooks.shouldContinue()
        run.facts = facts
        run.results = runner.rules.map { rule in
            runner.results[rule.id] ?? CheckResult(rule: rule, verdict: .notExercised, message: Self.notExercised(rule.id, reason: first == nil ? runner.notReachedReason : nil))
        }
        run.catalogueVersion = catalogueVersion
        run.messages = messages
        run.plan = options.plan
        run.outOfScope = outOfScope
        return run
    }

    /// Why an active check was not exercised offline.
    static func notExercised(_ id: String, reason: String?) -> String {
        if let reason { return "not exercised: \(reason)" }
        if id.hasPrefix("L-CMD-") || id == RuleID.loggerDynQuery.rawValue { return "not exercised offline: the bench sends this request live (a recording is only watched)" }
        if id == RuleID.loggerReconnect.rawValue || id == RuleID.loggerBackfill.rawValue { return "not exercised offline: the bench forces an outage live (a recording is only watched)" }
        if id.hasPrefix(RuleID.loggerResend.rawValue) { return "not exercised offline: the bench withholds a 9014 live" }
        return "not exercised offline: nothing in the recording to judge it by"
    }

    /// L-CLOCK: the logger's QNs against the recording's own time stamps (the platform's or the
    /// capturing host's clock), on the first connection.
    func judgeRecordedClock() {
        guard runner.wants(.loggerClock), let start else { return }
        // The DataTimes against the QNs, at any rate (as live).
        let ahead = runner.dataTimesAhead()
        if let a = ahead.finding, runner.rate != 1 { runner.fail(.loggerClock, a.text, wire: probe.wire(of: a.frames)); return }
        guard runner.rate == 1 else {
            runner.skip(.loggerClock, "the logger's clock runs at \(String(format: "%.1f", runner.rate))× the recording's time (an accelerated emulation)")
            return
        }
        let fs = runner.clockFrames.filter { $0.connection == 1 }.prefix(50)
        let offsets = fs.compactMap { f in f.loggerTime.map { $0.addingClamped(-start.addingClamped(milliseconds(f.time))) } }.sorted()
        guard !offsets.isEmpty else { runner.skip(.loggerClock, "no upload with a valid QN or DataTime in the recording"); return }
        let median = offsets[offsets.count / 2]
        if abs(median) > 60_000 {
            runner.fail(.loggerClock, "the QNs of its uploads are \(runner.fmt(Double(median) / 1000)) s from the recording's time stamps (tolerance 60 s)" + (ahead.finding.map { "; \($0.text)" } ?? ""),
                        wire: probe.wire(of: fs.prefix(3).map(\.index) + (ahead.finding?.frames.prefix(3) ?? [])))
        } else if let a = ahead.finding {
            runner.fail(.loggerClock, a.text, wire: probe.wire(of: a.frames))
        } else {
            runner.pass(.loggerClock, "the logger's clock is \(runner.fmt(Double(median) / 1000)) s from the recording's time stamps" + (ahead.judged > 0 ? ", and no DataTime of \(ahead.judged) uploads ahead of its QN" : ""))
        }
    }

    /// The resend checks on what the recording shows: uploads the platform did not acknowledge,
    /// and whether (how, when, how often) the logger sent them again.
    func judgeRecordedResends(overTime: Double?, reCount: Int?) {
        let ids: [RuleID] = [.loggerResend, .loggerResendQn, .loggerResendTiming, .loggerResendCount]
        guard ids.contains(where: { runner.wants($0) }) else { return }
        let uploads = probe.frames.filter { $0.role == .upload && $0.needsAck && RecordStreams.recordCNs.contains($0.cn) }
        guard !uploads.isEmpty else { for id in ids { runner.skip(id, "no upload in the recording asked for a 9014 (Flag A=1)") }; return }
        var seen: Set<String> = []
        var cases: [(original: ObservedFrame, copies: [ObservedFrame], after: Double)] = []
        for f in uploads {
            guard let qn = f.qn, seen.insert(qn).inserted, !f.acked else { continue }
            let copies = uploads.filter { $0.index > f.index && $0.connection == f.connection && $0.qn == qn }
            cases.append((f, copies, (lastOnConnection[f.connection] ?? f.time) - f.time))
        }
        guard !cases.isEmpty else {
            for id in ids { runner.skip(id, "the platform acknowledged every upload in the recording: no resend was called for (live, the bench withholds a 9014)") }
            return
        }
        let resent = cases.filter { !$0.copies.isEmpty }
        let limit = overTime.map { ot in ot * Double((reCount ?? 3) + 1) + ot * 0.5 + 2 }
        let unknownOT = "OverTime unknown: give --overtime (or record the 1000 that set it)"
        // An upload left without a copy while the connection went on past every resend fails
        // the check, whatever other uploads were resent.
        let unresent = cases.filter { $0.copies.isEmpty }
        if let limit, let c = unresent.first(where: { $0.after > limit }) {
            runner.fail(.loggerResend, "\(c.original.cn) QN=\(c.original.qn ?? "-") was not acknowledged and not sent again in the \(runner.fmt(c.after.rounded())) s the connection went on (OverTime \(runner.fmt(overTime!)) s)"
                        + (resent.isEmpty ? "" : "; \(resent.count) other upload(s) were resent"),
                        wire: probe.wire(of: [c.original.index]))
        } else if let c = resent.first {
            runner.pass(.loggerResend, "\(resent.count) upload(s) left unacknowledged in the recording were sent again (first: \(c.original.cn) QN=\(c.original.qn ?? "-"), \(c.copies.count) cop\(c.copies.count == 1 ? "y" : "ies"))"
                        + (unresent.isEmpty ? "" : "; \(unresent.count) other(s) without a copy not judged: " + (limit == nil ? unknownOT : "the connection ended before a resend was due")))
        } else {
            for id in ids { runner.skip(id, "\(cases.count) upload(s) went unacknowledged without a copy, but " + (limit == nil ? unknownOT : "the connection ended before a resend was due")) }
            return
        }
        guard !resent.isEmpty else { for id in ids.dropFirst() { runner.skip(id, "nothing was resent") }; return }
        let changed = resent.flatMap { c in c.copies.filter { $0.text != c.original.text } }
        if changed.isEmpty { runner.pass(.loggerResendQn, "every copy repeats its QN and content (\(resent.count) resent upload(s))") }
        else { runner.fail(.loggerResendQn, "\(changed.count) copies changed the content (first: \(changed[0].cn) QN \(changed[0].qn ?? "-"))", wire: probe.wire(of: changed.map(\.index))) }
        guard let overTime else {
            runner.skip(.loggerResendTiming, unknownOT)
            runner.skip(.loggerResendCount, unknownOT)
            return
        }
        let tolerance = max(1, overTime * 0.3)
        var gaps: [Double] = []
        var badCase: ObservedFrame?
        for c in resent {
            let times = [c.original.time] + c.copies.map(\.time)
            for (a, b) in zip(times, times.dropFirst()) {
                gaps.append(b - a)
                if abs(b - a - overTime) > tolerance && badCase == nil { badCase = c.original }
            }
        }
        if let bad = badCase { runner.fail(.loggerResendTiming, "copies \(gaps.prefix(8).map { String(format: "%.1f", $0) }.joined(separator: ", ")) s apart; expected OverTime \(runner.fmt(overTime)) s ± \(runner.fmt(tolerance)) s", wire: probe.wire(of: [bad.index])) }
        else { runner.pass(.loggerResendTiming, "copies \(gaps.prefix(8).map { runner.fmt(($0 * 10).rounded() / 10) }.joined(separator: ", ")) s apart (OverTime \(runner.fmt(overTime)) s)") }
        guard let reCount else { runner.skip(.loggerResendCount, "ReCount unknown: give --recount (or record the 1000 that set it)"); return }
        // Judged on uploads never acknowledged whose connection went on long enough for every copy.
        let judged = resent.filter { c in !c.copies.contains { $0.acked } && c.after > limit! }
        guard let c = judged.first else { runner.skip(.loggerResendCount, "no resent upload stayed unacknowledged long enough in the recording to count its copies"); return }
        if judged.allSatisfy({ $0.copies.count == reCount }) { runner.pass(.loggerResendCount, "\(c.copies.count) resends (ReCount \(reCount))") }
        else {
            let bad = judged.first { $0.copies.count != reCount }!
            runner.fail(.loggerResendCount, "\(bad.original.cn) QN=\(bad.original.qn ?? "-"): \(bad.copies.count) resends; expected ReCount = \(reCount)", wire: probe.wire(of: [bad.original.index] + bad.copies.map(\.index)))
        }
    }
}
