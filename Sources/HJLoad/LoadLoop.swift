import HJ212
import HJNetwork
import HJSimulation
import Synchronization
import HJReportKit

/// One event loop's share of a load run: its loggers, the send schedule (a min-heap of due
/// times), counters and histograms.
///
/// `@unchecked Sendable`, by this rule: everything but `published` is touched only on `loop`'s
/// thread (it is created on the caller's thread and handed over by `loop.execute`, which orders
/// the hand-over); `published` is a `Mutex`.
final class LoopState: @unchecked Sendable {
    let loop: EventLoop
    let configuration: LoadConfiguration
    var timing: LoopTiming
    let published = Mutex(LoopSnapshot())

    var loggers: [LoadLogger] = []
    /// The schedule: (due, logger slot), smallest due first.
    var heap: [(due: UInt64, slot: Int32)] = []
    var counts = LoadCounts()
    var latency = LatencyHistogram()
    var sendLatency = LatencyHistogram()
    var connectLatency = LatencyHistogram()
    var sendLag = LatencyHistogram()
    var errors: [String: UInt64] = [:]
    var open: UInt64 = 0
    var running = false
    /// Whether the snapshot that says the window's packets are all sent went out already.
    var windowSentPublished = false
    var pacer: TimerHandle?
    var sweeper: TimerHandle?
    var stamper = QNStamper()
    var frame: [UInt8] = []
    let options: TCPOptions
    /// The period of `sweep()` (100 ms).
    let sweepInterval: Duration
    static let maxReasons = 64

    init(loop: EventLoop, configuration: LoadConfiguration, timing: LoopTiming, sweepInterval: Duration) {
        self.loop = loop
        self.sweepInterval = sweepInterval
        self.configuration = configuration
        self.timing = timing
        var o = TCPOptions()
        o.maxPendingOutput = configuration.maxQueuedBytes
        o.whenOutputLimitExceeded = .rejectWrite
        options = o
    }

    // MARK: - Timeline

    func start(loggers indices: [Int]) {
        running = true
        let c = configuration
        loggers.reserveCapacity(indices.count)
        heap.reserveCapacity(indices.count)
        for (slot, i) in indices.enumerated() {
            let id = c.identity(i)
            let plan = c.plan(i)
            let logger = LoadLogger(state: self, slot: slot, index: i, mn: Array(id.mn.utf8), pw: Array(id.pw.utf8),
                                    pool: c.pool(i), target: c.targets[i % c.targets.count], interval: plan.intervalNanoseconds)
            logger.poolCursor = (i &* 7) % max(1, logger.pool.entries.count)
            loggers.append(logger)
            push(due: timing.sendStart &+ plan.phaseNanoseconds, slot: Int32(slot))
            // Connect at ramp·i/N.
            let at = timing.t0 &+ UInt64(Double(timing.ramp) * Double(i) / Double(max(1, c.totalLoggers)))
            loop.schedule(at: MonotonicTime(nanoseconds: at)) { [self] in self.connect(slot) }
        }
        armPacer()
        sweep()
    }

    /// Ends the send window early (Ctrl-C, or nobody reachable).
    func endWindow(at end: UInt64) {
        timing.windowEnd = min(timing.windowEnd, end)
        publish()
    }

    /// Stops: what is still waiting counts as pending at the end; connections close.
    func finish() -> LoopFinal {
        running = false
        pacer?.cancel()
        sweeper?.cancel()
        for l in loggers {
            counts.pendingAtEnd &+= UInt64(l.ring.giveUpAll(countedFrom: timing.windowStart))
            l.closing = true
            if let c = l.connection {
                c.close()
                l.connection = nil
            }
        }
        publish()
        let final = LoopFinal(counts: counts, latency: latency, sendLatency: sendLatency, connectLatency: connectLatency,
                              sendLag: sendLag, errors: errors)
        // Break the cycle loggers ↔ state; connections still reporting their close keep what they need.
        loggers = []
        heap = []
        return final
    }

