import HJ212
import Testing
@testable import HJAnalysis

/// A run that stops while a fault acts writes an `"ended"` line (`FaultRecord.ends`): the reader
/// ends the injection there instead of at its planned end, and never takes the line for a second one.
@Suite("ground truth: faults ended by the stop")
struct TruthEndTests {
    static let mn = "010000A8900016F000169DC0"

    @Test("an ended line ends the latest matching injection that still acted; others are untouched")
    func endsTheMatchingInjection() throws {
        let text = """
        {"t":"2026-11-30T02:00:00.000+08:00","mn":"\(Self.mn)","fault":"calibration","layer":"instrument","factor":"w01018","detail":"from 2026-11-30 02:00:00 to 2026-11-30 08:00:00"}
        {"t":"2026-11-30T02:00:00.000+08:00","mn":"\(Self.mn)","fault":"calibration","layer":"instrument","factor":"w21003","detail":"from 2026-11-30 02:00:00 to 2026-11-30 08:00:00"}
        {"t":"2026-11-30T03:00:00.000+08:00","mn":"\(Self.mn)","ended":"calibration","layer":"instrument","factor":"w01018","detail":"the run stopped at 2026-11-30 03:00:00 while it acted (planned: from 2026-11-30 02:00:00 to 2026-11-30 08:00:00)"}
        """
        let parsed = Injection.parse(text)
        #expect(parsed.skipped == 0)
        #expect(parsed.injections.count == 2)
        let cod = try #require(parsed.injections.first { $0.factor == "w01018" })
        let nh3 = try #require(parsed.injections.first { $0.factor == "w21003" })
        #expect(cod.end == HJTime("20261130030000")?.wallMilliseconds)
        #expect(nh3.end == HJTime("20261130080000")?.wallMilliseconds, "another factor keeps its planned end")
    }

    @Test("an ended line with no injection acting then is skipped and counted, not an injection")
    func unmatchedEnd() {
        let text = """
        {"t":"2026-11-30T03:00:00.000+08:00","mn":"\(Self.mn)","ended":"drift","layer":"instrument","factor":"w01018","detail":"…"}
        """
        let parsed = Injection.parse(text)
        #expect(parsed.injections.isEmpty)
        #expect(parsed.skipped == 1)
    }
}
