import HJReportKit

/// A pass/fail condition on a load report, for CI gates: `p99<500ms`, `unacked<0.1%`,
/// `acked/s>=1000`, `errors==0`.
///
/// Grammar (spaces allowed anywhere):
///
///     threshold := metric op value
///     op        := "<" | "<=" | ">" | ">=" | "==" | "=" | "!="
///     metric    := latency | count | rate
///     latency   := [("send." | "connect." | "lag.")] ("p" NUMBER | "max" | "mean")   value: NUMBER ("us" | "µs" | "ms" | "s" | "m")
///     count     := "sent" | "scheduled" | "acked" | "unacked" | "missed" | "late" | "duplicates" | "wrong-acks"
///                | "errors" | "resets" | "closes" | "refused" | "connect-errors" | "connected" | "timed-out"
///                                                                  value: NUMBER, or NUMBER "%"
///     rate      := "acked/s" | "sent/s"                               value: NUMBER ["/s"]
///
/// Latency metrics without a prefix are measured from each packet's scheduled time. A percentage
/// is of the packets scheduled (of the loggers for `connected`, `refused`, `connect-errors`,
/// `resets`, `closes`), the base the reports use too; with nothing scheduled (or no loggers) a
/// percentage threshold fails, as a latency threshold without samples does.
///
/// `Sendable`: a value.
///
/// ```swift
/// let t = try Threshold(parsing: "p99 < 500ms")
/// t.evaluate(report).pass
/// ```
public struct Threshold: Sendable, Equatable {
    /// The comparison of a threshold.
    public enum Comparison: String, Sendable, Equatable {
        case less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">=", equal = "==", notEqual = "!="

        func holds(_ a: Double, _ b: Double) -> Bool {
            switch self {
            case .less: a < b
            case .lessOrEqual: a <= b
            case .greater: a > b
            case .greaterOrEqual: a >= b
            case .equal: a == b
            case .notEqual: a != b
            }
        }
    }

    /// Which latency histogram a latency threshold reads (by its prefix).
    public enum Histogram: String, Sendable, Equatable { case schedule = "", send = "send.", connect = "connect.", lag = "lag." }

    /// What a threshold measures.
    public enum Metric: Sendable, Equatable {
        /// A percentile (0…100), `max` (100) or the mean (nil) of a histogram, in µs.
        case latency(Histogram, percentile: Double?)
        case count(String)
        case rate(String)
    }

    /// The names of the count metrics.
    public static let countNames = ["sent", "scheduled", "acked", "unacked", "missed", "late", "duplicates", "wrong-acks",
                                    "errors", "resets", "closes", "refused", "connect-errors", "connected", "timed-out"]
    static let perLogger: Set<String> = ["connected", "refused", "connect-errors", "resets", "closes"]

    /// The text as given (trimmed).
    public let text: String
    /// What is measured.
    public let metric: Metric
    /// How the measurement is compared with `value`.
    public let comparison: Comparison
    /// µs for latencies; a count, or a fraction (0…1) when `percent`; per second for rates.
    public let value: Double
    /// Whether `value` is a share (given with `%`).
    public let percent: Bool

    /// Parses a threshold (see the grammar above); a malformed one throws with the reason and examples.
    public init(parsing raw: String) throws(LoadSpecError) {
        let text = raw.filter { $0 != " " && $0 != "\t" }
        self.text = raw.trimmingSpaces
        func fail(_ why: String) -> LoadSpecError {
            LoadSpecError("--threshold '\(raw)': \(why). Examples: 'p99<500ms', 'p50<=20ms', 'unacked<0.1%', 'acked/s>=1000', 'errors==0' (see --help)")
        }
        // The operator: the first of < > = ! in the text.
        guard let opStart = text.firstIndex(where: { "<>=!".contains($0) }) else { throw fail("no comparison (<, <=, >, >=, ==, !=)") }
        var opEnd = text.index(after: opStart)
        if opEnd < text.endIndex, text[opEnd] == "=" { opEnd = text.index(after: opEnd) }
        let opText = String(text[opStart..<opEnd])
        let name = String(text[..<opStart]).lowercased()
        var valueText = String(text[opEnd...])
        guard let comparison = opText == "=" ? .equal : Comparison(rawValue: opText) else { throw fail("unknown comparison '\(opText)'") }
        self.comparison = comparison
        guard !name.isEmpty else { throw fail("no metric before '\(opText)'") }
        guard !valueText.isEmpty else { throw fail("no value after '\(opText)'") }

        /// Splits `12.5ms` into 12.5 and "ms".
        func number(_ s: String) -> (Double, String)? {
            let digits = s.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard !digits.isEmpty, let v = Double(digits), v.isFinite, v >= 0 else { return nil }
            return (v, String(s.dropFirst(digits.count)))
        }

        if name == "acked/s" || name == "sent/s" {
            if valueText.hasSuffix("/s") { valueText.removeLast(2) }
            guard let (v, unit) = number(valueText), unit.isEmpty else { throw fail("expected packets per second, e.g. 1000") }
            metric = .rate(name)
            value = v
            percent = false
            return
        }
        if Self.countNames.contains(name) {
            guard let (v, unit) = number(valueText), unit.isEmpty || unit == "%" else { throw fail("expected a count or a percentage, e.g. 0 or 0.1%") }
            metric = .count(name)
            percent = unit == "%"
            guard !percent || v <= 100 else { throw fail("a percentage is at most 100") }
            value = percent ? v / 100 : v
            return
        }
        var histogram = Histogram.schedule
        var rest = Substring(name)
        for h in [Histogram.send, .connect, .lag] where rest.hasPrefix(h.rawValue) {
            histogram = h
            rest = rest.dropFirst(h.rawValue.count)
        }
        let percentile: Double?
        if rest == "max" {
            percentile = 100
        } else if rest == "mean" || rest == "avg" {
            percentile = nil
        } else if rest.hasPrefix("p"), let p = Double(rest.dropFirst()), p >= 0, p <= 100 {
            percentile = p
        } else {
            throw fail("unknown metric '\(name)'; latency: p50, p99, p99.9, max, mean (prefix send., connect., lag.); counts: \(Self.countNames.joined(separator: ", ")); rates: acked/s, sent/s")
        }
        guard let (v, unit) = number(valueText) else { throw fail("expected a duration such as 500ms") }
        let scale: Double
        switch unit {
        case "us", "µs": scale = 1
        case "ms": scale = 1_000
        case "s": scale = 1_000_000
        case "m", "min": scale = 60_000_000
        case "": throw fail("a latency needs a unit: us, ms, s or m (e.g. 500ms)")
        default: throw fail("unknown unit '\(unit)'; use us, ms, s or m")
        }
        metric = .latency(histogram, percentile: percentile)
        value = v * scale
        percent = false
    }

