import Foundation
import HJ212
import HJNetwork
import HJRoles
import Testing
@testable import HJ212CLI
import TestSupport

/// A platform played by a rule: every packet that asks for an answer (A=1, not itself a reply)
/// is answered with what `answer` builds from it (nil: no answer). Used for acknowledgement
/// forms the reference platform never produces.
final class ScriptedPlatform: @unchecked Sendable {
    // Sendable: `port` is immutable; each handler touches only its own decoder on its loop.
    let group: EventLoopGroup
    let server: TCPServer
    let port: UInt16
    static let mn = "010000A8900016F000169DC0"
    static let pw = "123456"

    /// `lowerCRC`: every answer's CRC written in lower case.
    init(lowerCRC: Bool = false, _ answer: @escaping @Sendable (DataSegment) -> DataSegment?) throws {
        group = try EventLoopGroup(threads: 1, name: "scripted-platform")
        server = try TCPServer.start(on: .loopback(port: 0), group: group) { _ in Handler(lowerCRC: lowerCRC, answer) }
        port = server.localAddress.port
    }

    func stop() {
        _ = server.stopAndWait(timeout: .seconds(3))
        group.shutdown()
    }

    /// `check platform` against it (JSON report parsed).
    func check(_ extra: [String]) throws -> (status: Int32, json: JSONValue, out: String) {
        let r = hj212(["check", "platform", "127.0.0.1:\(port)", "--mn", Self.mn, "--pw", Self.pw, "--overtime", "0.4", "--format", "json"] + extra)
        return (r.status, try JSONValue.parse(r.out), r.out + r.err)
    }

    static func result(_ json: JSONValue, _ id: String) -> (verdict: String, message: String) {
        let c = json["checks"]?.array.first { $0["id"]?.string == id }
        return (c?["verdict"]?.string ?? "missing", c?["message"]?.string ?? "")
    }

    /// The answer's CN for a packet: 9013 for notifications, 9014 for the rest.
    static func ackCN(_ s: DataSegment) -> String { s.cn == "1013" || s.cn == "9015" ? "9013" : "9014" }

    /// The HJ/T 212-2005 form: `ST=91;CN=9014;CP=&&QN=…;CN=…&&`, no QN header, no PW/MN/Flag.
    static func form2005(_ s: DataSegment) -> DataSegment {
        DataSegment(header: [Field("ST", "91"), Field("CN", ackCN(s))], cp: [[Field("QN", s.qn ?? ""), Field("CN", s.cn ?? "")]])
    }

    /// The HJ 212-2017 form: QN header, PW, MN, Flag=4, `CP=&&&&` (whatever the packet's version).
    static func form2017(_ s: DataSegment) -> DataSegment { replySegment(cn: ackCN(s), to: s, cp: [], version: 1) }

    /// Touched only on its connection's loop (the rule behind `@unchecked Sendable`).
    final class Handler: TCPConnectionHandler, @unchecked Sendable {
        var decoder = FrameDecoder()
        let answer: @Sendable (DataSegment) -> DataSegment?
        let lowerCRC: Bool
        init(lowerCRC: Bool, _ answer: @escaping @Sendable (DataSegment) -> DataSegment?) {
            self.lowerCRC = lowerCRC
            self.answer = answer
        }

        func connection(_ c: TCPConnection, didRead bytes: [UInt8]) {
            decoder.feed(bytes)
            while let event = decoder.next() {
                guard case .frame(let raw) = event else { continue }
                let s = SegmentParser.parse(raw.segmentBytes).segment
                guard !["9011", "9012", "9013", "9014"].contains(s.cn ?? ""), s.flag?.needsAck ?? false, let reply = answer(s) else { continue }
                var bytes = FrameEncoder.frame(reply)
                if lowerCRC {
                    for i in (bytes.count - 6)..<(bytes.count - 2) where bytes[i] >= 0x41 && bytes[i] <= 0x46 { bytes[i] += 0x20 }
                }
                _ = c.write(bytes)
            }
        }

        func connection(_ c: TCPConnection, didCloseWith reason: CloseReason) {}
        func connectionDidDrain(_ c: TCPConnection) {}
    }
}

