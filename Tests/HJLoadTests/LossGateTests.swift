import Testing
@testable import HJLoad

/// Review 21, finding 5: `sent>=1`, `acked>=1`-like vacuous bounds and `timed-out>=0` each took the
/// built-in "every packet acknowledged" rule away, so a run that lost half its packets passed.
/// A count threshold stands in for that rule only when it bounds the losses.
@Suite("load: which thresholds judge the losses")
struct LossGateTests {
    /// Half of 300 packets acknowledged.
    static func halfLost() -> LoadReport {
        var r = LoadReport()
        r.loggers = 20
        r.totalLoggers = 20
        r.windowSeconds = 3
        r.counts.scheduled = 300
        r.counts.sent = 300
        r.counts.acked = 150
        r.counts.timedOut = 150
        r.counts.loggersConnected = 20
        r.counts.maxConnections = 20
        return r
    }

    static func lossFailure(_ thresholds: [String]) throws -> Bool {
        let t = try thresholds.map { try Threshold(parsing: $0) }
        return halfLost().builtInFailures(thresholds: t).contains { $0.contains("scheduled packets were not acknowledged") }
    }

    @Test("thresholds that do not bound the losses leave the built-in rule in force", arguments: [
        "sent>=1", "sent==300", "timed-out>=0", "acked>=0", "unacked>=0", "missed>0", "acked<=1000000", "acked!=0", "p99<500ms", "acked/s>=1"])
    func notALossBound(_ spec: String) throws {
        #expect(try Self.lossFailure([spec]), "\(spec) judged the losses")
    }

    @Test("thresholds that bound the losses replace the built-in rule", arguments: [
        "unacked<60%", "unacked<=150", "unacked==150", "missed<1", "timed-out<200", "acked>=100", "acked>50%", "acked==150"])
    func aLossBound(_ spec: String) throws {
        #expect(try !Self.lossFailure([spec]), "\(spec) did not stand in for the built-in rule")
    }

    @Test("a partial fleet: only a bound on connected, refused or connect-errors stands in for the built-in rule")
    func fleetBounds() throws {
        var r = Self.halfLost()
        r.counts.loggersConnected = 15
        func fleetFailure(_ spec: String) throws -> Bool {
            r.builtInFailures(thresholds: [try Threshold(parsing: spec)]).contains { $0.hasPrefix("only 15 of 20 loggers connected") }
        }
        for spec in ["connected>=0", "connected<=20", "refused>=0", "connect-errors>0"] { #expect(try fleetFailure(spec), "\(spec)") }
        for spec in ["connected>=75%", "connected>10", "refused<10", "connect-errors<=5"] { #expect(try !fleetFailure(spec), "\(spec)") }
    }
}

@Suite("load: what the server sent when nothing was acknowledged")
struct NothingAckedTests {
    @Test("late and duplicate acknowledgements are named, not called 'no reply at all' (review 21, finding 7)")
    func lateRepliesAreReplies() {
        var r = LossGateTests.halfLost()
        r.counts.acked = 0
        r.counts.late = 412
        let line = r.builtInFailures(thresholds: []).first { $0.hasPrefix("nothing was acknowledged") } ?? ""
        #expect(line.contains("412 late") && !line.contains("no reply at all"), "\(line)")
    }
}
