import HJ212
import HJReportKit

/// One second of a load run: what was sent and acknowledged in it, the 99th percentile of the
/// latencies measured in it, the connections open at its end.
///
/// `Sendable`: a value.
public struct LoadSecond: Sendable, Equatable {
    /// Unix time (UTC) of the second's start: shards' series line up on it when merged.
    public var unixSecond: Int64
    /// Packets sent in the second.
    public var sent: UInt64
    /// Packets acknowledged in the second.
    public var acked: UInt64
    /// p99 of the acknowledgements that arrived in this second, from the scheduled time, µs
    /// (after a merge of shards: the largest of the shards' — an upper bound).
    public var p99: UInt64
    /// Connections open at the end of the second.
    public var connections: UInt64
    /// Errors counted in the second.
    public var errors: UInt64
    /// Sent packets waiting for their acknowledgement at the second's end.
    public var outstanding: UInt64

    /// Makes a row of the series.
    public init(unixSecond: Int64, sent: UInt64 = 0, acked: UInt64 = 0, p99: UInt64 = 0, connections: UInt64 = 0, errors: UInt64 = 0, outstanding: UInt64 = 0) {
        self.unixSecond = unixSecond
        self.sent = sent
        self.acked = acked
        self.p99 = p99
        self.connections = connections
        self.errors = errors
        self.outstanding = outstanding
    }
}

/// What a load run (or several shards, merged) measured: the settings, every counter, the
/// latency histograms (from the scheduled time, from the actual send, connect, send lag), a
/// per-second time series, the errors by reason, and the thresholds' verdicts.
///
/// JSON keeps the histograms' buckets, so `merge(_:)` of shard reports is exact (counts are
/// added, percentiles recomputed), never an average of percentiles.
///
/// `Sendable`: a value.
///
/// ```swift
/// var all = try LoadReport(json: text1)
/// all.merge(try LoadReport(json: text2))
/// print(all.text())
/// ```
public struct LoadReport: Sendable {
    /// The tool's version string.
    public var tool = "hj212"
    /// The servers the loggers connected to (`HOST:PORT`).
    public var targets: [String] = []
    /// Loggers of the whole run (all shards) and those this report covers.
    public var totalLoggers = 0
    public var loggers = 0
    /// The shards this report covers (one, or several after a merge), as `K/N`.
    public var shards: [String] = []
    /// The schedule, as described by `Cadence.description`.
    public var cadence = ""
    /// Packets per second offered by the schedule over the loggers of this report.
    public var offeredRate = 0.0
    /// The unit templates whose packets were sent.
    public var units: [String] = []
    /// Wall-clock start (ISO 8601, China time) of the send window.
    public var started = ""
    /// Unix second (UTC) of the start of the send window.
    public var startUnixSecond: Int64 = 0
    /// Seconds of the ramp, of the send window (as run: shorter after Ctrl-C), of the drain.
    public var rampSeconds = 0.0
    public var windowSeconds = 0.0
    /// Seconds waited after the window for the last acknowledgements.
    public var drainSeconds = 0.0
    /// Whether the run was stopped early (Ctrl-C).
    public var interrupted = false

    /// Every counter (see `LoadCounts`).
    public var counts = LoadCounts()
    /// Acknowledgement latency from each packet's scheduled send time (no coordinated omission).
    public var latency = LatencyHistogram()
    /// Acknowledgement latency from the actual send.
    public var sendLatency = LatencyHistogram()
    /// Connect latency (connect call to established).
    public var connectLatency = LatencyHistogram()
    /// How late the driver sent each packet after its scheduled time (the driver's own lag).
    public var sendLag = LatencyHistogram()
    /// One row per second since the start of the ramp.
    public var series: [LoadSecond] = []
    /// Errors by reason (connect failures, closes, wrong acknowledgements), with counts.
    public var errors: [String: UInt64] = [:]
    /// Thresholds and verdicts, filled in when evaluated.
    public var verdicts: [ThresholdVerdict] = []
    /// The run's outcome and why (`outcome(requireAllShards:)`), filled in with the verdicts.
    public var outcome: LoadOutcome?
    public var outcomeReasons: [String] = []

    /// An empty report (what a run or a merge fills in).
    public init() {}