@Suite("check platform judges acknowledgements by the dialect of the packet answered")
struct CheckPlatformAckFormTests {
    @Test("HJ 212-2017 uploads acknowledged in the HJ/T 212-2005 form fail the form checks, each answer counted once")
    func legacyAnswersTo2017() throws {
        let platform = try ScriptedPlatform { s in ScriptedPlatform.form2005(s) }
        defer { platform.stop() }
        let r = try platform.check(["--only", "P-ACK"])
        for id in ["P-ACK-FLAG", "P-ACK-QN", "P-ACK-CP", "P-ACK-PWMN"] {
            let c = ScriptedPlatform.result(r.json, id)
            #expect(c.verdict == "fail", "\(id): \(c.verdict) \(c.message)")
        }
        #expect(r.status == 1, "\(r.out)")
        // "N of M answers": an answer missing both PW and MN is one answer, not two.
        let pwmn = ScriptedPlatform.result(r.json, "P-ACK-PWMN").message
        let numbers = pwmn.split(separator: " ").prefix(3).map(String.init)
        let n = Int(numbers.first ?? ""), m = Int(numbers.count == 3 ? numbers[2] : "")
        #expect(numbers.count == 3 && numbers[1] == "of" && n != nil && m != nil && n! <= m!, "\(pwmn)")
        #expect(n == m, "every answer lacks PW and MN: \(pwmn)")
    }

    /// decisions.md: the HJ/T 212-2005 probe may be answered in either form.
    @Test("the HJ/T 212-2005 probe answered in the 2017 form, or in the 2005 form, passes the form checks", arguments: [false, true])
    func formsFor2005Probe(_ legacyForm: Bool) throws {
        let platform = try ScriptedPlatform { s in
            (s.flag?.version ?? 0) == 0 && legacyForm ? ScriptedPlatform.form2005(s) : ScriptedPlatform.form2017(s)
        }
        defer { platform.stop() }
        let r = try platform.check(["--profile", "jiangsu", "--only", "P-V2005-ACK,P-ACK-FLAG,P-ACK-QN,P-ACK-CP,P-ACK-PWMN,P-ACK-CN"])
        for id in ["P-V2005-ACK", "P-ACK-FLAG", "P-ACK-QN", "P-ACK-CP", "P-ACK-PWMN", "P-ACK-CN"] {
            let c = ScriptedPlatform.result(r.json, id)
            #expect(c.verdict == "pass", "\(legacyForm ? "2005" : "2017") form, \(id): \(c.verdict) \(c.message)")
        }
        #expect(r.status == 0, "\(r.out)")
    }

    @Test("answers whose CRC is right but in lower case pass P-ACK-CRC with a warning (HJ212.md §1), shown in the report")
    func lowerCaseCRC() throws {
        let platform = try ScriptedPlatform(lowerCRC: true) { s in ScriptedPlatform.form2017(s) }
        defer { platform.stop() }
        let r = try platform.check(["--only", "P-ACK"])
        let c = ScriptedPlatform.result(r.json, "P-ACK-CRC")
        // Some CRCs have no letter: the run sends enough packets for some to have one.
        #expect(c.verdict == "warn", "\(c.message)")
        #expect(c.message.contains("lower case"), "\(c.message)")
        #expect(r.status == 0, "\(r.out)")
    }

    @Test("a wrong PW acknowledged by a 9014 echoing its QN with the registered PW fails P-ACCESS-PW")
    func wrongPWAckedWithRegisteredPW() throws {
        // Accepts everything; its 9014 echoes the QN but always carries the registered PW and MN.
        let platform = try ScriptedPlatform { s in
            var reply = ScriptedPlatform.form2017(s)
            reply.header = reply.header.map { f in f.name == "PW" ? Field("PW", ScriptedPlatform.pw) : f }
            return reply
        }
        defer { platform.stop() }
        let r = try platform.check(["--only", "P-ACCESS-PW"])
        let c = ScriptedPlatform.result(r.json, "P-ACCESS-PW")
        #expect(c.verdict == "fail", "\(c.message)")
        #expect(c.message.contains("does not check passwords"), "\(c.message)")
        #expect(r.status == 1)
    }
}
