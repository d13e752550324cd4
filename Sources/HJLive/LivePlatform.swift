import Dispatch
import HJ212
import HJNetwork
import HJRoles
import Synchronization

/// The reference platform on real TCP: one `PlatformSession` per connection, a shared
/// `PlatformState` (thread-safe), a trace, and a way to send a request to a connected logger.
package final class LivePlatform: Sendable {
    package let state: PlatformState
    package let clock: LiveClock
    package let options: PlatformSession.Options
    package let trace: TraceWriter?
    package let group: EventLoopGroup
    /// With `serve --store`: acks wait until what they acknowledge is committed (ServeStore.swift).
    package let storeSink: StoreSink?
    private let server = Mutex<TCPServer?>(nil)
    private let links = Mutex<[UInt64: LivePlatformLink]>([:])
    /// The most output any connection held at once (bytes), for the budget's tests and benchmarks.
    package let peakPendingOutput = Atomic<Int>(0)
    package let address: SocketAddress
    /// Who is told of each accepted packet and, after a connection's last packet, of its close
    /// (the web console, `--http`: online means connected); may be added after `start()`.
    package let listeners = Mutex<[@Sendable (PlatformEvent) -> Void]>([])
    /// Per-connection settings: the output budget (`maxPendingOutput`, 256 KiB by default here).
    package let tcpOptions: TCPOptions
    /// Connections per source address, the reserve descriptor.
    package let limits: TCPServer.Limits
    /// Output held for a peer beyond which its input is no longer read until it drains (back-pressure).
    package static let pauseReadingAbove = 64 * 1024

    /// The platform's defaults for `tcpOptions`: a 256 KiB output budget per connection.
    package static var defaultTCPOptions: TCPOptions {
        var o = TCPOptions()
        o.maxPendingOutput = 256 * 1024
        return o
    }

    package init(address: SocketAddress, state: PlatformState, clock: LiveClock, options: PlatformSession.Options, trace: TraceWriter?, group: EventLoopGroup,
         tcpOptions: TCPOptions = LivePlatform.defaultTCPOptions, limits: TCPServer.Limits = TCPServer.Limits(), storeSink: StoreSink? = nil) {
        self.storeSink = storeSink
        self.address = address
        self.tcpOptions = tcpOptions
        self.limits = limits
        self.state = state
        self.clock = clock
        self.options = options
        self.trace = trace
        self.group = group
    }

    /// Starts listening; returns the bound address (port 0 picks one).
    @discardableResult
    package func start() throws(NetworkError) -> SocketAddress {
        let s = try TCPServer.start(on: address, group: group, options: tcpOptions, limits: limits) { [self] connection in
            let link = LivePlatformLink(connection: connection, platform: self)
            links.withLock { $0[connection.id] = link }
            link.begin()
            return link
        }
        server.withLock { $0 = s }
        return s.localAddress
    }

    /// Stops listening and closes every connection (the loggers will reconnect when it is back).
    package func stop() {
        let s = server.withLock { s -> TCPServer? in defer { s = nil }; return s }
        _ = s?.stopAndWait(timeout: .seconds(5))
        links.withLock { $0.removeAll() }
    }

    package func forget(_ id: UInt64) {
        _ = links.withLock { $0.removeValue(forKey: id) }
        closedConnections.add(1, ordering: .relaxed)
    }

    /// Connections closed since the start (for returning memory to the system after bursts).
    package let closedConnections = Atomic<Int>(0)

    package var connectionCount: Int { links.withLock { $0.count } }

    /// The listener's refusals and accept failures (zeros before `start`).
    package var refusals: (perAddress: Int, atDescriptorLimit: Int, acceptFailures: Int, lastFailure: NetworkError?) {
        guard let s = server.withLock({ $0 }) else { return (0, 0, 0, nil) }
        let f = s.acceptFailures
        return (s.refusedPerAddress, s.refusedAtDescriptorLimit, f.count, f.last)
    }

    /// Sends a command to every connected link whose logger has this MN (or to all with nil).
    package func request(mn: String?, _ body: @escaping @Sendable (inout PlatformSession, SessionTime) -> [PlatformOutput]) -> Int {
        let targets = links.withLock { Array($0.values) }
        var sent = 0
        for link in targets where mn == nil || link.mn == mn {
            sent += 1
            // The requests' outputs are committed by the link (`request(into:)`: not by the session).
            _ = link.connection.loop.execute { link.run { session, now, out in session.request(into: &out) { body(&$0, now) } } }
        }
        return sent
    }
}

/// What `LivePlatform.listeners` are told, on the connection's loop (so in order for one
/// connection): a packet it accepted, and at the end that the connection closed.
package enum PlatformEvent: Sendable {
    case packet(AcceptedPacket, connection: UInt64)
    case closed(connection: UInt64)
}

