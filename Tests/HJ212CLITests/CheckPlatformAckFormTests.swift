import Foundation
import HJ212
import HJNetwork
import HJRoles
import Testing
@testable import HJ212CLI
import TestSupport

@Suite("check platform judges acknowledgements by the dialect of the packet answered")
struct CheckPlatformAckFormTests {
    @Test("HJ 212-2017 uploads acknowledged in the HJ/T 212-2005 form fail the form checks, each answer counted once")
    func legacyAnswersTo2017() throws {
        let platform = try WirePlatform.answering { s in WirePlatform.form2005(s) }
        defer { platform.stop() }
        let r = try platform.check(["--only", "P-ACK"])
        for id in ["P-ACK-FLAG", "P-ACK-QN", "P-ACK-CP", "P-ACK-PWMN"] {
            let c = WirePlatform.result(r.json, id)
            #expect(c.verdict == "fail", "\(id): \(c.verdict) \(c.message)")
        }
        #expect(r.status == 1, "\(r.out)")
        // "N of M answers": an answer missing both PW and MN is one answer, not two.
        let pwmn = WirePlatform.result(r.json, "P-ACK-PWMN").message
        let numbers = pwmn.split(separator: " ").prefix(3).map(String.init)
        let n = Int(numbers.first ?? ""), m = Int(numbers.count == 3 ? numbers[2] : "")
        #expect(numbers.count == 3 && numbers[1] == "of" && n != nil && m != nil && n! <= m!, "\(pwmn)")
        #expect(n == m, "every answer lacks PW and MN: \(pwmn)")
    }

    /// decisions.md: the HJ/T 212-2005 probe may be answered in either form.
    @Test("the HJ/T 212-2005 probe answered in the 2017 form, or in the 2005 form, passes the form checks", arguments: [false, true])
    func formsFor2005Probe(_ legacyForm: Bool) throws {
        let platform = try WirePlatform.answering { s in
            (s.flag?.version ?? 0) == 0 && legacyForm ? WirePlatform.form2005(s) : WirePlatform.form2017(s)
        }
        defer { platform.stop() }
        let r = try platform.check(["--profile", "jiangsu", "--only", "P-V2005-ACK,P-ACK-FLAG,P-ACK-QN,P-ACK-CP,P-ACK-PWMN,P-ACK-CN"])
        for id in ["P-V2005-ACK", "P-ACK-FLAG", "P-ACK-QN", "P-ACK-CP", "P-ACK-PWMN", "P-ACK-CN"] {
            let c = WirePlatform.result(r.json, id)
            #expect(c.verdict == "pass", "\(legacyForm ? "2005" : "2017") form, \(id): \(c.verdict) \(c.message)")
        }
        #expect(r.status == 0, "\(r.out)")
    }

    @Test("answers whose CRC is right but in lower case pass P-ACK-CRC with a warning (HJ212.md §1), shown in the report")
    func lowerCaseCRC() throws {
        let platform = try WirePlatform.answering(lowerCRC: true) { s in WirePlatform.form2017(s) }
        defer { platform.stop() }
        let r = try platform.check(["--only", "P-ACK"])
        let c = WirePlatform.result(r.json, "P-ACK-CRC")
        // Some CRCs have no letter: the run sends enough packets for some to have one.
        #expect(c.verdict == "warn", "\(c.message)")
        #expect(c.message.contains("lower case"), "\(c.message)")
        #expect(r.status == 0, "\(r.out)")
    }

    @Test("a wrong PW acknowledged by a 9014 echoing its QN with the registered PW fails P-ACCESS-PW")
    func wrongPWAckedWithRegisteredPW() throws {
        // Accepts everything; its 9014 echoes the QN but always carries the registered PW and MN.
        let platform = try WirePlatform.answering { s in
            var reply = WirePlatform.form2017(s)
            reply.header = reply.header.map { f in f.name == "PW" ? Field("PW", WirePlatform.pw) : f }
            return reply
        }
        defer { platform.stop() }
        let r = try platform.check(["--only", "P-ACCESS-PW"])
        let c = WirePlatform.result(r.json, "P-ACCESS-PW")
        #expect(c.verdict == "fail", "\(c.message)")
        #expect(c.message.contains("does not check passwords"), "\(c.message)")
        #expect(r.status == 1)
    }
}
