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
    /// Event-loop threads of the loggers (this process): more than serve's, so that the loggers
    /// can offer more than serve takes (the target compares saturated with saturated).
    var loggerThreads: Int
    /// Which parts run: the live loggers' windows, the C client's closed loop, or both.
    var parts: Parts = .both
    /// Pairs of the loggers' windows (serve, then serve --store), run one after the other; with
    /// more than one, the verdict is on the median of their ratios (`StoreBenchFigures.summary`).
    var rounds = 1

    enum Parts: String, CaseIterable { case both, loggers, closedLoop = "closed-loop" }

    struct Phase: Equatable {
        var connected = 0
        var acked = 0
        var window = 0.0
        /// CPU seconds (user + system) the platform process used during the window.
        var serveCPU = 0.0
        /// Of which its event loops' threads (`platform-N`: read, parse, lint, session, acks);
        /// the rest is the store's writer and the other threads.
        var serveLoopsCPU = 0.0
        /// Packets the loggers made during the window: acknowledged plus the growth of their backlog.
        var offered = 0
        /// CPU seconds this process (the loggers) used during the window.
        var loggersCPU = 0.0
        /// Share of the machine's CPU time that was busy during the window (all processes).
        var machineBusy = 0.0
        /// Of which stolen by the hypervisor (a virtual machine's neighbours: /proc/stat's steal).
        var machineStolen = 0.0
        var perSecond: Double { window > 0 ? Double(acked) / window : 0 }
        var offeredPerSecond: Double { window > 0 ? Double(offered) / window : 0 }
        /// serve could not keep up: the loggers' backlog grew by more than 5 % of what was acknowledged.
        var saturated: Bool { Double(offered) > Double(acked) * 1.05 }
        /// What limited the acknowledged rate, in words.
        func limit(cores: Int) -> String {
            let serveCores = window > 0 ? serveCPU / window : 0, loggerCores = window > 0 ? loggersCPU / window : 0
            var use = String(format: "serve %.2f cores, loggers %.2f cores, machine %.0f %% busy of %d cores", serveCores, loggerCores, machineBusy * 100, cores)
            if machineStolen >= 0.005 { use += String(format: " (%.0f %% of the machine's time stolen by the hypervisor)", machineStolen * 100) }
            if !saturated { return "limited by the loggers' offered rate (\(Int(offeredPerSecond))/s): serve was not saturated; \(use)" }
            if machineBusy >= 0.9 { return "serve saturated, limited by CPU (the machine was busy): \(use)" }
            return "serve saturated without a busy machine (waits: commits, acks): \(use)"
        }
        /// The platform's CPU per acknowledged packet, in microseconds: unlike packets/s, it does not
        /// move with what else the machine runs.
        var cpuPerAck: Double { acked > 0 ? serveCPU / Double(acked) * 1e6 : .infinity }
        /// The event loops' share of it.
        var loopsPerAck: Double { acked > 0 ? serveLoopsCPU / Double(acked) * 1e6 : .infinity }
    }

    /// CPU seconds of a process's threads named `platform-N` (its event loops), from
    /// /proc/PID/task/TID/stat (a thread that ended is not counted: none ends during a window).
    static func loopsCPUSeconds(_ pid: Int32) -> Double? {
        guard let tids = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task") else { return nil }
        var sum = 0.0
        for tid in tids {
            let path = "/proc/\(pid)/task/\(tid)/stat"
            guard let stat = try? String(contentsOfFile: path, encoding: .utf8), stat.contains("(platform-") else { continue }
            sum += cpuSeconds(path: path) ?? 0
        }
        return sum
    }

    /// CPU seconds (user + system) a process has used, from /proc/PID/stat.
    static func cpuSeconds(_ pid: Int32) -> Double? { cpuSeconds(path: "/proc/\(pid)/stat") }

    static func cpuSeconds(path: String) -> Double? {
        guard let stat = try? String(contentsOfFile: path, encoding: .utf8),
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
        var valid = true
        if parts != .closedLoop {
            let cores = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
            var done: [(plain: StoreBenchFigures.Outcome, stored: StoreBenchFigures.Outcome)] = []
            for round in 1...rounds {
                // A fresh store file in each round, read for its counts below and then removed.
                let db = directory + "/bench-\(round).db"
                let of = rounds > 1 ? ", round \(round) of \(rounds)" : ""
                guard let plain = phase(io, label: "without store\(of)", extra: []) else { return 2 }
                if Interrupts.requested {
                    if rounds > 1 { io.clearProgress(); io.stdout.line(StoreBenchFigures.interrupted(after: done.count, of: rounds)) }
                    return Interrupts.exitStatus
                }
                guard let stored = phase(io, label: "with --store\(of)", extra: ["--store", db, "--durability", durability]) else { return 2 }
                io.clearProgress()
                if round == 1 {
                    io.stdout.line("hj212 bench store: \(loggers) loggers (\(unit)) in this process on \(loggerThreads) loop thread(s), hj212 serve in another on \(threads), loopback, speed \(Int(speed))x, \(Int(seconds)) s windows\(rounds > 1 ? ", \(rounds) rounds" : "")")
                }
                if rounds > 1 { io.stdout.line("  round \(round) of \(rounds)") }
                for line in StoreBenchFigures.report(plain: plain, stored: stored, durability: durability, cores: cores) { io.stdout.line(line) }
                if rounds == 1, let note = StoreBenchFigures.singleRoundNote(plain: plain, stored: stored, cores: cores) { io.stdout.line(note) }
                if let store = try? Store(path: db, readOnly: true), let counts = try? store.counts() {
                    io.stdout.line("  store                \(counts.packets) packets, \(counts.records) records, \(counts.values) values, \(counts.units) units")
                }
                for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: db + suffix) }
                io.stdout.flush()
                valid = valid && StoreBenchFigures.valid(plain, stored)
                // A round whose window was cut short by Ctrl-C or SIGTERM is printed, not counted.
                if Interrupts.requested {
                    if rounds > 1 { io.stdout.line(StoreBenchFigures.interrupted(after: done.count, of: rounds)) }
                    return Interrupts.exitStatus
                }
                done.append((plain, stored))
            }
            if rounds > 1 {
                for line in StoreBenchFigures.summary(done, cores: cores) { io.stdout.line(line) }
                io.stdout.flush()
            }
            // SQLite's own cost of a row, on this machine, after the windows (nothing else of the
            // bench runs then): the floor under the store's figures above.
            if !Interrupts.requested {
                io.progress("bench store: the SQLite floor (100000 rows)")
                let path = directory + "/floor.db"
                let lines: [String]
                do throws(StoreError) {
                    let floor = try StoreFloor.measure(path: path)
                    let serve = done.compactMap { round -> Double? in
                        if case .measured(let p) = round.plain { return p.cpuPerAck } else { return nil }
                    }
                    lines = StoreBenchFigures.floorLines(floor, serveCPUPerAck: serve)
                } catch {
                    lines = ["  SQLite floor         not measured: \(error.message)"]
                }
                for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
                io.clearProgress()
                for line in lines { io.stdout.line(line) }
                io.stdout.flush()
            }
        }
        if Interrupts.requested { return Interrupts.exitStatus }
        if parts != .loggers {
            if parts == .closedLoop {
                io.stdout.line("hj212 bench store: hj212 serve on \(threads) loop thread(s), the C client of bench load in this process on \(loggerThreads), loopback, \(Int(seconds)) s windows")
            }
            let closed = StoreClosedLoop(connections: loggers, seconds: seconds, threads: threads, clientThreads: loggerThreads, durability: durability)
            let (lines, measured) = closed.measure(unit: unit, directory: directory, io: io)
            for line in lines { io.stdout.line(line) }
            if Interrupts.requested { return Interrupts.exitStatus }
            if !measured { valid = false }
        }
        return valid ? 0 : 1
    }

    /// Busy and total CPU time of the machine (jiffies, from the first line of /proc/stat).
    /// Steal (time the hypervisor gave to other guests) counts as busy: the bench's processes
    /// could not run then either.
    static func machineTimes() -> (busy: Double, total: Double, stolen: Double)? {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8), let line = stat.split(separator: "\n").first else { return nil }
        let v = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard v.count >= 5 else { return nil }
        let total = v.prefix(8).reduce(0, +)
        return (total - v[3] - v[4], total, v.count >= 8 ? v[7] : 0)  // idle and iowait are not busy
    }

    /// Whether the process exists and is not a zombie.
    static func alive(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        return !stat[close...].hasPrefix(") Z")
    }

    /// One measurement: a fresh serve with `extra` arguments, fresh loggers, settle, window.
    func phase(_ io: CommandIO, label: String, extra: [String]) -> StoreBenchFigures.Outcome? {
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
              let group = try? EventLoopGroup(threads: loggerThreads, name: "bench") else {
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
            guard let sim = try? UnitSimulator(template: template, identity: LoggerIdentity(mn: mn, pw: "123456"), seed: 1, start: start, options: .liveBench) else { continue }
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
        let a0 = Self.snapshot(live, expected: loggers)
        let cpu0 = Self.cpuSeconds(pid), loops0 = Self.loopsCPUSeconds(pid), self0 = Self.cpuSeconds(getpid()), machine0 = Self.machineTimes()
        let m0 = monotonicSeconds()
        while monotonicSeconds() - m0 < seconds && !Interrupts.requested {
            usleep(500_000)
            let r = Self.snapshot(live, expected: loggers, timeout: 0.4)
            io.progress("bench store: \(label): \(r.connected) connected, \(Int(Double(r.acknowledged - a0.acknowledged) / (monotonicSeconds() - m0))) acks/s (\(r.answered) of \(loggers) reported)")
        }
        let a1 = Self.snapshot(live, expected: loggers)
        var usage = StoreBenchFigures.Usage()
        usage.window = monotonicSeconds() - m0
        if let c0 = cpu0, let c1 = Self.cpuSeconds(pid) { usage.serveCPU = c1 - c0 }
        if let c0 = loops0, let c1 = Self.loopsCPUSeconds(pid) { usage.serveLoopsCPU = c1 - c0 }
        if let c0 = self0, let c1 = Self.cpuSeconds(getpid()) { usage.loggersCPU = c1 - c0 }
        if let m0 = machine0, let m1 = Self.machineTimes(), m1.total > m0.total {
            usage.machineBusy = (m1.busy - m0.busy) / (m1.total - m0.total)
            usage.machineStolen = (m1.stolen - m0.stolen) / (m1.total - m0.total)
        }
        let outcome = StoreBenchFigures.phase(before: a0, after: a1, usage: usage, speed: speed, loggerThreads: loggerThreads)
        if case .incomplete = outcome {
            let text = (try? String(contentsOfFile: errors, encoding: .utf8)) ?? ""
            let alive = Self.alive(pid)
            io.clearProgress()
            io.stderr.line("hj212 bench store: \(label): \(a1.connected) of \(loggers) connected at the end (\(a1.answered) reported); serve \(alive ? "running" : "gone")"
                           + (text.isEmpty ? "" : ": " + TerminalText.safe(String(text.split(separator: "\n").suffix(3).joined(separator: " / ")))))
        }
        return outcome
    }

    /// Sums over the loggers, each loop summing its own (on its thread). A loop that has not
    /// answered by `timeout` seconds is left out (`answered` says so); its late answer goes to a
    /// box nobody reads any more.
    static func snapshot(_ live: [LiveLogger], expected: Int, timeout: Double = 5) -> StoreBenchFigures.Snapshot {
        final class Box: Sendable { let sums = Mutex(StoreBenchFigures.Snapshot()) }
        let box = Box(), done = DispatchSemaphore(value: 0)
        var byLoop: [ObjectIdentifier: (EventLoop, [LiveLogger])] = [:]
        for l in live { byLoop[ObjectIdentifier(l.loop), default: (l.loop, [])].1.append(l) }
        var waiting = 0
        for (loop, members) in byLoop.values {
            let ok = loop.execute {
                var s = StoreBenchFigures.Snapshot()
                for l in members {
                    s.answered += 1
                    s.behindMs = max(s.behindMs, l.now - l.device.simulator.now)
                    for link in l.links {
                        s.acknowledged += link.session.statistics.acknowledged
                        s.pending += link.session.pendingCount
                        s.connects += link.connects
                        if link.connection != nil { s.connected += 1 }
                    }
                }
                box.sums.withLock { t in
                    t.answered += s.answered; t.connected += s.connected; t.acknowledged += s.acknowledged
                    t.pending += s.pending; t.connects += s.connects; t.behindMs = max(t.behindMs, s.behindMs)
                }
                done.signal()
            }
            if ok { waiting += 1 }
        }
        let deadline = DispatchTime.now() + timeout
        for _ in 0..<waiting where done.wait(timeout: deadline) == .timedOut { break }
        var s = box.sums.withLock { $0 }
        s.expected = expected
        return s
    }
}
