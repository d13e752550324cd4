import Foundation
import HJ212
import HJCapture
import Testing
@testable import HJ212CLI
import TestSupport

/// Minute-record frames of one unit, one a minute from `start` (China time "yyyyMMddHHmm").
func minuteFrames(count: Int, mn: String = "010000A89001000000000001", day: String = "20261130", fromHour: Int = 8) -> [[UInt8]] {
    (0..<count).map { k in
        let h = fromHour + k / 60, m = k % 60
        let stamp = day + String(format: "%02d%02d00", h, m)
        var out: [UInt8] = []
        FrameEncoder.appendFrame(segmentBytes: Array("QN=\(stamp)000;ST=32;CN=2051;PW=123456;MN=\(mn);Flag=4;CP=&&DataTime=\(stamp);w01018-Avg=\(10 + k % 7).1,w01018-Flag=N&&".utf8), to: &out)
        return out
    }
}

/// A classic pcap of one logger connection sending `frames`, one packet a second from
/// 2026-11-30 00:00 UTC (08:00 China). `dropPacket` leaves out that data packet (a TCP gap).
func loggerCapture(_ frames: [[UInt8]], dropPacket: Int? = nil) -> [UInt8] {
    var c = TCPConversation(client: Endpoint("10.0.0.2:40000")!, server: Endpoint("10.0.0.1:9000")!)
    var w = PcapWriter(linkType: .ethernet)
    var t: Int64 = 1_795_996_800 * 1_000_000_000
    for p in c.handshake() { w.addPacket(timestampNanos: t, data: p) }
    for (k, f) in frames.enumerated() {
        t += 1_000_000_000
        let packets = c.send(fromClient: true, f)
        if k == dropPacket { continue }
        for p in packets { w.addPacket(timestampNanos: t, data: p) }
    }
    for p in c.close() { w.addPacket(timestampNanos: t, data: p) }
    return w.take()
}

/// `report` says what it could not read, and a report of less than its input says incomplete.
@Suite("report completeness", .serialized)
struct ReportCompletenessTests {
    static func traceLines(_ frames: [[UInt8]]) -> [String] {
        frames.enumerated().map { k, f in
            var line = "{\"t\":\"2026-11-30T08:\(String(format: "%02d", k % 60)):00.000+08:00\",\"dir\":\"up\",\"peer\":\"10.0.0.2:40000\",\"mn\":\"010000A89001000000000001\",\"frame\":"
            JSONValue.writeString(String(decoding: f.dropLast(2), as: UTF8.self), to: &line)
            return line + "}"
        }
    }

    @Test("unreadable trace lines are counted, said on stderr and in JSON, and make the report incomplete (exit 3); down lines are counted apart")
    func unreadableLines() throws {
        let good = Self.traceLines(minuteFrames(count: 60))
        var lines = good
        lines += (0..<5).map { "garbage line \($0) \u{1B}[31m" }
        lines += good.prefix(3).map { String($0.prefix(100)) }
        lines.append(good[0].replacingOccurrences(of: "\"t\":\"2026", with: "\"t\":\"x026"))
        lines.append(good[1].replacingOccurrences(of: "\"dir\":\"up\"", with: "\"dir\":\"down\""))
        let path = try temporaryFile(Array((lines.joined(separator: "\n") + "\n").utf8), suffix: ".jsonl")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = hj212(["report", path, "--format", "json"])
        #expect(r.status == 3, "incomplete: \(r.err)")
        #expect(r.err.contains("9 lines") && r.err.contains("unreadable"), "\(r.err)")
        #expect(!r.err.contains("\u{1B}"))
        let v = try JSONValue.parse(r.out)
        #expect(v["frames"] == .int(60))
        #expect(v["unreadable_lines"] == .int(9))
        #expect(v["down_lines"] == .int(1))
        #expect(v["complete"] == .bool(false))
        let html = hj212(["report", path])
        #expect(html.status == 3)
        #expect(html.out.contains("incomplete") && html.out.contains("9 unreadable"), "an HTML notice")
        // The clean trace: complete, exit 0.
        let clean = try temporaryFile(Array((good.joined(separator: "\n") + "\n").utf8), suffix: ".jsonl")
        defer { try? FileManager.default.removeItem(atPath: clean) }
        let c = hj212(["report", clean, "--format", "json"])
        #expect(c.status == 0, "\(c.err)")
        #expect(try JSONValue.parse(c.out)["complete"] == .bool(true))
    }

    @Test("nothing to judge (empty file, junk, a pcap with only its header) is exit 1")
    func nothingToJudge() throws {
        let empty = try temporaryFile([], suffix: ".jsonl")
        let junk = try temporaryFile(Array("no frame here at all\n".utf8), suffix: ".bin")
        var writer = PcapWriter(linkType: .ethernet)
        let header = try temporaryFile(writer.take(), suffix: ".pcap")
        defer { for p in [empty, junk, header] { try? FileManager.default.removeItem(atPath: p) } }
        for p in [empty, junk, header] {
            let r: (status: Int32, out: String, err: String) = hj212(["report", p, "--format", "json"])
            #expect(r.status == 1, "\(p): \(r.err)")
            #expect(r.err.contains("nothing to judge"), "\(r.err)")
        }
    }

