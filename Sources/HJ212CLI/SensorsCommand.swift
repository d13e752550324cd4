import Dispatch
import Glibc
import HJ212
import HJInstruments
import HJNetwork
import HJSimulation
import Synchronization

/// `hj212 sensors`: the instruments of one monitored unit (analysers, CEMS, flow meters on
/// Modbus RTU/TCP, DL/T 645 electricity meters) for a real data logger to read.
struct SensorsCommand: CLICommand {
    static let name = "sensors"
    static let abstract = "Emulate the instruments of a unit (Modbus RTU/TCP analysers, DL/T 645 meters) for a real logger to read."
    static let options: [any OptionDeclaration] = [
        OptionSpec("unit", value: "NAME", help: "The instruments of this unit template (hj212 generate --list shows the templates)."),
        OptionSpec("fleet", value: "FILE", help: "A fleet manifest (CSV) or built-in fleet; with --mn, the unit of that logger."),
        OptionSpec("mn", value: "MN", help: "The logger's MN (with --fleet: which unit; with --unit: the MN of the value models, default 010000A8900016F000169DC0)."),
        OptionSpec("modbus-tcp", value: "HOST:PORT", help: "Serve Modbus TCP here (unit identifier = slave address of each instrument)."),
        OptionSpec("modbus-rtu", value: "PATH|pty", help: "Serve Modbus RTU on this serial device, or on a new pseudo-terminal (pty) whose path is printed."),
        OptionSpec("dlt645", value: "PATH|pty", help: "Serve the DL/T 645-2007 meters on this serial device, or on a new pseudo-terminal (pty)."),
        OptionSpec("pty", help: "Both serial lines (Modbus RTU and DL/T 645) on new pseudo-terminals, unless given a path."),
        OptionSpec("baud", value: "N", help: "Serial speed (default 9600 for Modbus RTU, 2400 for DL/T 645)."),
        OptionSpec("parity", value: "N|E|O", choices: ["N", "E", "O"], help: "Serial parity (default E: 8E1; N uses two stop bits, as the Modbus spec asks)."),
        OptionSpec("strict-timing", help: "Modbus RTU: discard a frame with a gap above 1.5 character times (the spec's rule; off by default because USB adapters and ptys deliver bytes in bursts)."),
        OptionSpec("speed", value: "X", help: "Simulated seconds per real second (default 1)."),
        OptionSpec("start", value: "ISO8601", help: "Simulated start (default: now, China time); use the logger run's start to compare."),
        OptionSpec("duration", value: "D", help: "Real run time, e.g. 30s, 10m (default until Ctrl-C)."),
        OptionSpec("seed", value: "N", help: "Random seed of the value models (default 1)."),
        OptionSpec("faults", value: "SPEC", help: "Instrument, fraud and process faults, as for simulate (e.g. calibration:w01018@2026-11-30T10:00/30m)."),
        OptionSpec("profiles", value: "DIR", help: "A directory whose files override the built-in Profiles/ (your own register maps under instruments/)."),
        OptionSpec("truth", value: "FILE", help: "Append the ground truth (every value served, every write, every fault) as JSON Lines."),
        OptionSpec("trace", value: "FILE", help: "Append every frame received and sent, in hexadecimal, as JSON Lines."),
    ]
    static let discussion = """
    Each instrument of the unit is a Modbus slave (addresses 1, 2, 3 … printed at start) with a register
    map from Profiles/instruments/ (docs/instruments.md); each facility has a DL/T 645 meter
    (000000000001, 000000000002 …). Values come from the same value models, faults and seed as
    'hj212 simulate', at the current (possibly accelerated) simulated time. A serial path that does not
    exist or is locked is an error (exit 2).

    EXAMPLE:
      hj212 sensors --unit industrial-wastewater --modbus-tcp 127.0.0.1:5020 --pty --truth served.jsonl
      socat -d -d /dev/ttyUSB0,raw,b9600,parenb=1 /dev/pts/7,raw   # wire a pty to a USB RS-485 adapter
    """

