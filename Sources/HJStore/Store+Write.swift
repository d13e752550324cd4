import CSQLite
import HJ212
import HJRoles

/// What one `Store.write` did.
public struct StoreOutcome: Sendable, Equatable {
    /// Packets inserted.
    public var stored = 0
    /// Packets already in the store (same MN, CN, QN and PNO): acknowledged again, not stored twice.
    public var duplicates = 0
    public var records = 0
    public var values = 0
    public var commands = 0
    public init() {}
}

extension Store {
    /// Inserts a batch in one transaction: all of it is stored when this returns, none of it
    /// when it throws (the caller must then not acknowledge it).
    @discardableResult
    public func write(_ batch: StoreBatch) throws(StoreError) -> StoreOutcome {
        guard !batch.isEmpty else { return StoreOutcome() }
        guard !readOnly else { throw StoreError("\(path) was opened read-only") }
        return try connection.withLock { c throws(StoreError) -> StoreOutcome in
            var newUnits: [String: Int64] = [:]
            do throws(StoreError) {
                try c.db.execute("BEGIN IMMEDIATE")
                let outcome = try Self.insert(batch, into: c, newUnits: &newUnits)
                try c.db.execute("COMMIT")
                c.unitIDs.merge(newUnits) { a, _ in a }
                return outcome
            } catch {
                try? c.db.execute("ROLLBACK")
                throw StoreError("commit failed: \(error.message)", code: error.code)
            }
        }
    }

