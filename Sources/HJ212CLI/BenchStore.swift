import Foundation
import Glibc
import HJ212
import HJLive
import HJNetwork
import HJRoles
import HJSimulation
import HJStore
import Synchronization

/// `hj212 bench store`: in one run, acknowledged packets/s of `serve` without a store, then of
/// `serve --store` (a fresh file), with the same loggers, speed and window (the `bench live`
/// set-up: loggers in this process, serve in a child); then `roster` over what was stored.
/// Prints both figures and their ratio.
struct StoreBenchmark {
    var loggers: Int
    var speed: Double
    var seconds: Double
    var unit: String
    var threads: Int
    var durability: String

    struct Phase {
        var connected = 0
        var acked = 0
        var window = 0.0
        /// CPU seconds (user + system) the platform process used during the window.
        var serveCPU = 0.0
        /// Packets the loggers made during the window: acknowledged plus the growth of their backlog.
        var offered = 0
        /// CPU seconds this process (the loggers) used during the window.
        var loggersCPU = 0.0
        /// Share of the machine's CPU time that was busy during the window (all processes).
        var machineBusy = 0.0
        var perSecond: Double { window > 0 ? Double(acked) / window : 0 }
        var offeredPerSecond: Double { window > 0 ? Double(offered) / window : 0 }
        /// serve could not keep up: the loggers' backlog grew by more than 5 % of what was acknowledged.
        var saturated: Bool { Double(offered) > Double(acked) * 1.05 }
        /// What limited the acknowledged rate, in words.
        func limit(cores: Int) -> String {
            let serveCores = window > 0 ? serveCPU / window : 0, loggerCores = window > 0 ? loggersCPU / window : 0
            let use = String(format: "serve %.2f cores, loggers %.2f cores, machine %.0f %% busy of %d cores", serveCores, loggerCores, machineBusy * 100, cores)
            if !saturated { return "limited by the loggers' offered rate (\(Int(offeredPerSecond))/s): serve was not saturated; \(use)" }
            if machineBusy >= 0.9 { return "serve saturated, limited by CPU (the machine was busy): \(use)" }
            return "serve saturated without a busy machine (waits: commits, acks): \(use)"
        }
        /// The platform's CPU per acknowledged packet, in microseconds: unlike packets/s, it does not
        /// move with what else the machine runs.
        var cpuPerAck: Double { acked > 0 ? serveCPU / Double(acked) * 1e6 : .infinity }
    }

