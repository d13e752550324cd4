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
            n.values = Int(try c.db.integer("SELECT coalesce(sum(json_array_length(vals)), 0) FROM records") ?? 0)
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
            try flushUnits(c)
            let s = try c.db.prepare("SELECT mn, st, first_seen, last_seen, packets FROM units ORDER BY mn")
            var out: [StoredUnit] = []
            while try s.step() {
                out.append(StoredUnit(mn: s.text(0) ?? "", st: s.text(1), firstSeen: s.int64(2), lastSeen: s.int64(3), packets: s.int(4)))
            }
            return out
        }
    }

    /// The CNs whose records have their own index (`packets_hours`; `records_hours` in a
    /// version 2 store): what the roster reads.
    public static let indexedCNs: Set<String> = ["2061", "2031"]

    /// The roster's query: the hour (or day) records of one CN in `?1 ..< ?2`, answered from
    /// the covering index `packets_hours` alone (a version 2 store: `records_hours`). The
    /// index's own terms are repeated verbatim so that SQLite's planner can prove the partial
    /// index applies.
    static func hourRecordsQuery(cn: String, schema: Int = Store.schemaVersion) -> String {
        let cn = cn.filter(\.isNumber)
        if schema == 2 {
            return "SELECT unit_id, data_time, codes, flags FROM records INDEXED BY records_hours "
                + "WHERE cn IN ('2061', '2031') AND cn = '\(cn)' AND data_time >= ?1 AND data_time < ?2"
        }
        return "SELECT unit_id, data_time, codes, flags FROM packets INDEXED BY packets_hours "
            + "WHERE cn IN ('2061', '2031') AND codes IS NOT NULL AND cn = '\(cn)' AND data_time >= ?1 AND data_time < ?2"
    }

    /// Calls `body` for every record of this CN whose DataTime is in `from ..< to`
    /// (`YYYYMMDDhhmmss` integers). Hour and day records (`indexedCNs`) are read from the covering
    /// index `packets_hours`, in DataTime order, without touching a row of the table (so a month
    /// of minute records costs the roster nothing); other CNs are a scan of the `records` view.
    public func forEachRecord(cn: String, from: Int64, to: Int64, _ body: (StoredRecordSummary) -> Void) throws(StoreError) {
        try connection.withLock { c throws(StoreError) in
            let units = try c.db.prepare("SELECT id, mn FROM units")
            var mnOf: [Int64: String] = [:]
            while try units.step() { mnOf[units.int64(0)] = units.text(1) ?? "" }
            let s: Statement
            if Self.indexedCNs.contains(cn) {
                s = try c.db.prepare(Self.hourRecordsQuery(cn: cn, schema: c.schema))
            } else {
                s = try c.db.prepare("SELECT unit_id, data_time, codes, flags FROM records WHERE cn = ?3 AND data_time >= ?1 AND data_time < ?2 ORDER BY data_time")
                s.bind(3, cn)
            }
            s.bind(1, from)
            s.bind(2, to)
            while try s.step() {
                guard let mn = mnOf[s.int64(0)] else { continue }
                body(StoredRecordSummary(mn: mn, cn: cn, dataTime: s.int64(1), summary: RecordSummary(codes: s.text(2) ?? "", flags: s.text(3) ?? "")))
            }
        }
    }
}

/// The records of one unit and CN in a store: how many distinct DataTimes, the first and the last.
public struct StoredSpan: Sendable, Equatable {
    public var mn: String
    public var cn: String
    public var records: Int
    /// DataTime of the first and the last record, `YYYYMMDDhhmmss`.
    public var first: Int64
    public var last: Int64
}

/// One command the platform sent, as stored.
public struct StoredCommand: Sendable, Equatable {
    public var mn: String
    public var cn: String
    public var qn: String?
    public var outcome: String
    public var qnRtn: Int?
    public var exeRtn: Int?
    public var records: Int
    /// `YYYYMMDDhhmmssSSS`.
    public var sentAt: Int64?
    public var finishedAt: Int64
}

extension Store {
    /// Per unit and CN (of `cns`): the records stored over every run of the platform.
    public func spans(cns: [String]) throws(StoreError) -> [StoredSpan] {
        try connection.withLock { c throws(StoreError) -> [StoredSpan] in
            let list = cns.map { "'" + $0.filter(\.isNumber) + "'" }.joined(separator: ",")
            let s = try c.db.prepare("""
                SELECT u.mn, r.cn, count(DISTINCT r.data_time), min(r.data_time), max(r.data_time)
                FROM records r JOIN units u ON u.id = r.unit_id
                WHERE r.cn IN (\(list)) AND r.data_time IS NOT NULL GROUP BY r.unit_id, r.cn ORDER BY u.mn, r.cn
                """)
            var out: [StoredSpan] = []
            while try s.step() {
                out.append(StoredSpan(mn: s.text(0) ?? "", cn: s.text(1) ?? "", records: s.int(2), first: s.int64(3), last: s.int64(4)))
            }
            return out
        }
    }

    /// The last `limit` commands stored (oldest first).
    public func commands(last limit: Int) throws(StoreError) -> [StoredCommand] {
        try connection.withLock { c throws(StoreError) -> [StoredCommand] in
            let s = try c.db.prepare("SELECT mn, cn, qn, outcome, qn_rtn, exe_rtn, records, sent_at, finished_at FROM commands ORDER BY id DESC LIMIT ?1")
            s.bind(1, limit)
            var out: [StoredCommand] = []
            while try s.step() {
                out.append(StoredCommand(mn: s.text(0) ?? "", cn: s.text(1) ?? "", qn: s.text(2), outcome: s.text(3) ?? "",
                                         qnRtn: s.isNull(4) ? nil : s.int(4), exeRtn: s.isNull(5) ? nil : s.int(5), records: s.int(6),
                                         sentAt: s.isNull(7) ? nil : s.int64(7), finishedAt: s.int64(8)))
            }
            return out.reversed()
        }
    }

    /// The frames of the last `limit` packets stored, oldest first, with their `received_at`
    /// (`YYYYMMDDhhmmssSSS`): what a console shows of the platform's earlier runs.
    public func lastPackets(_ limit: Int, _ body: ([UInt8], Int64) -> Void) throws(StoreError) {
        try connection.withLock { c throws(StoreError) in
            let s = try c.db.prepare("SELECT frame, received_at FROM (SELECT id, frame, received_at FROM packets ORDER BY id DESC LIMIT ?1) ORDER BY id")
            s.bind(1, limit)
            while try s.step() { body(s.blob(0), s.int64(1)) }
        }
    }
}
