import Glibc
import HJ212
import HJNetwork
import HJRoles
import HJSimulation

/// `hj212 check logger`: plays the platform for a data logger under test and judges its traffic.
///
/// The run, in order (each step only when one of its checks is selected):
/// 1. listen and wait for the logger (`connectTimeout`); nothing connecting: `reachable = false`;
/// 2. observe its uploads for `window` seconds, acknowledging every upload it can parse;
/// 3. commands that change nothing lasting: 1011, 1012 + 1011, 1061, 1063, history ranges
///    (including an empty one), 3020/3021, requests with a bad PW, MN or CN;
/// 4. 1000 (OverTime/ReCount), then one upload's 9014 withheld: resends;
/// 5. 1062/1064 (new cadence observed), a forced outage (reconnect, backfill), intervals restored;
/// 6. 1072 there and back;
/// then the passive judgements over everything received (lint, identity, QN, cadence, alignment,
/// factors, aggregation, dynamic control). Cadence and aggregation are judged on DataTime, so an
/// accelerated (emulated) logger is judged in its own time; only OverTime is real time.
public enum LoggerCheck {
    public static func run(_ options: LoggerCheckOptions, catalogue: RuleCatalogue, hooks: CheckHooks = CheckHooks()) -> CheckRun {
        let rules = catalogue.rules(for: .logger).filter(options.selection.selects)
        let runner = LoggerCheckRunner(options: options, rules: rules, hooks: hooks)
        return runner.run()
    }
}

/// The state of one `check logger` run, driven on the caller's thread.
final class LoggerCheckRunner {
    let options: LoggerCheckOptions
    let rules: [CheckRule]
    let selected: Set<String>
    let hooks: CheckHooks
    var results: [String: CheckResult] = [:]
    var facts: [(String, String)] = []
    var probe: LoggerProbe!
    let dialect: Dialect
    let startedISO: String

    // What the run learned about the logger.
    var mn: String?
    var pw: String?
    var st = "32"
    var rtdInterval: Int64?   // ms, from 1061
    var minInterval: Int64?   // ms, from 1063
    var template: UnitTemplate?
    var templateInferred = false
    /// Another template fits what was sent as well, with another reference O₂ (Zs is then not judged).
    var templateAmbiguous = false
    /// Frames before this index are judged for cadence and aggregation (the cadence changes after it).
    var cadenceCutoff = Int.max
    /// PW changes by 1072: frames from `start` (request sent) to `end` (its 9012 received) may carry
    /// either password; from `end` on only the new one.
    var passwordChanges: [(start: Int, end: Int, old: String, new: String)] = []
    var lastQNTime: Int64 = 0
    var windowEnd = 0.0

    init(options: LoggerCheckOptions, rules: [CheckRule], hooks: CheckHooks) {
        self.options = options
        self.rules = rules
        self.hooks = hooks
        selected = Set(rules.map(\.id))
        dialect = options.selection.profile == .national2025 ? .hj2025 : .hj2017
        startedISO = SimClock.iso(Self.platformNow(), offsetMinutes: SimClock.chinaOffsetMinutes)
    }

    /// The platform's clock: China local wall-clock milliseconds.
    static func platformNow() -> Int64 { WallClock.localMilliseconds(offsetMinutes: SimClock.chinaOffsetMinutes) }

    func wants(_ ids: String...) -> Bool { ids.contains { selected.contains($0) } }

    func set(_ id: String, _ verdict: Verdict, _ message: String, wire: [WireRecord] = []) {
        guard let rule = rules.first(where: { $0.id == id }), results[id] == nil else { return }
        var log = Array(wire.prefix(60))
        // A failure always shows something: when no frame is at fault (a record that never came), the finding itself.
        if log.isEmpty && verdict != .pass && verdict != .notExercised {
            log = [WireRecord(time: (probe.now * 1000).rounded() / 1000, direction: .note, text: message)]
        }
        results[id] = CheckResult(rule: rule, verdict: verdict, message: message, wire: verdict == .pass || verdict == .notExercised ? [] : log)
    }

    func pass(_ id: String, _ message: String) { set(id, .pass, message) }
    func fail(_ id: String, _ message: String, wire: [WireRecord] = []) { set(id, .fail, message, wire: wire) }
    func skip(_ id: String, _ message: String) { set(id, .notExercised, message) }

    func progress(_ text: String) { hooks.progress("check logger: \(text)") }

    /// Strict lint of the profile's edition; the Jiangsu profile adds the dynamic-control codes.
    var linter: Linter {
        let overlays = options.selection.profile == .jiangsu ? ["hebei-dynamic"] : []
        if let l = try? Linter(options: LintOptions(dialect: dialect, strict: true, overlays: overlays)) { return l }
        if let l = try? Linter(options: LintOptions(dialect: dialect, strict: true)) { return l }
        return try! Linter(options: LintOptions())  // the built-in tables always load
    }

    // MARK: The run

    func run() -> CheckRun {
        var run = CheckRun(target: .logger, address: "\(options.host):\(options.port)", profile: options.selection.profile,
                           strict: options.selection.strict, started: startedISO)
        probe = LoggerProbe(linter: linter, version: dialect == .hj2025 ? 2 : 1, hooks: hooks)
        let port: UInt16
        do { port = try probe.start(host: options.host, port: options.port) } catch {
            run.reachable = false
            run.results = rules.map { CheckResult(rule: $0, verdict: .notExercised, message: "cannot listen on \(options.host):\(options.port): \(error)") }
            return run
        }
        run.address = "\(options.host):\(port)"
        options.listening(port)
        defer { probe.stop() }
        progress("waiting for the logger on port \(port)")
        steps()
        run.seconds = (probe.now * 10).rounded() / 10
        run.interrupted = probe.interrupted
        run.reachable = probe.connectionCount > 0
        facts.insert(("connections", String(probe.connectionCount)), at: 0)
        facts.append(("frames received", String(probe.frameCount)))
        if probe.floodedConnections > 0 { facts.append(("connections closed for flooding", "\(probe.floodedConnections) (over 16 MiB queued unjudged)")) }
        if probe.framesDropped > 0 { facts.append(("frames beyond the memory cap (lint counted only)", String(probe.framesDropped))) }
        run.facts = facts
        run.results = rules.map { rule in
            results[rule.id] ?? CheckResult(rule: rule, verdict: .notExercised,
                                            message: probe.interrupted ? "interrupted before this check ran" : notReachedReason)
        }
        return run
    }

