import HJ212
import HJSimulation

/// Commands to the logger: queueing, sending one at a time, QNs, outcomes.
extension PlatformSession {
    // MARK: - Commands

    /// Sends a command (or queues it behind the one in flight). `cp` groups are `;`-separated,
    /// entries within a group `,`-separated.
    public mutating func send(command cn: String, cp: [[Field]], at now: SessionTime) -> [PlatformOutput] {
        enqueue(QueuedCommand(cn: cn, cp: cp, stampSystemTime: false, queuedAt: now), at: now)
        return drain(at: now)
    }

    /// `send(command:cp:at:)` with a typed code.
    public mutating func send(command code: CommandCode, cp: [[Field]], at now: SessionTime) -> [PlatformOutput] {
        send(command: code.rawValue, cp: cp, at: now)
    }

    /// History data (2031, 2041, 2051, 2061): `BeginTime=…;EndTime=…` (14 digits, `;` as in C.20, C.48).
    public mutating func requestHistory(cn: String = CommandCode.hourData.rawValue, from: SessionTime, to: SessionTime, at now: SessionTime) -> [PlatformOutput] {
        send(command: cn, cp: [[Field("BeginTime", Self.time14(from))], [Field("EndTime", Self.time14(to))]], at: now)
    }

    /// 1012: set the logger's (or instrument `polId`'s) clock to the platform's time at sending.
    public mutating func setTime(polId: String? = nil, at now: SessionTime) -> [PlatformOutput] {
        enqueue(Self.setTimeCommand(polId: polId, at: now), at: now)
        return drain(at: now)
    }

    /// 1000: OverTime (s) and ReCount.
    public mutating func setOverTime(seconds: Int, reCount: Int, at now: SessionTime) -> [PlatformOutput] {
        send(command: .setTimeoutAndRetries, cp: [[Field("OverTime", String(seconds))], [Field("ReCount", String(reCount))]], at: now)
    }

    /// 1062: RtdInterval (s).
    public mutating func setRtdInterval(_ seconds: Int, at now: SessionTime) -> [PlatformOutput] {
        send(command: .setRealTimeInterval, cp: [[Field("RtdInterval", String(seconds))]], at: now)
    }

    /// 1064: MinInterval (min). On ExeRtn=1 the unit's MinInterval becomes this (completeness).
    public mutating func setMinInterval(_ minutes: Int, at now: SessionTime) -> [PlatformOutput] {
        send(command: .setMinuteInterval, cp: [[Field("MinInterval", String(minutes))]], at: now)
    }

    /// 1072: new password. On ExeRtn=1 the registry and the session use it.
    public mutating func setPassword(_ newPW: String, at now: SessionTime) -> [PlatformOutput] {
        send(command: .setPassword, cp: [[Field("NewPW", newPW)]], at: now)
    }

    /// 3020 request: `[PolId=…;]InfoId=…[;BeginTime=…;EndTime=…]` (logs take a range, C.41).
    public mutating func getInfo(polId: String?, infoId: String, from: SessionTime? = nil, to: SessionTime? = nil,
                                 at now: SessionTime) -> [PlatformOutput] {
        var cp: [[Field]] = []
        if let polId { cp.append([Field("PolId", polId)]) }
        cp.append([Field("InfoId", infoId)])
        if let from, let to {
            cp.append([Field("BeginTime", Self.time14(from))])
            cp.append([Field("EndTime", Self.time14(to))])
        }
        return send(command: .loggerInfo, cp: cp, at: now)
    }

    /// 3021: `[PolId=…;]InfoId=…;<infoId>-Info=<value>` (C.46).
    public mutating func setInfo(polId: String?, infoId: String, value: String, at now: SessionTime) -> [PlatformOutput] {
        var cp: [[Field]] = []
        if let polId { cp.append([Field("PolId", polId)]) }
        cp.append([Field("InfoId", infoId)])
        cp.append([Field("\(infoId)-Info", value)])
        return send(command: .setLoggerParameters, cp: cp, at: now)
    }

