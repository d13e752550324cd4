import Dispatch
import Foundation
import Glibc
import HJ212
import HJNetwork
import HJRoles
import HJSimulation
import Synchronization
import HJLive

/// Emulated loggers for the soak and storm benchmarks: in this process, against one address,
/// clocks spread over the real-time interval.
struct BenchFleet {
    let group: EventLoopGroup
    let loggers: [LiveLogger]
    /// The loggers' simulated start (local wall ms).
    let virtualStart: Int64

    init(count: Int, unit: String, speed: Double, threads: Int, platform: SocketAddress) throws {
        let template = try UnitTemplate.load(unit)
        group = try EventLoopGroup(threads: threads, name: "bench")
        let start = LiveClock.wallNow(offsetMinutes: SimClock.chinaOffsetMinutes)
        let clock = LiveClock(start: start, speed: speed)
        virtualStart = start
        var options = LoggerSession.Options()
        options.timeScale = speed
        var out: [LiveLogger] = []
        for i in 0..<count {
            let hex = String(i, radix: 16, uppercase: true)
            let mn = "0100BE00000000" + String(repeating: "0", count: 10 - hex.count) + hex
            guard let sim = try? UnitSimulator(template: template, identity: LoggerIdentity(mn: mn, pw: "123456"), seed: UInt64(i), start: start, options: .liveBench) else { continue }
            let skew = Int64(i) * Int64(template.rtdIntervalSeconds) * 1000 / Int64(count)
            out.append(LiveLogger(loop: group.loops[i % group.loops.count], device: LoggerDevice(simulator: sim), platforms: [platform], clock: clock,
                                  produceUntil: .max, sessionOptions: options, trace: nil, skew: skew))
        }
        loggers = out
    }

    func start() { for l in loggers { l.start() } }
    /// Every logger's reports, or nil when a loop did not answer (never a partial list: `collectAll`).
    func reports() -> [LinkReport]? { LiveSetup.collectAll(loggers) }
    func stop() { LiveSetup.stop(loggers); group.shutdown() }

    /// Closes the connections of these loggers (they reconnect by themselves, as after a network fault).
    func drop(_ indices: [Int]) {
        LiveSetup.onLoops(indices.map { i in
            let l = loggers[i]
            return (l.loop, { for link in l.links { link.connection?.close() } })
        })
    }

    /// Waits until `condition` holds on the reports (checked every 250 ms), at most `timeout` s.
    func wait(timeout: Double, io: CommandIO, label: String, _ condition: ([LinkReport]) -> Bool) -> (held: Bool, seconds: Double) {
        let t0 = monotonicSeconds()
        while monotonicSeconds() - t0 < timeout && !Interrupts.requested {
            let r = reports()
            if let r, condition(r) { return (true, monotonicSeconds() - t0) }
            io.progress(r.map { "\(label): \($0.filter(\.connected).count)/\(loggers.count) connected, \($0.reduce(0) { $0 + $1.pending }) pending" }
                        ?? "\(label): the loggers' event loops did not answer")
            usleep(250_000)
        }
        return (reports().map(condition) ?? false, monotonicSeconds() - t0)
    }
}

/// Abusive connections of the soak's fault mix, each opened, used and closed on a worker thread:
/// noise, a frame that never ends, a wrong CRC, a wrong password and a flood that never reads.
enum HostileMix {
    static let kinds = ["noise", "endless frame", "bad CRC", "wrong PW", "flood, never reads"]

    static func run(kind: Int, target: SocketAddress, source: UInt32) {
        let fd = benchConnect(target, source: source)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var bytes: [UInt8]
        let upload = "QN=20261203120000000;ST=32;CN=2011;PW=%@;MN=0100BEFFFFFFFFFFFFFFFFFF;Flag=5;CP=&&DataTime=20261203120000;w01018-Rtd=1,w01018-Flag=N&&"
        switch kind {
        case 0: bytes = (0..<4_096).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) }
        case 1: bytes = Array("##9999".utf8) + [UInt8](repeating: 0x41, count: 9_000)
        case 2:
            bytes = FrameEncoder.frame(SegmentParser.parse(upload.replacingOccurrences(of: "%@", with: "123456")).segment)
            bytes[bytes.count - 3] ^= 1
        case 3: bytes = FrameEncoder.frame(SegmentParser.parse(upload.replacingOccurrences(of: "%@", with: "000000")).segment)
        default:
            let one = FrameEncoder.frame(SegmentParser.parse(upload.replacingOccurrences(of: "%@", with: "123456")).segment)
            bytes = Array([[UInt8]](repeating: one, count: 2_000).joined())
        }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }
}

