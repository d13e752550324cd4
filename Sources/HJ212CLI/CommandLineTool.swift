import HJ212

/// The `hj212` command line: dispatches to one command per file.
public enum CommandLineTool {
    static let version = "0.1.0"

    static let commands: [any CLICommand.Type] = [
        LintCommand.self, DecodeCommand.self, FrameCommand.self, CRCCommand.self, GenerateCommand.self, ServeCommand.self, SimulateCommand.self, SensorsCommand.self, DemoCommand.self, CheckCommand.self, LoadCommand.self, BenchCommand.self,
        TraceGroup.self, DissectorCommand.self, ReportCommand.self, RosterCommand.self, ReplayCommand.self,
    ]

    static var overview: String {
        var text = """
        hj212 \(version): a test bench for HJ 212 networking (联网) of pollution-source monitoring equipment.

        USAGE: hj212 COMMAND [OPTIONS]

        COMMANDS:

        """
        for c in commands {
            text += "  " + c.name.padding(toLength: 10, withPad: " ", startingAt: 0) + c.abstract + "\n"
            let subs = c.shownSubcommands.map { $0.name }
            if !subs.isEmpty { text += String(repeating: " ", count: 12) + "subcommands: " + subs.joined(separator: ", ") + "\n" }
        }
        text += "\nSee 'hj212 COMMAND --help' for a command's options.\n"
        return text
    }

    /// Runs the command line with real standard streams; returns the exit status.
    public static func main(_ arguments: [String]) -> Int32 {
        Interrupts.install()
        let io = CommandIO.standard()
        let status = run(arguments, io: io)
        io.stdout.flush()
        let final = outputOutcome(status, io.stdout, io.stderr)
        io.stderr.flush()
        return final
    }

    /// The exit status once standard output is flushed: output that could not be written (a full
    /// disk, `> /dev/full`, a reader that went away: `| head`) is never a success, and says so on
    /// standard error (as `generate` does for its own output).
    static func outputOutcome(_ status: Int32, _ stdout: OutputSink, _ stderr: OutputSink) -> Int32 {
        guard stdout.failed else { return status }
        stderr.line("hj212: standard output could not be written (\(stdout.failure ?? "?")): what it holds is incomplete")
        return status == 0 ? 1 : status
    }

    /// Runs the command line against the given streams (tests pass capturing sinks).
    public static func run(_ arguments: [String], io: CommandIO) -> Int32 {
        guard let first = arguments.first else {
            io.stderr.write(overview)
            return 2
        }
        if first == "help" && arguments.dropFirst().first == "--reference" {
            io.stdout.write(CommandReference.markdown())
            return 0
        }
        if first == "--help" || first == "-h" || first == "help" {
            if arguments.count > 1, let c = commands.first(where: { $0.name == arguments[1] }) {
                let (leaf, path, _, _) = resolve(c, Array(arguments.dropFirst(2)))
                io.stdout.write(leaf.help(path: path))
            } else {
                io.stdout.write(overview)
            }
            return 0
        }
        if first == "--version" || first == "version" {
            io.stdout.line("hj212 \(version)")
            return 0
        }
        guard let command = commands.first(where: { $0.name == first }) else {
            io.stderr.line("hj212: unknown command '\(first)'")
            io.stderr.write(overview)
            return 2
        }
        return run(command, Array(arguments.dropFirst()), io: io)
    }

    /// The subcommand the arguments select (`check logger …` → `CheckLogger`), its path, the
    /// arguments left for it, and its siblings (for the hint naming where an option belongs).
    static func resolve(_ top: any CLICommand.Type, _ arguments: [String])
        -> (command: any CLICommand.Type, path: String, arguments: [String], siblings: [(command: String, options: [any OptionDeclaration])]) {
        var command = top
        var path = top.name
        var rest = arguments
        var siblings: [(command: String, options: [any OptionDeclaration])] = []
        while let word = rest.first, let sub = command.subcommands.first(where: { $0.name == word }) {
            siblings = command.subcommands.filter { $0.name != word }.map { (path + " " + $0.name, $0.options) }
            if command.runsAlone { siblings.append((path, command.options)) }
            command = sub
            path += " " + word
            rest.removeFirst()
        }
        if siblings.isEmpty { siblings = command.subcommands.map { (path + " " + $0.name, $0.options) } }
        return (command, path, rest, siblings)
    }

    static func run(_ top: any CLICommand.Type, _ arguments: [String], io: CommandIO) -> Int32 {
        let (command, path, rest, siblings) = resolve(top, arguments)
        return run(command, path: path, rest, siblings: siblings, io: io)
    }

    static func run<C: CLICommand>(_ type: C.Type, path: String, _ arguments: [String], siblings: [(command: String, options: [any OptionDeclaration])],
                                   io: CommandIO) -> Int32 {
        do {
            let parsed = try C.parse(arguments, path: path, siblings: siblings)
            if parsed.wantsHelp {
                io.stdout.write(C.help(path: path))
                return 0
            }
            return try C(parsed).run(io)
        } catch {
            // Usage errors can quote file or wire text: shown safe for the terminal.
            io.stderr.line("hj212 \(path): \(safeMessage(error.message))")
            return error.exitCode
        }
    }
}
