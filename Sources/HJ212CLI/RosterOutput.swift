import HJ212
import HJLoad
import HJReportKit
import HJStore

/// The roster as CSV (Annex 1 for bureau spreadsheets), JSON (machines) and HTML (people).
enum RosterOutput {
    /// Annex 1 columns, in order, then the figures.
    static let csvHeader = ["序号", "企业名称", "所在县区", "名录类别", "污染物名称", "是否涉VOCs", "是否安装设备", "联网情况", "是否参与考核", "不考核原因",
                            "MN", "应传小时数", "实传小时数", "有效小时数", "传输率", "有效率", "传输有效率", "说明"]

    static let method = "传输率 = 实传小时数/应传小时数; 有效率 = 有效小时数/实传小时数; 传输有效率 = 传输率 × 有效率 = 有效小时数/应传小时数. Hours from CN=2061 hour records; valid: every pollutant present, flags N or S (provisional: flag split from the IceCoffee.HJ212 annotation in the reference, HJ212.md; the ratios follow the national practice of assessing 数据传输有效率, whose text is not in the project's reference). Hours due from installed_since; none when 未安装. Figures provisional while the period ended less than 48 h ago."

    static func yesNo(_ b: Bool) -> String { b ? "是" : "否" }

    static func explanation(_ r: Roster.Row) -> String {
        var parts: [String] = []
        if !r.networkedReason.isEmpty { parts.append(r.networkedReason) }
        if r.unit.roster.notInstalled && r.installed && !r.networkedReason.contains("名录为未安装") { parts.append("名录为未安装，但已收到数据") }
        if let since = r.unit.roster.installedSince { parts.append("自 \(since.year)-\(pad(since.month))-\(pad(since.day)) 起应传") }
        if r.belowMark { parts.append("传输有效率低于 90 %") }
        if r.provisional { parts.append("暂定") }
        return parts.joined(separator: "；")
    }

    static func pad(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }

    static func cells(_ r: Roster.Row) -> [String] {
        [String(r.index), r.unit.enterprise, r.unit.county, r.unit.category, r.pollutantNames.joined(separator: "、"), yesNo(r.unit.voc),
         yesNo(r.installed), r.networked.rawValue, yesNo(r.assessed), r.unit.roster.reason,
         r.unit.identity.mn, String(r.hours.due), String(r.hours.received), String(r.hours.valid),
         Roster.percent(r.hours.transmissionRate), Roster.percent(r.hours.validityRate), Roster.percent(r.hours.effectiveRate), explanation(r)]
    }

    /// UTF-8 with BOM and CR LF (Excel on Chinese Windows opens it as UTF-8), RFC 4180 quoting.
    /// Every cell passes `csvCell`: no control character from a manifest or the wire reaches the
    /// file (or the terminal, without `--out`), and no cell is a formula to a spreadsheet.
    static func csv(_ roster: Roster) -> String {
        var out = "\u{FEFF}"
        func line(_ cells: [String]) {
            out += cells.map(csvCell).joined(separator: ",") + "\r\n"
        }
        line(csvHeader)
        for r in roster.rows { line(cells(r)) }
        return out
    }

    /// One CSV cell: control characters shown as escapes (`\\x1b`, `\\n`, as on the terminal), a
    /// leading `=`, `+`, `-` or `@` (a formula to Excel, e.g. `=HYPERLINK(…)` in an enterprise name
    /// or a flag from the wire) made text with a `'` before it, and RFC 4180 quotes where needed.
    /// `-`, the figure of a rate with nothing to divide by, is kept as it is.
    static func csvCell(_ c: String) -> String {
        var c = TerminalText.safe(c, limit: nil)
        if c != "-", let first = c.unicodeScalars.first, "=+-@".unicodeScalars.contains(first) { c = "'" + c }
        return c.contains(where: { $0 == "," || $0 == "\"" }) ? "\"" + c.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : c
    }

    /// A rate as it is (not rounded: a machine compares it with 0.9 itself).
    static func rate(_ r: Double?) -> JSONValue { r.map { .double($0) } ?? .null }

