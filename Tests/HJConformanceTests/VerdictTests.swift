import Testing
import HJ212
@testable import HJConformance

/// The three outcomes of a certification (issue 11): never PASS without evidence.
@Suite("Verdicts: pass, fail, incomplete")
struct VerdictTests {
    func rule(_ id: String, _ level: CheckLevel, group: String = "ack") -> CheckRule {
        var r = CheckRule(id: id, target: .logger, group: group, level: level, titleZh: "中文标题 \(id)", titleEn: "English title \(id)",
                          clause: "HJ 212-2017 §6.5.2, 表 3", exercise: "x")
        r.groupZh = group == "ack" ? "应答" : ""
        return r
    }

    func run(_ results: [(String, CheckLevel, Verdict)], interrupted: Bool = false) -> CheckRun {
        CheckRun(target: .logger, address: "127.0.0.1:7001", profile: .national2017, strict: false, started: "", interrupted: interrupted,
                 results: results.map { CheckResult(rule: rule($0.0, $0.1), verdict: $0.2, message: "m \($0.0)") })
    }

    @Test("a MUST check not exercised makes the run incomplete (exit 3), with coverage, although the score is 100")
    func unexercisedMust() throws {
        let r = run([("L-A", .must, .pass), ("L-B", .must, .notExercised), ("L-C", .should, .pass)])
        #expect(r.score.overall == 100)
        #expect(r.verdict == .incomplete && r.exitStatus == 3)
        #expect(r.coverage.exercised == 1 && r.coverage.inScope == 2)
        let json = try JSONValue.parse(CheckReport.render(r, format: .json, lang: .en))
        #expect(json["verdict"] == .string("incomplete"))
        #expect(json["coverage"]?["must_exercised"] == .int(1) && json["coverage"]?["must_in_scope"] == .int(2))
        #expect(json["exit_status"] == .int(3))
        let text = CheckReport.render(r, format: .text, lang: .en)
        #expect(text.contains("VERDICT: INCOMPLETE") && text.contains("1 MUST check not exercised: L-B"), "\(text)")
        #expect(!text.contains("PASS ███") && !text.contains("VERDICT: PASS"))
        let xml = CheckReport.render(r, format: .junit, lang: .en)
        #expect(xml.contains("<error type=\"incomplete\"") && xml.contains("MUST check not exercised (the run is incomplete)"))
        let html = CheckReport.render(r, format: .html, lang: .en)
        #expect(html.range(of: "VERDICT")!.lowerBound < html.range(of: "score (over the checks exercised)")!.lowerBound)
        #expect(html.contains("1 of 2 MUST checks exercised"))
    }

    @Test("an interrupted run is incomplete whatever passed, and says so in every format")
    func interrupted() throws {
        let r = run([("L-A", .must, .pass), ("L-B", .must, .pass)], interrupted: true)
        #expect(r.verdict == .incomplete && r.exitStatus == 3)
        let json = try JSONValue.parse(CheckReport.render(r, format: .json, lang: .en))
        #expect(json["verdict"] == .string("incomplete"))
        #expect(CheckReport.render(r, format: .text, lang: .en).contains("VERDICT: INCOMPLETE"))
        #expect(CheckReport.summary(r, lang: .en).contains("interrupted"))
    }

    @Test("a MUST failure fails the run even with checks missing; every MUST exercised and passed is a pass")
    func failAndPass() {
        #expect(run([("L-A", .must, .fail), ("L-B", .must, .notExercised)]).verdict == .fail)
        #expect(run([("L-A", .must, .fail)]).exitStatus == 1)
        #expect(run([("L-A", .must, .pass), ("L-B", .may, .notExercised)]).verdict == .pass)
        #expect(run([("L-A", .must, .pass)]).exitStatus == 0)
        // Nothing exercised at all is not a pass, even with no MUST check in scope.
        #expect(run([("L-M", .may, .notExercised)]).verdict == .incomplete)
    }

    @Test("checks out of scope are listed, and do not make the run incomplete")
    func outOfScope() throws {
        var r = run([("L-A", .must, .pass)])
        r.outOfScope = [(rule("L-HOUR", .must), "needs --plan hour")]
        #expect(r.verdict == .pass && r.coverage.inScope == 1)
        let json = try JSONValue.parse(CheckReport.render(r, format: .json, lang: .en))
        guard case .array(let out)? = json["out_of_scope"] else { Issue.record("out_of_scope missing"); return }
        #expect(out.count == 1 && out[0]["id"] == .string("L-HOUR") && out[0]["why"] == .string("needs --plan hour"))
        #expect(CheckReport.render(r, format: .text, lang: .en).contains("Out of scope (not counted)"))
        let xml = CheckReport.render(r, format: .junit, lang: .en)
        #expect(xml.contains("out of scope: needs --plan hour"))
    }

