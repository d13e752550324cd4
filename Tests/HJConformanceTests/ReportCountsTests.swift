import Testing
import HJ212
@testable import HJConformance

/// One report, one set of numbers: text, JSON and JUnit agree on the score, the counts and the
/// number of test cases, whatever was exercised.
@Suite("Reports: counts agree across formats")
struct ReportCountsTests {
    func rule(_ id: String, _ level: CheckLevel) -> CheckRule {
        CheckRule(id: id, target: .logger, group: id == "L-CONNECT" ? "connection" : "packets", level: level, titleZh: "标题", titleEn: "title",
                  clause: "HJ 212-2017 §6", exercise: "x")
    }

    /// A logger run where nothing connected: every check not exercised, one out of scope.
    func unreachable() -> CheckRun {
        var run = CheckRun(target: .logger, address: "0.0.0.0:7001", profile: .national2017, strict: false, started: "", reachable: false,
                           facts: [("unreachable", "no logger connected within 1 s")],
                           results: [CheckResult(rule: rule("L-CONNECT", .must), verdict: .notExercised, message: "no logger connected within 1 s"),
                                     CheckResult(rule: rule("L-CRC", .must), verdict: .notExercised, message: "no logger connected within 1 s")])
        run.outOfScope = [(rule("L-BOOT", .may), "removed by --only/--skip")]
        return run
    }

    @Test("nothing exercised: the score is '-' in text, null in JSON and '-' in JUnit")
    func noScore() throws {
        let run = unreachable()
        #expect(run.score.overall == nil)
        let json = try JSONValue.parse(CheckReport.render(run, format: .json, lang: .en))
        #expect(json["score"] == .null, "\(json["score"].map { $0.serialized } ?? "missing")")
        let junit = CheckReport.render(run, format: .junit, lang: .en)
        #expect(junit.contains("<property name=\"score\" value=\"-\"/>"), "\(junit)")
    }

    @Test("JUnit tests= counts every test case, the connection case of an unreachable run included")
    func junitTestCount() throws {
        for run in [unreachable(), { var r = unreachable(); r.reachable = true; return r }()] {
            let junit = CheckReport.render(run, format: .junit, lang: .en)
            let cases = junit.components(separatedBy: "<testcase ").count - 1
            let top = junit.split(separator: "\n").first { $0.hasPrefix("<testsuites ") }.map(String.init) ?? ""
            #expect(top.contains("tests=\"\(cases)\""), "\(cases) test cases: \(top)")
            // Each suite's tests= is its own number of test cases.
            var total = 0
            for suite in junit.components(separatedBy: "<testsuite ").dropFirst() {
                let n = suite.components(separatedBy: "<testcase ").count - 1
                #expect(suite.hasPrefix("name=") && suite.contains("tests=\"\(n)\""), "\(suite.prefix(200))")
                total += n
            }
            #expect(total == cases)
        }
    }

    @Test("after a signal the JSON exit_status is the process's (130/143), not 3")
    func signalExitStatus() throws {
        var run = unreachable()
        run.reachable = true
        run.interrupted = true
        #expect(run.exitStatus == 3)
        run.signalExitStatus = 143
        let json = try JSONValue.parse(CheckReport.render(run, format: .json, lang: .en))
        #expect(json["exit_status"] == .int(143) && run.exitStatus == 143)
    }
}