    /// `2026-11-01T00:00:00+08:00` (the roster's times are China time).
    static func iso(_ t: HJTime) -> String {
        t.description.replacingOccurrences(of: " ", with: "T") + "+08:00"
    }

    static func hoursJSON(_ h: Roster.Hours) -> [(String, JSONValue)] {
        [("hours_due", .int(h.due)), ("hours_received", .int(h.received)), ("hours_valid", .int(h.valid)),
         ("transmission_rate", rate(h.transmissionRate)), ("validity_rate", rate(h.validityRate)), ("effective_rate", rate(h.effectiveRate))]
    }

    static func countyJSON(_ c: Roster.County) -> JSONValue {
        .object([("county", .string(c.name)), ("units", .int(c.units)), ("assessed", .int(c.assessed)), ("installed", .int(c.installed)),
                 ("networked", .int(c.networked))] + hoursJSON(c.hours) + [("below_90", .int(c.belowMark))])
    }

    static func json(_ roster: Roster) -> String {
        let units: [JSONValue] = roster.rows.map { r in
            .object([("index", .int(r.index)), ("enterprise", .string(r.unit.enterprise)), ("county", .string(r.unit.county)),
                     ("category", .string(r.unit.category)), ("pollutants", .array(r.pollutantNames.map { .string($0) })),
                     ("pollutant_codes", .array(r.unit.pollutants.map { .string($0) })), ("voc", .bool(r.unit.voc)),
                     ("installed", .bool(r.installed)), ("networked", .string(r.networked.rawValue)), ("networked_en", .string(r.networked.english)),
                     ("networked_reason", .string(r.networkedReason)), ("assessed", .bool(r.assessed)), ("reason", .string(r.unit.roster.reason)),
                     ("mn", .string(r.unit.identity.mn))] + hoursJSON(r.hours)
                    + [("below_90", .bool(r.belowMark)), ("provisional", .bool(r.provisional))])
        }
        let doc: JSONValue = .object([
            ("period", .object([("from", .string(iso(roster.period.from))), ("to", .string(iso(roster.period.to))), ("to_exclusive", .bool(true))])),
            ("generated_at", .string(iso(roster.now))), ("provisional", .bool(roster.provisional)), ("method", .string(method)),
            ("units", .array(units)), ("counties", .array(roster.counties.map(countyJSON))), ("total", countyJSON(roster.total)),
            ("below_90", .array(roster.belowMark.map { .string($0.unit.identity.mn) })),
        ])
        return doc.serialized + "\n"
    }

