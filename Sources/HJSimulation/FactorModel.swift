import Foundation
import HJ212
import Synchronization

/// The state of one simulated factor: the process value, what the instrument reports, and the
/// running aggregates of the open minute, MinInterval window, hour and day.
/// The constants of one factor's model, made once per template factor and shared by every
/// simulator of that template (a logger holds one reference per factor, not a copy of a dozen
/// constants and eleven key strings: `bench memory`).
final class FactorSpec: Sendable {
    let code: String
    let baseline: Double
    let stopped: Double
    let rangeMin: Double
    let rangeMax: Double
    let limit: Double?
    let amplitude: Double
    let peakHour: Double
    let peakCos: Double
    let peakSin: Double
    let noiseSD: Double
    let phi: Double
    let innovation: Double
    let measureEveryMs: Int64
    let decimals: Int
    let zs: Bool
    /// Whether the factor has an amount (Cou) per Appendix B, and the factor from
    /// concentration × volume (m³) to that amount unit.
    let hasCou: Bool
    let couK: Double
    /// The CP keys of this factor, made once (`w01018-Rtd` …): packet building allocates no keys.
    let keys: FactorModel.Keys

    init(_ f: UnitTemplate.Factor, medium: UnitTemplate.Medium, dictionary: CodeDictionary, isFlow: Bool) {
        code = f.code
        keys = FactorModel.Keys(f.code)
        baseline = f.baseline
        stopped = f.stopped
        rangeMin = f.rangeMin
        rangeMax = f.rangeMax
        limit = f.limit
        amplitude = f.dailyAmplitude
        peakHour = f.peakHour
        peakCos = cos(2 * Double.pi * f.peakHour / 24)
        peakSin = sin(2 * Double.pi * f.peakHour / 24)
        noiseSD = f.noise
        phi = f.autocorrelation
        innovation = (1 - f.autocorrelation * f.autocorrelation).squareRoot() * f.noise
        measureEveryMs = Int64(f.measureEveryMinutes) * 60_000
        decimals = f.decimals
        zs = f.zs
        let factor = dictionary.factor(f.code)
        if isFlow {
            hasCou = true
            couK = 1
        } else if let factor, let k = FactorModel.couFactor(unit: f.unit ?? factor.unit, couUnit: factor.couUnit, medium: medium) {
            hasCou = true
            couK = k
        } else {
            hasCou = false
            couK = 0
        }
    }

    struct CacheKey: Hashable {
        var factor: UnitTemplate.Factor
        var unit: String?
        var medium: UnitTemplate.Medium
        var isFlow: Bool
    }

    /// Specs made so far, by everything they are made from. Bounded: cleared when full (a process
    /// loading many different templates makes specs again rather than growing).
    static let cache = Mutex<[CacheKey: FactorSpec]>([:])
    static let cacheLimit = 4096

    /// The spec of a template factor: the one already made for an equal factor, or a new one.
    static func shared(_ f: UnitTemplate.Factor, medium: UnitTemplate.Medium, dictionary: CodeDictionary, template: UnitTemplate) -> FactorSpec {
        let key = CacheKey(factor: f, unit: f.unit, medium: medium, isFlow: f.code == template.flowFactor)
        return cache.withLock { specs in
            if let spec = specs[key] { return spec }
            if specs.count >= cacheLimit { specs.removeAll() }
            let spec = FactorSpec(f, medium: medium, dictionary: dictionary, isFlow: key.isFlow)
            specs[key] = spec
            return spec
        }
    }
}

/// The state of one simulated factor: the process value, what the instrument reports, and the
/// running aggregates of the open minute, MinInterval window, hour and day. The constants are
/// in the shared `spec`.
struct FactorModel: Sendable {
    let spec: FactorSpec
    var code: String { spec.code }
    var baseline: Double { spec.baseline }
    var stopped: Double { spec.stopped }
    var rangeMin: Double { spec.rangeMin }
    var rangeMax: Double { spec.rangeMax }
    var limit: Double? { spec.limit }
    var amplitude: Double { spec.amplitude }
    var peakHour: Double { spec.peakHour }
    var noiseSD: Double { spec.noiseSD }
    var measureEveryMs: Int64 { spec.measureEveryMs }
    var decimals: Int { spec.decimals }
    var zs: Bool { spec.zs }
    var hasCou: Bool { spec.hasCou }
    var couK: Double { spec.couK }
    var keys: Keys { spec.keys }

    struct Keys: Sendable {
        let sampleTime, rtd, zsRtd, flag, cou, min, avg, max, zsMin, zsAvg, zsMax: String
        /// The same keys as the byte path writes them (`SegmentBytes.key(_: CPKey)`).
        let bytes: ByteKeys
        init(_ code: String) {
            sampleTime = code + "-SampleTime"; rtd = code + "-Rtd"; zsRtd = code + "-ZsRtd"; flag = code + "-Flag"
            cou = code + "-Cou"; min = code + "-Min"; avg = code + "-Avg"; max = code + "-Max"
            zsMin = code + "-ZsMin"; zsAvg = code + "-ZsAvg"; zsMax = code + "-ZsMax"
            bytes = ByteKeys(sampleTime: CPKey(sampleTime), rtd: CPKey(rtd), zsRtd: CPKey(zsRtd), flag: CPKey(flag), cou: CPKey(cou),
                             min: CPKey(min), avg: CPKey(avg), max: CPKey(max), zsMin: CPKey(zsMin), zsAvg: CPKey(zsAvg), zsMax: CPKey(zsMax))
        }
    }

