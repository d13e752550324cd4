import Foundation
import Glibc
import HJ212
import HJRoles
@testable import HJStore
import TestSupport
import Testing

/// A real-time (2011) packet, Flag=5, with one value: `value` and `pw` vary what a resend or a
/// different packet under the same QN may differ in.
func realTimeFrame(mn: String = "010000A89001000000000001", qn: String, dataTime: String, value: String = "12.5", pw: String = "123456") -> [UInt8] {
    let cp: [[Field]] = [[Field("DataTime", dataTime)], [Field("w01018-Rtd", value), Field("w01018-Flag", "N")]]
    let segment = DataSegment(header: [Field("QN", qn), Field("ST", "32"), Field("CN", "2011"), Field("PW", pw), Field("MN", mn), Field("Flag", "5")], cp: cp)
    return FrameEncoder.frame(segment)
}

/// Review 20, F3 and F4: distinct packets that reuse a QN (a logger defect, the `duplicate-qn`
/// fault) were acknowledged but not stored, and counted as duplicates; the per-unit packet
/// counter counted duplicates. Only a resend (the same packet again) is a duplicate.
@Suite("Store QN reuse", .serialized)
struct StoreQNReuseTests {
    static let qn = "20261130120000001"

    func rows(_ path: String, _ sql: String) throws -> Int64 {
        let db = try Database(path: path, readOnly: true)
        defer { db.close() }
        return try db.integer(sql) ?? -1
    }

    @Test("different packets under one QN are all stored; only the same packet again is a duplicate")
    func reusedQNStored() throws {
        let dir = scratchDirectory("qn-reuse")
        let store = try Store(path: dir + "/s.db")
        let first = realTimeFrame(qn: Self.qn, dataTime: "20261130120000")
        let later = realTimeFrame(qn: Self.qn, dataTime: "20261130120030", value: "13.1")       // the QN reused 30 s later
        let corrected = realTimeFrame(qn: Self.qn, dataTime: "20261130120000", value: "12.7")   // same DataTime, other value
        var a = StoreBatch()
        a.add(try journal([first]).0)
        let one = try store.write(a)
        #expect(one.stored == 1 && one.duplicates == 0 && one.reusedQN == 0)
        var b = StoreBatch()
        b.add(try journal([later, corrected]).0)
        let two = try store.write(b)
        #expect(two.stored == 2, "a different packet under a stored QN is stored: \(two)")
        #expect(two.duplicates == 0 && two.reusedQN == 2 && two.records == 2)
        // Resends of all three, in one transaction with a fourth packet under the same QN:
        // the resends are duplicates (whichever stored row they repeat), the new one is stored.
        var c = StoreBatch()
        c.add(try journal([later, first, corrected, realTimeFrame(qn: Self.qn, dataTime: "20261130120100")]).0)
        let three = try store.write(c)
        #expect(three.stored == 1 && three.duplicates == 3 && three.reusedQN == 1, "\(three)")
        #expect(try store.counts().packets == 4)
        let path = dir + "/s.db"
        #expect(try rows(path, "SELECT count(DISTINCT data_time || vals) FROM packets") == 4)
        #expect(try rows(path, "SELECT group_concat(qn_reuse, '') FROM (SELECT qn_reuse FROM packets ORDER BY id)") == 123)  // '0123'
        // The look-up after a collision is a search of the key, never a scan.
        let db = try Database(path: path, readOnly: true)
        defer { db.close() }
        for (sql, index) in [(Store.selectFirstSQL, "packets_key"), (Store.selectReusedSQL, "packets_reused"), (Store.selectLastReuseSQL, "packets_key")] {
            let plan = try db.prepare("EXPLAIN QUERY PLAN " + sql)
            var details: [String] = []
            while try plan.step() { details.append(plan.text(3) ?? "") }
            #expect(details.contains { $0.contains("USING INDEX \(index)") || $0.contains("USING COVERING INDEX \(index)") }, "\(sql): \(details)")
        }
    }

