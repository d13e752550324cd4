import HJ212
import HJLive
import HJStore

/// `serve --store`: the end-of-run summary of everything the store holds, over every run of the
/// platform on it (a restarted `serve` shows the units, completeness and commands it stored
/// before, not only this run's).
enum ServeStoreSummary {
    /// Rows of the unit table at most (the rest are counted).
    static let maxRows = 100

    static func print(_ store: Store, io: CommandIO) {
        do throws(StoreError) {
            let counts = try store.counts()
            let units = try store.units()
            let spans = try store.spans(cns: ["2051", "2061", "2031"])
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
                    let expected = expectedRecords(cn: cn, first: s.first, last: s.last, received: s.records)
                    cells.append("\(s.records)/\(expected)".leftPad(width))
                }
                io.stdout.line("  " + safeWire(u.mn).padding(toLength: 26, withPad: " ", startingAt: 0) + String(u.packets).leftPad(9) + cells.joined()
                               + "  " + describe(u.lastSeen))
            }
            if units.count > maxRows { io.stdout.line("  … and \(units.count - maxRows) more units") }
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

    /// Periods from the first DataTime to the last, both included (minute records: the logger's
    /// interval is not in the store, so the most frequent gap between stored records is not
    /// guessed: 10 minutes, the HJ 212-2017 default).
    static func expectedRecords(cn: String, first: Int64, last: Int64, received: Int) -> Int {
        let period: Int64 = cn == "2061" ? 3_600_000 : cn == "2031" ? 86_400_000 : 600_000
        guard let a = time(first), let b = time(last), b >= a else { return received }
        return max(received, Int((b - a) / period) + 1)
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
