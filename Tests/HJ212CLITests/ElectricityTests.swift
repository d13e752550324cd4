import Foundation
import HJ212
import HJConformance
import HJInstruments
import HJLive
import HJNetwork
import HJRoles
import HJSimulation
import Synchronization
import TestSupport
import Testing
@testable import HJ212CLI

/// Electricity monitoring (用电监控, issue 14): the HJ 212-2025 ST=44 uploads of the emulated
/// logger, from its own meters and from the DL/T 645 meters it reads, and L-VALUE-POWER.
@Suite("electricity: ST=44 uploads and L-VALUE-POWER", .serialized)
struct ElectricityTests {
    static let mn = "010000A8900016F000169DC0"

    /// The check's instruments with meters on a DL/T 645 pty (and optionally Modbus TCP), a
    /// 2025 reading logger polling them, and the check judging L-VALUE-POWER.
    static func chain(unit: String = "industrial-wastewater", loggerTemplate: ((UnitTemplate) -> UnitTemplate)? = nil, dialect: Dialect = .hj2025,
                      faults: String? = nil, window: Double = 3, speed: Double = 300) throws -> (CheckRun, [FaultRecord]) {
        let template = try UnitTemplate.load(unit)
        let start = try #require(SimClock.parseStart("2026-11-30T09:57"))
        let loggerClock = Mutex<LiveClock?>(nil)
        let pty = try SerialPort.openPTY(baud: 2400, parity: .even)
        let sensors = try CheckSensors.make(template: template, mn: mn, seed: 7, start: start, now: { loggerClock.withLock { $0?.now ?? start } },
                                            at: { m in loggerClock.withLock { $0?.virtual(at: m) ?? start } }, tcp: nil, ports: [(pty, .dlt645, "dlt645")])
        defer { sensors.stop() }
        let readings = PolledReadings()
        var simOptions = SimulationOptions()
        simOptions.readingSource = readings
        simOptions.dialect = dialect
        let own = loggerTemplate.map { $0(template) } ?? template
        let simulator = try UnitSimulator(template: own, identity: LoggerIdentity(mn: mn, pw: "123456"), seed: 7, start: start, options: simOptions)
        let specs = try InstrumentLineSpec.parseList("dlt645:\(pty.path)", option: "--read")
        let truth = Mutex<[FaultRecord]>([])
        let readingFaults = try faults.map { try FaultSpec.parseList($0) } ?? []
        let lines = try ReadingLoggerLines(specs, sim: simulator, readings: readings, faults: readingFaults, clock: { loggerClock.withLock { $0?.now ?? start } }, speed: speed,
                                           truth: { records in truth.withLock { $0 += records } })
        defer { lines.stopAndWait() }
        let group = try EventLoopGroup(threads: 1, name: "test-electricity-logger")
        defer { group.shutdown() }
        let logger = Mutex<LiveLogger?>(nil)
        let loop = group.next()
        var session = LoggerSession.Options()
        session.timeScale = speed
        let sessionOptions = session
        var options = LoggerCheckOptions(host: "127.0.0.1", port: 0, mn: mn, pw: "123456", unitKind: unit,
                                         selection: CheckSelection(only: ["L-VALUE-POWER", "L-CONNECT"]), window: window, overTime: 1, reCount: 2,
                                         connectTimeout: 10, listening: { port in
            let clock = LiveClock(start: start, speed: speed)
            loggerClock.withLock { $0 = clock }
            lines.start()
            let l = LiveLogger(loop: loop, device: LoggerDevice(simulator: simulator), platforms: [SocketAddress.loopback(port: port)], clock: clock,
                               produceUntil: .max, sessionOptions: sessionOptions, trace: nil)
            logger.withLock { $0 = l }
            l.start()
        })
        options.sensors = sensors.evidence
        let run = LoggerCheck.run(options, catalogue: try RuleCatalogue.load())
        if let l = logger.withLock({ $0 }) { LiveSetup.stop([l]) }
        return (run, truth.withLock { $0 })
    }

