import HJ212
import HJSimulation

/// The field side of one platform link: uploads with Flag A=1 and their 9014, resends after
/// OverTime up to ReCount, keeping and re-sending in order what was not acknowledged after a
/// reconnect, and answers to every host command of HJ 212-2017 §6.6 (9011, the data, 9012).
/// Sans-I/O: bytes and time in, `LoggerOutput`s out (bytes to send tagged with what they are,
/// a close, and the events `acknowledged`, `givenUp`, `faultInjected`).
///
/// ```swift
/// let device = LoggerDevice(simulator: simulator)
/// var session = LoggerSession(device: device)
/// var out: [LoggerOutput] = []                 // the driver's buffer, reused
/// session.connected(at: now, into: &out)
/// device.advance(to: now)
/// session.tick(at: now, into: &out)
/// session.received(bytesFromSocket, at: now, into: &out)
/// commit(out); out.removeAll(keepingCapacity: true)
/// ```
///
/// Decisions (the standard leaves them open): a resend repeats the identical frame (same QN);
/// a request with a bad CRC is ignored (`answerBadCRC` answers QnRtn 9 instead); a request with
/// A=0 gets no 9011 but is executed and closed with 9012; history ranges are inclusive.
public struct LoggerSession {
    public struct Options: Sendable {
        /// Answer a request whose CRC is wrong with 9011 QnRtn=9 (otherwise ignore it, "执行结束").
        public var answerBadCRC = false
        /// Uploads sent before their 9014 arrives.
        public var maxInFlight = 8
        /// Packets kept while the link is down; the oldest real-time (2011) ones go first beyond this.
        public var maxQueued = 200_000
        /// Protocol faults applied to what this link sends (issue 5), and the seed that makes them repeatable.
        public var faults: [FaultSpec] = []
        public var faultSeed: UInt64 = 1
        /// Session milliseconds per real millisecond (the speed of an accelerated run). OverTime is
        /// a network timeout: it is waited in real time, so in session time it lasts `timeScale` times longer.
        public var timeScale: Double = 1
        public init() {}
    }

    /// The queue of one link, shared with the device that fills it.
    final class Link {
        /// Queued packets; a sent slot is cleared at once so that it holds no memory.
        var queue: [GeneratedPacket?] = []
        var head = 0
        var dropped = 0
        let maxQueued: Int
        init(maxQueued: Int) { self.maxQueued = maxQueued }

        var count: Int { queue.count - head }

        func enqueue(_ p: GeneratedPacket) {
            queue.append(p)
            if count > maxQueued, let i = queue[head...].firstIndex(where: { $0?.cn == CommandCode.realTimeData.rawValue }) {
                queue.remove(at: i)
                dropped += 1
            }
        }

        func pop() -> GeneratedPacket? {
            guard head < queue.count else { return nil }
            let p = queue[head]
            queue[head] = nil
            head += 1
            if head == queue.count {
                queue = []  // an idle link holds no queue storage
                head = 0
            } else if head >= 256 && head * 2 >= queue.count {
                queue.removeFirst(head)
                head = 0
            }
            return p
        }

        func pushFront(_ packets: [GeneratedPacket]) {
            guard !packets.isEmpty else { return }
            queue.insert(contentsOf: packets.map { Optional($0) }, at: head)
        }
    }

    /// An upload waiting for its 9014: the packet (queued again after a reconnect), the frame as
    /// sent, and its CN and QN as sent, kept apart so that matching a 9014 or tagging a resend
    /// never parses the packet (a queued packet is bytes only: `LoggerDevice.advance`).
    struct InFlight {
        var packet: GeneratedPacket
        var frame: [UInt8]
        var cn: String
        var qn: String?
        var attempts: Int
        var deadline: SessionTime
    }

    /// A history or multi-packet answer being sent record by record.
    struct Job {
        var request: DataSegment
        var segments: [DataSegment]
        var next = 0
        var waiting: InFlight?
        var exeRtn: ExeRtn
    }

