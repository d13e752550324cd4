import CSerial
import Glibc

/// Why a serial line cannot be used (one line for the user).
public struct SerialError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}

/// Parity of a serial line. Modbus RTU's default is even; with no parity the spec asks for two
/// stop bits, so that a character stays 11 bits.
public enum Parity: String, Sendable, CaseIterable {
    case none = "N", even = "E", odd = "O"
}

/// A serial device or a pseudo-terminal, opened raw and non-blocking.
///
/// Not `Sendable` by itself: a line is owned by the one thread that runs it.
public final class SerialPort {
    public let fd: Int32
    /// The path a peer opens: the device itself, or the pseudo-terminal's slave side.
    public let path: String
    /// For a pty: our open descriptor of the slave side, kept so that the master never reads EIO
    /// while no peer has it open, and so that the slave stays in raw mode between peers.
    let keepSlave: Int32?

    init(fd: Int32, path: String, keepSlave: Int32?) {
        self.fd = fd
        self.path = path
        self.keepSlave = keepSlave
    }

    deinit {
        close(fd)
        if let keepSlave { close(keepSlave) }
    }

    static func speed(_ baud: Int) -> speed_t? {
        switch baud {
        case 1200: return speed_t(B1200)
        case 2400: return speed_t(B2400)
        case 4800: return speed_t(B4800)
        case 9600: return speed_t(B9600)
        case 19200: return speed_t(B19200)
        case 38400: return speed_t(B38400)
        case 57600: return speed_t(B57600)
        case 115200: return speed_t(B115200)
        case 230400: return speed_t(B230400)
        default: return nil
        }
    }

    public static let supportedBauds = [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400]

    static func errno(_ what: String) -> SerialError { SerialError(message: "\(what): \(String(cString: strerror(Glibc.errno)))") }

    /// Raw 8-bit mode at a speed and parity.
    static func configure(_ fd: Int32, baud: Int, parity: Parity, what: String) throws(SerialError) {
        var t = termios()
        guard tcgetattr(fd, &t) == 0 else { throw SerialError(message: "\(what): not a serial device (\(String(cString: strerror(Glibc.errno))))") }
        cfmakeraw(&t)
        guard let s = speed(baud) else { throw SerialError(message: "baud \(baud) not supported; use one of \(supportedBauds.map(String.init).joined(separator: ", "))") }
        cfsetispeed(&t, s)
        cfsetospeed(&t, s)
        t.c_cflag |= tcflag_t(CLOCAL) | tcflag_t(CREAD)
        t.c_cflag &= ~(tcflag_t(PARENB) | tcflag_t(PARODD) | tcflag_t(CSTOPB) | tcflag_t(CRTSCTS))
        switch parity {
        case .none: t.c_cflag |= tcflag_t(CSTOPB)
        case .even: t.c_cflag |= tcflag_t(PARENB)
        case .odd: t.c_cflag |= tcflag_t(PARENB) | tcflag_t(PARODD)
        }
        withUnsafeMutableBytes(of: &t.c_cc) { cc in
            cc[Int(VMIN)] = 0
            cc[Int(VTIME)] = 0
        }
        if tcsetattr(fd, TCSANOW, &t) != 0 {
            // A pty that already has parity set refuses to be set again with it (EINVAL); parity
            // means nothing on a pty, so keep its current character format and set the rest.
            guard Glibc.errno == EINVAL else { throw errno("\(what): cannot set line settings") }
            var current = termios()
            guard tcgetattr(fd, &current) == 0 else { throw errno("\(what): cannot read line settings") }
            let format = tcflag_t(PARENB) | tcflag_t(PARODD) | tcflag_t(CSTOPB)
            t.c_cflag = (t.c_cflag & ~format) | (current.c_cflag & format)
            guard tcsetattr(fd, TCSANOW, &t) == 0 else { throw errno("\(what): cannot set line settings") }
        }
    }

    /// Opens a serial device. A path that does not exist, is not a tty, or is locked by another
    /// program (flock, as screen, minicom and our own lines take it) is an error.
    public static func open(path: String, baud: Int, parity: Parity) throws(SerialError) -> SerialPort {
        let fd = Glibc.open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw errno("cannot open \(path)") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let busy = Glibc.errno == EWOULDBLOCK
            close(fd)
            throw busy ? SerialError(message: "\(path) is busy (locked by another program)") : errno("cannot lock \(path)")
        }
        do { try configure(fd, baud: baud, parity: parity, what: path) } catch {
            close(fd)
            throw error
        }
        return SerialPort(fd: fd, path: path, keepSlave: nil)
    }

    /// Creates a pseudo-terminal pair: we keep the master side; the returned `path` (the slave,
    /// `/dev/pts/N`) is what a logger or `socat` opens.
    public static func openPTY(baud: Int, parity: Parity) throws(SerialError) -> SerialPort {
        var name = [CChar](repeating: 0, count: 128)
        let master = cserial_open_pty(&name, name.count)
        guard master >= 0 else { throw errno("cannot create a pseudo-terminal") }
        let path = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let slave = Glibc.open(path, O_RDWR | O_NOCTTY | O_CLOEXEC)
        guard slave >= 0 else {
            close(master)
            throw errno("cannot open \(path)")
        }
        do {
            // The line settings of a pty live on its slave side (the master shares them).
            try configure(slave, baud: baud, parity: parity, what: path)
        } catch {
            close(master)
            close(slave)
            throw error
        }
        _ = fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK)
        return SerialPort(fd: master, path: path, keepSlave: slave)
    }

    /// Reads what is there (non-blocking): nil on nothing to read; [] on end of file or an error
    /// (a device unplugged: EIO), so that the caller backs off instead of spinning.
    public func read(max: Int = 512) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: max)
        let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, max) }
        if n > 0 { return Array(buffer[0..<n]) }
        if n == 0 { return [] }
        return Glibc.errno == EAGAIN || Glibc.errno == EINTR ? nil : []
    }

    /// Waits until readable or `timeoutMs` passed; true when readable.
    public func waitReadable(timeoutMs: Int32) -> Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let r = poll(&p, 1, timeoutMs)
        return r > 0 && p.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0
    }

    /// Writes all bytes (waiting while the line is full, at most `timeoutMs` in total). Returns
    /// whether everything was written.
    @discardableResult
    public func write(_ bytes: [UInt8], timeoutMs: Int32 = 2000) -> Bool {
        var offset = 0
        let deadline = monotonicMicros() + Int64(timeoutMs) * 1000
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n > 0 { offset += n; continue }
            if n < 0 && (Glibc.errno == EINTR) { continue }
            if n < 0 && Glibc.errno != EAGAIN { return false }
            let left = deadline - monotonicMicros()
            guard left > 0 else { return false }
            var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            _ = poll(&p, 1, Int32(min(left / 1000 + 1, 1000)))
        }
        return true
    }
}

/// Monotonic time in microseconds.
public func monotonicMicros() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000
}
