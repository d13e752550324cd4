import Dispatch
import Glibc
import HJ212
import HJSimulation
import Synchronization
import Testing
@testable import HJInstruments

/// A serial line runner on its own thread, stopped when the test ends.
final class RunningLine: @unchecked Sendable {
    // @unchecked: the runner is touched only by its thread after start; `stop` is atomic.
    let stop = Atomic<Bool>(false)
    let done = DispatchSemaphore(value: 0)
    let counters = LineCounters()
    let path: String

    init(_ port: SerialPort, _ proto: LineProtocol, bank: InstrumentBank) {
        path = port.path
        let runner = SerialLineRunner(port: port, lineProtocol: proto, bank: bank, trace: nil, counters: counters, name: "test")
        let box = UncheckedBox(runner)
        Thread.detach { [self] in
            box.value.run(stop: { self.stop.load(ordering: .relaxed) })
            self.done.signal()
        }
    }

    func finish() {
        stop.store(true, ordering: .relaxed)
        _ = done.wait(timeout: .now() + 5)
    }
}

struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

enum Thread {
    static func detach(_ body: @escaping @Sendable () -> Void) {
        DispatchQueue.global().async(execute: body)
    }
}

/// The peer end of a pty (what a logger opens).
final class PeerEnd {
    let fd: Int32
    init(_ path: String) throws {
        fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK)
        guard fd >= 0 else { throw SerialError(message: "cannot open \(path)") }
    }
    deinit { close(fd) }

    func write(_ bytes: [UInt8]) { _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) } }

    /// Bytes until `count` arrived or `timeoutMs` of waiting passed; with the time the first byte came.
    func read(_ count: Int, timeoutMs: Int64) -> (bytes: [UInt8], first: Int64?) {
        var out: [UInt8] = []
        var first: Int64?
        let end = monotonicMicros() + timeoutMs * 1000
        var buf = [UInt8](repeating: 0, count: 512)
        while out.count < count {
            let left = end - monotonicMicros()
            if left <= 0 { break }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, Int32(left / 1000 + 1)) > 0 else { continue }
            let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, 512) }
            if n > 0 {
                if first == nil { first = monotonicMicros() }
                out += buf[0..<n]
            }
        }
        return (out, first)
    }
}

@Suite("Serial lines on pseudo-terminals", .serialized)
struct SerialLineTests {
    @Test("Modbus RTU on a pty: the reply carries the model's value, at least t3.5 after the request")
    func rtuRead() throws {
        let clock = ManualClock(Fixture.start)
        let bank = try Fixture.bank("industrial-wastewater", clock: clock)
        let port = try SerialPort.openPTY(baud: 1200, parity: .even)
        let timing = RTUTiming(baud: 1200)
        let line = RunningLine(port, .modbusRTU(timing, strict: false), bank: bank)
        defer { line.finish() }
        let peer = try PeerEnd(line.path)
        clock.advance(60_000)
        let request = ModbusRTU.encode(address: 4, pdu: ModbusRequest.readHolding(start: 0, count: 2).pdu)
        peer.write(request)
        let sent = monotonicMicros()
        let (reply, first) = peer.read(9, timeoutMs: 3000)
        guard case .frame(let address, let pdu) = ModbusRTU.decode(reply), case .registers(let w) = ModbusResponse.parse(pdu[...]) else {
            Issue.record("no reply: \(reply)")
            return
        }
        #expect(address == 4)
        #expect(RegisterType.float32.decode(w, scale: 1, order: .abcd) == Double(Float(bank.readings().first { $0.code == "w01001" }!.value)))
        // The slave only knows the request ended after t3.5 (32 ms at 1200 baud) of silence.
        #expect(first! - sent >= timing.t35Micros)
    }

    @Test("RTU inter-frame silence: two frames without a gap are one bad frame (silence); with a gap, two replies")
    func rtuSilence() throws {
        let bank = try Fixture.bank("industrial-wastewater", clock: ManualClock(Fixture.start))
        let port = try SerialPort.openPTY(baud: 1200, parity: .even)
        let line = RunningLine(port, .modbusRTU(RTUTiming(baud: 1200), strict: false), bank: bank)
        defer { line.finish() }
        let peer = try PeerEnd(line.path)
        let a = ModbusRTU.encode(address: 1, pdu: ModbusRequest.readHolding(start: 0, count: 2).pdu)
        let b = ModbusRTU.encode(address: 2, pdu: ModbusRequest.readHolding(start: 0, count: 2).pdu)
        peer.write(a + b)
        // Wait (hang guard, not a speed limit) until the line has decided the joined bytes: on a
        // loaded machine the line's thread may take a while to see the silence after them.
        let deadline = monotonicMicros() + 10_000_000
        while line.counters.dropped.load(ordering: .relaxed) == 0 && monotonicMicros() < deadline { usleep(5_000) }
        #expect(line.counters.dropped.load(ordering: .relaxed) == 1)
        #expect(peer.read(1, timeoutMs: 200).bytes.isEmpty, "joined frames fail their CRC: no reply")
        // With silence between them (here: the first reply comes back before the second request
        // is written, so the gap is at least t3.5 whatever the machine's load), two replies.
        peer.write(a)
        let first = peer.read(9, timeoutMs: 3000).bytes
        peer.write(b)
        let second = peer.read(9, timeoutMs: 3000).bytes
        #expect(first.count == 9 && first.first == 1 && ModbusCRC.check(first))
        #expect(second.count == 9 && second.first == 2 && ModbusCRC.check(second))
    }