    struct ByteKeys: Sendable {
        let sampleTime, rtd, zsRtd, flag, cou, min, avg, max, zsMin, zsAvg, zsMax: CPKey
    }

    var noise = 0.0
    /// The process value now.
    var value: Double
    /// The value the process would have while running (before the running level is applied):
    /// what couplings read, so that start-up ramps are not applied twice.
    var running: Double
    /// What the instrument reports now (held between measurements for cyclic analysers).
    var reading: Double
    var sampleTime: Int64 = 0
    /// What the instrument measured, before value faults (`InstrumentFaults`) change `reading`
    /// and `flag`; faults start from these every sample, so they never compound.
    var trueReading: Double
    /// A process fault's level for this factor (furnace-low): replaces the daily cycle.
    var processTarget: Double?
    // The bytes together, after the optional's tag byte (no padding between them).
    var flag = UInt8(ascii: "N")
    var trueFlag = UInt8(ascii: "N")
    var measuredOnce = false

    var minute = Accumulator()
    var window = Accumulator()
    var hour = Accumulator()
    var day = Accumulator()

    init(_ f: UnitTemplate.Factor, medium: UnitTemplate.Medium, dictionary: CodeDictionary, template: UnitTemplate) {
        spec = FactorSpec.shared(f, medium: medium, dictionary: dictionary, template: template)
        value = f.baseline
        running = f.baseline
        reading = f.baseline
        trueReading = f.baseline
    }

    static func grams(_ prefix: Substring) -> Double? {
        switch prefix {
        case "kg": return 1e3
        case "g": return 1
        case "mg": return 1e-3
        case "µg", "μg", "ug": return 1e-6
        case "ng": return 1e-9
        default: return nil
        }
    }

    /// Amount per (concentration × m³): water C in X/L over m³ (×1000 L), gas C in X/m³.
    static func couFactor(unit: String, couUnit: String, medium: UnitTemplate.Medium) -> Double? {
        guard !couUnit.isEmpty, let slash = unit.firstIndex(of: "/") else { return nil }
        guard let concMass = grams(unit[..<slash]), let couMass = grams(Substring(couUnit)) else { return nil }
        let per = unit[unit.index(after: slash)...]
        let litresPerM3: Double
        switch per {
        case "L": litresPerM3 = 1000
        case "m³", "m3": litresPerM3 = 1
        default: return nil
        }
        return litresPerM3 * concMass / couMass
    }

    /// (21 − O2ref)/(21 − O2) (HJ 212-2017 D.2.3 eq. 28); nil when there is no reference or the
    /// O2 is that of ambient air (plant stopped), where conversion is meaningless.
    static func zsFactor(o2: Double, reference: Double?) -> Double? {
        guard let reference, o2 < 20 else { return nil }
        return (21 - reference) / (21 - o2)
    }

    func format(_ v: Double) -> String { ValueFormat.fixed(v, decimals: decimals) }

    /// The flag of data taken while the plant is stopped: F 停运.
    static let stoppedFlag = UInt8(ascii: "F")

    /// Advances the process value one sample. `coupling` is the product of the coupling terms
    /// 1 + gain·(other/other.baseline − 1), computed by the caller from the other factors.
    mutating func step(level: Double, dayPhase: (cos: Double, sin: Double), t: Int64, random: inout SimRandom, coupling: Double) {
        let spec = self.spec
        let baseline = spec.baseline, amplitude = spec.amplitude, stopped = spec.stopped
        let measureEveryMs = spec.measureEveryMs, rangeMax = spec.rangeMax, rangeMin = spec.rangeMin
        noise = spec.phi * noise + spec.innovation * random.gaussian()
        // cos(2π(h − peak)/24) from the sample's cos/sin of 2πh/24 and the factor's own of 2π·peak/24.
        let cycle = dayPhase.cos * spec.peakCos + dayPhase.sin * spec.peakSin
        running = (processTarget ?? baseline * (1 + amplitude * cycle)) * (1 + noise) * coupling
        // A stopped plant (level 0): the instruments read what stands in the channel or stack,
        // with their noise (never an exact constant), and flag it F 停运 (HJ 212-2017 Table 8:
        // 仪器仪表停运; HJ/T 212-2005 F 排放源停运); a flow of nothing reads 0.
        let isStopped = level <= 0
        value = isStopped ? stopped * (1 + noise) : stopped + (running - stopped) * level
        if measureEveryMs == 0 || t % measureEveryMs == 0 || !measuredOnce {
            measuredOnce = true
            sampleTime = measureEveryMs == 0 ? t : (t / measureEveryMs) * measureEveryMs
            var r = value
            flag = isStopped ? Self.stoppedFlag : UInt8(ascii: "N")
            if r > rangeMax { r = rangeMax; flag = UInt8(ascii: "T") }
            if r < rangeMin { r = rangeMin }
            reading = r
            trueReading = r
            trueFlag = flag
        } else if isStopped != (trueFlag == Self.stoppedFlag) {
            // A cyclic analyser between measurements: the held reading takes the plant's state.
            trueFlag = isStopped ? Self.stoppedFlag : UInt8(ascii: "N")
            flag = trueFlag
        }
    }

