import Foundation
import Glibc
import HJ212
import HJConformance
import HJNetwork
import Synchronization
import Testing
@testable import HJ212CLI

/// Issue 11 (verdicts a certifier can sign) and issue 18 (hardening) for `check logger`: each
/// reported defect reproduced against the emulated logger or a scripted peer.
@Suite("check logger verdicts and hardening")
struct CheckLoggerVerdictTests {
    @Test("a window too short for the hour checks (no plan) is incomplete, exit 3, not PASS")
    func shortWindowIncomplete() throws {
        // 0.5 s at 3000× is 25 min of the logger's time: no hour record can be judged.
        let run = try CheckLoggerTests.check(only: ["L-CONNECT", "L-LINT", "L-HOUR-CADENCE"], window: 0.5, speed: 3000)
        let v = CheckLoggerTests.verdicts(run)
        #expect(v["L-LINT"] == .pass && v["L-HOUR-CADENCE"] == .notExercised, "\(run.results.map { "\($0.rule.id) \($0.verdict): \($0.message)" })")
        #expect(run.score.overall == 100)
        #expect(run.verdict == .incomplete && run.exitStatus == 3)
        #expect(run.coverage.exercised == 2 && run.coverage.inScope == 3)
    }

    @Test("incinerators: ST=31 and ST=51 minute records are separate series; 1064 passes", arguments: ["msw-incinerator", "hazardous-waste-incinerator"])
    func workingConditionSeries(_ unit: String) throws {
        // Not declared: the unit's ST is found from what the logger sends, as in a real run.
        let run = try CheckLoggerTests.check(only: ["L-CONNECT", "L-CMD-1063", "L-CMD-1064", "L-MIN-CADENCE"], window: 1, speed: 3000,
                                             unit: unit, declareUnit: false)
        let v = CheckLoggerTests.verdicts(run)
        for id in ["L-CMD-1063", "L-CMD-1064", "L-MIN-CADENCE"] {
            #expect(v[id] == .pass, "\(unit) \(id): \(CheckLoggerTests.describe(run)) \(run.results.first { $0.rule.id == id }?.wire.map(\.text).joined(separator: "\n") ?? "")")
        }
    }

    @Test("without --pw the default 123456 is expected: a wrong first PW fails L-PW alone, without cascade")
    func defaultPassword() throws {
        let run = try CheckLoggerTests.check(faults: "wrong-pw#3", only: ["L-CONNECT", "L-PW", "L-CMD-1061", "L-CMD-1011", "L-MN"],
                                             window: 0.5, speed: 3000, pw: nil)
        let v = CheckLoggerTests.verdicts(run)
        #expect(v["L-PW"] == .fail, "\(CheckLoggerTests.describe(run))")
        let pwMessage = run.results.first { $0.rule.id == "L-PW" }?.message ?? ""
        #expect(pwMessage.hasPrefix("3 of "), "\(pwMessage)")
        #expect(pwMessage.contains("expected '123456'"), "\(pwMessage)")
        for id in ["L-CMD-1061", "L-CMD-1011", "L-MN", "L-CONNECT"] {
            #expect(v[id] == .pass, "\(id): \(CheckLoggerTests.describe(run))")
        }
    }

    /// Connects `count` plain sockets to the check; the first sends `bytes` and, with
    /// `leave`, closes at once.
    static func peers(_ bytes: [UInt8], count: Int = 1, leave: Bool, window: Double, only: [String] = []) throws -> CheckRun {
        let fds = Mutex<[Int32]>([])
        let options = LoggerCheckOptions(host: "127.0.0.1", port: 0, selection: CheckSelection(only: only), window: window, overTime: 1,
                                         connectTimeout: 5, listening: { port in
            for i in 0..<count {
                guard let s = connectLoopback(port: port) else { continue }
                if i == 0 && !bytes.isEmpty { _ = bytes.withUnsafeBytes { send(s, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }
                if leave && i == 0 { close(s) } else { fds.withLock { $0.append(s) } }
            }
        })
        let run = LoggerCheck.run(options, catalogue: try RuleCatalogue.load())
        for s in fds.withLock({ $0 }) { close(s) }
        return run
    }

    static func upload() -> [UInt8] {
        let qn = HJTime(wallMilliseconds: WallClock.localMilliseconds(offsetMinutes: 480)).text17
        return FrameEncoder.frame(SegmentParser.parse(Array("QN=\(qn);ST=32;CN=2011;PW=123456;MN=\(CheckLoggerTests.mn);Flag=5;CP=&&DataTime=\(qn.prefix(14));w01018-Rtd=10.0,w01018-Flag=N&&".utf8)[...]).segment)
    }

    @Test("a logger that sends one frame and leaves: commands stop waiting, are not exercised, and the peer is named")
    func loggerLeaves() throws {
        let t0 = MonotonicTime.now
        let run = try Self.peers(Self.upload(), leave: true, window: 0.5)
        // Hang guard only: each of ~20 requests used to wait 15 s for a reconnect (5 min or more).
        #expect(MonotonicTime.now - t0 < .seconds(90))
        let connect = try #require(run.results.first { $0.rule.id == "L-CONNECT" })
        #expect(connect.verdict == .pass)
        #expect(connect.message.contains("connected from 127.0.0.1:") && !connect.message.contains("?"), "\(connect.message)")
        let v = CheckLoggerTests.verdicts(run)
        for id in ["L-CMD-1011", "L-CMD-1061", "L-CMD-1063", "L-CMD-BADPW"] {
            #expect(v[id] == .notExercised, "\(id): \(run.results.first { $0.rule.id == id }?.message ?? "")")
        }
        #expect(run.results.first { $0.rule.id == "L-CMD-1061" }?.message.contains("not connected") == true)
        #expect(run.verdict == .incomplete && run.exitStatus == 3)
        #expect(run.facts.contains { $0.0 == "logger gone" })
    }

    @Test("connections beyond the budget are closed at once and counted")
    func connectionBudget() throws {
        let run = try Self.peers(Self.upload(), count: 40, leave: false, window: 0.5, only: ["L-CONNECT"])
        let connections = Int(run.facts.first { $0.0 == "connections" }?.1 ?? "") ?? -1
        #expect(connections >= 1 && connections <= 16, "\(run.facts)")
        #expect(run.facts.contains { $0.0.hasPrefix("connections refused") }, "\(run.facts)")
    }

    @Test("--trace records the certification exchange, up and down, in the trace format")
    func trace() throws {
        let lines = Mutex<[(up: Bool, bytes: Int)]>([])
        let run = try CheckLoggerTests.check(only: ["L-CONNECT", "L-CMD-1061"], window: 0.3, speed: 3000,
                                             trace: { bytes, up, _ in lines.withLock { $0.append((up, bytes.count)) } })
        #expect(CheckLoggerTests.verdicts(run)["L-CMD-1061"] == .pass)
        let got = lines.withLock { $0 }
        #expect(got.contains { $0.up } && got.contains { !$0.up })
    }
}
