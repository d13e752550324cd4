import Dispatch
import Glibc
import HJ212
import HJNetwork
import HJRoles
import HJSimulation
import Synchronization
import HJLive

/// `hj212 simulate`: emulated data loggers on real TCP.
struct SimulateCommand: CLICommand {
    static let name = "simulate"
    static let abstract = "Run emulated data loggers live against one or more platforms over TCP."
    static let unit = Shared.unit.help("One logger of this unit template.")
    static let to = Option("to", "HOST:PORT[,…]", help: "The platforms; every logger connects to each (province and city, independently).", parse: Parse.addresses).required()
    static let duration = Shared.duration.help("Simulated time to run (default until Ctrl-C), e.g. 10m, 2h.")
    static let start = Shared.start.help("Simulated start (default: now, in the loggers' zone).")
    static let mn = Shared.mn.help("--unit: the logger's MN (default 010000A8900016F000169DC0).")
    static let pw = Shared.pw.help("--unit: the logger's password (default 123456).")
    static let drain = Option("drain", "SECONDS", help: "After the duration, wait at most this long for acknowledgements (default 15).", parse: Parse.number(0...86_400))
    static let answerBadCRC = Flag("answer-bad-crc", help: "Answer requests with a bad CRC with QnRtn 9 instead of ignoring them.")
    static let faults = Shared.faults.help("Faults for every logger, as for generate (ID[:FACTOR][(NAME=VALUE;…)][%RATE][#COUNT][@START/DURATION], comma-separated), transport faults included (disconnect, outage, slow-drip …; hj212 generate --list).")
    static let scenario = Shared.scenario.help("A fault timeline on units of the fleet (Profiles/scenarios, or a file). Without --unit/--fleet, the scenario's own fleet.")
    static let truth = Shared.truth.help("Ground truth of injected faults, JSON Lines (required with --faults or --scenario).")
    static let read = Option("read", "URL[,URL]", help: "--unit: read the values from instruments instead of the value models: modbus-tcp://HOST:PORT, rtu:PATH (or /dev/…), dlt645:PATH; ?baud=N&parity=N|E|O after a path (docs/instruments.md).", parse: Parse.text)
    static let options: [any OptionDeclaration] = [
        unit, Shared.fleet, to, Shared.speed, duration, start, Shared.seed, Shared.trace, Shared.pcap, mn, pw, Shared.edition, Shared.threads, drain, answerBadCRC,
        faults, scenario, truth, read,
    ]
    static let discussion = """
    Loggers send 2081 after connecting, upload with Flag=5 and wait for 9014, resend after OverTime up
    to ReCount times, keep what was not acknowledged and send it again after reconnecting (back-off
    0.5 s to 8 s), and answer the platform's commands. The summary lists, per platform, what was
    sent, acknowledged, resent and backfilled. Exit 0 when everything sent was acknowledged.

    EXAMPLE:
      hj212 serve --listen 127.0.0.1:7001 &
      hj212 simulate --fleet mixed-demo --to 127.0.0.1:7001 --speed 60 --duration 30m
      hj212 simulate --scenario offline-backfill --to 127.0.0.1:7001 --speed 120 --duration 3h --truth truth.jsonl
    """

    var a: ParsedArguments

    init(_ a: ParsedArguments) throws(UsageError) {
        self.a = a
        guard !(a.given(Self.unit) && a.given(Shared.fleet)), a.given(Self.unit) || a.given(Shared.fleet) || a.given(Self.scenario) else {
            throw UsageError("give exactly one of --unit NAME or --fleet FILE (or a --scenario, which names its fleet)")
        }
    }

    func run(_ io: CommandIO) -> Int32 {
        if a.given(Self.read) { return ReadingLogger.run(a, io: io) }
        do throws(UsageError) {
            if (try? FaultSpec.parseList(a[Self.faults] ?? ""))?.contains(where: { $0.layer == .reading }) == true {
                throw UsageError("--faults: reading faults act on a logger that reads instruments: give --read")
            }
            let setup = try LiveSetup(a, io: io)
            return setup.runLoggers(io: io, verb: "simulate")
        } catch {
            io.stderr.line("hj212 simulate: \(error.message)")
            return error.exitCode
        }
    }
}