    /// The link, in one value.
    enum State {
        /// Never connected yet.
        case idle
        /// Connected; `backlog` packets queued while it was down are still to go (counted as backfill).
        case connected(backlog: Int)
        /// Down after having been connected: what is queued now is backfill at the next connection.
        case disconnected
    }

    /// Counts for the summary.
    public struct Statistics: Sendable, Equatable {
        public var sent = 0
        public var acknowledged = 0
        public var resent = 0
        public var backfilled = 0
        public var commandsAnswered = 0
        public var requestsRejected = 0
        public var dropped = 0
        /// Uploads given up without a resend when their 9014 did not come (`resends` off).
        public var givenUp = 0
    }

    public let device: LoggerDevice
    public let options: Options
    let link: Link
    public internal(set) var password: String
    var state = State.idle
    public var isConnected: Bool { if case .connected = state { true } else { false } }
    public internal(set) var statistics = Statistics()
    var decoder = FrameDecoder()
    var inFlight: [InFlight] = []
    var jobs: [Job] = []
    var lastQNSecond: Int64 = -1
    var qnSequence = 0
    var now: SessionTime = 0
    /// Requests already executed, by QN, with their ExeRtn (a resent request is answered again,
    /// not executed twice; nil while its answer is still being sent).
    var answered: [(qn: String, exeRtn: ExeRtn?)] = []
    var injector: FaultInjector?
    /// The run's production has ended (`endProduction`): held-back frames may go.
    var productionEnded = false
    /// The caller's output buffer while an input is handled (swapped in and out: no allocation).
    var outbox: [LoggerOutput] = []
    /// Inputs from the driver's transport faults (issue 5): with `awaitAcks` off, uploads are sent without
    /// waiting for their 9014 (never-read); with `resends` off, an upload whose 9014 does not
    /// come within OverTime is given up instead of resent (no-resend).
    public var awaitAcks = true
    public var resends = true

    public init(device: LoggerDevice, options: Options = Options()) {
        self.device = device
        self.options = options
        link = Link(maxQueued: options.maxQueued)
        password = device.identity.pw
        device.sessions.append(link)
        if !options.faults.isEmpty { injector = FaultInjector(specs: options.faults, seed: options.faultSeed, mn: device.identity.mn) }
    }

    /// Packets waiting to be sent (queued, in flight, or held back by the `out-of-order` fault).
    public var pendingCount: Int { link.count + inFlight.count + (injector?.heldCount ?? 0) }

    /// OverTime in session time.
    var overTime: SessionTime { SessionTime(Double(device.overTimeMs) * options.timeScale) }

    /// When `tick` must run next (resend deadlines).
    public var nextDeadline: SessionTime? {
        var d = inFlight.map(\.deadline).min()
        for job in jobs { if let w = job.waiting { d = Swift.min(d ?? w.deadline, w.deadline) } }
        return d
    }

    // MARK: Inputs
    //
    // Each input appends its outputs to `out` (the driver's buffer, reused across inputs); the
    // array-returning forms are for tests and light drivers.

    public mutating func connected(at now: SessionTime, into out: inout [LoggerOutput]) {
        swap(&outbox, &out)
        defer { swap(&outbox, &out) }
        self.now = now
        // Backfill is what waited for a link that had been up before (not the first connection).
        if case .disconnected = state { state = .connected(backlog: link.count) } else { state = .connected(backlog: 0) }
        decoder = FrameDecoder()
        pump()
    }

    /// The link is gone: what was in flight goes back to the front of the queue, in order.
    public mutating func disconnected(at now: SessionTime) {
        self.now = now
        state = .disconnected
        // The uploads in flight go out again after the reconnect; that transmission is a resend of
        // the same packet, so the one already counted moves from `sent` to `resent` (`sent` counts
        // each packet once: after an outage, sent = acknowledged + pending + given up).
        statistics.sent -= inFlight.count
        statistics.resent += inFlight.count
        link.pushFront(inFlight.map(\.packet))
        inFlight.removeAll()
        jobs.removeAll()  // the platform re-requests history after a reconnect
    }

