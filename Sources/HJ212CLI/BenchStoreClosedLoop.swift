import CPingPong
import Foundation
import Glibc
import HJ212
import HJLoad
import HJNetwork
import HJStore

/// The closed-loop part of `bench store`: the C client of `bench load` (one frame in flight per
/// connection, each connection its own MN, **a new QN and DataTime for every frame**, so that
/// every frame is a new packet and a new record to store) against `serve` and then against
/// `serve --store`. On a 2-core machine the live loggers cost more CPU per packet than serve
/// without a store, so their windows rarely saturate it (session 12: 108k/s, "not judged"); the C
/// client is cheap enough that serve is the limit in both runs, and the ratio of the two rates
/// is the saturated ratio the target asks for.
struct StoreClosedLoop {
    /// One closed-loop run against one platform process.
    struct Run: Equatable {
        var expected = 0
        var connected = 0
        var replies = 0
        var seconds = 0.0
        /// CPU seconds (user + system) the platform used during the window.
        var serveCPU = 0.0
        /// Cores other processes (not serve, not this one) used during the window.
        var otherCores: Double?
        /// Packets in the store after the run (`serve --store` only).
        var stored: Int?
        var perSecond: Double { seconds > 0 ? Double(replies) / seconds : 0 }
    }

    /// What the two runs say about the target.
    enum Verdict: Equatable {
        case met(Double), notMet(Double)
        /// Measured, but on a machine that others used: no judgement.
        case notJudged(String)
        /// The runs do not describe what the target asks.
        case incomplete(String)
        /// The store lost acknowledged packets.
        case failed(String)

        var text: String {
            switch self {
            case .met(let r): String(format: "met: %.2fx (closed loop, serve saturated by the C client in both runs)", r)
            case .notMet(let r): String(format: "NOT met: %.2fx (closed loop, serve saturated by the C client in both runs)", r)
            case .notJudged(let why): "not judged: " + why
            case .incomplete(let why): "incomplete: " + why
            case .failed(let why): "FAILED: " + why
            }
        }
        /// Whether the bench measured what it set out to (its exit status).
        var measured: Bool {
            switch self { case .met, .notMet, .notJudged: true; case .incomplete, .failed: false }
        }
    }

    /// The verdict on the target from the two runs; pure, for tests.
    static func verdict(plain: Run, stored: Run) -> Verdict {
        let target = 0.7, maxOtherCores = StoreBenchFigures.maxOtherCores
        for (r, name) in [(plain, "serve"), (stored, "serve --store")] {
            if r.connected < r.expected { return .incomplete("\(name): \(r.connected) of \(r.expected) connections established") }
            if r.replies == 0 || r.seconds <= 0 { return .incomplete("\(name): nothing acknowledged in the window") }
        }
        guard let held = stored.stored else { return .incomplete("the store could not be read after the run") }
        // Acknowledged means stored: the store must hold at least every packet acknowledged in the
        // window (it also holds those of the warm-up).
        if held < stored.replies {
            return .failed("the store holds \(held) packets, fewer than the \(stored.replies) acknowledged in the window")
        }
        for (r, name) in [(plain, "serve"), (stored, "serve --store")] {
            guard let others = r.otherCores else { return .incomplete("\(name): the machine's CPU use could not be read (/proc)") }
            if others > maxOtherCores {
                return .notJudged(String(format: "other processes used %.2f cores during the %@ run (at most %.2f for a judgement); run on a quiet machine", others, name, maxOtherCores))
            }
        }
        let ratio = stored.perSecond / plain.perSecond
        return ratio >= target ? .met(ratio) : .notMet(ratio)
    }

    var connections: Int
    var seconds: Double
    var threads: Int
    var clientThreads: Int
    var durability: String
    /// Unjudged seconds between the start and the window: the connects (about 2,500 a second
    /// here) and the first commits.
    var warmUpSeconds: Double { 1 + Double(connections) / 2_500 }

    /// The frame the client sends, before each connection's MN and stamps: the unit's first 2011
    /// (real-time data, what a logger sends most; the pool's first entry is a 3020).
    static func frame(unit: String) throws -> [UInt8] {
        let pool = try PayloadPool(unit: unit)
        guard let entry = pool.entries.firstIndex(where: { $0.cn == CommandCode.realTimeData.rawValue }) else {
            throw BenchFrameError(unit: unit)
        }
        var frame: [UInt8] = []
        let qn = Array("20261130080000000".utf8)
        qn.withUnsafeBufferPointer { pool.frame(entry: entry, qn: $0, pw: Array("123456".utf8), mn: Array("0100AD000000000000000000".utf8), into: &frame) }
        return frame
    }

    struct BenchFrameError: Error, CustomStringConvertible {
        let unit: String
        var description: String { "the unit \(unit) sends no 2011 (实时数据) to measure with" }
    }