    /// CPU seconds (user + system) a process has used, from /proc/PID/stat.
    static func cpuSeconds(_ pid: Int32) -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        // Fields after the command name: state is field 3; utime and stime are fields 14 and 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let u = Double(fields[11]), let s = Double(fields[12]) else { return nil }
        return (u + s) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    func run(_ io: CommandIO) -> Int32 {
        #if DEBUG
        io.stderr.line("hj212 bench: warning: this is a debug build; use 'swift run -c release hj212 bench store'.")
        #endif
        let limit = (try? ProcessSetup.prepareForNetworking()) ?? 1024
        guard loggers + 64 <= limit else {
            io.stderr.line("hj212 bench store: \(loggers) loggers need \(loggers + 64) file descriptors; the limit here is \(limit)")
            return 2
        }
        let directory = NSTemporaryDirectory() + "hj212-bench-store-\(getpid())"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let db = directory + "/bench.db"
        guard let plain = phase(io, label: "without store", extra: []) else { return 2 }
        guard let stored = phase(io, label: "with --store", extra: ["--store", db, "--durability", durability]) else { return 2 }
        io.clearProgress()
        io.stdout.line("hj212 bench store: \(loggers) loggers (\(unit)) in this process, hj212 serve in another, loopback, \(threads) loop thread(s) each, speed \(Int(speed))x, \(Int(seconds)) s windows")
        let cores = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        let throughput = stored.perSecond / max(1, plain.perSecond), cost = plain.cpuPerAck / stored.cpuPerAck
        io.stdout.line("  serve                \(Int(plain.perSecond)) acknowledged packets/s (\(plain.connected) connected, \(plain.acked) acks)")
        io.stdout.line("                       \(plain.limit(cores: cores))")
        io.stdout.line("  serve --store        \(Int(stored.perSecond)) acknowledged packets/s (\(stored.connected) connected, \(stored.acked) acks; durability \(durability))")
        io.stdout.line("                       \(stored.limit(cores: cores))")
        io.stdout.line("  throughput ratio     \(String(format: "%.2f", throughput))x")
        io.stdout.line("  serve CPU per ack    \(String(format: "%.1f", plain.cpuPerAck)) µs without store, \(String(format: "%.1f", stored.cpuPerAck)) µs with --store: cost ratio \(String(format: "%.2f", cost))x (the throughput ratio when serve's CPU is the limit)")
        // The target is judged at saturation: a ratio of two rates the loggers set says nothing.
        if plain.saturated && stored.saturated {
            io.stdout.line("  target ≥ 0.70x       \(throughput >= 0.7 ? "met" : "NOT met"): \(String(format: "%.2f", throughput))x, both phases saturated (the loggers' backlog grew in each)")
        } else if plain.saturated {
            io.stdout.line("  target ≥ 0.70x       \(throughput >= 0.7 ? "met" : "NOT met"): \(String(format: "%.2f", throughput))x; serve without a store was saturated, serve --store was not (it kept up with the loggers)")
        } else {
            io.stdout.line("  target ≥ 0.70x       not judged: serve without a store was not saturated (the loggers' rate set both figures); raise --speed. The CPU cost ratio, \(String(format: "%.2f", cost))x, estimates the saturated ratio")
        }
        if let store = try? Store(path: db, readOnly: true), let counts = try? store.counts() {
            io.stdout.line("  store                \(counts.packets) packets, \(counts.records) records, \(counts.values) values, \(counts.units) units")
        }
        return plain.connected == loggers && stored.connected == loggers ? 0 : 1
    }