    @Test("a clean chain: every ST=44 value is a value its meter served (L-VALUE-POWER passes)")
    func clean() throws {
        let (run, truth) = try Self.chain()
        let v = CheckLoggerTests.verdicts(run)
        #expect(v["L-VALUE-POWER"] == .pass, "\(CheckLoggerTests.describe(run))")
        let result = try #require(run.results.first { $0.rule.id == "L-VALUE-POWER" })
        #expect(result.message.contains("of 1 facilities"), "\(result.message)")
        #expect(truth.isEmpty)
    }

    @Test("a wrong scale on a meter (logger side) fails L-VALUE-POWER, with the upload, a note and a Chinese message")
    func wrongScale() throws {
        let (run, truth) = try Self.chain(faults: "reading-scale:SB1")
        #expect(CheckLoggerTests.verdicts(run)["L-VALUE-POWER"] == .fail, "\(CheckLoggerTests.describe(run))")
        let failed = try #require(run.results.first { $0.rule.id == "L-VALUE-POWER" })
        #expect(failed.wire.contains { $0.direction == .up } && failed.wire.contains { $0.direction == .note })
        #expect(failed.message.contains("meter of SB1 served"), "\(failed.message)")
        let zh = run.messages.localized(failed.message, .zh)
        #expect(!hasEnglish(zh), "not in Chinese: \(zh)")
        #expect(truth.contains { $0.fault == "reading-scale" && $0.factor == "SB1" && $0.layer == "reading" }, "\(truth.map { $0.json() })")
    }

    @Test("one value of one meter scaled wrong (reading-scale:SB1P) fails too")
    func oneValue() throws {
        let (run, _) = try Self.chain(faults: "reading-scale:SB1P")
        let failed = try #require(run.results.first { $0.rule.id == "L-VALUE-POWER" })
        #expect(failed.verdict == .fail && failed.message.contains("SB1P at"), "\(failed.message)")
        #expect(!failed.message.contains("SB1E at"), "only the power is wrong: \(failed.message)")
    }

    @Test("a meter lost to the logger whose last values are uploaded as N (reading-stale:SB1) fails L-VALUE-POWER")
    func staleMeter() throws {
        // Lost 8 minutes in; judged once its last read is older than the window (5 min at 600×).
        let (run, truth) = try Self.chain(faults: "reading-stale:SB1@2026-11-30T10:05/2h", window: 4, speed: 600)
        let failed = try #require(run.results.first { $0.rule.id == "L-VALUE-POWER" })
        #expect(failed.verdict == .fail && failed.message.contains("no value served by the meter of SB1"), "\(failed.message)")
        #expect(truth.contains { $0.fault == "reading-stale" && $0.factor == "SB1" })
    }

    @Test("a metered facility missing from the uploads fails, naming the facility")
    func missingFacility() throws {
        // The check runs the meters of all three facilities of thermal-power; the logger is
        // configured with the first facility only.
        let (run, _) = try Self.chain(unit: "thermal-power", loggerTemplate: { t in
            var t = t
            t.facilities = Array(t.facilities.prefix(1))
            return t
        })
        let failed = try #require(run.results.first { $0.rule.id == "L-VALUE-POWER" })
        #expect(failed.verdict == .fail, "\(CheckLoggerTests.describe(run))")
        #expect(failed.message.contains("facility SB2 missing") && failed.wire.contains { $0.direction == .up }, "\(failed.message)")
        #expect(!hasEnglish(run.messages.localized(failed.message, .zh)), "\(run.messages.localized(failed.message, .zh))")
    }

    @Test("a 2017 logger reads the meters but uploads no ST=44: L-VALUE-POWER fails with the count of meter reads")
    func noUpload() throws {
        let (run, _) = try Self.chain(dialect: .hj2017)
        let failed = try #require(run.results.first { $0.rule.id == "L-VALUE-POWER" })
        #expect(failed.verdict == .fail && failed.message.hasPrefix("no ST=44 electricity upload"), "\(failed.message)")
        #expect(!hasEnglish(run.messages.localized(failed.message, .zh)))
    }

