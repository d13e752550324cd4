import Foundation
import HJ212
import Synchronization

/// What the platform knows about one logger (MN): when it was seen, what it sent, its last
/// values and which DataTimes of the periodic records arrived.
public struct UnitRecord: Sendable, Equatable {
    /// Where a reporting interval came from.
    public enum IntervalSource: String, Sendable, Equatable {
        /// Inferred from the spacing of received 2051 DataTimes.
        case learned
        /// Reported by the logger (1061 / 1063 answer).
        case reported
        /// Set by this platform (1062 / 1064 answered by 9012 ExeRtn=1).
        case configured
    }

    public var mn: String
    /// The PW of the last accepted packet.
    public var pw: String?
    /// The last ST other than 91 (the logger's system code).
    public var st: String?
    public var dialect: Dialect
    public var firstSeen: SessionTime
    public var lastSeen: SessionTime
    public var lastPeer: String
    /// Accepted packets by CN (split packets counted one by one, replies included).
    public var packetsByCN: [String: Int] = [:]
    /// Stored records by CN (a reassembled split record counts once).
    public var recordsByCN: [String: Int] = [:]
    /// The CP of the last record of each CN, as received (kept as is: building a dictionary per
    /// record cost the platform more than acknowledging it).
    public var lastRecords: [String: [[Field]]] = [:]
    /// The CP entries of the last record of each CN: CN → key (`w01018-Avg`, `DataTime`, …) → value.
    public var lastValues: [String: [String: String]] {
        lastRecords.mapValues { groups in
            var values: [String: String] = [:]
            for group in groups { for field in group where !field.name.isEmpty { values[field.name] = field.value } }
            return values
        }
    }
    /// The DataTime of the last record of each CN.
    public var lastDataTime: [String: SessionTime] = [:]
    /// DataTimes received for 2051, 2061 and 2031 (bounded, see `PlatformLimits`).
    public var dataTimes: [String: DataTimeLog] = [:]
    /// MinInterval in minutes, when known, and how it became known.
    public var minInterval: Int?
    public var minIntervalSource: IntervalSource?
    /// RtdInterval in seconds, when known.
    public var rtdInterval: Int?
    /// RestartTime of the last 2081.
    public var restartTime: SessionTime?

    public init(mn: String, dialect: Dialect, at time: SessionTime, peer: String) {
        self.mn = mn
        self.dialect = dialect
        self.firstSeen = time
        self.lastSeen = time
        self.lastPeer = peer
    }

    /// The MinInterval used for 2051 completeness: known, else the default 10 minutes.
    public var effectiveMinInterval: Int { minInterval ?? Completeness.defaultMinInterval }
}

/// Counters of a session or of the whole platform.
public struct PlatformCounters: Sendable, Equatable {
    /// Frames found in the byte stream (each linted).
    public var frames = 0
    /// Diagnostics by severity, and by rule ID.
    public var errors = 0
    public var warnings = 0
    public var infos = 0
    public var byRule: [String: Int] = [:]
    /// Bytes outside any frame, and frames cut short by the end of the connection.
    public var skippedBytes = 0
    public var incompleteTails = 0
    /// Frames that passed the CRC and access checks.
    public var accepted = 0
    /// Not acknowledged: CRC wrong (or a CRC variant when variants are not accepted).
    public var rejectedBadCRC = 0
    /// Not acknowledged: MN not in the registry.
    public var rejectedUnknownMN = 0
    /// Not acknowledged: PW differs from the registry's.
    public var rejectedBadPW = 0
    /// Not acknowledged: no CN.
    public var rejectedMalformed = 0
    /// Not acknowledged: the MN is locked after too many wrong passwords, or this connection
    /// already gave a wrong one for it (no password oracle).
    public var rejectedLocked = 0
    /// Connections closed for wrong passwords (per-connection limit, or one during a lock).
    public var closedForWrongPW = 0
    /// Acknowledgements sent.
    public var acks9014 = 0
    public var acks9013 = 0
    /// Records handed to the platform state (after reassembly).
    public var records = 0
    /// Split packets received, records reassembled, packets refused by the reassembler, and
    /// incomplete records dropped (capacity or disconnect).
    public var splitPackets = 0
    public var reassembled = 0
    public var reassemblyRejected = 0
    public var reassemblyDropped = 0
    /// Packets that fit no expectation: replies to no command in flight, a 9014 from a logger,
    /// CNs that a logger does not send.
    public var unexpected = 0
    /// Commands sent (first attempts) and resends after OverTime.
    public var commandsSent = 0
    public var resends = 0

