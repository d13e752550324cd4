import Foundation
import HJ212
import HJRoles
@testable import HJStore
import Testing
import TestSupport

/// A 2061 hour record of one unit, Flag=5 (acknowledge), as a logger sends it.
func hourFrame(mn: String = "010000A89001000000000001", qn: String, dataTime: String, flags: [String: String] = [:]) -> [UInt8] {
    var cp: [[Field]] = [[Field("DataTime", dataTime)]]
    for code in ["w01018", "w21003"] {
        cp.append([Field("\(code)-Avg", "12.5"), Field("\(code)-Min", "10.1"), Field("\(code)-Max", "14.9"), Field("\(code)-Flag", flags[code] ?? "N")])
    }
    let segment = DataSegment(header: [Field("QN", qn), Field("ST", "32"), Field("CN", "2061"), Field("PW", "123456"), Field("MN", mn), Field("Flag", "5")], cp: cp)
    return FrameEncoder.frame(segment)
}

/// Feeds frames to a platform session and returns the journal of its events and what it sent.
func journal(_ frames: [[UInt8]]) throws -> (PlatformJournal, [SessionAction]) {
    let state = try PlatformState()
    var session = PlatformSession(state: state, peer: "127.0.0.1:1")
    var outputs = session.connected(at: 0)
    for f in frames { outputs += session.received(f, at: HJTime(year: 2026, month: 11, day: 30, hour: 12).wallMilliseconds) }
    return (PlatformJournal(outputs), outputs.actions)
}

@Suite("Store")
struct StoreTests {
    @Test("a batch is stored, and a resent packet is acknowledged again but not stored twice")
    func duplicates() throws {
        let dir = scratchDirectory("dup")
        let store = try Store(path: dir + "/s.db")
        let frames = [hourFrame(qn: "20261130120000001", dataTime: "20261130110000"),
                      hourFrame(qn: "20261130130000001", dataTime: "20261130120000", flags: ["w21003": "D"])]
        let (j, actions) = try journal(frames)
        #expect(j.packets.count == 2)
        #expect(j.records.count == 2)
        #expect(actions.count == 2)  // two 9014s, which the driver holds until `write` returns
        var batch = StoreBatch()
        batch.add(j)
        let first = try store.write(batch)
        #expect(first.stored == 2 && first.duplicates == 0 && first.records == 2 && first.values == 12)
        // The logger did not see the acks (serve was killed) and resends both, in a new connection.
        let (again, _) = try journal([frames[1], frames[0]])
        var resent = StoreBatch()
        resent.add(again)
        let second = try store.write(resent)
        #expect(second.stored == 0)
        #expect(second.duplicates == 2)
        #expect(second.records == 0)
        let counts = try store.counts()
        #expect(counts == StoreCounts(units: 1, packets: 2, records: 2, values: 12, commands: 0))
        #expect(try store.packetsByQN().values.allSatisfy { $0 == 1 })
        var hours: [Int64: RecordSummary] = [:]
        try store.forEachRecord(cn: "2061", from: 20261130000000, to: 20261201000000) { hours[$0.dataTime] = $0.summary }
        #expect(hours[20261130110000]?.invalid == [:])
        #expect(hours[20261130120000]?.invalid == ["w21003": "D"])
        #expect(hours[20261130120000]?.factors == ["w01018", "w21003"])
    }