    /// The measured value (µs, count, fraction or rate) in the report.
    public func measure(_ r: LoadReport) -> Double {
        switch metric {
        case .latency(let which, let p):
            let h: LatencyHistogram
            switch which {
            case .schedule: h = r.latency
            case .send: h = r.sendLatency
            case .connect: h = r.connectLatency
            case .lag: h = r.sendLag
            }
            guard let p else { return h.mean }
            return Double(h.percentile(p))
        case .rate(let name):
            return name == "acked/s" ? r.ackedPerSecond : r.sentPerSecond
        case .count(let name):
            let c = r.counts
            let n: UInt64
            switch name {
            case "sent": n = c.sent
            case "scheduled": n = c.scheduled
            case "acked": n = c.acked
            case "unacked": n = c.unacked
            case "missed": n = c.missed
            case "late": n = c.late
            case "duplicates": n = c.duplicates
            case "wrong-acks": n = c.wrongAcks
            case "errors": n = c.errors
            case "resets": n = c.resets
            case "closes": n = c.closes
            case "refused": n = c.refused
            case "connect-errors": n = c.connectErrors
            case "connected": n = c.maxConnections
            default: n = c.timedOut
            }
            guard percent else { return Double(n) }
            let whole = base(r)
            return whole > 0 ? Double(n) / Double(whole) : 0
        }
    }

    /// What a percentage is of: the loggers for the per-logger counts, else the packets scheduled.
    func base(_ r: LoadReport) -> UInt64 {
        guard case .count(let name) = metric else { return 0 }
        return Self.perLogger.contains(name) ? UInt64(clamping: r.loggers) : r.counts.scheduled
    }

    /// The verdict on a report.
    public func evaluate(_ r: LoadReport) -> ThresholdVerdict {
        let m = measure(r)
        var pass = comparison.holds(m, value)
        var text = format(m)
        switch metric {
        case .latency(let which, _):
            // A latency threshold with no samples cannot be said to hold.
            let h = which == .schedule ? r.latency : which == .send ? r.sendLatency : which == .connect ? r.connectLatency : r.sendLag
            if h.total == 0 {
                pass = false
                text = "no samples"
            }
        case .count(let name) where percent && base(r) == 0:
            // A share of nothing (no packet scheduled, no logger): it cannot be said to hold.
            pass = false
            text = Self.perLogger.contains(name) ? "no loggers" : "no packets scheduled"
        default:
            break
        }
        return ThresholdVerdict(threshold: self, measured: m, measuredText: text, pass: pass)
    }

    func format(_ m: Double) -> String {
        switch metric {
        case .latency: LoadFormat.latency(LoadFormat.microseconds(m))
        case .rate: LoadFormat.number(m.rounded()) + "/s"
        case .count: percent ? LoadFormat.fixed(m * 100, 4) + " %" : LoadFormat.number(m)
        }
    }
}

/// A threshold and what the report measured.
///
/// `Sendable`: a value.
public struct ThresholdVerdict: Sendable, Equatable {
    /// The threshold judged.
    public var threshold: Threshold
    /// The value measured (µs, count, share or rate).
    public var measured: Double
    /// The value measured, for a person.
    public var measuredText: String
    /// Whether the threshold holds.
    public var pass: Bool
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
