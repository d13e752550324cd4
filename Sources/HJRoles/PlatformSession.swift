import HJ212
import HJSimulation

/// The host side (上位机) of one TCP connection with a data logger: decodes and lints what the
/// logger sends, acknowledges it, and sends commands one at a time, tracking 9011 / data / 9012
/// with timeouts. Sans-I/O: bytes and time in, `PlatformOutput`s out (bytes to send tagged with
/// what they are, a close, and the events `packetAccepted`, `recordAccepted`, `commandFinished`,
/// `counted`, `diagnostic`, `logged`, `notice` for the driver to commit in one place; the
/// platform's model, `PlatformState`, takes them with `state.commit(outputs)`).
///
/// ```swift
/// let state = try PlatformState()
/// var session = PlatformSession(state: state, peer: "127.0.0.1:50412")
/// var out: [PlatformOutput] = []
/// session.connected(at: now, into: &out)
/// session.received(bytesFromSocket, at: now, into: &out)   // 9014 / 9013 acks, commands, events
/// state.commit(out); store(out); write(out.actions)        // the driver: model, store, then the sends
/// out.removeAll(keepingCapacity: true)
/// session.request(into: &out) { $0.requestHistory(cn: "2061", from: t0, to: t1, at: now) }
/// if let deadline = session.nextDeadline { armTimer(deadline) { perform(session.tick(at: $0)) } }
/// ```
///
/// Rules (HJ 212-2017 §6.1, §6.5, Appendix C):
/// - An upload (`up` = upload in the command table of the packet's dialect: 2011, 2021, 2031,
///   2041, 2051, 2061, 2081, 1011/1061/1063 answers, 3015–3020 …) with Flag A=1 gets 9014:
///   ST=91, QN, PW and MN echoed, Flag = the packet's version bits with D=0 A=0 (4 for 2017),
///   `CP=&&&&`. A notification (1013, and 9015 heartbeats of 2025) with A=1 gets 9013. A=0:
///   nothing. Split packets are acknowledged one by one (each by its own QN, C.50), then
///   reassembled; the whole record is stored.
/// - Not acknowledged, only counted and logged: a wrong CRC (CRC-16/MODBUS variants too, unless
///   `acceptCRCVariants`), a length field that disagrees with the data segment (a length that
///   counts characters instead of UTF-8 bytes is tolerated, HJ212.md §1), a data segment over
///   1024 bytes (HJ 212-2017 Table 2), a packet without CN, an MN missing from the registry, a
///   PW that differs from the registry's.
/// - 9011 / 9012 / 9013 from the logger are matched by QN to the command in flight, never
///   acknowledged; replies to nothing are counted as unexpected.
/// - Commands: Flag = the logger's version with A=1 (5 for 2017), ST = the logger's last ST
///   (32 before it has sent one), PW/MN of the logger, a fresh QN from the time, unique in
///   the session. One command at a time; later ones wait in a queue. No 9011 within OverTime:
///   the identical frame (same QN) is sent again, up to `reCount` times, then `noReply`. After
///   9011 QnRtn=1, each record (and each split packet) restarts the execution timeout; 9012
///   ends the command.
///
/// A struct because a session is one connection's state, owned by whoever drives that
/// connection; the shared part is the `PlatformState` reference. Copying a session copies the
/// connection's state, so keep one copy per connection.
public struct PlatformSession: Sendable {
    public struct Options: Sendable {
        /// Wait for 9011 (9013 for notifications) after sending a command (ms). Default 10 s (Table 1).
        public var overTime: SessionTime = 10_000
        /// Resends of a command that got no 9011 (Table 1: 3).
        public var reCount = 3
        /// Wait for data or 9012 after the 9011 and after each record (ms). Default 60 s.
        public var executionTimeout: SessionTime = 60_000
        /// Commands waiting for an unidentified logger (no packet yet) expire after this (ms).
        public var identifyTimeout: SessionTime = 120_000
        /// Close the connection after this long without a whole frame from the logger (ms; stray
        /// bytes and a frame dripped byte by byte do not count, so a slowloris peer is closed
        /// too); nil: never. Default 30 min: three 10-minute (2051) intervals. See docs/budgets.md.
        public var idleTimeout: SessionTime? = 1_800_000
        /// Accept (and acknowledge) frames whose CRC is CRC-16/MODBUS or byte-swapped MODBUS.
        public var acceptCRCVariants = false
        /// Answer a 1013 time-calibration request with 1012 carrying the platform's time.
        public var answerTimeRequests = true
        /// When to run the §6.7 first-connection set-up.
        public var initialise: InitialisePolicy = .never
        /// Values the set-up sends: OverTime (s) and ReCount for 1000, RtdInterval (s) for 1062,
        /// MinInterval (min) for 1064.
        public var initialOverTime = 10
        public var initialReCount = 3
        public var initialRtdInterval = 30
        public var initialMinInterval = 10
        /// The logger expected on this connection, when known before it sends anything (the
        /// platform dialled it, or a test). Otherwise the first accepted packet's MN/PW.
        public var expectedLogger: LoggerIdentity?
        /// The dialect of commands until the logger has shown its own.
        public var dialect: Dialect = .hj2017
        /// Deliberate faults in the acks (self-tests). See `PlatformMisbehaviour`.
        public var misbehaviour: PlatformMisbehaviour = []
        /// Misbehaviour: hold every ack this long (ms) before sending it (0: send at once).
        public var ackDelay: SessionTime = 0
        /// Bounds: split records being reassembled, queued commands, records kept per command
        /// result, results kept by the session, acks held by `ackDelay`.
        public var maxPendingSplits = 16
        /// Split-packet budgets (docs/budgets.md): packets of one record (PNUM) and their bytes,
        /// and packets and bytes held for all records of the connection.
        public var splitBudget = SplitBudget()
        public var maxQueuedCommands = 64
        public var maxResponsesPerCommand = 64
        public var maxSessionResults = 1_000
        public var maxDelayedAcks = 1_024
        /// Wrong passwords accepted on one connection before it is closed (brute force; the
        /// per-MN limit is `PlatformLimits.maxWrongPasswordsPerMN`). See docs/budgets.md.
        public var maxWrongPasswordsPerConnection = 3

