import Foundation
import HJ212
import HJRoles
@testable import HJStore
import Testing
import TestSupport

/// Schema version 3 (version 2's packing): a record's values packed in one text (`vals`, JSON)
/// in the row of the packet that completed it, the `records` and `values` views for SQL users,
/// the hour/day index, and the refusal of a version 1 store.
@Suite("Store schema")
struct StoreSchemaTests {
    /// A record whose fields exercise the packing: a numeric value, an integer, a value with a
    /// leading zero, a text value with characters JSON must escape, a factor without a flag.
    func oddRecord(qn: String) -> [UInt8] {
        let cp: [[Field]] = [
            [Field("DataTime", "20261130110000")],
            [Field("w01018-Avg", "12.5"), Field("w01018-Cou", "300"), Field("w01018-Flag", "D")],
            [Field("w21003-Avg", "007.25"), Field("w21003-Flag", "N")],
            [Field("a34013-Info", "x\"y\\z"), Field("a21026-Avg", "-0.5")],
        ]
        let segment = DataSegment(header: [Field("QN", qn), Field("ST", "32"), Field("CN", "2061"), Field("PW", "123456"),
                                           Field("MN", "010000A89001000000000001"), Field("Flag", "5")], cp: cp)
        return FrameEncoder.frame(segment)
    }

    @Test("the values view gives one row per value, typed as before, from one row per record")
    func valuesView() throws {
        let dir = scratchDirectory("view")
        let store = try Store(path: dir + "/s.db")
        var batch = StoreBatch()
        batch.add(try journal([oddRecord(qn: "20261130120000001")]).0)
        let outcome = try store.write(batch)
        #expect(outcome.records == 1 && outcome.values == 5)
        #expect(try store.counts() == StoreCounts(units: 1, packets: 1, records: 1, values: 5, commands: 0))
        let db = try Database(path: dir + "/s.db", readOnly: true)
        #expect(try db.integer("SELECT count(*) FROM records") == 1)
        let s = try db.prepare("""
            SELECT factor, kind, value, typeof(value), text, flag, cn, data_time, unit_id = (SELECT id FROM units)
            FROM "values" ORDER BY factor, kind
            """)
        var rows: [String] = []
        while try s.step() {
            rows.append([s.text(0) ?? "-", s.text(1) ?? "-", s.isNull(2) ? "-" : String(s.double(2)), s.text(3) ?? "-",
                         s.text(4) ?? "-", s.text(5) ?? "-", s.text(6) ?? "-", String(s.int64(7)), String(s.int(8))].joined(separator: " "))
        }
        #expect(rows == [
            "a21026 Avg -0.5 real - - 2061 20261130110000 1",
            "a34013 Info - null x\"y\\z - 2061 20261130110000 1",
            "w01018 Avg 12.5 real - D 2061 20261130110000 1",
            "w01018 Cou 300.0 real - D 2061 20261130110000 1",
            "w21003 Avg 7.25 real - N 2061 20261130110000 1",
        ])
    }

    @Test("packed values: numbers as written or through Double, texts escaped for JSON")
    func packing() throws {
        func pack(_ value: String, flag: String? = nil) -> String {
            var out: [UInt8] = []
            PackedValues.append(factor: "w01018"[...].utf8, kind: "Avg"[...].utf8, value: value, flag: flag, to: &out)
            return String(decoding: out, as: UTF8.self)
        }
        #expect(pack("12.5", flag: "N") == #"["w01018","Avg",12.5,null,"N"]"#)
        #expect(pack("-0.05") == #"["w01018","Avg",-0.05,null,null]"#)
        #expect(pack("0") == #"["w01018","Avg",0,null,null]"#)
        #expect(pack("007.25") == #"["w01018","Avg",7.25,null,null]"#)
        #expect(pack("1.") == #"["w01018","Avg",1.0,null,null]"#)
        #expect(pack("1e3") == #"["w01018","Avg",1000.0,null,null]"#)
        #expect(pack("nan") == #"["w01018","Avg",null,"nan",null]"#)
        #expect(pack("-") == #"["w01018","Avg",null,"-",null]"#)
        #expect(pack("") == #"["w01018","Avg",null,"",null]"#)
        #expect(pack("a\"b\\c\u{7}") == #"["w01018","Avg",null,"a\"b\\c\u0007",null]"#)
        // Every packing is JSON SQLite reads back as it was given.
        let dir = scratchDirectory("packing")
        let db = try Database(path: dir + "/j.db", readOnly: false)
        for v in ["12.5", "007.25", "a\"b\\c\u{7}", "", "1e3"] {
            let s = try db.prepare("SELECT json_valid(?1), ?1->>3, ?1->>2")
            s.bind(1, pack(v))
            #expect(try s.step())
            #expect(s.int(0) == 1)
            #expect(s.isNull(1) ? Double(v) != nil : s.text(1) == v)
        }
    }

    @Test("a version 1 store is refused in one line, untouched")
    func versionOne() throws {
        let dir = scratchDirectory("v1")
        let path = dir + "/old.db"
        do {
            let db = try Database(path: path, readOnly: false)
            try db.execute("""
                PRAGMA journal_mode=WAL;
                CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
                INSERT INTO meta(key, value) VALUES('schema_version', '1'), ('application', 'hj212 platform store');
                CREATE TABLE units(id INTEGER PRIMARY KEY, mn TEXT NOT NULL UNIQUE);
                CREATE TABLE "values"(record_id INTEGER NOT NULL, factor TEXT NOT NULL);
                PRAGMA application_id=\(Store.applicationID); PRAGMA user_version=1; PRAGMA wal_checkpoint(TRUNCATE);
                """)
            db.close()
        }
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        for readOnly in [false, true] {
            #expect { try Store(path: path, readOnly: readOnly) } throws: { e in
                let m = (e as? StoreError)?.message ?? ""
                return m.contains("store schema 1") && m.contains("older than this hj212 (\(Store.schemaVersion))") && !m.contains("\n")
            }
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
    }

    @Test("hour and day records are read through their own index; other CNs still read")
    func hourIndex() throws {
        let dir = scratchDirectory("hours")
        let store = try Store(path: dir + "/s.db")
        var batch = StoreBatch()
        batch.add(try journal([hourFrame(qn: "20261130120000001", dataTime: "20261130110000"),
                               minuteFrame(qn: "20261130120000002", dataTime: "20261130115000")]).0)
        try store.write(batch)
        var hours: [Int64] = [], minutes: [Int64] = []
        try store.forEachRecord(cn: "2061", from: 20261130000000, to: 20261201000000) { hours.append($0.dataTime) }
        try store.forEachRecord(cn: "2051", from: 20261130000000, to: 20261201000000) { minutes.append($0.dataTime) }
        #expect(hours == [20261130110000])
        #expect(minutes == [20261130115000])
        // The roster's query is answered from the index alone: no row of the packets table is read.
        let db = try Database(path: dir + "/s.db", readOnly: true)
        let plan = try db.prepare("EXPLAIN QUERY PLAN " + Store.hourRecordsQuery(cn: "2061"))
        var details: [String] = []
        while try plan.step() { details.append(plan.text(3) ?? "") }
        #expect(details.contains { $0.contains("COVERING INDEX packets_hours") }, "\(details)")
    }
}

