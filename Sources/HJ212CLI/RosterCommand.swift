import Glibc
import HJ212
import HJSimulation
import HJStore
import HJLive

/// `hj212 roster`: the Annex 1 联网 roster of a fleet, filled in from stores or traces.
struct RosterCommand: CLICommand {
    static let name = "roster"
    static let abstract = "The Annex 1 联网 roster of a fleet, with 传输率 / 有效率 / 传输有效率 per unit and county, from stores or traces."
    static let fleet = Shared.fleet.help("The fleet manifest (CSV) or a built-in fleet (sample-city, mixed-demo); optional roster columns assessed, reason, installed_since.").required()
    static let store = Option("store", "FILE", help: "A store written by 'serve --store' (repeatable: one platform per machine, merged).", repeatable: true, parse: Parse.path)
    static let trace = Shared.trace.help("A JSON Lines trace (of serve or simulate) instead of or beside stores (repeatable).")
    static let period = Option("period", "YYYY-MM", help: "A calendar month (local time, UTC+8). Default: the current month up to now.",
                               parse: { (p: String) throws(UsageError) -> RosterPeriod in
                                   guard let month = RosterPeriod(month: p) else { throw UsageError("expected YYYY-MM, e.g. 2026-11") }
                                   return month
                               })
    static let from = Option("from", "DAY", help: "First day, YYYY-MM-DD (with --to).", parse: Parse.day)
    static let to = Option("to", "DAY", help: "Last day, YYYY-MM-DD, included.", parse: Parse.day)
    static let format = Option("format", "F", choices: ["csv", "html", "json"], help: "csv (default; Annex 1 column order, Chinese headers, UTF-8 with BOM for Excel), html (county summary and chart), json.")
    static let now = Option("now", "ISO8601", help: "Testing: the time the roster is made at (hours after it are not due).", hidden: true, parse: Parse.start)
    static let options: [any OptionDeclaration] = [fleet, store, trace, period, from, to, format, Shared.out, now]
    static let discussion = """
    Hours due are the whole hours of the period that have ended (from installed_since when given),
    received are the hours with a 2061 hour record, valid those whose record carries every pollutant
    of the unit with a valid flag (N or S). 传输率 = received/due, 有效率 = valid/received,
    传输有效率 = valid/due. Units below 90 % are listed. Figures of a period that ended less than
    48 h ago are provisional (loggers may still backfill). Method and sources: docs/roster.md.

    EXAMPLES:
      hj212 roster --fleet sample-city --store platform.db --period 2026-11 -o roster.csv
      hj212 roster --fleet sample-city --store a.db --store b.db --from 2026-11-01 --to 2026-11-15 --format html -o roster.html
    """

    var a: ParsedArguments
    var period: RosterPeriod?
    var now: HJTime?

    init(_ a: ParsedArguments) throws(UsageError) {
        self.a = a
        guard a.given(Self.fleet) else { throw UsageError("--fleet FILE is required") }
        guard !a.all(Self.store).isEmpty || !a.all(Self.trace).isEmpty else {
            throw UsageError("give at least one --store FILE or --trace FILE")
        }
        if let month = a[Self.period] {
            guard !a.given(Self.from), !a.given(Self.to) else { throw UsageError("give --period or --from/--to, not both") }
            period = month
        } else if a.given(Self.from) || a.given(Self.to) {
            guard let f = a[Self.from], let t = a[Self.to] else {
                throw UsageError("--from and --to: expected days YYYY-MM-DD, both")
            }
            let end = HJTime(wallMilliseconds: t.wallMilliseconds + 86_400_000)
            guard end > f else { throw UsageError("--to is before --from") }
            period = RosterPeriod(from: f, to: end)
        }
        if let ms = a[Self.now] { now = HJTime(wallMilliseconds: ms) }
    }

    func run(_ io: CommandIO) -> Int32 {
        let fleet: Fleet
        do { fleet = try Fleet.load(a[Self.fleet]!) } catch {
            io.stderr.line("hj212 roster: fleet: \(error)")
            return 2
        }
        let now = self.now ?? HJTime(wallMilliseconds: LiveClock.wallNow(offsetMinutes: SimClock.chinaOffsetMinutes))
        let period = self.period ?? {
            let month = RosterPeriod(month: "\(now.year)-\(now.month)")!
            return RosterPeriod(from: month.from, to: min(month.to, now))
        }()
        var evidence = RosterEvidence(fleet: fleet)
        for path in a.all(Self.store) {
            do {
                let store = try Store(path: path, readOnly: true)
                try evidence.add(store: store, period: period)
            } catch {
                io.stderr.line("hj212 roster: \(TerminalText.safe(error.message))")
                return 1
            }
        }
        for path in a.all(Self.trace) {
            guard let bytes = readWholeFile(path) else {
                io.stderr.line("hj212 roster: cannot read trace \(TerminalText.safe(path))")
                return 1
            }
            let result = evidence.add(traceText: Substring(String(decoding: bytes, as: UTF8.self)), period: period)
            if result.skipped > 0 { io.stderr.line("hj212 roster: \(TerminalText.safe(path)): \(result.skipped) unreadable lines skipped") }
        }
        for line in Self.notes(evidence.skipped) { io.stderr.line("hj212 roster: \(line)") }
        let roster = Roster(fleet: fleet, evidence: evidence, period: period, now: now)
        let text: String
        switch a[Self.format] ?? "csv" {
        case "json": text = RosterOutput.json(roster)
        case "html": text = RosterOutput.html(roster, fleetName: a[Self.fleet]!)
        default: text = RosterOutput.csv(roster)
        }
        if let out = a[Shared.out] {
            guard writeFileInPlace(out, Array(text.utf8)) else {
                io.stderr.line("hj212 roster: cannot write \(TerminalText.safe(out))")
                return 1
            }
            let t = roster.total
            io.stdout.line("roster: \(roster.rows.count) units, \(t.assessed) assessed, 传输有效率 (effective rate) \(Roster.percent(t.hours.effectiveRate)), \(t.belowMark) below 90 %\(roster.provisional ? ", provisional (暂定)" : "") → \(out)")
        } else {
            io.stdout.write(text)
        }
        return 0
    }

    /// What the sources held and the roster did not count, one line each (nothing when all counted).
    static func notes(_ s: RosterEvidence.Skipped) -> [String] {
        var lines: [String] = []
        if s.unknownMNs > 0 {
            let more = s.unknownMNs > s.unknownSample.count ? " …" : ""
            lines.append("\(s.unknownMNsAtLeast ? "more than " : "")\(s.unknownMNs) MN(s) not in the fleet, not counted (不在名录中): \(s.unknownSample.map { TerminalText.safe($0, limit: 40) }.joined(separator: ", "))\(more)")
        }
        if s.impossibleDataTimes > 0 {
            lines.append("\(s.impossibleDataTimes) hour record(s) whose DataTime is no real hour (e.g. hour 24, 31 November), not counted (数据时间无效)")
        }
        if s.refusedFrames > 0 {
            lines.append("\(s.refusedFrames) trace frame(s) a platform would not acknowledge (bad CRC, length field or size), not counted (帧校验不通过)")
        }
        if s.incompleteSplits > 0 {
            lines.append("\(s.incompleteSplits) split record(s) of a trace left incomplete (PNUM/PNO parts missing), not counted (拆分包不完整)")
        }
        return lines
    }

    func readWholeFile(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; return nil }
            if n == 0 { return out }
            out += chunk[0..<n]
        }
    }
}