/// The parsed inputs of a live logger run (shared by `simulate` and `demo`).
struct LiveSetup {
    var devices: [LoggerDevice] = []
    var platforms: [SocketAddress]
    var clock: LiveClock
    var end: Int64?
    var threads: Int
    var drainSeconds: Double
    var trace: TraceWriter?
    var truth: TruthWriter?
    var sessionOptions = LoggerSession.Options()

    init(_ a: ParsedArguments, io: CommandIO) throws(UsageError) {
        typealias S = SimulateCommand
        guard let to = a[S.to] else { throw UsageError("--to HOST:PORT is required") }
        platforms = to
        let speed = a[Shared.speed] ?? 1
        let start = a[S.start] ?? LiveClock.wallNow(offsetMinutes: SimClock.chinaOffsetMinutes)
        clock = LiveClock(start: start, speed: speed)
        if let ms = a[S.duration] { end = start + ms }
        let seed = a[Shared.seed] ?? 1
        threads = a[Shared.threads] ?? min(8, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        drainSeconds = a[S.drain] ?? 15
        sessionOptions.answerBadCRC = a[S.answerBadCRC]
        sessionOptions.timeScale = speed
        var options = SimulationOptions()
        options.dialect = a[Shared.edition] == "2025" ? .hj2025 : .hj2017
        // Packets written as bytes (the same bytes: GenerationBytesTests): the loggers' CPU per
        // packet is what bounds how many one machine emulates.
        options.bytesOnly = true
        var faults: [FaultSpec] = []
        if let spec = a[S.faults] {
            do { faults = try FaultSpec.parseList(spec) } catch { throw UsageError("\(error)", exitCode: 2) }
        }
        var scenario: Scenario?
        if let name = a[S.scenario] {
            do { scenario = try Scenario.load(name) } catch { throw UsageError("--scenario: \(error)", exitCode: 2) }
        }
        do {
            // The units first, so that faults and scenarios are checked against them before anything runs.
            var units: [(unit: Scenario.Unit, pw: String)]
            if let unit = a[S.unit] {
                let template = try UnitTemplate.load(unit)
                units = [(Scenario.Unit(mn: a[S.mn] ?? "010000A8900016F000169DC0", template: template, row: 1, enterprise: ""), a[S.pw] ?? "123456")]
            } else {
                guard let name = a[Shared.fleet] ?? scenario?.fleet else { throw UsageError("the scenario names no fleet: give --unit or --fleet") }
                let fleet = try Fleet.load(name)
                units = fleet.units.enumerated().map { (Scenario.Unit(mn: $1.identity.mn, template: fleet.templates[$1.unit]!, row: $0 + 1, enterprise: $1.enterprise), $1.identity.pw) }
            }
            if let scenario {
                do {
                    let compiled = try scenario.compile(units: units.map(\.unit), start: start, end: end, live: true)
                    faults += compiled.specs
                    for note in compiled.notes { io.stderr.line("note: \(note)") }
                } catch { throw UsageError("--scenario: \(error)", exitCode: 2) }
            }
            if let why = Self.unusable(faults, templates: units.map(\.unit.template)) { throw UsageError("--faults: \(why)", exitCode: 2) }
            options.faults = faults
            devices = try units.map { u in
                LoggerDevice(simulator: try UnitSimulator(template: u.unit.template, identity: LoggerIdentity(mn: u.unit.mn, pw: u.pw), seed: seed, start: start, options: options))
            }
        } catch let e as UsageError {
            throw e
        } catch {
            throw UsageError("\(error)", exitCode: 2)
        }
        if !faults.isEmpty {
            guard let path = a[S.truth] else { throw UsageError("faults need --truth FILE for the ground truth") }
            truth = try TruthWriter(path: path)
            sessionOptions.faults = faults
            sessionOptions.faultSeed = seed
        }
        if let path = a[Shared.trace] { trace = try TraceWriter(path: path, offsetMinutes: SimClock.chinaOffsetMinutes) }
        if let pcap = a[Shared.pcap] {
            let capture = try CaptureRecorder(path: pcap, offsetMinutes: SimClock.chinaOffsetMinutes, localIsLogger: true)
            trace = try TraceWriter(path: a[Shared.trace], offsetMinutes: SimClock.chinaOffsetMinutes, capture: capture)
        }
    }

    /// Why a list of faults for every logger cannot run on these units (a factor none has, a value
    /// fault none can take), or nil. Faults bound to one MN (scenarios) were checked already.
    static func unusable(_ faults: [FaultSpec], templates: [UnitTemplate]) -> String? {
        let codes = Set(templates.flatMap { $0.factors.map(\.code) })
        for f in faults where f.mn == nil {
            if let factor = f.factor, !codes.contains(factor) {
                return "'\(f.id):\(factor)': no logger has factor \(factor) (they have \(codes.sorted().joined(separator: " ")))"
            }
            if FaultDefinition.valueLayers.contains(f.layer), let first = templates.first, templates.allSatisfy({ f.inapplicability(to: $0) != nil }) {
                return "'\(f.id)': \(f.inapplicability(to: first)!)"
            }
        }
        return nil
    }

    /// Runs the loggers until the duration has passed (then drains) or Ctrl-C; prints the summary.
    func runLoggers(io: CommandIO, verb: String, group existing: EventLoopGroup? = nil, during: ((Int64) -> Bool)? = nil) -> Int32 {
        if let line = ProcessSetup.prepareDescriptors().boundMessage(connections: devices.count * platforms.count) {
            io.stderr.line("hj212 \(verb): \(line); the connects beyond it fail and are retried")
        }
        let group: EventLoopGroup
        do { group = try existing ?? EventLoopGroup(threads: threads, name: "logger") } catch {
            io.stderr.line("hj212 \(verb): \(error)")
            return 2
        }
        let loggers = devices.map { device in
            LiveLogger(loop: group.next(), device: device, platforms: platforms, clock: clock, produceUntil: end ?? .max,
                       sessionOptions: sessionOptions, trace: trace, truth: truth)
        }
        for logger in loggers { logger.start() }
        var lastProgress = monotonicSeconds()
        var drainStarted: Double?
        var interrupted = false
        while true {
            usleep(100_000)
            if Interrupts.requested { interrupted = true; break }
            let now = clock.now
            if let during, !during(now) { break }
            let wall = monotonicSeconds()
            if wall - lastProgress >= 1 {
                lastProgress = wall
                let r = Self.collect(loggers)
                let connected = r.filter { $0.connects > 0 }.count
                io.progress("\(verb): \(HJTime(wallMilliseconds: now).description)  links \(connected)/\(r.count)  sent \(r.reduce(0) { $0 + $1.statistics.sent })  acked \(r.reduce(0) { $0 + $1.statistics.acknowledged })  pending \(r.reduce(0) { $0 + $1.pending })")
            }
            if let end, now >= end {
                if drainStarted == nil { drainStarted = wall }
                let done = Self.collectAll(loggers)?.allSatisfy { $0.deviceTime >= end && $0.pending == 0 } ?? false
                if done || wall - drainStarted! > drainSeconds { break }
            }
        }
        let collected = Self.collectAll(loggers)
        Self.stop(loggers)
        if existing == nil { group.shutdown() }
        io.clearProgress()
        guard let reports = collected else {
            io.stdout.line("\(verb): incomplete: the loggers' event loops did not answer within \(Int(Self.loopAnswerGuardSeconds)) s; what was sent and acknowledged is unknown")
            return interrupted ? Interrupts.exitStatus : 1
        }
        printSummary(reports, io: io, interrupted: interrupted)
        let pending = reports.reduce(0) { $0 + $1.pending }
        // 1 also when the trace or the ground truth lost records (a failed write): the files are not what happened.
        return interrupted ? Interrupts.exitStatus : pending == 0 && (trace?.lost ?? 0) == 0 && (truth?.lost ?? 0) == 0 ? 0 : 1
    }

    func printSummary(_ reports: [LinkReport], io: CommandIO, interrupted: Bool) {
        io.stdout.line((interrupted ? "interrupted; " : "") + "\(devices.count) logger\(devices.count == 1 ? "" : "s"), simulated until \(HJTime(wallMilliseconds: clock.now).description)")
        io.stdout.line("platform".padding(toLength: 22, withPad: " ", startingAt: 0) + "sent".leftPad(10) + "acked".leftPad(10) + "resent".leftPad(9)
                       + "backfilled".leftPad(12) + "commands".leftPad(10) + "pending".leftPad(9) + "reconnects".leftPad(12))
        for platform in platforms.map(\.description) {
            let rs = reports.filter { $0.platform == platform }
            func sum(_ k: (LinkReport) -> Int) -> String { String(rs.reduce(0) { $0 + k($1) }) }
            io.stdout.line(platform.padding(toLength: 22, withPad: " ", startingAt: 0) + sum { $0.statistics.sent }.leftPad(10)
                           + sum { $0.statistics.acknowledged }.leftPad(10) + sum { $0.statistics.resent }.leftPad(9)
                           + sum { $0.statistics.backfilled }.leftPad(12) + sum { $0.statistics.commandsAnswered }.leftPad(10)
                           + sum { $0.pending }.leftPad(9) + sum { max(0, $0.connects - 1) }.leftPad(12))
            if let e = rs.compactMap(\.lastError).first, rs.contains(where: { $0.pending > 0 || $0.connects == 0 }) {
                io.stdout.line("  last problem: \(e)")
            }
        }
        if let trace { io.stdout.line(trace.summary) }
        if let truth { io.stdout.line(truth.summary) }
    }

    /// How long `onLoops` waits for a loop to run its task: a busy loop is waited for (its answer is
    /// needed; a partial answer must never pass for the whole), a wedged or stopped one is not.
    static let loopAnswerGuardSeconds = 120.0

    /// Runs each task on its loop and waits until all of them have run. False when a loop refused
    /// its task (stopped) or did not run it within `loopAnswerGuardSeconds`.
    @discardableResult
    static func onLoops(_ tasks: [(EventLoop, @Sendable () -> Void)], guardSeconds: Double = loopAnswerGuardSeconds) -> Bool {
        let done = DispatchSemaphore(value: 0)
        var waiting = 0, refused = 0
        for (loop, task) in tasks {
            if loop.execute({ task(); done.signal() }) { waiting += 1 } else { refused += 1 }
        }
        let deadline = DispatchTime.now() + guardSeconds
        for _ in 0..<waiting where done.wait(timeout: deadline) == .timedOut { return false }
        return refused == 0
    }

    /// Every logger's link reports, or nil when a loop did not answer (see `onLoops`): callers that
    /// decide something (drained, a figure, an exit status) must not take a partial list for the whole.
    static func collectAll(_ loggers: [LiveLogger]) -> [LinkReport]? {
        let out = Mutex<[LinkReport]>([])
        var byLoop: [ObjectIdentifier: (EventLoop, [LiveLogger])] = [:]
        for l in loggers { byLoop[ObjectIdentifier(l.loop), default: (l.loop, [])].1.append(l) }
        let complete = onLoops(byLoop.values.map { loop, members in (loop, { let r = members.flatMap { $0.reports() }; out.withLock { $0 += r } }) })
        return complete ? out.withLock { $0 } : nil
    }

    /// The reports that could be collected: for progress lines only (may be partial, see `collectAll`).
    static func collect(_ loggers: [LiveLogger]) -> [LinkReport] {
        collectAll(loggers) ?? []
    }

    static func stop(_ loggers: [LiveLogger]) {
        onLoops(loggers.map { l in (l.loop, { l.stop() }) })
    }
}
