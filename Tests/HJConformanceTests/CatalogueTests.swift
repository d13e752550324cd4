import Testing
import HJ212
@testable import HJConformance

@Suite("Rule catalogue and scoring")
struct CatalogueTests {
    @Test("the built-in catalogue loads, IDs are unique and carry their target's prefix")
    func builtin() throws {
        let c = try RuleCatalogue.load()
        #expect(!c.rules(for: .platform).isEmpty)
        #expect(!c.rules(for: .logger).isEmpty)
        #expect(Set(c.rules.map(\.id)).count == c.rules.count)
        for r in c.rules {
            #expect(r.id.hasPrefix(r.target == .platform ? "P-" : "L-"))
            #expect(!r.clause.isEmpty && !r.titleZh.isEmpty && !r.titleEn.isEmpty)
        }
    }

    @Test("a malformed catalogue names the entry and the reason")
    func malformed() {
        #expect(throws: ProfileError.self) { try RuleCatalogue.parse("[]", file: "x.json", target: .platform) }
        do {
            _ = try RuleCatalogue.parse(#"{"version":"1","rules":[{"id":"L-X","group":"g","level":"MUST","zh":"z","en":"e","clause":"c","exercise":"x"}]}"#,
                                        file: "p.json", target: .platform)
            Issue.record("an L- rule in the platform file must be refused")
        } catch {
            #expect(error.message.contains("rule #1"))
            #expect(error.message.contains("P-"))
        }
        do {
            _ = try RuleCatalogue.parse(#"{"version":"1","rules":[{"id":"P-X","group":"g","level":"MUSTN'T","zh":"z","en":"e","clause":"c","exercise":"x"}]}"#,
                                        file: "p.json", target: .platform)
            Issue.record("an unknown level must be refused")
        } catch {
            #expect(error.message.contains("level"))
        }
    }

    func rule(_ id: String, _ level: CheckLevel, group: String = "g", profiles: [CheckProfile] = []) -> CheckRule {
        CheckRule(id: id, target: .platform, group: group, level: level, titleZh: "z", titleEn: "e", clause: "c", exercise: "x", profiles: profiles)
    }

    @Test("selection by prefix and profile")
    func selection() {
        let s = CheckSelection(only: ["P-ACK"], skip: ["P-ACK-ST"], profile: .national2017)
        #expect(s.selects(rule("P-ACK-FORM", .must)))
        #expect(!s.selects(rule("P-ACK-ST", .must)))
        #expect(!s.selects(rule("P-FRAME-CUT", .must)))
        #expect(!s.selects(rule("P-ACK-2025", .must, profiles: [.national2025])))
    }

    @Test("score weights levels; SHOULD failures count only under strict; MUST failures block")
    func scoring() {
        let results = [
            CheckResult(rule: rule("P-A", .must, group: "ack"), verdict: .pass, message: ""),
            CheckResult(rule: rule("P-B", .should, group: "ack"), verdict: .fail, message: ""),
            CheckResult(rule: rule("P-C", .may, group: "framing"), verdict: .pass, message: ""),
            CheckResult(rule: rule("P-D", .must, group: "framing"), verdict: .notExercised, message: ""),
        ]
        let lenient = CheckScore(results, strict: false)
        #expect(lenient.overall == 100)
        #expect(lenient.warn == 1 && lenient.fail == 0 && lenient.blockingFailures == 0)
        let strict = CheckScore(results, strict: true)
        // (3 + 1) / (3 + 2 + 1) = 66.7 %
        #expect(strict.overall == 66.7)
        #expect(strict.blockingFailures == 1)
        #expect(strict.groups.first { $0.name == "ack" }?.score == 60)
        #expect(strict.groups.first { $0.name == "framing" }?.notExercised == 1)
        var failing = results
        failing[0].verdict = .fail
        var run = CheckRun(target: .platform, address: "x", profile: .national2017, strict: false, started: "", results: failing)
        #expect(run.exitStatus == 1)
        run.results = results
        // P-D (MUST) was not exercised: incomplete, never a pass.
        #expect(run.verdict == .incomplete && run.exitStatus == 3)
        run.results[3].verdict = .pass
        #expect(run.verdict == .pass && run.exitStatus == 0)
        run.interrupted = true
        #expect(run.verdict == .incomplete && run.exitStatus == 3)
        run.interrupted = false
        run.reachable = false
        #expect(run.exitStatus == 2)
    }
}
