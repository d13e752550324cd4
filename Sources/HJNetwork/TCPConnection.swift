import CEpoll
import Glibc
import Synchronization

/// Numbers for `TCPConnection.id`, unique in the process.
private let connectionNumbers = Atomic<UInt64>(1)

/// One non-blocking TCP connection, owned by one event loop.
///
/// Reading starts once a `handler` is set and delivers each read to it. `write` sends at once
/// when it can and queues the rest, asking epoll for `EPOLLOUT` only while output is pending;
/// the queue is capped by `options.maxPendingOutput` (backpressure). `close()` is idempotent;
/// the handler hears about every close exactly once, with its `CloseReason`: a local close, the
/// peer's end of stream (read returned 0: half-close or close), a system error, the output cap, a
/// server stop or a loop shutdown.
///
/// `@unchecked Sendable`, by this rule: after `init` its mutable state is touched only on its
/// loop's thread (`write`, `close`, `handler`, `pauseReading`... trap elsewhere); other threads
/// may only hold it and pass it to `loop.execute`. Its `let` properties are readable anywhere.
///
/// ```swift
/// // from any thread:
/// connection.loop.execute { connection.write(Array("hello\r\n".utf8)) }
/// // on the loop thread:
/// connection.handler = TCPCallbacks(onRead: { c, bytes in c.write(bytes) })
/// ```
public final class TCPConnection: @unchecked Sendable, CustomStringConvertible {
    private enum State { case open, closed }

    /// A number unique in the process, for logs and tables.
    public let id: UInt64
    /// The loop that owns the connection; all calls on it happen on this loop's thread.
    public let loop: EventLoop
    /// The peer's address.
    public let remoteAddress: SocketAddress
    /// This side's address.
    public let localAddress: SocketAddress
    /// Settings; may be changed on the loop thread (for example the output cap).
    public var options: TCPOptions

    private var fd: Int32
    private var state = State.open
    private var output = OutputQueue()
    private var readPaused = false
    private var closeWhenFlushed = false
    private var drainOwed = false
    private var closeReported = false
    private var storedHandler: (any TCPConnectionHandler)?
    /// Called once when the connection closes (a server forgets it then).
    var onClosedInternal: ((TCPConnection) -> Void)?

    /// Why the connection closed, or nil while it is open (read it on the loop thread).
    ///
    /// ```swift
    /// if case .outputLimitExceeded? = connection.closeReason { slowPeers += 1 }
    /// ```
    public private(set) var closeReason: CloseReason?
    /// Bytes received so far (read it on the loop thread).
    ///
    /// ```swift
    /// let rate = Double(connection.bytesRead) / elapsedSeconds
    /// ```
    public private(set) var bytesRead: UInt64 = 0
    /// Bytes handed to the kernel so far (read it on the loop thread).
    ///
    /// ```swift
    /// let unsent = totalQueued - connection.bytesWritten
    /// ```
    public private(set) var bytesWritten: UInt64 = 0

    init(fd: Int32, loop: EventLoop, remoteAddress: SocketAddress, localAddress: SocketAddress, options: TCPOptions) {
        self.id = connectionNumbers.add(1, ordering: .relaxed).oldValue
        self.fd = fd
        self.loop = loop
        self.remoteAddress = remoteAddress
        self.localAddress = localAddress
        self.options = options
    }

    /// `"#12 127.0.0.1:50412->127.0.0.1:7000"`: id, local and remote address.
    ///
    /// ```swift
    /// print("opened \(connection)")
    /// ```
    public var description: String { "#\(id) \(localAddress)->\(remoteAddress)" }

    // MARK: - Public API (loop thread)

    /// Receives reads and the close. Setting the first handler starts reading; setting one on a
    /// connection that has already closed reports the close to it.
    ///
    /// ```swift
    /// TCPClient.connect(to: address, on: loop) { result in
    ///     if case .success(let connection) = result { connection.handler = MySession(connection) }
    /// }
    /// ```
    public var handler: (any TCPConnectionHandler)? {
        get { storedHandler }
        set {
            loop.assertInEventLoop()
            storedHandler = newValue
            if state == .open { updateInterest() } else { reportCloseOnce() }
        }
    }

    /// Whether the connection is open (read it on the loop thread).
    ///
    /// ```swift
    /// if connection.isOpen { connection.write(heartbeat) }
    /// ```
    public var isOpen: Bool { state == .open }

