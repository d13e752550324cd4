import HJ212
import HJSimulation
import Synchronization

/// One emulated Modbus instrument of a unit: its map, slave address and the factor of each channel.
public struct InstrumentInfo: Sendable, Hashable {
    public var address: UInt8
    public var map: InstrumentMap
    /// Factor code per channel (nil: the unit has no factor for that channel).
    public var codes: [String?]
    public var label: String { "\(map.name)@\(address)" }
}

/// One emulated DL/T 645 meter: a facility of the unit.
public struct MeterInfo: Sendable, Hashable {
    public var address: [UInt8]
    public var facility: String
    public var nameZh: String
    public var ratedKW: Double
    public var addressText: String { DLT645Frame.addressText(address) }
}

/// The instruments of one monitored unit, driven by the logger's own value models
/// (`UnitSimulator`) at the time of each request: Modbus analysers, CEMS and flow meters from
/// the register maps of `Profiles/instruments/`, and one DL/T 645 meter per facility.
///
/// `Sendable`: every mutable part (the simulator, totalisers, meters, written parameters, the
/// pending ground truth) is inside one `Mutex`; requests from TCP loops and serial threads take
/// it one at a time, so a reading is always of one consistent moment.
///
/// ```swift
/// let bank = try InstrumentBank(template: try UnitTemplate.load("industrial-wastewater"), identity: id,
///                               seed: 1, start: start, clock: { clock.now })
/// let reply = bank.modbus(unit: 1, pdu: [0x03, 0, 0, 0, 2], line: "tcp", peer: "127.0.0.1:50000")
/// ```
public final class InstrumentBank: Sendable {
    public let instruments: [InstrumentInfo]
    public let meters: [MeterInfo]
    public let meterMap: MeterMap
    public let template: UnitTemplate
    let clock: @Sendable () -> Int64
    let offsetMinutes: Int
    let indexes: [RegisterIndex]
    /// Per instrument and channel: where its factor's reading is in `factorReadings` (the
    /// simulator's factors are fixed when it is made), so that no request searches by code.
    let positions: [[Int?]]
    let state: Mutex<State>
    /// Whether the ground truth is gathered (off when nobody takes it: no JSON is built per request).
    public let recordsTruth: Bool
    /// Every reading, parameter and meter value served (for `check logger --sensors`), when set.
    public let served: ServedLog?

    struct State: Sendable {
        var sim: UnitSimulator
        var totals: [String: Double] = [:]
        var energy: [Double]
        var meterNoise: [SimRandom]
        var meterReadings: [MeterReading]
        /// Parameters written to each instrument, by `RegisterIndex.slot` (of the first parameter
        /// of the name).
        var written: [[Double?]]
        /// Counts the simulator's steps: what was derived from its state in an earlier epoch is stale.
        var epoch = 0
        /// The simulator's readings at its last step (`factorReadings` builds them anew per call).
        var readings: [FactorReading]
        /// Per instrument: its channels as last shown, and the epoch they are of. Nothing a
        /// snapshot shows changes between two steps, and a logger polls several times a step.
        var snapshots: [(epoch: Int, channels: [ChannelSnapshot])?]
        /// Per instrument and parameter slot: whether resolving it draws noise from the
        /// simulator (`UnitSimulator.infoValueDraws`), and the epoch that is of. A parameter
        /// written (a 3020 override of its factor) clears the slots of its code and information
        /// code (`applyWrite`).
        var draws: [(epoch: Int, slots: [Bool])?]
        var truth: [String] = []
        /// Truth lines dropped over the budget (`truthBudget`): the ground truth is incomplete.
        var truthDropped = 0
        var recordsTruth = true
        var requests = 0
        var exceptions = 0
    }

    /// Pending ground-truth lines are capped: beyond this many, the oldest are dropped and counted.
    public static let maxPendingTruth = 100_000
    /// This bank's cap on pending truth lines (`maxPendingTruth` but in tests).
    let truthBudget: Int

