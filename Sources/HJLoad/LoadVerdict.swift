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

    /// Why the run fails whatever else it measured, one line each (empty: nothing wrong).
    ///
    /// A run in which nothing was acknowledged tested nothing, so it always fails, thresholds or
    /// not. Without thresholds, fewer loggers connected than asked fails, and so does any scheduled
    /// packet not sent or not acknowledged; thresholds replace those rules (`connected>=95%`,
    /// `unacked<0.1%` accept a partial fleet or losses knowingly).
    ///
    /// ```swift
    /// report.builtInFailures(thresholdsGiven: false)
    /// // ["only 1015 of 3000 loggers connected (most common: connect timed out)"]
    /// ```
    public func builtInFailures(thresholdsGiven: Bool) -> [String] {
        var out: [String] = []
        let c = counts
        if !thresholdsGiven && loggers > 0 && loggersThatConnected < UInt64(clamping: loggers) {
            let reason = errors.filter { $0.key.hasPrefix("connect") }.max { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }?.key
            out.append("only \(loggersThatConnected) of \(loggers) loggers connected" + (reason.map { " (most common: \($0))" } ?? ""))
        }
        // Without thresholds, pass means every scheduled packet was sent and acknowledged: a run in
        // which the server went away (packets never sent, or lost with their connection) is not a
        // pass because every logger once connected. `unacked<0.1%` or `missed<1%` accept losses knowingly.
        if !thresholdsGiven && c.scheduled > 0 && c.acked > 0 && (c.missed > 0 || c.unacked > 0) {
            let notAcked = c.missed &+ c.unacked
            let reason = errors.max { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }?.key
            out.append("\(notAcked) of \(c.scheduled) scheduled packets were not acknowledged (\(c.missed) never sent, \(c.unacked) sent without an acknowledgement"
                       + (reason.map { "; most common: \($0)" } ?? "") + ")")
        }
        if c.scheduled == 0 {
            out.append("no packet was scheduled: nothing was tested")
        } else if c.acked == 0 {
            var seen: [String] = []
            if c.wrongAcks > 0 { seen.append("\(c.wrongAcks) wrong replies") }
            if c.otherFrames > 0 { seen.append("\(c.otherFrames) other frames") }
            if c.noiseBytes > 0 { seen.append("\(c.noiseBytes) bytes that were not HJ 212") }
            out.append("nothing was acknowledged: none of the \(c.sent) packets sent got a correct 9014"
                       + (seen.isEmpty ? " (no reply at all)" : " (the server sent \(seen.joined(separator: ", ")))"))
        }
        return out
    }

    /// The run's outcome: incomplete when interrupted, fail when a threshold or a built-in rule
    /// fails, else pass. Call after `verdicts` are evaluated.
    public func outcome(thresholdsGiven: Bool) -> (outcome: LoadOutcome, reasons: [String]) {
        var reasons = builtInFailures(thresholdsGiven: thresholdsGiven)
        reasons += verdicts.filter { !$0.pass }.map { "threshold \($0.threshold.text) failed (measured \($0.measuredText))" }
        if interrupted { return (.incomplete, ["interrupted: the report covers what ran"] + reasons) }
        return (reasons.isEmpty ? .pass : .fail, reasons)
    }
}
