import Foundation
import HJ212
import HJConformance
import Synchronization
import Testing
@testable import HJ212CLI
import TestSupport

/// Handover 20, item 2: a platform that does not echo QNs gets its answers attributed in order;
/// one packet it never answered shifted every later answer onto the packet before it, so a
/// check was judged on its neighbour's answer (a 9013 taken for the 3020's answer, "after 1.4 s").
@Suite("check platform: answers without QN attributed in order")
struct CheckPlatformAttributionTests {
    /// A 9014 / 9013 that echoes no QN (some platforms in the field answer so).
    static func ackWithoutQN(_ s: DataSegment) -> DataSegment {
        var a = Wire.ackSegment(s)
        a.header.removeAll { $0.name == "QN" }
        return a
    }

    /// The platform answers every good packet at once without its QN, except the first 2011
    /// it receives, which it never answers.
    static func dropsFirst2011() throws -> WirePlatform {
        let dropped = Atomic<Bool>(false)
        return try WirePlatform { f in
            guard f.isGood else { return [] }
            if f.segment.cn == "2011" && !dropped.exchange(true, ordering: .relaxed) { return [] }
            return [.reply(Self.ackWithoutQN(f.segment))]
        }
    }

    @Test("a 9013 without QN goes to the 1013 it answers, not to an upload left without its answer")
    func answerKindDecides() async throws {
        let r = try await offPool {
            let platform = try Self.dropsFirst2011()
            defer { platform.stop() }
            return try platform.check(["--only", "P-ACK-2011,P-ACK-2051,P-ACK-TIME,P-ACK-QN"], commandWindow: "0.3", messagesInChinese: true)
        }
        let time = WirePlatform.result(r.json, "P-ACK-TIME")
        #expect(time.verdict == "pass", "every answer came within 1 ms: \(time.message)")
        let qn = WirePlatform.result(r.json, "P-ACK-QN")
        #expect(qn.verdict == "fail" && qn.message.contains("answered with QN=-"), "\(qn.message)")
    }

    @Test("a packet whose answer wait ended does not take the answer of a packet sent after it")
    func expiredWaitTakesNoAnswer() async throws {
        let r = try await offPool {
            let platform = try Self.dropsFirst2011()
            defer { platform.stop() }
            return try platform.check(["--only", "P-ACK-2011,P-RESEND-ACK,P-NOACK-FLAG,P-ACK-TIME"], commandWindow: "0.3", messagesInChinese: true)
        }
        for id in ["P-RESEND-ACK", "P-NOACK-FLAG", "P-ACK-TIME"] {
            let c = WirePlatform.result(r.json, id)
            #expect(c.verdict == "pass", "\(id): \(c.verdict) \(c.message)")
        }
    }
}