    @Test("a corrupt, cut short or gapped capture makes the report incomplete (exit 3)")
    func damagedCaptures() throws {
        let frames = minuteFrames(count: 30)
        var corrupt = loggerCapture(frames)
        // A packet record claiming 1 GB.
        corrupt += [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x40, 0, 0, 0, 0x40]
        let intact = loggerCapture(frames)
        let cut = Array(intact.dropLast(30))
        let gap = loggerCapture(frames, dropPacket: 10)
        var paths: [String] = []
        defer { for p in paths { try? FileManager.default.removeItem(atPath: p) } }
        for bytes in [intact, corrupt, cut, gap] { paths.append(try temporaryFile(bytes, suffix: ".pcap")) }
        let ok = hj212(["report", paths[0], "--format", "json"])
        #expect(ok.status == 0, "\(ok.err)")
        for p in paths.dropFirst() {
            let r = hj212(["report", p, "--format", "json"])
            #expect(r.status == 3, "\(r.err)")
            let v = try JSONValue.parse(r.out)
            #expect(v["complete"] == .bool(false))
            guard case .array(let reasons)? = v["incomplete"] else { Issue.record("no reasons: \(r.out.prefix(200))"); continue }
            #expect(!reasons.isEmpty)
        }
    }

    @Test("--truth: injections the trace never covered are not covered, not missed; nothing covered is recall n/a and incomplete (exit 3)")
    func truthNotCovered() throws {
        let (trace, truth) = try ReportCommandTests.trace()
        defer { try? FileManager.default.removeItem(atPath: trace); try? FileManager.default.removeItem(atPath: truth) }
        // The trace up to 08:50; the truth's injections start at 09:00 and 10:00.
        let lines = try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n").filter { $0.contains("\"t\":\"2026-11-30T08:0") || $0.contains("\"t\":\"2026-11-30T08:1") }
        let short = try temporaryFile(Array((lines.joined(separator: "\n") + "\n").utf8), suffix: ".jsonl")
        defer { try? FileManager.default.removeItem(atPath: short) }
        let r = hj212(["report", short, "--truth", truth, "--format", "json"])
        #expect(r.status == 3, "\(r.err)")
        let v = try JSONValue.parse(r.out)
        #expect(v["recall"] == .null)
        #expect(v["not_covered"] == .int(2))
        guard case .array(let injections)? = v["truth"] else { Issue.record("no truth: \(r.out.prefix(300))"); return }
        #expect(injections.count == 2)
        for i in injections {
            #expect(i["covered"] == .bool(false))
            #expect(i["result"] == .string("not covered"))
            #expect(i["detected"] != .bool(false), "not covered is not missed")
        }
        #expect(r.err.contains("recall n/a") && r.err.contains("not covered"), "\(r.err)")
        let html = hj212(["report", short, "--truth", truth])
        #expect(html.out.contains("not covered"))
        // The injection table says so for each row, and does not call them "not scored".
        #expect(html.out.components(separatedBy: "<td>not covered 未覆盖</td>").count - 1 == 2, "\(html.out.count) bytes")
        #expect(!html.out.contains("not scored 不计"))
        // An empty trace with a truth file: nothing to judge, recall n/a.
        let empty = try temporaryFile([], suffix: ".jsonl")
        defer { try? FileManager.default.removeItem(atPath: empty) }
        let e = hj212(["report", empty, "--truth", truth, "--format", "json"])
        #expect(e.status == 1, "\(e.err)")
        #expect(try JSONValue.parse(e.out)["recall"] == .null)
        // The whole trace: both covered and detected, complete.
        let whole = hj212(["report", trace, "--truth", truth, "--format", "json"])
        #expect(whole.status == 0, "\(whole.err)")
        let w = try JSONValue.parse(whole.out)
        #expect(w["recall"] == .double(1) && w["not_covered"] == .int(0))
    }

    @Test("a unit in no fleet is judged only by the rules needing no template: no flatline on clean data, and the output says so")
    func unitWithoutTemplate() throws {
        let trace = temporaryPath(".jsonl")
        defer { try? FileManager.default.removeItem(atPath: trace) }
        let g = hj212(["generate", "--unit", "industrial-wastewater", "--start", "2026-11-30T08:00", "--duration", "2h", "--format", "trace", "-o", trace])
        #expect(g.status == 0, "\(g.err)")
        let r = hj212(["report", trace, "--format", "json"])
        #expect(r.status == 0, "\(r.err)")
        let v = try JSONValue.parse(r.out)
        guard case .array(let alarms)? = v["alarms"], case .array(let without)? = v["units_without_template"] else { Issue.record("shape: \(r.out.prefix(300))"); return }
        let flat = alarms.filter { $0["rule"] == .string("value.flatline") }
        #expect(flat.isEmpty, "clean data of a unit without a template: \(flat)")
        #expect(without.count == 1)
        #expect(r.err.contains("no template"), "\(r.err)")
    }
}

