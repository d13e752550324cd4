import Dispatch
import Foundation
import Glibc
import HJ212
import HJNetwork
import HJRoles
import HJSimulation
import Synchronization

/// `hj212 serve` in a child process of a benchmark, on loopback; its RSS read from /proc.
final class ServeChild {
    let process = Process()
    let address: SocketAddress
    private let output: Pipe

    /// Starts `hj212 serve --listen LISTEN EXTRA…` and waits for its `listening on` line.
    init(listen: String = "127.0.0.1:0", extra: [String] = []) throws {
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe")
        process.arguments = ["serve", "--listen", listen] + extra
        output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        var first = ""
        while !first.contains("\n") {
            let d = output.fileHandleForReading.availableData
            if d.isEmpty { break }
            first += String(decoding: d, as: UTF8.self)
        }
        let reader = output.fileHandleForReading
        Thread.detachNewThread { while !reader.availableData.isEmpty {} }
        guard let range = first.range(of: "listening on "),
              let bound = try? SocketAddress(parsing: String(first[range.upperBound...].prefix { $0 != "," && $0 != "\n" })) else {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            throw UsageError("the platform did not start: \(first)", exitCode: 2)
        }
        address = bound
    }

    var residentKiB: Int { LiveBenchmark.residentKiB(pid: process.processIdentifier) }

    /// SIGTERM, then wait (SIGKILL after 30 s); the exit status.
    @discardableResult
    func stop() -> Int32 {
        guard process.isRunning else { return process.terminationStatus }
        kill(process.processIdentifier, SIGTERM)
        let end = monotonicSeconds() + 30
        while process.isRunning && monotonicSeconds() < end { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return process.terminationStatus
    }
}

/// A blocking IPv4 connection from `source` (port chosen by the kernel) to `target`; -1 on failure.
func benchConnect(_ target: SocketAddress, source: UInt32) -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return -1 }
    var local = sockaddr_in()
    local.sin_family = sa_family_t(AF_INET)
    local.sin_addr.s_addr = source.bigEndian
    var one: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    _ = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = target.port.bigEndian
    addr.sin_addr.s_addr = target.ipv4.bigEndian
    let ok = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    if ok != 0 { close(fd); return -1 }
    return fd
}

/// `hj212 bench hostile`: many connections that each send the start of a frame that never ends
/// (`##9999` + bytes) and close; `serve`'s RSS before, after and some seconds later, without a
/// trace and with one (the leak of issue 18 was in the trace), in the same run.
struct HostileBenchmark {
    var connections: Int
    var bytes: Int
    var settle: Double
    var threads: Int

    func run(_ io: CommandIO) -> Int32 {
        #if DEBUG
        io.stderr.line("hj212 bench: warning: this is a debug build; use 'swift run -c release hj212 bench hostile'.")
        #endif
        _ = try? ProcessSetup.prepareForNetworking()
        let payload = Array("##9999".utf8) + [UInt8](repeating: UInt8(ascii: "A"), count: bytes)
        let trace = FileManager.default.temporaryDirectory.appendingPathComponent("hj212-bench-hostile-\(getpid()).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: trace) }
        io.stdout.line("hj212 bench hostile: \(connections) connections, each '##9999' + \(bytes) bytes then close, \(threads) client threads, 127.0.0.2-\(1 + threads * 2)")
        io.stdout.line("serve".padding(toLength: 14, withPad: " ", startingAt: 0) + "RSS start".leftPad(11) + "after".leftPad(11) + "+\(Int(settle)) s".leftPad(11)
                       + "delta".leftPad(11) + "per conn.".leftPad(11) + "conn/s".leftPad(9))
        var worst = 0
        for (label, extra) in [("no trace", [String]()), ("--trace", ["--trace", trace])] {
            if Interrupts.requested { break }
            let serve: ServeChild
            do { serve = try ServeChild(extra: extra + ["--threads", "1"]) } catch {
                io.stderr.line("hj212 bench hostile: \(error)")
                return 2
            }
            usleep(500_000)
            let r0 = serve.residentKiB
            let done = BenchCounter()
            let failed = BenchCounter()
            let t0 = monotonicSeconds()
            let group = DispatchGroup()
            let target = serve.address
            for k in 0..<threads {
                let share = connections / threads + (k < connections % threads ? 1 : 0)
                // A thread of its own: a blocking loop (docs/decisions.md, "Loops that block for a run").
                LineThread.start(name: "hostile-\(k)", group: group) {
                    for i in 0..<share {
                        if Interrupts.requested { break }
                        // Two source addresses per thread: past the ephemeral ports of one.
                        let source: UInt32 = 0x7F00_0002 + UInt32(k * 2 + i % 2)
                        let fd = benchConnect(target, source: source)
                        if fd < 0 { failed.add(); continue }
                        _ = payload.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                        close(fd)
                        done.add()
                    }
                }
            }
            while group.wait(timeout: .now() + 1) == .timedOut {
                io.progress("bench hostile (\(label)): \(done.value)/\(connections), serve RSS \(serve.residentKiB / 1024) MiB")
            }
            let seconds = monotonicSeconds() - t0
            usleep(1_000_000)
            let r1 = serve.residentKiB
            usleep(UInt32(max(0, settle - 1) * 1_000_000))
            let r2 = serve.residentKiB
            serve.stop()
            io.clearProgress()
            let n = done.value
            worst = max(worst, r2 - r0)
            func mib(_ k: Int) -> String { String(format: "%.1f MB", Double(k) * 1024 / 1e6) }
            var line = label.padding(toLength: 14, withPad: " ", startingAt: 0) + mib(r0).leftPad(11) + mib(r1).leftPad(11)
            line += mib(r2).leftPad(11) + mib(r2 - r0).leftPad(11)
            line += String(format: "%.0f B", Double(r2 - r0) * 1024 / Double(max(1, n))).leftPad(11)
            line += String(format: "%.0f", Double(n) / seconds).leftPad(9)
            if failed.value > 0 { line += "  (\(failed.value) connects failed)" }
            io.stdout.line(line)
            io.stdout.flush()
        }
        let ok = Double(worst) * 1024 / 1e6 <= 20
        io.stdout.line("target: RSS within 20 MB of the start after the connections closed: \(ok ? "met" : "NOT met")")
        if Interrupts.requested { return Interrupts.exitStatus }
        return ok ? 0 : 1
    }
}

/// A counter shared by benchmark threads. `Sendable`: an `Atomic` only.
final class BenchCounter: Sendable {
    private let count = Atomic<Int>(0)
    func add() { count.add(1, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }
}
