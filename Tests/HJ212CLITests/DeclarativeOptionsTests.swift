import Foundation
import HJNetwork
import Testing
@testable import HJ212CLI
import TestSupport

/// The command line is declared: options once, as typed values with their parsers; help, usage
/// and docs/commands.md generated from the declarations (issue 15, part 4).
@Suite("Declarative options: declarations, generated help and reference, typed parsers")
struct DeclarativeOptionsTests {
    /// docs/commands.md cut into its command sections: path (`check logger`) → the option names its table lists.
    static func documentedOptions() throws -> [String: [String]] {
        let page = try String(contentsOf: CommandReferenceTests.root.appendingPathComponent("docs/commands.md"), encoding: .utf8)
        var sections: [String: [String]] = [:]
        var current: String?
        for line in page.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("## hj212 ") || line.hasPrefix("### hj212 ") || line.hasPrefix("#### hj212 ") {
                let path = String(line.drop { $0 == "#" }.dropFirst("hj212 ".count + 1))
                current = path
                sections[path] = []
                continue
            }
            guard let current, line.hasPrefix("| "), let start = line.range(of: "`--") else { continue }
            let name = line[start.upperBound...].prefix { $0.isLetter || $0.isNumber || $0 == "-" }
            sections[current, default: []].append(String(name))
        }
        return sections
    }

    @Test("every declared option of every command and subcommand is in its --help and in its section of docs/commands.md")
    func declaredAreDocumented() throws {
        let documented = try Self.documentedOptions()
        let all = CommandReference.allCommands()
        #expect(all.contains { $0.path == "check logger" } && all.contains { $0.path == "bench codec" } && all.contains { $0.path == "load merge" }
                && all.contains { $0.path == "trace import" })
        for (path, c) in all {
            let help = c.help(path: path)
            let section = documented[path]
            #expect(section != nil, "docs/commands.md has no section for hj212 \(path)")
            for o in c.options.map({ $0.info }) where !o.hidden {
                #expect(help.contains("--\(o.name)"), "--\(o.name) missing from 'hj212 \(path) --help'")
                #expect(section?.contains(o.name) == true, "--\(o.name) missing from the section of hj212 \(path) in docs/commands.md")
            }
        }
    }

    @Test("every option docs/commands.md documents is accepted by the parser of that command")
    func documentedAreDeclared() throws {
        let documented = try Self.documentedOptions()
        let commands = Dictionary(uniqueKeysWithValues: CommandReference.allCommands().map { ($0.path, $0.command) })
        #expect(documented.count == commands.count)
        for (path, names) in documented {
            guard let c = commands[path] else {
                Issue.record("docs/commands.md documents hj212 \(path), which does not exist")
                continue
            }
            for name in names {
                // A flag parses alone; an option with a value says it needs one: neither is "unknown".
                do {
                    _ = try c.parse(["--\(name)"], path: path)
                } catch {
                    #expect(!error.message.contains("unknown option") && !error.message.contains("belongs to"), "hj212 \(path) --\(name): \(error.message)")
                }
            }
        }
    }

    @Test("no command declares a name or a short alias twice")
    func namesAreUnique() {
        for (path, c) in CommandReference.allCommands() {
            let names = c.options.map { $0.info.name }
            #expect(Set(names).count == names.count, "hj212 \(path) declares a name twice: \(names)")
            let shorts = c.options.compactMap { $0.info.short }
            #expect(Set(shorts).count == shorts.count, "hj212 \(path) declares a short alias twice")
        }
    }

    @Test("reading an option the command did not declare traps")
    func undeclaredReadTraps() async {
        await #expect(processExitsWith: .failure) {
            let a = try LintCommand.parse(["--strict"])
            _ = a[ServeCommand.listen]
        }
    }

    @Test("--threads has one rule, 1…256, in every command that takes it")
    func threadsEverywhere() {
        var takers: [String] = []
        for (path, c) in CommandReference.allCommands() where c.options.contains(where: { $0.info.name == "threads" }) {
            takers.append(path)
            for bad in ["0", "257", "x", "-1", "1.5"] {
                do {
                    _ = try c.parse(["--threads", bad], path: path)
                    Issue.record("hj212 \(path) accepted --threads \(bad)")
                } catch {
                    #expect(error.message == "--threads '\(bad)': expected an integer from 1 to 256", "hj212 \(path): \(error.message)")
                }
            }
            // (A command's required options may still be missing: that is another error.)
            do { _ = try c.parse(["--threads", "256"], path: path) } catch { #expect(!error.message.contains("--threads"), "hj212 \(path): \(error.message)") }
        }
        #expect(Set(["serve", "simulate", "load", "bench live", "bench load", "bench soak", "bench storm", "bench store"]).isSubset(of: Set(takers)), "\(takers)")
    }

    @Test("serve --threads 0 and simulate --threads x are usage errors (exit 2), no longer ignored")
    func badThreadsExitTwo() {
        let serve = hj212(["serve", "--listen", "127.0.0.1:0", "--threads", "0", "--duration", "1s"])
        #expect(serve.status == 2 && serve.err.contains("--threads '0'") && serve.err.split(separator: "\n").count == 1, "\(serve.err)")
        let simulate = hj212(["simulate", "--unit", "industrial-wastewater", "--to", "127.0.0.1:1", "--threads", "x", "--duration", "1m"])
        #expect(simulate.status == 2 && simulate.err.contains("--threads 'x'"), "\(simulate.err)")
        let bench = hj212(["bench", "live", "--threads", "999"])
        #expect(bench.status == 2 && bench.err.contains("1 to 256"), "\(bench.err)")
        // Other values silently defaulted before are refused too.
        let drain = hj212(["simulate", "--unit", "industrial-wastewater", "--to", "127.0.0.1:1", "--drain", "soon"])
        #expect(drain.status == 2 && drain.err.contains("--drain 'soon'"), "\(drain.err)")
        let seconds = hj212(["demo", "--seconds", "x"])
        #expect(seconds.status == 2 && seconds.err.contains("--seconds 'x'"), "\(seconds.err)")
    }

    @Test("an option of another subcommand is refused, naming the subcommand where it belongs")
    func optionOfAnotherSubcommand() {
        for (arguments, home) in [(["check", "platform", "127.0.0.1:7001", "--listen", "0.0.0.0:7001"], "hj212 check logger"),
                                  (["check", "platform", "127.0.0.1:7001", "--window", "5m"], "hj212 check logger"),
                                  (["check", "platform", "127.0.0.1:7001", "--recount", "3"], "hj212 check logger"),
                                  (["check", "logger", "--listen", "127.0.0.1:0", "--registry", "x.csv"], "hj212 check platform"),
                                  (["check", "--listen", "127.0.0.1:0"], "hj212 check logger"),
                                  (["bench", "codec", "--loggers", "5"], "hj212 bench live")] {
            let r = hj212(arguments)
            #expect(r.status == 2, "\(arguments): \(r.err)")
            #expect(r.err.contains("belongs to '\(home)'") && r.err.split(separator: "\n").count == 1, "\(arguments): \(r.err)")
        }
    }

    @Test("unknown options still get the 'did you mean' hint, in commands and subcommands")
    func didYouMean() {
        let lint = hj212(["lint", "--dialekt", "2017"])
        #expect(lint.status == 2 && lint.err.contains("unknown option '--dialekt'") && lint.err.contains("did you mean --dialect?"), "\(lint.err)")
        let logger = hj212(["check", "logger", "--listen", "127.0.0.1:0", "--windw", "5m"])
        #expect(logger.status == 2 && logger.err.contains("did you mean --window?") && logger.err.contains("'hj212 check logger'"), "\(logger.err)")
    }

    @Test("a group's --help lists its subcommands; a subcommand's --help shows only its own options")
    func subcommandHelp() {
        let check = hj212(["check", "--help"])
        #expect(check.status == 0 && check.out.contains("SUBCOMMANDS:") && check.out.contains("  platform") && check.out.contains("  logger"), "\(check.out)")
        let logger = hj212(["check", "logger", "--help"])
        #expect(logger.status == 0 && logger.out.contains("USAGE: hj212 check logger") && logger.out.contains("--listen") && logger.out.contains("--recount"))
        #expect(!logger.out.contains("--registry") && !logger.out.contains("--command-window"), "\(logger.out)")
        let platform = hj212(["help", "check", "platform"])
        #expect(platform.out.contains("--registry") && !platform.out.contains("--listen"), "\(platform.out)")
        let bench = hj212(["bench", "--help"])
        for kind in ["codec", "live", "memory", "load", "hostile", "soak", "storm", "store", "roster"] {
            #expect(bench.out.contains("hj212 bench \(kind)"), "bench \(kind) missing from:\n\(bench.out)")
        }
        #expect(!bench.out.contains("pingpong-server"))
        #expect(hj212(["bench"]).status == 2 && hj212(["trace"]).status == 2)
        #expect(hj212(["load", "merge", "--help"]).out.contains("--threshold"))
        #expect(!hj212(["load", "merge", "--help"]).out.contains("--loggers"))
    }

    // MARK: typed parsers, table-driven

    static let rejected: [(String, @Sendable (String) throws(UsageError) -> Any, [String])] = [
        ("int 1…256", { (s: String) throws(UsageError) -> Any in try Parse.int(1...256)(s) }, ["0", "257", "x", "", "1.5", " 3", "-1", "99999999999999999999"]),
        ("count", { (s: String) throws(UsageError) -> Any in try Parse.count(s) }, ["0", "-1", "a", ""]),
        ("seed", { (s: String) throws(UsageError) -> Any in try Parse.seed(s) }, ["-1", "x", "18446744073709551616"]),
        ("number [0, 100]", { (s: String) throws(UsageError) -> Any in try Parse.number(0...100)(s) }, ["101", "-0.1", "nan", "inf", "x", ""]),
        ("speed", { (s: String) throws(UsageError) -> Any in try Parse.speed(s) }, ["0", "-1", "100001", "nan", "inf", "x", ""]),
        ("duration", { (s: String) throws(UsageError) -> Any in try Parse.duration()(s) }, ["", "0", "forever", "10x", "-5s", "m", "99999999999999999h", "1000000000w"]),
        ("duration 0…1h", { (s: String) throws(UsageError) -> Any in try Parse.duration(0...3_600_000)(s) }, ["2h", "61m", "x"]),
        ("seconds 0.1…600", { (s: String) throws(UsageError) -> Any in try Parse.seconds(0.1...600)(s) }, ["0", "11m", "x", "601", "nan"]),
        ("address", { (s: String) throws(UsageError) -> Any in try Parse.address(s) }, ["", "127.0.0.1", "1.2.3.4:99999", "1.2.3.4:x", "[::1]:7001", "no-such-host.invalid:7001"]),
        ("addresses", { (s: String) throws(UsageError) -> Any in try Parse.addresses(s) }, ["", ",", "127.0.0.1:1,nonsense"]),
        ("mn", { (s: String) throws(UsageError) -> Any in try Parse.mn(s) }, ["", "0100;CN=1011", String(repeating: "A", count: 25), "01 02", "MN=1"]),
        ("pw", { (s: String) throws(UsageError) -> Any in try Parse.pw(s) }, ["", "12&34", "a=b", "a;b", "a b", String(repeating: "x", count: 33), "\u{1b}[2J"]),
        ("choice", { (s: String) throws(UsageError) -> Any in try Parse.choice(["text", "json"])(s) }, ["", "TEXT", "html"]),
        ("path", { (s: String) throws(UsageError) -> Any in try Parse.path(s) }, ["", "a\u{0}b"]),
        ("day", { (s: String) throws(UsageError) -> Any in try Parse.day(s) }, ["", "2026-13-01", "yesterday"]),
        ("start", { (s: String) throws(UsageError) -> Any in try Parse.start(s) }, ["", "tomorrow"]),
    ]

    @Test("the typed parsers reject bad values with a usage error saying what was expected", arguments: 0..<rejected.count)
    func parsersReject(_ index: Int) {
        let (name, parse, bad) = Self.rejected[index]
        for text in bad {
            do {
                let value = try parse(text)
                Issue.record("\(name) accepted '\(text)' as \(value)")
            } catch {
                #expect(error.exitCode == 2 && !error.message.isEmpty, "\(name) '\(text)'")
            }
        }
    }

    @Test("the typed parsers accept good values as typed values")
    func parsersAccept() throws {
        #expect(try Parse.int(1...256)("1") == 1 && Parse.int(1...256)("256") == 256)
        #expect(try Parse.count("7") == 7)
        #expect(try Parse.seed("18446744073709551615") == UInt64.max)
        #expect(try Parse.speed("0.5") == 0.5 && Parse.speed("100000") == 100_000)
        #expect(try Parse.duration()("90s") == 90_000 && Parse.duration()("2h30m") == 9_000_000 && Parse.duration()("500ms") == 500 && Parse.duration()("10") == 10_000)
        #expect(try Parse.duration(0...3_600_000)("0") == 0 && Parse.duration(0...3_600_000)("0s") == 0 && Parse.duration(0...3_600_000)("1h") == 3_600_000)
        #expect(try Parse.seconds(0.1...600)("0.5") == 0.5 && Parse.seconds(0.1...600)("5m") == 300)
        #expect(try Parse.address("127.0.0.1:7001") == SocketAddress(ipv4: 0x7F00_0001, port: 7001))
        #expect(try Parse.address("localhost:7001").port == 7001)
        #expect(try Parse.addresses("127.0.0.1:1,127.0.0.1:2").map(\.port) == [1, 2])
        #expect(try Parse.mn("010000A8900016F000169DC0") == "010000A8900016F000169DC0")
        #expect(try Parse.pw("123456") == "123456")
        #expect(try Parse.list(" A, ,B ") == ["A", "B"])
        // The values arrive typed through the declarations.
        let a = try SimulateCommand.parse(["--to", "127.0.0.1:7001,127.0.0.1:7002", "--threads", "3", "--speed", "60", "--duration", "2h", "--unit", "x"])
        #expect(a[SimulateCommand.to]?.count == 2 && a[Shared.threads] == 3 && a[Shared.speed] == 60 && a[SimulateCommand.duration] == 7_200_000)
        #expect(a[Shared.seed] == nil && !a.given(Shared.seed) && a.text(Shared.speed) == "60")
        let load = try LoadCommand.parse(["127.0.0.1:1", "--loggers", "3", "--threshold", "p99<1s", "--threshold", "errors==0"])
        #expect(load.all(LoadCommand.threshold).count == 2)
    }
}
