@testable import HJ212CLI
import HJStore
import Testing

/// `bench store`'s figures from the loggers' snapshots: a run whose snapshots do not cover the
/// window says `incomplete` with its reason, never a ratio.
@Suite("bench store figures")
struct BenchStoreFiguresTests {
    typealias F = StoreBenchFigures

    func snapshot(answered: Int = 10_000, connected: Int = 10_000, acked: Int, pending: Int = 10_000, connects: Int = 10_000, behindMs: Int64 = 0) -> F.Snapshot {
        F.Snapshot(expected: 10_000, answered: answered, connected: connected, acknowledged: acked, pending: pending, connects: connects, behindMs: behindMs)
    }

    func usage(_ serveCPU: Double = 10) -> F.Usage { F.Usage(window: 15, serveCPU: serveCPU, loggersCPU: 14, machineBusy: 0.95) }

    func measured(_ o: F.Outcome) -> StoreBenchmark.Phase? { if case .measured(let p) = o { p } else { nil } }

    @Test("the session-6 report: loops that did not answer at the end give no counts, no ratio")
    func loopsSilentAtTheEnd() {
        // The loggers' loop did not answer within the bound: the old code summed zero loggers
        // and printed -270312 acks, 0 connected and a ratio of -107x.
        let o = F.phase(before: snapshot(acked: 270_312), after: snapshot(answered: 0, connected: 0, acked: 0, pending: 0, connects: 0),
                        usage: usage(), speed: 300, loggerThreads: 1)
        guard case .incomplete(let why) = o else { Issue.record("measured \(o)"); return }
        #expect(why.contains("0 of 10000 loggers reported"))
        let plain = F.phase(before: snapshot(acked: 0), after: snapshot(acked: 600_000, pending: 20_000), usage: usage(), speed: 300, loggerThreads: 1)
        let lines = F.report(plain: plain, stored: o, durability: "normal", cores: 2)
        #expect(!lines.contains { $0.contains("ratio") || $0.contains(/-[0-9]/) })
        #expect(lines.last == "  target ≥ 0.70x       incomplete: serve --store: " + why)
        #expect(lines.contains { $0.hasPrefix("  serve --store        incomplete: the loggers' event loops did not answer at the window's end") })
        #expect(!F.valid(plain, o))
    }

    @Test("a partial snapshot at the start, disconnected loggers, reconnects, counters going backwards: incomplete")
    func otherInvalidWindows() {
        let partial = F.phase(before: snapshot(answered: 5_000, acked: 100), after: snapshot(acked: 300_000), usage: usage(), speed: 120, loggerThreads: 2)
        #expect(partial == .incomplete("the loggers' event loops did not answer at the window's start (5000 of 10000 loggers reported): the loggers' 2 thread(s) are overloaded; lower --speed or raise --logger-threads"))
        let gone = F.phase(before: snapshot(acked: 100), after: snapshot(connected: 9_990, acked: 300_000), usage: usage(), speed: 120, loggerThreads: 1)
        #expect(gone == .incomplete("9990 of 10000 loggers connected at the window's end"))
        let reconnects = F.phase(before: snapshot(acked: 100), after: snapshot(acked: 300_000, connects: 10_007), usage: usage(), speed: 120, loggerThreads: 1)
        #expect(reconnects == .incomplete("7 reconnection(s) during the window (acks timed out or serve closed connections)"))
        let backwards = F.phase(before: snapshot(acked: 300_000), after: snapshot(acked: 100), usage: usage(), speed: 120, loggerThreads: 1)
        guard case .incomplete(let why) = backwards else { Issue.record("measured \(backwards)"); return }
        #expect(why.hasPrefix("inconsistent logger counters"))
        let empty = F.phase(before: snapshot(acked: 0), after: snapshot(acked: 0), usage: F.Usage(), speed: 120, loggerThreads: 1)
        #expect(empty == .incomplete("empty measurement window"))
    }

    @Test("loggers that fell behind their schedule did not offer what --speed asks: incomplete")
    func loggersFellBehind() {
        // 300x: 3 s of real time is 900,000 simulated ms.
        let behind = F.phase(before: snapshot(acked: 0, behindMs: 30_000), after: snapshot(acked: 500_000, behindMs: 930_000), usage: usage(), speed: 300, loggerThreads: 1)
        guard case .incomplete(let why) = behind else { Issue.record("measured \(behind)"); return }
        #expect(why.hasPrefix("the loggers fell 3.0 s (real time) behind their schedule"))
        // Within one real-time interval of lag (a device advances on its interval boundaries): fine.
        let onTime = F.phase(before: snapshot(acked: 0, behindMs: 30_000), after: snapshot(acked: 500_000, behindMs: 30_000), usage: usage(), speed: 300, loggerThreads: 1)
        #expect(measured(onTime) != nil)
    }