/// `hj212 bench soak`: `serve` with many loggers for a while, 1 % of them reconnecting each
/// minute and a mix of abusive connections; serve's RSS sampled: flat after the warm-up?
///
/// The warm-up ends once every unit has sent the records of the first hour boundary of the
/// loggers' simulated clock (each logger's device past it, nothing left queued but what is in
/// flight): only then has the platform seen every kind of record of every unit. The verdict
/// compares the last sample with that one; without a further hour boundary between the two (every
/// unit past it) the run was too short to tell, and says so ("incomplete").
struct SoakBenchmark {
    var loggers: Int
    var minutes: Double
    var churnPercent: Double
    var speed: Double
    var threads: Int
    var unit: String

    struct Sample {
        var minute: Double
        var kib: Int
        /// The oldest simulated time every logger's device has produced through.
        var deviceTime: Int64
        var pending: Int
    }

    enum Verdict: String {
        case flat, growing = "GROWING", incomplete
    }

    /// The verdict on samples: warm once every device passed `firstHour` with at most one packet
    /// in flight per logger; flat when the last sample is within 5 % (at least 10 MiB) of that one,
    /// judged only when every device also passed the next hour boundary.
    static func verdict(_ samples: [Sample], firstHour: Int64, loggers: Int) -> (verdict: Verdict, warm: Sample?, last: Sample?) {
        guard let w = samples.firstIndex(where: { $0.deviceTime >= firstHour && $0.pending <= loggers }) else {
            return (.incomplete, nil, samples.last)
        }
        let warm = samples[w], last = samples[samples.count - 1]
        guard last.deviceTime >= firstHour + 3_600_000, w < samples.count - 1 else { return (.incomplete, warm, last) }
        return (last.kib - warm.kib <= max(warm.kib / 20, 10 * 1024) ? .flat : .growing, warm, last)
    }

    /// `MM-DD hh:mm` of a local wall time.
    static func clockText(_ t: Int64) -> String {
        let d = Array(HJTime(wallMilliseconds: t).text14)
        return String(d[4..<6]) + "-" + String(d[6..<8]) + " " + String(d[8..<10]) + ":" + String(d[10..<12])
    }