    /// One run: a fresh `serve` with `extra` arguments, the C client for the warm-up and window.
    func run(frame: [UInt8], extra: [String], store: String?, io: CommandIO) -> Run? {
        guard let child = LoadBenchmark.Child(["serve", "--listen", "127.0.0.1:0", "--threads", String(threads)] + extra, io: io),
              let address = child.address else { return nil }
        // The window's CPU figures are read from another thread when the warm-up ends (the client
        // blocks this one until the window's end).
        final class WindowStart: @unchecked Sendable {
            let lock = NSLock()
            var neighbours: LoadBenchmark.Neighbours?
            var cpu: Double?
        }
        let start = WindowStart(), pid = child.pid, warmUp = warmUpSeconds
        let started = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            usleep(useconds_t(warmUp * 1_000_000))
            let n = LoadBenchmark.Neighbours(server: pid), c = StoreBenchmark.cpuSeconds(pid)
            start.lock.lock(); start.neighbours = n; start.cpu = c; start.lock.unlock()
            started.signal()
        }
        var result = pp_client_result()
        let rc = frame.withUnsafeBufferPointer { f in
            pp_client_run_fresh(address.ipv4, address.port, Int32(connections), f.baseAddress, f.count, warmUpSeconds, seconds, Int32(clientThreads), 1, &result)
        }
        started.wait()
        var run = Run()
        run.expected = connections
        start.lock.lock()
        run.otherCores = start.neighbours?.otherCores()
        if let c0 = start.cpu, let c1 = StoreBenchmark.cpuSeconds(child.pid) { run.serveCPU = c1 - c0 }
        start.lock.unlock()
        // serve --store is stopped with SIGINT so that its writer commits what it holds; the count
        // read afterwards includes that, which is never less than what was acknowledged.
        if store != nil {
            kill(child.pid, SIGINT)
            let deadline = monotonicSeconds() + 30
            while StoreBenchmark.alive(child.pid) && monotonicSeconds() < deadline { usleep(50_000) }
        }
        child.stop()
        guard rc == 0 else {
            io.stderr.line("hj212 bench store: the C client failed: \(NetworkError.systemMessage(-rc))")
            return nil
        }
        run.connected = Int(result.connected)
        run.replies = Int(result.replies)
        run.seconds = result.seconds
        if let store, let s = try? Store(path: store, readOnly: true), let counts = try? s.counts() { run.stored = counts.packets }
        return run
    }

    /// Both runs, their lines and whether they measured what they set out to.
    func measure(unit: String, directory: String, io: CommandIO) -> (lines: [String], measured: Bool) {
        let frame: [UInt8]
        do { frame = try Self.frame(unit: unit) } catch { return (["  target ≥ 0.70x, closed loop: incomplete: \(error)"], false) }
        // Every frame must be a new packet (the store's check of what was acknowledged relies on it).
        guard frame.withUnsafeBufferPointer({ pp_client_base_time($0.baseAddress, $0.count) }) >= 0 else {
            return (["  target ≥ 0.70x, closed loop: incomplete: the \(unit) frame has no 17-digit QN or DataTime to renew per frame"], false)
        }
        let db = directory + "/closed-loop.db"
        io.progress("bench store: closed loop against serve (\(connections) connections)")
        guard let plain = run(frame: frame, extra: [], store: nil, io: io) else { return (["  target ≥ 0.70x, closed loop: incomplete: serve did not start"], false) }
        if Interrupts.requested { return ([], false) }
        io.progress("bench store: closed loop against serve --store (\(connections) connections)")
        guard let stored = run(frame: frame, extra: ["--store", db, "--durability", durability], store: db, io: io) else {
            return (["  target ≥ 0.70x, closed loop: incomplete: serve --store did not start"], false)
        }
        io.clearProgress()
        return (Self.lines(plain: plain, stored: stored, connections: connections, warmUp: warmUpSeconds, durability: durability), Self.verdict(plain: plain, stored: stored).measured)
    }

    static func lines(plain: Run, stored: Run, connections: Int, warmUp: Double, durability: String) -> [String] {
        func describe(_ r: Run, _ name: String, _ extra: String) -> String {
            let pad = name.padding(toLength: 19, withPad: " ", startingAt: 0)
            let cpu = r.replies > 0 && r.seconds > 0 ? String(format: ", serve %.1f µs CPU per ack", r.serveCPU / Double(r.replies) * 1e6) : ""
            return "    \(pad)\(Int(r.perSecond)) acknowledged/s (\(r.connected) of \(r.expected) connected\(extra)\(cpu); \(LoadBenchmark.Neighbours.describe(r.otherCores)))"
        }
        var lines = ["  closed loop, C client: \(connections) connections, one frame in flight each, a new QN and DataTime per frame, \(String(format: "%.0f", warmUp)) s warm-up"]
        lines.append(describe(plain, "serve", ""))
        lines.append(describe(stored, "serve --store", "; durability \(durability)" + (stored.stored.map { "; \($0) packets stored" } ?? "")))
        if plain.perSecond > 0 { lines.append(String(format: "    ratio              %.2fx", stored.perSecond / plain.perSecond)) }
        lines.append("  target ≥ 0.70x, closed loop: " + verdict(plain: plain, stored: stored).text)
        return lines
    }
}
