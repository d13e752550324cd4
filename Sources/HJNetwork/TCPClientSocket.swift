import CEpoll
import Glibc

/// A TCP client socket for code that runs its own loop on one thread and waits with deadlines
/// instead of an event loop (the `check platform` probe plays a logger step by step): the
/// descriptor is non-blocking, every wait is bounded (`poll`), EINTR and EAGAIN are handled here
/// through `Syscall`, and failures are `NetworkError`s. Event-loop code uses `TCPClient`.
///
/// ```swift
/// let socket = try TCPClientSocket.connect(to: address, timeout: .seconds(5)).get()
/// _ = socket.send(frame, timeout: .seconds(5))
/// var buffer = [UInt8](repeating: 0, count: 16_384)
/// if TCPClientSocket.waitReadable([socket], timeoutMilliseconds: 50)?.first == true,
///    case .bytes(let n) = socket.receive(into: &buffer) { decoder.feed(buffer[..<n]) }
/// socket.close()
/// ```
///
/// Not Sendable: one thread owns it.
public final class TCPClientSocket {
    /// Why a connect failed.
    public enum ConnectError: Error, Sendable {
        /// No socket could be made (descriptors exhausted …).
        case socket(NetworkError)
        /// The connect failed (refused, unreachable …).
        case connect(NetworkError)
        /// The peer did not accept within the timeout.
        case timedOut
        /// `shouldContinue` turned false during the wait.
        case interrupted
    }

    /// What one `send` achieved.
    public enum SendResult: Sendable, Equatable {
        case sent
        /// The peer did not take `remaining` bytes within the timeout.
        case timedOut(remaining: Int)
        case failed(NetworkError)
    }

    /// What one `receive` found.
    public enum ReceiveResult: Sendable, Equatable {
        /// This many bytes were read into the buffer's start.
        case bytes(Int)
        /// Nothing to read now.
        case wouldBlock
        /// The peer closed its side.
        case endOfStream
        case failed(NetworkError)
    }

    let fd: Int32
    public private(set) var isClosed = false
    public let remoteAddress: SocketAddress

    init(fd: Int32, remoteAddress: SocketAddress) {
        self.fd = fd
        self.remoteAddress = remoteAddress
    }

    deinit { if !isClosed { Syscall.close(fd) } }

    /// Connects with `TCP_NODELAY`, waiting at most `timeout`; `shouldContinue` is asked at
    /// least every 100 ms during the wait, and the attempt is abandoned when it says false.
    public static func connect(to address: SocketAddress, timeout: Duration,
                               shouldContinue: () -> Bool = { true }) -> Result<TCPClientSocket, ConnectError> {
        let fd: Int32
        switch Syscall.io({ Int(cepoll_tcp4_socket()) }) {
        case .done(let descriptor): fd = Int32(descriptor)
        case .wouldBlock: return .failure(.socket(NetworkError(errno: EAGAIN, operation: "socket")))
        case .failed(let code): return .failure(.socket(NetworkError(errno: code, operation: "socket")))
        }
        _ = cepoll_set_nodelay(fd, 1)
        let operation = "connect to \(address)"
        switch Syscall.io({ Int(cepoll_connect4(fd, address.ipv4, address.port)) }) {
        case .done:
            return .success(TCPClientSocket(fd: fd, remoteAddress: address))
        case .failed(let code) where code == EINPROGRESS || code == EALREADY:
            break
        case .wouldBlock:
            Syscall.close(fd)
            return .failure(.connect(NetworkError(errno: EAGAIN, operation: operation)))
        case .failed(let code):
            Syscall.close(fd)
            return .failure(.connect(NetworkError(errno: code, operation: operation)))
        }
        let deadline = MonotonicTime.now + timeout
        while true {
            var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let n = poll(&p, 1, Self.milliseconds(until: deadline, atMost: 100))
            if n > 0 { break }
            if n < 0 && errno == EINTR { continue }
            if !shouldContinue() {
                Syscall.close(fd)
                return .failure(.interrupted)
            }
            if MonotonicTime.now >= deadline {
                Syscall.close(fd)
                return .failure(.timedOut)
            }
        }
        let error = cepoll_socket_error(fd)
        if error != 0 {
            Syscall.close(fd)
            return .failure(.connect(NetworkError(errno: error < 0 ? -error : error, operation: operation)))
        }
        return .success(TCPClientSocket(fd: fd, remoteAddress: address))
    }

    /// Our end of the connection (nil when the system cannot tell, or closed).
    public var localAddress: SocketAddress? {
        guard !isClosed else { return nil }
        var ip: UInt32 = 0
        var port: UInt16 = 0
        guard cepoll_local_address4(fd, &ip, &port) >= 0 else { return nil }
        return SocketAddress(ipv4: ip, port: port)
    }

    /// Writes all bytes, waiting at most `timeout` (in steps of 100 ms) for the socket to take them.
    public func send(_ bytes: [UInt8], timeout: Duration) -> SendResult {
        guard !isClosed else { return .failed(NetworkError(errno: EBADF, operation: "send")) }
        var done = 0
        let deadline = MonotonicTime.now + timeout
        while done < bytes.count {
            let result = bytes.withUnsafeBytes { raw in Syscall.io { Int(cepoll_send(fd, raw.baseAddress! + done, raw.count - done)) } }
            switch result {
            case .done(let n):
                done += n
            case .wouldBlock:
                if MonotonicTime.now >= deadline { return .timedOut(remaining: bytes.count - done) }
                var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&p, 1, 100)
            case .failed(let code):
                return .failed(NetworkError(errno: code, operation: "send"))
            }
        }
        return .sent
    }

    /// Reads what is there now into `buffer` (up to its count), without waiting.
    public func receive(into buffer: inout [UInt8]) -> ReceiveResult {
        guard !isClosed else { return .failed(NetworkError(errno: EBADF, operation: "recv")) }
        switch buffer.withUnsafeMutableBytes({ raw in Syscall.io { Int(cepoll_read(fd, raw.baseAddress, raw.count)) } }) {
        case .done(0): return .endOfStream
        case .done(let n): return .bytes(n)
        case .wouldBlock: return .wouldBlock
        case .failed(let code): return .failed(NetworkError(errno: code, operation: "recv"))
        }
    }

    /// Closes the connection: with `reset`, without the FIN handshake (SO_LINGER 0: an RST).
    public func close(reset: Bool = false) {
        guard !isClosed else { return }
        if reset {
            var l = linger(l_onoff: 1, l_linger: 0)
            _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
        }
        Syscall.close(fd)
        isClosed = true
    }

    /// Waits at most `timeoutMilliseconds` until some of these (open) sockets have something to
    /// read (or closed); one flag per socket. Nil when the wait itself failed (other than EINTR,
    /// which reads as nothing ready).
    public static func waitReadable(_ sockets: [TCPClientSocket], timeoutMilliseconds: Int32) -> [Bool]? {
        var fds = sockets.map { pollfd(fd: $0.isClosed ? -1 : $0.fd, events: Int16(POLLIN), revents: 0) }
        let n = poll(&fds, nfds_t(fds.count), max(0, timeoutMilliseconds))
        if n < 0 { return errno == EINTR ? Array(repeating: false, count: sockets.count) : nil }
        return fds.map { $0.revents != 0 }
    }

    static func milliseconds(until deadline: MonotonicTime, atMost cap: Int32) -> Int32 {
        let now = MonotonicTime.now
        guard deadline > now else { return 0 }
        let ms = (deadline.nanoseconds - now.nanoseconds) / 1_000_000
        return Int32(min(UInt64(cap), ms))
    }
}