    func publish() {
        var outstanding: UInt64 = 0
        for l in loggers { outstanding &+= UInt64(l.ring.waiting) }
        // Sent out: nothing left in the heap that is due before the end of the window (what is
        // due then but not yet paced would still be sent).
        let windowSent = heap.first.map { $0.due >= timing.windowEnd } ?? true
        let snapshot = LoopSnapshot(counts: counts, latency: latency, open: open, outstanding: outstanding,
                                    publishedAt: MonotonicTime.now.nanoseconds, windowSent: windowSent)
        published.withLock { $0 = snapshot }
    }

    /// Every `sweepInterval` (100 ms): acknowledgement timeouts, then publish.
    func sweep() {
        guard running else { return }
        let now = MonotonicTime.now.nanoseconds
        if now > timing.ackTimeout {
            let deadline = now - timing.ackTimeout
            for l in loggers where l.ring.waiting > 0 {
                counts.timedOut &+= UInt64(l.ring.expire(sentAtOrBefore: deadline, countedFrom: timing.windowStart))
                l.ring.shrinkIfIdle()
            }
        }
        publish()
        sweeper = loop.scheduleOnLoop(after: sweepInterval) { [self] in self.sweep() }
    }

    func note(_ reason: String) {
        if errors[reason] != nil || errors.count < Self.maxReasons {
            errors[reason, default: 0] &+= 1
        } else {
            errors["(other reasons)", default: 0] &+= 1
        }
    }

    // MARK: - Schedule

    func push(due: UInt64, slot: Int32) {
        heap.append((due, slot))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].due < heap[parent].due else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    func popFirst() -> (due: UInt64, slot: Int32) {
        let first = heap[0]
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var parent = 0
            let n = heap.count
            while true {
                let l = 2 * parent + 1
                guard l < n else { break }
                var best = l
                if l + 1 < n && heap[l + 1].due < heap[l].due { best = l + 1 }
                guard heap[best].due < heap[parent].due else { break }
                heap.swapAt(parent, best)
                parent = best
            }
        }
        return first
    }

    func armPacer() {
        guard running, let first = heap.first, first.due < timing.windowEnd else {
            // The window's last packets are out: say so now rather than at the next sweep, so
            // that the run can end as soon as their acknowledgements are in.
            if running && !windowSentPublished {
                windowSentPublished = true
                publish()
            }
            return
        }
        pacer = loop.schedule(at: MonotonicTime(nanoseconds: first.due)) { [self] in self.pace() }
    }

    /// Sends every packet that is due (at most a batch per turn, so that reads are not starved).
    func pace() {
        guard running else { return }
        let now = MonotonicTime.now.nanoseconds
        var n = 0
        while let first = heap.first, first.due <= now, n < 4096 {
            if first.due >= timing.windowEnd {
                break
            }
            let entry = popFirst()
            let logger = loggers[Int(entry.slot)]
            logger.sendScheduled(at: entry.due, now: now)
            push(due: entry.due &+ logger.interval, slot: entry.slot)
            n += 1
        }
        if n == 4096 {
            pacer = nil
            loop.executeOnLoop { [self] in self.pace() }
        } else {
            armPacer()
        }
    }

    // MARK: - Connections

    func connect(_ slot: Int) {
        guard running else { return }
        let logger = loggers[slot]
        guard logger.connection == nil, !logger.connecting, !logger.closing else { return }
        logger.connecting = true
        counts.connectAttempts &+= 1
        let started = MonotonicTime.now.nanoseconds
        TCPClient.connect(to: logger.target, on: loop, timeout: timing.connectTimeout, options: options) { [self] result in
            logger.connecting = false
            switch result {
            case .success(let connection):
                guard running, !logger.closing else {
                    connection.close()
                    return
                }
                connectLatency.record(microseconds: (MonotonicTime.now.nanoseconds &- started) / 1000)
                counts.connects &+= 1
                if !logger.everConnected {
                    logger.everConnected = true
                    counts.loggersConnected &+= 1
                }
                open &+= 1
                if open > counts.maxConnections { counts.maxConnections = open }
                logger.connection = connection
                logger.backoffMs = 500
                connection.handler = logger
            case .failure(let error):
                switch error.kind {
                case .refused: counts.refused &+= 1
                case .timedOut: counts.connectTimeouts &+= 1
                case .tooManyOpenFiles, .addressNotAvailable: counts.fdExhausted &+= 1
                case .loopShutdown: return
                default: counts.connectOtherErrors &+= 1
                }
                note("connect: \(error)")
                scheduleReconnect(logger)
            }
        }
    }

    func scheduleReconnect(_ logger: LoadLogger) {
        guard running, configuration.reconnect, !logger.closing else { return }
        let delay = logger.backoffMs
        logger.backoffMs = min(logger.backoffMs * 2, 8000)
        loop.scheduleOnLoop(after: .milliseconds(delay)) { [self] in self.connect(logger.slot) }
    }
}

