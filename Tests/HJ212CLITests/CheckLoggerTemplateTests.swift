import HJConformance
import HJSimulation
import Testing
@testable import HJ212CLI

/// Done-when of issue 11: `check logger --plan hour` against the emulated logger (`simulate`)
/// scores 100 with the verdict pass for every unit template. The logger runs accelerated
/// (1800× its own time: the plan's 2 h 10 min of logger time pass in about 4.3 s); the check
/// judges cadence and aggregation in the logger's time, so the acceleration changes nothing
/// it judges. Serialized: at this speed OverTime (1 s of real time) and the reply times are
/// judged on the wall clock, and nine runs at once on two cores would judge the machine.
@Suite("check logger --plan hour passes for every unit template", .serialized)
struct CheckLoggerTemplateTests {
    @Test("the emulated logger of each template: verdict pass, score 100, every MUST in scope exercised", arguments: UnitTemplate.available())
    func template(_ unit: String) throws {
        let run = try CheckLoggerTests.check(window: 60, speed: 1800, unit: unit, plan: .hour)
        #expect(run.reachable && !run.interrupted)
        #expect(run.score.fail == 0, "\(unit): \(CheckLoggerTests.describe(run))")
        #expect(run.score.overall == 100, "\(unit): \(CheckLoggerTests.describe(run))")
        #expect(run.verdict == .pass, "\(unit): \(CheckLoggerTests.describe(run))")
        #expect(run.coverage.exercised == run.coverage.inScope)
        // The day checks are out of scope under the hour plan, and listed.
        #expect(run.outOfScope.map(\.rule.id).contains("L-DAY-CADENCE"))
        // --lang zh: every message of the run has its Chinese template in the catalogue.
        let untranslated = run.results.filter { run.messages.localized($0.message, .zh) == $0.message }.map { "\($0.rule.id): \($0.message)" }
        #expect(untranslated.isEmpty, "\(unit): \(untranslated)")
    }
}
