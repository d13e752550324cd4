import Testing
@testable import HJ212
import TestSupport

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

    /// The rule of `plainScalarCount` one byte at a time.
    static func referenceCount(_ u: [UInt8]) -> Int? {
        var count = 0
        var i = 0
        while i < u.count {
            let b = u[i]
            if b < 0x80 {
                if b < 0x20 || b == 0x7F { return nil }
                count += 1
            } else if b & 0xC0 != 0x80 {
                count += 1
                if b == 0xC2, i + 1 < u.count, u[i + 1] < 0xA0 { return nil }
                if b == 0xE2, i + 2 < u.count {
                    let b1 = u[i + 1], b2 = u[i + 2]
                    if (b1 == 0x80 && b2 >= 0xAA && b2 <= 0xAE) || (b1 == 0x81 && b2 >= 0xA6 && b2 <= 0xA9) { return nil }
                }
            }
            i += 1
        }
        return count
    }

    @Test("counting eight bytes at a time gives the byte-at-a-time answer, wherever the special bytes fall")
    func wordAtATimeCount() {
        var rng = SplitMix64(seed: 2017)
        let texts = ["化学需氧量 w01018 数采仪", "CN=2011 ST=32 MN=0100AD", "€ and ß and 𝄞", "x\u{202E}y \u{2066}z \u{2014}—", "\u{85}\u{A0}\u{9B}"]
        let specials: [UInt8] = [0, 0x1F, 0x20, 0x7E, 0x7F, 0x80, 0xBF, 0xC2, 0xA0, 0x9F, 0xE2, 0x81, 0xA6, 0xAA, 0xE4, 0xF0]
        for round in 0..<3000 {
            var u = Array(texts[Int(rng.next() % UInt64(texts.count))].utf8)
            u += Array(texts[Int(rng.next() % UInt64(texts.count))].utf8.prefix(Int(rng.next() % 20)))
            if round % 3 != 0 && !u.isEmpty {
                for _ in 0..<Int(rng.next() % 3) { u[Int(rng.next() % UInt64(u.count))] = specials[Int(rng.next() % UInt64(specials.count))] }
            }
            let got = u.withUnsafeBufferPointer { TerminalText.plainScalarCount($0) }
            #expect(got == Self.referenceCount(u), "\(u)")
        }
        for v in 0...255 {
            for k in 0..<8 {
                var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: 8)
                bytes[k] = UInt8(v)
                let w = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
                #expect(TerminalText.isPlainTextWord(w) == !(v < 0x20 || v == 0x7F || v == 0xC2 || v == 0xE2), "byte \(v) at \(k)")
            }
        }
    }
}
