import Foundation
import Glibc
import HJ212
import HJConformance
import HJInstruments
import HJLive
import HJNetwork
import HJRoles
import HJSimulation
import Synchronization

/// `hj212 demo --sensors`: the whole chain of issue 14 in one command, on loopback: the
/// instruments of one unit (Modbus TCP analysers and a DL/T 645 meter on a new pseudo-terminal),
/// the emulated logger reading them (`simulate --read`, HJ 212-2025 so that the meter values go
/// up as ST=44), and the reference platform. The first analyser (pH, w01001) goes into calibration
/// at the instrument 5 minutes into the run; the platform's records show it as `w01001-Flag=C`.
enum DemoSensors {
    static let unit = "industrial-wastewater"
    static let mn = "010000A8900016F000169DC0"

    static func run(_ a: ParsedArguments, io: CommandIO) -> Int32 {
        do throws(UsageError) {
            let speed = a[DemoCommand.speed] ?? 120
            let seconds = a[DemoCommand.seconds] ?? 15
            let tracePath = a[DemoCommand.trace] ?? "\(String(cString: getenv("TMPDIR") ?? strdup("/tmp")))/hj212-demo-sensors-\(getpid()).jsonl"
            // The trace is appended to: this run's records start at its size now.
            let startOffset = (try? FileManager.default.attributesOfItem(atPath: tracePath)[.size] as? Int) ?? 0
            let trace = try TraceWriter(path: tracePath, offsetMinutes: SimClock.chinaOffsetMinutes)
            _ = try? ProcessSetup.prepareForNetworking()
            let group: EventLoopGroup
            do { group = try EventLoopGroup(threads: 2, name: "demo-sensors") } catch { throw UsageError("\(error)", exitCode: 2) }
            defer { group.shutdown() }
            let template: UnitTemplate
            do { template = try UnitTemplate.load(unit) } catch { throw UsageError("\(error)", exitCode: 2) }

            // One clock for the instruments and the logger, from the current minute, China time,
            // started with the logger: until then the instruments stand at the start (at ×600 a
            // second of set-up would otherwise be ten minutes, and the calibration could be over).
            let wall = LiveClock.wallNow(offsetMinutes: SimClock.chinaOffsetMinutes)
            let start = wall - wall % 60_000
            let running = Mutex<LiveClock?>(nil)
            let now: @Sendable () -> Int64 = { running.withLock { $0?.now ?? start } }
            let platformClock = LiveClock(start: start, speed: speed)

            // The reference platform.
            let state = PlatformState(registry: nil, linter: try makeLinter(dialect: nil, strict: false, profiles: nil))
            var platformOptions = PlatformSession.Options()
            platformOptions.initialise = .never
            platformOptions.overTime = Int64(10_000 * speed)
            platformOptions.executionTimeout = Int64(60_000 * speed)
            platformOptions.idleTimeout = Int64(7_200_000 * speed)
            let platform = LivePlatform(address: SocketAddress.loopback(port: 0), state: state, clock: platformClock, options: platformOptions, trace: trace, group: group)
            let bound: SocketAddress
            do { bound = try platform.start() } catch { throw UsageError("cannot listen on loopback: \(error)", exitCode: 2) }
            defer { platform.stop() }

            // The instruments: Modbus TCP on a free loopback port, the meters on a new pty; the
            // calibration of the first analyser is the fault at the instrument.
            let pty: SerialPort
            do { pty = try SerialPort.openPTY(baud: 2400, parity: .even) } catch { throw UsageError("cannot open a pseudo-terminal: \(error.message)", exitCode: 2) }
            let sensors = try CheckSensors.make(template: template, mn: mn, seed: 1, start: start, now: now, at: { m in running.withLock { $0?.virtual(at: m) ?? start } },
                                                tcp: SocketAddress.loopback(port: 0), ports: [(pty, .dlt645, "dlt645")])
            defer { sensors.stop() }
            guard let modbus = sensors.service?.server.localAddress else { throw UsageError("the Modbus TCP instruments did not start", exitCode: 2) }

            // The logger that reads them.
            let readings = PolledReadings()
            var options = SimulationOptions()
            options.readingSource = readings
            options.dialect = .hj2025
            let sim: UnitSimulator
            do { sim = try UnitSimulator(template: template, identity: LoggerIdentity(mn: mn, pw: "123456"), seed: 1, start: start, options: options) } catch {
                throw UsageError("\(error)", exitCode: 2)
            }
            let specs = try InstrumentLineSpec.parseList("modbus-tcp://\(modbus),dlt645:\(pty.path)", option: "--read")
            let lines = try ReadingLoggerLines(specs, sim: sim, readings: readings, faults: [], clock: now, speed: speed, truth: { _ in })
            var session = LoggerSession.Options()
            session.timeScale = speed

            let t0 = monotonicSeconds()
            func say(_ text: String) {
                io.clearProgress()
                let s = Int(monotonicSeconds() - t0)
                io.stdout.line(String(format: "[%02d:%02d] ", s / 60, s % 60) + text)
                io.stdout.flush()
            }
            let instruments = sensors.bank.instruments.map { "\($0.label) \($0.codes.compactMap { $0 }.joined(separator: " "))" }.joined(separator: ", ")
            say("instruments of \(unit): \(instruments) on modbus-tcp \(modbus); meters \(sensors.bank.meters.map { "\($0.facility) \($0.addressText)" }.joined(separator: ", ")) on dlt645 \(pty.path)")
            say("fault at the instrument: \(sensors.evidence.statusPlan)")
            say("platform listening on \(bound); the logger reads its instruments every 5 s and uploads (HJ 212-2025); time runs \(ValueFormat.fixed(speed, decimals: 0))x from \(HJTime(wallMilliseconds: start).description)")
            let clock = LiveClock(start: start, speed: speed)
            running.withLock { $0 = clock }
            let logger = LiveLogger(loop: group.next(), device: LoggerDevice(simulator: sim), platforms: [bound], clock: clock,
                                    produceUntil: .max, sessionOptions: session, trace: nil)
            lines.start()
            logger.start()
            let until = monotonicSeconds() + seconds
            while monotonicSeconds() < until && !Interrupts.requested {
                usleep(100_000)
                io.progress("demo --sensors: \(HJTime(wallMilliseconds: clock.now).description)  frames \(state.counters.frames)  acknowledged \(state.counters.acks9014)")
            }
            LiveSetup.stop([logger])
            lines.stopAndWait()
            io.clearProgress()
            let c = readings.counts
            say("stopped at \(HJTime(wallMilliseconds: clock.now).description): instrument reads \(c.polls), failed \(c.failures); platform received \(state.counters.frames) frames")
            let code = SensorEvidence.statusFaults(template: template, start: start).first?.factor ?? "w01001"
            let summary = summarise(tracePath, from: startOffset, code: code)
            for line in summary.lines { io.stdout.line(line) }
            io.stdout.line(trace.summary + "; try: hj212 decode \(tracePath)")
            if Interrupts.requested { return Interrupts.exitStatus }
            return summary.calibrated > 0 && summary.electricity > 0 ? 0 : 1
        } catch {
            io.stderr.line("hj212 demo: \(error.message)")
            return error.exitCode
        }
    }

