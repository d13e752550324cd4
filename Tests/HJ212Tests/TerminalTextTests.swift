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

@Suite("Terminal-safe bytes")
struct TerminalBytesTests {
    @Test("appendSafe writes exactly the bytes of safe(), for ASCII, controls, Chinese, bidi and cut text", arguments: [
        "", "short", "MN=\u{1B}[2J42", "a\u{7F}b\u{9B}c", "x\u{202E}y", "\r\n\t\0", "化学需氧量 w01018",
        String(repeating: "A", count: 500), String(repeating: "化", count: 300), String(repeating: "B", count: 399) + "\u{1B}",
        "Min=1 Avg=– Max=3; expected Min ≤ Avg ≤ Max", "\u{2066}x\u{2069}", "a\u{85}b", "\u{202A}\u{202D}", "\u{2029}\u{2070}é",
    ])
    func sameAsSafe(_ text: String) {
        for limit in [nil, 0, 10, 200, 400] as [Int?] {
            var out: [UInt8] = [0x3E]
            TerminalText.appendSafe(text, limit: limit, to: &out)
            #expect(out == [0x3E] + Array(TerminalText.safe(text, limit: limit).utf8))
        }
    }
}
