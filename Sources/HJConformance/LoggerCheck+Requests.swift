import Glibc
import HJ212
import HJNetwork
import HJRoles
import HJSimulation

/// Requests to the logger and the command checks (step 3 of the run).
extension LoggerCheckRunner {
    // MARK: Requests

    /// What came back for one request.
    struct Exchange {
        var request: DataSegment
        var qn: String
        var sentAt: Double
        var replies: [ObservedFrame] = []
        var records: [ObservedFrame] = []
        /// The QnRtn of the 9011 (read as a number, so "01" is 1).
        var qnRtn: QnRtn? { replies.first { $0.command == .requestReply }.flatMap { $0.segment.cpValue("QnRtn") }.flatMap { Int($0) }.map { QnRtn(String($0)) } }
        /// The ExeRtn of the 9012 (read as a number).
        var exeRtn: ExeRtn? { replies.first { $0.command == .executionResult }.flatMap { $0.segment.cpValue("ExeRtn") }.flatMap { Int($0) }.map { ExeRtn(String($0)) } }
        var responses: [ObservedFrame] { replies.filter { $0.command != .requestReply && $0.command != .executionResult } }
        var replyDelay: Double? { replies.first { $0.command == .requestReply }.map { $0.time - sentAt } }
        var wire: [WireRecord] = []
        var problem: String?
        /// The wait was cut by Ctrl-C or SIGTERM, or the request was not sent because of one.
        var interrupted = false
        var ok: Bool { qnRtn == .ready && exeRtn == .success }
        /// Evidence for the reply checks (L-REPLY-FORM/TIME): a wait the signal cut shows no
        /// missing or late reply, only the replies that came before it.
        var judgeable: Bool { !interrupted || !replies.isEmpty }

        /// One line: what came back.
        var summary: String {
            var parts: [String] = []
            parts.append(qnRtn.map { "9011 QnRtn=\($0)" } ?? "no 9011")
            if !responses.isEmpty { parts.append("\(responses.count) response packet(s)") }
            if !records.isEmpty { parts.append("\(records.count) record(s)") }
            if let e = exeRtn { parts.append("9012 ExeRtn=\(e)") } else if qnRtn == .ready { parts.append("no 9012") }
            if let problem { parts.append(problem) }
            if interrupted { parts.append("interrupted") }
            return parts.joined(separator: ", ")
        }
    }


    func freshQN() -> String {
        var t = Self.platformNow()
        if t <= lastQNTime { t = lastQNTime + 1 }
        lastQNTime = t
        return HJTime(wallMilliseconds: t).text17
    }

