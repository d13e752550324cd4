/// Running totals of one factor over one period (HJ 212-2017 Appendix D).
///
/// Water (D.1): volumes and loads are summed per time slice (ΔD = Q·T·10⁻³, G = ΔD·C·10⁻³) and the
/// period mean of a pollutant is flow-weighted (C = G/D·10³); factors without a load (pH,
/// temperature) take the arithmetic mean. Hour totals are sums of the minute totals, day totals
/// sums of the hours.
///
/// Flue gas (D.2): a minute mean needs ≥ 12 valid instantaneous values (all of them at 5 s
/// sampling); the hour mean is the mean of ≥ 45 valid minute means, the day mean the mean of
/// ≥ 20 valid hour means; otherwise the aggregate is flagged D. Loads are Σ C·Q·Δt.
public struct Accumulator: Sendable {
    // Declared small and in this order to make 128 bytes (it was 160): a logger holds four per
    // factor (`bench memory`). Counts fit Int32: a day of 1 s samples is 86,400.
    /// Sub-values (samples for water and gas minutes, minute means for gas periods).
    public var count: Int32 = 0
    public var valid: Int32 = 0
    /// Converted (Zs) values of valid sub-values: their number (their sum and extremes below).
    public var zsCount: Int32 = 0
    /// Sum of valid sub-values (arithmetic means), and of all of them (fallback).
    public var sum = 0.0
    public var sumAll = 0.0
    public var min = Double.infinity
    public var max = -Double.infinity
    /// Water: volume D in m³ and load G in the factor's Cou unit; gas: load in the Cou unit.
    public var volume = 0.0
    public var load = 0.0
    public var zsSum = 0.0
    public var zsMin = Double.infinity
    public var zsMax = -Double.infinity
    /// Counts of data flags, by `Accumulator.flagSlot` (fixed storage: no heap traffic on the hot
    /// path): slots 0–7 in `flags`, 8–9 in `moreFlags`.
    public var moreFlags = SIMD2<Int32>()
    public var flags = SIMD8<Int32>()

    public init() {}

    public var isEmpty: Bool { count == 0 }

    /// The flags counted, in slot order; anything else counts in the last slot.
    static let flagLetters = Array("NFMSDCTBP".utf8)

    @inline(__always)
    static func flagSlot(_ flag: UInt8) -> Int {
        switch flag {
        case UInt8(ascii: "N"): return 0
        case UInt8(ascii: "F"): return 1
        case UInt8(ascii: "M"): return 2
        case UInt8(ascii: "S"): return 3
        case UInt8(ascii: "D"): return 4
        case UInt8(ascii: "C"): return 5
        case UInt8(ascii: "T"): return 6
        case UInt8(ascii: "B"): return 7
        case UInt8(ascii: "P"): return 8
        default: return 9
        }
    }

    mutating func addFlag(_ flag: UInt8) {
        let slot = Self.flagSlot(flag)
        if slot < 8 { flags[slot] &+= 1 } else { moreFlags[slot - 8] &+= 1 }
    }

    public func count(of flag: UInt8) -> Int {
        let slot = Self.flagSlot(flag)
        return Int(slot < 8 ? flags[slot] : moreFlags[slot - 8])
    }

    /// Adds a sample (water) or a sub-value (gas minute / hour mean).
    mutating func add(value: Double, valid isValid: Bool, flag: UInt8, min lo: Double, max hi: Double) {
        count += 1
        sumAll += value
        if isValid { valid += 1; sum += value }
        if lo < min { min = lo }
        if hi > max { max = hi }
        addFlag(flag)
    }

    mutating func addZs(_ zs: Double, min lo: Double, max hi: Double) {
        zsSum += zs
        zsCount += 1
        if lo < zsMin { zsMin = lo }
        if hi > zsMax { zsMax = hi }
    }

    /// Water: folds a finished period into a longer one (sums of totals, extremes of extremes).
    mutating func merge(_ o: Accumulator) {
        count += o.count
        valid += o.valid
        sum += o.sum
        sumAll += o.sumAll
        if o.min < min { min = o.min }
        if o.max > max { max = o.max }
        volume += o.volume
        load += o.load
        zsSum += o.zsSum
        zsCount += o.zsCount
        if o.zsMin < zsMin { zsMin = o.zsMin }
        if o.zsMax > zsMax { zsMax = o.zsMax }
        flags &+= o.flags
        moreFlags &+= o.moreFlags
    }

    /// Arithmetic mean of the valid sub-values (all of them when none is valid).
    public var mean: Double { valid > 0 ? sum / Double(valid) : count > 0 ? sumAll / Double(count) : 0 }

    /// Flow-weighted mean for water pollutants: G/D·10³ in the concentration unit, arithmetic when D = 0.
    public func weightedMean(couPerConcentrationVolume k: Double) -> Double {
        volume > 0 ? load / (volume * k) : mean
    }

    public var zsMean: Double? { zsCount > 0 ? zsSum / Double(zsCount) : nil }

    static let abnormalOrder = Array("DFMCTBSP".utf8)

    /// The most frequent abnormal flag, in a fixed order on ties.
    var dominantAbnormal: UInt8? {
        var best: UInt8?
        var bestCount = 0
        for letter in Self.abnormalOrder where count(of: letter) > bestCount {
            best = letter
            bestCount = count(of: letter)
        }
        return best
    }

    /// Water roll-up (C.16–C.18 notes): any abnormal sub-value makes the aggregate abnormal.
    public var waterFlag: UInt8 { dominantAbnormal ?? UInt8(ascii: "N") }

    /// Flue-gas roll-up: normal when at least `needed` sub-values are valid, otherwise D.
    public func gasFlag(needed: Int) -> UInt8 { Int(valid) >= needed ? UInt8(ascii: "N") : UInt8(ascii: "D") }
}
