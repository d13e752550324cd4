import Glibc
import HJ212
import HJNetwork
import HJRoles
import HJSimulation

/// Resends, cadence changes, the forced outage with its backfill, and the password change
/// (steps 4 to 6 of the run).
extension LoggerCheckRunner {
    // MARK: 4. Resends

    func resendSteps() {
        if options.reCount == 0 {
            // 1000 takes ReCount 1…99 (HJ 212-2017 Table 1): a logger configured with 0 is not sent one.
            skip(RuleID.loggerCmd1000, "not exercised: ReCount=0 is outside the 1…99 that 1000 sets; the logger's own configuration is used")
        } else if wants(RuleID.loggerCmd1000) || options.overTime >= 1 {
            progress("1000 set OverTime/ReCount")
            let o = max(1, Int(options.overTime.rounded()))
            let x = request(.setTimeoutAndRetries, [[Field("OverTime", String(o))], [Field("ReCount", String(options.reCount))]])
            if x.ok { pass(RuleID.loggerCmd1000, "OverTime=\(o) s, ReCount=\(options.reCount) set") }
            else { fail(RuleID.loggerCmd1000, "1000 OverTime=\(o);ReCount=\(options.reCount): expected QnRtn=1 and ExeRtn=1; got \(x.summary)", wire: x.wire) }
        }
        guard wants(RuleID.loggerResend, RuleID.loggerResendQn, RuleID.loggerResendTiming, RuleID.loggerResendCount) else { return }
        // The upload to withhold: the most frequent CN that asks for an acknowledgement.
        var counts: [String: Int] = [:]
        for f in probe.frames where f.role == .upload && f.needsAck && RecordStreams.recordCNs.contains(f.cn) { counts[f.cn, default: 0] += 1 }
        guard let cn = counts.max(by: { $0.value < $1.value })?.key else {
            for id in [RuleID.loggerResend, RuleID.loggerResendQn, RuleID.loggerResendTiming, RuleID.loggerResendCount] { skip(id, "no upload asked for a 9014 (Flag A=1)") }
            return
        }
        guard probe.isConnected || (loggerGoneAt == nil && probe.pump(for: 15, until: { self.probe.isConnected })) else {
            if loggerGoneAt == nil { loggerGoneAt = probe.now }
            for id in [RuleID.loggerResend, RuleID.loggerResendQn, RuleID.loggerResendTiming, RuleID.loggerResendCount] { skip(id, "not exercised: the logger was not connected") }
            return
        }
        progress("withholding the 9014 of the next \(cn)")
        let mark = probe.now
        probe.withholdNext = [cn]
        let start = probe.frameCount
        let ot = options.overTime
        // Until an upload is withheld, or the logger leaves (nothing more will come then).
        let gotOne = probe.pump(for: max(10, real(60_000) * 3, 3 * real(rtdInterval ?? 60_000))) { !self.probe.withheldQNs.isEmpty || !self.probe.isConnected }
            && !probe.withheldQNs.isEmpty
        probe.withholdNext = []
        guard gotOne, let qn = probe.withheldQNs.first, let original = probe.frames.first(where: { $0.index >= start && $0.qn == qn }) else {
            for id in [RuleID.loggerResend, RuleID.loggerResendQn, RuleID.loggerResendTiming, RuleID.loggerResendCount] { skip(id, "no \(cn) upload came to withhold") }
            return
        }
        let dataTime = original.dataTime
        let connection = original.connection
        // Wait for the copies: ReCount resends OverTime apart, and 1.5 OverTime more for an extra one.
        let limit = ot * Double(options.reCount + 1) + ot * 0.5 + 2
        probe.pump(for: limit) { !self.probe.isConnected }
        probe.pump(for: 0.2)
        // A copy carries the withheld record: its DataTime (under its QN or another, which
        // L-RESEND-QN judges), or, for a record without DataTime, its QN. A later upload under
        // the same QN with another DataTime is a new record (a reused QN, L-QN's), not a resend
        // (review 21: a logger with one constant QN passed L-RESEND without resending anything).
        let copies = probe.frames.filter { $0.index > original.index && $0.connection == connection && $0.role == .upload && $0.cn == cn
            && (dataTime == nil ? $0.qn == qn && $0.dataTime == nil : $0.dataTime == dataTime && $0.segment.st == original.segment.st) }
        let wire = probe.wire(since: mark)
        probe.withheldQNs = []
        if options.reCount == 0 {
            // ReCount 0: the logger must not resend at all; the resend checks have nothing to see.
            for id in [RuleID.loggerResend, RuleID.loggerResendQn, RuleID.loggerResendTiming] { skip(id, "not exercised: ReCount=0 (the logger is configured not to resend)") }
            if copies.isEmpty { pass(RuleID.loggerResendCount, "\(cn) QN=\(qn): no resend within \(fmt(limit)) s without its 9014, as ReCount=0 requires") }
            else { fail(RuleID.loggerResendCount, "\(copies.count) resend(s) of \(cn) QN=\(qn) on the connection; expected none (ReCount=0)", wire: wire) }
            if !probe.isConnected { probe.pump(for: 30) { self.probe.isConnected } }
            return
        }
        if copies.isEmpty {
            fail(RuleID.loggerResend, "\(cn) QN=\(qn): no resend within \(fmt(limit)) s without its 9014 (OverTime \(fmt(ot)) s, ReCount \(options.reCount))", wire: wire)
            skip(RuleID.loggerResendQn, "nothing was resent")
            skip(RuleID.loggerResendTiming, "nothing was resent")
            fail(RuleID.loggerResendCount, "0 resends, expected \(options.reCount)", wire: wire)
            return
        }
        pass(RuleID.loggerResend, "\(cn) QN=\(qn) sent again \(copies.count) time(s) without its 9014")
        let changed = copies.filter { $0.qn != qn || $0.text != original.text }
        if changed.isEmpty { pass(RuleID.loggerResendQn, "every copy repeats QN \(qn) and the content") }
        else { fail(RuleID.loggerResendQn, "\(changed.count) of \(copies.count) copies changed the QN or the content (first: QN \(changed[0].qn ?? "-"))", wire: wire) }
        var times = [original.time] + copies.map(\.time)
        times = Array(times.prefix(options.reCount + 1))
        let gaps = zip(times, times.dropFirst()).map { $1 - $0 }
        let tolerance = max(1, ot * 0.3)
        let bad = gaps.filter { abs($0 - ot) > tolerance }
        if bad.isEmpty { pass(RuleID.loggerResendTiming, "copies \(gaps.map { fmt(($0 * 10).rounded() / 10) }.joined(separator: ", ")) s apart (OverTime \(fmt(ot)) s)") }
        else { fail(RuleID.loggerResendTiming, "copies \(gaps.map { String(format: "%.1f", $0) }.joined(separator: ", ")) s apart; expected OverTime \(fmt(ot)) s ± \(fmt(tolerance)) s", wire: wire) }
        if copies.count == options.reCount { pass(RuleID.loggerResendCount, "\(copies.count) resends (ReCount \(options.reCount))") }
        else { fail(RuleID.loggerResendCount, "\(copies.count) resends on the connection; expected ReCount = \(options.reCount)", wire: wire) }
        // The logger may drop the link after its last resend; wait for it to come back.
        if !probe.isConnected { probe.pump(for: 30) { self.probe.isConnected } }
    }

