import HJ212
import HJSimulation

/// Deliberate protocol faults of the platform, for the self-tests of the logger certification
/// (does the logger notice a bad 9014?). All off by default. Each changes the 9014 and 9013
/// acknowledgements this session sends; nothing else.
public struct PlatformMisbehaviour: OptionSet, Sendable, Hashable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// Acks carry the acknowledged packet's ST instead of 91 (seen in `IceCoffee.HJ212`).
    public static let ackWrongST = PlatformMisbehaviour(rawValue: 1 << 0)
    /// Acks carry a fresh QN instead of echoing the acknowledged packet's QN.
    public static let noQNEcho = PlatformMisbehaviour(rawValue: 1 << 1)
    /// Acks are framed with CRC-16/MODBUS, bytes swapped (`FrameEncoder.CRCStyle.modbusSwapped`).
    public static let modbusCRC = PlatformMisbehaviour(rawValue: 1 << 2)
    /// Packets with a wrong CRC are accepted and acknowledged like good ones.
    public static let acknowledgeBadCRC = PlatformMisbehaviour(rawValue: 1 << 3)
    /// MNs missing from the registry are accepted (a wrong PW of a listed MN is still refused).
    public static let acceptUnknownMN = PlatformMisbehaviour(rawValue: 1 << 4)
    /// Uploads and notifications are acknowledged even when their Flag has A=0.
    public static let ackEvenWithoutFlagA = PlatformMisbehaviour(rawValue: 1 << 5)
    /// Acks carry `CP=&&QnRtn=1&&` instead of the empty `CP=&&&&` (seen in the wild, HJ212.md R12).
    public static let nonEmptyAckCP = PlatformMisbehaviour(rawValue: 1 << 6)
    /// Frames whose length field disagrees with their data segment are accepted and acknowledged.
    public static let acknowledgeBadLength = PlatformMisbehaviour(rawValue: 1 << 7)
    /// Frames whose data segment exceeds 1024 bytes (unsplit) are accepted and acknowledged.
    public static let acknowledgeOversize = PlatformMisbehaviour(rawValue: 1 << 8)
    /// A listed MN with a wrong PW is accepted (unknown MNs are still refused).
    public static let acceptWrongPW = PlatformMisbehaviour(rawValue: 1 << 9)

    /// The switches by name (for `hj212 serve --misbehave`), in declaration order.
    public static let named: [(name: String, value: PlatformMisbehaviour)] = [
        ("ackWrongST", .ackWrongST), ("noQNEcho", .noQNEcho), ("modbusCRC", .modbusCRC), ("acknowledgeBadCRC", .acknowledgeBadCRC),
        ("acceptUnknownMN", .acceptUnknownMN), ("ackEvenWithoutFlagA", .ackEvenWithoutFlagA), ("nonEmptyAckCP", .nonEmptyAckCP),
        ("acknowledgeBadLength", .acknowledgeBadLength), ("acknowledgeOversize", .acknowledgeOversize), ("acceptWrongPW", .acceptWrongPW),
    ]
}

/// When the platform runs the first-connection set-up of HJ 212-2017 §6.7 (HJ212.md §6.3).
public enum InitialisePolicy: String, Sendable, Equatable {
    /// Only when asked (`initialise(at:)`).
    case never
    /// On every connection: at `connected` when the logger is known in advance
    /// (`Options.expectedLogger`), otherwise at its first accepted packet.
    case everyConnection
    /// The first time the platform meets an MN (once per `PlatformState`), as §6.7 says.
    case firstContact
}

/// The outcome of a command the platform sent to a logger.
public struct CommandResult: Sendable, Equatable {
    public enum Outcome: String, Sendable, Equatable {
        /// 9012 arrived (see `exeRtn`).
        case completed
        /// A notification (2012, 2022) answered by 9013.
        case acknowledged
        /// 9011 with QnRtn ≠ 1 (or without a usable QnRtn).
        case rejected
        /// No 9011 (9013 for a notification) within OverTime after the first send and every resend.
        case noReply
        /// 9011 came, but no data and no 9012 within the execution timeout.
        case executionTimeout
        /// Never sent: the logger did not identify itself in time, or the queue was full.
        case expired
        /// The connection closed first.
        case disconnected
    }

    public var cn: String
    /// The request's QN (empty when it was never sent).
    public var qn: String
    public var mn: String
    public var peer: String
    /// The request as sent (or as it would have been built).
    public var request: DataSegment?
    public var qnRtn: Int?
    public var exeRtn: Int?
    /// Records received for the command (history records, 1011/1061/1063/3020 … responses;
    /// a reassembled split record counts once).
    public var records: Int
    /// The first of those records (at most `Options.maxResponsesPerCommand`).
    public var responses: [DataSegment]
    /// Sends of the request (1 + resends).
    public var attempts: Int
    public var queuedAt: SessionTime
    public var sentAt: SessionTime?
    public var finishedAt: SessionTime
    public var outcome: Outcome