    var notReachedReason = "not reached"

    func steps() {
        // 1. Connection and identification.
        let connected = probe.pump(for: options.connectTimeout) { self.probe.connectionCount > 0 }
        guard connected else {
            notReachedReason = probe.interrupted ? "interrupted" : "no logger connected within \(Int(options.connectTimeout)) s"
            fail("L-CONNECT", notReachedReason)
            return
        }
        let connectedAt = probe.now
        // The logger has the whole observation window to send its first packet.
        let identifyTimeout = max(options.window, 1)
        let identified = probe.pump(for: identifyTimeout) { self.probe.frames.contains { $0.segment.mn.map { !$0.isEmpty } ?? false } }
        guard identified, let first = probe.frames.first(where: { $0.segment.mn.map { !$0.isEmpty } ?? false }) else {
            let what = probe.frameCount == 0 && probe.skippedBytes == 0 ? "the logger connected but sent nothing"
                : "the logger sent no parseable HJ 212 packet (\(probe.skippedBytes) bytes of noise\(probe.noise.first.map { ": \($0)" } ?? ""))"
            notReachedReason = probe.interrupted ? "interrupted" : "\(what) within \(Int(identifyTimeout)) s"
            fail("L-CONNECT", notReachedReason, wire: probe.wire(since: 0))
            judgeLint()
            return
        }
        mn = options.mn ?? first.segment.mn
        pw = options.pw ?? first.segment.pw
        if let s = first.segment.st, s != "91" { st = s }
        if let expected = options.mn, first.segment.mn != expected {
            fail("L-CONNECT", "connected, but the first packet carries MN \(first.segment.mn ?? "-"), not \(expected)", wire: probe.wire(of: [first.index]))
        } else {
            pass("L-CONNECT", "connected from \(probe.links.values.first?.peer ?? "?"), first packet \(first.cn) after \(String(format: "%.1f", first.time)) s")
        }
        facts.append(("MN", mn ?? "-"))

        // 2. Observation window.
        progress("observing uploads for \(Int(options.window)) s")
        probe.pump(for: max(0, connectedAt + options.window - probe.now))
        windowEnd = probe.now
        if let s = probe.frames.first(where: { $0.role == .upload && $0.segment.st != nil && $0.segment.st != "91" })?.segment.st { st = s }
        chooseTemplate()
        facts.append(("logger clock rate", String(format: "%.1f× real time", rate)))
        if probe.interrupted { judgePassive(); return }

        // 3. Commands.
        commandSteps()
        if probe.interrupted { judgePassive(); return }
        // 4. Resends.
        if wants("L-CMD-1000", "L-RESEND", "L-RESEND-QN", "L-RESEND-TIMING", "L-RESEND-COUNT") { resendSteps() }
        if probe.interrupted { judgePassive(); return }
        // 5. Cadence changes, outage and backfill.
        cadenceSteps()
        if probe.interrupted { judgePassive(); return }
        // 6. Password.
        if wants("L-CMD-1072") { passwordSteps() }
        judgePassive()
    }

    // MARK: Logger time

    /// Live upload frames (the logger's own packets) that carry a time (a valid QN or DataTime),
    /// for the clock model.
    var clockFrames: [ObservedFrame] {
        probe.frames.filter { $0.role == .upload && ($0.cn == "2011" || $0.cn == "2051" || $0.cn == "2061" || $0.cn == "2031" || $0.cn == "3020")
            && $0.loggerTime != nil }
    }

    /// How fast the logger's clock runs against real time (1 for a real logger; the speed of an
    /// accelerated emulation), from the QNs of its uploads during the observation window.
    lazy var rate: Double = Self.estimateRate(clockFrames.filter { $0.time <= max(windowEnd, 1) && $0.connection == 1 }
        .filter { $0.cn == "2011" || $0.cn == "2051" }.compactMap { f in f.loggerTime.map { (real: f.time, logger: $0) } })

    /// The fastest clock believed: 10,000× real time (an emulation at 3000× is used in tests;
    /// anything faster is a broken clock, not a speed).
    static let maxRate = 10_000.0

    /// A robust clock rate from (real seconds, logger milliseconds) samples in arrival order: the
    /// median slope between consecutive live samples at least 0.25 s apart (frames of one burst
    /// are not compared with each other). A sample whose logger time lies behind the newest one
    /// seen is an old resend or a backfilled record, not the logger's present, and is skipped.
    /// Clamped to 0.2…`maxRate`; 1 when there is too little to go by or the rate is within 10 %
    /// of real time.
    static func estimateRate(_ samples: [(real: Double, logger: Int64)]) -> Double {
        var slopes: [Double] = []
        var newest: Int64?
        var anchor: (real: Double, logger: Int64)?
        for s in samples {
            // Behind the newest: an old resend or a backfilled record, not the logger's present.
            if let n = newest, s.logger < n { continue }
            newest = s.logger
            guard let a = anchor else { anchor = s; continue }
            // Slopes over at least 0.25 s of real time, so that arrival jitter stays small.
            guard s.real - a.real >= 0.25 else { continue }
            if s.logger > a.logger { slopes.append(Double(s.logger &- a.logger) / 1000 / (s.real - a.real)) }
            anchor = s
        }
        guard !slopes.isEmpty, let first = samples.first, let last = samples.last, last.real - first.real >= 0.5 else { return 1 }
        slopes.sort()
        let r = slopes[slopes.count / 2]
        guard r.isFinite else { return 1 }
        let clamped = min(max(r, 0.2), Self.maxRate)
        return abs(clamped - 1) < 0.1 ? 1 : clamped
    }