    @Test("RTU silence for a bad CRC, another address and a broadcast; broadcast writes are executed")
    func rtuSilenceCases() throws {
        let clock = ManualClock(Fixture.start)
        let bank = try Fixture.bank("industrial-wastewater", clock: clock)
        let port = try SerialPort.openPTY(baud: 9600, parity: .none)
        let line = RunningLine(port, .modbusRTU(RTUTiming(baud: 9600), strict: false), bank: bank)
        defer { line.finish() }
        let peer = try PeerEnd(line.path)
        var bad = ModbusRTU.encode(address: 1, pdu: ModbusRequest.readHolding(start: 0, count: 2).pdu)
        bad[bad.count - 1] ^= 0xFF
        // Each silent case is written only once the line has decided the one before (a hang guard,
        // not a speed limit): two writes that reach a starved line together would be one frame.
        func waitUntil(_ done: () -> Bool) {
            let deadline = monotonicMicros() + 10_000_000
            while !done() && monotonicMicros() < deadline { usleep(5_000) }
        }
        peer.write(bad)
        waitUntil { line.counters.dropped.load(ordering: .relaxed) == 1 }
        #expect(peer.read(1, timeoutMs: 100).bytes.isEmpty)
        peer.write(ModbusRTU.encode(address: 77, pdu: ModbusRequest.readHolding(start: 0, count: 2).pdu))
        waitUntil { line.counters.notForUs.load(ordering: .relaxed) == 1 }
        #expect(peer.read(1, timeoutMs: 100).bytes.isEmpty)
        // Broadcast: slope of every instrument that has register 16-17 (the COD analyser's, CDAB).
        peer.write(ModbusRTU.encode(address: 0, pdu: ModbusRequest.writeMultiple(start: 16, values: RegisterType.float32.encode(3.5, scale: 1, order: .cdab)).pdu))
        waitUntil { line.counters.notForUs.load(ordering: .relaxed) == 2 }
        #expect(peer.read(1, timeoutMs: 100).bytes.isEmpty)
        peer.write(ModbusRTU.encode(address: 1, pdu: ModbusRequest.readHolding(start: 16, count: 2).pdu))
        let reply = peer.read(9, timeoutMs: 3000).bytes
        guard case .frame(_, let pdu) = ModbusRTU.decode(reply), case .registers(let w) = ModbusResponse.parse(pdu[...]) else { Issue.record("no reply"); return }
        #expect(RegisterType.float32.decode(w, scale: 1, order: .cdab) == 3.5)
        // An exception over RTU.
        peer.write(ModbusRTU.encode(address: 1, pdu: [0x03, 0x00, 0x00, 0x00, 0x7E]))
        #expect(ModbusRTU.decode(peer.read(5, timeoutMs: 3000).bytes) == .frame(address: 1, pdu: [0x83, 0x03]))
        #expect(line.counters.dropped.load(ordering: .relaxed) == 1)
        #expect(line.counters.notForUs.load(ordering: .relaxed) == 2)
    }

    @Test("DL/T 645 on a pty: wake-up bytes in, FE FE FE FE and the meter's energy out")
    func dlt645() throws {
        let clock = ManualClock(Fixture.start)
        let bank = try Fixture.bank("industrial-wastewater", clock: clock)
        let port = try SerialPort.openPTY(baud: 2400, parity: .even)
        let line = RunningLine(port, .dlt645, bank: bank)
        defer { line.finish() }
        let peer = try PeerEnd(line.path)
        clock.advance(3_600_000)
        let energy = bank.meterReading(0).energy
        peer.write([0xFE, 0xFE, 0x00, 0x68] + DLT645Frame(address: DLT645Frame.address("000000000001")!, control: 0x11, data: DLT645Frame.di(0x0001_0000)).bytes)
        let out = peer.read(4 + 12 + 8, timeoutMs: 3000).bytes
        #expect(Array(out.prefix(4)) == [0xFE, 0xFE, 0xFE, 0xFE])
        var d = DLT645Decoder()
        d.feed(out)
        let reply = d.next()
        #expect(reply?.control == 0x91)
        let served = DLT645BCD.decode(Array(reply?.data.dropFirst(4) ?? []), decimals: 2, signed: false)
        #expect(served.map { abs($0 - energy) <= 0.005 + 1e-9 } == true)
        // A bad checksum is silence.
        var bad = DLT645Frame(address: DLT645Frame.address("000000000001")!, control: 0x11, data: DLT645Frame.di(0x0001_0000)).bytes
        bad[14] &+= 1
        peer.write(bad)
        #expect(peer.read(1, timeoutMs: 300).bytes.isEmpty)
        #expect(line.counters.dropped.load(ordering: .relaxed) == 1)
    }

    @Test("serial paths: missing, not a tty, busy → one-line errors")
    func pathErrors() throws {
        #expect(throws: SerialError.self) { try SerialPort.open(path: "/dev/ttyNOPE-hj212", baud: 9600, parity: .even) }
        do {
            _ = try SerialPort.open(path: "/dev/null", baud: 9600, parity: .even)
            Issue.record("/dev/null accepted")
        } catch {
            #expect(error.message.contains("not a serial device"))
        }
        let pty = try SerialPort.openPTY(baud: 9600, parity: .even)
        let first = try SerialPort.open(path: pty.path, baud: 9600, parity: .even)
        do {
            _ = try SerialPort.open(path: pty.path, baud: 9600, parity: .even)
            Issue.record("busy line opened twice")
        } catch {
            #expect(error.message == "\(pty.path) is busy (locked by another program)")
        }
        _ = first
    }
}
