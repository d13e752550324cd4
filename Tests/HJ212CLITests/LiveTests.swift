import Foundation
import HJ212
import Testing
@testable import HJ212CLI
import TestSupport

/// The bench on real TCP (loopback): platform, loggers, an outage, backfill.
@Suite("Live runs on loopback", .serialized)
struct LiveTests {
    @Test("demo: every upload acknowledged, the outage backfilled, no record missing, the trace lints clean")
    func demo() throws {
        let trace = FileManager.default.temporaryDirectory.appendingPathComponent("hj212-live-\(UUID().uuidString).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: trace) }
        let r = hj212(["demo", "--seconds", "2", "--speed", "300", "--trace", trace])
        #expect(r.status == 0, "\(r.out)\(r.err)")
        #expect(r.out.contains("nothing lost: every expected record arrived"))
        #expect(r.out.contains("all loggers drained"))
        // Per platform: pending 0 and some backfill after the outage.
        let row = try #require(r.out.split(separator: "\n").first { $0.hasPrefix("127.0.0.1:") })
        let numbers = row.split(separator: " ").dropFirst().compactMap { Int($0) }
        #expect(numbers.count == 7)
        if numbers.count == 7 {
            #expect(numbers[0] == numbers[1] && numbers[0] > 500, "sent == acked: \(row)")
            #expect(numbers[3] > 0, "backfilled: \(row)")
            #expect(numbers[5] == 0, "pending: \(row)")
        }
        // The minute history request went through 9011, records, 9012.
        #expect(r.out.contains("completed, QnRtn 1"))
        let lint = hj212(["lint", "--quiet", "--profile", "hebei-dynamic", trace])
        #expect(lint.status == 0, "\(lint.out.suffix(2000))")
        #expect(lint.out.contains(" 0 errors"))
    }

    @Test("serve and simulate refuse bad input before any traffic")
    func usage() {
        #expect(hj212(["serve"]).status == 2)
        let bad = hj212(["serve", "--listen", "127.0.0.1:notaport"])
        #expect(bad.status == 2 && bad.err.contains("--listen"))
        let trace = hj212(["serve", "--listen", "127.0.0.1:0", "--trace", "/nonexistent/dir/t.jsonl"])
        #expect(trace.status == 2 && trace.err.contains("cannot write trace"))
        #expect(hj212(["simulate", "--unit", "industrial-wastewater"]).status == 2)
        let unknown = hj212(["simulate", "--unit", "nope", "--to", "127.0.0.1:9"])
        #expect(unknown.status == 2 && unknown.err.contains("no such unit template"))
    }

    @Test("simulate against a closed port keeps its data and reports it, exit 1")
    func unreachable() {
        let r = hj212(["simulate", "--unit", "industrial-wastewater", "--to", "127.0.0.1:9", "--speed", "600", "--duration", "10m", "--drain", "1"])
        #expect(r.status == 1, "\(r.out)\(r.err)")
        #expect(r.out.contains("refused") || r.out.contains("Connection refused"), "\(r.out)")
    }
}
