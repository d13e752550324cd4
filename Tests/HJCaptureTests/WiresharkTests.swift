import Foundation
import HJ212
import HJ212CLI
import HJCapture
import Testing
import TestSupport

/// Runs a program and returns its exit status and standard output (standard error kept apart).
func runProgram(_ path: String, _ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = arguments
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

func tsharkPath() -> String? {
    ["/usr/bin/tshark", "/usr/local/bin/tshark"].first { FileManager.default.isExecutableFile(atPath: $0) }
}

/// The generated dissector run by Debian's real tshark over a capture made by the project's
/// writer; its fields must be those `hj212 lint`/`decode` find. `.ci/run` installs tshark.
@Suite struct WiresharkTests {
    /// Frames from the generator, plus one with a wrong CRC; sent in order, cut in small segments
    /// (Wireshark must reassemble them), on a port no other dissector claims.
    static func capture() throws -> (pcapng: [UInt8], frames: [[UInt8]]) {
        let generated = hj212(["generate", "--unit", "industrial-wastewater", "--start", "2025-12-01T12:00:00", "--duration", "3m", "--seed", "7"])
        #expect(generated.status == 0, "\(generated.err)")
        var frames: [[UInt8]] = generated.out.split(separator: "\r\n", omittingEmptySubsequences: true).map { Array(($0 + "\r\n").utf8) }
        frames.append(Session.frames[1].frame)
        var bad = Session.frames[0].frame
        bad[bad.count - 3] = bad[bad.count - 3] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
        frames.append(bad)
        return (pcapng(frames, maxSegment: 200), frames)
    }

    /// A capture of the logger's writes on one connection, each cut into segments of `maxSegment`.
    static func pcapng(_ writes: [[UInt8]], maxSegment: Int) -> [UInt8] {
        var c = TCPConversation(client: Endpoint("10.0.0.2:40000")!, server: Endpoint("10.0.0.1:29212")!)
        var w = PcapngWriter(comment: "hj212 WiresharkTests")
        let i = w.addInterface(linkType: .ethernet)
        var t = Build.t0
        var packets = c.handshake()
        for b in writes { packets += c.send(fromClient: true, b, maxSegment: maxSegment) }
        for p in packets {
            w.addPacket(interface: i, timestampNanos: t, data: p)
            t += 1_000_000
        }
        return w.take()
    }

    @Test func tsharkWithTheGeneratedDissectorAgreesWithDecode() throws {
        let tshark = try #require(tsharkPath(), "tshark is not installed (.ci/run installs it: apt-get install -y tshark)")
        let (pcapng, frames) = try Self.capture()
        #expect(frames.count >= 4)
        let capture = try scratchFile("ws.pcapng", pcapng)
        let lua = try scratchFile("hj212.lua")
        defer { for p in [capture, lua] { try? FileManager.default.removeItem(atPath: p) } }
        #expect(hj212(["dissector", "-o", lua]).status == 0)

        // tshark runs Lua as root only when told to (Debian's init.lua allows it; the option makes it explicit).
        let fields = ["hj212.qn", "hj212.st", "hj212.cn", "hj212.mn", "hj212.flag", "hj212.cp.entry", "hj212.crc.ok", "hj212.cp.name", "_ws.expert.message"]
        let result = try runProgram(tshark, ["-n", "-o", "tcp.desegment_tcp_streams:TRUE", "-X", "lua_script:" + lua, "-r", capture, "-Y", "hj212",
                                             "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|", "-E", "separator=\t"] + fields.flatMap { ["-e", $0] })
        #expect(result.status == 0, "\(result.err)")
        #expect(!result.err.contains("Lua: Error"), "\(result.err)")
        let rows = result.out.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        #expect(rows.count == frames.count, "\(result.out)\n\(result.err)")

        // What lint and decode say about the same frames.
        let raw = try scratchFile("ws.raw", frames.flatMap { $0 })
        defer { try? FileManager.default.removeItem(atPath: raw) }
        let lint = hj212(["lint", "--format", "json", raw])
        let reports = try lint.out.split(separator: "\n").map { try JSONValue.parse(String($0)) }.filter { $0["type"] == .string("frame") }
        let decoded = hj212(["decode", raw]).out
        #expect(reports.count == frames.count)
        for (row, report) in zip(rows, reports) {
            guard row.count == fields.count, case .object(let header)? = report["header"], case .array(let groups)? = report["cp"],
                  case .object(let crc)? = report["crc"], case .array(let diagnostics)? = report["diagnostics"] else {
                Issue.record("unexpected row \(row)")
                continue
            }
            func h(_ name: String) -> String { header.first { $0.0 == name }.map { if case .string(let s) = $0.1 { s } else { "" } } ?? "" }
            #expect(row[0] == h("QN") && row[1] == h("ST") && row[2] == h("CN") && row[3] == h("MN") && row[4] == h("Flag"))
            let entries = groups.flatMap { g -> [String] in
                guard case .array(let pairs) = g else { return [] }
                return pairs.compactMap { p in
                    guard case .array(let kv) = p, kv.count == 2, case .string(let k) = kv[0], case .string(let v) = kv[1] else { return nil }
                    return k + "=" + v
                }
            }
            #expect(row[5].split(separator: "|").map(String.init) == entries)
            let ok = crc.first { $0.0 == "ok" }?.1 == .bool(true)
            #expect(row[6] == (ok ? "True" : "False") || row[6] == (ok ? "1" : "0"))
            // Every factor name Wireshark shows is the one decode prints.
            for name in row[7].split(separator: "|") where !name.isEmpty {
                #expect(decoded.contains(String(name)), "decode does not name \(name)")
            }
            // The CRC rule is flagged by both.
            let lintCRC = diagnostics.contains { $0["rule"] == .string("frame.crc-mismatch") }
            #expect(row[8].contains("frame.crc-mismatch") == lintCRC)
        }
        #expect(rows.contains { !$0[7].isEmpty })

        // The preferences: heuristics off finds nothing; a fixed port finds every frame again.
        func count(_ prefs: [String]) throws -> Int {
            let r = try runProgram(tshark, ["-n", "-X", "lua_script:" + lua] + prefs.flatMap { ["-o", $0] } + ["-r", capture, "-Y", "hj212", "-T", "fields", "-e", "hj212.cn"])
            return r.out.split(separator: "\n").count
        }
        #expect(try count(["hj212.heuristic:FALSE"]) == 0)
        #expect(try count(["hj212.heuristic:FALSE", "hj212.ports:29212"]) == frames.count)
        #expect(rows.last.map { $0[6] == "False" || $0[6] == "0" } == true)
    }

    /// Frames without CR LF (a real-world quirk and the `no-crlf` fault): followed by the next frame
    /// in the same write, and at the end of a write. Each is one frame, flagged for its trailer only
    /// (session 20: the dissector ran on to the next frame's CR LF and flagged a wrong length and
    /// CRC that were not on the wire, and the next frame's QN was not shown).
    @Test func framesWithoutTrailerStayFrames() throws {
        let tshark = try #require(tsharkPath(), "tshark is not installed (.ci/run installs it: apt-get install -y tshark)")
        let generated = hj212(["generate", "--unit", "msw-incinerator", "--start", "2025-12-01T12:00:00", "--duration", "2m", "--seed", "7"])
        #expect(generated.status == 0, "\(generated.err)")
        let frames: [[UInt8]] = generated.out.split(separator: "\r\n", omittingEmptySubsequences: true).prefix(6).map { Array($0.utf8) + [13, 10] }
        #expect(frames.count == 6)
        func cut(_ f: [UInt8]) -> [UInt8] { Array(f.dropLast(2)) }
        // Writes: [f0] [f1 without CR LF + f2] [f3 without CR LF] [f4] [f5 without CR LF, the last bytes of the capture].
        let writes: [[UInt8]] = [frames[0], cut(frames[1]) + frames[2], cut(frames[3]), frames[4], cut(frames[5])]
        let capture = try scratchFile("trailer.pcapng", Self.pcapng(writes, maxSegment: 1400))
        let lua = try scratchFile("hj212-trailer.lua")
        defer { for p in [capture, lua] { try? FileManager.default.removeItem(atPath: p) } }
        #expect(hj212(["dissector", "-o", lua]).status == 0)
        let result = try runProgram(tshark, ["-n", "-o", "tcp.desegment_tcp_streams:TRUE", "-X", "lua_script:" + lua, "-r", capture, "-Y", "hj212",
                                             "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|", "-E", "separator=\t",
                                             "-e", "hj212.qn", "-e", "_ws.expert.message"])
        #expect(result.status == 0 && !result.err.contains("Lua: Error"), "\(result.err)")
        let rows = result.out.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        let shownQNs = rows.flatMap { $0.first.map { $0.split(separator: "|").map(String.init) } ?? [] }
        let sentQNs = frames.map { f -> String in
            let text = String(decoding: f, as: UTF8.self)
            return text.components(separatedBy: "QN=").dropFirst().first.map { String($0.prefix { $0 != ";" }) } ?? "?"
        }
        #expect(shownQNs == sentQNs, "\(result.out)")
        let expert = rows.map { $0.count > 1 ? $0[1] : "" }.joined(separator: "|")
        #expect(!expert.contains("crc-mismatch") && !expert.contains("length-mismatch"), "\(expert)")
        #expect(expert.components(separatedBy: "trailer-missing").count - 1 == 3, "\(expert)")
    }

    /// What the dissector and `hj212 lint` (lenient, its default) say about each of `frames`,
    /// sent one per write: the rule IDs with their severity ("error", "warning", "info"; the
    /// dissector's Wireshark severity mapped to lint's words), the expert messages, and the
    /// dissector's `fields` (one value each, "" when absent) beside lint's JSON report.
    struct Verdict {
        var dissector: [String: String] = [:]
        var messages: [String] = []
        var fields: [String] = []
        var lint: [String: String] = [:]
        var report: JSONValue = .null
    }

    /// tshark with the generated dissector over `writes` sent one per TCP segment (up to
    /// `maxSegment` bytes each), beside `hj212 lint --format json` of the same bytes: per packet
    /// the dissector shows, the expert messages, their severities in lint's words and each of
    /// `fields` (a column each; several occurrences apart, split on the aggregator, a control
    /// character, since messages quote the bytes they skipped, '|' included); and lint's records.
    static func tshark(_ writes: [[UInt8]], name: String, maxSegment: Int = 1400, fields: [String] = [])
        throws -> (packets: [(messages: [String], severities: [String], fields: [[String]])], lint: [JSONValue]) {
        let tshark = try #require(tsharkPath(), "tshark is not installed (.ci/run installs it: apt-get install -y tshark)")
        let capture = try scratchFile("\(name).pcapng", pcapng(writes, maxSegment: maxSegment))
        let lua = try scratchFile("hj212-\(name).lua")
        let raw = try scratchFile("\(name).raw", writes.flatMap { $0 })
        defer { for p in [capture, lua, raw] { try? FileManager.default.removeItem(atPath: p) } }
        #expect(hj212(["dissector", "-o", lua]).status == 0)
        let result = try runProgram(tshark, ["-n", "-o", "tcp.desegment_tcp_streams:TRUE", "-X", "lua_script:" + lua, "-r", capture, "-Y", "hj212",
                                             "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=\u{1}", "-E", "separator=\t",
                                             "-e", "_ws.expert.message", "-e", "_ws.expert.severity"] + fields.flatMap { ["-e", $0] })
        #expect(result.status == 0 && !result.err.contains("Lua: Error"), "\(result.err)")
        // tshark prints the severity's value (PI_ERROR 0x00800000, PI_WARN 0x00600000, PI_NOTE 0x00400000) or its name.
        func word(_ s: String) -> String {
            switch s.lowercased() {
            case "8388608", "error": "error"
            case "6291456", "warning", "warn": "warning"
            case "4194304", "note": "info"
            default: s
            }
        }
        let packets = result.out.split(separator: "\n").map { line in
            let row = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            func values(_ i: Int) -> [String] { row.count > i && !row[i].isEmpty ? row[i].split(separator: "\u{1}").map(String.init) : [] }
            return (messages: values(0), severities: values(1).map(word), fields: (0..<fields.count).map { values($0 + 2) })
        }
        let lint = try hj212(["lint", "--format", "json", raw]).out.split(separator: "\n").map { try JSONValue.parse(String($0)) }
        return (packets, lint)
    }

    static func verdicts(_ frames: [[UInt8]], name: String, fields: [String] = []) throws -> [Verdict] {
        let (packets, lint) = try tshark(frames, name: name, fields: fields)
        let reports = lint.filter { $0["type"] == .string("frame") }
        #expect(packets.count == frames.count && reports.count == frames.count, "\(packets)")
        return zip(packets, reports).map { packet, report in
            var v = Verdict(report: report)
            v.messages = packet.messages
            for (m, s) in zip(packet.messages, packet.severities) { v.dissector[String(m.prefix { $0 != ":" })] = s }
            v.fields = packet.fields.map { $0.first ?? "" }
            if case .array(let diagnostics)? = report["diagnostics"] {
                for d in diagnostics {
                    if case .string(let rule)? = d["rule"], case .string(let severity)? = d["severity"] { v.lint[rule] = severity }
                }
            }
            return v
        }
    }

    /// Frames framed with CRC-16/MODBUS (either byte order), as field platforms and loggers do:
    /// the dissector names the variant with lint's rule and severity (a warning) instead of a
    /// plain CRC error; a corrupt CRC stays an error and a correct frame gets no expert info.
    @Test func crcVariantsAreNamedAsLintNamesThem() throws {
        let segment = Array(Session.segment("20251201120000000", st: "32", cn: "2051", flag: "5",
                                            cp: "DataTime=20251201120000;w01018-Avg=11.0,w01018-Flag=N").utf8)
        let modbus = CRC.modbus(segment)
        #expect(modbus != CRC.hj212(segment) && modbus.byteSwapped != modbus && modbus.byteSwapped != CRC.hj212(segment))
        var corrupt = FrameEncoder.frame(segmentBytes: segment)
        corrupt[corrupt.count - 3] = corrupt[corrupt.count - 3] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
        let frames = [FrameEncoder.frame(segmentBytes: segment), FrameEncoder.frame(segmentBytes: segment, crcStyle: .modbus),
                      FrameEncoder.frame(segmentBytes: segment, crcStyle: .modbusSwapped), corrupt]
        let v = try Self.verdicts(frames, name: "variants", fields: ["hj212.crc.ok", "hj212.crc.variant"])
        guard v.count == 4 else { return }
        let crcRules: Set<String> = [Rules.crcMismatch.id, Rules.crcVariantModbus.id, Rules.crcVariantModbusSwapped.id, Rules.crcLowercase.id]
        for (i, f) in v.enumerated() {
            #expect(f.dissector.filter { crcRules.contains($0.key) } == f.lint.filter { crcRules.contains($0.key) }, "frame \(i): \(f.messages) \(f.lint)")
            let variant: String = if case .string(let s)? = f.report["crc"]?["variant"] { s } else { "" }
            #expect(f.fields[1] == variant, "frame \(i)")
        }
        #expect(v[0].messages.isEmpty && v[0].lint.isEmpty, "\(v[0].messages) \(v[0].lint)")
        #expect(v[1].dissector[Rules.crcVariantModbus.id] == "warning" && v[1].messages.contains { $0.contains("CRC-16/MODBUS") })
        #expect(v[1].fields == ["False", "modbus"] || v[1].fields == ["0", "modbus"], "\(v[1].fields)")
        #expect(v[2].dissector[Rules.crcVariantModbusSwapped.id] == "warning" && v[2].fields[1] == "modbus-swapped")
        #expect(v[3].dissector == [Rules.crcMismatch.id: "error"], "\(v[3].messages)")
    }

    /// A correct CRC in lower-case hex is accepted (hj212.crc.ok) and flagged as lint flags it,
    /// `frame.crc-lowercase`, a warning; a lower-case MODBUS CRC is the variant only, as in lint.
    @Test func lowerCaseCRCIsCorrectButFlagged() throws {
        let segment = Array(Session.segment("20251201120000000", st: "32", cn: "2051", flag: "5",
                                            cp: "DataTime=20251201120000;w01018-Avg=11.0,w01018-Flag=N").utf8)
        #expect(CRC.hex(CRC.hj212(segment)).contains { $0.isLetter } && CRC.hex(CRC.modbus(segment)).contains { $0.isLetter })
        func lowered(_ f: [UInt8]) -> [UInt8] { f.prefix(f.count - 6) + f.suffix(6).map { $0 >= 65 && $0 <= 70 ? $0 | 0x20 : $0 } }
        let frames = [FrameEncoder.frame(segmentBytes: segment, crcStyle: .lowercase), FrameEncoder.frame(segmentBytes: segment),
                      lowered(FrameEncoder.frame(segmentBytes: segment, crcStyle: .modbus))]
        let v = try Self.verdicts(frames, name: "lowercase", fields: ["hj212.crc.ok", "hj212.crc"])
        guard v.count == 3 else { return }
        let crcRules: Set<String> = [Rules.crcMismatch.id, Rules.crcVariantModbus.id, Rules.crcVariantModbusSwapped.id, Rules.crcLowercase.id]
        for (i, f) in v.enumerated() {
            #expect(f.dissector.filter { crcRules.contains($0.key) } == f.lint.filter { crcRules.contains($0.key) }, "frame \(i): \(f.messages) \(f.lint)")
        }
        let lower = CRC.hex(CRC.hj212(segment)).lowercased()
        #expect(v[0].dissector == [Rules.crcLowercase.id: "warning"], "\(v[0].messages)")
        #expect(v[0].fields == ["True", lower] || v[0].fields == ["1", lower], "\(v[0].fields)")
        #expect(v[0].messages.contains { $0.contains("'\(lower)'") && $0.contains(Rules.crcLowercase.titleZh) }, "\(v[0].messages)")
        #expect(v[1].messages.isEmpty && v[1].lint.isEmpty, "\(v[1].messages) \(v[1].lint)")
        #expect(v[2].dissector == [Rules.crcVariantModbus.id: "warning"], "\(v[2].messages)")
    }

    /// Split packets whose PNO is out of range or not a number are flagged `segment.pno-range`
    /// where lint flags them, with lint's finding; a PNO in range gets nothing. Numbers are read as
    /// lint reads them: a sign, leading zeros and spaces around allowed, ASCII digits, 64 bits.
    @Test func pnoOutOfRangeIsFlaggedAsLintFlagsIt() throws {
        let cases: [(pnum: String, pno: String)] = [("3", "4"), ("3", "0"), ("3", "x"), ("3", "2"), ("3", "+3"), ("10000", "1"), ("3", "-1"), (" 3", "04 "), ("3", "٤"), ("3", "99999999999999999999")]
        let frames = cases.map { c in
            FrameEncoder.frame(segmentBytes: Array(("QN=20251201120000000;ST=32;CN=2051;PW=123456;MN=\(Session.mn);Flag=7;PNUM=\(c.pnum);PNO=\(c.pno);"
                + "CP=&&DataTime=20251201120000;w01018-Avg=11.0,w01018-Flag=N&&").utf8))
        }
        let v = try Self.verdicts(frames, name: "pno", fields: ["hj212.pnum", "hj212.pno"])
        guard v.count == cases.count else { return }
        let rule = Rules.pnoRange.id
        for (c, f) in zip(cases, v) {
            #expect(f.dissector[rule] == f.lint[rule], "PNUM=\(c.pnum);PNO=\(c.pno): \(f.messages) \(f.lint)")
            #expect(f.fields == [c.pnum, c.pno] || c.pnum.contains(" ") || c.pno.contains(" "), "\(f.fields)")
            if case .array(let diagnostics)? = f.report["diagnostics"],
               let lint = diagnostics.first(where: { $0["rule"] == .string(rule) }), case .string(let finding)? = lint["message"] {
                #expect(f.messages.contains { $0.hasPrefix(rule + ":") && $0.hasSuffix(": " + finding) }, "\(f.messages) \(finding)")
            }
        }
        #expect(v[0].dissector[rule] == "error" && v[1].dissector[rule] == "error" && v[2].dissector[rule] == "error")
        #expect(v[3].messages.isEmpty && v[4].messages.isEmpty, "\(v[3].messages) \(v[4].messages)")
        #expect(v[0].messages.contains { $0.contains(Rules.pnoRange.titleZh) }, "\(v[0].messages)")
    }

    /// A frame whose CRC field is not four hex digits (`12G4`) is not delimited by lint's decoder:
    /// lint reports its bytes as skipped (`stream.skipped-bytes`, a warning: "a '##' whose frame
    /// could not be delimited"), up to the next frame, which it reads as usual; it never calls it a
    /// CRC mismatch (handover 21, item 3: the dissector did, and showed a frame lint does not see).
    /// The dissector must read the write as lint does: the noise, then the one good frame.
    @Test func crcNotHexIsReadAsLintReadsIt() throws {
        let tshark = try #require(tsharkPath(), "tshark is not installed (.ci/run installs it: apt-get install -y tshark)")
        let first = Array(Session.segment("20251201120000000", st: "32", cn: "2051", flag: "5", cp: "DataTime=20251201120000;w01018-Avg=11.0,w01018-Flag=N").utf8)
        let second = Array(Session.segment("20251201120000001", st: "32", cn: "2051", flag: "5", cp: "DataTime=20251201120000;w01018-Avg=12.0,w01018-Flag=N").utf8)
        var notHex = FrameEncoder.frame(segmentBytes: first)
        notHex.replaceSubrange((notHex.count - 6)..<(notHex.count - 2), with: Array("12G4".utf8))
        // Written together, as a logger that sends a record and the next one back to back.
        let write = notHex + FrameEncoder.frame(segmentBytes: second)
        let capture = try scratchFile("nothex.pcapng", Self.pcapng([write], maxSegment: 1400))
        let lua = try scratchFile("hj212-nothex.lua")
        let raw = try scratchFile("nothex.raw", write)
        defer { for p in [capture, lua, raw] { try? FileManager.default.removeItem(atPath: p) } }
        #expect(hj212(["dissector", "-o", lua]).status == 0)
        let result = try runProgram(tshark, ["-n", "-o", "tcp.desegment_tcp_streams:TRUE", "-X", "lua_script:" + lua, "-r", capture, "-Y", "hj212",
                                             "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|", "-E", "separator=\t",
                                             "-e", "_ws.expert.message", "-e", "_ws.expert.severity", "-e", "hj212.qn"])
        #expect(result.status == 0 && !result.err.contains("Lua: Error"), "\(result.err)")
        let rows = result.out.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        let messages = rows.flatMap { $0.first.map { $0.split(separator: "|").map(String.init) } ?? [] }
        let qns = rows.flatMap { $0.count > 2 ? $0[2].split(separator: "|").map(String.init) : [] }
        // lint: every record of the stream, skipped bytes included.
        let records = try hj212(["lint", "--format", "json", raw]).out.split(separator: "\n").map { try JSONValue.parse(String($0)) }
        var lint: [String: String] = [:]
        var lintMessages: [String] = []
        for r in records {
            guard case .array(let diagnostics)? = r["diagnostics"] else { continue }
            for d in diagnostics {
                if case .string(let rule)? = d["rule"], case .string(let severity)? = d["severity"], case .string(let m)? = d["message"] {
                    lint[rule] = severity
                    lintMessages.append(m)
                }
            }
        }
        #expect(lint == [Rules.skippedBytes.id: "warning"], "lint: \(lint)")
        #expect(records.filter { $0["type"] == .string("frame") }.count == 1)
        let severities = rows.flatMap { $0.count > 1 ? $0[1].split(separator: "|").map(String.init) : [] }
        var dissector: [String: String] = [:]
        for (m, s) in zip(messages, severities) {
            dissector[String(m.prefix { $0 != ":" })] = ["6291456", "warning", "warn"].contains(s.lowercased()) ? "warning" : s.lowercased() == "8388608" || s.lowercased() == "error" ? "error" : s
        }
        #expect(dissector == lint, "dissector: \(messages)")
        #expect(qns == ["20251201120000001"], "\(result.out)")
        // The finding is lint's, word for word, its quoted start of the bytes included (tshark cuts
        // an expert message at 240 bytes: what it shows must begin lint's message).
        for m in lintMessages {
            #expect(messages.contains { d in d.range(of: ": skipped ").map { m.hasPrefix(d[$0.upperBound...].isEmpty ? "-" : "skipped " + d[$0.upperBound...]) } ?? false },
                    "\(messages) \(m)")
        }
        #expect(messages.contains { $0.contains("could not be delimited (no CRC where the length says, no CR LF); starts '##0140QN=") }, "\(messages)")
    }

    /// Header fields separated by ',' (`QN=…,ST=32,CN=2051,…`): lint reads them, with a
    /// `segment.separator` warning for each ',', and judges them as any header (PNUM/PNO, QN, ST,
    /// MN …). The dissector must read them so too (handover 21, item 3: it read `QN=…,ST=32,…` as
    /// one QN, flagged it and reported ST, CN … missing, and checked no PNO).
    @Test func commaSeparatedHeaderFieldsAreReadAsLintReadsThem() throws {
        let cp = "CP=&&DataTime=20251201120000;w01018-Avg=11.0,w01018-Flag=N&&"
        let mn = Session.mn
        let segments = [
            "QN=20251201120000000,ST=32,CN=2051,PW=123456,MN=\(mn),Flag=7,PNUM=3,PNO=4;" + cp,   // every field after ','; PNO out of range
            "QN=20251201120000000,ST=32;CN=2051;PW=123456;MN=\(mn);Flag=5;" + cp,                 // one ','; nothing else wrong
            "QN=2025120112,ST=99,CN=2051,PW=123456,MN=\(mn)X,Flag=5;" + cp,                        // QN format, ST unknown, MN not hex
            "QN=20251201120000000;ST=32;CN=2051;PW=123456;MN=\(mn);Flag=7;PNUM=3,PNO=2," + cp,    // ',' before PNO and before CP; in range
            "QN=20251201120000000;;ST=32;CN=2051;PW=123456;MN=\(mn);Flag=5" + cp,                  // a doubled ';'; no ';' before CP
        ]
        let frames = segments.map { FrameEncoder.frame(segmentBytes: Array($0.utf8)) }
        let fields = ["hj212.qn", "hj212.st", "hj212.cn", "hj212.flag", "hj212.pnum", "hj212.pno"]
        let v = try Self.verdicts(frames, name: "comma", fields: fields)
        guard v.count == segments.count else { return }
        // The rules the dissector flags (docs/wireshark.md), with the separator's.
        let rules: Set<String> = [Rules.crcMismatch.id, Rules.lengthMismatch.id, Rules.trailerMissing.id, Rules.fieldMissing.id, Rules.qnFormat.id,
                                  Rules.stUnknown.id, Rules.cnUnknown.id, Rules.mnFormat.id, Rules.pnoRange.id, Rules.cpUnterminated.id,
                                  Rules.factorUnknown.id, Rules.dataFlagInvalid.id, Rules.replySTNot91.id, Rules.dataTimeMissing.id, Rules.separator.id]
        for (s, f) in zip(segments, v) {
            #expect(f.dissector == f.lint.filter { rules.contains($0.key) }, "\(s): dissector \(f.messages), lint \(f.lint)")
            func h(_ name: String) -> String {
                guard case .object(let header)? = f.report["header"] else { return "" }
                return header.first { $0.0 == name }.map { if case .string(let s) = $0.1 { s } else { "" } } ?? ""
            }
            #expect(f.fields == ["QN", "ST", "CN", "Flag", "PNUM", "PNO"].map(h), "\(s): \(f.fields)")
            // The separator's findings are lint's, word for word.
            if case .array(let diagnostics)? = f.report["diagnostics"] {
                for d in diagnostics where d["rule"] == .string(Rules.separator.id) {
                    if case .string(let m)? = d["message"] { #expect(f.messages.contains { $0.hasSuffix(": " + m) }, "\(s): \(f.messages) \(m)") }
                }
            }
        }
        #expect(v[0].dissector[Rules.pnoRange.id] == "error" && v[0].dissector[Rules.separator.id] == "warning", "\(v[0].messages)")
        #expect(v[1].dissector == [Rules.separator.id: "warning"], "\(v[1].messages)")
    }

    @Test func theDissectorIsGeneratedFromTheTables() throws {
        let r = hj212(["dissector"])
        #expect(r.status == 0)
        let dictionary = CodeDictionary.shared(.hj2017)
        let cod = try #require(dictionary.factor("w01018"))
        #expect(r.out.contains("[\"w01018\"] = {\"\(cod.label)\""))
        #expect(r.out.contains(Rules.crcMismatch.titleZh) && r.out.contains("register_heuristic(\"tcp\""))
        #expect(r.out.contains("Pref.range(\"TCP ports\""))
        #expect(hj212(["dissector", "extra"]).status == 2)
    }
}
