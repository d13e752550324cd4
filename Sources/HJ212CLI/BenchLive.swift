import Dispatch
import Foundation
import Synchronization
import Glibc
import HJ212
import HJLoad
import HJReportKit
import HJNetwork
import HJRoles
import HJSimulation
import HJLive

/// `hj212 bench live`: many emulated loggers in this process against `hj212 serve` in another,
/// on loopback, at accelerated cadence; prints connections held, acknowledged packets/s, ack
/// latency and memory per logger.
struct LiveBenchmark {
    var loggers: Int
    var speed: Double
    var seconds: Double
    var unit: String
    var threads: Int

    static func residentKiB(pid: Int32 = getpid()) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
        }
        return 0
    }

    func run(_ io: CommandIO) -> Int32 {
        #if DEBUG
        io.stderr.line("hj212 bench: warning: this is a debug build; use 'swift run -c release hj212 bench live'.")
        #endif
        // One descriptor per logger here and one per connection in the platform (same limit): as
        // many as fit, and one line saying so when the descriptor limit is the bound.
        let limit = ProcessSetup.prepareDescriptors()
        let loggers = min(self.loggers, limit.connectionsThatFit())
        if let line = limit.boundMessage(connections: self.loggers) { io.stdout.line("hj212 bench live: \(line)") }
        guard loggers > 0 else { return 2 }
        // The platform in a child process: `hj212 serve` on a free loopback port.
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/proc/self/exe")
        server.arguments = ["serve", "--listen", "127.0.0.1:0", "--threads", String(threads)]
        let pipe = Pipe()
        server.standardOutput = pipe
        server.standardError = FileHandle.nullDevice
        do { try server.run() } catch {
            io.stderr.line("hj212 bench live: cannot start the platform: \(error)")
            return 2
        }
        defer { if server.isRunning { kill(server.processIdentifier, SIGKILL) } }
        var firstLine = ""
        while !firstLine.contains("\n") {
            let d = pipe.fileHandleForReading.availableData
            if d.isEmpty { break }
            firstLine += String(decoding: d, as: UTF8.self)
        }
        let reader = pipe.fileHandleForReading
        Thread.detachNewThread { while !reader.availableData.isEmpty {} }
        guard let range = firstLine.range(of: "listening on "),
              let address = try? SocketAddress(parsing: String(firstLine[range.upperBound...].prefix { $0 != "," && $0 != "\n" })) else {
            io.stderr.line("hj212 bench live: the platform did not start: \(firstLine)")
            return 2
        }
        let template: UnitTemplate
        do { template = try UnitTemplate.load(unit) } catch {
            io.stderr.line("hj212 bench live: \(error)")
            return 2
        }
        let group: EventLoopGroup
        do { group = try EventLoopGroup(threads: threads, name: "bench") } catch {
            io.stderr.line("hj212 bench live: \(error)")
            return 2
        }
        defer { group.shutdown() }
        let start = LiveClock.wallNow(offsetMinutes: SimClock.chinaOffsetMinutes)
        let latencies = group.loops.map { _ in LoopLatency() }
        /// Loggers with clocks spread over the real-time interval, as real loggers' are: no synchronised bursts.
        func makeLoggers(speed: Double) -> [LiveLogger] {
            let clock = LiveClock(start: start, speed: speed)
            var sessionOptions = LoggerSession.Options()
            sessionOptions.timeScale = speed
            var out: [LiveLogger] = []
            out.reserveCapacity(loggers)
            for i in 0..<loggers {
                let hex = String(i, radix: 16, uppercase: true)
                let mn = "0100BE00000000" + String(repeating: "0", count: 10 - hex.count) + hex
                guard let sim = try? UnitSimulator(template: template, identity: LoggerIdentity(mn: mn, pw: "123456"), seed: 1, start: start, options: .liveBench) else { continue }
                let skew = Int64(i) * Int64(template.rtdIntervalSeconds) * 1000 / Int64(loggers)
                let l = i % group.loops.count
                out.append(LiveLogger(loop: group.loops[l], device: LoggerDevice(simulator: sim), platforms: [address], clock: clock,
                                      produceUntil: .max, sessionOptions: sessionOptions, trace: nil, latency: latencies[l], skew: skew))
            }
            return out
        }
        func connectAll(_ live: [LiveLogger], _ label: String) -> (connected: Int, seconds: Double) {
            let t0 = monotonicSeconds()
            for l in live { l.start() }
            var reports = LiveSetup.collect(live)
            while reports.filter(\.connected).count < live.count && monotonicSeconds() - t0 < 60 && !Interrupts.requested {
                usleep(200_000)
                reports = LiveSetup.collect(live)
                io.progress("bench live: \(label): \(reports.filter(\.connected).count)/\(live.count) connected")
            }
            return (reports.filter(\.connected).count, monotonicSeconds() - t0)
        }
        /// Snapshot of the latency histograms, merged (each read on its loop).
        func latencySnapshot() -> LatencyHistogram {
            let merged = Mutex(LatencyHistogram())
            LiveSetup.onLoops(zip(group.loops, latencies).map { loop, l in (loop, { let h = l.histogram; merged.withLock { $0.merge(h) } }) })
            return merged.withLock { $0 }
        }
        // Phase 1, idle: loggers at real-time cadence (one 2011 per 30 s): memory per connected logger.
        let rssBefore = Self.residentKiB()
        let idle = makeLoggers(speed: 1)
        // The loggers as made (simulator, device, session), before the connection and the boot burst.
        ProcessSetup.releaseFreeMemory()
        let rssMade = Self.residentKiB()
        let (idleConnected, _) = connectAll(idle, "idle")
        // Idle means the boot packets (2081, 3020 …) are acknowledged, not still queued.
        let drain = monotonicSeconds()
        var idlePending: Int?
        while monotonicSeconds() - drain < 60 && !Interrupts.requested {
            // Unknown (a loop did not answer) is not zero.
            idlePending = LiveSetup.collectAll(idle)?.reduce(0) { $0 + $1.pending }
            io.progress("bench live: idle: \(idlePending.map(String.init) ?? "?") boot packets pending")
            if idlePending == 0 { break }
            usleep(250_000)
        }
        usleep(1_000_000)
        // Measure what idle loggers hold, not what the allocator kept from the boot burst.
        ProcessSetup.releaseFreeMemory()
        let rssIdle = Self.residentKiB()
        LiveSetup.stop(idle)
        usleep(1_000_000)
        // Phase 2, load: accelerated cadence.
        let live = makeLoggers(speed: speed)
        let (connected, connectSeconds) = connectAll(live, "load")
        // The boot burst (2081 and the 3020 information of every logger) drains before measuring.
        Self.settle(live, loggers: loggers, label: "bench live", io: io)
        // Measurement window.
        let first = LiveSetup.collectAll(live)
        let m0 = monotonicSeconds()
        let base = latencySnapshot()
        while monotonicSeconds() - m0 < seconds && !Interrupts.requested {
            usleep(500_000)
            let r = LiveSetup.collect(live)
            let now = r.reduce(0) { $0 + $1.statistics.acknowledged }
            let acked = now - (first ?? []).reduce(0) { $0 + $1.statistics.acknowledged }
            io.progress("bench live: \(r.filter(\.connected).count) connected, \(Int(Double(acked) / (monotonicSeconds() - m0))) acks/s")
        }
        let end = LiveSetup.collectAll(live)
        let window = monotonicSeconds() - m0
        let finalLatency = latencySnapshot()
        let serverRSS = Self.residentKiB(pid: server.processIdentifier)
        LiveSetup.stop(live)
        kill(server.processIdentifier, SIGINT)
        io.clearProgress()
        // A figure from a partial snapshot (a loop that did not answer) would be wrong, not rough.
        guard let a0 = first, let a1 = end else {
            io.stdout.line("hj212 bench live: incomplete: the loggers' event loops did not answer within \(Int(LiveSetup.loopAnswerGuardSeconds)) s; no figure")
            return Interrupts.requested ? Interrupts.exitStatus : 1
        }
        let acked = a1.reduce(0) { $0 + $1.statistics.acknowledged } - a0.reduce(0) { $0 + $1.statistics.acknowledged }
        let sent = a1.reduce(0) { $0 + $1.statistics.sent } - a0.reduce(0) { $0 + $1.statistics.sent }
        let windowLatency = finalLatency.since(base)
        let perLogger = Double(rssIdle - rssBefore) / Double(max(1, idleConnected))
        let madePerLogger = Double(rssMade - rssBefore) / Double(max(1, loggers))
        // A figure taken while boot packets still waited (a loaded machine) is not an idle one: say so.
        let notIdle = idlePending == 0 ? "" : "; NOT idle: \(idlePending.map(String.init) ?? "an unknown number of") boot packets still pending"
        io.stdout.line("hj212 bench live: \(loggers) loggers (\(unit)) in this process, hj212 serve in another, loopback, \(threads) loop thread(s) each, speed \(Int(speed))x")
        io.stdout.line("  connections held      \(connected)/\(loggers) (connected in \(String(format: "%.1f", connectSeconds)) s)")
        io.stdout.line("  acknowledged         \(Int(Double(acked) / window)) packets/s (\(acked) in \(String(format: "%.1f", window)) s; sent \(sent))")
        io.stdout.line("  ack latency          \(windowLatency.summary)")
        io.stdout.line("  memory per logger    \(String(format: "%.1f", perLogger)) KiB resident per idle connected logger (simulator, session, socket; \(idleConnected) loggers: \(String(format: "%.1f", madePerLogger)) as made, \(String(format: "%.1f", perLogger - madePerLogger)) connected and booted\(notIdle)); platform \(serverRSS / 1024) MiB")
        if Interrupts.requested { return Interrupts.exitStatus }
        return connected == loggers ? 0 : 1
    }
}

extension LiveBenchmark {
    /// Waits (30 s at most) until at most two packets per logger are pending: the boot burst drained.
    static func settle(_ live: [LiveLogger], loggers: Int, label: String, io: CommandIO) {
        let settle = monotonicSeconds()
        while monotonicSeconds() - settle < 30 && !Interrupts.requested {
            let pending = LiveSetup.collectAll(live)?.reduce(0) { $0 + $1.pending }
            io.progress("\(label): settling, \(pending.map(String.init) ?? "?") packets pending")
            if let pending, pending <= loggers * 2 { break }
            usleep(250_000)
        }
    }
}

extension SimulationOptions {
    /// The loggers of the live benchmarks: as `simulate` runs them (packets written as bytes).
    static var liveBench: SimulationOptions {
        var o = SimulationOptions()
        o.bytesOnly = true
        return o
    }
}
