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
        typealias O = CheckOptions
        guard a.given(O.offline) else {
            if a.given(O.platform) { throw UsageError("--platform applies to 'check logger --offline' only") }
            return
        }
        let live: [any OptionDeclaration] = [O.listen, O.window, O.connectTimeout, O.trace]
        for option in live where a.given(option) {
            throw UsageError("--\(option.info.name) does not apply to --offline (the recording is judged as it is)")
        }
    }

    static func run(_ a: ParsedArguments, file: String, selection: CheckSelection, plan: CheckPlan?, catalogue: RuleCatalogue,
                    hooks: CheckHooks, io: CommandIO, overTime: Double?) throws(UsageError) -> CheckRun {
        let platforms = a.all(CheckOptions.platform)
        let reCount = a[CheckOptions.recount]
        var options = LoggerCheckOptions(host: "offline", port: 0, mn: a[CheckOptions.mn], pw: a[CheckOptions.pw], unitKind: a[CheckOptions.unit], selection: selection)
        options.plan = plan
        let check = OfflineLoggerCheck(options, catalogue: catalogue, source: file, overTime: overTime, reCount: reCount, hooks: hooks)
        var n = 0
        // One logger is judged: the one with --mn, else the first MN in the recording. A
        // connection belongs to it when its first frame with an MN carries that MN; every frame
        // of such a connection is judged (a wrong MN later on it is the logger's fault).
        var chosen = a[CheckOptions.mn]
        var belongs: [String: Bool] = [:]
        var others: Set<String> = []
        var left = 0
        let summary: Recording.Summary
        // An unreadable recording is exit 2 for `check` (1 would say a MUST check failed).
        do { summary = try Recording.read(file, platforms: platforms, io: io) { frame in
            var mine = belongs[frame.connection]
            if mine == nil, let mn = SegmentParser.parse(frame.raw.segmentBytes).segment.mn, !mn.isEmpty {
                if chosen == nil { chosen = mn }
                mine = mn == chosen
                if belongs.count < 1_000_000 { belongs[frame.connection] = mine }
                if mine == false, others.count < 10_000 { others.insert(mn) }
            }
            if mine == false { left += 1; return hooks.shouldContinue() }
            check.add(frame)
            n += 1
            if n % 5000 == 0 { hooks.progress("check logger --offline: \(n) frames read") }
            return hooks.shouldContinue()
        } } catch { throw UsageError(error.message, exitCode: 2) }
        io.clearProgress()
        if let c = summary.capture { io.stderr.line("hj212 check: " + c) }
        for note in summary.notes { io.stderr.line("hj212 check: " + note) }
        var run = check.finish()
        if left > 0 {
            run.facts.append(("other loggers in the recording", "\(left) frame(s) of \(others.count) other MN(s) left out (first: \(others.sorted().first ?? "-")); give --mn to judge another"))
        }
        return run
    }
}