        public init() {}
    }

    /// A command waiting to be sent.
    struct QueuedCommand: Sendable {
        var cn: String
        var cp: [[Field]]
        /// Set `SystemTime` to the time of sending (1012), not of queuing.
        var stampSystemTime: Bool
        var queuedAt: SessionTime
    }

    /// Who is on the connection, once known.
    struct Identified: Sendable {
        var identity: LoggerIdentity
        /// When its first packet was accepted (nil: expected in advance).
        var since: SessionTime?
        /// Its ST (other than 91) and dialect, once seen.
        var st: String?
        var dialect: Dialect?
        /// The §6.7 set-up was started (or judged not needed) on this connection.
        var setUpStarted = false
    }

    /// The connection, in one value: open or closed, and who is on it.
    enum Link: Sendable {
        /// Open; the logger has not identified itself (`setUpStarted`: `initialise(at:)` ran already).
        case anonymous(setUpStarted: Bool)
        /// Open; the logger is known.
        case identified(Identified)
        /// Closed by either side: nothing more is sent (who was on it stays known).
        case closed(Identified?)
    }

    /// The command on the wire.
    struct InFlight: Sendable {
        enum Phase: Sendable { case awaitingReply, executing }
        var command: QueuedCommand
        var request: DataSegment
        var bytes: [UInt8]
        var qn: String
        var isNotification: Bool
        var sentAt: SessionTime
        var attempts: Int
        var phase: Phase
        var deadline: SessionTime
        var qnRtn: Int?
        var records = 0
        var responses: [DataSegment] = []
    }

    public let state: PlatformState
    public let peer: String
    public let options: Options

    /// The connection's state.
    var link: Link
    /// This connection's counters (its `counted` outputs add them to `state.counters`).
    public internal(set) var counters = PlatformCounters()
    /// This connection's command outcomes, oldest first (its `commandFinished` outputs put them in `state.completedCommands`).
    public internal(set) var completedCommands: [CommandResult] = []