    var a: ParsedArguments

    init(_ a: ParsedArguments) throws(UsageError) {
        self.a = a
        guard (a.value("unit") != nil) != (a.value("fleet") != nil) else { throw UsageError("give exactly one of --unit NAME or --fleet FILE --mn MN") }
        if a.value("fleet") != nil && a.value("mn") == nil { throw UsageError("--fleet needs --mn MN (which unit of the fleet)") }
        guard a.value("modbus-tcp") != nil || a.value("modbus-rtu") != nil || a.value("dlt645") != nil || a.has("pty") else {
            throw UsageError("give at least one line: --modbus-tcp HOST:PORT, --modbus-rtu PATH|pty, --dlt645 PATH|pty or --pty")
        }
        if let b = a.value("baud"), Int(b).map({ SerialPort.supportedBauds.contains($0) }) != true {
            throw UsageError("--baud '\(b)': expected one of \(SerialPort.supportedBauds.map(String.init).joined(separator: ", "))")
        }
    }

    static func isPTY(_ v: String?) -> Bool { v == "pty" || v == "--pty" }

    func run(_ io: CommandIO) -> Int32 {
        do {
            return try runChecked(io)
        } catch {
            io.stderr.line("hj212 sensors: \(error.message)")
            return error.exitCode
        }
    }

