import Testing
@testable import HJ212CLI

/// `bench soak`'s verdict: warm-up until every unit sent the records of the first hour boundary
/// of the loggers' clock, then flat or growing only if a further hour boundary passed.
@Suite struct SoakVerdictTests {
    let hour: Int64 = 3_600_000
    let h1: Int64 = 1_796_000_400_000 - 1_796_000_400_000 % 3_600_000 + 3_600_000

    func sample(_ minute: Double, mib: Int, clock: Int64, pending: Int = 0) -> SoakBenchmark.Sample {
        SoakBenchmark.Sample(minute: minute, kib: mib * 1024, deviceTime: clock, pending: pending)
    }

    @Test func warmUpEndsWhenEveryUnitPassedTheFirstHourWithNothingQueued() {
        let s = [sample(1, mib: 100, clock: h1 - 60_000), sample(2, mib: 130, clock: h1 + 1_000, pending: 50_000),
                 sample(3, mib: 150, clock: h1 + 60_000, pending: 10), sample(20, mib: 152, clock: h1 + hour + 60_000)]
        let v = SoakBenchmark.verdict(s, firstHour: h1, loggers: 100)
        #expect(v.warm?.minute == 3)  // not minute 2: 50,000 packets still queued behind the hour records
        #expect(v.verdict == .flat)
    }

    @Test func growthAfterTheWarmUpIsGrowing() {
        let s = [sample(3, mib: 150, clock: h1 + 60_000), sample(20, mib: 200, clock: h1 + hour + 60_000)]
        #expect(SoakBenchmark.verdict(s, firstHour: h1, loggers: 100).verdict == .growing)
    }

    @Test func noHourBoundaryAfterTheWarmUpIsIncompleteNotFlat() {
        // RSS did not move, but the next hour's records were never sent: nothing to judge on.
        let s = [sample(3, mib: 150, clock: h1 + 60_000), sample(10, mib: 150, clock: h1 + hour - 1)]
        #expect(SoakBenchmark.verdict(s, firstHour: h1, loggers: 100).verdict == .incomplete)
        // And a warm-up that never ended.
        let early = [sample(1, mib: 100, clock: h1 - 1), sample(2, mib: 100, clock: h1 - 1)]
        let v = SoakBenchmark.verdict(early, firstHour: h1, loggers: 100)
        #expect(v.verdict == .incomplete && v.warm == nil)
    }
}