    public init(template: UnitTemplate, identity: LoggerIdentity, seed: UInt64, start: Int64, options: SimulationOptions = SimulationOptions(),
                store: ProfileStore = .builtin, offsetMinutes: Int = 480, recordsTruth: Bool = true, truthBudget: Int = InstrumentBank.maxPendingTruth, served: ServedLog? = nil,
                clock: @escaping @Sendable () -> Int64) throws {
        self.template = template
        self.truthBudget = max(1, truthBudget)
        self.served = served
        self.recordsTruth = recordsTruth
        self.clock = clock
        self.offsetMinutes = offsetMinutes
        var sim = try UnitSimulator(template: template, identity: identity, seed: seed, start: start, options: options)
        sim.advance(to: sim.now + sim.sampleMilliseconds) { _ in }
        let maps = try Self.modbusMaps(store)
        instruments = Self.assign(sim.factorReadings, medium: template.medium.rawValue, maps: maps)
        indexes = instruments.map { RegisterIndex($0.map) }
        let readings = sim.factorReadings
        positions = instruments.map { inst in inst.codes.map { code in code.flatMap { code in readings.firstIndex { $0.code == code } } } }
        let meterMap = try MeterMap.load(from: store)
        self.meterMap = meterMap
        let meters = Self.meterLayout(template, meterMap: meterMap)
        self.meters = meters
        let n = meters.count
        var st = State(sim: sim, energy: (0..<n).map { 1000 + 250 * Double($0) }, meterNoise: (0..<n).map { SimRandom(seed: seed &+ 7 &+ UInt64($0), label: identity.mn) },
                       meterReadings: [], written: instruments.map { Array(repeating: nil, count: $0.codes.count * $0.map.parameters.count) },
                       readings: readings, snapshots: Array(repeating: nil, count: instruments.count), draws: Array(repeating: nil, count: instruments.count))
        st.recordsTruth = recordsTruth
        st.meterReadings = (0..<n).map { Self.meterReading(i: $0, level: sim.runningLevel(at: sim.now), rated: meters[$0].ratedKW, energy: st.energy[$0], noise: &st.meterNoise[$0]) }
        state = Mutex(st)
    }

    /// One meter per facility (one for the main supply when the template has none), addressed
    /// 000000000001, 000000000002 … in facility order.
    public static func meterLayout(_ template: UnitTemplate, meterMap: MeterMap) -> [MeterInfo] {
        let facilities = template.facilities.isEmpty ? [(id: "SB1", nameZh: "总用电")] : template.facilities.map { (id: $0.id, nameZh: $0.nameZh) }
        return facilities.enumerated().map { i, f in
            let text = String(repeating: "0", count: 12 - String(i + 1).count) + String(i + 1)
            return MeterInfo(address: DLT645Frame.address(text)!, facility: f.id, nameZh: f.nameZh, ratedKW: meterMap.ratedKW * (1 + 0.5 * Double(i)))
        }
    }

    /// The Modbus instruments of a unit, as `sensors` serves them (what a logger reading them is
    /// configured with).
    public static func instrumentLayout(_ sim: UnitSimulator, store: ProfileStore = .builtin) throws -> [InstrumentInfo] {
        assign(sim.factorReadings, medium: sim.template.medium.rawValue, maps: try modbusMaps(store))
    }

    /// The Modbus maps of a store, by priority then name.
    public static func modbusMaps(_ store: ProfileStore) throws -> [InstrumentMap] {
        var maps: [InstrumentMap] = []
        for name in InstrumentMap.available(in: store) {
            guard let text = try store.text("instruments/\(name).json") else { continue }
            if case .string(let p)? = (try? JSONValue.parse(text))?["protocol"], p != "modbus" { continue }
            maps.append(try InstrumentMap.parse(text, file: "instruments/\(name).json"))
        }
        return maps.sorted { ($0.priority, $0.name) < ($1.priority, $1.name) }
    }

