import Foundation
import Glibc
import HJ212
import HJRoles
import HJSimulation
import HJStore
import Synchronization

/// `hj212 bench roster`: the sample city (520 units) for `days` simulated days written into a
/// fresh store through the store API (`Store.write`, the batches `serve --store` writes, not over
/// the network), then the roster of that period timed against the 10 s target and against a
/// baseline in the same run: a bare SQLite read of the same hour records without judging them.
/// The units are generated on one thread per core, each writing its own batches.
///
/// What is kept (`Keep`): `all` is every packet a platform gets, the 30 s real-time data too
/// (a day is 2 M packets, 2.3 GiB); `records` the minute, hour and day records (CN 2051, 2061,
/// 2031: what a platform is sent besides the real-time data; a month of the city is ≈ 60 M
/// values); `hours` only the hour and day records (what the roster reads).
struct RosterBenchmark {
    enum Keep: String {
        case all, records, hours
        /// Whether a packet of this CN is written.
        func keeps(_ cn: String) -> Bool {
            switch self {
            case .all: return true
            case .records: return cn == "2051" || cn == "2061" || cn == "2031"
            case .hours: return cn == "2061" || cn == "2031"
            }
        }
        var describe: String {
            switch self {
            case .all: return "the store keeps every packet (real-time, minute, hour and day data)"
            case .records: return "the store keeps the minute, hour and day records (CN 2051, 2061, 2031), not the 30 s real-time packets"
            case .hours: return "the store keeps only the hour and day records (CN 2061, 2031: what the roster reads)"
            }
        }
    }

    var days: Int
    var keep = Keep.all
    var fleetName = "sample-city"
    /// The model time slice without the real-time data (the templates' own is 5 s).
    static let recordsSampleSeconds = 60
    /// The target of issue 13: a month of the city in at most 10 s.
    static let targetSeconds = 10.0

    /// What the generating threads share.
    final class Shared: Sendable {
        let failure = Mutex<StoreError?>(nil)
        let written = Mutex(StoreOutcome())
        /// Each thread's simulated time, for the progress line.
        let progress: Mutex<[Int64]>
        init(threads: Int, start: Int64) { progress = Mutex(Array(repeating: start, count: threads)) }
    }