    public init() {}

    public mutating func add(_ o: PlatformCounters) {
        frames += o.frames; errors += o.errors; warnings += o.warnings; infos += o.infos
        for (rule, n) in o.byRule { byRule[rule, default: 0] += n }
        skippedBytes += o.skippedBytes; incompleteTails += o.incompleteTails; accepted += o.accepted
        rejectedBadCRC += o.rejectedBadCRC; rejectedUnknownMN += o.rejectedUnknownMN
        rejectedBadPW += o.rejectedBadPW; rejectedMalformed += o.rejectedMalformed
        rejectedLocked += o.rejectedLocked; closedForWrongPW += o.closedForWrongPW
        acks9014 += o.acks9014; acks9013 += o.acks9013; records += o.records
        splitPackets += o.splitPackets; reassembled += o.reassembled
        reassemblyRejected += o.reassemblyRejected; reassemblyDropped += o.reassemblyDropped
        unexpected += o.unexpected; commandsSent += o.commandsSent; resends += o.resends
    }

    mutating func count(_ diagnostic: Diagnostic) {
        switch diagnostic.severity {
        case .error: errors += 1
        case .warning: warnings += 1
        case .info: infos += 1
        }
        byRule[diagnostic.rule, default: 0] += 1
    }
}

/// A line of the platform's event log (rejections, unexpected packets, command outcomes).
public struct PlatformLogEntry: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        case rejected, unexpected, command, reassembly, connection, registry
        /// Abuse shed: wrong-password limits, budgets exceeded (also handed to `takeNotices`).
        case security
    }

    public var time: SessionTime
    public var peer: String
    public var mn: String?
    public var kind: Kind
    public var message: String

    public var description: String {
        "\(HJTime(wallMilliseconds: time)) \(peer)\(mn.map { " " + $0 } ?? "") \(kind.rawValue): \(message)"
    }
}

/// A diagnostic of a received frame, kept with where it came from.
public struct RecordedDiagnostic: Sendable, Equatable {
    public var time: SessionTime
    public var peer: String
    public var mn: String?
    public var cn: String?
    /// Index of the frame within its connection.
    public var frameIndex: Int
    public var diagnostic: Diagnostic
}

/// How much the platform state may hold. Everything it keeps is bounded by these.
public struct PlatformLimits: Sendable, Equatable {
    /// DataTimes are kept this far behind the newest one of their CN (default 40 days).
    public var dataTimeWindow: SessionTime = 40 * 86_400_000
    /// The most distinct DataTimes kept per unit and CN.
    public var dataTimesPerCN = 100_000
    /// The most units (MNs) tracked; packets of further MNs are still handled but not recorded.
    public var maxUnits = 100_000
    /// The most diagnostics, log entries and command results kept (oldest dropped first).
    public var maxDiagnostics = 1_000
    public var maxLogEntries = 1_000
    public var maxCommandResults = 10_000
    /// Wrong passwords for one registered MN, over all connections, within
    /// `wrongPasswordWindow` before the MN is locked for `wrongPasswordLockout` (brute force).
    public var maxWrongPasswordsPerMN = 10
    public var wrongPasswordWindow: SessionTime = 600_000
    public var wrongPasswordLockout: SessionTime = 900_000
    /// Security notices kept for the operator until taken (oldest dropped first).
    public var maxNotices = 1_000

    public init() {}
}

