import HJ212
import HJSimulation

/// The field side of one platform link: uploads with Flag A=1 and their 9014, resends after
/// OverTime up to ReCount, keeping and re-sending in order what was not acknowledged after a
/// reconnect, and answers to every host command of HJ 212-2017 §6.6 (9011, the data, 9012).
/// Sans-I/O: events in, `SessionAction`s out.
///
/// ```swift
/// let device = LoggerDevice(simulator: simulator)
/// var session = LoggerSession(device: device)
/// send(session.connected(at: now))
/// device.advance(to: now)
/// send(session.tick(at: now))
/// send(session.received(bytesFromSocket, at: now))
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
            if count > maxQueued, let i = queue[head...].firstIndex(where: { $0?.cn == "2011" }) {
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

    /// An upload waiting for its 9014.
    struct InFlight {
        var packet: GeneratedPacket
        var frame: [UInt8]
        var attempts: Int
        var deadline: SessionTime
    }

    /// A history or multi-packet answer being sent record by record.
    struct Job {
        var request: DataSegment
        var segments: [DataSegment]
        var next = 0
        var waiting: InFlight?
        var exeRtn: String
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
    public private(set) var password: String
    public private(set) var isConnected = false
    public private(set) var statistics = Statistics()
    var decoder = FrameDecoder()
    var inFlight: [InFlight] = []
    var jobs: [Job] = []
    var lastQNSecond: Int64 = -1
    var qnSequence = 0
    var now: SessionTime = 0
    /// Requests already executed, by QN, with their ExeRtn (a resent request is answered again,
    /// not executed twice; nil while its answer is still being sent).
    var answered: [(qn: String, exeRtn: String?)] = []
    /// Packets sent while disconnected count as backfill once the link is back.
    var backlogAtConnect = 0
    var hasBeenConnected = false
    var injector: FaultInjector?
    /// Faults injected since the driver last emptied this list (its ground truth).
    public var faultRecords: [FaultRecord] = []
    /// When not nil, the QN of every upload acknowledged since the driver last emptied it
    /// (the driver measures acknowledgement latency with it).
    public var acknowledgedQNs: [String]?
    /// Transport faults of the driver (issue 5): with `awaitAcks` off, uploads are sent without
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

    /// Packets waiting to be sent (queued, in flight, or in a history job).
    public var pendingCount: Int { link.count + inFlight.count }

    /// OverTime in session time.
    var overTime: SessionTime { SessionTime(Double(device.overTimeMs) * options.timeScale) }

    /// When `tick` must run next (resend deadlines).
    public var nextDeadline: SessionTime? {
        var d = inFlight.map(\.deadline).min()
        for job in jobs { if let w = job.waiting { d = Swift.min(d ?? w.deadline, w.deadline) } }
        return d
    }

    // MARK: Events

    public mutating func connected(at now: SessionTime) -> [SessionAction] {
        self.now = now
        isConnected = true
        decoder = FrameDecoder()
        // Backfill is what waited for a link that had been up before (not the first connection).
        backlogAtConnect = hasBeenConnected ? link.count : 0
        hasBeenConnected = true
        return pump()
    }

    /// The link is gone: what was in flight goes back to the front of the queue, in order.
    public mutating func disconnected(at now: SessionTime) {
        self.now = now
        isConnected = false
        link.pushFront(inFlight.map(\.packet))
        inFlight.removeAll()
        jobs.removeAll()  // the platform re-requests history after a reconnect
    }

    /// Time passed: resends due, and sending what the device produced.
    public mutating func tick(at now: SessionTime) -> [SessionAction] {
        self.now = now
        guard isConnected else { return [] }
        var actions: [SessionAction] = []
        if !resends && inFlight.contains(where: { $0.deadline <= now }) {
            statistics.givenUp += inFlight.filter { $0.deadline <= now }.count
            inFlight.removeAll { $0.deadline <= now }
        }
        for i in inFlight.indices where inFlight[i].deadline <= now {
            if inFlight[i].attempts > device.reCount {
                // ReCount resends without 9014: communication is deemed unavailable (§6.2).
                let qn = inFlight[i].packet.segment.qn ?? "?"
                return [.close(reason: "no 9014 for QN \(qn) after \(device.reCount) resends")]
            }
            inFlight[i].attempts += 1
            inFlight[i].deadline = now + overTime
            statistics.resent += 1
            actions.append(.send(inFlight[i].frame))
        }
        for j in jobs.indices {
            guard var w = jobs[j].waiting, w.deadline <= now else { continue }
            if w.attempts > device.reCount {
                jobs[j].waiting = nil
                jobs[j].next = jobs[j].segments.count
                jobs[j].exeRtn = "4"  // communication timeout
                continue
            }
            w.attempts += 1
            w.deadline = now + overTime
            jobs[j].waiting = w
            statistics.resent += 1
            actions.append(.send(w.frame))
        }
        return actions + pump()
    }

    /// Bytes from the platform: acknowledgements and requests.
    public mutating func received(_ bytes: [UInt8], at now: SessionTime) -> [SessionAction] {
        self.now = now
        decoder.feed(bytes)
        var actions: [SessionAction] = []
        while let event = decoder.next() {
            guard case .frame(let raw) = event else { continue }
            actions += handle(raw)
        }
        return actions + pump()
    }

    // MARK: Sending

    func frame(_ segment: DataSegment) -> [UInt8] { FrameEncoder.frame(segment) }

    /// Sends what may be sent: the current history job first, then queued uploads up to the window.
    mutating func pump() -> [SessionAction] {
        guard isConnected else { return [] }
        var actions: [SessionAction] = []
        // History jobs: one record at a time, each acknowledged before the next (C.48).
        while let job = jobs.first {
            if job.waiting != nil { return actions }
            if job.next < job.segments.count {
                var segment = job.segments[job.next]
                segment.setHeader("QN", freshQN())
                segment.setHeader("PW", password)
                let bytes = frame(segment)
                jobs[0].next += 1
                statistics.sent += 1
                actions.append(.send(bytes))
                if segment.flag?.needsAck == true {
                    jobs[0].waiting = InFlight(packet: GeneratedPacket(time: now, cn: segment.cn ?? "", segment: segment, bytes: []),
                                               frame: bytes, attempts: 1, deadline: now + overTime)
                    return actions
                }
                continue
            }
            actions.append(.send(frame(replySegment(cn: "9012", to: job.request, cp: [[Field("ExeRtn", job.exeRtn)]]))))
            if let qn = job.request.qn { remember(qn, job.exeRtn) }
            jobs.removeFirst()
        }
        while inFlight.count < options.maxInFlight, let packet = link.pop() {
            // The prepared bytes, unless the password changed since the packet was made (1072).
            let bytes: [UInt8]
            let segment: DataSegment
            if packet.segment.pw == password && !packet.bytes.isEmpty {
                segment = packet.segment
                bytes = FrameEncoder.frame(segmentBytes: packet.bytes)
            } else {
                var s = packet.segment
                s.setHeader("PW", password)
                segment = s
                bytes = frame(s)
            }
            statistics.sent += 1
            if backlogAtConnect > 0 { backlogAtConnect -= 1; statistics.backfilled += 1 }
            // Injected faults (`Options.faults`): the frames actually sent, and their ground truth.
            var frames = [bytes]
            if injector != nil {
                var faulty = packet
                faulty.segment = segment
                faulty.bytes = segment.serializedBytes()
                let (f, records) = injector!.frames(for: faulty, mn: device.identity.mn)
                frames = f
                faultRecords += records
                if f.isEmpty { continue }  // a record that is never sent is not waited for either
            }
            for f in frames { actions.append(.send(f)) }
            if segment.flag?.needsAck == true && awaitAcks {
                var awaited = packet
                // A fault may have changed the QN (clock faults, duplicate QN, a joined record):
                // the acknowledgement echoes the QN that was sent.
                if injector != nil, let qn = Self.qn(of: frames[0]), qn != packet.segment.qn { awaited.segment.setHeader("QN", qn) }
                inFlight.append(InFlight(packet: awaited, frame: frames[0], attempts: 1, deadline: now + overTime))
            }
        }
        return actions
    }

    /// The QN of a frame as sent (nil when it has none or cannot be framed).
    static func qn(of frame: [UInt8]) -> String? {
        var decoder = FrameDecoder()
        decoder.feed(frame)
        var events: [FrameDecoder.Event] = []
        while let e = decoder.next() { events.append(e) }
        events += decoder.finish()
        for case .frame(let raw) in events { return SegmentParser.parse(raw.segmentBytes).segment.qn }
        return nil
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
        var qn: ArraySlice<UInt8>?
        var isAck = false
        var i = bytes.startIndex
        while i < bytes.endIndex {
            var j = i
            while j < bytes.endIndex && bytes[j] != UInt8(ascii: ";") { j += 1 }
            let item = bytes[i..<j]
            if item.starts(with: "CP=".utf8) {
                guard item.elementsEqual("CP=&&&&".utf8), j == bytes.endIndex else { return nil }
                break
            }
            if item.starts(with: "QN=".utf8) { qn = item.dropFirst(3) }
            else if item.starts(with: "CN=".utf8) { isAck = item.elementsEqual("CN=9014".utf8) }
            i = j + 1
        }
        guard isAck, let qn, !qn.isEmpty else { return nil }
        return String(decoding: qn, as: UTF8.self)
    }

    mutating func handle(_ raw: RawFrame) -> [SessionAction] {
        if let qn = Self.plainAckQN(raw) {
            acknowledge(qn)
            return []
        }
        let segment = SegmentParser.parse(raw.segmentBytes).segment
        let crcOK = CRC.parseHex(raw.crcBytes) == CRC.hj212(raw.segmentBytes)
        switch segment.cn {
        case "9014":
            // Platforms in the field are seen to frame their acknowledgements with CRC-16/MODBUS:
            // an acknowledgement whose CRC matches a known variant still counts (a corrupt one not).
            let ackCRCOK = crcOK || (CRC.parseHex(raw.crcBytes).map { CRC.match(declared: $0, segment: raw.segmentBytes).match != .none } ?? false)
            guard ackCRCOK, let qn = segment.qn ?? segment.cpValue("QN") else { return [] }
            acknowledge(qn)
            return []
        case "9013":
            // The acknowledgement of a notification the logger sent (1013; the 2025 heartbeat 9015).
            if let qn = segment.qn ?? segment.cpValue("QN"), let i = inFlight.firstIndex(where: { $0.packet.segment.qn == qn }) {
                inFlight.remove(at: i)
                statistics.acknowledged += 1
            }
            return []
        case "9011", "9012":
            return []
        default:
            return request(segment, crcOK: crcOK)
        }
    }

    /// A 9014 for `qn`: the upload (or history record) it acknowledges is done.
    mutating func acknowledge(_ qn: String) {
        if let i = inFlight.firstIndex(where: { $0.packet.segment.qn == qn }) {
            inFlight.remove(at: i)
            if inFlight.isEmpty { inFlight = [] }
            statistics.acknowledged += 1
            acknowledgedQNs?.append(qn)
        } else if let j = jobs.indices.first(where: { jobs[$0].waiting?.packet.segment.qn == qn }) {
            jobs[j].waiting = nil
            statistics.acknowledged += 1
        }
    }

    func reply(_ cn: String, to request: DataSegment, _ cp: [[Field]]) -> SessionAction {
        .send(FrameEncoder.frame(replySegment(cn: cn, to: request, cp: cp)))
    }

    func qnRtn(_ request: DataSegment, _ code: Int) -> SessionAction {
        reply("9011", to: request, [[Field("QnRtn", String(code))]])
    }

    /// A response packet of the device (ST of the unit, Flag without A, request QN), as C.2/C.5.
    func response(_ cn: String, to request: DataSegment, _ cp: [[Field]]) -> SessionAction {
        let version = request.flag?.version ?? 1
        let segment = DataSegment(header: [Field("QN", request.qn ?? ""), Field("ST", device.st), Field("CN", cn), Field("PW", password),
                                           Field("MN", device.identity.mn), Field("Flag", String(PacketFlag(version: version, split: false, ack: false).rawValue))],
                                  cp: cp)
        return .send(FrameEncoder.frame(segment))
    }

    static let supported: Set<String> = ["1000", "1011", "1012", "1061", "1062", "1063", "1064", "1072", "2011", "2012", "2021", "2022",
                                         "2031", "2041", "2051", "2061", "3011", "3012", "3013", "3014", "3015", "3016", "3017", "3018",
                                         "3019", "3020", "3021"]

    /// Validates a host request in the order of §6.7 and executes it.
    mutating func request(_ r: DataSegment, crcOK: Bool) -> [SessionAction] {
        if !crcOK {
            statistics.requestsRejected += 1
            return options.answerBadCRC ? [qnRtn(r, 9)] : []
        }
        let rejection: Int?
        if r.qn.map({ $0.utf8.count != 17 || HJTime($0, allowMilliseconds: true) == nil }) ?? true { rejection = 7 }
        else if r.st != device.st { rejection = 5 }
        else if !Self.supported.contains(r.cn ?? "") { rejection = 8 }
        else if r.pw != password { rejection = 3 }
        else if r.mn != device.identity.mn { rejection = 4 }
        else if let flag = r.flag, flag.version == 1 || flag.version == 2 { rejection = nil }
        else { rejection = 6 }
        if let code = rejection {
            statistics.requestsRejected += 1
            return [qnRtn(r, code)]
        }
        let cn = r.cn!
        // Notifications (2012, 2022) are answered with 9013.
        if cn == "2012" || cn == "2022" {
            if cn == "2012" { device.setRealtime(false) } else { device.setFacilityStatus(false) }
            statistics.commandsAnswered += 1
            return r.flag?.needsAck == true ? [reply("9013", to: r, [])] : []
        }
        // A resent request (same QN) is acknowledged again but not executed twice: 9011, then the
        // 9012 it got (or none yet, while its records are still being sent).
        let qn = r.qn!
        if let previous = answered.first(where: { $0.qn == qn }) {
            var repeated: [SessionAction] = r.flag?.needsAck == true ? [qnRtn(r, 1)] : []
            let running = jobs.contains { $0.request.qn == qn }
            if !running, let exe = previous.exeRtn { repeated.append(reply("9012", to: r, [[Field("ExeRtn", exe)]])) }
            return repeated
        }
        answered.append((qn, nil))
        if answered.count > 64 { answered.removeFirst() }
        statistics.commandsAnswered += 1
        var actions: [SessionAction] = r.flag?.needsAck == true ? [qnRtn(r, 1)] : []
        var exe = "1"
        let polId = r.cpValue("PolId")
        switch cn {
        case "1000":
            if let o = r.cpValue("OverTime").flatMap(Int.init), (1...99).contains(o), let c = r.cpValue("ReCount").flatMap(Int.init), (1...99).contains(c) {
                device.overTimeMs = Int64(o) * 1000
                device.reCount = c
            } else { exe = "3" }
        case "1011":
            var cp: [[Field]] = []
            if let polId { cp.append([Field("PolId", polId)]) }
            cp.append([Field("SystemTime", HJTime(wallMilliseconds: now + device.clockOffsetMs).text14)])
            actions.append(response("1011", to: r, cp))
        case "1012":
            if let t = r.cpValue("SystemTime").flatMap({ HJTime($0) }) { device.clockOffsetMs = t.wallMilliseconds - now } else { exe = "3" }
        case "1061":
            actions.append(response("1061", to: r, [[Field("RtdInterval", String(device.simulator.rtdIntervalMs / 1000))]]))
        case "1062":
            if let v = r.cpValue("RtdInterval").flatMap(Int.init), (30...3600).contains(v) { device.setRtdInterval(v) } else { exe = "3" }
        case "1063":
            actions.append(response("1063", to: r, [[Field("MinInterval", String(device.simulator.minIntervalMs / 60_000))]]))
        case "1064":
            if let v = r.cpValue("MinInterval").flatMap(Int.init), [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30].contains(v) { device.setMinInterval(v) } else { exe = "3" }
        case "1072":
            if let v = r.cpValue("NewPW"), (1...6).contains(v.count), v.utf8.allSatisfy({ $0 &- 48 < 10 || ($0 | 0x20) &- 97 < 26 }) {
                // The replies still carry the old password; later packets the new one.
                remember(qn, "1")
                actions.append(reply("9012", to: r, [[Field("ExeRtn", "1")]]))
                password = v
                return actions
            }
            exe = "3"
        case "2011":
            device.setRealtime(true)
        case "2021":
            device.setFacilityStatus(true)
        case "2031", "2041", "2051", "2061":
            guard let b = r.cpValue("BeginTime").flatMap({ HJTime($0) }), let e = r.cpValue("EndTime").flatMap({ HJTime($0) }), b <= e else {
                exe = "3"
                break
            }
            let records = device.records(cn: cn, from: b.wallMilliseconds, to: e.wallMilliseconds)
            if records.isEmpty { exe = "100"; break }
            // Each record its own packet with a new QN, ack requested; split again when long.
            var segments: [DataSegment] = []
            for record in records {
                var s = record
                s.setHeader("Flag", String(PacketFlag(version: r.flag?.version ?? 1, split: false, ack: true).rawValue))
                segments += (try? PacketSplitter.split(s)) ?? [s]
            }
            jobs.append(Job(request: r, segments: segments, exeRtn: "1"))
            return actions + pump()
        case "3011", "3012", "3013", "3014":
            if polId == nil { exe = "3" }
        case "3015":
            actions.append(response("3015", to: r, [[Field("DataTime", HJTime(wallMilliseconds: now).text14)], [Field("VaseNo", "1")]]))
        case "3016":
            if let s = r.cpValue("CstartTime"), let c = (r.cpValue("Ctime") ?? r.cpValue("CTime")).flatMap(Int.init), (1...24).contains(c) {
                device.samplingStart = s
                device.samplingHours = c
            } else { exe = "3" }
        case "3017":
            actions.append(response("3017", to: r, [[Field("PolId", polId ?? "")], [Field("CstartTime", device.samplingStart)], [Field("CTime", String(device.samplingHours))]]))
        case "3018":
            actions.append(response("3018", to: r, [[Field("PolId", polId ?? "")], [Field("Stime", "40")]]))
        case "3019":
            // A deterministic instrument SN: the logger's MN with the last four hex digits from the PolId.
            var h: UInt16 = 0
            for b in (polId ?? "").utf8 { h = h &* 31 &+ UInt16(b) }
            let sn = String(device.identity.mn.prefix(20)) + String(h, radix: 16, uppercase: true).leftPadded(4)
            actions.append(response("3019", to: r, [[Field("PolId", polId ?? "")], [Field("\(polId ?? "")-SN", sn)]]))
        case "3020":
            guard let info = r.cpValue("InfoId") else { exe = "3"; break }
            if r.cpValue("BeginTime") != nil || info.hasSuffix("1001") {
                exe = "100"  // no stored logs
                break
            }
            guard let value = device.infoValue(polId: polId, code: info, at: now) else { exe = "100"; break }
            var cp: [[Field]] = [[Field("DataTime", HJTime(wallMilliseconds: now).text14)]]
            if let polId { cp.append([Field("PolId", polId)]) }
            cp.append([Field("\(info)-Info", value)])
            actions.append(response("3020", to: r, cp))
        case "3021":
            guard let info = r.cpValue("InfoId"), let value = r.cpValue("\(info)-Info") else { exe = "3"; break }
            device.setInfo(polId: polId, code: info, value: value)
        default:
            exe = "2"
        }
        remember(qn, exe)
        actions.append(reply("9012", to: r, [[Field("ExeRtn", exe)]]))
        return actions
    }

    mutating func remember(_ qn: String, _ exeRtn: String) {
        if let i = answered.firstIndex(where: { $0.qn == qn }) { answered[i].exeRtn = exeRtn }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
