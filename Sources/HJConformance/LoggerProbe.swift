import Dispatch
import Glibc
import HJ212
import HJNetwork
import HJRoles
import Synchronization

/// What a probe connection reports to the thread that runs the check.
enum ProbeEvent: Sendable {
    case accepted(id: UInt64, peer: String, connection: TCPConnection)
    case bytes(id: UInt64, [UInt8])
    case closed(id: UInt64, reason: String)
}

/// Events from the event loop to the checking thread: a locked queue and a semaphore that wakes
/// the waiter. `Sendable` because every access to the queue goes through the `Mutex`.
final class ProbeInbox: Sendable {
    private let queue = Mutex<[ProbeEvent]>([])
    private let signal = DispatchSemaphore(value: 0)
    /// Bytes queued and not yet taken: a logger that floods faster than we judge is cut off.
    private let queuedBytes = Atomic<Int>(0)
    static let maxQueuedBytes = 16 << 20
    static let floodReason = "closed by the check: the logger sent over 16 MiB faster than the check could judge it"

    /// Queues an event; false (nothing queued) when bytes would take the queue beyond
    /// `maxQueuedBytes`: the caller then closes the connection rather than lose bytes in the
    /// middle of the stream (which would corrupt the decoding of what follows).
    @discardableResult
    func push(_ event: ProbeEvent) -> Bool {
        if case .bytes(_, let b) = event {
            guard queuedBytes.add(b.count, ordering: .relaxed).newValue <= Self.maxQueuedBytes else {
                queuedBytes.subtract(b.count, ordering: .relaxed)
                return false
            }
        }
        queue.withLock { $0.append(event) }
        signal.signal()
        return true
    }

    func take() -> [ProbeEvent] {
        let events = queue.withLock { q -> [ProbeEvent] in defer { q = [] }; return q }
        for case .bytes(_, let b) in events { queuedBytes.subtract(b.count, ordering: .relaxed) }
        return events
    }

    /// Waits at most `seconds` for an event.
    func wait(_ seconds: Double) { _ = signal.wait(timeout: .now() + .milliseconds(Int(max(1, min(seconds, 3600) * 1000)))) }
}

/// The handler of one accepted connection: forwards reads and the close to the inbox. Touched
/// only on its connection's loop (the rule behind `@unchecked Sendable`).
final class ProbeConnectionHandler: TCPConnectionHandler, @unchecked Sendable {
    let inbox: ProbeInbox
    /// The peer sent faster than the check judges: the connection was closed, later reads are dropped.
    var flooded = false
    init(inbox: ProbeInbox) { self.inbox = inbox }
    func connection(_ connection: TCPConnection, didRead bytes: [UInt8]) {
        guard !flooded else { return }
        if !inbox.push(.bytes(id: connection.id, bytes)) {
            flooded = true
            inbox.push(.closed(id: connection.id, reason: ProbeInbox.floodReason))
            connection.close()
        }
    }
    func connection(_ connection: TCPConnection, didCloseWith reason: CloseReason) {
        // After a flood the close is already queued (with its reason).
        if !flooded { inbox.push(.closed(id: connection.id, reason: "\(reason)")) }
    }
}

/// One frame the logger sent, as the probe saw and judged it.
struct ObservedFrame {
    enum Role: Equatable {
        /// Something the logger sent on its own (uploads, 2081, 3020 …).
        case upload
        /// A 9011/9012 or a response packet to our request (same QN).
        case reply
        /// A history record answering our request.
        case history
        /// A 9013/9014 or anything else a logger should not send unasked.
        case other
    }

    var index: Int
    /// Seconds since the start of the run.
    var time: Double
    /// Ordinal of the connection it came on (1 = the first).
    var connection: Int
    var report: FrameReport
    var role: Role
    /// We sent its 9014 (or 9013).
    var acked = false
    /// Its acknowledgement was withheld on purpose.
    var withheld = false
    /// Frame text without CR LF (for wire logs).
    var text: String

    var segment: DataSegment { report.segment }
    var cn: String { report.segment.cn ?? "" }
    /// The typed command code (an empty one when the frame has no CN).
    var command: CommandCode { CommandCode(cn) }
    var qn: String? { report.segment.qn }
    /// The logger's clock when it built the frame: its QN, else its DataTime.
    var loggerTime: Int64? {
        if let qn, let t = HJTime(qn, allowMilliseconds: true) { return t.wallMilliseconds }
        return dataTime
    }
    var dataTime: Int64? { report.segment.cpValue("DataTime").flatMap { HJTime($0) }?.wallMilliseconds }
    var needsAck: Bool { report.segment.flag?.needsAck ?? false }
}

