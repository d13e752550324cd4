import HJ212

/// The DataTimes received for one CN of one unit: distinct, each with how often it arrived, and
/// bounded to a window behind the newest one (and to a hard capacity of distinct DataTimes).
/// Pruning happens in batches, so up to an eighth more than the window or capacity may be held
/// for a while.
///
/// Stored as runs (arithmetic progressions `start, start + step, …`) plus a side table of the
/// DataTimes that arrived more than once: a logger sending on its grid costs one run per
/// unbroken stretch, not one entry per packet (issue 18: 10,000 units × 2051 every minute
/// × 40 days were 57,600 entries of 12 bytes per unit and CN). Budget (docs/budgets.md): 16 bytes
/// per run plus 16 bytes per repeated DataTime; at worst (every DataTime isolated from its
/// neighbours and repeated) 32 bytes × (capacity + capacity / 8).
///
/// ```swift
/// var log = DataTimeLog(window: 40 * 86_400_000, capacity: 100_000)
/// log.insert(HJTime("20160801080000")!.wallMilliseconds)   // .new
/// log.insert(HJTime("20160801080000")!.wallMilliseconds)   // .duplicate
/// ```
public struct DataTimeLog: Sendable {
    /// What `insert` did.
    public enum Insertion: Sendable, Equatable {
        /// First time this DataTime arrived.
        case new
        /// It had arrived before (a resend, or history fetched again).
        case duplicate
        /// Older than the window behind the newest DataTime: not kept.
        case outsideWindow
    }

    /// DataTimes `start, start + step, …` (`count` of them; `step` is 0 when `count` is 1).
    struct Run: Sendable, Equatable {
        var start: SessionTime
        var step: UInt32
        var count: UInt32

        var last: SessionTime { element(Int(count) - 1) }
        func element(_ k: Int) -> SessionTime { start + SessionTime(step) * SessionTime(k) }
        func contains(_ t: SessionTime) -> Bool {
            t >= start && t <= last && (step == 0 ? t == start : (t - start) % SessionTime(step) == 0)
        }
        /// The run without its first `k` elements (`k < count`).
        func dropping(_ k: Int) -> Run {
            let n = count - UInt32(k)
            return Run(start: element(k), step: n == 1 ? 0 : step, count: n)
        }
    }

    /// A DataTime that arrived more than once (`count` ≥ 2 arrivals).
    struct Repeat: Sendable, Equatable {
        var time: SessionTime
        var count: Int32
    }

    /// Runs in ascending order, each one's elements before the next one's start.
    private(set) var runs: [Run] = []
    /// The DataTimes that arrived more than once, ascending.
    private(set) var repeats: [Repeat] = []
    /// How many distinct DataTimes are held.
    public private(set) var distinctCount = 0
    /// How far behind the newest DataTime entries are kept (ms).
    public let window: SessionTime
    /// The most distinct DataTimes kept.
    public let capacity: Int
    /// DataTimes dropped (pruned from the window or capacity, or refused as too old).
    public private(set) var dropped = 0

    /// The largest step a run holds; DataTimes further apart start a new run.
    private static let maxStep = SessionTime(UInt32.max)

    public init(window: SessionTime = 40 * 86_400_000, capacity: Int = 100_000) {
        self.window = max(0, window)
        self.capacity = max(1, capacity)
    }

    public var newest: SessionTime? { runs.last?.last }
    public var oldest: SessionTime? { runs.first?.start }
    public var isEmpty: Bool { runs.isEmpty }
    /// How many runs hold the DataTimes (what the log costs: see the budget above).
    public var runCount: Int { runs.count }
    /// How many DataTimes arrived more than once.
    public var repeatedCount: Int { repeats.count }

    /// Distinct DataTimes, ascending (expanded: O(n), for tests and small logs).
    public var times: [SessionTime] { runs.flatMap { r in (0..<Int(r.count)).map { r.element($0) } } }
    /// How often each of `times` arrived (parallel to `times`).
    public var counts: [Int32] { times.map { Int32(count(of: $0)) } }

