import Foundation
import HJ212
import HJRoles
@testable import HJStore
import Testing
import TestSupport

/// `StoreBatch` keeps its rows flat (one byte buffer, offsets), is emptied and reused by
/// `serve --store`'s loops, and finds units by their MN's bytes (`UnitKey`). These tests read
/// the rows back with SQL and compare every column with what the frames say.
@Suite("Store batch")
struct StoreBatchTests {
    /// A packet as the platform accepts it, with its record (the same segment) when `record`.
    static func accepted(mn: String, qn: String, cn: String = "2011", pno: String? = nil, dataTime: String = "20261130120000",
                         peer: String = "127.0.0.1:40000", at time: Int64 = 1_764_504_000_000) -> (AcceptedPacket, DataSegment) {
        var header = [Field("QN", qn), Field("ST", "32"), Field("CN", cn), Field("PW", "123456"), Field("MN", mn), Field("Flag", "5")]
        if let pno { header += [Field("PNUM", "2"), Field("PNO", pno)] }
        let segment = DataSegment(header: header, cp: [[Field("DataTime", dataTime)], [Field("w01018-Rtd", "12.5"), Field("w01018-Flag", "N")]])
        return (AcceptedPacket(frame: FrameEncoder.frame(segment), segment: segment, time: time, peer: peer), segment)
    }

    struct StoredRow: Equatable {
        var mn: String, qn: String?, cn: String, st: String?, pno: Int64, dataTime: Int64?, receivedAt: Int64, peer: String
        var frame: [UInt8], codes: String?, vals: String?
    }

    static func rows(_ path: String) throws -> [StoredRow] {
        let db = try Database(path: path, readOnly: true)
        let s = try db.prepare("SELECT mn, qn, cn, st, pno, data_time, received_at, peer, frame, codes, vals FROM packets ORDER BY id")
        var out: [StoredRow] = []
        while try s.step() {
            out.append(StoredRow(mn: s.text(0) ?? "", qn: s.text(1), cn: s.text(2) ?? "", st: s.text(3), pno: s.int64(4),
                                 dataTime: s.isNull(5) ? nil : s.int64(5), receivedAt: s.int64(6), peer: s.text(7) ?? "",
                                 frame: s.blob(8), codes: s.text(9), vals: s.text(10)))
        }
        return out
    }

