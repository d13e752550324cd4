import HJ212
import HJAnalysis
import HJReportKit

/// An inline SVG chart of one factor of one unit over time: the series, the limit line, shaded
/// ground-truth windows, alarm marks and flagged points. No script, no external asset.
///
/// ```swift
/// let svg = SeriesChart(title: "w01018 COD", unit: "mg/L", points: points, from: t0, to: t1,
///                       limit: 100, truth: [(t0 + 3_600_000, t0 + 7_200_000, "flatline")], alarms: []).svg()
/// ```
public struct SeriesChart: Sendable {
    public var title: String
    public var yUnit: String
    public var points: [SeriesPoint]
    public var from: Int64
    public var to: Int64
    public var limit: Double?
    public var truth: [(start: Int64, end: Int64?, label: String)]
    public var alarms: [(start: Int64, end: Int64?, label: String)]
    /// `data-` attributes that identify the chart in the DOM (unit, factor).
    public var dataAttributes: [(String, String)]

    public init(title: String, yUnit: String, points: [SeriesPoint], from: Int64, to: Int64, limit: Double?,
                truth: [(start: Int64, end: Int64?, label: String)] = [], alarms: [(start: Int64, end: Int64?, label: String)] = [],
                dataAttributes: [(String, String)] = []) {
        self.title = title
        self.yUnit = yUnit
        self.points = points
        self.from = from
        self.to = to
        self.limit = limit
        self.truth = truth
        self.alarms = alarms
        self.dataAttributes = dataAttributes
    }

    /// At most this many points are drawn (min/max per bucket keeps spikes and flatlines visible).
    public static let maxDrawnPoints = 1200
    /// At most this many flagged points are marked.
    public static let maxFlagMarks = 300

