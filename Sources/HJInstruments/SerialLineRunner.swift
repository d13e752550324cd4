import Glibc
import Synchronization

/// What a serial line speaks.
public enum LineProtocol: Sendable {
    /// Modbus RTU: frames by t3.5 silence, CRC-16/MODBUS; bad CRC and other addresses are silence.
    case modbusRTU(RTUTiming, strict: Bool)
    /// DL/T 645-2007: frames by 68H … 16H with checksum; replies start with four FEH wake-up bytes.
    case dlt645
}

/// Counters of a serial line (any thread).
public final class LineCounters: Sendable {
    public let framesIn = Atomic<Int>(0)
    public let replies = Atomic<Int>(0)
    /// Frames dropped silently: bad CRC or checksum, wrong length, too long, incomplete.
    public let dropped = Atomic<Int>(0)
    /// Frames for addresses nobody on the line has, and broadcasts.
    public let notForUs = Atomic<Int>(0)
    public init() {}
}

/// Runs one serial line (a device or a pty) on the calling thread until `stop()` says so: reads
/// with `poll`, frames, asks the bank, writes the replies.
///
/// Budgets: the RTU receiver keeps at most 256 bytes, the DL/T 645 decoder 512; a peer that
/// floods the line only ever has its frames dropped.
public struct SerialLineRunner {
    public let port: SerialPort
    public let lineProtocol: LineProtocol
    public let bank: InstrumentBank
    public let trace: InstrumentTrace?
    public let counters: LineCounters
    public let name: String

    public init(port: SerialPort, lineProtocol: LineProtocol, bank: InstrumentBank, trace: InstrumentTrace?, counters: LineCounters = LineCounters(), name: String) {
        (self.port, self.lineProtocol, self.bank, self.trace, self.counters, self.name) = (port, lineProtocol, bank, trace, counters, name)
    }

    public func run(stop: () -> Bool) {
        switch lineProtocol {
        case .modbusRTU(let timing, let strict): runRTU(RTUReceiver(timing: timing, strictInterCharacter: strict), stop: stop)
        case .dlt645: runDLT645(stop: stop)
        }
    }

    func note(_ bytes: [UInt8], incoming: Bool) {
        trace?.record(bytes, incoming: incoming, line: name, peer: port.path, at: bank.clock())
    }

    func runRTU(_ receiver: RTUReceiver, stop: () -> Bool) {
        var rx = receiver
        while !stop() {
            var timeout: Int32 = 100
            if let d = rx.deadline { timeout = Int32(max(0, min(100, (d - monotonicMicros() + 999) / 1000))) }
            if port.waitReadable(timeoutMs: timeout), let bytes = port.read() {
                if bytes.isEmpty {
                    usleep(20_000)  // end of file or an error on a device that went away; keep trying
                } else if let frame = rx.receive(bytes, at: monotonicMicros()) {
                    handleRTU(frame)
                }
            }
            if let frame = rx.poll(at: monotonicMicros()) { handleRTU(frame) }
            if rx.discarded > 0 {
                _ = counters.dropped.add(rx.discarded, ordering: .relaxed)
                rx = RTUReceiver(timing: rx.timing, strictInterCharacter: rx.strictInterCharacter)
            }
        }
    }

    func handleRTU(_ frame: [UInt8]) {
        note(frame, incoming: true)
        counters.framesIn.add(1, ordering: .relaxed)
        switch ModbusRTU.decode(frame) {
        case .badCRC, .badLength:
            counters.dropped.add(1, ordering: .relaxed)
        case .frame(let address, let pdu):
            if address == 0 {
                counters.notForUs.add(1, ordering: .relaxed)
                bank.modbusBroadcast(pdu: pdu, line: name, peer: port.path)
                return
            }
            guard let reply = bank.modbus(unit: address, pdu: pdu, line: name, peer: port.path) else {
                counters.notForUs.add(1, ordering: .relaxed)
                return
            }
            let bytes = ModbusRTU.encode(address: address, pdu: reply)
            note(bytes, incoming: false)
            if port.write(bytes) { counters.replies.add(1, ordering: .relaxed) }
        }
    }

    func runDLT645(stop: () -> Bool) {
        var decoder = DLT645Decoder()
        var lastBad = 0
        while !stop() {
            guard port.waitReadable(timeoutMs: 100), let bytes = port.read() else { continue }
            if bytes.isEmpty { usleep(20_000); continue }
            decoder.feed(bytes)
            while let frame = decoder.next() {
                note(frame.bytes, incoming: true)
                counters.framesIn.add(1, ordering: .relaxed)
                guard let reply = bank.dlt645(frame, line: name) else {
                    counters.notForUs.add(1, ordering: .relaxed)
                    continue
                }
                let out = [0xFE, 0xFE, 0xFE, 0xFE] + reply.bytes
                note(out, incoming: false)
                if port.write(out) { counters.replies.add(1, ordering: .relaxed) }
            }
            if decoder.badFrames > lastBad {
                counters.dropped.add(decoder.badFrames - lastBad, ordering: .relaxed)
                lastBad = decoder.badFrames
            }
        }
    }
}
