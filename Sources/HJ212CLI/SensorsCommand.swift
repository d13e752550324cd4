import Dispatch
import Glibc
import HJ212
import HJInstruments
import HJNetwork
import HJSimulation
import Synchronization
import HJLive

/// `hj212 sensors`: the instruments of one monitored unit (analysers, CEMS, flow meters on
/// Modbus RTU/TCP, DL/T 645 electricity meters) for a real data logger to read.
struct SensorsCommand: CLICommand {
    static let name = "sensors"
    static let abstract = "Emulate the instruments of a unit (Modbus RTU/TCP analysers, DL/T 645 meters) for a real logger to read."
    static let unit = Shared.unit.help("The instruments of this unit template (hj212 generate --list shows the templates).")
    static let fleet = Shared.fleet.help("A fleet manifest (CSV) or built-in fleet; with --mn, the unit of that logger.")
    static let mn = Shared.mn.help("The logger's MN (with --fleet: which unit; with --unit: the MN of the value models, default 010000A8900016F000169DC0).")
    static let modbusTCP = Option("modbus-tcp", "HOST:PORT", help: "Serve Modbus TCP here (unit identifier = slave address of each instrument).", parse: Parse.address)
    static let modbusRTU = Option("modbus-rtu", "PATH|pty", help: "Serve Modbus RTU on this serial device, or on a new pseudo-terminal (pty) whose path is printed.", parse: Parse.path)
    static let dlt645 = Option("dlt645", "PATH|pty", help: "Serve the DL/T 645-2007 meters on this serial device, or on a new pseudo-terminal (pty).", parse: Parse.path)
    static let pty = Flag("pty", help: "Both serial lines (Modbus RTU and DL/T 645) on new pseudo-terminals, unless given a path.")
    static let baud = Option("baud", "N", help: "Serial speed (default 9600 for Modbus RTU, 2400 for DL/T 645).",
                             parse: { (b: String) throws(UsageError) -> Int in
                                 guard let v = Int(b), SerialPort.supportedBauds.contains(v) else {
                                     throw UsageError("expected one of \(SerialPort.supportedBauds.map(String.init).joined(separator: ", "))")
                                 }
                                 return v
                             })
    static let parity = Option("parity", "N|E|O", choices: ["N", "E", "O"], help: "Serial parity (default E: 8E1; N uses two stop bits, as the Modbus spec asks).")
    static let strictTiming = Flag("strict-timing", help: "Modbus RTU: discard a frame with a gap above 1.5 character times (the spec's rule; off by default because USB adapters and ptys deliver bytes in bursts).")
    static let speed = Shared.speed.help("Simulated seconds per real second (default 1).")
    static let start = Shared.start.help("Simulated start (default: now, China time); use the logger run's start to compare.")
    static let duration = Shared.duration.help("Real run time, e.g. 30s, 10m (default until Ctrl-C).")
    static let seed = Shared.seed.help("Random seed of the value models (default 1).")
    static let faults = Shared.faults.help("Instrument, fraud and process faults, as for simulate (e.g. calibration:w01018@2026-11-30T10:00/30m).")
    static let profiles = Shared.profiles.help("A directory whose files override the built-in Profiles/ (your own register maps under instruments/).")
    static let truth = Shared.truth.help("Append the ground truth (every value served, every write, every fault) as JSON Lines.")
    static let trace = Shared.trace.help("Append every frame received and sent, in hexadecimal, as JSON Lines.")
    static let options: [any OptionDeclaration] = [
        unit, fleet, mn, modbusTCP, modbusRTU, dlt645, pty, baud, parity, strictTiming, speed, start, duration, seed, faults, profiles, truth, trace,
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
        guard a.given(Self.unit) != a.given(Self.fleet) else { throw UsageError("give exactly one of --unit NAME or --fleet FILE --mn MN") }
        if a.given(Self.fleet) && !a.given(Self.mn) { throw UsageError("--fleet needs --mn MN (which unit of the fleet)") }
        guard a.given(Self.modbusTCP) || a.given(Self.modbusRTU) || a.given(Self.dlt645) || a[Self.pty] else {
            throw UsageError("give at least one line: --modbus-tcp HOST:PORT, --modbus-rtu PATH|pty, --dlt645 PATH|pty or --pty")
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
        let speed = a[Self.speed] ?? 1
        let start = a[Self.start] ?? LiveClock.wallNow(offsetMinutes: SimClock.chinaOffsetMinutes)
        let realDuration = a[Self.duration].map { Double($0) / 1000 }
        let seed = a[Self.seed] ?? 1
        let store = ProfileStore(overrideDirectory: a[Self.profiles])
        let template: UnitTemplate
        var mn = a[Self.mn] ?? "010000A8900016F000169DC0"
        var pw = "123456"
        do {
            if let unit = a[Self.unit] {
                template = try UnitTemplate.load(unit, from: store)
            } else {
                let fleet = try Fleet.load(a[Self.fleet]!, store: store)
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
        if let spec = a[Self.faults] {
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
        let parity = Parity(rawValue: a[Self.parity] ?? "E") ?? .even
        let baud = a[Self.baud]
        // Open the serial lines first: a missing or busy path stops the run before anything listens.
        func openLine(_ value: String?, defaultBaud: Int) throws(UsageError) -> SerialPort? {
            let wanted = value ?? (a[Self.pty] ? "pty" : nil)
            guard let wanted else { return nil }
            do {
                return Self.isPTY(wanted) ? try SerialPort.openPTY(baud: baud ?? defaultBaud, parity: parity)
                    : try SerialPort.open(path: wanted, baud: baud ?? defaultBaud, parity: parity)
            } catch { throw UsageError(TerminalText.safe(error.message)) }
        }
        let rtuPort = try openLine(a[Self.modbusRTU], defaultBaud: 9600)
        let meterPort = try openLine(a[Self.dlt645], defaultBaud: 2400)
        let tcpAddress = a[Self.modbusTCP]
        var trace: InstrumentTrace?
        var truth: TruthFile?
        do {
            if let p = a[Self.trace] { trace = try InstrumentTrace(path: p) }
            if let p = a[Self.truth] { truth = try TruthFile(path: p) }
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
        for (port, proto, name) in [(rtuPort, LineProtocol.modbusRTU(RTUTiming(baud: baud ?? 9600), strict: a[Self.strictTiming]), "modbus-rtu"),
                                    (meterPort, LineProtocol.dlt645, "dlt645")] {
            guard let port else { continue }
            let counters = LineCounters()
            lines.append((name, counters))
            let runner = UncheckedRunner(SerialLineRunner(port: port, lineProtocol: proto, bank: bank, trace: trace, counters: counters, name: name))
            let flag = UncheckedStop(realDuration: realDuration, began: began)
            LineThread.start(name: "hj-\(name)", group: lineGroup) {
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
        bank.finish()
        truth?.write(bank.takeTruth())
        io.clearProgress()
        let counts = bank.counters
        // Requests the TCP gateway answered itself (0x0B, no instrument at that unit identifier) count too.
        let gateway = service?.counters.gatewayExceptions.load(ordering: .relaxed) ?? 0
        io.stdout.line("served \(counts.requests + gateway) requests (\(counts.exceptions + gateway) exception or error replies) up to simulated \(SimClock.iso(clock.now))")
        for (name, c) in lines {
            io.stdout.line("  \(name): frames \(c.framesIn.load(ordering: .relaxed)), replies \(c.replies.load(ordering: .relaxed)), dropped (bad CRC/checksum, length) \(c.dropped.load(ordering: .relaxed)), not for us \(c.notForUs.load(ordering: .relaxed))")
        }
        if let service {
            let c = service.counters
            io.stdout.line("  modbus-tcp: requests \(c.requests.load(ordering: .relaxed)) (\(c.gatewayExceptions.load(ordering: .relaxed)) to a unit identifier with no instrument, answered 0B by the gateway), refused connections \(c.refused.load(ordering: .relaxed)), closed for bad framing or unread replies \(c.closedForAbuse.load(ordering: .relaxed))")
        }
        // A trace or a ground truth that lost lines is not what happened: said, and exit 1.
        var lostFiles = false
        if let t = trace?.lost, t.count > 0 {
            io.stdout.line("trace: \(t.count) record\(t.count == 1 ? "" : "s") LOST (\(t.why ?? "?")): the trace is incomplete")
            lostFiles = true
        }
        if let t = truth?.lost, t.count > 0 {
            io.stdout.line("ground truth: \(t.count) line\(t.count == 1 ? "" : "s") LOST (\(t.why ?? "?")): the ground truth is incomplete")
            lostFiles = true
        }
        let dropped = bank.truthDropped
        if truth != nil, dropped > 0 {
            io.stdout.line("ground truth: \(dropped) line\(dropped == 1 ? "" : "s") LOST (more than \(InstrumentBank.maxPendingTruth) waited to be written): the ground truth is incomplete")
            lostFiles = true
        }
        return Interrupts.requested ? Interrupts.exitStatus : lostFiles ? 1 : 0
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