    @Test("without a dlt645 line L-VALUE-POWER is out of scope, not failed")
    func scope() throws {
        let catalogue = try RuleCatalogue.load()
        #expect(catalogue.rules(for: .logger).contains { $0.id == RuleID.loggerValuePower.rawValue && $0.level == .must })
        let served = ServedLog()
        var options = LoggerCheckOptions(host: "127.0.0.1", port: 0, mn: Self.mn, pw: "123456", unitKind: "industrial-wastewater",
                                         selection: CheckSelection(only: ["L-VALUE-POWER"]), window: 0.1, overTime: 1, reCount: 2, connectTimeout: 0.2)
        options.sensors = SensorEvidence(served: served, clockAt: { _ in 0 }, lines: "modbus-tcp 127.0.0.1:1", statusPlan: "")
        let run = LoggerCheck.run(options, catalogue: catalogue)
        #expect(run.outOfScope.contains { $0.rule.id == "L-VALUE-POWER" && $0.1.contains("dlt645") })
        #expect(!run.results.contains { $0.rule.id == "L-VALUE-POWER" })
    }

    @Test("plain simulate, dialect 2025: one ST=44 upload per real-time upload, every facility and quantity, lint-clean; none under 2017")
    func plain() throws {
        let template = try UnitTemplate.load("thermal-power")
        let start = try #require(SimClock.parseStart("2026-11-30T10:00"))
        var options = SimulationOptions()
        options.dialect = .hj2025
        var sim = try UnitSimulator(template: template, identity: LoggerIdentity(mn: Self.mn, pw: "123456"), seed: 3, start: start, options: options)
        var packets: [GeneratedPacket] = []
        sim.advance(to: start + 600_000) { packets.append($0) }
        let power = packets.filter { $0.segment.st == "44" }
        let realtime = packets.filter { $0.cn == "2011" && $0.segment.st == template.st }
        #expect(!power.isEmpty && power.count == realtime.count)
        let codes = ElectricityCodes.shared
        #expect(codes.quantities.map(\.suffix) == ["P", "E", "Ua", "Ub", "Uc", "Ia", "Ib", "Ic"])
        let linter = try Linter(options: LintOptions(strict: true))
        var lastEnergy = 0.0
        for p in power {
            #expect(p.cn == "2011")
            for f in template.facilities {
                for q in codes.quantities {
                    let text = try #require(p.segment.cpValue("\(f.id)\(q.suffix)-Rtd"), "\(f.id)\(q.suffix)")
                    #expect(text.split(separator: ".").last?.count == q.decimals)
                    #expect(p.segment.cpValue("\(f.id)\(q.suffix)-Flag") == "N")
                }
            }
            let energy = try #require(p.segment.cpValue("SB1E-Rtd").flatMap(Double.init))
            #expect(energy >= lastEnergy, "energy is a counter")
            lastEnergy = energy
            let kw = try #require(p.segment.cpValue("SB1P-Rtd").flatMap(Double.init))
            #expect(kw > 0 && kw < 80, "within the meter's XX.XXXX kW")
            var decoder = FrameDecoder()
            decoder.feed(FrameEncoder.frame(segmentBytes: p.bytes))
            guard case .frame(let f)? = decoder.next() else { Issue.record("not a frame"); continue }
            let report = linter.check(f, index: 0)
            #expect(report.diagnostics.filter { $0.severity != .info }.isEmpty, "\(report.diagnostics.map(\.message))")
        }
        var old = try UnitSimulator(template: template, identity: LoggerIdentity(mn: Self.mn, pw: "123456"), seed: 3, start: start)
        var any44 = false
        old.advance(to: start + 600_000) { if $0.segment.st == "44" { any44 = true } }
        #expect(!any44, "HJ 212-2017 has no ST=44")
    }