    @Test("--lang zh: headings, group names and verdicts in Chinese")
    func chinese() {
        let r = run([("L-A", .must, .pass), ("L-B", .must, .notExercised)])
        let text = CheckReport.render(r, format: .text, lang: .zh)
        #expect(text.contains("结论：未完成") && text.contains("必检项（MUST）已执行 1/2"), "\(text)")
        #expect(text.contains("得分") && text.contains("\n应答  "), "\(text)")
        #expect(text.contains("通过 ") && text.contains("未执行"))
        for english in ["VERDICT", "SCORE", "coverage", "Failures and warnings", "not exercised"] {
            #expect(!text.contains(english), "\(english) in: \(text)")
        }
        let html = CheckReport.render(r, format: .html, lang: .zh)
        #expect(html.contains("结论") && html.contains("未完成") && !html.contains("VERDICT"))
    }

    @Test("clauses in the catalogue cite the standard, never a file of this repository")
    func clauses() throws {
        let catalogue = try RuleCatalogue.load()
        for r in catalogue.rules {
            #expect(!r.clause.contains(".md") && !r.clause.contains("Profiles/") && !r.clause.contains("Sources/"), "\(r.id): \(r.clause)")
            #expect(!r.clause.contains(",)") && !r.clause.contains(";)"), "\(r.id): \(r.clause)")
        }
        // Every group has a Chinese name.
        #expect(catalogue.rules.allSatisfy { !$0.groupZh.isEmpty }, "\(catalogue.rules.filter { $0.groupZh.isEmpty }.map(\.id))")
    }

    @Test("plan tiers: hour and day checks belong to the hour and full plans")
    func planTiers() throws {
        let catalogue = try RuleCatalogue.load()
        #expect(catalogue.rule("L-HOUR-CADENCE")?.plan == .hour)
        #expect(catalogue.rule("L-CMD-2061")?.plan == .hour)
        #expect(catalogue.rule("L-DAY-CADENCE")?.plan == .full)
        #expect(catalogue.rule("L-CMD-1064")?.plan == .quick)
        // A 3-minute window without a plan warns about the MUST checks it cannot reach.
        let plan = LoggerRunPlan(LoggerCheckOptions(port: 0, window: 180), catalogue: catalogue)
        #expect(plan.unreachableMust.map(\.id).contains("L-HOUR-CADENCE"))
        #expect(plan.text(lang: .en).contains("WARNING") && plan.text(lang: .en).contains("incomplete"))
        var hour = LoggerCheckOptions(port: 0, window: 86_400)
        hour.plan = .hour
        let hourPlan = LoggerRunPlan(hour, catalogue: catalogue)
        #expect(hourPlan.unreachableMust.isEmpty, "\(hourPlan.unreachableMust.map(\.id))")
        #expect(hourPlan.outOfScope.map(\.rule.id).contains("L-DAY-CADENCE"))
        #expect(!hourPlan.text(lang: .en).contains("WARNING"))
    }
}

@Suite("Message templates in both languages")
struct MessageCatalogueTests {
    @Test("templates fill their placeholders, in any order; an unknown message stays as it is")
    func templates() throws {
        let m = MessageCatalogue(templates: [("connected from {1}, first packet {2} after {3} s", "已从 {1} 连接，首个数据包 {2} 于 {3} 秒后到达"),
                                             ("{1} of {2}", "{2} 中的 {1}"), ("no packet received", "未收到数据包")])
        #expect(m.localized("connected from 127.0.0.1:5, first packet 2011 after 0.1 s", .zh) == "已从 127.0.0.1:5 连接，首个数据包 2011 于 0.1 秒后到达")
        #expect(m.localized("3 of 7", .zh) == "7 中的 3")
        #expect(m.localized("no packet received", .zh) == "未收到数据包")
        #expect(m.localized("no packet received", .en) == "no packet received")
        #expect(m.localized("something else", .zh) == "something else")
        #expect(m.localized(" of 7", .zh) == " of 7")  // an empty value is no match
    }

