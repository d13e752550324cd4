import Foundation
import HJ212
import Testing
@testable import HJLoad

@Suite("Load model: schedules, shards, thresholds, reports")
struct LoadModelTests {
    @Test("shards are disjoint, cover every logger, and split the rate")
    func shards() throws {
        let n = 1003
        var seen = [Int](repeating: 0, count: n)
        var rates = 0.0
        let pool = testPool
        for k in 1...4 {
            let shard = try Shard(parsing: "\(k)/4")
            for i in shard.loggers(total: n) { seen[i] += 1; #expect(shard.owns(i)) }
            var c = LoadConfiguration(targets: [.loopback(port: 1)], totalLoggers: n, pools: [pool])
            c.cadence = .rate(500)
            c.shard = shard
            rates += c.offeredRate
        }
        #expect(seen.allSatisfy { $0 == 1 })
        #expect(abs(rates - 500) < 1e-6)
    }

    @Test("the union of the shards' schedules is the schedule of one process: evenly spaced at the rate")
    func schedule() {
        let n = 8, rate = 100.0
        var times: [UInt64] = []
        for i in 0..<n {
            let p = LoggerPlan(logger: i, of: n, cadence: .rate(rate), rtdIntervalMilliseconds: 30_000)
            #expect(p.intervalNanoseconds == 80_000_000)
            for k in 0..<5 { times.append(p.phaseNanoseconds + UInt64(k) * p.intervalNanoseconds) }
        }
        times.sort()
        for (j, t) in times.enumerated() { #expect(t == UInt64(j) * 10_000_000) }
        // Sends in a window.
        let p = LoggerPlan(logger: 3, of: 8, cadence: .rate(rate), rtdIntervalMilliseconds: 30_000)
        #expect(p.sends(inWindow: 1_000_000_000) == 13)  // 30 ms, 110 ms, … 990 ms
        let rt = LoggerPlan(logger: 2, of: 4, cadence: .realtime, rtdIntervalMilliseconds: 30_000)
        #expect(rt.intervalNanoseconds == 30_000_000_000 && rt.phaseNanoseconds == 15_000_000_000)
    }

    @Test("bad shard and cadence specs are refused with a reason")
    func badSpecs() {
        for bad in ["0/4", "5/4", "1/0", "a/b", "1", "1/2/3", "", "-1/2"] {
            #expect(throws: LoadSpecError.self) { try Shard(parsing: bad) }
        }
        #expect(throws: LoadSpecError.self) { try Cadence(parsing: "fast", parseDuration: { _ in nil }) }
        #expect((try? Cadence(parsing: "accelerated", parseDuration: { _ in nil })) == .interval(milliseconds: 1000))
    }

    @Test("threshold grammar: metrics, comparisons, units, percentages")
    func thresholdParsing() throws {
        let p99 = try Threshold(parsing: "p99<500ms")
        #expect(p99.metric == .latency(.schedule, percentile: 99) && p99.comparison == .less && p99.value == 500_000)
        let p50 = try Threshold(parsing: " p50 <= 20 ms ")
        #expect(p50.comparison == .lessOrEqual && p50.value == 20_000)
        let p999 = try Threshold(parsing: "p99.9<2s")
        #expect(p999.metric == .latency(.schedule, percentile: 99.9) && p999.value == 2_000_000)
        let send = try Threshold(parsing: "send.max<1m")
        #expect(send.metric == .latency(.send, percentile: 100) && send.value == 60_000_000)
        let unacked = try Threshold(parsing: "unacked<0.1%")
        #expect(unacked.percent && abs(unacked.value - 0.001) < 1e-12)
        let rate = try Threshold(parsing: "acked/s>=1000")
        #expect(rate.metric == .rate("acked/s") && rate.comparison == .greaterOrEqual && rate.value == 1000)
        let errors = try Threshold(parsing: "errors==0")
        #expect(errors.metric == .count("errors") && errors.comparison == .equal)
        #expect(try Threshold(parsing: "connect.p99<100us").value == 100)
        for bad in ["p99", "p99<", "<5ms", "p99<500", "p99<5 parsecs", "p101<1s", "latency<1s", "unacked<150%", "acked/s>=fast", "errors~0", "p99<-1ms"] {
            #expect(throws: LoadSpecError.self, "\(bad)") { try Threshold(parsing: bad) }
        }
    }

    static func sampleReport() -> LoadReport {
        var r = LoadReport()
        r.loggers = 10
        r.totalLoggers = 10
        r.windowSeconds = 10
        r.counts.scheduled = 10_000
        r.counts.sent = 10_000
        r.counts.acked = 9_995
        r.counts.ackedInWindow = 9_990
        r.counts.timedOut = 5
        r.counts.maxConnections = 10
        for v in 1...10_000 { r.latency.record(microseconds: UInt64(v) * 100) }  // 100 µs … 1 s
        return r
    }

    @Test("thresholds evaluate against a report")
    func thresholdEvaluation() throws {
        let r = Self.sampleReport()
        func verdict(_ s: String) throws -> Bool { try Threshold(parsing: s).evaluate(r).pass }
        #expect(try verdict("p99<1s"))
        #expect(try !verdict("p99<900ms"))
        #expect(try verdict("p50<=501ms") && !verdict("p50<=400ms"))
        #expect(try verdict("unacked<0.1%") && !verdict("unacked<0.01%"))
        #expect(try verdict("unacked==5") && !verdict("unacked==0"))
        #expect(try verdict("acked/s>=999") && !verdict("acked/s>=1000"))
        #expect(try verdict("errors==0"))
        #expect(try verdict("connected>=100%"))
        // No samples: a latency threshold cannot hold.
        #expect(try !Threshold(parsing: "send.p99<1s").evaluate(r).pass)
    }

    @Test("a histogram survives JSON exactly; a corrupt one is an error, not a crash")
    func histogramJSON() throws {
        var r = Self.sampleReport()
        r.sendLatency.record(microseconds: 12_345_678_901)
        r.series = [LoadSecond(unixSecond: 1_796_000_000, sent: 5, acked: 4, p99: 1234, connections: 10, errors: 1, outstanding: 2)]
        r.errors = ["connect: refused": 3]
        let back = try LoadReport(json: r.json().serialized)
        #expect(back.latency == r.latency && back.sendLatency == r.sendLatency)
        #expect(back.counts == r.counts && back.series == r.series && back.errors == r.errors)
        let text = r.json().serialized
        let corrupt = text.replacingFirst("\"buckets\":[[", with: "\"buckets\":[[99999999,1],[")
        #expect(throws: LoadSpecError.self) { try LoadReport(json: corrupt) }
        #expect(throws: LoadSpecError.self) { try LoadReport(json: "{\"format\":\"hj212-load-report/1\"}") }
        #expect(throws: LoadSpecError.self) { try LoadReport(json: "not json") }
        #expect(throws: LoadSpecError.self) { try LoadReport(json: String(text.prefix(text.count / 2))) }
    }

    @Test("merging shard reports equals one run: same counts, same histogram, same percentiles")
    func mergeEqualsOneRun() throws {
        // One run's samples, deterministic: logger i's packets with latencies by a formula.
        let loggers = 12, shards = 3
        var whole = LoadReport()
        var parts = (0..<shards).map { k -> LoadReport in
            var r = LoadReport()
            r.shards = ["\(k + 1)/\(shards)"]
            r.windowSeconds = 10
            return r
        }
        var rng: UInt64 = 0x9E37_79B9
        var wholeSeconds: [Int64: UInt64] = [:]
        var partSeconds = [[Int64: UInt64]](repeating: [:], count: shards)
        for i in 0..<loggers {
            let shard = try Shard(parsing: "\(i % shards + 1)/\(shards)")
            #expect(shard.owns(i))
            for k in 0..<500 {
                rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17
                let v = (rng % 2_000_000) + UInt64(k)
                let second = 1_796_000_000 + Int64(k % 10)
                func add(_ r: inout LoadReport) {
                    r.latency.record(microseconds: v)
                    r.sendLatency.record(microseconds: v / 2)
                    r.counts.sent += 1
                    r.counts.scheduled += 1
                    if v < 1_990_000 { r.counts.acked += 1; r.counts.ackedInWindow += 1 } else { r.counts.timedOut += 1 }
                }
                add(&whole)
                add(&parts[i % shards])
                wholeSeconds[second, default: 0] += 1
                partSeconds[i % shards][second, default: 0] += 1
            }
            whole.loggers += 1
            parts[i % shards].loggers += 1
        }
        whole.series = wholeSeconds.sorted { $0.key < $1.key }.map { LoadSecond(unixSecond: $0.key, sent: $0.value) }
        for k in 0..<shards {
            parts[k].series = partSeconds[k].sorted { $0.key < $1.key }.map { LoadSecond(unixSecond: $0.key, sent: $0.value) }
        }
        whole.windowSeconds = 10
        // Through JSON, as `hj212 load merge` reads them.
        var merged = try LoadReport(json: parts[0].json().serialized)
        for p in parts.dropFirst() { merged.merge(try LoadReport(json: p.json().serialized)) }
        #expect(merged.counts == whole.counts)
        #expect(merged.latency.counts == whole.latency.counts && merged.latency.total == whole.latency.total)
        #expect(merged.latency.min == whole.latency.min && merged.latency.max == whole.latency.max)
        for p in LoadReport.spectrum { #expect(merged.latency.percentile(p) == whole.latency.percentile(p), "p\(p)") }
        #expect(merged.sendLatency.counts == whole.sendLatency.counts)
        #expect(merged.loggers == loggers && merged.shards.count == shards)
        #expect(merged.series.map(\.sent) == whole.series.map(\.sent))
        #expect(merged.ackedPerSecond == Double(whole.counts.ackedInWindow) / 10)
    }

    @Test("payloads: real generated frames, re-stamped QN, MN, PW and DataTime, valid CRC, lint clean")
    func payloads() throws {
        let linter = try Linter()
        var stamper = QNStamper()
        let ms = HJTime(year: 2026, month: 11, day: 30, hour: 8, minute: 59, second: 59, millisecond: 987).wallMilliseconds
        let key = stamper.stamp(ms)
        #expect(key == 20261130085959987)
        #expect(String(decoding: stamper.digits, as: UTF8.self) == "20261130085959987")
        _ = stamper.stamp(ms + 13)  // next minute
        #expect(String(decoding: stamper.digits, as: UTF8.self) == "20261130090000000")
        let pool = testPool
        #expect(pool.entries.count > 100)
        #expect(Set(pool.entries.map(\.cn)).isSuperset(of: ["2011", "2051", "2061"]))
        var frame: [UInt8] = []
        for e in 0..<pool.entries.count {
            stamper.digits.withUnsafeBufferPointer { pool.frame(entry: e, qn: $0, pw: Array("654321".utf8), mn: Array("0100AD000000000000000042".utf8), into: &frame) }
            var decoder = FrameDecoder()
            decoder.feed(frame)
            guard case .frame(let f)? = decoder.next() else { Issue.record("no frame"); return }
            #expect(CRC.parseHex(f.crcBytes) == CRC.hj212(f.segmentBytes))
            let s = SegmentParser.parse(f.segmentBytes).segment
            #expect(s.qn == "20261130090000000" && s.mn == "0100AD000000000000000042" && s.pw == "654321")
            if s.cn == "2011" { #expect(s.cpValue("DataTime") == "20261130090000") }
            let verdict = linter.check(f, index: e)
            #expect(!verdict.hasErrors, "\(verdict.diagnostics)")
        }
    }
}

extension String {
    func replacingFirst(_ a: String, with b: String) -> String {
        guard let r = range(of: a) else { return self }
        return replacingCharacters(in: r, with: b)
    }
}