    public func svg() -> String {
        let w = 900.0, h = 210.0, left = 56.0, right = 10.0, top = 24.0, bottom = 26.0
        let pw = w - left - right, ph = h - top - bottom
        let e = HTMLPage.escape
        var attrs = ""
        for (k, v) in dataAttributes { attrs += " data-\(e(k))=\"\(e(v))\"" }
        var s = "<svg class=\"series-chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(w)) \(Int(h))\" width=\"\(Int(w))\" height=\"\(Int(h))\"\(attrs)>"
        s += "<text x=\"\(Int(left))\" y=\"15\" class=\"ct\">\(e(title))</text>"
        let x0 = Double(from), x1 = Double(max(to, from + 60_000))
        let values = points.map(\.value).filter(\.isFinite)
        var ymin = min(0, values.min() ?? 0)
        var ymax = max(values.max() ?? 1, limit.map { $0 * 1.1 } ?? -Double.infinity)
        if ymax <= ymin { ymax = ymin + 1 }
        ymax += (ymax - ymin) * 0.05
        if ymin < 0 { ymin -= (ymax - ymin) * 0.05 }
        func px(_ t: Int64) -> Double { left + (Double(t) - x0) / (x1 - x0) * pw }
        func py(_ v: Double) -> Double { top + ph - (v - ymin) / (ymax - ymin) * ph }
        func f(_ v: Double) -> String { let r = (v * 10).rounded() / 10; return r == r.rounded() ? String(Int(r)) : String(r) }
        s += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(pw))\" height=\"\(f(ph))\" class=\"frame\"/>"
        for band in truth {
            let a = max(left, px(band.start)), b = min(left + pw, px(band.end ?? to))
            guard b >= a else { continue }
            s += "<rect class=\"truth\" x=\"\(f(a))\" y=\"\(f(top))\" width=\"\(f(max(2, b - a)))\" height=\"\(f(ph))\"><title>\(e(band.label))</title></rect>"
        }
        for i in 0...4 {
            let v = ymin + (ymax - ymin) * Double(i) / 4
            let y = py(v)
            s += "<line x1=\"\(f(left))\" x2=\"\(f(left + pw))\" y1=\"\(f(y))\" y2=\"\(f(y))\" class=\"grid\"/>"
            s += "<text x=\"\(f(left - 4))\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(e(Self.axis(v)))</text>"
        }
        for i in 0...6 {
            let t = from + Int64(Double(max(to, from + 60_000) - from) * Double(i) / 6)
            let label = HJTime(wallMilliseconds: t)
            let text = (i == 0 || label.hour == 0 && label.minute == 0) ? "\(label.month)-\(label.day) \(String(format2: label.hour)):\(String(format2: label.minute))" : "\(String(format2: label.hour)):\(String(format2: label.minute))"
            s += "<text x=\"\(f(px(t)))\" y=\"\(f(h - 8))\" text-anchor=\"middle\">\(text)</text>"
        }
        if !yUnit.isEmpty { s += "<text x=\"\(f(w - right))\" y=\"15\" text-anchor=\"end\">\(e(yUnit))</text>" }
        if let limit, limit >= ymin, limit <= ymax {
            s += "<line class=\"limit\" x1=\"\(f(left))\" x2=\"\(f(left + pw))\" y1=\"\(f(py(limit)))\" y2=\"\(f(py(limit)))\"><title>limit 限值 \(e(Self.axis(limit)))</title></line>"
        }
        let drawn = Self.reduce(points.filter { $0.value.isFinite }, to: Self.maxDrawnPoints)
        if !drawn.isEmpty {
            // Gaps longer than a quarter of an hour (and twice the usual step) break the line.
            var path = ""
            var previous: Int64?
            let step = drawn.count > 1 ? max(60_000, (drawn.last!.time - drawn.first!.time) / Int64(drawn.count)) : 60_000
            for p in drawn {
                let move = previous.map { p.time - $0 > max(15 * 60_000, 3 * step) } ?? true
                path += (move ? "M" : "L") + f(px(p.time)) + "," + f(py(p.value)) + " "
                previous = p.time
            }
            s += "<path class=\"series\" d=\"\(path)\"/>"
        } else {
            s += "<text x=\"\(f(w / 2))\" y=\"\(f(h / 2))\" text-anchor=\"middle\">no data 无数据</text>"
        }
        var marks = 0
        for p in points where (p.flag ?? "N") != "N" && marks < Self.maxFlagMarks {
            s += "<circle class=\"flag\" cx=\"\(f(px(p.time)))\" cy=\"\(f(py(p.value)))\" r=\"2.5\"><title>flag \(e(p.flag ?? ""))</title></circle>"
            marks += 1
        }
        for a in alarms {
            let x = min(left + pw, max(left, px(a.start)))
            let xe = min(left + pw, max(x, px(a.end ?? to)))
            s += "<g class=\"alarm\"><title>\(e(a.label))</title><rect x=\"\(f(x))\" y=\"\(f(top))\" width=\"\(f(max(2, xe - x)))\" height=\"5\"/><line x1=\"\(f(x))\" x2=\"\(f(x))\" y1=\"\(f(top))\" y2=\"\(f(top + ph))\"/></g>"
        }
        return s + "</svg>"
    }

    /// Keeps the first and last point and, per bucket, the lowest and highest (in time order).
    static func reduce(_ points: [SeriesPoint], to limit: Int) -> [SeriesPoint] {
        guard points.count > limit, limit >= 4 else { return points }
        let buckets = limit / 2
        var out: [SeriesPoint] = []
        out.reserveCapacity(limit)
        let size = Double(points.count) / Double(buckets)
        for b in 0..<buckets {
            let lo = Int(Double(b) * size), hi = min(points.count, Int(Double(b + 1) * size))
            guard lo < hi else { continue }
            let slice = points[lo..<hi]
            let mn = slice.min { $0.value < $1.value }!, mx = slice.max { $0.value < $1.value }!
            if mn.time <= mx.time { out.append(mn); if mx.time != mn.time || mx.value != mn.value { out.append(mx) } } else { out.append(mx); out.append(mn) }
        }
        return out
    }

    static func axis(_ v: Double) -> String {
        let a = abs(v)
        if a >= 10_000 { return String(Int((v / 1000).rounded())) + "k" }
        if a >= 100 { return String(Int(v.rounded())) }
        let r = (v * 100).rounded() / 100
        return r == r.rounded() ? String(Int(r)) : String(r)
    }

    /// Chart styles shared by the report and the console.
    public static let css = """
    svg.series-chart{max-width:100%;height:auto;background:#fff}
    svg.series-chart text{font-size:11px;fill:#444}svg.series-chart .ct{font-size:13px;font-weight:600}
    svg.series-chart .grid{stroke:#eee}svg.series-chart .frame{fill:none;stroke:#ccc}
    svg.series-chart .series{fill:none;stroke:#1f77b4;stroke-width:1.3}
    svg.series-chart .limit{stroke:#d62728;stroke-dasharray:6 4;stroke-width:1.2}
    svg.series-chart .truth{fill:#ffb347;fill-opacity:.28}
    svg.series-chart .alarm rect{fill:#d62728}svg.series-chart .alarm line{stroke:#d62728;stroke-width:1;stroke-dasharray:2 2}
    svg.series-chart .flag{fill:#9467bd}
    body.hide-truth svg.series-chart .truth{display:none}
    """
}

extension String {
    /// Two digits, zero-padded.
    init(format2 n: Int) {
        self = n < 10 && n >= 0 ? "0\(n)" : "\(n)"
    }
}
