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
