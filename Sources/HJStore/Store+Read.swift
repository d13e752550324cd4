import CSQLite

/// Row counts of a store.
public struct StoreCounts: Sendable, Equatable {
    public var units = 0
    public var packets = 0
    public var records = 0
    public var values = 0
    public var commands = 0
}

/// One unit as the store knows it.
public struct StoredUnit: Sendable, Equatable {
    public var mn: String
    public var st: String?
    /// First and last packet, `YYYYMMDDhhmmssSSS` local time.
    public var firstSeen: Int64
    public var lastSeen: Int64
    public var packets: Int
}

/// One record, summarised: enough to judge an hour without reading its values.
public struct StoredRecordSummary: Sendable, Equatable {
    public var mn: String
    public var cn: String
    /// DataTime, `YYYYMMDDhhmmss`.
    public var dataTime: Int64
    public var summary: RecordSummary
}

extension Store {
    public func counts() throws(StoreError) -> StoreCounts {
        try connection.withLock { c throws(StoreError) -> StoreCounts in
            var n = StoreCounts()
            n.units = Int(try c.db.integer("SELECT count(*) FROM units") ?? 0)
            n.packets = Int(try c.db.integer("SELECT count(*) FROM packets") ?? 0)
            n.records = Int(try c.db.integer("SELECT count(*) FROM records") ?? 0)
            n.values = Int(try c.db.integer("SELECT count(*) FROM \"values\"") ?? 0)
            n.commands = Int(try c.db.integer("SELECT count(*) FROM commands") ?? 0)
            return n
        }
    }

    /// How many packets the store holds for each MN and QN (`"MN QN"` → count).
    public func packetsByQN() throws(StoreError) -> [String: Int] {
        try connection.withLock { c throws(StoreError) -> [String: Int] in
            let s = try c.db.prepare("SELECT mn, qn, count(*) FROM packets WHERE qn IS NOT NULL GROUP BY mn, qn")
            var out: [String: Int] = [:]
            while try s.step() { out["\(s.text(0) ?? "") \(s.text(1) ?? "")"] = s.int(2) }
            return out
        }
    }

    public func units() throws(StoreError) -> [StoredUnit] {
        try connection.withLock { c throws(StoreError) -> [StoredUnit] in
            let s = try c.db.prepare("SELECT mn, st, first_seen, last_seen, packets FROM units ORDER BY mn")
            var out: [StoredUnit] = []
            while try s.step() {
                out.append(StoredUnit(mn: s.text(0) ?? "", st: s.text(1), firstSeen: s.int64(2), lastSeen: s.int64(3), packets: s.int(4)))
            }
            return out
        }
    }

    /// Calls `body` for every record of this CN whose DataTime is in `from ..< to`
    /// (`YYYYMMDDhhmmss` integers), unit by unit in DataTime order: one range of the
    /// `records_unit` index per unit, so the cost follows the records asked for, not the table.
    public func forEachRecord(cn: String, from: Int64, to: Int64, _ body: (StoredRecordSummary) -> Void) throws(StoreError) {
        try connection.withLock { c throws(StoreError) in
            let units = try c.db.prepare("SELECT id, mn FROM units ORDER BY mn")
            var list: [(Int64, String)] = []
            while try units.step() { list.append((units.int64(0), units.text(1) ?? "")) }
            let s = try c.db.prepare("SELECT data_time, codes, flags FROM records WHERE unit_id = ?1 AND cn = ?2 AND data_time >= ?3 AND data_time < ?4 ORDER BY data_time")
            for (id, mn) in list {
                s.bind(1, id)
                s.bind(2, cn)
                s.bind(3, from)
                s.bind(4, to)
                while try s.step() {
                    body(StoredRecordSummary(mn: mn, cn: cn, dataTime: s.int64(0),
                                             summary: RecordSummary(codes: s.text(1) ?? "", flags: s.text(2) ?? "")))
                }
                s.reset()
            }
        }
    }
}
