#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one style of every HTML report of `hj212` (certification and load): a self-contained page
/// (inline CSS, inline SVG charts, no external assets), so that a report can be mailed or filed
/// with a certification request and still open years later.
///
/// ```swift
/// var page = HTMLPage(title: "hj212 load report", lang: "en")
/// page.heading("Summary")
/// page.table(header: ["metric", "value"], rows: [["p99", "12 ms"]])
/// page.lineChart(title: "acknowledged/s", series: [("acked", [(0, 10), (1, 12)])], yUnit: "/s")
/// let html = page.render()
/// ```
public struct HTMLPage: Sendable {
    public var title: String
    public var lang: String
    private var body: [String] = []

    public init(title: String, lang: String = "en") {
        self.title = title
        self.lang = lang
    }

    /// Escapes text for element content and attribute values.
    public static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for ch in s.unicodeScalars {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default:
                // Control characters (other than tab and line feeds) are shown, not passed through.
                if ch.value < 0x20 && ch != "\n" && ch != "\t" && ch != "\r" {
                    out += "\\x" + String(ch.value, radix: 16, uppercase: true)
                } else {
                    out.unicodeScalars.append(ch)
                }
            }
        }
        return out
    }

    public mutating func heading(_ text: String, level: Int = 2) {
        let l = Swift.min(Swift.max(level, 1), 4)
        body.append("<h\(l)>\(Self.escape(text))</h\(l)>")
    }

    public mutating func paragraph(_ text: String, cssClass: String? = nil) {
        let c = cssClass.map { " class=\"\(Self.escape($0))\"" } ?? ""
        body.append("<p\(c)>\(Self.escape(text))</p>")
    }

    /// A row of key figures shown large (score, p99, acknowledged/s …).
    public mutating func figures(_ items: [(label: String, value: String, tone: Tone)]) {
        var s = "<div class=\"figures\">"
        for i in items {
            s += "<div class=\"figure \(i.tone.rawValue)\"><div class=\"value\">\(Self.escape(i.value))</div><div class=\"label\">\(Self.escape(i.label))</div></div>"
        }
        body.append(s + "</div>")
    }

    /// Tones colour verdicts and figures.
    public enum Tone: String, Sendable {
        case pass, fail, warn, neutral, skip
    }

    /// A table; a cell may carry a tone (for verdict colouring).
    public mutating func table(header: [String], rows: [[String]], tones: [Tone?] = []) {
        var s = "<table><thead><tr>"
        for h in header { s += "<th>\(Self.escape(h))</th>" }
        s += "</tr></thead><tbody>"
        for (i, row) in rows.enumerated() {
            let tone = i < tones.count ? tones[i] : nil
            s += tone.map { "<tr class=\"\($0.rawValue)\">" } ?? "<tr>"
            for cell in row { s += "<td>\(Self.escape(cell))</td>" }
            s += "</tr>"
        }
        body.append(s + "</tbody></table>")
    }

    /// Preformatted text (a wire log), optionally folded under a summary line.
    public mutating func preformatted(_ text: String, summary: String? = nil) {
        let pre = "<pre>\(Self.escape(text))</pre>"
        if let summary {
            body.append("<details><summary>\(Self.escape(summary))</summary>\(pre)</details>")
        } else {
            body.append(pre)
        }
    }

    /// Raw HTML the caller has built and escaped itself.
    public mutating func raw(_ html: String) { body.append(html) }

    /// An inline SVG line chart of one or more series of (x, y) points; x is usually seconds.
    public mutating func lineChart(title: String, series: [(name: String, points: [(Double, Double)])],
                                   xLabel: String = "s", yUnit: String = "", logY: Bool = false) {
        body.append(Self.svgLineChart(title: title, series: series, xLabel: xLabel, yUnit: yUnit, logY: logY))
    }

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"]

    public static func svgLineChart(title: String, series: [(name: String, points: [(Double, Double)])],
                                    xLabel: String = "s", yUnit: String = "", logY: Bool = false) -> String {
        let w = 720.0, h = 240.0, left = 64.0, right = 12.0, top = 28.0, bottom = 30.0
        let all = series.flatMap { $0.points }.filter { $0.0.isFinite && $0.1.isFinite }
        var s = "<figure class=\"chart\"><svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(w)) \(Int(h))\" width=\"\(Int(w))\" height=\"\(Int(h))\">"
        s += "<text x=\"\(Int(left))\" y=\"16\" class=\"ct\">\(escape(title))</text>"
        guard !all.isEmpty else {
            return s + "<text x=\"\(Int(w / 2))\" y=\"\(Int(h / 2))\" text-anchor=\"middle\">no data</text></svg></figure>"
        }
        func ty(_ v: Double) -> Double { logY ? log10(Swift.max(v, 1e-9)) : v }
        let xmin = all.map { $0.0 }.min()!, xmax0 = all.map { $0.0 }.max()!
        let xmax = xmax0 > xmin ? xmax0 : xmin + 1
        var ymin = logY ? all.map { ty($0.1) }.min()! : Swift.min(0, all.map { $0.1 }.min()!)
        var ymax = all.map { ty($0.1) }.max()!
        if ymax <= ymin { ymax = ymin + 1 }
        if logY { ymin = ymin.rounded(.down); ymax = ymax.rounded(.up) }
        let pw = w - left - right, ph = h - top - bottom
        func px(_ x: Double) -> Double { left + (x - xmin) / (xmax - xmin) * pw }
        func py(_ y: Double) -> Double { top + ph - (ty(y) - ymin) / (ymax - ymin) * ph }
        // Axes and four gridlines.
        s += "<rect x=\"\(fmt(left))\" y=\"\(fmt(top))\" width=\"\(fmt(pw))\" height=\"\(fmt(ph))\" class=\"frame\"/>"
        for i in 0...4 {
            let v = ymin + (ymax - ymin) * Double(i) / 4
            let y = top + ph - ph * Double(i) / 4
            let label = logY ? axis(pow(10, v)) : axis(v)
            s += "<line x1=\"\(fmt(left))\" x2=\"\(fmt(left + pw))\" y1=\"\(fmt(y))\" y2=\"\(fmt(y))\" class=\"grid\"/>"
            s += "<text x=\"\(fmt(left - 4))\" y=\"\(fmt(y + 4))\" text-anchor=\"end\">\(escape(label + yUnit))</text>"
        }
        for i in 0...4 {
            let v = xmin + (xmax - xmin) * Double(i) / 4
            s += "<text x=\"\(fmt(px(v)))\" y=\"\(fmt(h - 10))\" text-anchor=\"middle\">\(escape(axis(v)))\(i == 4 ? " " + escape(xLabel) : "")</text>"
        }
        for (n, serie) in series.enumerated() {
            let colour = palette[n % palette.count]
            let pts = serie.points.filter { $0.0.isFinite && $0.1.isFinite }
            guard !pts.isEmpty else { continue }
            let path = pts.map { "\(fmt(px($0.0))),\(fmt(py($0.1)))" }.joined(separator: " ")
            s += "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1.5\" points=\"\(path)\"/>"
            s += "<text x=\"\(fmt(w - right - 4))\" y=\"\(fmt(top + 14 + Double(n) * 14))\" text-anchor=\"end\" fill=\"\(colour)\">\(escape(serie.name))</text>"
        }
        return s + "</svg></figure>"
    }

    static func fmt(_ v: Double) -> String {
        let r = (v * 10).rounded() / 10
        return r == r.rounded() && Swift.abs(r) < 1e18 ? String(Int(r)) : String(r)
    }

    static func axis(_ v: Double) -> String {
        let a = Swift.abs(v)
        if a >= 1_000_000 { return fmt(v / 1_000_000) + "M" }
        if a >= 10_000 { return fmt(v / 1_000) + "k" }
        if (a >= 100 || v == v.rounded()) && a < 1e18 { return String(Int(v.rounded())) }
        return format2(v)
    }

    static func format2(_ v: Double) -> String {
        let r = (v * 100).rounded() / 100
        return String(r)
    }

    static let css = """
    body{font-family:-apple-system,"Segoe UI","Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
    h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
    table{border-collapse:collapse;width:100%;margin:.6em 0;font-size:.92em}
    th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}th{background:#f4f4f4}
    tr.pass td:first-child{border-left:4px solid #2a9d4a}tr.fail td:first-child{border-left:4px solid #d62728}
    tr.warn td:first-child{border-left:4px solid #e6a100}tr.skip td:first-child{border-left:4px solid #999}
    tr.fail{background:#fff3f3}tr.warn{background:#fffaf0}
    pre{background:#f7f7f7;border:1px solid #e3e3e3;padding:8px;overflow-x:auto;font-size:.85em;white-space:pre-wrap;word-break:break-all}
    .figures{display:flex;gap:1em;flex-wrap:wrap;margin:1em 0}
    .figure{border:1px solid #ddd;border-radius:6px;padding:.6em 1em;min-width:8em}
    .figure .value{font-size:1.6em;font-weight:600}.figure .label{color:#666;font-size:.85em}
    .figure.pass .value{color:#2a9d4a}.figure.fail .value{color:#d62728}.figure.warn .value{color:#b37a00}
    .meta{color:#666;font-size:.9em}
    svg text{font-size:11px;fill:#444}svg .ct{font-size:13px;font-weight:600}svg .grid{stroke:#eee}svg .frame{fill:none;stroke:#ccc}
    figure.chart{margin:1em 0}
    """

    /// The whole page.
    public func render() -> String {
        var s = "<!DOCTYPE html>\n<html lang=\"\(Self.escape(lang))\"><head><meta charset=\"utf-8\">"
        s += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        s += "<title>\(Self.escape(title))</title><style>\(Self.css)</style></head><body>\n"
        s += "<h1>\(Self.escape(title))</h1>\n"
        s += body.joined(separator: "\n")
        s += "\n</body></html>\n"
        return s
    }
}

