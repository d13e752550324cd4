import CEpoll
import Glibc

/// Opens TCP connections without blocking: `connect` returns at once and reports on the loop.
///
/// ```swift
/// let address = try SocketAddress(parsing: "127.0.0.1:7000")
/// TCPClient.connect(to: address, on: group.next(), timeout: .seconds(5)) { result in
///     switch result {
///     case .success(let connection): connection.handler = LoggerHandler(connection)
///     case .failure(let error): print("cannot connect: \(error)")   // error.kind: .refused, .timedOut, ...
///     }
/// }
/// ```
public enum TCPClient {
    /// Connects to `address` from `loop`, calling `completion` on the loop's thread exactly once
    /// with the open connection or the error (`.refused`, `.timedOut`, `.unreachable`, ...).
    /// Callable from any thread.
    ///
    /// - `source`: a local address to bind first, for example `127.0.0.7:0` (port 0: the kernel
    ///   picks it at connect time, so the same port can serve several destinations). Spreading
    ///   clients over several 127.0.0.x sources gets past the ~28k ephemeral ports of one source.
    /// - The connection reads nothing until its `handler` is set (set it in `completion`).
    ///
    /// ```swift
    /// TCPClient.connect(to: .loopback(port: 7000), from: .loopback(port: 0, last: 2), on: loop) { result in ... }
    /// ```
    public static func connect(
        to address: SocketAddress,
        from source: SocketAddress? = nil,
        on loop: EventLoop,
        timeout: Duration = .seconds(10),
        options: TCPOptions = TCPOptions(),
        completion: @escaping @Sendable (Result<TCPConnection, NetworkError>) -> Void
    ) {
        let attempt = ConnectAttempt(loop: loop, target: address, source: source, timeout: timeout,
                                     options: options, completion: completion)
        if loop.inEventLoop {
            attempt.start()
        } else if !loop.execute({ attempt.start() }) {
            completion(.failure(NetworkError(kind: .loopShutdown, operation: "connect to \(address)",
                                             message: "the event loop has stopped")))
        }
    }

    /// Connects to `"HOST:PORT"` text (see `SocketAddress(parsing:)`); a text that does not
    /// parse is reported through `completion` as `.invalidAddress`.
    ///
    /// ```swift
    /// TCPClient.connect(host: "127.0.0.1", port: 7000, on: loop) { result in ... }
    /// ```
    public static func connect(
        host: String,
        port: Int,
        from source: SocketAddress? = nil,
        on loop: EventLoop,
        timeout: Duration = .seconds(10),
        options: TCPOptions = TCPOptions(),
        completion: @escaping @Sendable (Result<TCPConnection, NetworkError>) -> Void
    ) {
        do {
            let address = try SocketAddress(host: host, port: port)
            connect(to: address, from: source, on: loop, timeout: timeout, options: options, completion: completion)
        } catch {
            if loop.inEventLoop || !loop.execute({ completion(.failure(error)) }) {
                completion(.failure(error))
            }
        }
    }

    /// Connects and returns the connection. Set its handler on its loop to start reading:
    /// no byte is lost meanwhile.
    ///
    /// ```swift
    /// let connection = try await TCPClient.connect(to: address, on: group.next())
    /// connection.loop.execute { connection.handler = MyHandler() }
    /// ```
    public static func connect(
        to address: SocketAddress,
        from source: SocketAddress? = nil,
        on loop: EventLoop,
        timeout: Duration = .seconds(10),
        options: TCPOptions = TCPOptions()
    ) async throws(NetworkError) -> TCPConnection {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<TCPConnection, NetworkError>, Never>) in
            connect(to: address, from: source, on: loop, timeout: timeout, options: options) { result in
                continuation.resume(returning: result)
            }
        }
        return try result.get()
    }
}

/// A connect in progress: socket, optional bind, non-blocking connect, then wait for EPOLLOUT
/// and read SO_ERROR, or for the timeout.
///
/// `@unchecked Sendable`, by this rule: it is created on the caller's thread and handed to its
/// loop through `execute` (which orders the hand-over); all its state changes happen on the loop.
final class ConnectAttempt: EpollHandler, @unchecked Sendable {
    private let loop: EventLoop
    private let target: SocketAddress
    private let source: SocketAddress?
    private let timeout: Duration
    private let options: TCPOptions
    private let completion: @Sendable (Result<TCPConnection, NetworkError>) -> Void
    private var fd: Int32 = -1
    private var registered = false
    private var finished = false
    private var timer: TimerHandle?