/// One emulated logger: its identity, its connection, the packets it waits acknowledgements for.
///
/// `@unchecked Sendable`, by this rule: touched only on its loop's thread (it is captured by
/// connect completions, which run there).
final class LoadLogger: TCPConnectionHandler, @unchecked Sendable {
    /// Strong: a close may be reported after the run let go of its loops; `LoopState.finish()`
    /// breaks the cycle (it drops its loggers).
    let state: LoopState
    let slot: Int
    let index: Int
    let mn: [UInt8]
    let pw: [UInt8]
    let pool: PayloadPool
    let target: SocketAddress
    let interval: UInt64
    var poolCursor = 0
    var connection: TCPConnection?
    var connecting = false
    var closing = false
    /// Counted once in `LoadCounts.loggersConnected`.
    var everConnected = false
    var backoffMs: Int64 = 500
    var decoder = FrameDecoder(maxFrameBytes: 2048)
    var ring = OutstandingRing()
    var lastQNms: Int64 = .min
    var firstQN: Int64 = .max
    var lastQN: Int64 = .min

    init(state: LoopState, slot: Int, index: Int, mn: [UInt8], pw: [UInt8], pool: PayloadPool, target: SocketAddress, interval: UInt64) {
        self.state = state
        self.slot = slot
        self.index = index
        self.mn = mn
        self.pw = pw
        self.pool = pool
        self.target = target
        self.interval = interval
    }

    /// Sends the packet scheduled at `due` (never waits for an acknowledgement first).
    func sendScheduled(at due: UInt64, now: UInt64) {
        let s = state
        // Warm-up: sent as scheduled, counted nowhere (its acks are matched and dropped).
        let judged = due >= s.timing.windowStart
        if judged { s.counts.scheduled &+= 1 }
        guard let c = connection else {
            if !judged { return }
            s.counts.missed &+= 1
            s.note(connecting ? "not sent: still connecting at the scheduled time" : "not sent: no connection at the scheduled time")
            return
        }
        // QN: the scheduled wall-clock millisecond, strictly increasing per logger.
        var ms = s.timing.wallAtT0 &+ Int64((due &- s.timing.t0) / 1_000_000)
        if ms <= lastQNms { ms = lastQNms &+ 1 }
        lastQNms = ms
        let qn = s.stamper.stamp(ms)
        s.stamper.digits.withUnsafeBufferPointer { digits in
            pool.frame(entry: poolCursor, qn: digits, pw: pw, mn: mn, into: &s.frame)
        }
        poolCursor = (poolCursor + 1) % pool.entries.count
        let sentAt = MonotonicTime.now.nanoseconds
        guard c.write(s.frame) else {
            guard judged else { return }
            s.counts.missed &+= 1
            s.note(c.isOpen ? "not sent: output queue full (the server does not read)" : "not sent: connection closing")
            return
        }
        if judged {
            s.counts.sent &+= 1
            s.sendLag.record(microseconds: (sentAt &- min(due, sentAt)) / 1000)
        }
        if qn < firstQN { firstQN = qn }
        lastQN = qn
        if let evicted = ring.append(.init(qn: qn, scheduled: due, sent: sentAt, state: .waiting), cap: s.configuration.maxOutstanding) {
            if evicted.scheduled >= s.timing.windowStart { s.counts.givenUp &+= 1 }
        }
    }

    func connection(_ connection: TCPConnection, didRead bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { consume($0) }
    }

    /// The read buffer itself: no array per acknowledgement read.
    func connection(_ connection: TCPConnection, didReadBuffer bytes: UnsafeRawBufferPointer) {
        consume(bytes.assumingMemoryBound(to: UInt8.self))
    }