/// The platform-wide state shared by all `PlatformSession`s: the registry, the linter, per-unit
/// records, counters, the event log and command results.
///
/// Thread safety: sessions of different connections may run on different event-loop threads,
/// so every mutable part lives in one `Mutex` (Synchronization) and is only reached through
/// short critical sections that copy values in or out; nothing inside the lock calls back out.
/// That is why the class is `Sendable` without `@unchecked`.
///
/// ```swift
/// let state = try PlatformState(registry: try Registry.load(path: "loggers.csv"))
/// var session = PlatformSession(state: state, peer: "10.0.0.7:50412")
/// ```
public final class PlatformState: Sendable {
    /// Lints every received frame (lenient unless the options say otherwise).
    public let linter: Linter
    /// The byte path of the same linter (`ByteLinter`, one per linting thread), nil when every
    /// frame goes through `linter.check` (`byteLint: false`, or `HJ212_PLATFORM_LINT_REFERENCE`
    /// set: the reference the differential tests compare with). The reports are the same.
    public let byteLinters: ByteLinterPool?
    public let limits: PlatformLimits

    /// Whether `HJ212_PLATFORM_LINT_REFERENCE` asks for `Linter.check` on every frame.
    public static var referenceLintRequested: Bool { getenv("HJ212_PLATFORM_LINT_REFERENCE") != nil }

    struct Storage: Sendable {
        var registry: Registry?
        var units: [String: UnitRecord] = [:]
        var unitsNotTracked = 0
        var counters = PlatformCounters()
        var log: [PlatformLogEntry] = []
        var logDropped = 0
        var diagnostics: [RecordedDiagnostic] = []
        var diagnosticsDropped = 0
        var results: [CommandResult] = []
        var resultsDropped = 0
        var initialised: Set<String> = []
        /// Wrong-password attempts per registered MN (bounded by the registry's size).
        var guesses: [String: PasswordGuesses] = [:]
        var notices: [String] = []
        var noticesDropped = 0
    }

    /// Wrong passwords for one MN: a count in the current window and the lock, if any.
    struct PasswordGuesses: Sendable {
        var windowStart: SessionTime
        var count: Int
        var lockedSince: SessionTime?
        var lockedUntil: SessionTime?
    }

    let storage: Mutex<Storage>
    /// Whether a registry is set (kept beside it so that open mode costs no lock per packet).
    private let hasRegistry: Atomic<Bool>

    public init(registry: Registry? = nil, linter: Linter, limits: PlatformLimits = PlatformLimits(),
                byteLint: Bool = !PlatformState.referenceLintRequested) {
        self.linter = linter
        byteLinters = byteLint ? ByteLinterPool(linter: linter) : nil
        self.limits = limits
        storage = Mutex(Storage(registry: registry))
        hasRegistry = Atomic(registry != nil)
    }

    /// A state with a lenient (`strict: false`) linter over the built-in code tables.
    public convenience init(registry: Registry? = nil, lintOptions: LintOptions = LintOptions(strict: false),
                            limits: PlatformLimits = PlatformLimits(), byteLint: Bool = !PlatformState.referenceLintRequested) throws {
        self.init(registry: registry, linter: try Linter(options: lintOptions), limits: limits, byteLint: byteLint)
    }

    /// `linter.check(raw, index:)`, by the byte path when it takes the frame (same report).
    public func lint(_ raw: RawFrame, index: Int) -> FrameReport {
        byteLinters?.check(raw, index: index) ?? linter.check(raw, index: index)
    }

    // MARK: Reading

    /// The access list; nil is open mode (every logger accepted).
    public var registry: Registry? {
        get { storage.withLock { $0.registry } }
        set { storage.withLock { $0.registry = newValue; hasRegistry.store(newValue != nil, ordering: .releasing) } }
    }

