import Foundation
import HJ212
import HJConformance
import HJInstruments
import HJNetwork
import HJRoles
import HJSimulation
import Synchronization
import Testing
import HJLive
@testable import HJ212CLI
import TestSupport

/// The whole chain on loopback (issue 14): the instruments that `check logger --sensors` runs
/// (Modbus TCP), the emulated logger of `simulate --read` polling them, and the check judging
/// what the logger uploads against what the instruments served.
@Suite("instruments → simulate --read → check logger --sensors", .serialized)
struct SensorChainTests {
    static let mn = "010000A8900016F000169DC0"
    static let unit = "industrial-wastewater"

    /// Runs the check with its instruments on a free loopback port and a reading logger that
    /// starts polling them once the check listens. Returns the run and the reading faults' truth.
    static func run(faults: String? = nil, only: [String] = [], window: Double, speed: Double = 1200, plan: CheckPlan? = nil, rtu: Bool = false) throws -> (CheckRun, [FaultRecord]) {
        let template = try UnitTemplate.load(unit)
        let start = try #require(SimClock.parseStart("2026-11-30T09:57"))
        // One clock for the instruments and the logger, started when the logger starts (so that
        // the check's calibration window falls in the logger's run however slow the set-up is);
        // until then the instruments stand at the start.
        let loggerClock = Mutex<LiveClock?>(nil)
        // Modbus TCP on a free loopback port, or Modbus RTU on a new pseudo-terminal pair.
        let pty = rtu ? try SerialPort.openPTY(baud: 9600, parity: .even) : nil
        let sensors = try CheckSensors.make(template: template, mn: mn, seed: 7, start: start, now: { loggerClock.withLock { $0?.now ?? start } },
                                            at: { m in loggerClock.withLock { $0?.virtual(at: m) ?? start } }, tcp: rtu ? nil : SocketAddress.loopback(port: 0),
                                            ports: pty.map { [($0, .modbusRTU(RTUTiming(baud: 9600), strict: false), "modbus-rtu")] } ?? [])
        defer { sensors.stop() }
        let line = try pty.map { "rtu:\($0.path)" } ?? "modbus-tcp://127.0.0.1:\(try #require(sensors.service?.server.localAddress.port))"
        let readings = PolledReadings()
        var simOptions = SimulationOptions()
        simOptions.readingSource = readings
        let simulator = try UnitSimulator(template: template, identity: LoggerIdentity(mn: mn, pw: "123456"), seed: 7, start: start, options: simOptions)
        let specs = try InstrumentLineSpec.parseList(line, option: "--read")
        let truth = Mutex<[FaultRecord]>([])
        let readingFaults = try faults.map { try FaultSpec.parseList($0) } ?? []
        let lines = try ReadingLoggerLines(specs, sim: simulator, readings: readings, faults: readingFaults, clock: { loggerClock.withLock { $0?.now ?? start } }, speed: speed,
                                           truth: { records in truth.withLock { $0 += records } })
        defer { lines.stopAndWait() }
        let group = try EventLoopGroup(threads: 1, name: "test-reading-logger")
        defer { group.shutdown() }
        let logger = Mutex<LiveLogger?>(nil)
        let loop = group.next()
        var session = LoggerSession.Options()
        session.timeScale = speed
        let sessionOptions = session
        var options = LoggerCheckOptions(host: "127.0.0.1", port: 0, mn: mn, pw: "123456", unitKind: unit,
                                         selection: CheckSelection(only: only), window: window, overTime: 1, reCount: 2,
                                         connectTimeout: 10, listening: { port in
            let own = LiveClock(start: start, speed: speed)
            loggerClock.withLock { $0 = own }
            lines.start()
            let l = LiveLogger(loop: loop, device: LoggerDevice(simulator: simulator), platforms: [SocketAddress.loopback(port: port)], clock: own,
                               produceUntil: .max, sessionOptions: sessionOptions, trace: nil)
            logger.withLock { $0 = l }
            l.start()
        })
        options.plan = plan
        options.sensors = sensors.evidence
        let run = LoggerCheck.run(options, catalogue: try RuleCatalogue.load())
        if let l = logger.withLock({ $0 }) { LiveSetup.stop([l]) }
        return (run, truth.withLock { $0 })
    }