    /// The logger's clock now, estimated from its newest upload and the rate.
    func loggerNow() -> Int64? {
        var best: (Int64, Double)?
        for f in clockFrames { if let t = f.loggerTime, best == nil || t > best!.0 { best = (t, f.time) } }
        guard let (t, at) = best else { return nil }
        return t.addingClamped(milliseconds(rate * (probe.now - at)))
    }

    /// Real seconds for a span of the logger's time.
    func real(_ loggerMs: Int64) -> Double { Double(loggerMs) / 1000 / rate }

    // MARK: Template

    func chooseTemplate() {
        if let name = options.unitKind {
            if let t = try? UnitTemplate.load(name) { template = t; facts.append(("unit kind", "\(name) (declared)")) }
            else { facts.append(("unit kind", "\(name): no such template")) }
            return
        }
        let sent = Set(probe.frames.filter { $0.role == .upload && ($0.cn == "2011" || $0.cn == "2051") }
            .flatMap { f in f.segment.cpFields.compactMap { $0.name.split(separator: "-").first.map(String.init) } })
        var best: (UnitTemplate, Int)?
        for name in UnitTemplate.available() {
            guard let t = try? UnitTemplate.load(name), t.st == st else { continue }
            let codes = t.factors.map(\.code)
            guard codes.allSatisfy(sent.contains) else { continue }
            if best == nil || codes.count > best!.1 { best = (t, codes.count) }
        }
        if let (t, n) = best {
            template = t
            templateAmbiguous = UnitTemplate.available().contains { name in
                guard name != t.name, let o = try? UnitTemplate.load(name), o.st == st, o.factors.count == n else { return false }
                return o.factors.map(\.code).allSatisfy(sent.contains) && o.referenceO2 != t.referenceO2
            }
            templateInferred = true
            facts.append(("unit kind", "\(t.name) (inferred from the factors sent)"))
        }
    }

    // MARK: Requests

    /// What came back for one request.
    struct Exchange {
        var request: DataSegment
        var qn: String
        var sentAt: Double
        var replies: [ObservedFrame] = []
        var records: [ObservedFrame] = []
        var qnRtn: Int? { replies.first { $0.cn == "9011" }.flatMap { $0.segment.cpValue("QnRtn") }.flatMap { Int($0) } }
        var exeRtn: Int? { replies.first { $0.cn == "9012" }.flatMap { $0.segment.cpValue("ExeRtn") }.flatMap { Int($0) } }
        var responses: [ObservedFrame] { replies.filter { $0.cn != "9011" && $0.cn != "9012" } }
        var replyDelay: Double? { replies.first { $0.cn == "9011" }.map { $0.time - sentAt } }
        var wire: [WireRecord] = []
        var problem: String?
        var ok: Bool { qnRtn == 1 && exeRtn == 1 }

        /// One line: what came back.
        var summary: String {
            var parts: [String] = []
            parts.append(qnRtn.map { "9011 QnRtn=\($0)" } ?? "no 9011")
            if !responses.isEmpty { parts.append("\(responses.count) response packet(s)") }
            if !records.isEmpty { parts.append("\(records.count) record(s)") }
            if let e = exeRtn { parts.append("9012 ExeRtn=\(e)") } else if qnRtn == 1 { parts.append("no 9012") }
            if let problem { parts.append(problem) }
            return parts.joined(separator: ", ")
        }
    }

    var exchanges: [Exchange] = []

    func freshQN() -> String {
        var t = Self.platformNow()
        if t <= lastQNTime { t = lastQNTime + 1 }
        lastQNTime = t
        return HJTime(wallMilliseconds: t).text17
    }

    /// Sends a request and collects its 9011, responses or records, and 9012 (timeouts: OverTime
    /// for the 9011, then an execution timeout restarted by every packet).
    func request(_ cn: String, _ cp: [[Field]], pw: String? = nil, mn: String? = nil, range: (Int64, Int64)? = nil,
                 record: Bool = true) -> Exchange {
        let qn = freshQN()
        let header = [Field("QN", qn), Field("ST", st), Field("CN", cn), Field("PW", pw ?? self.pw ?? "123456"), Field("MN", mn ?? self.mn ?? ""),
                      Field("Flag", String(PacketFlag(version: dialect == .hj2025 ? 2 : 1, split: false, ack: true).rawValue))]
        let segment = DataSegment(header: header, cp: cp)
        let mark = probe.now
        var x = Exchange(request: segment, qn: qn, sentAt: mark)
        guard probe.isConnected || probe.pump(for: 15, until: { self.probe.isConnected }) else {
            x.problem = "the logger is not connected"
            probe.note("\(cn) not sent: the logger is not connected")
            x.wire = probe.wire(since: mark)
            return x
        }
        let start = probe.frameCount
        probe.request = (qn, cn, range?.0, range?.1)
        x.sentAt = probe.now
        probe.send(FrameEncoder.frame(segment))
        let execTimeout = max(options.overTime * 3, 10)
        var deadline = probe.now + options.overTime + 1
        var seen = start
        var got9011 = false
        while true {
            let done = probe.pump(for: max(0, deadline - probe.now)) {
                self.probe.frameCount > seen || !self.probe.isConnected
            }
            let new = probe.frames.filter { $0.index >= seen }
            seen = probe.frameCount
            for f in new {
                if f.role == .reply { x.replies.append(f) }
                if f.role == .history { x.records.append(f) }
                if f.role == .reply || f.role == .history { deadline = probe.now + execTimeout }
                if f.role == .reply && f.cn == "9011" && !got9011 {
                    got9011 = true
                    if f.segment.cpValue("QnRtn") != "1" { deadline = probe.now + 0.3 }  // rejected: nothing more should come
                }
            }
            if x.replies.contains(where: { $0.cn == "9012" }) { break }
            if !probe.isConnected { x.problem = "the connection closed"; break }
            if probe.interrupted { x.problem = "interrupted"; break }
            if !done && probe.now >= deadline {
                if !got9011 { x.problem = "no 9011 within \(fmt(options.overTime + 1)) s" }
                else if x.qnRtn == 1 { x.problem = "no 9012 within \(fmt(execTimeout)) s of the last packet" }
                break
            }
        }
        probe.request = nil
        x.wire = probe.wire(since: mark)
        if record { exchanges.append(x) }
        return x
    }

