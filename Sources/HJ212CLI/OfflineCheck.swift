import HJ212
import HJCapture
import HJConformance

/// `hj212 check logger --offline TRACE|CAPTURE`: the passive checks of the logger suite on a
/// recorded session (see `OfflineLoggerCheck`). The options that mean something offline are
/// read here: `--mn`, `--pw`, `--unit`, `--plan`, `--overtime`/`--recount` (the logger's
/// configuration, for the resend checks), `--platform HOST:PORT` (which side of a capture is
/// the platform).
enum OfflineCheck {
    /// Options that make no sense offline are usage errors (before anything is opened).
    static func validate(_ a: ParsedArguments) throws(UsageError) {
        guard a.value("offline") != nil else {
            if a.value("platform") != nil { throw UsageError("--platform applies to 'check logger --offline' only") }
            return
        }
        for name in ["listen", "window", "connect-timeout", "trace"] where a.value(name) != nil {
            throw UsageError("--\(name) does not apply to --offline (the recording is judged as it is)")
        }
    }

    static func run(_ a: ParsedArguments, file: String, selection: CheckSelection, plan: CheckPlan?, catalogue: RuleCatalogue,
                    hooks: CheckHooks, io: CommandIO, overTime: Double?) throws(UsageError) -> CheckRun {
        var platforms: [Endpoint] = []
        for text in a.values["platform"] ?? [] {
            guard let e = Endpoint(text) else { throw UsageError("--platform '\(text)' is not HOST:PORT with a numeric address") }
            platforms.append(e)
        }
        var reCount: Int?
        if let r = a.value("recount") {
            guard let v = Int(r), (0...20).contains(v) else { throw UsageError("--recount: 0…20") }
            reCount = v
        }
        var options = LoggerCheckOptions(host: "offline", port: 0, mn: a.value("mn"), pw: a.value("pw"), unitKind: a.value("unit"), selection: selection)
        options.plan = plan
        let check = OfflineLoggerCheck(options, catalogue: catalogue, source: file, overTime: overTime, reCount: reCount, hooks: hooks)
        var n = 0
        let summary = try Recording.read(file, platforms: platforms, io: io) { frame in
            check.add(frame)
            n += 1
            if n % 5000 == 0 { hooks.progress("check logger --offline: \(n) frames read") }
            return hooks.shouldContinue()
        }
        io.clearProgress()
        if let c = summary.capture { io.stderr.line("hj212 check: " + c) }
        for note in summary.notes { io.stderr.line("hj212 check: " + note) }
        return check.finish()
    }
}
