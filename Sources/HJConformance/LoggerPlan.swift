/// What a `check logger` run will cover, said before it starts: the checks in scope, the checks
/// the chosen window can exercise, how long the run takes, and a warning for every MUST check
/// that the window cannot reach (the run would then end `incomplete`).
///
/// ```swift
/// let plan = LoggerRunPlan(options, catalogue: catalogue)
/// print(plan.text(lang: .en))
/// plan.unreachableMust   // e.g. [L-HOUR-CADENCE, …] for a 3-minute window
/// ```
public struct LoggerRunPlan: Sendable {
    /// Checks in scope (selection, profile and plan applied).
    public var inScope: [CheckRule]
    /// Checks of the profile left out, with why.
    public var outOfScope: [(rule: CheckRule, why: String)]
    /// The tier the observation window reaches for a logger on real time (nil: less than `quick`).
    public var reached: CheckPlan?
    /// Checks in scope that need more of the logger's time than the window gives a logger on real time.
    public var beyondWindow: [CheckRule]
    public var unreachableMust: [CheckRule] { beyondWindow.filter { $0.level == .must } }
    /// Seconds of observation and of the whole run, for a logger on real time.
    public var windowSeconds: Double
    public var totalSeconds: Double
    public var plan: CheckPlan?

    public init(_ options: LoggerCheckOptions, catalogue: RuleCatalogue) {
        let plan = options.plan
        // The run's own split (value checks without --sensors are out of scope there too).
        (inScope, outOfScope) = LoggerCheck.scope(options, catalogue: catalogue)
        self.plan = plan
        windowSeconds = plan.map { min(options.window, Double($0.loggerSpan) / 1000) } ?? options.window
        reached = CheckPlan.reachable(within: Int64(windowSeconds * 1000))
        let reachedTier = reached
        beyondWindow = inScope.filter { r in reachedTier.map { r.plan > $0 } ?? (r.plan > .quick) }
        totalSeconds = LoggerCheckRunner.plannedSeconds(options)
    }

    public func text(lang: ReportLanguage) -> String {
        let zh = lang == .zh
        func d(_ s: Double) -> String { LoggerCheckRunner.duration(s) }
        var s = zh ? "检测方案：" : "plan: "
        if let plan { s += zh ? "--plan \(plan.rawValue)，观察数采仪时间 \(d(windowSeconds))" : "--plan \(plan.rawValue), observing \(d(windowSeconds)) of the logger's time" }
        else { s += zh ? "未选方案，观察窗口 \(d(windowSeconds))" : "no --plan, an observation window of \(d(windowSeconds))" }
        s += zh ? "；实时数采仪全程约 \(d(totalSeconds))（加速的仿真数采仪更短）\n" : "; the whole run takes about \(d(totalSeconds)) with a logger on real time (less with an accelerated emulation)\n"
        let exercisable = inScope.count - beyondWindow.count
        s += zh ? "  范围内 \(inScope.count) 项检查，此窗口可执行 \(exercisable) 项；范围外 \(outOfScope.count) 项\n"
                : "  \(inScope.count) checks in scope, \(exercisable) of them reachable in this window; \(outOfScope.count) out of scope\n"
        if reached == nil {
            s += zh ? "  注意：分钟数据检查需要至少 3 个分钟周期（3 × MinInterval）的数据\n"
                    : "  note: the minute-data checks need three minute records (3 × MinInterval) within the window\n"
        }
        let must = unreachableMust
        if !must.isEmpty {
            let ids = must.map(\.id).joined(separator: ", ")
            s += zh ? "  警告：\(must.count) 项必检（MUST）检查在此窗口内无法执行，结论将为“未完成”：\(ids)（用 --plan hour 或 --plan full）\n"
                    : "  WARNING: \(must.count) MUST checks cannot be reached in this window, so the verdict will be incomplete: \(ids) (use --plan hour or --plan full)\n"
        }
        if !outOfScope.isEmpty {
            s += zh ? "  范围外（不计入结论）：" : "  out of scope (not counted): "
            s += outOfScope.prefix(12).map(\.rule.id).joined(separator: ", ") + (outOfScope.count > 12 ? ", …" : "") + "\n"
        }
        return s
    }
}
