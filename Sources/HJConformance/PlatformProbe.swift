#if canImport(Glibc)
import Glibc
#endif
import HJ212
import HJNetwork

/// Monotonic seconds (CLOCK_MONOTONIC), for deadlines and latencies.
func probeClock() -> Double { Double(MonotonicTime.now.nanoseconds) / 1e9 }

/// Local wall-clock milliseconds in China time (UTC+8), as HJ 212 QNs and DataTimes use.
func chinaWallMilliseconds() -> Int64 { WallClock.localMilliseconds(offsetMinutes: 480) }

/// A bounded log of one check's wire exchange (the `WireRecord`s a failed check shows).
///
/// Not Sendable: one scenario (one thread) writes it.
final class WireLog {
    let origin: Double
    private(set) var records: [WireRecord] = []
    private(set) var dropped = 0
    let limit: Int

    init(origin: Double, limit: Int = 160) {
        self.origin = origin
        self.limit = limit
    }

    func add(_ direction: WireRecord.Direction, _ text: String, at t: Double = probeClock()) {
        guard records.count < limit else { dropped += 1; return }
        // A frame line is capped too: an oversized frame is shown by its head and tail.
        var line = text
        if line.utf8.count > 600 {
            let scalars = Array(line.unicodeScalars)
            if scalars.count > 600 {
                line = String(String.UnicodeScalarView(scalars[..<420])) + " … (\(scalars.count - 520) characters) … " + String(String.UnicodeScalarView(scalars[(scalars.count - 100)...]))
            }
        }
        records.append(WireRecord(time: ((t - origin) * 1000).rounded() / 1000, direction: direction, text: line))
    }

    func note(_ text: String) { add(.note, text) }

    /// The records, with a closing note when some were dropped.
    var snapshot: [WireRecord] {
        dropped == 0 ? records : records + [WireRecord(time: records.last?.time ?? 0, direction: .note, text: "… \(dropped) more records not kept")]
    }
}

/// Shows bytes as text: printable ASCII and valid UTF-8 as they are, CR and LF as `\r` `\n`,
/// anything else as `\xNN`.
func showBytes<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
    var out = ""
    let decoded = String(validating: Array(bytes), as: UTF8.self)
    if let decoded {
        for s in decoded.unicodeScalars {
            switch s {
            case "\r": out += "\\r"
            case "\n": out += "\\n"
            case "\\": out += "\\\\"
            default:
                if s.value < 0x20 || s.value == 0x7F { out += "\\x" + hex2(UInt8(s.value)) } else { out.unicodeScalars.append(s) }
            }
        }
        return out
    }
    for b in bytes {
        switch b {
        case 0x0D: out += "\\r"
        case 0x0A: out += "\\n"
        case 0x5C: out += "\\\\"
        case 0x20..<0x7F: out.unicodeScalars.append(Unicode.Scalar(b))
        default: out += "\\x" + hex2(b)
        }
    }
    return out
}

private func hex2(_ b: UInt8) -> String {
    let digits = Array("0123456789ABCDEF")
    return String([digits[Int(b >> 4)], digits[Int(b & 15)]])
}

/// A frame received by the probe.
struct ProbeFrame {
    var raw: RawFrame
    var segment: DataSegment
    /// Monotonic time of arrival.
    var time: Double
    /// The CRC matches the HJ 212 algorithm.
    var crcOK: Bool
    /// CRC-16/MODBUS (either byte order) instead, when that is what matched.
    var crcVariant: CRC.Match?
    var text: String { showBytes(raw.bytes) }

    init(raw: RawFrame, time: Double) {
        self.raw = raw
        self.time = time
        segment = SegmentParser.parse(raw.segmentBytes).segment
        if let declared = CRC.parseHex(raw.crcBytes) {
            let m = CRC.match(declared: declared, segment: raw.segmentBytes).match
            crcOK = m == .hj212
            crcVariant = (m == .hj212 || m == .none) ? nil : m
        } else {
            crcOK = false
            crcVariant = nil
        }
    }

    /// 9011, 9012, 9013 or 9014: an answer, not a command.
    var isReply: Bool { segment.command?.isInteraction ?? false }

    /// The answer accepts the packet: a 9014 or 9013, or a 9011 with QnRtn=1.
    var isAcceptance: Bool {
        switch segment.command {
        case .notificationReply?, .dataReply?: return true
        case .requestReply?: return segment.qnRtn == .ready
        default: return false
        }
    }

    /// The QnRtn of a 9011 that refuses the packet (any QnRtn but 1: 3 wrong PW, 4 unknown MN, 9 bad CRC …).
    var refusalCode: String? {
        guard segment.command == .requestReply, let r = segment.qnRtn, !r.accepts else { return nil }
        return r.rawValue
    }
}

