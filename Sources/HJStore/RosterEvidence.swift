import HJ212
import HJSimulation

/// What the platforms received, merged from several stores and traces: per unit, its hour
/// records (judged against the unit's pollutants) and when it was last heard.
///
/// Budget: one entry per unit and hour of the period (520 units × 744 hours ≈ 390,000), only for
/// MNs of the fleet; everything else a source holds is skipped.
public struct RosterEvidence: Sendable {
    /// One received hour of one unit.
    public struct Hour: Sendable, Equatable {
        /// Factor codes the record carried.
        public var factors: [String]
        /// Why the hour is invalid (`D 故障`, `缺因子`), nil when valid.
        public var cause: String?
    }

    /// MN → hour key (`YYYYMMDDhh`) → the best copy received (a valid one wins).
    public private(set) var hours: [String: [Int64: Hour]] = [:]
    /// MN → the last packet ever received (`YYYYMMDDhhmmssSSS`), any CN, any time.
    public private(set) var lastSeen: [String: Int64] = [:]
    let pollutants: [String: [String]]

    public init(fleet: Fleet) {
        var p: [String: [String]] = [:]
        for u in fleet.units { p[u.identity.mn] = u.pollutants }
        pollutants = p
    }

    static let flagNames: [String: String] = [
        "F": "F 停运", "M": "M 维护", "D": "D 故障", "C": "C 校准", "T": "T 超测上限", "B": "B 通讯异常",
    ]

    /// Adds one hour record (`dataTime` YYYYMMDDhhmmss).
    public mutating func add(mn: String, dataTime: Int64, summary: RecordSummary) {
        guard let wanted = pollutants[mn] else { return }
        var cause: String?
        if wanted.contains(where: { !summary.factors.contains($0) }) {
            cause = "缺因子"
        } else if let bad = wanted.compactMap({ summary.invalid[$0] }).first {
            cause = Self.flagNames[bad] ?? "\(bad) 无效标记"
        }
        let key = dataTime / 10_000
        let hour = Hour(factors: summary.factors, cause: cause)
        if let existing = hours[mn]?[key], existing.cause == nil { return }
        hours[mn, default: [:]][key] = hour
    }

    /// Notes a packet received at `digits17` (YYYYMMDDhhmmssSSS).
    public mutating func seen(mn: String, at digits17: Int64) {
        guard pollutants[mn] != nil else { return }
        if let last = lastSeen[mn], last >= digits17 { return }
        lastSeen[mn] = digits17
    }

    /// Adds a store's units and its hour records of the period.
    public mutating func add(store: Store, period: RosterPeriod) throws(StoreError) {
        for u in try store.units() { seen(mn: u.mn, at: u.lastSeen) }
        let from = Int64(period.from.text14) ?? 0, to = Int64(period.to.text14) ?? 0
        try store.forEachRecord(cn: CommandCode.hourData.rawValue, from: from, to: to) { add(mn: $0.mn, dataTime: $0.dataTime, summary: $0.summary) }
    }

    /// Adds the frames a logger sent (`"dir":"up"`) from a JSON Lines trace (ARCHITECTURE.md
    /// format); other lines, unreadable ones included, are skipped and counted.
    @discardableResult
    public mutating func add(traceText text: Substring, period: RosterPeriod) -> (frames: Int, skipped: Int) {
        var frames = 0, skipped = 0
        let from = Int64(period.from.text14) ?? 0, to = Int64(period.to.text14) ?? 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            guard line.contains("\"up\"") else { continue }
            guard let json = try? JSONValue.parse(String(line)), case .string(let dir)? = json["dir"], dir == "up",
                  case .string(let frame)? = json["frame"] else { skipped += 1; continue }
            frames += 1
            // `##dddd<segment>CRC4`: the CRC is not checked here (the platform did, and acknowledged).
            let segmentText = frame.hasPrefix("##") && frame.utf8.count > 10 ? String(frame.dropFirst(6).dropLast(4)) : frame
            let segment = SegmentParser.parse(segmentText).segment
            guard let mn = segment.mn else { continue }
            if case .string(let t)? = json["t"], let at = Self.digits17(iso: t) { seen(mn: mn, at: at) }
            guard segment.isCN(.hourData), let dt = segment.cpValue("DataTime").flatMap(StoreBatch.digits14), dt >= from, dt < to else { continue }
            add(mn: mn, dataTime: dt, summary: StoreBatch.summary(of: segment))
        }
        return (frames, skipped)
    }

    /// `2026-11-30T12:00:00.000+08:00` → 20261130120000000 (the local digits as written).
    static func digits17(iso t: String) -> Int64? {
        let digits = t.prefix(23).filter(\.isNumber)
        guard digits.count >= 14 else { return nil }
        return Int64(digits.prefix(17).padding(toLength: 17, withPad: "0", startingAt: 0))
    }
}