    func fmt(_ v: Double) -> String { v == v.rounded() ? String(Int(v)) : String(format: "%.1f", v) }

    // MARK: 3. Commands

    func commandSteps() {
        // 1011 and the clock.
        var clockBefore: Int64?
        if wants("L-CMD-1011", "L-CLOCK-CONSISTENT") {
            progress("1011 get time")
            let x = request("1011", [])
            let t = x.responses.first { $0.cn == "1011" }?.segment.cpValue("SystemTime").flatMap { HJTime($0) }
            if x.ok, let t {
                clockBefore = t.wallMilliseconds
                pass("L-CMD-1011", "1011 answered: SystemTime \(t.text14) (\(x.summary))")
            } else {
                fail("L-CMD-1011", "expected 9011 QnRtn=1, a 1011 with SystemTime and 9012 ExeRtn=1; got \(x.summary)"
                     + (x.responses.isEmpty || t != nil ? "" : " (SystemTime missing or invalid)"), wire: x.wire)
            }
            judgeClockConsistency(x, t)
        }
        if wants("L-CMD-1012") {
            progress("1012 set time")
            let target = Self.platformNow()
            let x = request("1012", [[Field("SystemTime", HJTime(wallMilliseconds: target).text14)]])
            let setAt = x.sentAt
            if !x.ok {
                fail("L-CMD-1012", "expected 9011 QnRtn=1 and 9012 ExeRtn=1; got \(x.summary)", wire: x.wire)
            } else {
                let y = request("1011", [], record: true)
                if let t = y.responses.first(where: { $0.cn == "1011" })?.segment.cpValue("SystemTime").flatMap({ HJTime($0) }),
                   let answered = y.responses.first?.time {
                    // 1012 carries whole seconds: the target is floored to the second.
                    let expected = (target / 1000 * 1000).addingClamped(milliseconds(rate * (answered - setAt)))
                    let tolerance = milliseconds(max(5, rate * 1.5)) + 1000
                    let diff = t.wallMilliseconds.addingClamped(-expected)
                    let distinct = clockBefore.map { abs($0 - target) > 30_000 } ?? true
                    if abs(diff) <= tolerance {
                        pass("L-CMD-1012", "clock set to \(HJTime(wallMilliseconds: target).text14); 1011 then read \(t.text14) (\(fmt(Double(diff) / 1000)) s from expected)"
                             + (distinct ? "" : "; its clock was already within 30 s of the platform's"))
                    } else {
                        fail("L-CMD-1012", "after 1012 SystemTime=\(HJTime(wallMilliseconds: target).text14) (ExeRtn=1), 1011 read \(t.text14): \(fmt(Double(diff) / 1000)) s from the expected \(HJTime(wallMilliseconds: expected).text14) (tolerance \(fmt(Double(tolerance) / 1000)) s)",
                             wire: x.wire + y.wire)
                    }
                } else {
                    fail("L-CMD-1012", "1012 returned ExeRtn=1, but the 1011 that should show the new time got \(y.summary)", wire: x.wire + y.wire)
                }
            }
        }
        if wants("L-CMD-1061", "L-CMD-1062", "L-RTD-CADENCE") {
            progress("1061 get RtdInterval")
            let x = request("1061", [])
            if x.ok, let v = x.responses.first(where: { $0.cn == "1061" })?.segment.cpValue("RtdInterval").flatMap({ Int($0) }), (30...3600).contains(v) {
                rtdInterval = Int64(v) * 1000
                let observed = modalStep("2011")
                if let o = observed, abs(o - rtdInterval!) > 1000 {
                    fail("L-CMD-1061", "1061 says RtdInterval=\(v) s, but 2011 DataTimes step by \(o / 1000) s", wire: x.wire)
                } else {
                    pass("L-CMD-1061", "RtdInterval=\(v) s" + (observed != nil ? ", as the 2011 cadence" : ""))
                }
            } else {
                fail("L-CMD-1061", "expected a 1061 with RtdInterval (30-3600) and ExeRtn=1; got \(x.summary)", wire: x.wire)
            }
        }
        if wants("L-CMD-1063", "L-CMD-1064", "L-MIN-CADENCE", "L-BACKFILL") {
            progress("1063 get MinInterval")
            let x = request("1063", [])
            if x.ok, let v = x.responses.first(where: { $0.cn == "1063" })?.segment.cpValue("MinInterval").flatMap({ Int($0) }),
               [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30].contains(v) {
                minInterval = Int64(v) * 60_000
                let observed = modalStep("2051")
                if let o = observed, o != minInterval! {
                    fail("L-CMD-1063", "1063 says MinInterval=\(v) min, but 2051 DataTimes step by \(fmt(Double(o) / 60_000)) min", wire: x.wire)
                } else {
                    pass("L-CMD-1063", "MinInterval=\(v) min" + (observed != nil ? ", as the 2051 cadence" : ""))
                }
            } else {
                fail("L-CMD-1063", "expected a 1063 with MinInterval (1, 2, 3, 4, 5, 6, 10, 12, 15, 20 or 30) and ExeRtn=1; got \(x.summary)", wire: x.wire)
            }
        }
        historySteps()
        parameterSteps()
        rejectionSteps()
        if wants("L-DYN-QUERY") { dynamicQuery() }
    }

