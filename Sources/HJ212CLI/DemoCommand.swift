import Glibc
import HJ212
import HJNetwork
import HJRoles
import HJSimulation
import HJLive

/// `hj212 demo`: the reference platform and a small mixed fleet on loopback, in accelerated time,
/// with a platform outage and the backfill that follows.
struct DemoCommand: CLICommand {
    static let name = "demo"
    static let abstract = "Show the whole bench on loopback: platform, mixed fleet, an outage, backfill, summary (< 2 min)."
    static let options: [any OptionDeclaration] = [
        speed, trace, fleet, seconds, scenario, http, duration, truth, sensors,
    ]
    static let speed = Shared.speed.help("Simulated seconds per real second (default 60: a minute per second).")
    static let trace = Shared.trace.help("Where to write the trace (default: a new file in the temporary directory).")
    static let fleet = Shared.fleet.help("Fleet to run (default mixed-demo: water, N/P water, WWTP, power, boiler, incinerators, VOC).")
    static let seconds = Option("seconds", "N", help: "Real seconds of each phase (default 15).", parse: Parse.number(0...3600, above: true))
    static let scenario = Option("scenario", "NAME", help: "Instead: run this scenario (Profiles/scenarios) live with the web console (--http), paced so that the first anomaly shows within minutes; the console's ground-truth overlay shows the injections.", parse: Parse.path)
    static let http = Option("http", "HOST:PORT", help: "With --scenario: the console's address, e.g. 127.0.0.1:8080.", parse: Parse.text)
    static let duration = Option("duration", "D", help: "With --scenario: simulated time to run (default: until an hour after the last injection).", parse: Parse.duration())
    static let truth = Shared.truth.help("With --scenario: where to write the ground truth (default: a temporary file).")
    static let sensors = Flag("sensors", help: "Instead: the sensor chain: instruments (Modbus TCP, a DL/T 645 meter on a pty) → a logger reading them → the platform, with a calibration at the pH analyser showing as w01001-Flag=C in the platform's records (default --speed 120, --seconds 15).")
    static let discussion = """
    Timeline: the platform starts on 127.0.0.1 (a free port) and the fleet connects; loggers send 2081,
    real-time, minute, hour and information data, all acknowledged. The platform then asks one logger for
    its hour history. Next the platform is stopped: loggers keep their data and back off. The platform
    comes back on the same port; loggers reconnect and backfill in order. At the end every logger drains,
    the completeness of every unit is checked (nothing lost), and the trace path is printed.
    """

    var a: ParsedArguments

    init(_ a: ParsedArguments) throws(UsageError) { self.a = a }

    func say(_ io: CommandIO, _ t0: Double, _ text: String) {
        io.clearProgress()
        let s = Int(monotonicSeconds() - t0)
        io.stdout.line(String(format: "[%02d:%02d] ", s / 60, s % 60) + text)
        io.stdout.flush()
    }

