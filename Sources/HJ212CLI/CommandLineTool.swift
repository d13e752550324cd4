import HJ212

/// The `hj212` command line: dispatches to one command per file.
public enum CommandLineTool {
    static let version = "0.1.0"

    static let commands: [any CLICommand.Type] = [
        LintCommand.self, DecodeCommand.self, FrameCommand.self, CRCCommand.self, GenerateCommand.self, ServeCommand.self, SimulateCommand.self, SensorsCommand.self, DemoCommand.self, CheckCommand.self, LoadCommand.self, BenchCommand.self,
        TraceCommand.self, DissectorCommand.self, ReportCommand.self, RosterCommand.self, ReplayCommand.self,
    ]

    static var overview: String {
        var text = """
        hj212 \(version): a test bench for HJ 212 networking (联网) of pollution-source monitoring equipment.

        USAGE: hj212 COMMAND [OPTIONS]

        COMMANDS:

        """
        for c in commands { text += "  " + c.name.padding(toLength: 10, withPad: " ", startingAt: 0) + c.abstract + "\n" }
        text += "\nSee 'hj212 COMMAND --help' for a command's options.\n"
        return text
    }

    /// Runs the command line with real standard streams; returns the exit status.
    public static func main(_ arguments: [String]) -> Int32 {
        Interrupts.install()
        let io = CommandIO.standard()
        let status = run(arguments, io: io)
        io.stdout.flush()
        io.stderr.flush()
        return status
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
                io.stdout.write(c.help)
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

    static func run<C: CLICommand>(_ type: C.Type, _ arguments: [String], io: CommandIO) -> Int32 {
        do {
            let parsed = try C.parse(arguments)
            if parsed.has("help") {
                io.stdout.write(C.help)
                return 0
            }
            return try C(parsed).run(io)
        } catch {
            // Usage errors can quote file or wire text: shown safe for the terminal.
            io.stderr.line("hj212 \(C.name): \(safeMessage(error.message))")
            return error.exitCode
        }
    }
}