    /// The most frequent DataTime step of a CN's live records so far.
    func modalStep(_ cn: String) -> Int64? {
        let records = RecordStreams(frames: probe.frames, limit: cadenceCutoff, st: st).byCN[cn] ?? []
        let times = records.map(\.dataTime).sorted()
        guard times.count >= 2 else { return nil }
        var counts: [Int64: Int] = [:]
        for (a, b) in zip(times, times.dropFirst()) where b > a { counts[b - a, default: 0] += 1 }
        return counts.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }?.key
    }

    func historySteps() {
        let streams = RecordStreams(frames: probe.frames, st: st)
        for cn in ["2051", "2061", "2031"] where wants("L-CMD-\(cn)") {
            let live = (streams.byCN[cn] ?? []).filter { $0.segment.pnum == nil }
            guard let last = live.last else {
                skip("L-CMD-\(cn)", "no live \(cn) received to ask for again (the window was too short)")
                continue
            }
            let wanted = live.suffix(3)
            let from = wanted.first!.dataTime, to = last.dataTime
            progress("\(cn) history \(HJTime(wallMilliseconds: from).text14)–\(HJTime(wallMilliseconds: to).text14)")
            let x = request(cn, [[Field("BeginTime", HJTime(wallMilliseconds: from).text14)], [Field("EndTime", HJTime(wallMilliseconds: to).text14)]],
                            range: (from, to))
            var problems: [String] = []
            if x.qnRtn != 1 || x.exeRtn != 1 { problems.append(x.summary) }
            var got: [Int64: DataSegment] = [:]
            var reassembler = Reassembler(maxPending: 8)
            for f in x.records {
                switch reassembler.add(f.segment) {
                case .whole(let s), .complete(let s):
                    if let dt = s.cpValue("DataTime").flatMap({ HJTime($0) })?.wallMilliseconds { got[dt] = s }
                case .pending: break
                case .rejected(let why): problems.append("split record rejected: \(why)")
                }
            }
            for r in wanted {
                guard let s = got[r.dataTime] else {
                    problems.append("DataTime \(HJTime(wallMilliseconds: r.dataTime).text14) missing")
                    continue
                }
                let a = s.cpFields.filter { $0.name != "DataTime" }, b = r.segment.cpFields.filter { $0.name != "DataTime" }
                if a != b { problems.append("DataTime \(HJTime(wallMilliseconds: r.dataTime).text14) differs from the live record") }
            }
            if x.records.contains(where: { !$0.needsAck }) == false, x.records.contains(where: { $0.qn == x.qn }) {
                problems.append("records reuse the request QN (each record needs its own QN, C.48)")
            }
            if problems.isEmpty {
                pass("L-CMD-\(cn)", "\(wanted.count) record(s) returned, identical to the live ones, then ExeRtn=1")
            } else {
                fail("L-CMD-\(cn)", "history \(cn) \(HJTime(wallMilliseconds: from).text14)–\(HJTime(wallMilliseconds: to).text14): " + problems.prefix(4).joined(separator: "; "),
                     wire: x.wire)
            }
        }
        if wants("L-CMD-EMPTY") {
            progress("empty history range")
            let from = HJTime(year: 2001, month: 1, day: 1).wallMilliseconds
            let to = from + 23 * 3_600_000
            let x = request("2061", [[Field("BeginTime", HJTime(wallMilliseconds: from).text14)], [Field("EndTime", HJTime(wallMilliseconds: to).text14)]],
                            range: (from, to))
            if x.qnRtn == 1 && x.exeRtn == 100 && x.records.isEmpty {
                pass("L-CMD-EMPTY", "2061 for 2001-01-01: QnRtn=1, no record, ExeRtn=100")
            } else {
                fail("L-CMD-EMPTY", "2061 for a day in 2001 (no data): expected QnRtn=1, no record, ExeRtn=100; got \(x.summary)", wire: x.wire)
            }
        }
    }

    /// A parameter the logger uploaded with 3020 (PolId, InfoId, value): i13xxx preferred.
    func uploadedParameter(prefix: String = "i13") -> (polId: String?, code: String, value: String)? {
        for f in probe.frames where f.role == .upload && f.cn == "3020" {
            let polId = f.segment.cpValue("PolId")
            for field in f.segment.cpFields where field.name.hasPrefix(prefix) && field.name.hasSuffix("-Info") {
                let code = String(field.name.dropLast(5))
                if Double(field.value) != nil { return (polId, code, field.value) }
            }
        }
        return nil
    }

    func parameterSteps() {
        guard wants("L-CMD-3020", "L-CMD-3021") else { return }
        guard let p = uploadedParameter() else {
            skip("L-CMD-3020", "the logger uploaded no 3020 parameter (i13xxx) to ask for")
            skip("L-CMD-3021", "the logger uploaded no 3020 parameter (i13xxx) to set")
            return
        }
        func get() -> (Exchange, String?) {
            var cp: [[Field]] = []
            if let polId = p.polId { cp.append([Field("PolId", polId)]) }
            cp.append([Field("InfoId", p.code)])
            let x = request("3020", cp)
            return (x, x.responses.first { $0.cn == "3020" }?.segment.cpValue("\(p.code)-Info"))
        }
        progress("3020 get \(p.code)")
        let (x, value) = get()
        let label = "\(p.polId.map { "PolId=\($0) " } ?? "")\(p.code)"
        if x.ok, let value {
            pass("L-CMD-3020", "\(label) returned \(value)")
        } else {
            fail("L-CMD-3020", "3020 request of \(label): expected a 3020 with \(p.code)-Info and ExeRtn=1; got \(x.summary)", wire: x.wire)
        }
        guard wants("L-CMD-3021") else { return }
        let old = value ?? p.value
        let decimals = old.split(separator: ".").dropFirst().first?.count ?? 0
        let newValue = ValueFormat.fixed((Double(old) ?? 0) + 1, decimals: decimals)
        func set(_ v: String) -> Exchange {
            var cp: [[Field]] = []
            if let polId = p.polId { cp.append([Field("PolId", polId)]) }
            cp.append([Field("InfoId", p.code)])
            cp.append([Field("\(p.code)-Info", v)])
            return request("3021", cp)
        }
        progress("3021 set \(p.code)")
        let s = set(newValue)
        let (g, readBack) = get()
        _ = set(old)
        if s.ok, readBack.flatMap(Double.init) == Double(newValue) {
            pass("L-CMD-3021", "\(label) set to \(newValue) (read back), then restored to \(old)")
        } else {
            fail("L-CMD-3021", "3021 \(label)=\(newValue): \(s.summary); read back \(readBack ?? "nothing") (\(g.summary))", wire: s.wire + g.wire)
        }
    }

    func rejectionSteps() {
        if wants("L-CMD-BADPW") {
            let wrong = (pw == "999999") ? "888888" : "999999"
            let x = request("1061", [], pw: wrong, record: false)
            judgeRejection("L-CMD-BADPW", x, expected: 3, what: "PW=\(wrong)")
        }
        if wants("L-CMD-BADMN") {
            var other = Array(mn ?? "010000A8900016F000169DC0")
            if let last = other.last { other[other.count - 1] = last == "0" ? "1" : "0" }
            let x = request("1061", [], mn: String(other), record: false)
            judgeRejection("L-CMD-BADMN", x, expected: 4, what: "MN=\(String(other))")
        }
        if wants("L-CMD-BADCN") {
            let x = request("1999", [], record: false)
            judgeRejection("L-CMD-BADCN", x, expected: 8, what: "CN=1999")
        }
    }

    func judgeRejection(_ id: String, _ x: Exchange, expected: Int, what: String) {
        let executed = !x.responses.isEmpty || x.exeRtn == 1
        if x.qnRtn == expected && !executed {
            pass(id, "request with \(what) refused with QnRtn=\(expected)")
        } else {
            fail(id, "request with \(what): expected 9011 QnRtn=\(expected) and nothing executed; got \(x.summary)", wire: x.wire)
        }
    }

    // MARK: 4. Resends

    func resendSteps() {
        if options.reCount == 0 {
            // 1000 takes ReCount 1…99 (HJ 212-2017 Table 1): a logger configured with 0 is not sent one.
            skip("L-CMD-1000", "not exercised: ReCount=0 is outside the 1…99 that 1000 sets; the logger's own configuration is used")
        } else if wants("L-CMD-1000") || options.overTime >= 1 {
            progress("1000 set OverTime/ReCount")
            let o = max(1, Int(options.overTime.rounded()))
            let x = request("1000", [[Field("OverTime", String(o))], [Field("ReCount", String(options.reCount))]])
            if x.ok { pass("L-CMD-1000", "OverTime=\(o) s, ReCount=\(options.reCount) set") }
            else { fail("L-CMD-1000", "1000 OverTime=\(o);ReCount=\(options.reCount): expected QnRtn=1 and ExeRtn=1; got \(x.summary)", wire: x.wire) }
        }
        guard wants("L-RESEND", "L-RESEND-QN", "L-RESEND-TIMING", "L-RESEND-COUNT") else { return }
        // The upload to withhold: the most frequent CN that asks for an acknowledgement.
        var counts: [String: Int] = [:]
        for f in probe.frames where f.role == .upload && f.needsAck && RecordStreams.recordCNs.contains(f.cn) { counts[f.cn, default: 0] += 1 }
        guard let cn = counts.max(by: { $0.value < $1.value })?.key else {
            for id in ["L-RESEND", "L-RESEND-QN", "L-RESEND-TIMING", "L-RESEND-COUNT"] { skip(id, "no upload asked for a 9014 (Flag A=1)") }
            return
        }
        progress("withholding the 9014 of the next \(cn)")
        let mark = probe.now
        probe.withholdNext = [cn]
        let start = probe.frameCount
        let ot = options.overTime
        let gotOne = probe.pump(for: max(10, real(60_000) * 3, 3 * real(rtdInterval ?? 60_000))) { !self.probe.withheldQNs.isEmpty }
        probe.withholdNext = []
        guard gotOne, let qn = probe.withheldQNs.first, let original = probe.frames.first(where: { $0.index >= start && $0.qn == qn }) else {
            for id in ["L-RESEND", "L-RESEND-QN", "L-RESEND-TIMING", "L-RESEND-COUNT"] { skip(id, "no \(cn) upload came to withhold") }
            return
        }
        let dataTime = original.dataTime
        let connection = original.connection
        // Wait for the copies: ReCount resends OverTime apart, and 1.5 OverTime more for an extra one.
        let limit = ot * Double(options.reCount + 1) + ot * 0.5 + 2
        probe.pump(for: limit) { !self.probe.isConnected }
        probe.pump(for: 0.2)
        let copies = probe.frames.filter { $0.index > original.index && $0.connection == connection && $0.role == .upload && $0.cn == cn
            && ($0.qn == qn || ($0.dataTime != nil && $0.dataTime == dataTime && $0.segment.st == original.segment.st)) }
        let wire = probe.wire(since: mark)
        probe.withheldQNs = []
        if options.reCount == 0 {
            // ReCount 0: the logger must not resend at all; the resend checks have nothing to see.
            for id in ["L-RESEND", "L-RESEND-QN", "L-RESEND-TIMING"] { skip(id, "not exercised: ReCount=0 (the logger is configured not to resend)") }
            if copies.isEmpty { pass("L-RESEND-COUNT", "\(cn) QN=\(qn): no resend within \(fmt(limit)) s without its 9014, as ReCount=0 requires") }
            else { fail("L-RESEND-COUNT", "\(copies.count) resend(s) of \(cn) QN=\(qn) on the connection; expected none (ReCount=0)", wire: wire) }
            if !probe.isConnected { probe.pump(for: 30) { self.probe.isConnected } }
            return
        }
        if copies.isEmpty {
            fail("L-RESEND", "\(cn) QN=\(qn): no resend within \(fmt(limit)) s without its 9014 (OverTime \(fmt(ot)) s, ReCount \(options.reCount))", wire: wire)
            skip("L-RESEND-QN", "nothing was resent")
            skip("L-RESEND-TIMING", "nothing was resent")
            fail("L-RESEND-COUNT", "0 resends, expected \(options.reCount)", wire: wire)
            return
        }
        pass("L-RESEND", "\(cn) QN=\(qn) sent again \(copies.count) time(s) without its 9014")
        let changed = copies.filter { $0.qn != qn || $0.text != original.text }
        if changed.isEmpty { pass("L-RESEND-QN", "every copy repeats QN \(qn) and the content") }
        else { fail("L-RESEND-QN", "\(changed.count) of \(copies.count) copies changed the QN or the content (first: QN \(changed[0].qn ?? "-"))", wire: wire) }
        var times = [original.time] + copies.map(\.time)
        times = Array(times.prefix(options.reCount + 1))
        let gaps = zip(times, times.dropFirst()).map { $1 - $0 }
        let tolerance = max(1, ot * 0.3)
        let bad = gaps.filter { abs($0 - ot) > tolerance }
        if bad.isEmpty { pass("L-RESEND-TIMING", "copies \(gaps.map { fmt(($0 * 10).rounded() / 10) }.joined(separator: ", ")) s apart (OverTime \(fmt(ot)) s)") }
        else { fail("L-RESEND-TIMING", "copies \(gaps.map { String(format: "%.1f", $0) }.joined(separator: ", ")) s apart; expected OverTime \(fmt(ot)) s ± \(fmt(tolerance)) s", wire: wire) }
        if copies.count == options.reCount { pass("L-RESEND-COUNT", "\(copies.count) resends (ReCount \(options.reCount))") }
        else { fail("L-RESEND-COUNT", "\(copies.count) resends on the connection; expected ReCount = \(options.reCount)", wire: wire) }
        // The logger may drop the link after its last resend; wait for it to come back.
        if !probe.isConnected { probe.pump(for: 30) { self.probe.isConnected } }
    }

    // MARK: 5. Cadence changes, outage, backfill

    func cadenceSteps() {
        let oldRtd = rtdInterval.map { Int($0 / 1000) }
        let oldMin = minInterval.map { Int($0 / 60_000) }
        var changedRtd = false, changedMin = false
        if wants("L-CMD-1062") {
            guard let old = oldRtd else { skip("L-CMD-1062", "the RtdInterval is unknown (1061 failed)"); return }
            let new = old == 30 ? 60 : 30
            cadenceCutoff = min(cadenceCutoff, probe.frameCount)
            progress("1062 RtdInterval=\(new)")
            let x = request("1062", [[Field("RtdInterval", String(new))]])
            changedRtd = x.ok
            judgeNewCadence("L-CMD-1062", x, cn: "2011", step: Int64(new) * 1000, what: "RtdInterval=\(new) s", aligned: false)
        }
        if wants("L-CMD-1064") || (wants("L-BACKFILL") && (minInterval ?? 60_000) > 60_000) {
            if let old = oldMin {
                let new = old == 1 ? 2 : 1
                cadenceCutoff = min(cadenceCutoff, probe.frameCount)
                progress("1064 MinInterval=\(new)")
                let x = request("1064", [[Field("MinInterval", String(new))]])
                changedMin = x.ok
                if changedMin { minInterval = Int64(new) * 60_000 }
                judgeNewCadence("L-CMD-1064", x, cn: "2051", step: Int64(new) * 60_000, what: "MinInterval=\(new) min", aligned: true)
            } else {
                skip("L-CMD-1064", "the MinInterval is unknown (1063 failed)")
            }
        }
        if wants("L-BACKFILL", "L-RECONNECT") { outage() }
        if changedRtd, let old = oldRtd { _ = request("1062", [[Field("RtdInterval", String(old))]], record: false) }
        if changedMin, let old = oldMin {
            _ = request("1064", [[Field("MinInterval", String(old))]], record: false)
            minInterval = Int64(old) * 60_000
        }
    }

    func judgeNewCadence(_ id: String, _ x: Exchange, cn: String, step: Int64, what: String, aligned: Bool) {
        guard x.ok else { fail(id, "\(x.request.cn ?? "") \(what): expected QnRtn=1 and ExeRtn=1; got \(x.summary)", wire: x.wire); return }
        let start = probe.frameCount
        let mark = probe.now
        // Three records at the new step (the first may still be at the old one).
        let wait = max(5, real(step * 4)) + 2
        var steps: [Int64] = []
        probe.pump(for: wait) {
            let times = self.probe.frames.filter { $0.index >= start && $0.role == .upload && $0.cn == cn && $0.segment.st == self.st }.compactMap(\.dataTime)
            steps = zip(times, times.dropFirst()).map { $1 - $0 }
            return steps.suffix(2).count == 2 && steps.suffix(2).allSatisfy { $0 == step }
        }
        let times = probe.frames.filter { $0.index >= start && $0.role == .upload && $0.cn == cn && $0.segment.st == st }.compactMap(\.dataTime)
        let misaligned = aligned ? times.filter { $0 % step != 0 } : []
        if steps.suffix(2).count == 2 && steps.suffix(2).allSatisfy({ $0 == step }) && misaligned.isEmpty {
            pass(id, "\(what) accepted; \(cn) DataTimes then stepped by \(fmt(Double(step) / 1000)) s")
        } else {
            let seen = steps.prefix(12).map { fmt(Double($0) / 1000) }.joined(separator: ", ") + (steps.count > 12 ? ", …" : "")
            fail(id, "\(what) accepted (ExeRtn=1), but the next \(cn) DataTimes stepped by [\(seen)] s"
                 + (misaligned.isEmpty ? "" : ", \(misaligned.count) not aligned") + " within \(fmt(wait)) s", wire: x.wire + probe.wire(since: mark, limit: 20))
        }
    }

    /// Drops the link, refuses connections until a minute record has fallen due, then checks the
    /// reconnect and the backfill.
    func outage() {
        guard probe.isConnected || probe.pump(for: 15, until: { self.probe.isConnected }) else {
            skip("L-RECONNECT", "the logger was not connected when the outage was to start")
            skip("L-BACKFILL", "the logger was not connected when the outage was to start")
            return
        }
        guard let before = loggerNow() else {
            skip("L-RECONNECT", "no upload with a valid QN or DataTime to place the outage in the logger's time")
            skip("L-BACKFILL", "no upload with a valid QN or DataTime to place the outage in the logger's time")
            return
        }
        // At most a day: a modal step from stale DataTimes must not make the outage endless.
        let step = min(max(minInterval ?? modalStep("2051") ?? 600_000, 1_000), 86_400_000)
        // Down until two minute periods after the logger's present have closed, plus slack.
        let until = (before / step + 2) * step + max(step / 10, 5_000)
        let downFor = min(max(1, real(until - before)), 1800)
        progress("outage of \(fmt(downFor.rounded())) s")
        let mark = probe.now
        let startIndex = probe.frameCount
        probe.refusing = true
        probe.closeCurrent()
        probe.pump(for: downFor)
        probe.refusing = false
        let outageEnd = probe.now
        let back = probe.pump(for: 60) { self.probe.isConnected }
        if back {
            pass("L-RECONNECT", "reconnected \(fmt(((probe.now - outageEnd) * 10).rounded() / 10)) s after a \(fmt(downFor.rounded())) s outage")
        } else {
            fail("L-RECONNECT", "no reconnection within 60 s after a \(fmt(downFor.rounded())) s outage", wire: probe.wire(since: mark))
            skip("L-BACKFILL", "the logger did not reconnect")
            return
        }
        guard wants("L-BACKFILL") else { return }
        // The 2051 periods that closed during the outage.
        let lastBefore = probe.frames.filter { $0.index < startIndex && $0.role == .upload && $0.cn == "2051" }.compactMap(\.dataTime).max()
        guard let lastBefore else { skip("L-BACKFILL", "no 2051 seen before the outage"); return }
        // From the period after the last record seen, but no earlier than two periods before the
        // outage (a stale DataTime, say from 1900, does not make millions of periods due), at
        // most 1,000 periods.
        let first = max(lastBefore.addingClamped(step), before.addingClamped(-2 * step))
        var due: [Int64] = []
        var p = first
        while p <= until - step && due.count < 1_000 { due.append(p); p = p.addingClamped(step) }
        guard !due.isEmpty else { skip("L-BACKFILL", "no minute record fell due during the outage"); return }
        let grace = max(10, options.overTime * 3 + 5)
        func arrived() -> Set<Int64> {
            Set(probe.frames.filter { $0.index >= startIndex && $0.cn == "2051" && $0.role == .upload }.compactMap(\.dataTime))
        }
        probe.pump(for: grace) { due.allSatisfy(arrived().contains) }
        let got = arrived()
        let missing = due.filter { !got.contains($0) }
        if missing.isEmpty {
            pass("L-BACKFILL", "\(due.count) minute record(s) of the outage arrived after the reconnect")
        } else {
            fail("L-BACKFILL", "\(missing.count) of \(due.count) minute records of the outage never arrived (first: \(HJTime(wallMilliseconds: missing[0]).text14)) within \(fmt(grace)) s of the reconnect",
                 wire: probe.wire(since: mark))
        }
    }

    // MARK: 6. Password

    func passwordSteps() {
        guard let old = pw else { skip("L-CMD-1072", "the password is unknown"); return }
        let new = old == "654321" ? "135790" : "654321"
        progress("1072 NewPW=\(new)")
        let before = probe.frameCount
        let x = request("1072", [[Field("NewPW", new)]])
        guard x.ok else { fail("L-CMD-1072", "1072 NewPW=\(new): expected QnRtn=1 and ExeRtn=1; got \(x.summary)", wire: x.wire); return }
        let start = probe.frameCount
        passwordChanges.append((before, start, old, new))
        pw = new
        let wait = max(10, real(rtdInterval ?? 60_000) * 3 + 2)
        probe.pump(for: wait) { self.probe.frames.contains { $0.index >= start && $0.role == .upload } }
        let next = probe.frames.first { $0.index >= start && $0.role == .upload }
        // Change it back (with the new password).
        let back = probe.frameCount
        let y = request("1072", [[Field("NewPW", old)]])
        if y.ok {
            pw = old
            passwordChanges.append((back, probe.frameCount, new, old))
        }
        guard let next else { skip("L-CMD-1072", "1072 accepted, but no upload came within \(fmt(wait)) s to show the new password"); return }
        if next.segment.pw == new && y.ok {
            pass("L-CMD-1072", "password changed to \(new) (next upload carried it) and back to \(old)")
        } else if next.segment.pw != new {
            fail("L-CMD-1072", "1072 NewPW=\(new) returned ExeRtn=1, but the next upload (\(next.cn)) carried PW=\(next.segment.pw ?? "-")", wire: x.wire + probe.wire(of: [next.index]))
        } else {
            fail("L-CMD-1072", "changing the password back with the new one failed: \(y.summary)", wire: y.wire)
        }
    }
}

/// Seconds as whole milliseconds, clamped to ±2⁶² (no trap for NaN, infinities or huge values).
func milliseconds(_ seconds: Double) -> Int64 {
    let ms = (seconds * 1000).rounded()
    guard ms.isFinite else { return ms.isNaN ? 0 : (ms > 0 ? 1 << 62 : -(1 << 62)) }
    return Int64(min(max(ms, -0x1p62), 0x1p62))
}

extension Int64 {
    /// The sum, clamped to ±Int64.max instead of trapping on overflow (so `abs` of it is safe).
    func addingClamped(_ other: Int64) -> Int64 {
        let (r, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : -.max) : (r == .min ? -.max : r)
    }
}