    /// Time passed: resends due, and sending what the device produced.
    public mutating func tick(at now: SessionTime, into out: inout [LoggerOutput]) {
        self.now = now
        guard isConnected else { return }
        swap(&outbox, &out)
        defer { swap(&outbox, &out) }
        if resendUploads() { resendHistory(); pump() }
    }

    /// The run's production has ended (its end time): no record comes after this. Frames the fault
    /// injector holds back (an `out-of-order` record waiting for a later record of its CN, which
    /// will not come now) go out after the queue, now or when the link is next up.
    public mutating func endProduction(at now: SessionTime, into out: inout [LoggerOutput]) {
        self.now = now
        productionEnded = true
        guard isConnected else { return }
        swap(&outbox, &out)
        defer { swap(&outbox, &out) }
        pump()
    }

    /// Bytes from the platform: acknowledgements and requests.
    public mutating func received(_ bytes: [UInt8], at now: SessionTime, into out: inout [LoggerOutput]) {
        self.now = now
        swap(&outbox, &out)
        defer { swap(&outbox, &out) }
        decoder.feed(bytes)
        while let event = decoder.next() {
            guard case .frame(let raw) = event else { continue }
            handle(raw)
        }
        // Nothing held: let go of the input buffer (an idle link keeps none; the logger uses no
        // stream offsets and ignores noise, so a fresh decoder decides the same).
        if decoder.bufferedCount == 0 { decoder = FrameDecoder() }
        pump()
    }

    @discardableResult
    public mutating func connected(at now: SessionTime) -> [LoggerOutput] { collect { $0.connected(at: now, into: &$1) } }
    public mutating func tick(at now: SessionTime) -> [LoggerOutput] { collect { $0.tick(at: now, into: &$1) } }
    public mutating func received(_ bytes: [UInt8], at now: SessionTime) -> [LoggerOutput] { collect { $0.received(bytes, at: now, into: &$1) } }
    public mutating func endProduction(at now: SessionTime) -> [LoggerOutput] { collect { $0.endProduction(at: now, into: &$1) } }

    mutating func collect(_ body: (inout LoggerSession, inout [LoggerOutput]) -> Void) -> [LoggerOutput] {
        var out: [LoggerOutput] = []
        body(&self, &out)
        return out
    }

    /// Uploads past OverTime: given up (`resends` off), resent, or, after ReCount resends, the
    /// link is deemed unavailable (§6.2): false then (the only outputs are `givenUp` and `close`).
    mutating func resendUploads() -> Bool {
        if !resends && inFlight.contains(where: { $0.deadline <= now }) {
            for f in inFlight where f.deadline <= now { outbox.append(.givenUp(qn: f.qn ?? "")) }
            statistics.givenUp += inFlight.filter { $0.deadline <= now }.count
            inFlight.removeAll { $0.deadline <= now }
        }
        let first = outbox.count
        for i in inFlight.indices where inFlight[i].deadline <= now {
            if inFlight[i].attempts > device.reCount {
                // ReCount resends without 9014: communication is deemed unavailable (§6.2).
                let qn = inFlight[i].qn ?? "?"
                outbox.removeSubrange(first...)
                outbox.append(.givenUp(qn: qn))
                outbox.append(.close(reason: "no \(CommandCode.dataReply) for QN \(qn) after \(device.reCount) resends"))
                return false
            }
            inFlight[i].attempts += 1
            inFlight[i].deadline = now + overTime
            statistics.resent += 1
            outbox.append(.send(inFlight[i].frame, .upload(CommandCode(inFlight[i].cn), qn: inFlight[i].qn ?? "", attempt: inFlight[i].attempts, awaited: true)))
        }
        return true
    }

