/// A command-line specification that does not hold (a shard, a threshold, a cadence): the CLI
/// turns it into a usage error (exit 2) before anything connects.
///
/// `Sendable`: a value.
public struct LoadSpecError: Error, Sendable, CustomStringConvertible, Equatable {
    /// What was wrong, for a person.
    public var message: String
    /// Makes an error with its message.
    public init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}

/// Which slice of the loggers (and so of the rate) one process drives: `--shard K/N`.
///
/// Logger `i` (0-based, of the whole run) belongs to shard `i mod N + 1`: the slices are
/// disjoint, cover every logger, and interleave, so that each shard's share of a total rate is
/// evenly spread in time and the union of the shards' schedules is exactly the schedule of one
/// process driving every logger.
///
/// `Sendable`: a value.
///
/// ```swift
/// let shard = try Shard(parsing: "2/4")
/// shard.owns(5)                  // true: 5 mod 4 = 1, the second shard
/// shard.loggers(total: 10)       // [1, 5, 9]
/// ```
public struct Shard: Sendable, Hashable, CustomStringConvertible {
    /// 1-based: the K of K/N.
    public let index: Int
    /// N, the number of shards.
    public let count: Int

    /// One process drives everything.
    public static let whole = Shard(uncheckedIndex: 1, count: 1)

    init(uncheckedIndex index: Int, count: Int) {
        self.index = index
        self.count = count
    }

    /// `K/N` with 1 ≤ K ≤ N ≤ 100000. A `K` of the form `index+1` is not parsed: use the
    /// environment (see the README's Kubernetes example) to compute it.
    public init(parsing text: String) throws(LoadSpecError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let k = Int(parts[0]), let n = Int(parts[1]) else {
            throw LoadSpecError("--shard '\(text)': expected K/N, e.g. 1/4 (K counts from 1)")
        }
        guard n >= 1, n <= 100_000, k >= 1, k <= n else {
            throw LoadSpecError("--shard '\(text)': need 1 ≤ K ≤ N ≤ 100000 (K counts from 1)")
        }
        index = k
        count = n
    }

    /// Whether logger `i` (0-based over the whole run) is driven by this shard.
    public func owns(_ logger: Int) -> Bool { logger % count == index - 1 }

    /// The loggers (0-based over the whole run) this shard drives, in order.
    public func loggers(total: Int) -> StrideTo<Int> { stride(from: index - 1, to: max(index - 1, total), by: count) }

    /// `K/N`.
    public var description: String { "\(index)/\(count)" }
}

/// When the loggers send: the open-model schedule, fixed before the first packet.
///
/// `Sendable`: a value.
public enum Cadence: Sendable, Equatable, CustomStringConvertible {
    /// Each logger at its unit's real-time interval (RtdInterval, 30 s for most templates).
    case realtime
    /// Every logger once per this many milliseconds (`accelerated` is 1 s).
    case interval(milliseconds: Int64)
    /// This many packets per second in total, over every logger of the run (all shards).
    case rate(Double)

    /// `realtime`, `accelerated` (every logger once a second) or a duration such as `250ms`.
    public init(parsing text: String, parseDuration: (String) -> Int64?) throws(LoadSpecError) {
        switch text {
        case "realtime": self = .realtime
        case "accelerated": self = .interval(milliseconds: 1000)
        default:
            guard let ms = parseDuration(text), ms >= 1, ms <= 86_400_000 else {
                throw LoadSpecError("--cadence '\(text)': expected realtime, accelerated (1 s) or an interval from 1ms to 24h, e.g. 500ms")
            }
            self = .interval(milliseconds: ms)
        }
    }

    /// The cadence for a report, e.g. `every 1000 ms per logger`.
    public var description: String {
        switch self {
        case .realtime: "realtime (each unit's RtdInterval)"
        case .interval(let ms): "every \(ms) ms per logger"
        case .rate(let r): "\(LoadFormat.number(r)) packets/s in total"
        }
    }
}

/// The arrival plan of one logger: first send `phase` after the start of the send window, then
/// one every `interval`. Deterministic: a function of the logger's index, the number of loggers
/// and the cadence only.
///
/// `Sendable`: a value.
public struct LoggerPlan: Sendable, Equatable {
    /// The first send, after the start of the send window.
    public var phaseNanoseconds: UInt64
    /// The time between two sends.
    public var intervalNanoseconds: UInt64

