import HJ212
import HJReportKit

/// The HTML report: a self-contained page with the verdict and the coverage first, in large type.
extension CheckReport {
    static func tone(_ v: Verdict) -> HTMLPage.Tone {
        switch v {
        case .pass: return .pass
        case .fail: return .fail
        case .warn: return .warn
        case .notExercised: return .skip
        }
    }

    static func html(_ run: CheckRun, lang: ReportLanguage) -> String {
        let score = run.score
        let zh = lang == .zh
        let targetName = run.target == .platform ? (zh ? "平台" : "platform") : (zh ? "数采仪" : "data logger")
        var page = HTMLPage(title: zh ? "hj212 联网检测报告：\(targetName) \(run.address)" : "hj212 certification report: \(targetName) \(run.address)",
                            lang: zh ? "zh-CN" : "en")
        // The verdict, large, before anything else.
        let colour: String
        switch run.verdict {
        case .pass: colour = "#2a9d4a"
        case .fail: colour = "#d62728"
        case .incomplete: colour = "#b37a00"
        }
        page.raw("<div class=\"verdict\" style=\"border:4px solid \(colour);border-radius:8px;padding:.6em 1em;margin:1em 0\">"
                 + "<div style=\"font-size:3em;font-weight:700;color:\(colour)\">\(HTMLPage.escape(word("VERDICT: ", "结论：", lang)))\(HTMLPage.escape(outcome(run, lang: lang)))</div>"
                 + "<div style=\"font-size:1.5em;font-weight:600\">\(HTMLPage.escape(run.coverageText(lang)))</div>"
                 + "<div>\(HTMLPage.escape(outcomeLine(run, score, lang: lang)))</div></div>")
        var meta = "\(word("profile", "规则配置", lang)) \(run.profile.rawValue)"
        if !run.catalogueVersion.isEmpty { meta += " · \(word("catalogue", "检查目录", lang)) \(run.catalogueVersion)" }
        if let plan = run.plan { meta += " · \(word("plan", "方案", lang)) \(plan.rawValue)" }
        meta += " · \(word("started", "开始", lang)) \(run.started.isEmpty ? "-" : run.started) · \(formatSeconds(run.seconds)) · "
        meta += run.strict ? word("strict", "严格模式", lang) : word("not strict", "非严格模式", lang)
        page.paragraph(meta, cssClass: "meta")
        let outcomeTone: HTMLPage.Tone = run.verdict == .pass ? .pass : (run.verdict == .fail ? .fail : .warn)
        page.figures([
            (word("score (over the checks exercised)", "得分（按已执行的检查计）", lang), scoreText(score.overall), outcomeTone),
            (word("pass", "通过", lang), String(score.pass), .pass),
            (word("fail", "不通过", lang), String(score.fail), score.fail > 0 ? .fail : .neutral),
            (word("warn", "警告", lang), String(score.warn), score.warn > 0 ? .warn : .neutral),
            (word("not exercised", "未执行", lang), String(score.notExercised), .neutral),
            (word("out of scope", "不在范围内", lang), String(run.outOfScope.count), .neutral),
        ])
        page.heading(word("Scores by group", "分组得分", lang))
        let groupNames = Dictionary(run.results.map { ($0.rule.group, $0.rule.groupName(lang)) }, uniquingKeysWith: { a, _ in a })
        page.raw(groupBars(score, names: groupNames, notExercisedLabel: word("n/e", "未执行", lang)))
        page.table(header: [word("group", "分组", lang), word("score", "得分", lang), word("pass", "通过", lang), word("fail", "不通过", lang),
                            word("warn", "警告", lang), word("not exercised", "未执行", lang)],
                   rows: score.groups.map { [groupNames[$0.name] ?? $0.name, scoreText($0.score), String($0.pass), String($0.fail), String($0.warn), String($0.notExercised)] },
                   tones: score.groups.map { $0.fail > 0 ? .fail : ($0.warn > 0 ? .warn : ($0.score == nil ? .skip : .pass)) })
        page.heading(word("All checks", "全部检查项", lang))
        let effective = run.results.map { CheckScore.effective($0, strict: run.strict) }
        page.table(header: [word("verdict", "结论", lang), "ID", word("level", "级别", lang), word("check", "检查项", lang), word("clause", "条款", lang), word("result", "结果", lang)],
                   rows: zip(run.results, effective).map { r, v in [verdictLabel(v, lang), r.rule.id, r.rule.level.rawValue, titles(r.rule, lang), r.rule.clause(lang), run.messages.localized(r.message, lang)] },
                   tones: effective.map(tone))
        if !run.outOfScope.isEmpty {
            page.heading(word("Out of scope (not counted)", "不在检测范围内（不计入结论）", lang))
            page.table(header: ["ID", word("level", "级别", lang), word("check", "检查项", lang), word("why", "原因", lang)],
                       rows: run.outOfScope.map { [$0.rule.id, $0.rule.level.rawValue, titles($0.rule, lang), run.messages.localized($0.why, lang)] },
                       tones: run.outOfScope.map { _ in .skip })
        }
        let flagged = zip(run.results, effective).filter { $0.1 == .fail || $0.1 == .warn }
        if !flagged.isEmpty {
            page.heading(word("Failures and warnings, with the wire log", "不通过与警告（含通讯记录）", lang))
            for (r, v) in flagged {
                page.heading("\(verdictLabel(v, lang)) \(r.rule.id) [\(r.rule.level.rawValue)] \(titles(r.rule, lang))", level: 3)
                page.table(header: ["", ""], rows: [[word("clause", "条款", lang), r.rule.clause(lang)], [word("exercise", "方法", lang), r.rule.exercise(lang)],
                                                    [word("result", "结果", lang), run.messages.localized(r.message, lang)]], tones: [nil, nil, tone(v)])
                if r.wire.isEmpty {
                    page.paragraph(word("(no wire exchange kept for this check)", "（此项未保留通讯记录）", lang), cssClass: "meta")
                } else {
                    page.preformatted(r.wire.map { wireLine($0, run.messages, lang) }.joined(separator: "\n"))
                }
            }
        }
        if !run.facts.isEmpty {
            page.heading(word("Facts", "运行信息", lang))
            page.table(header: ["", ""], rows: run.facts.map { [run.messages.factName($0.0, lang), run.messages.localized($0.1, lang)] })
        }
        page.paragraph(word("↑ logger → platform · ↓ platform → logger · · note of the tool. Times in seconds from the start of the run. Generated by hj212.",
                            "↑ 数采仪 → 平台 · ↓ 平台 → 数采仪 · · 工具注记。时间为自运行开始的秒数。由 hj212 生成。", lang), cssClass: "meta")
        return page.render()
    }
}
