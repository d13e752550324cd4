import HJ212
import HJAnalysis
import HJReportKit

/// The offline report page (`hj212 report --format html`): figures, the injections with their
/// detection, the alarms, and a chart per unit and factor with the ground-truth windows shaded
/// and the alarms marked. One self-contained file: inline CSS, SVG and a few lines of script.
public struct ReportPage: Sendable {
    public var title = "hj212 anomaly report 异常报告"
    public var sources: [String] = []
    public var run: TraceAnalysis
    public var catalogue: AnomalyCatalogue
    public var profiles: [String: UnitProfile]
    /// nil when no ground truth was given.
    public var score: DetectionScore?
    /// Fault ID → (zh, en) from Profiles/faults/catalogue.json.
    public var faultNames: [String: (String, String)] = [:]
    public var dictionary: CodeDictionary?
    /// At most this many charts (units with alarms or injections first).
    public var maxCharts = 400

    public init(run: TraceAnalysis, catalogue: AnomalyCatalogue, profiles: [String: UnitProfile], score: DetectionScore?) {
        self.run = run
        self.catalogue = catalogue
        self.profiles = profiles
        self.score = score
    }

    func ruleName(_ id: String) -> String {
        catalogue.rule(id).map { "\($0.zh) \($0.en)" } ?? id
    }

    func factorLabel(_ code: String) -> (String, String) {
        guard let f = dictionary?.factor(code) else { return (code, "") }
        return ("\(code) \(f.nameZh) \(f.nameEn)", f.unit)
    }

    func unitLabel(_ mn: String) -> String {
        profiles[mn].map { "\(mn) · \($0.titleZh) \($0.titleEn)" } ?? mn
    }

    /// An injection's outcome (`DetectionScore.Outcome.result`) in the page's two languages.
    static let resultLabel = ["detected": "detected 检出", "missed": "missed 漏报", "not scored": "not scored 不计",
                              "not covered": "not covered 未覆盖"]

    static func time(_ t: Int64?) -> String { t.map { HJTime(wallMilliseconds: $0).description } ?? "…" }

    static func duration(_ ms: Int64) -> String {
        let s = ms / 1000
        if s < 60 { return "\(s) s" }
        if s < 3600 { return "\(s / 60) min" }
        return "\(s / 3600) h \(s % 3600 / 60) min"
    }

