import Dispatch
import Foundation
import Glibc
import HJ212
import HJConformance
import HJNetwork
import HJRoles
import HJSimulation
import Synchronization
import Testing
import HJLive
@testable import HJ212CLI
@testable import HJLive

/// `check logger` against our emulated logger (`simulate`, in process) on loopback, accelerated
/// so that minute and hour records arrive within seconds.
@Suite("check logger against the emulated logger", .serialized)
struct CheckLoggerTests {
    static let mn = "010000A8900016F000169DC0"

    /// Runs the check with an emulated logger of `unit` that connects once the port is known.
    static func check(faults: String? = nil, only: [String] = [], profile: CheckProfile = .national2017, window: Double,
                      speed: Double = 1200, start: String = "2026-11-30T09:57", unit: String = "industrial-wastewater",
                      interruptAfter: Double? = nil, reCount: Int = 2, plan: CheckPlan? = nil, pw: String? = "123456", declareUnit: Bool = true,
                      rtdInterval: Int? = nil, trace: (@Sendable ([UInt8], Bool, String) -> Void)? = nil) throws -> CheckRun {
        let template = try UnitTemplate.load(unit)
        let startMs = try #require(SimClock.parseStart(start))
        var simOptions = SimulationOptions()
        simOptions.rtdIntervalSeconds = rtdInterval
        var session = LoggerSession.Options()
        session.timeScale = speed
        if let faults {
            let specs = try FaultSpec.parseList(faults)
            simOptions.faults = specs
            session.faults = specs
        }
        // Built on the listening callback and handed to the logger's loop: only that loop touches it.
        let simulator = try UnitSimulator(template: template, identity: LoggerIdentity(mn: mn, pw: "123456"), seed: 7, start: startMs, options: simOptions)
        let group = try EventLoopGroup(threads: 1, name: "test-logger")
        defer { group.shutdown() }
        let logger = Mutex<LiveLogger?>(nil)
        let loop = group.next()
        let sessionOptions = session
        let began = MonotonicTime.now
        let hooks = CheckHooks(progress: { text in
            if ProcessInfo.processInfo.environment["HJ212_CHECK_DEBUG"] != nil, !text.contains("frames received") {
                print(String(format: "%.2f ", Double((MonotonicTime.now - began).components.attoseconds) / 1e18 + Double((MonotonicTime.now - began).components.seconds)) + text)
            }
        }, shouldContinue: {
            guard let limit = interruptAfter else { return true }
            return (MonotonicTime.now - began) < .milliseconds(Int64(limit * 1000))
        })
        var options = LoggerCheckOptions(host: "127.0.0.1", port: 0, mn: mn, pw: pw, unitKind: declareUnit ? unit : nil,
                                         selection: CheckSelection(only: only, profile: profile), window: window, overTime: 1, reCount: reCount,
                                         connectTimeout: 10, listening: { port in
            let l = LiveLogger(loop: loop, device: LoggerDevice(simulator: simulator), platforms: [SocketAddress.loopback(port: port)], clock: LiveClock(start: startMs, speed: speed),
                               produceUntil: .max, sessionOptions: sessionOptions, trace: nil)
            logger.withLock { $0 = l }
            l.start()
        })
        options.plan = plan
        options.trace = trace
        let run = LoggerCheck.run(options, catalogue: try RuleCatalogue.load(), hooks: hooks)
        if let l = logger.withLock({ $0 }) { SimulateCommand_stop(l) }
        return run
    }

    static func SimulateCommand_stop(_ l: LiveLogger) { LiveSetup.stop([l]) }

    static func verdicts(_ run: CheckRun) -> [String: Verdict] {
        Dictionary(run.results.map { ($0.rule.id, $0.verdict) }, uniquingKeysWith: { a, _ in a })
    }

    static func describe(_ run: CheckRun) -> String {
        run.results.filter { $0.verdict != .pass }.map { "\($0.rule.id) \($0.verdict.rawValue): \($0.message)" }.joined(separator: "\n")
    }

