import Testing
@testable import HJ212

/// The typed vocabulary agrees with the dialect tables it names (Profiles/dialects/).
@Suite struct VocabularyTests {
    @Test func everyNamedCommandIsInTheTables() {
        let d17 = CodeDictionary.shared(.hj2017)
        let d25 = CodeDictionary.shared(.hj2025)
        for code in CommandCode.named {
            #expect(d17.command(code) != nil || d25.command(code) != nil, "CN \(code) is in no dialect table")
        }
        #expect(Set(CommandCode.named).count == CommandCode.named.count, "a code is named twice")
        // Every 2017 command has a name here: nothing in Table 9 is left as a literal.
        for cn in d17.commands.keys { #expect(CommandCode.named.contains(CommandCode(cn)), "CN \(cn) has no named constant") }
    }

    @Test func returnCodesMatchTheirTables() {
        let d = CodeDictionary.shared(.hj2017)
        #expect(Set(QnRtn.named.map(\.rawValue)) == Set(d.qnRtn.keys))
        #expect(Set(ExeRtn.named.map(\.rawValue)) == Set(d.exeRtn.keys))
        #expect(QnRtn.ready.accepts && !QnRtn.wrongPassword.accepts)
    }

    @Test func namedSystemTypesAreInTheTable() {
        let d = CodeDictionary.shared(.hj2017)
        for st in SystemType.named { #expect(d.systems[st.rawValue] != nil, "ST \(st) is not in the 2017 table") }
        let seg = SegmentParser.parse(Array("QN=1;ST=91;CN=9011;CP=&&QnRtn=01&&".utf8)).segment
        #expect(seg.isST(.systemInteraction) && seg.systemType == .systemInteraction && seg.isCN(.requestReply))
        #expect(seg.qnRtn == QnRtn("01") && seg.qnRtn != .ready, "the typed code is the text as sent")
    }

    @Test func rolesAndLabels() throws {
        let d = CodeDictionary.shared(.hj2017)
        let rtd = try #require(d.command(.realTimeData))
        #expect(rtd.role(.up) == .upload && rtd.role(.down) == .request)
        #expect(d.command(.timeCalibrationRequest)?.role(.down) == nil)
        #expect(d.label(.dataReply) == "9014 数据应答")
        #expect(d.label(CommandCode("2999")) == "2999")
        #expect(CommandCode.dataReply.isInteraction && !CommandCode.minuteData.isInteraction)
        let seg = SegmentParser.parse(Array("QN=20260101000000000;ST=91;CN=9014;PW=1;MN=2;Flag=4;CP=&&&&".utf8)).segment
        #expect(seg.command == .dataReply)
    }
}
