import Foundation
import Testing
@testable import HJ212CLI
import TestSupport

@Suite("Command reference generated from the declarations")
struct CommandReferenceTests {
    /// The repository root, from this file's path (Tests/HJ212CLITests/…).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test("docs/commands.md is what 'hj212 help --reference' prints (regenerate it after changing an option)")
    func pageIsCurrent() throws {
        let page = try String(contentsOf: Self.root.appendingPathComponent("docs/commands.md"), encoding: .utf8)
        let generated = hj212(["help", "--reference"])
        #expect(generated.status == 0)
        #expect(page == generated.out, "docs/commands.md is stale: run 'swift run hj212 help --reference > docs/commands.md'")
    }

    @Test("every option a usage line names is declared by its command, and every declared option is in the reference")
    func usageMatchesDeclarations() {
        let reference = CommandReference.markdown()
        for (path, c) in CommandReference.allCommands() {
            let declared = Set(c.options.map { $0.info.name } + ["help"] + c.shownSubcommands.flatMap { $0.options.map { $0.info.name } })
            for line in c.usageLines(path: path) {
                for name in CommandReference.optionsMentioned(in: line) {
                    #expect(declared.contains(name), "'hj212 \(path)' usage names --\(name), which it does not declare")
                }
            }
            for o in c.options.map({ $0.info }) where !o.hidden {
                #expect(reference.contains("`--\(o.name)"), "--\(o.name) of \(path) missing from the reference")
            }
        }
    }

    @Test("every command has a section and a row in the table")
    func everyCommand() {
        let reference = CommandReference.markdown()
        for c in CommandLineTool.commands {
            #expect(reference.contains("\n## hj212 \(c.name)\n"))
            #expect(reference.contains("| [`hj212 \(c.name)`](#hj212-\(c.name)) |"))
        }
    }
}
