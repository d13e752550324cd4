import Foundation
import Testing
import TestSupport
@testable import HJ212

/// The code tables' loading (every command pays it at start): the byte reader of TSV files and the
/// on-demand matching of placeholder codes, each against the meaning it replaced.
@Suite("Profile loading")
struct ProfileLoadingTests {
    /// The reader as it was (Swift Characters, Foundation's whitespace): the reference for every text
    /// without a CR LF pair.
    struct CharacterTSV: Equatable {
        var columns: [String] = []
        var rows: [[String]] = []
        var lines: [Int] = []
        var replacesBase = false
        var error: String?

        init(file: String, text: String, required: [String] = []) {
            var lineNumber = 0
            for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
                lineNumber += 1
                let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
                if lineNumber == 1 && line.trimmingCharacters(in: .whitespaces) == "#! replace" {
                    replacesBase = true
                    continue
                }
                if line.hasPrefix("#") || line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
                let cells = line.split(separator: "\t", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
                if columns.isEmpty {
                    columns = cells
                    for name in required where !columns.contains(name) {
                        self = CharacterTSV(error: "\(file):\(lineNumber): header lacks column '\(name)' (has: \(columns.joined(separator: ", ")))")
                        return
                    }
                    continue
                }
                guard cells.count == columns.count else {
                    self = CharacterTSV(error: "\(file):\(lineNumber): expected \(columns.count) tab-separated columns, found \(cells.count)")
                    return
                }
                rows.append(cells)
                lines.append(lineNumber)
            }
            if columns.isEmpty { self = CharacterTSV(error: "\(file): has no header line") }
        }

        init(error: String?) { self.error = error }
    }

    func read(_ text: String, required: [String] = []) -> CharacterTSV {
        var r = CharacterTSV(error: nil)
        do {
            let t = try TSVTable(file: "t.tsv", text: text, required: required)
            r.columns = t.columns
            r.rows = t.rows
            r.lines = t.lines
            r.replacesBase = t.replacesBase
            r.error = nil
        } catch {
            r = CharacterTSV(error: "\(error)")
        }
        return r
    }

    @Test("every built-in table reads as the Character reader read it")
    func builtinTables() throws {
        let paths = ProfileStore.builtinPaths.filter { $0.hasSuffix(".tsv") }
        #expect(paths.count >= 20)
        for path in paths {
            let text = try #require(try ProfileStore.builtin.text(path))
            #expect(read(text) == CharacterTSV(file: "t.tsv", text: text), "\(path)")
        }
    }

    @Test("random texts of tabs, spaces of every width, comments and Chinese read as the Character reader read them")
    func randomTexts() {
        let pieces = ["a", "b", "-", "中", "化学需氧量", "\t", "\t", "\n", "\n", " ", "\u{3000}", "\u{A0}", "\u{2000}", "\u{200B}",
                      "\u{202F}", "\u{205F}", "\u{1680}", "\u{2028}", "\u{85}", "#", "#! replace", "code", "name_zh", "x", "\r"]
        var rng = SplitMix64(seed: 212)
        var checked = 0
        for _ in 0..<4000 {
            var text = ""
            for _ in 0..<Int.random(in: 0..<40, using: &rng) { text += pieces.randomElement(using: &rng)! }
            // A CR LF pair is one Character, which the old reader never split at: read below.
            if zip(text.utf8, text.utf8.dropFirst()).contains(where: { $0 == 0x0D && $1 == 0x0A }) { continue }
            let required = Bool.random(using: &rng) ? ["code"] : []
            #expect(read(text, required: required) == CharacterTSV(file: "t.tsv", text: text, required: required), "\(Array(text.unicodeScalars))")
            checked += 1
        }
        #expect(checked > 2000)
    }