    @Test("a resend that differs only outside the key and the CP (a new PW after 1072, so another CRC) is a duplicate")
    func resendWithNewPassword() throws {
        let dir = scratchDirectory("qn-resend-pw")
        let store = try Store(path: dir + "/s.db")
        var a = StoreBatch()
        a.add(try journal([realTimeFrame(qn: Self.qn, dataTime: "20261130120000")]).0)
        try store.write(a)
        var b = StoreBatch()
        b.add(try journal([realTimeFrame(qn: Self.qn, dataTime: "20261130120000", pw: "654321")]).0)
        let again = try store.write(b)
        #expect(again.stored == 0 && again.duplicates == 1 && again.reusedQN == 0, "\(again)")
        #expect(try store.counts().packets == 1)
    }

    @Test("a unit's packet counter counts stored packets only, and says the same after a crash")
    func unitCounterCountsStored() throws {
        let dir = scratchDirectory("qn-units")
        let path = dir + "/s.db"
        let frames = [realTimeFrame(qn: "20261130120000001", dataTime: "20261130120000"),
                      realTimeFrame(qn: "20261130120030001", dataTime: "20261130120030")]
        do {
            let store = try Store(path: path)
            for _ in 0..<3 {
                var batch = StoreBatch()
                batch.add(try journal(frames).0)  // the same two packets, resent twice
                try store.write(batch)
            }
            #expect(try store.counts().packets == 2)
            #expect(try store.units().map(\.packets) == [2], "the unit's counter holds what is stored")
        }
        // What a kill -9 leaves: the counters not written; the next writer counts the rows.
        do {
            let db = try Database(path: path, readOnly: false)
            try db.execute("UPDATE units SET packets = 0; UPDATE meta SET value = '0' WHERE key = 'units_through'")
            db.close()
        }
        let store = try Store(path: path)
        #expect(try store.units().map(\.packets) == [2])
    }

    /// A loopback port in 45000-49999 that was free a moment ago.
    func loopbackPort() -> UInt16? {
        for _ in 0..<50 {
            let port = UInt16.random(in: 45000...49999)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { return nil }
            defer { close(fd) }
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_port = port.bigEndian
            a.sin_addr.s_addr = inet_addr("127.0.0.1")
            let ok = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 } }
            if ok { return port }
        }
        return nil
    }

    /// Sends each frame in turn on one connection and waits (bounded) for its 9014; returns how
    /// many 9014s came.
    func sendAwaitingAcks(port: UInt16, _ frames: [[UInt8]]) -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = port.bigEndian
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        let ok = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard ok == 0 else { return 0 }
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var acks = 0
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        for frame in frames {
            _ = frame.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            let end = Date().addingTimeInterval(10)
            while Date() < end {
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n > 0 { received += buffer[..<n] } else if n == 0 { return acks }
                let text = String(decoding: received, as: UTF8.self)
                if text.components(separatedBy: "CN=9014").count - 1 > acks { acks += 1; break }
            }
        }
        return acks
    }

    @Test("serve --store: a packet reusing the QN of a different one is acknowledged and stored, a resend is not stored twice, the summary tells them apart")
    func serveStoresReusedQN() throws {
        let dir = scratchDirectory("serve-qn-reuse")
        let db = dir + "/s.db"
        let port = try #require(loopbackPort())
        let serve = try Binary.start(["serve", "--listen", "127.0.0.1:\(port)", "--store", db, "--threads", "1", "--duration", "4s"], output: dir + "/out")
        defer { if serve.isRunning { kill(serve.pid, SIGKILL); serve.exitStatus() } }
        #expect(Binary.wait(for: "listening on", in: dir + "/out", process: serve))
        let first = realTimeFrame(qn: Self.qn, dataTime: "20261130120000")
        let reused = realTimeFrame(qn: Self.qn, dataTime: "20261130120030", value: "13.1")
        #expect(sendAwaitingAcks(port: port, [first, reused, first]) == 3)
        #expect(Binary.finish(serve, seconds: 60) == 0)
        let out = Binary.text(dir + "/out")
        #expect(try rows(db, "SELECT count(*) FROM packets") == 2, "acknowledged means stored: \(out)")
        #expect(try rows(db, "SELECT packets FROM units") == 2)
        #expect(out.contains("2 packets stored, 1 duplicate acknowledged again"), "\(out)")
        #expect(out.contains("1 packet reused the QN of a different packet already stored"), "\(out)")
        #expect(out.contains("stored (every run on \(db)): 1 units, 2 packets"), "\(out)")
    }
}

