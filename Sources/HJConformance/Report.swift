import HJ212
import HJReportKit

/// Report formats of `hj212 check`.
public enum ReportFormat: String, Sendable, CaseIterable {
    case text, json, junit, html
}

/// Renders a certification run: text for people, JSON for machines, JUnit XML for CI, and a
/// self-contained HTML page (`HTMLPage`) for certification files. Every format carries the
/// score per group and overall, every check with its verdict and message, and the wire log of
/// each failed (and warned) check.
///
/// ```swift
/// let run = PlatformCheck.run(options, catalogue: catalogue)
/// print(CheckReport.render(run, format: .text, lang: .zh))
/// let json = CheckReport.render(run, format: .json, lang: .en)   // {"score":100,"checks":[…],…}
/// ```
public enum CheckReport {
    public static func render(_ run: CheckRun, format: ReportFormat, lang: ReportLanguage) -> String {
        switch format {
        case .text: return text(run, lang: lang)
        case .json: return json(run, lang: lang)
        case .junit: return junit(run, lang: lang)
        case .html: return html(run, lang: lang)
        }
    }

    // MARK: - Shared wording

    /// `PASS`, `FAIL`, `INCOMPLETE` (or 通过, 不通过, 未完成), or `UNREACHABLE`.
    public static func outcome(_ run: CheckRun, lang: ReportLanguage = .en) -> String {
        if !run.reachable { return lang == .zh ? "无法连接" : "UNREACHABLE" }
        return run.verdict.label(lang)
    }

    /// Why the verdict is what it is, in one line.
    static func outcomeLine(_ run: CheckRun, _ score: CheckScore, lang: ReportLanguage = .en) -> String {
        let zh = lang == .zh
        if !run.reachable { return zh ? "无法连接被测对象：未执行任何检查" : "the target could not be reached: nothing was exercised" }
        var parts: [String] = []
        if run.interrupted { parts.append(zh ? "运行被中断，报告只包含已执行的部分" : "interrupted: the report covers what ran") }
        let n = score.blockingFailures
        if n > 0 {
            parts.append(zh ? "\(n) 项\(run.strict ? "" : "必检（MUST）")检查不通过" : "\(n) \(run.strict ? "" : "MUST ")check\(n == 1 ? "" : "s") failed")
        }
        let missing = run.unexercisedMust
        if !missing.isEmpty {
            let ids = missing.prefix(8).map(\.rule.id).joined(separator: ", ") + (missing.count > 8 ? ", …" : "")
            parts.append(zh ? "\(missing.count) 项必检（MUST）检查未执行：\(ids)" : "\(missing.count) MUST check\(missing.count == 1 ? "" : "s") not exercised: \(ids)")
        }
        if parts.isEmpty {
            if !run.results.contains(where: { $0.verdict != .notExercised }) { return zh ? "未执行任何检查" : "no check was exercised" }
            return zh ? (run.strict ? "所有检查均通过" : "所有必检（MUST）检查均已执行并通过") : (run.strict ? "every check in scope passed" : "every MUST check in scope was exercised and passed")
        }
        return parts.joined(separator: zh ? "；" : "; ")
    }

    static func scoreText(_ v: Double?) -> String {
        guard let v else { return "-" }
        return v == v.rounded() ? String(Int(v)) : String(v)
    }

    static func verdictLabel(_ v: Verdict, _ lang: ReportLanguage = .en) -> String {
        switch (v, lang) {
        case (.pass, .en): return "PASS"
        case (.fail, .en): return "FAIL"
        case (.warn, .en): return "WARN"
        case (.notExercised, .en): return "N/E"
        case (.pass, .zh): return "通过"
        case (.fail, .zh): return "不通过"
        case (.warn, .zh): return "警告"
        case (.notExercised, .zh): return "未执行"
        }
    }

