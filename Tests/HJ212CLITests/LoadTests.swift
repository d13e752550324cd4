import Foundation
import HJ212
import HJLoad
import HJNetwork
import HJRoles
import Testing
import HJLive
@testable import HJ212CLI
@testable import HJLive
import TestSupport

/// The reference platform (what `hj212 serve` runs) in this process, on a free loopback port.
func startPlatform(ackDelay: Int64 = 0) throws -> (platform: LivePlatform, address: String, group: EventLoopGroup) {
    let group = try EventLoopGroup(threads: 1, name: "platform-test")
    let clock = LiveClock(start: LiveClock.wallNow(offsetMinutes: 480), speed: 1)
    let state = PlatformState(registry: nil, linter: try makeLinter(dialect: nil, strict: false, profiles: nil, profile: "hebei-dynamic"))
    var options = PlatformSession.Options()
    options.ackDelay = ackDelay
    let platform = LivePlatform(address: .loopback(port: 0), state: state, clock: clock, options: options, trace: nil, group: group)
    let bound = try platform.start()
    return (platform, bound.description, group)
}

func jsonReport(_ text: String) throws -> LoadReport {
    try LoadReport(json: text.trimmingCharacters(in: .whitespacesAndNewlines))
}

@Suite("hj212 load", .serialized)
struct LoadCommandTests {
    @Test("against serve with a 200 ms acknowledgement delay, the latency measured is the delay")
    func injectedDelay() throws {
        let p = try startPlatform(ackDelay: 200)
        defer { p.platform.stop(); p.group.shutdown() }
        // serve holds each ack 200 ms from its arrival and sends it on time: every latency is at
        // least the delay (a bound the server enforces), and the median is the delay plus a little.
        let r = hj212(["load", p.address, "--loggers", "5", "--rate", "50", "--duration", "2s", "--ramp", "200ms", "--threads", "1",
                       "--format", "json", "--threshold", "p50>=190ms", "--threshold", "p99<5s", "--threshold", "p99<10ms"])
        #expect(r.status == 1, "one threshold fails: \(r.err)")
        let report = try jsonReport(r.out)
        #expect(report.counts.sent == 100 && report.counts.acked == 100, "\(report.text())")
        #expect(report.latency.min >= 195_000 && report.sendLatency.min >= 195_000, "\(report.latency.summary)")
        // Generous upper bounds for a loaded CI machine: the median well under twice the delay
        // (it was 200–300 ms when serve released acks on a 100 ms tick), the slowest under 3 s.
        #expect(report.latency.percentile(50) < 400_000 && report.latency.max < 3_000_000, "\(report.latency.summary)")
        let verdicts = try #require(JSONValue.parse(r.out)["thresholds"])
        guard case .array(let items) = verdicts else { Issue.record("no thresholds"); return }
        #expect(items.compactMap { if case .bool(let b)? = $0["pass"] { return b } else { return nil } } == [true, true, false])
        #expect(p.platform.state.counters.errors == 0, "the platform found no error in the packets")
    }

