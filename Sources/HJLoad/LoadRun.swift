import Dispatch
import Glibc
import HJNetwork
import HJSimulation
import Synchronization
import HJReportKit

/// What the run looks like now, for a progress line and the per-second series.
///
/// `Sendable`: a value.
public struct LoadProgress: Sendable {
    /// Where the run is: connecting, sending, waiting for the last acknowledgements.
    public enum Phase: String, Sendable { case waiting, ramp, warmUp = "warm-up", window, drain, done }
    /// Where the run is.
    public var phase: Phase
    /// Seconds since the start (ramp included).
    public var elapsed: Double
    /// The counters so far (published every 100 ms by each loop).
    public var counts: LoadCounts
    /// Connections open now.
    public var openConnections: UInt64
    /// Sent packets waiting for their acknowledgement.
    public var outstanding: UInt64
    /// The last second's figures (sent, acked, p99 from the schedule).
    public var last: LoadSecond?
}

/// A load run: N loggers (this shard's share) on event loops, connecting over the ramp, then
/// sending on the open-model schedule for the window, then draining; returns the report.
///
/// `Sendable`: its loops' state is touched only on their threads; what the caller's thread reads
/// is published under a `Mutex` (`LoopState.published`).
///
/// ```swift
/// let report = LoadRun(configuration).run(progress: { print($0.counts.acked) }, shouldStop: { false })
/// ```
public final class LoadRun: Sendable {
    /// What the run does.
    public let configuration: LoadConfiguration
    /// How long the end of the run waits, in all, for the loops' final states.
    let finalTimeout: Duration
    /// How often each loop checks acknowledgement timeouts and publishes its snapshot.
    let sweepInterval: Duration
    /// Runs on loop k just before it hands over its final state (tests: a loop that hangs).
    let beforeFinish: (@Sendable (Int) -> Void)?

    /// A run of `configuration` (check it with `problem()` first).
    public convenience init(_ configuration: LoadConfiguration) {
        self.init(configuration, finalTimeout: .seconds(5), sweepInterval: .milliseconds(100), beforeFinish: nil)
    }

    /// A run with other internal timings and a hook on each loop before it reports (tests).
    init(_ configuration: LoadConfiguration, finalTimeout: Duration, sweepInterval: Duration, beforeFinish: (@Sendable (Int) -> Void)?) {
        self.configuration = configuration
        self.finalTimeout = finalTimeout
        self.sweepInterval = sweepInterval
        self.beforeFinish = beforeFinish
    }

