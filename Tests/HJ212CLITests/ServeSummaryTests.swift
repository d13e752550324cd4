import Foundation
import HJ212
import HJLive
import HJRoles
import Testing
@testable import HJ212CLI
import TestSupport

/// `serve`'s end-of-run completeness (session 18, item 2): the window ends at the platform's own
/// clock at the end of the run, and what the platform cannot judge makes the verdict
/// "incomplete", never "nothing lost".
@Suite("serve summary: the window and what is not judged")
struct ServeSummaryTests {
    static let mn = "010000A8900016F000169DC0"
    /// 2026-11-30 08:00 (UTC+8), the start of the generated data.
    static let start = HJTime(year: 2026, month: 11, day: 30, hour: 8).wallMilliseconds
    static let minute: Int64 = 60_000

    /// A platform fed with what one logger sends over 80 minutes from 08:00 (`generate`), with
    /// these faults, as a platform would take it.
    func platform(faults: String? = nil, registered: Bool = false, duration: String = "80m", extra: [String] = []) throws -> PlatformState {
        let out = temporaryPath(".raw")
        defer {
            try? FileManager.default.removeItem(atPath: out)
            try? FileManager.default.removeItem(atPath: out + ".truth.jsonl")
        }
        var arguments = ["generate", "--unit", "industrial-wastewater", "--start", "2026-11-30T08:00", "--duration", duration, "-o", out] + extra
        if let faults { arguments += ["--faults", faults] }
        let r = hj212(arguments)
        #expect(r.status == 0, "\(r.err)")
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: out)))
        let registry = registered ? Registry([Registry.Entry(mn: Self.mn, pw: "123456", name: "outfall", enterprise: "")], file: "test") : nil
        let state = PlatformState(registry: registry, linter: try makeLinter(dialect: nil, strict: false, profiles: nil, profile: "hebei-dynamic"))
        var session = PlatformSession(state: state, peer: "127.0.0.1:1")
        // The unit is first seen at 08:00 on the platform's clock (all its frames taken at once).
        let at = Self.start
        state.commit(session.connected(at: at))
        state.commit(session.received(bytes, at: at))
        #expect(state.unitCount == 1)
        return state
    }

    func summary(_ state: PlatformState, now: Int64) -> (out: String, nothingLost: Bool) {
        let io = CommandIO(stdout: OutputSink(), stderr: OutputSink(), stdinBytes: nil)
        let lost = PlatformReport.serveSummary(state: state, now: now, io: io, trace: nil)
        return (io.stdout.captured, lost)
    }

    @Test("everything due by the end of the run arrived: nothing lost (the control)")
    func complete() throws {
        let state = try platform()
        let r = summary(state, now: Self.start + 79 * Self.minute)
        #expect(r.out.contains("nothing lost: every expected record arrived"), "\(r.out)")
        #expect(r.nothingLost)
    }

    @Test("an outage at the end of the run: the window ends at the platform's clock, the records not sent are missing")
    func outageAtTheEnd() throws {
        let state = try platform()
        // The platform ran on to 10:20 and heard nothing after 09:20.
        let r = summary(state, now: Self.start + 140 * Self.minute)
        #expect(!r.out.contains("nothing lost"), "\(r.out)")
        #expect(!r.nothingLost)
        #expect(r.out.contains("and 2026-11-30 10:20"), "the window ends at the end of the run: \(r.out)")
        let row = r.out.split(separator: "\n").first { $0.contains(Self.mn) } ?? ""
        #expect(row.contains("2051 2026-11-30 09:20"), "the gap at the end is listed: \(row)")
        let missing = r.out.split(separator: "\n").last.flatMap { Int($0.prefix { $0.isNumber }) } ?? 0
        #expect(missing >= 6, "09:20 … 10:10 missing: \(r.out)")
    }

    @Test("records dated after the platform's clock (a logger ahead) are not judged: incomplete, not nothing lost")
    func loggerAhead() throws {
        let state = try platform()
        let r = summary(state, now: Self.start + 30 * Self.minute)
        #expect(!r.out.contains("nothing lost"), "\(r.out)")
        #expect(r.out.contains("incomplete"), "\(r.out)")
        #expect(r.out.contains("after the platform's clock"), "\(r.out)")
    }

    @Test("a registered unit whose minute and hour records never arrived: '?' cells, incomplete, never nothing lost")
    func recordTypeNeverArrived() throws {
        let state = try platform(faults: "missing-record%100", registered: true)
        let r = summary(state, now: Self.start + 80 * Self.minute)
        #expect(!r.out.contains("nothing lost"), "\(r.out)")
        #expect(!r.nothingLost)
        let row = r.out.split(separator: "\n").first { $0.contains(Self.mn) } ?? ""
        #expect(row.split(separator: " ").filter { $0 == "?" }.count == 2, "2051 and 2061 not judged: \(row)")
        #expect(r.out.contains("incomplete"), "\(r.out)")
    }

    @Test("one minute record and no 1063 answer: the minute interval is not known, so 2051 is not judged (no default assumed)")
    func intervalNotKnown() throws {
        // A logger sending minute data every 30 minutes: one 2051 (08:00, sent at 08:30) in 40 minutes.
        let state = try platform(duration: "40m", extra: ["--min-interval", "30"])
        let r = summary(state, now: Self.start + 40 * Self.minute)
        let row = r.out.split(separator: "\n").first { $0.contains(Self.mn) } ?? ""
        #expect(row.split(separator: " ").dropFirst().first == "1/?", "2051 received 1, expected unknown: \(row)")
        #expect(!r.out.contains("records missing") && !r.out.contains("1 expected record missing"), "nothing is called missing on a guessed interval: \(r.out)")
        #expect(!r.nothingLost && r.out.contains("incomplete") && r.out.contains("MinInterval"), "\(r.out)")
    }

    @Test("a unit with nothing to judge (no period ended since it came) is not 'nothing lost'")
    func nothingToJudge() throws {
        let state = try platform(faults: "missing-record%100")
        let r = summary(state, now: Self.start + 20_000)
        #expect(!r.out.contains("nothing lost"), "\(r.out)")
        #expect(r.out.contains("incomplete"), "\(r.out)")
    }
}
