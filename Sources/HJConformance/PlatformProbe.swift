#if canImport(Glibc)
import Glibc  // usleep
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
                line = String(String.UnicodeScalarView(scalars[..<420])) + Self.cutMarker(scalars.count - 520) + String(String.UnicodeScalarView(scalars[(scalars.count - 100)...]))
            }
        }
        records.append(WireRecord(time: ((t - origin) * 1000).rounded() / 1000, direction: direction, text: line))
    }

    func note(_ text: String) { add(.note, text) }

    /// What stands for the middle of a line cut for length: ` … (129 characters) … `.
    static func cutMarker(_ n: Int) -> String { " … (\(n) characters) … " }

    /// `text` with its cut marker, if any, in Chinese (` … （省略 129 个字符）… `).
    static func cutMarkerZh(_ text: String) -> String {
        guard let open = text.range(of: " … ("), let close = text[open.upperBound...].range(of: " characters) … ") else { return text }
        let digits = text[open.upperBound..<close.lowerBound]
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), let n = Int(digits) else { return text }
        return text.replacingCharacters(in: open.lowerBound..<close.upperBound, with: " …（省略 \(n) 个字符）… ")
    }

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

/// One TCP connection of the probe: a blocking-style client (`TCPClientSocket` of HJNetwork:
/// a non-blocking socket where every wait is bounded by a deadline), whose frames are decoded
/// as they arrive.
///
/// Not Sendable: a scenario owns its connections and drives them from one thread.
final class ProbeLink {
    let socket: TCPClientSocket
    let label: String
    let log: WireLog
    var decoder = FrameDecoder()
    /// Frames received and not yet taken by the scenario, in order.
    var inbox: [ProbeFrame] = []
    /// The platform closed the connection: an end of stream, or a reset (ECONNRESET on a read,
    /// ECONNRESET or EPIPE on a send). A reset is a close too (a platform that drops a logger with
    /// an RST, or whose close the kernel turns into one because our next packet was unread).
    private(set) var peerClosed = false
    /// Nothing more can be read: the end of stream or a reset was read.
    private var receiveEnded = false
    private(set) var failure: String?
    private(set) var isClosed = false
    /// Bytes received in total (bounded memory: the decoder holds at most one frame).
    private(set) var bytesReceived = 0
    /// Frames received in total.
    private(set) var framesReceived = 0
    /// Records the bytes of this link (up: sent by us, the logger) for `check --trace`.
    var trace: (@Sendable (_ bytes: [UInt8], _ up: Bool, _ peer: String) -> Void)?
    /// Our end of the connection, `ip:port` (the logger's address in a trace).
    lazy var localAddress: String = socket.localAddress?.description ?? label
    private var skippedNoted = 0
    /// Reads (of 16 KiB at most) per `readAvailable` call.
    static let maxReadsPerCall = 64

    private init(socket: TCPClientSocket, label: String, log: WireLog) {
        self.socket = socket
        self.label = label
        self.log = log
    }

    /// Connects with a timeout; the result says why it failed (refused, timed out, unreachable).
    /// `shouldContinue` is polled during the wait (at least every 100 ms); when it turns false
    /// the attempt is abandoned.
    static func connect(host: String, port: UInt16, timeout: Double, label: String, log: WireLog,
                        shouldContinue: () -> Bool = { true }) -> Result<ProbeLink, ProbeError> {
        let address: SocketAddress
        do { address = try SocketAddress(host: host, port: Int(port)) } catch { return .failure(ProbeError(message: "\(error)")) }
        let target = "\(host):\(port)"
        switch TCPClientSocket.connect(to: address, timeout: .milliseconds(Int64(max(0, timeout) * 1000)), shouldContinue: shouldContinue) {
        case .success(let socket):
            log.note("\(label): connected to \(target)")
            return .success(ProbeLink(socket: socket, label: label, log: log))
        case .failure(.socket(let e)):
            return .failure(ProbeError(message: "socket: \(e.reason)"))
        case .failure(.connect(let e)):
            log.note("\(label): cannot connect to \(target): \(e.reason)")
            return .failure(ProbeError(message: "cannot connect to \(target): \(e.reason)"))
        case .failure(.interrupted):
            log.note("\(label): connecting to \(target) abandoned (interrupted)")
            return .failure(ProbeError(message: "connecting to \(target) interrupted", interrupted: true))
        case .failure(.timedOut):
            log.note("\(label): connecting to \(target) timed out after \(format(timeout)) s")
            return .failure(ProbeError(message: "connecting to \(target) timed out after \(format(timeout)) s", timedOut: true))
        }
    }