    /// History records past OverTime: resent, or after ReCount the job ends with ExeRtn 4.
    mutating func resendHistory() {
        for j in jobs.indices {
            guard var w = jobs[j].waiting, w.deadline <= now else { continue }
            if w.attempts > device.reCount {
                jobs[j].waiting = nil
                jobs[j].next = jobs[j].segments.count
                jobs[j].exeRtn = .communicationTimeout
                continue
            }
            w.attempts += 1
            w.deadline = now + overTime
            jobs[j].waiting = w
            statistics.resent += 1
            outbox.append(.send(w.frame, .upload(CommandCode(w.cn), qn: w.qn ?? "", attempt: w.attempts, awaited: true)))
        }
    }

    /// The tag of an upload frame.
    static func upload(_ segment: DataSegment, attempt: Int, awaited: Bool) -> OutgoingFrame {
        .upload(CommandCode(segment.cn ?? ""), qn: segment.qn ?? "", attempt: attempt, awaited: awaited)
    }

    // MARK: Sending

    func frame(_ segment: DataSegment) -> [UInt8] { FrameEncoder.frame(segment) }

    /// Sends what may be sent: the current history job first, then queued uploads up to the window.
    mutating func pump() {
        guard isConnected else { return }
        guard pumpHistory() else { return }
        while inFlight.count < options.maxInFlight, let packet = link.pop() {
            sendUpload(packet)
        }
        // After the last record: what the fault injector held back goes last (not awaited, as a
        // held record released by a later one).
        if productionEnded, link.count == 0, (injector?.heldCount ?? 0) > 0 {
            for f in injector!.flush() { outbox.append(.send(f, .faulty)) }
        }
    }

    /// History jobs: one record at a time, each acknowledged before the next (C.48), then the
    /// job's 9012. False while a record waits for its 9014.
    mutating func pumpHistory() -> Bool {
        while let job = jobs.first {
            if job.waiting != nil { return false }
            if job.next < job.segments.count {
                var segment = job.segments[job.next]
                segment.setHeader("QN", freshQN())
                segment.setHeader("PW", password)
                let bytes = frame(segment)
                jobs[0].next += 1
                statistics.sent += 1
                let awaited = segment.flag?.needsAck == true
                outbox.append(.send(bytes, Self.upload(segment, attempt: 1, awaited: awaited)))
                if awaited {
                    jobs[0].waiting = InFlight(packet: GeneratedPacket(time: now, cn: segment.cn ?? "", segment: segment, bytes: []),
                                               frame: bytes, cn: segment.cn ?? "", qn: segment.qn, attempts: 1, deadline: now + overTime)
                    return false
                }
                continue
            }
            reply(.executionResult, to: job.request, [[Field("ExeRtn", job.exeRtn.rawValue)]])
            if let qn = job.request.qn { remember(qn, job.exeRtn) }
            jobs.removeFirst()
        }
        return true
    }

