import Dispatch
import HJ212
import HJNetwork
import Synchronization

/// Events from the replay's connections to the thread that drives the replay: a locked queue
/// and a semaphore. `Sendable` because every access to the queue goes through the `Mutex`.
final class ReplayInbox: Sendable {
    enum Event: Sendable {
        case connected(logger: Int, TCPConnection)
        case failed(logger: Int, String)
        case bytes(logger: Int, connection: UInt64, [UInt8])
        case closed(logger: Int, connection: UInt64, String)
    }
    private let queue = Mutex<[Event]>([])
    private let signal = DispatchSemaphore(value: 0)

    func push(_ e: Event) {
        queue.withLock { $0.append(e) }
        signal.signal()
    }

    func take() -> [Event] { queue.withLock { q in defer { q = [] }; return q } }

    func wait(_ seconds: Double) { _ = signal.wait(timeout: .now() + .milliseconds(Int(max(1, min(seconds, 3600) * 1000)))) }
}

/// Forwards a connection's reads and close to the inbox; touched only on its loop (the rule
/// behind `@unchecked Sendable`).
final class ReplayHandler: TCPConnectionHandler, @unchecked Sendable {
    let inbox: ReplayInbox
    let logger: Int
    init(inbox: ReplayInbox, logger: Int) {
        self.inbox = inbox
        self.logger = logger
    }
    func connection(_ connection: TCPConnection, didRead bytes: [UInt8]) { inbox.push(.bytes(logger: logger, connection: connection.id, bytes)) }
    func connection(_ connection: TCPConnection, didCloseWith reason: CloseReason) { inbox.push(.closed(logger: logger, connection: connection.id, "\(reason)")) }
}

/// Drives a replay: one connection per MN, uplinks at their recorded spacing (scaled), the
/// platform's acknowledgements matched by QN, its commands answered as the recorded logger
/// answered them. Runs on the caller's thread; the event loop only forwards bytes.
final class ReplayRunner {
    struct Options {
        var target: SocketAddress
        /// Recorded seconds per real second; nil: as fast as possible.
        var speed: Double?
        var rewriteTime = false
        var ackTimeout = 10.0
        var connectTimeout = 5.0
        var offsetMinutes = 480
    }

    struct Counts {
        var sent = 0
        var acknowledged = 0
        /// Acknowledged in the recording.
        var expected = 0
        /// Acknowledged in the recording and again now.
        var reacknowledged = 0
        var notSent = 0
        /// Frames from the target whose CRC is wrong: ignored, as a logger discards them.
        var badCRC = 0
        var commands = 0
        var answered = 0
        var unanswered: [String: Int] = [:]
        var reconnects = 0
        var connectFailures = 0
        var missing: [String] = []
    }

    let plan: ReplayPlan
    let options: Options
    let inbox = ReplayInbox()
    var counts = Counts()
    var shift: Int64 = 0
    var errors: [String] = []

    struct Link {
        var connection: TCPConnection?
        var connecting = false
        var decoder = FrameDecoder()
        var held: [(uplink: Int, bytes: [UInt8])] = []
        /// QN sent → uplink indexes waiting for their acknowledgement.
        var waiting: [String: [Int]] = [:]
        var acked: Set<Int> = []
        var answerCursor: [String: Int] = [:]
        var everConnected = false
        var failures = 0
    }
    var links: [Link]
    /// The QN each uplink was sent with (after `--rewrite-time`), for the list of missing acknowledgements.
    var sentQN: [[String?]]

    init(plan: ReplayPlan, options: Options) {
        self.plan = plan
        self.options = options
        links = Array(repeating: Link(), count: plan.loggers.count)
        sentQN = plan.loggers.map { Array(repeating: nil, count: $0.uplinks.count) }
    }

