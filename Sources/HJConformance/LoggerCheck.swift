/// `hj212 check logger`: plays the platform for a data logger under test and judges its traffic.
/// (Skeleton; the suite is being written: every selected rule is reported as not exercised.)
public enum LoggerCheck {
    public static func run(_ options: LoggerCheckOptions, catalogue: RuleCatalogue, hooks: CheckHooks = CheckHooks()) -> CheckRun {
        var run = CheckRun(target: .logger, address: "\(options.host):\(options.port)", profile: options.selection.profile,
                           strict: options.selection.strict, started: "")
        run.results = catalogue.rules(for: .logger).filter(options.selection.selects).map {
            CheckResult(rule: $0, verdict: .notExercised, message: "not implemented yet")
        }
        return run
    }
}