    static func insert(_ batch: StoreBatch, into c: Connection, newUnits: inout [String: Int64]) throws(StoreError) -> StoreOutcome {
        var outcome = StoreOutcome()
        let insertUnit = try c.statement("INSERT INTO units(mn, pw, st, first_seen, last_seen, last_peer, packets) VALUES(?1, ?2, ?3, ?4, ?4, ?5, 0) ON CONFLICT(mn) DO NOTHING")
        let selectUnit = try c.statement("SELECT id FROM units WHERE mn = ?1")
        let insertPacket = try c.statement("""
            INSERT OR IGNORE INTO packets(unit_id, mn, qn, cn, st, pno, data_time, received_at, peer, frame)
            VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
            """)
        let insertRecord = try c.statement("INSERT INTO records(packet_id, unit_id, cn, data_time, factors, invalid, codes, flags) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")
        let insertValue = try c.statement("INSERT INTO \"values\"(record_id, unit_id, cn, data_time, factor, kind, value, text, flag) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")
        let updateUnit = try c.statement("""
            UPDATE units SET last_seen = max(last_seen, ?2), packets = packets + ?3, last_peer = ?4, st = coalesce(?5, st), pw = coalesce(?6, pw)
            WHERE id = ?1
            """)

        func unitID(_ p: StoreBatch.PacketRow) throws(StoreError) -> Int64 {
            if let id = c.unitIDs[p.mn] ?? newUnits[p.mn] { return id }
            insertUnit.bind(1, p.mn)
            insertUnit.bind(2, p.pw)
            insertUnit.bind(3, p.st)
            insertUnit.bind(4, p.receivedAt)
            insertUnit.bind(5, p.peer)
            try insertUnit.run()
            selectUnit.bind(1, p.mn)
            defer { selectUnit.reset() }
            guard try selectUnit.step() else { throw StoreError("unit \(p.mn) vanished") }
            let id = selectUnit.int64(0)
            newUnits[p.mn] = id
            return id
        }

        var packetIDs: [Int64?] = []
        packetIDs.reserveCapacity(batch.packets.count)
        var unitOf: [Int64] = []
        unitOf.reserveCapacity(batch.packets.count)
        var touched: [Int64: (last: Int64, count: Int, peer: String, st: String?, pw: String?)] = [:]
        for p in batch.packets {
            let unit = try unitID(p)
            unitOf.append(unit)
            insertPacket.bind(1, unit)
            insertPacket.bind(2, p.mn)
            insertPacket.bind(3, p.qn)
            insertPacket.bind(4, p.cn)
            insertPacket.bind(5, p.st)
            insertPacket.bind(6, p.pno)
            insertPacket.bind(7, p.dataTime)
            insertPacket.bind(8, p.receivedAt)
            insertPacket.bind(9, p.peer)
            insertPacket.bind(10, blob: p.frame)
            try insertPacket.run()
            if c.db.changes == 1 {
                packetIDs.append(c.db.lastInsertRowID)
                outcome.stored += 1
            } else {
                packetIDs.append(nil)
                outcome.duplicates += 1
            }
            let st = p.st == SystemType.systemInteraction.rawValue ? nil : p.st
            if var t = touched[unit] {
                t.last = max(t.last, p.receivedAt); t.count += 1; t.peer = p.peer
                if st != nil { t.st = st }
                if p.pw != nil { t.pw = p.pw }
                touched[unit] = t
            } else {
                touched[unit] = (p.receivedAt, 1, p.peer, st, p.pw)
            }
        }
        var flags: [(Substring.UTF8View, String)] = []
        var factors: [Substring.UTF8View] = []
        for r in batch.records {
            // A record whose completing packet was a duplicate is already stored.
            guard r.packet < packetIDs.count, let packetID = packetIDs[r.packet] else { continue }
            let unit = unitOf[r.packet]
            insertRecord.bind(1, packetID)
            insertRecord.bind(2, unit)
            insertRecord.bind(3, r.cn)
            insertRecord.bind(4, r.dataTime)
            // One pass over the fields: the factors in order and their flags (few per record:
            // small arrays, not dictionaries), then the record row, then one value row per field.
            flags.removeAll(keepingCapacity: true)
            factors.removeAll(keepingCapacity: true)
            for group in r.segment.cp ?? [] {
                for field in group {
                    guard let (factor, kind) = StoreBatch.split(field.name) else { continue }
                    if kind.elementsEqual("Flag".utf8) {
                        // A factor's last flag counts (as the record's parser reads it).
                        if let i = flags.firstIndex(where: { $0.0.elementsEqual(factor) }) { flags[i].1 = field.value } else { flags.append((factor, field.value)) }
                    } else if !factors.contains(where: { $0.elementsEqual(factor) }) {
                        factors.append(factor)
                    }
                }
            }
            var codes = "", invalidText = "", invalid = 0
            for f in factors {
                if !codes.isEmpty { codes += "|" }
                codes += Substring(f)
            }
            for (factor, flag) in flags.sorted(by: { $0.0.lexicographicallyPrecedes($1.0) })
            where !RecordSummary.validFlags.contains(flag) && factors.contains(where: { $0.elementsEqual(factor) }) {
                if !invalidText.isEmpty { invalidText += "|" }
                invalidText += Substring(factor)
                invalidText += ":"
                invalidText += flag
                invalid += 1
            }
            insertRecord.bind(5, factors.count)
            insertRecord.bind(6, invalid)
            insertRecord.bind(7, codes)
            insertRecord.bind(8, invalidText)
            try insertRecord.run()
            let recordID = c.db.lastInsertRowID
            outcome.records += 1
            for group in r.segment.cp ?? [] {
                for field in group {
                    guard let (factor, kind) = StoreBatch.split(field.name), !kind.elementsEqual("Flag".utf8) else { continue }
                    insertValue.bind(1, recordID)
                    insertValue.bind(2, unit)
                    insertValue.bind(3, r.cn)
                    insertValue.bind(4, r.dataTime)
                    insertValue.bind(5, utf8: factor)
                    insertValue.bind(6, utf8: kind)
                    if let number = Double(field.value) {
                        insertValue.bind(7, number)
                        insertValue.bind(8, nil as String?)
                    } else {
                        insertValue.bind(7, nil as Double?)
                        insertValue.bind(8, field.value)
                    }
                    insertValue.bind(9, flags.first(where: { $0.0.elementsEqual(factor) })?.1)
                    try insertValue.run()
                    outcome.values += 1
                }
            }
        }
        for (unit, t) in touched {
            updateUnit.bind(1, unit)
            updateUnit.bind(2, t.last)
            updateUnit.bind(3, t.count)
            updateUnit.bind(4, t.peer)
            updateUnit.bind(5, t.st)
            updateUnit.bind(6, t.pw)
            try updateUnit.run()
        }
        if !batch.commands.isEmpty {
            let insertCommand = try c.statement("""
                INSERT INTO commands(mn, cn, qn, peer, outcome, qn_rtn, exe_rtn, records, attempts, queued_at, sent_at, finished_at, request)
                VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
                """)
            for r in batch.commands {
                insertCommand.bind(1, r.mn)
                insertCommand.bind(2, r.cn)
                insertCommand.bind(3, r.qn.isEmpty ? nil : r.qn)
                insertCommand.bind(4, r.peer)
                insertCommand.bind(5, r.outcome.rawValue)
                insertCommand.bind(6, r.qnRtn)
                insertCommand.bind(7, r.exeRtn)
                insertCommand.bind(8, r.records)
                insertCommand.bind(9, r.attempts)
                insertCommand.bind(10, HJTime(wallMilliseconds: r.queuedAt).digits17)
                insertCommand.bind(11, r.sentAt.map { HJTime(wallMilliseconds: $0).digits17 })
                insertCommand.bind(12, HJTime(wallMilliseconds: r.finishedAt).digits17)
                insertCommand.bind(13, r.request.map { $0.serialized() })
                try insertCommand.run()
                outcome.commands += 1
            }
        }
        return outcome
    }
}
