import HJ212

/// The DataTimes received for one CN of one unit: sorted, each with how often it arrived, and
/// bounded to a window behind the newest one (and to a hard capacity). Pruning happens in
/// batches, so up to an eighth more than the window or capacity may be held for a while.
///
/// ```swift
/// var log = DataTimeLog(window: 40 * 86_400_000, capacity: 100_000)
/// log.insert(HJTime("20160801080000")!.wallMilliseconds)   // .new
/// log.insert(HJTime("20160801080000")!.wallMilliseconds)   // .duplicate
/// ```
public struct DataTimeLog: Sendable, Equatable {
    /// What `insert` did.
    public enum Insertion: Sendable, Equatable {
        /// First time this DataTime arrived.
        case new
        /// It had arrived before (a resend, or history fetched again).
        case duplicate
        /// Older than the window behind the newest DataTime: not kept.
        case outsideWindow
    }

    /// Distinct DataTimes, ascending.
    public private(set) var times: [SessionTime] = []
    /// How often each of `times` arrived (parallel to `times`).
    public private(set) var counts: [Int32] = []
    /// How far behind the newest DataTime entries are kept (ms).
    public let window: SessionTime
    /// The most distinct DataTimes kept.
    public let capacity: Int
    /// DataTimes dropped (pruned from the window or capacity, or refused as too old).
    public private(set) var dropped = 0

    public init(window: SessionTime = 40 * 86_400_000, capacity: Int = 100_000) {
        self.window = max(0, window)
        self.capacity = max(1, capacity)
    }

    public var newest: SessionTime? { times.last }
    public var oldest: SessionTime? { times.first }
    public var isEmpty: Bool { times.isEmpty }

