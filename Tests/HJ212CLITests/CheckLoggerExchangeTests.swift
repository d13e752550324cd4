import HJ212
import Testing
@testable import HJConformance

/// What one request of `check logger` brought back (`LoggerCheckRunner.Exchange`).
@Suite("check logger: one request's exchange")
struct CheckLoggerExchangeTests {
    @Test("an interrupted wait is a flag of the exchange, not a problem text: the reply checks leave out the flag, not the words")
    func interruptedIsAFlag() {
        var x = LoggerCheckRunner.Exchange(request: DataSegment(header: [], cp: []), qn: "20261206000000000", sentAt: 0)
        // A problem that merely reads "interrupted" is a problem like any other: judged.
        x.problem = "interrupted"
        #expect(x.judgeable)
        x.problem = nil
        x.interrupted = true
        #expect(!x.judgeable)
        #expect(x.summary == "no 9011, interrupted")
    }
}