    func runChecked(_ io: CommandIO) throws(UsageError) -> Int32 {
        let speed = Double(a.value("speed") ?? "1") ?? -1
        guard speed > 0 && speed <= 100_000 else { throw UsageError("--speed: expected a number > 0") }
        var start = LiveClock.wallNow(offsetMinutes: SimClock.chinaOffsetMinutes)
        if let s = a.value("start") {
            guard let t = SimClock.parseStart(s) else { throw UsageError("--start '\(s)': expected a date like 2026-11-30T08:00") }
            start = t
        }
        var realDuration: Double?
        if let d = a.value("duration") {
            guard let ms = SimClock.parseDuration(d) else { throw UsageError("--duration '\(d)': expected like 30s, 10m") }
            realDuration = Double(ms) / 1000
        }
        guard let seed = UInt64(a.value("seed") ?? "1") else { throw UsageError("--seed: expected a non-negative integer") }
        let store = ProfileStore(overrideDirectory: a.value("profiles"))
        let template: UnitTemplate
        var mn = a.value("mn") ?? "010000A8900016F000169DC0"
        var pw = "123456"
        do {
            if let unit = a.value("unit") {
                template = try UnitTemplate.load(unit, from: store)
            } else {
                let fleet = try Fleet.load(a.value("fleet")!, store: store)
                guard let u = fleet.units.first(where: { $0.identity.mn == mn }), let t = fleet.templates[u.unit] else {
                    throw UsageError("--mn '\(TerminalText.safe(mn))' is not a logger of the fleet")
                }
                template = t
                mn = u.identity.mn
                pw = u.identity.pw
            }
        } catch let e as UsageError {
            throw e
        } catch {
            throw UsageError("\(error)")
        }
        var options = SimulationOptions()
        options.profiles = store
        if let spec = a.value("faults") {
            do {
                let all = try FaultSpec.parseList(spec, store: store)
                options.faults = all.filter { FaultDefinition.valueLayers.contains($0.layer) }
                if let other = all.first(where: { !FaultDefinition.valueLayers.contains($0.layer) }) {
                    throw UsageError("--faults: '\(other.id)' is a \(other.layer) fault; instruments take instrument, fraud and process faults")
                }
            } catch let e as UsageError { throw e } catch { throw UsageError("--faults: \(error)") }
            if let bad = options.faults.lazy.compactMap({ f in f.inapplicability(to: template).map { "'\(f.id)': \($0)" } }).first {
                throw UsageError("--faults \(bad)")
            }
        }
        let parity = Parity(rawValue: a.value("parity") ?? "E") ?? .even
        let baud = a.value("baud").flatMap { Int($0) }
        // Open the serial lines first: a missing or busy path stops the run before anything listens.
        func openLine(_ value: String?, defaultBaud: Int) throws(UsageError) -> SerialPort? {
            let wanted = value ?? (a.has("pty") ? "pty" : nil)
            guard let wanted else { return nil }
            do {
                return Self.isPTY(wanted) ? try SerialPort.openPTY(baud: baud ?? defaultBaud, parity: parity)
                    : try SerialPort.open(path: wanted, baud: baud ?? defaultBaud, parity: parity)
            } catch { throw UsageError(TerminalText.safe(error.message)) }
        }
        let rtuPort = try openLine(a.value("modbus-rtu"), defaultBaud: 9600)
        let meterPort = try openLine(a.value("dlt645"), defaultBaud: 2400)
        var tcpAddress: SocketAddress?
        if let t = a.value("modbus-tcp") {
            do { tcpAddress = try SocketAddress(parsing: t) } catch { throw UsageError("--modbus-tcp '\(TerminalText.safe(t))': \(error.message)") }
        }
        var trace: InstrumentTrace?
        var truth: TruthFile?
        do {
            if let p = a.value("trace") { trace = try InstrumentTrace(path: p) }
            if let p = a.value("truth") { truth = try TruthFile(path: p) }
        } catch { throw UsageError(error.message) }

        let clock = LiveClock(start: start, speed: speed)
        let bank: InstrumentBank
        do {
            bank = try InstrumentBank(template: template, identity: LoggerIdentity(mn: mn, pw: pw), seed: seed, start: start, options: options,
                                      store: store, recordsTruth: truth != nil, clock: { clock.now })
        } catch { throw UsageError("\(error)") }

        var service: ModbusTCPService?
        var group: EventLoopGroup?
        if let tcpAddress {
            do {
                _ = try? ProcessSetup.prepareForNetworking()
                let g = try EventLoopGroup(threads: 1, name: "sensors")
                group = g
                service = try ModbusTCPService(address: tcpAddress, group: g, bank: bank, trace: trace)
            } catch { throw UsageError("--modbus-tcp: \(error.message)") }
        }

        let dictionary = CodeDictionary.shared(.hj2017)
        io.stdout.line("hj212 sensors: unit \(template.name) (\(template.titleZh)), MN \(mn), simulated start \(SimClock.iso(bank.advance())), speed ×\(ValueFormat.fixed(speed, decimals: 0))")
        if let service { io.stdout.line("modbus-tcp  listening on \(service.server.localAddress)") }
        if let rtuPort { io.stdout.line("modbus-rtu  \(rtuPort.path) (\(baud ?? 9600) 8\(parity.rawValue)\(parity == .none ? 2 : 1))") }
        if let meterPort { io.stdout.line("dlt645      \(meterPort.path) (\(baud ?? 2400) 8\(parity.rawValue)\(parity == .none ? 2 : 1))") }
        io.stdout.line("Modbus instruments (slave address, map, channels):")
        for inst in bank.instruments {
            let channels = zip(inst.map.channels, inst.codes).compactMap { ch, code in
                code.map { "\($0) \(dictionary.factor($0)?.nameZh ?? ch.name)" }
            }
            io.stdout.line("  \(inst.address)\t\(inst.map.name) (\(inst.map.titleZh))\t\(channels.joined(separator: ", "))")
        }
        io.stdout.line("DL/T 645 meters (address, facility):")
        for m in bank.meters { io.stdout.line("  \(m.addressText)\t\(m.facility) \(m.nameZh)\trated \(ValueFormat.fixed(m.ratedKW, decimals: 1)) kW") }
        io.stdout.flush()

        stopRequested.store(false, ordering: .relaxed)
        let began = monotonicSeconds()
        func shouldStop() -> Bool {
            stopRequested.load(ordering: .relaxed) || Interrupts.requested || realDuration.map { monotonicSeconds() - began >= $0 } == true
        }
        let lineGroup = DispatchGroup()
        var lines: [(String, LineCounters)] = []
        for (port, proto, name) in [(rtuPort, LineProtocol.modbusRTU(RTUTiming(baud: baud ?? 9600), strict: a.has("strict-timing")), "modbus-rtu"),
                                    (meterPort, LineProtocol.dlt645, "dlt645")] {
            guard let port else { continue }
            let counters = LineCounters()
            lines.append((name, counters))
            let runner = UncheckedRunner(SerialLineRunner(port: port, lineProtocol: proto, bank: bank, trace: trace, counters: counters, name: name))
            let flag = UncheckedStop(realDuration: realDuration, began: began)
            DispatchQueue.global().async(group: lineGroup) {
                runner.value.run(stop: { flag.shouldStop() })
            }
        }
        var lastPlain = monotonicSeconds()
        while !shouldStop() {
            usleep(200_000)
            truth?.write(bank.takeTruth())
            _ = bank.advance()
            let counts = bank.counters
            let status = "\(SimClock.iso(clock.now))  requests \(counts.requests), exceptions \(counts.exceptions)" +
                lines.map { "  \($0.0) in \($0.1.framesIn.load(ordering: .relaxed)) replied \($0.1.replies.load(ordering: .relaxed)) dropped \($0.1.dropped.load(ordering: .relaxed))" }.joined() +
                (service.map { "  tcp connections \($0.counters.open.load(ordering: .relaxed))" } ?? "")
            if io.stderr.isTerminal {
                io.progress(status)
            } else if monotonicSeconds() - lastPlain >= 30 {
                io.stderr.line(status)
                io.stderr.flush()
                lastPlain = monotonicSeconds()
            }
        }
        stopRequested.store(true, ordering: .relaxed)
        lineGroup.wait()
        if let service { _ = service.server.stopAndWait(timeout: .seconds(5)) }
        group?.shutdown()
        truth?.write(bank.takeTruth())
        io.clearProgress()
        let counts = bank.counters
        io.stdout.line("served \(counts.requests) requests (\(counts.exceptions) exception or error replies) up to simulated \(SimClock.iso(clock.now))")
        for (name, c) in lines {
            io.stdout.line("  \(name): frames \(c.framesIn.load(ordering: .relaxed)), replies \(c.replies.load(ordering: .relaxed)), dropped (bad CRC/checksum, length) \(c.dropped.load(ordering: .relaxed)), not for us \(c.notForUs.load(ordering: .relaxed))")
        }
        if let service {
            let c = service.counters
            io.stdout.line("  modbus-tcp: requests \(c.requests.load(ordering: .relaxed)), refused connections \(c.refused.load(ordering: .relaxed)), closed for bad framing or unread replies \(c.closedForAbuse.load(ordering: .relaxed))")
        }
        return Interrupts.requested ? Interrupts.exitStatus : 0
    }
}

/// Set when a sensors run ends, read by its serial threads.
let stopRequested = Atomic<Bool>(false)

/// A serial line runner handed to its one thread. `@unchecked Sendable`: after the hand-over
/// only that thread touches it (the port is owned by the runner).
struct UncheckedRunner: @unchecked Sendable {
    let value: SerialLineRunner
    init(_ value: SerialLineRunner) { self.value = value }
}

/// The stop condition of a serial thread: the run's stop flag, an interrupt, or the duration.
struct UncheckedStop: Sendable {
    let realDuration: Double?
    let began: Double
    func shouldStop() -> Bool {
        stopRequested.load(ordering: .relaxed) || Interrupts.requested || realDuration.map { monotonicSeconds() - began >= $0 } == true
    }
}