/// The platform side of `check logger` on real TCP: listens, accepts the logger (a newer
/// connection replaces an older one), decodes, lints and acknowledges what it sends (unless told
/// to withhold), sends requests and keeps every frame for the judgements. Driven from one
/// thread (the caller of `LoggerCheck.run`); the event loop only forwards bytes to the inbox.
final class LoggerProbe {
    let linter: Linter
    let version: Int
    let hooks: CheckHooks
    let started = MonotonicTime.now
    let inbox = ProbeInbox()
    var group: EventLoopGroup?
    var server: TCPServer?

    /// Open connections by ID, with their ordinal and decoder.
    struct Link {
        var connection: TCPConnection
        var ordinal: Int
        var peer: String
        var decoder = FrameDecoder()
        var open = true
    }
    var links: [UInt64: Link] = [:]
    /// The peer address of every connection by ordinal (kept after it closes, for reports).
    var peers: [Int: String] = [:]
    /// Most connections open at once (the budget against a peer that opens thousands); more
    /// are closed at once and counted.
    var maxConnections = 16
    var refusedConnections = 0
    /// Records the exchange (bytes, up or down, peer) when set: `check --trace`.
    var trace: (@Sendable (_ bytes: [UInt8], _ up: Bool, _ peer: String) -> Void)?
    /// Called on every turn of `pump` (the progress line).
    var onTick: (() -> Void)?
    /// The earliest and latest logger time (QN, else DataTime) of live uploads: how much of the
    /// logger's own time the run has seen.
    var loggerTimeRange: (first: Int64, last: Int64)?
    var loggerTimeSpan: Int64 { loggerTimeRange.map { $0.last - $0.first } ?? 0 }
    /// The connection commands go to (the newest open one).
    var current: UInt64?
    var connectionCount = 0
    var closeCount = 0
    /// During a forced outage, new connections are closed at once.
    var refusing = false

    var frames: [ObservedFrame] = []
    var framesDropped = 0
    static let maxFrames = 30_000
    /// Lint findings of every frame received, stored or not (`count(_:)`): the packet checks
    /// judge all of them, not only the frames the memory cap kept.
    var lintCounts = LintCounts()
    /// Frame text kept (the parsed report takes a few times as much): memory stays bounded
    /// however large the frames are.
    var storedBytes = 0
    static let maxStoredBytes = 24 << 20
    /// Connections closed because the logger flooded the check.
    var floodedConnections = 0
    var skippedBytes = 0
    var noise: [String] = []
    /// Every frame index per QN (for the resend and duplicate judgements).
    var byQN: [String: [Int]] = [:]
    /// QNs whose acknowledgement is withheld, and CNs whose next upload is to be withheld.
    var withheldQNs: Set<String> = []
    var withholdNext: Set<String> = []

    /// The request in flight (to classify replies and history records).
    var request: (qn: String, cn: String, from: Int64?, to: Int64?)?

    /// The wire log of the whole run, bounded (oldest dropped).
    var wire: [WireRecord] = []
    var wireDropped = 0
    static let maxWire = 4_000
    var interrupted = false

    init(linter: Linter, version: Int, hooks: CheckHooks) {
        self.linter = linter
        self.version = version
        self.hooks = hooks
    }

    /// Seconds since the start of a recording judged offline (`OfflineLoggerCheck`): the clock of
    /// the wire log and of the judgements then. Nil on a live run.
    var recordedNow: Double?

