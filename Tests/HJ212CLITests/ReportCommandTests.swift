import Foundation
import HJ212
import Testing
@testable import HJ212CLI
import TestSupport

/// `hj212 report` end to end: generate a scenario trace, then report it in every format.
@Suite("report command", .serialized)
struct ReportCommandTests {
    static func trace() throws -> (trace: String, truth: String) {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("hj212-report-\(UUID().uuidString)").path
        let trace = base + ".jsonl", truth = base + ".truth.jsonl"
        let g = hj212(["generate", "--scenario", "analyser-flatline", "--start", "2026-11-30T08:00", "--duration", "6h", "--format", "trace", "-o", trace, "--truth", truth])
        #expect(g.status == 0, "\(g.err)")
        return (trace, truth)
    }

    @Test("json: truth with detected, rule and delay_s; alarms; recall and precision overall and per class")
    func json() throws {
        let (trace, truth) = try Self.trace()
        defer { try? FileManager.default.removeItem(atPath: trace); try? FileManager.default.removeItem(atPath: truth) }
        let r = hj212(["report", trace, "--truth", truth, "--format", "json"])
        #expect(r.status == 0, "\(r.err)")
        let v = try JSONValue.parse(r.out)
        #expect(v["recall"] == .double(1))
        #expect(v["precision"] == .double(1))
        guard case .array(let injections)? = v["truth"], case .array(let alarms)? = v["alarms"], case .array(let classes)? = v["per_class"] else { Issue.record("shape"); return }
        #expect(injections.count == 2)
        for i in injections {
            #expect(i["detected"] == .bool(true))
            #expect(i["rule"] == .string("value.flatline"))
            if case .int(let d)? = i["delay_s"] { #expect(d >= 0 && d < 4 * 3600) } else { Issue.record("delay_s missing") }
        }
        #expect(alarms.count >= 2)
        #expect(classes.first?["fault"] == .string("flatline"))
        #expect(v["false_alarms"] == .array([]))
        #expect(r.err.contains("recall 1.000"))
    }

    /// `--out` writes in place: a symbolic link stays a link and its target gets the report (an
    /// atomic rename had replaced the link by a file, and, as root, `/dev/null` by a regular file).
    @Test("--out through a symbolic link writes its target and keeps the link")
    func outThroughLink() throws {
        let (trace, truth) = try Self.trace()
        let target = temporaryPath(".json"), link = temporaryPath(".link")
        defer { for p in [trace, truth, target, link] { try? FileManager.default.removeItem(atPath: p) } }
        #expect(FileManager.default.createFile(atPath: target, contents: Data("old".utf8)))
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        let r = hj212(["report", trace, "--truth", truth, "--format", "json", "--out", link])
        #expect(r.status == 0, "\(r.err)")
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: link)) == target)
        let written = try String(contentsOfFile: target, encoding: .utf8)
        #expect(written.hasPrefix("{") && written.contains("\"recall\""))
        #expect(writeFileInPlace(link, Array("x".utf8)))
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "x")
    }

    @Test("csv: UTF-8 with BOM, the series rows; html: a self-contained page")
    func csvAndHTML() throws {
        let (trace, truth) = try Self.trace()
        defer { try? FileManager.default.removeItem(atPath: trace); try? FileManager.default.removeItem(atPath: truth) }
        let out = trace + ".csv"
        defer { try? FileManager.default.removeItem(atPath: out) }
        #expect(hj212(["report", trace, "--format", "csv", "-o", out]).status == 0)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: out)))
        #expect(Array(bytes.prefix(3)) == [0xEF, 0xBB, 0xBF])
        let text = String(decoding: bytes.dropFirst(3), as: UTF8.self)
        let lines = text.split(separator: "\r\n")
        #expect(lines.first == "unit 监控点,factor 因子,kind 类型,DataTime 数据时间,value 数值,flag 标记")
        #expect(lines.count > 10_000)
        #expect(lines.contains { $0.hasPrefix("010000A89001000000000001,w01018,minute,2026-11-30 08:") })
        let html = hj212(["report", trace, "--truth", truth])
        #expect(html.status == 0)
        #expect(html.out.hasPrefix("<!DOCTYPE html>"))
        #expect(!html.out.contains("<script src") && !html.out.contains("<link "))
        #expect(html.out.contains("class=\"truth\""))
        #expect(html.out.contains("数据恒值"))
    }

    @Test("usage errors: no trace, unreadable trace, bad format")
    func usage() {
        #expect(hj212(["report"]).status == 2)
        #expect(hj212(["report", "/nonexistent/trace.jsonl"]).status == 2)
        #expect(hj212(["report", "x.jsonl", "--format", "pdf"]).status == 2)
    }
}