    var decoder = FrameDecoder()
    var reassembler: SplitAssembly
    var frameIndex = 0
    var lastQNTime: SessionTime = .min
    var lastActivity: SessionTime?
    var queue: [QueuedCommand] = []
    var inFlight: InFlight?
    var delayedAcks: [(due: SessionTime, bytes: [UInt8], frame: OutgoingFrame)] = []
    /// Wrong passwords on this connection (closed at `maxWrongPasswordsPerConnection`).
    var wrongPasswords = 0
    /// The caller's output buffer while an input is handled (swapped in and out: no allocation).
    var outbox: [PlatformOutput] = []
    /// This input's counters, given out as one `counted` output at its end (`flush`).
    var delta = PlatformCounters()
    /// Whether the array-returning forms commit their outputs to `state` themselves (light
    /// drivers and tests); false inside `request(into:_:)`, whose driver commits.
    var commitsItself = true
    /// The last CN's role (`uploadRole`): the code tables are fixed for the session's life.
    var roleMemo: (cn: String, dialect: Dialect, role: PacketRole?)?

    public init(state: PlatformState, peer: String, options: Options = Options()) {
        self.state = state
        self.peer = peer
        self.options = options
        self.link = options.expectedLogger.map { .identified(Identified(identity: $0)) } ?? .anonymous(setUpStarted: false)
        self.reassembler = SplitAssembly(budget: options.splitBudget, maxRecords: options.maxPendingSplits)
    }

    /// The logger on this connection (expected, or from its first accepted packet).
    public var logger: LoggerIdentity? { identified?.identity }
    /// The logger's ST (other than 91) and dialect, once seen.
    public var loggerST: String? { identified?.st }
    public var loggerDialect: Dialect? { identified?.dialect }
    /// Closed by either side.
    public var isClosed: Bool { if case .closed = link { true } else { false } }

    /// Who is on the connection (open or closed); setting it keeps the connection's openness.
    var identified: Identified? {
        get {
            switch link {
            case .anonymous: nil
            case .identified(let i): i
            case .closed(let i): i
            }
        }
        set {
            guard let newValue else { return }
            if case .closed = link { link = .closed(newValue) } else { link = .identified(newValue) }
        }
    }

    /// Whether the §6.7 set-up was started on this connection.
    var setUpStarted: Bool {
        switch link {
        case .anonymous(let started): started
        case .identified(let i): i.setUpStarted
        case .closed(let i): i?.setUpStarted ?? true
        }
    }

    /// The QN of the command in flight, if any.
    public var commandInFlight: String? { inFlight?.qn }
    /// Commands waiting behind it.
    public var queuedCommands: Int { queue.count }
    /// Split records waiting for their other packets.
    public var pendingSplitRecords: Int { reassembler.pendingCount }
    /// Split packets and their data-segment bytes held for those records (within `splitBudget`).
    public var pendingSplitPackets: Int { reassembler.heldParts }
    public var pendingSplitBytes: Int { reassembler.heldBytes }

    /// When `tick` must run next: a delayed ack, a command timeout, an identification timeout, idleness.
    public var nextDeadline: SessionTime? {
        guard !isClosed else { return nil }
        var earliest: SessionTime?
        func consider(_ t: SessionTime) { if earliest == nil || t < earliest! { earliest = t } }
        // Read field by field: no copy of the command in flight or of the logger's identity
        // (this runs after every input). Open and without a logger is `.anonymous`.
        if let due = delayedAcks.first?.due { consider(due) }
        if let deadline = inFlight?.deadline { consider(deadline) }
        if case .anonymous = link, let queuedAt = queue.first?.queuedAt { consider(queuedAt + options.identifyTimeout) }
        if let idle = options.idleTimeout, let last = lastActivity { consider(last + idle) }
        return earliest
    }

    // MARK: - Inputs
    //
    // Each input appends its outputs to `out` (the driver's buffer, reused across inputs); the
    // array-returning forms are for tests and light drivers.