    static func expected(_ p: AcceptedPacket, record: Bool) -> StoredRow {
        StoredRow(mn: p.segment.mn ?? "", qn: p.segment.qn, cn: p.segment.cn ?? "", st: p.segment.st,
                  pno: Int64(p.segment.header("PNO").flatMap { Int($0) } ?? 0),
                  dataTime: p.segment.cpValue("DataTime").flatMap { Int64($0) }, receivedAt: HJTime(wallMilliseconds: p.time).digits17,
                  peer: p.peer, frame: p.frame, codes: record ? "w01018" : nil, vals: record ? #"[["w01018","Rtd",12.5,null,"N"]]"# : nil)
    }

    @Test("a batch emptied and refilled, or copied and then changed, stores exactly its own rows")
    func reuseAndCopy() throws {
        let dir = scratchDirectory("batch-reuse")
        let a1 = Self.accepted(mn: "010000A89001000000000001", qn: "20261130120000001")
        let a2 = Self.accepted(mn: "010000A89001000000000001", qn: "20261130120000002", cn: "2051", pno: "2", peer: "10.0.0.1:5")
        let b1 = Self.accepted(mn: "010000A89001000000000002", qn: "20261130120000003", dataTime: "20261130115900")
        var batch = StoreBatch()
        batch.add(packet: a1.0, record: a1.1)
        batch.add(packet: a2.0, record: nil)
        var copy = batch
        copy.add(packet: b1.0, record: b1.1)
        #expect(batch.packetCount == 2 && copy.packetCount == 3)
        batch.removeAll()
        #expect(batch.isEmpty && copy.packetCount == 3)
        batch.add(packet: b1.0, record: nil)

        let s1 = try Store(path: dir + "/one.db")
        #expect(try s1.write(batch).stored == 1)
        #expect(try Self.rows(dir + "/one.db") == [Self.expected(b1.0, record: false)])

        let s2 = try Store(path: dir + "/two.db")
        let outcome = try s2.write(copy)
        #expect(outcome.stored == 3 && outcome.records == 2 && outcome.values == 2)
        #expect(try Self.rows(dir + "/two.db") == [Self.expected(a1.0, record: true), Self.expected(a2.0, record: false), Self.expected(b1.0, record: true)])
        // The PNO was read as a number, the second packet's peer is its own.
        #expect(try Self.rows(dir + "/two.db")[1].pno == 2)
        _ = s1
    }

    @Test("SQLite does not count its allocations once a store is open (the memory statistics are off)")
    func memoryStatisticsOff() throws {
        let dir = scratchDirectory("batch-memstatus")
        let store = try Store(path: dir + "/s.db")
        let p = Self.accepted(mn: "010000A89001000000000001", qn: "20261130120000001")
        var batch = StoreBatch()
        batch.add(packet: p.0, record: p.1)
        #expect(try store.write(batch).stored == 1)
        // With the statistics on, every allocation above (the schema, the statements, the page
        // cache) would show here.
        #expect(!Database.countsMemory)
    }

    @Test("several batches in one transaction: units found by their MN's bytes, however long, across transactions")
    func unitKeys() throws {
        let dir = scratchDirectory("batch-units")
        let store = try Store(path: dir + "/s.db")
        let long = String(repeating: "A", count: 40)
        let mns = ["", "12345678901234", "010000A89001000000000001", String(repeating: "7", count: 32), String(repeating: "7", count: 33),
                   long + "0000000000000000000X", long + "0000000000000000000Y"]
        for round in 0..<2 {
            var first = StoreBatch(), second = StoreBatch()
            for (i, mn) in mns.enumerated() {
                let p = Self.accepted(mn: mn, qn: "2026113012000\(round)\(String(format: "%03d", i))", at: 1_764_504_000_000 + Int64(round * 1000))
                if i % 2 == 0 { first.add(packet: p.0, record: p.1) } else { second.add(packet: p.0, record: nil) }
            }
            let outcome = try store.write([first, second])
            #expect(outcome.stored == mns.count)
        }
        let units = try store.units()
        #expect(units.map(\.mn).sorted() == mns.sorted())
        #expect(units.allSatisfy { $0.packets == 2 })
        // In one transaction the batches are written in order: the first's rows, then the second's.
        let order = mns.indices.filter { $0 % 2 == 0 } + mns.indices.filter { $0 % 2 == 1 }
        #expect(try Self.rows(dir + "/s.db").map(\.mn) == (order + order).map { mns[$0] })
        let key = { (mn: String) in RecordPacker.withBytes(mn) { UnitKey($0) } }
        #expect(key(mns[6]).description == mns[6] && key(mns[2]).description == mns[2])
        #expect(key(mns[5]) != key(mns[6]) && key(mns[3]) != key(mns[4]))
    }

    @Test("a record is stored with its packet: of two naming one packet the last; one naming none is not stored")
    func recordsWithPackets() throws {
        let dir = scratchDirectory("batch-records")
        let store = try Store(path: dir + "/s.db")
        let p1 = Self.accepted(mn: "010000A89001000000000001", qn: "20261130120000001")
        let p2 = Self.accepted(mn: "010000A89001000000000001", qn: "20261130120000002")
        let other = DataSegment(header: p1.1.header, cp: [[Field("DataTime", "20261130110000")], [Field("w21003-Rtd", "0.5")]])
        var journal = PlatformJournal()
        journal.packets = [p1.0, p2.0]
        journal.records = [.init(packet: 0, segment: p1.1, time: 0), .init(packet: 0, segment: other, time: 0), .init(packet: -1, segment: p1.1, time: 0)]
        var batch = StoreBatch()
        batch.add(journal)
        let outcome = try store.write(batch)
        #expect(outcome.stored == 2 && outcome.records == 1 && outcome.values == 1)
        let rows = try Self.rows(dir + "/s.db")
        #expect(rows.map(\.codes) == ["w21003", nil])
        // The record's DataTime, not the packet's, is the row's.
        #expect(rows.map(\.dataTime) == [20261130110000, 20261130120000])
    }

    @Test("PNO as Int(String) reads it: signs, leading zeros, overflow and junk")
    func integers() {
        for text in ["0", "7", "007", "+5", "-1", "", "+", "-", "1x", " 1", "9223372036854775807", "9223372036854775808",
                     "-9223372036854775808", "-9223372036854775809", "١"] {
            let got = RecordPacker.withBytes(text, StoreBatch.integer)
            #expect(got == Int(text), "\(text)")
        }
    }
}