    // MARK: 5. Cadence changes, outage, backfill

    func cadenceSteps() {
        let oldRtd = rtdInterval.map { Int($0 / 1000) }
        let oldMin = minInterval.map { Int($0 / 60_000) }
        var changedRtd = false, changedMin = false
        // A change is made only when the interval to set back is known. Without it 1062 (or
        // 1064) is not exercised, and says why; the other steps still run: the outage needs
        // neither interval (review 21: a failed 1061 left L-CMD-1064, L-RECONNECT and
        // L-BACKFILL "not reached").
        if wants(RuleID.loggerCmd1062) {
            if let old = oldRtd {
                let new = old == 30 ? 60 : 30
                cadenceCutoff = min(cadenceCutoff, probe.frameCount)
                progress("1062 RtdInterval=\(new)")
                let x = request(.setRealTimeInterval, [[Field("RtdInterval", String(new))]])
                changedRtd = x.ok
                judgeNewCadence(RuleID.loggerCmd1062, x, cn: .realTimeData, step: Int64(new) * 1000, what: "RtdInterval=\(new) s", aligned: false)
            } else {
                skip(RuleID.loggerCmd1062, "not exercised: \(rtdUnknown), so the RtdInterval to set back after a 1062 is unknown")
            }
        }
        if wants(RuleID.loggerCmd1064) || (wants(RuleID.loggerBackfill) && (minInterval ?? 60_000) > 60_000) {
            if let old = oldMin {
                let new = old == 1 ? 2 : 1
                cadenceCutoff = min(cadenceCutoff, probe.frameCount)
                progress("1064 MinInterval=\(new)")
                let x = request(.setMinuteInterval, [[Field("MinInterval", String(new))]])
                changedMin = x.ok
                if changedMin { minInterval = Int64(new) * 60_000 }
                judgeNewCadence(RuleID.loggerCmd1064, x, cn: .minuteData, step: Int64(new) * 60_000, what: "MinInterval=\(new) min", aligned: true)
            } else {
                skip(RuleID.loggerCmd1064, "not exercised: \(minUnknown), so the MinInterval to set back after a 1064 is unknown")
            }
        }
        if wants(RuleID.loggerBackfill, RuleID.loggerReconnect) { outage() }
        if changedRtd, let old = oldRtd { _ = request(.setRealTimeInterval, [[Field("RtdInterval", String(old))]], record: false) }
        if changedMin, let old = oldMin {
            _ = request(.setMinuteInterval, [[Field("MinInterval", String(old))]], record: false)
            minInterval = Int64(old) * 60_000
        }
    }