    /// Gives every factor of the unit an instrument: maps in priority order; a `group` map takes
    /// one factor per channel, an `each` map one instrument per matching factor; `*` matches any.
    /// Slave addresses 1, 2, 3 … in that order (at most 247).
    public static func assign(_ readings: [FactorReading], medium: String, maps: [InstrumentMap]) -> [InstrumentInfo] {
        var remaining = readings.map(\.code)
        var out: [InstrumentInfo] = []
        func take(_ channel: InstrumentMap.Channel) -> String? {
            guard let i = remaining.firstIndex(where: { channel.codes.contains($0) || channel.codes.contains("*") }) else { return nil }
            return remaining.remove(at: i)
        }
        for map in maps where map.medium == "any" || map.medium == medium {
            if map.assign == "group" {
                let codes = map.channels.map { take($0) }
                if codes.contains(where: { $0 != nil }) { out.append(InstrumentInfo(address: 0, map: map, codes: codes)) }
            } else {
                while let code = take(map.channels[0]) { out.append(InstrumentInfo(address: 0, map: map, codes: [code])) }
            }
        }
        out = Array(out.prefix(247))
        for i in out.indices { out[i].address = UInt8(i + 1) }
        return out
    }

    // MARK: Time

    /// Runs the value models up to `t`, one sample at a time (the last sample taken is the latest
    /// at or before `t`), integrating totalisers and energy.
    func sync(_ s: inout State, to t: Int64) {
        let step = s.sim.sampleMilliseconds
        var guardSteps = 0
        while s.sim.now <= t && guardSteps < 1_000_000 {
            guardSteps += 1
            s.sim.advance(to: s.sim.now + step) { _ in }
            let dt = Double(step) / 1000
            let readings = s.sim.factorReadings
            s.readings = readings
            s.epoch &+= 1
            for (i, inst) in instruments.enumerated() {
                for (c, code) in inst.codes.enumerated() {
                    guard let code, let r = reading(i, c, in: readings) else { continue }
                    s.totals[code, default: 0] += max(0, r.value) * dt * inst.map.channels[c].totalFactor
                }
            }
            let level = s.sim.runningLevel(at: s.sim.now - step)
            for i in meters.indices {
                let reading = Self.meterReading(i: i, level: level, rated: meters[i].ratedKW, energy: s.energy[i], noise: &s.meterNoise[i])
                s.energy[i] += reading.totalPower * dt / 3600
                s.meterReadings[i] = reading
                s.meterReadings[i].energy = s.energy[i]
            }
        }
        if !s.sim.faultRecords.isEmpty { takeFaultRecords(&s) }
    }

    /// Moves the simulator's fault records into the truth (when it is gathered).
    func takeFaultRecords(_ s: inout State) {
        if s.recordsTruth { for r in s.sim.faultRecords { appendTruth(r.json(), &s) } }
        s.sim.faultRecords = []
    }

    /// The reading of an instrument's channel among the simulator's readings (nil: unbound).
    func reading(_ i: Int, _ c: Int, in readings: [FactorReading]) -> FactorReading? {
        guard let k = positions[i][c], k < readings.count else { return nil }
        return readings[k]
    }

    /// A facility's electrical state (`ElectricityModel`, shared with the emulated logger's own meters).
    static func meterReading(i: Int, level: Double, rated: Double, energy: Double, noise: inout SimRandom) -> MeterReading {
        ElectricityModel.reading(level: level, rated: rated, energy: energy, noise: &noise)
    }

    /// The run stops now: the models run to the clock, and each value fault still acting gets the
    /// record of its end in the truth (its activation gave the planned window). Call once, before
    /// the last `takeTruth`.
    @discardableResult
    public func finish() -> Int64 {
        let t = clock()
        state.withLock { s in
            sync(&s, to: t)
            s.sim.endFaults(at: t)
            takeFaultRecords(&s)
        }
        return t
    }

    /// Truth lines dropped because more than the budget waited to be taken (`takeTruth`).
    public var truthDropped: Int { state.withLock { $0.truthDropped } }

    /// The current virtual time, after running the models up to it.
    @discardableResult
    public func advance() -> Int64 {
        let t = clock()
        state.withLock { sync(&$0, to: t) }
        return t
    }
}
