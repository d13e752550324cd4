import HJ212

/// The anomaly rules of `Profiles/anomalies/catalogue.json`, run over a stream of records.
///
/// Feed it records one at a time as they arrive (live, `serve`) or a whole trace (offline,
/// `report`); it returns the alarms each record opens or closes. Call `advance(to:)` as time
/// passes so that units that stop sending are found offline.
///
/// ```swift
/// var analyzer = Analyzer(catalogue: try .load(), profiles: ["010000A8…": profile])
/// for input in assembler.add(segment, arrival: now) { events += analyzer.feed(input) }
/// events += analyzer.advance(to: now)
/// ```
///
/// Budget (state is bounded whatever peers send): at most `Budget.maxUnits` units (records of
/// further MNs are counted in `droppedInputs` and not judged); per unit at most
/// `maxFactorsPerUnit` factors and `maxInfoCodesPerUnit` remembered 3020 values; per unit,
/// rule and factor one latch. A unit's state is a few kilobytes (about 200 bytes per factor),
/// so 100,000 units stay well under a gigabyte and the 520-unit sample city under 10 MB.
public struct Analyzer: Sendable {
    public struct Budget: Sendable {
        public var maxUnits = 100_000
        public var maxFactorsPerUnit = 64
        public var maxInfoCodesPerUnit = 512
        public init() {}
    }

    struct FactorState: Sendable {
        var flatValue: Double?
        var flatCount = 0
        var flatSince: Int64 = 0
        var mean: Double?
        var meanCount = 0
    }

    struct UnitState: Sendable {
        var profile: UnitProfile?
        var lastArrival: Int64 = 0
        var lastData: [SeriesKind: Int64] = [:]
        var observedMinuteInterval: Int64?
        var running: Bool?
        /// DataTime (ms) of the first record of the current running period (reset when the unit stops).
        var runningSince: Int64?
        var sendsRtd = false
        var factors: [String: FactorState] = [:]
        var latches: [String: Latch] = [:]
        var info: [String: Double] = [:]
        var calibrationSchedule: [String: Int] = [:]
        var offline = Latch()
    }

    public let catalogue: AnomalyCatalogue
    public let budget: Budget
    var profiles: [String: UnitProfile]
    var units: [String: UnitState] = [:]
    var nextID = 1
    var lastScan: Int64?
    /// Inputs not judged because the unit budget was full.
    public private(set) var droppedInputs = 0

    public init(catalogue: AnomalyCatalogue, profiles: [String: UnitProfile] = [:], budget: Budget = Budget()) {
        self.catalogue = catalogue
        self.profiles = profiles
        self.budget = budget
    }

    /// Sets or replaces the profile of a unit (a unit registered while running).
    public mutating func setProfile(_ profile: UnitProfile?, for mn: String) {
        profiles[mn] = profile
        units[mn]?.profile = profile
    }

    /// Units seen so far.
    public var unitCount: Int { units.count }

    /// Alarms currently open.
    public var openAlarms: [Alarm] {
        units.values.flatMap { u in u.latches.values.compactMap(\.open) + (u.offline.open.map { [$0] } ?? []) }.sorted { $0.id < $1.id }
    }

    public mutating func feed(_ input: AnalysisInput) -> [AlarmEvent] {
        let mn = input.mn
        if units[mn] == nil {
            guard units.count < budget.maxUnits else { droppedInputs += 1; return [] }
            var state = UnitState()
            state.profile = profiles[mn]
            units[mn] = state
        }
        var unit = units[mn]!
        var events: [AlarmEvent] = []
        let arrival: Int64
        switch input {
        case .data(let r): arrival = r.arrival
        case .info(let r): arrival = r.arrival
        }
        if arrival > unit.lastArrival { unit.lastArrival = arrival }
        if unit.offline.open != nil {
            unit.offline.lastTrue = arrival
            if let e = unit.offline.close() { events.append(e) }
        }
        switch input {
        case .data(let r): dataRules(r, &unit, &events)
        case .info(let r): infoRules(r, &unit, &events)
        }
        units[mn] = unit
        return events
    }