    init(loop: EventLoop, target: SocketAddress, source: SocketAddress?, timeout: Duration, options: TCPOptions,
         completion: @escaping @Sendable (Result<TCPConnection, NetworkError>) -> Void) {
        self.loop = loop
        self.target = target
        self.source = source
        self.timeout = timeout
        self.options = options
        self.completion = completion
    }

    private var operation: String {
        source.map { "connect from \($0) to \(target)" } ?? "connect to \(target)"
    }

    func start() {
        loop.assertInEventLoop()
        switch Syscall.io({ Int(cepoll_tcp4_socket()) }) {
        case .done(let descriptor): fd = Int32(descriptor)
        case .wouldBlock: return fail(NetworkError(errno: EAGAIN, operation: operation))
        case .failed(let code): return fail(NetworkError(errno: code, operation: operation))
        }
        if options.noDelay { _ = cepoll_set_nodelay(fd, 1) }
        if let source {
            // Port 0: choose the port at connect time (4-tuple unique), not at bind time.
            if source.port == 0 { _ = cepoll_set_bind_no_port(fd, 1) }
            if case .failed(let code) = Syscall.io({ Int(cepoll_bind4(fd, source.ipv4, source.port)) }) {
                return fail(NetworkError(errno: code, operation: "bind \(source) to connect to \(target)"))
            }
        }
        switch Syscall.io({ Int(cepoll_connect4(fd, target.ipv4, target.port)) }) {
        case .done:
            succeed()  // loopback may connect at once
        case .failed(let code) where code == EINPROGRESS || code == EALREADY:
            do {
                try loop.register(fd: fd, interest: CEPOLL_OUT, handler: self)
                registered = true
            } catch {
                return fail(error)
            }
            timer = loop.scheduleOnLoop(after: timeout) { [weak self] in self?.timedOut() }
        case .wouldBlock:
            // For TCP, EAGAIN from connect means: no free local port for this destination.
            fail(NetworkError(kind: .addressNotAvailable, errno: EAGAIN, operation: operation,
                              message: "no free local port (use more 127.0.0.x source addresses)"))
        case .failed(let code):
            fail(NetworkError(errno: code, operation: operation))
        }
    }

    func handleEpollEvents(_ events: UInt32) {
        guard !finished else { return }
        let code = cepoll_socket_error(fd)
        if code == 0 && events & CEPOLL_OUT != 0 {
            succeed()
        } else if code != 0 {
            fail(NetworkError(errno: code < 0 ? -code : code, operation: operation))
        } else {
            fail(NetworkError(kind: .other, operation: operation, message: "the socket hung up while connecting"))
        }
    }

    func handleLoopShutdown() {
        fail(NetworkError(kind: .loopShutdown, operation: operation, message: "the event loop stopped"))
    }

    private func timedOut() {
        guard !finished else { return }
        // A loop that fell behind (thousands of connects started in one turn) may run this timer
        // before the completion waiting in epoll: a socket that is writable has connected (or
        // failed, by SO_ERROR) and is judged by that, not by the timer.
        var probe = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        if poll(&probe, 1, 0) == 1 {
            let code = cepoll_socket_error(fd)
            if code == 0 && probe.revents & Int16(POLLOUT) != 0 && probe.revents & Int16(POLLHUP | POLLERR) == 0 { return succeed() }
            if code != 0 { return fail(NetworkError(errno: code < 0 ? -code : code, operation: operation)) }
        }
        let milliseconds = timeout.nanosecondsClamped / 1_000_000
        fail(NetworkError(kind: .timedOut, operation: operation,
                          message: "no connection within \(milliseconds) ms"))
    }

    private func succeed() {
        finished = true
        timer?.cancel()
        var ip: UInt32 = 0
        var port: UInt16 = 0
        let local = cepoll_local_address4(fd, &ip, &port) == 0
            ? SocketAddress(ipv4: ip, port: port) : SocketAddress(ipv4: 0, port: 0)
        let connection = TCPConnection(fd: fd, loop: loop, remoteAddress: target, localAddress: local, options: options)
        do {
            if registered {
                loop.replaceHandler(fd: fd, with: connection)
                try loop.setInterest(fd: fd, 0)
            } else {
                try loop.register(fd: fd, interest: 0, handler: connection)
            }
        } catch {
            if !registered {
                Syscall.close(fd)
                fd = -1
                return completion(.failure(error))
            }
            connection.close(reason: .error(error))
            return completion(.failure(error))
        }
        fd = -1
        completion(.success(connection))
    }

    private func fail(_ error: NetworkError) {
        guard !finished else { return }
        finished = true
        timer?.cancel()
        if fd >= 0 {
            if registered { loop.deregister(fd: fd) }
            Syscall.close(fd)
            fd = -1
        }
        completion(.failure(error))
    }
}
