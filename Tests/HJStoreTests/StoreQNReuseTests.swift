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
    func rows(_ path: String, _ sql: String) throws -> Int64 {
        let db = try Database(path: path, readOnly: true)
        defer { db.close() }
        return try db.integer(sql) ?? -1
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
}
