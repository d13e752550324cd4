import CPingPong
import Foundation
import Glibc
import HJ212
import HJLoad
import HJNetwork

/// `hj212 bench load`: acknowledged packets per second of the `hj212 load` driver against
/// `hj212 serve`, beside a minimal C epoll ping-pong (C client, C server answering each frame with
/// a 9014) measured in the same run over the same number of connections with the same frame; and
/// the driver against the C server, to show which side limits.
struct LoadBenchmark {
    var loggers: Int
    var seconds: Double
    var threads: Int
    var ramp: Double

    /// What processes other than this one and its server child used of the machine during a
    /// closed-loop row, in cores: a ratio between two rows measured while neighbours took
    /// different shares says more about the neighbours than about serve (session 11: 0.39 beside
    /// the fuzz campaigns, 0.48–0.70 without). Above `maxOtherCores` the row is marked.
    struct Neighbours {
        static let maxOtherCores = 0.25
        let machine: (busy: Double, total: Double, stolen: Double)?
        let ours: Double?
        let server: Double?
        let start: Double
        let pid: Int32

        init(server pid: Int32) {
            self.pid = pid
            machine = StoreBenchmark.machineTimes()
            ours = StoreBenchmark.cpuSeconds(getpid())
            server = StoreBenchmark.cpuSeconds(pid)
            start = monotonicSeconds()
        }