    func run(_ io: CommandIO) -> Int32 {
        #if DEBUG
        io.stderr.line("hj212 bench: warning: this is a debug build; use 'swift run -c release hj212 bench soak'.")
        #endif
        _ = try? ProcessSetup.prepareForNetworking()
        let serve: ServeChild
        let fleet: BenchFleet
        do {
            serve = try ServeChild(extra: ["--threads", String(threads)])
            fleet = try BenchFleet(count: loggers, unit: unit, speed: speed, threads: threads, platform: serve.address)
        } catch {
            io.stderr.line("hj212 bench soak: \(error)")
            return 2
        }
        defer { serve.stop() }
        let rss0 = serve.residentKiB
        let hour: Int64 = 3_600_000
        let firstHour = (fleet.virtualStart / hour + 1) * hour
        fleet.start()
        let connect = fleet.wait(timeout: 120, io: io, label: "bench soak: connecting") { $0.allSatisfy(\.connected) }
        io.clearProgress()
        io.stdout.line("hj212 bench soak: \(loggers) loggers (\(unit), speed \(Int(speed))x), \(String(format: "%g", minutes)) min, churn \(String(format: "%g", churnPercent)) %/min, fault mix: \(HostileMix.kinds.joined(separator: ", "))")
        io.stdout.line("  connected \(fleet.reports().map { String($0.filter(\.connected).count) } ?? "?")/\(loggers) in \(String(format: "%.1f", connect.seconds)) s; serve RSS at start \(rss0 / 1024) MiB")
        io.stdout.line("  warm-up: until every unit sent its records of \(Self.clockText(firstHour)) (loggers' clock); then an hour boundary must pass")
        io.stdout.line("  " + "min".leftPad(6) + "loggers' clock".leftPad(16) + "connected".leftPad(11) + "acked".leftPad(10) + "pending".leftPad(9) + "reconnects".leftPad(12) + "hostile".leftPad(9) + "serve RSS".leftPad(11))
        let t0 = monotonicSeconds()
        var nextChurn = t0 + 60
        var nextSample = t0
        var samples: [Sample] = []
        var hostile = 0
        var generator = SimRandom(seed: 212)
        let connects0 = fleet.reports()?.reduce(0) { $0 + $1.connects }
        // The abusive connections block (connect, send with a 2 s timeout): threads of their own,
        // one per kind and minute, never the global Dispatch pool (docs/decisions.md, LineThread).
        let hostileGroup = DispatchGroup()
        while monotonicSeconds() - t0 < minutes * 60 && !Interrupts.requested {
            usleep(200_000)
            let now = monotonicSeconds()
            if now >= nextChurn {
                nextChurn += 60
                let count = max(1, Int(Double(loggers) * churnPercent / 100))
                fleet.drop((0..<count).map { _ in Int(generator.next() % UInt64(fleet.loggers.count)) })
                // The fault mix: as many abusive connections as reconnecting loggers, of every kind.
                let target = serve.address
                for kind in 0..<min(count, HostileMix.kinds.count) {
                    let n = (count - kind + HostileMix.kinds.count - 1) / HostileMix.kinds.count
                    hostile += n
                    LineThread.start(name: "hostile-\(kind)", group: hostileGroup) {
                        for k in 0..<n { HostileMix.run(kind: kind, target: target, source: 0x7F00_0010 + UInt32((k * HostileMix.kinds.count + kind) % 8)) }
                    }
                }
            }
            if now >= nextSample {
                nextSample += max(5, minutes * 60 / 30)
                // A sample needs every logger: the slowest one's clock decides the warm-up.
                guard let r = fleet.reports() else {
                    io.clearProgress()
                    io.stdout.line("  " + String(format: "%.1f", (now - t0) / 60).leftPad(6) + "  no sample: the loggers' event loops did not answer")
                    continue
                }
                let sample = Sample(minute: (now - t0) / 60, kib: serve.residentKiB, deviceTime: r.map(\.deviceTime).min() ?? 0,
                                    pending: r.reduce(0) { $0 + $1.pending })
                samples.append(sample)
                io.clearProgress()
                io.stdout.line("  " + String(format: "%.1f", sample.minute).leftPad(6) + Self.clockText(sample.deviceTime).leftPad(16)
                               + "\(r.filter(\.connected).count)".leftPad(11)
                               + "\(r.reduce(0) { $0 + $1.statistics.acknowledged })".leftPad(10) + "\(sample.pending)".leftPad(9)
                               + (connects0.map { "\(r.reduce(0) { $0 + $1.connects } - $0)" } ?? "?").leftPad(12) + "\(hostile)".leftPad(9) + "\(sample.kib / 1024) MiB".leftPad(11))
                io.stdout.flush()
            }
        }
        let final = fleet.reports()
        fleet.stop()
        _ = hostileGroup.wait(timeout: .now() + 30)
        let (verdict, warm, last) = Self.verdict(samples, firstHour: firstHour, loggers: loggers)
        if let warm, let last {
            let peak = samples.filter { $0.minute >= warm.minute }.map(\.kib).max() ?? last.kib
            let growth = Double(last.kib - warm.kib) / Double(max(1, warm.kib))
            io.stdout.line("  serve RSS after warm-up \(warm.kib / 1024) MiB (minute \(String(format: "%.1f", warm.minute))), peak \(peak / 1024) MiB, last \(last.kib / 1024) MiB: \(String(format: "%+.1f", growth * 100)) % — \(verdict.rawValue)"
                           + (verdict == .incomplete ? " (no hour boundary of the loggers' clock after the warm-up: run longer or faster)" : ""))
        } else {
            io.stdout.line("  serve RSS last \((last?.kib ?? rss0) / 1024) MiB — incomplete (the warm-up never ended: not every unit sent its records of the first hour boundary)")
        }
        guard let final else {
            io.stdout.line("  loggers at the end: unknown (their event loops did not answer) — incomplete")
            return Interrupts.requested ? Interrupts.exitStatus : 1
        }
        io.stdout.line("  loggers connected at the end \(final.filter(\.connected).count)/\(loggers); acknowledged \(final.reduce(0) { $0 + $1.statistics.acknowledged }), pending \(final.reduce(0) { $0 + $1.pending })")
        if Interrupts.requested { return Interrupts.exitStatus }
        return verdict == .flat ? 0 : 1
    }
}

