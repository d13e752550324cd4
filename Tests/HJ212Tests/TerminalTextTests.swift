import Testing
@testable import HJ212

@Suite("Terminal-safe text")
struct TerminalTextTests {
    @Test("escape sequences, C1 controls and bidi overrides are shown as escapes")
    func escapes() {
        #expect(TerminalText.safe("MN=\u{1B}[2J42") == "MN=\\x1b[2J42")
        #expect(TerminalText.safe("a\u{7F}b\u{9B}c") == "a\\x7fb\\x9bc")
        #expect(TerminalText.safe("x\u{202E}y") == "x\\u{202e}y")
        #expect(TerminalText.safe("\r\n\t\0") == "\\r\\n\\t\\x00")
        #expect(TerminalText.safe("化学需氧量 w01018") == "化学需氧量 w01018")
        #expect(TerminalText.isSafe("化学需氧量") && !TerminalText.isSafe("\u{1B}"))
    }

    @Test("long quotes are cut with the count of what was cut")
    func cut() {
        let s = String(repeating: "A", count: 500)
        #expect(TerminalText.safe(s, limit: 10) == "AAAAAAAAAA… (490 more characters)")
        #expect(TerminalText.safe(s, limit: nil).count == 500)
        #expect(TerminalText.safe("short", limit: 10) == "short")
    }

    @Test("safeLines keeps line breaks and escapes the rest")
    func lines() {
        #expect(TerminalText.safeLines("a\n\u{1B}b\n") == "a\n\\x1bb\n")
    }
}
