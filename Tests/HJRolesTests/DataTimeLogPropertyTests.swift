import HJ212
import Testing
import TestSupport

@testable import HJRoles

/// The DataTime log as it was before runs (issue 18): a sorted array of every distinct DataTime
/// with its count, pruned in batches. The reference the run-based `DataTimeLog` must match.
private struct ReferenceLog {
    var times: [SessionTime] = []
    var counts: [Int32] = []
    let window: SessionTime
    let capacity: Int
    var dropped = 0

    init(window: SessionTime, capacity: Int) {
        self.window = max(0, window)
        self.capacity = max(1, capacity)
    }

    func lowerBound(_ t: SessionTime) -> Int { times.firstIndex { $0 >= t } ?? times.count }

    func count(of t: SessionTime) -> Int {
        let i = lowerBound(t)
        return i < times.count && times[i] == t ? Int(counts[i]) : 0
    }

    func neighbours(of t: SessionTime) -> (before: SessionTime?, after: SessionTime?) {
        (times.last { $0 < t }, times.first { $0 > t })
    }

    mutating func insert(_ t: SessionTime) -> DataTimeLog.Insertion {
        if let newest = times.last, t < newest - window {
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

    /// `Completeness.summary` as it was, element by element.
    func summary(interval: SessionTime, from: SessionTime, to: SessionTime) -> CompletenessSummary {
        let step = max(1, interval)
        var result = CompletenessSummary(mn: "", cn: "", from: from, to: to, interval: step, expected: 0, received: 0,
                                         missing: 0, duplicates: 0, offGrid: 0, gaps: [])
        guard from <= to else { return result }
        let first = Completeness.alignUp(from, step)
        let last = Completeness.alignDown(to, step)
        if first <= last { result.expected = Int((last - first) / step) + 1 }
        var previous = first - step
        var i = lowerBound(from)
        while i < times.count && times[i] <= to {
            let t = times[i]
            result.duplicates += Int(counts[i]) - 1
            if t % step != 0 {
                result.offGrid += 1
            } else {
                result.received += 1
                if t - previous > step { result.gaps.append((previous + step)...(t - step)) }
                previous = t
            }
            i += 1
        }
        if first <= last && last - previous >= step { result.gaps.append((previous + step)...last) }
        result.missing = result.expected - result.received
        return result
    }
}


@Suite("DataTimeLog runs against the array reference")
struct DataTimeLogPropertyTests {
    /// One random stream: DataTimes mostly on a grid, with the given shares of skips, resends,
    /// out-of-order history, off-grid times and jumps (window eviction); compared after every
    /// insertion on everything the log answers and on summaries over random ranges and grids.
    private func check(seed: UInt64, length: Int, window: SessionTime, capacity: Int, grid: SessionTime,
                       skip: Int, resend: Int, history: Int, offGrid: Int, jump: Int) {
        var g = SplitMix64(seed: seed)
        var log = DataTimeLog(window: window, capacity: capacity)
        var ref = ReferenceLog(window: window, capacity: capacity)
        let base: SessionTime = 1_470_009_600_000  // 2016-08-01 00:00 (a multiple of every grid below)
        var cursor = base
        var sent: [SessionTime] = []
        for n in 0..<length {
            var t: SessionTime
            if !sent.isEmpty && g.chance(resend) {
                t = sent[g.below(sent.count)]  // a resend (may have been pruned since)
            } else if g.chance(history) {
                t = cursor - SessionTime(1 + g.below(40)) * grid  // history fetched again or backfilled
            } else {
                cursor += grid * (g.chance(skip) ? SessionTime(2 + g.below(5)) : 1)
                if g.chance(jump) { cursor += SessionTime(g.below(3)) * window + SessionTime(g.below(4)) * grid }
                t = cursor
            }
            if g.chance(offGrid) { t += SessionTime(1 + g.below(Int(grid) - 1)) }
            sent.append(t)
            let a = log.insert(t), b = ref.insert(t)
            #expect(a == b, "insertion \(n) of \(t), seed \(seed)")
            #expect(log.dropped == ref.dropped, "dropped after \(n), seed \(seed)")
            #expect(log.distinctCount == ref.times.count, "count after \(n), seed \(seed)")
            #expect(log.newest == ref.times.last && log.oldest == ref.times.first)
            if a != b || log.dropped != ref.dropped || log.distinctCount != ref.times.count { return }
            if n % 7 == 0 || n == length - 1 {
                guard log.times == ref.times, log.counts == ref.counts else {
                    Issue.record("contents differ after \(n), seed \(seed): \(log.times.count) vs \(ref.times.count)")
                    return
                }
                for _ in 0..<4 {
                    let probe = t + SessionTime(g.below(12) - 8) * grid + (g.chance(30) ? SessionTime(g.below(Int(grid))) : 0)
                    #expect(log.count(of: probe) == ref.count(of: probe), "count(of: \(probe)), seed \(seed)")
                    #expect(log.contains(probe) == (ref.count(of: probe) > 0))
                    let x = log.neighbours(of: probe), y = ref.neighbours(of: probe)
                    #expect(x.before == y.before && x.after == y.after, "neighbours(of: \(probe)) after \(n), seed \(seed)")
                }
                for _ in 0..<3 {
                    let lo = (ref.times.first ?? base) - SessionTime(g.below(3)) * grid + SessionTime(g.below(2)) * SessionTime(g.below(Int(grid)))
                    let span = SessionTime(g.below(Int(max(1, (cursor - lo) / grid)) + 3)) * grid + SessionTime(g.below(Int(grid)))
                    let from = lo + SessionTime(g.below(Int(max(1, (cursor - lo) / grid)))) * grid
                    // The grid the log was fed, and others (a coarser and a finer one).
                    for interval in [grid, grid * 2, max(1, grid / 2), grid * 3] {
                        let s = Completeness.summary(mn: "", cn: "", log: log, interval: interval, from: from, to: from + span)
                        #expect(s == ref.summary(interval: interval, from: from, to: from + span),
                                "summary \(interval) \(from)...\(from + span) after \(n), seed \(seed)")
                    }
                }
            }
        }
        // What it costs: one run per unbroken stretch, never more runs than DataTimes.
        #expect(log.runCount <= max(1, log.distinctCount))
    }

    @Test("in order on the grid, with skips", arguments: 0..<6)
    func inOrder(seed: UInt64) {
        check(seed: seed, length: 600, window: 40 * 86_400_000, capacity: 100_000, grid: 600_000,
              skip: 5, resend: 0, history: 0, offGrid: 0, jump: 0)
    }

    @Test("out of order, resends and history", arguments: 10..<20)
    func outOfOrder(seed: UInt64) {
        check(seed: seed, length: 500, window: 40 * 86_400_000, capacity: 100_000, grid: 600_000,
              skip: 10, resend: 15, history: 25, offGrid: 0, jump: 0)
    }

    @Test("off-grid DataTimes among the grid ones", arguments: 20..<30)
    func offGrid(seed: UInt64) {
        check(seed: seed, length: 500, window: 40 * 86_400_000, capacity: 100_000, grid: 60_000,
              skip: 8, resend: 10, history: 15, offGrid: 12, jump: 0)
    }

    @Test("window eviction: small windows and jumps ahead", arguments: 30..<42)
    func window(seed: UInt64) {
        let grid: SessionTime = [60_000, 3_600_000, 86_400_000][Int(seed % 3)]
        check(seed: seed, length: 500, window: grid * SessionTime(3 + seed % 37), capacity: 100_000, grid: grid,
              skip: 10, resend: 10, history: 20, offGrid: 5, jump: 4)
    }

    @Test("capacity: small capacities with everything else", arguments: 50..<62)
    func capacity(seed: UInt64) {
        check(seed: seed, length: 500, window: 3_600_000 * SessionTime(2 + seed % 50), capacity: Int(1 + seed % 40), grid: 600_000,
              skip: 10, resend: 15, history: 20, offGrid: 8, jump: 2)
    }

    @Test("a logger on its grid costs one run per unbroken stretch, not one entry per packet")
    func compact() {
        var log = DataTimeLog()
        let base: SessionTime = 1_470_009_600_000
        for k in 0..<57_600 { log.insert(base + SessionTime(k) * 60_000) }  // 40 days of 2051 every minute
        #expect(log.distinctCount == 57_600 && log.runCount == 1 && log.repeatedCount == 0)
        // A two-hour outage, then backfilled oldest first: one run again.
        var gappy = DataTimeLog()
        for k in 0..<1_000 where !(300..<420).contains(k) { gappy.insert(base + SessionTime(k) * 60_000) }
        #expect(gappy.runCount == 2)
        for k in 300..<420 { gappy.insert(base + SessionTime(k) * 60_000) }
        #expect(gappy.runCount == 1 && gappy.distinctCount == 1_000)
        gappy.insert(base + 5 * 60_000)
        #expect(gappy.repeatedCount == 1 && gappy.count(of: base + 5 * 60_000) == 2)
    }
}

@Suite("RunCompleteness: registered units that never connected")
struct RunCompletenessTests {
    @Test("an absent unit's expected records are a lower bound: 2051 at the longest MinInterval (its own is not known)")
    func absentUnitLowerBound() {
        let t0 = HJTime(year: 2026, month: 11, day: 30, hour: 8).wallMilliseconds
        let v = RunCompleteness(registered: ["A", "B"], seen: ["A"], missingOfSeen: 0, from: t0, to: t0 + 3_600_000)
        #expect(v.neverConnected == ["B"])
        // 2051 of 08:00 and 08:30 (30-minute periods ended by 09:00), 2061 of 08:00: 3, not the 7 a 10-minute guess gives.
        #expect(v.expectedPerAbsentUnit == 3)
        #expect(!v.nothingLost)
    }
}
