import HJ212
import HJAnalysis
import HJSimulation

/// Generates a fleet run in virtual time (as `hj212 generate` does) and analyses it in-process.
enum ScenarioRun {
    struct Result {
        var run: TraceAnalysis
        var injections: [Injection]
        var score: DetectionScore
    }

    static let catalogue = try! AnomalyCatalogue.load()

    /// A scenario (or a clean fleet when `scenario` is nil) from `start` (ISO, China time) for `hours`.
    static func run(scenario name: String?, fleet fleetName: String = "mixed-demo", start startText: String, hours: Double, seed: UInt64 = 1) throws -> Result {
        let store = ProfileStore.builtin
        let start = SimClock.parseStart(startText)!
        let duration = Int64(hours * 3_600_000)
        var options = SimulationOptions()
        var fleet: Fleet
        if let name {
            let scenario = try Scenario.load(name, store: store)
            fleet = try Fleet.load(scenario.fleet ?? fleetName, store: store)
            let units = fleet.units.enumerated().map { Scenario.Unit(mn: $1.identity.mn, template: fleet.templates[$1.unit]!, row: $0 + 1, enterprise: $1.enterprise) }
            options.faults = try scenario.compile(units: units, start: start, end: start + duration, live: false, store: store).specs
        } else {
            fleet = try Fleet.load(fleetName, store: store)
        }
        var profiles: [String: UnitProfile] = [:]
        for unit in fleet.units { profiles[unit.identity.mn] = try UnitProfile.load(template: unit.unit) }
        var generator = try FleetGenerator(fleet: fleet, seed: seed, start: start, options: options)
        var run = TraceAnalysis(catalogue: catalogue, profiles: profiles, collectSeries: false)
        var truth = ""
        generator.run(until: start + duration, faults: { _, record in truth += record.json() + "\n" }) { _, packet in
            run.add(SegmentParser.parse(packet.bytes).segment, arrival: packet.time)
        }
        run.finish()
        let injections = Injection.parse(truth).injections
        let score = DetectionScore.score(injections: injections, alarms: run.alarms, catalogue: catalogue)
        return Result(run: run, injections: injections, score: score)
    }
}