    @Test("the emulated logger scores 100 with nothing failing, and every group is exercised (Jiangsu profile: all rules, plan hour)")
    func clean() throws {
        let run = try Self.check(profile: .jiangsu, window: 30, speed: 1800, plan: .hour)
        let score = run.score
        #expect(run.reachable && !run.interrupted)
        #expect(score.fail == 0, "\(Self.describe(run))")
        #expect(score.overall == 100, "\(Self.describe(run))")
        #expect(run.verdict == .pass && run.exitStatus == 0, "\(Self.describe(run))")
        let v = Self.verdicts(run)
        // The checks that need only this window are all exercised (day data needs a day).
        for id in ["L-LINT", "L-CRC", "L-FRAME", "L-MN", "L-PW", "L-QN", "L-RTD-CADENCE", "L-MIN-CADENCE", "L-MIN-ALIGN", "L-HOUR-ALIGN",
                   "L-FACTORS", "L-AGG-HOUR", "L-AGG-COU", "L-AGG-FLAG", "L-RESEND", "L-RESEND-QN", "L-RESEND-TIMING", "L-RESEND-COUNT",
                   "L-BACKFILL", "L-RECONNECT", "L-CMD-1000", "L-CMD-1011", "L-CMD-1012", "L-CMD-1061", "L-CMD-1062", "L-CMD-1063",
                   "L-CMD-1064", "L-CMD-1072", "L-CMD-2051", "L-CMD-2061", "L-CMD-EMPTY", "L-CMD-3020", "L-CMD-3021", "L-CMD-BADPW",
                   "L-CMD-BADMN", "L-REPLY-FORM", "L-REPLY-TIME", "L-CLOCK-CONSISTENT", "L-LINT-CLEAN", "L-DYN-RUN", "L-DYN-CAL", "L-DYN-QUERY"] {
            #expect(v[id] == .pass, "\(id): \(run.results.first { $0.rule.id == id }?.message ?? "missing")")
        }
        // Day checks are beyond the hour plan: out of scope, listed, not counted.
        #expect(v["L-AGG-DAY"] == nil)
        #expect(run.outOfScope.map(\.rule.id).contains("L-AGG-DAY"))
    }

    @Test("nothing connecting ends unreachable (exit 2) after the connect timeout, not in a hang")
    func unreachable() throws {
        let options = LoggerCheckOptions(host: "127.0.0.1", port: 0, window: 1, connectTimeout: 0.5)
        let t0 = MonotonicTime.now
        let run = LoggerCheck.run(options, catalogue: try RuleCatalogue.load())
        // A hang guard only (the run takes about 0.5 s; 10× that for slow CI), not a speed test.
        #expect(MonotonicTime.now - t0 < .seconds(5))
        #expect(!run.reachable && run.exitStatus == 2)
        #expect(run.results.allSatisfy { $0.verdict != .pass })
        #expect(run.results.first { $0.rule.id == "L-CONNECT" }?.message.contains("no logger connected") == true)
        // decisions.md (session 18): no logger to judge is no failure: every check, L-CONNECT
        // included, is not exercised, and the report's counts say so.
        #expect(run.results.allSatisfy { $0.verdict == .notExercised }, "\(Self.describe(run))")
        #expect(run.score.blockingFailures == 0 && run.coverage.exercised == 0)
    }

    @Test("interrupted before a logger connected: L-CONNECT is not exercised (interrupted), not failed")
    func interruptedBeforeConnect() throws {
        let options = LoggerCheckOptions(host: "127.0.0.1", port: 0, window: 1, connectTimeout: 10)
        let t0 = MonotonicTime.now
        let run = LoggerCheck.run(options, catalogue: try RuleCatalogue.load(),
                                  hooks: CheckHooks(shouldContinue: { MonotonicTime.now - t0 < .milliseconds(300) }))
        #expect(MonotonicTime.now - t0 < .seconds(5))
        #expect(run.interrupted && run.verdict == .incomplete)
        let connect = try #require(run.results.first { $0.rule.id == "L-CONNECT" })
        #expect(connect.verdict == .notExercised && connect.message.contains("interrupted"), "\(connect.message)")
        #expect(run.score.blockingFailures == 0)
    }