    @Test("CR LF ends a line (the Character reader read a CR LF file as one line)")
    func crlf() throws {
        let t = try TSVTable(file: "t.tsv", text: "#! replace\r\n# note\r\ncode\tname_zh \r\n\u{3000}a01\t化学需氧量\u{3000}\r\n\r\nb\t-\r\n")
        #expect(t.replacesBase)
        #expect(t.columns == ["code", "name_zh"])
        #expect(t.rows == [["a01", "化学需氧量"], ["b", "-"]])
        #expect(t.lines == [4, 6])
        #expect(t.records == [["code": "a01", "name_zh": "化学需氧量"], ["code": "b", "name_zh": ""]])
        #expect(throws: ProfileError.self) { try TSVTable(file: "t.tsv", text: "code\tname\r\nx\r\n") }
        // A line that starts with the byte '#' is a comment, whatever follows it (the Character
        // reader saw '#' and a joiner as one Character that was not '#').
        #expect(try TSVTable(file: "t.tsv", text: "#\u{200C} note\ncode\n").columns == ["code"])
    }

    @Test("a placeholder code matches exactly the codes its expansion lists, first pattern in table order, exact codes first",
          arguments: [Dialect.hj2005, .hj2017, .hj2025])
    func patterns(_ dialect: Dialect) throws {
        let d = try CodeDictionary.builtin(dialect)
        #expect(d.factorPatterns.count > 100)
        // The meaning: each pattern's expansion, the first pattern taking a code, exact codes over all.
        var expected: [String: CodeDictionary.Factor] = [:]
        for p in d.factorPatterns { for code in CodeDictionary.expand(p.code) where expected[code] == nil { expected[code] = p } }
        for (code, f) in d.factors { expected[code] = f }
        for (code, f) in expected { #expect(d.factor(code) === f, "\(code)") }
        #expect(expected.count > 14_000)
        // Near misses: a letter or a third digit where the pattern has its x, another length, capitals.
        for p in d.factorPatterns.prefix(40) {
            let withLetter = p.code.replacingOccurrences(of: "x", with: "a")
            let longer = p.code.replacingOccurrences(of: "x", with: "1") + "1"
            for code in [withLetter, longer, p.code.uppercased().replacingOccurrences(of: "X", with: "1")] {
                #expect(d.factor(code) === (d.factors[code] ?? expected[code] ?? d.factorsFoldedForTests(code)), "\(code)")
            }
        }
    }

    @Test("overlapping placeholder codes: the earlier row takes a code both stand for; a repeated row moves to the end")
    func overlappingPatterns() throws {
        let dir = scratchDirectory("patterns")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/dialects/hj212-2017", withIntermediateDirectories: true)
        try """
            code\ttable\tname_zh\tname_en\tunit\ttype
            e101xx\tB.5\t甲\tfirst\t-\tN3
            e1010x\tB.5\t乙\tsecond\t-\tN3
            e1x1xx\tB.5\t丙\tthird\t-\tN3
            e10150\tB.5\t丁\texact\t-\tN3
            e101xx\tB.5\t甲2\tfirst again\t-\tN3
            """.write(toFile: dir + "/dialects/hj212-2017/factors.tsv", atomically: false, encoding: .utf8)
        let d = try CodeDictionary.load(.hj2017, from: ProfileStore(overrideDirectory: dir))
        #expect(d.factor("e10105")?.nameEn == "second")  // e1010x is now before the repeated e101xx
        #expect(d.factor("e10199")?.nameEn == "third")   // e1x1xx comes before the repeated e101xx too
        #expect(d.factor("e10150")?.nameEn == "exact")
        #expect(d.factor("e12199")?.nameEn == "third")
        #expect(d.factor("e1019") == nil)
        #expect(d.factor("e101x9") == nil)
        #expect(d.factor("e10a99") == nil)
        for code in ["e10105", "e10199", "e10150", "e12199", "e19999", "e10000"] {
            var expected: CodeDictionary.Factor?
            for p in d.factorPatterns where expected == nil && CodeDictionary.expand(p.code).contains(code) { expected = p }
            #expect(d.factor(code) === (d.factors[code] ?? expected), "\(code)")
        }
    }
}

extension CodeDictionary {
    /// The case-insensitive lookup alone (exact codes only).
    func factorsFoldedForTests(_ code: String) -> Factor? {
        factors.values.first { $0.code.lowercased() == code.lowercased() }
    }
}