    /// Busy and total CPU time of the machine (jiffies, from the first line of /proc/stat).
    static func machineTimes() -> (busy: Double, total: Double)? {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8), let line = stat.split(separator: "\n").first else { return nil }
        let v = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard v.count >= 5 else { return nil }
        let total = v.prefix(8).reduce(0, +)
        return (total - v[3] - v[4], total)  // idle and iowait are not busy
    }

    /// Whether the process exists and is not a zombie.
    static func alive(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        return !stat[close...].hasPrefix(") Z")
    }

    /// One measurement: a fresh serve with `extra` arguments, fresh loggers, settle, window.
    func phase(_ io: CommandIO, label: String, extra: [String]) -> Phase? {
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/proc/self/exe")
        server.arguments = ["serve", "--listen", "127.0.0.1:0", "--threads", String(threads)] + extra
        let pipe = Pipe()
        server.standardOutput = pipe
        // Its errors go to a file, shown when the phase ends without its loggers connected.
        let errors = NSTemporaryDirectory() + "hj212-bench-store-\(getpid())-serve-\(label.filter(\.isLetter)).err"
        _ = FileManager.default.createFile(atPath: errors, contents: nil)
        server.standardError = FileHandle(forWritingAtPath: errors) ?? FileHandle.nullDevice
        defer { try? FileManager.default.removeItem(atPath: errors) }
        do { try server.run() } catch {
            io.stderr.line("hj212 bench store: cannot start the platform: \(error)")
            return nil
        }
        let pid = server.processIdentifier
        // The platform of a phase is gone before the next phase starts: SIGINT, then at most 30 s
        // for its summary, then SIGKILL (it must not take CPU from the next phase).
        defer {
            kill(pid, SIGINT)
            let deadline = monotonicSeconds() + 30
            while Self.alive(pid) && monotonicSeconds() < deadline { usleep(50_000) }
            if Self.alive(pid) { kill(pid, SIGKILL) }
            while Self.alive(pid) && monotonicSeconds() < deadline + 5 { usleep(50_000) }
        }
        var firstLine = ""
        while !firstLine.contains("\n") {
            let d = pipe.fileHandleForReading.availableData
            if d.isEmpty { break }
            firstLine += String(decoding: d, as: UTF8.self)
        }
        let reader = pipe.fileHandleForReading
        Thread.detachNewThread { while !reader.availableData.isEmpty {} }
        guard let range = firstLine.range(of: "listening on "),
              let address = try? SocketAddress(parsing: String(firstLine[range.upperBound...].prefix { $0 != "," && $0 != "\n" })),
              let template = try? UnitTemplate.load(unit),
              let group = try? EventLoopGroup(threads: threads, name: "bench") else {
            io.stderr.line("hj212 bench store: the platform did not start: \(firstLine)")
            return nil
        }
        defer { group.shutdown() }
        let start = LiveClock.wallNow(offsetMinutes: SimClock.chinaOffsetMinutes)
        let clock = LiveClock(start: start, speed: speed)
        var sessionOptions = LoggerSession.Options()
        sessionOptions.timeScale = speed
        var live: [LiveLogger] = []
        for i in 0..<loggers {
            let hex = String(i, radix: 16, uppercase: true)
            let mn = "0100BE00000000" + String(repeating: "0", count: 10 - hex.count) + hex
            guard let sim = try? UnitSimulator(template: template, identity: LoggerIdentity(mn: mn, pw: "123456"), seed: 1, start: start) else { continue }
            let skew = Int64(i) * Int64(template.rtdIntervalSeconds) * 1000 / Int64(loggers)
            let l = i % group.loops.count
            live.append(LiveLogger(loop: group.loops[l], device: LoggerDevice(simulator: sim), platforms: [address], clock: clock,
                                   produceUntil: .max, sessionOptions: sessionOptions, trace: nil, latency: LoopLatency(), skew: skew))
        }
        defer { LiveSetup.stop(live) }
        let t0 = monotonicSeconds()
        for l in live { l.start() }
        var reports = LiveSetup.collect(live)
        while reports.filter(\.connected).count < live.count && monotonicSeconds() - t0 < 60 && !Interrupts.requested {
            usleep(200_000)
            reports = LiveSetup.collect(live)
            io.progress("bench store: \(label): \(reports.filter(\.connected).count)/\(live.count) connected")
        }
        LiveBenchmark.settle(live, loggers: loggers, label: "bench store: \(label)", io: io)
        let a0 = LiveSetup.collect(live)
        let cpu0 = Self.cpuSeconds(pid), self0 = Self.cpuSeconds(getpid()), machine0 = Self.machineTimes()
        let m0 = monotonicSeconds()
        while monotonicSeconds() - m0 < seconds && !Interrupts.requested {
            usleep(500_000)
            let r = LiveSetup.collect(live)
            let acked = r.reduce(0) { $0 + $1.statistics.acknowledged } - a0.reduce(0) { $0 + $1.statistics.acknowledged }
            io.progress("bench store: \(label): \(r.filter(\.connected).count) connected, \(Int(Double(acked) / (monotonicSeconds() - m0))) acks/s")
        }
        let a1 = LiveSetup.collect(live)
        var p = Phase()
        p.window = monotonicSeconds() - m0
        if let c0 = cpu0, let c1 = Self.cpuSeconds(pid) { p.serveCPU = c1 - c0 }
        if let c0 = self0, let c1 = Self.cpuSeconds(getpid()) { p.loggersCPU = c1 - c0 }
        if let m0 = machine0, let m1 = Self.machineTimes(), m1.total > m0.total { p.machineBusy = (m1.busy - m0.busy) / (m1.total - m0.total) }
        p.acked = a1.reduce(0) { $0 + $1.statistics.acknowledged } - a0.reduce(0) { $0 + $1.statistics.acknowledged }
        p.offered = p.acked + a1.reduce(0) { $0 + $1.pending } - a0.reduce(0) { $0 + $1.pending }
        p.connected = a1.filter(\.connected).count
        if p.connected < loggers {
            let text = (try? String(contentsOfFile: errors, encoding: .utf8)) ?? ""
            let alive = Self.alive(pid)
            io.clearProgress()
            io.stderr.line("hj212 bench store: \(label): \(p.connected) of \(loggers) connected at the end; serve \(alive ? "running" : "gone")"
                           + (text.isEmpty ? "" : ": " + TerminalText.safe(String(text.split(separator: "\n").suffix(3).joined(separator: " / ")))))
        }
        return p
    }
}

