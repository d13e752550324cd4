import Foundation
import HJ212
import HJRoles
@testable import HJ212CLI
@testable import HJStore
import TestSupport
import Testing

/// `serve --store`'s summary of what the store holds: minute records expected at the unit's own
/// interval, not at 10 minutes whatever it is (session 18, item 4).
@Suite("serve --store summary: minute records at the unit's interval")
struct ServeStoreSummaryTests {
    static let mn = "010000A89001000000000005"

    func minuteFrame(qn: String, dataTime: String) -> [UInt8] {
        let cp: [[Field]] = [[Field("DataTime", dataTime)], [Field("w01018-Avg", "12.5"), Field("w01018-Min", "10.1"), Field("w01018-Max", "14.9"), Field("w01018-Flag", "N")]]
        let segment = DataSegment(header: [Field("QN", qn), Field("ST", "32"), Field("CN", "2051"), Field("PW", "123456"), Field("MN", Self.mn), Field("Flag", "5")], cp: cp)
        return FrameEncoder.frame(segment)
    }

    @Test("expectedRecords: periods from the first DataTime to the last at the unit's interval")
    func expectedAtInterval() {
        // 00:00 … 09:55 every 5 minutes: 120 periods.
        #expect(ServeStoreSummary.expectedRecords(cn: "2051", first: 20261130000000, last: 20261130095500, received: 100, minIntervalMinutes: 5) == 120)
        #expect(ServeStoreSummary.expectedRecords(cn: "2051", first: 20261130000000, last: 20261130095000, received: 50, minIntervalMinutes: 10) == 60)
        // Not known: not guessed.
        #expect(ServeStoreSummary.expectedRecords(cn: "2051", first: 20261130000000, last: 20261130095500, received: 100, minIntervalMinutes: nil) == nil)
        // Hours and days do not depend on it.
        #expect(ServeStoreSummary.expectedRecords(cn: "2061", first: 20261130000000, last: 20261130090000, received: 7, minIntervalMinutes: nil) == 10)
    }

    @Test("the interval of a unit is learnt from the spacing of its stored DataTimes")
    func learnt() throws {
        let dir = scratchDirectory("serve-summary-5min")
        let store = try Store(path: dir + "/s.db")
        // A 5-minute logger: 120 periods from 00:00, every sixth one missing (100 stored).
        var frames: [[UInt8]] = []
        let base = HJTime(year: 2026, month: 11, day: 30).wallMilliseconds
        for i in 0..<120 where i % 6 != 5 || i == 119 {
            let t = HJTime(wallMilliseconds: base + Int64(i) * 300_000).text14
            frames.append(minuteFrame(qn: t + "001", dataTime: t))
        }
        #expect(frames.count == 101)
        frames.remove(at: 1)  // 00:05 missing too: 100 stored
        let (j, _) = try journal(frames)
        var batch = StoreBatch()
        batch.add(j)
        try store.write(batch)
        #expect(try ServeStoreSummary.learnedMinIntervals(store)[Self.mn] == 5)
        let io = CommandIO(stdout: OutputSink(), stderr: OutputSink(), stdinBytes: nil)
        ServeStoreSummary.print(store, io: io)
        let row = io.stdout.captured.split(separator: "\n").first { $0.contains(Self.mn) } ?? ""
        #expect(row.contains("100/120"), "\(io.stdout.captured)")
    }
}
