import Foundation
import HJ212
import HJNetwork
import HJRoles
import HJSimulation
import Testing
import HJLive
@testable import HJ212CLI
@testable import HJLive
import TestSupport

/// The reference platform in this process on loopback (port 0), for transport-fault runs.
final class LoopbackPlatform {
    let group: EventLoopGroup
    let state: PlatformState
    let platform: LivePlatform
    let address: SocketAddress

    init(start: Int64, speed: Double) throws {
        _ = try? ProcessSetup.prepareForNetworking()
        group = try EventLoopGroup(threads: 1, name: "test-platform")
        state = PlatformState(registry: nil, linter: try makeLinter(dialect: nil, strict: false, profiles: nil, profile: "hebei-dynamic"))
        var options = PlatformSession.Options()
        options.overTime = Int64(10_000 * speed)
        options.executionTimeout = Int64(60_000 * speed)
        options.idleTimeout = Int64(7_200_000 * speed)
        platform = LivePlatform(address: SocketAddress.loopback(port: 0), state: state, clock: LiveClock(start: start, speed: speed), options: options, trace: nil, group: group)
        address = try platform.start()
    }

    deinit {
        platform.stop()
        group.shutdown()
    }

    /// Distinct DataTimes of the minute records (2051) the platform holds for a logger.
    func minuteRecords(_ mn: String) -> Int { state.unit(mn)?.dataTimes["2051"]?.times.count ?? 0 }
}

/// The numbers of the summary row of the platform: sent, acked, resent, backfilled, commands, pending, reconnects.
func summaryRow(_ out: String) -> [Int] {
    guard let row = out.split(separator: "\n").first(where: { $0.hasPrefix("127.0.0.1:") }) else { return [] }
    return row.split(separator: " ").dropFirst().compactMap { Int($0) }
}

func truthLines(_ path: String) -> [JSONValue] {
    ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { try? JSONValue.parse(String($0)) }
}

func string(_ v: JSONValue?) -> String? { if case .string(let s)? = v { return s } else { return nil } }

/// Transport faults on real TCP against the platform in this process: short runs at high speed.
@Suite("Transport faults on loopback", .serialized)
struct TransportFaultTests {
    static let start = "2026-11-30T00:00"
    static let mn = "010000A8900016F000169DC0"

    /// Runs simulate for one wastewater logger with these faults (or a scenario); returns the
    /// result, the summary numbers, the ground truth and the platform.
    static func run(faults: String? = nil, scenario: String? = nil, duration: String = "30m", speed: Double = 1200, extra: [String] = []) throws
        -> (r: (status: Int32, out: String, err: String), row: [Int], truth: [JSONValue], platform: LoopbackPlatform) {
        let platform = try LoopbackPlatform(start: SimClock.parseStart(start)!, speed: speed)
        let truth = temporaryPath(".truth.jsonl")
        defer { try? FileManager.default.removeItem(atPath: truth) }
        var args = ["simulate", "--unit", "industrial-wastewater", "--to", platform.address.description, "--speed", String(speed),
                    "--start", start, "--duration", duration, "--drain", "10", "--truth", truth, "--threads", "1"]
        if let faults { args += ["--faults", faults] }
        if let scenario { args += ["--scenario", scenario] }
        let r = hj212(args + extra)
        return (r, summaryRow(r.out), truthLines(truth), platform)
    }

    @Test("outage from a scenario file: offline for 20 minutes, then the backlog in a burst; every minute record arrives")
    func outage() throws {
        let file = temporaryPath(".json")
        defer { try? FileManager.default.removeItem(atPath: file) }
        try #"{"name":"o","title_zh":"离线","title_en":"Offline","events":[{"unit":"template:industrial-wastewater","fault":"outage","start":"+5m","duration":"20m"}]}"#
            .write(toFile: file, atomically: true, encoding: .utf8)
        let (r, row, truth, platform) = try Self.run(scenario: file)
        #expect(r.status == 0, "\(r.out)\(r.err)")
        #expect(row.count == 7 && row[3] > 0, "backfilled: \(r.out)")
        #expect(platform.minuteRecords(Self.mn) == 3, "00:00, 00:10, 00:20 all arrived")
        #expect(truth.count == 2 && truth.allSatisfy { string($0["fault"]) == "outage" && string($0["layer"]) == "transport" })
        #expect(string(truth.last?["detail"])?.hasPrefix("back online") == true)
        // Nothing arrived from the logger while it was offline: the platform saw a burst after.
        #expect((platform.state.unit(Self.mn)?.packetsByCN["2011"] ?? 0) >= 60, "every real-time packet arrived")
    }

