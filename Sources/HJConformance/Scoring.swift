/// Scores of a run: per group and overall, each check weighted by its level (MUST 3, SHOULD 2,
/// MAY 1), over the checks that were exercised.
///
/// Without `--strict` a failed SHOULD or MAY check is reported as `warn` and does not lower the
/// score; with `--strict` it is a failure like a MUST. A MUST failure always fails the run.
public struct CheckScore: Sendable, Equatable {
    public struct Group: Sendable, Equatable {
        public var name: String
        /// 0–100, or nil when nothing of the group was exercised.
        public var score: Double?
        public var pass = 0, fail = 0, warn = 0, notExercised = 0
    }

    /// 0–100 over every exercised check (nil when none was).
    public var overall: Double?
    public var groups: [Group]
    public var pass = 0, fail = 0, warn = 0, notExercised = 0
    /// Failed MUST checks (any failure under `--strict`).
    public var blockingFailures = 0

    /// Scores the results; `strict` decides whether SHOULD/MAY failures count.
    public init(_ results: [CheckResult], strict: Bool) {
        var order: [String] = []
        var byGroup: [String: (earned: Double, possible: Double, g: Group)] = [:]
        var earned = 0.0, possible = 0.0
        for r in results {
            let v = CheckScore.effective(r, strict: strict)
            if byGroup[r.rule.group] == nil {
                order.append(r.rule.group)
                byGroup[r.rule.group] = (0, 0, Group(name: r.rule.group))
            }
            var entry = byGroup[r.rule.group]!
            let w = r.rule.level.weight
            switch v {
            case .pass: entry.g.pass += 1; pass += 1; entry.earned += w; entry.possible += w
            case .warn: entry.g.warn += 1; warn += 1; entry.earned += w; entry.possible += w
            case .fail:
                entry.g.fail += 1; fail += 1; entry.possible += w
                if r.rule.level == .must || strict { blockingFailures += 1 }
            case .notExercised: entry.g.notExercised += 1; notExercised += 1
            }
            byGroup[r.rule.group] = entry
        }
        groups = order.map { name in
            var e = byGroup[name]!
            e.g.score = e.possible > 0 ? (e.earned / e.possible * 1000).rounded() / 10 : nil
            earned += e.earned
            possible += e.possible
            return e.g
        }
        overall = possible > 0 ? (earned / possible * 1000).rounded() / 10 : nil
    }

    /// The verdict as scored and reported: a SHOULD/MAY failure is a warning unless strict.
    public static func effective(_ r: CheckResult, strict: Bool) -> Verdict {
        if r.verdict == .fail && r.rule.level != .must && !strict { return .warn }
        return r.verdict
    }
}