    public var counters: PlatformCounters { storage.withLock { $0.counters } }
    public var units: [String: UnitRecord] { storage.withLock { $0.units } }
    public func unit(_ mn: String) -> UnitRecord? { storage.withLock { $0.units[mn] } }
    /// The MNs seen, without holding on to the units' storage (holding `units` while the platform
    /// records would make its next update copy every unit).
    public var mns: [String] { storage.withLock { Array($0.units.keys) } }
    /// How many units have been seen (cheap: for noticing new ones without copying the MNs).
    public var unitCount: Int { storage.withLock { $0.units.count } }
    /// MNs seen after `limits.maxUnits` was reached (handled, not recorded).
    public var unitsNotTracked: Int { storage.withLock { $0.unitsNotTracked } }
    /// Outcomes of commands of every session, oldest first (bounded by `limits.maxCommandResults`).
    public var completedCommands: [CommandResult] { storage.withLock { $0.results } }
    /// The event log, oldest first (bounded by `limits.maxLogEntries`).
    public var log: [PlatformLogEntry] { storage.withLock { $0.log } }
    /// Diagnostics of received frames, oldest first (bounded by `limits.maxDiagnostics`).
    public var diagnostics: [RecordedDiagnostic] { storage.withLock { $0.diagnostics } }
    /// Whether `initialise` has been run for this MN (by any session).
    public func isInitialised(_ mn: String) -> Bool { storage.withLock { $0.initialised.contains(mn) } }

    /// Sets a unit's MinInterval (minutes) by hand, e.g. from a configuration file.
    public func setMinInterval(mn: String, minutes: Int, source: UnitRecord.IntervalSource = .configured) {
        guard Completeness.validMinIntervals.contains(minutes) else { return }
        storage.withLock { s in
            guard s.units[mn] != nil else { return }
            s.units[mn]!.minInterval = minutes
            s.units[mn]!.minIntervalSource = source
        }
    }

    // MARK: Updating (sessions)

    /// The registry's verdict, or nil in open mode.
    func check(mn: String, pw: String?) -> Registry.Verdict? {
        guard hasRegistry.load(ordering: .acquiring) else { return nil }
        return storage.withLock { $0.registry?.check(mn: mn, pw: pw) }
    }

    /// The registry's verdict (nil in open mode) and, when the MN is locked after too many wrong
    /// passwords, since when.
    func access(mn: String, pw: String?, at now: SessionTime) -> (verdict: Registry.Verdict, lockedSince: SessionTime?)? {
        guard hasRegistry.load(ordering: .acquiring) else { return nil }
        return storage.withLock { s in
            guard let verdict = s.registry?.check(mn: mn, pw: pw) else { return nil }
            guard let g = s.guesses[mn], let until = g.lockedUntil else { return (verdict, nil) }
            if until <= now {
                s.guesses[mn] = nil
                return (verdict, nil)
            }
            return (verdict, g.lockedSince)
        }
    }

    /// Counts a wrong password for a registered MN; true when this attempt locked the MN.
    func noteWrongPassword(mn: String, peer: String, at now: SessionTime) -> Bool {
        let limits = self.limits
        return storage.withLock { s in
            var g = s.guesses[mn] ?? PasswordGuesses(windowStart: now, count: 0)
            if let until = g.lockedUntil, until > now { return false }
            if g.lockedUntil != nil || now - g.windowStart >= limits.wrongPasswordWindow {
                g = PasswordGuesses(windowStart: now, count: 0)
            }
            g.count += 1
            var locked = false
            if g.count >= limits.maxWrongPasswordsPerMN {
                g.lockedSince = now
                g.lockedUntil = now + limits.wrongPasswordLockout
                locked = true
                Self.append(["MN \(TerminalText.safe(mn)) LOCKED for \(limits.wrongPasswordLockout / 1000) s after \(g.count) wrong passwords in \(limits.wrongPasswordWindow / 1000) s (last from \(peer)); new connections for it are not acknowledged until then"],
                            to: &s.notices, cap: limits.maxNotices, dropped: &s.noticesDropped)
            }
            s.guesses[mn] = g
            return locked
        }
    }