    /// Index of the last run starting at or before `t`, or -1.
    func runIndex(atOrBefore t: SessionTime) -> Int {
        var lo = 0, hi = runs.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if runs[mid].start <= t { lo = mid + 1 } else { hi = mid }
        }
        return lo - 1
    }

    /// Index of the first repeat at or after `t`.
    func repeatIndex(_ t: SessionTime) -> Int {
        var lo = 0, hi = repeats.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if repeats[mid].time < t { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    public func contains(_ t: SessionTime) -> Bool {
        let r = runIndex(atOrBefore: t)
        return r >= 0 && runs[r].contains(t)
    }

    /// How often `t` arrived.
    public func count(of t: SessionTime) -> Int {
        guard contains(t) else { return 0 }
        let i = repeatIndex(t)
        return i < repeats.count && repeats[i].time == t ? Int(repeats[i].count) : 1
    }

    /// The distinct neighbours of `t` (the times just before and after it), if any.
    public func neighbours(of t: SessionTime) -> (before: SessionTime?, after: SessionTime?) {
        let r = runIndex(atOrBefore: t)
        var before: SessionTime?
        var after: SessionTime?
        if r >= 0 {
            let run = runs[r]
            if run.start < t {
                before = t > run.last ? run.last : run.element(Int((t - run.start - 1) / SessionTime(run.step)))
            } else if r > 0 {
                before = runs[r - 1].last
            }
            if t < run.last { after = run.element(Int((t - run.start) / SessionTime(run.step)) + 1) }
        }
        if after == nil, r + 1 < runs.count { after = runs[r + 1].start }
        return (before, after)
    }

    @discardableResult
    public mutating func insert(_ t: SessionTime) -> Insertion {
        if let newest, t < newest - window {
            dropped += 1
            return .outsideWindow
        }
        let r = runIndex(atOrBefore: t)
        if r >= 0 && runs[r].contains(t) {
            let i = repeatIndex(t)
            if i < repeats.count && repeats[i].time == t {
                if repeats[i].count < Int32.max { repeats[i].count += 1 }
            } else {
                repeats.insert(Repeat(time: t, count: 2), at: i)
            }
            return .duplicate
        }
        let isNewest = r == runs.count - 1 && (r < 0 || t > runs[r].last)
        place(t, after: r)
        distinctCount += 1
        // Prune in batches (an eighth of the window or capacity at a time), as the log always did.
        if isNewest, let oldest, oldest < t - window - window / 8 {
            dropped += removeBelow(t - window)
        }
        if distinctCount > capacity + capacity / 8 {
            let excess = distinctCount - capacity
            removeOldest(excess)
            dropped += excess
        }
        return .new
    }

    /// Puts a new DataTime into the runs: it continues a neighbouring run when it can, else it
    /// joins a single neighbour into a run of two, else it is a run of its own (splitting the run
    /// whose span it falls in); the joined run then absorbs the next one if that continues it.
    private mutating func place(_ t: SessionTime, after r: Int) {
        let j = r + 1
        if r >= 0 && t < runs[r].last {
            let run = runs[r]
            let k = Int((t - run.start) / SessionTime(run.step))  // elements 0...k lie before t
            let left = Run(start: run.start, step: k == 0 ? 0 : run.step, count: UInt32(k + 1))
            runs.replaceSubrange(r...r, with: [left, Run(start: t, step: 0, count: 1), run.dropping(k + 1)])
        } else {
            runs.insert(Run(start: t, step: 0, count: 1), at: j)
        }
        let left = j > 0 ? runs[j - 1] : nil
        let right = j + 1 < runs.count ? runs[j + 1] : nil
        let leftContinues = left.map { $0.count >= 2 && t - $0.last == SessionTime($0.step) } ?? false
        let rightContinues = right.map { $0.count >= 2 && $0.start - t == SessionTime($0.step) } ?? false
        if leftContinues || (!rightContinues && left.map { $0.count == 1 && t - $0.start <= Self.maxStep } ?? false) {
            join(j - 1)
            if j < runs.count && joinable(j - 1) { join(j - 1) }
        } else if rightContinues || (right.map { $0.count == 1 && $0.start - t <= Self.maxStep } ?? false) {
            join(j)
            if j > 0 && joinable(j - 1) { join(j - 1) }
        }
    }

    /// Whether `runs[i + 1]` continues `runs[i]` (two single DataTimes always do, within `maxStep`).
    private func joinable(_ i: Int) -> Bool {
        let a = runs[i], b = runs[i + 1]
        let gap = b.start - a.last
        switch (a.count, b.count) {
        case (1, 1): return gap <= Self.maxStep
        case (1, _): return gap == SessionTime(b.step)
        case (_, 1): return gap == SessionTime(a.step)
        default: return gap == SessionTime(a.step) && a.step == b.step
        }
    }

    /// Merges `runs[i + 1]` into `runs[i]` (they must be joinable).
    private mutating func join(_ i: Int) {
        let a = runs[i], b = runs[i + 1]
        let step = a.count >= 2 ? a.step : b.count >= 2 ? b.step : UInt32(b.start - a.start)
        runs[i] = Run(start: a.start, step: step, count: a.count + b.count)
        runs.remove(at: i + 1)
    }

    /// Removes every DataTime before `threshold`; how many were removed.
    private mutating func removeBelow(_ threshold: SessionTime) -> Int {
        var removed = 0, whole = 0
        while whole < runs.count && runs[whole].last < threshold {
            removed += Int(runs[whole].count)
            whole += 1
        }
        runs.removeFirst(whole)
        if let first = runs.first, first.start < threshold {
            let step = SessionTime(first.step)  // ≥ 1: the run reaches past threshold
            let k = Int((threshold - first.start + step - 1) / step)
            runs[0] = first.dropping(k)
            removed += k
        }
        distinctCount -= removed
        dropRepeats()
        return removed
    }

    /// Removes the `n` oldest DataTimes (`n` < `distinctCount`).
    private mutating func removeOldest(_ n: Int) {
        var left = n, whole = 0
        while left > 0 && Int(runs[whole].count) <= left {
            left -= Int(runs[whole].count)
            whole += 1
        }
        runs.removeFirst(whole)
        if left > 0 { runs[0] = runs[0].dropping(left) }
        distinctCount -= n
        dropRepeats()
    }

    /// Forgets the repeat counts of DataTimes no longer held.
    private mutating func dropRepeats() {
        guard let oldest else { repeats.removeAll(); return }
        repeats.removeFirst(repeatIndex(oldest))
    }
}

extension DataTimeLog: Equatable {
    /// Equal when they hold the same DataTimes with the same counts, bounds and drop count
    /// (however the runs happen to be cut).
    public static func == (a: DataTimeLog, b: DataTimeLog) -> Bool {
        a.window == b.window && a.capacity == b.capacity && a.dropped == b.dropped && a.distinctCount == b.distinctCount
            && a.repeats == b.repeats && (a.runs == b.runs || a.times == b.times)
    }
}
