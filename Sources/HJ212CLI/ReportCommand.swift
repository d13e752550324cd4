import Foundation
import HJ212
import HJAnalysis
import HJReportKit
import HJWeb

/// `hj212 report`: the anomaly rules over recorded traces, scored against a ground truth.
struct ReportCommand: CLICommand {
    static let name = "report"
    static let abstract = "Run the anomaly rules over traces: an HTML page with charts, JSON scores against a ground truth, or CSV series."
    static let operands = "TRACE…"
    static let truth = Shared.truth.help("Ground truth of injected faults (JSON Lines, as written by generate/simulate --truth): each injection is scored detected or missed.")
    static let format = Option("format", "F", choices: ["html", "json", "csv"], help: "html: a self-contained page with charts (default); json: truth, alarms, false_alarms, recall, precision; csv: the series (UTF-8 with BOM).")
    static let fleet = Option("fleet", "NAME|FILE", help: "The units (MN → unit template, whose limits and ranges the rules use). Default: every built-in fleet.", parse: Parse.path)
    static let profiles = Shared.profiles.help("Directory of profile files overriding the built-in ones (e.g. anomalies/catalogue.json).")
    static let maxCharts = Option("max-charts", "N", help: "At most N charts in the page (default 400; units with alarms or injections first).", parse: Parse.int(0...100_000))
    static let options: [any OptionDeclaration] = [truth, Shared.out, format, fleet, profiles, maxCharts]
    static let discussion = """
    A TRACE is a JSON Lines trace (generate --format trace, simulate, serve --trace): uplink frames with
    their arrival time. A pcap/pcapng capture works too (the logger's frames, arrival = capture time;
    the logger side is the one that sends uploads), and so does a raw byte stream (arrival = the
    record's DataTime). Rules and their
    parameters: Profiles/anomalies/catalogue.json (docs/anomalies.md).

    EXIT STATUS: 0 the report was written and covers its whole input; 1 nothing was found to judge
    (no uplink frame); 2 bad usage or an unreadable file; 3 incomplete (written, but unreadable
    lines were skipped, a capture was corrupt, cut short or had gaps, or the truth has injections
    the traces do not cover: the report says which); 130/143 interrupted (nothing written).

    EXAMPLES:
      hj212 generate --scenario analyser-flatline --start 2026-11-30T08:00 --duration 12h --format trace -o flat.jsonl
      hj212 report flat.jsonl --truth flat.jsonl.truth.jsonl -o flat.html
      hj212 report flat.jsonl --truth flat.jsonl.truth.jsonl --format json | jq .recall
      hj212 report flat.jsonl --format csv -o flat.csv
    """

    var a: ParsedArguments

    init(_ a: ParsedArguments) throws(UsageError) {
        self.a = a
        guard !a.positionals.isEmpty else { throw UsageError("give at least one TRACE file") }
    }