    /// Adds a one-line notice for the operator (printed at once by `serve`).
    func notice(_ line: String) {
        let cap = limits.maxNotices
        storage.withLock { s in Self.append(line, to: &s.notices, cap: cap, dropped: &s.noticesDropped) }
    }

    /// The security notices since the last call, oldest first (each printed once).
    public func takeNotices() -> [String] {
        storage.withLock { s in defer { s.notices = [] }; return s.notices }
    }

    /// MNs locked now after too many wrong passwords.
    public func lockedMNs(at now: SessionTime) -> [String] {
        storage.withLock { s in s.guesses.filter { ($0.value.lockedUntil ?? .min) > now }.map(\.key).sorted() }
    }

    /// Marks an MN as initialised; true when it was not before.
    func markInitialised(_ mn: String) -> Bool {
        storage.withLock { $0.initialised.insert(mn).inserted }
    }

    static func append<T>(_ items: [T], to list: inout [T], cap: Int, dropped: inout Int) {
        guard !items.isEmpty else { return }
        list += items
        if list.count > cap {
            let excess = list.count - max(0, cap)
            list.removeFirst(excess)
            dropped += excess
        }
    }

    static func append<T>(_ item: T, to list: inout [T], cap: Int, dropped: inout Int) {
        list.append(item)
        if list.count > cap {
            let excess = list.count - max(0, cap)
            list.removeFirst(excess)
            dropped += excess
        }
    }

    /// What a session noted about one accepted packet (`PlatformOutput.packetAccepted`).
    struct Touch {
        var mn: String
        var pw: String?
        var st: String?
        var dialect: Dialect
        var cn: String
        var peer: String
        var time: SessionTime

        init(_ p: AcceptedPacket, _ head: HeaderFields) {
            mn = head.mn ?? ""
            pw = head.pw
            st = head.st
            dialect = p.dialect
            cn = head.cn ?? ""
            peer = p.peer
            time = p.time
        }
    }

    /// Notes an accepted packet: last seen, PW, ST, dialect, count by CN.
    /// Returns where the unit is in `s.units` (nil: not tracked), valid until the next insertion.
    @discardableResult
    static func apply(_ t: Touch, to s: inout Storage, limits: PlatformLimits) -> [String: UnitRecord].Index? {
        let mn = t.mn
        guard !mn.isEmpty else { return nil }
        var index = s.units.index(forKey: mn)
        if index == nil {
            guard s.units.count < limits.maxUnits else { s.unitsNotTracked += 1; return nil }
            s.units[mn] = UnitRecord(mn: mn, dialect: t.dialect, at: t.time, peer: t.peer)
            index = s.units.index(forKey: mn)
        }
        // Mutated in place through the values view: one hash per packet, no copy of the record.
        func update(_ u: inout UnitRecord) {
            u.lastSeen = t.time
            u.lastPeer = t.peer
            if let pw = t.pw { u.pw = pw }
            if let st = t.st, st != "91" { u.st = st }
            if t.dialect != .unknown { u.dialect = t.dialect }
            u.packetsByCN[t.cn, default: 0] += 1
        }
        update(&s.units.values[index!])
        return index
    }

