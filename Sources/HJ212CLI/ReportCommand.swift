import Foundation
import HJ212
import HJAnalysis
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
        for i in inputs.indices {
            do {
                // A pcap/pcapng capture: the logger's frames with their capture time.
                if Recording.isCapture(a.positionals[i]) { try Recording.readCaptureUplinks(a.positionals[i], io: io, verb: "report", add); continue }
                try AnalysisGlue.readTrace(&inputs[i], add)
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
        let score = injections.map { DetectionScore.score(injections: $0, alarms: run.alarms, catalogue: catalogue) }
        var output: [UInt8]
        switch format {
        case "json":
            var object: [(String, JSONValue)] = [("traces", .array(a.positionals.map { .string($0) })), ("frames", .int(frames)), ("records", .int(run.records))]
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
            output = Array(page.render().utf8)
        }
        if let path = a[Shared.out], path != "-" {
            guard writeFileInPlace(path, output) else { io.stderr.line("hj212 report: cannot write '\(TerminalText.safe(path))'"); return 1 }
        } else {
            io.stdout.write(bytes: output)
        }
        let summary = score.map { s in ", recall \(s.recall.map { String(format: "%.3f", $0) } ?? "n/a"), precision \(s.precision.map { String(format: "%.3f", $0) } ?? "n/a"), \(s.falseAlarms.count) false" } ?? ""
        io.stderr.line("\(frames) frames, \(run.records) records, \(run.units.count) units, \(run.alarms.count) alarms\(summary)")
        return 0
    }
}