    /// Offline detection: units with no packet for `intervals` real-time intervals. Cheap to call
    /// often: it scans the units at most every 5 s of `now`.
    public mutating func advance(to now: Int64) -> [AlarmEvent] {
        if let last = lastScan, now >= last, now - last < 5_000 { return [] }
        lastScan = now
        let intervals = catalogue.parameter("unit.offline", "intervals", 2)
        guard catalogue.enabled("unit.offline") else { return [] }
        var events: [AlarmEvent] = []
        for mn in units.keys {
            var unit = units[mn]!
            guard unit.offline.open == nil, unit.lastArrival > 0 else { continue }
            let interval = Int64(unit.profile?.rtdIntervalSeconds ?? 30) * 1000
            let limit = Int64(Double(interval) * intervals)
            if now - unit.lastArrival > limit {
                let id = takeID()
                let silent = unit.lastArrival
                let a = Alarm(id: id, rule: "unit.offline", mn: mn, factor: nil, start: silent + interval, end: nil, raisedAt: now,
                              evidence: "no packet since \(HJTime(wallMilliseconds: silent).description) (more than \(Int(intervals)) × \(interval / 1000) s)", value: nil)
                unit.offline.open = a
                unit.offline.lastTrue = silent + interval
                events.append(.opened(a))
                units[mn] = unit
            }
        }
        return events
    }

    /// Closes nothing, but hands out what is still open (the end of a trace: open alarms keep `end` nil).
    public func finish() -> [Alarm] { openAlarms }

    mutating func takeID() -> Int {
        defer { nextID += 1 }
        return nextID
    }

    /// Updates the latch of a rule on a unit and factor, building the alarm only when it opens.
    mutating func judge(_ rule: String, _ factor: String?, _ unit: inout UnitState, mn: String, active: Bool, time: Int64, arrival: Int64,
                        need: Int, clearMinutes: Double, variant: String = "", since: Int64? = nil, events: inout [AlarmEvent], evidence: () -> (String, Double?)) {
        guard catalogue.enabled(rule) else { return }
        let key = rule + "|" + (factor ?? "") + variant
        if unit.latches[key] == nil {
            guard active, unit.latches.count < budget.maxFactorsPerUnit * 16 else { return }
            unit.latches[key] = Latch()
        }
        var id = 0
        let event = unit.latches[key]!.update(active: active, time: time, need: need, clear: Int64(clearMinutes * 60_000)) { start in
            let (text, value) = evidence()
            return Alarm(id: 0, rule: rule, mn: mn, factor: factor, start: min(start, since ?? start), end: nil, raisedAt: arrival, evidence: text, value: value)
        }
        if case .opened(var a)? = event {
            id = takeID()
            a.id = id
            unit.latches[key]!.open = a
            events.append(.opened(a))
        } else if let event {
            events.append(event)
            unit.latches[key] = nil
        } else if !active, unit.latches[key]!.open == nil, unit.latches[key]!.streak == 0 {
            unit.latches[key] = nil
        }
    }

    /// An alarm that is over as soon as it is seen (a gap, a parameter change).
    mutating func instant(_ rule: String, _ factor: String?, mn: String, start: Int64, end: Int64, arrival: Int64, evidence: String, value: Double?, events: inout [AlarmEvent]) {
        guard catalogue.enabled(rule) else { return }
        let a = Alarm(id: takeID(), rule: rule, mn: mn, factor: factor, start: start, end: end, raisedAt: arrival, evidence: evidence, value: value)
        events.append(.opened(a))
        events.append(.closed(a))
    }
}

/// Short number text for evidence.
func num(_ v: Double) -> String {
    guard v.isFinite else { return "\(v)" }
    let a = abs(v)
    if a >= 100 { return String(Int(v.rounded())) }
    let r = (v * 100).rounded() / 100
    return r == r.rounded() ? String(Int(r)) : String(r)
}
