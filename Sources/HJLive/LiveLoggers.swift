import HJ212
import HJReportKit
import HJNetwork
import HJRoles
import HJSimulation
import Synchronization

/// Statistics of one platform link of a live logger, gathered for the summary.
package struct LinkReport: Sendable {
    package var mn: String
    package var platform: String
    package var statistics: LoggerSession.Statistics
    package var pending: Int
    package var connects: Int
    package var connectFailures: Int
    package var lastError: String?
    package var connected: Bool
    /// Everything the logger's device had to send up to this time has been produced.
    package var deviceTime: Int64
}

/// Acknowledgement latency of all links on one loop, from the first send of each upload to its
/// 9014, in real time. Touched only on that loop (the rule behind `@unchecked Sendable`).
package final class LoopLatency: @unchecked Sendable {
    package var histogram = LatencyHistogram()
    package init() {}
}

/// A simulated data logger on real TCP: its device and one link per platform, all touched only
/// on its event loop (the rule that makes the `@unchecked Sendable` below safe).
package final class LiveLogger: @unchecked Sendable {
    package let loop: EventLoop
    package let device: LoggerDevice
    package let clock: LiveClock
    package var links: [LiveLink] = []
    /// The next tick, made here with the logger (not on the loop in the boot burst) and re-armed
    /// without an allocation: see `LoopTimer`.
    package private(set) var ticker: LoopTimer!
    package var stopped = false
    /// Simulated time beyond which the device produces nothing more (draining only).
    package var produceUntil: Int64
    /// The sessions were told that production ended (`LoggerSession.endProduction`).
    var productionEnded = false

    package let latency: LoopLatency
    /// Where injected faults are reported, if any.
    package let truth: TruthWriter?
    /// This logger's clock error: its simulated time is the run's plus `skew` (loggers are not
    /// synchronised to the millisecond, so their sends spread over the interval).
    package let skew: Int64

    /// The logger's own time.
    package var now: Int64 { clock.now + skew }

    package init(loop: EventLoop, device: LoggerDevice, platforms: [SocketAddress], clock: LiveClock, produceUntil: Int64,
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
        ticker = LoopTimer(loop: loop) { [weak self] in self?.tick() }
    }

    /// Starts connecting and ticking (on the loop).
    ///
    /// What is due now (the boot burst: 3020 and the first uploads, queued until a link is up) is
    /// produced here, on the caller's thread, before the loop owns the logger (the hand-over through
    /// `execute` orders it). Launchers make every logger first and then start them, so the bursts of
    /// a fleet sit above the loggers' lasting state in the caller's heap and go back to the system
    /// once acknowledged. Produced in the loop's first turn instead, 10,000 bursts (~90 MB) grew the
    /// loop thread's malloc arena, and the connections made there meanwhile (240 B each, lasting)
    /// pinned ~1 KiB of its pages per logger after the bursts were freed (`bench live`: 8.1–9.2 KiB
    /// per idle connected logger, 7.3 with the burst made here; performance.md, "Session 23").
    package func start() {
        if !stopped { device.advance(to: min(now, produceUntil)) }
        _ = loop.execute { [self] in
            for link in links { link.connect() }
            tick()
        }
    }

    package func tick() {
        guard !stopped else { return }
        let now = self.now
        device.advance(to: min(now, produceUntil))
        // From the end of production on, what the fault injector held back may go (draining).
        let ending = now >= produceUntil && !productionEnded
        if ending { productionEnded = true; device.endFaults(at: produceUntil) }
        writeFaultRecords()
        for link in links {
            link.transportTick(at: now)
            // A half-open link is hung: no resends, nothing pumped.
            if !link.isActive("half-open", at: now) { link.run { session, _, out in session.tick(at: now, into: &out) } }
            if ending { link.run { session, _, out in session.endProduction(at: now, into: &out) } }
        }
        // Next tick: when the simulator next sends (packets leave on real-time-interval and minute
        // boundaries), a resend falls due or a transport fault starts or ends; at most 1 s of real time away.
        let step = min(device.simulator.rtdIntervalMs, 60_000)
        var next = (device.simulator.now / step + 1) * step
        for link in links {
            if let d = link.session.nextDeadline { next = min(next, d) }
            for spec in link.transport { if let w = spec.window { for b in [w.lowerBound, w.upperBound] where b > now { next = min(next, b) } } }
        }
        ticker.schedule(after: clock.realDelay(until: max(next, now + 1) - skew))
    }

    /// The device's instrument fault records since the last call, to the ground truth.
    func writeFaultRecords() {
        guard let truth else { return }
        let records = device.takeFaultRecords()
        if !records.isEmpty { truth.write(records.map { $0.json() }) }
    }

    package func stop() {
        // Stopped before the end of production (Ctrl-C): the faults still acting end where the
        // device's production stopped (not advanced further: nothing more is produced).
        if !stopped && !productionEnded, truth != nil {
            productionEnded = true
            device.endFaults(at: device.simulator.now)
            writeFaultRecords()
        }
        stopped = true
        ticker.cancel()
        for link in links { link.shutdown() }
    }

    package func reports() -> [LinkReport] {
        links.map { link in
            LinkReport(mn: device.identity.mn, platform: link.address.description, statistics: link.session.statistics,
                       pending: link.session.pendingCount, connects: link.connects, connectFailures: link.connectFailures, lastError: link.lastError,
                       connected: link.connection != nil, deviceTime: device.simulator.emittedThrough)
        }
    }
}