    @Test("the WAL stays bounded under steady writes: the writer checkpoints, the WAL starts over")
    func walBounded() throws {
        let dir = scratchDirectory("wal")
        // 64 KiB (four 16 KiB pages) before the writer checkpoints; ten batches of 100 hour packets
        // are about a megabyte of pages, which a WAL that only grows would hold whole.
        let store = try Store(path: dir + "/s.db", walCheckpointBytes: 64 << 10)
        var largest = 0
        for b in 0..<10 {
            let frames = (0..<100).map { i in
                hourFrame(mn: "010000A8900100000000\(1000 + i)", qn: "2026113012\(String(format: "%02d", b))00\(String(format: "%03d", i))",
                          dataTime: "20261130\(String(format: "%02d", b))0000")
            }
            var batch = StoreBatch()
            batch.add(try journal(frames).0)
            let outcome = try store.write(batch)
            #expect(outcome.stored == 100)
            var st = stat()
            if stat(dir + "/s.db-wal", &st) == 0 { largest = max(largest, Int(st.st_size)) }
        }
        #expect(try store.counts().packets == 1000)
        var db = stat()
        #expect(stat(dir + "/s.db", &db) == 0 && db.st_size > 600_000)  // the pages are in the database
        #expect(largest > 0 && largest < 400_000, "WAL grew to \(largest) bytes")
    }

    @Test("a new store has 16 KiB pages; the WAL budget is in bytes, so a store made with 4 KiB pages keeps 16 MiB too")
    func pageSize() throws {
        let dir = scratchDirectory("pages")
        func checkpointPages(_ store: Store) throws -> Int64? {
            try store.connection.withLock { c throws(StoreError) in try c.db.integer("PRAGMA wal_autocheckpoint") }
        }
        func pageSize(_ path: String) throws -> Int64? {
            let db = try Database(path: path, readOnly: true)
            defer { db.close() }
            return try db.integer("PRAGMA page_size")
        }
        var batch = StoreBatch()
        batch.add(try journal([hourFrame(qn: "20261130120000001", dataTime: "20261130110000")]).0)
        do {
            let store = try Store(path: dir + "/s.db")
            #expect(try checkpointPages(store) == 1024)
            try store.write(batch)
        }
        #expect(try pageSize(dir + "/s.db") == Int64(Store.pageSize))
        // The same store as one made before 16 KiB pages: rewritten with 4 KiB pages (VACUUM
        // changes the page size only outside WAL mode).
        do {
            let db = try Database(path: dir + "/s.db", readOnly: false)
            try db.execute("PRAGMA journal_mode=DELETE; PRAGMA page_size=4096; VACUUM")
            db.close()
        }
        #expect(try pageSize(dir + "/s.db") == 4096)
        let store = try Store(path: dir + "/s.db")
        #expect(try checkpointPages(store) == 4096)  // 16 MiB of 4 KiB pages
        var more = StoreBatch()
        more.add(try journal([hourFrame(qn: "20261130130000001", dataTime: "20261130120000")]).0)
        let outcome = try store.write(more)
        #expect(outcome.stored == 1)
        #expect(try store.counts().packets == 2)
        #expect(try pageSize(dir + "/s.db") == 4096)  // kept: the store goes on with its own pages
    }

    @Test("a store survives closing and reopening, and continues")
    func reopen() throws {
        let dir = scratchDirectory("reopen")
        do {
            let store = try Store(path: dir + "/s.db", durability: .full)
            var b = StoreBatch()
            b.add(try journal([hourFrame(qn: "20261130120000001", dataTime: "20261130110000")]).0)
            try store.write(b)
        }
        let store = try Store(path: dir + "/s.db")
        var b = StoreBatch()
        b.add(try journal([hourFrame(qn: "20261130120000001", dataTime: "20261130110000"), hourFrame(qn: "20261130130000001", dataTime: "20261130120000")]).0)
        let outcome = try store.write(b)
        #expect(outcome.stored == 1 && outcome.duplicates == 1)
        #expect(try store.counts().packets == 2)
        #expect(try store.units().map(\.mn) == ["010000A89001000000000001"])
    }