    /// The first-connection set-up of HJ 212-2017 §6.7, in its order: 1012 set time, 1000
    /// OverTime/ReCount, 1062 RtdInterval, 1064 MinInterval, 2011 start real-time data, 2021
    /// start facility status. One at a time, each after the previous completes or times out.
    public mutating func initialise(at now: SessionTime) -> [PlatformOutput] {
        startInitialisation(at: now)
        return drain(at: now)
    }

    mutating func startInitialisation(at now: SessionTime) {
        markSetUpStarted()
        if let mn = logger?.mn { _ = state.markInitialised(mn) }
        enqueue(Self.setTimeCommand(polId: nil, at: now), at: now)
        enqueue(QueuedCommand(cn: CommandCode.setTimeoutAndRetries.rawValue, cp: [[Field("OverTime", String(options.initialOverTime))], [Field("ReCount", String(options.initialReCount))]],
                              stampSystemTime: false, queuedAt: now), at: now)
        enqueue(QueuedCommand(cn: CommandCode.setRealTimeInterval.rawValue, cp: [[Field("RtdInterval", String(options.initialRtdInterval))]], stampSystemTime: false, queuedAt: now), at: now)
        enqueue(QueuedCommand(cn: CommandCode.setMinuteInterval.rawValue, cp: [[Field("MinInterval", String(options.initialMinInterval))]], stampSystemTime: false, queuedAt: now), at: now)
        enqueue(QueuedCommand(cn: CommandCode.realTimeData.rawValue, cp: [], stampSystemTime: false, queuedAt: now), at: now)
        enqueue(QueuedCommand(cn: CommandCode.runningStatus.rawValue, cp: [], stampSystemTime: false, queuedAt: now), at: now)
    }

    mutating func markSetUpStarted() {
        switch link {
        case .anonymous: link = .anonymous(setUpStarted: true)
        case .identified(var who): who.setUpStarted = true; link = .identified(who)
        case .closed: break
        }
    }

    mutating func maybeInitialise(at now: SessionTime) {
        guard !setUpStarted, let mn = logger?.mn else { return }
        switch options.initialise {
        case .never:
            return
        case .everyConnection:
            startInitialisation(at: now)
        case .firstContact:
            markSetUpStarted()
            if state.markInitialised(mn) { startInitialisation(at: now) }
        }
    }

    static func setTimeCommand(polId: String?, at now: SessionTime) -> QueuedCommand {
        var cp: [[Field]] = []
        if let polId { cp.append([Field("PolId", polId)]) }
        cp.append([Field("SystemTime", time14(now))])
        return QueuedCommand(cn: CommandCode.setLoggerTime.rawValue, cp: cp, stampSystemTime: true, queuedAt: now)
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

    mutating func drain(at now: SessionTime) -> [PlatformOutput] {
        pump(at: now)
        flush()
        if commitsItself { state.commit(outbox) }
        defer { outbox = [] }
        return outbox
    }

    /// Sends the next queued command when nothing is in flight and the logger is known.
    mutating func pump(at now: SessionTime) {
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
        outbox.append(.send(bytes, .command(CommandCode(command.cn), qn: qn, attempt: 1)))
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

    /// `dictionaryCommand(cn, dialect:)?.role(.up)`, remembered for the last CN and dialect (a
    /// logger sends the same few CNs; the lookup copied a code dictionary per packet).
    mutating func uploadRole(_ cn: String, dialect: Dialect) -> PacketRole? {
        if let memo = roleMemo, memo.dialect == dialect, memo.cn == cn { return memo.role }
        let role = dictionaryCommand(cn, dialect: dialect)?.role(.up)
        roleMemo = (cn, dialect, role)
        return role
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
            if command.command.cn == CommandCode.setPassword.rawValue, let pw = command.request.cpValue("NewPW"), logger?.mn == mn {
                identified?.identity.pw = pw
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
        outbox.append(.commandFinished(result))
    }
}
