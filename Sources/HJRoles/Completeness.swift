import HJ212

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
            var k = log.repeatIndex(from)
            while k < log.repeats.count && log.repeats[k].time <= to {
                result.duplicates += Int(log.repeats[k].count) - 1
                k += 1
            }
            var r = max(0, log.runIndex(atOrBefore: from))
            while r < log.runs.count && log.runs[r].start <= to {
                let run = log.runs[r]
                r += 1
                if run.last < from { continue }
                // The run's elements within from...to: k0...k1 (a run whose last is ≥ from and
                // whose start is < from has two elements or more, so its step is not 0).
                let k0 = run.start >= from ? 0 : Int((from - run.start + SessionTime(run.step) - 1) / SessionTime(run.step))
                let k1 = run.last <= to ? Int(run.count) - 1 : Int((to - run.start) / SessionTime(run.step))
                if k0 > k1 { continue }  // the range falls between two of the run's elements
                if SessionTime(run.step) == step && run.start % step == 0 {
                    // On the grid, one slot after another: received, no gap inside.
                    let t = run.element(k0)
                    result.received += k1 - k0 + 1
                    if t - previous > step { result.gaps.append((previous + step)...(t - step)) }
                    previous = run.element(k1)
                    continue
                }
                for i in k0...k1 {
                    let t = run.element(i)
                    if t % step != 0 {
                        result.offGrid += 1
                    } else {
                        result.received += 1
                        if t - previous > step { result.gaps.append((previous + step)...(t - step)) }
                        previous = t
                    }
                }
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
    /// Records a registered unit that never connected would have sent over the run, at least
    /// (2051 at the longest MinInterval, 30 min, since its own is not known; 2061 and 2031), per
    /// unit: a lower bound, whose periods ended within the run.
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
            let period = Completeness.interval(cn: cn, minInterval: Completeness.validMinIntervals.max()!) ?? Completeness.day
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
