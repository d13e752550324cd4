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
            var touched: [Int64: UnitTally] = [:]
            do throws(StoreError) {
                try c.db.execute("BEGIN IMMEDIATE")
                let outcome = try Self.insert(batch, into: c, newUnits: &newUnits, touched: &touched)
                let unitsWritten = try Self.flushUnitsIfDue(c, adding: touched)
                try c.db.execute("COMMIT")
                c.unitIDs.merge(newUnits) { a, _ in a }
                Self.settleUnits(c, batch: touched, written: unitsWritten)
                return outcome
            } catch {
                try? c.db.execute("ROLLBACK")
                throw StoreError("commit failed: \(error.message)", code: error.code)
            }
        }
    }

    static func insert(_ batch: StoreBatch, into c: Connection, newUnits: inout [String: Int64],
                       touched: inout [Int64: UnitTally]) throws(StoreError) -> StoreOutcome {
        var outcome = StoreOutcome()
        let insertUnit = try c.statement("INSERT INTO units(mn, pw, st, first_seen, last_seen, last_peer, packets) VALUES(?1, ?2, ?3, ?4, ?4, ?5, 0) ON CONFLICT(mn) DO NOTHING")
        let selectUnit = try c.statement("SELECT id FROM units WHERE mn = ?1")
        // One row per packet: the record it completed, if any, is in the same row (schema 3).
        let insertPacket = try c.statement("""
            INSERT OR IGNORE INTO packets(unit_id, mn, qn, cn, st, pno, data_time, received_at, peer, frame, factors, invalid, codes, flags, vals)
            VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
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

        // A packet row's texts and frame are copied into one reused buffer and bound where they
        // are (SQLITE_STATIC): no copy by SQLite per text, none to free at the reset.
        let row = c.row
        func put(_ text: String?) -> (start: Int, count: Int) {
            guard let text else { return (-1, 0) }
            let start = row.count
            RecordPacker.withBytes(text) { row.append($0) }
            return (start, row.count - start)
        }
        func bind(_ i: Int32, _ r: (start: Int, count: Int)) {
            if r.start < 0 { insertPacket.bind(i, nil as Int64?) } else { insertPacket.bindStatic(i, text: row.slice(r.start, r.count)) }
        }
        let packer = c.packer
        for p in batch.packets {
            let unit = try unitID(p)
            row.removeAll()
            let mn = put(p.mn), qn = put(p.qn), cn = put(p.cn), stText = put(p.st), peer = put(p.peer)
            let frameStart = row.count
            p.frame.withUnsafeBufferPointer { row.append($0) }
            let record = p.record >= 0 ? batch.records[p.record] : nil
            insertPacket.bind(1, unit)
            bind(2, mn)
            bind(3, qn)
            bind(4, cn)
            bind(5, stText)
            insertPacket.bind(6, p.pno)
            // The record's DataTime when the packet completed one (the last packet of a split
            // record may carry none of its own).
            insertPacket.bind(7, record.flatMap { $0.dataTime } ?? p.dataTime)
            insertPacket.bind(8, p.receivedAt)
            bind(9, peer)
            insertPacket.bindStatic(10, blob: row.slice(frameStart, p.frame.count))
            if let record {
                // The record's texts and packed values, built in the packer's reused buffers and
                // bound there (no string per record or per value, no copy by SQLite).
                packer.pack(record.segment)
                insertPacket.bind(11, packer.factorCount)
                insertPacket.bind(12, packer.invalid)
                insertPacket.bindStatic(13, text: packer.codeBytes.bytes)
                insertPacket.bindStatic(14, text: packer.flagBytes.bytes)
                insertPacket.bindStatic(15, text: packer.valBytes.bytes)
            } else {
                for i: Int32 in 11...15 { insertPacket.bind(i, nil as Int64?) }
            }
            try insertPacket.run()
            if c.db.changes == 1 {
                outcome.stored += 1
                if record != nil {
                    outcome.records += 1
                    outcome.values += packer.values
                }
            } else {
                // Already stored, with its record: acknowledged again, not stored twice.
                outcome.duplicates += 1
            }
            let st = p.st == SystemType.systemInteraction.rawValue ? nil : p.st
            let tally = UnitTally(last: p.receivedAt, count: 1, peer: p.peer, st: st, pw: p.pw)
            if touched[unit] != nil { touched[unit]!.merge(tally) } else { touched[unit] = tally }
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

/// A record's values packed as one JSON array in its row (`records.vals`):
/// `[["w01018","Avg",12.5,null,"N"],["a34013","Info",null,"text",null]]`, one element per value
/// field in the record's order: factor, kind, the value when numeric (else null), the text when
/// not numeric (else null), the factor's flag (null when it has none). The `values` view unpacks it.
enum PackedValues {
    static func append<F: Collection<UInt8>, K: Collection<UInt8>>(factor: F, kind: K, value: String, flag: String?, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "["))
        appendString(factor, to: &out)
        out.append(UInt8(ascii: ","))
        appendString(kind, to: &out)
        out.append(UInt8(ascii: ","))
        appendValue(value, flag: flag, to: &out)
        out.append(UInt8(ascii: "]"))
    }

    /// The value, text and flag of an element: `12.5,null,"N"` or `null,"text",null`.
    static func appendValue(_ value: String, flag: String?, to out: inout [UInt8]) {
        let number = RecordPacker.withBytes(value) { v -> Bool in
            if isJSONNumber(v) {
                out.append(contentsOf: v)
                out.append(contentsOf: ",null,".utf8)
                return true
            }
            return false
        }
        if !number {
            if let d = Double(value), d.isFinite {
                // `007.25`, `1.`, `+3`: numbers for Swift (as version 1 stored them), not JSON's spelling.
                out.append(contentsOf: "\(d)".utf8)
                out.append(contentsOf: ",null,".utf8)
            } else {
                out.append(contentsOf: "null,".utf8)
                RecordPacker.withBytes(value) { appendString($0, to: &out) }
                out.append(UInt8(ascii: ","))
            }
        }
        if let flag { RecordPacker.withBytes(flag) { appendString($0, to: &out) } } else { out.append(contentsOf: "null".utf8) }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?`, at most 24 bytes: written as it came (exponents and
    /// other spellings go through `Double`).
    @inline(__always)
    static func isJSONNumber<C: Collection<UInt8>>(_ u: C) -> Bool {
        var i = u.startIndex
        guard i != u.endIndex, u.count <= 24 else { return false }
        if u[i] == UInt8(ascii: "-") { i = u.index(after: i) }
        guard i != u.endIndex else { return false }
        let first = u[i]
        guard first &- 48 < 10 else { return false }
        i = u.index(after: i)
        if first == UInt8(ascii: "0"), i != u.endIndex, u[i] != UInt8(ascii: ".") { return false }
        while i != u.endIndex, u[i] &- 48 < 10 { i = u.index(after: i) }
        guard i != u.endIndex else { return true }
        guard u[i] == UInt8(ascii: ".") else { return false }
        i = u.index(after: i)
        guard i != u.endIndex else { return false }
        while i != u.endIndex {
            guard u[i] &- 48 < 10 else { return false }
            i = u.index(after: i)
        }
        return true
    }

    /// A JSON string: `"` and `\\` escaped, control characters as `\\u00XX`.
    static func appendString<C: Collection<UInt8>>(_ u: C, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for b in u {
            if b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") {
                out.append(UInt8(ascii: "\\"))
                out.append(b)
            } else if b < 0x20 {
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: "\\u00".utf8)
                out.append(hex[Int(b >> 4)])
                out.append(hex[Int(b & 15)])
            } else {
                out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
