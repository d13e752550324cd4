import Testing
@testable import HJ212

/// The unknown-key cache and message-less linting change speed only, never a judgement.
@Suite("Lint cache and lazy messages")
struct LintCacheTests {
    static func raws(_ bytes: [UInt8]) -> [RawFrame] {
        var decoder = FrameDecoder()
        decoder.feed(bytes)
        var frames: [RawFrame] = []
        while let e = decoder.next() { if case .frame(let f) = e { frames.append(f) } }
        for e in decoder.finish() { if case .frame(let f) = e { frames.append(f) } }
        return frames
    }

    /// 2005 and 2017 frames with unknown codes, facility codes, case-folded codes, unknown fields,
    /// keys without a hyphen, and keys longer than the cache keeps.
    static let mixed: [UInt8] = {
        var bytes: [UInt8] = []
        let long = String(repeating: "z", count: LintCache.maxKeyBytes + 5)
        for i in 0..<60 {
            let cp = "DataTime=20160824000000000;011-Rtd=23.5,011-Flag=N;B01-Rtd=9;SB1-RS=1;SBx-RS=9;I33400-Info=1;w01018-Foo=2;"
                + "\(long)-Rtd=1;plainkey=3;-Rtd=4;w01018-Rtd=12345678.123,w01018-Flag=Q;060-Min=5,060-Avg=4,060-Max=3"
            let header = i % 2 == 0 ? "ST=32;CN=2011;PW=123456;MN=LD130133010000"
                                    : "QN=20160824000000001;ST=32;CN=2011;PW=123456;MN=010000A8900016F000169DC0;Flag=5"
            bytes += FrameEncoder.frame("\(header);CP=&&\(cp)&&")
        }
        return bytes
    }()

    @Test("reports with the cache equal reports without it (every dialect path, every option)")
    func sameReports() throws {
        for options in [LintOptions(), LintOptions(strict: true), LintOptions(dialect: .hj2017), LintOptions(dialect: .hj2005, strict: true)] {
            let linter = try Linter(options: options)
            let cache = LintCache()
            for (i, raw) in Self.raws(Self.mixed).enumerated() {
                let plain = linter.check(raw, index: i)
                let cached = linter.check(raw, index: i, cache: cache)
                #expect(plain.diagnostics == cached.diagnostics)
                #expect(plain.dialect == cached.dialect && plain.crc == cached.crc)
            }
            #expect(cache.count > 0)
            // The over-long key is resolved every time, never kept.
            #expect(cache.count < 20)
        }
    }

    @Test("a stream of distinct unknown codes keeps the cache within its budget, and loses no finding")
    func budget() throws {
        let linter = try Linter()
        let cache = LintCache()
        var bytes: [UInt8] = []
        let frames = LintCache.budget / 2 + 100
        for i in 0..<frames {
            // Four distinct unknown codes per frame: twice the budget in all.
            let cp = (0..<4).map { "q\(i * 4 + $0)-Rtd=1" }.joined(separator: ";")
            bytes += FrameEncoder.frame("QN=20160824000000001;ST=32;CN=2011;PW=123456;MN=010000A8900016F000169DC0;Flag=5;CP=&&DataTime=20160824000000;\(cp)&&")
        }
        var unknown = 0
        for (i, raw) in Self.raws(bytes).enumerated() {
            let r = linter.check(raw, index: i, cache: cache)
            unknown += r.diagnostics.filter { $0.rule == "code.factor-unknown" }.count
            #expect(cache.count <= LintCache.budget)
        }
        #expect(unknown == frames * 4)
        #expect(cache.resets >= 1)
    }

    @Test("messages: false gives the same rules, severities and offsets, with no message built")
    func noMessages() throws {
        let full = try Linter(options: LintOptions(strict: true))
        let bare = try Linter(options: LintOptions(strict: true, messages: false))
        for (i, raw) in Self.raws(Self.mixed).enumerated() {
            let a = full.check(raw, index: i).diagnostics, b = bare.check(raw, index: i).diagnostics
            #expect(a.map(\.rule) == b.map(\.rule))
            #expect(a.map(\.severity) == b.map(\.severity))
            #expect(a.map(\.offset) == b.map(\.offset))
            #expect(!a.isEmpty && a.allSatisfy { !$0.message.isEmpty })
            #expect(b.allSatisfy { $0.message.isEmpty })
        }
    }
}

import Foundation

@Suite("Profile tables without Foundation trimming")
struct ProfileTrimTests {
    @Test("TSVTable.trimmedRange trims exactly what trimmingCharacters(in: .whitespaces) trims", arguments: [
        "", "  ", "\t a b \t", "x", " 化学需氧量 ", "\u{3000}全角\u{3000}", "\u{A0}nbsp\u{A0}", "\u{200B}zw\u{200B}", " \n x \n ", "\u{2003}em", "\u{1680}o\u{180E}", "\u{202F}\u{205F}n\u{2028}", "\u{FEFF}bom\u{85}",
    ])
    func sameAsFoundation(_ text: String) {
        var text = text
        let trimmed = text.withUTF8 { u in String(decoding: UnsafeBufferPointer(rebasing: u[TSVTable.trimmedRange(u, 0, u.count)]), as: UTF8.self) }
        #expect(trimmed == text.trimmingCharacters(in: .whitespaces))
    }
}
