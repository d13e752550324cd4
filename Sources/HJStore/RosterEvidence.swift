import HJ212
import HJSimulation

/// What the platforms received, merged from several stores and traces: per unit, its hour
/// records (judged against the unit's pollutants) and when it was last heard.
///
/// A trace is read as a platform would have taken it: a logger's frame counts only when its
/// framing would be acknowledged (CRC, length field, at most 1024 bytes of data segment), and a
/// record split over several packets (PNUM/PNO) counts once, when its last part arrived, as the
/// store keeps it. An hour record whose DataTime is not a real hour of the calendar (month 13,
/// 31 November, hour 24) is not counted from either source.
///
/// Budget: one entry per unit and hour of the period (520 units × 744 hours ≈ 390,000), only for
/// MNs of the fleet; the MNs outside the fleet are counted, the first `unknownSampleLimit` kept
/// by name; split records in progress while a trace is read: at most `maxPendingSplits` (the
/// oldest dropped beyond it, and counted).
public struct RosterEvidence: Sendable {
    /// One received hour of one unit.
    public struct Hour: Sendable, Equatable {
        /// Factor codes the record carried.
        public var factors: [String]
        /// Why the hour is invalid (`D 故障`, `缺因子`), nil when valid.
        public var cause: String?
    }

    /// What was read and not counted, for the command to say.
    public struct Skipped: Sendable, Equatable {
        /// Hour records whose DataTime is no real hour (`20261131…`, hour 24 …).
        public var impossibleDataTimes = 0
        /// Trace frames a platform would not have acknowledged (bad CRC, length field, size).
        public var refusedFrames = 0
        /// Split records of a trace left incomplete (a part missing, or over the budget).
        public var incompleteSplits = 0
        /// Distinct MNs that sent something and are not in the fleet, and the first of them;
        /// `unknownMNsAtLeast` when there were more than `maxUnknownTracked` (the count stops there).
        public var unknownMNs = 0
        public var unknownMNsAtLeast = false
        public var unknownSample: [String] = []
    }

    /// MN → hour key (`YYYYMMDDhh`) → the best copy received (a valid one wins).
    public private(set) var hours: [String: [Int64: Hour]] = [:]
    /// MN → the last packet ever received (`YYYYMMDDhhmmssSSS`, China time), any CN, any time.
    public private(set) var lastSeen: [String: Int64] = [:]
    public private(set) var skipped = Skipped()
    let pollutants: [String: [String]]
    private var unknown: Set<String> = []

    public static let unknownSampleLimit = 10
    /// Distinct unknown MNs remembered (to count each once); beyond it the count stops and says so.
    public static let maxUnknownTracked = 10_000
    public static let maxPendingSplits = 4_096

    public init(fleet: Fleet) {
        var p: [String: [String]] = [:]
        for u in fleet.units { p[u.identity.mn] = u.pollutants }
        pollutants = p
    }

    static let flagNames: [String: String] = [
        "F": "F 停运", "M": "M 维护", "D": "D 故障", "C": "C 校准", "T": "T 超测上限", "B": "B 通讯异常",
    ]

    /// HJ/T 212-2005 pollutant code → its HJ 212-2017 code (the 原编码 column of Appendix B): a
    /// unit still sending 2005 codes (`011` COD, `B01` flow) is judged against the fleet's 2017
    /// codes. No 2005 code is also a 2017 code, so the mapping is safe on any record.
    static let codes2017: [String: String] = {
        var map: [String: String] = [:]
        let dictionary = CodeDictionary.shared(.hj2017)
        for f in dictionary.factors.values where !f.code2005.isEmpty && f.code2005 != "-" && dictionary.factors[f.code2005] == nil {
            map[f.code2005] = f.code
        }
        return map
    }()