    /// Index of the first time ≥ `t`.
    public func lowerBound(_ t: SessionTime) -> Int {
        var lo = 0, hi = times.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if times[mid] < t { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// How often `t` arrived.
    public func count(of t: SessionTime) -> Int {
        let i = lowerBound(t)
        return i < times.count && times[i] == t ? Int(counts[i]) : 0
    }

    public func contains(_ t: SessionTime) -> Bool { count(of: t) > 0 }

    /// The distinct neighbours of `t` (the times just before and after it), if any.
    public func neighbours(of t: SessionTime) -> (before: SessionTime?, after: SessionTime?) {
        let i = lowerBound(t)
        let before = i > 0 ? times[i - 1] : nil
        var j = i
        if j < times.count && times[j] == t { j += 1 }
        return (before, j < times.count ? times[j] : nil)
    }

    @discardableResult
    public mutating func insert(_ t: SessionTime) -> Insertion {
        if let newest, t < newest - window {
            dropped += 1
            return .outsideWindow
        }
        let i = lowerBound(t)
        if i < times.count && times[i] == t {
            if counts[i] < Int32.max { counts[i] += 1 }
            return .duplicate
        }
        times.insert(t, at: i)
        counts.insert(1, at: i)
        // Prune in batches (an eighth of the window or capacity at a time), so that steady
        // in-order arrival appends in O(1) amortised instead of shifting the array every time.
        if i == times.count - 1, let oldest = times.first, oldest < t - window - window / 8 {
            let cut = lowerBound(t - window)
            times.removeFirst(cut)
            counts.removeFirst(cut)
            dropped += cut
        }
        if times.count > capacity + capacity / 8 {
            let excess = times.count - capacity
            times.removeFirst(excess)
            counts.removeFirst(excess)
            dropped += excess
        }
        return .new
    }
}

/// How complete one unit's data of one CN is over a time range.
public struct CompletenessSummary: Sendable, Equatable {
    public var mn: String
    public var cn: String
    /// The range asked for (local wall ms, inclusive).
    public var from: SessionTime
    public var to: SessionTime
    /// The expected spacing of DataTimes (ms).
    public var interval: SessionTime
    /// DataTimes on the grid (multiples of `interval` from midnight) within the range.
    public var expected: Int
    /// Expected DataTimes that arrived.
    public var received: Int
    /// Expected DataTimes that did not arrive (`expected - received`).
    public var missing: Int
    /// Extra arrivals of DataTimes in the range (a DataTime received three times counts two).
    public var duplicates: Int
    /// Distinct DataTimes in the range that are not on the grid.
    public var offGrid: Int
    /// The missing DataTimes, consecutive ones merged: each range runs from the first missing
    /// DataTime to the last one of a run (a single missing hour at 05:00 is `05:00...05:00`).
    public var gaps: [ClosedRange<SessionTime>]

    /// received / expected (1 when nothing is expected).
    public var ratio: Double { expected == 0 ? 1 : Double(received) / Double(expected) }
}

/// The completeness of one unit's 2051, 2061 and 2031 data over a range.
public struct UnitCompleteness: Sendable, Equatable {
    public var mn: String
    public var from: SessionTime
    public var to: SessionTime
    /// By CN (`2051`, `2061`, `2031`).
    public var byCN: [String: CompletenessSummary]

    public var expected: Int { byCN.values.reduce(0) { $0 + $1.expected } }
    public var received: Int { byCN.values.reduce(0) { $0 + $1.received } }
    public var missing: Int { byCN.values.reduce(0) { $0 + $1.missing } }
    public var duplicates: Int { byCN.values.reduce(0) { $0 + $1.duplicates } }
}

/// Expected against received DataTimes of the periodic uploads (HJ 212-2017 §6.4, Appendix C.16–C.18):
/// 2051 every MinInterval minutes, 2061 every hour, 2031 every day, each DataTime being the start
/// of its period, aligned to local midnight.
///
/// ```swift
/// let gaps = Completeness.gaps(in: log, interval: Completeness.hour, from: dayStart, to: dayStart + 23 * Completeness.hour)
/// ```
public enum Completeness {
    public static let minute: SessionTime = 60_000
    public static let hour: SessionTime = 3_600_000
    public static let day: SessionTime = 86_400_000

    /// The CNs whose DataTimes the platform keeps for completeness.
    public static let trackedCNs: Set<String> = ["2051", "2061", "2031"]
    /// MinInterval values allowed by HJ 212-2017 Table 4 (minutes).
    public static let validMinIntervals: Set<Int> = [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30]
    /// The MinInterval assumed when nothing better is known (the Appendix C examples use 10).
    public static let defaultMinInterval = 10

    /// The expected DataTime spacing of a CN (ms), or nil for CNs that are not periodic records.
    public static func interval(cn: String, minInterval: Int = defaultMinInterval) -> SessionTime? {
        switch cn {
        case "2051": return SessionTime(min(max(1, minInterval), 1440)) * minute  // bounded: peer data never overflows
        case "2061": return hour
        case "2031", "2041": return day
        default: return nil
        }
    }

    /// The MinInterval (minutes) that a spacing between two 2051 DataTimes suggests, if it is a valid one.
    public static func minIntervalCandidate(spacing: SessionTime) -> Int? {
        guard spacing > 0, spacing % minute == 0, spacing / minute <= 30 else { return nil }
        let minutes = Int(spacing / minute)
        return validMinIntervals.contains(minutes) ? minutes : nil
    }

    static func alignUp(_ t: SessionTime, _ step: SessionTime) -> SessionTime {
        let r = t % step
        if r == 0 { return t }
        return r > 0 ? t - r + step : t - r
    }

    static func alignDown(_ t: SessionTime, _ step: SessionTime) -> SessionTime {
        let r = t % step
        return r >= 0 ? t - r : t - r - step
    }

    /// The missing DataTimes of the grid `interval` within `from...to`, merged into runs.
    /// Entries pruned from the log (older than its window) count as missing.
    public static func gaps(in log: DataTimeLog?, interval: SessionTime, from: SessionTime, to: SessionTime) -> [ClosedRange<SessionTime>] {
        summary(mn: "", cn: "", log: log, interval: interval, from: from, to: to).gaps
    }

    /// The full comparison of expected and received DataTimes within `from...to`.
    public static func summary(mn: String, cn: String, log: DataTimeLog?, interval: SessionTime, from: SessionTime, to: SessionTime)
        -> CompletenessSummary
    {
        let step = max(1, interval)
        var result = CompletenessSummary(mn: mn, cn: cn, from: from, to: to, interval: step, expected: 0, received: 0,
                                         missing: 0, duplicates: 0, offGrid: 0, gaps: [])
        guard from <= to else { return result }
        let first = alignUp(from, step)
        let last = alignDown(to, step)
        if first <= last { result.expected = Int((last - first) / step) + 1 }
        var previous = first - step  // the last grid slot known to be present (or the one before the range)
        if let log {
            var i = log.lowerBound(from)
            while i < log.times.count && log.times[i] <= to {
                let t = log.times[i]
                result.duplicates += Int(log.counts[i]) - 1
                if t % step != 0 {
                    result.offGrid += 1
                } else {
                    result.received += 1
                    if t - previous > step { result.gaps.append((previous + step)...(t - step)) }
                    previous = t
                }
                i += 1
            }
        }
        if first <= last && last - previous >= step { result.gaps.append((previous + step)...last) }
        result.missing = result.expected - result.received
        return result
    }
}

/// The completeness verdict of a run over every unit a platform expects: the units that sent
/// data (their missing records) and, with a registry, the registered units that never connected
/// (all their records over the run are missing). "Nothing lost" is said only when both are zero.
///
/// ```swift
/// let v = RunCompleteness(registered: Array(registry.entries.keys), seen: Set(state.mns), missingOfSeen: 0, from: t0, to: t1)
/// v.nothingLost     // false: 519 registered units never connected
/// v.summary         // "3 315 expected records missing; 519 of 520 registered units never connected"
/// ```
public struct RunCompleteness: Sendable, Equatable {
    /// Registered units (nil: open registry, every unit that came is all there is).
    public var registered: Int?
    /// Registered MNs that never connected, sorted.
    public var neverConnected: [String]
    /// Records missing from the units that sent data.
    public var missingOfSeen: Int
    /// Records a registered unit that never connected would have sent over the run (2051 at the
    /// default MinInterval, 2061, 2031 whose periods ended within it), per unit.
    public var expectedPerAbsentUnit: Int

    /// Every missing record: those of the units seen and all those of the units never seen.
    public var missing: Int { missingOfSeen + neverConnected.count * expectedPerAbsentUnit }
    /// True only when every expected record of every expected unit arrived.
    public var nothingLost: Bool { neverConnected.isEmpty && missingOfSeen == 0 }

    public init(registered all: [String]?, seen: Set<String>, missingOfSeen: Int, from: SessionTime, to: SessionTime) {
        self.registered = all?.count
        neverConnected = (all ?? []).filter { !seen.contains($0) }.sorted()
        self.missingOfSeen = missingOfSeen
        var expected = 0
        for cn in ["2051", "2061", "2031"] {
            let period = Completeness.interval(cn: cn) ?? Completeness.day
            // Periods that ended by `to`: DataTime (the period start) at most to − period.
            if to - period >= from {
                expected += Completeness.summary(mn: "", cn: cn, log: nil, interval: period, from: from, to: to - period).expected
            }
        }
        expectedPerAbsentUnit = expected
    }

    /// One line: "nothing lost: …" or what is missing and how many registered units never connected.
    public var summary: String {
        let absent = registered.map { "\(neverConnected.count) of \($0) registered unit\($0 == 1 ? "" : "s") never connected" }
        if nothingLost {
            return "nothing lost: every expected record arrived" + (registered.map { " (all \($0) registered unit\($0 == 1 ? "" : "s"))" } ?? "")
        }
        var parts: [String] = []
        if missing > 0 || neverConnected.isEmpty { parts.append("\(missing) expected record\(missing == 1 ? "" : "s") missing") }
        if !neverConnected.isEmpty, let absent { parts.append(absent) }
        return parts.joined(separator: "; ")
    }
}
