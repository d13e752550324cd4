import Glibc
import HJ212
import HJNetwork
import HJSimulation
import Synchronization
import Testing
@testable import HJInstruments

/// A blocking loopback TCP client for the tests (receive timeout as the hang guard).
final class TestSocket {
    let fd: Int32

    init(port: UInt16, receiveBuffer: Int32? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        if var rb = receiveBuffer { setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rb, socklen_t(4)) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard r == 0 else { close(fd); throw SerialError(message: "connect failed") }
    }

    deinit { close(fd) }

    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            off += n
        }
        return true
    }

    /// Exactly `count` bytes, or fewer when the peer closed or the timeout passed.
    func receive(_ count: Int) -> [UInt8] {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while out.count < count {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, min(65536, count - out.count), 0) }
            if n <= 0 { break }
            out += buf[0..<n]
        }
        return out
    }

    /// Whether the peer closed the connection (recv returns 0 or a reset) within the timeout.
    func closedByPeer() -> Bool {
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, 65536, 0) }
            if n == 0 { return true }
            if n < 0 { return errno == ECONNRESET }
        }
    }

    func request(_ frame: MBAPFrame) -> MBAPFrame? {
        guard send(frame.bytes) else { return nil }
        let head = receive(7)
        guard head.count == 7 else { return nil }
        let length = Int(head[4]) << 8 | Int(head[5])
        let body = receive(length - 1)
        var d = MBAPDecoder()
        d.feed(head + body)
        if case .success(let f)? = d.next() { return f }
        return nil
    }
}

func waitUntil(seconds: Double = 10, _ condition: () -> Bool) -> Bool {
    let end = monotonicMicros() + Int64(seconds * 1_000_000)
    while monotonicMicros() < end {
        if condition() { return true }
        usleep(10_000)
    }
    return condition()
}

@Suite("Modbus TCP over loopback", .serialized)
struct ModbusTCPLiveTests {
    @Test("a master reads every instrument of a served unit and gets the value models' values")
    func readsModelValues() throws {
        let clock = ManualClock(Fixture.start)
        let bank = try Fixture.bank("industrial-wastewater", clock: clock)
        let group = try EventLoopGroup(threads: 1)
        defer { group.shutdown() }
        let service = try ModbusTCPService(address: .loopback(port: 0), group: group, bank: bank, trace: nil)
        defer { _ = service.server.stopAndWait() }
        let s = try TestSocket(port: service.server.localAddress.port)
        for step in 0..<3 {
            clock.advance(90_000)
            let readings = bank.readings()
            for inst in bank.instruments {
                let code = inst.codes[0]!
                let valueRegister = inst.map.registers.first { $0.source == .value }!
                let reply = s.request(MBAPFrame(transactionID: UInt16(step * 100) + UInt16(inst.address), unitID: inst.address,
                                                pdu: ModbusRequest.readHolding(start: UInt16(valueRegister.address), count: 2).pdu))
                #expect(reply?.transactionID == UInt16(step * 100) + UInt16(inst.address))
                #expect(reply?.unitID == inst.address)
                guard let reply, case .registers(let w) = ModbusResponse.parse(reply.pdu[...]) else { Issue.record("no registers from \(inst.label)"); continue }
                let served = RegisterType.float32.decode(w, scale: 1, order: valueRegister.order)
                #expect(served == Double(Float(readings.first { $0.code == code }!.value)), "\(inst.label) \(code)")
            }
        }
        // Exceptions travel with their transaction: unknown unit 0B, unknown function 01.
        #expect(s.request(MBAPFrame(transactionID: 7, unitID: 99, pdu: [0x03, 0, 0, 0, 1]))?.pdu == [0x83, 0x0B])
        #expect(s.request(MBAPFrame(transactionID: 8, unitID: 1, pdu: [0x2B, 0x0E, 0x01, 0x00]))?.pdu == [0xAB, 0x01])
        #expect(s.request(MBAPFrame(transactionID: 9, unitID: 1, pdu: [0x03, 0, 0, 0, 0]))?.pdu == [0x83, 0x03])
        #expect(service.counters.requests.load(ordering: .relaxed) == 18)
        // The 0B is the gateway's own answer: counted apart (the bank never saw the request).
        #expect(service.counters.gatewayExceptions.load(ordering: .relaxed) == 1)
        #expect(bank.counters.requests == 17)
    }

    @Test("pipelined requests in one write are all answered, in order")
    func pipelined() throws {
        let bank = try Fixture.bank("industrial-wastewater", clock: ManualClock(Fixture.start))
        let group = try EventLoopGroup(threads: 1)
        defer { group.shutdown() }
        let service = try ModbusTCPService(address: .loopback(port: 0), group: group, bank: bank, trace: nil)
        defer { _ = service.server.stopAndWait() }
        let s = try TestSocket(port: service.server.localAddress.port)
        var stream: [UInt8] = []
        for k in 0..<2000 { stream += MBAPFrame(transactionID: UInt16(k), unitID: 4, pdu: ModbusRequest.readHolding(start: 0, count: 2).pdu).bytes }
        #expect(s.send(stream))
        let replies = s.receive(2000 * 13)
        #expect(replies.count == 2000 * 13)
        var d = MBAPDecoder()
        d.feed(replies)
        var ids: [UInt16] = []
        while case .success(let f)? = d.next() { ids.append(f.transactionID) }
        #expect(ids == (0..<2000).map { UInt16($0) })
    }

