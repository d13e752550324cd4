import Foundation
import HJ212
import HJConformance
import HJNetwork
import HJRoles
import HJSimulation
import Synchronization

/// `hj212 check platform|logger`: certification of a platform or a data logger against the rule
/// catalogue (`Profiles/checks/`), scored, with text, JSON, JUnit or HTML reports.
struct CheckCommand: CLICommand {
    static let name = "check"
    static let abstract = "Certify a platform (we play loggers) or a data logger (we play the platform), scored, with reports."
    static let usage = "platform HOST:PORT [--mn MN --pw PW | --registry FILE] | logger --listen HOST:PORT [--mn MN --pw PW] [--plan quick|hour|full] | --list  [--only ID…] [--skip ID…] [--strict] [--profile P] [--format F] [--out FILE] [--trace FILE] [--lang zh|en]"
    static let options = [
        OptionSpec("list", help: "Print the rule catalogue (with --only/--skip/--profile applied) and exit."),
        OptionSpec("only", value: "ID", help: "Run only the checks whose ID starts with this (repeatable, or comma-separated)."),
        OptionSpec("skip", value: "ID", help: "Skip the checks whose ID starts with this (repeatable, or comma-separated)."),
        OptionSpec("strict", help: "Count SHOULD and MAY failures (otherwise they are warnings that do not lower the score)."),
        OptionSpec("profile", value: "P", choices: CheckProfile.allCases.map(\.rawValue), help: "The rule profile (default national-2017)."),
        OptionSpec("format", value: "F", choices: ReportFormat.allCases.map(\.rawValue), help: "Report format (default text)."),
        OptionSpec("out", short: "o", value: "FILE", help: "Write the report to FILE (a text summary still goes to the terminal)."),
        OptionSpec("lang", value: "L", choices: ReportLanguage.allCases.map(\.rawValue), help: "Language of the report: headings, group names, titles, verdicts and the messages that have a template in Profiles/checks/messages.json (default en)."),
        OptionSpec("trace", value: "FILE", help: "Record the whole certification exchange, every frame up and down, as a JSON Lines trace (appended)."),
        OptionSpec("plan", value: "P", choices: CheckPlan.allCases.map(\.rawValue), help: "logger: quick (protocol checks, 35 min of the logger's time), hour (+ hour cadence, aggregation, 2061; 2 h 10 min), full (+ day checks; 2 days 10 min). Checks beyond the plan are out of scope."),
        OptionSpec("mn", value: "MN", help: "platform: the MN the tool's loggers use (accepted by the platform); logger: the MN of the logger under test."),
        OptionSpec("pw", value: "PW", help: "The access password of that MN (default 123456)."),
        OptionSpec("registry", value: "FILE", help: "platform: CSV mn,pw[,name] of loggers the platform accepts (the tool uses them in order)."),
        OptionSpec("listen", value: "HOST:PORT", help: "logger: the address to listen on for the logger under test (e.g. 0.0.0.0:7001)."),
        OptionSpec("unit", value: "KIND", help: "logger: the unit kind the logger serves (a template name, see 'hj212 generate --list'); default: inferred."),
        OptionSpec("window", value: "D", help: "logger: how long to observe uploads, real time (default 3m, or the plan's span; hour checks need over 2 h of the logger's time)."),
        OptionSpec("connect-timeout", value: "D", help: "logger: how long to wait for the logger to connect at all (default 2m; then exit 2)."),
        OptionSpec("overtime", value: "S", help: "OverTime in seconds: how long to wait for an answer (default 10)."),
        OptionSpec("recount", value: "N", help: "logger: ReCount configured on the logger (default 3)."),
        OptionSpec("loggers", value: "N", help: "platform: loggers connected at once for the concurrency check (default 20)."),
        OptionSpec("command-window", value: "S", help: "platform: seconds to watch for commands the platform sends (default 15)."),
        OptionSpec("sensors", value: "URL[,URL]", help: "logger, with --unit: run the logger's instruments here and judge its values against what they serve (L-VALUE checks): modbus-tcp://HOST:PORT, rtu:PATH|pty, dlt645:PATH|pty (docs/instruments.md)."),
        OptionSpec("speed", value: "X", help: "logger --sensors: the instruments' clock runs X simulated seconds per real second (the logger's speed; default 1)."),
        OptionSpec("start", value: "ISO8601", help: "logger --sensors: the instruments' simulated start (the logger's; default now)."),
        OptionSpec("seed", value: "N", help: "logger --sensors: seed of the instruments' value models (default 1)."),
        OptionSpec("profiles", value: "DIR", help: "A directory whose files override the built-in Profiles/ (e.g. a corrected catalogue)."),
    ]
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
    """

    enum Mode { case list, platform, logger }
    var mode: Mode
    var a: ParsedArguments
    var selection: CheckSelection
    /// Resolved before anything runs (a usage error otherwise).
    var address: SocketAddress?
    var plan: CheckPlan?

    init(_ a: ParsedArguments) throws(UsageError) {
        self.a = a
        func list(_ name: String) -> [String] {
            (a.values[name] ?? []).flatMap { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } }.filter { !$0.isEmpty }
        }
        selection = CheckSelection(only: list("only"), skip: list("skip"), strict: a.has("strict"),
                                   profile: CheckProfile(rawValue: a.value("profile") ?? "national-2017") ?? .national2017)
        if a.has("list") {
            mode = .list
            guard a.positionals.count <= 1, a.positionals.allSatisfy({ $0 == "platform" || $0 == "logger" }) else {
                throw UsageError("--list takes at most 'platform' or 'logger'")
            }
            return
        }
        // MN and PW go into the probe's packets as they are: a ';', '=' or '&' would make
        // malformed packets that the target would be blamed for.
        if let mn = a.value("mn") {
            guard !mn.isEmpty, mn.utf8.count <= 24, mn.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) }) else {
                throw UsageError("--mn '\(mn)': expected up to 24 letters and digits (an HJ 212-2017 MN is 24 characters 0-9, A-F)")
            }
        }
        if let pw = a.value("pw") {
            guard !pw.isEmpty, pw.utf8.count <= 32, pw.utf8.allSatisfy({ $0 > 32 && $0 < 127 && $0 != UInt8(ascii: ";") && $0 != UInt8(ascii: "=") && $0 != UInt8(ascii: "&") }) else {
                throw UsageError("--pw '\(pw)': expected up to 32 printable characters without ; = &")
            }
        }
        switch a.positionals.first {
        case "platform":
            guard a.positionals.count == 2 else { throw UsageError("expected 'check platform HOST:PORT'") }
            mode = .platform
        case "logger":
            guard a.positionals.count == 1, a.value("listen") != nil else { throw UsageError("expected 'check logger --listen HOST:PORT'") }
            mode = .logger
        default:
            throw UsageError("expected 'check platform HOST:PORT', 'check logger --listen HOST:PORT' or 'check --list'")
        }
        // Everything a run needs is checked here, before anything runs.
        if mode == .platform {
            do { address = try LoadCommand.resolve(a.positionals[1]) } catch { throw UsageError("platform address: \(error.message)") }
        } else {
            do { address = try LoadCommand.resolve(a.value("listen")!) } catch { throw UsageError("--listen: \(error.message)") }
            if let name = a.value("unit") {
                guard UnitTemplate.available().contains(name) else {
                    throw UsageError("--unit '\(name)': no such template (one of \(UnitTemplate.available().joined(separator: ", ")))")
                }
            }
            if let p = a.value("plan") {
                guard let value = CheckPlan(rawValue: p) else { throw UsageError("--plan '\(p)': expected quick, hour or full") }
                plan = value
            }
        }
        if mode == .platform && a.value("plan") != nil { throw UsageError("--plan applies to 'check logger' only") }
    }

    var lang: ReportLanguage { ReportLanguage(rawValue: a.value("lang") ?? "en") ?? .en }
    var format: ReportFormat { ReportFormat(rawValue: a.value("format") ?? "text") ?? .text }

    func seconds(_ name: String, default d: Double, range: ClosedRange<Double>) throws(UsageError) -> Double {
        guard let v = a.value(name) else { return d }
        if let s = Double(v), range.contains(s) { return s }
        if let ms = SimClock.parseDuration(v), range.contains(Double(ms) / 1000) { return Double(ms) / 1000 }
        throw UsageError("--\(name) '\(v)': expected seconds or a duration like 90s or 5m, within \(Int(range.lowerBound))…\(Int(range.upperBound)) s")
    }

    func run(_ io: CommandIO) -> Int32 {
        do throws(UsageError) {
            let store: ProfileStore
            do { store = try ProfileStore.opening(a.value("profiles")) } catch { throw UsageError("profile error: \(error)") }
            let catalogue: RuleCatalogue
            do { catalogue = try RuleCatalogue.load(store) } catch { throw UsageError("check catalogue: \(error)") }
            if let path = a.value("out"), mode != .list {
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
                let target = a.positionals.first.flatMap(CheckTarget.init(rawValue:))
                io.stdout.write(CheckReport.list(catalogue, target: target, selection: selection, lang: lang))
                return 0
            }
            guard let address else { throw UsageError("no address") }
            var trace: TraceWriter?
            if let path = a.value("trace") { trace = try TraceWriter(path: path, offsetMinutes: SimClock.chinaOffsetMinutes) }
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
            let result: CheckRun
            switch mode {
            case .list:
                return 0
            case .platform:
                var credentials: [(mn: String, pw: String)] = []
                if let path = a.value("registry") {
                    let registry: Registry
                    do { registry = try Registry.load(path: path) } catch { throw UsageError("registry: \(error)") }
                    credentials = registry.entries.values.sorted { $0.line < $1.line }.map { ($0.mn, $0.pw) }
                    guard !credentials.isEmpty else { throw UsageError("registry \(path) lists no logger") }
                } else {
                    credentials = [(a.value("mn") ?? "88888880000001", a.value("pw") ?? "123456")]
                }
                guard let n = Int(a.value("loggers") ?? "20"), (1...10_000).contains(n) else { throw UsageError("--loggers: 1…10000") }
                var options = PlatformCheckOptions(host: address.host, port: address.port, credentials: credentials, selection: selection,
                                                   overTime: try seconds("overtime", default: 10, range: 0.1...600),
                                                   commandWindow: try seconds("command-window", default: 15, range: 0...3600),
                                                   concurrency: n)
                options.trace = record
                _ = try? ProcessSetup.prepareForNetworking()
                result = PlatformCheck.run(options, catalogue: catalogue, hooks: hooks)
            case .logger:
                guard let recount = Int(a.value("recount") ?? "3"), (0...20).contains(recount) else { throw UsageError("--recount: 0…20") }
                let window = try seconds("window", default: plan.map { Double($0.loggerSpan) / 1000 + 120 } ?? 180, range: 1...86_400 * 7)
                let lang = self.lang
                var options = LoggerCheckOptions(host: address.host, port: address.port, mn: a.value("mn"), pw: a.value("pw") ?? "123456", unitKind: a.value("unit"),
                                                 selection: selection, window: window,
                                                 overTime: try seconds("overtime", default: 10, range: 0.1...600), reCount: recount,
                                                 connectTimeout: try seconds("connect-timeout", default: 120, range: 1...86_400))
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
            if let trace, let failure = trace.failure { io.stderr.line("hj212 check: the trace \(trace.path) is incomplete: \(failure)") }
            if !result.reachable {
                // One line, as for a usage error; the report file (CI) is still written when asked for.
                let why = result.facts.first { $0.0 == "unreachable" }?.1 ?? "the target could not be reached"
                if let path = a.value("out") {
                    _ = FileManager.default.createFile(atPath: path, contents: Data(CheckReport.render(result, format: format, lang: lang).utf8))
                }
                io.stderr.line("hj212 check: \(TerminalText.safe(why))")
                return result.interrupted ? Interrupts.exitStatus : 2
            }
            if result.interrupted {
                io.stderr.line("hj212 check: interrupted; the verdict is incomplete; reporting the \(result.results.filter { $0.verdict != .notExercised }.count) checks that ran")
            }
            let report = CheckReport.render(result, format: format, lang: lang)
            if let path = a.value("out") {
                guard FileManager.default.createFile(atPath: path, contents: Data(report.utf8)) else {
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
