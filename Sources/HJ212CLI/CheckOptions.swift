import HJConformance
import HJNetwork
import HJSimulation

/// The options of `hj212 check` and its subcommands, declared once; each subcommand lists the ones
/// it takes, so that an option of the other one (`check platform --listen`) is a usage error.
enum CheckOptions {
    static let list = Flag("list", help: "Print the rule catalogue (with --only/--skip/--profile applied) and exit.")
    static let only = Option("only", "ID", help: "Run only the checks whose ID starts with this (repeatable, or comma-separated).", repeatable: true, parse: Parse.list)
    static let skip = Option("skip", "ID", help: "Skip the checks whose ID starts with this (repeatable, or comma-separated).", repeatable: true, parse: Parse.list)
    static let strict = Shared.strict.help("Count SHOULD and MAY failures (otherwise they are warnings that do not lower the score).")
    static let profile = Option("profile", "P", help: "The rule profile (default national-2017).", choices: CheckProfile.allCases.map(\.rawValue), parse: Parse.choice(CheckProfile.self))
    static let format = Option("format", "F", help: "Report format (default text).", choices: ReportFormat.allCases.map(\.rawValue), parse: Parse.choice(ReportFormat.self))
    static let out = Shared.out.help("Write the report to FILE (a text summary still goes to the terminal).")
    static let lang = Shared.lang.help("Language of the report: headings, group names, titles, verdicts and the messages that have a template in Profiles/checks/messages.json (default en).")
    static let trace = Shared.trace.help("Record the whole certification exchange, every frame up and down, as a JSON Lines trace (appended).")
    static let plan = Option("plan", "P", help: "quick (protocol checks, 35 min of the logger's time), hour (+ hour cadence, aggregation, 2061; 2 h 10 min), full (+ day checks; 2 days 10 min). Checks beyond the plan are out of scope.",
                             choices: CheckPlan.allCases.map(\.rawValue), parse: Parse.choice(CheckPlan.self))
    static let mn = Shared.mn.help("platform: the MN the tool's loggers use (accepted by the platform); logger: the MN of the logger under test.")
    static let pw = Shared.pw.help("The access password of that MN (default 123456).")
    static let registry = Shared.registry.help("CSV mn,pw[,name] of loggers the platform accepts (the tool uses them in order).")
    static let listen = Option("listen", "HOST:PORT", help: "The address to listen on for the logger under test (e.g. 0.0.0.0:7001); required.", parse: Parse.address)
    static let unit = Option("unit", "KIND", help: "The unit kind the logger serves (a template name, see 'hj212 generate --list'); default: inferred.", parse: Parse.unitTemplate)
    static let window = Option("window", "D", help: "How long to observe uploads, real time (default 3m, or the plan's span; hour checks need over 2 h of the logger's time).",
                               parse: Parse.seconds(1...86_400 * 7))
    static let connectTimeout = Option("connect-timeout", "D", help: "How long to wait for the logger to connect at all (default 2m; then exit 2).", parse: Parse.seconds(1...86_400))
    static let overtime = Option("overtime", "S", help: "OverTime in seconds: how long to wait for an answer (default 10).", parse: Parse.seconds(0.1...600))
    static let recount = Option("recount", "N", help: "ReCount configured on the logger (default 3).", parse: Parse.int(0...20))
    static let loggers = Option("loggers", "N", help: "Loggers connected at once for the concurrency check (default 20).", parse: Parse.int(1...10_000))
    static let commandWindow = Option("command-window", "S", help: "Seconds to watch for commands the platform sends (default 15).", parse: Parse.seconds(0...3600))
    static let offline = Option("offline", "TRACE|CAPTURE", help: "Judge a recorded session instead of a live logger (a JSON Lines trace or a pcap/pcapng capture): the passive checks run, the active ones are not exercised.", parse: Parse.path)
    static let platform = Option("platform", "HOST:PORT", help: "With --offline: the platform's address in a capture (repeatable); default: the side that does not send uploads.", repeatable: true, parse: Parse.endpoint)
    static let sensors = Option("sensors", "URL[,URL]", help: "With --unit: run the logger's instruments here and judge its values against what they serve (L-VALUE checks): modbus-tcp://HOST:PORT, rtu:PATH|pty, dlt645:PATH|pty (docs/instruments.md).", parse: Parse.text)
    static let speed = Shared.speed.help("With --sensors: the instruments' clock runs X simulated seconds per real second (the logger's speed; default 1).")
    static let start = Shared.start.help("With --sensors: the instruments' simulated start (the logger's; default now).")
    static let seed = Shared.seed.help("With --sensors: seed of the instruments' value models (default 1).")
    static let profiles = Shared.profiles.help("A directory whose files override the built-in Profiles/ (e.g. a corrected catalogue).")

    /// Selection and report options every run takes.
    static let run: [any OptionDeclaration] = [list, only, skip, strict, profile, format, out, lang, trace]
}

/// `hj212 check platform HOST:PORT`.
struct CheckPlatform: CLICommand {
    static let name = "platform"
    static let abstract = "Certify a platform: the tool plays data loggers against it."
    static let operands = "HOST:PORT"
    typealias O = CheckOptions
    static let options: [any OptionDeclaration] = O.run + [O.mn, O.pw, O.registry, O.overtime, O.loggers, O.commandWindow, O.profiles]
    var check: CheckCommand
    init(_ a: ParsedArguments) throws(UsageError) {
        check = a[O.list] ? try CheckCommand(mode: .list, a, listTarget: .platform) : try CheckCommand(mode: .platform, a)
    }
    func run(_ io: CommandIO) -> Int32 { check.run(io) }
}

/// `hj212 check logger --listen HOST:PORT`, or `--offline TRACE|CAPTURE`.
struct CheckLogger: CLICommand {
    static let name = "logger"
    static let abstract = "Certify a data logger: the tool plays the platform it connects to."
    typealias O = CheckOptions
    static let options: [any OptionDeclaration] = O.run + [O.listen, O.offline, O.platform, O.mn, O.pw, O.plan, O.unit, O.window, O.connectTimeout, O.overtime, O.recount, O.sensors, O.speed, O.start, O.seed, O.profiles]
    var check: CheckCommand
    init(_ a: ParsedArguments) throws(UsageError) {
        check = a[O.list] ? try CheckCommand(mode: .list, a, listTarget: .logger) : try CheckCommand(mode: .logger, a)
    }
    func run(_ io: CommandIO) -> Int32 { check.run(io) }
}

extension Parse {
    /// The name of a unit template (Profiles/units).
    @Sendable static func unitTemplate(_ name: String) throws(UsageError) -> String {
        guard UnitTemplate.available().contains(name) else {
            throw UsageError("no such template (one of \(UnitTemplate.available().joined(separator: ", ")))")
        }
        return name
    }
}