    @Test("the value names: facility number + quantity suffix; decode shows the Chinese name and unit")
    func names() throws {
        let codes = ElectricityCodes.shared
        #expect(codes.parse("SB12Ua")?.facility == "SB12" && codes.parse("SB12Ua")?.quantity.nameZh == "A相电压")
        #expect(codes.parse("SB1P")?.quantity.unit == "kW" && codes.parse("SB1E")?.quantity.national == "i33201")
        for bad in ["SB1", "SBP", "SB1Q", "SB1p", "w01018", "", "SB1P-"] { #expect(codes.parse(bad) == nil, "\(bad)") }
        let segment = "QN=20261130100000000;ST=44;CN=2011;PW=123456;MN=\(Self.mn);Flag=9;CP=&&DataTime=20261130100000;SB1P-Rtd=18.0123,SB1P-Flag=N;SB1Ia-Rtd=30.512,SB1Ia-Flag=N&&"
        let r = hj212(["decode", "-"], stdin: FrameEncoder.frame(segment))
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("有功功率") && r.out.contains("A相电流") && r.out.contains("kW"), "\(r.out)")
        let lint = hj212(["lint", "-", "--format", "json"], stdin: FrameEncoder.frame(segment))
        #expect(!lint.out.contains("factor-unknown") && !lint.out.contains("st-unknown"), "\(lint.out)")
    }
}

@Suite("demo --sensors: the whole sensor chain in one command")
struct DemoSensorsTests {
    @Test("instruments → reading logger → platform on loopback: the calibration at the instrument shows in the platform's records, and the meter's ST=44 uploads")
    func chain() throws {
        let trace = FileManager.default.temporaryDirectory.appendingPathComponent("hj212-demo-sensors-\(UUID().uuidString).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: trace) }
        // 4 real seconds at 600×: 40 minutes of simulated time, the calibration (5 to 15 minutes in) inside.
        let r = hj212(["demo", "--sensors", "--seconds", "4", "--speed", "600", "--trace", trace])
        #expect(r.status == 0, "\(r.out) \(r.err)")
        let calibrated = r.out.split(separator: "\n").first { $0.contains("carry w01001-Flag=C") }
        let count = calibrated.flatMap { $0.split(separator: ";").last?.split(separator: " ").first.flatMap { Int($0) } } ?? 0
        #expect(count > 0, "\(r.out)")
        #expect(r.out.contains("electricity uploads (ST=44 用电监控"), "\(r.out)")
        // The platform's trace holds the records themselves.
        let text = try String(contentsOfFile: trace, encoding: .utf8)
        #expect(text.contains("w01001-Flag=C") && text.contains(";ST=44;CN=2011;") && text.contains("SB1P-Rtd="))
        // Run again on the same trace, too short to reach the calibration: an earlier run's records
        // are not this run's (the trace is appended to), so this one says the calibration did not come.
        let again = hj212(["demo", "--sensors", "--seconds", "1", "--speed", "2", "--trace", trace])
        #expect(again.status == 1 && again.out.contains("0 carry w01001-Flag=C"), "\(again.out) \(again.err)")
    }

    @Test("the summary of a demo's trace counts each upload once (a resend repeats its QN) and only from where this run began")
    func summaryCountsOnce() throws {
        func line(_ qn: String, _ flag: String) -> String {
            "{\"t\":\"2026-11-30T08:00:00.000+08:00\",\"dir\":\"up\",\"frame\":\"##0100QN=\(qn);ST=32;CN=2011;PW=123456;MN=010000A8900016F000169DC0;Flag=5;CP=&&DataTime=20261130080000;w01001-Rtd=7.0,w01001-Flag=\(flag)&&0000\"}\n"
        }
        let earlier = line("20261130080000000", "C")
        let text = earlier + line("20261130080030000", "N") + line("20261130080030000", "N") + line("20261130080100000", "C")
        let path = try temporaryFile(Array(text.utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let s = DemoSensors.summarise(path, from: earlier.utf8.count, code: "w01001")
        #expect(s.calibrated == 1, "\(s.lines)")
        #expect(s.lines.first?.contains("2 real-time uploads") == true, "\(s.lines)")
    }
}
