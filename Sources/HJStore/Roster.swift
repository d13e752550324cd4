import HJ212
import HJSimulation

/// The Annex 1 roster (联网名录) of a fleet, filled in from what the platform received, with the
/// hourly transmission and validity rates per unit and per county.
///
/// Method (stated in docs/roster.md; provisional where marked):
/// - **hours due** (应传小时数): the whole hours of the period whose hour had ended by `now`,
///   from the later of the period start and `installed_since`; none for a unit whose equipment
///   is not installed.
/// - **hours received** (实传小时数): distinct hours with a CN=2061 hour record (DataTime = the hour).
/// - **hours valid** (有效小时数): received hours whose record carries every pollutant of the unit
///   and none with an invalid data flag (valid: `RecordSummary.validFlags`, N and S, provisional).
/// - 传输率 = received / due; 有效率 = valid / received; 传输有效率 = 传输率 × 有效率 = valid / due.
///   The three ratios and the 90 % mark follow the practice of the national assessment of data
///   transmission effectiveness (数据传输有效率) of automatic monitoring; its text is not in the
///   project's reference, so the method is marked provisional in every output.
/// - A unit's figures are provisional while its hours may still be backfilled: the period ends
///   less than `backfillHours` before `now`.
///
/// ```swift
/// var evidence = RosterEvidence(fleet: fleet)
/// try evidence.add(store: store, period: period)
/// let roster = Roster(fleet: fleet, evidence: evidence, period: period, now: HJTime(...))
/// ```
public struct Roster: Sendable {
    /// 联网情况.
    public enum Networked: String, Sendable, CaseIterable {
        case networked = "联网"
        case notNetworked = "未联网"
        case factorsMissing = "部分因子缺失"
        case abnormal = "数据异常"

        public var english: String {
            switch self {
            case .networked: return "networked"
            case .notNetworked: return "not networked"
            case .factorsMissing: return "factors missing"
            case .abnormal: return "abnormal data"
            }
        }
    }

    /// Rates (the three ratios) of a set of hours; nil where the denominator is 0.
    public struct Hours: Sendable, Equatable {
        public var due = 0
        public var received = 0
        public var valid = 0
        public init(due: Int = 0, received: Int = 0, valid: Int = 0) {
            self.due = due
            self.received = received
            self.valid = valid
        }
        public var transmissionRate: Double? { due > 0 ? Double(received) / Double(due) : nil }
        public var validityRate: Double? { received > 0 ? Double(valid) / Double(received) : nil }
        public var effectiveRate: Double? { due > 0 ? Double(valid) / Double(due) : nil }
        public static func += (a: inout Hours, b: Hours) { a.due += b.due; a.received += b.received; a.valid += b.valid }
    }

    /// One row of Annex 1: one monitoring point of the fleet.
    public struct Row: Sendable {
        public var index: Int
        public var unit: FleetUnit
        /// 污染物名称: the Chinese names of the unit's pollutant codes.
        public var pollutantNames: [String]
        /// 是否安装设备: the unit has ever sent anything to the platform (as of the roster's making).
        public var installed: Bool
        public var networked: Networked
        /// Why it is not 联网 (Chinese, for the table).
        public var networkedReason: String
        public var hours: Hours
        /// Received hours that were invalid, by cause (`D 故障`, `缺因子` …).
        public var invalidCauses: [String: Int]
        public var provisional: Bool
        /// The last packet ever received from it, `YYYYMMDDhhmmssSSS`.
        public var lastSeen: Int64?
        public var assessed: Bool { unit.roster.assessed }
        public var belowMark: Bool { assessed && (hours.effectiveRate.map { $0 < Roster.mark } ?? false) }
    }

    /// One county (所在县区): its assessed units only.
    public struct County: Sendable {
        public var name: String
        public var units = 0
        public var assessed = 0
        public var installed = 0
        public var networked = 0
        public var hours = Hours()
        public var belowMark = 0
    }

