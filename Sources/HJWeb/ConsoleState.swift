import HJ212
import HJAnalysis
import Synchronization

/// A fixed-capacity ring of series points (the oldest go first).
struct SeriesRing: Sendable {
    var points: [SeriesPoint] = []
    var head = 0
    let capacity: Int

    init(capacity: Int) { self.capacity = max(1, capacity) }

    mutating func append(_ p: SeriesPoint) {
        if points.count < capacity { points.append(p); return }
        points[head] = p
        head = (head + 1) % capacity
    }

    var ordered: [SeriesPoint] { Array(points[head...] + points[..<head]) }
}

/// What the live console knows: the rules' state and alarms, recent series, the last values of
/// every unit, and which open connections serve each unit. Thread-safe (one `Mutex`); fed with
/// the packets the platform accepted on each connection and that connection's close (`serve`),
/// or with segments that no connection carries (history from a store, the demo's seeds, tests).
///
/// A unit is online 在线 while a connection that carried one of its packets is open and its
/// last packet on such a connection is at most `unit.offline` real-time intervals old (2 by
/// default). Packets that came on no connection (history) say when it was last seen, never that
/// it is online: after a restart, no unit is online before its logger is connected again.
///
/// Budgets: series rings per unit and factor of `rtdPoints` (real-time), `minutePoints`,
/// `hourPoints`, `dayPoints` (default 480, 288, 168, 62: about 24 KB per factor when full, so the
/// 520-unit sample city with ~10 factors each stays near 120 MB); the last `maxAlarms` alarms;
/// at most `maxUnits` units (further MNs are counted, not kept); one frame decoder per open
/// connection, holding at most one maximal frame.
public final class ConsoleState: Sendable {
    public struct Budget: Sendable {
        public var rtdPoints = 480
        public var minutePoints = 288
        public var hourPoints = 168
        public var dayPoints = 62
        public var maxAlarms = 5000
        public var maxUnits = 100_000
        public init() {}

        func capacity(_ kind: SeriesKind) -> Int {
            switch kind {
            case .rtd: rtdPoints
            case .minute: minutePoints
            case .hour: hourPoints
            case .day: dayPoints
            }
        }
    }

    public struct UnitInfo: Sendable {
        public var mn: String
        public var name: String
        public var lastArrival: Int64?
        public var last: [String: (kind: SeriesKind, point: SeriesPoint)] = [:]
        /// The open connections that carried its packets.
        var connections: Set<UInt64> = []
        /// Its last packet on a connection (history excluded).
        var lastLive: Int64?
    }

    struct Storage: Sendable {
        var analyzer: Analyzer
        var assembler = RecordAssembler()
        var decoders: [UInt64: FrameDecoder] = [:]
        /// Open connection → the units whose packets it carried (at most `maxUnits` each).
        var served: [UInt64: Set<String>] = [:]
        var units: [String: UnitInfo] = [:]
        var unitsDropped = 0
        var series: [SeriesKey: SeriesRing] = [:]
        var alarms: [Alarm] = []
        var alarmIndex: [Int: Int] = [:]
        var alarmsDropped = 0
        var latestAlarm = 0
        var truth: [Injection] = []
        var now: Int64 = 0
    }

    public let catalogue: AnomalyCatalogue
    public let profiles: [String: UnitProfile]
    public let budget: Budget
    let storage: Mutex<Storage>

    /// `names`: MN → display name (enterprise) from the registry; every registered MN is listed
    /// (offline until it sends).
    public init(catalogue: AnomalyCatalogue, profiles: [String: UnitProfile], names: [String: String] = [:], budget: Budget = Budget()) {
        self.catalogue = catalogue
        self.profiles = profiles
        self.budget = budget
        var s = Storage(analyzer: Analyzer(catalogue: catalogue, profiles: profiles))
        for (mn, name) in names.prefix(budget.maxUnits) { s.units[mn] = UnitInfo(mn: mn, name: name) }
        storage = Mutex(s)
    }

