import CEpoll
import Dispatch
import Glibc
import Synchronization

/// A TCP server: listens on an IPv4 address, accepts on one loop of a group and spreads the
/// new connections over all the group's loops (round-robin). Each connection gets a handler
/// from the factory, called on the connection's own loop before it reads anything.
///
/// `Sendable`: its mutable state is in a `Mutex` (connections, stop progress, last accept error)
/// or `Atomic`s (counters); the listener socket it holds is touched only on its loop.
///
/// ```swift
/// let group = try EventLoopGroup(threads: 2)
/// let server = try TCPServer.start(on: try SocketAddress(parsing: "127.0.0.1:0"), group: group) { connection in
///     TCPCallbacks(onRead: { connection, bytes in connection.write(bytes) })   // echo
/// }
/// print("listening on \(server.localAddress)")   // the port the kernel picked
/// server.stopAndWait()
/// group.shutdown()
/// ```
public final class TCPServer: Sendable {
    /// Budgets for what peers can make the server hold. See docs/budgets.md.
    ///
    /// ```swift
    /// var limits = TCPServer.Limits()
    /// limits.maxConnectionsPerAddress = 100
    /// ```
    public struct Limits: Sendable, Hashable {
        /// Connections open at once from one source IPv4 address; a newcomer over it is closed at
        /// once (counted in `refusedPerAddress`). nil: no limit.
        public var maxConnectionsPerAddress: Int?
        /// Whether loopback peers (127.0.0.0/8: this machine's own tools and tests) are exempt
        /// from `maxConnectionsPerAddress`.
        public var exemptLoopback = true
        /// Keep one spare descriptor so that at the descriptor limit (EMFILE, ENFILE) a newcomer
        /// can still be accepted and closed at once, instead of waiting in the queue unanswered.
        public var reserveDescriptor = true

        public init(maxConnectionsPerAddress: Int? = nil) { self.maxConnectionsPerAddress = maxConnectionsPerAddress }
    }

    private enum StopState {
        case running
        case stopping(callbacks: [@Sendable () -> Void])
        case stopped
    }

    /// The address the server is bound to, with the actual port (also when asked for port 0).
    public let localAddress: SocketAddress
    /// The loops the connections live on.
    public let group: EventLoopGroup
    /// Settings given to every accepted connection.
    public let options: TCPOptions

    private let listener: Listener
    private let factory: @Sendable (TCPConnection) -> any TCPConnectionHandler
    private let connections = Mutex<[UInt64: TCPConnection]>([:])
    private let stopState = Mutex(StopState.running)
    private let stopping = Atomic<Bool>(false)
    private let acceptedTotal = Atomic<Int>(0)
    private let acceptErrors = Mutex<(count: Int, last: NetworkError?)>((0, nil))
    /// The budgets in force.
    public let limits: Limits
    private let perAddress = Mutex<[UInt32: Int]>([:])
    private let refusedAddress = Atomic<Int>(0)
    private let refusedLimit = Atomic<Int>(0)

    /// Binds, listens and starts accepting. `SO_REUSEADDR` is set; port 0 picks a free port
    /// (read it from `localAddress`). `backlog` is capped by the kernel (`net.core.somaxconn`).
    ///
    /// ```swift
    /// let server = try TCPServer.start(on: .loopback(port: 7000), group: group) { _ in PlatformHandler() }
    /// ```
    public static func start(
        on address: SocketAddress,
        group: EventLoopGroup,
        options: TCPOptions = TCPOptions(),
        backlog: Int32 = 4096,
        limits: Limits = Limits(),
        handlerFactory: @escaping @Sendable (TCPConnection) -> any TCPConnectionHandler
    ) throws(NetworkError) -> TCPServer {
        let fd = Int32(try Syscall.check("socket") { Int(cepoll_tcp4_socket()) })
        let bound: SocketAddress
        do {
            try Syscall.check("setsockopt SO_REUSEADDR") { Int(cepoll_set_reuseaddr(fd, 1)) }
            try Syscall.check("bind \(address)") { Int(cepoll_bind4(fd, address.ipv4, address.port)) }
            try Syscall.check("listen on \(address)") { Int(cepoll_listen(fd, backlog)) }
            var ip: UInt32 = 0
            var port: UInt16 = 0
            try Syscall.check("getsockname") { Int(cepoll_local_address4(fd, &ip, &port)) }
            bound = SocketAddress(ipv4: ip, port: port)
        } catch {
            Syscall.close(fd)
            throw error
        }
        let loop = group.next()
        let listener = Listener(fd: fd, loop: loop)
        let server = TCPServer(localAddress: bound, group: group, options: options, limits: limits, listener: listener,
                               factory: handlerFactory)
        if limits.reserveDescriptor { listener.openReserve() }
        listener.server = server
        guard loop.execute({ listener.activate() }) else {
            Syscall.close(fd)
            throw NetworkError(kind: .loopShutdown, operation: "listen on \(address)",
                               message: "the event loop group has been shut down")
        }
        return server
    }