    @Test("out-of-order up to the end of the run: the record held back last still goes, once production ends; nothing lost")
    func outOfOrderAtTheEnd() throws {
        let (r, row, _, platform) = try Self.run(faults: "out-of-order@2026-11-30T00:28/3m", duration: "30m")
        #expect(r.status == 0, "\(r.out)\(r.err)")
        let received = platform.state.unit(Self.mn)?.packetsByCN.values.reduce(0, +) ?? 0
        #expect(row.count == 7 && row[0] == received && row[5] == 0, "sent \(row.first ?? -1), the platform took \(received): \(r.out)")
        #expect(platform.minuteRecords(Self.mn) == 3, "00:00, 00:10, 00:20")
    }

    @Test("--read from instruments that never answer: no read counted, exit 1, and a stale fault's truth says nothing was held to pass off")
    func instrumentsNeverRead() throws {
        let gone = try EventLoopGroup(threads: 1, name: "no-sensors")
        defer { gone.shutdown() }
        let closed = try TCPServer.start(on: .loopback(port: 0), group: gone) { _ in TCPCallbacks() }
        let port = closed.localAddress.port
        _ = closed.stopAndWait(timeout: .seconds(3))
        // Two windows 40 s apart: each is recorded (the once-a-minute rule is per window).
        let (r, _, truth, _) = try Self.run(faults: "reading-stale:w01018@2026-11-30T00:00/30s,reading-stale:w01018@2026-11-30T00:00:40/30s", duration: "5m", speed: 300,
                                           extra: ["--read", "modbus-tcp://127.0.0.1:\(port)"])
        #expect(r.status == 1, "\(r.out)\(r.err)")
        #expect(r.out.contains("instrument reads 0,") && r.out.contains("no instrument or meter could be read"), "\(r.out)")
        let stale = truth.filter { string($0["fault"]) == "reading-stale" }
        #expect(stale.count == 2 && stale.allSatisfy { string($0["detail"])?.contains("never read before") == true }, "\(truth)")
    }

    @Test("slow drip: one byte per millisecond, still assembled and acknowledged")
    func slowDrip() throws {
        let (r, row, truth, platform) = try Self.run(faults: "slow-drip(interval_ms=1)@2026-11-30T00:01/1m", duration: "3m", speed: 60)
        #expect(r.status == 0, "\(r.out)\(r.err)")
        #expect(row.count == 7 && row[0] == row[1] && row[2] == 0, "sent = acked, no resends: \(r.out)")
        #expect(platform.state.counters.errors == 0 && platform.state.counters.skippedBytes == 0)
        #expect(truth.count == 1 && string(truth[0]["fault"]) == "slow-drip")
    }

    @Test("never reading: the logger keeps sending without 9014; the platform still takes every packet")
    func neverRead() throws {
        let (r, row, truth, platform) = try Self.run(faults: "never-read@2026-11-30T00:05/20m")
        #expect(r.status == 0, "\(r.out)\(r.err)")
        #expect(row.count == 7 && row[1] < row[0], "fewer acknowledged than sent: \(r.out)")
        #expect(platform.state.unit(Self.mn)?.packetsByCN["2011"] == 60, "each sent once, each received")
        #expect(platform.minuteRecords(Self.mn) == 3)
        #expect(truth.count == 1)
    }