/// One accepted connection: the platform's `SessionLink`. Touched only on its connection's loop
/// (the rule that makes `@unchecked Sendable` safe), except `mn`, which is an atomic snapshot
/// for routing requests.
package final class LivePlatformLink: SessionLink<PlatformSession>, @unchecked Sendable {
    package let connection: TCPConnection
    package let platform: LivePlatform  // strong: a replaced platform must outlive its last connections
    package var ticker: TimerHandle?
    private let mnBox = Mutex<String?>(nil)
    package var mn: String? { mnBox.withLock { $0 } }
    /// Whether `mnBox` is set (loop thread): no lock per read once the logger is known.
    private var mnPublished = false

    package init(connection: TCPConnection, platform: LivePlatform) {
        self.connection = connection
        self.platform = platform
        super.init(session: PlatformSession(state: platform.state, peer: connection.remoteAddress.description, options: platform.options))
    }

    override package var now: SessionTime { platform.clock.now }

    package func begin() {
        connection.loop.executeOnLoop { [self] in
            run { session, now, out in session.connected(at: now, into: &out) }
        }
    }

    /// Session time the ticker is armed for (nil: not armed).
    package var armedFor: Int64?
    /// Real seconds between housekeeping ticks of a quiet connection (noise at the end of the
    /// input is reported then); everything else is driven by the session's own deadlines.
    package static let housekeepingSeconds = 5.0

    /// Arms the ticker for the session's next deadline (delayed ack, command timeout, identify or
    /// idle timeout), or for housekeeping: one timer per connection only when it has something to
    /// do, not a periodic tick (10,000 connections ticking every 100 ms cost the platform a
    /// quarter of its time).
    package func rearm() {
        guard connection.isOpen else { return }
        let now = platform.clock.now
        let housekeeping = now + Int64(Self.housekeepingSeconds * 1000 * platform.clock.speed)
        let due = min(withSession { $0.nextDeadline } ?? housekeeping, housekeeping)
        if ticker != nil, let armedFor, armedFor <= due { return }  // an earlier tick re-arms then
        ticker?.cancel()
        armedFor = due
        let realMs = max(1, Double(due - now) / platform.clock.speed)
        ticker = connection.loop.scheduleOnLoop(after: .milliseconds(Int64(min(realMs, 86_400_000)))) { [weak self] in
            guard let self, self.connection.isOpen else { return }
            self.ticker = nil
            self.armedFor = nil
            self.run { session, now, out in session.tick(at: now, into: &out) }
        }
    }

    /// The one place where a session's outputs take effect: the platform's model (`PlatformState`:
    /// units, records, counters, log, diagnostics, results), the listeners (console) and the store
    /// get the events; the sends and closes are written in one write (one system call for a batch
    /// of acknowledgements), or, with `--store`, held until the store committed what they
    /// acknowledge (ServeStore.swift).
    override package func commit() {
        guard !outputs.isEmpty else { rearm(); return }
        platform.state.commit(outputs)
        let listeners = platform.listeners.withLock { $0 }  // the console may attach after start
        if !listeners.isEmpty {
            for case .packetAccepted(let packet) in outputs {
                for listener in listeners { listener(.packet(packet, connection: connection.id)) }
            }
        }
        if let sink = platform.storeSink, sink.hold(self, outputs) {
            rearm()
            return
        }
        // The sends straight from the outputs: no array of actions per read.
        var batch: [UInt8] = []
        for output in outputs {
            switch output {
            case .send(let bytes, _): add(bytes, to: &batch)
            case .close: closeAfter(&batch)
            default: continue
            }
        }
        finishWrite(batch)
        rearm()
    }

    /// Writes the actions' bytes (after the store committed them, with `--store`).
    package func perform(_ actions: [SessionAction]) {
        var batch: [UInt8] = []
        for action in actions {
            switch action {
            case .send(let bytes): add(bytes, to: &batch)
            case .close: closeAfter(&batch)
            }
        }
        finishWrite(batch)
    }

    /// One send of a batch: traced, and joined to the others (one write for the batch; a lone
    /// send is written as it is, without a copy).
    private func add(_ bytes: [UInt8], to batch: inout [UInt8]) {
        platform.trace?.record(bytes, up: false, peer: connection.remoteAddress.description, connection: connection.id, at: platform.clock.now)
        if batch.isEmpty { batch = bytes } else { batch += bytes }
    }

    private func closeAfter(_ batch: inout [UInt8]) {
        if !batch.isEmpty { _ = connection.write(batch); batch = [] }
        connection.close()
    }

    private func finishWrite(_ batch: [UInt8]) {
        if !batch.isEmpty { _ = connection.write(batch) }
        // Back-pressure: a peer that does not read its acknowledgements is not read either (its
        // sends then block in its own kernel), so its output never reaches the budget.
        let pending = connection.pendingOutputBytes
        if pending > 0 { _ = platform.peakPendingOutput.max(pending, ordering: .relaxed) }
        if connection.isOpen && pending > LivePlatform.pauseReadingAbove && !connection.isReadingPaused {
            connection.pauseReading()
        }
    }

    override package func connectionDidDrain(_ connection: TCPConnection) {
        if connection.isReadingPaused { connection.resumeReading() }
    }

    /// Up to 32 outputs per read are common (diagnostics, packet, record, counters, ack): kept.
    override package var keptOutputCapacity: Int { 32 }

    /// A read goes to the session from the loop's read buffer: no array per read (unless traced).
    override package func connection(_ connection: TCPConnection, didReadBuffer bytes: UnsafeRawBufferPointer) {
        if platform.trace != nil {
            super.connection(connection, didReadBuffer: bytes)
            return
        }
        let buffer = bytes.assumingMemoryBound(to: UInt8.self)
        run { session, now, out in session.received(buffer: buffer, at: now, into: &out) }
        didReceive()
    }

    override package func willReceive(_ bytes: [UInt8], on connection: TCPConnection) {
        platform.trace?.record(bytes, up: true, peer: connection.remoteAddress.description, connection: connection.id, at: platform.clock.now)
    }

    override package func didReceive() {
        if !mnPublished, let m = session.logger?.mn {
            mnBox.withLock { $0 = m }
            mnPublished = true
        }
    }

    override package func didClose(_ connection: TCPConnection, reason: CloseReason) {
        ticker?.cancel()
        for listener in platform.listeners.withLock({ $0 }) { listener(.closed(connection: connection.id)) }
        platform.trace?.forget(connection: connection.id)
        platform.forget(connection.id)
    }
}