    private init(localAddress: SocketAddress, group: EventLoopGroup, options: TCPOptions, limits: Limits, listener: Listener,
                 factory: @escaping @Sendable (TCPConnection) -> any TCPConnectionHandler) {
        self.limits = limits
        self.localAddress = localAddress
        self.group = group
        self.options = options
        self.listener = listener
        self.factory = factory
    }

    /// Connections open now. Any thread.
    ///
    /// ```swift
    /// print("\(server.connectionCount) loggers connected")
    /// ```
    public var connectionCount: Int { connections.withLock { $0.count } }

    /// Connections accepted since the start. Any thread.
    ///
    /// ```swift
    /// let reconnects = server.acceptedCount - server.connectionCount
    /// ```
    public var acceptedCount: Int { acceptedTotal.load(ordering: .relaxed) }

    /// Accept failures so far (EMFILE and the like) and the last one; accepting pauses 100 ms
    /// after each. Any thread.
    ///
    /// ```swift
    /// if let last = server.acceptFailures.last { print("accept failing: \(last)") }
    /// ```
    public var acceptFailures: (count: Int, last: NetworkError?) { acceptErrors.withLock { $0 } }

    /// Newcomers closed at once because their source address had `maxConnectionsPerAddress`
    /// connections open. Any thread.
    ///
    /// ```swift
    /// print("\(server.refusedPerAddress) refused over the per-address budget")
    /// ```
    public var refusedPerAddress: Int { refusedAddress.load(ordering: .relaxed) }

    /// Newcomers accepted on the reserve descriptor and closed at once because the process was
    /// at its descriptor limit. Any thread.
    ///
    /// ```swift
    /// if server.refusedAtDescriptorLimit > 0 { print("raise ulimit -n") }
    /// ```
    public var refusedAtDescriptorLimit: Int { refusedLimit.load(ordering: .relaxed) }

    /// Connections open now from one source address. Any thread.
    ///
    /// ```swift
    /// let n = server.connections(from: peer.ipv4)
    /// ```
    public func connections(from ipv4: UInt32) -> Int { perAddress.withLock { $0[ipv4] ?? 0 } }

    /// Whether `stop` has been called. Any thread.
    ///
    /// ```swift
    /// guard !server.isStopping else { return }
    /// ```
    public var isStopping: Bool { stopping.load(ordering: .acquiring) }

    /// Stops: closes the listener, then every connection of this server (reason
    /// `.serverStopped`), then calls `whenStopped` (on some loop thread, or on the calling thread
    /// if the loops have already stopped). Callable from any thread; later calls only wait.
    ///
    /// ```swift
    /// server.stop { print("stopped") }
    /// ```
    public func stop(whenStopped: @escaping @Sendable () -> Void) {
        let first = stopState.withLock { state -> Bool? in
            switch state {
            case .running:
                state = .stopping(callbacks: [whenStopped])
                return true
            case .stopping(let callbacks):
                state = .stopping(callbacks: callbacks + [whenStopped])
                return false
            case .stopped:
                return nil
            }
        }
        guard let first else { return whenStopped() }
        guard first else { return }
        stopping.store(true, ordering: .releasing)
        let listener = self.listener
        let closeAll: @Sendable () -> Void = { self.closeConnectionsOnEveryLoop() }
        if !listener.loop.execute({ listener.close(); closeAll() }) {
            closeAll()
        }
    }