    /// Runs the whole timeline on the calling thread (it sleeps and samples once a second; the
    /// work is on the loops). `shouldStop` is polled about every 50 ms (Ctrl-C): the window then
    /// ends at once, there is no drain, and the report covers what ran.
    public func run(progress: (LoadProgress) -> Void = { _ in }, shouldStop: () -> Bool = { false }) -> LoadReport {
        let c = configuration
        var report = LoadReport()
        report.targets = c.targets.map(\.description)
        report.totalLoggers = c.totalLoggers
        report.shards = [c.shard.description]
        report.cadence = c.cadence.description
        report.offeredRate = c.offeredRate
        var unitNames: [String] = []
        for i in c.shard.loggers(total: c.totalLoggers) {
            let u = c.pool(i).unit
            if !unitNames.contains(u) { unitNames.append(u) }
            if unitNames.count == c.pools.count { break }
        }
        report.units = unitNames

        let group: EventLoopGroup
        do { group = try EventLoopGroup(threads: max(1, c.threads), name: "load") } catch {
            report.errors["cannot start event loops: \(error)"] = 1
            return report
        }
        defer { group.shutdown() }

        // The timeline, on the monotonic clock; QN and DataTime on the wall clock (China time).
        var t0 = MonotonicTime.now.nanoseconds + 20_000_000
        let wallNowMs = WallClock.utcMilliseconds()
        let nowMono = MonotonicTime.now.nanoseconds
        let ramp = c.ramp.nanoseconds
        let warmUp = c.warmUp.nanoseconds
        // --align: the window starts on the next wall-clock multiple of it (shards started apart line up).
        let alignMs = Int64(c.align.nanoseconds / 1_000_000)
        if alignMs > 0 {
            let earliest = wallNowMs + Int64((t0 - nowMono) / 1_000_000) + Int64(ramp / 1_000_000) + 250 + Int64(warmUp / 1_000_000)
            let aligned = (earliest + alignMs - 1) / alignMs * alignMs
            t0 += UInt64(aligned - earliest) * 1_000_000
        }
        let unixAtT0Ms = wallNowMs + Int64((t0 - nowMono) / 1_000_000)
        // The window starts a quarter second after the ramp, so that the last connects are through.
        // The warm-up (sent, not counted) between them.
        let sendStart = t0 + ramp + 250_000_000
        let windowStart = sendStart + warmUp
        let windowLength = c.duration.nanoseconds
        let timing = LoopTiming(t0: t0, sendStart: sendStart, windowStart: windowStart, windowEnd: windowStart + windowLength,
                                wallAtT0: unixAtT0Ms + Int64(c.offsetMinutes) * 60_000,
                                ramp: ramp, ackTimeout: c.ackTimeout.nanoseconds, connectTimeout: c.connectTimeout)
        let startWall = unixAtT0Ms + Int64(ramp / 1_000_000) + 250 + Int64(warmUp / 1_000_000)
        report.startUnixSecond = startWall / 1000
        report.started = LoadRun.isoTime(unixMilliseconds: startWall, offsetMinutes: c.offsetMinutes)
        report.rampSeconds = Double(ramp) / 1e9

        // Loggers to loops, round-robin over this shard's slice.
        let states = group.loops.map { LoopState(loop: $0, configuration: c, timing: timing, sweepInterval: sweepInterval) }
        var slot = 0
        var mine = 0
        var assignments = [[Int]](repeating: [], count: states.count)
        for i in c.shard.loggers(total: c.totalLoggers) {
            assignments[slot].append(i)
            slot = (slot + 1) % states.count
            mine += 1
        }
        report.loggers = mine
        for (state, loggers) in zip(states, assignments) {
            state.loop.execute { state.start(loggers: loggers) }
        }

        // Sample once a second (and poll for a stop every 50 ms).
        var previous = LoadCounts()
        var previousLatency = LatencyHistogram()
        var nextSample = t0 + 1_000_000_000
        var interrupted = false
        var windowEnd = timing.windowEnd
        var openAtWindowEnd: UInt64?
        var drainStarted: UInt64?
        var drainEnd = windowEnd + c.drainTimeout.nanoseconds
        var phase = LoadProgress.Phase.ramp
        var unreachable = false
        while true {
            usleep(50_000)
            let now = MonotonicTime.now.nanoseconds
            if !interrupted && shouldStop() {
                interrupted = true
                windowEnd = min(windowEnd, now)
                let end = windowEnd
                for s in states { s.loop.execute { s.endWindow(at: end) } }
                drainEnd = now
            }
            let snapshot = states.map { $0.published.withLock { $0 } }
            var counts = LoadCounts()
            var open: UInt64 = 0, outstanding: UInt64 = 0
            var latency = LatencyHistogram()
            // Whether every loop's snapshot is from after the window's end and after its last
            // send: only then does `outstanding == 0` mean that nothing is waiting (an older one
            // misses the packets sent since).
            var current = true
            for s in snapshot {
                counts.merge(s.counts)
                open &+= s.open
                outstanding &+= s.outstanding
                latency.merge(s.latency)
                if s.publishedAt < windowEnd || !s.windowSent { current = false }
            }
            // Nobody reachable: every logger tried and failed, and none ever connected.
            if !interrupted && counts.connects == 0 && counts.connectErrors >= UInt64(max(1, mine)) {
                unreachable = true
                windowEnd = min(windowEnd, now)
                let end = windowEnd
                for s in states { s.loop.execute { s.endWindow(at: end) } }
                drainEnd = now
            }
            phase = now < t0 ? .waiting : now < sendStart ? .ramp : now < windowStart ? .warmUp : now < windowEnd ? .window : .drain
            var last: LoadSecond?
            if now >= nextSample || phase == .drain && openAtWindowEnd == nil {
                let unix = (unixAtT0Ms + Int64((nextSample - t0) / 1_000_000)) / 1000 - 1
                let interval = latency.since(previousLatency)
                let second = LoadSecond(unixSecond: unix, sent: counts.sent &- previous.sent, acked: counts.acked &- previous.acked,
                                        p99: interval.percentile(99), connections: open, errors: counts.errors &- previous.errors,
                                        outstanding: outstanding)
                if now >= nextSample {
                    report.series.append(second)
                    previous = counts
                    previousLatency = latency
                    nextSample += 1_000_000_000
                    // A loop that fell behind: resynchronise instead of emitting a burst of rows.
                    if nextSample + 1_000_000_000 < now { nextSample = now + 1_000_000_000 }
                }
                last = second
            }
            if phase != .ramp && phase != .warmUp && now >= windowEnd && openAtWindowEnd == nil {
                openAtWindowEnd = open
                drainStarted = now
            }
            progress(LoadProgress(phase: phase, elapsed: (Double(now) - Double(t0)) / 1e9, counts: counts, openConnections: open,
                                  outstanding: outstanding, last: last))
            if now >= windowEnd && ((current && outstanding == 0) || now >= drainEnd) { break }
        }

        // Stop every loop and collect its final state (waiting at most `finalTimeout` in all). A
        // loop that does not answer in time (stuck, or its queue too long) is named in the
        // errors: its counts are missing from the report, which must say so.
        let finals = Mutex<[Int: LoopFinal]>([:])
        let done = DispatchSemaphore(value: 0)
        for (k, s) in states.enumerated() {
            let hook = beforeFinish
            let sent = s.loop.execute {
                hook?(k)
                let f = s.finish()
                finals.withLock { $0[k] = f }
                done.signal()
            }
            if !sent { done.signal() }
        }
        let finalDeadline = DispatchTime.now() + .nanoseconds(Int(clamping: finalTimeout.nanoseconds))
        for _ in states { if done.wait(timeout: finalDeadline) == .timedOut { break } }
        let collected = finals.withLock { $0 }
        for k in states.indices where collected[k] == nil {
            report.errors["\(LoadReport.missingLoopError)\(k + 1) of \(states.count) \(LoadReport.missingLoopMark) within "
                          + "\(LoadFormat.fixed(Double(finalTimeout.nanoseconds) / 1e9, 1)) s: its loggers' counts and latencies are missing from this report"] = 1
        }
        for f in collected.sorted(by: { $0.key < $1.key }).map(\.value) {
            report.counts.merge(f.counts)
            report.latency.merge(f.latency)
            report.sendLatency.merge(f.sendLatency)
            report.connectLatency.merge(f.connectLatency)
            report.sendLag.merge(f.sendLag)
            for (k, v) in f.errors { report.errors[k, default: 0] &+= v }
        }
        report.counts.openAtEnd = openAtWindowEnd ?? 0
        let end = MonotonicTime.now.nanoseconds
        report.windowSeconds = Double(max(0, Int64(min(windowEnd, end)) - Int64(windowStart))) / 1e9
        report.drainSeconds = drainStarted.map { Double(end - $0) / 1e9 } ?? 0
        report.interrupted = interrupted
        if unreachable && report.errors.isEmpty { report.errors["target not reached"] = 1 }
        return report
    }