    func run(_ io: CommandIO) -> Int32 {
        #if DEBUG
        io.stderr.line("hj212 bench: warning: this is a debug build; use 'swift run -c release hj212 bench roster'.")
        #endif
        let directory = NSTemporaryDirectory() + "hj212-bench-roster-\(getpid())"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/city.db"
        do {
            var fleet = try Fleet.load(fleetName)
            let start = HJTime(year: 2026, month: 11, day: 1).wallMilliseconds
            let end = start + Int64(days) * 86_400_000
            var options = SimulationOptions()
            if keep != .all {
                // No real-time data is kept, so the models are stepped once a minute (not every
                // 5 s) and the real-time packets, which are dropped, are made once an hour.
                for name in Array(fleet.templates.keys) { fleet.templates[name]!.sampleSeconds = Self.recordsSampleSeconds }
                options.rtdIntervalSeconds = 3600
                if keep == .hours { options.minIntervalMinutes = 60 }
            }
            let all = try FleetGenerator(fleet: fleet, seed: 1, start: start, options: options).simulators
            let store = try Store(path: path)
            let threads = max(1, min(4, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))))
            let shared = Shared(threads: threads, start: start)
            let keep = self.keep
            let g0 = monotonicSeconds()
            let chunks = (0..<threads).map { t in Array(all[(all.count * t / threads)..<(all.count * (t + 1) / threads)]) }
            nonisolated(unsafe) let progressIO = io  // written by thread 0 only
            DispatchQueue.concurrentPerform(iterations: threads) { t in
                var generator = FleetGenerator(simulators: chunks[t])
                var journal = PlatformJournal()
                var splits = Reassembler(maxPending: 4_096)
                func flush() {
                    var batch = StoreBatch()
                    batch.add(journal)
                    journal = PlatformJournal()
                    do {
                        let outcome = try store.write(batch)
                        shared.written.withLock { $0.stored += outcome.stored; $0.records += outcome.records; $0.values += outcome.values }
                    } catch { shared.failure.withLock { $0 = $0 ?? error } }
                }
                generator.run(until: end, block: 3_600_000, shouldContinue: { now in
                    let slowest = shared.progress.withLock { p in p[t] = now; return p.min() ?? now }
                    if t == 0 { progressIO.progress("bench roster: generating (\(keep.rawValue)), \(HJTime(wallMilliseconds: slowest).description)") }
                    return shared.failure.withLock({ $0 == nil }) && !Interrupts.requested
                }) { _, p in
                    guard keep.keeps(p.cn) else { return }
                    Self.append(p, to: &journal, splits: &splits)
                    if journal.packets.count >= 20_000 { flush() }
                }
                flush()
            }
            if let failure = shared.failure.withLock({ $0 }) { throw failure }
            if Interrupts.requested { return Interrupts.exitStatus }
            let generateSeconds = monotonicSeconds() - g0
            let written = shared.written.withLock { $0 }
            let period = RosterPeriod(from: HJTime(wallMilliseconds: start), to: HJTime(wallMilliseconds: end))
            let now = HJTime(wallMilliseconds: end + 7 * 86_400_000)
            // Baseline: the same hour records, read and not judged.
            let b0 = monotonicSeconds()
            var scanned = 0
            let reader = try Store(path: path, readOnly: true)
            try reader.forEachRecord(cn: "2061", from: Int64(period.from.text14)!, to: Int64(period.to.text14)!) { _ in scanned += 1 }
            let baseline = monotonicSeconds() - b0
            // The roster: open, gather, judge, render CSV and HTML.
            let r0 = monotonicSeconds()
            var evidence = RosterEvidence(fleet: fleet)
            try evidence.add(store: try Store(path: path, readOnly: true), period: period)
            let roster = Roster(fleet: fleet, evidence: evidence, period: period, now: now)
            let csv = RosterOutput.csv(roster)
            let html = RosterOutput.html(roster, fleetName: fleetName)
            let rosterSeconds = monotonicSeconds() - r0
            io.clearProgress()
            var size = stat()
            _ = stat(path, &size)
            io.stdout.line("hj212 bench roster: \(fleetName), \(fleet.units.count) units, \(days) simulated day(s) from 2026-11-01; \(keep.describe)"
                           + (keep == .all ? "" : "; models sampled every \(Self.recordsSampleSeconds) s"))
            io.stdout.line("  store                \(written.stored) packets, \(written.records) records, \(written.values) values, \(Int(size.st_size) / 1_048_576) MiB (written in \(String(format: "%.1f", generateSeconds)) s with generation, through Store.write)")
            io.stdout.line("  baseline read        \(String(format: "%.3f", baseline)) s (\(scanned) hour records read from the index, not judged)")
            io.stdout.line("  roster               \(String(format: "%.3f", rosterSeconds)) s (gather, judge, CSV \(csv.utf8.count / 1024) KiB, HTML \(html.utf8.count / 1024) KiB; \(String(format: "%.2f", rosterSeconds / max(baseline, 1e-6)))x the baseline read)")
            let month = days >= 28 && keep != .hours
            io.stdout.line("  target               ≤ \(Int(Self.targetSeconds)) s for a month of the city (≈ 60 M values): "
                           + (month ? (rosterSeconds <= Self.targetSeconds ? "met" : "NOT met") + " (\(String(format: "%.1f", rosterSeconds)) s over \(written.values) values)"
                                    : "not judged (needs --days 28 or more and --keep records or all)"))
            return 0
        } catch {
            io.stderr.line("hj212 bench roster: \(error)")
            return 1
        }
    }

    /// A generated packet into the journal as `serve --store` keeps it: every packet a row, and a
    /// record split over packets (PNUM/PNO) stored whole in the row of its last part (before
    /// session 18 the bench left split records out: 40 of the city's units had no hour record).
    static func append(_ p: GeneratedPacket, to journal: inout PlatformJournal, splits: inout Reassembler) {
        let segment = p.segment
        journal.packets.append(.init(frame: FrameEncoder.frame(segmentBytes: p.bytes), segment: segment, time: p.time, peer: "bench"))
        let record: DataSegment?
        if segment.header("PNUM") == nil {
            record = segment
        } else if case .complete(let whole) = splits.add(segment) {
            record = whole
        } else {
            record = nil
        }
        if let record { journal.records.append(.init(packet: journal.packets.count - 1, segment: record, time: p.time)) }
    }
}
