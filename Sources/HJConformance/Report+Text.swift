import HJ212

/// The text report and the terminal summary: the verdict and the coverage first, then the score.
extension CheckReport {
    /// The words of the text and HTML reports, in the chosen language.
    static func word(_ en: String, _ zh: String, _ lang: ReportLanguage) -> String { lang == .zh ? zh : en }

    /// The verdict as a banner: the first thing a reader sees.
    static func banner(_ run: CheckRun, lang: ReportLanguage) -> String {
        let label = "\(word("VERDICT: ", "结论：", lang))\(outcome(run, lang: lang))"
        let bar = String(repeating: "█", count: 3)
        return "\(bar) \(label) \(bar)\n"
    }

    static func header(_ run: CheckRun, lang: ReportLanguage) -> String {
        var s = "hj212 check \(run.target.rawValue) \(TerminalText.safe(run.address, limit: nil)) · \(word("profile", "规则配置", lang)) \(run.profile.rawValue)"
        if !run.catalogueVersion.isEmpty { s += " · \(word("catalogue", "检查目录", lang)) \(run.catalogueVersion)" }
        if let plan = run.plan { s += " · \(word("plan", "方案", lang)) \(plan.rawValue)" }
        return s + "\n"
    }

    static func text(_ run: CheckRun, lang: ReportLanguage) -> String {
        let score = run.score
        var s = header(run, lang: lang)
        s += "\(word("started", "开始", lang)) \(run.started.isEmpty ? "-" : run.started) · \(formatSeconds(run.seconds)) · "
        s += run.strict ? word("strict", "严格模式", lang) : word("not strict (SHOULD/MAY failures are warnings)", "非严格模式（SHOULD/MAY 不通过记为警告）", lang)
        s += "\n\n" + banner(run, lang: lang)
        s += "\(word("coverage: ", "覆盖：", lang))\(run.coverageText(lang))\n"
        s += "\(word("why: ", "原因：", lang))\(outcomeLine(run, score, lang: lang))\n"
        s += "\n\(word("SCORE", "得分", lang)) \(scoreText(score.overall))/100 \(word("(over the checks exercised)", "（按已执行的检查计）", lang))\n"
        s += "\(word("pass", "通过", lang)) \(score.pass) · \(word("fail", "不通过", lang)) \(score.fail) · \(word("warn", "警告", lang)) \(score.warn) · "
        s += "\(word("not exercised", "未执行", lang)) \(score.notExercised) · \(word("out of scope", "不在范围内", lang)) \(run.outOfScope.count)\n"
        let byGroup = Dictionary(grouping: run.results, by: { $0.rule.group })
        for g in score.groups {
            let name = byGroup[g.name]?.first?.rule.groupName(lang) ?? g.name
            s += "\n\(name)  \(scoreText(g.score))\(g.score == nil ? "" : "/100")  (\(word("pass", "通过", lang)) \(g.pass), \(word("fail", "不通过", lang)) \(g.fail), "
            s += "\(word("warn", "警告", lang)) \(g.warn), \(word("n/e", "未执行", lang)) \(g.notExercised))\n"
            for r in byGroup[g.name] ?? [] {
                let v = CheckScore.effective(r, strict: run.strict)
                s += "  \(pad(verdictLabel(v, lang), 6)) \(pad(r.rule.id, 18)) \(pad(r.rule.level.rawValue, 6)) \(r.rule.title(lang))\n"
                if !r.message.isEmpty { s += "        \(TerminalText.safe(run.messages.localized(r.message, lang), limit: nil))\n" }
            }
        }
        if !run.outOfScope.isEmpty {
            s += "\n\(word("Out of scope (not counted)", "不在检测范围内（不计入结论）", lang))\n"
            for o in run.outOfScope {
                s += "  \(pad(o.rule.id, 18)) \(pad(o.rule.level.rawValue, 6)) \(o.rule.title(lang)): \(run.messages.localized(o.why, lang))\n"
            }
        }
        let flagged = run.results.filter { let v = CheckScore.effective($0, strict: run.strict); return v == .fail || v == .warn }
        if !flagged.isEmpty {
            s += "\n\(word("Failures and warnings", "不通过与警告", lang))\n"
            for r in flagged {
                let v = CheckScore.effective(r, strict: run.strict)
                s += "\n\(verdictLabel(v, lang)) \(r.rule.id) [\(r.rule.level.rawValue)] \(titles(r.rule, lang))\n"
                s += "  \(word("clause:  ", "条款：", lang)) \(r.rule.clause(lang))\n"
                s += "  \(word("exercise:", "方法：", lang)) \(r.rule.exercise(lang))\n"
                s += "  \(word("result:  ", "结果：", lang)) \(TerminalText.safe(run.messages.localized(r.message, lang), limit: nil))\n"
                if !r.wire.isEmpty {
                    s += "  \(word("wire:", "通讯记录：", lang))\n"
                    for w in r.wire { s += "    \(TerminalText.safe(wireLine(w, run.messages, lang), limit: nil))\n" }
                }
            }
        }
        if !run.facts.isEmpty {
            s += "\n\(word("Facts", "运行信息", lang))\n"
            let names = run.facts.map { run.messages.factName($0.0, lang) + word(":", "：", lang) }
            let width = min(24, (names.map { $0.count * (lang == .zh ? 2 : 1) }.max() ?? 0) + 1)
            for ((_, v), name) in zip(run.facts, names) { s += "  \(pad(name, width)) \(TerminalText.safe(run.messages.localized(v, lang), limit: nil))\n" }
        }
        return s
    }

    /// A few lines for the terminal when the full report goes to a file: verdict, coverage,
    /// score and the failed checks.
    public static func summary(_ run: CheckRun, lang: ReportLanguage) -> String {
        let score = run.score
        var s = header(run, lang: lang) + banner(run, lang: lang)
        s += "\(word("coverage: ", "覆盖：", lang))\(run.coverageText(lang)) · \(word("why: ", "原因：", lang))\(outcomeLine(run, score, lang: lang))\n"
        s += "\(word("SCORE", "得分", lang)) \(scoreText(score.overall))/100 · "
        s += "\(word("pass", "通过", lang)) \(score.pass) · \(word("fail", "不通过", lang)) \(score.fail) · \(word("warn", "警告", lang)) \(score.warn) · "
        s += "\(word("not exercised", "未执行", lang)) \(score.notExercised) · \(formatSeconds(run.seconds))\n"
        for r in run.results {
            let v = CheckScore.effective(r, strict: run.strict)
            guard v == .fail || v == .warn else { continue }
            s += "  \(pad(verdictLabel(v, lang), 6)) \(pad(r.rule.id, 18)) \(r.rule.title(lang)): \(TerminalText.safe(run.messages.localized(r.message, lang), limit: nil))\n"
        }
        if !run.reachable, let why = run.facts.first(where: { $0.0 == "unreachable" }) { s += "  \(TerminalText.safe(run.messages.localized(why.1, lang), limit: nil))\n" }
        return s
    }
}