    /// One line of a wire log: `+0.611s ↑ ##0200QN=…`. The tool's own words (remarks, and the
    /// labels of what it sent, such as `piece 1/5: …`) are in the report's language; frames are data
    /// and stay as they were.
    public static func wireLine(_ w: WireRecord, _ messages: MessageCatalogue = MessageCatalogue(), _ lang: ReportLanguage = .en) -> String {
        let arrow: String
        var text = w.text
        switch w.direction {
        case .up: arrow = "↑"
        case .down: arrow = "↓"
        case .note: arrow = "·"
        }
        if lang == .zh, !text.hasPrefix("##") {
            // A label's values are bytes sent: only a remark's values are localized in turn.
            text = w.direction == .note ? messages.localized(text, lang) : messages.localized(text, depth: 2)
        }
        if lang == .zh { text = WireLog.cutMarkerZh(text) }
        let t = (w.time * 1000).rounded() / 1000
        var ts = String(t)
        if let dot = ts.firstIndex(of: ".") {
            let decimals = ts.distance(from: dot, to: ts.endIndex) - 1
            if decimals < 3 { ts += String(repeating: "0", count: 3 - decimals) }
        }
        return "+\(ts)s \(arrow) \(text)"
    }

    /// Both titles, the chosen language first.
    static func titles(_ r: CheckRule, _ lang: ReportLanguage) -> String {
        lang == .zh ? "\(r.titleZh) / \(r.titleEn)" : "\(r.titleEn) / \(r.titleZh)"
    }

    static func pad(_ s: String, _ width: Int) -> String {
        // Width in terminal columns: CJK characters take two.
        let w = s.unicodeScalars.reduce(0) { $0 + (isWide($1) ? 2 : 1) }
        return w >= width ? s : s + String(repeating: " ", count: width - w)
    }

    static func isWide(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        return (v >= 0x1100 && v <= 0x115F) || (v >= 0x2E80 && v <= 0xA4CF) || (v >= 0xAC00 && v <= 0xD7A3)
            || (v >= 0xF900 && v <= 0xFAFF) || (v >= 0xFE30 && v <= 0xFE4F) || (v >= 0xFF00 && v <= 0xFF60) || (v >= 0xFFE0 && v <= 0xFFE6)
    }

    static func formatSeconds(_ s: Double) -> String {
        if s < 60 { return "\(((s * 10).rounded()) / 10) s" }
        let m = Int(s) / 60
        return "\(m) min \(Int(s) % 60) s"
    }

    // MARK: - JSON

    static func json(_ run: CheckRun, lang: ReportLanguage) -> String {
        let score = run.score
        func number(_ v: Double?) -> JSONValue {
            guard let v else { return .null }
            return v == v.rounded() ? .int(Int(v)) : .double(v)
        }
        let checks: [JSONValue] = run.results.map { r in
            let v = CheckScore.effective(r, strict: run.strict)
            var members: [(String, JSONValue)] = [
                ("id", .string(r.rule.id)),
                ("level", .string(r.rule.level.rawValue)),
                ("verdict", .string(v.rawValue)),
                ("message", .string(r.message)),
                ("message_localized", .string(run.messages.localized(r.message, lang))),
                ("title", .string(r.rule.title(lang))),
                ("titles", .object([("zh", .string(r.rule.titleZh)), ("en", .string(r.rule.titleEn))])),
                ("group", .string(r.rule.group)),
                ("group_name", .string(r.rule.groupName(lang))),
                ("clause", .string(r.rule.clause)),
                ("exercise", .string(r.rule.exercise)),
            ]
            if v != r.verdict { members.append(("raw_verdict", .string(r.verdict.rawValue))) }
            members.append(("wire", .array(r.wire.map { w in
                .object([("t", .double(w.time)), ("dir", .string(w.direction.rawValue)), ("text", .string(w.text))])
            })))
            return .object(members)
        }
        let groups: [JSONValue] = score.groups.map { g in
            .object([("name", .string(g.name)), ("score", number(g.score)), ("pass", .int(g.pass)), ("fail", .int(g.fail)),
                     ("warn", .int(g.warn)), ("not_exercised", .int(g.notExercised))])
        }
        let doc: JSONValue = .object([
            ("tool", .string("hj212")),
            ("target", .string(run.target.rawValue)),
            ("address", .string(run.address)),
            ("profile", .string(run.profile.rawValue)),
            ("catalogue", .string(run.catalogueVersion)),
            ("strict", .bool(run.strict)),
            ("started", .string(run.started)),
            ("seconds", .double(run.seconds)),
            ("reachable", .bool(run.reachable)),
            ("interrupted", .bool(run.interrupted)),
            ("verdict", .string(run.verdict.rawValue)),
            // null when nothing was exercised (the text report says "-").
            ("score", number(score.overall)),
            ("coverage", .object([("must_exercised", .int(run.coverage.exercised)), ("must_in_scope", .int(run.coverage.inScope)),
                                  ("text", .string(run.coverageText(lang)))])),
            ("outcome", .string(outcome(run))),
            ("reason", .string(outcomeLine(run, score, lang: lang))),
            ("plan", run.plan.map { .string($0.rawValue) } ?? .null),
            ("exit_status", .int(Int(run.exitStatus))),
            ("counts", .object([("pass", .int(score.pass)), ("fail", .int(score.fail)), ("warn", .int(score.warn)),
                                ("not_exercised", .int(score.notExercised)), ("blocking_failures", .int(score.blockingFailures))])),
            ("groups", .array(groups)),
            ("facts", .array(run.facts.map { .object([("name", .string($0.0)), ("value", .string($0.1))]) })),
            ("checks", .array(checks)),
            ("out_of_scope", .array(run.outOfScope.map { o in
                .object([("id", .string(o.rule.id)), ("level", .string(o.rule.level.rawValue)), ("title", .string(o.rule.title(lang))), ("why", .string(o.why))])
            })),
        ])
        return doc.serialized + "\n"
    }