    var now: Double {
        if let recordedNow { return recordedNow }
        let d = MonotonicTime.now - started
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    func start(host: String, port: UInt16) throws(NetworkError) -> UInt16 {
        let g = try EventLoopGroup(threads: 1, name: "check-logger")
        group = g
        let inbox = self.inbox
        let s: TCPServer
        do {
            s = try TCPServer.start(on: try SocketAddress(parsing: "\(host):\(port)"), group: g) { connection in
                inbox.push(.accepted(id: connection.id, peer: connection.remoteAddress.description, connection: connection))
                return ProbeConnectionHandler(inbox: inbox)
            }
        } catch {
            g.shutdown()
            group = nil
            throw error
        }
        server = s
        return s.localAddress.port
    }

    func stop() {
        for link in links.values where link.open {
            let c = link.connection
            _ = c.loop.execute { c.close() }
        }
        if let server { _ = server.stopAndWait(timeout: .seconds(3)) }
        group?.shutdown()
        server = nil
        group = nil
    }

    // MARK: Wire log

    func note(_ text: String) { log(.note, text) }

    func log(_ direction: WireRecord.Direction, _ text: String) {
        wire.append(WireRecord(time: (now * 1000).rounded() / 1000, direction: direction, text: text))
        if wire.count > Self.maxWire {
            wire.removeFirst(wire.count - Self.maxWire * 3 / 4)
            wireDropped += 1
        }
    }

    /// The wire log from a mark on (what a step exchanged), bounded to `limit` lines (first and last).
    func wire(since mark: Double, limit: Int = 40) -> [WireRecord] {
        let slice = wire.filter { $0.time >= mark - 0.0005 }
        guard slice.count > limit else { return slice }
        return Array(slice.prefix(limit / 2)) + [WireRecord(time: slice[limit / 2].time, direction: .note, text: "… \(slice.count - limit) lines left out …")]
            + Array(slice.suffix(limit / 2))
    }

    /// Wire records of some frames (and their acknowledgement), bounded.
    func wire(of indices: [Int], limit: Int = 12) -> [WireRecord] {
        var out: [WireRecord] = []
        for i in indices.prefix(limit) {
            guard let f = frame(i) else { continue }
            out.append(WireRecord(time: (f.time * 1000).rounded() / 1000, direction: .up, text: f.text))
            for d in f.report.diagnostics.prefix(3) {
                out.append(WireRecord(time: (f.time * 1000).rounded() / 1000, direction: .note, text: "\(d.severity) \(d.rule): \(d.message)"))
            }
        }
        if indices.count > limit { out.append(WireRecord(time: out.last?.time ?? 0, direction: .note, text: "… and \(indices.count - limit) more")) }
        return out
    }

    /// The stored frame with this index (frames beyond the cap are not stored).
    func frame(_ index: Int) -> ObservedFrame? {
        index >= 0 && index < frames.count ? frames[index] : nil
    }

    // MARK: Waiting

    /// Processes events until `done` holds (true), the deadline passes or Ctrl-C (false).
    @discardableResult
    func pump(for seconds: Double, until done: () -> Bool = { false }) -> Bool {
        let deadline = now + max(0, seconds)
        while true {
            process(inbox.take())
            flushNoise()
            onTick?()
            if done() { return true }
            if !hooks.shouldContinue() { interrupted = true; return false }
            let left = deadline - now
            if left <= 0 { return false }
            inbox.wait(min(left, 0.1))
        }
    }

    // MARK: Sending

    /// Sends a frame to the current connection; false when there is none.
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        guard let id = current, let link = links[id], link.open else { return false }
        let c = link.connection
        log(.down, String(decoding: bytes.prefix(while: { $0 != 0x0D }), as: UTF8.self))
        trace?(bytes, false, link.peer)
        return c.loop.execute { _ = c.write(bytes) }
    }

    /// Closes the current connection (a forced disconnect).
    func closeCurrent() {
        guard let id = current, let link = links[id], link.open else { return }
        let c = link.connection
        note("platform closes connection #\(link.ordinal)")
        _ = c.loop.execute { c.close() }
    }

    var isConnected: Bool { current.flatMap { links[$0]?.open } ?? false }

    // MARK: Receiving

