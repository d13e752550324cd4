import HJ212
import HJInstruments
import HJNetwork
import HJSimulation

/// What `check logger --sensors` knows about the logger's instruments: it runs them itself
/// (`InstrumentBank` on the lines given), so it knows every reading, status and parameter they
/// served and when (`ServedLog`), on the instruments' clock. The L-VALUE checks judge the
/// logger's uploads against it.
public struct SensorEvidence: Sendable {
    public var served: ServedLog
    /// The instruments' clock (local wall-clock ms) at a monotonic instant.
    public var clockAt: @Sendable (MonotonicTime) -> Int64
    /// The lines served, for the facts (`modbus-tcp 127.0.0.1:5020, dlt645 /dev/pts/7`).
    public var lines: String
    /// What the check made the instruments report on purpose (a calibration window …), for the facts.
    public var statusPlan: String
    /// The DL/T 645 meters served on a `dlt645` line (empty: none; L-VALUE-POWER is then out of scope).
    public var meters: [MeterInfo]
    /// The resolution of each meter value by source (`power` 0.0001 kW …), from the meter map.
    public var meterResolution: [String: Double]

    public init(served: ServedLog, clockAt: @escaping @Sendable (MonotonicTime) -> Int64, lines: String, statusPlan: String,
                meters: [MeterInfo] = [], meterResolution: [String: Double] = [:]) {
        (self.served, self.clockAt, self.lines, self.statusPlan) = (served, clockAt, lines, statusPlan)
        (self.meters, self.meterResolution) = (meters, meterResolution)
    }

    /// The resolution of each value of a meter map: one unit of its last decimal.
    public static func resolution(_ map: MeterMap) -> [String: Double] {
        var out: [String: Double] = [:]
        for item in map.items where item.block.isEmpty && !item.source.isEmpty { out[item.source] = pow10(-item.decimals) }
        return out
    }

    /// The status the check makes an instrument report, so that the flag check is exercised: a
    /// calibration (C) of the unit's first factor from 5 to 15 minutes after `start`.
    public static func statusFaults(template: UnitTemplate, start: Int64) -> [FaultSpec] {
        guard let code = template.factors.first(where: { $0.code != template.flowFactor })?.code ?? template.factors.first?.code,
              let definitions = try? FaultSpec.definitions(),
              let spec = try? FaultSpec.make(id: "calibration", factor: code, parameters: [:], window: (start + 300_000)..<(start + 900_000),
                                             definitions: definitions, source: "check logger --sensors") else { return [] }
        return [spec]
    }
}

/// Served readings as a reading source, on the logger's clock (served time + offset): the
/// reference logger that aggregates exactly what the instruments served.
final class ServedSource: ReadingSource {
    let series: [String: [(t: Int64, r: SourcedReading)]]

    init(_ readings: [String: [ServedLog.Reading]], offset: Int64) {
        var s: [String: [(t: Int64, r: SourcedReading)]] = [:]
        for (code, list) in readings { s[code] = list.map { ($0.time + offset, SourcedReading(value: $0.value, flag: $0.flag)) } }
        series = s
    }

    func readings(at t: Int64) -> [String: SourcedReading] {
        var out: [String: SourcedReading] = [:]
        for (code, list) in series { if let r = PolledReadings.latest(list, at: t) { out[code] = r } }
        return out
    }

    func parameters(at t: Int64) -> [String: String] { [:] }
}
