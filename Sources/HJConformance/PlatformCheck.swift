/// `hj212 check platform`: plays loggers against a platform under test and judges its answers.
/// (Skeleton; the suite is being written: every selected rule is reported as not exercised.)
public enum PlatformCheck {
    public static func run(_ options: PlatformCheckOptions, catalogue: RuleCatalogue, hooks: CheckHooks = CheckHooks()) -> CheckRun {
        var run = CheckRun(target: .platform, address: "\(options.host):\(options.port)", profile: options.selection.profile,
                           strict: options.selection.strict, started: "")
        run.results = catalogue.rules(for: .platform).filter(options.selection.selects).map {
            CheckResult(rule: $0, verdict: .notExercised, message: "not implemented yet")
        }
        return run
    }
}
