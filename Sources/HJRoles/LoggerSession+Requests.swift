import HJ212

/// Host requests to the logger (HJ 212-2017 §6.6, §6.7): validation, execution, the answers.
extension LoggerSession {
    static let supported: Set<CommandCode> = [
        .setTimeoutAndRetries, .getLoggerTime, .setLoggerTime, .getRealTimeInterval, .setRealTimeInterval, .getMinuteInterval,
        .setMinuteInterval, .setPassword, .realTimeData, .stopRealTimeData, .runningStatus, .stopRunningStatus, .dailyData,
        .dailyRunningTime, .minuteData, .hourData, .calibrate, .sampleNow, .startCleaning, .comparisonSampling, .exceedanceSample,
        .setSamplingPeriod, .getSamplingPeriod, .getSampleOutputTime, .getDeviceID, .loggerInfo, .setLoggerParameters,
    ]

    /// Validates a host request in the order of §6.7 and executes it.
    mutating func request(_ r: DataSegment, crcOK: Bool) {
        if !crcOK {
            statistics.requestsRejected += 1
            if options.answerBadCRC { qnRtn(r, .crcError) }
            return
        }
        if let code = rejection(of: r) {
            statistics.requestsRejected += 1
            qnRtn(r, code)
            return
        }
        let cn = r.command!
        // Notifications (2012, 2022) are answered with 9013.
        if cn == .stopRealTimeData || cn == .stopRunningStatus {
            if cn == .stopRealTimeData { device.setRealtime(false) } else { device.setFacilityStatus(false) }
            statistics.commandsAnswered += 1
            if r.flag?.needsAck == true { reply(.notificationReply, to: r, []) }
            return
        }
        // A resent request (same QN) is acknowledged again but not executed twice: 9011, then the
        // 9012 it got (or none yet, while its records are still being sent).
        let qn = r.qn!
        if let previous = answered.first(where: { $0.qn == qn }) {
            if r.flag?.needsAck == true { qnRtn(r, .ready) }
            let running = jobs.contains { $0.request.qn == qn }
            if !running, let exe = previous.exeRtn { reply(.executionResult, to: r, [[Field("ExeRtn", exe.rawValue)]]) }
            return
        }
        answered.append((qn, nil))
        if answered.count > 64 { answered.removeFirst() }
        statistics.commandsAnswered += 1
        if r.flag?.needsAck == true { qnRtn(r, .ready) }
        guard let exe = execute(cn, r) else { return }  // answered already (1072), or a history job runs
        remember(qn, exe)
        reply(.executionResult, to: r, [[Field("ExeRtn", exe.rawValue)]])
    }

    /// Why a request is refused (its QnRtn), in the order of §6.7, or nil.
    func rejection(of r: DataSegment) -> QnRtn? {
        if r.qn.map({ $0.utf8.count != 17 || HJTime($0, allowMilliseconds: true) == nil }) ?? true { return .wrongQN }
        if r.st != device.st { return .wrongST }
        if !(r.command.map(Self.supported.contains) ?? false) { return .wrongCN }
        if r.pw != password { return .wrongPassword }
        if r.mn != device.identity.mn { return .wrongMN }
        if let flag = r.flag, flag.version == 1 || flag.version == 2 { return nil }
        return .wrongFlag
    }

    /// Executes an accepted request: its response packets, and the ExeRtn of its 9012 (nil when
    /// the 9012 is sent elsewhere: at once by 1072, or at the end of a history job).
    mutating func execute(_ cn: CommandCode, _ r: DataSegment) -> ExeRtn? {
        switch cn {
        case .setTimeoutAndRetries, .setLoggerTime, .setRealTimeInterval, .setMinuteInterval, .setPassword:
            return setParameter(cn, r)
        case .getLoggerTime, .getRealTimeInterval, .getMinuteInterval, .exceedanceSample, .getSamplingPeriod, .getSampleOutputTime, .getDeviceID:
            answerQuery(cn, r)
            return .success
        case .loggerInfo:
            return answerInfo(r)
        case .dailyData, .dailyRunningTime, .minuteData, .hourData:
            return startHistory(cn, r)
        case .realTimeData:
            device.setRealtime(true)
        case .runningStatus:
            device.setFacilityStatus(true)
        case .calibrate, .sampleNow, .startCleaning, .comparisonSampling:
            if r.cpValue("PolId") == nil { return .invalidConditions }
        case .setSamplingPeriod:
            guard let s = r.cpValue("CstartTime"), let c = (r.cpValue("Ctime") ?? r.cpValue("CTime")).flatMap(Int.init), (1...24).contains(c) else {
                return .invalidConditions
            }
            device.samplingStart = s
            device.samplingHours = c
        case .setLoggerParameters:
            guard let info = r.cpValue("InfoId"), let value = r.cpValue("\(info)-Info") else { return .invalidConditions }
            device.setInfo(polId: r.cpValue("PolId"), code: info, value: value)
        default:
            return .failedUnknown
        }
        return .success
    }