    func run(_ io: CommandIO) -> Int32 {
        let store = ProfileStore(overrideDirectory: a[Self.profiles])
        let catalogue: AnomalyCatalogue
        let profiles: [String: UnitProfile]
        do {
            catalogue = try AnomalyCatalogue.load(store: store)
            profiles = try AnalysisGlue.profiles(fleet: a[Self.fleet], store: store)
        } catch {
            io.stderr.line("hj212 report: \(error)")
            return 2
        }
        var injections: [Injection]?
        if let path = a[Self.truth] {
            guard let data = FileManager.default.contents(atPath: path) else { io.stderr.line("hj212 report: cannot read '\(path)'"); return 2 }
            let parsed = Injection.parse(String(decoding: data, as: UTF8.self))
            if parsed.skipped > 0 { io.stderr.line("hj212 report: \(parsed.skipped) line\(parsed.skipped == 1 ? "" : "s") of '\(TerminalText.safe(path))' skipped (not an injection)") }
            injections = parsed.injections
        }
        let format = a[Self.format] ?? "html"
        var run = TraceAnalysis(catalogue: catalogue, profiles: profiles, collectSeries: format != "json")
        var inputs: [InputFile]
        do { inputs = try InputFile.openAll(a.positionals, io: io) } catch { io.stderr.line("hj212 report: \(error.message)"); return error.exitCode }
        defer { for i in inputs { i.close() } }
        var frames = 0
        let t0 = monotonicSeconds()
        var lastProgress = t0
        func add(_ segment: DataSegment, _ arrival: Int64) -> Bool {
            run.add(segment, arrival: arrival)
            frames += 1
            if frames % 5000 == 0, monotonicSeconds() - lastProgress > 0.5 {
                lastProgress = monotonicSeconds()
                io.progress("report: \(frames) frames, \(run.alarms.count) alarms")
            }
            return !Interrupts.requested
        }
        // What was not read: each makes the report incomplete (a judgement of less than the input).
        var unreadable = 0, down = 0
        var incomplete: [String] = []
        for i in inputs.indices {
            let name = TerminalText.safe(a.positionals[i])
            do {
                // A pcap/pcapng capture: the logger's frames with their capture time.
                if Recording.isCapture(a.positionals[i]) {
                    let s = try Recording.readCaptureUplinks(a.positionals[i], io: io, verb: "report", add)
                    if let d = s.captureDamage { incomplete.append("'\(name)': capture \(d)") }
                    if s.gaps > 0 { incomplete.append("'\(name)': \(s.gaps) gap\(s.gaps == 1 ? "" : "s") in the capture (frames across them not read)") }
                    continue
                }
                let c = try AnalysisGlue.readTrace(&inputs[i], add)
                if c.unreadable > 0 {
                    io.stderr.line("hj212 report: \(c.unreadable) line\(c.unreadable == 1 ? "" : "s") of '\(name)' unreadable (not an uplink trace record: not JSON, no readable t or frame, cut short), skipped")
                }
                if c.down > 0 { io.stderr.line("hj212 report: \(c.down) down line\(c.down == 1 ? "" : "s") of '\(name)' skipped (platform to logger: not judged)") }
                if c.cutFrames > 0 { incomplete.append("'\(name)': \(c.cutFrames) frame\(c.cutFrames == 1 ? "" : "s") cut short") }
                unreadable += c.unreadable
                down += c.down
            } catch {
                io.clearProgress()
                io.stderr.line("hj212 report: \(error.message)")
                return error.exitCode
            }
        }
        run.finish()
        io.clearProgress()
        if Interrupts.requested {
            io.stderr.line("hj212 report: interrupted after \(frames) frames; nothing written")
            return Interrupts.exitStatus
        }
        if unreadable > 0 { incomplete.insert("\(unreadable) unreadable line\(unreadable == 1 ? "" : "s") skipped", at: 0) }
        let score = injections.map { DetectionScore.score(injections: $0, alarms: run.alarms, catalogue: catalogue, coverage: run.spans) }
        if let score, score.notCovered > 0 {
            incomplete.append("\(score.notCovered) injection\(score.notCovered == 1 ? "" : "s") of the truth not covered by the traces (no data of the unit over the window; not scored 未覆盖不计)")
        }
        let withoutTemplate = run.units.filter { profiles[$0] == nil }
        if !withoutTemplate.isEmpty {
            io.stderr.line("hj212 report: \(withoutTemplate.count) unit\(withoutTemplate.count == 1 ? "" : "s") with no template (in no fleet; 无单元模板): judged by flags, gaps, offline and 3020 only, not by limits, ranges, flatline, steps, bypass or O₂")
        }
        var output: [UInt8]
        switch format {
        case "json":
            var object: [(String, JSONValue)] = [("traces", .array(a.positionals.map { .string($0) })), ("frames", .int(frames)), ("records", .int(run.records)),
                                                 ("complete", .bool(incomplete.isEmpty)), ("incomplete", .array(incomplete.map { .string($0) })),
                                                 ("unreadable_lines", .int(unreadable)), ("down_lines", .int(down)),
                                                 ("units_without_template", .array(withoutTemplate.map { .string($0) }))]
            if let score {
                if case .object(let members) = score.json(catalogue: catalogue, units: run.units.count, days: run.days) { object += members }
            } else {
                object += [("recall", .null), ("precision", .null), ("units", .int(run.units.count)), ("truth", .null),
                           ("alarms", .array(run.alarms.map { $0.json(catalogue: catalogue) })), ("false_alarms", .null)]
            }
            output = Array((JSONValue.object(object).serialized + "\n").utf8)
        case "csv":
            output = AnalysisGlue.csv(run)
        default:
            var page = ReportPage(run: run, catalogue: catalogue, profiles: profiles, score: score)
            page.sources = a.positionals
            page.faultNames = AnalysisGlue.faultNames(store: store)
            page.dictionary = try? CodeDictionary.load(.hj2017, from: store)
            if let m = a[Self.maxCharts] { page.maxCharts = m }
            var notes = incomplete
            if !withoutTemplate.isEmpty { notes.append("\(withoutTemplate.count) unit(s) with no template 无单元模板 (judged by flags, gaps, offline and 3020 only): " + withoutTemplate.prefix(20).joined(separator: ", ")) }
            output = Array(Self.withNotice(page.render(), incomplete: incomplete, notes: notes).utf8)
        }
        if let path = a[Shared.out], path != "-" {
            guard writeFileInPlace(path, output) else { io.stderr.line("hj212 report: cannot write '\(TerminalText.safe(path))'"); return 1 }
        } else {
            io.stdout.write(bytes: output)
        }
        let summary = score.map { s in ", recall \(s.recall.map { String(format: "%.3f", $0) } ?? "n/a"), precision \(s.precision.map { String(format: "%.3f", $0) } ?? "n/a"), \(s.falseAlarms.count) false\(s.notCovered > 0 ? ", \(s.notCovered) not covered" : "")" } ?? ""
        io.stderr.line("\(frames) frames, \(run.records) records, \(run.units.count) units, \(run.alarms.count) alarms\(summary)")
        if frames == 0 {
            io.stderr.line("hj212 report: nothing to judge: no uplink frame was read")
            return 1
        }
        if !incomplete.isEmpty {
            io.stderr.line("hj212 report: incomplete: " + incomplete.joined(separator: "; "))
            return 3
        }
        return 0
    }

    /// The page with a notice at the top saying what it does not cover (nothing when complete).
    static func withNotice(_ html: String, incomplete: [String], notes: [String]) -> String {
        guard !notes.isEmpty, let at = html.range(of: "<div id=\"errors\" hidden></div>") else { return html }
        let e = HTMLPage.escape
        let head = incomplete.isEmpty ? "<p><strong>note 说明</strong></p>"
            : "<p><strong>incomplete 不完整</strong>: this report judges less than its input 本报告未覆盖全部输入.</p>"
        let notice = "<div class=\"incomplete\" style=\"border:2px solid #c60;background:#fffaf0;padding:.5em 1em;margin:.8em 0\">\(head)<ul>"
            + notes.map { "<li>\(e(TerminalText.safe($0)))</li>" }.joined() + "</ul></div>"
        var out = html
        out.insert(contentsOf: notice, at: at.upperBound)
        return out
    }
}
