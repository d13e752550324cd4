import Foundation
import HJ212
import Testing
@testable import HJ212CLI
import TestSupport

/// The first field of each name, and the later ones.
private func firstOfEachName(_ fields: [Field]) -> (first: [Field], repeated: [Field]) {
    var seen = Set<String>(), first: [Field] = [], repeated: [Field] = []
    for f in fields { if seen.insert(f.name).inserted { first.append(f) } else { repeated.append(f) } }
    return (first, repeated)
}

/// The JSON object of one lint item built as a `JSONValue` tree: the form `lint --format json`
/// had before it wrote bytes directly, kept here as the oracle of `writeJSON`.
private func oracle(_ item: LintItem, file: String?) -> JSONValue {
    func diagnostics(_ ds: [Diagnostic]) -> JSONValue {
        .array(ds.map { d in
            .object([("rule", .string(d.rule)), ("severity", .string(d.severity.rawValue)),
                     ("offset", d.offset.map(JSONValue.int) ?? .null), ("message", .string(d.message))])
        })
    }
    var members: [(String, JSONValue)] = []
    switch item {
    case .frame(let r):
        members.append(("type", .string("frame")))
        if let file { members.append(("file", .string(file))) }
        members += [
            ("index", .int(r.index)), ("offset", .int(r.raw.offset)), ("length", .int(r.raw.bytes.count)),
            ("dialect", .string(r.detectedDialect.rawValue)),
            ("crc", .object([("declared", .string(r.crc.declared)), ("computed", .string(r.crc.computed)),
                             ("ok", .bool(r.crc.ok)), ("variant", r.crc.variant.map { .string($0.rawValue) } ?? .null)])),
            ("header", .object(firstOfEachName(r.segment.header).first.map { ($0.name, .string($0.value)) })),
        ]
        let repeated = firstOfEachName(r.segment.header).repeated
        if !repeated.isEmpty { members.append(("header_repeated", .array(repeated.map { .array([.string($0.name), .string($0.value)]) }))) }
        members += [
            ("cp", .array((r.segment.cp ?? []).map { group in .array(group.map { .array([.string($0.name), .string($0.value)]) }) })),
            ("diagnostics", diagnostics(r.diagnostics)),
        ]
    case .skipped(let s, let d):
        members.append(("type", .string("skipped")))
        if let file { members.append(("file", .string(file))) }
        members += [("offset", .int(s.offset)), ("length", .int(s.count)), ("reason", .string(s.reason.rawValue)), ("diagnostics", diagnostics([d]))]
    case .incomplete(let t, let d):
        members.append(("type", .string("incomplete")))
        if let file { members.append(("file", .string(file))) }
        members += [("offset", .int(t.offset)), ("length", .int(t.count)),
                    ("declared_length", t.declaredLength.map(JSONValue.int) ?? .null), ("diagnostics", diagnostics([d]))]
    }
    return .object(members)
}

@Suite("lint --format json written as bytes")
struct LintJSONTests {
    @Test("every line equals the JSONValue form of its item (real-traffic stand-in, noise, hostile bytes, a tail)")
    func sameAsTree() throws {
        var bytes = RealTrafficCorpus(count: 400).wire
        bytes += Array("garbage \u{1B}[2J\r\n".utf8)
        bytes += FrameEncoder.frame("QN=20260101000000000;ST=32;CN=2011;PW=123456;MN=\u{1B}]0;pwned\u{7};Flag=5;CP=&&DataTime=20260101000000;w01018-Rtd=1\"\\2&&")
        bytes += Array("##0300QN=2026".utf8)
        var inputs = try InputFile.openAll(["-"], io: CommandIO(stdout: OutputSink(), stderr: OutputSink(), stdinBytes: bytes))
        let linter = try Linter()
        var items: [LintItem] = []
        _ = try lintStreams(&inputs, linter: linter, io: CommandIO(stdout: OutputSink(), stderr: OutputSink()), verb: "lint") { _, item in items.append(item) }
        #expect(items.count > 400)
        let r = hj212(["lint", "--format", "json", "-"], stdin: bytes)
        let lines = r.out.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(lines.count == items.count)
        for (line, item) in zip(lines, items) {
            #expect(try JSONValue.parse(String(line)) == oracle(item, file: nil))
        }
        // No raw control character from the wire reaches the output.
        #expect(!r.out.utf8.contains { $0 < 0x20 && $0 != 0x0A })
    }

    /// A header field given twice was written twice in one object (`"MN":"…","MN":"X"`): strict
    /// readers refuse it, and most others keep the last value, not the one lint judged (session 23).
    @Test("a repeated header field: the first in `header`, the later ones in `header_repeated`, no key twice, on both paths")
    func repeatedHeaderField() throws {
        let segment = "QN=20261201120000000;ST=32;CN=2011;PW=123456;MN=010000A8900016F000169DC0;MN=X;Flag=5;MN=Y;"
            + "CP=&&DataTime=20261201120000;w01018-Rtd=1.0,w01018-Flag=N&&"
        let bytes = FrameEncoder.frame(segment)
        for reference in [false, true] {
            if reference { setenv("HJ212_LINT_REFERENCE", "1", 1) } else { unsetenv("HJ212_LINT_REFERENCE") }
            defer { unsetenv("HJ212_LINT_REFERENCE") }
            let r = hj212(["lint", "--format", "json", "-"], stdin: bytes)
            let line = String(r.out.split(separator: "\n")[0])
            // The project's parser refuses an object with a key twice.
            let value = try JSONValue.parse(line)
            guard case .object(let members) = value, case .object(let header)? = members.first(where: { $0.0 == "header" })?.1 else {
                Issue.record("no header object in \(line)"); continue
            }
            #expect(header.filter { $0.0 == "MN" }.map(\.1) == [.string("010000A8900016F000169DC0")], "\(line)")
            #expect(header.map(\.0) == ["QN", "ST", "CN", "PW", "MN", "Flag"], "\(line)")
            #expect(members.first(where: { $0.0 == "header_repeated" })?.1
                    == .array([.array([.string("MN"), .string("X")]), .array([.string("MN"), .string("Y")])]), "\(line)")
            #expect(line.contains("segment.field-duplicate"), "\(line)")
        }
        // A frame without repeats has no `header_repeated`.
        let plain = hj212(["lint", "--format", "json", "-"], stdin: FrameEncoder.frame("QN=20261201120000000;ST=32;CN=2011;PW=123456;MN=010000A8900016F000169DC0;Flag=5;CP=&&DataTime=20261201120000;w01018-Rtd=1.0&&"))
        #expect(!plain.out.contains("header_repeated"))
    }
}