    /// What the platform recorded (its trace): real-time uploads, those carrying the instrument's
    /// calibration flag, and the electricity uploads.
    /// This run's part of the trace: from `offset` (the file's size when the run began; the trace
    /// is appended to), each upload counted once (a resend repeats its QN).
    static func summarise(_ path: String, from offset: Int = 0, code: String) -> (lines: [String], calibrated: Int, electricity: Int) {
        guard let handle = FileHandle(forReadingAtPath: path), (try? handle.seek(toOffset: UInt64(offset))) != nil,
              let data = try? handle.readToEnd() ?? Data() else { return (["platform records: trace \(path) unreadable"], 0, 0) }
        let text = String(decoding: data, as: UTF8.self)
        var realtime = 0, electricity = 0
        var calibrated: [String] = []
        var lastPower = ""
        var seen = Set<String>()
        for line in text.split(separator: "\n") {
            // One JSON object per frame; the frame text is ASCII, so the fields can be read in place.
            let frame = String(line)
            guard frame.contains("\"dir\":\"up\""), frame.contains(";CN=2011;") else { continue }
            func value(_ key: String) -> String? {
                guard let r = frame.range(of: key + "=") else { return nil }
                return String(frame[r.upperBound...].prefix { $0 != ";" && $0 != "," && $0 != "&" })
            }
            guard seen.insert((value("ST") ?? "") + "/" + (value("QN") ?? frame)).inserted else { continue }
            if frame.contains(";ST=44;") {
                electricity += 1
                if let p = value("SB1P-Rtd") { lastPower = p }
            } else if frame.contains(";ST=32;") {
                realtime += 1
                if frame.contains("\(code)-Flag=C"), let dt = value("DataTime") { calibrated.append(dt) }
            }
        }
        let name = CodeDictionary.shared(.hj2017).factor(code).map { "\($0.nameZh) \($0.nameEn)" } ?? code
        var out = ["platform records: \(realtime) real-time uploads (2011); \(calibrated.count) carry \(code)-Flag=C (\(name): 校准 calibration)"
            + (calibrated.isEmpty ? "" : ", DataTime \(calibrated.first!) to \(calibrated.last!)")]
        out.append("platform records: \(electricity) electricity uploads (ST=44 用电监控, CN=2011)" + (lastPower.isEmpty ? "" : "; last SB1P-Rtd=\(TerminalText.safe(lastPower)) kW (SB1 有功功率)"))
        if calibrated.isEmpty { out.append("the calibration did not reach the platform: run longer (--seconds) or faster (--speed); it starts 5 minutes of simulated time in") }
        return (out, calibrated.count, electricity)
    }
}
