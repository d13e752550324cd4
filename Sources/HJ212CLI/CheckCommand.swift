import Foundation
import HJ212
import HJConformance
import HJNetwork
import HJRoles
import HJSimulation
import Synchronization
import HJLive

/// `hj212 check platform|logger`: certification of a platform or a data logger against the rule
/// catalogue (`Profiles/checks/`), scored, with text, JSON, JUnit or HTML reports.
struct CheckCommand: CLICommand {
    static let name = "check"
    static let abstract = "Certify a platform (we play loggers) or a data logger (we play the platform), scored, with reports."
    static let operands = "[platform|logger]"
    typealias O = CheckOptions
    static let options: [any OptionDeclaration] = [O.list, O.only, O.skip, O.strict, O.profile, O.lang, O.profiles]
    static let subcommands: [any CLICommand.Type] = [CheckPlatform.self, CheckLogger.self]
    static let discussion = """
    Each check has a stable ID, a title in Chinese and English, the clause it comes from and a level
    (MUST, SHOULD, MAY); 'hj212 check --list' prints them. The score is per group and overall,
    weighted by level (3, 2, 1) over the checks exercised. A check that could not be exercised says why.

    The verdict is pass, fail or incomplete. pass: every MUST check in scope was exercised and none
    failed. fail: a MUST check failed (with --strict: any check). incomplete: the run was interrupted
    or a MUST check in scope was not exercised. --only/--skip and --plan take checks out of scope;
    the report lists them. Reports show the verdict and the coverage (MUST exercised / in scope)
    first, then the score. Before a logger run the plan says what the window can reach.

    Exit status: 0 pass, 1 fail, 2 bad usage or the target could not be reached (one line), 3
    incomplete; 130/143 when Ctrl-C/SIGTERM stopped the run (the report of what ran then says
    incomplete).

    EXAMPLES:
      hj212 check --list --lang zh
      hj212 check platform 10.0.0.5:7001 --mn 88888880000001 --pw 123456 --format html -o platform.html
      hj212 check logger --listen 0.0.0.0:7001 --mn 88888880000001 --plan hour --format junit -o logger.xml --trace logger.jsonl
      hj212 check logger --offline site.pcapng --pw 123456 --format html -o site.html   (passive checks only: incomplete unless scoped)
    """

    enum Mode { case list, platform, logger }
    var mode: Mode
    var a: ParsedArguments
    var selection: CheckSelection
    /// Resolved before anything runs (a usage error otherwise).
    var address: SocketAddress?
    /// `check logger --offline FILE`: the recording judged instead of a live logger.
    var offline: String?
    var plan: CheckPlan?
    /// `--list`: the catalogue of this target only.
    var listTarget: CheckTarget?

    /// `hj212 check --list [platform|logger]`.
    init(_ a: ParsedArguments) throws(UsageError) {
        guard a[O.list] else { throw UsageError("expected 'check platform HOST:PORT', 'check logger --listen HOST:PORT' or 'check --list'") }
        guard a.positionals.count <= 1, a.positionals.allSatisfy({ $0 == "platform" || $0 == "logger" }) else {
            throw UsageError("--list takes at most 'platform' or 'logger'")
        }
        try self.init(mode: .list, a, listTarget: a.positionals.first.flatMap(CheckTarget.init(rawValue:)))
    }

    /// A run of `check platform` or `check logger` (or its `--list`); every value was validated by the parser.
    init(mode: Mode, _ a: ParsedArguments, listTarget: CheckTarget? = nil) throws(UsageError) {
        self.a = a
        self.mode = mode
        self.listTarget = listTarget
        selection = CheckSelection(only: a.all(O.only).flatMap { $0 }, skip: a.all(O.skip).flatMap { $0 }, strict: a[O.strict], profile: a[O.profile] ?? .national2017)
        if mode == .list { return }
        // Everything a run needs is checked here, before anything runs.
        if mode == .platform {
            guard a.positionals.count == 1 else { throw UsageError("expected 'check platform HOST:PORT'") }
            do { address = try LoadCommand.resolve(a.positionals[0]) } catch { throw UsageError("platform address: \(error.message)") }
        } else {
            guard a.positionals.isEmpty else { throw UsageError("expected 'check logger --listen HOST:PORT' or 'check logger --offline TRACE|CAPTURE'") }
            try OfflineCheck.validate(a)
            if let file = a[O.offline] {
                offline = file
                address = .loopback(port: 0)
            } else {
                guard let listen = a[O.listen] else { throw UsageError("expected 'check logger --listen HOST:PORT' or 'check logger --offline TRACE|CAPTURE'") }
                address = listen
            }
            plan = a[O.plan]
        }
    }

