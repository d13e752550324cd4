import HJ212
import Testing
@testable import HJLoad
@testable import HJReportKit

/// Report files come from outside: whatever numbers they hold, reading, merging and rendering
/// them never traps; thresholds and the text share one base; only shards of one run merge.
@Suite("Load reports from files, merges, threshold bases")
struct LoadReportSafetyTests {
    /// A small valid report as JSON text, with `field` of the top level set to `raw` (JSON).
    static func reportJSON(_ field: String? = nil, _ raw: String = "") -> String {
        var r = LoadReport()
        r.totalLoggers = 4
        r.loggers = 2
        r.shards = ["1/2"]
        r.cadence = "10 packets/s in total"
        r.windowSeconds = 10
        r.counts.scheduled = 50
        r.counts.sent = 50
        r.counts.acked = 50
        r.latency.record(microseconds: 1500)
        var text = r.json().serialized
        if let field {
            guard let range = text.range(of: "\"\(field)\":") else { return text }
            let rest = text[range.upperBound...]
            let end = rest.firstIndex { $0 == "," || $0 == "}" } ?? rest.endIndex
            text.replaceSubrange(range.upperBound..<end, with: raw)
        }
        return text
    }

    @Test("numbers out of range in a report file are errors naming the file and the field, not traps")
    func hostileNumbers() throws {
        #expect(throws: Never.self) { try LoadReport(json: Self.reportJSON()) }
        let cases: [(String, String)] = [
            ("totalLoggers", "1e300"), ("totalLoggers", "-1"), ("totalLoggers", "2.5"), ("totalLoggers", "1000001"),
            ("loggers", "9223372036854775807"), ("loggers", "9223372036854775808"), ("loggers", "-3"), ("loggers", "1e19"),
            ("startUnixSecond", "1e300"), ("startUnixSecond", "-9223372036854775808"),
            ("windowSeconds", "1e300"), ("windowSeconds", "-1"), ("offeredRate", "1e300"), ("rampSeconds", "\"x\""),
            ("shards", "[\"2/1\"]"),
        ]
        for (field, raw) in cases {
            let text = Self.reportJSON(field, raw)
            #expect(text.contains("\"\(field)\":\(raw)"), "the test put \(raw) in \(field)")
            do {
                _ = try LoadReport(json: text, file: "shard-9.json")
                Issue.record("\(field): \(raw) was accepted")
            } catch {
                #expect(error.message.contains("shard-9.json") && error.message.contains(field), "\(field): \(error.message)")
            }
        }
        // A histogram sum that is not a finite non-negative number; series seconds out of range.
        let base = Self.reportJSON()
        for (a, b) in [("\"sum\":1500", "\"sum\":-1"), ("\"series\":[]", "\"series\":[[1e300,1,1,1,1,1,1]]"),
                       ("\"series\":[]", "\"series\":[[-9223372036854775808,1,1,1,1,1,1]]")] {
            let text = base.replacingFirst(a, with: b)
            #expect(text != base, "\(a) is in the report")
            #expect(throws: LoadSpecError.self, "\(b)") { try LoadReport(json: text) }
        }
    }

    @Test("merging saturates instead of overflowing; extreme figures render without trapping")
    func extremeMerge() throws {
        var a = LoadReport()
        a.loggers = .max
        a.counts.sent = .max
        var b = a
        b.loggers = .max
        a.merge(b)
        #expect(a.loggers == .max)
        // Histograms of files whose counts together pass 2^64 (each is accepted on its own).
        let huge = try LatencyHistogram(buckets: [(0, UInt64(Int.max)), (300, UInt64(Int.max))], min: 0, max: 5000, sum: 1e300)
        var h = huge
        h.merge(huge)
        for p in LoadReport.spectrum { _ = huge.percentile(p); _ = h.percentile(p) }
        #expect(huge.percentile(10) == 0 && huge.percentile(90) == 345, "\(huge.percentile(10)) \(huge.percentile(90))")
        #expect(huge.meanMicroseconds == .max)
        var r = LoadReport()
        r.latency = h
        r.sendLatency = huge
        r.loggers = -5
        r.series = [LoadSecond(unixSecond: .max, sent: .max, acked: .max, p99: .max, connections: .max, errors: .max, outstanding: .max),
                    LoadSecond(unixSecond: .min, p99: 1)]
        #expect(r.text().contains("from schedule"))
        #expect(r.html().contains("<svg"))
        for t in ["p99<1s", "mean<1s", "send.mean>1ms", "unacked<1%"] {
            _ = try Threshold(parsing: t).evaluate(r)
        }
    }

    @Test("a percentage threshold is of the packets scheduled, as the text report shows it; a share of nothing fails")
    func thresholdBase() throws {
        var r = LoadReport()
        r.loggers = 10
        r.totalLoggers = 10
        r.counts.scheduled = 1000
        r.counts.sent = 500  // half could not be sent
        r.counts.missed = 500
        r.counts.acked = 495
        r.counts.timedOut = 5
        // 5 of 1000 scheduled: 0.5 % (of the 500 sent it would be 1 %).
        #expect(try Threshold(parsing: "unacked<0.6%").evaluate(r).pass)
        #expect(try !Threshold(parsing: "unacked<0.4%").evaluate(r).pass)
        #expect(r.text().contains("unacked 5 (0.500 % of scheduled)"), "\(r.text())")
        #expect(r.html().contains("0.500 % of scheduled"))
        // Nothing scheduled (a merge of unreachable shards): a percentage cannot hold.
        let empty = LoadReport()
        for t in ["unacked<0.1%", "missed<=100%", "errors<1%", "connected>=0%", "resets<1%"] {
            let v = try Threshold(parsing: t).evaluate(empty)
            #expect(!v.pass, "\(t) on an empty report")
            #expect(v.measuredText.hasPrefix("no "), "\(t): \(v.measuredText)")
        }
        // Counts without % keep their meaning.
        #expect(try Threshold(parsing: "unacked==0").evaluate(empty).pass)
    }

