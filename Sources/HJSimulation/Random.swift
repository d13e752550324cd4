import Foundation

/// A small, fast, seedable generator (xoshiro256**), seeded through SplitMix64, so that the same
/// seed gives the same values on every run and platform.
public struct SimRandom: RandomNumberGenerator, Sendable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64
    private var spareGaussian: Double?

    public init(seed: UInt64) {
        var x = seed
        func splitmix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitmix(); s1 = splitmix(); s2 = splitmix(); s3 = splitmix()
    }

    /// A generator derived from a seed and a label (e.g. the MN), independent of other labels.
    public init(seed: UInt64, label: String) {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325  // FNV-1a
        for b in label.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        self.init(seed: seed ^ h)
    }

    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = s3 << 45 | s3 >> 19
        return result
    }

    /// Uniform in [0, 1).
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Standard normal (Marsaglia's polar method: no trigonometry, one logarithm per pair).
    public mutating func gaussian() -> Double {
        if let spare = spareGaussian { spareGaussian = nil; return spare }
        while true {
            let x = 2 * unit() - 1, y = 2 * unit() - 1
            let s = x * x + y * y
            guard s > 0 && s < 1 else { continue }
            let f = (-2 * Foundation.log(s) / s).squareRoot()
            spareGaussian = y * f
            return x * f
        }
    }
}

/// Fixed-point formatting of measured values, without Foundation's `String(format:)`:
/// rounds half away from zero, never prints "-0".
public enum ValueFormat {
    static let powers: [Double] = [1, 10, 100, 1000, 10000, 100000, 1000000]

    public static func fixed(_ value: Double, decimals: Int) -> String {
        if let text = withFixedBytes(value, decimals: decimals, { String(decoding: $0, as: UTF8.self) }) { return text }
        // Beyond exact fixed-point range (absurd template values): print without trapping.
        return abs(value) < 9.0e18 ? String(Int64(value.rounded())) : String(format: "%.0f", value)
    }

    /// The text of `fixed` as bytes lent to `body` (digits written right to left into 24 bytes of
    /// scratch, no allocation); nil beyond the exact fixed-point range (|value| × 10^decimals ≥ 9e15).
    static func withFixedBytes<R>(_ value: Double, decimals: Int, _ body: (UnsafeRawBufferPointer) -> R) -> R? {
        let d = max(0, min(6, decimals))
        guard value.isFinite else { return withUnsafeBytes(of: UInt8(ascii: "0")) { body($0) } }
        let scaled = (abs(value) * powers[d]).rounded(.toNearestOrAwayFromZero)
        guard scaled < 9.0e15 else { return nil }
        var n = UInt64(scaled)
        let negative = value < 0 && n != 0
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        return withUnsafeMutableBytes(of: &digits) { scratch -> R in
            var i = 24
            var written = 0
            repeat {
                i -= 1
                scratch[i] = UInt8(truncatingIfNeeded: 48 &+ n % 10)
                n /= 10
                written += 1
                if written == d {
                    i -= 1
                    scratch[i] = UInt8(ascii: ".")
                }
            } while n > 0 || written <= d
            if negative {
                i -= 1
                scratch[i] = UInt8(ascii: "-")
            }
            return body(UnsafeRawBufferPointer(rebasing: scratch[i..<24]))
        }
    }
}
