import Testing
import HJ212
@testable import HJConformance

@Suite("Check reports")
struct ReportTests {
    func rule(_ id: String, _ level: CheckLevel, group: String) -> CheckRule {
        CheckRule(id: id, target: .platform, group: group, level: level, titleZh: "应答的 ST 为 91 <&>", titleEn: "Acks carry ST=91 <&>",
                  clause: "HJ 212-2017 §6.6.1 \"Table 5\"", exercise: "x")
    }

    /// A run with every verdict, and wire text that needs escaping in every format.
    var sample: CheckRun {
        let wire = [WireRecord(time: 0.012, direction: .up, text: "##0087QN=1;ST=32;CN=2011;CP=&&a<b&&1C80"),
                    WireRecord(time: 0.015, direction: .down, text: "bad \u{1}\u{7F} bytes \"quoted\" ]]> 中文"),
                    WireRecord(time: 0.5, direction: .note, text: "timeout")]
        var run = CheckRun(target: .platform, address: "127.0.0.1:7001", profile: .national2017, strict: false, started: "2026-11-30T08:00:00+08:00",
                           seconds: 3.2, facts: [("ack latency", "p50 1 ms")], results: [
                            CheckResult(rule: rule("P-A", .must, group: "ack"), verdict: .pass, message: "ok"),
                            CheckResult(rule: rule("P-B", .must, group: "ack"), verdict: .fail, message: "ST=32 <wrong>", wire: wire),
                            CheckResult(rule: rule("P-C", .should, group: "framing"), verdict: .fail, message: "oversize acked", wire: wire),
                            CheckResult(rule: rule("P-D", .may, group: "framing"), verdict: .notExercised, message: "not exercised: window too short"),
                           ])
        run.catalogueVersion = "test-1"
        return run
    }

    @Test("JSON parses back with score, checks (id, level, verdict, message) and the rest")
    func json() throws {
        let text = CheckReport.render(sample, format: .json, lang: .zh)
        let json = try JSONValue.parse(text)
        // (3) / (3 + 3 + 2): the SHOULD failure is a warning without --strict and keeps its weight.
        guard case .double(let score)? = json["score"] else { Issue.record("score missing: \(text)"); return }
        #expect(score == 62.5)
        #expect(json["reachable"] == .bool(true) && json["strict"] == .bool(false) && json["catalogue"] == .string("test-1"))
        guard case .array(let checks)? = json["checks"] else { Issue.record("checks missing"); return }
        #expect(checks.count == 4)
        #expect(checks[1]["id"] == .string("P-B") && checks[1]["level"] == .string("MUST") && checks[1]["verdict"] == .string("fail"))
        #expect(checks[1]["message"] == .string("ST=32 <wrong>"))
        #expect(checks[2]["verdict"] == .string("warn") && checks[2]["raw_verdict"] == .string("fail"))
        #expect(checks[3]["verdict"] == .string("not-exercised"))
        #expect(checks[1]["titles"]?["zh"] == .string("应答的 ST 为 91 <&>"))
        guard case .array(let wire)? = checks[1]["wire"] else { Issue.record("wire missing"); return }
        #expect(wire.count == 3 && wire[1]["dir"] == .string("down"))
        guard case .array(let groups)? = json["groups"] else { Issue.record("groups missing"); return }
        #expect(groups.count == 2)
        #expect(json["exit_status"] == .int(1))
    }

    /// A minimal XML well-formedness check: balanced tags, quoted attributes, no raw `<` or
    /// stray `&` in text, no control characters.
    func wellFormed(_ xml: String) -> Bool {
        var stack: [String] = []
        let s = Array(xml.unicodeScalars)
        var i = 0
        while i < s.count {
            let c = s[i]
            if c.value < 0x20 && c != "\n" && c != "\t" { return false }
            if c == "&" {
                let rest = String(String.UnicodeScalarView(s[i..<min(s.count, i + 6)]))
                guard ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#13;"].contains(where: { rest.hasPrefix($0) }) else { return false }
            }
            if c == "<" {
                guard let end = s[i...].firstIndex(of: ">") else { return false }
                let tag = String(String.UnicodeScalarView(s[(i + 1)..<end]))
                if tag.hasPrefix("?") || tag.hasPrefix("!") { i = end + 1; continue }
                if tag.contains("<") { return false }
                if tag.filter({ $0 == "\"" }).count % 2 != 0 { return false }
                let name = String(tag.drop(while: { $0 == "/" }).prefix(while: { $0 != " " && $0 != "/" }))
                if tag.hasPrefix("/") {
                    guard stack.popLast() == name else { return false }
                } else if !tag.hasSuffix("/") {
                    stack.append(name)
                }
                i = end + 1
                continue
            }
            i += 1
        }
        return stack.isEmpty
    }