    @Test("two shards against serve, merged, equal the sum: disjoint loggers, exact counts and histograms")
    func shardsAndMerge() throws {
        let p = try startPlatform()
        defer { p.platform.stop(); p.group.shutdown() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hj212-load-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var parts: [LoadReport] = []
        for k in 1...2 {
            let out = "\(dir)/shard-\(k).json"
            let r = hj212(["load", p.address, "--loggers", "6", "--rate", "60", "--duration", "1s", "--ramp", "100ms", "--threads", "1",
                           "--shard", "\(k)/2", "--format", "json", "--out", out, "--threshold", "unacked==0"])
            #expect(r.status == 0, "\(r.out)\(r.err)")
            #expect(r.out.contains("shard \(k)/2") && r.out.contains("report: \(out)"))
            parts.append(try jsonReport(String(contentsOfFile: out, encoding: .utf8)))
        }
        #expect(parts.map(\.loggers) == [3, 3])
        #expect(parts.map(\.counts.sent) == [30, 30], "each shard sends half the rate")
        // Every logger of the run connected once, with its own MN.
        #expect(p.platform.state.mns.count == 6)
        let m = hj212(["load", "merge", "\(dir)/shard-1.json", "\(dir)/shard-2.json", "--format", "json", "--threshold", "acked==60"])
        #expect(m.status == 0, "\(m.err)")
        let merged = try jsonReport(m.out)
        var expected = parts[0]
        expected.merge(parts[1])
        #expect(merged.counts == expected.counts && merged.counts.acked == 60)
        #expect(merged.latency == expected.latency && merged.latency.total == 60)
        #expect(merged.loggers == 6 && merged.shards == ["1/2", "2/2"])
        let html = hj212(["load", "merge", "\(dir)/shard-1.json", "\(dir)/shard-2.json", "--format", "html"])
        #expect(html.status == 0 && html.out.contains("<svg") && html.out.contains("2 shards merged"))
        // One shard of two (a pod that failed leaves no file): not a pass of the run, incomplete (3).
        let half = hj212(["load", "merge", "\(dir)/shard-1.json", "--threshold", "acked>=30"])
        #expect(half.status == 3, "\(half.out)\(half.err)")
        #expect(half.out.contains("shard(s) 2/2 missing"), "\(half.out)")
    }

    @Test("malformed thresholds, shards and options are usage errors (exit 2) before anything connects")
    func badSpecs() throws {
        let group = try EventLoopGroup(threads: 1, name: "watch")
        defer { group.shutdown() }
        let server = try TCPServer.start(on: .loopback(port: 0), group: group) { _ in TCPCallbacks() }
        let target = server.localAddress.description
        let bad: [[String]] = [
            ["--threshold", "p99<500"], ["--threshold", "p99"], ["--threshold", "speed>3"], ["--threshold", "unacked<200%"],
            ["--shard", "3/2"], ["--shard", "0/2"], ["--shard", "x"], ["--rate", "-5"], ["--rate", "10", "--cadence", "realtime"],
            ["--cadence", "sometimes"], ["--duration", "forever"], ["--unit", "no-such-unit"], ["--mn-prefix", "XYZ"],
            ["--mn-prefix", "0123456789ABCDEF01234"], ["--max-outstanding", "0"],
        ]
        for extra in bad {
            let r = hj212(["load", target, "--loggers", "2000"] + extra)
            #expect(r.status == 2, "\(extra): \(r.err)")
            #expect(r.err.contains("hj212 load:"), "\(extra): \(r.err)")
        }
        #expect(hj212(["load", target]).status == 2)
        #expect(hj212(["load", "--loggers", "3"]).status == 2)
        #expect(hj212(["load", "300.1.1.1:7", "--loggers", "3"]).status == 2)
        // Over 1000 packets/s per logger (QNs would run ahead of time); durations too large to parse.
        for extra in [["--loggers", "1", "--rate", "5000"], ["--loggers", "3", "--rate", "3001"],
                      ["--loggers", "3", "--duration", "99999999999999999h"], ["--loggers", "3", "--cadence", "9999999999w"],
                      ["--loggers", "3", "--ramp", "999999999w999999999w999999999w"]] {
            let r = hj212(["load", target] + extra)
            #expect(r.status == 2 && r.err.contains("hj212 load:"), "\(extra): \(r.err)")
        }
        #expect(hj212(["load", target, "--loggers", "1", "--rate", "5000"]).err.contains("1000 packets/s per logger"))
        #expect(hj212(["load", "merge"]).status == 2)
        #expect(hj212(["load", "merge", "/nonexistent/x.json"]).status == 2)
        let corrupt = try temporaryFile(Array("{\"format\":\"hj212-load-report/1\",\"counts\":{\"sent\":-1}}".utf8))
        defer { try? FileManager.default.removeItem(atPath: corrupt) }
        let c = hj212(["load", "merge", corrupt])
        #expect(c.status == 2 && c.err.contains(corrupt))
        usleep(100_000)
        #expect(server.acceptedCount == 0, "nothing connected")
        let help = hj212(["load", "--help"])
        #expect(help.status == 0 && help.out.contains("THRESHOLDS") && help.out.contains("acked/s"))
    }

    @Test("load merge: hostile numbers and reports of different runs are refused (exit 2) with the file and the reason")
    func mergeRefusals() throws {
        func report(_ k: Int, of n: Int, loggers: Int, window: Double = 10, scheduled: UInt64 = 100) -> String {
            var r = LoadReport()
            r.totalLoggers = loggers
            r.loggers = loggers / n
            r.shards = ["\(k)/\(n)"]
            r.cadence = "100 packets/s in total"
            r.windowSeconds = window
            r.counts.scheduled = scheduled
            r.counts.sent = scheduled
            r.counts.acked = scheduled
            r.counts.connects = UInt64(loggers / n)
            r.counts.loggersConnected = UInt64(loggers / n)
            return r.json().serialized
        }
        var files: [String] = []
        defer { for f in files { try? FileManager.default.removeItem(atPath: f) } }
        func file(_ text: String) throws -> String {
            let f = try temporaryFile(Array(text.utf8))
            files.append(f)
            return f
        }
        let a = try file(report(1, of: 2, loggers: 8))
        let b = try file(report(2, of: 2, loggers: 8))
        #expect(hj212(["load", "merge", a, b, "--threshold", "acked==200"]).status == 0)
        // Numbers that used to trap.
        for (field, raw) in [("\"totalLoggers\":8", "\"totalLoggers\":1e300"), ("\"loggers\":4", "\"loggers\":9223372036854775807")] {
            let bad = try file(report(2, of: 2, loggers: 8).replacingOccurrences(of: field, with: raw))
            let r = hj212(["load", "merge", a, bad])
            #expect(r.status == 2 && r.err.contains(bad) && r.err.contains(field.split(separator: ":")[0].dropFirst().dropLast()), "\(raw): \(r.err)")
        }
        // Not the same run: other loggers in the run, another shard count.
        let other = try file(report(2, of: 2, loggers: 10))
        let r1 = hj212(["load", "merge", a, other])
        #expect(r1.status == 2 && r1.err.contains("not a shard of the same run") && r1.err.contains("8 vs 10"), "\(r1.err)")
        let quarter = try file(report(2, of: 4, loggers: 8))
        let r2 = hj212(["load", "merge", a, quarter])
        #expect(r2.status == 2 && r2.err.contains("shard counts differ"), "\(r2.err)")
        // A shorter window (a shard stopped early) merges, with a warning.
        let short = try file(report(2, of: 2, loggers: 8, window: 4))
        let r3 = hj212(["load", "merge", a, short])
        #expect(r3.status == 0 && r3.err.contains("warning") && r3.err.contains("send windows differ"), "\(r3.err)")
        // Empty shards (nothing scheduled): a percentage threshold fails.
        let e1 = try file(report(1, of: 2, loggers: 8, scheduled: 0))
        let e2 = try file(report(2, of: 2, loggers: 8, scheduled: 0))
        let r4 = hj212(["load", "merge", e1, e2, "--threshold", "unacked<0.1%"])
        #expect(r4.status == 1 && r4.out.contains("no packets scheduled"), "\(r4.out)")
    }

    @Test("an unreachable target: exit 2 with the reason and counts, quickly")
    func unreachable() throws {
        let group = try EventLoopGroup(threads: 1, name: "closed")
        let server = try TCPServer.start(on: .loopback(port: 0), group: group) { _ in TCPCallbacks() }
        let address = server.localAddress.description
        group.shutdown()  // the port is closed now
        let t0 = Date()
        let r = hj212(["load", address, "--loggers", "4", "--rate", "10", "--duration", "60s", "--ramp", "100ms", "--threads", "1"])
        #expect(r.status == 2, "\(r.out)\(r.err)")
        // A hang guard (the 60 s window is cut short as soon as every logger failed).
        #expect(Date().timeIntervalSince(t0) < 20)
        #expect(r.err.contains("could not be reached") && r.err.contains("refused"), "\(r.err)")
        #expect(r.out.contains("refused 4"), "\(r.out)")
    }
}