    /// `2026-11-30T08:00:00.000+08:00`
    static func isoTime(unixMilliseconds ms: Int64, offsetMinutes: Int) -> String {
        let t = HJTimeText.iso(wallMilliseconds: ms + Int64(offsetMinutes) * 60_000)
        let sign = offsetMinutes >= 0 ? "+" : "-"
        let m = abs(offsetMinutes)
        return t + sign + (m / 60 < 10 ? "0" : "") + String(m / 60) + ":" + (m % 60 < 10 ? "0" : "") + String(m % 60)
    }
}

import HJ212

enum HJTimeText {
    static func iso(wallMilliseconds ms: Int64) -> String {
        let d = Array(HJTime(wallMilliseconds: ms).text17)
        func s(_ r: Range<Int>) -> String { String(d[r]) }
        return s(0..<4) + "-" + s(4..<6) + "-" + s(6..<8) + "T" + s(8..<10) + ":" + s(10..<12) + ":" + s(12..<14) + "." + s(14..<17)
    }
}

extension Duration {
    /// Whole nanoseconds, clamped to 0…UInt64.max.
    var nanoseconds: UInt64 {
        let (s, a) = components
        if s < 0 || (s == 0 && a <= 0) { return 0 }
        let (w, o) = UInt64(s).multipliedReportingOverflow(by: 1_000_000_000)
        if o { return .max }
        let (sum, o2) = w.addingReportingOverflow(UInt64(a / 1_000_000_000))
        return o2 ? .max : sum
    }
}

/// The run's timeline, shared by the loops (monotonic nanoseconds; wall time in China time).
///
/// `Sendable`: a value.
struct LoopTiming: Sendable {
    var t0: UInt64
    /// The first scheduled send: `windowStart` less the warm-up.
    var sendStart: UInt64
    var windowStart: UInt64
    var windowEnd: UInt64
    /// Wall-clock (zone applied) milliseconds at t0, for QNs.
    var wallAtT0: Int64
    var ramp: UInt64
    var ackTimeout: UInt64
    var connectTimeout: Duration
}

/// What a loop publishes for the caller's thread (every 100 ms, and when it has sent the
/// window's last packet).
struct LoopSnapshot: Sendable {
    var counts = LoadCounts()
    var latency = LatencyHistogram()
    var open: UInt64 = 0
    var outstanding: UInt64 = 0
    /// When it was published (monotonic ns): `outstanding` is as of then.
    var publishedAt: UInt64 = 0
    /// Whether every packet due in the window had been sent (or counted missed) by then.
    var windowSent = false
}

/// A loop's final state.
struct LoopFinal: Sendable {
    var counts: LoadCounts
    var latency: LatencyHistogram
    var sendLatency: LatencyHistogram
    var connectLatency: LatencyHistogram
    var sendLag: LatencyHistogram
    var errors: [String: UInt64]
}