    /// Stops and waits until every connection is closed (at most `timeout`; returns `false` if it
    /// took longer). Must not be called from one of the group's loop threads.
    ///
    /// ```swift
    /// server.stopAndWait()
    /// ```
    @discardableResult
    public func stopAndWait(timeout: Duration = .seconds(10)) -> Bool {
        precondition(group.currentLoop == nil, "TCPServer.stopAndWait() called from one of the server's loop threads")
        let done = DispatchSemaphore(value: 0)
        stop { done.signal() }
        let nanoseconds = Int(clamping: timeout.nanosecondsClamped)
        return done.wait(timeout: .now() + .nanoseconds(nanoseconds)) == .success
    }

    /// Stops and returns once every connection is closed.
    ///
    /// ```swift
    /// await server.stop()
    /// ```
    public func stop() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            stop { continuation.resume() }
        }
    }

    // MARK: - Internals

    private func closeConnectionsOnEveryLoop() {
        let countdown = Countdown(group.loops.count)
        for loop in group.loops {
            let task: @Sendable () -> Void = {
                let mine = self.connections.withLock { table in table.values.filter { $0.loop === loop } }
                for connection in mine { connection.close(reason: .serverStopped) }
                if countdown.arrive() { self.finishStop() }
            }
            // A loop that has finished closed its connections itself.
            if !loop.execute(task), countdown.arrive() { finishStop() }
        }
    }

    private func finishStop() {
        let callbacks = stopState.withLock { state -> [@Sendable () -> Void] in
            guard case .stopping(let callbacks) = state else { return [] }
            state = .stopped
            return callbacks
        }
        for callback in callbacks { callback() }
    }

    /// On the listener's loop: hands an accepted socket to the next loop of the group.
    fileprivate func distribute(fd: Int32, remote: SocketAddress, acceptingLoop: EventLoop) {
        let target = group.next()
        if target === acceptingLoop {
            adopt(fd: fd, remote: remote, on: target)
        } else if !target.execute({ self.adopt(fd: fd, remote: remote, on: target) }) {
            Syscall.close(fd)
        }
    }

    /// On `loop`: wraps an accepted socket in a connection and gives it its handler.
    private func adopt(fd: Int32, remote: SocketAddress, on loop: EventLoop) {
        if stopping.load(ordering: .acquiring) {
            Syscall.close(fd)
            return
        }
        if let cap = limits.maxConnectionsPerAddress, !(limits.exemptLoopback && remote.ipv4 >> 24 == 127) {
            let admitted = perAddress.withLock { table -> Bool in
                let n = table[remote.ipv4] ?? 0
                guard n < cap else { return false }
                table[remote.ipv4] = n + 1
                return true
            }
            guard admitted else {
                refusedAddress.add(1, ordering: .relaxed)
                Syscall.close(fd)
                return
            }
        } else {
            perAddress.withLock { $0[remote.ipv4, default: 0] += 1 }
        }
        if options.noDelay { _ = cepoll_set_nodelay(fd, 1) }
        var ip: UInt32 = 0
        var port: UInt16 = 0
        let local = cepoll_local_address4(fd, &ip, &port) == 0 ? SocketAddress(ipv4: ip, port: port) : localAddress
        let connection = TCPConnection(fd: fd, loop: loop, remoteAddress: remote, localAddress: local, options: options)
        do {
            try loop.register(fd: fd, interest: 0, handler: connection)
        } catch {
            Syscall.close(fd)
            forgetAddress(remote.ipv4)
            recordAcceptError(error)
            return
        }
        connections.withLock { $0[connection.id] = connection }
        connection.onClosedInternal = { [self] closed in
            _ = connections.withLock { $0.removeValue(forKey: closed.id) }
            forgetAddress(closed.remoteAddress.ipv4)
        }
        acceptedTotal.add(1, ordering: .relaxed)
        connection.handler = factory(connection)
    }

    private func forgetAddress(_ ipv4: UInt32) {
        perAddress.withLock { table in
            guard let n = table[ipv4] else { return }
            if n <= 1 { table[ipv4] = nil } else { table[ipv4] = n - 1 }
        }
    }

    fileprivate func countRefusedAtLimit() { refusedLimit.add(1, ordering: .relaxed) }

    fileprivate func recordAcceptError(_ error: NetworkError) {
        acceptErrors.withLock { $0 = ($0.count + 1, error) }
    }
}

/// Counts arrivals down to zero; `arrive()` is true for the last one.
/// `Sendable`: an `Atomic` only.
private final class Countdown: Sendable {
    private let remaining: Atomic<Int>
    init(_ count: Int) { remaining = Atomic(count) }
    func arrive() -> Bool { remaining.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 }
}