    /// Bytes queued in user space, not yet taken by the kernel (read it on the loop thread).
    ///
    /// ```swift
    /// if connection.pendingOutputBytes > 64 * 1024 { pauseProducing() }
    /// ```
    public var pendingOutputBytes: Int { output.count }

    /// Sends `bytes` in order after everything written before. Returns `true` when the bytes were
    /// sent or queued; `false` when the connection is closed (or closing), or when they would
    /// queue more than `options.maxPendingOutput` (then, by `options.whenOutputLimitExceeded`,
    /// the connection is closed with `.outputLimitExceeded` or the write alone is refused).
    ///
    /// ```swift
    /// if !connection.write(frame) { print("not sent: \(connection.closeReason.map { "\($0)" } ?? "over the cap")") }
    /// ```
    @discardableResult
    public func write(_ bytes: [UInt8]) -> Bool {
        loop.assertInEventLoop()
        guard state == .open, !closeWhenFlushed else { return false }
        guard !bytes.isEmpty else { return true }
        if output.count + bytes.count > options.maxPendingOutput {
            return refuseOverLimit(attempted: bytes.count)
        }
        guard output.isEmpty else {
            output.append(bytes)
            return true
        }
        var sent = 0
        sending: while sent < bytes.count {
            let result = bytes.withUnsafeBytes { raw in
                Syscall.io { cepoll_send(fd, raw.baseAddress! + sent, raw.count - sent) }
            }
            switch result {
            case .done(let count):
                sent += count
                bytesWritten &+= UInt64(count)
            case .wouldBlock:
                break sending
            case .failed(let code):
                close(reason: .error(NetworkError(errno: code, operation: "write to \(remoteAddress)")))
                return false
            }
        }
        if sent < bytes.count {
            output.append(bytes, alreadySent: sent)
            drainOwed = true
            updateInterest()
        }
        return state == .open
    }

    /// Closes now, dropping queued output. Idempotent; the handler hears `.local` (unless the
    /// connection had already closed for another reason). With `reset`, without the FIN
    /// handshake: `SO_LINGER` 0 makes the kernel send an RST, and the peer's next read or write
    /// fails with ECONNRESET (a platform that drops a connection abruptly, as
    /// `TCPClientSocket.close(reset:)` does for a logger).
    ///
    /// ```swift
    /// connection.close()
    /// connection.close(reset: true)
    /// ```
    public func close(reset: Bool = false) {
        loop.assertInEventLoop()
        if reset, state == .open {
            var l = linger(l_onoff: 1, l_linger: 0)
            _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
        }
        close(reason: .local)
    }

    /// Stops reading, sends what is queued, then closes (reason `.local`). Later writes return
    /// `false`.
    ///
    /// ```swift
    /// connection.write(goodbye)
    /// connection.closeAfterFlush()
    /// ```
    public func closeAfterFlush() {
        loop.assertInEventLoop()
        guard state == .open else { return }
        if output.isEmpty {
            close(reason: .local)
        } else {
            closeWhenFlushed = true
            readPaused = true
            updateInterest()
        }
    }

    /// Stops reading (the kernel's buffer fills, then the peer's sends block: backpressure
    /// towards the peer).
    ///
    /// ```swift
    /// connection.pauseReading()
    /// ```
    public func pauseReading() {
        loop.assertInEventLoop()
        readPaused = true
        updateInterest()
    }

    /// Reads again after `pauseReading()`.
    ///
    /// ```swift
    /// connection.resumeReading()
    /// ```
    public func resumeReading() {
        loop.assertInEventLoop()
        guard !closeWhenFlushed else { return }
        readPaused = false
        updateInterest()
    }

    /// Whether reading is paused (read it on the loop thread).
    ///
    /// ```swift
    /// if connection.isReadingPaused && backlog.isEmpty { connection.resumeReading() }
    /// ```
    public var isReadingPaused: Bool { readPaused }

    // MARK: - Internals (loop thread)

    /// Closes with `reason` unless already closed: deregister from epoll, then close the
    /// descriptor, then report to the handler on a later turn of the loop.
    func close(reason: CloseReason) {
        guard state == .open else { return }
        state = .closed
        closeReason = reason
        loop.deregister(fd: fd)
        Syscall.close(fd)
        fd = -1
        output.removeAll()
        let hook = onClosedInternal
        onClosedInternal = nil
        hook?(self)
        reportCloseOnce()
    }