/// Why a probe connection failed.
struct ProbeError: Error, CustomStringConvertible {
    var message: String
    /// The connect wait timed out (the platform did not accept in time).
    var timedOut = false
    /// The run was interrupted during the wait.
    var interrupted = false
    var description: String { message }
}

/// One TCP connection of the probe: a blocking-style client over a non-blocking socket, where
/// every wait is bounded by a deadline (poll), and frames are decoded as they arrive.
///
/// Not Sendable: a scenario owns its connections and drives them from one thread.
final class ProbeLink {
    let fd: Int32
    let label: String
    let log: WireLog
    var decoder = FrameDecoder()
    /// Frames received and not yet taken by the scenario, in order.
    var inbox: [ProbeFrame] = []
    private(set) var peerClosed = false
    private(set) var failure: String?
    private(set) var isClosed = false
    /// Bytes received in total (bounded memory: the decoder holds at most one frame).
    private(set) var bytesReceived = 0
    /// Frames received in total.
    private(set) var framesReceived = 0
    /// Records the bytes of this link (up: sent by us, the logger) for `check --trace`.
    var trace: (@Sendable (_ bytes: [UInt8], _ up: Bool, _ peer: String) -> Void)?
    /// Our end of the connection, `ip:port` (the logger's address in a trace).
    lazy var localAddress: String = {
        var sin = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &sin) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } } == 0
        guard ok else { return label }
        let ip = UInt32(bigEndian: sin.sin_addr.s_addr)
        return "\(ip >> 24).\((ip >> 16) & 255).\((ip >> 8) & 255).\(ip & 255):\(UInt16(bigEndian: sin.sin_port))"
    }()
    private var skippedNoted = 0
    /// Reads (of 16 KiB at most) per `readAvailable` call.
    static let maxReadsPerCall = 64

    private init(fd: Int32, label: String, log: WireLog) {
        self.fd = fd
        self.label = label
        self.log = log
    }

    deinit { if !isClosed { _ = Glibc.close(fd) } }

    /// Connects with a timeout; the result says why it failed (refused, timed out, unreachable).
    /// `shouldContinue` is polled during the wait (at least every 100 ms); when it turns false
    /// the attempt is abandoned.
    static func connect(host: String, port: UInt16, timeout: Double, label: String, log: WireLog,
                        shouldContinue: () -> Bool = { true }) -> Result<ProbeLink, ProbeError> {
        let address: SocketAddress
        do { address = try SocketAddress(host: host, port: Int(port)) } catch { return .failure(ProbeError(message: "\(error)")) }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { return .failure(ProbeError(message: "socket: \(String(cString: strerror(errno)))")) }
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = port.bigEndian
        sin.sin_addr = in_addr(s_addr: address.ipv4.bigEndian)
        let target = "\(host):\(port)"
        let rc = withUnsafePointer(to: &sin) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if rc != 0 && errno != EINPROGRESS && errno != EINTR {
            let why = String(cString: strerror(errno))
            _ = Glibc.close(fd)
            log.note("\(label): cannot connect to \(target): \(why)")
            return .failure(ProbeError(message: "cannot connect to \(target): \(why)"))
        }
        if rc != 0 {
            let deadline = probeClock() + timeout
            while true {
                var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                let left = Int32(max(0, min(100, (deadline - probeClock()) * 1000)))
                let n = poll(&p, 1, left)
                if n < 0 && errno == EINTR { continue }
                if n > 0 { break }
                if !shouldContinue() {
                    _ = Glibc.close(fd)
                    log.note("\(label): connecting to \(target) abandoned (interrupted)")
                    return .failure(ProbeError(message: "connecting to \(target) interrupted", interrupted: true))
                }
                if probeClock() >= deadline {
                    _ = Glibc.close(fd)
                    log.note("\(label): connecting to \(target) timed out after \(format(timeout)) s")
                    return .failure(ProbeError(message: "connecting to \(target) timed out after \(format(timeout)) s", timedOut: true))
                }
            }
            var err: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
            if err != 0 {
                let why = String(cString: strerror(err))
                _ = Glibc.close(fd)
                log.note("\(label): cannot connect to \(target): \(why)")
                return .failure(ProbeError(message: "cannot connect to \(target): \(why)"))
            }
        }
        log.note("\(label): connected to \(target)")
        return .success(ProbeLink(fd: fd, label: label, log: log))
    }

    /// Writes all bytes (waiting at most `timeout` for the socket to take them); logs the frame.
    @discardableResult
    func send(_ bytes: [UInt8], timeout: Double = 5, logAs: String? = nil) -> Bool {
        guard !isClosed, failure == nil else { return false }
        log.add(.up, logAs ?? showBytes(bytes.last == 0x0A && bytes.count >= 2 && bytes[bytes.count - 2] == 0x0D ? bytes.dropLast(2) : bytes[...]))
        trace?(bytes, true, localAddress)
        var done = 0
        let deadline = probeClock() + timeout
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { raw in Glibc.send(fd, raw.baseAddress! + done, raw.count - done, Int32(MSG_NOSIGNAL)) }
            if n > 0 { done += n; continue }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                if probeClock() >= deadline { fail("sending timed out (\(bytes.count - done) bytes not taken)"); return false }
                var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&p, 1, 100)
                continue
            }
            fail("send: \(String(cString: strerror(errno)))")
            return false
        }
        return true
    }

    func fail(_ why: String) {
        guard failure == nil else { return }
        failure = why
        log.note("\(label): \(why)")
    }

    /// Reads what is available now (the socket is non-blocking), at most `maxReadsPerCall`
    /// buffers, so that a platform that floods cannot keep the caller from its deadlines and
    /// Ctrl-C; the rest is read on the next call. Returns false when nothing was read.
    @discardableResult
    func readAvailable() -> Bool {
        guard !isClosed, !peerClosed, failure == nil else { return false }
        var any = false
        var buffer = [UInt8](repeating: 0, count: 16_384)
        var reads = 0
        while reads < Self.maxReadsPerCall {
            reads += 1
            let n = buffer.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                any = true
                bytesReceived += n
                trace?(Array(buffer[0..<n]), false, localAddress)
                decoder.feed(buffer[0..<n])
                drainDecoder()
                if n < buffer.count { break }
                continue
            }
            if n == 0 {
                peerClosed = true
                for event in decoder.finish() { take(event) }
                log.note("\(label): the platform closed the connection")
                break
            }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK { break }
            fail("recv: \(String(cString: strerror(errno)))")
            break
        }
        return any
    }

    private func drainDecoder() {
        while let event = decoder.next() { take(event) }
    }

    private func take(_ event: FrameDecoder.Event) {
        switch event {
        case .frame(let raw):
            let frame = ProbeFrame(raw: raw, time: probeClock())
            framesReceived += 1
            log.add(.down, frame.text.hasSuffix("\\r\\n") ? String(frame.text.dropLast(4)) : frame.text, at: frame.time)
            inbox.append(frame)
            if inbox.count > 10_000 { inbox.removeFirst(inbox.count - 10_000) }
        case .skipped(let s):
            if skippedNoted < 20 { log.note("\(label): the platform sent \(s.count) bytes that are not a frame: \(showBytes(s.sample.prefix(60)))") }
            skippedNoted += 1
        case .incomplete(let t):
            log.note("\(label): the connection ended inside a frame (\(t.count) bytes)")
        }
    }

    /// Closes the connection: with `reset`, without the FIN handshake (SO_LINGER 0, an RST).
    func close(reset: Bool = false) {
        guard !isClosed else { return }
        if reset {
            var l = linger(l_onoff: 1, l_linger: 0)
            _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
        }
        _ = Glibc.close(fd)
        isClosed = true
        log.note("\(label): closed\(reset ? " (reset)" : "")")
    }

    var usable: Bool { !isClosed && !peerClosed && failure == nil }

    /// Waits until `done()` is true, `deadline` passes, or `shouldContinue` says stop, reading
    /// every link as data arrives. Each wait is at most 50 ms, so `done` is re-evaluated often.
    static func pump(_ links: [ProbeLink], until deadline: Double, shouldContinue: () -> Bool, done: () -> Bool) {
        while !done() {
            let now = probeClock()
            if now >= deadline || !shouldContinue() { return }
            let open = links.filter(\.usable)
            if open.isEmpty {
                // Nothing to read any more; sleep the remaining time in short steps only if the
                // caller waits for a clock-based condition.
                usleep(UInt32(min(50_000, max(1_000, (deadline - now) * 1e6))))
                continue
            }
            var fds = open.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            let timeout = Int32(max(0, min(50, (deadline - now) * 1000)))
            let n = poll(&fds, nfds_t(fds.count), timeout)
            if n < 0 && errno != EINTR { usleep(1_000) }
            if n > 0 {
                for (i, p) in fds.enumerated() where p.revents != 0 { open[i].readAvailable() }
            }
        }
    }
}

func format(_ seconds: Double) -> String {
    if seconds >= 100 { return String(Int(seconds.rounded())) }
    let r = (seconds * 100).rounded() / 100
    return r == r.rounded() ? String(Int(r)) : String(r)
}
