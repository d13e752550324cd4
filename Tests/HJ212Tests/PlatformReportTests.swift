@testable import HJ212
import Testing
import TestSupport

/// `ByteLinter.platformReport` with entry names kept between frames (`PlatformNames`, session
/// 12) gives the segment of a fresh call, and `HJTime` parsed in place the time of the former
/// array-based parse.
@Suite("Platform report and DataTime parsing")
struct PlatformReportTests {
    /// A 2017 upload whose CP has `keys` entries named by `code`.
    static func frame(_ n: Int, keys: Int, code: (Int) -> String) -> [UInt8] {
        var cp = "DataTime=20261130080000"
        for k in 0..<keys { cp += ";\(code(k))-Rtd=\(k).5,\(code(k))-Flag=N" }
        return FrameEncoder.frame("QN=2026113008000\(1000 + n);ST=32;CN=2011;PW=123456;MN=010000A8900016F000169DC0;Flag=5;CP=&&\(cp)&&")
    }

    @Test("names kept across frames and across emptied key tables give the segment of a fresh call")
    func keptNamesGiveTheSameSegment() throws {
        let linter = try Linter(options: LintOptions(strict: false))
        let kept = ByteLinter(linter: linter), fresh = ByteLinter(linter: linter)
        var names = PlatformNames()
        var resetsSeen = 0
        // Known codes repeated, then more distinct unknown codes than a key table holds
        // (ByteLintKeys.budget): the tables are emptied and keys are given out again.
        var frames: [[UInt8]] = []
        for n in 0..<20 { frames.append(Self.frame(n, keys: 5, code: { ["w01018", "w01001", "w21003", "w01010", "w00000"][$0] })) }
        let perFrame = 20  // codes per frame (two keys each), within 1024 bytes of segment
        let distinctFrames = 2 * ByteLintKeys.budget / (2 * perFrame) + 10
        for n in 0..<distinctFrames { frames.append(Self.frame(100 + n, keys: perFrame, code: { "w9\(String(n * perFrame + $0).leftPadded(5))" })) }
        for n in 0..<20 { frames.append(Self.frame(n, keys: 5, code: { ["w01001", "w01018", "w00000", "w21003", "w01010"][$0] })) }
        var taken = 0
        for (i, bytes) in frames.enumerated() {
            let raw = try #require(FrameDecoder.frames(in: bytes).first)
            let a = kept.platformReport(raw, index: i, names: &names)
            let b = fresh.platformReport(raw, index: i)
            #expect(a?.segment == b?.segment)
            #expect(a?.segment == linter.check(raw, index: i).segment)
            if a != nil { taken += 1 }
            resetsSeen = kept.keys.resets
        }
        #expect(taken == frames.count)
        #expect(resetsSeen > 0, "the key tables were never emptied: the test did not reach the case")
    }

    /// The parse of sessions before 12, kept as the reference.
    static func reference(_ text: String, allowMilliseconds: Bool) -> HJTime? {
        let utf8 = Array(text.utf8)
        guard utf8.count == 14 || (allowMilliseconds && utf8.count == 17) else { return nil }
        var digits: [Int] = []
        for byte in utf8 {
            guard byte &- 48 < 10 else { return nil }
            digits.append(Int(byte &- 48))
        }
        func number(_ from: Int, _ count: Int) -> Int { digits[from..<(from + count)].reduce(0) { $0 * 10 + $1 } }
        let time = HJTime(year: number(0, 4), month: number(4, 2), day: number(6, 2), hour: number(8, 2),
                          minute: number(10, 2), second: number(12, 2), millisecond: utf8.count == 17 ? number(14, 3) : 0)
        return time.isValid ? time : nil
    }

    @Test("HJTime parses in place as the array-based parse did (random texts, both modes)")
    func timeParseMatchesTheReference() {
        var rng = SplitMix64(seed: 2026)
        let alphabet = Array("0123456789012345678901234567890123456789 -:.x") + ["中", "é"]
        var valid = 0
        for i in 0..<20_000 {
            var text: String
            if i % 2 == 0 {
                // Mostly plausible times, some digits changed.
                let y = 1890 + rng.below(1200), mo = rng.below(14), d = rng.below(33), h = rng.below(26), mi = rng.below(62), s = rng.below(62)
                text = String(y) + [mo, d, h, mi, s].map { String($0).leftPadded(2) }.joined()
                if rng.below(2) == 0 { text += String(rng.below(1100)).leftPadded(3) }
                if rng.below(8) == 0 { text = String(text.dropLast(rng.below(3))) }
            } else {
                text = String((0..<(12 + rng.below(8))).map { _ in alphabet[rng.below(alphabet.count)] })
            }
            for ms in [false, true] {
                let expected = Self.reference(text, allowMilliseconds: ms)
                #expect(HJTime(text, allowMilliseconds: ms) == expected, "\(text)")
                if expected != nil { valid += 1 }
            }
        }
        #expect(valid > 1_000)
    }
}

private extension String {
    func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}
