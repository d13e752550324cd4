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
        for c in CommandLineTool.commands {
            text += "\n## hj212 \(c.name)\n\n\(c.abstract)\n\n```\nhj212 \(c.name) \(c.usage)\n```\n\n"
            let shown = c.options.filter { !$0.hidden }
            if !shown.isEmpty {
                text += "| option | meaning |\n|---|---|\n"
                for o in shown {
                    var label = "`--\(o.name)" + (o.value.map { " \($0)" } ?? "") + "`"
                    if let s = o.short { label = "`-\(s)`, " + label }
                    var help = o.help
                    if let choices = o.choices { help += " (" + choices.map { "`\($0)`" }.joined(separator: " \\| ") + ")" }
                    text += "| \(label) | \(cell(help)) |\n"
                }
            }
            if !c.discussion.isEmpty {
                text += "\n```text\n\(c.discussion.trimmingTrailingNewlines())\n```\n"
            }
        }
        return text
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