    /// One queued upload: its bytes (re-framed when the password changed since it was made,
    /// 1072), through the injected faults, awaited when Flag A=1.
    mutating func sendUpload(_ packet: GeneratedPacket) {
        // The common case, read from the header bytes without parsing the segment: the packet's
        // own bytes with the current password and no injected fault.
        if injector == nil, let header = Self.plainHeader(packet.bytes), header.pw.map({ header.bytes[$0].elementsEqual(password.utf8) }) == true {
            let bytes = FrameEncoder.frame(segmentBytes: packet.bytes)
            countSent()
            let awaited = header.packetFlag?.needsAck == true && awaitAcks
            let cn = header.text(header.cn) ?? "", qn = header.text(header.qn)
            outbox.append(.send(bytes, .upload(CommandCode(cn), qn: qn ?? "", attempt: 1, awaited: awaited)))
            if awaited { inFlight.append(InFlight(packet: packet, frame: bytes, cn: cn, qn: qn, attempts: 1, deadline: now + overTime)) }
            return
        }
        let bytes: [UInt8]
        let original = packet.segment  // parsed once when the packet is bytes only
        var segment = original
        if segment.pw == password && !packet.bytes.isEmpty {
            bytes = FrameEncoder.frame(segmentBytes: packet.bytes)
        } else {
            var s = segment
            s.setHeader("PW", password)
            segment = s
            bytes = frame(s)
        }
        let awaited = segment.flag?.needsAck == true && awaitAcks
        guard injector != nil else {
            countSent()
            outbox.append(.send(bytes, Self.upload(segment, attempt: 1, awaited: awaited)))
            if awaited { inFlight.append(InFlight(packet: packet, frame: bytes, cn: segment.cn ?? "", qn: segment.qn, attempts: 1, deadline: now + overTime)) }
            return
        }
        // Injected faults (`Options.faults`): the frames actually sent, and their ground truth.
        var faulty = packet
        faulty.segment = segment
        faulty.bytes = segment.serializedBytes()
        let heldBefore = injector!.heldCount
        let (frames, records) = injector!.frames(for: faulty, mn: device.identity.mn)
        for r in records { outbox.append(.faultInjected(r)) }
        // Sent now, or held back to go later; a record a fault drops is not sent (its truth says so).
        countSent(!frames.isEmpty || injector!.heldCount > heldBefore)
        guard let first = frames.first else { return }  // a record that is never sent is not waited for either
        // A fault may have changed the QN (clock faults, duplicate QN, a joined record): the
        // acknowledgement echoes the QN that was sent.
        var awaitedPacket = packet
        awaitedPacket.segment = original
        if let qn = Self.qn(of: first), qn != original.qn { awaitedPacket.segment.setHeader("QN", qn) }
        outbox.append(.send(first, Self.upload(awaitedPacket.segment, attempt: 1, awaited: awaited)))
        for f in frames.dropFirst() { outbox.append(.send(f, .faulty)) }
        if awaited {
            let sent = awaitedPacket.segment
            inFlight.append(InFlight(packet: awaitedPacket, frame: first, cn: sent.cn ?? "", qn: sent.qn, attempts: 1, deadline: now + overTime))
        }
    }

    /// An upload taken from the queue: counted as sent (and as backfill while the backlog of an
    /// outage goes out), unless a fault dropped it (`sent` false).
    mutating func countSent(_ sent: Bool = true) {
        if sent { statistics.sent += 1 }
        if case .connected(let backlog) = state, backlog > 0 {
            state = .connected(backlog: backlog - 1)
            if sent { statistics.backfilled += 1 }
        }
    }

    /// The header of a packet's segment when it has every field the fast path of `sendUpload`
    /// reads (QN, CN, PW and a valid Flag); nil sends it through the parsed segment instead.
    /// `LoggerSessionFastPathTests` checks that both paths send and match the same.
    static func plainHeader(_ bytes: [UInt8]) -> SegmentHeaderView? {
        guard !bytes.isEmpty else { return nil }
        let header = SegmentHeaderView(bytes)
        guard header.qn != nil, header.cn != nil, header.pw != nil, header.flag != nil, header.packetFlag != nil else { return nil }
        return header
    }

    /// The QN of a frame as sent (nil when it has none or cannot be framed).
    static func qn(of frame: [UInt8]) -> String? {
        FrameDecoder.frames(in: frame).first.flatMap { SegmentParser.parse($0.segmentBytes).segment.qn }
    }

    /// A QN from the device's clock, unique within this link.
    mutating func freshQN() -> String {
        let t = now + device.clockOffsetMs
        let second = t / 1000
        if second == lastQNSecond { qnSequence += 1 } else { lastQNSecond = second; qnSequence = 0 }
        return HJTime(wallMilliseconds: second * 1000 + Int64((500 + qnSequence) % 1000)).text17
    }

