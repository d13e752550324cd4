/// The outcome of a whole certification run: one of three, never a guess.
///
/// - `pass`: every MUST check in scope was exercised and none failed (with `--strict`: no check
///   in scope failed);
/// - `fail`: a MUST check failed (with `--strict`: any check), whatever else is missing;
/// - `incomplete`: the run was interrupted, the target could not be reached, or a MUST check in
///   scope was not exercised. Checks removed from scope with `--only`/`--skip` or by the plan do
///   not make a run incomplete; they are listed as out of scope.
///
/// ```swift
/// let run = LoggerCheck.run(options, catalogue: catalogue)
/// run.verdict        // .incomplete when, say, L-HOUR-CADENCE (MUST) had no hour of data
/// run.coverage       // (exercised: 31, inScope: 38) MUST checks
/// run.exitStatus     // 0 pass, 1 fail, 2 unreachable, 3 incomplete
/// ```
public enum RunVerdict: String, Sendable, CaseIterable {
    case pass
    case fail
    case incomplete

    /// The verdict as shown in reports, in the chosen language.
    public func label(_ lang: ReportLanguage) -> String {
        switch (self, lang) {
        case (.pass, .en): "PASS"
        case (.fail, .en): "FAIL"
        case (.incomplete, .en): "INCOMPLETE"
        case (.pass, .zh): "通过"
        case (.fail, .zh): "不通过"
        case (.incomplete, .zh): "未完成"
        }
    }
}

/// How much of the logger's time `check logger` observes, so that a vendor chooses coverage
/// knowingly: `quick` (the protocol checks: packets, real-time and minute data, commands,
/// resends, outage), `hour` (+ hour cadence, hour aggregation and 2061 history), `full`
/// (+ day cadence, day aggregation and 2031 history).
public enum CheckPlan: String, Sendable, CaseIterable, Comparable {
    case quick, hour, full

    /// The span of the logger's own time (DataTime) observed before the commands, in ms.
    /// quick: 35 min (three minute records at the common 10-minute interval); hour: 2 h 10 min
    /// (two hour records, one of them with its whole hour of minute records seen); full: 2 days
    /// 10 min (likewise for day records).
    public var loggerSpan: Int64 {
        switch self {
        case .quick: 35 * 60_000
        case .hour: 130 * 60_000
        case .full: (48 * 60 + 10) * 60_000
        }
    }

    var order: Int {
        switch self {
        case .quick: 0
        case .hour: 1
        case .full: 2
        }
    }

    public static func < (a: CheckPlan, b: CheckPlan) -> Bool { a.order < b.order }

    /// The smallest plan whose span covers `ms` of the logger's time (nil: not even `quick`).
    public static func reachable(within ms: Int64) -> CheckPlan? {
        allCases.last { $0.loggerSpan <= ms }
    }
}

extension CheckRun {
    public var score: CheckScore { CheckScore(results, strict: strict) }

    /// MUST checks exercised, and MUST checks in scope (out-of-scope checks are not in `results`).
    public var coverage: (exercised: Int, inScope: Int) {
        let must = results.filter { $0.rule.level == .must }
        return (must.filter { $0.verdict != .notExercised }.count, must.count)
    }

    /// MUST checks in scope that were not exercised.
    public var unexercisedMust: [CheckResult] { results.filter { $0.rule.level == .must && $0.verdict == .notExercised } }

    /// pass, fail or incomplete (see `RunVerdict`).
    public var verdict: RunVerdict {
        if !reachable || interrupted { return .incomplete }
        if score.blockingFailures > 0 { return .fail }
        if !unexercisedMust.isEmpty { return .incomplete }
        // Nothing exercised at all (say, only MAY checks selected and none seen) is not a pass.
        if !results.contains(where: { $0.verdict != .notExercised }) { return .incomplete }
        return .pass
    }

    /// 0 pass, 1 fail, 2 the target could not be reached, 3 incomplete; 130 or 143 when a signal
    /// stopped the run (`signalExitStatus`, set by the CLI).
    public var exitStatus: Int32 {
        if let signalExitStatus { return signalExitStatus }
        if !reachable { return 2 }
        switch verdict {
        case .pass: return 0
        case .fail: return 1
        case .incomplete: return 3
        }
    }

    /// `exercised/inScope MUST` for reports.
    public func coverageText(_ lang: ReportLanguage) -> String {
        let c = coverage
        let pct = c.inScope == 0 ? 100 : Int((Double(c.exercised) / Double(c.inScope) * 100).rounded(.down))
        return lang == .zh ? "必检项（MUST）已执行 \(c.exercised)/\(c.inScope)（\(pct)%）"
                           : "\(c.exercised) of \(c.inScope) MUST checks exercised (\(pct) %)"
    }
}
