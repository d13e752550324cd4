import Glibc
import HJReportKit

extension LoadReport {
    /// The report as one self-contained HTML page (the `HTMLPage` style): key figures, the
    /// thresholds, throughput, latency and connections over time, the percentile spectrum, the
    /// counts and the errors.
    ///
    /// ```swift
    /// try report.html().write(toFile: "load.html")
    /// ```
    public func html() -> String {
        var page = HTMLPage(title: "hj212 load report")
        page.paragraph("\(loggers) loggers\(loggers != totalLoggers ? " of \(totalLoggers)" : "") → \(targets.joined(separator: ", ")); "
                       + "\(cadence), offered \(LoadFormat.number(offeredRate)) packets/s; window \(LoadFormat.fixed(windowSeconds, 1)) s from \(started)"
                       + (shards.count > 1 ? "; \(shards.count) shards merged (\(shards.joined(separator: ", ")))" : shards.first.map { $0 == "1/1" ? "" : "; shard \($0)" } ?? "")
                       + (interrupted ? "; INTERRUPTED (report of what ran)" : ""), cssClass: "meta")
        let failed = verdicts.contains { !$0.pass }
        var figures: [(label: String, value: String, tone: HTMLPage.Tone)] = [
            ("acknowledged/s", LoadFormat.number(ackedPerSecond.rounded()), .neutral),
            ("p99 from schedule", latency.total > 0 ? LoadFormat.latency(latency.percentile(99)) : "-", .neutral),
            ("p50 from schedule", latency.total > 0 ? LoadFormat.latency(latency.percentile(50)) : "-", .neutral),
            ("unacknowledged", "\(counts.unacked) (\(LoadFormat.percent(counts.unacked, of: counts.scheduled)) of scheduled)", counts.unacked == 0 ? .pass : .warn),
            ("errors", String(counts.errors), counts.errors == 0 ? .pass : .fail),
            ("connections (max)", String(counts.maxConnections), counts.maxConnections >= UInt64(clamping: loggers) ? .pass : .warn),
        ]
        if !verdicts.isEmpty { figures.insert(("thresholds", failed ? "FAIL" : "pass", failed ? .fail : .pass), at: 0) }
        if let outcome { figures.insert(("verdict", outcome == .pass ? "pass" : outcome == .fail ? "FAIL" : "INCOMPLETE", outcome == .pass ? .pass : outcome == .fail ? .fail : .warn), at: 0) }
        page.figures(figures)
        if !outcomeReasons.isEmpty { page.paragraph(outcomeReasons.joined(separator: "; "), cssClass: "meta") }
        if !verdicts.isEmpty {
            page.heading("Thresholds")
            page.table(header: ["threshold", "measured", "verdict"],
                       rows: verdicts.map { [$0.threshold.text, $0.measuredText, $0.pass ? "pass" : "FAIL"] },
                       tones: verdicts.map { $0.pass ? .pass : .fail })
        }
        page.heading("Over time")
        let t0 = series.first?.unixSecond ?? 0
        func points(_ f: (LoadSecond) -> Double) -> [(Double, Double)] { series.map { (Double($0.unixSecond) - Double(t0), f($0)) } }
        page.lineChart(title: "packets per second", series: [("sent", points { Double($0.sent) }), ("acknowledged", points { Double($0.acked) })], yUnit: "/s")
        page.lineChart(title: "p99 acknowledgement latency of each second, from the scheduled time",
                       series: [("p99", points { Double($0.p99) / 1000 })], yUnit: " ms", logY: series.contains { $0.p99 > 0 })
        page.lineChart(title: "connections open, packets waiting for their acknowledgement",
                       series: [("connections", points { Double($0.connections) }), ("outstanding", points { Double($0.outstanding) })])
        page.heading("Latency")
        let rows: [(String, LatencyHistogram)] = [("from schedule", latency), ("from send", sendLatency), ("connect", connectLatency), ("send lag", sendLag)]
        page.table(header: ["histogram", "samples", "p50", "p90", "p99", "p99.9", "p99.99", "max", "mean"], rows: rows.map { name, h in
            h.total == 0 ? [name, "0", "-", "-", "-", "-", "-", "-", "-"]
                : [name, String(h.total)] + [50.0, 90, 99, 99.9, 99.99].map { LoadFormat.latency(h.percentile($0)) } + [LoadFormat.latency(h.max), LoadFormat.latency(h.meanMicroseconds)]
        })
        // The spectrum on a "nines" axis: 0 = p0, 1 = p90, 2 = p99, 3 = p99.9 …
        func spectrum(_ h: LatencyHistogram) -> [(Double, Double)] {
            guard h.total > 0 else { return [] }
            return Self.spectrum.filter { $0 < 100 }.map { p in (-log10(max(1e-9, 1 - p / 100)), Double(h.percentile(p)) / 1000) }
        }
        page.lineChart(title: "percentile spectrum (x: nines — 1 = p90, 2 = p99, 3 = p99.9)",
                       series: [("from schedule", spectrum(latency)), ("from send", spectrum(sendLatency))], xLabel: "nines", yUnit: " ms",
                       logY: latency.total > 0)
        page.heading("Counts")
        let c = counts
        page.table(header: ["what", "count"], rows: [
            ["packets scheduled", String(c.scheduled)], ["sent", String(c.sent)], ["not sent (no connection, output full)", String(c.missed)],
            ["acknowledged", String(c.acked)], ["unacknowledged: timed out", String(c.timedOut)],
            ["unacknowledged: given up at the outstanding cap", String(c.givenUp)], ["unacknowledged: lost with the connection", String(c.lostOnClose)],
            ["unacknowledged: pending at the end", String(c.pendingAtEnd)], ["late acknowledgements", String(c.late)],
            ["duplicate acknowledgements", String(c.duplicates)], ["wrong: QN not echoed", String(c.wrongQN)], ["wrong: ST", String(c.wrongST)],
            ["wrong: CN", String(c.wrongCN)], ["wrong: Flag", String(c.wrongFlag)], ["wrong: MN", String(c.wrongMN)], ["wrong: bad CRC", String(c.badCRC)],
            ["other frames from the server", String(c.otherFrames)], ["connect attempts", String(c.connectAttempts)], ["connections established", String(c.connects)],
            ["refused", String(c.refused)], ["connect timeouts", String(c.connectTimeouts)], ["out of descriptors or ports", String(c.fdExhausted)],
            ["other connect errors", String(c.connectOtherErrors)], ["resets", String(c.resets)], ["closed by the server", String(c.peerCloses)],
            ["other closes", String(c.otherCloses)],
        ])
        if !errors.isEmpty {
            page.heading("Errors by reason")
            page.table(header: ["count", "reason"], rows: errors.sorted { $0.value > $1.value }.map { [String($0.value), $0.key] })
        }
        return page.render()
    }
}