    var lang: ReportLanguage { a[O.lang] ?? .en }
    var format: ReportFormat { a[O.format] ?? .text }

    func run(_ io: CommandIO) -> Int32 {
        do throws(UsageError) {
            let store: ProfileStore
            do { store = try ProfileStore.opening(a[O.profiles]) } catch { throw UsageError("profile error: \(error)") }
            let catalogue: RuleCatalogue
            do { catalogue = try RuleCatalogue.load(store) } catch { throw UsageError("check catalogue: \(error)") }
            if mode != .list, let path = a[O.out] {
                // Checked before the run, so that a long certification is not lost to a typo.
                let dir = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
                var isDir: ObjCBool = false
                guard FileManager.default.fileExists(atPath: dir.isEmpty ? "/" : dir, isDirectory: &isDir), isDir.boolValue,
                      FileManager.default.isWritableFile(atPath: dir.isEmpty ? "/" : dir) else {
                    throw UsageError("--out \(path): the directory \(dir) does not exist or is not writable")
                }
            }
            // Off a terminal a logger run says where it is at once (it waits for a device); a
            // platform run only once it has lasted 30 s.
            let terminal = LockedIO(io, firstPlainAfter: mode == .logger ? 0 : LockedIO.plainInterval)
            if case .list = mode {
                io.stdout.write(CheckReport.list(catalogue, target: listTarget, selection: selection, lang: lang))
                return 0
            }
            guard let address else { throw UsageError("no address") }
            var trace: TraceWriter?
            if let path = a[O.trace] { trace = try TraceWriter(path: path, offsetMinutes: SimClock.chinaOffsetMinutes) }
            var record: (@Sendable ([UInt8], Bool, String) -> Void)?
            if let writer = trace {
                record = { @Sendable (bytes: [UInt8], up: Bool, peer: String) in
                    // The peer address names the connection in a check run (each has its own port);
                    // the writer holds nothing for a stream between frames, and a bounded number of
                    // partial frames, so no stream needs to be forgotten at close.
                    var key: UInt64 = 0xCBF2_9CE4_8422_2325
                    for byte in peer.utf8 { key = (key ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
                    writer.record(bytes, up: up, peer: peer, connection: key >> 1, at: WallClock.localMilliseconds(offsetMinutes: SimClock.chinaOffsetMinutes))
                }
            }
            let hooks = CheckHooks(progress: { text in terminal.progress(text) }, shouldContinue: { !Interrupts.requested })
            var result: CheckRun
            switch mode {
            case .list:
                return 0
            case .platform:
                var credentials: [(mn: String, pw: String)] = []
                if let path = a[O.registry] {
                    let registry: Registry
                    do { registry = try Registry.load(path: path) } catch { throw UsageError("registry: \(error)") }
                    credentials = registry.entries.values.sorted { $0.line < $1.line }.map { ($0.mn, $0.pw) }
                    guard !credentials.isEmpty else { throw UsageError("registry \(path) lists no logger") }
                } else {
                    credentials = [(a[O.mn] ?? "88888880000001", a[O.pw] ?? "123456")]
                }
                let n = a[O.loggers] ?? 20
                var options = PlatformCheckOptions(host: address.host, port: address.port, credentials: credentials, selection: selection,
                                                   overTime: a[O.overtime] ?? 10,
                                                   commandWindow: a[O.commandWindow] ?? 15,
                                                   concurrency: n)
                options.trace = record
                _ = try? ProcessSetup.prepareForNetworking()
                result = PlatformCheck.run(options, catalogue: catalogue, hooks: hooks)
            case .logger:
                if let offline {
                    result = try OfflineCheck.run(a, file: offline, selection: selection, plan: plan, catalogue: catalogue, hooks: hooks, io: io,
                                                  overTime: a[O.overtime])
                    break
                }
                let recount = a[O.recount] ?? 3
                let window = a[O.window] ?? plan.map { Double($0.loggerSpan) / 1000 + 120 } ?? 180
                let lang = self.lang
                var options = LoggerCheckOptions(host: address.host, port: address.port, mn: a[O.mn], pw: a[O.pw] ?? "123456", unitKind: a[O.unit],
                                                 selection: selection, window: window,
                                                 overTime: a[O.overtime] ?? 10, reCount: recount,
                                                 connectTimeout: a[O.connectTimeout] ?? 120)
                options.plan = plan
                options.trace = record
                let sensors = try CheckSensors.start(a, io: io)
                defer { sensors?.stop() }
                options.sensors = sensors?.evidence
                let planText = LoggerRunPlan(options, catalogue: catalogue).text(lang: lang)
                // Said once the port is bound (a port in use is a one-line error, with no plan before it).
                options.listening = { port in
                    terminal.line(planText.trimmingCharacters(in: .newlines))
                    terminal.line("hj212 check logger: listening on \(address.host):\(port); connect the logger under test")
                }
                _ = try? ProcessSetup.prepareForNetworking()
                result = LoggerCheck.run(options, catalogue: catalogue, hooks: hooks)
            }
            io.clearProgress()
            // The reports' exit_status is the process's: 130/143 after a signal.
            if result.interrupted && Interrupts.requested { result.signalExitStatus = Interrupts.exitStatus }
            if let trace, let failure = trace.failure { io.stderr.line("hj212 check: the trace \(trace.path) is incomplete: \(failure)") }
            if !result.reachable {
                // One line, as for a usage error; the report file (CI) is still written when asked for.
                let why = result.facts.first { $0.0 == "unreachable" }?.1 ?? "the target could not be reached"
                if let path = a[O.out] {
                    _ = writeFileInPlace(path, Array(CheckReport.render(result, format: format, lang: lang).utf8))
                }
                io.stderr.line("hj212 check: \(TerminalText.safe(why))")
                return result.interrupted ? Interrupts.exitStatus : 2
            }
            if result.interrupted {
                io.stderr.line("hj212 check: interrupted; the verdict is incomplete; reporting the \(result.results.filter { $0.verdict != .notExercised }.count) checks that ran")
            }
            let report = CheckReport.render(result, format: format, lang: lang)
            if let path = a[O.out] {
                guard writeFileInPlace(path, Array(report.utf8)) else {
                    // The run is not lost: the report goes to standard output instead.
                    io.stderr.line("hj212 check: cannot write the report to \(path); printing it instead")
                    io.stdout.write(report)
                    return 2
                }
                io.stdout.write(CheckReport.summary(result, lang: lang))
                io.stdout.line("\(format.rawValue) report written to \(path)")
            } else {
                io.stdout.write(report)
            }
            return result.interrupted ? Interrupts.exitStatus : result.exitStatus  // 130/143 on SIGINT/SIGTERM (command contract)
        } catch {
            io.stderr.line("hj212 check: \(error.message)")
            return error.exitCode
        }
    }
}

/// The command's streams behind a lock, for hooks called from event-loop threads while the main
/// thread waits. Every access goes through `lock` (the rule behind `@unchecked Sendable`).
final class LockedIO: @unchecked Sendable {
    private let io: CommandIO
    private let lock = Mutex(())

    /// `firstPlainAfter`: off a terminal, the first plain progress line comes after this many
    /// seconds (0: at once), then one every `plainInterval`.
    init(_ io: CommandIO, firstPlainAfter: Double = 0) {
        self.io = io
        lastProgress = Mutex(io.stderr.isTerminal ? 0 : monotonicSeconds() - LockedIO.plainInterval + firstPlainAfter)
    }

    private let lastProgress: Mutex<Double>

    /// A progress line: rewritten in place at most five times a second on a terminal; off a
    /// terminal (a log file, CI) a plain line every 30 s.
    func progress(_ text: String) {
        let now = monotonicSeconds()
        let terminal = io.stderr.isTerminal
        guard lastProgress.withLock({ last in
            guard now - last >= (terminal ? 0.2 : LockedIO.plainInterval) else { return false }
            last = now
            return true
        }) else { return }
        lock.withLock { _ in
            if terminal { io.progress(TerminalText.safe(text)) } else { io.stderr.line(TerminalText.safe(text)); io.stderr.flush() }
        }
    }

    /// Seconds between plain progress lines off a terminal.
    static let plainInterval = 30.0

    func line(_ text: String) {
        lock.withLock { _ in
            io.clearProgress()
            io.stderr.line(text)
            io.stderr.flush()
        }
    }
}
