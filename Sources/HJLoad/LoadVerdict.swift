/// The outcome of a load run: `pass`, `fail` or `incomplete` (interrupted), as every verdict of
/// the tool.
public enum LoadOutcome: String, Sendable {
    case pass, fail, incomplete
}

extension LoadReport {
    /// Loggers that connected at least once. Reports written before the count existed carry 0:
    /// their most connections open at once stands in.
    public var loggersThatConnected: UInt64 {
        counts.loggersConnected > 0 || counts.connects == 0 ? counts.loggersConnected : min(counts.maxConnections, UInt64(clamping: loggers))
    }

    /// Count thresholds that accept a partial fleet knowingly: given one that bounds it (a floor
    /// under `connected`, a ceiling over `refused` or `connect-errors`), the built-in "every
    /// logger connected" rule gives way to it.
    public static let fleetMetrics: Set<String> = ["connected", "refused", "connect-errors"]
    /// Count thresholds that accept losses knowingly: given one that bounds them (a ceiling over
    /// `unacked`, `missed` or `timed-out`, a floor under `acked`), the built-in "every scheduled
    /// packet sent and acknowledged" rule gives way to it. A latency or rate threshold alone does
    /// not (`p99<500ms` says nothing of the packets never acknowledged, which no percentile holds),
    /// nor does `sent` (it never looks at an acknowledgement), nor a bound the wrong way or none
    /// (`timed-out>=0`, `unacked>0`, `acked!=0`: review 21 saw `sent>=1` pass a run that lost half
    /// its packets).
    public static let lossMetrics: Set<String> = ["unacked", "missed", "acked", "timed-out"]
    /// The metrics of `fleetMetrics` and `lossMetrics` that count what is wanted (a floor bounds
    /// them); the others count what went wrong (a ceiling bounds them).
    static let wantedCounts: Set<String> = ["connected", "acked"]

    /// Whether `t` is a count threshold on one of `names` that bounds it the way that limits
    /// harm: `<`, `<=` or `==` on a count of what went wrong, `>`, `>=` (above 0) or `==` on one
    /// of what is wanted.
    static func bounds(_ t: Threshold, _ names: Set<String>) -> Bool {
        guard case .count(let n) = t.metric, names.contains(n) else { return false }
        switch t.comparison {
        case .equal: return true
        case .less, .lessOrEqual: return !wantedCounts.contains(n)
        case .greater: return wantedCounts.contains(n)
        case .greaterOrEqual: return wantedCounts.contains(n) && t.value > 0  // `acked>=0` bounds nothing
        case .notEqual: return false
        }
    }