    /// Folds the current reading into the open period (one time slice of `dt` seconds).
    /// `zsK` is `zsFactor(o2:reference:)` of this sample (the same for every factor: made once).
    mutating func accumulate(flow: Double, dt: Double, zsK: Double?, isFlow: Bool, medium: UnitTemplate.Medium) {
        let isValid = flag == UInt8(ascii: "N")
        switch medium {
        case .water:
            window.add(value: reading, valid: isValid, flag: flag, min: reading, max: reading)
            let volume = Swift.max(0, flow) * dt * 1e-3  // ΔD = Q·T·10⁻³ m³, Q in L/s
            if isFlow {
                window.volume += volume
                window.load += volume
            } else if hasCou {
                window.volume += volume
                window.load += volume * reading * couK  // G = ΔD·C·10⁻³ kg for mg/L
            }
        case .gas:
            minute.add(value: reading, valid: isValid, flag: flag, min: reading, max: reading)
            if isFlow {
                minute.load += Swift.max(0, flow) * dt  // m³, Q in m³/s
            } else if hasCou {
                minute.load += reading * Swift.max(0, flow) * dt * couK  // C·Q·Δt
            }
            if let k = zsK, zs {
                let z = reading * k
                minute.addZs(z, min: z, max: z)
            }
        }
    }

    /// Gas: a minute mean from its instantaneous values (valid with ≥ 12, or all at coarser sampling).
    mutating func closeMinute(medium: UnitTemplate.Medium, samplesPerMinute: Int) {
        guard medium == .gas, minute.count > 0 else { return }
        let needed = Swift.min(12, samplesPerMinute)
        let isValid = Int(minute.valid) >= needed
        let flag = isValid ? UInt8(ascii: "N") : (minute.dominantAbnormal ?? UInt8(ascii: "D"))
        let mean = minute.mean
        window.add(value: mean, valid: isValid, flag: flag, min: minute.min, max: minute.max)
        window.load += minute.load
        hour.add(value: mean, valid: isValid, flag: flag, min: minute.min, max: minute.max)
        hour.load += minute.load
        if isValid, let z = minute.zsMean {
            window.addZs(z, min: z, max: z)
            hour.addZs(z, min: z, max: z)
        }
        minute = Accumulator()
    }

    func record(_ a: Accumulator, medium: UnitTemplate.Medium, needed: Int) -> PeriodRecord {
        switch medium {
        case .water:
            let avg = hasCou && couK != 1 ? a.weightedMean(couPerConcentrationVolume: couK) : a.mean
            return PeriodRecord(count: Int(a.count), cou: hasCou ? a.load : nil, min: a.min, avg: avg, max: a.max,
                                zsMin: nil, zsAvg: nil, zsMax: nil, flag: a.waterFlag)
        case .gas:
            return PeriodRecord(count: Int(a.count), cou: hasCou ? a.load : nil, min: a.min, avg: a.mean, max: a.max,
                                zsMin: a.zsCount > 0 ? a.zsMin : nil, zsAvg: a.zsMean, zsMax: a.zsCount > 0 ? a.zsMax : nil,
                                flag: a.gasFlag(needed: needed))
        }
    }

    /// The MinInterval record (2051).
    mutating func closeWindow(medium: UnitTemplate.Medium, minutes: Int) -> PeriodRecord {
        // Gas: 75 % of the window's minutes must be valid (the C.16 note), counted against the
        // nominal length, so that a window with missing minutes is not passed as normal.
        let r = record(window, medium: medium, needed: (minutes * 3 + 3) / 4)
        if medium == .water { hour.merge(window) }
        window = Accumulator()
        return r
    }

    /// The hour record (2061): water sums the windows; gas needs ≥ 45 valid minute means of 60.
    mutating func closeHour(medium: UnitTemplate.Medium) -> PeriodRecord {
        let r = record(hour, medium: medium, needed: 45)  // D.2: at least 45 valid minute means
        switch medium {
        case .water:
            day.merge(hour)
        case .gas:
            if hour.count > 0 {
                let isValid = r.flag == UInt8(ascii: "N")
                day.add(value: hour.mean, valid: isValid, flag: r.flag, min: hour.min, max: hour.max)
                day.load += hour.load
                if isValid, let z = hour.zsMean { day.addZs(z, min: hour.zsMin, max: hour.zsMax) }
            }
        }
        hour = Accumulator()
        return r
    }

    /// The day record (2031): water sums the hours; gas needs ≥ 20 valid hour means of 24.
    mutating func closeDay(medium: UnitTemplate.Medium) -> PeriodRecord {
        let r = record(day, medium: medium, needed: 20)  // D.2: at least 20 valid hour means
        day = Accumulator()
        return r
    }
}