    /// The percentiles listed in JSON and reports.
    public static let spectrum: [Double] = [0, 10, 20, 25, 30, 40, 50, 60, 70, 75, 80, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 99.999, 100]

    /// Acknowledged packets per second over the send window.
    public var ackedPerSecond: Double { windowSeconds > 0 ? Double(counts.ackedInWindow) / windowSeconds : 0 }
    /// Sent packets per second over the send window.
    public var sentPerSecond: Double { windowSeconds > 0 ? Double(counts.sent) / windowSeconds : 0 }

    /// Why `o` is not another shard of the run this report covers (`refuse`: different loggers
    /// in the whole run, different shard counts N, a different schedule), and what differs but
    /// can be merged (`warn`: send windows of different lengths, e.g. a shard stopped early; a
    /// shard present twice; other targets, e.g. replicas behind no balancer). Check it before `merge(_:)`, which merges whatever it is given.
    ///
    /// ```swift
    /// let (refuse, warn) = all.mergeProblems(with: next)
    /// if refuse.isEmpty { all.merge(next) }
    /// ```
    public func mergeProblems(with o: LoadReport) -> (refuse: [String], warn: [String]) {
        var refuse: [String] = []
        var warn: [String] = []
        if totalLoggers != o.totalLoggers {
            refuse.append("loggers of the whole run: \(totalLoggers) vs \(o.totalLoggers)")
        }
        let counts = Set((shards + o.shards).compactMap { try? Shard(parsing: $0).count })
        if counts.count > 1 {
            refuse.append("shard counts differ: \(shards.joined(separator: ", ")) vs \(o.shards.joined(separator: ", "))")
        }
        if cadence != o.cadence {
            refuse.append("schedules differ: '\(TerminalText.safe(cadence, limit: 60))' vs '\(TerminalText.safe(o.cadence, limit: 60))'")
        }
        if abs(windowSeconds - o.windowSeconds) > 0.001 || !windowSeconds.isFinite || !o.windowSeconds.isFinite {
            warn.append("send windows differ: \(LoadFormat.fixed(windowSeconds, 3)) s vs \(LoadFormat.fixed(o.windowSeconds, 3)) s"
                        + (interrupted || o.interrupted ? " (a shard was interrupted)" : "") + "; the merged window is the longest, rates are over it")
        }
        // Shards run side by side: starts further apart than a whole run are another run
        // (an old file from another day merged by mistake).
        let span = Int64((max(rampSeconds, o.rampSeconds) + max(windowSeconds, o.windowSeconds) + max(drainSeconds, o.drainSeconds)).rounded(.up)) + 60
        let apart = startUnixSecond > o.startUnixSecond ? startUnixSecond - o.startUnixSecond : o.startUnixSecond - startUnixSecond
        if !started.isEmpty && !o.started.isEmpty && apart > span {
            let sameDay = startUnixSecond / 86_400 == o.startUnixSecond / 86_400
            warn.append("shards started \(apart) s apart (\(TerminalText.safe(started, limit: 40)) vs \(TerminalText.safe(o.started, limit: 40)))"
                        + (sameDay ? "" : ", on different days") + ": shards of one run start together; the merged series spans both")
        }
        if !targets.isEmpty && !o.targets.isEmpty && Set(targets) != Set(o.targets) {
            warn.append("targets differ: \(targets.prefix(3).map { TerminalText.safe($0, limit: 60) }.joined(separator: ", ")) vs "
                        + "\(o.targets.prefix(3).map { TerminalText.safe($0, limit: 60) }.joined(separator: ", ")): the merged report covers both")
        }
        let twice = o.shards.filter { shards.contains($0) }
        if !twice.isEmpty {
            warn.append("shard \(twice.joined(separator: ", ")) appears twice: its loggers and packets are counted twice")
        }
        return (refuse, warn)
    }

