import HJ212
import HJConformance
import Testing
@testable import HJ212CLI
import TestSupport

/// A platform that drops a connection with a reset (an RST, not a FIN) has closed it: the
/// probe must read ECONNRESET (and EPIPE on a send) as the platform closing, not as a failure of
/// the link that leaves a check "not exercised". Session 23: under load the kernel answered the
/// close of the misbehaving test platform with a reset (the probe's next packet was unread), and
/// P-ACCESS-PW/MN came out not exercised; `SO_LINGER` 0 makes the reset certain here. The
/// access checks' case is `CheckPlatformMisbehavingTests.closeAfterServiceIsRefusal(reset: true)`.
@Suite("check platform against platforms that close with a reset")
struct CheckPlatformResetTests {
    /// The other side: a check that needs the connection to stay open fails on a reset, and says
    /// the platform closed it (it did), not that an answer was merely missing.
    @Test("a platform that resets the connection on a bad frame fails the bad-frame checks: it closed the connection")
    func resetOnBadFrameFails() async throws {
        let r = try await offPool {
            let platform = try WirePlatform { f in f.isGood ? [.reply(Wire.ackSegment(f.segment))] : [.reset] }
            defer { platform.stop() }
            return try platform.check(["--only", "P-BAD-CRC,P-BAD-LENGTH"], commandWindow: "0.3", messagesInChinese: true)
        }
        for id in ["P-BAD-CRC", "P-BAD-LENGTH"] {
            let c = WirePlatform.result(r.json, id)
            #expect(c.raw == "fail" && c.message.contains("the platform closed the connection after"), "\(id): \(c.verdict) \(c.message)")
        }
        #expect(r.status == 1, "\(r.out)")
        // The wire log says the close came as a reset, in Chinese too.
        let catalogue = try RuleCatalogue.load().messages
        let notes = (r.json["checks"]?.array ?? []).flatMap { $0["wire"]?.array ?? [] }
            .filter { $0["dir"]?.string == "note" }.compactMap { $0["text"]?.string }
        let resets = notes.filter { $0.contains("closed the connection with a reset") }
        #expect(!resets.isEmpty, "\(notes)")
        for n in resets { #expect(!hasEnglish(catalogue.localized(n, .zh)), "\(n) → \(catalogue.localized(n, .zh))") }
    }
}