    // MARK: - JUnit XML

    /// Escapes text for XML content and attributes; characters XML 1.0 cannot carry are shown as `\xNN`.
    static func xml(_ s: String) -> String {
        var out = ""
        for ch in s.unicodeScalars {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\n", "\t": out.unicodeScalars.append(ch)
            case "\r": out += "&#13;"
            default:
                if ch.value < 0x20 || (ch.value >= 0xFFFE && ch.value <= 0xFFFF) {
                    out += "\\x" + String(ch.value, radix: 16, uppercase: true)
                } else {
                    out.unicodeScalars.append(ch)
                }
            }
        }
        return out
    }

    static func junit(_ run: CheckRun, lang: ReportLanguage) -> String {
        let score = run.score
        let suiteName = "hj212.check.\(run.target.rawValue)"
        var s = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        // The verdict is a test case of its own, first: CI turns red on fail (failure) and on
        // incomplete (error), so a run that tested too little is never green.
        let verdictErrors = run.verdict == .incomplete ? 1 : 0, verdictFailures = run.verdict == .fail ? 1 : 0
        let outOfScope = run.outOfScope.count
        s += "<testsuites name=\"\(xml("hj212 check \(run.target.rawValue) \(run.address)"))\" tests=\"\(run.results.count + 1 + outOfScope + (run.reachable ? 0 : 1))\" failures=\"\(score.fail + verdictFailures)\" errors=\"\(verdictErrors + (run.reachable ? 0 : 1))\" skipped=\"\(score.notExercised + outOfScope)\" time=\"\(run.seconds)\">\n"
        s += "  <testsuite name=\"\(xml(suiteName)).verdict\" tests=\"1\" failures=\"\(verdictFailures)\" errors=\"\(verdictErrors)\" skipped=\"0\" time=\"\(run.seconds)\">\n"
        let verdictName = lang == .zh ? "结论 \(run.verdict.label(lang))：\(run.coverageText(lang))" : "verdict \(run.verdict.rawValue): \(run.coverageText(lang))"
        s += "    <testcase classname=\"\(xml(suiteName)).verdict\" name=\"\(xml(verdictName))\" time=\"\(run.seconds)\">\n"
        let reason = outcomeLine(run, score, lang: lang)
        switch run.verdict {
        case .pass: s += "      <system-out>\(xml(reason))</system-out>\n"
        case .fail: s += "      <failure type=\"fail\" message=\"\(xml(reason))\"/>\n"
        case .incomplete: s += "      <error type=\"\(run.reachable ? "incomplete" : "unreachable")\" message=\"\(xml(reason))\"/>\n"
        }
        s += "    </testcase>\n  </testsuite>\n"
        let byGroup = Dictionary(grouping: run.results, by: { $0.rule.group })
        let groupNames = score.groups.map(\.name)
        for (gi, name) in groupNames.enumerated() {
            let g = score.groups[gi]
            let results = byGroup[name] ?? []
            s += "  <testsuite name=\"\(xml("\(suiteName).\(name)"))\" tests=\"\(results.count)\" failures=\"\(g.fail)\" errors=\"0\" skipped=\"\(g.notExercised)\" time=\"0\""
            if !run.started.isEmpty { s += " timestamp=\"\(xml(run.started))\"" }
            s += ">\n"
            if gi == 0 {
                s += "    <properties>\n"
                var props: [(String, String)] = [("address", run.address), ("profile", run.profile.rawValue), ("strict", String(run.strict)),
                                                 ("verdict", run.verdict.rawValue), ("coverage", "\(run.coverage.exercised)/\(run.coverage.inScope)"),
                                                 ("score", scoreText(score.overall)), ("outcome", outcome(run)), ("reachable", String(run.reachable)),
                                                 ("interrupted", String(run.interrupted))]
                if !run.catalogueVersion.isEmpty { props.append(("catalogue", run.catalogueVersion)) }
                // Keys stay as they are (machine names, as in JSON); fact values are prose, in the report's language.
                props += run.facts.map { ($0.0, run.messages.localized($0.1, lang)) }
                for (k, v) in props { s += "      <property name=\"\(xml(k))\" value=\"\(xml(v))\"/>\n" }
                s += "    </properties>\n"
            }
            for r in results {
                let v = CheckScore.effective(r, strict: run.strict)
                let message = run.messages.localized(r.message, lang)
                s += "    <testcase classname=\"\(xml("\(suiteName).\(name)"))\" name=\"\(xml("\(r.rule.id) [\(r.rule.level.rawValue)] \(titles(r.rule, lang))"))\" time=\"0\""
                var body = ""
                switch v {
                case .fail:
                    var detail = "\(message)\n\(word("clause: ", "条款：", lang))\(r.rule.clause(lang))\n\(word("exercise: ", "方法：", lang))\(r.rule.exercise(lang))\n"
                    if !r.wire.isEmpty { detail += word("wire:\n", "通讯记录：\n", lang) + r.wire.map { "  " + wireLine($0, run.messages, lang) }.joined(separator: "\n") + "\n" }
                    body = "      <failure type=\"\(r.rule.level.rawValue)\" message=\"\(xml(message))\">\(xml(detail))</failure>\n"
                case .notExercised:
                    let prefix = r.rule.level == .must ? word("MUST check not exercised (the run is incomplete): ", "必检项未执行（结论为未完成）：", lang) : word("not exercised: ", "未执行：", lang)
                    body = "      <skipped message=\"\(xml(prefix + message))\"/>\n"
                case .warn:
                    var detail = word("WARN (\(r.rule.level.rawValue), not counted without --strict): ", "警告（\(r.rule.level.rawValue)，非严格模式不计入）：", lang) + "\(message)\n"
                    if !r.wire.isEmpty { detail += r.wire.map { "  " + wireLine($0, run.messages, lang) }.joined(separator: "\n") + "\n" }
                    body = "      <system-out>\(xml(detail))</system-out>\n"
                case .pass:
                    body = message.isEmpty ? "" : "      <system-out>\(xml(message))</system-out>\n"
                }
                s += body.isEmpty ? "/>\n" : ">\n" + body + "    </testcase>\n"
            }
            s += "  </testsuite>\n"
        }
        if outOfScope > 0 {
            s += "  <testsuite name=\"\(xml(suiteName)).out-of-scope\" tests=\"\(outOfScope)\" failures=\"0\" errors=\"0\" skipped=\"\(outOfScope)\" time=\"0\">\n"
            for o in run.outOfScope {
                s += "    <testcase classname=\"\(xml(suiteName)).out-of-scope\" name=\"\(xml("\(o.rule.id) [\(o.rule.level.rawValue)] \(titles(o.rule, lang))"))\" time=\"0\">\n"
                s += "      <skipped message=\"\(xml(word("out of scope: ", "不在检测范围内：", lang) + run.messages.localized(o.why, lang)))\"/>\n    </testcase>\n"
            }
            s += "  </testsuite>\n"
        }
        if !run.reachable {
            s += "  <testsuite name=\"\(xml(suiteName)).connection\" tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\" time=\"\(run.seconds)\">\n"
            let why = run.facts.first { $0.0 == "unreachable" }?.1 ?? "the target could not be reached"
            s += "    <testcase classname=\"\(xml(suiteName)).connection\" name=\"reach \(xml(run.address))\" time=\"\(run.seconds)\">\n"
            s += "      <error type=\"unreachable\" message=\"\(xml(why))\"/>\n    </testcase>\n  </testsuite>\n"
        }
        s += "</testsuites>\n"
        return s
    }

    /// An inline SVG bar per group (score 0–100), green to red.
    static func groupBars(_ score: CheckScore, names: [String: String] = [:], notExercisedLabel: String = "n/e") -> String {
        let rowH = 22.0, labelW = 110.0, barW = 420.0
        let h = Double(score.groups.count) * rowH + 8
        var s = "<figure class=\"chart\"><svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(labelW + barW + 60)) \(Int(h))\" width=\"\(Int(labelW + barW + 60))\" height=\"\(Int(h))\">"
        for (i, g) in score.groups.enumerated() {
            let y = 4 + Double(i) * rowH
            s += "<text x=\"\(Int(labelW - 6))\" y=\"\(Int(y + 15))\" text-anchor=\"end\">\(HTMLPage.escape(names[g.name] ?? g.name))</text>"
            s += "<rect x=\"\(Int(labelW))\" y=\"\(Int(y + 3))\" width=\"\(Int(barW))\" height=\"14\" class=\"frame\"/>"
            if let v = g.score {
                let colour = g.fail > 0 ? "#d62728" : (g.warn > 0 ? "#e6a100" : "#2a9d4a")
                s += "<rect x=\"\(Int(labelW))\" y=\"\(Int(y + 3))\" width=\"\(Int(barW * v / 100))\" height=\"14\" fill=\"\(colour)\"/>"
                s += "<text x=\"\(Int(labelW + barW + 6))\" y=\"\(Int(y + 15))\">\(HTMLPage.escape(scoreText(v)))</text>"
            } else {
                s += "<text x=\"\(Int(labelW + barW + 6))\" y=\"\(Int(y + 15))\">\(notExercisedLabel)</text>"
            }
        }
        return s + "</svg></figure>"
    }

    // MARK: - List

    /// `check --list`: the catalogue, grouped, with level, profiles, titles, clause and how each
    /// check is exercised.
    public static func list(_ catalogue: RuleCatalogue, target: CheckTarget?, selection: CheckSelection, lang: ReportLanguage) -> String {
        var s = ""
        for t in CheckTarget.allCases where target == nil || target == t {
            let rules = catalogue.rules(for: t).filter { selection.selects($0) }
            let all = catalogue.rules(for: t)
            s += "\(t == .platform ? "check platform" : "check logger"): \(rules.count) of \(all.count) checks (catalogue \(catalogue.versions[t] ?? "?"), profile \(selection.profile.rawValue))\n"
            var groups: [String] = []
            for r in rules where !groups.contains(r.group) { groups.append(r.group) }
            for g in groups {
                let members = rules.filter { $0.group == g }
                s += "\n  [\(g)]\n"
                for r in members {
                    var notes = r.profiles.map(\.rawValue)
                    if r.target == .logger && r.plan != .quick { notes.append("--plan \(r.plan.rawValue)") }
                    let profiles = notes.isEmpty ? "" : "  (\(notes.joined(separator: ", ")))"
                    s += "  \(pad(r.id, 18)) \(pad(r.level.rawValue, 6)) \(titles(r, lang))\(profiles)\n"
                    s += wrap("\(word("clause:", "条款：", lang)) \(r.clause(lang))", indent: 28, width: 110)
                    s += wrap("\(word("how:", "方法：", lang)) \(r.exercise(lang))", indent: 28, width: 110)
                }
            }
            let skipped = all.count - rules.count
            if skipped > 0 { s += "\n  (\(skipped) more not selected by --only/--skip or not in profile \(selection.profile.rawValue))\n" }
            s += "\n"
        }
        s += "Levels weigh 3 (MUST), 2 (SHOULD), 1 (MAY) in the score; --only/--skip select by ID prefix.\n"
        return s
    }

    static func wrap(_ text: String, indent: Int, width: Int) -> String {
        var lines: [String] = []
        var line = ""
        let room = max(20, width - indent)
        for word in text.split(separator: " ", omittingEmptySubsequences: true) {
            if !line.isEmpty && line.count + 1 + word.count > room {
                lines.append(line)
                line = ""
            }
            line += line.isEmpty ? String(word) : " " + word
        }
        if !line.isEmpty { lines.append(line) }
        let pad = String(repeating: " ", count: indent)
        return lines.map { pad + $0 + "\n" }.joined()
    }
}
