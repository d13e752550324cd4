import Testing
import HJ212
@testable import HJConformance

/// One scope for a `check logger` run, whether live, offline or announced by the plan: the value
/// checks need the instruments' ground truth (`--sensors`), else they are out of scope.
@Suite("check logger: the scope of the value checks")
struct LoggerScopeTests {
    static let valueIDs = ["L-VALUE-RTD", "L-VALUE-HOUR"]

    @Test("offline without --sensors: the L-VALUE checks are out of scope (needs --sensors), not MUST checks left unexercised")
    func offlineValuesOutOfScope() throws {
        let catalogue = try RuleCatalogue.load()
        let check = OfflineLoggerCheck(LoggerCheckOptions(port: 0, pw: "123456"), catalogue: catalogue, source: "test.jsonl")
        let run = check.finish()
        let inResults = run.results.map(\.rule.id).filter { $0.hasPrefix("L-VALUE-") }
        #expect(inResults.isEmpty, "\(inResults)")
        for id in Self.valueIDs {
            let o = run.outOfScope.first { $0.rule.id == id }
            #expect(o?.why.contains("--sensors") == true, "\(id): \(o?.why ?? "not out of scope")")
        }
    }

    @Test("the plan printed before a live run counts the L-VALUE checks out of scope without --sensors, as the run does")
    func planAgreesWithRun() throws {
        let catalogue = try RuleCatalogue.load()
        let options = LoggerCheckOptions(port: 0, window: 60)
        let plan = LoggerRunPlan(options, catalogue: catalogue)
        #expect(!plan.inScope.contains { $0.id.hasPrefix("L-VALUE-") })
        #expect(!plan.unreachableMust.contains { $0.id.hasPrefix("L-VALUE-") }, "\(plan.unreachableMust.map(\.id))")
        for id in Self.valueIDs { #expect(plan.outOfScope.contains { $0.rule.id == id && $0.why.contains("--sensors") }, "\(id)") }
        let warning = plan.text(lang: .en).split(separator: "\n").first { $0.contains("WARNING") } ?? ""
        #expect(!warning.contains("L-VALUE"), "\(plan.text(lang: .en))")
        // The same split as the run's: every rule of the profile is in one list or the other, once.
        let all = catalogue.rules(for: .logger).filter { $0.applies(to: options.selection.profile) }.map(\.id)
        #expect((plan.inScope.map(\.id) + plan.outOfScope.map(\.rule.id)).sorted() == all.sorted())
    }
}
