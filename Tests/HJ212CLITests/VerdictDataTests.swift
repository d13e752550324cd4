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

/// Issue 11, the verdicts outside `check`: each test reproduces one item that was seen.
@Suite("Verdicts outside check (issue 11)")
struct VerdictDataTests {
    @Test("lint of input that holds no frame exits 1 with a one-line reason (item 11)")
    func lintNoFrame() throws {
        let noise = hj212(["lint", "-"], stdin: Array("hello, this is not HJ 212\r\n".utf8))
        #expect(noise.status == 1)
        #expect(noise.err.contains("no frame found") && noise.err.split(separator: "\n").count == 1)
        let empty = hj212(["lint", "-"], stdin: [])
        #expect(empty.status == 1)
        let json = hj212(["lint", "--format", "json", "-"], stdin: [])
        #expect(json.status == 1 && json.err.contains("no frame"))
        // A frame still passes.
        #expect(hj212(["lint", "-"], stdin: Array((v1Frame + "\r\n").utf8)).status == 0)
    }
}

@Suite("load verdict without thresholds (issue 11 item 7)", .serialized)
struct LoadVerdictTests {
    @Test("a server that answers HTTP/1.1 400 to everything acknowledges nothing: exit 1, and the summary says why")
    func nothingAcknowledged() throws {
        let group = try EventLoopGroup(threads: 1, name: "http-400")
        defer { group.shutdown() }
        let server = try TCPServer.start(on: .loopback(port: 0), group: group) { _ in
            TCPCallbacks(onRead: { connection, _ in
                connection.write(Array("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".utf8))
            })
        }
        let r = hj212(["load", server.localAddress.description, "--loggers", "3", "--rate", "15", "--duration", "1s", "--ramp", "100ms",
                       "--threads", "1", "--ack-timeout", "500ms"])
        #expect(r.status == 1, "\(r.out)\(r.err)")
        let verdict = r.out.split(separator: "\n").filter { $0.contains("verdict") }
        #expect(verdict.count == 1 && verdict[0].contains("FAIL") && verdict[0].contains("nothing was acknowledged")
                && verdict[0].contains("not HJ 212"), "\(r.out)")
        // JSON says it too; thresholds do not turn a run that acknowledged nothing into a pass.
        let j = hj212(["load", server.localAddress.description, "--loggers", "2", "--rate", "10", "--duration", "1s", "--ramp", "100ms",
                       "--threads", "1", "--ack-timeout", "500ms", "--format", "json", "--threshold", "errors==0"])
        #expect(j.status == 1, "\(j.out)\(j.err)")
        let json = try JSONValue.parse(j.out.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(json["verdict"] == .string("fail"))
    }

    @Test("fewer loggers connected than asked: exit 1 without thresholds, with the count; thresholds on connected and missed decide instead")
    func fewerConnected() throws {
        let p = try startPlatform()
        defer { p.platform.stop(); p.group.shutdown() }
        // A second target whose port is closed: every other logger is refused.
        let closedGroup = try EventLoopGroup(threads: 1, name: "closed")
        let closed = try TCPServer.start(on: .loopback(port: 0), group: closedGroup) { _ in TCPCallbacks() }
        let closedAddress = closed.localAddress.description
        closedGroup.shutdown()
        let targets = "\(p.address),\(closedAddress)"
        let r = hj212(["load", targets, "--loggers", "4", "--rate", "8", "--duration", "1s", "--ramp", "100ms", "--threads", "1"])
        #expect(r.status == 1, "\(r.out)\(r.err)")
        let verdict = r.out.split(separator: "\n").filter { $0.contains("verdict") }
        #expect(verdict.count == 1 && verdict[0].contains("only 2 of 4 loggers connected"), "\(r.out)")
        // A threshold on the fleet accepts the refused loggers, not the packets they never sent
        // (session 18): those are accepted knowingly with a threshold on the losses too.
        let fleetOnly = hj212(["load", targets, "--loggers", "4", "--rate", "8", "--duration", "1s", "--ramp", "100ms", "--threads", "1",
                               "--threshold", "connected>=50%"])
        #expect(fleetOnly.status == 1 && fleetOnly.out.contains("scheduled packets were not acknowledged")
                && !fleetOnly.out.contains("loggers connected"), "\(fleetOnly.out)\(fleetOnly.err)")
        let accepted = hj212(["load", targets, "--loggers", "4", "--rate", "8", "--duration", "1s", "--ramp", "100ms", "--threads", "1",
                              "--threshold", "connected>=50%", "--threshold", "missed<=50%"])
        #expect(accepted.status == 0, "\(accepted.out)\(accepted.err)")
        // And a clean run still passes with no threshold.
        let clean = hj212(["load", p.address, "--loggers", "2", "--rate", "8", "--duration", "1s", "--ramp", "100ms", "--threads", "1"])
        #expect(clean.status == 0 && clean.out.contains("verdict       pass"), "\(clean.out)\(clean.err)")
    }

    @Test("the platform goes away in the middle of the run: every logger connected once, but packets were never acknowledged, so no pass without thresholds")
    func platformGoneMidRun() throws {
        let p = try startPlatform()
        defer { p.group.shutdown() }
        // Stop the platform one second into a three-second window: the loggers lose their
        // connections and the reconnects are refused.
        DispatchQueue.global().asyncAfter(deadline: .now() + 1.2) { p.platform.stop() }
        let r = hj212(["load", p.address, "--loggers", "3", "--rate", "15", "--duration", "3s", "--ramp", "100ms", "--threads", "1",
                       "--ack-timeout", "500ms"])
        #expect(r.status == 1, "\(r.out)\(r.err)")
        let verdict = r.out.split(separator: "\n").filter { $0.contains("verdict") }
        #expect(verdict.count == 1 && verdict[0].contains("FAIL") && verdict[0].contains("scheduled packets were not acknowledged"), "\(r.out)")
    }
}