    /// A report of `loggers` of a run of `total`, `connected` of them connected, `scheduled` packets
    /// all sent, `acked` of them acknowledged and the rest timed out.
    func report(loggers: Int, total: Int, connected: UInt64, scheduled: UInt64, acked: UInt64) -> LoadReport {
        var r = LoadReport()
        r.loggers = loggers
        r.totalLoggers = total
        r.counts.loggersConnected = connected
        r.counts.connects = connected
        r.counts.maxConnections = connected
        r.counts.scheduled = scheduled
        r.counts.sent = scheduled
        r.counts.acked = acked
        r.counts.timedOut = scheduled - acked
        return r
    }

    @Test("a latency threshold alone does not accept lost packets or a partial fleet; a threshold on them does")
    func thresholdsReplaceOnlyTheirRules() throws {
        var r = report(loggers: 4, total: 4, connected: 2, scheduled: 48, acked: 24)
        r.latency.record(microseconds: 2_000)
        func outcome(_ ts: [String]) throws -> (LoadOutcome, [String]) {
            var x = r
            x.verdicts = try ts.map { try Threshold(parsing: $0).evaluate(x) }
            return x.outcome()
        }
        let p99 = try outcome(["p99<500ms"])
        #expect(p99.0 == .fail && p99.1.contains { $0.contains("24 of 48 scheduled packets were not acknowledged") }
                && p99.1.contains { $0.contains("only 2 of 4 loggers connected") }, "\(p99.1)")
        let knowingly = try outcome(["p99<500ms", "unacked<=50%", "connected>=50%"])
        #expect(knowingly.0 == .pass, "\(knowingly.1)")
        let lossOnly = try outcome(["acked>=50%"])
        #expect(lossOnly.0 == .fail && lossOnly.1.count == 1 && lossOnly.1[0].contains("loggers connected"), "\(lossOnly.1)")
        #expect(try outcome(["acked/s>=0"]).0 == .fail)
    }

    @Test("a merge that lacks shards of the run is incomplete, never a pass; a whole one is judged")
    func missingShards() throws {
        var r = report(loggers: 2, total: 4, connected: 2, scheduled: 10, acked: 10)
        r.shards = ["1/3", "3/3"]
        let merged = r.outcome(requireAllShards: true)
        #expect(merged.outcome == .incomplete && merged.reasons == ["shard(s) 2/3 missing: the report covers 2 of 3 shards"], "\(merged.reasons)")
        // A shard judged on its own (the run of one pod) is not incomplete for being one shard.
        #expect(r.outcome().outcome == .pass)
        r.shards = ["1/3", "2/3", "3/3"]
        #expect(r.outcome(requireAllShards: true).outcome == .pass)
        // A failure on the partial data is listed, the outcome stays incomplete (it may be the gap's artefact).
        r = report(loggers: 2, total: 4, connected: 2, scheduled: 10, acked: 9)
        r.shards = ["1/3"]
        let partial = r.outcome(requireAllShards: true)
        #expect(partial.outcome == .incomplete && partial.reasons.first?.contains("2/3, 3/3 missing") == true
                && partial.reasons.contains { $0.hasPrefix("on the partial data: 1 of 10 scheduled packets") }, "\(partial.reasons)")
    }

    @Test("only shards of one run merge: other loggers, shard counts or schedules are refused; other windows warned")
    func sameRun() throws {
        func shard(_ k: Int, of n: Int, loggers: Int = 8, cadence: String = "100 packets/s in total", window: Double = 60) -> LoadReport {
            var r = LoadReport()
            r.totalLoggers = loggers
            r.loggers = loggers / n
            r.shards = ["\(k)/\(n)"]
            r.cadence = cadence
            r.windowSeconds = window
            return r
        }
        let one = shard(1, of: 2)
        #expect(one.mergeProblems(with: shard(2, of: 2)).refuse.isEmpty && one.mergeProblems(with: shard(2, of: 2)).warn.isEmpty)
        #expect(one.mergeProblems(with: shard(2, of: 2, loggers: 10)).refuse.contains { $0.contains("loggers of the whole run: 8 vs 10") })
        #expect(one.mergeProblems(with: shard(2, of: 4)).refuse.contains { $0.contains("shard counts differ") })
        #expect(one.mergeProblems(with: shard(2, of: 2, cadence: "every 1000 ms per logger")).refuse.contains { $0.contains("schedules differ") })
        let shorter = one.mergeProblems(with: shard(2, of: 2, window: 30))
        #expect(shorter.refuse.isEmpty && shorter.warn.contains { $0.contains("send windows differ") })
        #expect(one.mergeProblems(with: one).warn.contains { $0.contains("1/2 appears twice") })
        var elsewhere = shard(2, of: 2)
        elsewhere.targets = ["10.0.0.9:7001"]
        var here = one
        here.targets = ["10.0.0.5:7001"]
        #expect(here.mergeProblems(with: elsewhere).warn.contains { $0.contains("targets differ: 10.0.0.5:7001 vs 10.0.0.9:7001") })
        elsewhere.targets = here.targets
        #expect(here.mergeProblems(with: elsewhere).warn.isEmpty)
        // A merged report (1/4 + 2/4) takes 3/4, not 1/2.
        var half = shard(1, of: 4)
        half.merge(shard(2, of: 4))
        #expect(half.mergeProblems(with: shard(3, of: 4)).refuse.isEmpty)
        #expect(!half.mergeProblems(with: shard(2, of: 2)).refuse.isEmpty)
    }
}
