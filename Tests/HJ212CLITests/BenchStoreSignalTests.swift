import Foundation
import Glibc
import Testing

/// `bench store --rounds N` stopped between rounds: the rounds done stay printed, the run gives no
/// verdict over them, and the status is the signal's (the real binary, a small run).
@Suite("bench store --rounds on SIGTERM", .serialized)
struct BenchStoreSignalTests {
    @Test("SIGTERM after the first of three rounds: round 1 printed, 'interrupted after 1 of 3 rounds', no median, exit 143")
    func interruptedRounds() throws {
        let tool = try RunningTool(["bench", "store", "--parts", "loggers", "--loggers", "20", "--speed", "30", "--seconds", "2", "--rounds", "3"])
        // Round 1's lines are printed together once its second window ends; its last is the store's counts.
        let printed = tool.wait(timeout: 120) { out, _ in out.contains("  round 1 of 3") && out.contains("  store  ") }
        #expect(printed, "\(tool.stdout)\(tool.stderr)")
        let status = tool.terminate()
        #expect(status == 143, "\(tool.stdout)\(tool.stderr)")
        let out = tool.stdout
        #expect(out.contains("  target ≥ 0.70x       over 3 rounds: not judged: interrupted after 1 of 3 rounds"), "\(out)")
        #expect(!out.contains("round 2 of 3") && !out.contains("median"), "\(out)")
        #expect(out.split(separator: "\n").filter { $0.hasPrefix("  throughput ratio ") }.count == 1, "round 1's report, once: \(out)")
    }
}