    /// From the first send to the outcome.
    public var duration: SessionTime? { sentAt.map { finishedAt - $0 } }
    /// Executed successfully: ExeRtn=1, or a notification acknowledged.
    public var succeeded: Bool { outcome == .acknowledged || (outcome == .completed && exeRtn == 1) }
    public var timedOut: Bool { outcome == .noReply || outcome == .executionTimeout }
}

/// The host side (上位机) of one TCP connection with a data logger: decodes and lints what the
/// logger sends, acknowledges it, keeps its records in the shared `PlatformState`, and sends
/// commands one at a time, tracking 9011 / data / 9012 with timeouts. Sans-I/O: events in,
/// `SessionAction`s out; time only comes in as arguments.
///
/// ```swift
/// let state = try PlatformState()
/// var session = PlatformSession(state: state, peer: "127.0.0.1:50412")
/// perform(session.connected(at: now))
/// perform(session.received(bytesFromSocket, at: now))      // 9014 / 9013 acks, commands
/// perform(session.requestHistory(cn: "2061", from: t0, to: t1, at: now))
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
        /// Close the connection after this long without a byte from the logger (ms); nil: never.
        /// Default 2 h (hourly-only loggers are quiet for an hour).
        public var idleTimeout: SessionTime? = 7_200_000
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
        public var maxPendingSplits = 64
        public var maxQueuedCommands = 64
        public var maxResponsesPerCommand = 64
        public var maxSessionResults = 1_000
        public var maxDelayedAcks = 1_024
        /// Collect accepted packets, records and command results for `takeJournal()` (a storing driver).
        public var journal = false

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

    /// The logger on this connection (expected, or from its first accepted packet).
    public private(set) var logger: LoggerIdentity?
    /// The logger's ST (other than 91) and dialect, once seen.
    public private(set) var loggerST: String?
    public private(set) var loggerDialect: Dialect?
    /// This connection's counters (also added to `state.counters`).
    public private(set) var counters = PlatformCounters()
    /// This connection's command outcomes, oldest first (also in `state.completedCommands`).
    public private(set) var completedCommands: [CommandResult] = []
    public private(set) var isClosed = false

    var decoder = FrameDecoder()
    var reassembler: Reassembler
    var frameIndex = 0
    var lastQNTime: SessionTime = .min
    var lastActivity: SessionTime?
    var initialised = false
    var queue: [QueuedCommand] = []
    var inFlight: InFlight?
    var delayedAcks: [(due: SessionTime, bytes: [UInt8])] = []
    /// Accepted packets and stored records of the current event, handed to the shared state in
    /// one lock by `flush` (with the counters and the log).
    var pendingTouches: [PlatformState.Touch] = []
    var pendingRecords: [(DataSegment, SessionTime)] = []

    // Per-event scratch, merged into `state` at the end of every event.
    var delta = PlatformCounters()
    var pendingLog: [PlatformLogEntry] = []
    var pendingDiagnostics: [RecordedDiagnostic] = []
    var pendingResults: [CommandResult] = []
    /// What `takeJournal()` hands over (filled only with `options.journal`).
    var journaled = PlatformJournal()

    public init(state: PlatformState, peer: String, options: Options = Options()) {
        self.state = state
        self.peer = peer
        self.options = options
        self.logger = options.expectedLogger
        self.reassembler = Reassembler(maxPending: options.maxPendingSplits)
    }

    /// The QN of the command in flight, if any.
    public var commandInFlight: String? { inFlight?.qn }
    /// Commands waiting behind it.
    public var queuedCommands: Int { queue.count }
    /// Split records waiting for their other packets.
    public var pendingSplitRecords: Int { reassembler.pendingCount }

    /// When `tick` must run next: a delayed ack, a command timeout, an identification timeout, idleness.
    public var nextDeadline: SessionTime? {
        guard !isClosed else { return nil }
        var earliest: SessionTime?
        func consider(_ t: SessionTime) { if earliest == nil || t < earliest! { earliest = t } }
        if let first = delayedAcks.first { consider(first.due) }
        if let inFlight { consider(inFlight.deadline) }
        if logger == nil, let first = queue.first { consider(first.queuedAt + options.identifyTimeout) }
        if let idle = options.idleTimeout, let last = lastActivity { consider(last + idle) }
        return earliest
    }

    // MARK: - Events

    /// The logger connected. With a known logger and an `initialise` policy, starts the set-up.
    public mutating func connected(at now: SessionTime) -> [SessionAction] {
        lastActivity = now
        isClosed = false
        note(.connection, "connected", at: now)
        var actions: [SessionAction] = []
        maybeInitialise(at: now, &actions)
        pump(at: now, &actions)
        flush()
        return actions
    }

    /// Bytes from the logger.
    public mutating func received(_ bytes: [UInt8], at now: SessionTime) -> [SessionAction] {
        guard !isClosed else { return [] }
        lastActivity = now
        decoder.feed(bytes)
        var actions: [SessionAction] = []
        while let event = decoder.next() {
            switch event {
            case .frame(let raw): handle(raw, at: now, &actions)
            case .skipped(let skipped): noteSkipped(skipped, at: now)
            case .incomplete(let tail): noteIncomplete(tail, at: now)
            }
        }
        flush()
        return actions
    }

    /// Time passed: delayed acks, command timeouts and resends, identification and idle timeouts.
    public mutating func tick(at now: SessionTime) -> [SessionAction] {
        guard !isClosed else { return [] }
        var actions: [SessionAction] = []
        while let first = delayedAcks.first, first.due <= now {
            delayedAcks.removeFirst()
            actions.append(.send(first.bytes))
        }
        if var command = inFlight, command.deadline <= now {
            switch command.phase {
            case .awaitingReply where command.attempts <= options.reCount:
                command.attempts += 1
                command.deadline = now + options.overTime
                inFlight = command
                delta.resends += 1
                actions.append(.send(command.bytes))
            case .awaitingReply:
                note(.command, "\(command.command.cn) QN=\(command.qn): no \(command.isNotification ? "9013" : "9011") after \(command.attempts) sends", at: now)
                finish(.noReply, at: now)
            case .executing:
                note(.command, "\(command.command.cn) QN=\(command.qn): no data or 9012 within \(options.executionTimeout / 1000) s", at: now)
                finish(.executionTimeout, at: now)
            }
        }
        if logger == nil {
            while let first = queue.first, first.queuedAt + options.identifyTimeout <= now {
                queue.removeFirst()
                note(.command, "\(first.cn) not sent: the logger did not identify itself", at: now)
                record(expired: first, at: now)
            }
        }
        if let event = decoder.flushSkipped(), case .skipped(let skipped) = event { noteSkipped(skipped, at: now) }
        pump(at: now, &actions)
        if let idle = options.idleTimeout, let last = lastActivity, now - last >= idle {
            note(.connection, "idle for \(idle / 1000) s: closing", at: now)
            actions.append(.close(reason: "idle for \(idle / 1000) s"))
            shutDown(at: now)
        }
        flush()
        return actions
    }

    /// The connection closed: the command in flight and queued ones end as `disconnected`,
    /// partial split records and held acks are dropped, a truncated last frame is recorded.
    public mutating func disconnected(at now: SessionTime) {
        let wasClosed = isClosed
        isClosed = true  // nothing more is sent; what the last frames would trigger is dropped
        for event in decoder.finish() {
            switch event {
            case .frame(let raw):
                var ignored: [SessionAction] = []
                handle(raw, at: now, &ignored)
            case .skipped(let skipped): noteSkipped(skipped, at: now)
            case .incomplete(let tail): noteIncomplete(tail, at: now)
            }
        }
        if !wasClosed { note(.connection, "disconnected", at: now) }
        shutDown(at: now)
        flush()
    }

    mutating func shutDown(at now: SessionTime) {
        if inFlight != nil { finish(.disconnected, at: now) }
        for command in queue { record(expired: command, at: now, outcome: .disconnected) }
        queue.removeAll()
        delayedAcks.removeAll()
        delta.reassemblyDropped += reassembler.pendingCount
        reassembler = Reassembler(maxPending: options.maxPendingSplits)
        isClosed = true
    }

    // MARK: - Commands

    /// Sends a command (or queues it behind the one in flight). `cp` groups are `;`-separated,
    /// entries within a group `,`-separated.
    public mutating func send(command cn: String, cp: [[Field]], at now: SessionTime) -> [SessionAction] {
        enqueue(QueuedCommand(cn: cn, cp: cp, stampSystemTime: false, queuedAt: now), at: now)
        return drain(at: now)
    }

    /// History data (2031, 2041, 2051, 2061): `BeginTime=…;EndTime=…` (14 digits, `;` as in C.20, C.48).
    public mutating func requestHistory(cn: String = "2061", from: SessionTime, to: SessionTime, at now: SessionTime) -> [SessionAction] {
        send(command: cn, cp: [[Field("BeginTime", Self.time14(from))], [Field("EndTime", Self.time14(to))]], at: now)
    }

    /// 1012: set the logger's (or instrument `polId`'s) clock to the platform's time at sending.
    public mutating func setTime(polId: String? = nil, at now: SessionTime) -> [SessionAction] {
        enqueue(Self.setTimeCommand(polId: polId, at: now), at: now)
        return drain(at: now)
    }

    /// 1000: OverTime (s) and ReCount.
    public mutating func setOverTime(seconds: Int, reCount: Int, at now: SessionTime) -> [SessionAction] {
        send(command: "1000", cp: [[Field("OverTime", String(seconds))], [Field("ReCount", String(reCount))]], at: now)
    }

    /// 1062: RtdInterval (s).
    public mutating func setRtdInterval(_ seconds: Int, at now: SessionTime) -> [SessionAction] {
        send(command: "1062", cp: [[Field("RtdInterval", String(seconds))]], at: now)
    }

    /// 1064: MinInterval (min). On ExeRtn=1 the unit's MinInterval becomes this (completeness).
    public mutating func setMinInterval(_ minutes: Int, at now: SessionTime) -> [SessionAction] {
        send(command: "1064", cp: [[Field("MinInterval", String(minutes))]], at: now)
    }

    /// 1072: new password. On ExeRtn=1 the registry and the session use it.
    public mutating func setPassword(_ newPW: String, at now: SessionTime) -> [SessionAction] {
        send(command: "1072", cp: [[Field("NewPW", newPW)]], at: now)
    }

    /// 3020 request: `[PolId=…;]InfoId=…[;BeginTime=…;EndTime=…]` (logs take a range, C.41).
    public mutating func getInfo(polId: String?, infoId: String, from: SessionTime? = nil, to: SessionTime? = nil,
                                 at now: SessionTime) -> [SessionAction] {
        var cp: [[Field]] = []
        if let polId { cp.append([Field("PolId", polId)]) }
        cp.append([Field("InfoId", infoId)])
        if let from, let to {
            cp.append([Field("BeginTime", Self.time14(from))])
            cp.append([Field("EndTime", Self.time14(to))])
        }
        return send(command: "3020", cp: cp, at: now)
    }

    /// 3021: `[PolId=…;]InfoId=…;<infoId>-Info=<value>` (C.46).
    public mutating func setInfo(polId: String?, infoId: String, value: String, at now: SessionTime) -> [SessionAction] {
        var cp: [[Field]] = []
        if let polId { cp.append([Field("PolId", polId)]) }
        cp.append([Field("InfoId", infoId)])
        cp.append([Field("\(infoId)-Info", value)])
        return send(command: "3021", cp: cp, at: now)
    }

    /// The first-connection set-up of HJ 212-2017 §6.7, in its order: 1012 set time, 1000
    /// OverTime/ReCount, 1062 RtdInterval, 1064 MinInterval, 2011 start real-time data, 2021
    /// start facility status. One at a time, each after the previous completes or times out.
    public mutating func initialise(at now: SessionTime) -> [SessionAction] {
        startInitialisation(at: now)
        return drain(at: now)
    }

    mutating func startInitialisation(at now: SessionTime) {
        initialised = true
        if let mn = logger?.mn { _ = state.markInitialised(mn) }
        enqueue(Self.setTimeCommand(polId: nil, at: now), at: now)
        enqueue(QueuedCommand(cn: "1000", cp: [[Field("OverTime", String(options.initialOverTime))], [Field("ReCount", String(options.initialReCount))]],
                              stampSystemTime: false, queuedAt: now), at: now)
        enqueue(QueuedCommand(cn: "1062", cp: [[Field("RtdInterval", String(options.initialRtdInterval))]], stampSystemTime: false, queuedAt: now), at: now)
        enqueue(QueuedCommand(cn: "1064", cp: [[Field("MinInterval", String(options.initialMinInterval))]], stampSystemTime: false, queuedAt: now), at: now)
        enqueue(QueuedCommand(cn: "2011", cp: [], stampSystemTime: false, queuedAt: now), at: now)
        enqueue(QueuedCommand(cn: "2021", cp: [], stampSystemTime: false, queuedAt: now), at: now)
    }

    mutating func maybeInitialise(at now: SessionTime, _ actions: inout [SessionAction]) {
        guard !initialised, let mn = logger?.mn else { return }
        switch options.initialise {
        case .never:
            return
        case .everyConnection:
            startInitialisation(at: now)
        case .firstContact:
            initialised = true
            if state.markInitialised(mn) { startInitialisation(at: now) }
        }
    }

    static func setTimeCommand(polId: String?, at now: SessionTime) -> QueuedCommand {
        var cp: [[Field]] = []
        if let polId { cp.append([Field("PolId", polId)]) }
        cp.append([Field("SystemTime", time14(now))])
        return QueuedCommand(cn: "1012", cp: cp, stampSystemTime: true, queuedAt: now)
    }

    static func time14(_ t: SessionTime) -> String { HJTime(wallMilliseconds: t).text14 }

    mutating func enqueue(_ command: QueuedCommand, at now: SessionTime) {
        guard !isClosed else {
            record(expired: command, at: now, outcome: .disconnected)
            return
        }
        guard queue.count < options.maxQueuedCommands else {
            note(.command, "\(command.cn) not sent: \(queue.count) commands already queued", at: now)
            record(expired: command, at: now)
            return
        }
        queue.append(command)
    }

    mutating func drain(at now: SessionTime) -> [SessionAction] {
        var actions: [SessionAction] = []
        pump(at: now, &actions)
        flush()
        return actions
    }

    /// Sends the next queued command when nothing is in flight and the logger is known.
    mutating func pump(at now: SessionTime, _ actions: inout [SessionAction]) {
        guard !isClosed, inFlight == nil, let logger, !queue.isEmpty else { return }
        let command = queue.removeFirst()
        let qn = freshQN(at: now)
        var cp = command.cp
        if command.stampSystemTime {
            for g in cp.indices { for e in cp[g].indices where cp[g][e].name == "SystemTime" { cp[g][e].value = Self.time14(now) } }
        }
        let dialect = loggerDialect ?? options.dialect
        let header = [
            Field("QN", qn), Field("ST", loggerST ?? "32"), Field("CN", command.cn), Field("PW", logger.pw), Field("MN", logger.mn),
            Field("Flag", String(PacketFlag(version: Self.version(of: dialect), split: false, ack: true).rawValue)),
        ]
        let request = DataSegment(header: header, cp: cp)
        let bytes = FrameEncoder.frame(request)
        let isNotification = dictionaryCommand(command.cn, dialect: dialect)?.down == "notification"
        inFlight = InFlight(command: command, request: request, bytes: bytes, qn: qn, isNotification: isNotification, sentAt: now,
                            attempts: 1, phase: .awaitingReply, deadline: now + options.overTime)
        delta.commandsSent += 1
        actions.append(.send(bytes))
    }

    /// A QN from the time, strictly increasing within the session (so unique in it).
    mutating func freshQN(at now: SessionTime, avoiding other: String? = nil) -> String {
        var t = Swift.max(now, lastQNTime == .min ? now : lastQNTime + 1)
        var qn = HJTime(wallMilliseconds: t).text17
        if qn == other {
            t += 1
            qn = HJTime(wallMilliseconds: t).text17
        }
        lastQNTime = t
        return qn
    }

    static func version(of dialect: Dialect) -> Int {
        switch dialect {
        case .hj2005: return 0
        case .hj2025: return 2
        case .hj2017, .unknown: return 1
        }
    }

    func dictionaryCommand(_ cn: String, dialect: Dialect) -> CodeDictionary.Command? {
        state.linter.dictionary(dialect).command(cn) ?? state.linter.dictionary(.hj2017).command(cn)
    }

    mutating func finish(_ outcome: CommandResult.Outcome, exeRtn: Int? = nil, at now: SessionTime) {
        guard let command = inFlight else { return }
        inFlight = nil
        let result = CommandResult(
            cn: command.command.cn, qn: command.qn, mn: command.request.mn ?? "", peer: peer, request: command.request,
            qnRtn: command.qnRtn, exeRtn: exeRtn, records: command.records, responses: command.responses,
            attempts: command.attempts, queuedAt: command.command.queuedAt, sentAt: command.sentAt, finishedAt: now, outcome: outcome)
        if result.succeeded, let mn = command.request.mn {
            state.commandSucceeded(cn: command.command.cn, request: command.request, mn: mn)
            if command.command.cn == "1072", let pw = command.request.cpValue("NewPW"), logger?.mn == mn {
                logger?.pw = pw
                note(.registry, "password of \(mn) changed by 1072", at: now)
            }
        }
        append(result)
    }

    mutating func record(expired command: QueuedCommand, at now: SessionTime, outcome: CommandResult.Outcome = .expired) {
        append(CommandResult(cn: command.cn, qn: "", mn: logger?.mn ?? "", peer: peer, request: nil, qnRtn: nil, exeRtn: nil,
                             records: 0, responses: [], attempts: 0, queuedAt: command.queuedAt, sentAt: nil, finishedAt: now,
                             outcome: outcome))
    }

    mutating func append(_ result: CommandResult) {
        completedCommands.append(result)
        if completedCommands.count > options.maxSessionResults { completedCommands.removeFirst(completedCommands.count - options.maxSessionResults) }
        pendingResults.append(result)
        if options.journal { journaled.results.append(result) }
    }

    // MARK: - Frames

    mutating func handle(_ raw: RawFrame, at now: SessionTime, _ actions: inout [SessionAction]) {
        let report = state.linter.check(raw, index: frameIndex)
        frameIndex += 1
        let segment = report.segment
        delta.frames += 1
        for diagnostic in report.diagnostics {
            delta.count(diagnostic)
            pendingDiagnostics.append(RecordedDiagnostic(time: now, peer: peer, mn: segment.mn, cn: segment.cn,
                                                         frameIndex: report.index, diagnostic: diagnostic))
        }
        let mn = segment.mn ?? ""

        // CRC.
        if !report.crc.ok {
            let variantAccepted = report.crc.variant != nil && options.acceptCRCVariants
            if !variantAccepted && !options.misbehaviour.contains(.acknowledgeBadCRC) {
                delta.rejectedBadCRC += 1
                let what = report.crc.variant.map { "CRC '\(report.crc.declared)' is the \($0) variant" }
                    ?? "CRC '\(report.crc.declared)' (computed '\(report.crc.computed)')"
                note(.rejected, "frame \(report.index) CN=\(segment.cn ?? "?"): \(what); not acknowledged", mn: mn, at: now)
                return
            }
        }
        // Length: the declared length must be the data segment's (bytes, or characters as some
        // firmware counts them), and the segment at most 1024 bytes (Table 2).
        let byteCount = raw.segment.count
        if raw.declaredLength != byteCount && !options.misbehaviour.contains(.acknowledgeBadLength) {
            let text = raw.segmentText
            if raw.declaredLength != text.utf16.count && raw.declaredLength != text.unicodeScalars.count {
                delta.rejectedMalformed += 1
                note(.rejected, "frame \(report.index) CN=\(segment.cn ?? "?"): length field '\(String(decoding: raw.lengthBytes, as: UTF8.self))', the data segment has \(byteCount) bytes; not acknowledged",
                     mn: mn, at: now)
                return
            }
        }
        if byteCount > PacketSplitter.maxSegmentBytes && !options.misbehaviour.contains(.acknowledgeOversize) {
            delta.rejectedMalformed += 1
            note(.rejected, "frame \(report.index) CN=\(segment.cn ?? "?"): data segment of \(byteCount) bytes, over \(PacketSplitter.maxSegmentBytes) and not split; not acknowledged",
                 mn: mn, at: now)
            return
        }
        guard let cn = segment.cn, !cn.isEmpty else {
            delta.rejectedMalformed += 1
            note(.rejected, "frame \(report.index): no CN; not acknowledged", mn: mn, at: now)
            return
        }

        // Access.
        if let verdict = state.check(mn: mn, pw: segment.pw) {
            switch verdict {
            case .accepted:
                break
            case .unknownMN where options.misbehaviour.contains(.acceptUnknownMN):
                break
            case .unknownMN:
                delta.rejectedUnknownMN += 1
                note(.rejected, "CN=\(cn) QN=\(segment.qn ?? "-"): MN '\(mn)' is not registered; not acknowledged", mn: mn, at: now)
                return
            case .wrongPW where options.misbehaviour.contains(.acceptWrongPW):
                break
            case .wrongPW(let expected):
                // The answer to our own 1072 may already carry the new password.
                let newPW = inFlight.flatMap { $0.command.cn == "1072" && $0.qn == segment.qn ? $0.request.cpValue("NewPW") : nil }
                if newPW == nil || segment.pw != newPW {
                    delta.rejectedBadPW += 1
                    note(.rejected, "CN=\(cn) QN=\(segment.qn ?? "-"): PW '\(segment.pw ?? "")' is not the registered one ('\(expected)'); not acknowledged",
                         mn: mn, at: now)
                    return
                }
            }
        }
        delta.accepted += 1
        if options.journal { journaled.packets.append(.init(frame: raw.bytes, segment: segment, time: now, peer: peer)) }

        // Who is on this connection.
        var identified = false
        if logger == nil, !mn.isEmpty {
            logger = LoggerIdentity(mn: mn, pw: segment.pw ?? "")
            identified = true
        } else if let current = logger, current.mn == mn, let pw = segment.pw, pw != current.pw, cn != "9011", cn != "9012" {
            logger?.pw = pw
        }
        if logger?.mn == mn {
            if let st = segment.st, st != "91" { loggerST = st }
            if report.detectedDialect != .unknown { loggerDialect = report.detectedDialect }
        }
        pendingTouches.append(PlatformState.Touch(mn: mn, pw: segment.pw, st: segment.st, dialect: report.detectedDialect, cn: cn, peer: peer, time: now))

        let wantsAck = (segment.flag?.needsAck ?? false) || options.misbehaviour.contains(.ackEvenWithoutFlagA)
        let version = Self.version(of: report.detectedDialect)
        switch cn {
        case "9011", "9012", "9013":
            handleReply(cn, segment, at: now)
        case "9014":
            delta.unexpected += 1
            note(.unexpected, "9014 QN=\(segment.qn ?? "-") from a logger: the platform sent nothing to acknowledge", mn: mn, at: now)
        default:
            switch dictionaryCommand(cn, dialect: report.detectedDialect)?.up {
            case "upload":
                if wantsAck { acknowledge("9014", segment, version: version, at: now, &actions) }
                handleUpload(segment, at: now)
            case "notification":
                if wantsAck { acknowledge("9013", segment, version: version, at: now, &actions) }
                if cn == "1013" && options.answerTimeRequests {
                    enqueue(Self.setTimeCommand(polId: segment.cpValue("PolId"), at: now), at: now)
                }
            default:
                delta.unexpected += 1
                note(.unexpected, "CN=\(cn) QN=\(segment.qn ?? "-") is not something a logger sends; not acknowledged", mn: mn, at: now)
            }
        }
        if identified { maybeInitialise(at: now, &actions) }
        pump(at: now, &actions)
    }

    /// Builds and sends (or holds, with `ackDelay`) a 9014 / 9013.
    mutating func acknowledge(_ cn: String, _ packet: DataSegment, version: Int, at now: SessionTime, _ actions: inout [SessionAction]) {
        let faults = options.misbehaviour
        if faults.isEmpty && version != 0 {
            // The common case written straight to bytes: the same fields, in the same order, as
            // `replySegment` gives (QN echoed, ST=91, CN, PW and MN echoed, Flag without A).
            var segment: [UInt8] = []
            segment.reserveCapacity(96)
            func add(_ name: StaticString, _ value: String) {
                segment.append(contentsOf: UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
                segment.append(UInt8(ascii: "="))
                segment.append(contentsOf: value.utf8)
                segment.append(UInt8(ascii: ";"))
            }
            if let qn = packet.qn { add("QN", qn) }
            add("ST", "91")
            add("CN", cn)
            add("PW", packet.pw ?? "")
            add("MN", packet.mn ?? "")
            add("Flag", String(PacketFlag(version: version, split: false, ack: false).rawValue))
            segment.append(contentsOf: "CP=&&&&".utf8)
            let bytes = FrameEncoder.frame(segmentBytes: segment)
            if cn == "9014" { delta.acks9014 += 1 } else { delta.acks9013 += 1 }
            if options.ackDelay > 0 && delayedAcks.count < options.maxDelayedAcks {
                delayedAcks.append((now + options.ackDelay, bytes))
            } else {
                actions.append(.send(bytes))
            }
            return
        }
        var reply = replySegment(cn: cn, to: packet, cp: faults.contains(.nonEmptyAckCP) ? [[Field("QnRtn", "1")]] : [], version: version)
        if version == 0, let qn = packet.qn {
            // The HJ/T 212-2005 form: no QN in the header, the answered QN (and for 9014 the CN) in CP.
            reply.header.removeAll { $0.name == "QN" }
            reply.cp = cn == "9014" ? [[Field("QN", qn)], [Field("CN", packet.cn ?? "")]] : [[Field("QN", qn)]]
        }
        if faults.contains(.ackWrongST), let st = packet.st { reply.setHeader("ST", st) }
        if faults.contains(.noQNEcho) {
            let qn = freshQN(at: now, avoiding: packet.qn)
            if reply.qn != nil { reply.setHeader("QN", qn) } else { reply.header.insert(Field("QN", qn), at: 0) }
        }
        let bytes = FrameEncoder.frame(reply, crcStyle: faults.contains(.modbusCRC) ? .modbusSwapped : .standard)
        if cn == "9014" { delta.acks9014 += 1 } else { delta.acks9013 += 1 }
        if options.ackDelay > 0 && delayedAcks.count < options.maxDelayedAcks {
            delayedAcks.append((now + options.ackDelay, bytes))
        } else {
            actions.append(.send(bytes))
        }
    }

    mutating func handleUpload(_ packet: DataSegment, at now: SessionTime) {
        let split = (packet.flag?.isSplit ?? false) || packet.header("PNUM") != nil
        if split { delta.splitPackets += 1 }
        let droppedBefore = reassembler.dropped
        let outcome = reassembler.add(packet)
        delta.reassemblyDropped += reassembler.dropped - droppedBefore
        switch outcome {
        case .whole(let record):
            store(record, at: now)
        case .complete(let record):
            if split { delta.reassembled += 1 }
            store(record, at: now)
        case .pending:
            // A sub-packet of the command's answer restarts its execution timeout (§6.2).
            if var command = inFlight, matches(packet, command) {
                if command.phase == .awaitingReply { command.phase = .executing }
                command.deadline = now + options.executionTimeout
                inFlight = command
            }
        case .rejected(let why):
            delta.reassemblyRejected += 1
            note(.reassembly, "CN=\(packet.cn ?? "?") QN=\(packet.qn ?? "-"): \(why)", mn: packet.mn, at: now)
        }
    }

    /// Whether a packet answers the command in flight: it reuses the request's QN (single
    /// responses, C.2, C.5, C.7 …), or it has the command's CN and, when the request asked for a
    /// BeginTime…EndTime range, a DataTime inside it (history records get new QNs, C.20; a
    /// periodic upload of the same CN arriving meanwhile is not counted).
    func matches(_ packet: DataSegment, _ command: InFlight) -> Bool {
        guard packet.mn == command.request.mn else { return false }
        if let qn = packet.qn, qn == command.qn { return true }
        guard packet.cn == command.command.cn else { return false }
        guard let begin = command.request.cpValue("BeginTime").flatMap({ HJTime($0, allowMilliseconds: true) }),
              let end = command.request.cpValue("EndTime").flatMap({ HJTime($0, allowMilliseconds: true) })
        else { return true }
        guard let dataTime = packet.cpValue("DataTime").flatMap({ HJTime($0, allowMilliseconds: true) }) else { return false }
        return dataTime >= begin && dataTime <= end
    }

    mutating func store(_ record: DataSegment, at now: SessionTime) {
        delta.records += 1
        pendingRecords.append((record, now))
        if options.journal { journaled.records.append(.init(packet: journaled.packets.count - 1, segment: record, time: now)) }
        if var command = inFlight, !command.isNotification, matches(record, command) {
            command.records += 1
            if command.responses.count < options.maxResponsesPerCommand { command.responses.append(record) }
            if command.phase == .awaitingReply { command.phase = .executing }
            command.deadline = now + options.executionTimeout
            inFlight = command
        }
    }

    mutating func handleReply(_ cn: String, _ reply: DataSegment, at now: SessionTime) {
        // HJ/T 212-2005 replies carry the answered QN inside CP (reference §9.1, §9.3).
        let answeredQN = reply.qn ?? reply.cpValue("QN")
        guard var command = inFlight, answeredQN == command.qn, reply.mn == command.request.mn else {
            delta.unexpected += 1
            note(.unexpected, "\(cn) QN=\(reply.qn ?? "-") answers no command in flight\(inFlight.map { " (in flight: \($0.command.cn) QN=\($0.qn))" } ?? "")",
                 mn: reply.mn, at: now)
            return
        }
        switch cn {
        case "9013" where command.isNotification:
            finish(.acknowledged, at: now)
        case "9011" where !command.isNotification:
            let code = reply.cpValue("QnRtn").flatMap { Int($0) }
            guard command.phase == .awaitingReply else {
                // A repeated 9011 (we resent), or one that came after the first record.
                if command.qnRtn == nil { command.qnRtn = code; inFlight = command }
                return
            }
            command.qnRtn = code
            if code == 1 {
                command.phase = .executing
                command.deadline = now + options.executionTimeout
                inFlight = command
            } else {
                inFlight = command
                note(.command, "\(command.command.cn) QN=\(command.qn) refused: QnRtn=\(reply.cpValue("QnRtn") ?? "missing")", at: now)
                finish(.rejected, at: now)
            }
        case "9012" where !command.isNotification:
            let code = reply.cpValue("ExeRtn").flatMap { Int($0) }
            if code != 1 {
                note(.command, "\(command.command.cn) QN=\(command.qn) ended with ExeRtn=\(reply.cpValue("ExeRtn") ?? "missing")", at: now)
            }
            finish(.completed, exeRtn: code, at: now)
        default:
            delta.unexpected += 1
            note(.unexpected, "\(cn) QN=\(reply.qn ?? "-") does not fit \(command.command.cn) (\(command.isNotification ? "notification" : "request"))",
                 mn: reply.mn, at: now)
        }
    }

    // MARK: - Bookkeeping

    mutating func noteSkipped(_ skipped: SkippedBytes, at now: SessionTime) {
        delta.skippedBytes += skipped.count
        let diagnostic = state.linter.diagnose(skipped)
        delta.count(diagnostic)
        pendingDiagnostics.append(RecordedDiagnostic(time: now, peer: peer, mn: logger?.mn, cn: nil, frameIndex: frameIndex, diagnostic: diagnostic))
    }

    mutating func noteIncomplete(_ tail: IncompleteTail, at now: SessionTime) {
        delta.incompleteTails += 1
        let diagnostic = state.linter.diagnose(tail)
        delta.count(diagnostic)
        pendingDiagnostics.append(RecordedDiagnostic(time: now, peer: peer, mn: logger?.mn, cn: nil, frameIndex: frameIndex, diagnostic: diagnostic))
    }

    mutating func note(_ kind: PlatformLogEntry.Kind, _ message: String, mn: String? = nil, at now: SessionTime) {
        let who = mn.flatMap { $0.isEmpty ? nil : $0 } ?? logger?.mn
        pendingLog.append(PlatformLogEntry(time: now, peer: peer, mn: who, kind: kind, message: message))
    }

    /// Hands the event's counters, log lines, diagnostics and results to the shared state.
    mutating func flush() {
        counters.add(delta)
        let cap = state.limits.maxDiagnostics
        if pendingDiagnostics.count > cap { pendingDiagnostics.removeFirst(pendingDiagnostics.count - cap) }
        state.commit(touches: pendingTouches, records: pendingRecords, delta: delta, log: pendingLog, diagnostics: pendingDiagnostics,
                     results: pendingResults)
        pendingTouches.removeAll(keepingCapacity: true)
        pendingRecords.removeAll(keepingCapacity: true)
        delta = PlatformCounters()
        pendingLog.removeAll(keepingCapacity: true)
        pendingDiagnostics.removeAll(keepingCapacity: true)
        pendingResults.removeAll(keepingCapacity: true)
    }
}