    func process(_ events: [ProbeEvent]) {
        for event in events {
            switch event {
            case .accepted(let id, let peer, let connection):
                if links.values.filter(\.open).count >= maxConnections {
                    // Over the budget: closed unseen (not a connection of the logger under test).
                    refusedConnections += 1
                    if refusedConnections <= 3 { note("connection from \(peer) closed: \(maxConnections) connections are open already") }
                    _ = connection.loop.execute { connection.close() }
                    continue
                }
                connectionCount += 1
                links[id] = Link(connection: connection, ordinal: connectionCount, peer: peer)
                peers[connectionCount] = peer
                if refusing {
                    note("connection #\(connectionCount) from \(peer) refused (outage)")
                    _ = connection.loop.execute { connection.close() }
                    links[id]?.open = false
                } else {
                    note("connection #\(connectionCount) from \(peer)")
                    current = id
                }
            case .bytes(let id, let bytes):
                guard var link = links[id], link.open else { continue }
                trace?(bytes, true, link.peer)
                link.decoder.feed(bytes)
                var events: [FrameDecoder.Event] = []
                while let e = link.decoder.next() { events.append(e) }
                links[id] = link
                for e in events { handle(e, link: link) }
            case .closed(let id, let reason):
                guard var link = links[id] else { continue }
                if reason == ProbeInbox.floodReason { floodedConnections += 1 }
                for e in link.decoder.finish() { handle(e, link: link) }
                if link.open { closeCount += 1 }
                link.open = false
                note("connection #\(link.ordinal) closed (\(reason))")
                links[id] = nil
                if current == id { current = nil }
            }
        }
    }

    /// Reports noise the decoders hold back while waiting for a '##' that never comes.
    func flushNoise() {
        for (id, var link) in links where link.open {
            guard let e = link.decoder.flushSkipped() else { continue }
            links[id] = link
            handle(e, link: link)
        }
    }

    func handle(_ event: FrameDecoder.Event, link: Link) {
        switch event {
        case .frame(let raw):
            observe(raw, link: link)
        case .skipped(let s):
            skippedBytes += s.count
            let d = linter.diagnose(s)
            if noise.count < 20 { noise.append(d.message) }
            log(.note, "\(d.rule): \(d.message)")
        case .incomplete(let tail):
            skippedBytes += tail.count
            let d = linter.diagnose(tail)
            if noise.count < 20 { noise.append(d.message) }
            log(.note, "\(d.rule): \(d.message)")
        }
    }

    var frameCount = 0
    var lintErrors = 0

    func observe(_ raw: RawFrame, link: Link) {
        let index = frameCount
        frameCount += 1
        let report = linter.check(raw, index: index)
        let segment = report.segment
        let text = raw.textWithoutTrailer
        log(.up, text)
        let cn = segment.cn ?? ""
        var role = ObservedFrame.Role.upload
        // A history record is told by its CN and DataTime before its QN: one that (wrongly)
        // reuses the request's QN is still a record, and the history check reports the reuse.
        if let r = request, cn == r.cn, let from = r.from, let to = r.to,
           let dt = segment.cpValue("DataTime").flatMap({ HJTime($0) })?.wallMilliseconds, dt >= from, dt <= to {
            role = .history
        } else if let r = request, segment.qn == r.qn || segment.cpValue("QN") == r.qn {
            role = .reply
        } else if CommandCode(cn).isInteraction {
            role = .other
        }
        var f = ObservedFrame(index: index, time: now, connection: link.ordinal, report: report, role: role, text: text)
        // A response packet to our request (1011, 1061, 3020 …, not a 9011/9012) that asks for
        // an answer is acknowledged with 9014 before the logger goes on (HJ212.md §6.2 step 3).
        let ackedResponse = role == .reply && !CommandCode(cn).isInteraction
        if role != .other && (role != .reply || ackedResponse), f.needsAck, let qn = f.qn {
            if withheldQNs.contains(qn) {
                f.withheld = true
            } else if role == .upload, withholdNext.contains(cn) {
                withholdNext.remove(cn)
                withheldQNs.insert(qn)
                f.withheld = true
                note("9014 for \(cn) QN=\(qn) withheld on purpose")
            } else {
                // Every upload that can be parsed is acknowledged, even one judged wrong, so
                // that one defect does not cascade into resends; its own check reports it.
                let ackCN: CommandCode = segment.isCN(.timeCalibrationRequest) || segment.isCN(.heartbeat) ? .notificationReply : .dataReply
                var ack = replySegment(cn: ackCN.rawValue, to: segment, cp: [], version: version)
                if segment.flag?.version == 0 {
                    ack.header.removeAll { $0.name == "QN" }
                    ack.cp = [[Field("QN", qn)]]
                }
                let bytes = FrameEncoder.frame(ack)
                let c = link.connection
                log(.down, String(decoding: bytes.dropLast(2), as: UTF8.self))
                trace?(bytes, false, link.peer)
                _ = c.loop.execute { _ = c.write(bytes) }
                f.acked = true
            }
        }
        lintErrors += report.hasErrors ? 1 : 0
        lintCounts.count(report)
        if role == .upload, CommandCode.seriesUploads.contains(f.command) || f.command == .loggerInfo, let t = f.loggerTime {
            loggerTimeRange = loggerTimeRange.map { (min($0.first, t), max($0.last, t)) } ?? (t, t)
        }
        // Once one frame is dropped all later ones are too (a stored frame's index is its position).
        guard framesDropped == 0, frames.count < Self.maxFrames, storedBytes + text.utf8.count <= Self.maxStoredBytes else {
            // Memory stays bounded: beyond the cap frames are judged for lint counts only.
            framesDropped += 1
            return
        }
        if let qn = f.qn { byQN[qn, default: []].append(index) }
        storedBytes += text.utf8.count
        frames.append(f)
    }