    /// 90 %: the mark below which a unit is listed.
    public static let mark = 0.9
    /// Hours a logger may still backfill (its own storage, 2061 on request): figures of a period
    /// that ended less than this before `now` are provisional.
    public static let backfillHours: Int64 = 48

    public var period: RosterPeriod
    public var now: HJTime
    public var rows: [Row]
    public var counties: [County]
    public var total: County
    public var provisional: Bool { rows.contains { $0.provisional } }
    public var belowMark: [Row] { rows.filter(\.belowMark) }

    public init(fleet: Fleet, evidence: RosterEvidence, period: RosterPeriod, now: HJTime) {
        self.period = period
        self.now = now
        let nowMs = now.wallMilliseconds
        let periodEnd = min(period.to.wallMilliseconds, nowMs - nowMs % 3_600_000)
        let provisional = period.to.wallMilliseconds > nowMs - Self.backfillHours * 3_600_000
        let dictionary = CodeDictionary.shared(.hj2017)
        var rows: [Row] = []
        for (i, unit) in fleet.units.enumerated() {
            let mn = unit.identity.mn
            var start = period.from.wallMilliseconds
            if let since = unit.roster.installedSince { start = max(start, since.wallMilliseconds) }
            var hours = Hours()
            if !unit.roster.notInstalled && periodEnd > start {
                start += (3_600_000 - start % 3_600_000) % 3_600_000
                hours.due = Int(max(0, (periodEnd - start) / 3_600_000))
            }
            let periodKey = Self.hourKey(period.from.wallMilliseconds), startKey = Self.hourKey(start), endKey = Self.hourKey(periodEnd)
            // The hours due count towards the rates; hours received in the period while none
            // was due (not installed, or before installed_since) are named in the reason.
            var causes: [String: Int] = [:]
            var seen = Set<String>()
            var undue = Hours()
            var undueCauses: [String: Int] = [:]
            var undueSeen = Set<String>()
            for (key, hour) in evidence.hours[mn] ?? [:] where key >= periodKey && key < endKey {
                if hours.due > 0 && key >= startKey {
                    hours.received += 1
                    seen.formUnion(hour.factors)
                    if let cause = hour.cause { causes[cause, default: 0] += 1 } else { hours.valid += 1 }
                } else {
                    undue.received += 1
                    undueSeen.formUnion(hour.factors)
                    if let cause = hour.cause { undueCauses[cause, default: 0] += 1 } else { undue.valid += 1 }
                }
            }
            // 是否安装设备: it has sent something (as of the roster's making: a unit first heard
            // after the period may have backfilled it).
            let installed = evidence.lastSeen[mn] != nil
            let names = unit.pollutants.map { dictionary.factor($0)?.nameZh ?? $0 }
            // 联网情况 is judged on the hours due, or, when none was due, on the hours that came anyway.
            let judged = hours.due > 0 ? hours : undue
            let judgedSeen = hours.due > 0 ? seen : undueSeen
            let judgedCauses = hours.due > 0 ? causes : undueCauses
            var networked = Networked.networked
            var reason = ""
            let missing = unit.pollutants.filter { !judgedSeen.contains($0) }
            if !installed {
                networked = .notNetworked
                reason = unit.roster.notInstalled ? "未安装设备" : "从未收到数据"
            } else if judged.received == 0 {
                networked = .notNetworked
                reason = "本期未收到小时数据" + (evidence.lastSeen[mn].map { "（最后收到 \(Self.describe(digits17: $0))）" } ?? "")
            } else if !missing.isEmpty {
                networked = .factorsMissing
                reason = "缺 " + missing.map { code in "\(code) \(dictionary.factor(code)?.nameZh ?? "")" }.joined(separator: "、")
            } else if judged.valid * 10 < judged.received * 9 {
                networked = .abnormal
                reason = "有效率 \(Self.percent(judged.valid, of: judged.received))：" + Self.describe(causes: judgedCauses)
            }
            if undue.received > 0 {
                let note = unit.roster.notInstalled ? "名录为未安装，但本期收到 \(undue.received) 小时数据，不计应传"
                                                    : "安装日期前收到 \(undue.received) 小时数据，不计应传"
                reason = reason.isEmpty ? note : reason + "；" + note
            }
            rows.append(Row(index: i + 1, unit: unit, pollutantNames: names, installed: installed, networked: networked, networkedReason: reason,
                            hours: hours, invalidCauses: causes, provisional: provisional && hours.due > 0, lastSeen: evidence.lastSeen[mn]))
        }
        self.rows = rows
        var byCounty: [String: County] = [:]
        var order: [String] = []
        var total = County(name: "合计")
        for row in rows {
            if byCounty[row.unit.county] == nil { order.append(row.unit.county); byCounty[row.unit.county] = County(name: row.unit.county) }
            Self.count(row, into: &byCounty[row.unit.county]!)
            Self.count(row, into: &total)
        }
        counties = order.map { byCounty[$0]! }
        self.total = total
    }

