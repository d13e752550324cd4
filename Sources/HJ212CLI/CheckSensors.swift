import Dispatch
import HJ212
import HJConformance
import HJInstruments
import HJNetwork
import HJSimulation
import Synchronization
import HJLive

/// `check logger --sensors LINES`: the check runs the logger's instruments itself (the same
/// instruments as `hj212 sensors`), on a Modbus TCP address, a Modbus RTU line and/or a DL/T 645
/// line, and keeps what they served as the evidence of the L-VALUE checks. It puts the first
/// pollutant analyser into calibration for ten minutes, so that the flag check is exercised.
final class CheckSensors: Sendable {
    let bank: InstrumentBank
    let evidence: SensorEvidence
    let service: ModbusTCPService?
    let group: EventLoopGroup?
    let stopFlag = Atomic<Bool>(false)
    let threads = DispatchGroup()

    init(bank: InstrumentBank, evidence: SensorEvidence, service: ModbusTCPService?, group: EventLoopGroup?) {
        (self.bank, self.evidence, self.service, self.group) = (bank, evidence, service, group)
    }

    /// Starts the instruments of `--unit` on the lines of `--sensors` (nil without `--sensors`).
    /// The instruments' clock is `--start` (default now) at `--speed` (default 1): give the
    /// logger the same start and speed.
    static func start(_ a: ParsedArguments, io: CommandIO) throws(UsageError) -> CheckSensors? {
        typealias O = CheckOptions
        guard let text = a[O.sensors] else { return nil }
        guard let unit = a[O.unit] else { throw UsageError("--sensors needs --unit KIND (whose instruments to run)") }
        let specs = try InstrumentLineSpec.parseList(text, option: "--sensors")
        let speed = a[O.speed] ?? 1
        let start = a[O.start] ?? LiveClock.wallNow(offsetMinutes: SimClock.chinaOffsetMinutes)
        let seed = a[O.seed] ?? 1
        let template: UnitTemplate
        do { template = try UnitTemplate.load(unit) } catch { throw UsageError("--unit: \(error)") }
        let clock = LiveClock(start: start, speed: speed)
        var ports: [(SerialPort, LineProtocol, String)] = []
        var tcp: SocketAddress?
        for spec in specs {
            switch spec.kind {
            case .modbusTCP(let address): tcp = address
            case .modbusRTU(let path), .dlt645(let path):
                let port: SerialPort
                do { port = path == "pty" ? try SerialPort.openPTY(baud: spec.baud, parity: spec.parity) : try SerialPort.open(path: path, baud: spec.baud, parity: spec.parity) } catch {
                    throw UsageError("--sensors '\(TerminalText.safe(spec.text))': \(TerminalText.safe(error.message))")
                }
                if case .dlt645 = spec.kind { ports.append((port, .dlt645, "dlt645")) } else { ports.append((port, .modbusRTU(RTUTiming(baud: spec.baud), strict: false), "modbus-rtu")) }
            }
        }
        let sensors = try make(template: template, mn: a[O.mn] ?? "010000A8900016F000169DC0", seed: seed, clock: clock, tcp: tcp, ports: ports)
        io.stderr.line("hj212 check logger: instruments of \(template.name) on \(sensors.evidence.lines); clock from \(SimClock.iso(start)) at ×\(ValueFormat.fixed(speed, decimals: speed == speed.rounded() ? 0 : 2))")
        return sensors
    }

    /// The instruments on a TCP address and serial ports, their serial threads started.
    static func make(template: UnitTemplate, mn: String, seed: UInt64, clock: LiveClock, tcp: SocketAddress?, ports: [(SerialPort, LineProtocol, String)]) throws(UsageError) -> CheckSensors {
        try make(template: template, mn: mn, seed: seed, start: clock.virtualStart, now: { clock.now }, at: { clock.virtual(at: $0) }, tcp: tcp, ports: ports)
    }

    /// The same with any clock: `now` the instruments' time, `at` their time at a monotonic instant.
    static func make(template: UnitTemplate, mn: String, seed: UInt64, start: Int64, now: @escaping @Sendable () -> Int64,
                     at: @escaping @Sendable (MonotonicTime) -> Int64, tcp: SocketAddress?, ports: [(SerialPort, LineProtocol, String)]) throws(UsageError) -> CheckSensors {
        var options = SimulationOptions()
        options.faults = SensorEvidence.statusFaults(template: template, start: start)
        let served = ServedLog()
        let bank: InstrumentBank
        do {
            bank = try InstrumentBank(template: template, identity: LoggerIdentity(mn: mn, pw: "123456"), seed: seed, start: start, options: options,
                                      recordsTruth: false, served: served, clock: now)
        } catch { throw UsageError("\(error)") }
        var service: ModbusTCPService?
        var group: EventLoopGroup?
        var lines: [String] = []
        if let tcp {
            do {
                let g = try EventLoopGroup(threads: 1, name: "check-sensors")
                group = g
                service = try ModbusTCPService(address: tcp, group: g, bank: bank, trace: nil)
                lines.append("modbus-tcp \(service!.server.localAddress)")
            } catch { throw UsageError("--sensors: \(error.message)") }
        }
        for (port, _, name) in ports { lines.append("\(name) \(port.path)") }
        let plan = options.faults.map { f in "\(f.id):\(f.factor ?? "") \(f.describe(from: f.window?.lowerBound ?? start))" }.joined(separator: "; ")
        let servesMeters = ports.contains { if case .dlt645 = $0.1 { return true } else { return false } }
        let evidence = SensorEvidence(served: served, clockAt: at, lines: lines.joined(separator: ", "), statusPlan: plan,
                                      meters: servesMeters ? bank.meters : [], meterResolution: SensorEvidence.resolution(bank.meterMap))
        let sensors = CheckSensors(bank: bank, evidence: evidence, service: service, group: group)
        for (port, proto, name) in ports {
            let runner = UncheckedRunner(SerialLineRunner(port: port, lineProtocol: proto, bank: bank, trace: nil, name: name))
            LineThread.start(name: "hj-\(name)", group: sensors.threads) { runner.value.run(stop: { sensors.stopFlag.load(ordering: .relaxed) }) }
        }
        return sensors
    }

    func stop() {
        stopFlag.store(true, ordering: .relaxed)
        _ = threads.wait(timeout: .now() + 5)
        if let service { _ = service.server.stopAndWait(timeout: .seconds(5)) }
        group?.shutdown()
    }
}

extension LiveClock {
    /// The simulated time at a monotonic instant.
    func virtual(at m: MonotonicTime) -> Int64 {
        let d = m - realStart
        return virtualStart + Int64((Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15) * speed)
    }
}
