import Glibc
import Testing
import TestSupport
@testable import HJ212CLI

/// `bench load`'s closed-loop rows say how much of the machine other processes used: a ratio of
/// two rows measured beside different neighbours is not evidence (session 11: 0.39 beside the
/// fuzz campaigns, 0.48–0.70 without them).
@Suite("bench load: other processes during the closed-loop rows")
struct BenchLoadNeighboursTests {
    typealias N = LoadBenchmark.Neighbours

    @Test("other cores are the machine's busy cores less this process's and the server's CPU")
    func arithmetic() {
        // 2 cores, 95 % busy over 5 s: 1.9 cores; the client used 4.0 s, the server 4.5 s (1.7 cores).
        #expect(abs(N.otherCores(busyShare: 0.95, cores: 2, oursCPU: 4.0, serverCPU: 4.5, window: 5) - 0.2) < 1e-9)
        // Two fuzzers beside a one-core server: 2 cores busy, ours and the server's 0.9 of them.
        #expect(abs(N.otherCores(busyShare: 1.0, cores: 2, oursCPU: 2.0, serverCPU: 2.5, window: 5) - 1.1) < 1e-9)
        // Jiffies counted a tick apart can make ours exceed the machine's: never below zero.
        #expect(N.otherCores(busyShare: 0.5, cores: 2, oursCPU: 3, serverCPU: 3, window: 5) == 0)
    }

    @Test("a row beside busy neighbours says it is not evidence; unknown is said so")
    func wording() {
        #expect(N.describe(0.1) == "other processes 0.10 cores")
        #expect(N.describe(1.3) == "other processes 1.30 cores (a shared machine: not evidence)")
        #expect(N.describe(nil) == "other processes: unknown")
    }

    @Test("measured live: /proc is read, and the figure is between none and the whole machine")
    func live() throws {
        // A real process as the "server" (this one, so its CPU is subtracted twice and the figure
        // can only be lower than the truth, never above the machine's cores).
        let n = N(server: getpid())
        var x = 0.0
        for i in 0..<2_000_000 { x += Double(i) }
        #expect(x > 0)
        let others = try #require(n.otherCores(), "the machine's and the processes' CPU times could not be read from /proc")
        #expect(others >= 0 && others <= Double(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    @Test("live: the closed-loop rows send the unit's first 2011 with a new QN and DataTime each, to the C server and to serve")
    func liveFrame() throws {
        let tool = try RunningTool(["bench", "load", "--loggers", "20", "--seconds", "1"])
        tool.process.waitUntilExit()
        tool.wait(timeout: 10) { out, _ in out.contains("closed loop with the baseline's C client:") }
        let out = tool.stdout
        #expect(out.contains("closed-loop frame ") && out.contains(" bytes (CN 2011, industrial-wastewater, a new QN and DataTime each)"), "\(out)\n\(tool.stderr)")
        let baseline = try #require(out.split(separator: "\n").first { $0.contains("C ping-pong: C client → C server") }, "\(out)")
        #expect(baseline.contains("(20 connected"))
        let serve = try #require(out.split(separator: "\n").first { $0.contains("C client → hj212 serve") }, "\(out)")
        #expect(serve.contains("20 of 20 connected"), "\(serve)")
        #expect(!serve.contains("incomplete"), "\(serve)")
    }
}