    @Test("a broken MBAP header closes the connection; a master that disconnects mid-frame leaves nothing behind")
    func brokenAndHalfFrames() throws {
        let bank = try Fixture.bank("industrial-wastewater", clock: ManualClock(Fixture.start))
        let group = try EventLoopGroup(threads: 1)
        defer { group.shutdown() }
        let service = try ModbusTCPService(address: .loopback(port: 0), group: group, bank: bank, trace: nil)
        defer { _ = service.server.stopAndWait() }
        let port = service.server.localAddress.port
        let bad = try TestSocket(port: port)
        bad.send([0x00, 0x01, 0x12, 0x34, 0x00, 0x06, 0x01, 0x03, 0x00, 0x00, 0x00, 0x01])
        #expect(bad.closedByPeer())
        let long = try TestSocket(port: port)
        long.send([0x00, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01])
        #expect(long.closedByPeer())
        for _ in 0..<20 {
            let half = try TestSocket(port: port)
            half.send(Array(MBAPFrame(transactionID: 1, unitID: 1, pdu: [0x03, 0, 0, 0, 2]).bytes.prefix(9)))
        }
        #expect(waitUntil { service.counters.open.load(ordering: .relaxed) == 0 })
        #expect(service.counters.closedForAbuse.load(ordering: .relaxed) == 2)
        let good = try TestSocket(port: port)
        #expect(good.request(MBAPFrame(transactionID: 5, unitID: 1, pdu: [0x03, 0, 0, 0, 2]))?.pdu.first == 0x03)
    }

    @Test("budgets: connections beyond the limit are closed; a master that floods without reading is disconnected")
    func budgets() throws {
        // A map of 125 contiguous registers: each 12-byte request brings a 259-byte reply, so the
        // kernel's buffers (up to 4 MiB) fill after a few thousand requests, not a hundred thousand.
        let dir = "/tmp/hj212-flood-\(getpid())"
        mkdir(dir, 0o755)
        mkdir(dir + "/instruments", 0o755)
        defer { unlink(dir + "/instruments/wide.json"); rmdir(dir + "/instruments"); rmdir(dir) }
        let registers = (0..<125).map { #"{"address":\#($0),"type":"uint16","source":"constant","value":\#($0)}"# }.joined(separator: ",")
        let map = #"{"name":"wide","title_zh":"宽表","title_en":"Wide map","protocol":"modbus","medium":"any","assign":"each","priority":1,"input_registers":true,"channels":[{"name":"v","codes":["*"]}],"status_codes":{"N":0},"alarm_bits":{},"parameters":[],"registers":["# + registers + "]}"
        let f = fopen(dir + "/instruments/wide.json", "w")!
        fputs(map, f)
        fclose(f)
        let clock = ManualClock(Fixture.start)
        let bank = try InstrumentBank(template: try UnitTemplate.load("industrial-wastewater"), identity: Fixture.identity, seed: 1, start: Fixture.start,
                                      store: ProfileStore(overrideDirectory: dir), recordsTruth: false, clock: { clock.now })
        let group = try EventLoopGroup(threads: 1)
        defer { group.shutdown() }
        let service = try ModbusTCPService(address: .loopback(port: 0), group: group, bank: bank, trace: nil, maxConnections: 3, maxPendingOutput: 4096)
        defer { _ = service.server.stopAndWait() }
        let port = service.server.localAddress.port
        // The flooder's small receive buffer makes the kernel's buffers fill quickly.
        let kept = try (0..<3).map { i in try TestSocket(port: port, receiveBuffer: i == 1 ? 4096 : nil) }
        #expect(waitUntil { service.counters.open.load(ordering: .relaxed) == 3 })
        let extra = try TestSocket(port: port)
        #expect(extra.closedByPeer())
        #expect(service.counters.refused.load(ordering: .relaxed) == 1)
        #expect(kept[0].request(MBAPFrame(transactionID: 1, unitID: 1, pdu: [0x03, 0, 0, 0, 2]))?.pdu.first == 0x03)
        // Flood: requests in large writes, never reading the replies.
        let flooder = kept[1]
        var chunk: [UInt8] = []
        for k in 0..<1000 { chunk += MBAPFrame(transactionID: UInt16(k), unitID: 4, pdu: ModbusRequest.readHolding(start: 0, count: 125).pdu).bytes }
        var sent = 0
        while sent < 400, service.counters.closedForAbuse.load(ordering: .relaxed) == 0, flooder.send(chunk) { sent += 1 }
        #expect(waitUntil { service.counters.closedForAbuse.load(ordering: .relaxed) == 1 })
        #expect(flooder.closedByPeer())
        #expect(kept[2].request(MBAPFrame(transactionID: 2, unitID: 2, pdu: [0x03, 0, 0, 0, 2]))?.pdu.first == 0x03, "others are still served")
    }
}