    /// Frames from a given index on.
    func frames(since index: Int) -> [ObservedFrame] { frames.filter { $0.index >= index } }
}


/// Frames per lint rule, per group of rules and per version, counted over every frame a check
/// received. Budget: one entry per rule of the linter and per version number (a fixed, small set).
struct LintCounts {
    static let crcRules: Set<String> = ["frame.crc-mismatch", "frame.crc-lowercase", "frame.crc-variant-modbus", "frame.crc-variant-modbus-swapped", "frame.crc-not-hex"]
    static let frameRules: Set<String> = ["frame.length-not-digits", "frame.length-mismatch", "frame.length-counts-characters", "frame.segment-too-long",
                                          "frame.trailer-missing", "stream.skipped-bytes", "stream.incomplete-tail"]
    enum Group: Int { case all, crc, frame }
    /// Frames with a finding of the group at error severity (`[0]`) and at warning or worse (`[1]`).
    private(set) var groups = [[0, 0], [0, 0], [0, 0]]
    /// Frames with a finding of each rule at warning or worse, and the rules in the order first seen.
    private(set) var byRule: [String: (errors: Int, warnings: Int)] = [:]
    private(set) var rules: [String] = []
    /// Frames by the version of their Flag (-1: no Flag).
    private(set) var byVersion: [Int: Int] = [:]

    mutating func count(_ report: FrameReport) {
        var seen: [String: Severity] = [:]
        for d in report.diagnostics { seen[d.rule] = max(seen[d.rule] ?? d.severity, d.severity) }
        var worst = [Severity?](repeating: nil, count: 3)
        for (rule, severity) in seen {
            if byRule[rule] == nil { rules.append(rule) }
            var c = byRule[rule] ?? (0, 0)
            if severity >= .error { c.errors += 1 }
            if severity >= .warning { c.warnings += 1 }
            byRule[rule] = c
            for g in [Group.all, Self.crcRules.contains(rule) ? .crc : nil, Self.frameRules.contains(rule) ? .frame : nil].compactMap({ $0 }) {
                worst[g.rawValue] = max(worst[g.rawValue] ?? severity, severity)
            }
        }
        for g in 0..<3 {
            if let w = worst[g] {
                if w >= .error { groups[g][0] += 1 }
                if w >= .warning { groups[g][1] += 1 }
            }
        }
        byVersion[report.segment.flag.map { Int($0.version) } ?? -1, default: 0] += 1
    }

    /// Frames with a finding of the group at `severity` or worse (warning or error).
    func frames(_ group: Group, severity: Severity) -> Int { groups[group.rawValue][severity >= .error ? 0 : 1] }

    /// The group's rules found at `severity` or worse, in the order first seen.
    func found(_ group: Group, severity: Severity) -> [String] {
        let set: Set<String>? = group == .crc ? Self.crcRules : group == .frame ? Self.frameRules : nil
        return rules.filter { r in (set?.contains(r) ?? true) && ((severity >= .error ? byRule[r]?.errors : byRule[r]?.warnings) ?? 0) > 0 }
    }

    /// Frames whose Flag has a version other than `wanted`, or that have no Flag (HJ/T 212-2005:
    /// no version bits at all; review 21 saw 109 such packets pass as "all with HJ 212-2017
    /// version bits").
    func framesNotOfVersion(_ wanted: Int) -> Int { byVersion.reduce(0) { $0 + ($1.key != wanted ? $1.value : 0) } }
}
