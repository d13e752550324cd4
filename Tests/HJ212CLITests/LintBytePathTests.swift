import Foundation
import Glibc
import HJ212
import Testing
@testable import HJ212CLI
import TestSupport

/// `hj212 lint` with the byte path (default) against `HJ212_LINT_REFERENCE=1` (every frame through
/// `Linter.check`, the output main had): text, --quiet and JSON, strict and with a required dialect,
/// byte for byte with the same exit status, on the real-traffic stand-in and on mutated copies of it
/// (control characters, non-ASCII, broken separators and CRCs included).
@Suite(.serialized) struct LintBytePathTests {
    static func mutated(_ wire: [UInt8], seed: UInt64) -> [UInt8] {
        var state = seed
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(truncatingIfNeeded: state >> 33)
        }
        let alphabet: [UInt8] = Array(";,=&-/ .{xN09\"\\".utf8) + [0x01, 0x1B, 0x7F, 0xC2, 0x80, 0xE4, 0x0D, 0x0A]
        var out = wire
        for _ in 0..<(wire.count / 150) {
            let i = next() % out.count
            switch next() % 3 {
            case 0: out[i] = alphabet[next() % alphabet.count]
            case 1: out.remove(at: i)
            default: out.insert(alphabet[next() % alphabet.count], at: i)
            }
        }
        return out
    }

    static func run(_ arguments: [String], _ input: [UInt8], reference: Bool) -> (Int32, String, String) {
        if reference { setenv("HJ212_LINT_REFERENCE", "1", 1) } else { unsetenv("HJ212_LINT_REFERENCE") }
        defer { unsetenv("HJ212_LINT_REFERENCE") }
        let r = hj212(["lint", "-"] + arguments, stdin: input)
        return (r.status, r.out, r.err)
    }

    @Test func outputIsByteIdenticalToTheReferencePath() {
        let clean = RealTrafficCorpus(count: 400).wire
        // Frames re-framed with right CRCs after mutation reach the checks; the raw mutations test framing.
        var reframed: [UInt8] = []
        var decoder = FrameDecoder()
        decoder.feed(Self.mutated(clean, seed: 11))
        while let e = decoder.next() {
            if case .frame(let raw) = e { reframed += FrameEncoder.frame(segmentBytes: Array(raw.segmentBytes)) }
        }
        for input in [clean, Self.mutated(clean, seed: 3), reframed] {
            for arguments in [[], ["--quiet"], ["--format", "json"], ["--strict"], ["--dialect", "2017", "--format", "json"],
                              ["--dialect", "2005", "--strict", "--quiet"]] {
                let fast = Self.run(arguments, input, reference: false)
                let reference = Self.run(arguments, input, reference: true)
                #expect(fast.0 == reference.0, "\(arguments)")
                #expect(fast.1 == reference.1, "\(arguments)")
                #expect(fast.2 == reference.2, "\(arguments)")
                #expect(!fast.1.isEmpty)
                // Nothing from the wire reaches a terminal raw.
                if !arguments.contains("json") { #expect(fast.1.split(separator: "\n").allSatisfy { TerminalText.isSafe($0) }) }
            }
        }
    }

    /// Several inputs: every item carries its file's name (`"file"` in JSON, a prefix in text),
    /// written by the byte path's literal chunks as by the reference writer, escapes included.
    @Test func severalFilesNameEachItemAsTheReferencePathDoes() throws {
        let corpus = RealTrafficCorpus(count: 60).wire
        let first = try temporaryFile(corpus, suffix: "-\"quoted\"\\.txt")
        let second = try temporaryFile(Self.mutated(corpus, seed: 5))
        defer { unlink(first); unlink(second) }
        for arguments in [["--format", "json"], []] {
            unsetenv("HJ212_LINT_REFERENCE")
            let fast = hj212(["lint", first, second] + arguments)
            setenv("HJ212_LINT_REFERENCE", "1", 1)
            let reference = hj212(["lint", first, second] + arguments)
            unsetenv("HJ212_LINT_REFERENCE")
            #expect(fast.status == reference.status, "\(arguments)")
            #expect(fast.out == reference.out, "\(arguments)")
            #expect(fast.out.contains("quoted"))
        }
    }

    /// The byte path shows its messages without `TerminalText`'s scan only when nothing they quote
    /// can hold a control character: a profile whose factor name holds an escape sequence still
    /// comes out escaped, as the reference path writes it. (A declared CRC is always four hex digits
    /// once framed; `ByteLinterTests` covers a constructed frame whose CRC field is not.)
    @Test func messagesQuotingHostileProfileTextAreEscaped() throws {
        let dir = scratchDirectory("hostile-profile")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/dialects/hj212-2017", withIntermediateDirectories: true)
        let base = try #require(try ProfileStore.builtin.text("dialects/hj212-2017/factors.tsv"))
        try base.replacingOccurrences(of: "化学需氧量", with: "化学\u{1B}[31m需氧量").write(toFile: dir + "/dialects/hj212-2017/factors.tsv", atomically: false, encoding: .utf8)
        let segment = "QN=20160801085857223;ST=32;CN=2011;PW=123456;MN=010000A8900016F000169DC0;Flag=5;CP=&&DataTime=20160801085857;w01018-Rtd=abc,w01018-Flag=N&&"
        let badValue = FrameEncoder.frame(segmentBytes: Array(segment.utf8))
        for arguments in [["--profiles", dir], []] {
            let fast = Self.run(arguments, badValue, reference: false)
            let reference = Self.run(arguments, badValue, reference: true)
            #expect(fast.1 == reference.1, "\(arguments)")
            #expect(fast.1.contains("w01018 化学") && fast.1.contains("is not a decimal number"), "\(fast.1)")
            #expect(fast.1.contains("\\x1b[31m") == !arguments.isEmpty, "\(fast.1)")
            #expect(!fast.1.utf8.contains(0x1B))
        }
    }
}