    // MARK: Receiving

    /// The QN of a well-formed 2017-style 9014 with a correct CRC and an empty CP, read from the
    /// header bytes without parsing the segment into fields (the common case: one per upload).
    /// Anything else (nil) takes the full path.
    static func plainAckQN(_ raw: RawFrame) -> String? {
        let bytes = raw.segmentBytes
        guard bytes.count < 200, CRC.parseHex(raw.crcBytes) == CRC.hj212(bytes) else { return nil }
        return SegmentHeaderView(bytes).plainAcknowledgementQN
    }

    mutating func handle(_ raw: RawFrame) {
        if let qn = Self.plainAckQN(raw) {
            acknowledge(qn)
            return
        }
        let segment = SegmentParser.parse(raw.segmentBytes).segment
        let crcOK = CRC.parseHex(raw.crcBytes) == CRC.hj212(raw.segmentBytes)
        switch segment.command {
        case .dataReply?:
            // Platforms in the field are seen to frame their acknowledgements with CRC-16/MODBUS:
            // an acknowledgement whose CRC matches a known variant still counts (a corrupt one not).
            let ackCRCOK = crcOK || (CRC.parseHex(raw.crcBytes).map { CRC.match(declared: $0, segment: raw.segmentBytes).match != .none } ?? false)
            guard ackCRCOK, let qn = segment.qn ?? segment.cpValue("QN") else { return }
            acknowledge(qn)
        case .notificationReply?:
            // The acknowledgement of a notification the logger sent (1013; the 2025 heartbeat 9015).
            if let qn = segment.qn ?? segment.cpValue("QN"), let i = inFlight.firstIndex(where: { $0.qn == qn }) {
                inFlight.remove(at: i)
                statistics.acknowledged += 1
                outbox.append(.acknowledged(qn: qn))
            }
        case .requestReply?, .executionResult?:
            return
        default:
            request(segment, crcOK: crcOK)
        }
    }

    /// A 9014 for `qn`: the upload (or history record) it acknowledges is done.
    mutating func acknowledge(_ qn: String) {
        if let i = inFlight.firstIndex(where: { $0.qn == qn }) {
            inFlight.remove(at: i)
            if inFlight.isEmpty { inFlight = [] }
            statistics.acknowledged += 1
            outbox.append(.acknowledged(qn: qn))
        } else if let j = jobs.indices.first(where: { jobs[$0].waiting?.qn == qn }) {
            jobs[j].waiting = nil
            statistics.acknowledged += 1
            outbox.append(.acknowledged(qn: qn))
        }
    }

    /// A reply (9011, 9012, 9013) to a host request: ST=91, its QN, PW and MN echoed.
    mutating func reply(_ code: CommandCode, to request: DataSegment, _ cp: [[Field]]) {
        outbox.append(.send(FrameEncoder.frame(replySegment(cn: code.rawValue, to: request, cp: cp)), .reply(code, qn: request.qn)))
    }

    mutating func qnRtn(_ request: DataSegment, _ code: QnRtn) {
        reply(.requestReply, to: request, [[Field("QnRtn", code.rawValue)]])
    }

    /// A response packet of the device (ST of the unit, Flag without A, request QN), as C.2/C.5.
    mutating func response(_ code: CommandCode, to request: DataSegment, _ cp: [[Field]]) {
        let version = request.flag?.version ?? 1
        let segment = DataSegment(header: [Field("QN", request.qn ?? ""), Field("ST", device.st), Field("CN", code.rawValue), Field("PW", password),
                                           Field("MN", device.identity.mn), Field("Flag", String(PacketFlag(version: version, split: false, ack: false).rawValue))],
                                  cp: cp)
        outbox.append(.send(FrameEncoder.frame(segment), .reply(code, qn: request.qn)))
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