    /// The logger connected. With a known logger and an `initialise` policy, starts the set-up.
    public mutating func connected(at now: SessionTime, into out: inout [PlatformOutput]) {
        swap(&outbox, &out)
        defer { swap(&outbox, &out) }
        lastActivity = now
        if case .closed(let who) = link { link = who.map { .identified($0) } ?? .anonymous(setUpStarted: false) }
        note(.connection, "connected", at: now)
        maybeInitialise(at: now)
        pump(at: now)
        flush()
    }

    /// Bytes from the logger.
    public mutating func received(_ bytes: [UInt8], at now: SessionTime, into out: inout [PlatformOutput]) {
        bytes.withUnsafeBufferPointer { received(buffer: $0, at: now, into: &out) }
    }

    /// Bytes from the logger, lent by the driver for this call (a socket's read buffer).
    public mutating func received(buffer bytes: UnsafeBufferPointer<UInt8>, at now: SessionTime, into out: inout [PlatformOutput]) {
        guard !isClosed else { return }
        swap(&outbox, &out)
        defer { swap(&outbox, &out) }
        decoder.feed(bytes)
        while !isClosed, let event = decoder.next() {
            switch event {
            case .frame(let raw):
                lastActivity = now
                handle(raw, at: now)
            case .skipped(let skipped): noteSkipped(skipped, at: now)
            case .incomplete(let tail): noteIncomplete(tail, at: now)
            }
        }
        flush()
    }

    /// Time passed: delayed acks, command timeouts and resends, identification and idle timeouts.
    public mutating func tick(at now: SessionTime, into out: inout [PlatformOutput]) {
        guard !isClosed else { return }
        swap(&outbox, &out)
        defer { swap(&outbox, &out) }
        while let first = delayedAcks.first, first.due <= now {
            delayedAcks.removeFirst()
            outbox.append(.send(first.bytes, first.frame))
        }
        commandTimeouts(at: now)
        if logger == nil { expireUnsent(at: now) }
        if let event = decoder.flushSkipped(), case .skipped(let skipped) = event { noteSkipped(skipped, at: now) }
        pump(at: now)
        if let idle = options.idleTimeout, let last = lastActivity, now - last >= idle {
            note(.connection, "idle for \(idle / 1000) s: closing", at: now)
            outbox.append(.close(reason: "idle for \(idle / 1000) s"))
            shutDown(at: now)
        }
        flush()
    }

    /// The connection closed: the command in flight and queued ones end as `disconnected`,
    /// partial split records and held acks are dropped, a truncated last frame is recorded.
    /// Frames completed by the end of the stream are still accepted (their events come out);
    /// nothing is sent any more.
    public mutating func disconnected(at now: SessionTime, into out: inout [PlatformOutput]) {
        swap(&outbox, &out)
        defer { swap(&outbox, &out) }
        let wasClosed = isClosed
        if !wasClosed { link = .closed(identified) }  // nothing more is sent
        let first = outbox.count
        for event in decoder.finish() {
            switch event {
            case .frame(let raw): handle(raw, at: now)
            case .skipped(let skipped): noteSkipped(skipped, at: now)
            case .incomplete(let tail): noteIncomplete(tail, at: now)
            }
        }
        // What the last frames would trigger on the wire is dropped; their events stay.
        let events = outbox[first...].filter { $0.action == nil }
        outbox.removeSubrange(first...)
        outbox += events
        if !wasClosed { note(.connection, "disconnected", at: now) }
        shutDown(at: now)
        flush()
    }

    @discardableResult
    public mutating func connected(at now: SessionTime) -> [PlatformOutput] { collect { $0.connected(at: now, into: &$1) } }
    public mutating func received(_ bytes: [UInt8], at now: SessionTime) -> [PlatformOutput] { collect { $0.received(bytes, at: now, into: &$1) } }
    public mutating func tick(at now: SessionTime) -> [PlatformOutput] { collect { $0.tick(at: now, into: &$1) } }
    @discardableResult
    public mutating func disconnected(at now: SessionTime) -> [PlatformOutput] { collect { $0.disconnected(at: now, into: &$1) } }