    private func reportCloseOnce() {
        guard !closeReported, let handler = storedHandler, let reason = closeReason else { return }
        closeReported = true
        loop.executeOnLoop { [self] in
            handler.connection(self, didCloseWith: reason)
            // Let the handler go: it usually holds the connection too.
            if storedHandler === handler { storedHandler = nil }
        }
    }

    private var desiredInterest: UInt32 {
        (storedHandler != nil && !readPaused ? CEPOLL_IN : 0) | (output.isEmpty ? 0 : CEPOLL_OUT)
    }

    private func updateInterest() {
        guard state == .open else { return }
        do {
            try loop.setInterest(fd: fd, desiredInterest)
        } catch {
            close(reason: .error(error))
        }
    }

    private func refuseOverLimit(attempted: Int) -> Bool {
        switch options.whenOutputLimitExceeded {
        case .close:
            close(reason: .outputLimitExceeded(pending: output.count, attempted: attempted,
                                               limit: options.maxPendingOutput))
        case .rejectWrite:
            if !output.isEmpty { drainOwed = true }
        }
        return false
    }

    private func readAvailable() {
        let buffer = loop.readBuffer
        var reads = 0
        while state == .open, storedHandler != nil, !readPaused, reads < options.maxReadsPerEvent {
            let result = Syscall.io { cepoll_read(fd, buffer.baseAddress, buffer.count) }
            switch result {
            case .done(0):
                peerEndedStream()
                return
            case .done(let count):
                reads += 1
                bytesRead &+= UInt64(count)
                storedHandler?.connection(self, didReadBuffer: UnsafeRawBufferPointer(rebasing: buffer[..<count]))
                // A short read emptied the socket; level-triggered epoll reports what comes later.
                if count < buffer.count { return }
            case .wouldBlock:
                return
            case .failed(let code):
                close(reason: .error(NetworkError(errno: code, operation: "read from \(remoteAddress)")))
                return
            }
        }
    }

    /// Read returned 0: the peer sends no more. Queued output gets one last try, then we close.
    private func peerEndedStream() {
        if !output.isEmpty { flush() }
        close(reason: .peerClosed)
    }

    private func flush() {
        while state == .open {
            guard let outcome = output.withFirstChunk({ raw in
                (Syscall.io { cepoll_send(fd, raw.baseAddress, raw.count) }, raw.count)
            }) else { break }
            let (result, attempted) = outcome
            switch result {
            case .done(let count):
                output.consume(count)
                bytesWritten &+= UInt64(count)
                if count < attempted { return }  // the kernel's buffer is full; wait for EPOLLOUT
            case .wouldBlock:
                return
            case .failed(let code):
                close(reason: .error(NetworkError(errno: code, operation: "write to \(remoteAddress)")))
                return
            }
        }
        guard state == .open, output.isEmpty else { return }
        if closeWhenFlushed {
            close(reason: .local)
            return
        }
        updateInterest()
        if drainOwed {
            drainOwed = false
            storedHandler?.connectionDidDrain(self)
        }
    }

    /// Errors and hang-ups while not reading (level-triggered epoll would report them forever).
    private func handleErrorWithoutReading(_ events: UInt32) {
        let code = cepoll_socket_error(fd)
        if code > 0 {
            close(reason: .error(NetworkError(errno: code, operation: "connection to \(remoteAddress)")))
        } else {
            close(reason: .peerClosed)
        }
    }
}

extension TCPConnection: EpollHandler {
    func handleEpollEvents(_ events: UInt32) {
        guard state == .open else { return }
        let reading = storedHandler != nil && !readPaused
        if events & (CEPOLL_IN | CEPOLL_ERR | CEPOLL_HUP) != 0 {
            if reading {
                readAvailable()
            } else if events & (CEPOLL_ERR | CEPOLL_HUP) != 0 {
                if events & CEPOLL_OUT != 0 && !output.isEmpty { flush() }
                if state == .open { handleErrorWithoutReading(events) }
                return
            }
        }
        if state == .open && events & CEPOLL_OUT != 0 { flush() }
    }

    func handleLoopShutdown() {
        close(reason: .loopShutdown)
    }
}