    /// Adds a shard's report: counts and histograms exactly, series by wall-clock second, the
    /// window is the longest (shards run side by side). Sums saturate or wrap, never trap (the
    /// reports come from files). It does not check that `o` belongs to the same run: see
    /// `mergeProblems(with:)`.
    public mutating func merge(_ o: LoadReport) {
        if targets.isEmpty { targets = o.targets } else { for t in o.targets where !targets.contains(t) { targets.append(t) } }
        totalLoggers = max(totalLoggers, o.totalLoggers)
        let (sum, overflow) = loggers.addingReportingOverflow(o.loggers)
        loggers = overflow ? (o.loggers < 0 ? .min : .max) : sum
        shards += o.shards
        if cadence.isEmpty { cadence = o.cadence }
        offeredRate += o.offeredRate
        for u in o.units where !units.contains(u) { units.append(u) }
        if started.isEmpty || (!o.started.isEmpty && o.startUnixSecond < startUnixSecond) {
            started = o.started
            startUnixSecond = o.startUnixSecond
        }
        rampSeconds = max(rampSeconds, o.rampSeconds)
        windowSeconds = max(windowSeconds, o.windowSeconds)
        drainSeconds = max(drainSeconds, o.drainSeconds)
        interrupted = interrupted || o.interrupted
        counts.merge(o.counts)
        latency.merge(o.latency)
        sendLatency.merge(o.sendLatency)
        connectLatency.merge(o.connectLatency)
        sendLag.merge(o.sendLag)
        var bySecond: [Int64: LoadSecond] = [:]
        for s in series + o.series {
            if var e = bySecond[s.unixSecond] {
                e.sent &+= s.sent
                e.acked &+= s.acked
                e.p99 = max(e.p99, s.p99)
                e.connections &+= s.connections
                e.errors &+= s.errors
                e.outstanding &+= s.outstanding
                bySecond[s.unixSecond] = e
            } else {
                bySecond[s.unixSecond] = s
            }
        }
        series = bySecond.values.sorted { $0.unixSecond < $1.unixSecond }
        for (k, v) in o.errors { errors[k, default: 0] &+= v }
        verdicts = []
    }

    // MARK: - JSON

    /// The largest count a report file may carry (2^50 ≈ 1.1 × 10^15, beyond a year of a million
    /// loggers at 30 packets/s): sums over many shards stay far from overflow.
    public static let maxCount: UInt64 = 1 << 50

    /// Unix seconds a report may name: 1970 to the end of year 9999.
    static let unixSeconds: ClosedRange<Int64> = 0...253_402_300_799