    @Test("a file that is not a store, another SQLite file, and a newer schema are refused untouched")
    func refusals() throws {
        let dir = scratchDirectory("refuse")
        let text = dir + "/notes.txt"
        try Data(String(repeating: "not a database at all\n", count: 100).utf8).write(to: URL(fileURLWithPath: text))
        let before = try Data(contentsOf: URL(fileURLWithPath: text))
        #expect { try Store(path: text) } throws: { ($0 as? StoreError)?.message.contains("is not an hj212 store") == true }
        #expect(try Data(contentsOf: URL(fileURLWithPath: text)) == before)

        let other = dir + "/other.db"
        do {
            let db = try Database(path: other, readOnly: false)
            try db.execute("CREATE TABLE t(x); INSERT INTO t VALUES(1);")
        }
        #expect { try Store(path: other) } throws: { ($0 as? StoreError)?.message.contains("application_id 0") == true }

        let newer = dir + "/newer.db"
        do { _ = try Store(path: newer) }
        do {
            let db = try Database(path: newer, readOnly: false)
            try db.execute("UPDATE meta SET value='\(Store.schemaVersion + 1)' WHERE key='schema_version'")
        }
        #expect { try Store(path: newer) } throws: { e in
            let m = (e as? StoreError)?.message ?? ""
            return m.contains("newer than this hj212") && !m.contains("\n")
        }
        #expect { try Store(path: dir) } throws: { ($0 as? StoreError)?.message.contains("not a regular file") == true }
        #expect { try Store(path: dir + "/missing/s.db") } throws: { ($0 as? StoreError)?.message.contains("cannot open") == true }
    }

    @Test("a second writer on the same store is refused at once")
    func locked() throws {
        let dir = scratchDirectory("lock")
        let first = try Store(path: dir + "/s.db")
        #expect { try Store(path: dir + "/s.db") } throws: { ($0 as? StoreError)?.message.contains("locked by another process") == true }
        // A reader (roster) may read while it is written.
        let reader = try Store(path: dir + "/s.db", readOnly: true)
        #expect(try reader.counts().packets == 0)
        _ = first
    }
}

@Suite("Store commands")
struct StoreCommandTests {
    func reply(_ cn: String, qn: String, cp: [Field]) -> [UInt8] {
        FrameEncoder.frame(DataSegment(header: [Field("QN", qn), Field("ST", "91"), Field("CN", cn), Field("PW", "123456"),
                                                Field("MN", "010000A89001000000000001"), Field("Flag", "4")], cp: [cp]))
    }

    @Test("a command the platform sent is stored with its outcome")
    func commandOutcome() throws {
        let state = try PlatformState()
        var session = PlatformSession(state: state, peer: "127.0.0.1:1")
        let t = HJTime(year: 2026, month: 11, day: 30, hour: 12).wallMilliseconds
        var outputs = session.connected(at: t)
        outputs += session.received(hourFrame(qn: "20261130120000001", dataTime: "20261130110000"), at: t)
        let sent = session.send(command: "1011", cp: [], at: t + 1000)
        outputs += sent
        guard case .send(let bytes, _)? = sent.first, let qn = SegmentParser.parse(String(decoding: bytes.dropFirst(6).dropLast(6), as: UTF8.self)).segment.qn else {
            Issue.record("no request sent: \(sent)")
            return
        }
        outputs += session.received(reply("9011", qn: qn, cp: [Field("QnRtn", "1")]), at: t + 1100)
        outputs += session.received(reply("9012", qn: qn, cp: [Field("ExeRtn", "1")]), at: t + 1200)
        let j = PlatformJournal(outputs)
        #expect(j.results.count == 1)
        let dir = scratchDirectory("commands")
        let store = try Store(path: dir + "/s.db")
        var batch = StoreBatch()
        batch.add(j)
        let outcome = try store.write(batch)
        #expect(outcome.commands == 1)
        #expect(outcome.stored == 3)  // the hour record and the two replies: every accepted packet
        let db = try Database(path: dir + "/s.db", readOnly: true)
        let s = try db.prepare("SELECT cn, qn, outcome, qn_rtn, exe_rtn FROM commands")
        #expect(try s.step())
        #expect(s.text(0) == "1011" && s.text(1) == qn && s.text(2) == "completed" && s.int(3) == 1 && s.int(4) == 1)
    }
}