    @Test("reconnect storm and batch writes: many connections, several frames per write, nothing lost")
    func stormAndBatch() throws {
        let storm = try Self.run(faults: "reconnect-storm(interval_ms=30)@2026-11-30T00:05/10m")
        #expect(storm.r.status == 0, "\(storm.r.out)\(storm.r.err)")
        #expect(storm.row.count == 7 && storm.row[6] >= 5, "reconnects: \(storm.r.out)")
        #expect(storm.platform.minuteRecords(Self.mn) == 3)
        #expect(string(storm.truth.last?["detail"])?.contains("reconnects") == true)
        let batch = try Self.run(faults: "batch-write(packets=4)@2026-11-30T00:05/20m")
        #expect(batch.r.status == 0 && batch.row.count == 7 && batch.row[0] == batch.row[1], "\(batch.r.out)")
        #expect(batch.platform.minuteRecords(Self.mn) == 3)
        // The truth says what the batches really were (the logger waits for acknowledgements, so a
        // partial batch goes after 1 s): not just the parameter asked for.
        #expect(string(batch.truth.first?["detail"])?.hasPrefix("up to 4 packets per write") == true, "\(batch.truth)")
        let over = try #require(string(batch.truth.last?["detail"]), "\(batch.truth)")
        let numbers = over.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        #expect(over.hasPrefix("batch-write over: ") && numbers.count == 3, "\(over)")
        if numbers.count == 3 { #expect(numbers[0] >= numbers[1] && numbers[1] > 0 && numbers[2] >= 1 && numbers[2] <= 4, "\(over)") }
    }

    @Test("half-open and disconnect: the link hangs or drops, then recovers; nothing lost")
    func hangAndDrop() throws {
        let hang = try Self.run(faults: "half-open@2026-11-30T00:05/10m,disconnect@2026-11-30T00:20/1m")
        #expect(hang.r.status == 0, "\(hang.r.out)\(hang.r.err)")
        #expect(hang.row.count == 7 && hang.row[6] >= 1, "reconnected after the drop: \(hang.r.out)")
        #expect(hang.platform.minuteRecords(Self.mn) == 3)
        #expect(Set(hang.truth.compactMap { string($0["fault"]) }) == ["half-open", "disconnect"])
    }
}

@Suite("Fault and scenario options")
struct FaultOptionTests {
    @Test("generate refuses transport faults and transport scenarios, naming why; --list shows scenarios")
    func generateRefuses() {
        let out = temporaryPath(".raw")
        defer { try? FileManager.default.removeItem(atPath: out); try? FileManager.default.removeItem(atPath: out + ".truth.jsonl") }
        let t = hj212(["generate", "--unit", "industrial-wastewater", "--start", "2026-11-30", "--duration", "1h", "-o", out, "--faults", "outage"])
        #expect(t.status == 2 && t.err.contains("transport fault") && t.err.contains("simulate"), "\(t.err)")
        let s = hj212(["generate", "--scenario", "offline-backfill", "--start", "2026-11-30", "--duration", "1d", "-o", out])
        #expect(s.status == 2 && s.err.contains("scenarios/offline-backfill.json") && s.err.contains("events[0]"), "\(s.err)")
        let list = hj212(["generate", "--list"])
        #expect(list.out.contains("protocol-torture") && list.out.contains("furnace-low"))
    }

    @Test("generate --scenario: the scenario's fleet, its ground truth, byte-identical under a seed")
    func generateScenario() throws {
        let a = temporaryPath(".raw"), b = temporaryPath(".raw")
        defer { for p in [a, b] { try? FileManager.default.removeItem(atPath: p); try? FileManager.default.removeItem(atPath: p + ".truth.jsonl") } }
        for p in [a, b] {
            let r = hj212(["generate", "--scenario", "furnace-below-850", "--start", "2026-11-30", "--duration", "2h", "--seed", "3", "-o", p])
            #expect(r.status == 0, "\(r.err)")
        }
        #expect(FileManager.default.contentsEqual(atPath: a, andPath: b))
        #expect(FileManager.default.contentsEqual(atPath: a + ".truth.jsonl", andPath: b + ".truth.jsonl"))
        let truth = truthLines(a + ".truth.jsonl")
        #expect(truth.count == 1 && string(truth[0]["fault"]) == "furnace-low" && string(truth[0]["mn"]) == "010000A89001000000000006")
        #expect(hj212(["generate", "--scenario", "furnace-below-850", "--start", "2026-11-30", "--duration", "2h", "-o", a]).err.contains("not injected"))
        // A bad unit in a scenario file: exit 2 before anything is written, with the entry and reason.
        let bad = temporaryPath(".json")
        defer { try? FileManager.default.removeItem(atPath: bad) }
        try #"{"name":"b","title_zh":"坏","title_en":"Bad","events":[{"unit":"template:msw-incinerator","fault":"flatline","factor":"w01018"}]}"#
            .write(toFile: bad, atomically: true, encoding: .utf8)
        let r = hj212(["generate", "--fleet", "mixed-demo", "--scenario", bad, "--start", "2026-11-30", "--duration", "1h", "-o", a])
        #expect(r.status == 2 && r.err.contains(bad) && r.err.contains("events[0]") && r.err.contains("no factor w01018"), "\(r.err)")
    }

    @Test("no-resend: an upload without 9014 is given up at OverTime, not resent (sans I/O)")
    func noResend() throws {
        let t0 = SimClock.parseStart("2026-11-30")!
        let device = LoggerDevice(simulator: try UnitSimulator(template: try UnitTemplate.load("industrial-wastewater"),
                                                               identity: LoggerIdentity(mn: TransportFaultTests.mn, pw: "123456"), seed: 1, start: t0))
        var session = LoggerSession(device: device)
        _ = session.connected(at: t0)
        device.advance(to: t0 + 60_000)
        let first = session.tick(at: t0 + 60_000)
        #expect(!first.isEmpty)
        var resending = session
        session.resends = false
        _ = session.tick(at: t0 + 60_000 + 10_001)
        #expect(session.statistics.resent == 0 && session.statistics.givenUp > 0)
        _ = resending.tick(at: t0 + 60_000 + 10_001)
        #expect(resending.statistics.resent > 0)
    }
}