    static func histogramJSON(_ h: LatencyHistogram) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("unit", .string("µs")), ("count", .int(Int(clamping: h.total))),
            ("min", .int(h.total > 0 ? Int(clamping: h.min) : 0)), ("max", .int(Int(clamping: h.max))),
            ("mean", .double((h.mean * 10).rounded() / 10)), ("sum", .double(h.sum)),
        ]
        members.append(("percentiles", .array(spectrum.map { p in
            .object([("p", .double(p)), ("us", .int(Int(clamping: h.percentile(p))))])
        })))
        members.append(("buckets", .array(h.buckets.map { .array([.int($0.index), .int(Int(clamping: $0.count))]) })))
        return .object(members)
    }

    /// The report as one JSON object (see the README for the fields).
    public func json() -> JSONValue {
        var c: [(String, JSONValue)] = LoadCounts.fields.map { ($0.name, .int(Int(clamping: counts[keyPath: $0.key]))) }
        c += [("unacked", .int(Int(clamping: counts.unacked))), ("wrongAcks", .int(Int(clamping: counts.wrongAcks))),
              ("connectErrors", .int(Int(clamping: counts.connectErrors))), ("errors", .int(Int(clamping: counts.errors)))]
        return .object([
            ("format", .string("hj212-load-report/1")),
            ("tool", .string(tool)),
            ("targets", .array(targets.map { .string($0) })),
            ("totalLoggers", .int(totalLoggers)), ("loggers", .int(loggers)),
            ("shards", .array(shards.map { .string($0) })),
            ("cadence", .string(cadence)), ("offeredRate", .double(offeredRate)),
            ("units", .array(units.map { .string($0) })),
            ("started", .string(started)), ("startUnixSecond", .int(Int(startUnixSecond))),
            ("rampSeconds", .double(rampSeconds)), ("windowSeconds", .double(windowSeconds)), ("drainSeconds", .double(drainSeconds)),
            ("interrupted", .bool(interrupted)),
            ("rates", .object([("sentPerSecond", .double(sentPerSecond.rounded())), ("ackedPerSecond", .double(ackedPerSecond.rounded()))])),
            ("counts", .object(c)),
            ("latency", Self.histogramJSON(latency)),
            ("sendLatency", Self.histogramJSON(sendLatency)),
            ("connectLatency", Self.histogramJSON(connectLatency)),
            ("sendLag", Self.histogramJSON(sendLag)),
            ("series", .array(series.map { s in
                .array([.int(Int(s.unixSecond)), .int(Int(clamping: s.sent)), .int(Int(clamping: s.acked)), .int(Int(clamping: s.p99)),
                        .int(Int(clamping: s.connections)), .int(Int(clamping: s.errors)), .int(Int(clamping: s.outstanding))])
            })),
            ("seriesColumns", .array(["unixSecond", "sent", "acked", "p99us", "connections", "errors", "outstanding"].map { .string($0) })),
            ("errorsByReason", .object(errors.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map { ($0.key, .int(Int(clamping: $0.value))) })),
            ("thresholds", .array(verdicts.map { v in
                .object([("spec", .string(v.threshold.text)), ("measured", .string(v.measuredText)), ("pass", .bool(v.pass))])
            })),
        ] + (outcome.map { [("verdict", .string($0.rawValue)), ("verdictReasons", .array(outcomeReasons.map { .string($0) }))] } ?? []))
    }

    /// Reads a report written by `json()`; every field is checked (a bad file is an error with
    /// its reason, never a crash).
    public init(json text: String, file: String = "report") throws(LoadSpecError) {
        let value: JSONValue
        do { value = try JSONValue.parse(text) } catch { throw LoadSpecError("\(file): not JSON: \(error)") }
        guard case .string("hj212-load-report/1")? = value["format"] else {
            throw LoadSpecError("\(file): not an hj212 load report (no \"format\": \"hj212-load-report/1\")")
        }
        func string(_ v: JSONValue?) -> String? { if case .string(let s)? = v { return s }; return nil }
        func number(_ v: JSONValue?) -> Double? {
            switch v { case .int(let i)?: return Double(i); case .double(let d)?: return d; default: return nil }
        }
        /// An integer field in `range` (0 when absent): a number out of range, fractional or not
        /// a number is an error naming the file and the field, never a trap.
        func integer(_ key: String, _ v: JSONValue?, in range: ClosedRange<Int64>) throws(LoadSpecError) -> Int64 {
            guard let v else { return max(0, range.lowerBound) }
            let x: Int64?
            switch v {
            case .int(let i): x = Int64(exactly: i)
            case .double(let d): x = Int64(exactly: d)  // nil when fractional, not finite or beyond Int64
            default: x = nil
            }
            guard let x, range.contains(x) else {
                throw LoadSpecError("\(file): \(key): expected an integer from \(range.lowerBound) to \(range.upperBound)")
            }
            return x
        }
        /// A number of seconds (or a rate): finite, 0 … `limit` (0 when absent).
        func seconds(_ key: String, limit: Double) throws(LoadSpecError) -> Double {
            guard let v = value[key] else { return 0 }
            guard let d = number(v), d.isFinite, d >= 0, d <= limit else {
                throw LoadSpecError("\(file): \(key): expected a number from 0 to \(LoadFormat.number(limit))")
            }
            return d
        }
        func count(_ v: JSONValue?, _ what: String) throws(LoadSpecError) -> UInt64 {
            guard case .int(let i)? = v, i >= 0, UInt64(i) <= Self.maxCount else {
                throw LoadSpecError("\(file): \(what): expected a count (integer from 0 to \(Self.maxCount))")
            }
            return UInt64(i)
        }
        func strings(_ v: JSONValue?) -> [String] {
            if case .array(let a)? = v { return a.compactMap { string($0) } }
            return []
        }
        func histogram(_ key: String) throws(LoadSpecError) -> LatencyHistogram {
            guard let h = value[key] else { return LatencyHistogram() }
            guard case .array(let items)? = h["buckets"] else { throw LoadSpecError("\(file): \(key).buckets missing") }
            var buckets: [(index: Int, count: UInt64)] = []
            for item in items {
                guard case .array(let pair) = item, pair.count == 2, case .int(let i) = pair[0] else {
                    throw LoadSpecError("\(file): \(key).buckets: expected [index, count] pairs")
                }
                buckets.append((i, try count(pair[1], "\(key).buckets count")))
            }
            let sum = number(h["sum"]) ?? 0
            guard sum.isFinite, sum >= 0 else { throw LoadSpecError("\(file): \(key).sum: expected a finite number ≥ 0") }
            do {
                return try LatencyHistogram(buckets: buckets, min: try count(h["min"], "\(key).min"), max: try count(h["max"], "\(key).max"),
                                            sum: sum)
            } catch let e as HistogramError {
                throw LoadSpecError("\(file): \(key): \(e.message)")
            } catch let e as LoadSpecError {
                throw e
            } catch {
                throw LoadSpecError("\(file): \(key): \(error)")
            }
        }
        tool = string(value["tool"]) ?? "hj212"
        targets = strings(value["targets"])
        // Loggers: at most what a run drives (1,000,000); the loggers of a report may exceed the
        // run's after merges of a shard with itself, so they get room, bounded far from overflow.
        totalLoggers = Int(try integer("totalLoggers", value["totalLoggers"], in: 0...1_000_000))
        loggers = Int(try integer("loggers", value["loggers"], in: 0...1_000_000_000))
        shards = strings(value["shards"])
        for s in shards {
            do { _ = try Shard(parsing: s) } catch { throw LoadSpecError("\(file): shards: '\(TerminalText.safe(s, limit: 40))' is not K/N") }
        }
        cadence = string(value["cadence"]) ?? ""
        offeredRate = try seconds("offeredRate", limit: 1e12)
        units = strings(value["units"])
        started = string(value["started"]) ?? ""
        startUnixSecond = try integer("startUnixSecond", value["startUnixSecond"], in: Self.unixSeconds)
        rampSeconds = try seconds("rampSeconds", limit: 1e9)
        windowSeconds = try seconds("windowSeconds", limit: 1e9)
        drainSeconds = try seconds("drainSeconds", limit: 1e9)
        if case .bool(let b)? = value["interrupted"] { interrupted = b }
        guard let c = value["counts"] else { throw LoadSpecError("\(file): counts missing") }
        for (name, key) in LoadCounts.fields {
            counts[keyPath: key] = try count(c[name], "counts.\(name)")
        }
        // The counters' own arithmetic: every scheduled packet is sent or missed, an acknowledged
        // packet was sent. A file that breaks it was edited or corrupted; merging it would print
        // nonsense such as "sent 18446744073709551614" against 150 scheduled.
        if counts.sent > counts.scheduled || counts.missed > counts.scheduled || counts.acked > counts.sent || counts.ackedInWindow > counts.acked {
            throw LoadSpecError("\(file): counts are inconsistent (scheduled \(counts.scheduled), sent \(counts.sent), not sent \(counts.missed), "
                                + "acked \(counts.acked), acked in window \(counts.ackedInWindow)): expected sent and not sent ≤ scheduled, acked ≤ sent")
        }
        latency = try histogram("latency")
        sendLatency = try histogram("sendLatency")
        connectLatency = try histogram("connectLatency")
        sendLag = try histogram("sendLag")
        if case .array(let rows)? = value["series"] {
            for row in rows {
                guard case .array(let cells) = row, cells.count == 7 else {
                    throw LoadSpecError("\(file): series: expected rows of 7 numbers")
                }
                let second = try integer("series (unix second)", cells[0], in: Self.unixSeconds)
                series.append(LoadSecond(unixSecond: second, sent: try count(cells[1], "series"), acked: try count(cells[2], "series"),
                                         p99: try count(cells[3], "series"), connections: try count(cells[4], "series"),
                                         errors: try count(cells[5], "series"), outstanding: try count(cells[6], "series")))
            }
        }
        if case .object(let members)? = value["errorsByReason"] {
            for (k, v) in members { errors[k, default: 0] &+= try count(v, "errorsByReason") }
        }
    }

    // MARK: - Text

    /// The report for a person: settings, throughput, latency, counts, errors, thresholds.
    public func text() -> String {
        var out: [String] = []
        let shardText = shards.count == 1 && shards[0] != "1/1" ? ", shard \(shards[0])" : shards.count > 1 ? ", \(shards.count) shards merged" : ""
        // Text that came from a report file is shown safe for a terminal (hostile merges).
        out.append("hj212 load: \(loggers) loggers\(loggers != totalLoggers && totalLoggers > 0 ? " of \(totalLoggers)" : "")\(shardText) → \(TerminalText.safe(targets.joined(separator: ", ")))")
        out.append("  schedule      \(TerminalText.safe(cadence)); offered \(LoadFormat.number(offeredRate)) packets/s; units \(TerminalText.safe(units.joined(separator: ", ")))")
        out.append("  window        \(LoadFormat.fixed(windowSeconds, 1)) s after a \(LoadFormat.fixed(rampSeconds, 1)) s ramp, drained \(LoadFormat.fixed(drainSeconds, 1)) s; started \(TerminalText.safe(started, limit: 40))\(interrupted ? "  (INTERRUPTED: report of what ran)" : "")")
        out.append("  connections   \(counts.connects) established of \(counts.connectAttempts) attempts, at most \(counts.maxConnections) open, \(counts.openAtEnd) open at the end")
        out.append("  throughput    sent \(LoadFormat.number(sentPerSecond.rounded())) packets/s, acknowledged \(LoadFormat.number(ackedPerSecond.rounded())) packets/s")
        out.append("")
        out.append("  ack latency      " + ["p50", "p90", "p99", "p99.9", "max"].map { $0.padding(toLength: 10, withPad: " ", startingAt: 0) }.joined() + "mean")
        func row(_ name: String, _ h: LatencyHistogram) {
            guard h.total > 0 else {
                out.append("  " + name.padding(toLength: 17, withPad: " ", startingAt: 0) + "no samples")
                return
            }
            let cells = [50.0, 90, 99, 99.9].map { LoadFormat.latency(h.percentile($0)) } + [LoadFormat.latency(h.max)]
            out.append("  " + name.padding(toLength: 17, withPad: " ", startingAt: 0) + cells.map { $0.padding(toLength: 10, withPad: " ", startingAt: 0) }.joined()
                       + LoadFormat.latency(h.meanMicroseconds) + "  (\(h.total))")
        }
        row("from schedule", latency)
        row("from send", sendLatency)
        row("connect", connectLatency)
        row("send lag", sendLag)
        out.append("")
        let c = counts
        out.append("  packets       scheduled \(c.scheduled), sent \(c.sent), acked \(c.acked), unacked \(c.unacked) (\(LoadFormat.percent(c.unacked, of: c.scheduled)) of scheduled), not sent \(c.missed)")
        if c.unacked > 0 {
            out.append("    unacked     \(c.timedOut) timed out, \(c.givenUp) given up at the outstanding cap, \(c.lostOnClose) lost with their connection, \(c.pendingAtEnd) pending at the end")
        }
        out.append("  acks          late \(c.late), duplicates \(c.duplicates), wrong \(c.wrongAcks) (QN not echoed \(c.wrongQN), ST \(c.wrongST), CN \(c.wrongCN), Flag \(c.wrongFlag), MN \(c.wrongMN), bad CRC \(c.badCRC)); other frames \(c.otherFrames), noise bytes \(c.noiseBytes)")
        out.append("  connections   refused \(c.refused), timed out \(c.connectTimeouts), out of descriptors/ports \(c.fdExhausted), other \(c.connectOtherErrors); reset \(c.resets), closed by peer \(c.peerCloses), other closes \(c.otherCloses)")
        if !errors.isEmpty {
            out.append("  errors by reason:")
            for (k, v) in errors.sorted(by: { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }).prefix(12) {
                out.append("    \(String(v).leftPadded(8))  \(TerminalText.safe(k, limit: 160))")
            }
        }
        if !verdicts.isEmpty {
            out.append("  thresholds:")
            for v in verdicts {
                out.append("    \(v.pass ? "pass" : "FAIL")  \(v.threshold.text)  (measured \(v.measuredText))")
            }
        }
        if let outcome {
            out.append("  verdict       \(outcome == .pass ? "pass" : outcome == .fail ? "FAIL" : "INCOMPLETE")\(outcomeReasons.isEmpty ? "" : ": " + outcomeReasons.joined(separator: "; "))")
        }
        return out.joined(separator: "\n") + "\n"
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
