import Foundation
import HJ212
import HJConformance
import HJSimulation
import HJLive
import Testing
@testable import HJ212CLI

/// Session 22: verdicts and messages of `check logger` that did not say what was true
/// (review 21's leftovers, handover "Where things stand (session 21)" item 5).
@Suite("check logger: verdicts and messages that say what is true (session 22)", .serialized)
struct CheckLoggerSession22Tests {
    static let fresh: @Sendable (Int) -> String = { i in HJTime(wallMilliseconds: LiveClock.wallNow(offsetMinutes: SimClock.chinaOffsetMinutes) + Int64(i)).text17 }

    static func result(_ run: CheckRun, _ id: String) -> (verdict: Verdict, message: String) {
        CheckLoggerReview21Tests.result(run, id)
    }

    /// The message is wholly Chinese in a Chinese report (its template is in messages.json).
    static func chinese(_ run: CheckRun, _ id: String) -> String? {
        let m = result(run, id).message
        let zh = run.messages.localized(m, .zh)
        return hasEnglish(zh) ? "\(id) not in Chinese: \(zh)" : nil
    }

    @Test("1061 failed: L-CMD-1062 says why it did not run, and 1064, the outage (L-RECONNECT) and the backfill still run")
    func cadenceStepsWithout1061() throws {
        // RtdInterval 20 s is outside the 30-3600 s that L-CMD-1061 accepts: 1061 fails.
        let run = try CheckLoggerTests.check(only: ["L-CONNECT", "L-CMD-1061", "L-CMD-1062", "L-CMD-1063", "L-CMD-1064", "L-RECONNECT", "L-BACKFILL"],
                                             window: 1, speed: 3000, rtdInterval: 20)
        #expect(Self.result(run, "L-CMD-1061").verdict == .fail, "\(CheckLoggerTests.describe(run))")
        let c1062 = Self.result(run, "L-CMD-1062")
        #expect(c1062.verdict == .notExercised && c1062.message.contains("1061") && !c1062.message.contains("not reached"), "\(c1062.message)")
        for id in ["L-CMD-1064", "L-RECONNECT", "L-BACKFILL"] {
            let r = Self.result(run, id)
            #expect(r.verdict == .pass, "\(id): \(r.verdict) \(r.message)")
        }
        for id in ["L-CMD-1062", "L-CMD-1064", "L-RECONNECT", "L-BACKFILL"] { #expect(Self.chinese(run, id) == nil, "\(Self.chinese(run, id) ?? "")") }
    }

    @Test("a 1072 answered ExeRtn=1 that leaves the password unchanged fails L-CMD-1072 alone: L-PW and L-REPLY-FORM refer to it")
    func unappliedPasswordChangeCountsOnce() throws {
        // The scripted logger answers every request with PW=123456 and never changes its password.
        let run = try CheckLoggerReview21Tests.run(only: ["L-CMD-1072", "L-PW", "L-REPLY-FORM"], window: 0.5, qn: Self.fresh, answer: .proper)
        let c1072 = Self.result(run, "L-CMD-1072")
        #expect(c1072.verdict == .fail, "\(c1072.message)")
        for id in ["L-PW", "L-REPLY-FORM"] {
            let r = Self.result(run, id)
            #expect(r.verdict == .pass && r.message.contains("L-CMD-1072"), "\(id): \(r.verdict) \(r.message)")
            #expect(Self.chinese(run, id) == nil, "\(Self.chinese(run, id) ?? "")")
        }
    }

    @Test("DataTimes 400 days ahead of the QNs fail L-CLOCK; L-RTD-CADENCE names the DataTimes it judged, not the QN span")
    func dataTimeAheadOfTheClock() throws {
        let ahead: Int64 = 400 * 86_400_000
        let now = LiveClock.wallNow(offsetMinutes: SimClock.chinaOffsetMinutes)
        let run = try CheckLoggerReview21Tests.run(only: ["L-CLOCK", "L-RTD-CADENCE"], window: 1, qn: Self.fresh, answer: .proper, dataTimeOffset: ahead)
        let clock = Self.result(run, "L-CLOCK")
        #expect(clock.verdict == .fail && clock.message.contains("DataTime"), "\(clock.verdict) \(clock.message)")
        let rtd = Self.result(run, "L-RTD-CADENCE")
        let year = String(HJTime(wallMilliseconds: now + ahead).description.prefix(5))
        #expect(rtd.verdict == .pass && rtd.message.contains(year) && !rtd.message.contains(String(HJTime(wallMilliseconds: now).description.prefix(5))),
                "\(rtd.verdict) \(rtd.message)")
        for id in ["L-CLOCK", "L-RTD-CADENCE"] { #expect(Self.chinese(run, id) == nil, "\(Self.chinese(run, id) ?? "")") }
    }

    @Test("a frozen QN clock: the cadence checks say the QNs did not advance, not that the window holds no period")
    func frozenQNClock() throws {
        // 2051 every 50 ms, DataTime 10 min apart (over 3 h of DataTime in the window), one QN.
        let run = try CheckLoggerReview21Tests.run(only: ["L-MIN-CADENCE", "L-RTD-CADENCE"], window: 1, qn: { _ in "20261206041343866" }, answer: .proper,
                                                   cn: "2051", step: 600_000, every: 50)
        for id in ["L-MIN-CADENCE", "L-RTD-CADENCE"] {
            let r = Self.result(run, id)
            #expect(r.verdict == .notExercised && r.message.contains("did not advance") && !r.message.contains("holds no complete"), "\(id): \(r.verdict) \(r.message)")
            #expect(Self.chinese(run, id) == nil, "\(Self.chinese(run, id) ?? "")")
        }
        let min = Self.result(run, "L-MIN-CADENCE").message
        #expect(min.contains("DataTime"), "\(min)")
    }
}