    /// The one place where a session's outputs change the platform's model: accepted packets
    /// (last seen, PW, ST, dialect, count by CN), accepted records, counters, log lines,
    /// diagnostics, command results and notices, in output order under one lock. Drivers call
    /// it once per input with that input's outputs (`SessionLink`); the array-returning forms
    /// of `PlatformSession` call it themselves. Wire actions are ignored.
    public func commit(_ outputs: [PlatformOutput]) {
        guard !outputs.isEmpty else { return }
        let limits = self.limits
        // An input keeps its last `maxDiagnostics` findings; older ones of the same input are
        // dropped uncounted (they never were the platform's: a burst of noise in one read).
        var diagnostics = 0
        for case .diagnostic in outputs { diagnostics += 1 }
        var skip = max(0, diagnostics - limits.maxDiagnostics)
        // The header of the last packet, for its record: a whole upload's record is the packet's
        // segment (the same header storage, so the same fields): read once, not twice.
        // Its unit's place in `units` too (nothing is inserted between a packet and its record).
        var lastHeader: (storage: UnsafeRawPointer?, fields: HeaderFields, unit: [String: UnitRecord].Index?)?
        storage.withLock { s in
            for output in outputs {
                switch output {
                case .packetAccepted(let p):
                    let head = HeaderFields(p.segment)
                    let unit = Self.apply(Touch(p, head), to: &s, limits: limits)
                    lastHeader = (Self.storageOf(p.segment.header), head, unit)
                case .recordAccepted(let r):
                    let same = lastHeader.flatMap { $0.storage == Self.storageOf(r.segment.header) ? $0 : nil }
                    _ = Self.store(record: r.segment, at: r.time, in: &s, limits: limits, head: same?.fields, unit: same?.unit)
                case .counted(let delta): s.counters.add(delta)
                case .logged(let entry): Self.append(entry, to: &s.log, cap: limits.maxLogEntries, dropped: &s.logDropped)
                case .diagnostic(let d):
                    if skip > 0 { skip -= 1; continue }
                    Self.append(d, to: &s.diagnostics, cap: limits.maxDiagnostics, dropped: &s.diagnosticsDropped)
                case .commandFinished(let r): Self.append(r, to: &s.results, cap: limits.maxCommandResults, dropped: &s.resultsDropped)
                case .notice(let line): Self.append(line, to: &s.notices, cap: limits.maxNotices, dropped: &s.noticesDropped)
                case .send, .close: break
                }
            }
        }
    }

    /// Stores an accepted record (a whole or reassembled upload). Returns what happened to its
    /// DataTime in the completeness log (nil when the CN is not tracked or it has no DataTime).
    @discardableResult
    func store(record segment: DataSegment, at time: SessionTime) -> DataTimeLog.Insertion? {
        let limits = self.limits
        return storage.withLock { s in Self.store(record: segment, at: time, in: &s, limits: limits) }
    }

    /// Where an array's elements are: arrays sharing it hold the same elements.
    static func storageOf(_ header: [Field]) -> UnsafeRawPointer? {
        header.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
    }

    /// `head`: the segment's header fields when the caller has read them already.
    static func store(record segment: DataSegment, at time: SessionTime, in s: inout Storage, limits: PlatformLimits,
                      head known: HeaderFields? = nil, unit knownUnit: [String: UnitRecord].Index? = nil) -> DataTimeLog.Insertion? {
        let head = known ?? HeaderFields(segment)
        guard let mn = head.mn, !mn.isEmpty, let cn = head.cn else { return nil }
        let dataTime = segment.cpValue("DataTime").flatMap { HJTime($0, allowMilliseconds: true)?.wallMilliseconds }
        // `knownUnit`: the unit of this MN as `apply` just found it (no second lookup).
        guard let index = knownUnit ?? s.units.index(forKey: mn) else { return nil }
        // Mutated in place through the values view (one hash, and the arrays inside stay uniquely
        // referenced: no copy of a 100 000-entry DataTime log per record).
        return update(&s.units.values[index])
        func update(_ unit: inout UnitRecord) -> DataTimeLog.Insertion? {
            unit.recordsByCN[cn, default: 0] += 1
            unit.lastRecords[cn] = segment.cp ?? []
            var insertion: DataTimeLog.Insertion?
            if let dataTime {
                unit.lastDataTime[cn] = dataTime
                if Completeness.trackedCNs.contains(cn) {
                    var log = unit.dataTimes.removeValue(forKey: cn) ?? DataTimeLog(window: limits.dataTimeWindow, capacity: limits.dataTimesPerCN)
                    insertion = log.insert(dataTime)
                    if cn == "2051", insertion == .new, unit.minIntervalSource == nil || unit.minIntervalSource == .learned {
                        let (before, after) = log.neighbours(of: dataTime)
                        for spacing in [before.map { dataTime - $0 }, after.map { $0 - dataTime }].compactMap({ $0 }) {
                            if let minutes = Completeness.minIntervalCandidate(spacing: spacing), minutes < (unit.minInterval ?? Int.max) {
                                unit.minInterval = minutes
                                unit.minIntervalSource = .learned
                            }
                        }
                    }
                    unit.dataTimes[cn] = log
                }
            }
            switch cn {
            case "1061":
                if let v = segment.cpValue("RtdInterval").flatMap({ Int($0) }) { unit.rtdInterval = v }
            case "1063":
                if let v = segment.cpValue("MinInterval").flatMap({ Int($0) }), Completeness.validMinIntervals.contains(v) {
                    unit.minInterval = v
                    unit.minIntervalSource = .reported
                }
            case "2081":
                if let r = segment.cpValue("RestartTime").flatMap({ HJTime($0, allowMilliseconds: true) }) { unit.restartTime = r.wallMilliseconds }
            default:
                break
            }
            return insertion
        }
    }