    @Test("JUnit XML: one testcase per check, failure and skipped elements, well formed")
    func junit() {
        let xml = CheckReport.render(sample, format: .junit, lang: .en)
        #expect(xml.hasPrefix("<?xml"))
        #expect(wellFormed(xml), "\(xml)")
        // Four checks and the verdict (a failure: P-B, a MUST, failed).
        #expect(xml.components(separatedBy: "<testcase ").count - 1 == 5)
        #expect(xml.components(separatedBy: "<failure ").count - 1 == 2)
        #expect(xml.contains("verdict fail: 2 of 2 MUST checks exercised"))
        #expect(xml.components(separatedBy: "<skipped ").count - 1 == 1)
        #expect(xml.contains("a&lt;b") && xml.contains("\\x1"))
        var unreachable = sample
        unreachable.reachable = false
        unreachable.results = unreachable.results.map { var r = $0; r.verdict = .notExercised; r.wire = []; return r }
        let down = CheckReport.render(unreachable, format: .junit, lang: .en)
        #expect(wellFormed(down) && down.contains("<error type=\"unreachable\""))
    }

    @Test("HTML: self-contained, every check with its verdict colour, the wire log of each failure")
    func html() {
        let page = CheckReport.render(sample, format: .html, lang: .zh)
        #expect(page.hasPrefix("<!DOCTYPE html>"))
        #expect(!page.contains("<script") && !page.contains("<link") && !page.contains("src="))
        // The only URL is the SVG namespace.
        #expect(page.components(separatedBy: "http").count - 1 == page.components(separatedBy: "xmlns=\"http://www.w3.org/2000/svg\"").count - 1)
        #expect(page.contains("<tr class=\"fail\">") && page.contains("<tr class=\"warn\">") && page.contains("<tr class=\"skip\">") && page.contains("<tr class=\"pass\">"))
        #expect(page.contains("CP=&amp;&amp;a&lt;b&amp;&amp;1C80"))
        #expect(!page.contains("a<b"))
        #expect(page.contains("应答的 ST 为 91") && page.contains("lang=\"zh-CN\""))
    }

    @Test("text: grouped scores, failures with clause and wire log, facts; the language picks the titles")
    func text() {
        let en = CheckReport.render(sample, format: .text, lang: .en)
        #expect(en.contains("VERDICT: FAIL"))
        #expect(en.contains("SCORE 62.5/100"))
        // The verdict and the coverage come before the score.
        #expect(en.range(of: "VERDICT")!.lowerBound < en.range(of: "SCORE")!.lowerBound)
        #expect(en.range(of: "coverage: 2 of 2 MUST checks exercised")!.lowerBound < en.range(of: "SCORE")!.lowerBound)
        #expect(en.contains("ack  50/100") || en.contains("ack  50"))
        #expect(en.contains("FAIL P-B [MUST] Acks carry ST=91 <&> / 应答的 ST 为 91 <&>"))
        #expect(en.contains("↓ bad"))
        #expect(en.contains("ack latency:"))
        let zh = CheckReport.render(sample, format: .text, lang: .zh)
        #expect(zh.contains("不通过 P-B [MUST] 应答的 ST 为 91 <&> / Acks carry ST=91 <&>"))
        let summary = CheckReport.summary(sample, lang: .en)
        #expect(summary.contains("VERDICT: FAIL") && summary.contains("SCORE 62.5/100") && summary.contains("P-B") && !summary.contains("P-A "))
    }
}
