import Glibc
import HJ212

/// `hj212 dissector`: writes the Wireshark Lua dissector generated from the code tables.
struct DissectorCommand: CLICommand {
    static let name = "dissector"
    static let abstract = "Write a Wireshark Lua dissector for HJ 212, generated from the code tables and rules."
    static let options: [any OptionDeclaration] = [
        Shared.out.help("Write the dissector to FILE (default: standard output)."),
        Shared.profiles.help("A directory whose files override the built-in code tables."),
    ]
    static let discussion = """
    The dissector shows the header fields, every CP entry with the factor's Chinese and English
    name and unit (as 'hj212 decode' names them), verifies the CRC, and flags the linter's main
    rules (CRC, with the CRC-16/MODBUS variants named and lower-case hex warned; length, trailer,
    missing fields, PNO out of range, unknown CN/ST/factor codes, data flags, replies without
    ST=91, uploads without DataTime) as expert info with their rule IDs. It finds HJ 212 on any
    TCP port by its ##dddd header; the preference hj212.ports adds fixed ports.

    EXAMPLES:
      hj212 dissector -o ~/.local/lib/wireshark/plugins/hj212.lua
      tshark -X lua_script:hj212.lua -r site.pcapng -Y hj212 -T fields -e hj212.cn -e hj212.mn
    """

    var out: String?
    var profiles: String?

    init(_ a: ParsedArguments) throws(UsageError) {
        guard a.positionals.isEmpty else { throw UsageError("dissector takes no positional arguments (got '\(a.positionals[0])')") }
        out = a[Shared.out]
        profiles = a[Shared.profiles]
    }

    func run(_ io: CommandIO) -> Int32 {
        let dictionary: CodeDictionary
        do {
            dictionary = try CodeDictionary.load(.hj2017, from: ProfileStore(overrideDirectory: profiles))
        } catch {
            io.stderr.line("hj212 dissector: profile error: \(error)")
            return 2
        }
        let text = DissectorLua.script(dictionary: dictionary, version: CommandLineTool.version)
        guard let out else {
            io.stdout.write(text)
            return 0
        }
        let fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            io.stderr.line("hj212 dissector: cannot write '\(out)': \(String(cString: strerror(errno)))")
            return 2
        }
        let sink = OutputSink(fd: fd)
        sink.write(text)
        sink.flush()
        close(fd)
        if let failure = sink.failure {
            io.stderr.line("hj212 dissector: cannot write '\(out)': \(failure)")
            return 2
        }
        io.stdout.line("wrote \(out): \(dictionary.factors.count) factor codes, \(dictionary.commands.count) commands, \(DissectorLua.expertRules.count) rules")
        return 0
    }
}