        /// Cores used by other processes since `init`, or nil when /proc could not be read.
        func otherCores() -> Double? {
            let window = monotonicSeconds() - start
            guard window > 0, let m0 = machine, let m1 = StoreBenchmark.machineTimes(), m1.total > m0.total,
                  let o0 = ours, let o1 = StoreBenchmark.cpuSeconds(getpid()),
                  let s0 = server, let s1 = StoreBenchmark.cpuSeconds(pid) else { return nil }
            return Self.otherCores(busyShare: (m1.busy - m0.busy) / (m1.total - m0.total), cores: Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))),
                                   oursCPU: o1 - o0, serverCPU: s1 - s0, window: window)
        }

        /// The machine's busy cores (its busy share of all cores) less what this process and the
        /// server used (CPU seconds over `window` seconds), never below zero.
        static func otherCores(busyShare: Double, cores: Int, oursCPU: Double, serverCPU: Double, window: Double) -> Double {
            max(0, busyShare * Double(cores) - (oursCPU + serverCPU) / window)
        }

        static func describe(_ cores: Double?) -> String {
            guard let cores else { return "other processes: unknown" }
            return "other processes \(LoadFormat.fixed(cores, 2)) cores" + (cores > maxOtherCores ? " (a shared machine: not evidence)" : "")
        }
    }

    /// A child process of ours (`serve` or the C ping-pong server) on a free loopback port.
    final class Child {
        let process = Process()
        var address: SocketAddress?

        init?(_ arguments: [String], io: CommandIO) {
            process.executableURL = URL(fileURLWithPath: "/proc/self/exe")
            process.arguments = arguments
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = FileHandle.nullDevice
            do { try process.run() } catch {
                io.stderr.line("hj212 bench load: cannot start \(arguments.first ?? "?"): \(error)")
                return nil
            }
            // The first line names the address; wait at most 10 s for it.
            let reader = pipe.fileHandleForReading
            let deadline = monotonicSeconds() + 10
            var text = ""
            while !text.contains("\n") && monotonicSeconds() < deadline {
                let d = reader.availableData
                if d.isEmpty { break }
                text += String(decoding: d, as: UTF8.self)
            }
            // Keep draining its output (serve announces every logger) so that it never blocks.
            Thread.detachNewThread { while !reader.availableData.isEmpty {} }
            guard let range = text.range(of: "listening on "),
                  let a = try? SocketAddress(parsing: String(text[range.upperBound...].prefix { $0 != "," && $0 != "\n" })) else {
                io.stderr.line("hj212 bench load: \(arguments.first ?? "?") did not start: \(text)")
                stop()
                return nil
            }
            address = a
        }

        var pid: Int32 { process.processIdentifier }

        func stop() {
            guard process.isRunning else { return }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// `hj212 bench pingpong-server`: the C server in this process until killed (or the parent dies).
    static func runPingPongServer(threads: Int, io: CommandIO) -> Int32 {
        pp_die_with_parent()
        var port: UInt16 = 0
        let r = pp_server_start(0, Int32(threads), &port)
        guard r == 0 else {
            io.stderr.line("pingpong-server: cannot listen: \(NetworkError.systemMessage(-r))")
            return 2
        }
        io.stdout.line("pingpong-server: listening on 127.0.0.1:\(port)")
        io.stdout.flush()
        while !Interrupts.requested { usleep(200_000) }
        pp_server_stop()
        return 0
    }

    /// Seconds of unjudged sending at each step's rate between the connects and the window.
    static let warmUpSeconds = 3.0

    /// Which of the step's conditions a run missed, in words.
    /// Issue 17's target as the steps judge it: serve **holds** the step offered at 0.75 of the C
    /// ping-pong's rate (at least 98 % of it acknowledged inside the window, p99 from the schedule
    /// under 1 s, at most 0.1 % unacknowledged). What a held step acknowledges inside its window is
    /// up to 2 % below what it offered by that rule, so the acknowledged rate of a held 0.75 step
    /// reads 0.735–0.75 of the baseline: the line gives it beside the step, and judges the step
    /// (as issue 17's "today 0.50" was the step at 0.50 held with 0.495 acknowledged). Not
    /// evidence when other processes used the machine during the baseline or the closed loop.
    static func sustainedLine(loggers: Int, baseline: Double, serve: (held: Double, acked: Double),
                              driver: (held: Double, acked: Double), shared: Bool) -> String {
        func step(_ s: (held: Double, acked: Double)) -> String {
            s.held > 0 ? "holds the step at \(LoadFormat.fixed(s.held, 2)) of the baseline (\(LoadFormat.number(s.acked.rounded())) acked/s in the window = \(LoadFormat.fixed(s.acked / baseline, 2)))"
                : "held no step (not even 0.25 of the baseline)"
        }
        let verdict = shared ? "not judged: other processes used the machine (run on a quiet machine)"
            : serve.held >= 0.75 ? "met" : "NOT met"
        return "sustained with \(loggers) loggers: hj212 serve \(step(serve)); target: the step at 0.75 holds (issue 17): \(verdict); "
            + "the driver alone (→ C server) \(step(driver))"
    }

    static func failureCauses(_ r: LoadReport, rate: Double, loggers: Int) -> [String] {
        var causes: [String] = []
        if r.ackedPerSecond < 0.98 * rate {
            causes.append("acknowledged in the window \(LoadFormat.number(r.ackedPerSecond.rounded()))/s = \(LoadFormat.fixed(100 * r.ackedPerSecond / max(1, rate), 1)) % of offered (needs ≥ 98 %)")
        }
        if r.latency.total == 0 { causes.append("nothing acknowledged") }
        else if r.latency.percentile(99) >= 1_000_000 { causes.append("p99 from schedule \(LoadFormat.latency(r.latency.percentile(99))) (needs < 1 s)") }
        if r.counts.unacked * 1000 > r.counts.scheduled {
            causes.append("\(r.counts.unacked) unacknowledged of \(r.counts.scheduled) scheduled (needs ≤ 0.1 %)")
        }
        if r.counts.maxConnections != UInt64(loggers) { causes.append("\(r.counts.maxConnections) of \(loggers) connected at most") }
        if !r.errors.isEmpty { causes.append("errors: " + r.errors.keys.sorted().prefix(3).map { TerminalText.safe($0) }.joined(separator: ", ")) }
        return causes.isEmpty ? ["interrupted"] : causes
    }

    func run(_ io: CommandIO) -> Int32 {
        #if DEBUG
        io.stderr.line("hj212 bench: warning: this is a debug build; use 'swift run -c release hj212 bench load'.")
        #endif
        let limit = ProcessSetup.prepareDescriptors()
        let loggers = min(self.loggers, limit.connectionsThatFit())
        if let line = limit.boundMessage(connections: self.loggers) { io.stdout.line("hj212 bench load: \(line)") }
        guard loggers > 0 else { return 2 }
        let pool: PayloadPool
        do { pool = try PayloadPool(unit: "industrial-wastewater") } catch {
            io.stderr.line("hj212 bench load: \(error)")
            return 2
        }
        // The closed loop's frame: the unit's first 2011 (实时数据, what a logger sends most),
        // with a new QN and DataTime in every frame a connection sends (`pp_client_run_fresh`), so
        // that serve takes each as a new packet and a new record, as `bench store` does. Until
        // session 13 it was the pool's first entry (a 3020 information upload), the same bytes
        // every time.
        let frame: [UInt8]
        do { frame = try StoreClosedLoop.frame(unit: "industrial-wastewater") } catch {
            io.stderr.line("hj212 bench load: \(error)")
            return 2
        }

        io.stdout.line("hj212 bench load: \(loggers) connections on loopback, client and server in two processes on this machine (\(sysconf(Int32(_SC_NPROCESSORS_ONLN))) cores), \(threads) event-loop thread(s) each; closed-loop frame \(frame.count) bytes (CN 2011, industrial-wastewater, a new QN and DataTime each); \(LoadFormat.fixed(seconds, 0)) s windows, each after a \(LoadFormat.fixed(Self.warmUpSeconds, 0)) s warm-up at the step's rate that is not judged (sent after the connects, not counted)")
        io.stdout.line("  " + "run".padding(toLength: 44, withPad: " ", startingAt: 0) + "offered/s".leftPad(11) + "acked/s".leftPad(11) + "of baseline".leftPad(13) + "   p50 / p99 from schedule, unacked")
        io.stdout.flush()

        // 1. Baseline: C client, C server, one frame in flight per connection.
        guard let cServer = Child(["bench", "pingpong-server", "--threads", String(threads)], io: io), let cAddress = cServer.address else { return 2 }
        var result = pp_client_result()
        let baselineNeighbours = Neighbours(server: cServer.pid)
        let rc = frame.withUnsafeBufferPointer { f in
            pp_client_run_fresh(cAddress.ipv4, cAddress.port, Int32(loggers), f.baseAddress, f.count, max(3, ramp), seconds, Int32(threads), 1, &result)
        }
        guard rc == 0, result.connected > 0 else {
            cServer.stop()
            io.stderr.line("hj212 bench load: the baseline client failed (\(result.connected) connected, \(result.failed) failed)")
            return 2
        }
        let baselineOthers = baselineNeighbours.otherCores()
        let baseline = Double(result.replies) / result.seconds
        io.stdout.line("  " + "C ping-pong: C client → C server".padding(toLength: 44, withPad: " ", startingAt: 0) + "closed".leftPad(11)
                       + LoadFormat.number(baseline.rounded()).leftPad(11) + "1.00".leftPad(13) + "   (\(result.connected) connected, one frame in flight each; \(Neighbours.describe(baselineOthers)))")
        io.stdout.flush()
        cServer.stop()
        if Interrupts.requested { return Interrupts.exitStatus }

        // 1b. The same C client against hj212 serve: the platform's capacity in the baseline's own
        // closed loop, without the Swift driver's cost (the driver alone holds about 0.75 of the
        // baseline on a 2-core machine, so it cannot show more than that of serve).
        guard let serveChild = Child(["serve", "--listen", "127.0.0.1:0", "--threads", String(threads)], io: io),
              let serveAddress = serveChild.address else { return 2 }
        var served = pp_client_result()
        let servedNeighbours = Neighbours(server: serveChild.pid)
        let servedRC = frame.withUnsafeBufferPointer { f in
            pp_client_run_fresh(serveAddress.ipv4, serveAddress.port, Int32(loggers), f.baseAddress, f.count, max(3, ramp), seconds, Int32(threads), 1, &served)
        }
        let servedOthers = servedNeighbours.otherCores()
        serveChild.stop()
        let closedLoop: Double? = servedRC == 0 && served.connected == Int32(loggers) ? Double(served.replies) / served.seconds : nil
        io.stdout.line("  " + "C client → hj212 serve".padding(toLength: 44, withPad: " ", startingAt: 0) + "closed".leftPad(11)
                       + (closedLoop.map { LoadFormat.number($0.rounded()) } ?? "-").leftPad(11)
                       + (closedLoop.map { LoadFormat.fixed($0 / baseline, 2) } ?? "incomplete").leftPad(13)
                       + "   (\(served.connected) of \(loggers) connected, one frame in flight each; \(Neighbours.describe(servedOthers)))")
        io.stdout.flush()
        if Interrupts.requested { return Interrupts.exitStatus }

        func drive(_ address: SocketAddress, rate: Double, label: String) -> LoadReport {
            var c = LoadConfiguration(targets: [address], totalLoggers: loggers, pools: [pool])
            c.cadence = .rate(rate)
            c.duration = .milliseconds(Int64(seconds * 1000))
            c.ramp = .milliseconds(Int64(ramp * 1000))
            c.warmUp = .milliseconds(Int64(Self.warmUpSeconds * 1000))
            c.threads = threads
            c.drainTimeout = .seconds(3)
            c.ackTimeout = .seconds(10)
            c.maxOutstanding = 64
            let r = LoadRun(c).run(progress: { p in
                io.progress("bench load: \(label): \(p.phase.rawValue) \(Int(p.elapsed)) s, \(p.openConnections) connected, acked \(p.last.map { String($0.acked) } ?? "-")/s")
            }, shouldStop: { Interrupts.requested })
            io.clearProgress()
            return r
        }
        func row(_ label: String, _ r: LoadReport, rate: Double) {
            let acked = r.ackedPerSecond
            let lat = r.latency.total > 0 ? "\(LoadFormat.latency(r.latency.percentile(50))) / \(LoadFormat.latency(r.latency.percentile(99)))" : "-"
            io.stdout.line("  " + label.padding(toLength: 44, withPad: " ", startingAt: 0) + LoadFormat.number(rate.rounded()).leftPad(11)
                           + LoadFormat.number(acked.rounded()).leftPad(11) + LoadFormat.fixed(acked / baseline, 2).leftPad(13)
                           + "   \(lat), unacked \(r.counts.unacked) (\(LoadFormat.percent(r.counts.unacked, of: r.counts.scheduled)) of scheduled), \(r.counts.maxConnections) connected")
            io.stdout.flush()
        }

        // 2. The driver against the C server (its own ceiling), then against hj212 serve: the open
        // schedule at rising fractions of the baseline, a fresh server for each step (a server
        // left over would still be reading the previous step's backlog). A step holds when at least
        // 98 % of the offered rate was acknowledged in the window, p99 from the schedule < 1 s and
        // at most 0.1 % went unacknowledged; the search stops at the first step that does not.
        func search(_ label: String, _ arguments: [String]) -> (best: Double, held: Double, report: LoadReport?)? {
            var best = 0.0
            var held = 0.0
            var bestReport: LoadReport?
            for fraction in [0.25, 0.5, 0.6, 0.75, 0.9, 1.0, 1.25, 1.5, 2.0] {
                let rate = (baseline * fraction).rounded()
                // A logger sends at most once a millisecond (its QN is the scheduled millisecond).
                if rate > Double(loggers) * LoadConfiguration.maxRatePerLogger {
                    io.stdout.line("  \(label): \(LoadFormat.number(rate))/s is over 1000 packets/s per logger with \(loggers) loggers; the search stops here (use more --loggers)")
                    break
                }
                guard let child = Child(arguments, io: io), let a = child.address else { return nil }
                let r = drive(a, rate: rate, label: "\(label) at \(LoadFormat.number(rate))/s")
                child.stop()
                let holds = r.ackedPerSecond >= 0.98 * rate && r.latency.total > 0 && r.latency.percentile(99) < 1_000_000
                    && r.counts.unacked * 1000 <= r.counts.scheduled && r.counts.maxConnections == UInt64(loggers)
                row("\(label) \(holds ? "holds" : "FAILS")", r, rate: rate)
                if !holds { io.stdout.line("    why: " + Self.failureCauses(r, rate: rate, loggers: loggers).joined(separator: "; ")) }
                if Interrupts.requested || !holds { break }
                best = r.ackedPerSecond
                held = fraction
                bestReport = r
            }
            return (best, held, bestReport)
        }
        guard let driver = search("hj212 load → C server", ["bench", "pingpong-server", "--threads", String(threads)]) else { return 2 }
        if Interrupts.requested { return Interrupts.exitStatus }
        guard let ours = search("hj212 load → hj212 serve", ["serve", "--listen", "127.0.0.1:0", "--threads", String(threads)]) else { return 2 }
        let shared = [baselineOthers, servedOthers].contains { ($0 ?? .infinity) > Neighbours.maxOtherCores }
        io.stdout.line(Self.sustainedLine(loggers: loggers, baseline: baseline, serve: (ours.held, ours.best), driver: (driver.held, driver.best), shared: shared))
        io.stdout.line("closed loop with the baseline's C client: hj212 serve "
                       + (closedLoop.map { "\(LoadFormat.number($0.rounded())) acked/s = \(LoadFormat.fixed($0 / baseline, 2)) of the C server" } ?? "incomplete (\(served.connected) of \(loggers) connected)")
                       + (shared ? "; other processes used the machine during these rows (more than \(LoadFormat.fixed(Neighbours.maxOtherCores, 2)) cores, or unknown): the ratio is not evidence, run on a quiet machine" : ""))
        return 0
    }
}