/// The listening socket of a `TCPServer`.
///
/// `@unchecked Sendable`, by this rule: it is created on the caller's thread, handed to its loop
/// through `execute` (which orders the hand-over), and from then on touched only on that loop.
private final class Listener: EpollHandler, @unchecked Sendable {
    let loop: EventLoop
    private var fd: Int32
    /// Strong until the listener closes, so a running server stays alive without a reference
    /// from its user; cleared on close.
    var server: TCPServer?
    private var resumeTimer: TimerHandle?
    /// A spare descriptor (on /dev/null), given up at the descriptor limit to accept and close a
    /// newcomer, then taken again.
    private var reserve: Int32 = -1

    init(fd: Int32, loop: EventLoop) {
        self.fd = fd
        self.loop = loop
    }

    func activate() {
        guard fd >= 0 else { return }
        do {
            try loop.register(fd: fd, interest: CEPOLL_IN, handler: self)
        } catch {
            server?.recordAcceptError(error)
            Syscall.close(fd)
            fd = -1
            server = nil
        }
    }

    func openReserve() {
        if reserve < 0 { reserve = open("/dev/null", O_RDONLY | O_CLOEXEC) }
    }

    /// At the descriptor limit: frees the reserve, accepts and closes one newcomer, takes the
    /// reserve again. True when a newcomer was closed.
    private func shedOneAtLimit() -> Bool {
        guard reserve >= 0 else { return false }
        Syscall.close(reserve)
        reserve = -1
        var ip: UInt32 = 0
        var port: UInt16 = 0
        var shed = false
        if case .done(let client) = Syscall.io({ Int(cepoll_accept4(fd, &ip, &port)) }) {
            Syscall.close(Int32(client))
            shed = true
        }
        openReserve()
        return shed
    }

    func close() {
        if reserve >= 0 { Syscall.close(reserve); reserve = -1 }
        guard fd >= 0 else { return }
        resumeTimer?.cancel()
        loop.deregister(fd: fd)
        Syscall.close(fd)
        fd = -1
        server = nil
    }

    func handleEpollEvents(_ events: UInt32) {
        guard let server, fd >= 0 else { return }
        // Up to 256 per turn, so that a connection storm does not starve the other sockets;
        // level-triggered epoll reports the rest of the queue on the next turn.
        for _ in 0..<256 {
            var ip: UInt32 = 0
            var port: UInt16 = 0
            switch Syscall.io({ Int(cepoll_accept4(fd, &ip, &port)) }) {
            case .done(let client):
                server.distribute(fd: Int32(client), remote: SocketAddress(ipv4: ip, port: port), acceptingLoop: loop)
            case .wouldBlock:
                return
            case .failed(let code):
                switch code {
                case ECONNABORTED, EPROTO, ENETDOWN, ENOPROTOOPT, EHOSTDOWN, ENONET, EHOSTUNREACH, EOPNOTSUPP,
                     ENETUNREACH, EPERM:
                    continue  // the connection died in the queue (accept(2): treat like EAGAIN, retry)
                case EMFILE where shedOneAtLimit(), ENFILE where shedOneAtLimit():
                    // At the limit: the newcomer is closed at once (it sees the close and can try
                    // later) instead of hanging in the queue without an answer.
                    server.countRefusedAtLimit()
                    server.recordAcceptError(NetworkError(errno: code, operation: "accept on \(server.localAddress)"))
                    continue
                default:
                    // EMFILE, ENFILE, ENOBUFS, ENOMEM...: the queue stays full and level-triggered
                    // epoll would report it at once; pause accepting for a moment instead.
                    server.recordAcceptError(NetworkError(errno: code, operation: "accept on \(server.localAddress)"))
                    pauseAccepting(for: .milliseconds(100))
                    return
                }
            }
        }
    }

    private func pauseAccepting(for delay: Duration) {
        guard fd >= 0 else { return }
        try? loop.setInterest(fd: fd, 0)
        resumeTimer = loop.scheduleOnLoop(after: delay) { [weak self] in
            guard let self, self.fd >= 0 else { return }
            if self.server?.limits.reserveDescriptor == true { self.openReserve() }  // lost to a race at the limit: try again
            try? self.loop.setInterest(fd: self.fd, CEPOLL_IN)
        }
    }

    func handleLoopShutdown() {
        close()
    }
}
