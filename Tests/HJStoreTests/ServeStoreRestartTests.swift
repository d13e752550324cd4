import Foundation
import Glibc
import HJ212
import HJRoles
@testable import HJStore
import TestSupport
import Testing

/// `serve --store` on an existing store: refusals that must leave it untouched, and a restart
/// that shows what earlier runs stored.
@Suite("serve --store on an existing store", .serialized)
struct ServeStoreRestartTests {
    func lines(_ text: String) -> [String] { text.split(separator: "\n").map(String.init) }

    /// A store holding three hour records of one unit and one of another, written as a platform would.
    func storeWithRecords(_ path: String) throws -> StoreCounts {
        let store = try Store(path: path)
        let (j, _) = try journal([
            hourFrame(qn: "20261130120000001", dataTime: "20261130110000"),
            hourFrame(qn: "20261130130000001", dataTime: "20261130120000"),
            hourFrame(qn: "20261130150000001", dataTime: "20261130140000"),
            hourFrame(mn: "010000A89001000000000002", qn: "20261130150000002", dataTime: "20261130140000"),
        ])
        var batch = StoreBatch()
        batch.add(j)
        try store.write(batch)
        return try store.counts()
    }

    func bytes(_ path: String) -> Data? { try? Data(contentsOf: URL(fileURLWithPath: path)) }

    @Test("a store of a newer schema: one line, exit 1, before listening, the file unchanged")
    func newerSchema() throws {
        let dir = scratchDirectory("serve-newer")
        let db = dir + "/s.db"
        _ = try storeWithRecords(db)
        do {
            let raw = try Database(path: db, readOnly: false)
            try raw.execute("UPDATE meta SET value='\(Store.schemaVersion + 1)' WHERE key='schema_version'; PRAGMA wal_checkpoint(TRUNCATE);")
        }
        let before = bytes(db)
        let serve = try Binary.start(["serve", "--listen", "127.0.0.1:0", "--store", db], output: dir + "/out")
        #expect(Binary.finish(serve, seconds: 30) == 1)
        let out = Binary.text(dir + "/out")
        #expect(lines(out).count == 1 && out.contains("newer than this hj212") && !out.contains("listening"), "\(out)")
        #expect(bytes(db) == before, "a refused store is not written")
    }

    @Test("an existing store on a full disk (file size limit 0): one line, exit 1, before listening; the store still holds its packets")
    func fullDiskExisting() throws {
        let dir = scratchDirectory("serve-full-existing")
        let db = dir + "/s.db"
        let counts = try storeWithRecords(db)
        let command = "'\(Binary.path)' serve --listen 127.0.0.1:0 --store '\(db)'"
        let shell = try Binary.start([], output: dir + "/out", command: "{ (trap '' XFSZ; ulimit -f 0; exec \(command)) 2>&1; echo \"exit=$?\"; } | cat")
        #expect(Binary.finish(shell, seconds: 30) == 0)
        let out = lines(Binary.text(dir + "/out"))
        #expect(out.last == "exit=1", "\(out)")
        // In WAL mode even reading the store's identity writes its shared-memory file: the open fails there.
        #expect(out.count == 2 && (out[0].contains("cannot write") || out[0].contains("cannot open the store for writing"))
                && !out[0].contains("listening") && !out[0].contains("not an hj212 store"), "\(out)")
        #expect(try Store(path: db, readOnly: true).counts() == counts)
    }

    @Test("a restarted serve summarises every run's units, records and commands from the store")
    func restartShowsStored() throws {
        let dir = scratchDirectory("serve-restart")
        let db = dir + "/s.db"
        _ = try storeWithRecords(db)
        do {
            // A 1011 the platform sent, answered 9011 QnRtn=1 and 9012 ExeRtn=1.
            let state = try PlatformState()
            var session = PlatformSession(state: state, peer: "127.0.0.1:1")
            let t = HJTime(year: 2026, month: 11, day: 30, hour: 16).wallMilliseconds
            var outputs = session.connected(at: t)
            outputs += session.received(hourFrame(qn: "20261130160000001", dataTime: "20261130150000"), at: t)
            let sent = session.send(command: "1011", cp: [], at: t + 1000)
            outputs += sent
            guard case .send(let bytes, _)? = sent.first,
                  let qn = SegmentParser.parse(String(decoding: bytes.dropFirst(6).dropLast(6), as: UTF8.self)).segment.qn else {
                Issue.record("no request sent: \(sent)")
                return
            }
            outputs += session.received(StoreCommandTests().reply("9011", qn: qn, cp: [Field("QnRtn", "1")]), at: t + 1100)
            outputs += session.received(StoreCommandTests().reply("9012", qn: qn, cp: [Field("ExeRtn", "1")]), at: t + 1200)
            var batch = StoreBatch()
            batch.add(PlatformJournal(outputs))
            try Store(path: db).write(batch)
        }
        // No logger connects in this run: what it prints about units comes from the store.
        let serve = try Binary.start(["serve", "--listen", "127.0.0.1:0", "--store", db, "--duration", "1s"], output: dir + "/out")
        #expect(Binary.finish(serve, seconds: 60) == 0)
        let out = Binary.text(dir + "/out")
        #expect(out.contains("stored (every run on \(db)): 2 units, 7 packets, 5 records"), "\(out)")
        let unit1 = lines(out).first { $0.contains("010000A89001000000000001") && !$0.contains("→") } ?? ""
        // Hours 11, 12, 14 and 15 stored: 4 of the 5 hours from the first to the last.
        #expect(unit1.contains("4/5"), "\(out)")
        #expect(out.contains("1011") && out.contains("→ 010000A89001000000000001: completed, QnRtn 1, ExeRtn 1"), "\(out)")
    }
}