    var started = MonotonicTime.now
    var now: Double {
        let d = MonotonicTime.now - started
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    /// Runs the replay; `progress` is called about five times a second.
    func run(group: EventLoopGroup, shouldContinue: () -> Bool, progress: (String) -> Void) {
        if options.rewriteTime { shift = plan.timeShift(now: WallClock.localMilliseconds(offsetMinutes: options.offsetMinutes)) }
        // Every uplink of every logger in recorded order.
        var order: [(at: Int64, logger: Int, index: Int)] = []
        for (l, logger) in plan.loggers.enumerated() {
            for (i, u) in logger.uplinks.enumerated() { order.append((u.at, l, i)) }
            counts.expected += logger.uplinks.filter(plan.judged).count
        }
        order.sort { ($0.at, $0.logger, $0.index) < ($1.at, $1.logger, $1.index) }
        for l in plan.loggers.indices { connect(l, group: group) }
        started = MonotonicTime.now
        let first = order.first?.at ?? 0
        var lastProgress = -1.0
        var next = 0
        while next < order.count {
            if !shouldContinue() { return }
            let due = options.speed.map { Double(order[next].at - first) / 1000 / $0 } ?? 0
            if now < due {
                pump(for: min(due - now, 0.2), group: group)
            } else {
                while next < order.count, options.speed.map({ Double(order[next].at - first) / 1000 / $0 }) ?? 0 <= now {
                    send(order[next].logger, order[next].index, group: group)
                    next += 1
                    if options.speed == nil && next % 256 == 0 { pump(for: 0, group: group) }
                }
                pump(for: 0, group: group)
            }
            if now - lastProgress >= 0.2 {
                lastProgress = now
                progress("replay: \(counts.sent)/\(order.count) sent, \(counts.acknowledged) acknowledged, \(counts.answered) commands answered")
            }
        }
        // Drain: until every expected acknowledgement came, or the timeout.
        let deadline = now + options.ackTimeout
        while now < deadline && shouldContinue() {
            pump(for: 0.1, group: group)
            if links.allSatisfy({ $0.held.isEmpty && $0.waiting.isEmpty }) { break }
        }
        for (l, link) in links.enumerated() {
            if let c = link.connection { _ = c.loop.execute { c.close() } }
            counts.notSent += link.held.count
            links[l].held = []
        }
    }

    func connect(_ l: Int, group: EventLoopGroup) {
        guard !links[l].connecting, links[l].connection == nil, links[l].failures < 3 else { return }
        links[l].connecting = true
        let inbox = self.inbox
        TCPClient.connect(to: options.target, on: group.next(), timeout: .milliseconds(Int(options.connectTimeout * 1000))) { result in
            switch result {
            case .success(let c):
                c.handler = ReplayHandler(inbox: inbox, logger: l)
                inbox.push(.connected(logger: l, c))
            case .failure(let e): inbox.push(.failed(logger: l, "\(e)"))
            }
        }
    }

    /// The frame of uplink `i` of logger `l`, as it goes out now.
    func frame(_ segment: [UInt8]) -> [UInt8] {
        FrameEncoder.frame(segmentBytes: options.rewriteTime ? ReplayRewrite.shiftTimes(segment, by: shift) : segment)
    }

    func send(_ l: Int, _ i: Int, group: EventLoopGroup) {
        let u = plan.loggers[l].uplinks[i]
        // As recorded, byte for byte (a field defect replayed is a test of the platform), unless
        // the times are moved or the identity mapped.
        let bytes = !options.rewriteTime && u.original != nil ? u.original! + [0x0D, 0x0A] : frame(u.segment)
        let qn = options.rewriteTime ? SegmentParser.parse(bytes[6..<(bytes.count - 6)]).segment.qn : u.qn
        sentQN[l][i] = qn
        if let c = links[l].connection, c.loop.execute({ _ = c.write(bytes) }) {
            sent(l, i, qn: qn)
        } else {
            links[l].held.append((i, bytes))
            connect(l, group: group)
        }
    }

    func sent(_ l: Int, _ i: Int, qn: String?) {
        counts.sent += 1
        if let qn, links[l].waiting[qn]?.count ?? 0 < 64 { links[l].waiting[qn, default: []].append(i) }
    }

    func pump(for seconds: Double, group: EventLoopGroup) {
        if seconds > 0 { inbox.wait(seconds) }
        for e in inbox.take() {
            switch e {
            case .connected(let l, let c):
                links[l].connecting = false
                links[l].connection = c
                if links[l].everConnected { counts.reconnects += 1 }
                links[l].everConnected = true
                links[l].failures = 0
                links[l].decoder = FrameDecoder()
                let held = links[l].held
                links[l].held = []
                for h in held {
                    if c.loop.execute({ _ = c.write(h.bytes) }) { sent(l, h.uplink, qn: sentQN[l][h.uplink]) } else { links[l].held.append(h) }
                }
            case .failed(let l, let why):
                links[l].connecting = false
                links[l].failures += 1
                counts.connectFailures += 1
                if errors.count < 10 { errors.append("\(plan.loggers[l].mn): cannot connect: \(why)") }
                if links[l].failures >= 3 { counts.notSent += links[l].held.count; links[l].held = [] }
                else if !links[l].held.isEmpty { connect(l, group: group) }
            case .bytes(let l, let id, let bytes):
                guard links[l].connection?.id == id else { continue }
                links[l].decoder.feed(bytes)
                while let event = links[l].decoder.next() {
                    if case .frame(let f) = event { received(l, f) }
                }
            case .closed(let l, let id, _):
                guard links[l].connection?.id == id else { continue }
                links[l].connection = nil
                if !links[l].held.isEmpty { connect(l, group: group) }
            }
        }
    }

    func received(_ l: Int, _ f: RawFrame) {
        // A logger discards a frame whose CRC is wrong (either case of the hex digits accepted).
        guard CRC.parseHex(f.crcBytes) == CRC.hj212(f.segmentBytes) else {
            counts.badCRC += 1
            return
        }
        let segment = SegmentParser.parse(f.segmentBytes).segment
        let cn = segment.cn ?? ""
        if cn == "9013" || cn == "9014" {
            guard let qn = segment.qn ?? segment.cpValue("QN"), let list = links[l].waiting.removeValue(forKey: qn) else { return }
            for i in list where links[l].acked.insert(i).inserted {
                counts.acknowledged += 1
                if plan.loggers[l].uplinks[i].ackedInRecording { counts.reacknowledged += 1 }
            }
            return
        }
        guard cn != "9011" && cn != "9012", let qn = segment.qn else { return }
        // A command from the platform: answered as the recorded logger answered the same CN.
        counts.commands += 1
        let k = links[l].answerCursor[cn, default: 0]
        guard let answers = plan.loggers[l].answers[cn], k < answers.count, !answers[k].segments.isEmpty else {
            counts.unanswered[cn, default: 0] += 1
            return
        }
        links[l].answerCursor[cn] = k + 1
        let answer = answers[k]
        guard let c = links[l].connection else { return }
        var out: [UInt8] = []
        for s in answer.segments {
            // The recorded request QN becomes the live one; other times move with --rewrite-time.
            let timed = options.rewriteTime ? ReplayRewrite.shiftTimes(s, by: shift) : s
            let recordedQN = options.rewriteTime ? Self.shifted(answer.requestQN, shift) : answer.requestQN
            out += FrameEncoder.frame(segmentBytes: ReplayRewrite.replaceQN(timed, old: recordedQN, new: qn))
        }
        let bytes = out
        _ = c.loop.execute { _ = c.write(bytes) }
        counts.answered += 1
    }

    static func shifted(_ qn: String, _ ms: Int64) -> String {
        guard let t = HJTime(qn, allowMilliseconds: true), t.isValid, qn.utf8.count == 17 else { return qn }
        return HJTime(wallMilliseconds: t.wallMilliseconds + ms).text17
    }

    /// Uplinks acknowledged in the recording and not now: (MN, recorded QN, QN sent).
    var missing: [(mn: String, recorded: String, sent: String?)] {
        var out: [(String, String, String?)] = []
        for (l, logger) in plan.loggers.enumerated() {
            for (i, u) in logger.uplinks.enumerated() where plan.judged(u) && !links[l].acked.contains(i) {
                out.append((logger.mn, u.qn ?? "-", sentQN[l][i]))
            }
        }
        return out
    }
}
