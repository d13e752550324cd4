import Foundation
import HJ212
import HJLoad
import HJNetwork
import HJRoles
import Testing
@testable import HJ212CLI

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
        // serve holds each ack 200 ms and releases held acks on its 100 ms tick: 200–300 ms.
        let r = hj212(["load", p.address, "--loggers", "5", "--rate", "50", "--duration", "2s", "--ramp", "200ms", "--threads", "1",
                       "--format", "json", "--threshold", "p50>=190ms", "--threshold", "p99<2s", "--threshold", "p99<10ms"])
        #expect(r.status == 1, "one threshold fails: \(r.err)")
        let report = try jsonReport(r.out)
        #expect(report.counts.sent == 100 && report.counts.acked == 100, "\(report.text())")
        #expect(report.latency.min >= 195_000 && report.latency.max < 1_000_000, "\(report.latency.summary)")
        #expect(report.sendLatency.min >= 195_000)
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

    @Test("an unreachable target: exit 2 with the reason and counts, quickly")
    func unreachable() throws {
        let group = try EventLoopGroup(threads: 1, name: "closed")
        let server = try TCPServer.start(on: .loopback(port: 0), group: group) { _ in TCPCallbacks() }
        let address = server.localAddress.description
        group.shutdown()  // the port is closed now
        let t0 = Date()
        let r = hj212(["load", address, "--loggers", "4", "--rate", "10", "--duration", "60s", "--ramp", "100ms", "--threads", "1"])
        #expect(r.status == 2, "\(r.out)\(r.err)")
        #expect(Date().timeIntervalSince(t0) < 10)
        #expect(r.err.contains("could not be reached") && r.err.contains("refused"), "\(r.err)")
        #expect(r.out.contains("refused 4"), "\(r.out)")
    }
}