    @Test("the built-in catalogue loads its templates, and a report in Chinese uses them")
    func builtin() throws {
        let catalogue = try RuleCatalogue.load()
        #expect(catalogue.messages.count > 50)
        let rule = try #require(catalogue.rule("L-CONNECT"))
        var run = CheckRun(target: .logger, address: "x", profile: .national2017, strict: false, started: "",
                           results: [CheckResult(rule: rule, verdict: .pass, message: "connected from 127.0.0.1:5, first packet 2011 after 0.1 s")])
        run.messages = catalogue.messages
        let text = CheckReport.render(run, format: .text, lang: .zh)
        #expect(text.contains("已从 127.0.0.1:5 连接"), "\(text)")
        let json = try JSONValue.parse(CheckReport.render(run, format: .json, lang: .zh))
        // JSON keeps the English message for machines, beside the localized one.
        guard case .array(let checks)? = json["checks"], let first = checks.first else { Issue.record("checks missing"); return }
        guard case .string(let en)? = first["message"], case .string(let zh)? = first["message_localized"] else { Issue.record("messages missing"); return }
        #expect(en.hasPrefix("connected from") && zh.hasPrefix("已从"))
    }

    @Test("wire lines in Chinese: the tool's remarks and labels translated, frames and their bytes never")
    func wireLines() throws {
        let m = try RuleCatalogue.load().messages
        func zh(_ d: WireRecord.Direction, _ text: String) -> String { CheckReport.wireLine(WireRecord(time: 1.5, direction: d, text: text), m, .zh) }
        #expect(zh(.note, "logger 1 (P-ACCESS-MN): connected to 127.0.0.1:7001") == "+1.500s · 数采仪 1（P-ACCESS-MN）：已连接 127.0.0.1:7001")
        #expect(zh(.note, "logger 3 (connection 2): the platform closed the connection") == "+1.500s · 数采仪 3（第 2 个连接）：平台关闭了连接")
        #expect(zh(.note, "connection #2 closed (peer closed)") == "+1.500s · 第 2 号连接已关闭（对端关闭）")
        #expect(zh(.note, "connection #3 from 10.0.0.5:4000") == "+1.500s · 第 3 号连接，来自 10.0.0.5:4000")
        #expect(zh(.note, "watching for commands for 0.5 s") == "+1.500s · 等待平台下发命令 0.5 秒")
        // A label's bytes are what was sent: even bytes that read like a message stay as they were.
        #expect(zh(.up, "piece 2/3: hour") == "+1.500s ↑ 分片 2/3：hour")
        #expect(zh(.up, "##0040QN=1;CN=2011;CP=&&hour&&ABCD") == "+1.500s ↑ ##0040QN=1;CN=2011;CP=&&hour&&ABCD")
        let cut = "##9999" + String(repeating: "a", count: 420) + WireLog.cutMarker(80) + "tail"
        #expect(zh(.up, cut).contains("…（省略 80 个字符）…") && !zh(.up, cut).contains("characters"))
        // The linter's diagnostics quoted in a logger check's wire log, item by item.
        #expect(zh(.note, "error frame.crc-mismatch: declared CRC '0000', computed '1C80'") == "+1.500s · 错误 frame.crc-mismatch：声明的 CRC 为 '0000'，计算值为 '1C80'")
        #expect(zh(.note, "error frame.segment-too-long: data segment is 1309 bytes; at most 1024 are allowed, longer records must be split with PNUM/PNO")
                == "+1.500s · 错误 frame.segment-too-long：数据段为 1309 字节；最多允许 1024 字节，更长的记录须用 PNUM/PNO 拆分")
        #expect(zh(.note, "warning frame.crc-lowercase: CRC '1c80' is correct but in lower case; expected '1C80'")
                == "+1.500s · 警告 frame.crc-lowercase：CRC '1c80' 正确但为小写；应为 '1C80'")
        #expect(zh(.note, "warning code.factor-unknown: 'i12101' is not a code of Appendix B (HJ 212-2017); non-standard or vendor code")
                == "+1.500s · 警告 code.factor-unknown：'i12101' 不是附录 B（HJ 212-2017）中的编码；非标准或厂商自定义编码")
        #expect(zh(.note, "error dialect.mismatch: expected an HJ 212-2017 packet, found HJ/T 212-2005 (Flag=1, version bits 000000)")
                == "+1.500s · 错误 dialect.mismatch：应为 HJ 212-2017 报文，实为 HJ/T 212-2005（Flag=1，版本位 000000）")
        // English reports are as logged.
        #expect(CheckReport.wireLine(WireRecord(time: 1.5, direction: .note, text: "watching for commands for 0.5 s"), m, .en) == "+1.500s · watching for commands for 0.5 s")
    }
}
