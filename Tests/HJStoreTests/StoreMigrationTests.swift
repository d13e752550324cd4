import Foundation
import HJ212
import HJRoles
@testable import HJStore
import Testing
import TestSupport

/// Schema 2 → 3: a version 2 store (a table of records beside the packets) is read as it is by
/// a reader and migrated by a writer (each record folded into its packet's row, `records` a view),
/// with the same records, values and hour index answers before and after, and writing continues
/// (a packet stored before the migration is a duplicate after it).
@Suite("Store migration")
struct StoreMigrationTests {
    /// Version 2's schema as session 12 wrote it (Store.schema at d859ef6).
    static let version2Schema = """
    CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
    INSERT INTO meta(key, value) VALUES('schema_version', '2'), ('application', 'hj212 platform store'), ('units_through', '0');
    CREATE TABLE units(
      id INTEGER PRIMARY KEY, mn TEXT NOT NULL UNIQUE, pw TEXT, st TEXT, dialect TEXT,
      first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, last_peer TEXT, packets INTEGER NOT NULL DEFAULT 0);
    CREATE TABLE packets(
      id INTEGER PRIMARY KEY, unit_id INTEGER NOT NULL REFERENCES units(id), mn TEXT NOT NULL, qn TEXT, cn TEXT NOT NULL,
      st TEXT, pno INTEGER NOT NULL DEFAULT 0, data_time INTEGER, received_at INTEGER NOT NULL, peer TEXT, frame BLOB NOT NULL);
    CREATE UNIQUE INDEX packets_key ON packets(qn, mn, cn, pno) WHERE qn IS NOT NULL;
    CREATE TABLE records(
      id INTEGER PRIMARY KEY, packet_id INTEGER NOT NULL REFERENCES packets(id), unit_id INTEGER NOT NULL REFERENCES units(id),
      cn TEXT NOT NULL, data_time INTEGER, factors INTEGER NOT NULL, invalid INTEGER NOT NULL, codes TEXT NOT NULL, flags TEXT NOT NULL,
      vals TEXT NOT NULL);
    CREATE INDEX records_hours ON records(cn, data_time, unit_id, codes, flags) WHERE cn IN ('2061', '2031');
    CREATE VIEW "values"(record_id, unit_id, cn, data_time, factor, kind, value, text, flag) AS
      SELECT r.id, r.unit_id, r.cn, r.data_time, v.value->>0, v.value->>1, CAST(v.value->>2 AS REAL), v.value->>3, v.value->>4
      FROM records r, json_each(r.vals) v;
    CREATE TABLE commands(
      id INTEGER PRIMARY KEY, mn TEXT NOT NULL, cn TEXT NOT NULL, qn TEXT, peer TEXT, outcome TEXT NOT NULL,
      qn_rtn INTEGER, exe_rtn INTEGER, records INTEGER NOT NULL, attempts INTEGER NOT NULL,
      queued_at INTEGER NOT NULL, sent_at INTEGER, finished_at INTEGER NOT NULL, request TEXT);
    """

    static let mn = "010000A89001000000000001"

    /// A version 2 store with what its writer left: an hour record (invalid flag), a minute
    /// record, a split hour record (the first packet completes nothing, the last one carries no
    /// DataTime of its own), and a packet that completed no record.
    func makeVersion2(_ path: String) throws {
        let db = try Database(path: path, readOnly: false)
        let frame = hourFrame(qn: "20261130100000001", dataTime: "20261130090000")
        try db.execute("""
            PRAGMA journal_mode=WAL;
            BEGIN;
            \(Self.version2Schema)
            PRAGMA application_id=\(Store.applicationID); PRAGMA user_version=2;
            INSERT INTO units(id, mn, pw, st, first_seen, last_seen, last_peer, packets)
              VALUES(1, '\(Self.mn)', '123456', '32', 20261130100000000, 20261130120000000, '127.0.0.1:1', 5);
            INSERT INTO packets(id, unit_id, mn, qn, cn, st, pno, data_time, received_at, peer, frame) VALUES
              (1, 1, '\(Self.mn)', '20261130100000001', '2061', '32', 0, 20261130090000, 20261130100000000, '127.0.0.1:1', x'\(frame.map { String(format: "%02x", $0) }.joined())'),
              (2, 1, '\(Self.mn)', '20261130105000001', '2051', '32', 0, 20261130104000, 20261130105000000, '127.0.0.1:1', x'00'),
              (3, 1, '\(Self.mn)', '20261130110000001', '2061', '32', 1, 20261130100000, 20261130110000000, '127.0.0.1:1', x'01'),
              (4, 1, '\(Self.mn)', '20261130110000001', '2061', '32', 2, NULL, 20261130110000001, '127.0.0.1:1', x'02'),
              (5, 1, '\(Self.mn)', '20261130120000001', '1011', '32', 0, NULL, 20261130120000000, '127.0.0.1:1', x'03');
            INSERT INTO records(id, packet_id, unit_id, cn, data_time, factors, invalid, codes, flags, vals) VALUES
              (1, 1, 1, '2061', 20261130090000, 2, 1, 'w01018|w21003', 'w21003:D',
               '[["w01018","Avg",12.5,null,"N"],["w21003","Avg",1.5,null,"D"]]'),
              (2, 2, 1, '2051', 20261130104000, 1, 0, 'w01018', '', '[["w01018","Avg",11,null,"N"]]'),
              (3, 4, 1, '2061', 20261130100000, 1, 0, 'w01018', '', '[["w01018","Avg",7.25,null,null],["w01018","Info",null,"x\\"y",null]]');
            UPDATE meta SET value = '5' WHERE key = 'units_through';
            COMMIT;
            PRAGMA wal_checkpoint(TRUNCATE);
            """)
        db.close()
    }

