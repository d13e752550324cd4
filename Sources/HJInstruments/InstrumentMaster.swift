import Glibc
import HJNetwork

/// The master (logger) side of one instrument line, blocking, for a polling thread: send a
/// request, wait at most a timeout for the answer. A line that fails (connection refused, closed,
/// a device gone) answers nil and is reopened on the next request.
public protocol InstrumentMasterLine: AnyObject {
    /// A Modbus request PDU to slave `unit`; the reply PDU, or nil (no valid reply in time).
    func modbus(unit: UInt8, pdu: [UInt8], timeoutMs: Int) -> [UInt8]?
    /// A DL/T 645 frame; the meter's reply, or nil.
    func dlt645(_ frame: DLT645Frame, timeoutMs: Int) -> DLT645Frame?
    /// What the line is, for messages (`modbus-tcp://127.0.0.1:5020`, `/dev/pts/7`).
    var label: String { get }
    func close()
}

/// Modbus TCP client: MBAP with a transaction identifier per request; a reply with another
/// identifier is skipped (a late answer to an earlier request). The connection is opened on the
/// first request and again after any failure.
public final class ModbusTCPMaster: InstrumentMasterLine {
    public let address: SocketAddress
    var fd: Int32 = -1
    var transaction: UInt16 = 0
    var decoder = MBAPDecoder()
    public var label: String { "modbus-tcp://\(address)" }

    public init(address: SocketAddress) { self.address = address }
    deinit { close() }

    public func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
        decoder = MBAPDecoder()
    }

    func connectIfNeeded(deadline: Int64) -> Bool {
        if fd >= 0 { return true }
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard s >= 0 else { return false }
        _ = fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK)
        var one: Int32 = 1
        _ = setsockopt(s, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = address.port.bigEndian
        addr.sin_addr.s_addr = address.ipv4.bigEndian
        let r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        if r != 0 && errno != EINPROGRESS { Glibc.close(s); return false }
        if r != 0 {
            var p = pollfd(fd: s, events: Int16(POLLOUT), revents: 0)
            let left = Int32(max(0, (deadline - monotonicMicros()) / 1000))
            var err: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            guard poll(&p, 1, left) > 0, getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len) == 0, err == 0 else { Glibc.close(s); return false }
        }
        fd = s
        return true
    }

    public func modbus(unit: UInt8, pdu: [UInt8], timeoutMs: Int) -> [UInt8]? {
        let deadline = monotonicMicros() + Int64(timeoutMs) * 1000
        guard connectIfNeeded(deadline: deadline) else { return nil }
        transaction &+= 1
        let id = transaction
        let bytes = MBAPFrame(transactionID: id, unitID: unit, pdu: pdu).bytes
        guard bytes.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == bytes.count else { close(); return nil }
        var buffer = [UInt8](repeating: 0, count: 512)
        while true {
            while let result = decoder.next() {
                guard case .success(let frame) = result else { close(); return nil }
                if frame.transactionID == id && frame.unitID == unit { return frame.pdu }
            }
            let left = (deadline - monotonicMicros()) / 1000
            guard left > 0 else { return nil }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, Int32(left)) > 0 else { continue }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 { decoder.feed(buffer[0..<n]) } else if n == 0 || (errno != EAGAIN && errno != EINTR) { close(); return nil }
        }
    }

    public func dlt645(_ frame: DLT645Frame, timeoutMs: Int) -> DLT645Frame? { nil }
}

/// A serial line as a master: Modbus RTU (a reply ends after t3.5 of silence; a bad CRC or
/// another slave's address is no reply) or DL/T 645 (wake-up bytes FE, then the frame).
public final class SerialMaster: InstrumentMasterLine {
    public let port: SerialPort
    let timing: RTUTiming
    public var label: String { port.path }

    public init(port: SerialPort, baud: Int) {
        self.port = port
        timing = RTUTiming(baud: baud)
    }

    public func close() {}

    /// Discards what is waiting (a late reply to an earlier request).
    func drain() { while port.waitReadable(timeoutMs: 0), let b = port.read(), !b.isEmpty {} }

    public func modbus(unit: UInt8, pdu: [UInt8], timeoutMs: Int) -> [UInt8]? {
        drain()
        guard port.write(ModbusRTU.encode(address: unit, pdu: pdu)) else { return nil }
        let deadline = monotonicMicros() + Int64(timeoutMs) * 1000
        var rx = RTUReceiver(timing: timing)
        while true {
            let now = monotonicMicros()
            if let frame = rx.poll(at: now) {
                if case .frame(let address, let reply) = ModbusRTU.decode(frame), address == unit { return reply }
            }
            guard now < deadline || rx.isReceiving else { return nil }
            var wait = (deadline - now) / 1000
            if let d = rx.deadline { wait = max(0, (d - now + 999) / 1000) }
            if port.waitReadable(timeoutMs: Int32(max(0, min(wait, 200)))), let bytes = port.read(), !bytes.isEmpty {
                if let frame = rx.receive(bytes, at: monotonicMicros()), case .frame(let address, let reply) = ModbusRTU.decode(frame), address == unit {
                    return reply
                }
            }
            if monotonicMicros() > deadline + 1_000_000 { return nil }
        }
    }

    public func dlt645(_ frame: DLT645Frame, timeoutMs: Int) -> DLT645Frame? {
        drain()
        guard port.write([0xFE, 0xFE, 0xFE, 0xFE] + frame.bytes) else { return nil }
        let deadline = monotonicMicros() + Int64(timeoutMs) * 1000
        var decoder = DLT645Decoder()
        while monotonicMicros() < deadline {
            let left = Int32(max(0, min(200, (deadline - monotonicMicros()) / 1000)))
            if port.waitReadable(timeoutMs: left), let bytes = port.read(), !bytes.isEmpty {
                decoder.feed(bytes)
                while let reply = decoder.next() {
                    if reply.address == frame.address && reply.control & 0x80 != 0 { return reply }
                }
            }
        }
        return nil
    }
}
