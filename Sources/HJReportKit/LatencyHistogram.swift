/// A high-dynamic-range histogram of our own: microseconds to days with better than 1 %
/// precision (256 sub-buckets per power of two), mergeable exactly.
///
/// ```swift
/// var h = LatencyHistogram()
/// h.record(microseconds: 1_250)
/// h.percentile(99)   // ≈ 1_250, within 0.4 %
/// ```
public struct LatencyHistogram: Sendable, Equatable {
    static let subBuckets = 256
    static let half = 128
    /// Counts by bucket index (see `index(of:)`); grows as larger values arrive.
    public private(set) var counts: [UInt64] = []
    /// Values recorded.
    public private(set) var total: UInt64 = 0
    /// The smallest and largest value recorded (exact; `min` is `.max` while empty).
    public private(set) var min: UInt64 = .max
    public private(set) var max: UInt64 = 0
    /// The sum of the values recorded (for the mean).
    public private(set) var sum: Double = 0

    /// An empty histogram.
    public init() {}

    /// The largest bucket index a value can have (that of `UInt64.max`).
    public static let maxIndex = index(of: .max)

    /// Rebuilds a histogram from its sparse buckets (as `buckets` lists them), checking what came
    /// from outside: indices in range, no overflow of the total. `min`, `max` and `sum` are taken
    /// as recorded (they cannot be recomputed exactly from buckets).
    ///
    /// ```swift
    /// let h = try LatencyHistogram(buckets: [(300, 2)], min: 300, max: 301, sum: 601)
    /// ```
    public init(buckets: [(index: Int, count: UInt64)], min: UInt64, max: UInt64, sum: Double) throws(HistogramError) {
        var total: UInt64 = 0
        for (index, count) in buckets {
            guard index >= 0, index <= Self.maxIndex else { throw HistogramError(message: "bucket index \(index) out of range 0…\(Self.maxIndex)") }
            guard count > 0 else { continue }
            if index >= counts.count { counts += [UInt64](repeating: 0, count: index - counts.count + 1) }
            let (c, o1) = counts[index].addingReportingOverflow(count)
            let (t, o2) = total.addingReportingOverflow(count)
            guard !o1, !o2 else { throw HistogramError(message: "counts overflow") }
            counts[index] = c
            total = t
        }
        self.total = total
        if total > 0 {
            guard min <= max else { throw HistogramError(message: "min \(min) above max \(max)") }
            self.min = min
            self.max = max
            self.sum = sum.isFinite ? sum : 0
        }
    }

    /// The non-empty buckets, in order: what `init(buckets:min:max:sum:)` takes back.
    public var buckets: [(index: Int, count: UInt64)] {
        counts.enumerated().compactMap { $0.element > 0 ? ($0.offset, $0.element) : nil }
    }

    /// Bucket 0 holds 0…255 exactly; bucket b ≥ 1 holds [2^(b+7), 2^(b+8)) in 128 steps of 2^b.
    public static func index(of v: UInt64) -> Int {
        if v < UInt64(subBuckets) { return Int(v) }
        let msb = 63 - v.leadingZeroBitCount  // ≥ 8
        let b = msb - 7
        let sub = Int(v >> UInt64(b))  // 128…255
        return subBuckets + (b - 1) * half + (sub - half)
    }

    /// The lowest value of a bucket and its width.
    public static func range(of index: Int) -> (low: UInt64, width: UInt64) {
        if index < subBuckets { return (UInt64(index), 1) }
        let b = (index - subBuckets) / half + 1
        let sub = (index - subBuckets) % half + half
        return (UInt64(sub) << UInt64(b), UInt64(1) << UInt64(b))
    }

    /// Records `count` samples of `v` microseconds.
    public mutating func record(microseconds v: UInt64, count: UInt64 = 1) {
        let i = Self.index(of: v)
        if i >= counts.count { counts += [UInt64](repeating: 0, count: i - counts.count + 1) }
        counts[i] &+= count
        total &+= count
        sum += Double(v) * Double(count)
        if v < min { min = v }
        if v > max { max = v }
    }

    /// Adds another histogram's counts: exact, unlike averaging percentiles.
    public mutating func merge(_ o: LatencyHistogram) {
        if o.counts.count > counts.count { counts += [UInt64](repeating: 0, count: o.counts.count - counts.count) }
        for (i, c) in o.counts.enumerated() { counts[i] &+= c }
        total &+= o.total
        sum += o.sum
        if o.total > 0 {
            min = Swift.min(min, o.min)
            max = Swift.max(max, o.max)
        }
    }

    /// What was recorded after `earlier`, a snapshot of this histogram (for a measurement window).
    /// Min and max become bucket bounds.
    public func since(_ earlier: LatencyHistogram) -> LatencyHistogram {
        var out = LatencyHistogram()
        for (i, c) in counts.enumerated() {
            let before = i < earlier.counts.count ? earlier.counts[i] : 0
            if c > before {
                let r = Self.range(of: i)
                out.record(microseconds: r.low + r.width / 2, count: c - before)
            }
        }
        return out
    }

    /// The value at percentile p (0…100): the middle of the bucket holding it, clamped to min/max.
    public func percentile(_ p: Double) -> UInt64 {
        guard total > 0 else { return 0 }
        if p >= 100 { return max }
        // Counts may come from files and merges: the rank saturates instead of trapping.
        let r = (Swift.max(0, p.isNaN ? 0 : p) / 100 * Double(total)).rounded(.up)
        let rank = r >= 18_446_744_073_709_551_615.0 ? UInt64.max : UInt64(r)
        var seen: UInt64 = 0
        for (i, c) in counts.enumerated() where c > 0 {
            let (s, o) = seen.addingReportingOverflow(c)
            seen = o ? .max : s
            if seen >= Swift.max(rank, 1) {
                let r = Self.range(of: i)
                return Swift.min(Swift.max(r.low + r.width / 2, min), max)
            }
        }
        return max
    }

    /// The exact mean of the values recorded.
    public var mean: Double { total > 0 ? sum / Double(total) : 0 }

    /// The mean in whole microseconds, clamped to 0…UInt64.max (a sum read from a file or added
    /// over merges may be anything).
    public var meanMicroseconds: UInt64 {
        guard mean > 0 else { return 0 }  // NaN too
        return mean >= 18_446_744_073_709_551_615.0 ? .max : UInt64(mean)
    }

    /// `p50 1.2 ms  p90 …  p99 …  p99.9 …  max …`
    public var summary: String {
        guard total > 0 else { return "no samples" }
        return [("p50", 50.0), ("p90", 90), ("p99", 99), ("p99.9", 99.9)].map { "\($0.0) \(Self.format(percentile($0.1)))" }.joined(separator: "  ")
            + "  max \(Self.format(max))"
    }

    /// Microseconds for a person: `850 µs`, `1.25 ms`, `3.4 s`.
    public static func format(_ us: UInt64) -> String {
        if us < 1000 { return "\(us) µs" }
        if us < 1_000_000 { return "\(Double(us / 10) / 100) ms" }
        return "\(Double(us / 10_000) / 100) s"
    }
}

/// A serialized histogram that does not hold together (from a report file).
public struct HistogramError: Error, Sendable, CustomStringConvertible {
    /// What does not hold together.
    public var message: String
    /// The message.
    public var description: String { message }
}
