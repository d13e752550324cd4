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
    static let usage = "platform HOST:PORT [--mn MN --pw PW | --registry FILE] | logger --listen HOST:PORT [--mn MN --pw PW] | --list  [--only ID…] [--skip ID…] [--strict] [--profile P] [--format F] [--out FILE] [--lang zh|en]"
    static let options = [
        OptionSpec("list", help: "Print the rule catalogue (with --only/--skip/--profile applied) and exit."),
        OptionSpec("only", value: "ID", help: "Run only the checks whose ID starts with this (repeatable, or comma-separated)."),
        OptionSpec("skip", value: "ID", help: "Skip the checks whose ID starts with this (repeatable, or comma-separated)."),
        OptionSpec("strict", help: "Count SHOULD and MAY failures (otherwise they are warnings that do not lower the score)."),
        OptionSpec("profile", value: "P", choices: CheckProfile.allCases.map(\.rawValue), help: "The rule profile (default national-2017)."),
        OptionSpec("format", value: "F", choices: ReportFormat.allCases.map(\.rawValue), help: "Report format (default text)."),
        OptionSpec("out", short: "o", value: "FILE", help: "Write the report to FILE (a text summary still goes to the terminal)."),
        OptionSpec("lang", value: "L", choices: ReportLanguage.allCases.map(\.rawValue), help: "Language of the report's titles (default en; messages stay in English)."),
        OptionSpec("mn", value: "MN", help: "platform: the MN the tool's loggers use (accepted by the platform); logger: the MN of the logger under test."),
        OptionSpec("pw", value: "PW", help: "The access password of that MN (default 123456)."),
        OptionSpec("registry", value: "FILE", help: "platform: CSV mn,pw[,name] of loggers the platform accepts (the tool uses them in order)."),
        OptionSpec("listen", value: "HOST:PORT", help: "logger: the address to listen on for the logger under test (e.g. 0.0.0.0:7001)."),
        OptionSpec("unit", value: "KIND", help: "logger: the unit kind the logger serves (a template name, see 'hj212 generate --list'); default: inferred."),
        OptionSpec("window", value: "D", help: "logger: how long to observe uploads (default 3m; 2061 checks need over an hour of data time)."),
        OptionSpec("connect-timeout", value: "D", help: "logger: how long to wait for the logger to connect at all (default 2m; then exit 2)."),
        OptionSpec("overtime", value: "S", help: "OverTime in seconds: how long to wait for an answer (default 10)."),
        OptionSpec("recount", value: "N", help: "logger: ReCount configured on the logger (default 3)."),
        OptionSpec("loggers", value: "N", help: "platform: loggers connected at once for the concurrency check (default 20)."),
        OptionSpec("command-window", value: "S", help: "platform: seconds to watch for commands the platform sends (default 15)."),
        OptionSpec("profiles", value: "DIR", help: "A directory whose files override the built-in Profiles/ (e.g. a corrected catalogue)."),
    ]
    static let discussion = """
    Each check has a stable ID, a title in Chinese and English, the clause it comes from and a level
    (MUST, SHOULD, MAY); 'hj212 check --list' prints them. The score is per group and overall,
    weighted by level (3, 2, 1) over the checks exercised. A check that could not be exercised says why.

    Exit status: 0 no MUST check failed (with --strict: no check failed), 1 otherwise, 2 the target
    could not be reached or bad usage. Ctrl-C stops the run and writes the report of what ran.

    EXAMPLES:
      hj212 check --list --lang zh
      hj212 check platform 10.0.0.5:7001 --mn 88888880000001 --pw 123456 --format html -o platform.html
      hj212 check logger --listen 0.0.0.0:7001 --mn 88888880000001 --window 70m --format junit -o logger.xml
    """

    enum Mode { case list, platform, logger }
    var mode: Mode
    var a: ParsedArguments
    var selection: CheckSelection

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
            let terminal = LockedIO(io)
            let hooks = CheckHooks(progress: { text in terminal.progress(text) }, shouldContinue: { !Interrupts.requested })
            let result: CheckRun
            switch mode {
            case .list:
                let target = a.positionals.first.flatMap(CheckTarget.init(rawValue:))
                io.stdout.write(CheckReport.list(catalogue, target: target, selection: selection, lang: lang))
                return 0
            case .platform:
                let address: SocketAddress
                do { address = try SocketAddress(parsing: a.positionals[1]) } catch { throw UsageError("platform address: \(error.message)") }
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
                let options = PlatformCheckOptions(host: address.host, port: address.port, credentials: credentials, selection: selection,
                                                   overTime: try seconds("overtime", default: 10, range: 0.1...600),
                                                   commandWindow: try seconds("command-window", default: 15, range: 0...3600),
                                                   concurrency: n)
                _ = try? ProcessSetup.prepareForNetworking()
                result = PlatformCheck.run(options, catalogue: catalogue, hooks: hooks)
            case .logger:
                let address: SocketAddress
                do { address = try SocketAddress(parsing: a.value("listen")!) } catch { throw UsageError("--listen: \(error.message)") }
                guard let recount = Int(a.value("recount") ?? "3"), (0...20).contains(recount) else { throw UsageError("--recount: 0…20") }
                let options = LoggerCheckOptions(host: address.host, port: address.port, mn: a.value("mn"), pw: a.value("pw"), unitKind: a.value("unit"),
                                                 selection: selection, window: try seconds("window", default: 180, range: 1...86_400 * 7),
                                                 overTime: try seconds("overtime", default: 10, range: 0.1...600), reCount: recount,
                                                 connectTimeout: try seconds("connect-timeout", default: 120, range: 1...86_400),
                                                 listening: { port in terminal.line("hj212 check logger: listening on \(address.host):\(port); connect the logger under test") })
                _ = try? ProcessSetup.prepareForNetworking()
                result = LoggerCheck.run(options, catalogue: catalogue, hooks: hooks)
            }
            io.clearProgress()
            if result.interrupted { io.stderr.line("hj212 check: interrupted; reporting the \(result.results.filter { $0.verdict != .notExercised }.count) checks that ran") }
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
            return result.exitStatus
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

    init(_ io: CommandIO) { self.io = io }

    private let lastProgress = Mutex<Double>(0)

    /// A progress line, at most five times a second.
    func progress(_ text: String) {
        let now = monotonicSeconds()
        guard lastProgress.withLock({ last in
            guard now - last >= 0.2 else { return false }
            last = now
            return true
        }) else { return }
        lock.withLock { _ in io.progress(text) }
    }

    func line(_ text: String) {
        lock.withLock { _ in
            io.clearProgress()
            io.stderr.line(text)
            io.stderr.flush()
        }
    }
}