    /// What a reader sees, the same for either version.
    func observed(_ store: Store) throws -> [String] {
        var out: [String] = []
        let n = try store.counts()
        out.append("counts \(n.units) \(n.packets) \(n.records) \(n.values) \(n.commands)")
        for cn in ["2061", "2051"] {
            try store.forEachRecord(cn: cn, from: 20261130000000, to: 20261201000000) { r in
                out.append("\(r.cn) \(r.mn) \(r.dataTime) \(r.summary.codesText) \(r.summary.flagsText)")
            }
        }
        for s in try store.spans(cns: ["2051", "2061"]) { out.append("span \(s.cn) \(s.records) \(s.first) \(s.last)") }
        return out
    }

    func valueRows(_ path: String) throws -> [String] {
        let db = try Database(path: path, readOnly: true)
        defer { db.close() }
        let s = try db.prepare("""
            SELECT v.cn, v.data_time, v.factor, v.kind, v.value, v.text, v.flag, r.packet_id
            FROM "values" v JOIN records r ON r.id = v.record_id ORDER BY r.packet_id, v.factor, v.kind
            """)
        var rows: [String] = []
        while try s.step() {
            rows.append([s.text(0) ?? "-", String(s.int64(1)), s.text(2) ?? "-", s.text(3) ?? "-",
                         s.isNull(4) ? "-" : String(s.double(4)), s.text(5) ?? "-", s.text(6) ?? "-", String(s.int64(7))].joined(separator: " "))
        }
        return rows
    }

    @Test("a version 2 store is read as it is, then migrated by a writer with the same answers, and writing continues")
    func migrate() throws {
        let dir = scratchDirectory("migrate")
        let path = dir + "/v2.db"
        try makeVersion2(path)
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        let before: [String]
        do {
            let reader = try Store(path: path, readOnly: true)
            before = try observed(reader)
        }
        #expect(before.first == "counts 1 5 3 5 0")
        #expect(before.contains("2061 \(Self.mn) 20261130090000 w01018|w21003 w21003:D"))
        #expect(before.contains("2061 \(Self.mn) 20261130100000 w01018 "))
        #expect(before.contains("span 2061 2 20261130090000 20261130100000"))
        let valuesBefore = try valueRows(path)
        #expect(valuesBefore.count == 5)
        // The reader changed nothing.
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == original)

        let writer = try Store(path: path)
        #expect(try observed(writer) == before)
        do {
            let db = try Database(path: path, readOnly: true)
            defer { db.close() }
            #expect(try db.integer("PRAGMA user_version") == Int64(Store.schemaVersion))  // 2 → 3 → 4
            #expect(try db.integer("SELECT value FROM meta WHERE key = 'schema_version'") == Int64(Store.schemaVersion))
            #expect(try db.integer("SELECT count(*) FROM sqlite_master WHERE name = 'records' AND type = 'view'") == 1)
            #expect(try db.integer("SELECT count(*) FROM sqlite_master WHERE name = 'records_hours'") == 0)
            // Each record is in the row of the packet that completed it; the split record's
            // packet now carries the record's DataTime; packets that completed none have no codes.
            let s = try db.prepare("SELECT group_concat(id || ':' || coalesce(data_time, '-') || ':' || coalesce(codes, '-'), ' ') FROM (SELECT * FROM packets ORDER BY id)")
            #expect(try s.step())
            #expect(s.text(0) == "1:20261130090000:w01018|w21003 2:20261130104000:w01018 3:20261130100000:- 4:20261130100000:w01018 5:-:-")
            let plan = try db.prepare("EXPLAIN QUERY PLAN " + Store.hourRecordsQuery(cn: "2061"))
            var details: [String] = []
            while try plan.step() { details.append(plan.text(3) ?? "") }
            #expect(details.contains { $0.contains("COVERING INDEX packets_hours") }, "\(details)")
        }
        #expect(try valueRows(path) == valuesBefore)

        // A packet stored before the migration is acknowledged again but not stored twice; a new one is stored.
        var batch = StoreBatch()
        batch.add(try journal([hourFrame(qn: "20261130100000001", dataTime: "20261130090000"),
                               hourFrame(qn: "20261130130000001", dataTime: "20261130120000")]).0)
        let outcome = try writer.write(batch)
        #expect(outcome.stored == 1 && outcome.duplicates == 1 && outcome.records == 1 && outcome.values == 6)
        let after = try observed(writer)
        #expect(after.first == "counts 1 6 4 11 0")
        #expect(after.contains("2061 \(Self.mn) 20261130120000 w01018|w21003 "))
    }

    @Test("a reopened version 3 store is not migrated again")
    func reopen() throws {
        let dir = scratchDirectory("reopen3")
        let path = dir + "/v2.db"
        try makeVersion2(path)
        do { _ = try Store(path: path) }
        let first = try observed(try Store(path: path, readOnly: true))
        do { _ = try Store(path: path) }
        #expect(try observed(try Store(path: path, readOnly: true)) == first)
        let db = try Database(path: path, readOnly: true)
        defer { db.close() }
        #expect(try db.integer("SELECT count(*) FROM meta WHERE key = 'migrated_from_2'") == 1)
    }
}
