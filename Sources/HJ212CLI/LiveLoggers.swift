import HJ212
import HJLoad
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
    var connected: Bool
    /// Everything the logger's device had to send up to this time has been produced.
    var deviceTime: Int64
}

/// Acknowledgement latency of all links on one loop, from the first send of each upload to its
/// 9014, in real time. Touched only on that loop (the rule behind `@unchecked Sendable`).
final class LoopLatency: @unchecked Sendable {
    var histogram = LatencyHistogram()
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

    let latency: LoopLatency
    /// Where injected faults are reported, if any.
    let truth: TruthWriter?
    /// This logger's clock error: its simulated time is the run's plus `skew` (loggers are not
    /// synchronised to the millisecond, so their sends spread over the interval).
    let skew: Int64

    /// The logger's own time.
    var now: Int64 { clock.now + skew }

    init(loop: EventLoop, device: LoggerDevice, platforms: [SocketAddress], clock: LiveClock, produceUntil: Int64,
         sessionOptions: LoggerSession.Options, trace: TraceWriter?, latency: LoopLatency = LoopLatency(), skew: Int64 = 0,
         truth: TruthWriter? = nil) {
        self.loop = loop
        self.truth = truth
        self.latency = latency
        self.skew = skew
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
        let now = self.now
        device.advance(to: min(now, produceUntil))
        if let truth {
            let records = device.takeFaultRecords()
            if !records.isEmpty { truth.write(records.map { $0.json() }) }
        }
        for link in links { link.apply(link.session.tick(at: now)) }
        // Next tick: when the simulator next sends (packets leave on real-time-interval and minute
        // boundaries) or a resend falls due; at most 1 s of real time away.
        let step = min(device.simulator.rtdIntervalMs, 60_000)
        var next = (device.simulator.now / step + 1) * step
        for link in links { if let d = link.session.nextDeadline { next = min(next, d) } }
        ticker = loop.scheduleOnLoop(after: clock.realDelay(until: max(next, now + 1) - skew)) { [weak self] in self?.tick() }
    }

    func stop() {
        stopped = true
        ticker?.cancel()
        for link in links { link.shutdown() }
    }

    func reports() -> [LinkReport] {
        links.map { link in
            LinkReport(mn: device.identity.mn, platform: link.address.description, statistics: link.session.statistics,
                       pending: link.session.pendingCount, connects: link.connects, connectFailures: link.connectFailures, lastError: link.lastError,
                       connected: link.connection != nil, deviceTime: device.simulator.emittedThrough)
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
    /// Real send time of each upload awaiting its 9014, by QN.
    var sentAt: [UInt64: MonotonicTime] = [:]

    init(owner: LiveLogger?, address: SocketAddress, session: LoggerSession, trace: TraceWriter?) {
        self.owner = owner
        self.address = address
        self.session = session
        self.trace = trace
        self.session.acknowledgedQNs = []
    }

    /// The QN of a frame as the sessions write it (`##LLLLQN=<17 digits>;…`), as a number.
    static func qnKey<C: Collection>(_ bytes: C) -> UInt64? where C.Element == UInt8, C.Index == Int {
        let start = bytes.startIndex + 9
        guard bytes.count >= 26, bytes[bytes.startIndex + 6] == UInt8(ascii: "Q"), bytes[bytes.startIndex + 7] == UInt8(ascii: "N") else { return nil }
        var v: UInt64 = 0
        for i in start..<(start + 17) {
            let d = bytes[i] &- 48
            guard d < 10 else { return nil }
            v = v * 10 + UInt64(d)
        }
        return v
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
                    apply(session.connected(at: owner.now))
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

    /// Sends what the session produced, in one write per batch (and reports injected faults).
    func apply(_ actions: [SessionAction]) {
        if !session.faultRecords.isEmpty {
            owner?.truth?.write(session.faultRecords.map { $0.json() })
            session.faultRecords = []
        }
        var batch: [UInt8] = []
        defer { if !batch.isEmpty { _ = connection?.write(batch) } }
        for action in actions {
            switch action {
            case .send(let bytes):
                trace?.record(bytes, up: true, peer: address.description, at: owner?.now ?? 0)
                // Uploads only (replies carry ST=91 and are never acknowledged).
                if bytes.count > 32, !(bytes[27] == UInt8(ascii: "S") && bytes[30] == UInt8(ascii: "9") && bytes[31] == UInt8(ascii: "1")),
                   let key = Self.qnKey(bytes), sentAt[key] == nil, sentAt.count < 4096 {
                    sentAt[key] = .now
                }
                if batch.isEmpty { batch = bytes } else { batch += bytes }
            case .close(let reason):
                lastError = reason
                if !batch.isEmpty { _ = connection?.write(batch); batch = [] }
                connection?.close()
            }
        }
    }

    func connection(_ connection: TCPConnection, didRead bytes: [UInt8]) {
        guard let owner else { return }
        trace?.record(bytes, up: false, peer: address.description, at: owner.now)
        let actions = session.received(bytes, at: owner.now)
        if let acked = session.acknowledgedQNs, !acked.isEmpty {
            let now = MonotonicTime.now
            for qn in acked {
                guard let key = UInt64(qn), let t = sentAt.removeValue(forKey: key) else { continue }
                if sentAt.isEmpty { sentAt = [:] }  // release the storage of an idle link
                let d = now - t
                owner.latency.histogram.record(microseconds: UInt64(max(0, d.components.seconds * 1_000_000 + d.components.attoseconds / 1_000_000_000_000)))
            }
            session.acknowledgedQNs = []
        }
        apply(actions)
    }

    func connection(_ connection: TCPConnection, didCloseWith reason: CloseReason) {
        guard let owner else { return }
        self.connection = nil
        sentAt.removeAll()
        session.disconnected(at: owner.now)
        if case .local = reason {} else { lastError = reason.description }
        scheduleReconnect()
    }

    func shutdown() {
        closing = true
        connection?.close()
        connection = nil
    }
}