    /// Sends a request and collects its 9011, responses or records, and 9012 (timeouts: OverTime
    /// for the 9011, then an execution timeout restarted by every packet).
    func request(_ code: CommandCode, _ cp: [[Field]], pw: String? = nil, mn: String? = nil, range: (Int64, Int64)? = nil,
                 record: Bool = true) -> Exchange {
        let cn = code.rawValue
        let qn = freshQN()
        let header = [Field("QN", qn), Field("ST", st), Field("CN", code.rawValue), Field("PW", pw ?? self.pw ?? "123456"), Field("MN", mn ?? self.mn ?? ""),
                      Field("Flag", String(PacketFlag(version: dialect == .hj2025 ? 2 : 1, split: false, ack: true).rawValue))]
        let segment = DataSegment(header: header, cp: cp)
        let mark = probe.now
        var x = Exchange(request: segment, qn: qn, sentAt: mark)
        // A logger that left gets one grace period to come back; after that, requests are not
        // waited for (each would otherwise wait out its own timeout for nothing).
        let grace = loggerGoneAt == nil ? 15.0 : 0
        // After Ctrl-C or SIGTERM nothing more is sent: the run ends with what it judged.
        guard !probe.interrupted else {
            lastRequestInterrupted = true
            x.interrupted = true
            probe.note("\(cn) not sent: interrupted")
            x.wire = probe.wire(since: mark)
            return x
        }
        guard probe.isConnected || probe.pump(for: grace, until: { self.probe.isConnected }) else {
            if loggerGoneAt == nil { loggerGoneAt = probe.now }
            lastRequestUnsent = true
            x.problem = "the logger is not connected"
            probe.note("\(cn) not sent: the logger is not connected")
            x.wire = probe.wire(since: mark)
            return x
        }
        loggerGoneAt = nil
        lastRequestUnsent = false
        let start = probe.frameCount
        probe.request = (qn, cn, range?.0, range?.1)
        x.sentAt = probe.now
        probe.send(FrameEncoder.frame(segment))
        let execTimeout = max(options.overTime * 3, 10)
        var deadline = probe.now + options.overTime + 1
        var seen = start
        var got9011 = false
        while true {
            let done = probe.pump(for: max(0, deadline - probe.now)) {
                self.probe.frameCount > seen || !self.probe.isConnected
            }
            let new = probe.frames.filter { $0.index >= seen }
            seen = probe.frameCount
            for f in new {
                if f.role == .reply { x.replies.append(f) }
                if f.role == .history { x.records.append(f) }
                if f.role == .reply || f.role == .history { deadline = probe.now + execTimeout }
                if f.role == .reply && f.command == .requestReply && !got9011 {
                    got9011 = true
                    if f.segment.qnRtn != .ready { deadline = probe.now + 0.3 }  // rejected: nothing more should come
                }
            }
            if x.replies.contains(where: { $0.command == .executionResult }) { break }
            if !probe.isConnected { x.problem = "the connection closed"; break }
            if probe.interrupted { x.interrupted = true; lastRequestInterrupted = true; break }
            if !done && probe.now >= deadline {
                if !got9011 { x.problem = "no 9011 within \(fmt(options.overTime + 1)) s" }
                else if x.qnRtn == .ready { x.problem = "no 9012 within \(fmt(execTimeout)) s of the last packet" }
                break
            }
        }
        probe.request = nil
        x.wire = probe.wire(since: mark)
        if record { exchanges.append(x) }
        return x
    }

    func fmt(_ v: Double) -> String { v == v.rounded() ? String(Int(v)) : String(format: "%.1f", v) }

    // MARK: 3. Commands

