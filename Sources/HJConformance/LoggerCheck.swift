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
        let scope = scope(options, catalogue: catalogue)
        let runner = LoggerCheckRunner(options: options, rules: scope.inScope, hooks: hooks)
        var run = runner.run()
        run.catalogueVersion = catalogue.versions[.logger] ?? ""
        run.messages = catalogue.messages
        run.plan = options.plan
        run.outOfScope = scope.outOfScope
        return run
    }

    /// The logger checks of the profile in scope, and those out of scope with why: removed by
    /// `--only`/`--skip`, beyond the plan, or value checks without the instruments' ground truth
    /// (`--sensors`; the meters for L-VALUE-POWER). One split for the live run, the offline run
    /// and the plan printed before a run, so that none of them counts differently.
    static func scope(_ options: LoggerCheckOptions, catalogue: RuleCatalogue, offline: Bool = false)
        -> (inScope: [CheckRule], outOfScope: [(rule: CheckRule, why: String)]) {
        let all = catalogue.rules(for: .logger).filter { $0.applies(to: options.selection.profile) }
        // The value checks compare uploads with what the instruments served: without them (a
        // recording holds no such ground truth) there is nothing to compare with.
        let noSensors = options.sensors == nil ? all.filter { $0.id.hasPrefix("L-VALUE-") } : []
        let noMeters = options.sensors.map { $0.meters.isEmpty } == true ? all.filter { $0.id == RuleID.loggerValuePower.rawValue } : []
        let excluded = Set((noSensors + noMeters).map(\.id))
        let inScope = all.filter { r in options.selection.selects(r) && (options.plan.map { r.plan <= $0 } ?? true) && !excluded.contains(r.id) }
        var out: [(rule: CheckRule, why: String)] = all.filter { !options.selection.selects($0) && !excluded.contains($0.id) }.map { ($0, "removed by --only/--skip") }
            + all.filter { r in options.selection.selects(r) && options.plan.map { r.plan > $0 } == true && !excluded.contains(r.id) }
                .map { ($0, "needs --plan \($0.plan.rawValue) (plan \(options.plan!.rawValue) chosen)") }
        out += noSensors.map { ($0, offline ? "needs --sensors (the instruments' readings, which a recording does not hold; a live run only)"
                                            : "needs --sensors (the instruments run by the check)") }
        out += noMeters.map { ($0, "needs a dlt645 line in --sensors (the meters run by the check)") }
        return (inScope, out)
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
    /// Why `rtdInterval` / `minInterval` is unknown, for the checks that need it (1062, 1064).
    var rtdUnknown = "1061 (get RtdInterval) was not sent"
    var minUnknown = "1063 (get MinInterval) was not sent"
    var template: UnitTemplate?
    var templateInferred = false
    /// Another template fits what was sent as well, with another reference O₂ (Zs is then not judged).
    var templateAmbiguous = false
    /// Frames before this index are judged for cadence and aggregation (the cadence changes after it).
    var cadenceCutoff = Int.max
    /// PW changes by 1072: frames from `start` (request sent) to `end` (its 9012 received) may carry
    /// either password; from `end` on only the new one.
    var passwordChanges: [(start: Int, end: Int, old: String, new: String)] = []
    /// A 1072 answered ExeRtn=1 after which the logger's next upload still carried the old
    /// password: the change did not take effect (L-CMD-1072 fails; L-PW and L-REPLY-FORM accept
    /// the old password after it).
    var unappliedPassword: (old: String, new: String)?
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

    func wants(_ ids: RuleID...) -> Bool { ids.contains { selected.contains($0.rawValue) } }

    func set(_ id: RuleID, _ verdict: Verdict, _ message: String, wire: [WireRecord] = []) {
        guard let rule = rules.first(where: { $0.id == id.rawValue }), results[id.rawValue] == nil else { return }
        if verdict == .fail && lastRequestInterrupted {
            results[id.rawValue] = CheckResult(rule: rule, verdict: .notExercised, message: "not exercised: interrupted; \(message)")
            return
        }
        if verdict == .fail && lastRequestUnsent {
            // The request never reached the logger: no evidence either way.
            let since = loggerGoneAt.map { " (it left at +\(fmt(($0 * 10).rounded() / 10)) s)" } ?? ""
            results[id.rawValue] = CheckResult(rule: rule, verdict: .notExercised, message: "not exercised: the logger was not connected\(since); \(message)")
            return
        }
        if verdict == .pass && probe.framesDropped > 0 && !Self.judgedBeyondTheCap(id) {
            // The memory cap kept the first frames only: a pass on them says nothing of the rest.
            results[id.rawValue] = CheckResult(rule: rule, verdict: .notExercised, message: "\(message); judged on the first \(probe.frames.count) of the \(probe.frameCount) packets only (memory cap): the rest not judged")
            return
        }
        var log = Array(wire.prefix(60))
        // A failure always shows something: when no frame is at fault (a record that never came), the finding itself.
        if log.isEmpty && verdict != .pass && verdict != .notExercised {
            log = [WireRecord(time: (probe.now * 1000).rounded() / 1000, direction: .note, text: message)]
        }
        results[id.rawValue] = CheckResult(rule: rule, verdict: verdict, message: message, wire: verdict == .pass || verdict == .notExercised ? [] : log)
    }

    /// Checks whose evidence is not the frames the memory cap keeps: the packet checks (counted
    /// over every frame, `LintCounts`), the exchanges of a request (kept with the request), and
    /// the connection and boot, seen at the start.
    static func judgedBeyondTheCap(_ id: RuleID) -> Bool {
        [RuleID.loggerLint, .loggerLintClean, .loggerCrc, .loggerFrame, .loggerVersion, .loggerConnect, .loggerBoot, .loggerReplyForm].contains(id)
            || id.rawValue.hasPrefix("L-CMD-")
    }

    func pass(_ id: RuleID, _ message: String) { set(id, .pass, message) }
    func fail(_ id: RuleID, _ message: String, wire: [WireRecord] = []) { set(id, .fail, message, wire: wire) }
    func skip(_ id: RuleID, _ message: String) { set(id, .notExercised, message) }
    /// Passed with a remark the reference tells a checker to warn about (the report shows it).
    func warn(_ id: RuleID, _ message: String, wire: [WireRecord] = []) { set(id, .warn, message, wire: wire) }

    /// The phase now running, for the progress line.
    var phase = "starting"
    /// The whole run as planned (seconds of real time), re-estimated once the logger's clock rate is known.
    var plannedSeconds = 0.0
    /// Set once a request found the logger gone (and it did not come back within the grace):
    /// later requests are not waited for, and their checks are not exercised.
    var loggerGoneAt: Double?
    /// The last request could not be sent (the logger was not connected): a failure judged on it
    /// is not evidence, and is reported as not exercised.
    var lastRequestUnsent = false
    /// The last request's wait was cut by Ctrl-C or SIGTERM, or it was not sent because of one: a
    /// failure judged on it is not evidence either (review 21: "got no 9011, interrupted" was a
    /// fail), reported as not exercised ("interrupted"). Cleared before the passive checks, whose
    /// evidence the interrupt does not cut.
    var lastRequestInterrupted = false

    func progress(_ text: String) {
        phase = text
        hooks.progress(status())
    }

    /// One progress line: phase, elapsed, remaining, checks done.
    func status() -> String {
        let elapsed = probe?.now ?? 0
        let left = max(0, plannedSeconds - elapsed)
        var s = "check logger: \(phase) · \(Self.duration(elapsed)) elapsed"
        if plannedSeconds > 0 { s += " · about \(Self.duration(left)) left" }
        s += " · \(results.count)/\(rules.count) checks done · \(probe?.frameCount ?? 0) frames"
        return s
    }

    /// `1 h 05 min`, `4 min 10 s`, `12 s`.
    static func duration(_ seconds: Double) -> String {
        let t = Int(max(0, seconds).rounded())
        if t >= 3600 { return "\(t / 3600) h \(String(format: "%02d", (t % 3600) / 60)) min" }
        if t >= 60 { return "\(t / 60) min \(String(format: "%02d", t % 60)) s" }
        return "\(t) s"
    }

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
        probe.maxConnections = max(1, options.maxConnections)
        probe.trace = options.trace
        probe.onTick = { [unowned self] in self.hooks.progress(self.status()) }
        plannedSeconds = Self.plannedSeconds(options)
        let port: UInt16
        do { port = try probe.start(host: options.host, port: options.port) } catch {
            run.reachable = false
            let why = "cannot listen on \(options.host):\(options.port): \(error.reason)"
            run.facts = [("unreachable", why)]
            run.results = rules.map { CheckResult(rule: $0, verdict: .notExercised, message: why) }
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
        if probe.refusedConnections > 0 { facts.insert(("connections refused (over \(probe.maxConnections) open)", String(probe.refusedConnections)), at: 1) }
        facts.append(("frames received", String(probe.frameCount)))
        if let gone = loggerGoneAt { facts.append(("logger gone", "no connection from +\(fmt((gone * 10).rounded() / 10)) s; later commands were not sent")) }
        if probe.floodedConnections > 0 { facts.append(("connections closed for flooding", "\(probe.floodedConnections) (over 16 MiB queued unjudged)")) }
        if probe.framesDropped > 0 { facts.append(("frames beyond the memory cap (lint counted only)", String(probe.framesDropped))) }
        if !run.reachable { facts.append(("unreachable", notReachedReason)) }
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
            // decisions.md (session 18): with no logger to judge nothing was exercised, L-CONNECT
            // included; the run is unreachable (exit 2) or interrupted, never failed.
            notReachedReason = probe.interrupted ? "interrupted" : "no logger connected within \(Int(options.connectTimeout)) s"
            skip(RuleID.loggerConnect, notReachedReason)
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
            // A logger that connected and sent nothing usable in the window failed; a run stopped
            // before the window ended showed nothing either way.
            if probe.interrupted { skip(RuleID.loggerConnect, notReachedReason) }
            else { fail(RuleID.loggerConnect, notReachedReason, wire: probe.wire(since: 0)) }
            judgeLint()
            return
        }
        mn = options.mn ?? first.segment.mn
        // The password is never learnt from the logger (a wrong one would be adopted and every
        // good packet then judged wrong): --pw, or the default 123456.
        pw = options.pw ?? Self.defaultPassword
        if let s = unitST() { st = s }
        if let expected = options.mn, first.segment.mn != expected {
            fail(RuleID.loggerConnect, "connected, but the first packet carries MN \(first.segment.mn ?? "-"), not \(expected)", wire: probe.wire(of: [first.index]))
        } else {
            pass(RuleID.loggerConnect, "connected from \(probe.peers[first.connection] ?? "an unknown address"), first packet \(first.cn) after \(String(format: "%.1f", first.time)) s")
        }
        facts.append(("MN", mn ?? "-"))

        // 2. Observation window.
        if let plan = options.plan {
            // Until the logger's own time has advanced by the plan's span, at most `window`.
            progress("observing uploads (plan \(plan.rawValue): \(Self.duration(Double(plan.loggerSpan) / 1000)) of the logger's time)")
            probe.pump(for: max(0, connectedAt + options.window - probe.now)) { self.probe.loggerTimeSpan >= plan.loggerSpan }
        } else {
            progress("observing uploads for \(Self.duration(options.window))")
            probe.pump(for: max(0, connectedAt + options.window - probe.now))
        }
        windowEnd = probe.now
        if let s = unitST() { st = s }
        // Re-estimated now that the logger's clock rate is known.
        plannedSeconds = probe.now + Self.commandSeconds(options) / max(1, rate) + 5
        chooseTemplate()
        facts.append(("logger clock rate", String(format: "%.1f× real time", rate)))
        if probe.interrupted { judgePassive(); return }

        // 3. Commands.
        commandSteps()
        if probe.interrupted { lastRequestUnsent = false; lastRequestInterrupted = false; judgePassive(); return }
        // 4. Resends.
        lastRequestUnsent = false
        if wants(RuleID.loggerCmd1000, RuleID.loggerResend, RuleID.loggerResendQn, RuleID.loggerResendTiming, RuleID.loggerResendCount) { resendSteps() }
        if probe.interrupted { lastRequestUnsent = false; lastRequestInterrupted = false; judgePassive(); return }
        // 5. Cadence changes, outage and backfill.
        lastRequestUnsent = false
        cadenceSteps()
        if probe.interrupted { lastRequestUnsent = false; lastRequestInterrupted = false; judgePassive(); return }
        // 6. Password.
        lastRequestUnsent = false
        if wants(RuleID.loggerCmd1072) { passwordSteps() }
        lastRequestUnsent = false; lastRequestInterrupted = false; judgePassive()
    }

    /// The password assumed when `--pw` is not given (as `--help` says).
    static let defaultPassword = "123456"

    /// The unit's ST: the declared template's; otherwise the most frequent ST of the live 2011
    /// and 2051 uploads, leaving out 91 (system) and the working-condition STs 51 and 52 that a
    /// logger sends beside its unit's own records.
    func unitST() -> String? {
        if let name = options.unitKind, let t = try? UnitTemplate.load(name) { return t.st }
        var counts: [String: Int] = [:]
        for f in probe.frames where f.role == .upload && (f.command == .realTimeData || f.command == .minuteData) {
            guard let s = f.segment.st, ![SystemType.systemInteraction, .flueGasProcess, .wastewaterProcess].contains(SystemType(s)) else { continue }
            counts[s, default: 0] += 1
        }
        if let best = counts.max(by: { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) })?.key { return best }
        return probe.frames.first { $0.role == .upload && $0.segment.st != nil && !$0.segment.isST(.systemInteraction) }?.segment.st
    }

    /// Real seconds of the steps after the observation window for a logger on real time: about
    /// 20 requests, the resend wait, two cadence changes (four records each) and an outage.
    static func commandSeconds(_ o: LoggerCheckOptions) -> Double {
        let requests = 20 * (o.overTime + 1)
        let resend = 3 * 60 + o.overTime * Double(o.reCount + 2)
        let cadence = 4 * 30 + 4 * 60 + 2 * 60 + 60
        return requests + resend + Double(cadence)
    }

    /// The whole run for a logger on real time: waiting for it, the window, the steps after.
    static func plannedSeconds(_ o: LoggerCheckOptions) -> Double {
        let window = o.plan.map { min(o.window, Double($0.loggerSpan) / 1000) } ?? o.window
        return window + commandSeconds(o)
    }

    // MARK: Logger time

    /// Live upload frames (the logger's own packets) that carry a time (a valid QN or DataTime),
    /// for the clock model.
    var clockFrames: [ObservedFrame] {
        probe.frames.filter { $0.role == .upload && ($0.command == .realTimeData || $0.command == .minuteData || $0.command == .hourData || $0.command == .dailyData || $0.command == .loggerInfo)
            && $0.loggerTime != nil }
    }

    /// How fast the logger's clock runs against real time (1 for a real logger; the speed of an
    /// accelerated emulation), from the QNs of its uploads during the observation window.
    lazy var rate: Double = Self.estimateRate(clockFrames.filter { $0.time <= max(windowEnd, 1) && $0.connection == 1 }
        .filter { $0.command == .realTimeData || $0.command == .minuteData }.compactMap { f in f.loggerTime.map { (real: f.time, logger: $0) } })

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
        let sent = Set(probe.frames.filter { $0.role == .upload && ($0.command == .realTimeData || $0.command == .minuteData) }
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

    var exchanges: [Exchange] = []
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