    func judgeNewCadence(_ id: RuleID, _ x: Exchange, cn: CommandCode, step: Int64, what: String, aligned: Bool) {
        guard x.ok else { fail(id, "\(x.request.cn ?? "") \(what): expected QnRtn=1 and ExeRtn=1; got \(x.summary)", wire: x.wire); return }
        let start = probe.frameCount
        let mark = probe.now
        // Three records at the new step (the first may still be at the old one).
        let wait = max(5, real(step * 4)) + 2
        var steps: [Int64] = []
        // One series: the unit's own records (ST), split records reassembled, so that the
        // parts of one record (same DataTime) and working-condition records (ST 51/52) of the
        // same CN are not taken for steps of 0.
        func series() -> [Int64] {
            RecordStreams(frames: probe.frames(since: start), st: st).records(cn).map(\.dataTime)
        }
        probe.pump(for: wait) {
            let times = series()
            steps = zip(times, times.dropFirst()).map { $1 - $0 }
            return steps.suffix(2).count == 2 && steps.suffix(2).allSatisfy { $0 == step }
        }
        let times = series()
        steps = zip(times, times.dropFirst()).map { $1 - $0 }
        let misaligned = aligned ? times.filter { $0 % step != 0 } : []
        if steps.suffix(2).count == 2 && steps.suffix(2).allSatisfy({ $0 == step }) && misaligned.isEmpty {
            pass(id, "\(what) accepted; \(cn) DataTimes then stepped by \(fmt(Double(step) / 1000)) s")
        } else {
            let seen = steps.prefix(12).map { fmt(Double($0) / 1000) }.joined(separator: ", ") + (steps.count > 12 ? ", …" : "")
            fail(id, "\(what) accepted (ExeRtn=1), but the next \(cn) DataTimes stepped by [\(seen)] s"
                 + (misaligned.isEmpty ? "" : ", \(misaligned.count) not aligned") + " within \(fmt(wait)) s", wire: x.wire + probe.wire(since: mark, limit: 20))
        }
    }