    /// Connects a plain socket to the check, sends `bytes`, and keeps it open while the check runs.
    static func peer(_ bytes: [UInt8], window: Double, only: [String] = []) throws -> CheckRun {
        let fd = Mutex<Int32>(-1)
        let options = LoggerCheckOptions(host: "127.0.0.1", port: 0, selection: CheckSelection(only: only), window: window, overTime: 1, connectTimeout: 5, listening: { port in
            guard let s = connectLoopback(port: port) else { return }
            if !bytes.isEmpty { _ = bytes.withUnsafeBytes { send(s, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }
            fd.withLock { $0 = s }
        })
        let run = LoggerCheck.run(options, catalogue: try RuleCatalogue.load())
        let s = fd.withLock { $0 }
        if s >= 0 { close(s) }
        return run
    }

    @Test("a logger that connects and stays silent is reported, within the window")
    func silent() throws {
        let t0 = MonotonicTime.now
        let run = try Self.peer([], window: 1)
        // A hang guard only (the run takes about 1 s; 10× that for slow CI), not a speed test.
        #expect(MonotonicTime.now - t0 < .seconds(10))
        #expect(run.reachable && run.exitStatus == 1)
        #expect(run.results.first { $0.rule.id == "L-CONNECT" }?.message.contains("sent nothing") == true)
    }

    @Test("a peer that talks nonsense is reported with what it sent")
    func nonsense() throws {
        let run = try Self.peer(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8), window: 1)
        #expect(run.exitStatus == 1)
        let connect = try #require(run.results.first { $0.rule.id == "L-CONNECT" })
        #expect(connect.verdict == .fail && connect.message.contains("no parseable HJ 212 packet"), "\(connect.message)")
        #expect(!connect.wire.isEmpty)
    }

    @Test("an upload whose QN is not a time and that has no DataTime does not crash the clock check")
    func invalidQN() throws {
        let segment = SegmentParser.parse(Array("QN=ABC;ST=32;CN=2011;PW=123456;MN=\(Self.mn);Flag=4;CP=&&&&".utf8)[...]).segment
        // "L-CLOCK" selects L-CLOCK-CONSISTENT too: its 1011 goes unanswered (OverTime 1 s).
        let run = try Self.peer(FrameEncoder.frame(segment), window: 1, only: ["L-CLOCK"])
        let clock = try #require(run.results.first { $0.rule.id == "L-CLOCK" })
        #expect(clock.verdict == .notExercised, "\(clock.message)")
    }

    @Test("ReCount 0: no copy passes L-RESEND-COUNT; the other resend checks are not exercised")
    func reCountZero() throws {
        // A logger that gives up an unacknowledged upload: what ReCount 0 asks for.
        let run = try Self.check(faults: "no-resend", only: ["L-CONNECT", "L-CMD-1000", "L-RESEND"], window: 0.5, speed: 3000, reCount: 0)
        let v = Self.verdicts(run)
        // 1000 takes ReCount 1…99: with 0 it is not sent.
        #expect(v["L-CMD-1000"] == .notExercised, "\(Self.describe(run))")
        #expect(v["L-RESEND-COUNT"] == .pass, "\(Self.describe(run))")
        for id in ["L-RESEND", "L-RESEND-QN", "L-RESEND-TIMING"] {
            #expect(v[id] == .notExercised, "\(id): \(Self.describe(run))")
            #expect(run.results.first { $0.rule.id == id }?.message.contains("ReCount=0") == true)
        }
    }

    @Test("history records that reuse the request QN are reported as such (C.48), not as missing")
    func historyReusesQN() throws {
        let run = try ScriptedLogger.run(only: ["L-CMD-2051"], window: 1)
        let c = try #require(run.results.first { $0.rule.id == "L-CMD-2051" })
        #expect(c.verdict == .fail)
        #expect(c.message.contains("reuse the request QN"), "\(c.message)")
        #expect(!c.message.contains("missing"), "\(c.message)")
    }

    @Test("a 1011 response with Flag A=1 is acknowledged with 9014 (§6.2 step 3) and not held against the logger")
    func responseAskingForAck() throws {
        let run = try ScriptedLogger.run(only: ["L-CMD-1011", "L-REPLY-FORM"], window: 0.5, ackedResponse: true)
        for id in ["L-CMD-1011", "L-REPLY-FORM"] {
            let c = try #require(run.results.first { $0.rule.id == id })
            #expect(c.verdict == .pass, "\(id): \(c.message)")
        }
    }

    @Test("lower-case CRC, a length counting characters and a 14-character MN are warnings (HJ212.md §1, §3), shown in the report")
    func referenceWarnings() throws {
        let mn14 = "81733553213013"
        func frame(_ segment: String, lowerCRC: Bool, countCharacters: Bool) -> [UInt8] {
            let bytes = Array(segment.utf8)
            let crc = CRC.hex(CRC.hj212(bytes[...]))
            let length = countCharacters ? segment.count : bytes.count
            return Array((String(format: "##%04d", length) + segment + (lowerCRC ? crc.lowercased() : crc) + "\r\n").utf8)
        }
        let now = HJTime(wallMilliseconds: LiveClock.wallNow(offsetMinutes: SimClock.chinaOffsetMinutes))
        // Lower case only shows on a CRC with a letter in it: take the first QN suffix that gives one.
        let lower = (0..<1000).lazy.map { i in "QN=\(now.text14)\(String(format: "%03d", i));ST=32;CN=2011;PW=123456;MN=\(mn14);Flag=4;CP=&&DataTime=\(now.text14);w01018-Rtd=42.1,w01018-Flag=N&&" }
            .first { CRC.hex(CRC.hj212(Array($0.utf8)[...])).contains { $0.isLetter } }!
        let chinese = "QN=\(now.text14)999;ST=32;CN=3020;PW=123456;MN=\(mn14);Flag=4;CP=&&DataTime=\(now.text14);PolId=w01018;i11001-Info=//清洗管路//&&"
        let run = try Self.peer(frame(lower, lowerCRC: true, countCharacters: false) + frame(chinese, lowerCRC: false, countCharacters: true),
                                window: 1, only: ["L-CRC", "L-FRAME", "L-MN"])
        let v = Self.verdicts(run)
        for id in ["L-CRC", "L-FRAME", "L-MN"] { #expect(v[id] == .warn, "\(id): \(Self.describe(run))") }
        #expect(run.score.blockingFailures == 0, "\(Self.describe(run))")
        let text = CheckReport.render(run, format: .text, lang: .en)
        for (id, what) in [("L-CRC", "frame.crc-lowercase"), ("L-FRAME", "frame.length-counts-characters"), ("L-MN", mn14)] {
            #expect(text.contains("WARN   \(id)") && text.contains(what), "\(id) in the report:\n\(text)")
        }
    }

    @Test("Ctrl-C during the run returns what ran, marked interrupted, with the verdict incomplete (never PASS)")
    func interrupted() throws {
        let run = try Self.check(window: 30, interruptAfter: 1.5)
        #expect(run.interrupted)
        #expect(run.verdict == .incomplete && run.exitStatus == 3)
        #expect(CheckReport.render(run, format: .text, lang: .en).contains("VERDICT: INCOMPLETE"))
        #expect(run.results.first { $0.rule.id == "L-CONNECT" }?.verdict == .pass)
        #expect(run.results.contains { $0.verdict == .notExercised })
    }
}

/// Each protocol fault of the catalogue injected live into the emulated logger fails its check.
/// Not serialized: each run has its own port and loop, and mostly waits, so they overlap.
@Suite("check logger catches each logger fault")
struct CheckLoggerFaultTests {
    /// Each protocol fault of the catalogue, injected live, and the check it must fail.
    static let faults: [(fault: String, check: String, window: Double, unit: String)] = [
        ("crc-mismatch", "L-CRC", 0.5, water), ("crc-modbus", "L-CRC", 0.5, water), ("crc-modbus-swapped", "L-CRC", 0.5, water),
        ("crc-lowercase", "L-CRC", 0.5, water), ("length-wrong", "L-FRAME", 0.5, water), ("no-crlf", "L-FRAME", 0.5, water),
        ("wrong-pw", "L-PW", 0.5, water), ("malformed-mn", "L-MN", 0.5, water), ("version-2005", "L-VERSION", 0.5, water),
        ("duplicate-qn", "L-QN", 0.5, water), ("missing-record", "L-MIN-CADENCE", 1, water), ("duplicate-record", "L-DUPLICATE", 1, water),
        ("clock-skew", "L-MIN-ALIGN", 1, water), ("misaligned-datatime", "L-MIN-ALIGN", 1, water), ("inconsistent-cou", "L-AGG-COU", 1.6, water),
        ("inconsistent-avg", "L-AGG-HOUR", 1.6, water), ("out-of-order", "L-ORDER", 1, water), ("clock-jump@2026-11-30T10:15/2h", "L-RTD-CADENCE", 1, water),
        // Only records the logger splits can be sent unsplit or misnumbered: an incinerator's.
        ("oversized-record", "L-FRAME", 1, "msw-incinerator"), ("wrong-pno", "L-SPLIT", 1, "msw-incinerator"),
    ]
    static let water = "industrial-wastewater"
    /// Faults the reference tells a checker to warn about, not to reject.
    static let warnOnly: Set<String> = ["crc-lowercase"]

    @Test("every protocol fault of the catalogue fails its check", arguments: faults.map(\.fault))
    func fault(_ id: String) throws {
        let entry = try #require(Self.faults.first { $0.fault == id })
        // Speed 3000: 0.5 s of real time is 25 min of the logger's, 1.6 s over an hour.
        let run = try CheckLoggerTests.check(faults: id, only: [entry.check, "L-CONNECT"], window: entry.window, speed: 3000, unit: entry.unit)
        let v = CheckLoggerTests.verdicts(run)
        // HJ212.md §1: "Checker: accept either case, and warn on lower case".
        let expected: Verdict = Self.warnOnly.contains(id) ? .warn : .fail
        #expect(v[entry.check] == expected, "\(id) → \(entry.check): \(CheckLoggerTests.describe(run))")
        let failed = try #require(run.results.first { $0.rule.id == entry.check })
        #expect(!failed.wire.isEmpty, "a failed check keeps its wire log")
        // A Chinese report says the failure in Chinese (message templates, Profiles/checks/messages.json).
        let zh = run.messages.localized(failed.message, .zh)
        #expect(!hasEnglish(zh), "\(id) → \(entry.check) not in Chinese: \(zh)")
        #expect(failed.wire.count <= 60)
    }

    @Test("the fault list covers every protocol fault of the catalogue")
    func coverage() throws {
        let protocolFaults = try FaultSpec.catalogue().filter { $0.layer == "protocol" }.map(\.id)
        let covered = Set(Self.faults.map { String($0.fault.prefix { !":(%#@".contains($0) }) })
        #expect(protocolFaults.filter { !covered.contains($0) } == [], "faults without a check in this test")
    }

}

/// A logger played by a script on a plain socket: three live 2051 uploads, then every request
/// answered 9011, (for a 2051 history request) the records, each wrongly reusing the request's
/// QN, and 9012.
enum ScriptedLogger {
    static let mn = CheckLoggerTests.mn

    static func frame(_ header: [(String, String)], _ cp: [[Field]]) -> [UInt8] {
        FrameEncoder.frame(DataSegment(header: header.map { Field($0.0, $0.1) }, cp: cp))
    }

    static func record(_ dataTime: Int64, qn: String) -> [UInt8] {
        frame([("QN", qn), ("ST", "32"), ("CN", "2051"), ("PW", "123456"), ("MN", mn), ("Flag", "5")],
              [[Field("DataTime", HJTime(wallMilliseconds: dataTime).text14)], [Field("w01018-Avg", "10.0"), Field("w01018-Flag", "N")]])
    }

    /// With `ackedResponse`, a 1011 is answered by 9011, a 1011 response with Flag=5 (A=1) and,
    /// only once the platform acknowledged that response with 9014 (§6.2 step 3), 9012.
    static func run(only: [String], window: Double, ackedResponse: Bool = false) throws -> CheckRun {
        let stop = Atomic<Bool>(false)
        let base = (LiveClock.wallNow(offsetMinutes: SimClock.chinaOffsetMinutes) / 60_000 - 5) * 60_000
        let times = [base, base + 60_000, base + 120_000]
        let options = LoggerCheckOptions(host: "127.0.0.1", port: 0, mn: mn, pw: "123456", selection: CheckSelection(only: only), window: window,
                                         overTime: 1, connectTimeout: 5, listening: { port in
            Thread {
                guard let s = connectLoopback(port: port) else { return }
                defer { close(s) }
                func write(_ bytes: [UInt8]) { _ = bytes.withUnsafeBytes { send(s, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }
                for (i, t) in times.enumerated() { write(record(t, qn: HJTime(wallMilliseconds: t + 1_000 + Int64(i)).text17)) }
                var decoder = FrameDecoder()
                var buffer = [UInt8](repeating: 0, count: 4096)
                var awaitingAck: String?
                while !stop.load(ordering: .relaxed) {
                    var p = pollfd(fd: s, events: Int16(POLLIN), revents: 0)
                    guard poll(&p, 1, 50) >= 0 else { return }
                    guard p.revents != 0 else { continue }
                    let n = recv(s, &buffer, buffer.count, 0)
                    guard n > 0 else { return }
                    decoder.feed(buffer[0..<n])
                    while let event = decoder.next() {
                        guard case .frame(let raw) = event else { continue }
                        let request = SegmentParser.parse(raw.segmentBytes).segment
                        if let pending = awaitingAck, request.cn == "9014", request.qn == pending {
                            awaitingAck = nil
                            write(frame([("QN", pending), ("ST", "91"), ("CN", "9012"), ("PW", "123456"), ("MN", mn), ("Flag", "4")], [[Field("ExeRtn", "1")]]))
                            continue
                        }
                        guard let qn = request.qn, let cn = request.cn, !["9011", "9012", "9013", "9014"].contains(cn) else { continue }
                        let reply = [("QN", qn), ("ST", "91")]
                        write(frame(reply + [("CN", "9011"), ("PW", "123456"), ("MN", mn), ("Flag", "4")], [[Field("QnRtn", "1")]]))
                        if ackedResponse && cn == "1011" {
                            let now = LiveClock.wallNow(offsetMinutes: SimClock.chinaOffsetMinutes)
                            write(frame([("QN", qn), ("ST", "32"), ("CN", "1011"), ("PW", "123456"), ("MN", mn), ("Flag", "5")],
                                        [[Field("SystemTime", HJTime(wallMilliseconds: now).text14)]]))
                            awaitingAck = qn
                            continue
                        }
                        if cn == "2051", let from = request.cpValue("BeginTime").flatMap({ HJTime($0) })?.wallMilliseconds,
                           let to = request.cpValue("EndTime").flatMap({ HJTime($0) })?.wallMilliseconds {
                            for t in times where t >= from && t <= to { write(record(t, qn: qn)) }  // the fault: the request's QN
                        }
                        write(frame(reply + [("CN", "9012"), ("PW", "123456"), ("MN", mn), ("Flag", "4")], [[Field("ExeRtn", "1")]]))
                    }
                }
            }.start()
        })
        defer { stop.store(true, ordering: .relaxed) }
        return LoggerCheck.run(options, catalogue: try RuleCatalogue.load())
    }
}