    /// The array-returning forms are light drivers: they commit the outputs' state events to
    /// `state` themselves (the `into:` forms leave that to their driver: `state.commit(out)`).
    mutating func collect(_ body: (inout PlatformSession, inout [PlatformOutput]) -> Void) -> [PlatformOutput] {
        var out: [PlatformOutput] = []
        body(&self, &out)
        state.commit(out)
        return out
    }

    /// Runs requests (`send(command:)`, `requestHistory` …) for a driver that commits outputs
    /// itself: what they produce is appended to `out` and not committed to `state` here.
    public mutating func request(into out: inout [PlatformOutput], _ body: (inout PlatformSession) -> [PlatformOutput]) {
        commitsItself = false
        defer { commitsItself = true }
        out += body(&self)
    }

    /// The command in flight past its deadline: resent, or ended (no reply, execution timeout).
    mutating func commandTimeouts(at now: SessionTime) {
        guard var command = inFlight, command.deadline <= now else { return }
        switch command.phase {
        case .awaitingReply where command.attempts <= options.reCount:
            command.attempts += 1
            command.deadline = now + options.overTime
            inFlight = command
            delta.resends += 1
            outbox.append(.send(command.bytes, .command(CommandCode(command.command.cn), qn: command.qn, attempt: command.attempts)))
        case .awaitingReply:
            let reply: CommandCode = command.isNotification ? .notificationReply : .requestReply
            note(.command, "\(command.command.cn) QN=\(command.qn): no \(reply) after \(command.attempts) sends", at: now)
            finish(.noReply, at: now)
        case .executing:
            note(.command, "\(command.command.cn) QN=\(command.qn): no data or \(CommandCode.executionResult) within \(options.executionTimeout / 1000) s", at: now)
            finish(.executionTimeout, at: now)
        }
    }

    /// Queued commands for a logger that never identified itself expire.
    mutating func expireUnsent(at now: SessionTime) {
        while let first = queue.first, first.queuedAt + options.identifyTimeout <= now {
            queue.removeFirst()
            note(.command, "\(first.cn) not sent: the logger did not identify itself", at: now)
            record(expired: first, at: now)
        }
    }

    mutating func shutDown(at now: SessionTime) {
        if inFlight != nil { finish(.disconnected, at: now) }
        for command in queue { record(expired: command, at: now, outcome: .disconnected) }
        queue.removeAll()
        delayedAcks.removeAll()
        delta.reassemblyDropped += reassembler.pendingCount
        reassembler = SplitAssembly(budget: options.splitBudget, maxRecords: options.maxPendingSplits)
        if !isClosed { link = .closed(identified) }
    }

    // MARK: - Bookkeeping

    mutating func noteSkipped(_ skipped: SkippedBytes, at now: SessionTime) {
        delta.skippedBytes += skipped.count
        let diagnostic = state.linter.diagnose(skipped)
        delta.count(diagnostic)
        outbox.append(.diagnostic(RecordedDiagnostic(time: now, peer: peer, mn: logger?.mn, cn: nil, frameIndex: frameIndex, diagnostic: diagnostic)))
    }

    mutating func noteIncomplete(_ tail: IncompleteTail, at now: SessionTime) {
        delta.incompleteTails += 1
        let diagnostic = state.linter.diagnose(tail)
        delta.count(diagnostic)
        outbox.append(.diagnostic(RecordedDiagnostic(time: now, peer: peer, mn: logger?.mn, cn: nil, frameIndex: frameIndex, diagnostic: diagnostic)))
    }

    mutating func note(_ kind: PlatformLogEntry.Kind, _ message: String, mn: String? = nil, at now: SessionTime) {
        let who = mn.flatMap { $0.isEmpty ? nil : $0 } ?? logger?.mn
        outbox.append(.logged(PlatformLogEntry(time: now, peer: peer, mn: who, kind: kind, message: message)))
    }

    /// Ends an input: its counters go to the session's own and out as one `counted` output (the
    /// driver adds them to the platform's totals with the other events, `PlatformState.commit`).
    mutating func flush() {
        guard delta != PlatformCounters() else { return }
        counters.add(delta)
        outbox.append(.counted(delta))
        delta = PlatformCounters()
    }
}