/// `hj212 bench storm`: every logger connected, `serve` stopped (SIGTERM) for an outage, then
/// restarted on the same port: all loggers reconnect at once; time until every one is connected
/// and until everything held during the outage is acknowledged (backfilled).
struct StormBenchmark {
    var loggers: Int
    var outage: Double
    var speed: Double
    var threads: Int
    var unit: String

    func run(_ io: CommandIO) -> Int32 {
        #if DEBUG
        io.stderr.line("hj212 bench: warning: this is a debug build; use 'swift run -c release hj212 bench storm'.")
        #endif
        _ = try? ProcessSetup.prepareForNetworking()
        var serve: ServeChild
        let fleet: BenchFleet
        do {
            serve = try ServeChild(extra: ["--threads", String(threads)])
            fleet = try BenchFleet(count: loggers, unit: unit, speed: speed, threads: threads, platform: serve.address)
        } catch {
            io.stderr.line("hj212 bench storm: \(error)")
            return 2
        }
        let port = serve.address.port
        fleet.start()
        let first = fleet.wait(timeout: 120, io: io, label: "bench storm: connecting") { r in r.allSatisfy(\.connected) && r.reduce(0) { $0 + $1.pending } <= r.count }
        io.clearProgress()
        io.stdout.line("hj212 bench storm: \(loggers) loggers (\(unit), speed \(Int(speed))x), serve stopped for \(Int(outage)) s then restarted on port \(port)")
        io.stdout.line("  first connection of all      \(String(format: "%.1f", first.seconds)) s\(first.held ? "" : " (not all)")")
        let status = serve.stop()
        let before = fleet.reports()
        let outageStart = monotonicSeconds()
        while monotonicSeconds() - outageStart < outage && !Interrupts.requested { usleep(100_000) }
        let held = fleet.reports()?.reduce(0) { $0 + $1.pending }
        do { serve = try ServeChild(listen: "127.0.0.1:\(port)", extra: ["--threads", String(threads)]) } catch {
            io.stderr.line("hj212 bench storm: cannot restart serve: \(error)")
            fleet.stop()
            return 2
        }
        defer { serve.stop() }
        let t0 = monotonicSeconds()
        let reconnected = fleet.wait(timeout: 300, io: io, label: "bench storm: reconnecting") { $0.allSatisfy(\.connected) }
        let backfilled = fleet.wait(timeout: max(1, 300 - (monotonicSeconds() - t0)), io: io, label: "bench storm: backfilling") { r in
            r.allSatisfy(\.connected) && r.reduce(0) { $0 + $1.pending } <= r.count  // at most the packet in flight each
        }
        let after = fleet.reports()
        let rss = serve.residentKiB
        fleet.stop()
        io.clearProgress()
        guard let before, let after, let held else {
            io.stdout.line("  serve stopped by SIGTERM      exit \(status)")
            io.stdout.line("  the loggers' counts are unknown (their event loops did not answer) — incomplete")
            return Interrupts.requested ? Interrupts.exitStatus : 1
        }
        let acked = after.reduce(0) { $0 + $1.statistics.acknowledged } - before.reduce(0) { $0 + $1.statistics.acknowledged }
        io.stdout.line("  serve stopped by SIGTERM      exit \(status)")
        io.stdout.line("  held by the loggers           \(held) packets during the outage")
        io.stdout.line("  every logger reconnected      \(reconnected.held ? "yes" : "NO"), \(after.filter(\.connected).count)/\(loggers) in \(String(format: "%.1f", reconnected.seconds)) s")
        io.stdout.line("  backfilled                    \(backfilled.held ? "yes" : "NO"), \(acked) packets acknowledged after the restart, \(after.reduce(0) { $0 + $1.pending }) pending, \(String(format: "%.1f", monotonicSeconds() - t0)) s after the restart")
        io.stdout.line("  serve RSS after the storm     \(rss / 1024) MiB")
        if Interrupts.requested { return Interrupts.exitStatus }
        return reconnected.held && backfilled.held ? 0 : 1
    }
}