    @Test("the chain scores 100 with verdict pass, and every L-VALUE check of the plan is exercised")
    func clean() throws {
        let (run, truth) = try Self.run(window: 30, plan: .quick)
        #expect(run.reachable && !run.interrupted)
        #expect(run.score.fail == 0, "\(CheckLoggerTests.describe(run))")
        #expect(run.score.overall == 100, "\(CheckLoggerTests.describe(run))")
        #expect(run.verdict == .pass && run.exitStatus == 0, "\(CheckLoggerTests.describe(run))")
        let v = CheckLoggerTests.verdicts(run)
        for id in ["L-VALUE-RTD", "L-VALUE-FRESH", "L-VALUE-FLAG", "L-VALUE-MIN", "L-VALUE-INFO"] {
            #expect(v[id] == .pass, "\(id): \(run.results.first { $0.rule.id == id }?.message ?? "missing")")
        }
        #expect(truth.isEmpty)
    }

    @Test("hour plan: 2051 and 2061 are the Appendix D aggregates of the readings served; a wrong scale fails them")
    func aggregates() throws {
        let (run, _) = try Self.run(only: ["L-VALUE-MIN", "L-VALUE-HOUR", "L-CONNECT"], window: 8, speed: 1800, plan: .hour)
        let v = CheckLoggerTests.verdicts(run)
        #expect(v["L-VALUE-MIN"] == .pass && v["L-VALUE-HOUR"] == .pass, "\(CheckLoggerTests.describe(run))")
        let (faulty, _) = try Self.run(faults: "reading-scale:w01001", only: ["L-VALUE-MIN", "L-CONNECT"], window: 2)
        #expect(CheckLoggerTests.verdicts(faulty)["L-VALUE-MIN"] == .fail, "\(CheckLoggerTests.describe(faulty))")
        let failed = try #require(faulty.results.first { $0.rule.id == "L-VALUE-MIN" })
        #expect(!hasEnglish(faulty.messages.localized(failed.message, .zh)), "\(faulty.messages.localized(failed.message, .zh))")
    }

    @Test("Modbus RTU on a pty pair: the logger's real-time values are the readings served")
    func rtu() throws {
        let (run, _) = try Self.run(only: ["L-VALUE-RTD", "L-VALUE-FRESH", "L-CONNECT"], window: 2, speed: 600, rtu: true)
        let v = CheckLoggerTests.verdicts(run)
        #expect(v["L-VALUE-RTD"] == .pass && v["L-VALUE-FRESH"] == .pass, "\(CheckLoggerTests.describe(run))")
        #expect(run.facts.contains { $0.0 == "instruments" && $0.1.contains("modbus-rtu /dev/") })
    }

    /// Each logger-side reading fault and the check it must fail; active the whole run.
    static let faults: [(fault: String, check: String)] = [
        ("reading-byte-order:w01018", "L-VALUE-RTD"), ("reading-scale:w00000", "L-VALUE-RTD"),
        ("reading-no-status", "L-VALUE-FLAG"), ("reading-stale:w01010@2026-11-30T10:05/2h", "L-VALUE-FRESH"),
    ]