    func run(_ io: CommandIO) -> Int32 {
        if a.given(Self.scenario) { return ConsoleDemo.run(a, io: io) }
        if a[Self.sensors] { return DemoSensors.run(a, io: io) }
        do throws(UsageError) {
            let speed = a[Self.speed] ?? 60
            let phase = a[Self.seconds] ?? 15
            let tracePath = a[Self.trace] ?? "\(String(cString: getenv("TMPDIR") ?? strdup("/tmp")))/hj212-demo-\(getpid()).jsonl"
            let trace = try TraceWriter(path: tracePath, offsetMinutes: SimClock.chinaOffsetMinutes)
            _ = try? ProcessSetup.prepareForNetworking()
            let group: EventLoopGroup
            do { group = try EventLoopGroup(threads: 2, name: "demo") } catch { throw UsageError("\(error)", exitCode: 2) }
            defer { group.shutdown() }

            // Simulated time starts at the beginning of the current hour, China time, so that the
            // run covers whole minute-data windows and hours.
            let wall = LiveClock.wallNow(offsetMinutes: SimClock.chinaOffsetMinutes)
            let start = wall - wall % 3_600_000
            let clock = LiveClock(start: start, speed: speed)
            let state = PlatformState(registry: nil, linter: try makeLinter(dialect: nil, strict: false, profiles: nil, profile: "hebei-dynamic"))
            var platformOptions = PlatformSession.Options()
            platformOptions.initialise = .never
            // Network timeouts are real time: in the accelerated clock they last `speed` times longer.
            platformOptions.overTime = Int64(10_000 * speed)
            platformOptions.executionTimeout = Int64(60_000 * speed)
            platformOptions.idleTimeout = Int64(7_200_000 * speed)
            var platform = LivePlatform(address: SocketAddress.loopback(port: 0), state: state, clock: clock, options: platformOptions, trace: trace, group: group)
            let bound: SocketAddress
            do { bound = try platform.start() } catch { throw UsageError("cannot listen on loopback: \(error)", exitCode: 2) }

            // Whole hours of simulated production, so that the run ends on complete hours.
            let produced = max(1, (Int64(phase * 4 * speed * 1000) + 3_599_999) / 3_600_000) * 3_600_000
            let parsed = try SimulateCommand.parse([
                "--fleet", a[Self.fleet] ?? "mixed-demo", "--to", bound.description, "--speed", String(speed),
                "--start", HJTime(wallMilliseconds: start).text14.enumerated().map { i, c in
                    i == 4 || i == 6 ? "-\(c)" : i == 8 ? "T\(c)" : i == 10 || i == 12 ? ":\(c)" : String(c) }.joined(),
                "--duration", "\(produced)ms",
            ])
            var setup = try LiveSetup(parsed, io: io)
            setup.trace = trace
            setup.clock = clock

            let t0 = monotonicSeconds()
            say(io, t0, "platform listening on \(bound); \(setup.devices.count) loggers connecting (\(Set(setup.devices.map { $0.simulator.template.name }).sorted().joined(separator: ", ")))")
            say(io, t0, "time runs \(Int(speed))x: simulated \(HJTime(wallMilliseconds: start).description) onwards, China time")
            let loggers = setup.devices.map { device in
                LiveLogger(loop: group.next(), device: device, platforms: setup.platforms, clock: clock, produceUntil: start + produced,
                           sessionOptions: setup.sessionOptions, trace: trace)
            }
            for l in loggers { l.start() }

            func wait(_ seconds: Double) -> Bool {
                let until = monotonicSeconds() + seconds
                while monotonicSeconds() < until {
                    usleep(100_000)
                    if Interrupts.requested { return false }
                    let r = LiveSetup.collect(loggers)
                    let c = state.counters
                    io.progress("demo: \(HJTime(wallMilliseconds: clock.now).description)  sent \(r.reduce(0) { $0 + $1.statistics.sent })  acknowledged \(c.acks9014)  pending \(r.reduce(0) { $0 + $1.pending })")
                }
                return true
            }

            var ok = wait(phase)
            if ok {
                let c = state.counters
                say(io, t0, "\(state.units.count) units online; \(c.frames) frames received, \(c.acks9014) acknowledged, \(c.errors) errors")
                if let mn = setup.devices.first?.identity.mn {
                    let hourStart = start - start % 3_600_000
                    _ = platform.request(mn: mn) { session, now in session.requestHistory(cn: "2051", from: hourStart, to: now, at: now) }
                    say(io, t0, "platform asks \(mn) for its minute history (2051, BeginTime/EndTime); the logger answers 9011, the records it holds, 9012")
                }
                ok = wait(phase)
            }
            if ok {
                platform.stop()
                say(io, t0, "platform stopped: loggers keep their data, retry with back-off")
                ok = wait(phase)
            }
            if ok {
                platform = LivePlatform(address: bound, state: state, clock: clock, options: platformOptions, trace: trace, group: group)
                do { try platform.start() } catch { throw UsageError("cannot listen again on \(bound): \(error)", exitCode: 1) }
                say(io, t0, "platform back on \(bound): loggers reconnect and backfill what was not acknowledged, in order")
                ok = wait(phase)
            }
            // Drain: production has ended; wait for every logger to empty its queue.
            var drained = false
            if ok {
                let until = monotonicSeconds() + 60 + Double(max(0, start + produced - clock.now)) / 1000 / speed
                while monotonicSeconds() < until && !Interrupts.requested {
                    // Drained: every logger has simulated to the end (its last records made) and sent everything.
                    if let r = LiveSetup.collectAll(loggers), r.allSatisfy({ $0.deviceTime >= start + produced && $0.pending == 0 }) { drained = true; break }
                    usleep(200_000)
                }
            }
            let reports = LiveSetup.collectAll(loggers)
            LiveSetup.stop(loggers)
            platform.stop()
            io.clearProgress()
            say(io, t0, drained ? "all loggers drained" : "stopped before every logger drained")
            if let reports {
                setup.printSummary(reports, io: io, interrupted: Interrupts.requested)
            } else {
                io.stdout.line("loggers' counts unknown: their event loops did not answer")
            }
            let lost = PlatformReport.print(state: state, from: start, end: start + produced, io: io, trace: nil)
            io.stdout.line(trace.summary + "; try: hj212 lint \(trace.path) --quiet")
            return Interrupts.requested ? Interrupts.exitStatus : (drained && lost == 0 && trace.lost == 0 ? 0 : 1)
        } catch {
            io.stderr.line("hj212 demo: \(error.message)")
            return error.exitCode
        }
    }
}