/// Schema 3 → 4: the duplicate key gains `qn_reuse`; a version 3 store is read as it is and
/// migrated in place by a writer, its unit counters counted again from the rows.
@Suite("Store migration 3 to 4")
struct StoreMigration3Tests {
    static let mn = "010000A89001000000000001"

    /// Version 3's schema as sessions 13-19 wrote it (Store.schema at 64534ce).
    static let version3Schema = """
    CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
    INSERT INTO meta(key, value) VALUES('schema_version', '3'), ('application', 'hj212 platform store'), ('units_through', '0');
    CREATE TABLE units(
      id INTEGER PRIMARY KEY, mn TEXT NOT NULL UNIQUE, pw TEXT, st TEXT, dialect TEXT,
      first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, last_peer TEXT, packets INTEGER NOT NULL DEFAULT 0);
    CREATE TABLE packets(
      id INTEGER PRIMARY KEY, unit_id INTEGER NOT NULL REFERENCES units(id), mn TEXT NOT NULL, qn TEXT, cn TEXT NOT NULL,
      st TEXT, pno INTEGER NOT NULL DEFAULT 0, data_time INTEGER, received_at INTEGER NOT NULL, peer TEXT, frame BLOB NOT NULL,
      factors INTEGER, invalid INTEGER, codes TEXT, flags TEXT, vals TEXT);
    CREATE UNIQUE INDEX packets_key ON packets(qn, mn, cn, pno) WHERE qn IS NOT NULL;
    CREATE INDEX packets_hours ON packets(cn, data_time, unit_id, codes, flags) WHERE cn IN ('2061', '2031') AND codes IS NOT NULL;
    CREATE VIEW records(id, packet_id, unit_id, cn, data_time, factors, invalid, codes, flags, vals) AS
      SELECT id, id, unit_id, cn, data_time, factors, invalid, codes, flags, vals FROM packets WHERE codes IS NOT NULL;
    CREATE VIEW "values"(record_id, unit_id, cn, data_time, factor, kind, value, text, flag) AS
      SELECT r.id, r.unit_id, r.cn, r.data_time, v.value->>0, v.value->>1, CAST(v.value->>2 AS REAL), v.value->>3, v.value->>4
      FROM records r, json_each(r.vals) v;
    CREATE TABLE commands(
      id INTEGER PRIMARY KEY, mn TEXT NOT NULL, cn TEXT NOT NULL, qn TEXT, peer TEXT, outcome TEXT NOT NULL,
      qn_rtn INTEGER, exe_rtn INTEGER, records INTEGER NOT NULL, attempts INTEGER NOT NULL,
      queued_at INTEGER NOT NULL, sent_at INTEGER, finished_at INTEGER NOT NULL, request TEXT);
    """

    static func hex(_ b: [UInt8]) -> String { "x'" + b.map { String(format: "%02x", $0) }.joined() + "'" }

