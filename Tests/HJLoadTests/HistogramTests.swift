import Testing
@testable import HJLoad
@testable import HJReportKit

@Suite("Latency histogram")
struct HistogramTests {
    /// Exact percentile of sorted data (nearest rank).
    static func exact(_ sorted: [UInt64], _ p: Double) -> UInt64 {
        let rank = max(1, Int((p / 100 * Double(sorted.count)).rounded(.up)))
        return sorted[rank - 1]
    }

    @Test("percentiles are within 1 % of the exact ones over microseconds to minutes")
    func precision() {
        var rng: UInt64 = 0x1234_5678
        func next() -> UInt64 { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng }
        var values: [UInt64] = []
        var h = LatencyHistogram()
        for _ in 0..<100_000 {
            // Log-uniform from 1 µs to ~100 s.
            let e = Double(next() % 1_000_000) / 1_000_000 * 8
            let v = UInt64(Self.pow10(e))
            values.append(v)
            h.record(microseconds: v)
        }
        values.sort()
        for p in [1.0, 10, 50, 90, 99, 99.9, 99.99] {
            let e = Self.exact(values, p), got = h.percentile(p)
            #expect(Double(got) >= Double(e) * 0.99 - 1 && Double(got) <= Double(e) * 1.01 + 1, "p\(p): \(got) vs \(e)")
        }
        #expect(h.percentile(100) == values.last)
        #expect(h.min == values.first && h.total == 100_000)
    }

    static func pow10(_ e: Double) -> Double {
        var r = 1.0
        var x = e
        while x >= 1 { r *= 10; x -= 1 }
        return r * (1 + x * 9)  // piecewise: good enough for spreading values
    }

    @Test("merging equals recording everything in one histogram")
    func merge() {
        var a = LatencyHistogram(), b = LatencyHistogram(), all = LatencyHistogram()
        for v in stride(from: UInt64(0), to: 2_000_000, by: 997) {
            if v % 2 == 0 { a.record(microseconds: v) } else { b.record(microseconds: v) }
            all.record(microseconds: v)
        }
        var m = a
        m.merge(b)
        #expect(m == all)
        #expect(m.percentile(99) == all.percentile(99))
    }

    @Test("bucket boundaries: exact below 256, contiguous above")
    func buckets() {
        for v: UInt64 in [0, 1, 255] { #expect(LatencyHistogram.range(of: LatencyHistogram.index(of: v)) == (v, 1)) }
        var previousEnd: UInt64 = 256
        for i in 256..<2000 {
            let r = LatencyHistogram.range(of: i)
            #expect(r.low == previousEnd)
            #expect(LatencyHistogram.index(of: r.low) == i && LatencyHistogram.index(of: r.low + r.width - 1) == i)
            previousEnd = r.low + r.width
        }
    }
}
