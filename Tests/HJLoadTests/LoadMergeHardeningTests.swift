import HJ212
import Testing
@testable import HJLoad

// Issue 18, item 9: `load merge` accepted Int.max counts (printing "sent 18446744073709551614"
// against 150 scheduled) and shards from different days without a word.
@Suite("Load merge: bounded, consistent counts; shards of one time")
struct LoadMergeHardeningTests {
    static func report(started: String = "2026-11-30T12:00:00.000+08:00", unix: Int64 = 1_796_011_200, sent: UInt64 = 150) -> LoadReport {
        var r = LoadReport()
        r.totalLoggers = 4
        r.loggers = 2
        r.shards = ["1/2"]
        r.cadence = "10 packets/s in total"
        r.windowSeconds = 15
        r.started = started
        r.startUnixSecond = unix
        r.counts.scheduled = 150
        r.counts.sent = sent
        r.counts.acked = min(sent, 150)
        return r
    }

    @Test("a count of Int.max in a report file is refused, naming the field")
    func hugeCount() {
        let text = Self.report().json().serialized.replacingOccurrences(of: "\"sent\":150", with: "\"sent\":9223372036854775807")
        #expect(text.contains("9223372036854775807"))
        do {
            _ = try LoadReport(json: text, file: "shard-2.json")
            Issue.record("accepted sent = Int.max")
        } catch {
            #expect(error.message.contains("shard-2.json") && error.message.contains("counts.sent"), "\(error.message)")
        }
    }

    @Test("counts that contradict each other (sent beyond scheduled, acked beyond sent) are refused")
    func inconsistent() {
        for (a, b) in [("\"sent\":150", "\"sent\":151"), ("\"acked\":150", "\"acked\":1000")] {
            let text = Self.report().json().serialized.replacingOccurrences(of: a, with: b)
            #expect(text.contains(b))
            #expect(throws: LoadSpecError.self, "\(b)") { try LoadReport(json: text) }
        }
        #expect(throws: Never.self) { try LoadReport(json: Self.report().json().serialized) }
    }

    @Test("shards that started on different days are merged with a warning; side by side they are not")
    func differentDays() {
        let a = Self.report()
        var b = Self.report(started: "2026-12-01T12:00:00.000+08:00", unix: 1_796_011_200 + 86_400)
        b.shards = ["2/2"]
        let far = a.mergeProblems(with: b)
        #expect(far.refuse.isEmpty)
        #expect(far.warn.contains { $0.contains("different days") && $0.contains("86400 s apart") }, "\(far.warn)")
        var c = Self.report(unix: 1_796_011_200 + 2)
        c.shards = ["2/2"]
        #expect(a.mergeProblems(with: c).warn.isEmpty)
    }

    @Test("reasons, targets and schedules from a report file are printed without control characters")
    func hostileText() {
        var r = Self.report()
        r.errors["\u{1B}]0;pwned\u{07}closed by peer"] = 3
        r.targets = ["\u{1B}[2J127.0.0.1:9000"]
        r.cadence = "\u{9B}31m"
        let text = r.text()
        #expect(!text.unicodeScalars.contains { ($0.value < 0x20 && $0 != "\n") || (0x7F...0x9F).contains($0.value) })
        #expect(text.contains("\\x1b]0;pwned\\x07closed by peer"))
    }
}
