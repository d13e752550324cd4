import Foundation

/// The command reference (`docs/commands.md`) generated from the commands' declarations, so that
/// the page cannot drift from the parser: `hj212 help --reference > docs/commands.md`. A test
/// checks that the committed page is current.
enum CommandReference {
    static func markdown() -> String {
        var text = """
        # Command reference

        Generated from the commands' declarations by `hj212 help --reference` (a test checks that this
        page is current: after changing an option, run `swift run hj212 help --reference > docs/commands.md`).
        Every command also prints this with `--help`. Exit codes are on the [README](../README.md#exit-codes).

        | command | what it does |
        |---|---|

        """
        for c in CommandLineTool.commands {
            text += "| [`hj212 \(c.name)`](#hj212-\(c.name)) | \(cell(c.abstract)) |\n"
        }
        for c in CommandLineTool.commands { text += section(c, path: c.name, level: 2) }
        return text
    }

    /// The section of one command, then those of its subcommands (one heading level down).
    static func section(_ c: any CLICommand.Type, path: String, level: Int) -> String {
        var text = "\n" + String(repeating: "#", count: level) + " hj212 \(path)\n\n\(c.abstract)\n\n```\n" + c.usageLines(path: path).joined(separator: "\n") + "\n```\n\n"
        if !c.shownSubcommands.isEmpty {
            text += "| subcommand | what it does |\n|---|---|\n"
            for s in c.shownSubcommands {
                text += "| [`\(s.name)`](#hj212-\((path + " " + s.name).replacingOccurrences(of: " ", with: "-"))) | \(cell(s.abstract)) |\n"
            }
            text += "\n"
        }
        let shown = c.options.map(\.info).filter { !$0.hidden }
        if !shown.isEmpty {
            text += "| option | meaning |\n|---|---|\n"
            for o in shown {
                var label = "`--\(o.name)" + (o.placeholder.map { " \($0)" } ?? "") + "`"
                if let s = o.short { label = "`-\(s)`, " + label }
                var help = o.help
                if let choices = o.choices { help += " (" + choices.map { "`\($0)`" }.joined(separator: " \\| ") + ")" }
                text += "| \(label) | \(cell(help)) |\n"
            }
        }
        if !c.discussion.isEmpty {
            text += "\n```text\n\(c.discussion.trimmingTrailingNewlines())\n```\n"
        }
        for s in c.shownSubcommands { text += section(s, path: path + " " + s.name, level: level + 1) }
        return text
    }

    /// Every command and subcommand with its path (`check logger`), depth first.
    static func allCommands() -> [(path: String, command: any CLICommand.Type)] {
        func walk(_ c: any CLICommand.Type, _ path: String) -> [(path: String, command: any CLICommand.Type)] {
            [(path, c)] + c.shownSubcommands.flatMap { walk($0, path + " " + $0.name) }
        }
        return CommandLineTool.commands.flatMap { walk($0, $0.name) }
    }

    /// Text for one table cell: pipes escaped, line breaks folded.
    static func cell(_ s: String) -> String {
        s.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }

    /// The `--name` tokens a usage line mentions.
    static func optionsMentioned(in usage: String) -> [String] {
        var names: [String] = []
        var rest = Substring(usage)
        while let r = rest.range(of: "--") {
            let tail = rest[r.upperBound...]
            let name = tail.prefix { $0.isLetter || $0.isNumber || $0 == "-" }
            if !name.isEmpty { names.append(String(name)) }
            rest = tail.dropFirst(name.count)
        }
        return names
    }
}

private extension String {
    func trimmingTrailingNewlines() -> String {
        var s = self
        while s.hasSuffix("\n") { s.removeLast() }
        return s
    }
}