    @Test("every logger-side reading fault fails its L-VALUE check, with the reads as evidence and a Chinese message",
          arguments: faults.map(\.fault))
    func fault(_ spec: String) throws {
        let entry = try #require(Self.faults.first { $0.fault == spec })
        // 2 s at 1200×: 40 minutes of the logger's time, the check's calibration (5–15 min) inside.
        // A stale reading is judged only once it is older than the reading window (up to 10 min of
        // logger time at 1200×): twice as long, so that a loaded machine still gets past it.
        let (run, truth) = try Self.run(faults: spec, only: [entry.check, "L-CONNECT"], window: entry.check == "L-VALUE-FRESH" ? 4 : 2)
        let v = CheckLoggerTests.verdicts(run)
        #expect(v[entry.check] == .fail, "\(spec) → \(entry.check): \(CheckLoggerTests.describe(run))")
        let failed = try #require(run.results.first { $0.rule.id == entry.check })
        #expect(failed.wire.contains { $0.direction == .note }, "the register reads are in the evidence")
        #expect(failed.wire.contains { $0.direction == .up }, "the upload is in the evidence")
        let zh = run.messages.localized(failed.message, .zh)
        #expect(!hasEnglish(zh), "\(spec) → \(entry.check) not in Chinese: \(zh)")
        // The ground truth says what was read and what the logger took.
        let id = String(spec.prefix { $0 != ":" })
        #expect(truth.contains { $0.fault == id && $0.layer == "reading" && !$0.factor.isEmpty }, "\(truth.map { $0.json() })")
    }

    @Test("the fault list covers every reading fault of the catalogue")
    func coverage() throws {
        let reading = try FaultSpec.catalogue().filter { $0.layer == FaultLayer.reading.rawValue }.map(\.id)
        let covered = Set(Self.faults.map { String($0.fault.prefix { $0 != ":" }) })
        #expect(!reading.isEmpty)
        #expect(reading.filter { !covered.contains($0) } == [], "reading faults without a test")
        #expect(Set(reading) == Set(ReadingFaults.ids.map(\.rawValue)))
    }

    @Test("bad --read / --sensors input is a one-line error with exit 2, before anything runs")
    func usage() {
        let cases: [[String]] = [
            ["simulate", "--fleet", "mixed-demo", "--to", "127.0.0.1:1", "--read", "modbus-tcp://127.0.0.1:1"],
            ["simulate", "--unit", Self.unit, "--to", "127.0.0.1:1", "--read", "rtu:/nonexistent/tty"],
            ["simulate", "--unit", Self.unit, "--to", "127.0.0.1:1", "--read", "modbus-tcp://127.0.0.1:1", "--faults", "flatline:w01018", "--truth", "/dev/null"],
            ["simulate", "--unit", Self.unit, "--to", "127.0.0.1:1", "--faults", "reading-scale:w00000", "--truth", "/dev/null"],
            ["generate", "--unit", Self.unit, "--start", "2026-11-30", "--duration", "10m", "--faults", "reading-stale"],
            ["check", "logger", "--listen", "127.0.0.1:0", "--sensors", "modbus-tcp://127.0.0.1:0"],
            ["check", "logger", "--listen", "127.0.0.1:0", "--unit", Self.unit, "--sensors", "dlt645:/nonexistent/tty"],
        ]
        for args in cases {
            let r = hj212(args)
            #expect(r.status == 2, "\(args): \(r.status) \(r.err)")
            #expect(r.err.split(separator: "\n").count == 1, "\(args): \(r.err)")
        }
    }

    @Test("--read and --sensors line syntax: TCP, RTU with options, DL/T 645; bad input is a one-line usage error")
    func syntax() throws {
        let lines = try InstrumentLineSpec.parseList("modbus-tcp://127.0.0.1:5020,dlt645:/dev/ttyS1?baud=1200&parity=N", option: "--read")
        #expect(lines.count == 2 && lines[0].isModbus && !lines[1].isModbus && lines[1].baud == 1200 && lines[1].parity == .none)
        let rtu = try InstrumentLineSpec.parse("/dev/ttyUSB0", option: "--read")
        #expect(rtu.kind == .modbusRTU("/dev/ttyUSB0") && rtu.baud == 9600 && rtu.parity == .even)
        for bad in ["tcp:1.2.3.4", "modbus-tcp://nowhere", "rtu:/dev/x?baud=7", "modbus-tcp://127.0.0.1:1,rtu:/dev/x", ""] {
            #expect(throws: UsageError.self) { try InstrumentLineSpec.parseList(bad, option: "--read") }
        }
    }
}