    /// 1000, 1012, 1062, 1064, 1072: the new value, or ExeRtn 3 when it is not valid.
    mutating func setParameter(_ cn: CommandCode, _ r: DataSegment) -> ExeRtn? {
        switch cn {
        case .setTimeoutAndRetries:
            guard let o = r.cpValue("OverTime").flatMap(Int.init), (1...99).contains(o), let c = r.cpValue("ReCount").flatMap(Int.init), (1...99).contains(c) else {
                return .invalidConditions
            }
            device.overTimeMs = Int64(o) * 1000
            device.reCount = c
        case .setLoggerTime:
            guard let t = r.cpValue("SystemTime").flatMap({ HJTime($0) }) else { return .invalidConditions }
            device.clockOffsetMs = t.wallMilliseconds - now
        case .setRealTimeInterval:
            guard let v = r.cpValue("RtdInterval").flatMap(Int.init), (30...3600).contains(v) else { return .invalidConditions }
            device.setRtdInterval(v)
        case .setMinuteInterval:
            guard let v = r.cpValue("MinInterval").flatMap(Int.init), [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30].contains(v) else { return .invalidConditions }
            device.setMinInterval(v)
        case .setPassword:
            guard let v = r.cpValue("NewPW"), (1...6).contains(v.count), v.utf8.allSatisfy({ $0 &- 48 < 10 || ($0 | 0x20) &- 97 < 26 }) else {
                return .invalidConditions
            }
            // The replies still carry the old password; later packets the new one.
            remember(r.qn!, .success)
            reply(.executionResult, to: r, [[Field("ExeRtn", ExeRtn.success.rawValue)]])
            password = v
            return nil
        default:
            return .failedUnknown
        }
        return .success
    }

    /// Requests answered by one response packet of the device (1011, 1061, 1063, 3015, 3017–3019).
    mutating func answerQuery(_ cn: CommandCode, _ r: DataSegment) {
        let polId = r.cpValue("PolId")
        switch cn {
        case .getLoggerTime:
            var cp: [[Field]] = []
            if let polId { cp.append([Field("PolId", polId)]) }
            cp.append([Field("SystemTime", HJTime(wallMilliseconds: now + device.clockOffsetMs).text14)])
            response(cn, to: r, cp)
        case .getRealTimeInterval:
            response(cn, to: r, [[Field("RtdInterval", String(device.simulator.rtdIntervalMs / 1000))]])
        case .getMinuteInterval:
            response(cn, to: r, [[Field("MinInterval", String(device.simulator.minIntervalMs / 60_000))]])
        case .exceedanceSample:
            response(cn, to: r, [[Field("DataTime", HJTime(wallMilliseconds: now).text14)], [Field("VaseNo", "1")]])
        case .getSamplingPeriod:
            response(cn, to: r, [[Field("PolId", polId ?? "")], [Field("CstartTime", device.samplingStart)], [Field("CTime", String(device.samplingHours))]])
        case .getSampleOutputTime:
            response(cn, to: r, [[Field("PolId", polId ?? "")], [Field("Stime", "40")]])
        case .getDeviceID:
            // A deterministic instrument SN: the logger's MN with the last four hex digits from the PolId.
            var h: UInt16 = 0
            for b in (polId ?? "").utf8 { h = h &* 31 &+ UInt16(b) }
            let sn = String(device.identity.mn.prefix(20)) + String(h, radix: 16, uppercase: true).leftPadded(4)
            response(cn, to: r, [[Field("PolId", polId ?? "")], [Field("\(polId ?? "")-SN", sn)]])
        default:
            break
        }
    }

    /// 3020: one information value of the device now (no stored logs: ExeRtn 100 for ranges and 1001 logs).
    mutating func answerInfo(_ r: DataSegment) -> ExeRtn {
        let polId = r.cpValue("PolId")
        guard let info = r.cpValue("InfoId") else { return .invalidConditions }
        if r.cpValue("BeginTime") != nil || info.hasSuffix("1001") { return .noData }
        guard let value = device.infoValue(polId: polId, code: info, at: now) else { return .noData }
        var cp: [[Field]] = [[Field("DataTime", HJTime(wallMilliseconds: now).text14)]]
        if let polId { cp.append([Field("PolId", polId)]) }
        cp.append([Field("\(info)-Info", value)])
        response(.loggerInfo, to: r, cp)
        return .success
    }

    /// 2031, 2041, 2051, 2061: a job that sends each record of the range as its own packet with a
    /// new QN, ack requested (split again when long), then 9012. Nil when the job was started.
    mutating func startHistory(_ cn: CommandCode, _ r: DataSegment) -> ExeRtn? {
        guard let b = r.cpValue("BeginTime").flatMap({ HJTime($0) }), let e = r.cpValue("EndTime").flatMap({ HJTime($0) }), b <= e else {
            return .invalidConditions
        }
        let records = device.records(cn: cn.rawValue, from: b.wallMilliseconds, to: e.wallMilliseconds)
        if records.isEmpty { return .noData }
        var segments: [DataSegment] = []
        for record in records {
            var s = record
            s.setHeader("Flag", String(PacketFlag(version: r.flag?.version ?? 1, split: false, ack: true).rawValue))
            segments += (try? PacketSplitter.split(s)) ?? [s]
        }
        jobs.append(Job(request: r, segments: segments, exeRtn: .success))
        pump()
        return nil
    }

    mutating func remember(_ qn: String, _ exeRtn: ExeRtn) {
        if let i = answered.firstIndex(where: { $0.qn == qn }) { answered[i].exeRtn = exeRtn }
    }
}