    /// Writes all bytes (waiting at most `timeout` for the socket to take them); logs the frame.
    @discardableResult
    func send(_ bytes: [UInt8], timeout: Double = 5, logAs: String? = nil) -> Bool {
        guard !isClosed, failure == nil else { return false }
        log.add(.up, logAs ?? showBytes(bytes.last == 0x0A && bytes.count >= 2 && bytes[bytes.count - 2] == 0x0D ? bytes.dropLast(2) : bytes[...]))
        trace?(bytes, true, localAddress)
        switch socket.send(bytes, timeout: .milliseconds(Int64(max(0, timeout) * 1000))) {
        case .sent:
            return true
        case .timedOut(let remaining):
            fail("sending timed out (\(remaining) bytes not taken)")
            return false
        case .failed(let e) where Self.isReset(e):
            // The platform closed the connection with a reset; what it sent before is still read.
            peerClosed = true
            log.note("\(label): the platform closed the connection with a reset (send: \(e.reason))")
            readAvailable()
            return false
        case .failed(let e):
            fail("send: \(e.reason)")
            return false
        }
    }

    /// A send or receive error that means the platform closed the connection: a reset
    /// (ECONNRESET, ECONNABORTED) or, on a send, a broken pipe (EPIPE: we never shut down our own
    /// side while the link is open, so only the platform's close can break it).
    static func isReset(_ e: NetworkError) -> Bool { e.kind == .reset || e.kind == .brokenPipe }

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
        guard !isClosed, !receiveEnded, failure == nil else { return false }
        var any = false
        var buffer = [UInt8](repeating: 0, count: 16_384)
        var reads = 0
        while reads < Self.maxReadsPerCall {
            reads += 1
            switch socket.receive(into: &buffer) {
            case .bytes(let n):
                any = true
                bytesReceived += n
                trace?(Array(buffer[0..<n]), false, localAddress)
                decoder.feed(buffer[0..<n])
                drainDecoder()
                if n < buffer.count { return any }
            case .endOfStream:
                receiveEnded = true
                for event in decoder.finish() { take(event) }
                if !peerClosed { log.note("\(label): the platform closed the connection") }
                peerClosed = true
                return any
            case .wouldBlock:
                return any
            case .failed(let e) where Self.isReset(e):
                receiveEnded = true
                for event in decoder.finish() { take(event) }
                if !peerClosed { log.note("\(label): the platform closed the connection with a reset (recv: \(e.reason))") }
                peerClosed = true
                return any
            case .failed(let e):
                fail("recv: \(e.reason)")
                return any
            }
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
        socket.close(reset: reset)
        isClosed = true
        log.note("\(label): closed\(reset ? " (reset)" : "")")
    }

    var usable: Bool { !isClosed && !peerClosed && failure == nil }

    /// Why the link cannot be used, for messages: its failure, `the platform closed the
    /// connection` (an end of stream or a reset), or `connection closed` (by us).
    var whyUnusable: String { failure ?? (peerClosed ? "the platform closed the connection" : "connection closed") }

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
            let timeout = Int32(max(0, min(50, (deadline - now) * 1000)))
            guard let ready = TCPClientSocket.waitReadable(open.map(\.socket), timeoutMilliseconds: timeout) else {
                usleep(1_000)
                continue
            }
            for (i, r) in ready.enumerated() where r { open[i].readAvailable() }
        }
    }
}

func format(_ seconds: Double) -> String {
    if seconds >= 100 { return String(Int(seconds.rounded())) }
    let r = (seconds * 100).rounded() / 100
    return r == r.rounded() ? String(Int(r)) : String(r)
}