    /// Applies what a successful command changed on the logger.
    func commandSucceeded(cn: String, request: DataSegment, mn: String) {
        storage.withLock { s in
            switch cn {
            case "1072":
                if let pw = request.cpValue("NewPW") {
                    s.registry?.setPassword(mn: mn, to: pw)
                    s.units[mn]?.pw = pw
                }
            case "1064":
                if let v = request.cpValue("MinInterval").flatMap({ Int($0) }), Completeness.validMinIntervals.contains(v), s.units[mn] != nil {
                    s.units[mn]!.minInterval = v
                    s.units[mn]!.minIntervalSource = .configured
                }
            case "1062":
                if let v = request.cpValue("RtdInterval").flatMap({ Int($0) }) { s.units[mn]?.rtdInterval = v }
            default:
                break
            }
        }
    }
}

// MARK: - Completeness queries

extension PlatformState {
    /// The missing DataTimes of `cn` (2051, 2061 or 2031) for a unit within `from...to`
    /// (local wall ms, inclusive), consecutive ones merged. 2051 uses the unit's MinInterval
    /// (reported, configured or learned; 10 minutes when unknown). Empty for an unknown unit
    /// or an untracked CN.
    public func gaps(mn: String, cn: String, from: SessionTime, to: SessionTime) -> [ClosedRange<SessionTime>] {
        completeness(mn: mn, cn: cn, from: from, to: to)?.gaps ?? []
    }

    /// Expected against received DataTimes of one CN of a unit.
    public func completeness(mn: String, cn: String, from: SessionTime, to: SessionTime) -> CompletenessSummary? {
        guard let unit = unit(mn), let interval = Completeness.interval(cn: cn, minInterval: unit.effectiveMinInterval) else { return nil }
        return Completeness.summary(mn: mn, cn: cn, log: unit.dataTimes[cn], interval: interval, from: from, to: to)
    }

    /// The completeness of a unit's 2051, 2061 and 2031 data.
    public func summary(mn: String, from: SessionTime, to: SessionTime) -> UnitCompleteness? {
        guard let unit = unit(mn) else { return nil }
        return Self.summary(unit, from: from, to: to)
    }

    /// The completeness of every unit, sorted by MN.
    public func summaries(from: SessionTime, to: SessionTime) -> [UnitCompleteness] {
        units.values.sorted { $0.mn < $1.mn }.map { Self.summary($0, from: from, to: to) }
    }

    static func summary(_ unit: UnitRecord, from: SessionTime, to: SessionTime) -> UnitCompleteness {
        var byCN: [String: CompletenessSummary] = [:]
        for cn in Completeness.trackedCNs {
            guard let interval = Completeness.interval(cn: cn, minInterval: unit.effectiveMinInterval) else { continue }
            byCN[cn] = Completeness.summary(mn: unit.mn, cn: cn, log: unit.dataTimes[cn], interval: interval, from: from, to: to)
        }
        return UnitCompleteness(mn: unit.mn, from: from, to: to, byCN: byCN)
    }
}