    func consume(_ bytes: UnsafeBufferPointer<UInt8>) {
        let s = state
        let now = MonotonicTime.now.nanoseconds
        decoder.feed(bytes)
        while let event = decoder.next() {
            switch event {
            case .frame(let f): judge(f, now: now)
            case .skipped(let skip): s.counts.noiseBytes &+= UInt64(skip.count)
            case .incomplete: break
            }
        }
        if decoder.bufferedCount == 0 {
            if case .skipped(let skip)? = decoder.flushSkipped() { s.counts.noiseBytes &+= UInt64(skip.count) }
            decoder = FrameDecoder(maxFrameBytes: 2048)  // let go of the buffer between reads
        }
    }

    /// Judges one frame from the server.
    func judge(_ f: RawFrame, now: UInt64) {
        let s = state
        guard let declared = CRC.parseHex(f.crcBytes), declared == CRC.hj212(f.segmentBytes) else {
            s.counts.badCRC &+= 1
            s.note("wrong ack: bad CRC")
            return
        }
        let a = SegmentHeaderView(f.segmentBytes)
        let offset = a.qnNumber.flatMap { ring.find($0) }
        guard a.isCN(.dataReply) else {
            if let offset, ring[offset].state == .waiting {
                s.counts.wrongCN &+= 1
                s.note("wrong ack: CN=\(a.cnNumber.map(String.init) ?? "?") instead of 9014")
            } else {
                s.counts.otherFrames &+= 1
            }
            return
        }
        guard let qn = a.qnNumber else {
            s.counts.wrongQN &+= 1
            s.note(a.hasQN ? "wrong ack: QN is not 17 digits" : "wrong ack: no QN")
            return
        }
        guard let offset else {
            if qn >= firstQN && qn <= lastQN {
                s.counts.late &+= 1  // given up and forgotten (or acknowledged twice, long after)
            } else {
                s.counts.wrongQN &+= 1
                s.note("wrong ack: QN not echoed (matches no packet sent)")
            }
            return
        }
        let entry = ring[offset]
        switch entry.state {
        case .acked:
            s.counts.duplicates &+= 1
            return
        case .givenUp:
            s.counts.late &+= 1
            return
        case .waiting:
            break
        }
        if !a.isST(.systemInteraction) {
            s.counts.wrongST &+= 1
            s.note("wrong ack: ST is not 91")
            return
        }
        guard let flag = a.flagNumber, flag & 1 == 0, flag >> 2 == 1 else {
            s.counts.wrongFlag &+= 1
            s.note("wrong ack: Flag \(a.flagNumber.map(String.init) ?? "missing") (expected 4: version 1, no acknowledgement asked)")
            return
        }
        guard let m = a.mnBytes, m.elementsEqual(mn) else {
            s.counts.wrongMN &+= 1
            s.note("wrong ack: MN is not the logger's")
            return
        }
        ring.settle(offset, as: .acked)
        guard entry.scheduled >= s.timing.windowStart else { return }  // a warm-up packet
        s.counts.acked &+= 1
        if now < s.timing.windowEnd { s.counts.ackedInWindow &+= 1 }
        s.latency.record(microseconds: (now &- min(entry.scheduled, now)) / 1000)
        s.sendLatency.record(microseconds: (now &- min(entry.sent, now)) / 1000)
    }

    func connection(_ connection: TCPConnection, didCloseWith reason: CloseReason) {
        let s = state
        if self.connection === connection {
            self.connection = nil
            s.open &-= 1
        }
        s.counts.lostOnClose &+= UInt64(ring.giveUpAll(countedFrom: s.timing.windowStart))
        decoder = FrameDecoder(maxFrameBytes: 2048)
        switch reason {
        case .local, .loopShutdown: return
        case .peerClosed:
            s.counts.peerCloses &+= 1
            s.note("connection closed by the server")
        case .error(let e) where e.kind == .reset || e.kind == .brokenPipe:
            s.counts.resets &+= 1
            s.note("connection reset: \(e)")
        default:
            s.counts.otherCloses &+= 1
            s.note("connection ended: \(reason)")
        }
        s.scheduleReconnect(self)
    }
}