    static func count(_ row: Row, into c: inout County) {
        c.units += 1
        if row.installed { c.installed += 1 }
        if row.networked == .networked { c.networked += 1 }
        guard row.assessed else { return }
        c.assessed += 1
        c.hours += row.hours
        if row.belowMark { c.belowMark += 1 }
    }

    /// `YYYYMMDDhh` of a local wall-clock time.
    static func hourKey(_ ms: Int64) -> Int64 {
        let t = HJTime(wallMilliseconds: ms)
        return Int64(t.year) * 1_000_000 + Int64(t.month) * 10_000 + Int64(t.day) * 100 + Int64(t.hour)
    }

    /// `96.5 %`, cut (not rounded) to the tenth below, so that a rate under the 90 % mark never
    /// reads 90.0 % (0.8996 is `89.9 %`).
    public static func percent(_ r: Double?) -> String {
        guard let r, r.isFinite else { return "-" }
        // The ratios are of whole hours (denominators far below 10^6): the true value is at least
        // 10^-6 of a tenth away from the next tenth, far above the 1e-9 that absorbs rounding error.
        let tenths = Int((r * 1000 + 1e-9).rounded(.down))
        return "\(tenths / 10).\(tenths % 10) %"
    }

    /// `percent` of `n / d` in integers; `-` when `d` is 0.
    public static func percent(_ n: Int, of d: Int) -> String {
        guard d > 0 else { return "-" }
        let tenths = n * 1000 / d
        return "\(tenths / 10).\(tenths % 10) %"
    }

    /// `D 故障 6 h，C 校准 2 h`: most hours first, then by name (the same text on every run).
    static func describe(causes: [String: Int]) -> String {
        causes.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map { "\($0.key) \($0.value) h" }.joined(separator: "，")
    }

    static func describe(digits17 d: Int64) -> String {
        let s = String(d)
        guard s.count >= 12 else { return s }
        let c = Array(s)
        return "\(String(c[0..<4]))-\(String(c[4..<6]))-\(String(c[6..<8])) \(String(c[8..<10])):\(String(c[10..<12]))"
    }
}

/// A roster period in local time: `from` inclusive, `to` exclusive.
public struct RosterPeriod: Sendable, Equatable {
    public var from: HJTime
    public var to: HJTime

    public init(from: HJTime, to: HJTime) {
        self.from = from
        self.to = to
    }

    /// `2026-11`: the month.
    public init?(month text: String) {
        let parts = text.split(separator: "-")
        guard parts.count == 2, let y = Int(parts[0]), let m = Int(parts[1]), (2000...2200).contains(y), (1...12).contains(m) else { return nil }
        from = HJTime(year: y, month: m, day: 1)
        to = m == 12 ? HJTime(year: y + 1, month: 1, day: 1) : HJTime(year: y, month: m + 1, day: 1)
    }

    /// `2026-11-05` (a day's start).
    public static func day(_ text: String) -> HJTime? {
        let digits = text.replacingOccurrences(of: "-", with: "")
        guard digits.count == 8, let t = HJTime(digits + "000000"), t.isValid else { return nil }
        return t
    }

    public var hours: Int { Int((to.wallMilliseconds - from.wallMilliseconds) / 3_600_000) }
}
