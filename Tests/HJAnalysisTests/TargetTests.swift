import HJ212
import HJAnalysis
import Testing

@Suite("Detection targets (scenarios and a clean fleet-day)", .serialized)
struct TargetTests {
    @Test("probe", arguments: ["analyser-flatline", "calibration-tampering", "furnace-below-850", "night-discharge-bypass"])
    func probe(_ name: String) throws {
        let r = try ScenarioRun.run(scenario: name, start: "2026-11-30T08:00:00+08:00", hours: 20)
        for o in r.score.outcomes { print("\(name): \(o.injection.fault) \(o.injection.factor ?? "") \(o.injection.mn.suffix(2)) detected=\(o.alarm?.rule ?? "-") delay=\(o.delayMs.map { $0 / 1000 } ?? -1)") }
        for a in r.score.falseAlarms { print("\(name): FALSE \(a.rule) \(a.mn.suffix(2)) \(a.factor ?? "") \(HJTime(wallMilliseconds: a.start)) \(a.evidence)") }
        print("\(name): recall \(r.score.recall ?? -1) precision \(r.score.precision ?? -1) alarms \(r.run.alarms.count)")
    }

    @Test("clean probe")
    func clean() throws {
        let r = try ScenarioRun.run(scenario: nil, start: "2026-11-30T00:00:00+08:00", hours: 24)
        for a in r.score.falseAlarms { print("clean: FALSE \(a.rule) \(a.mn.suffix(2)) \(a.factor ?? "") \(HJTime(wallMilliseconds: a.start)) \(a.evidence)") }
        print("clean: alarms \(r.run.alarms.count)")
    }
}
