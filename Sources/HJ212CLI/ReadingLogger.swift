import Dispatch
import Glibc
import HJ212
import HJInstruments
import HJNetwork
import HJRoles
import HJSimulation
import Synchronization

/// One instrument line a reading logger polls (`simulate --read`, `check logger --sensors`):
/// `modbus-tcp://HOST:PORT`, `rtu:PATH` (or a bare `/dev/…` path), `dlt645:PATH`; a serial path
/// may end in `?baud=N&parity=N|E|O` (defaults 9600 8E1 for Modbus RTU, 2400 8E1 for DL/T 645).
/// In `check logger --sensors`, `pty` in place of a path makes a new pseudo-terminal.
struct InstrumentLineSpec: Sendable, Hashable {
    enum Kind: Sendable, Hashable { case modbusTCP(SocketAddress), modbusRTU(String), dlt645(String) }
    var kind: Kind
    var baud: Int
    var parity: Parity
    var text: String

    var isModbus: Bool { if case .dlt645 = kind { return false } else { return true } }

    static let syntax = "modbus-tcp://HOST:PORT, rtu:PATH (or a /dev/… path) or dlt645:PATH, a serial path optionally followed by ?baud=N&parity=N|E|O"

    /// Parses a comma-separated list; at most one Modbus line and one DL/T 645 line.
    static func parseList(_ text: String, option: String) throws(UsageError) -> [InstrumentLineSpec] {
        var out: [InstrumentLineSpec] = []
        for item in text.split(separator: ",").map({ String($0).trimmingCharacters(in: .whitespaces) }) where !item.isEmpty {
            out.append(try parse(item, option: option))
        }
        guard !out.isEmpty else { throw UsageError("\(option): expected \(syntax)") }
        if out.filter(\.isModbus).count > 1 { throw UsageError("\(option): at most one Modbus line (TCP or RTU): every Modbus instrument of the unit is on it") }
        if out.filter({ !$0.isModbus }).count > 1 { throw UsageError("\(option): at most one DL/T 645 line") }
        return out
    }

    static func parse(_ item: String, option: String) throws(UsageError) -> InstrumentLineSpec {
        let safe = TerminalText.safe(item)
        if item.hasPrefix("modbus-tcp://") {
            do { return InstrumentLineSpec(kind: .modbusTCP(try SocketAddress(parsing: String(item.dropFirst(13)))), baud: 0, parity: .even, text: item) } catch {
                throw UsageError("\(option) '\(safe)': \(error.message)")
            }
        }
        var rest = Substring(item)
        var isMeter = false
        if rest.hasPrefix("dlt645:") { isMeter = true; rest = rest.dropFirst(7) } else if rest.hasPrefix("rtu:") { rest = rest.dropFirst(4) }
        else if !rest.hasPrefix("/") { throw UsageError("\(option) '\(safe)': expected \(syntax)") }
        var baud = isMeter ? 2400 : 9600
        var parity = Parity.even
        if let q = rest.firstIndex(of: "?") {
            for pair in rest[rest.index(after: q)...].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1).map(String.init)
                if kv.count == 2, kv[0] == "baud", let b = Int(kv[1]), SerialPort.supportedBauds.contains(b) { baud = b }
                else if kv.count == 2, kv[0] == "parity", let p = Parity(rawValue: kv[1]) { parity = p }
                else { throw UsageError("\(option) '\(safe)': '\(TerminalText.safe(String(pair)))': expected baud=\(SerialPort.supportedBauds.map(String.init).joined(separator: "|")) or parity=N|E|O") }
            }
            rest = rest[..<q]
        }
        guard !rest.isEmpty else { throw UsageError("\(option) '\(safe)': no path") }
        return InstrumentLineSpec(kind: isMeter ? .dlt645(String(rest)) : .modbusRTU(String(rest)), baud: baud, parity: parity, text: item)
    }

    /// Opens the line as a master (serial paths must exist and be free).
    func openMaster() throws(UsageError) -> any InstrumentMasterLine {
        switch kind {
        case .modbusTCP(let address): return ModbusTCPMaster(address: address)
        case .modbusRTU(let path), .dlt645(let path):
            do { return SerialMaster(port: try SerialPort.open(path: path, baud: baud, parity: parity), baud: baud) } catch {
                throw UsageError("--read '\(TerminalText.safe(text))': \(TerminalText.safe(error.message))")
            }
        }
    }
}

/// The polling threads of a reading logger: one per line, stopped together.
final class ReadingLoggerLines: Sendable {
    let lines: [UncheckedPollingLine]
    let stop = Atomic<Bool>(false)
    let group = DispatchGroup()
    let readings: PolledReadings

