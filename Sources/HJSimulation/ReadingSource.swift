/// One reading a logger took from an instrument: what it decoded, and when the instrument
/// measured it (nil: at the time of the read).
public struct SourcedReading: Sendable, Hashable {
    public var value: Double
    /// The HJ 212 flag the logger derived from the instrument's status (N, C, M, D, F, T, B …).
    public var flag: UInt8
    public var sampleTime: Int64?
    /// When the logger read it (its own clock); nil: now.
    public var readAt: Int64?

    public init(value: Double, flag: UInt8, sampleTime: Int64? = nil, readAt: Int64? = nil) {
        (self.value, self.flag, self.sampleTime, self.readAt) = (value, flag, sampleTime, readAt)
    }
}

/// Where a logger that reads real (or emulated) instruments gets its values (`simulate --read`,
/// issue 14): the simulator then takes each sample from the source instead of its value models,
/// and aggregates, flags and uploads what was read.
///
/// `Sendable` and a class: the polling threads fill it while the logger's loop samples it.
///
/// ```swift
/// var options = SimulationOptions()
/// options.readingSource = polled      // e.g. HJInstruments.PolledReadings
/// var logger = try UnitSimulator(template: t, identity: id, seed: 1, start: start, options: options)
/// ```
public protocol ReadingSource: AnyObject, Sendable {
    /// The reading the logger holds for each factor at time `t` (the latest read at or before
    /// `t`), by factor code. A factor left out has never been read: it is uploaded with flag B.
    func readings(at t: Int64) -> [String: SourcedReading]
    /// Analyser parameters read from the instruments' registers, by "FACTOR|INFO-CODE" (the 3020
    /// keys), as they are uploaded.
    func parameters(at t: Int64) -> [String: String]
    /// The parameter keys the logger is configured to read (withheld from 3020 until read, so
    /// that it never uploads a parameter it did not read).
    func parameterKeys() -> Set<String>
    /// The facilities whose DL/T 645 meters the logger reads (empty: no meter line).
    func meterFacilities() -> [String]
    /// The latest values read from each meter at or before `t`, by facility.
    func meterReadings(at t: Int64) -> [String: MeterRead]
}

extension ReadingSource {
    public func parameterKeys() -> Set<String> { [] }
    public func meterFacilities() -> [String] { [] }
    public func meterReadings(at t: Int64) -> [String: MeterRead] { [:] }
}

/// What a logger last read from one electricity meter: values by meter source (`power`,
/// `energy`, `voltage_a` …) and when (the logger's clock).
public struct MeterRead: Sendable, Hashable {
    public var time: Int64
    public var values: [String: Double]
    public init(time: Int64, values: [String: Double]) { (self.time, self.values) = (time, values) }
}

extension UnitSimulator {
    /// A reading older than this (the logger's time) is no current value: flagged B.
    public static let staleReadingMs: Int64 = 60_000

    /// Replaces this sample's readings by what the source read (before aggregation, so minute,
    /// hour and day records are built from the readings). A factor never read keeps its modelled
    /// value with flag B (通讯异常): nothing valid was read; so does one whose last reading is
    /// older than `staleReadingMs` (the polling fell behind).
    mutating func applyReadings(_ source: any ReadingSource, at t: Int64) {
        let read = source.readings(at: t)
        func set(_ m: inout FactorModel) {
            if let r = read[m.code] {
                m.reading = r.value
                m.flag = r.readAt.map { t - $0 > Self.staleReadingMs } == true ? UInt8(ascii: "B") : r.flag
                m.trueReading = r.value
                m.trueFlag = m.flag
                if let s = r.sampleTime, m.measureEveryMs > 0 { m.sampleTime = s }
            } else {
                m.flag = UInt8(ascii: "B")
            }
        }
        for i in models.indices { set(&models[i]) }
        for i in wcModels.indices { set(&wcModels[i]) }
        if t % Self.minuteMs == 0 || readInfo.isEmpty { readInfo = source.parameters(at: t) }
    }
}

extension UnitSimulator {
    /// A parameter the logger reads from an instrument but has not read yet (left out of 3020).
    func awaitingRead(_ polId: String?, _ code: String) -> Bool {
        guard let source = options.readingSource else { return false }
        let key = "\(polId ?? "")|\(code)"
        return readInfo[key] == nil && source.parameterKeys().contains(key)
    }
}