    /// The plan of logger `i` of `n` (0-based over the whole run, all shards).
    ///
    /// - Total rate R: every logger sends every n/R seconds, logger i first at i/R: the run's
    ///   arrivals are exactly evenly spaced at R per second.
    /// - A fixed interval T (or each unit's RtdInterval): logger i first at i·T/n.
    ///
    /// ```swift
    /// LoggerPlan(logger: 1, of: 4, cadence: .rate(100), rtdIntervalMilliseconds: 30_000)
    /// // phase 10 ms, interval 40 ms
    /// ```
    public init(logger i: Int, of n: Int, cadence: Cadence, rtdIntervalMilliseconds: Int64) {
        let n = max(1, n)
        switch cadence {
        case .rate(let r):
            let r = max(r, 1e-6)
            intervalNanoseconds = UInt64(min(Double(n) / r * 1e9, 8.64e13).rounded())
            phaseNanoseconds = UInt64(min(Double(i) / r * 1e9, 8.64e13).rounded())
        case .interval(let ms):
            intervalNanoseconds = UInt64(max(1, ms)) * 1_000_000
            phaseNanoseconds = UInt64((Double(i) / Double(n) * Double(intervalNanoseconds)).rounded(.down))
        case .realtime:
            intervalNanoseconds = UInt64(max(1, rtdIntervalMilliseconds)) * 1_000_000
            phaseNanoseconds = UInt64((Double(i) / Double(n) * Double(intervalNanoseconds)).rounded(.down))
        }
        intervalNanoseconds = max(intervalNanoseconds, 1)
    }

    /// Sends scheduled in a send window of `window` nanoseconds.
    public func sends(inWindow window: UInt64) -> UInt64 {
        guard phaseNanoseconds < window else { return 0 }
        return (window - phaseNanoseconds - 1) / intervalNanoseconds + 1
    }
}

/// Number formatting shared by the reports.
public enum LoadFormat {
    /// `12`, `3.5k`, `1.25M`.
    public static func number(_ v: Double) -> String {
        if !v.isFinite { return "-" }
        if abs(v) >= 1e6 { return fixed(v / 1e6, 2) + "M" }
        if abs(v) >= 1e4 { return fixed(v / 1e3, 1) + "k" }
        if v == v.rounded() { return String(Int64(v)) }
        return fixed(v, 1)
    }

    /// `v` with `decimals` digits after the point (no Foundation).
    public static func fixed(_ v: Double, _ decimals: Int) -> String {
        guard v.isFinite else { return "-" }
        var scale = 1.0
        for _ in 0..<max(0, decimals) { scale *= 10 }
        let r = (abs(v) * scale).rounded()
        guard r < 9e18 else { return String(v) }
        let whole = Int64(r / scale)
        let frac = Int64(r) - whole * Int64(scale)
        var s = (v < 0 && r > 0 ? "-" : "") + String(whole)
        if decimals > 0 {
            let f = String(frac)
            s += "." + String(repeating: "0", count: max(0, decimals - f.count)) + f
        }
        return s
    }

    /// Microseconds for a person: `850 µs`, `12.3 ms`, `4.21 s`.
    public static func latency(_ us: UInt64) -> String {
        if us < 1000 { return "\(us) µs" }
        if us < 100_000 { return fixed(Double(us) / 1000, 2) + " ms" }
        if us < 1_000_000 { return fixed(Double(us) / 1000, 1) + " ms" }
        return fixed(Double(us) / 1e6, 2) + " s"
    }

    /// Microseconds as a whole number, clamped to 0…UInt64.max (0 for NaN): a conversion that
    /// never traps, for figures computed from report files.
    public static func microseconds(_ v: Double) -> UInt64 {
        guard v > 0 else { return 0 }  // NaN too
        return v >= 18_446_744_073_709_551_615.0 ? .max : UInt64(v)
    }

    /// A share as a percentage: `0.012 %`.
    public static func percent(_ part: UInt64, of whole: UInt64) -> String {
        guard whole > 0 else { return "-" }
        let p = Double(part) / Double(whole) * 100
        return (p == 0 ? "0" : p < 0.01 ? fixed(p, 4) : p < 1 ? fixed(p, 3) : fixed(p, 2)) + " %"
    }
}
