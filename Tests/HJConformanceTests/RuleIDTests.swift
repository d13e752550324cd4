import HJ212
import Testing
@testable import HJConformance

/// The typed check IDs agree with `Profiles/checks/*.json`: a constant the judgements use that is
/// renamed or dropped in the catalogue fails here, instead of leaving its check silently unjudged.
@Suite struct RuleIDTests {
    @Test func everyNamedRuleIsInTheCatalogue() throws {
        let catalogue = try RuleCatalogue.load()
        let ids = Set(catalogue.rules.map(\.id))
        for id in RuleID.named { #expect(ids.contains(id.rawValue), "RuleID \(id) is not in Profiles/checks") }
        #expect(Set(RuleID.named).count == RuleID.named.count, "a rule is named twice")
    }

    @Test func commandRulesAreInTheCatalogue() throws {
        let catalogue = try RuleCatalogue.load()
        // The codes the platform suite sends as uploads and the logger suite asks for again.
        for code in [CommandCode.realTimeData, .minuteData, .hourData, .dailyData, .dailyRunningTime, .runningStatus, .loggerInfo] {
            #expect(catalogue.rule(RuleID.platformAck(code)) != nil, "P-ACK-\(code)")
        }
        for code in [CommandCode.minuteData, .hourData, .dailyData] {
            #expect(catalogue.rule(RuleID.loggerCommand(code)) != nil, "L-CMD-\(code)")
        }
        #expect(catalogue.rule(.platformAckSt)?.id == "P-ACK-ST")
    }
}