    /// Uplink bytes of a platform connection, received at `time` (local wall ms).
    public func ingest(connection: UInt64, bytes: [UInt8], at time: Int64) {
        storage.withLock { s in
            var decoder = s.decoders[connection] ?? FrameDecoder()
            decoder.feed(bytes)
            while let event = decoder.next() {
                guard case .frame(let frame) = event else { continue }
                // Frames the platform rejects for their CRC are not data.
                guard let declared = CRC.parseHex(frame.crcBytes), CRC.hj212(frame.segmentBytes) == declared else { continue }
                Self.take(&s, SegmentParser.parse(frame.segmentBytes).segment, at: time, connection: connection, budget: budget)
            }
            s.decoders[connection] = decoder
            if time > s.now { s.now = time }
        }
    }

    /// One data segment the platform accepted on `connection` (`serve`), or that came on no
    /// connection (nil: history from a store, tests), which never makes its unit online.
    public func ingest(segment: DataSegment, at time: Int64, connection: UInt64? = nil) {
        storage.withLock { s in
            Self.take(&s, segment, at: time, connection: connection, budget: budget)
            if time > s.now { s.now = time }
        }
    }

    /// The connection closed: its decoder goes, and the units it served are no longer online
    /// through it (offline at once unless another open connection serves them).
    public func forget(connection: UInt64) {
        storage.withLock { s in
            s.decoders.removeValue(forKey: connection)
            for mn in s.served.removeValue(forKey: connection) ?? [] { s.units[mn]?.connections.remove(connection) }
        }
    }

    /// Time passes: offline units are found.
    public func tick(now: Int64) {
        storage.withLock { s in
            if now > s.now { s.now = now }
            Self.apply(&s, s.analyzer.advance(to: now), budget: budget)
        }
    }

    /// Alarms with an id above `id`, oldest first.
    public func alarmsSince(_ id: Int) -> [Alarm] {
        storage.withLock { s in s.alarms.filter { $0.id > id } }
    }

    /// The ground truth shown as an overlay (demo).
    public func setTruth(_ injections: [Injection]) {
        storage.withLock { $0.truth = injections }
    }

    static func take(_ s: inout Storage, _ segment: DataSegment, at time: Int64, connection: UInt64?, budget: Budget) {
        for input in s.assembler.add(segment, arrival: time) {
            let mn = input.mn
            if s.units[mn] == nil {
                guard s.units.count < budget.maxUnits else { s.unitsDropped += 1; continue }
                s.units[mn] = UnitInfo(mn: mn, name: "")
            }
            s.units[mn]!.lastArrival = time
            if let connection {
                s.units[mn]!.connections.insert(connection)
                s.units[mn]!.lastLive = time
                s.served[connection, default: []].insert(mn)
            }
            if case .data(let r) = input {
                for (code, reading) in r.factors {
                    guard let v = reading.value else { continue }
                    let p = SeriesPoint(time: r.dataTime, value: v, flag: reading.flag)
                    let key = SeriesKey(mn: mn, factor: code, kind: r.kind)
                    if s.series[key] == nil { s.series[key] = SeriesRing(capacity: budget.capacity(r.kind)) }
                    s.series[key]!.append(p)
                    // The last value: real-time when the unit sends it, else the finest kind it sends.
                    if r.kind == .rtd || s.units[mn]!.last[code].map({ $0.kind != .rtd && r.kind <= $0.kind }) ?? true {
                        s.units[mn]!.last[code] = (r.kind, p)
                    }
                }
            }
            apply(&s, s.analyzer.feed(input), budget: budget)
        }
    }

    static func apply(_ s: inout Storage, _ events: [AlarmEvent], budget: Budget) {
        for e in events {
            let a = e.alarm
            if let i = s.alarmIndex[a.id] {
                s.alarms[i] = a
            } else {
                s.alarmIndex[a.id] = s.alarms.count
                s.alarms.append(a)
                s.latestAlarm = max(s.latestAlarm, a.id)
            }
        }
        if s.alarms.count > budget.maxAlarms {
            let drop = s.alarms.count - budget.maxAlarms
            s.alarms.removeFirst(drop)
            s.alarmsDropped += drop
            s.alarmIndex = [:]
            for (i, a) in s.alarms.enumerated() { s.alarmIndex[a.id] = i }
        }
    }
}