    public func render() -> String {
        var page = HTMLPage(title: title, lang: "zh-CN")
        let e = HTMLPage.escape
        page.raw("<style>\(SeriesChart.css)\(Self.css)</style>")
        page.paragraph("Traces: \(sources.map { TerminalText.safe($0) }.joined(separator: ", ")) · \(Self.time(run.firstTime)) – \(Self.time(run.lastTime)) · \(run.units.count) units · \(run.records) records", cssClass: "meta")
        var figures: [(label: String, value: String, tone: HTMLPage.Tone)] = [
            ("alarms 告警", "\(run.alarms.count)", .neutral),
        ]
        if let score {
            let scored = score.outcomes.filter(\.scored)
            figures.insert(("recall 检出率 (\(scored.filter { $0.alarm != nil }.count)/\(scored.count))", score.recall.map { Self.percent($0) } ?? "n/a", (score.recall ?? 0) >= 0.95 ? .pass : .fail), at: 0)
            figures.insert(("precision 准确率", score.precision.map { Self.percent($0) } ?? "n/a (no alarm)", (score.precision ?? 1) >= 0.9 ? .pass : .fail), at: 1)
            figures.append(("false alarms 误报", "\(score.falseAlarms.count)", score.falseAlarms.isEmpty ? .pass : .warn))
        }
        page.figures(figures)
        page.raw("<div id=\"errors\" hidden></div>")
        page.raw("<p class=\"controls\"><label><input type=\"checkbox\" id=\"truth-toggle\" checked> show ground truth 显示真值 (shaded)</label></p>")

        if let score {
            page.heading("Injections 注入的故障")
            var rows: [[String]] = []
            var tones: [HTMLPage.Tone?] = []
            for o in score.outcomes {
                let i = o.injection
                let name = faultNames[i.fault].map { "\(i.fault) \($0.0) \($0.1)" } ?? i.fault
                rows.append([unitLabel(i.mn), name, i.layer, i.factor ?? "", "\(Self.time(i.start)) – \(i.end.map { Self.time($0) } ?? "end")",
                             Self.resultLabel[o.result] ?? o.result,
                             o.alarm.map { "#\($0.id) \(ruleName($0.rule))" } ?? "", o.delayMs.map { Self.duration($0) } ?? ""])
                tones.append(o.scored && o.covered ? (o.alarm != nil ? .pass : .fail) : .skip)
            }
            page.table(header: ["unit 监控点", "fault 故障", "layer", "factor 因子", "window 时段", "result 结果", "rule 规则", "after 用时"], rows: rows, tones: tones)
            if !score.classes.isEmpty {
                page.heading("Per fault class 按故障类型", level: 3)
                page.table(header: ["fault", "injections", "detected", "recall", "true alarms", "false alarms", "precision"], rows: score.classes.map {
                    [$0.fault, "\($0.injections)", "\($0.detected)", $0.recall.map { Self.percent($0) } ?? "n/a", "\($0.trueAlarms)", "\($0.falseAlarms)", $0.precision.map { Self.percent($0) } ?? "n/a"]
                })
            }
        }

        page.heading("Alarms 告警")
        let falseIDs = Set(score?.falseAlarms.map(\.id) ?? [])
        page.table(header: ["#", "rule 规则", "unit 监控点", "factor 因子", "start 开始", "end 结束", "evidence 证据"], rows: run.alarms.map { a in
            ["\(a.id)", ruleName(a.rule), unitLabel(a.mn), a.factor ?? "", Self.time(a.start), a.end.map { Self.time($0) } ?? "open 持续", TerminalText.safe(a.evidence)]
        }, tones: run.alarms.map { score == nil ? nil : (falseIDs.contains($0.id) ? .warn : .fail) })

        page.heading("Charts 曲线")
        var charts = 0
        let from = run.firstTime ?? 0, to = run.lastTime ?? 0
        let injections = score?.outcomes.map(\.injection) ?? []
        let interesting = Set(run.alarms.map(\.mn) + injections.map(\.mn))
        let ordered = run.units.filter { interesting.contains($0) } + run.units.filter { !interesting.contains($0) }
        for mn in ordered {
            let keys = run.series.keys.filter { $0.mn == mn }
            let factors = Array(Set(keys.map(\.factor))).sorted { a, b in
                let pa = profiles[mn]?.factors.firstIndex { $0.code == a } ?? 999, pb = profiles[mn]?.factors.firstIndex { $0.code == b } ?? 999
                return pa != pb ? pa < pb : a < b
            }
            guard !factors.isEmpty else { continue }
            var section = "<section class=\"unit\" data-mn=\"\(e(mn))\"><h3>\(e(unitLabel(mn)))</h3>"
            for code in factors {
                guard charts < maxCharts else { break }
                let kind: SeriesKind = run.series[SeriesKey(mn: mn, factor: code, kind: .minute)] != nil ? .minute : keys.filter { $0.factor == code }.map(\.kind).min()!
                let points = run.series[SeriesKey(mn: mn, factor: code, kind: kind)] ?? []
                let (label, yUnit) = factorLabel(code)
                let truth = injections.filter { $0.mn == mn && ($0.factor == code || $0.factor == nil || !(catalogue.rules(detecting: $0.fault).first?.factorMatch ?? true)) }
                    .map { (start: $0.start, end: $0.end, label: "truth 真值: \($0.fault) \($0.factor ?? "")") }
                let alarms = run.alarms.filter { $0.mn == mn && ($0.factor == code || $0.factor == nil) }
                    .map { (start: $0.start, end: $0.end, label: "#\($0.id) \(ruleName($0.rule)): \($0.evidence)") }
                let chart = SeriesChart(title: "\(label) · \(kind.title)", yUnit: yUnit, points: points, from: from, to: to,
                                        limit: profiles[mn]?.factor(code)?.limit ?? (code == "a01901" ? catalogue.parameter("process.furnace-low", "minimum", 850) : nil), truth: truth, alarms: alarms,
                                        dataAttributes: [("unit", mn), ("factor", code)])
                section += chart.svg()
                charts += 1
            }
            page.raw(section + "</section>")
            if charts >= maxCharts { page.paragraph("Chart budget reached: \(maxCharts) charts (units with alarms or injections first).", cssClass: "meta"); break }
        }
        page.raw("<script>\(Self.script)</script>")
        return page.render()
    }

    static func percent(_ v: Double) -> String { String(Int((v * 1000).rounded()) / 10) + "." + String(Int((v * 1000).rounded()) % 10) + " %" }

    static let css = """
    section.unit{margin:1.2em 0}section.unit h3{margin:.4em 0}p.controls{margin:.6em 0}
    """

    /// The only script: the ground-truth overlay switch.
    static let script = """
    window.addEventListener('error',function(e){var b=document.getElementById('errors');if(b){b.hidden=false;var p=document.createElement('p');p.className='error';p.textContent=String(e.message);b.appendChild(p);}});
    (function(){var t=document.getElementById('truth-toggle');if(!t)return;t.addEventListener('change',function(){document.body.classList.toggle('hide-truth',!t.checked);});})();
    """
}