/// Numbers for `LiveLink.traceStream`.
private let liveLinkNumbers = Atomic<UInt64>(1)

/// One logger's link to one platform, the logger's `SessionLink`: connects, reconnects with
/// back-off, puts the transport faults between the session and the socket.
package final class LiveLink: SessionLink<LoggerSession>, @unchecked Sendable {
    package weak var owner: LiveLogger?
    package let address: SocketAddress
    package var connection: TCPConnection?
    package var connects = 0
    package var connectFailures = 0
    package var backoff = 0.5
    package var lastError: String?
    package var closing = false
    package let trace: TraceWriter?
    /// This link's stream in the trace (its own numbers, apart from the platform's connection ids).
    package let traceStream = liveLinkNumbers.add(1, ordering: .relaxed).oldValue | 1 << 62
    /// Real send time of each upload awaiting its 9014, by QN.
    package var sentAt: [UInt64: MonotonicTime] = [:]

    /// Transport faults of this logger (issue 5), and their progress.
    package let transport: [FaultSpec]
    package var transportStarted: Set<Int> = []
    package var transportEnded: Set<Int> = []
    /// slow-drip: bytes still to write one at a time.
    package var drip: [UInt8] = []
    package var dripHead = 0
    package var dripScheduled = false
    /// batch-write: frames held for one write.
    package var held: [UInt8] = []
    package var heldFrames = 0
    /// What batch-write really wrote: writes, frames, the most frames in one write.
    package var batches = (writes: 0, frames: 0, largest: 0)
    package var heldFlushScheduled = false
    package var stormReconnects = 0
    /// At most this many bytes wait for a slow drip; beyond, the link is dropped.
    package static let maxDrip = 1 << 20

    package init(owner: LiveLogger?, address: SocketAddress, session: LoggerSession, trace: TraceWriter?) {
        self.owner = owner
        self.address = address
        self.trace = trace
        transport = session.options.faults.filter { $0.layer == .transport && $0.applies(to: session.device.identity.mn) }
        super.init(session: session)
    }

    /// The logger's own time.
    override package var now: SessionTime { owner?.now ?? 0 }

    /// A logger sends a packet every few seconds at most: no output buffer is kept between
    /// inputs (an idle logger holds none; the memory per idle logger is the budget here).
    override package var keptOutputCapacity: Int { 0 }

    package func connect() {
        guard let owner, !closing else { return }
        // Offline (outage): no connection until the window ends.
        if isActive("outage", at: owner.now) {
            _ = owner.loop.scheduleOnLoop(after: .milliseconds(200)) { [weak self] in self?.connect() }
            return
        }
        TCPClient.connect(to: address, on: owner.loop, timeout: .seconds(5)) { [self] result in
            owner.loop.executeOnLoop { [self] in
                switch result {
                case .success(let c):
                    if closing { c.close(); return }
                    connection = c
                    connects += 1
                    backoff = 0.5
                    c.handler = self
                    let now = owner.now
                    if isActive("half-open", at: now) || isActive("never-read", at: now) { c.pauseReading() }
                    if let storm = active("reconnect-storm", at: now) { scheduleStormClose(storm, c) }
                    run { session, _, out in session.connected(at: now, into: &out) }
                case .failure(let e):
                    connectFailures += 1
                    lastError = e.description
                    scheduleReconnect()
                }
            }
        }
    }

    package func scheduleReconnect() {
        guard let owner, !closing else { return }
        let delay = Duration.milliseconds(Int64(backoff * 1000))
        backoff = min(backoff * 2, 8)
        _ = owner.loop.scheduleOnLoop(after: delay) { [weak self] in self?.connect() }
    }

    /// The one place where the session's outputs take effect: sends are traced and written (one
    /// write per batch, or frame by frame through the transport faults), the first send of each
    /// awaited upload and its acknowledgement give the latency, injected faults go to the ground
    /// truth, a close closes.
    override package func commit() {
        var batch: [UInt8] = []
        var truth: [String] = []
        defer {
            if !batch.isEmpty { write(batch) }
            if !truth.isEmpty { owner?.truth?.write(truth) }
        }
        for output in outputs {
            switch output {
            case .send(let bytes, let what):
                // Traced only when it goes to the socket: not on a link that is down or closing (an
                // outage, a reconnect) or hung (half-open drops what is written).
                if let trace, connection?.isOpen == true, !isActive("half-open", at: owner?.now ?? 0) {
                    trace.record(bytes, up: true, peer: address.description, connection: traceStream, at: owner?.now ?? 0)
                }
                if case .upload(_, let qn, 1, true) = what, let key = UInt64(qn), sentAt[key] == nil, sentAt.count < 4096 {
                    sentAt[key] = .now
                }
                if !transport.isEmpty, connection != nil, let owner {
                    // Frame by frame through the transport faults (batch-write counts frames).
                    if !batch.isEmpty { write(batch); batch = [] }
                    write(bytes, frames: 1, now: owner.now)
                    continue
                }
                if batch.isEmpty { batch = bytes } else { batch += bytes }
            case .close(let reason):
                lastError = reason
                if !batch.isEmpty { write(batch); batch = [] }
                connection?.close()
            case .acknowledged(let qn):
                guard let key = UInt64(qn), let t = sentAt.removeValue(forKey: key) else { continue }
                if sentAt.isEmpty { sentAt = [:] }  // release the storage of an idle link
                let d = MonotonicTime.now - t
                owner?.latency.histogram.record(microseconds: UInt64(max(0, d.components.seconds * 1_000_000 + d.components.attoseconds / 1_000_000_000_000)))
            case .givenUp(let qn):
                if let key = UInt64(qn) { sentAt.removeValue(forKey: key) }
            case .faultInjected(let record):
                truth.append(record.json())
            }
        }
    }

    override package func connection(_ connection: TCPConnection, didRead bytes: [UInt8]) {
        guard owner != nil else { return }
        super.connection(connection, didRead: bytes)
    }

    override package func willReceive(_ bytes: [UInt8], on connection: TCPConnection) {
        trace?.record(bytes, up: false, peer: address.description, connection: traceStream, at: now)
    }

    override package func connection(_ connection: TCPConnection, didCloseWith reason: CloseReason) {
        guard owner != nil else { return }
        super.connection(connection, didCloseWith: reason)  // the session forgets the connection
    }

    override package func didClose(_ connection: TCPConnection, reason: CloseReason) {
        guard let owner else { return }
        self.connection = nil
        trace?.forget(connection: traceStream)
        sentAt.removeAll()
        // What waited in a slow drip or a batch is lost with the connection (the session sends
        // again what was not acknowledged).
        drip = []
        dripHead = 0
        held = []
        heldFrames = 0
        if case .local = reason {} else { lastError = reason.description }
        if isActive("reconnect-storm", at: owner.now) {
            // A storm: reconnect at once, no back-off.
            stormReconnects += 1
            _ = owner.loop.scheduleOnLoop(after: .milliseconds(1)) { [weak self] in self?.connect() }
            return
        }
        scheduleReconnect()
    }

    // MARK: Transport faults (issue 5)

    /// The first transport fault with this ID active at this time.
    package func active(_ id: String, at now: Int64) -> FaultSpec? {
        transport.first { $0.id.rawValue == id && ($0.window?.contains(now) ?? true) }
    }

    package func isActive(_ id: String, at now: Int64) -> Bool { !transport.isEmpty && active(id, at: now) != nil }

    package func record(_ spec: FaultSpec, at t: Int64, _ detail: String) {
        guard let owner else { return }
        owner.truth?.write([FaultRecord(time: t, mn: owner.device.identity.mn, fault: spec.id, cn: "", qn: "", detail: detail, layer: .transport).json()])
    }

    /// Starts and ends transport faults whose windows begin or end (called on every tick).
    package func transportTick(at now: Int64) {
        guard !transport.isEmpty else { return }
        for (n, spec) in transport.enumerated() {
            let on = spec.window?.contains(now) ?? true
            if on && transportStarted.insert(n).inserted {
                let window = spec.describe(from: now)
                switch spec.id.rawValue {
                case "disconnect":
                    record(spec, at: now, connection != nil ? "connection dropped (\(window))" : "no connection to drop (\(window))")
                    connection?.close()
                case "outage":
                    record(spec, at: now, "offline \(window)")
                    connection?.close()
                case "reconnect-storm":
                    record(spec, at: now, "each connection closed after \(Int(spec.parameter("interval_ms", default: 200))) ms, reconnect at once; \(window)")
                    if let c = connection { scheduleStormClose(spec, c) }
                case "half-open":
                    record(spec, at: now, "neither reading nor writing nor closing; \(window)")
                    connection?.pauseReading()
                case "never-read":
                    record(spec, at: now, "not reading, sending without waiting for 9014; \(window)")
                    connection?.pauseReading()
                    session.awaitAcks = false
                case "no-resend":
                    record(spec, at: now, "uploads without 9014 given up, not resent; \(window)")
                    session.resends = false
                case "batch-write":
                    batches = (0, 0, 0)
                    record(spec, at: now, "up to \(Int(spec.parameter("packets", default: 10))) packets per write (a partial batch goes after 1 s: "
                           + "the logger waits for acknowledgements); \(window)")
                default:
                    record(spec, at: now, window)
                }
            }
            if !on, let w = spec.window, now >= w.upperBound, transportStarted.contains(n), transportEnded.insert(n).inserted {
                switch spec.id.rawValue {
                case "outage":
                    record(spec, at: now, "back online: \(session.pendingCount) packets waiting to be backfilled")
                case "reconnect-storm":
                    record(spec, at: now, "storm over: \(stormReconnects) reconnects")
                case "half-open":
                    connection?.resumeReading()
                case "never-read":
                    connection?.resumeReading()
                    session.awaitAcks = true
                case "no-resend":
                    session.resends = true
                case "slow-drip":
                    if dripHead < drip.count { let rest = Array(drip[dripHead...]); drip = []; dripHead = 0; _ = connection?.write(rest) }
                case "batch-write":
                    flushHeld()
                    record(spec, at: now, "batch-write over: \(batches.frames) frames in \(batches.writes) writes, at most \(batches.largest) in one")
                default: break
                }
            }
        }
    }

    package func scheduleStormClose(_ spec: FaultSpec, _ c: TCPConnection) {
        guard let owner else { return }
        let ms = Int64(spec.parameter("interval_ms", default: 200))
        _ = owner.loop.scheduleOnLoop(after: .milliseconds(ms)) { [weak self] in
            guard let self, self.connection === c, let owner = self.owner, self.isActive("reconnect-storm", at: owner.now) else { return }
            c.close()
        }
    }

    /// Writes bytes, through the transport faults active now.
    package func write(_ bytes: [UInt8], frames: Int = 1, now: Int64? = nil) {
        guard let connection else { return }
        guard !transport.isEmpty, let owner else { _ = connection.write(bytes); return }
        let now = now ?? owner.now
        if isActive("half-open", at: now) { return }  // nothing goes out; nothing is closed
        if let drip = active("slow-drip", at: now) {
            self.drip += bytes
            if self.drip.count - dripHead > Self.maxDrip {
                lastError = "slow drip: more than \(Self.maxDrip) bytes waiting"
                connection.close()
                return
            }
            scheduleDrip(Int64(drip.parameter("interval_ms", default: 20)), connection)
            return
        }
        if let batch = active("batch-write", at: now) {
            held += bytes
            heldFrames += frames
            if heldFrames >= Int(batch.parameter("packets", default: 10)) { flushHeld() }
            else if !heldFlushScheduled {
                // The session waits for acknowledgements: do not hold a partial batch for more than 1 s.
                heldFlushScheduled = true
                _ = owner.loop.scheduleOnLoop(after: .seconds(1)) { [weak self] in
                    self?.heldFlushScheduled = false
                    self?.flushHeld()
                }
            }
            return
        }
        // A fault just ended: what still waits goes first, so that frames never interleave.
        if dripHead < drip.count {
            let rest = Array(drip[dripHead...]) + bytes
            drip = []
            dripHead = 0
            _ = connection.write(rest)
            return
        }
        if !held.isEmpty { held += bytes; flushHeld(); return }
        _ = connection.write(bytes)
    }

    package func flushHeld() {
        guard !held.isEmpty else { return }
        let bytes = held
        batches.writes += 1
        batches.frames += heldFrames
        batches.largest = max(batches.largest, heldFrames)
        held = []
        heldFrames = 0
        _ = connection?.write(bytes)
    }

    package func scheduleDrip(_ intervalMs: Int64, _ c: TCPConnection) {
        guard !dripScheduled, let owner else { return }
        dripScheduled = true
        _ = owner.loop.scheduleOnLoop(after: .milliseconds(intervalMs)) { [weak self] in
            guard let self else { return }
            self.dripScheduled = false
            guard self.connection === c, self.dripHead < self.drip.count else { return }
            _ = c.write([self.drip[self.dripHead]])
            self.dripHead += 1
            if self.dripHead == self.drip.count { self.drip = []; self.dripHead = 0 } else { self.scheduleDrip(intervalMs, c) }
        }
    }

    package func shutdown() {
        closing = true
        connection?.close()
        connection = nil
    }
}
