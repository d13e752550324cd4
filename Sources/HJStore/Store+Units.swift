import CSQLite
import Glibc
import HJ212

/// What the packets of one unit changed in its `units` row since the row was last written.
struct UnitTally {
    var last: Int64
    var count: Int
    var peer: String
    var st: String?
    var pw: String?

    mutating func merge(_ o: UnitTally) {
        last = max(last, o.last)
        count += o.count
        peer = o.peer
        if o.st != nil { st = o.st }
        if o.pw != nil { pw = o.pw }
    }
}

/// The `units` counters (`last_seen`, `packets`, `last_peer`, `st`, `pw`) are written at most
/// once per `unitsFlushSeconds`, not in every transaction: with 10,000 units a commit of a few
/// hundred packets updated a few hundred rows on as many pages, and every dirty page is a 4 KiB
/// write to the WAL (and again at the checkpoint), several times the bytes of the packets
/// themselves. In between, the writer keeps the changes in memory (one entry per unit touched).
///
/// Exactness: `meta.units_through` is the last packet id the counters include. A writer that
/// opens a store first adds the packets after it (what a crash or `kill -9` left uncounted), so
/// the counters are exact again before anything else is written. Readers in other processes
/// see counters at most `unitsFlushSeconds` behind the packets; `units()` on the writer's own
/// connection writes them first.
extension Store {
    /// How often the writer writes the `units` counters.
    public static let unitsFlushSeconds = 1.0

    static func monotonicSeconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    /// Inside a transaction: writes the counters of `tally` and sets `units_through` to the last
    /// packet id.
    static func writeUnits(_ tally: [Int64: UnitTally], db: Database, update: Statement, through: Statement) throws(StoreError) {
        for (unit, t) in tally {
            update.bind(1, unit)
            update.bind(2, t.last)
            update.bind(3, t.count)
            update.bind(4, t.peer)
            update.bind(5, t.st)
            update.bind(6, t.pw)
            try update.run()
        }
        through.bind(1, String(try db.integer("SELECT coalesce(max(id), 0) FROM packets") ?? 0))
        try through.run()
    }

    static let updateUnitSQL = """
        UPDATE units SET last_seen = max(last_seen, ?2), packets = packets + ?3, last_peer = ?4, st = coalesce(?5, st), pw = coalesce(?6, pw)
        WHERE id = ?1
        """
    static let unitsThroughSQL = "INSERT OR REPLACE INTO meta(key, value) VALUES('units_through', ?1)"

    /// Inside the writer's transaction: writes the counters held since the last time plus this
    /// batch's, when `unitsFlushSeconds` have passed (or `force`). Returns whether it wrote them
    /// (the caller then empties `c.unitTally` once the transaction committed).
    static func flushUnitsIfDue(_ c: Connection, adding batch: [Int64: UnitTally], force: Bool = false) throws(StoreError) -> Bool {
        guard force || monotonicSeconds() - c.unitsWrittenAt >= unitsFlushSeconds else { return false }
        var all = c.unitTally
        for (unit, t) in batch {
            if all[unit] != nil { all[unit]!.merge(t) } else { all[unit] = t }
        }
        try writeUnits(all, db: c.db, update: try c.statement(updateUnitSQL), through: try c.statement(unitsThroughSQL))
        return true
    }

    /// After the transaction committed: the counters are either written or held.
    static func settleUnits(_ c: Connection, batch: [Int64: UnitTally], written: Bool) {
        if written {
            c.unitTally.removeAll(keepingCapacity: true)
            c.unitsWrittenAt = monotonicSeconds()
            return
        }
        for (unit, t) in batch {
            if c.unitTally[unit] != nil { c.unitTally[unit]!.merge(t) } else { c.unitTally[unit] = t }
        }
    }

    /// The writer's held counters, written now (before `units()` reads them).
    func flushUnits(_ c: Connection) throws(StoreError) {
        guard !readOnly, !c.unitTally.isEmpty else { return }
        do throws(StoreError) {
            try c.db.execute("BEGIN IMMEDIATE")
            _ = try Self.flushUnitsIfDue(c, adding: [:], force: true)
            try c.db.execute("COMMIT")
            Self.settleUnits(c, batch: [:], written: true)
        } catch {
            try? c.db.execute("ROLLBACK")
            throw error
        }
    }

    /// At a writer's open: counts the packets after `units_through` (left uncounted by a crash).
    static func reconcileUnits(_ db: Database, path: String) throws(StoreError) {
        do throws(StoreError) {
            try db.execute("BEGIN IMMEDIATE")
            let through = try db.integer("SELECT value FROM meta WHERE key = 'units_through'") ?? 0
            let s = try db.prepare("SELECT unit_id, received_at, peer, st FROM packets WHERE id > ?1 ORDER BY id")
            s.bind(1, through)
            var tally: [Int64: UnitTally] = [:]
            while try s.step() {
                let st = s.text(3).flatMap { $0 == SystemType.systemInteraction.rawValue ? nil : $0 }
                let t = UnitTally(last: s.int64(1), count: 1, peer: s.text(2) ?? "", st: st, pw: nil)
                if tally[s.int64(0)] != nil { tally[s.int64(0)]!.merge(t) } else { tally[s.int64(0)] = t }
            }
            if !tally.isEmpty {
                try writeUnits(tally, db: db, update: try db.prepare(updateUnitSQL), through: try db.prepare(unitsThroughSQL))
            }
            try db.execute("COMMIT")
        } catch {
            try? db.execute("ROLLBACK")
            throw StoreError("\(path): cannot write: \(error.message)", code: error.code)
        }
    }
}
