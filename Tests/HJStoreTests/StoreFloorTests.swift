import CSQLite
import Foundation
import HJ212
@testable import HJStore
import Testing
import TestSupport

/// `StoreFloor`: SQLite's own cost of a packet row, measured with the store's schema, settings and
/// insert statement. The rows it writes must be rows a store reads back as packets with their
/// records and values (else the floor would measure something else than `serve --store` writes).
@Suite("SQLite floor")
struct StoreFloorTests {
    @Test("the floor writes real packet rows of the store's schema, times them, and never overwrites a file")
    func floorRows() throws {
        let dir = scratchDirectory("floor")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/floor.db"
        let figures = try StoreFloor.measure(path: path, rows: 3_000, perTransaction: 512, units: 100)
        #expect(figures.rows == 3_000 && figures.perTransaction == 512)
        #expect(figures.perRow > 0 && figures.user >= 0 && figures.system >= 0)

        let store = try Store(path: path, readOnly: true)
        let counts = try store.counts()
        #expect(counts.packets == 3_000 && counts.records == 3_000 && counts.units == 100)
        #expect(counts.values == 3_000 * 7)
        // Every row is a unique packet of the duplicate key, and the values view reads them.
        let db = try Database(path: path, readOnly: true)
        #expect(try db.integer("SELECT count(DISTINCT qn || mn) FROM packets") == 3_000)
        #expect(try db.integer("SELECT count(*) FROM \"values\" WHERE factor = 'w01018' AND kind = 'Rtd' AND value = 30.0 AND flag = 'N'") == 3_000)
        #expect(try db.integer("SELECT count(*) FROM packets WHERE cn = '2011' AND data_time IS NOT NULL") == 3_000)
        // QNs are the DataTime's second and the unit's number in the milliseconds' place.
        #expect(try db.integer("SELECT count(*) FROM packets WHERE length(qn) = 17 AND CAST(substr(qn, 15) AS INTEGER) = unit_id - 1 AND substr(qn, 1, 14) = CAST(data_time AS TEXT)") == 3_000)
        // Every frame is a whole frame with its length and CRC right, and carries the row's QN and MN.
        let frames = try db.prepare("SELECT frame, qn, mn FROM packets")
        var good = 0
        while try frames.step() {
            let bytes = frames.blob(0)
            guard let raw = FrameDecoder.frames(in: bytes).first, raw.bytes == bytes, raw.declaredLength == raw.segment.count,
                  CRC.parseHex(raw.crcBytes) == CRC.hj212(raw.segmentBytes) else { continue }
            let segment = SegmentParser.parse(raw.segmentBytes).segment
            if segment.qn == frames.text(1), segment.mn == frames.text(2), segment.cn == "2011" { good += 1 }
        }
        #expect(good == 3_000)

        // A second measurement into the same path is refused: it does not write into a file it did not make.
        #expect(throws: StoreError.self) { try StoreFloor.measure(path: path, rows: 10) }
        #expect(try store.counts().packets == 3_000)
    }
}
