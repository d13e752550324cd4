import HJ212
import HJNetwork
import HJRoles
import HJSimulation
import Synchronization

/// Statistics of one platform link of a live logger, gathered for the summary.
struct LinkReport: Sendable {
    var mn: String
    var platform: String
    var statistics: LoggerSession.Statistics
    var pending: Int
    var connects: Int
    var connectFailures: Int
    var lastError: String?
}

/// A simulated data logger on real TCP: its device and one link per platform, all touched only
/// on its event loop (the rule that makes the `@unchecked Sendable` below safe).
final class LiveLogger: @unchecked Sendable {
    let loop: EventLoop
    let device: LoggerDevice
    let clock: LiveClock
    var links: [LiveLink] = []
    var ticker: TimerHandle?
    var stopped = false
    /// Simulated time beyond which the device produces nothing more (draining only).
    var produceUntil: Int64

    init(loop: EventLoop, device: LoggerDevice, platforms: [SocketAddress], clock: LiveClock, produceUntil: Int64,
         sessionOptions: LoggerSession.Options, trace: TraceWriter?) {
        self.loop = loop
        self.device = device
        self.clock = clock
        self.produceUntil = produceUntil
        for address in platforms {
            links.append(LiveLink(owner: nil, address: address, session: LoggerSession(device: device, options: sessionOptions), trace: trace))
        }
        for link in links { link.owner = self }
    }

    /// Starts connecting and ticking (on the loop).
    func start() {
        _ = loop.execute { [self] in
            for link in links { link.connect() }
            tick()
        }
    }

    func tick() {
        guard !stopped else { return }
        let now = clock.now
        device.advance(to: min(now, produceUntil))
        for link in links { link.apply(link.session.tick(at: now)) }
        // Next tick: the next sample of the simulator (at most 1 s of real time away).
        let next = device.simulator.now + 1
        ticker = loop.scheduleOnLoop(after: clock.realDelay(until: next)) { [weak self] in self?.tick() }
    }

    func stop() {
        stopped = true
        ticker?.cancel()
        for link in links { link.shutdown() }
    }

    func reports() -> [LinkReport] {
        links.map { link in
            LinkReport(mn: device.identity.mn, platform: link.address.description, statistics: link.session.statistics,
                       pending: link.session.pendingCount, connects: link.connects, connectFailures: link.connectFailures, lastError: link.lastError)
        }
    }
}

/// One logger's link to one platform: connects, reconnects with back-off, feeds the session.
final class LiveLink: TCPConnectionHandler, @unchecked Sendable {
    weak var owner: LiveLogger?
    let address: SocketAddress
    var session: LoggerSession
    var connection: TCPConnection?
    var connects = 0
    var connectFailures = 0
    var backoff = 0.5
    var lastError: String?
    var closing = false
    let trace: TraceWriter?

    init(owner: LiveLogger?, address: SocketAddress, session: LoggerSession, trace: TraceWriter?) {
        self.owner = owner
        self.address = address
        self.session = session
        self.trace = trace
    }

    func connect() {
        guard let owner, !closing else { return }
        TCPClient.connect(to: address, on: owner.loop, timeout: .seconds(5)) { [self] result in
            owner.loop.executeOnLoop { [self] in
                switch result {
                case .success(let c):
                    if closing { c.close(); return }
                    connection = c
                    connects += 1
                    backoff = 0.5
                    c.handler = self
                    apply(session.connected(at: owner.clock.now))
                case .failure(let e):
                    connectFailures += 1
                    lastError = e.description
                    scheduleReconnect()
                }
            }
        }
    }

    func scheduleReconnect() {
        guard let owner, !closing else { return }
        let delay = Duration.milliseconds(Int64(backoff * 1000))
        backoff = min(backoff * 2, 8)
        _ = owner.loop.scheduleOnLoop(after: delay) { [weak self] in self?.connect() }
    }

    func apply(_ actions: [SessionAction]) {
        for action in actions {
            switch action {
            case .send(let bytes):
                trace?.record(bytes, up: true, peer: address.description, at: owner?.clock.now ?? 0)
                _ = connection?.write(bytes)
            case .close(let reason):
                lastError = reason
                connection?.close()
            }
        }
    }

    func connection(_ connection: TCPConnection, didRead bytes: [UInt8]) {
        guard let owner else { return }
        trace?.record(bytes, up: false, peer: address.description, at: owner.clock.now)
        apply(session.received(bytes, at: owner.clock.now))
    }

    func connection(_ connection: TCPConnection, didCloseWith reason: CloseReason) {
        guard let owner else { return }
        self.connection = nil
        session.disconnected(at: owner.clock.now)
        if case .local = reason {} else { lastError = reason.description }
        scheduleReconnect()
    }

    func shutdown() {
        closing = true
        connection?.close()
        connection = nil
    }
}