    /// Drops the link, refuses connections until a minute record has fallen due, then checks the
    /// reconnect and the backfill.
    func outage() {
        guard probe.isConnected || (loggerGoneAt == nil && probe.pump(for: 15, until: { self.probe.isConnected })) else {
            skip(RuleID.loggerReconnect, "the logger was not connected when the outage was to start")
            skip(RuleID.loggerBackfill, "the logger was not connected when the outage was to start")
            return
        }
        guard let before = loggerNow() else {
            skip(RuleID.loggerReconnect, "no upload with a valid QN or DataTime to place the outage in the logger's time")
            skip(RuleID.loggerBackfill, "no upload with a valid QN or DataTime to place the outage in the logger's time")
            return
        }
        // At most a day: a modal step from stale DataTimes must not make the outage endless.
        let step = min(max(minInterval ?? modalStep(.minuteData) ?? 600_000, 1_000), 86_400_000)
        // Down until two minute periods after the logger's present have closed, plus slack.
        let until = (before / step + 2) * step + max(step / 10, 5_000)
        let downFor = min(max(1, real(until - before)), 1800)
        progress("outage of \(fmt(downFor.rounded())) s")
        let mark = probe.now
        let startIndex = probe.frameCount
        probe.refusing = true
        probe.closeCurrent()
        probe.pump(for: downFor)
        probe.refusing = false
        let outageEnd = probe.now
        let back = probe.pump(for: 60) { self.probe.isConnected }
        if back {
            pass(RuleID.loggerReconnect, "reconnected \(fmt(((probe.now - outageEnd) * 10).rounded() / 10)) s after a \(fmt(downFor.rounded())) s outage")
        } else {
            fail(RuleID.loggerReconnect, "no reconnection within 60 s after a \(fmt(downFor.rounded())) s outage", wire: probe.wire(since: mark))
            skip(RuleID.loggerBackfill, "the logger did not reconnect")
            return
        }
        guard wants(RuleID.loggerBackfill) else { return }
        // The 2051 periods that closed during the outage.
        let lastBefore = probe.frames.filter { $0.index < startIndex && $0.role == .upload && $0.command == .minuteData }.compactMap(\.dataTime).max()
        guard let lastBefore else { skip(RuleID.loggerBackfill, "no 2051 seen before the outage"); return }
        // From the period after the last record seen, but no earlier than two periods before the
        // outage (a stale DataTime, say from 1900, does not make millions of periods due), at
        // most 1,000 periods.
        // Both on period boundaries (the logger's present is not).
        let first = max(lastBefore.addingClamped(step), (before / step).addingClamped(-2) * step)
        var due: [Int64] = []
        var p = first
        while p <= until - step && due.count < 1_000 { due.append(p); p = p.addingClamped(step) }
        guard !due.isEmpty else { skip(RuleID.loggerBackfill, "no minute record fell due during the outage"); return }
        let grace = max(10, options.overTime * 3 + 5)
        func arrived() -> Set<Int64> {
            Set(probe.frames.filter { $0.index >= startIndex && $0.command == .minuteData && $0.role == .upload }.compactMap(\.dataTime))
        }
        probe.pump(for: grace) { due.allSatisfy(arrived().contains) }
        let got = arrived()
        let missing = due.filter { !got.contains($0) }
        if missing.isEmpty {
            pass(RuleID.loggerBackfill, "\(due.count) minute record(s) of the outage arrived after the reconnect")
        } else {
            fail(RuleID.loggerBackfill, "\(missing.count) of \(due.count) minute records of the outage never arrived (first: \(HJTime(wallMilliseconds: missing[0]).text14)) within \(fmt(grace)) s of the reconnect",
                 wire: probe.wire(since: mark))
        }
    }

    // MARK: 6. Password

    func passwordSteps() {
        guard let old = pw else { skip(RuleID.loggerCmd1072, "the password is unknown"); return }
        let new = old == "654321" ? "135790" : "654321"
        progress("1072 NewPW=\(new)")
        let before = probe.frameCount
        let x = request(.setPassword, [[Field("NewPW", new)]])
        guard x.ok else { fail(RuleID.loggerCmd1072, "1072 NewPW=\(new): expected QnRtn=1 and ExeRtn=1; got \(x.summary)", wire: x.wire); return }
        let start = probe.frameCount
        passwordChanges.append((before, start, old, new))
        pw = new
        let wait = max(10, real(rtdInterval ?? 60_000) * 3 + 2)
        probe.pump(for: wait) { self.probe.frames.contains { $0.index >= start && $0.role == .upload } }
        let next = probe.frames.first { $0.index >= start && $0.role == .upload }
        if let next, next.segment.pw == old {
            // ExeRtn=1, but the logger kept its password: one defect, L-CMD-1072's. Its packets
            // from the request on may carry the old password (L-PW), and its replies to requests
            // sent with the new one the old one (L-REPLY-FORM): neither counts it again
            // (decisions.md, session 22).
            passwordChanges[passwordChanges.count - 1].end = Int.max
            unappliedPassword = (old, new)
        }
        // Change it back (with the new password).
        let back = probe.frameCount
        let y = request(.setPassword, [[Field("NewPW", old)]])
        if y.ok {
            pw = old
            passwordChanges.append((back, probe.frameCount, new, old))
        }
        guard let next else { skip(RuleID.loggerCmd1072, "1072 accepted, but no upload came within \(fmt(wait)) s to show the new password"); return }
        if next.segment.pw == new && y.ok {
            pass(RuleID.loggerCmd1072, "password changed to \(new) (next upload carried it) and back to \(old)")
        } else if next.segment.pw != new {
            fail(RuleID.loggerCmd1072, "1072 NewPW=\(new) returned ExeRtn=1, but the next upload (\(next.cn)) carried PW=\(next.segment.pw ?? "-")", wire: x.wire + probe.wire(of: [next.index]))
        } else {
            fail(RuleID.loggerCmd1072, "changing the password back with the new one failed: \(y.summary)", wire: y.wire)
        }
    }
}
