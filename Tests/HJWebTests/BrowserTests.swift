import Foundation
import HJ212
import HJAnalysis
import HJNetwork
import HJSimulation
import HJWeb
import Testing

/// Debian's chromium, headless (installed by .ci/run when missing).
enum Chromium {
    static var path: String? {
        let candidates = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/lib/chromium/chromium"]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs chromium headless with these arguments; returns standard output. Hang guard: 120 s.
    static func run(_ arguments: [String]) throws -> String {
        guard let path else { throw NSError(domain: "chromium not installed (apt-get install chromium; .ci/run does)", code: 1) }
        let profile = NSTemporaryDirectory() + "hj212-chromium-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: profile) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars", "--no-first-run",
                       "--user-data-dir=\(profile)"] + arguments
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let guardTimer = DispatchWorkItem { if p.isRunning { p.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + 120, execute: guardTimer)
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guardTimer.cancel()
        return String(decoding: data, as: UTF8.self)
    }

    static func count(_ needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }
}

/// Records of a scenario generated in virtual time, as segments with their send time.
enum Generated {
    static func segments(scenario: String, start: String, hours: Double) throws -> (segments: [(DataSegment, Int64)], truth: [Injection], profiles: [String: UnitProfile]) {
        let scenario = try Scenario.load(scenario)
        let fleet = try Fleet.load(scenario.fleet!)
        let begin = SimClock.parseStart(start)!
        let end = begin + Int64(hours * 3_600_000)
        let units = fleet.units.enumerated().map { Scenario.Unit(mn: $1.identity.mn, template: fleet.templates[$1.unit]!, row: $0 + 1, enterprise: $1.enterprise) }
        var options = SimulationOptions()
        options.faults = try scenario.compile(units: units, start: begin, end: end, live: false).specs
        var generator = try FleetGenerator(fleet: fleet, seed: 1, start: begin, options: options)
        var out: [(DataSegment, Int64)] = []
        var truth = ""
        generator.run(until: end, faults: { _, r in truth += r.json() + "\n" }) { _, packet in out.append((SegmentParser.parse(packet.bytes).segment, packet.time)) }
        var profiles: [String: UnitProfile] = [:]
        for u in fleet.units { profiles[u.identity.mn] = try UnitProfile.load(template: u.unit) }
        return (out, Injection.parse(truth).injections, profiles)
    }
}

@Suite("Pages in a real browser (chromium headless)", .serialized)
struct BrowserTests {
    @Test("the report page: no script error, one chart per unit and factor, truth shaded, a screenshot that is not blank")
    func reportPage() throws {
        let g = try Generated.segments(scenario: "furnace-below-850", start: "2026-11-30T08:00:00+08:00", hours: 6)
        let catalogue = try AnomalyCatalogue.load()
        var run = TraceAnalysis(catalogue: catalogue, profiles: g.profiles)
        for (s, t) in g.segments { run.add(s, arrival: t) }
        run.finish()
        let score = DetectionScore.score(injections: g.truth, alarms: run.alarms, catalogue: catalogue)
        #expect(score.recall == 1)
        var page = ReportPage(run: run, catalogue: catalogue, profiles: g.profiles, score: score)
        page.sources = ["furnace-below-850 (generated)"]
        let html = page.render()
        #expect(!html.contains("http://") || !html.contains("src=\"http"), "no external asset")
        let file = NSTemporaryDirectory() + "hj212-report-\(UUID().uuidString).html"
        try html.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let charts = Set(run.series.keys.map { "\($0.mn)|\($0.factor)" }).count
        let dom = try Chromium.run(["--virtual-time-budget=3000", "--dump-dom", "file://\(file)"])
        #expect(dom.contains("id=\"errors\" hidden"), "the error box stays hidden")
        #expect(Chromium.count("class=\"error\"", in: dom) == 0)
        #expect(Chromium.count("<svg class=\"series-chart\"", in: dom) == charts)
        #expect(charts > 50)
        #expect(Chromium.count("class=\"truth\"", in: dom) >= 2, "the two furnace windows are shaded")
        #expect(Chromium.count("class=\"alarm\"", in: dom) >= 2)
        let png = NSTemporaryDirectory() + "hj212-report-\(UUID().uuidString).png"
        defer { try? FileManager.default.removeItem(atPath: png) }
        _ = try Chromium.run(["--window-size=1200,1600", "--screenshot=\(png)", "file://\(file)"])
        let size = (try? FileManager.default.attributesOfItem(atPath: png)[.size] as? Int) ?? 0
        #expect(size > 30_000, "a screenshot with content (a blank page is a few KB): \(size) bytes")
    }

    @Test("the live console: units, alarms and a unit's charts load from the JSON endpoints without a script error")
    func console() throws {
        let g = try Generated.segments(scenario: "furnace-below-850", start: "2026-11-30T08:00:00+08:00", hours: 2)
        let state = ConsoleState(catalogue: try AnomalyCatalogue.load(), profiles: g.profiles)
        for (s, t) in g.segments { state.ingest(segment: s, at: t) }
        state.setTruth(g.truth)
        let group = try EventLoopGroup(threads: 1, name: "console-test")
        defer { group.shutdown() }
        let server = try HTTPServer.start(on: try SocketAddress(parsing: "127.0.0.1:0"), group: group) { state.route($0) }
        defer { server.stop() }
        let mn = "010000A89001000000000006"
        let url = "http://127.0.0.1:\(server.localAddress.port)/#\(mn)"
        let dom = try Chromium.run(["--virtual-time-budget=6000", "--dump-dom", url])
        #expect(dom.contains("data-ready=\"1\""), "the units and alarms loaded")
        #expect(Chromium.count("class=\"error\"", in: dom) == 0, "no script error")
        var codes: Set<String> = []
        for (s, _) in g.segments where s.mn == mn && s.cn == "2011" { codes.formUnion(RecordAssemblerProbe.codes(s)) }
        let factors = codes.count
        #expect(factors == 20, "13 pollutant and flue-gas factors and 7 working-condition factors")
        #expect(dom.contains("data-charts=\"\(factors)\""))
        #expect(Chromium.count("<svg class=\"series-chart\"", in: dom) == factors)
        #expect(Chromium.count("<tr data-mn=", in: dom) == 8)
        #expect(dom.contains("炉膛温度低于 850"), "the furnace alarm is listed")
        let png = NSTemporaryDirectory() + "hj212-console-\(UUID().uuidString).png"
        defer { try? FileManager.default.removeItem(atPath: png) }
        _ = try Chromium.run(["--window-size=1200,1600", "--virtual-time-budget=6000", "--screenshot=\(png)", url])
        let size = (try? FileManager.default.attributesOfItem(atPath: png)[.size] as? Int) ?? 0
        #expect(size > 30_000, "a screenshot with content: \(size) bytes")
    }
}

enum RecordAssemblerProbe {
    static func codes(_ s: DataSegment) -> [String] {
        s.cpFields.compactMap { f in f.name.hasSuffix("-Rtd") ? String(f.name.dropLast(4)) : nil }
    }
}
