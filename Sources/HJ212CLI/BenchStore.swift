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
        var perSecond: Double { window > 0 ? Double(acked) / window : 0 }
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
        io.stdout.line("  serve                \(Int(plain.perSecond)) acknowledged packets/s (\(plain.connected) connected, \(plain.acked) acks)")
        io.stdout.line("  serve --store        \(Int(stored.perSecond)) acknowledged packets/s (\(stored.connected) connected, \(stored.acked) acks; durability \(durability))")
        io.stdout.line("  ratio                \(String(format: "%.2f", stored.perSecond / max(1, plain.perSecond)))x (target ≥ 0.70)")
        io.stdout.line("  serve CPU per ack    \(String(format: "%.1f", plain.cpuPerAck)) µs without store, \(String(format: "%.1f", stored.cpuPerAck)) µs with --store: cost ratio \(String(format: "%.2f", plain.cpuPerAck / stored.cpuPerAck))x (the throughput ratio when serve's CPU is the limit)")
        if let store = try? Store(path: db, readOnly: true), let counts = try? store.counts() {
            io.stdout.line("  store                \(counts.packets) packets, \(counts.records) records, \(counts.values) values, \(counts.units) units")
        }
        return plain.connected == loggers && stored.connected == loggers ? 0 : 1
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
        let cpu0 = Self.cpuSeconds(pid)
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
        p.acked = a1.reduce(0) { $0 + $1.statistics.acknowledged } - a0.reduce(0) { $0 + $1.statistics.acknowledged }
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

/// `hj212 bench roster`: the sample city (520 units) for `days` simulated days written into a
/// fresh store (with `hoursOnly`, only its hour and day records, CN 2061 and 2031: what the roster
/// reads; otherwise everything a platform would store), then the roster of that period timed
/// against a baseline in the same run: a bare SQLite scan of the same hour records without
/// judging them. The units are generated on one thread per core, each writing its own batches.
struct RosterBenchmark {
    var days: Int
    var hoursOnly = false
    var fleetName = "sample-city"
    /// The model time slice with `hoursOnly` (the templates' own is 5 s).
    static let hoursOnlySampleSeconds = 60

    /// What the generating threads share.
    final class Shared: Sendable {
        let failure = Mutex<StoreError?>(nil)
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
            if hoursOnly {
                // Only the hour and day records are kept, so the models are stepped once a minute
                // (not every 5 s) and the real-time and minute packets, which are dropped, are
                // made once an hour: a month of the city in minutes instead of hours.
                for name in Array(fleet.templates.keys) { fleet.templates[name]!.sampleSeconds = Self.hoursOnlySampleSeconds }
                options.rtdIntervalSeconds = 3600
                options.minIntervalMinutes = 60
            }
            let all = try FleetGenerator(fleet: fleet, seed: 1, start: start, options: options).simulators
            let store = try Store(path: path)
            let threads = max(1, min(4, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))))
            let shared = Shared(threads: threads, start: start)
            let hoursOnly = self.hoursOnly
            let g0 = monotonicSeconds()
            let chunks = (0..<threads).map { t in Array(all[(all.count * t / threads)..<(all.count * (t + 1) / threads)]) }
            nonisolated(unsafe) let progressIO = io  // written by thread 0 only
            DispatchQueue.concurrentPerform(iterations: threads) { t in
                var generator = FleetGenerator(simulators: chunks[t])
                var journal = PlatformJournal()
                func flush() {
                    var batch = StoreBatch()
                    batch.add(journal)
                    journal = PlatformJournal()
                    do { try store.write(batch) } catch { shared.failure.withLock { $0 = $0 ?? error } }
                }
                generator.run(until: end, block: 3_600_000, shouldContinue: { now in
                    let slowest = shared.progress.withLock { p in p[t] = now; return p.min() ?? now }
                    if t == 0 {
                        progressIO.progress("bench roster: generating\(hoursOnly ? " (hour and day records only)" : ""), \(HJTime(wallMilliseconds: slowest).description)")
                    }
                    return shared.failure.withLock({ $0 == nil }) && !Interrupts.requested
                }) { _, p in
                    if hoursOnly && p.cn != "2061" && p.cn != "2031" { return }
                    journal.packets.append(.init(frame: FrameEncoder.frame(segmentBytes: p.bytes), segment: p.segment, time: p.time, peer: "bench"))
                    if p.segment.header("PNUM") == nil { journal.records.append(.init(packet: journal.packets.count - 1, segment: p.segment, time: p.time)) }
                    if journal.packets.count >= 20_000 { flush() }
                }
                flush()
            }
            if let failure = shared.failure.withLock({ $0 }) { throw failure }
            if Interrupts.requested { return Interrupts.exitStatus }
            let generateSeconds = monotonicSeconds() - g0
            let counts = try store.counts()
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
            io.stdout.line("hj212 bench roster: \(fleetName), \(fleet.units.count) units, \(days) simulated day(s) from 2026-11-01"
                           + (hoursOnly ? "; the store keeps only the hour and day records (CN 2061, 2031: what the roster reads), not the real-time and minute data; models sampled every \(Self.hoursOnlySampleSeconds) s" : ""))
            io.stdout.line("  store                \(counts.packets) packets, \(counts.records) records, \(counts.values) values, \(Int(size.st_size) / 1_048_576) MiB (written in \(String(format: "%.1f", generateSeconds)) s with generation)")
            io.stdout.line("  baseline scan        \(String(format: "%.3f", baseline)) s (\(scanned) hour records read, not judged)")
            io.stdout.line("  roster               \(String(format: "%.3f", rosterSeconds)) s (gather, judge, CSV \(csv.utf8.count / 1024) KiB, HTML \(html.utf8.count / 1024) KiB)")
            io.stdout.line("  ratio                \(String(format: "%.2f", rosterSeconds / max(baseline, 1e-6)))x the baseline scan")
            return 0
        } catch {
            io.stderr.line("hj212 bench roster: \(error)")
            return 1
        }
    }
}
