import HJ212
import HJSimulation
import Testing
@testable import HJRoles

/// The two roles talking to each other in virtual time: a logger and the reference platform.
@Suite("Logger and platform together (virtual time)")
struct InteropTests {
    /// Shuttles bytes between the two sessions until both are quiet.
    struct Wire {
        var toPlatform: [SessionAction] = []
        var toLogger: [SessionAction] = []
        var up = true  // the link is connected

        mutating func pump(_ logger: inout LoggerHarness, _ platform: inout PlatformSession, at now: SessionTime) {
            var rounds = 0
            while up && (!toPlatform.isEmpty || !toLogger.isEmpty) && rounds < 100_000 {
                rounds += 1
                let upBytes = toPlatform
                toPlatform = []
                for case .send(let b) in upBytes { toLogger += platform.received(b, at: now).actions }
                let downBytes = toLogger
                toLogger = []
                for case .send(let b) in downBytes { toPlatform += logger.session.received(b, at: now).actions }
            }
            if !up { toPlatform = []; toLogger = [] }
        }
    }

    @Test("a day and two hours: set-up, uploads all acknowledged, an outage backfilled, history, nothing missing")
    func dayOfTraffic() throws {
        var logger = try LoggerHarness()
        let state = try PlatformState()
        var options = PlatformSession.Options()
        options.initialise = .firstContact
        var platform = PlatformSession(state: state, peer: "virtual", options: options)
        var now = LoggerHarness.start
        var wire = Wire()
        logger.device.advance(to: now)
        wire.toPlatform = logger.session.connected(at: now).actions
        wire.toLogger = platform.connected(at: now).actions
        wire.pump(&logger, &platform, at: now)
        let end = now + 26 * 3_600_000
        var requested = false
        while now < end {
            now += 1_000
            // A 40-minute outage in the morning: the logger keeps its data, then backfills.
            if now == LoggerHarness.start + 6 * 3_600_000 {
                wire.up = false
                logger.session.disconnected(at: now)
                platform.disconnected(at: now)
                platform = PlatformSession(state: state, peer: "virtual", options: options)
            }
            if now == LoggerHarness.start + 6 * 3_600_000 + 2_400_000 {
                wire.up = true
                wire.toPlatform += logger.session.connected(at: now).actions
                wire.toLogger += platform.connected(at: now).actions
            }
            logger.device.advance(to: now)
            if wire.up {
                wire.toPlatform += logger.session.tick(at: now).actions
                wire.toLogger += platform.tick(at: now).actions
            }
            if !requested && now >= LoggerHarness.start + 25 * 3_600_000 {
                requested = true
                wire.toLogger += platform.requestHistory(cn: "2061", from: LoggerHarness.start, to: LoggerHarness.start + 23 * 3_600_000, at: now).actions
            }
            wire.pump(&logger, &platform, at: now)
        }
        // Every upload acknowledged, including the backfill.
        #expect(logger.session.pendingCount == 0)
        #expect(logger.session.statistics.acknowledged == logger.session.statistics.sent)
        #expect(logger.session.statistics.backfilled > 0)
        #expect(state.counters.errors == 0)
        // The set-up of §6.3 and the history request completed.
        let results = state.completedCommands
        #expect(results.prefix(6).map(\.cn) == ["1012", "1000", "1062", "1064", "2011", "2021"])
        #expect(results.prefix(6).allSatisfy { $0.outcome == .completed || $0.outcome == .acknowledged })
        let history = try #require(results.first { $0.cn == "2061" })
        #expect(history.qnRtn == 1 && history.exeRtn == 1 && history.records == 24)
        // Completeness: no minute, hour or day record missing over the first day.
        let summary = try #require(state.summary(mn: LoggerHarness.mn, from: LoggerHarness.start, to: LoggerHarness.start + 24 * 3_600_000 - 1))
        for cn in ["2051", "2061", "2031"] {
            let s = try #require(summary.byCN[cn], "\(cn)")
            #expect(s.expected > 0 && s.missing == 0, "\(cn): \(s.received)/\(s.expected)")
        }
        #expect(state.gaps(mn: LoggerHarness.mn, cn: "2051", from: LoggerHarness.start, to: LoggerHarness.start + 24 * 3_600_000 - 1).isEmpty)
    }
}