@Suite("serve completeness over the registry (issue 11 item 9)", .serialized)
struct RegistryCompletenessTests {

    /// One unit of the 520 of sample-city sends 30 minutes to a platform that registers them all.
    @Test("one of 520 registered units connected: the summary lists the others as never connected and never says nothing lost")
    func oneOfMany() throws {
        let registry = try #require(try? HJRoles.Registry.load(path: "Profiles/fleets/sample-city.csv"))
        #expect(registry.count > 100)
        let first = try #require(registry.entries.values.min { $0.mn < $1.mn })
        let start = try #require(SimClock.parseStart("2026-11-30T00:00"))
        let group = try EventLoopGroup(threads: 1, name: "registry-platform")
        defer { group.shutdown() }
        let state = PlatformState(registry: registry, linter: try makeLinter(dialect: nil, strict: false, profiles: nil, profile: "hebei-dynamic"))
        var options = PlatformSession.Options()
        options.overTime = 10_000 * 1200
        let platform = LivePlatform(address: .loopback(port: 0), state: state, clock: LiveClock(start: start, speed: 1200), options: options, trace: nil, group: group)
        let address = try platform.start()
        defer { platform.stop() }
        // The first unit of the fleet (a WWTP inlet) under its own MN and password.
        #expect(first.mn == "010000A89000000000000001")
        let sim = hj212(["simulate", "--unit", "wwtp-inlet", "--mn", first.mn, "--pw", first.pw, "--to", address.description, "--speed", "1200",
                         "--start", "2026-11-30T00:00", "--duration", "30m", "--drain", "10", "--threads", "1"])
        #expect(sim.status == 0, "\(sim.out)\(sim.err)")
        #expect(state.unitCount == 1)
        let io = CommandIO(stdout: OutputSink(), stderr: OutputSink(), stdinBytes: nil)
        let missing = PlatformReport.print(state: state, from: start, end: start + 30 * 60_000, io: io, trace: nil, fromFirstRecord: true)
        let out = io.stdout.captured
        #expect(!out.contains("nothing lost"), "\(out.suffix(800))")
        #expect(out.contains("never connected"), "\(out.suffix(800))")
        #expect(out.contains("\(registry.count - 1) of \(registry.count) registered units never connected"), "\(out.suffix(800))")
        #expect(missing > 0, "the records of the units that never connected are missing")
    }

    @Test("serve --registry takes a built-in fleet name as --fleet does; nothing received from 520 units is not 'nothing lost'")
    func builtinName() {
        let r = hj212(["serve", "--listen", "127.0.0.1:0", "--registry", "sample-city", "--duration", "1s"])
        #expect(r.status == 0, "\(r.out)\(r.err)")
        #expect(r.out.contains("registered loggers"), "\(r.out)")
        #expect(r.out.contains("never connected") && !r.out.contains("nothing lost"), "\(r.out)")
    }
}