/// A 2051 minute record, as a logger sends it.
func minuteFrame(qn: String, dataTime: String) -> [UInt8] {
    let cp: [[Field]] = [[Field("DataTime", dataTime)], [Field("w01018-Avg", "11.0"), Field("w01018-Flag", "N")]]
    let segment = DataSegment(header: [Field("QN", qn), Field("ST", "32"), Field("CN", "2051"), Field("PW", "123456"),
                                       Field("MN", "010000A89001000000000001"), Field("Flag", "5")], cp: cp)
    return FrameEncoder.frame(segment)
}

/// The `units` counters, written once a second by the writer and made exact at the next open.
@Suite("Store unit counters")
struct StoreUnitCounterTests {
    @Test("the writer's own units() sees every packet; a reader sees them once written; a crash's uncounted packets are counted at the next open")
    func counters() throws {
        let dir = scratchDirectory("unit-counters")
        let path = dir + "/s.db"
        do {
            let store = try Store(path: path)
            var b = StoreBatch()
            b.add(try journal([hourFrame(qn: "20261130120000001", dataTime: "20261130110000"),
                               hourFrame(qn: "20261130130000001", dataTime: "20261130120000")]).0)
            try store.write(b)
            #expect(try store.units().map(\.packets) == [2])
            let reader = try Store(path: path, readOnly: true)
            #expect(try reader.units().map(\.packets) == [2])
            var c = StoreBatch()
            c.add(try journal([hourFrame(qn: "20261130140000001", dataTime: "20261130130000")]).0)
            try store.write(c)
        }
        // As if serve had been killed before it wrote the counters of the last packets.
        do {
            let raw = try Database(path: path, readOnly: false)
            try raw.execute("UPDATE units SET packets = 1, last_seen = 0; UPDATE meta SET value = '1' WHERE key = 'units_through'")
        }
        let reopened = try Store(path: path)
        let units = try reopened.units()
        #expect(units.map(\.packets) == [3])
        #expect(units.first.map { $0.lastSeen > 20_261_130_000_000_000 } == true)
        let raw = try Database(path: path, readOnly: true)
        #expect(try raw.integer("SELECT value FROM meta WHERE key = 'units_through'") == 3)
    }
}