    /// Builds the lines for the unit of `sim` (the same instrument layout as `sensors`).
    init(_ specs: [InstrumentLineSpec], sim: UnitSimulator, readings: PolledReadings, faults: [FaultSpec], clock: @escaping @Sendable () -> Int64,
         speed: Double, store: ProfileStore = .builtin, truth: @escaping @Sendable ([FaultRecord]) -> Void) throws(UsageError) {
        self.readings = readings
        let instruments: [InstrumentInfo]
        let meterMap: MeterMap
        do {
            instruments = try InstrumentBank.instrumentLayout(sim, store: store)
            meterMap = try MeterMap.load(from: store)
        } catch { throw UsageError("\(error)") }
        var out: [UncheckedPollingLine] = []
        for spec in specs {
            let master = try spec.openMaster()
            let line = spec.isModbus
                ? InstrumentPollingLine(line: master, instruments: instruments, readings: readings, faults: faults, mn: sim.identity.mn, clock: clock, speed: speed, truth: truth)
                : InstrumentPollingLine(line: master, instruments: [], meters: InstrumentBank.meterLayout(sim.template, meterMap: meterMap), meterMap: meterMap,
                                        readings: readings, faults: faults, mn: sim.identity.mn, clock: clock, speed: speed, truth: truth)
            out.append(UncheckedPollingLine(line))
        }
        lines = out
    }

    func start() {
        for l in lines {
            LineThread.start(name: "hj-poll", group: group) { [self] in l.value.run(stop: { self.stop.load(ordering: .relaxed) }) }
        }
    }

    func stopAndWait() {
        stop.store(true, ordering: .relaxed)
        _ = group.wait(timeout: .now() + 10)
    }
}

/// A polling line handed to its one thread (`@unchecked Sendable`: only that thread touches it).
struct UncheckedPollingLine: @unchecked Sendable {
    let value: InstrumentPollingLine
    init(_ value: InstrumentPollingLine) { self.value = value }
}

/// `simulate --unit NAME --read LINES`: the emulated logger builds its uploads from what it reads
/// from its instruments (real ones, or `hj212 sensors`) instead of its value models.
enum ReadingLogger {
    static func run(_ a: ParsedArguments, io: CommandIO) -> Int32 {
        do throws(UsageError) {
            guard a.given(SimulateCommand.unit) else { throw UsageError("--read needs --unit NAME (the instruments of one unit)") }
            let specs = try InstrumentLineSpec.parseList(a[SimulateCommand.read] ?? "", option: "--read")
            var faults: [FaultSpec] = []
            if let f = a[SimulateCommand.faults] {
                do { faults = try FaultSpec.parseList(f) } catch { throw UsageError("--faults: \(error)") }
            }
            if let v = faults.first(where: { FaultDefinition.valueLayers.contains($0.layer) }) {
                throw UsageError("--faults: '\(v.id)' is an \(v.layer) fault: with --read the instruments measure; give it to 'hj212 sensors --faults'")
            }
            var setup = try LiveSetup(a, io: io)
            let readings = PolledReadings()
            let old = setup.devices[0].simulator
            var options = old.options
            options.readingSource = readings
            options.faults = []
            // Readings from instruments: the segment path (bytes only is compared with it without a reading source).
            options.bytesOnly = false
            let seed = a[Shared.seed] ?? 1
            let sim: UnitSimulator
            do { sim = try UnitSimulator(template: old.template, identity: old.identity, seed: seed, start: old.start, options: options) } catch { throw UsageError("\(error)") }
            setup.devices = [LoggerDevice(simulator: sim)]
            let clock = setup.clock
            let truth = setup.truth
            let lines = try ReadingLoggerLines(specs, sim: sim, readings: readings, faults: faults, clock: { clock.now }, speed: clock.speed,
                                               truth: { records in truth?.write(records.map { $0.json() }) })
            io.stdout.line("reading instruments: " + specs.map { TerminalText.safe($0.text) }.joined(separator: ", ") + " every 5 s of the logger's time")
            if specs.contains(where: { !$0.isModbus }) {
                io.stdout.line(options.dialect == .hj2025
                    ? "electricity (用电监控): uploaded as HJ 212-2025 ST=44 CN=2011, per facility: " + readings.meterFacilities().joined(separator: " ")
                    : "note: the meters are read but HJ 212-2017 has no electricity upload; give --dialect 2025 for ST=44 (用电监控)")
            }
            lines.start()
            let status = setup.runLoggers(io: io, verb: "simulate")
            lines.stopAndWait()
            let c = readings.counts
            io.stdout.line("instrument reads \(c.polls), failed \(c.failures)")
            // Asked to read instruments and never could: the uploads carried no reading (flag B).
            if c.polls == 0 && !Interrupts.requested {
                io.stdout.line("no instrument or meter could be read: the uploads carried no reading (flagged B, 通讯异常)")
                return status == 0 ? 1 : status
            }
            return status
        } catch {
            io.stderr.line("hj212 simulate: \(error.message)")
            return error.exitCode
        }
    }
}
