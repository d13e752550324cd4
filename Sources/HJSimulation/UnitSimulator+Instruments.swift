/// What one factor's instrument shows now: the hook the emulated instruments (module
/// HJInstruments) read, so that they serve exactly the logger's value models and faults.
public struct FactorReading: Sendable, Hashable {
    public var code: String
    /// What the instrument reports now (after instrument and fraud faults).
    public var value: Double
    /// The HJ 212 flag of the reading (N, C, M, D, T, F, B, S).
    public var flag: UInt8
    /// When the reading was measured (cyclic water analysers hold it between cycles).
    public var sampleTime: Int64
    public var rangeMin: Double
    public var rangeMax: Double
    public var limit: Double?
    public var decimals: Int
    /// A working-condition (工况) parameter rather than a pollutant factor.
    public var workingCondition: Bool
    /// A `missing-factor` fault hides it from the logger's uploads.
    public var hidden: Bool
}

extension UnitSimulator {
    /// The instruments' readings now, factors first, then working-condition parameters.
    public var factorReadings: [FactorReading] {
        func reading(_ m: FactorModel, wc: Bool) -> FactorReading {
            FactorReading(code: m.code, value: m.reading, flag: m.flag, sampleTime: m.measureEveryMs > 0 ? m.sampleTime : now - sampleMs,
                          rangeMin: m.rangeMin, rangeMax: m.rangeMax, limit: m.limit, decimals: m.decimals, workingCondition: wc,
                          hidden: instrumentFaults.hidden.contains(m.code))
        }
        return models.map { reading($0, wc: false) } + wcModels.map { reading($0, wc: true) }
    }

    /// The plant's running level at a time (1 running, 0 stopped, ramps between), as the value
    /// models use it: electricity meters follow it.
    public func runningLevel(at t: Int64) -> Double { operationLevel(t) }

    /// The sampling period in milliseconds.
    public var sampleMilliseconds: Int64 { sampleMs }
}