    func commandSteps() {
        // 1011 and the clock.
        var clockBefore: Int64?
        if wants(RuleID.loggerCmd1011, RuleID.loggerClockConsistent) {
            progress("1011 get time")
            let x = request(.getLoggerTime, [])
            let t = x.responses.first { $0.command == .getLoggerTime }?.segment.cpValue("SystemTime").flatMap { HJTime($0) }
            if x.ok, let t {
                clockBefore = t.wallMilliseconds
                pass(RuleID.loggerCmd1011, "1011 answered: SystemTime \(t.text14) (\(x.summary))")
            } else {
                fail(RuleID.loggerCmd1011, "expected 9011 QnRtn=1, a 1011 with SystemTime and 9012 ExeRtn=1; got \(x.summary)"
                     + (x.responses.isEmpty || t != nil ? "" : " (SystemTime missing or invalid)"), wire: x.wire)
            }
            judgeClockConsistency(x, t)
        }
        if wants(RuleID.loggerCmd1012) {
            progress("1012 set time")
            let target = Self.platformNow()
            let x = request(.setLoggerTime, [[Field("SystemTime", HJTime(wallMilliseconds: target).text14)]])
            let setAt = x.sentAt
            if !x.ok {
                fail(RuleID.loggerCmd1012, "expected 9011 QnRtn=1 and 9012 ExeRtn=1; got \(x.summary)", wire: x.wire)
            } else {
                let y = request(.getLoggerTime, [], record: true)
                if let t = y.responses.first(where: { $0.command == .getLoggerTime })?.segment.cpValue("SystemTime").flatMap({ HJTime($0) }),
                   let answered = y.responses.first?.time {
                    // 1012 carries whole seconds: the target is floored to the second.
                    let expected = (target / 1000 * 1000).addingClamped(milliseconds(rate * (answered - setAt)))
                    let tolerance = milliseconds(max(5, rate * 1.5)) + 1000
                    let diff = t.wallMilliseconds.addingClamped(-expected)
                    let distinct = clockBefore.map { abs($0 - target) > 30_000 } ?? true
                    if abs(diff) <= tolerance {
                        pass(RuleID.loggerCmd1012, "clock set to \(HJTime(wallMilliseconds: target).text14); 1011 then read \(t.text14) (\(fmt(Double(diff) / 1000)) s from expected)"
                             + (distinct ? "" : "; its clock was already within 30 s of the platform's"))
                    } else {
                        fail(RuleID.loggerCmd1012, "after 1012 SystemTime=\(HJTime(wallMilliseconds: target).text14) (ExeRtn=1), 1011 read \(t.text14): \(fmt(Double(diff) / 1000)) s from the expected \(HJTime(wallMilliseconds: expected).text14) (tolerance \(fmt(Double(tolerance) / 1000)) s)",
                             wire: x.wire + y.wire)
                    }
                } else {
                    fail(RuleID.loggerCmd1012, "1012 returned ExeRtn=1, but the 1011 that should show the new time got \(y.summary)", wire: x.wire + y.wire)
                }
            }
        }
        if wants(RuleID.loggerCmd1061, RuleID.loggerCmd1062, RuleID.loggerRtdCadence) {
            progress("1061 get RtdInterval")
            let x = request(.getRealTimeInterval, [])
            if x.ok, let v = x.responses.first(where: { $0.command == .getRealTimeInterval })?.segment.cpValue("RtdInterval").flatMap({ Int($0) }), (30...3600).contains(v) {
                rtdInterval = Int64(v) * 1000
                let observed = modalStep(.realTimeData)
                if let o = observed, abs(o - rtdInterval!) > 1000 {
                    fail(RuleID.loggerCmd1061, "1061 says RtdInterval=\(v) s, but 2011 DataTimes step by \(o / 1000) s", wire: x.wire)
                } else {
                    pass(RuleID.loggerCmd1061, "RtdInterval=\(v) s" + (observed != nil ? ", as the 2011 cadence" : ""))
                }
            } else {
                rtdUnknown = unknownWhy("1061 (get RtdInterval)")
                fail(RuleID.loggerCmd1061, "expected a 1061 with RtdInterval (30-3600) and ExeRtn=1; got \(x.summary)", wire: x.wire)
            }
        }
        if wants(RuleID.loggerCmd1063, RuleID.loggerCmd1064, RuleID.loggerMinCadence, RuleID.loggerBackfill) {
            progress("1063 get MinInterval")
            let x = request(.getMinuteInterval, [])
            if x.ok, let v = x.responses.first(where: { $0.command == .getMinuteInterval })?.segment.cpValue("MinInterval").flatMap({ Int($0) }),
               [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30].contains(v) {
                minInterval = Int64(v) * 60_000
                let observed = modalStep(.minuteData)
                if let o = observed, o != minInterval! {
                    fail(RuleID.loggerCmd1063, "1063 says MinInterval=\(v) min, but 2051 DataTimes step by \(fmt(Double(o) / 60_000)) min", wire: x.wire)
                } else {
                    pass(RuleID.loggerCmd1063, "MinInterval=\(v) min" + (observed != nil ? ", as the 2051 cadence" : ""))
                }
            } else {
                minUnknown = unknownWhy("1063 (get MinInterval)")
                fail(RuleID.loggerCmd1063, "expected a 1063 with MinInterval (1, 2, 3, 4, 5, 6, 10, 12, 15, 20 or 30) and ExeRtn=1; got \(x.summary)", wire: x.wire)
            }
        }
        historySteps()
        parameterSteps()
        rejectionSteps()
        if wants(RuleID.loggerDynQuery) { dynamicQuery() }
    }

    /// Why an interval query (`what`, its CN and name) gave no interval: the request could not
    /// be sent, its wait was cut, or the logger's answer failed (its own check says how).
    func unknownWhy(_ what: String) -> String {
        if lastRequestUnsent { return "\(what) was not sent: the logger was not connected" }
        if lastRequestInterrupted { return "\(what) was interrupted" }
        return "\(what) failed"
    }