    /// A self-contained page: figures, the county summary with a bar chart of the three rates,
    /// the units below 90 %, and the whole Annex 1 table.
    static func html(_ roster: Roster, fleetName: String) -> String {
        let p = roster.period
        var page = HTMLPage(title: "联网名录（附件1）\(fleetName) \(p.from.description) – \(p.to.description)", lang: "zh-CN")
        let t = roster.total
        page.figures([
            (label: "监控点 units", value: String(t.units), tone: .neutral),
            (label: "参与考核 assessed", value: String(t.assessed), tone: .neutral),
            (label: "联网 networked", value: String(t.networked), tone: .neutral),
            (label: "传输有效率 effective rate", value: Roster.percent(t.hours.effectiveRate), tone: (t.hours.effectiveRate ?? 0) >= Roster.mark ? .pass : .fail),
            (label: "低于 90 % below 90 %", value: String(t.belowMark), tone: t.belowMark == 0 ? .pass : .warn),
        ])
        if roster.provisional { page.paragraph("暂定 provisional: the period ended less than 48 h ago; loggers may still backfill.", cssClass: "warn") }
        page.heading("县区汇总 County summary")
        page.table(header: ["所在县区", "监控点", "参与考核", "已安装", "联网", "应传小时数", "实传小时数", "有效小时数", "传输率", "有效率", "传输有效率", "低于 90 %"],
                   rows: (roster.counties + [t]).map { c in
                       [c.name, String(c.units), String(c.assessed), String(c.installed), String(c.networked), String(c.hours.due), String(c.hours.received),
                        String(c.hours.valid), Roster.percent(c.hours.transmissionRate), Roster.percent(c.hours.validityRate),
                        Roster.percent(c.hours.effectiveRate), String(c.belowMark)]
                   },
                   tones: (roster.counties + [t]).map { c in c.hours.effectiveRate.map { $0 >= Roster.mark ? .pass : .fail } })
        page.raw(chart(roster.counties))
        let below = roster.belowMark
        page.heading("传输有效率低于 90 % 的监控点 Units below 90 % (\(below.count))")
        if below.isEmpty {
            page.paragraph("none")
        } else {
            page.table(header: ["序号", "企业名称", "所在县区", "MN", "联网情况", "传输率", "有效率", "传输有效率", "说明"],
                       rows: below.map { r in [String(r.index), r.unit.enterprise, r.unit.county, r.unit.identity.mn, r.networked.rawValue,
                                               Roster.percent(r.hours.transmissionRate), Roster.percent(r.hours.validityRate),
                                               Roster.percent(r.hours.effectiveRate), explanation(r)] })
        }
        page.heading("附件1 Annex 1")
        page.table(header: csvHeader, rows: roster.rows.map(cells), tones: roster.rows.map { $0.belowMark ? .fail : nil })
        page.heading("方法 Method")
        page.paragraph(method)
        return page.render()
    }

    /// Grouped bars per county: 传输率, 有效率, 传输有效率, with the 90 % line.
    static func chart(_ counties: [Roster.County]) -> String {
        let barW = 12.0, gap = 18.0, left = 40.0, top = 24.0, height = 200.0
        let groupW = barW * 3 + gap
        let width = left + Double(max(1, counties.count)) * groupW + 20
        let colours = ["#4e79a7", "#59a14f", "#e15759"]
        var s = "<figure class=\"chart\"><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(top + height + 70))\" role=\"img\" aria-label=\"rates by county\">"
        s += "<text class=\"ct\" x=\"\(left)\" y=\"16\">传输率 / 有效率 / 传输有效率 by county</text>"
        for pct in stride(from: 0, through: 100, by: 25) {
            let y = top + height * (1 - Double(pct) / 100)
            s += "<line class=\"grid\" x1=\"\(left)\" x2=\"\(width - 10)\" y1=\"\(y)\" y2=\"\(y)\"/><text x=\"4\" y=\"\(y + 4)\">\(pct) %</text>"
        }
        let y90 = top + height * 0.1
        s += "<line x1=\"\(left)\" x2=\"\(width - 10)\" y1=\"\(y90)\" y2=\"\(y90)\" stroke=\"#e15759\" stroke-dasharray=\"4 3\"/>"
        for (i, c) in counties.enumerated() {
            let x0 = left + Double(i) * groupW + gap / 2
            for (k, r) in [c.hours.transmissionRate, c.hours.validityRate, c.hours.effectiveRate].enumerated() {
                let v = min(1, max(0, r ?? 0))
                let h = height * v
                s += "<rect x=\"\(x0 + Double(k) * barW)\" y=\"\(top + height - h)\" width=\"\(barW - 1)\" height=\"\(h)\" fill=\"\(colours[k])\"><title>\(HTMLPage.escape(c.name)) \(Roster.percent(r))</title></rect>"
            }
            s += "<text x=\"\(x0)\" y=\"\(top + height + 14)\">\(HTMLPage.escape(c.name))</text>"
        }
        let ly = top + height + 40
        for (k, name) in ["传输率", "有效率", "传输有效率"].enumerated() {
            s += "<rect x=\"\(left + Double(k) * 110)\" y=\"\(ly)\" width=\"10\" height=\"10\" fill=\"\(colours[k])\"/><text x=\"\(left + Double(k) * 110 + 14)\" y=\"\(ly + 9)\">\(name)</text>"
        }
        s += "</svg></figure>"
        return s
    }
}