@Suite("generate: ground truth equals the wire (issue 11 item 8)")
struct GenerateTruthTests {
    @Test("missing-record#2 with misaligned-datatime#3: a misaligned truth record for each misaligned frame, none for records never sent")
    func overlapping() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("hj212-truth-\(UUID().uuidString).raw").path
        defer { try? FileManager.default.removeItem(atPath: out); try? FileManager.default.removeItem(atPath: out + ".truth.jsonl") }
        let r = hj212(["generate", "--unit", "industrial-wastewater", "--start", "2026-11-30", "--duration", "2h", "-o", out,
                       "--faults", "missing-record#2,misaligned-datatime#3"])
        #expect(r.status == 0, "\(r.err)")
        let truth = try String(contentsOfFile: out + ".truth.jsonl", encoding: .utf8).split(separator: "\n").map { try JSONValue.parse(String($0)) }
        let misalignedQNs = Set(truth.filter { $0["fault"] == .string("misaligned-datatime") }.compactMap { if case .string(let q)? = $0["qn"] { return q } else { return nil } })
        let missingQNs = Set(truth.filter { $0["fault"] == .string("missing-record") }.compactMap { if case .string(let q)? = $0["qn"] { return q } else { return nil } })
        let frames = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\r\n")
        let onWire = frames.filter { $0.range(of: #"DataTime=\d{12}37;"#, options: .regularExpression) != nil }
        let wireQNs = Set(onWire.compactMap { line in line.range(of: #"QN=\d{17}"#, options: .regularExpression).map { String(line[$0].dropFirst(3)) } })
        #expect(missingQNs.count == 2)
        #expect(misalignedQNs.count == 3 && onWire.count == 3, "truth \(misalignedQNs.sorted()), wire \(wireQNs.sorted())")
        #expect(misalignedQNs == wireQNs)
        #expect(misalignedQNs.isDisjoint(with: missingQNs))
    }
}

@Suite("usage errors of generate, simulate, serve, load and demo (issue 11 deliver 4)", .serialized)
struct UsageErrorTests {
    @Test("an unknown unit template, fleet or scenario: one line, exit 2, before anything runs")
    func unknownNames() {
        let out = temporaryPath(".raw")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let cases: [[String]] = [
            ["generate", "--unit", "nope", "--start", "2026-11-30", "--duration", "1h", "-o", out],
            ["generate", "--fleet", "nope", "--start", "2026-11-30", "--duration", "1h", "-o", out],
            ["generate", "--scenario", "nope", "--start", "2026-11-30", "--duration", "1h", "-o", out],
            ["simulate", "--unit", "nope", "--to", "127.0.0.1:9"],
            ["simulate", "--fleet", "nope", "--to", "127.0.0.1:9"],
            ["load", "127.0.0.1:9", "--loggers", "1", "--unit", "nope"],
            ["load", "127.0.0.1:9", "--loggers", "1", "--fleet", "nope"],
            ["load", "nosuchhost.invalid:9", "--loggers", "1"],
            ["serve", "--listen", "127.0.0.1:0", "--registry", "nope", "--duration", "1s"],
            ["demo", "--fleet", "nope", "--seconds", "1"],
        ]
        for c in cases {
            let r = hj212(c)
            #expect(r.status == 2, "\(c): \(r.out)\(r.err)")
            let lines = r.err.split(separator: "\n")
            #expect(lines.count == 1 && lines[0].hasPrefix("hj212 \(c[0]):"), "\(c): \(r.err)")
            #expect(r.out.isEmpty, "\(c): nothing ran: \(r.out)")
        }
        #expect(!FileManager.default.fileExists(atPath: out), "generate wrote nothing")
    }

    @Test("serve on a port in use: one line, exit 2")
    func portInUse() throws {
        let group = try EventLoopGroup(threads: 1, name: "holder")
        defer { group.shutdown() }
        let holder = try TCPServer.start(on: .loopback(port: 0), group: group) { _ in TCPCallbacks() }
        let r = hj212(["serve", "--listen", holder.localAddress.description, "--duration", "1s"])
        #expect(r.status == 2)
        #expect(r.err.split(separator: "\n").count == 1 && r.err.contains("Address already in use"), "\(r.err)")
    }
}

@Suite("offline-backfill on loopback (issue 11 item 10)", .serialized)
struct OfflineBackfillStoryTests {
    @Test("offline-backfill: the chemical plant is offline two hours, then backfills; the power plant drops once; no minute record is lost")
    func story() throws {
        let platform = try LoopbackPlatform(start: SimClock.parseStart("2026-11-30T00:00")!, speed: 2400)
        let truth = temporaryPath(".truth.jsonl")
        defer { try? FileManager.default.removeItem(atPath: truth) }
        let r = hj212(["simulate", "--scenario", "offline-backfill", "--to", platform.address.description, "--speed", "2400",
                       "--start", "2026-11-30T00:00", "--duration", "3h", "--drain", "20", "--truth", truth, "--threads", "1"])
        #expect(r.status == 0, "\(r.out.suffix(1500))\(r.err)")
        let chem = "010000A89001000000000001", power = "010000A89001000000000004"
        // 00:00 … 02:50: eighteen minute records of the chemical plant, all arrived after the outage.
        #expect(platform.minuteRecords(chem) == 18, "\(platform.minuteRecords(chem))")
        #expect(platform.minuteRecords(power) == 18, "\(platform.minuteRecords(power))")
        let records = truthLines(truth)
        #expect(records.contains { string($0["fault"]) == "outage" && string($0["mn"]) == chem })
        // (The power plant's one-minute disconnect lasts 25 ms of real time at this speed; a live
        // logger starts transport faults on its ticks, so under heavy load it can miss so short a
        // window. Its story here: nothing of the power plant is lost either.)
        #expect(records.contains { string($0["detail"])?.hasPrefix("back online") == true }, "the backlog went out")
    }
}