    /// The record's factors (and invalid flags) under their 2017 codes.
    static func in2017Codes(_ summary: RecordSummary) -> RecordSummary {
        guard summary.factors.contains(where: { codes2017[$0] != nil }) else { return summary }
        var s = summary
        s.factors = summary.factors.map { codes2017[$0] ?? $0 }
        s.invalid = Dictionary(summary.invalid.map { (codes2017[$0.key] ?? $0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        return s
    }

    /// Adds one hour record (`dataTime` YYYYMMDDhhmmss).
    public mutating func add(mn: String, dataTime: Int64, summary: RecordSummary) {
        guard let wanted = pollutants[mn] else { return noteUnknown(mn) }
        guard Self.isCalendarTime(dataTime) else {
            skipped.impossibleDataTimes += 1
            return
        }
        let summary = Self.in2017Codes(summary)
        var cause: String?
        if wanted.contains(where: { !summary.factors.contains($0) }) {
            cause = "缺因子"
        } else if let bad = wanted.compactMap({ summary.invalid[$0] }).first {
            cause = Self.flagNames[bad] ?? "\(bad) 无效标记"
        }
        let key = dataTime / 10_000
        let hour = Hour(factors: summary.factors, cause: cause)
        if let existing = hours[mn]?[key], existing.cause == nil { return }
        hours[mn, default: [:]][key] = hour
    }

    /// Notes a packet received at `digits17` (YYYYMMDDhhmmssSSS).
    public mutating func seen(mn: String, at digits17: Int64) {
        guard pollutants[mn] != nil else { return noteUnknown(mn) }
        if lastSeen[mn].map({ digits17 > $0 }) ?? true { lastSeen[mn] = digits17 }
    }

    private mutating func noteUnknown(_ mn: String) {
        guard !unknown.contains(mn) else { return }
        guard unknown.count < Self.maxUnknownTracked else {
            skipped.unknownMNsAtLeast = true
            return
        }
        unknown.insert(mn)
        skipped.unknownMNs += 1
        if skipped.unknownSample.count < Self.unknownSampleLimit { skipped.unknownSample.append(mn) }
    }

    /// Adds a store's units and its hour records of the period.
    public mutating func add(store: Store, period: RosterPeriod) throws(StoreError) {
        for u in try store.units() { seen(mn: u.mn, at: u.lastSeen) }
        let from = Int64(period.from.text14) ?? 0, to = Int64(period.to.text14) ?? 0
        try store.forEachRecord(cn: CommandCode.hourData.rawValue, from: from, to: to) { add(mn: $0.mn, dataTime: $0.dataTime, summary: $0.summary) }
    }

    /// Adds the frames a logger sent (`"dir":"up"`) from a JSON Lines trace (ARCHITECTURE.md
    /// format); other lines, unreadable ones included, are skipped and counted.
    @discardableResult
    public mutating func add(traceText text: Substring, period: RosterPeriod) -> (frames: Int, skipped: Int) {
        var frames = 0, unreadable = 0
        let from = Int64(period.from.text14) ?? 0, to = Int64(period.to.text14) ?? 0
        var splits = Reassembler(maxPending: Self.maxPendingSplits)
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            guard line.contains("\"up\"") else { continue }
            guard let json = try? JSONValue.parse(String(line)), case .string(let dir)? = json["dir"], dir == "up",
                  let frame = TraceFrameBytes.frame(json) else { unreadable += 1; continue }
            frames += 1
            guard let raw = Self.acknowledgeable(frame) else {
                skipped.refusedFrames += 1
                continue
            }
            var segment = SegmentParser.parse(raw.segmentText).segment
            guard let mn = segment.mn else { continue }
            if case .string(let t)? = json["t"], let at = Self.chinaDigits17(iso: t) { seen(mn: mn, at: at) }
            if (segment.flag?.isSplit ?? false) || segment.header("PNUM") != nil {
                switch splits.add(segment) {
                case .whole(let s), .complete(let s): segment = s
                case .pending, .rejected: continue
                }
            }
            guard segment.isCN(.hourData), let dt = segment.cpValue("DataTime").flatMap(StoreBatch.digits14), dt >= from, dt < to else { continue }
            add(mn: mn, dataTime: dt, summary: StoreBatch.summary(of: segment))
        }
        skipped.incompleteSplits += splits.pendingCount + splits.dropped
        return (frames, unreadable)
    }

    /// The frame of a trace line when a platform would acknowledge its framing: `##`, a length
    /// field equal to the data segment's length (in bytes, or in characters as some firmware
    /// counts, as `serve` accepts), at most 1024 bytes, and the HJ 212 CRC (either case).
    ///
    /// The framing half of `serve`'s rule (`PlatformSession.wellFormedCN`), sharing its length
    /// rule (`RawFrame.declaredLengthFits`) and size limit, but not called, deliberately: the
    /// platform takes its CRC verdict from the linter's report of the frame (the CRC computed
    /// once on its hot path; the roster runs no linter), lets `serve --misbehave` switch each
    /// check off, and counts and logs each refusal in its session. Nor does the roster check what
    /// the platform checks beyond framing (a CN, the registry and password): it reads the CN and
    /// MN itself, and its fleet is its registry. `RosterFramingTests` holds both to the same
    /// answers.
    static func acknowledgeable(_ frame: [UInt8]) -> RawFrame? {
        var decoder = FrameDecoder()
        decoder.feed(frame + [0x0D, 0x0A])
        var raw: RawFrame?
        while let event = decoder.next() {
            if case .frame(let f) = event, raw == nil { raw = f }
        }
        for case .frame(let f) in decoder.finish() where raw == nil { raw = f }
        guard let raw, raw.segment.count <= PacketSplitter.maxSegmentBytes, raw.declaredLengthFits else { return nil }
        // Four hex digits exactly (`UInt16(_:radix:)` would take "+1C8" for 01C8).
        guard CRC.parseHex(raw.crcBytes) == CRC.hj212(raw.segmentBytes) else { return nil }
        return raw
    }

    /// Whether `YYYYMMDDhhmmss` is a real time of the calendar.
    public static func isCalendarTime(_ t: Int64) -> Bool {
        guard t >= 0 else { return false }
        let second = t % 100, minute = t / 100 % 100, hour = t / 10_000 % 100
        let day = Int(t / 1_000_000 % 100), month = Int(t / 100_000_000 % 100), year = Int(t / 10_000_000_000)
        guard (1...12).contains(month), day >= 1, hour < 24, minute < 60, second < 60, (1...9999).contains(year) else { return false }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        return day <= days
    }

    /// `2026-11-30T12:00:00.000+08:00` → 20261130120000000 in China time (UTC+8): a trace
    /// line's time read as every trace reader reads it (`HJTime.chinaWallMilliseconds(iso:)`).
    static func chinaDigits17(iso t: String) -> Int64? {
        HJTime.chinaWallMilliseconds(iso: t).flatMap { Int64(HJTime(wallMilliseconds: $0).text17) }
    }
}