    /// A version 3 store as its writer left it: three real-time packets of one unit, whose
    /// counter says 5 (version 3 counted two resends) and includes the first two (`units_through`
    /// 2: the third was stored just before a kill -9).
    func makeVersion3(_ path: String) throws {
        let db = try Database(path: path, readOnly: false)
        let rows = [("20261130120000001", "20261130120000"), ("20261130120030001", "20261130120030"), ("20261130120100001", "20261130120100")]
        let values = rows.enumerated().map { i, r in
            "(\(i + 1), 1, '\(Self.mn)', '\(r.0)', '2011', '32', 0, \(r.1), \(r.1)000, '127.0.0.1:1', \(Self.hex(realTimeFrame(qn: r.0, dataTime: r.1))), "
                + "1, 0, 'w01018', '', '[[\"w01018\",\"Rtd\",12.5,null,\"N\"]]')"
        }
        try db.execute("""
            PRAGMA journal_mode=WAL;
            BEGIN;
            \(Self.version3Schema)
            PRAGMA application_id=\(Store.applicationID); PRAGMA user_version=3;
            INSERT INTO units(id, mn, pw, st, first_seen, last_seen, last_peer, packets)
              VALUES(1, '\(Self.mn)', '123456', '32', 20261130120000000, 20261130120030000, '127.0.0.1:1', 5);
            INSERT INTO packets(id, unit_id, mn, qn, cn, st, pno, data_time, received_at, peer, frame, factors, invalid, codes, flags, vals)
              VALUES \(values.joined(separator: ", "));
            UPDATE meta SET value = '2' WHERE key = 'units_through';
            COMMIT;
            PRAGMA wal_checkpoint(TRUNCATE);
            """)
        db.close()
    }

    @Test("a version 3 store is read as it is, migrated in place by a writer (key, counters), and then stores a reused QN")
    func migrate() throws {
        let dir = scratchDirectory("migrate3")
        let path = dir + "/v3.db"
        try makeVersion3(path)
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        do {
            let reader = try Store(path: path, readOnly: true)
            #expect(try reader.counts() == StoreCounts(units: 1, packets: 3, records: 3, values: 3, commands: 0))
            var n = 0
            try reader.forEachRecord(cn: "2011", from: 20261130000000, to: 20261201000000) { _ in n += 1 }
            #expect(n == 3)
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == original, "a reader changes nothing")

        do {  // the writer, closed before the store is opened again
            let writer = try Store(path: path)
            do {
                let db = try Database(path: path, readOnly: true)
                defer { db.close() }
                #expect(try db.integer("PRAGMA user_version") == Int64(Store.schemaVersion))
                #expect(try db.integer("SELECT value FROM meta WHERE key = 'schema_version'") == Int64(Store.schemaVersion))
                #expect(try db.integer("SELECT count(*) FROM meta WHERE key = 'migrated_from_4'") == 1, "3 goes on to 5 through 4")
                #expect(try db.integer("SELECT count(*) FROM meta WHERE key = 'migrated_from_3'") == 1)
                let key = try db.prepare("SELECT group_concat(name, ',') FROM (SELECT name FROM pragma_index_info('packets_key') ORDER BY seqno)")
                #expect(try key.step())
                #expect(key.text(0) == "qn,mn,cn,pno,qn_reuse")
                #expect(try db.integer("SELECT count(*) FROM packets WHERE qn_reuse = 0") == 3)
            }
            // Counted again from the rows: 2 through `units_through`, then the one after it.
            #expect(try writer.units().map(\.packets) == [3])
            var batch = StoreBatch()
            batch.add(try journal([realTimeFrame(qn: "20261130120000001", dataTime: "20261130120000"),                  // a resend
                                   realTimeFrame(qn: "20261130120000001", dataTime: "20261130120130", value: "9.5")]).0) // a reused QN
            let outcome = try writer.write(batch)
            #expect(outcome.stored == 1 && outcome.duplicates == 1 && outcome.reusedQN == 1, "\(outcome)")
            #expect(try writer.counts().packets == 4)
            #expect(try writer.units().map(\.packets) == [4])
        }
        // Reopened: not migrated again.
        do { _ = try Store(path: path) }
        let db = try Database(path: path, readOnly: true)
        defer { db.close() }
        #expect(try db.integer("SELECT count(*) FROM packets") == 4)
        #expect(try db.integer("SELECT packets FROM units") == 4)
    }
}