    /// The most frequent DataTime step of a CN's live records so far.
    func modalStep(_ code: CommandCode) -> Int64? {
        let records = RecordStreams(frames: probe.frames, limit: cadenceCutoff, st: st).records(code)
        let times = records.map(\.dataTime).sorted()
        guard times.count >= 2 else { return nil }
        var counts: [Int64: Int] = [:]
        for (a, b) in zip(times, times.dropFirst()) where b > a { counts[b - a, default: 0] += 1 }
        return counts.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }?.key
    }

    func historySteps() {
        let streams = RecordStreams(frames: probe.frames, st: st)
        for code in [CommandCode.minuteData, .hourData, .dailyData] where wants(RuleID.loggerCommand(code)) {
            let cn = code.rawValue
            let live = streams.records(code).filter { $0.segment.pnum == nil }
            guard let last = live.last else {
                skip(RuleID.loggerCommand(code), "no live \(cn) received to ask for again (the window was too short)")
                continue
            }
            let wanted = live.suffix(3)
            let from = wanted.first!.dataTime, to = last.dataTime
            progress("\(cn) history \(HJTime(wallMilliseconds: from).text14)–\(HJTime(wallMilliseconds: to).text14)")
            let x = request(code, [[Field("BeginTime", HJTime(wallMilliseconds: from).text14)], [Field("EndTime", HJTime(wallMilliseconds: to).text14)]],
                            range: (from, to))
            var problems: [String] = []
            if x.qnRtn != .ready || x.exeRtn != .success { problems.append(x.summary) }
            var got: [Int64: DataSegment] = [:]
            var reassembler = Reassembler(maxPending: 8)
            for f in x.records {
                switch reassembler.add(f.segment) {
                case .whole(let s), .complete(let s):
                    if let dt = s.cpValue("DataTime").flatMap({ HJTime($0) })?.wallMilliseconds { got[dt] = s }
                case .pending: break
                case .rejected(let why): problems.append("split record rejected: \(why)")
                }
            }
            for r in wanted {
                guard let s = got[r.dataTime] else {
                    problems.append("DataTime \(HJTime(wallMilliseconds: r.dataTime).text14) missing")
                    continue
                }
                let a = s.cpFields.filter { $0.name != "DataTime" }, b = r.segment.cpFields.filter { $0.name != "DataTime" }
                if a != b { problems.append("DataTime \(HJTime(wallMilliseconds: r.dataTime).text14) differs from the live record") }
            }
            if x.records.contains(where: { !$0.needsAck }) == false, x.records.contains(where: { $0.qn == x.qn }) {
                problems.append("records reuse the request QN (each record needs its own QN, C.48)")
            }
            if problems.isEmpty {
                pass(RuleID.loggerCommand(code), "\(wanted.count) record(s) returned, identical to the live ones, then ExeRtn=1")
            } else {
                fail(RuleID.loggerCommand(code), "history \(cn) \(HJTime(wallMilliseconds: from).text14)–\(HJTime(wallMilliseconds: to).text14): " + problems.prefix(4).joined(separator: "; "),
                     wire: x.wire)
            }
        }
        if wants(RuleID.loggerCmdEmpty) {
            progress("empty history range")
            let from = HJTime(year: 2001, month: 1, day: 1).wallMilliseconds
            let to = from + 23 * 3_600_000
            let x = request(.hourData, [[Field("BeginTime", HJTime(wallMilliseconds: from).text14)], [Field("EndTime", HJTime(wallMilliseconds: to).text14)]],
                            range: (from, to))
            if x.qnRtn == .ready && x.exeRtn == .noData && x.records.isEmpty {
                pass(RuleID.loggerCmdEmpty, "2061 for 2001-01-01: QnRtn=1, no record, ExeRtn=100")
            } else {
                fail(RuleID.loggerCmdEmpty, "2061 for a day in 2001 (no data): expected QnRtn=1, no record, ExeRtn=100; got \(x.summary)", wire: x.wire)
            }
        }
    }

    /// A parameter the logger uploaded with 3020 (PolId, InfoId, value): i13xxx preferred.
    func uploadedParameter(prefix: String = "i13") -> (polId: String?, code: String, value: String)? {
        for f in probe.frames where f.role == .upload && f.command == .loggerInfo {
            let polId = f.segment.cpValue("PolId")
            for field in f.segment.cpFields where field.name.hasPrefix(prefix) && field.name.hasSuffix("-Info") {
                let code = String(field.name.dropLast(5))
                if Double(field.value) != nil { return (polId, code, field.value) }
            }
        }
        return nil
    }

    func parameterSteps() {
        guard wants(RuleID.loggerCmd3020, RuleID.loggerCmd3021) else { return }
        guard let p = uploadedParameter() else {
            skip(RuleID.loggerCmd3020, "the logger uploaded no 3020 parameter (i13xxx) to ask for")
            skip(RuleID.loggerCmd3021, "the logger uploaded no 3020 parameter (i13xxx) to set")
            return
        }
        func get() -> (Exchange, String?) {
            var cp: [[Field]] = []
            if let polId = p.polId { cp.append([Field("PolId", polId)]) }
            cp.append([Field("InfoId", p.code)])
            let x = request(.loggerInfo, cp)
            return (x, x.responses.first { $0.command == .loggerInfo }?.segment.cpValue("\(p.code)-Info"))
        }
        progress("3020 get \(p.code)")
        let (x, value) = get()
        let label = "\(p.polId.map { "PolId=\($0) " } ?? "")\(p.code)"
        if x.ok, let value {
            pass(RuleID.loggerCmd3020, "\(label) returned \(value)")
        } else {
            fail(RuleID.loggerCmd3020, "3020 request of \(label): expected a 3020 with \(p.code)-Info and ExeRtn=1; got \(x.summary)", wire: x.wire)
        }
        guard wants(RuleID.loggerCmd3021) else { return }
        let old = value ?? p.value
        let decimals = old.split(separator: ".").dropFirst().first?.count ?? 0
        let newValue = ValueFormat.fixed((Double(old) ?? 0) + 1, decimals: decimals)
        func set(_ v: String) -> Exchange {
            var cp: [[Field]] = []
            if let polId = p.polId { cp.append([Field("PolId", polId)]) }
            cp.append([Field("InfoId", p.code)])
            cp.append([Field("\(p.code)-Info", v)])
            return request(.setLoggerParameters, cp)
        }
        progress("3021 set \(p.code)")
        let s = set(newValue)
        let (g, readBack) = get()
        _ = set(old)
        if s.ok, readBack.flatMap(Double.init) == Double(newValue) {
            pass(RuleID.loggerCmd3021, "\(label) set to \(newValue) (read back), then restored to \(old)")
        } else {
            fail(RuleID.loggerCmd3021, "3021 \(label)=\(newValue): \(s.summary); read back \(readBack ?? "nothing") (\(g.summary))", wire: s.wire + g.wire)
        }
    }

    func rejectionSteps() {
        if wants(RuleID.loggerCmdBadpw) {
            let wrong = (pw == "999999") ? "888888" : "999999"
            let x = request(.getRealTimeInterval, [], pw: wrong, record: false)
            judgeRejection(RuleID.loggerCmdBadpw, x, expected: .wrongPassword, what: "PW=\(wrong)")
        }
        if wants(RuleID.loggerCmdBadmn) {
            var other = Array(mn ?? "010000A8900016F000169DC0")
            if let last = other.last { other[other.count - 1] = last == "0" ? "1" : "0" }
            let x = request(.getRealTimeInterval, [], mn: String(other), record: false)
            judgeRejection(RuleID.loggerCmdBadmn, x, expected: .wrongMN, what: "MN=\(String(other))")
        }
        if wants(RuleID.loggerCmdBadcn) {
            let x = request(CommandCode("1999"), [], record: false)
            judgeRejection(RuleID.loggerCmdBadcn, x, expected: .wrongCN, what: "CN=1999")
        }
    }

    func judgeRejection(_ id: RuleID, _ x: Exchange, expected: QnRtn, what: String) {
        let executed = !x.responses.isEmpty || x.exeRtn == .success
        if x.qnRtn == expected && !executed {
            pass(id, "request with \(what) refused with QnRtn=\(expected)")
        } else {
            fail(id, "request with \(what): expected 9011 QnRtn=\(expected) and nothing executed; got \(x.summary)", wire: x.wire)
        }
    }
}
