import CSQLite
import HJ212
import HJRoles

/// What one `Store.write` did.
public struct StoreOutcome: Sendable, Equatable {
    /// Packets inserted (those in `reusedQN` among them).
    public var stored = 0
    /// Packets already in the store (a resend: the same MN, CN, QN and PNO, and the same CP):
    /// acknowledged again, not stored twice.
    public var duplicates = 0
    /// Packets stored although a different packet (another CP) was already stored under their
    /// MN, CN, QN and PNO: a logger that reuses QNs. Counted in `stored` too; never duplicates.
    public var reusedQN = 0
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
        try write(CollectionOfOne(batch))
    }

    /// Inserts several batches in one transaction (`serve --store`'s writer: the rounds of every
    /// loop since the last commit), in order; all or nothing as `write(_:)`.
    @discardableResult
    public func write<C: Collection<StoreBatch>>(_ batches: C) throws(StoreError) -> StoreOutcome {
        guard batches.contains(where: { !$0.isEmpty }) else { return StoreOutcome() }
        guard !readOnly else { throw StoreError("\(path) was opened read-only") }
        return try connection.withLock { c throws(StoreError) -> StoreOutcome in
            var newUnits: [UnitKey: Int64] = [:]
            var touched: [Int64: UnitTally] = [:]
            do throws(StoreError) {
                try c.db.execute("BEGIN IMMEDIATE")
                var outcome = StoreOutcome()
                for batch in batches where !batch.isEmpty {
                    try Self.insert(batch, into: c, newUnits: &newUnits, touched: &touched, outcome: &outcome)
                }
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

    /// What one batch's packets changed in a unit's counters: the count, the latest time, and
    /// the rows whose peer, ST and PW are the latest (strings made once per unit, after the rows).
    private struct RowTally {
        var last: Int64
        var count: Int
        var peerRow: Int
        var stRow = -1
        var pwRow = -1
    }

    /// The insert of a packet's row (`qn_reuse` 0), shared with `StoreFloor`, which measures it
    /// alone. It is ignored when a row holds the key already: a resend, or a reused QN
    /// (`storeCollision`).
    static let insertPacketSQL = """
        INSERT OR IGNORE INTO packets(unit_id, mn, qn, cn, st, pno, data_time, received_at, peer, frame, factors, invalid, codes, flags, vals)
        VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
        """
    /// The same row under a QN a different packet holds: with the next `qn_reuse` and its `cp_hash`.
    static let insertReusedSQL = """
        INSERT INTO packets(unit_id, mn, qn, cn, st, pno, data_time, received_at, peer, frame, factors, invalid, codes, flags, vals, qn_reuse, cp_hash)
        VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
        """
    /// After a collision: the key's first row (`packets_key`, one search).
    static let selectFirstSQL = "SELECT frame FROM packets WHERE qn = ?1 AND mn = ?2 AND cn = ?3 AND pno = ?4 AND qn_reuse = 0"
    /// After a collision: the rows stored later under the key whose content has the packet's
    /// hash (`packets_reused`, one search; named, because without statistics SQLite would take
    /// `packets_key` and read every reused row of the key).
    static let selectReusedSQL = "SELECT frame FROM packets INDEXED BY packets_reused WHERE qn = ?1 AND mn = ?2 AND cn = ?3 AND pno = ?4 AND cp_hash = ?5 AND qn_reuse > 0"
    /// After a collision that is not a resend: the key's last `qn_reuse` (`packets_key`, one search).
    static let selectLastReuseSQL = "SELECT max(qn_reuse) FROM packets WHERE qn = ?1 AND mn = ?2 AND cn = ?3 AND pno = ?4"

    /// The part of a frame that says what a packet is: from `CP=&&` to the last `&&` (DataTime and
    /// every value). A resend may differ outside it without being another packet: a logger whose
    /// password changed (1072) while the packet waited re-frames it with the new PW (so another
    /// length and CRC), and the CRC's hex digits may be spelled in either case. Without a CP the
    /// whole frame.
    static func content(_ frame: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        let marker = 5  // "CP=&&"
        guard frame.count >= marker + 2,
              let start = (0...(frame.count - marker)).first(where: { i in
                  frame[i] == 0x43 && frame[i + 1] == 0x50 && frame[i + 2] == 0x3D && frame[i + 3] == 0x26 && frame[i + 4] == 0x26
              }) else { return frame }
        var end = frame.count - 1
        while end > start + marker && !(frame[end] == 0x26 && frame[end - 1] == 0x26) { end -= 1 }
        guard end > start + marker else { return frame }
        return UnsafeBufferPointer(rebasing: frame[start...end])
    }

    /// Whether two frames carry the same packet (`content`).
    static func samePacket(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        content(a).elementsEqual(content(b))
    }

    /// A frame's `content` hashed (FNV-1a, 64 bits, as a signed integer for SQLite): the
    /// `cp_hash` of a row stored under a reused QN. Equal packets have equal hashes; a match is
    /// confirmed by `samePacket`.
    static func contentHash(_ frame: UnsafeBufferPointer<UInt8>) -> Int64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in content(frame) {
            h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3
        }
        return Int64(bitPattern: h)
    }

    static func insert(_ batch: StoreBatch, into c: Connection, newUnits: inout [UnitKey: Int64],
                       touched: inout [Int64: UnitTally], outcome: inout StoreOutcome) throws(StoreError) {
        let insertUnit = try c.statement("INSERT INTO units(mn, pw, st, first_seen, last_seen, last_peer, packets) VALUES(?1, ?2, ?3, ?4, ?4, ?5, 0) ON CONFLICT(mn) DO NOTHING")
        let selectUnit = try c.statement("SELECT id FROM units WHERE mn = ?1")
        // One row per packet: the record it completed, if any, is in the same row (schema 3 and later).
        let insertPacket = try c.statement(insertPacketSQL)
        let rows = batch.rows
        // The batch's bytes do not change while it is written: every text and the frame are
        // bound where they are (SQLITE_STATIC), no copy by SQLite, none to free at the reset.
        let bytes = rows.bytes.bytes
        @inline(__always) func text(_ s: StoreBatch.Span) -> UnsafeBufferPointer<UInt8>? {
            s.isNone ? nil : UnsafeBufferPointer(start: bytes.baseAddress! + s.start, count: s.count)
        }
        func bind(_ statement: Statement, _ i: Int32, _ s: StoreBatch.Span) {
            if let t = text(s) { statement.bindStatic(i, text: t) } else { statement.bind(i, nil as Int64?) }
        }

        func unitID(_ r: StoreBatch.Row) throws(StoreError) -> Int64 {
            let key = UnitKey(text(r.mn)!)
            if let id = c.unitIDs[key] ?? newUnits[key] { return id }
            bind(insertUnit, 1, r.mn)
            bind(insertUnit, 2, r.pw)
            bind(insertUnit, 3, r.st)
            insertUnit.bind(4, r.receivedAt)
            bind(insertUnit, 5, r.peer)
            try insertUnit.run()
            bind(selectUnit, 1, r.mn)
            defer { selectUnit.reset() }
            guard try selectUnit.step() else { throw StoreError("unit \(key.description) vanished") }
            let id = selectUnit.int64(0)
            newUnits[key] = id
            return id
        }

        @inline(__always) func bindRow(_ s: Statement, _ r: StoreBatch.Row, unit: Int64) {
            s.bind(1, unit)
            bind(s, 2, r.mn)
            bind(s, 3, r.qn)
            bind(s, 4, r.cn)
            bind(s, 5, r.st)
            s.bind(6, r.pno)
            s.bind(7, r.dataTime == StoreBatch.Row.noTime ? nil : r.dataTime)
            s.bind(8, r.receivedAt)
            bind(s, 9, r.peer)
            s.bindStatic(10, blob: text(r.frame)!)
            if r.hasRecord {
                s.bind(11, r.factors)
                s.bind(12, r.invalid)
                bind(s, 13, r.codes)
                bind(s, 14, r.flags)
                bind(s, 15, r.vals)
            } else {
                for i: Int32 in 11...15 { s.bind(i, nil as Int64?) }
            }
        }

        /// After the insert was ignored (a row holds the key): a resend when a row under the key
        /// carries the same packet (`samePacket`: the key's first row, or a later one with the
        /// same `cp_hash`), else a different packet under a reused QN, stored with the next
        /// `qn_reuse` and its hash. Returns whether the row was stored. Three searches, however
        /// many rows the key holds; none for a packet with a fresh key.
        func storeCollision(_ r: StoreBatch.Row, unit: Int64) throws(StoreError) -> Bool {
            func bindKey(_ s: Statement) {
                bind(s, 1, r.qn)
                bind(s, 2, r.mn)
                bind(s, 3, r.cn)
                s.bind(4, r.pno)
            }
            let frame = text(r.frame)!
            // Whether a row the statement yields is this packet (a failed step resets the statement itself).
            func holdsPacket(_ select: Statement) throws(StoreError) -> Bool {
                defer { select.reset() }
                while try select.step() {
                    c.collisionRowsRead += 1
                    if select.blob(0).withUnsafeBufferPointer({ samePacket($0, frame) }) { return true }
                }
                return false
            }
            let first = try c.statement(selectFirstSQL)
            bindKey(first)
            if try holdsPacket(first) { return false }
            let hash = contentHash(frame)
            let reused = try c.statement(selectReusedSQL)
            bindKey(reused)
            reused.bind(5, hash)
            if try holdsPacket(reused) { return false }
            let last = try c.statement(selectLastReuseSQL)
            bindKey(last)
            defer { last.reset() }
            guard try last.step(), !last.isNull(0) else {
                // Ignored, yet no row holds its key: not a collision (a constraint SQLite ignored).
                throw StoreError("packet of \(text(r.mn).map { String(decoding: $0, as: UTF8.self) } ?? "?") was not stored")
            }
            c.collisionRowsRead += 1
            let next = last.int64(0) + 1
            let insert = try c.statement(insertReusedSQL)
            bindRow(insert, r, unit: unit)
            insert.bind(16, next)
            insert.bind(17, hash)
            try insert.run()
            return true
        }

        var tallies: [Int64: RowTally] = [:]
        for k in 0..<rows.list.count {
            let r = rows.list[k]
            let unit = try unitID(r)
            bindRow(insertPacket, r, unit: unit)
            try insertPacket.run()
            var stored = c.db.changes == 1
            if !stored {
                stored = try storeCollision(r, unit: unit)
                if stored { outcome.reusedQN += 1 }
            }
            if stored {
                outcome.stored += 1
                if r.hasRecord {
                    outcome.records += 1
                    outcome.values += r.values
                }
            } else {
                // Already stored, with its record: acknowledged again, not stored twice.
                outcome.duplicates += 1
            }
            // ST 91 (system interaction) says nothing about the unit's own system type.
            let st = text(r.st).flatMap { $0.elementsEqual("91".utf8) ? nil : k } ?? -1
            let pw = r.pw.isNone ? -1 : k
            // The unit's `packets` counts the rows stored (as `reconcileUnits` counts them after a
            // crash); a resend still says when and from where the unit was last seen.
            if var t = tallies[unit] {
                t.last = max(t.last, r.receivedAt)
                if stored { t.count += 1 }
                t.peerRow = k
                if st >= 0 { t.stRow = st }
                if pw >= 0 { t.pwRow = pw }
                tallies[unit] = t
            } else {
                tallies[unit] = RowTally(last: r.receivedAt, count: stored ? 1 : 0, peerRow: k, stRow: st, pwRow: pw)
            }
        }
        func string(_ row: Int, _ span: (StoreBatch.Row) -> StoreBatch.Span) -> String? {
            row < 0 ? nil : text(span(rows.list[row])).map { String(decoding: $0, as: UTF8.self) }
        }
        for (unit, t) in tallies {
            let tally = UnitTally(last: t.last, count: t.count, peer: string(t.peerRow, \.peer) ?? "",
                                  st: string(t.stRow, \.st), pw: string(t.pwRow, \.pw))
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
    }
}

/// A unit's MN as a dictionary key without a string per packet: up to 32 bytes in four words
/// (2017's MNs have 24 characters, 2005's 14), longer ones as a string.
struct UnitKey: Hashable, CustomStringConvertible {
    var w0: UInt64 = 0, w1: UInt64 = 0, w2: UInt64 = 0, w3: UInt64 = 0
    var count: Int
    var long: String?

    init(_ mn: UnsafeBufferPointer<UInt8>) {
        count = mn.count
        guard mn.count <= 32 else {
            long = String(decoding: mn, as: UTF8.self)
            return
        }
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &words) { raw in
            if let p = mn.baseAddress { raw.baseAddress!.copyMemory(from: p, byteCount: mn.count) }
        }
        (w0, w1, w2, w3) = words
    }

    var description: String {
        if let long { return long }
        var words = (w0, w1, w2, w3)
        return withUnsafeBytes(of: &words) { String(decoding: $0.prefix(count), as: UTF8.self) }
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