/// Handover 20, item 1: a collision read every row under its key, so a logger that sends every
/// packet with one constant QN cost k rows for its k-th packet (quadratic over a month).
@Suite("Store QN reuse cost")
struct StoreQNReuseCostTests {
    @Test("a logger with one constant QN: each packet reads a bounded number of rows, resends are still found")
    func constantQNIsNotQuadratic() throws {
        let dir = scratchDirectory("qn-constant")
        let store = try Store(path: dir + "/s.db")
        let qn = "20000101000000000"
        let n = 300
        func minute(_ i: Int) -> String {
            let t = HJTime(wallMilliseconds: HJTime("20261130000000")!.wallMilliseconds + Int64(i) * 60_000)
            return t.text14
        }
        for i in 0..<n {
            var batch = StoreBatch()
            batch.add(try journal([realTimeFrame(qn: qn, dataTime: minute(i), value: "\(i).5")]).0)
            let o = try store.write(batch)
            #expect(o.stored == 1 && o.reusedQN == (i == 0 ? 0 : 1), "packet \(i): \(o)")
        }
        let read = store.connection.withLock { $0.collisionRowsRead }
        #expect(read <= 3 * n, "rows read to settle \(n - 1) collisions under one key: \(read)")
        // Resends of an early, a middle and the last packet are duplicates; a corrected value
        // under an old DataTime is another packet.
        var again = StoreBatch()
        again.add(try journal([realTimeFrame(qn: qn, dataTime: minute(0), value: "0.5"),
                               realTimeFrame(qn: qn, dataTime: minute(150), value: "150.5"),
                               realTimeFrame(qn: qn, dataTime: minute(n - 1), value: "\(n - 1).5"),
                               realTimeFrame(qn: qn, dataTime: minute(150), value: "150.7")]).0)
        let o = try store.write(again)
        #expect(o.duplicates == 3 && o.stored == 1 && o.reusedQN == 1, "\(o)")
        #expect(try store.counts().packets == n + 1)
        let db = try Database(path: dir + "/s.db", readOnly: true)
        defer { db.close() }
        #expect(try db.integer("SELECT max(qn_reuse) FROM packets") == Int64(n))
        #expect(try db.integer("SELECT count(DISTINCT qn_reuse) FROM packets") == Int64(n + 1))
    }
}

@Suite("Store migration 4 to 5")
struct StoreMigration4Tests {
    @Test("a version 4 store gains cp_hash and packets_reused in place; its reused rows are found again as resends")
    func migrate4() throws {
        let dir = scratchDirectory("migrate4")
        let path = dir + "/v4.db"
        let qn = "20261130120000001"
        let first = realTimeFrame(qn: qn, dataTime: "20261130120000")
        let second = realTimeFrame(qn: qn, dataTime: "20261130120030", value: "13.1")
        let third = realTimeFrame(qn: qn, dataTime: "20261130120100", value: "14.2")
        do {
            let store = try Store(path: path)
            var batch = StoreBatch()
            batch.add(try journal([first, second, third]).0)
            #expect(try store.write(batch).reusedQN == 2)
        }
        // Version 4's shape: no cp_hash, no packets_reused, version 4 in both places.
        do {
            let db = try Database(path: path, readOnly: false)
            try db.execute("""
                DROP INDEX packets_reused; ALTER TABLE packets DROP COLUMN cp_hash;
                UPDATE meta SET value = '4' WHERE key = 'schema_version'; PRAGMA user_version=4
                """)
            db.close()
        }
        let store = try Store(path: path)
        do {
            let db = try Database(path: path, readOnly: true)
            defer { db.close() }
            #expect(try db.integer("PRAGMA user_version") == 5)
            #expect(try db.integer("SELECT value FROM meta WHERE key = 'schema_version'") == 5)
            #expect(try db.integer("SELECT count(*) FROM meta WHERE key = 'migrated_from_4'") == 1)
            #expect(try db.integer("SELECT count(*) FROM packets WHERE cp_hash IS NOT NULL") == 2, "the two reused rows, not the first")
            let expected = second.withUnsafeBufferPointer { Store.contentHash($0) }
            #expect(try db.integer("SELECT cp_hash FROM packets WHERE qn_reuse = 1") == expected)
        }
        // Resends of the reused packets are found through the migrated hashes.
        var again = StoreBatch()
        again.add(try journal([third, second, first]).0)
        let o = try store.write(again)
        #expect(o.duplicates == 3 && o.stored == 0, "\(o)")
        #expect(try store.counts().packets == 3)
    }
}
