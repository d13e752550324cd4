import HJ212
import HJLive
import HJRoles
import HJStore

/// `serve --store`: the end-of-run summary of everything the store holds, over every run of the
/// platform on it (a restarted `serve` shows the units, completeness and commands it stored
/// before, not only this run's).
enum ServeStoreSummary {
    /// Rows of the unit table at most (the rest are counted).
    static let maxRows = 100

    /// `state`: this run's platform, whose units' MinInterval (reported, configured or learnt
    /// live) wins over the one learnt from the stored records.
    static func print(_ store: Store, state: PlatformState? = nil, io: CommandIO) {
        do throws(StoreError) {
            let counts = try store.counts()
            let units = try store.units()
            let spans = try store.spans(cns: ["2051", "2061", "2031"])
            // The minute records' interval of each unit: as this run's platform knows it, else
            // learnt from the stored DataTimes (read only when a unit with minute records needs it).
            var intervals: [String: Int] = [:]
            for s in spans where s.cn == "2051" { if let m = state?.unit(s.mn)?.minInterval { intervals[s.mn] = m } }
            if spans.contains(where: { $0.cn == "2051" && $0.records > 1 && intervals[$0.mn] == nil }) {
                for (mn, m) in try learnedMinIntervals(store) where intervals[mn] == nil { intervals[mn] = m }
            }
            var unknownInterval = false
            io.stdout.line("stored (every run on \(TerminalText.safe(store.path))): \(counts.units) units, \(counts.packets) packets, \(counts.records) records, \(counts.values) values, \(counts.commands) commands")
            guard !units.isEmpty else { return }
            var byUnit: [String: [String: StoredSpan]] = [:]
            for s in spans { byUnit[s.mn, default: [:]][s.cn] = s }
            io.stdout.line("  records stored / expected from the unit's first to its last record (all runs):")
            io.stdout.line("  " + "MN".padding(toLength: 26, withPad: " ", startingAt: 0) + "packets".leftPad(9) + "2051".leftPad(13) + "2061".leftPad(11) + "2031".leftPad(9) + "  last seen")
            for u in units.prefix(maxRows) {
                var cells: [String] = []
                for (cn, width) in [("2051", 13), ("2061", 11), ("2031", 9)] {
                    guard let s = byUnit[u.mn]?[cn] else { cells.append("-".leftPad(width)); continue }
                    let expected = expectedRecords(cn: cn, first: s.first, last: s.last, received: s.records, minIntervalMinutes: intervals[u.mn])
                    if expected == nil { unknownInterval = true }
                    cells.append("\(s.records)/\(expected.map(String.init) ?? "?")".leftPad(width))
                }
                io.stdout.line("  " + safeWire(u.mn).padding(toLength: 26, withPad: " ", startingAt: 0) + String(u.packets).leftPad(9) + cells.joined()
                               + "  " + describe(u.lastSeen))
            }
            if units.count > maxRows { io.stdout.line("  … and \(units.count - maxRows) more units") }
            if unknownInterval { io.stdout.line("  ?: the unit's minute-data interval (MinInterval) is not known (no two stored 2051 records at a valid spacing): not guessed") }
            let commands = try store.commands(last: 10)
            if !commands.isEmpty {
                io.stdout.line("  commands stored: \(counts.commands) (last \(commands.count)):")
                for c in commands {
                    let name = CodeDictionary.shared(.hj2017).command(c.cn).map { " " + $0.nameZh } ?? ""
                    var parts = [c.outcome]
                    if let q = c.qnRtn { parts.append("QnRtn \(q)") }
                    if c.records > 0 { parts.append("\(c.records) record\(c.records == 1 ? "" : "s")") }
                    if let e = c.exeRtn { parts.append("ExeRtn \(e)") }
                    io.stdout.line("    " + describe(c.finishedAt) + " " + safeWire("\(c.cn)\(name) → \(c.mn): " + parts.joined(separator: ", "), limit: TerminalLimits.message))
                }
            }
        } catch {
            io.stdout.line("stored: cannot read \(TerminalText.safe(store.path)): \(safeMessage(error.message))")
        }
    }

    /// Periods from the first DataTime to the last, both included, at the unit's interval for
    /// minute records (`minIntervalMinutes`; nil when not known: then nil, not a guess) and at
    /// an hour and a day for 2061 and 2031.
    static func expectedRecords(cn: String, first: Int64, last: Int64, received: Int, minIntervalMinutes: Int?) -> Int? {
        guard let a = time(first), let b = time(last), b >= a else { return received }
        if a == b { return max(received, 1) }
        let period: Int64
        switch cn {
        case "2061": period = Completeness.hour
        case "2031": period = Completeness.day
        default:
            guard let m = minIntervalMinutes, let p = Completeness.interval(cn: "2051", minInterval: m) else { return nil }
            period = p
        }
        return max(received, Int((b - a) / period) + 1)
    }

    /// Each unit's minute-data interval (minutes) as its stored 2051 DataTimes show it: the most
    /// frequent spacing between consecutive ones that is a valid MinInterval (HJ 212-2017
    /// Table 4; a tie goes to the shorter). Units without two such records are absent.
    static func learnedMinIntervals(_ store: Store) throws(StoreError) -> [String: Int] {
        var previous: [String: Int64] = [:]
        var votes: [String: [Int: Int]] = [:]
        try store.forEachRecord(cn: "2051", from: 0, to: Int64.max) { r in
            guard let t = time(r.dataTime) else { return }
            defer { previous[r.mn] = t }
            guard let p = previous[r.mn], let m = Completeness.minIntervalCandidate(spacing: t - p) else { return }
            votes[r.mn, default: [:]][m, default: 0] += 1
        }
        return votes.compactMapValues { v in v.max { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }?.key }
    }

    /// `YYYYMMDDhhmmss…` digits → local wall-clock milliseconds.
    static func time(_ digits: Int64) -> Int64? {
        var d = digits
        while d >= 100_000_000_000_000 { d /= 10 }  // 17 digits → 14
        guard let t = HJTime(String(d)), t.isValid else { return nil }
        return t.wallMilliseconds
    }

    static func describe(_ digits: Int64) -> String {
        guard let ms = time(digits) else { return String(digits) }
        return HJTime(wallMilliseconds: ms).description
    }
}