    /// Why the run fails whatever else it measured, one line each (empty: nothing wrong).
    ///
    /// A run in which nothing was acknowledged tested nothing, so it always fails, thresholds or
    /// not. Fewer loggers connected than asked fails unless a threshold bounds `connected`,
    /// `refused` or `connect-errors` instead; any scheduled packet not sent or not acknowledged
    /// fails unless a threshold bounds `unacked`, `missed`, `acked` or `timed-out` instead
    /// (`connected>=95%`, `unacked<0.1%` accept a partial fleet or losses knowingly; `bounds`).
    ///
    /// ```swift
    /// report.builtInFailures(thresholds: [])
    /// // ["only 1015 of 3000 loggers connected (most common: connect timed out)"]
    /// ```
    public func builtInFailures(thresholds: [Threshold]) -> [String] {
        func judges(_ names: Set<String>) -> Bool { thresholds.contains { Self.bounds($0, names) } }
        var out: [String] = []
        let c = counts
        if !judges(Self.fleetMetrics) && loggers > 0 && loggersThatConnected < UInt64(clamping: loggers) {
            let reason = errors.filter { $0.key.hasPrefix("connect") }.max { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }?.key
            out.append("only \(loggersThatConnected) of \(loggers) loggers connected" + (reason.map { " (most common: \($0))" } ?? ""))
        }
        // Pass means every scheduled packet was sent and acknowledged: a run in which the server
        // went away (packets never sent, or lost with their connection) is not a pass because
        // every logger once connected, nor because the acknowledged ones were fast.
        if !judges(Self.lossMetrics) && c.scheduled > 0 && c.acked > 0 && (c.missed > 0 || c.unacked > 0) {
            let notAcked = c.missed &+ c.unacked
            let reason = errors.max { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }?.key
            out.append("\(notAcked) of \(c.scheduled) scheduled packets were not acknowledged (\(c.missed) never sent, \(c.unacked) sent without an acknowledgement"
                       + (reason.map { "; most common: \($0)" } ?? "") + ")")
        }
        if c.scheduled == 0 {
            out.append("no packet was scheduled: nothing was tested")
        } else if c.acked == 0 {
            var seen: [String] = []
            if c.late > 0 { seen.append("\(c.late) late acknowledgements (after --ack-timeout)") }
            if c.duplicates > 0 { seen.append("\(c.duplicates) duplicate acknowledgements") }
            if c.wrongAcks > 0 { seen.append("\(c.wrongAcks) wrong replies") }
            if c.otherFrames > 0 { seen.append("\(c.otherFrames) other frames") }
            if c.noiseBytes > 0 { seen.append("\(c.noiseBytes) bytes that were not HJ 212") }
            out.append("nothing was acknowledged: none of the \(c.sent) packets sent got a correct 9014"
                       + (seen.isEmpty ? " (no reply at all)" : " (the server sent \(seen.joined(separator: ", ")))"))
        }
        return out
    }

    /// The start of the error a run records when an event loop did not hand over its final state
    /// (`LoadRun`): that loop's loggers are missing from the report, so it cannot pass.
    public static let missingLoopError = "event loop "
    static let missingLoopMark = "did not report its final state"

    /// Why the report covers less than the run it stands for (empty: all of it): an event loop
    /// that did not report, and, with `requireAllShards` (a merge), shards of the run missing.
    public func gaps(requireAllShards: Bool) -> [String] {
        var out: [String] = []
        let loops = errors.keys.filter { $0.hasPrefix(Self.missingLoopError) && $0.contains(Self.missingLoopMark) }.count
        if loops > 0 { out.append("\(loops) event loop(s) did not report their final state: their loggers are missing from the report") }
        if requireAllShards {
            let parsed = shards.compactMap { try? Shard(parsing: $0) }
            if let n = parsed.first?.count, n > 1 {
                let present = Set(parsed.map(\.index))
                let missing = (1...n).filter { !present.contains($0) }
                if !missing.isEmpty {
                    out.append("shard(s) \(missing.prefix(10).map { "\($0)/\(n)" }.joined(separator: ", "))\(missing.count > 10 ? " …" : "") missing: "
                               + "the report covers \(present.count) of \(n) shards")
                }
            }
        }
        return out
    }

    /// The run's outcome: incomplete when interrupted or when the report covers less than the run
    /// (`gaps`), fail when a threshold or a built-in rule fails, else pass. Thresholds are those
    /// of `verdicts`: call after they are evaluated. A gap makes the report incomplete even when
    /// something fails: the counts lack the missing part (a missing loop's loggers read as "not
    /// connected", a missing shard's packets as too few acknowledged), so a failure could be the
    /// gap's artefact; the failures seen on the partial data are listed after the gaps.
    public func outcome(requireAllShards: Bool = false) -> (outcome: LoadOutcome, reasons: [String]) {
        var reasons = builtInFailures(thresholds: verdicts.map(\.threshold))
        reasons += verdicts.filter { !$0.pass }.map { "threshold \($0.threshold.text) failed (measured \($0.measuredText))" }
        if interrupted { return (.incomplete, ["interrupted: the report covers what ran"] + reasons) }
        let gaps = gaps(requireAllShards: requireAllShards)
        if !gaps.isEmpty { return (.incomplete, gaps + reasons.map { "on the partial data: " + $0 }) }
        return (reasons.isEmpty ? .pass : .fail, reasons)
    }
}