    @Test("a backlog that grew while the loggers' own threads were busy does not prove serve saturated: incomplete")
    func loggersBusy() {
        // Session 7, speed 300 on one logger thread: serve 0.11 cores, loggers 1.01 cores, backlog
        // growing; the old rule called both windows saturated and printed "met: 0.80x".
        let busy = F.phase(before: snapshot(acked: 0), after: snapshot(acked: 111_270, pending: 40_000),
                           usage: F.Usage(window: 15, serveCPU: 1.7, loggersCPU: 15.2, machineBusy: 0.57), speed: 300, loggerThreads: 1)
        guard case .incomplete(let why) = busy else { Issue.record("measured \(busy)"); return }
        #expect(why.hasPrefix("the loggers' backlog grew while their 1 thread(s) were busy (1.01 cores)"))
        // The same loggers' load on two threads leaves them spare CPU: serve was the limit.
        let spare = F.phase(before: snapshot(acked: 0), after: snapshot(acked: 111_270, pending: 40_000),
                            usage: F.Usage(window: 15, serveCPU: 14, loggersCPU: 15.2, machineBusy: 0.99), speed: 300, loggerThreads: 2)
        #expect(measured(spare)?.saturated == true)
    }

    @Test("two saturated windows: rates, ratio and verdict from the differences")
    func saturated() throws {
        // Without a store: 750,000 acks in 15 s (50k/s), backlog +100,000; with: 555,000 (37k/s), backlog +60,000.
        let plain = F.phase(before: snapshot(acked: 1_000), after: snapshot(acked: 751_000, pending: 110_000), usage: usage(12), speed: 300, loggerThreads: 2)
        let stored = F.phase(before: snapshot(acked: 2_000), after: snapshot(acked: 557_000, pending: 70_000), usage: usage(15), speed: 300, loggerThreads: 2)
        let p = try #require(measured(plain)), s = try #require(measured(stored))
        #expect(p.acked == 750_000 && p.offered == 850_000 && p.saturated)
        #expect(s.acked == 555_000 && s.offered == 615_000 && s.saturated)
        let lines = F.report(plain: plain, stored: stored, durability: "normal", cores: 2)
        #expect(lines[0] == "  serve                50000 acknowledged packets/s (10000 connected, 750000 acks)")
        #expect(lines.contains("  throughput ratio     0.74x"))
        #expect(lines.last == "  target ≥ 0.70x       met: 0.74x, both phases saturated (the loggers' backlog grew in each)")
        #expect(F.valid(plain, stored))
        #expect(F.singleRoundNote(plain: plain, stored: stored, cores: 2)?.contains("one round: a single sample") == true)
        // The same windows with other processes using the machine: not judged, whatever the ratio
        // (session 12: "met" at 0.86x beside builds for a binary at 0.32x on a quiet machine).
        let crowded = F.phase(before: snapshot(acked: 2_000), after: snapshot(acked: 557_000, pending: 70_000),
                              usage: F.Usage(window: 15, serveCPU: 8, loggersCPU: 10, machineBusy: 1.0), speed: 300, loggerThreads: 2)
        let crowdedLines = F.report(plain: plain, stored: crowded, durability: "normal", cores: 2)
        #expect(crowdedLines.contains("  throughput ratio     0.74x"))
        #expect(crowdedLines.last == "  target ≥ 0.70x       not judged: other processes used 0.17 and 0.80 cores during the two windows (at most 0.25 for a judgement); run on a quiet machine. The CPU cost ratio, 1.11x, estimates the saturated ratio")
        #expect(F.otherCores(try #require(measured(crowded)), cores: 2) > F.maxOtherCores)
        #expect(F.singleRoundNote(plain: plain, stored: crowded, cores: 2) == nil, "nothing judged, nothing to qualify")
        // serve --store kept up (its backlog did not grow): judged on serve's saturated window.
        let keptUp = F.phase(before: snapshot(acked: 0), after: snapshot(acked: 555_000, pending: 10_000), usage: usage(12), speed: 300, loggerThreads: 2)
        #expect(F.report(plain: plain, stored: keptUp, durability: "normal", cores: 2).last
                == "  target ≥ 0.70x       met: 0.74x; serve without a store was saturated, serve --store was not (it kept up with the loggers)")
        // Not saturated without a store: not judged, whatever the ratio.
        let easy = F.phase(before: snapshot(acked: 0), after: snapshot(acked: 300_000), usage: usage(), speed: 30, loggerThreads: 1)
        #expect(F.report(plain: easy, stored: stored, durability: "normal", cores: 2).last?.hasPrefix("  target ≥ 0.70x       not judged") == true)
    }

    @Test("several rounds: the verdict is on the median of the judged rounds' ratios; a round not judged leaves the run unjudged")
    func rounds() {
        // Without a store 50k/s in every round; with a store 37k, 29k and 36k/s: 0.74, 0.58, 0.72.
        let plain = F.phase(before: snapshot(acked: 0), after: snapshot(acked: 750_000, pending: 110_000), usage: usage(12), speed: 300, loggerThreads: 2)
        func stored(_ perSecond: Int) -> F.Outcome {
            F.phase(before: snapshot(acked: 0), after: snapshot(acked: perSecond * 15, pending: 70_000), usage: usage(12), speed: 300, loggerThreads: 2)
        }
        let three = [(plain, stored(37_000)), (plain, stored(29_000)), (plain, stored(36_000))]
        #expect(three.map { F.judgedRatio(plain: $0.0, stored: $0.1, cores: 2) } == [0.74, 0.58, 0.72])
        #expect(F.summary(three.map { (plain: $0.0, stored: $0.1) }, cores: 2) == [
            "  over 3 rounds        throughput ratios 0.74, 0.58, 0.72: median 0.72x, range 0.58–0.74",
            "  target ≥ 0.70x       met over 3 rounds: median 0.72x (met in 2 of 3 rounds)"])
        // Two rounds: the mean of the two; one round met does not make the run met.
        let two = [(plain: plain, stored: stored(37_000)), (plain: plain, stored: stored(29_000))]
        #expect(F.summary(two, cores: 2).last == "  target ≥ 0.70x       NOT met over 2 rounds: median 0.66x (met in 1 of 2 rounds)")
        // A round that measured nothing, or beside busy neighbours: the run judges nothing.
        let broken = F.phase(before: snapshot(acked: 100), after: snapshot(connected: 9_990, acked: 300_000), usage: usage(), speed: 300, loggerThreads: 2)
        let crowded = F.phase(before: snapshot(acked: 0), after: snapshot(acked: 555_000, pending: 70_000),
                              usage: F.Usage(window: 15, serveCPU: 8, loggersCPU: 10, machineBusy: 1.0), speed: 300, loggerThreads: 2)
        #expect(F.judgedRatio(plain: plain, stored: crowded, cores: 2) == nil)
        #expect(F.summary([(plain: plain, stored: stored(37_000)), (plain: plain, stored: broken), (plain: plain, stored: crowded)], cores: 2)
                == ["  target ≥ 0.70x       over 3 rounds: not judged: rounds 2, 3 measured nothing or could not be judged (see their lines above)"])
        #expect(F.median([3, 1, 2]) == 2 && F.median([4, 1, 3, 2]) == 2.5 && F.median([]).isNaN)
        #expect(F.interrupted(after: 1, of: 3) == "  target ≥ 0.70x       over 3 rounds: not judged: interrupted after 1 of 3 rounds")
    }

    @Test("time the hypervisor stole from the machine is named in the window's line (and counts as busy)")
    func stolen() throws {
        let quiet = F.Usage(window: 15, serveCPU: 12, loggersCPU: 14, machineBusy: 0.95)
        var robbed = quiet
        robbed.machineStolen = 0.06
        let plain = try #require(measured(F.phase(before: snapshot(acked: 0), after: snapshot(acked: 750_000, pending: 110_000), usage: quiet, speed: 300, loggerThreads: 2)))
        let stolen = try #require(measured(F.phase(before: snapshot(acked: 0), after: snapshot(acked: 750_000, pending: 110_000), usage: robbed, speed: 300, loggerThreads: 2)))
        #expect(plain.limit(cores: 2) == "serve saturated, limited by CPU (the machine was busy): serve 0.80 cores, loggers 0.93 cores, machine 95 % busy of 2 cores")
        #expect(stolen.limit(cores: 2) == plain.limit(cores: 2) + " (6 % of the machine's time stolen by the hypervisor)")
    }

    @Test("the SQLite floor's lines: the budget 0.70x leaves the store is 3/7 of serve's CPU per ack, and the floor is judged against it")
    func floorBudget() {
        let floor = StoreFloor.Figures(rows: 100_000, perTransaction: 512, user: 5.7, system: 1.7)
        let first = "  SQLite floor         7.4 µs CPU per packet row (user 5.7, system 1.7): SQLite alone writing 100000 rows of a 2011 with their duplicate key, 512 per transaction, on one thread, in the bench's directory"
        // One window: 14 µs per ack leaves 6 µs; 7.4 is above it.
        #expect(F.floorLines(floor, serveCPUPerAck: [14]) == [first,
            "  store budget         6.0 µs per ack for a cost ratio of 0.70x (3/7 of serve's 14.0 µs per ack without a store): SQLite alone needs more (7.4 µs): 0.70x needs serve --store to get at least 1.07x the cores serve had without a store"])
        // Three windows: their median (21), budget 9.0: the floor is within it.
        #expect(F.floorLines(floor, serveCPUPerAck: [30, 14, 21]).last
                == "  store budget         9.0 µs per ack for a cost ratio of 0.70x (3/7 of serve's 21.0 µs per ack without a store, median of 3 windows): SQLite alone needs 7.4 µs of it")
        // No window measured serve (an infinite figure is a window with no ack): no budget.
        #expect(F.floorLines(floor, serveCPUPerAck: [.infinity]).last == "  store budget         not known: no window without a store measured serve's CPU per ack")
        // The figures in those lines: 14 × 3/7 = 6.0, and 0.7 × (14 + 7.4) / 14 = 1.07 (at 1.07 times the
        // cores, a store costing the floor alone reads 1.07 × 14 / 21.4 = 0.70x).
    }
}
