import HJ212
import HJSimulation

/// The passive judgements of `check logger`: everything judged from what the logger sent.
extension LoggerCheckRunner {
    func judgePassive() {
        judgeLint()
        judgeIdentity()
        let streams = RecordStreams(frames: probe.frames, st: st)
        judgeQN(streams)
        let early = RecordStreams(frames: probe.frames, limit: cadenceCutoff, st: st)
        judgeCadence(early)
        judgeDuplicates(streams)
        judgeOrder(streams)
        judgeFactors(early)
        judgeAggregation(early)
        judgeReplies()
        judgeBoot()
        judgeRealClock()
        judgeDynamicUploads()
        judgeValues()
    }

    /// Frames the logger sent on its own or for our history requests.
    var ownFrames: [ObservedFrame] { probe.frames.filter { $0.role == .upload || $0.role == .history } }

    // MARK: Packets

    /// The packet checks, over every frame received: their counts come from `LintCounts`, kept
    /// for every frame; the frames the memory cap kept give the first message and the wire log.
    func judgeLint() {
        let all = probe.frames
        let counts = probe.lintCounts
        func failing(_ rules: Set<String>? = nil, severity: Severity = .error) -> [ObservedFrame] {
            all.filter { f in f.report.diagnostics.contains { d in d.severity >= severity && (rules?.contains(d.rule) ?? true) } }
        }
        func firstMessages(_ group: LintCounts.Group, _ fs: [ObservedFrame], _ rules: Set<String>? = nil, severity: Severity = .error) -> String {
            let first = fs.first?.report.diagnostics.first { $0.severity >= severity && (rules?.contains($0.rule) ?? true) }
            return "[\(counts.found(group, severity: severity).prefix(6).joined(separator: ", "))]" + (first.map { "; first: \($0.message)" } ?? "")
        }
        guard probe.frameCount > 0 else {
            for id in [RuleID.loggerLint, RuleID.loggerLintClean, RuleID.loggerCrc, RuleID.loggerFrame, RuleID.loggerVersion] { skip(id, "no packet received") }
            return
        }
        let total = "\(probe.frameCount) packets"
        let errorCount = counts.frames(.all, severity: .error)
        if errorCount == 0 && probe.skippedBytes == 0 { pass(RuleID.loggerLint, "\(total), no lint error") }
        else if errorCount == 0 { fail(RuleID.loggerLint, "\(probe.skippedBytes) bytes outside any frame: \(probe.noise.first ?? "")", wire: probe.wire(since: 0, limit: 20)) }
        else {
            let errors = failing()
            fail(RuleID.loggerLint, "\(errorCount) of \(total) with lint errors \(firstMessages(.all, errors))", wire: probe.wire(of: errors.map(\.index)))
        }
        let warningCount = counts.frames(.all, severity: .warning)
        if warningCount == 0 { pass(RuleID.loggerLintClean, "\(total), no lint warning") }
        else {
            let warnings = failing(severity: .warning)
            fail(RuleID.loggerLintClean, "\(warningCount) of \(total) with warnings or errors \(firstMessages(.all, warnings, severity: .warning))", wire: probe.wire(of: warnings.map(\.index)))
        }

        let crcRules = LintCounts.crcRules
        // HJ212.md §1: "Checker: accept either case, and warn on lower case". The certification
        // lint's warnings (lower case) make the check a warning; its errors (a wrong CRC, a
        // MODBUS variant, not hex) a failure.
        let crcErrorCount = counts.frames(.crc, severity: .error), crcCount = counts.frames(.crc, severity: .warning)
        if crcCount == 0 { pass(RuleID.loggerCrc, "\(total), every CRC the HJ 212 CRC in upper case") }
        else if crcErrorCount == 0 {
            let crc = failing(crcRules, severity: .warning)
            warn(RuleID.loggerCrc, "\(crcCount) of \(total) \(firstMessages(.crc, crc, crcRules, severity: .warning))", wire: probe.wire(of: crc.map(\.index)))
        } else {
            let crcErrors = failing(crcRules)
            fail(RuleID.loggerCrc, "\(crcErrorCount) of \(total) \(firstMessages(.crc, crcErrors, crcRules))", wire: probe.wire(of: crcErrors.map(\.index)))
        }

        let frameRules = LintCounts.frameRules
        // HJ212.md §1: a length that counts characters, not bytes, is "a warning, not an error"
        // (the certification lint keeps it a warning); every other framing defect is an error there.
        let framingErrorCount = counts.frames(.frame, severity: .error), framingCount = counts.frames(.frame, severity: .warning)
        if framingCount == 0 && probe.skippedBytes == 0 { pass(RuleID.loggerFrame, "\(total), length, size and CR LF right") }
        else if framingCount == 0 { fail(RuleID.loggerFrame, "\(probe.skippedBytes) bytes outside any frame: \(probe.noise.first ?? "")", wire: probe.wire(since: 0, limit: 20)) }
        else if framingErrorCount == 0 && probe.skippedBytes == 0 {
            let framing = failing(frameRules, severity: .warning)
            warn(RuleID.loggerFrame, "\(framingCount) of \(total) \(firstMessages(.frame, framing, frameRules, severity: .warning))", wire: probe.wire(of: framing.map(\.index)))
        } else {
            let severity: Severity = framingErrorCount == 0 ? .warning : .error
            let shown = failing(frameRules, severity: severity)
            fail(RuleID.loggerFrame, "\(counts.frames(.frame, severity: severity)) of \(total) \(firstMessages(.frame, shown, frameRules, severity: severity))", wire: probe.wire(of: shown.map(\.index)))
        }

        let wanted = dialect == .hj2025 ? 2 : 1
        let wrongCount = counts.framesNotOfVersion(wanted)
        if wrongCount == 0 { pass(RuleID.loggerVersion, "\(total), all with \(dialect.title) version bits") }
        else {
            let wrongVersion = all.filter { $0.segment.flag.map { $0.version != wanted } ?? true }
            let first = wrongVersion.first.map { f in " (first: \(f.cn) Flag=\(f.segment.header("Flag") ?? "-"), \(Dialect.detect(f.segment).title))" } ?? ""
            fail(RuleID.loggerVersion, "\(wrongCount) of \(total) not \(dialect.title)\(first)", wire: probe.wire(of: wrongVersion.map(\.index)))
        }
    }

    /// Said after a count of stored packets when the memory cap left later ones out, so that
    /// one report never gives two totals without saying why.
    var capNote: String {
        probe.framesDropped == 0 ? "" : " (the first \(probe.frames.count) of the \(probe.frameCount) received; later ones are judged by lint only, memory cap)"
    }

    static func isMN(_ s: String) -> Bool { s.utf8.count == 24 && s.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 70) } }

    func judgeIdentity() {
        let own = ownFrames
        guard !own.isEmpty, let mn else { skip(RuleID.loggerMn, "no packet received"); skip(RuleID.loggerPw, "no packet received"); return }
        // A packet with another MN than the logger's fails. The logger's own MN not being 24
        // hex characters (a 14-character 2005 MN, a free string) is a warning: HJ212.md §3
        // "a checker should warn, not reject".
        let wrongMN = own.filter { $0.segment.mn != mn }
        let oddMN = own.filter { $0.segment.mn == mn && !Self.isMN(mn) }
        if let f = wrongMN.first {
            fail(RuleID.loggerMn, "\(wrongMN.count) of \(own.count) uploads and history records\(capNote): first (\(f.cn)) carries MN '\(f.segment.mn ?? "")', not \(mn)",
                 wire: probe.wire(of: wrongMN.map(\.index)))
        } else if let f = oddMN.first {
            warn(RuleID.loggerMn, "\(oddMN.count) of \(own.count) uploads and history records\(capNote): first (\(f.cn)) MN '\(mn)' is not 24 characters 0-9/A-F",
                 wire: probe.wire(of: oddMN.map(\.index)))
        } else {
            pass(RuleID.loggerMn, "MN \(mn) on all \(own.count) uploads and history records\(capNote)")
        }
        // The expected PW at each frame: the initial one, then each 1072 change from its index on.
        let initial = options.pw ?? Self.defaultPassword
        func expected(_ index: Int) -> String { passwordChanges.last { $0.end <= index }?.new ?? initial }
        func accepted(_ f: ObservedFrame) -> Bool {
            if let change = passwordChanges.first(where: { f.index >= $0.start && f.index < $0.end }) {
                return f.segment.pw == change.old || f.segment.pw == change.new
            }
            // A resend repeats its frame as first sent (with the password of that moment).
            if let qn = f.qn, let first = probe.byQN[qn]?.first, first < f.index, let earlier = probe.frame(first), earlier.text == f.text {
                return accepted(earlier)
            }
            return f.segment.pw == expected(f.index)
        }
        let badPW = own.filter { !accepted($0) }
        let unapplied = unappliedPassword.map { "; the password \($0.old) kept after the 1072 to \($0.new) that did not take effect is counted under L-CMD-1072" } ?? ""
        if badPW.isEmpty { pass(RuleID.loggerPw, "the right password on all \(own.count) uploads and history records\(capNote)\(unapplied)") }
        else {
            let f = badPW[0]
            fail(RuleID.loggerPw, "\(badPW.count) of \(own.count) uploads and history records\(capNote) with a wrong PW: first (\(f.cn) QN \(f.qn ?? "-")) PW '\(f.segment.pw ?? "")', expected '\(expected(f.index))'",
                 wire: probe.wire(of: badPW.map(\.index)))
        }
    }

    func judgeQN(_ s: RecordStreams) {
        let own = ownFrames
        guard !own.isEmpty else { skip(RuleID.loggerQn, "no packet received"); return }
        let badFormat = own.filter { f in f.qn.map { $0.utf8.count != 17 || HJTime($0, allowMilliseconds: true) == nil } ?? true }
        if badFormat.isEmpty && s.reusedQN.isEmpty { pass(RuleID.loggerQn, "\(own.count) uploads and history records\(capNote), every QN a valid time stamp and unique (\(s.legitimateCopies) resent copies)") }
        else if !s.reusedQN.isEmpty { fail(RuleID.loggerQn, "\(s.reusedQN.count) packet(s) reuse a QN: \(s.reusedQN[0].why)", wire: probe.wire(of: s.reusedQN.map(\.index))) }
        else { fail(RuleID.loggerQn, "\(badFormat.count) packet(s) without a valid 17-digit QN (first: '\(badFormat[0].qn ?? "")')", wire: probe.wire(of: badFormat.map(\.index))) }
        if s.splitProblems.isEmpty {
            if s.splitRecords > 0 { pass(RuleID.loggerSplit, "\(s.splitRecords) split record(s) reassembled") }
            else {
                // HJ 212-2017 §6.3.2: a record over 1024 bytes of data segment is split. With no
                // such record the rule held for every packet seen: each one fitted whole.
                let over = ownFrames.filter { $0.text.utf8.count - 10 > 1024 }
                if over.isEmpty && !ownFrames.isEmpty {
                    pass(RuleID.loggerSplit, "no record needed splitting: all \(ownFrames.count) uploads and history records\(capNote) fit in 1024 bytes of data segment, none was split")
                } else if over.isEmpty {
                    skip(RuleID.loggerSplit, "no packet received")
                } else {
                    fail(RuleID.loggerSplit, "\(over.count) packet(s) over 1024 bytes of data segment sent whole, without PNUM/PNO (first: \(over[0].cn), \(over[0].text.utf8.count - 10) bytes)",
                         wire: probe.wire(of: over.map(\.index)))
                }
            }
        } else {
            fail(RuleID.loggerSplit, "\(s.splitProblems.count) problem(s): \(s.splitProblems[0].why)", wire: probe.wire(of: s.splitProblems.map(\.index)))
        }
    }

    // MARK: Cadence

    /// The logger-time span the early stream covers: its first upload to its last.
    func span(_ s: RecordStreams) -> (Int64, Int64)? {
        let fs = probe.frames.filter { $0.index < cadenceCutoff && $0.role == .upload }.compactMap(\.loggerTime)
        guard let a = fs.min(), let b = fs.max() else { return nil }
        return (a, b)
    }

    func judgeCadence(_ s: RecordStreams) {
        guard let (t0, t1) = span(s) else {
            for id in [RuleID.loggerRtdCadence, RuleID.loggerMinCadence, RuleID.loggerHourCadence, RuleID.loggerDayCadence, RuleID.loggerMinAlign, RuleID.loggerHourAlign, RuleID.loggerDayAlign] { skip(id, "no upload received") }
            return
        }
        // A logger whose every upload carries one time stamp (a frozen QN clock) spans no time:
        // said so, not as a zero-length window (review 21).
        let stamped = probe.frames.filter { $0.index < cadenceCutoff && $0.role == .upload && $0.loggerTime != nil }.count
        let frozen = t0 == t1 && stamped > 1 ? HJTime(wallMilliseconds: t0).description : nil
        let spanText = frozen.map { "a logger time that did not advance (every upload stamped \($0))" }
            ?? "\(HJTime(wallMilliseconds: t0).description)–\(HJTime(wallMilliseconds: t1).description) of the logger's time"
        // 2011: steps of RtdInterval (from 1061, else the most frequent step).
        let rtd = s.records(.realTimeData)
        if let step = rtdInterval ?? modalStep(.realTimeData) {
            let times = rtd.map(\.dataTime).sorted()
            let gaps = zip(times, times.dropFirst()).filter { $1 - $0 > step + step / 2 }
            let irregular = zip(times, times.dropFirst()).filter { $1 - $0 < step - step / 2 }
            if times.count < 2 && t1 - t0 < 3 * step { skip(RuleID.loggerRtdCadence, "the window (\(spanText)) holds fewer than 3 real-time intervals") }
            else if times.isEmpty { fail(RuleID.loggerRtdCadence, "no 2011 over \(spanText) (RtdInterval \(step / 1000) s)") }
            else if gaps.isEmpty && irregular.isEmpty {
                // The DataTimes judged, not the logger's QN span (they can lie far apart).
                pass(RuleID.loggerRtdCadence, "\(times.count) real-time records every \(step / 1000) s, DataTime \(HJTime(wallMilliseconds: times[0]).description)–\(HJTime(wallMilliseconds: times[times.count - 1]).description)")
            }
            else {
                let g = gaps.first ?? irregular.first!
                fail(RuleID.loggerRtdCadence, "\(gaps.count) gap(s) and \(irregular.count) short step(s) against RtdInterval \(step / 1000) s; first: \(HJTime(wallMilliseconds: g.0).text14) → \(HJTime(wallMilliseconds: g.1).text14)",
                     wire: probe.wire(of: rtd.filter { $0.dataTime == g.0 || $0.dataTime == g.1 }.map(\.frameIndex)))
            }
        } else {
            skip(RuleID.loggerRtdCadence, rtd.isEmpty ? "no real-time data (2011) over \(spanText)" : "a single 2011 and no RtdInterval from 1061")
        }
        judgePeriodic(s, cn: .minuteData, cadence: RuleID.loggerMinCadence, align: RuleID.loggerMinAlign, period: minInterval ?? modalStep(.minuteData), t0: t0, t1: t1, spanText: spanText, frozen: frozen)
        judgePeriodic(s, cn: .hourData, cadence: RuleID.loggerHourCadence, align: RuleID.loggerHourAlign, period: 3_600_000, t0: t0, t1: t1, spanText: spanText, frozen: frozen)
        judgePeriodic(s, cn: .dailyData, cadence: RuleID.loggerDayCadence, align: RuleID.loggerDayAlign, period: 86_400_000, t0: t0, t1: t1, spanText: spanText, frozen: frozen)
    }

    /// Records that are due every `period` (DataTime = start of the period, sent once it closes).
    /// `frozen`: the one time stamp of every upload when the logger's clock did not advance.
    func judgePeriodic(_ s: RecordStreams, cn: CommandCode, cadence: RuleID, align: RuleID, period: Int64?, t0: Int64, t1: Int64, spanText: String, frozen: String? = nil) {
        let records = s.records(cn)
        guard let period, period > 0 else {
            skip(cadence, records.isEmpty ? "no \(cn) over \(spanText), and the interval is unknown" : "one \(cn) and no interval from 1063")
            if records.isEmpty { skip(align, "no \(cn) received") }
            return
        }
        // Alignment.
        let misaligned = records.filter { $0.dataTime % period != 0 }
        if records.isEmpty { skip(align, "no \(cn) received over \(spanText)") }
        else if misaligned.isEmpty { pass(align, "\(records.count) \(cn) record(s), every DataTime at the start of its \(fmt(Double(period) / 60_000)) min period") }
        else {
            fail(align, "\(misaligned.count) of \(records.count) \(cn) DataTimes not at a \(fmt(Double(period) / 60_000)) min boundary (first: \(HJTime(wallMilliseconds: misaligned[0].dataTime).text14))",
                 wire: probe.wire(of: misaligned.map(\.frameIndex)))
        }
        // Due periods: starting at or after the first upload, closed (with 10 % slack) before the last.
        let slack = max(period / 10, 30_000)
        let firstStart = (t0 + period - 1) / period * period
        var due: [Int64] = []
        var p = firstStart
        while p + period + slack <= t1 && due.count < 100_000 { due.append(p); p += period }
        let periods = Set(records.map { $0.dataTime / period * period })
        guard !due.isEmpty else {
            if let frozen {
                // No period falls due by a clock that stands still, however far the DataTimes run.
                let times = records.map(\.dataTime)
                let carried = times.min().map { "; \(records.count) \(cn) record(s) carry DataTime \(HJTime(wallMilliseconds: $0).description)–\(HJTime(wallMilliseconds: times.max()!).description)" } ?? ""
                skip(cadence, "not exercised: the logger's time did not advance (every upload stamped \(frozen)), so no \(fmt(Double(period) / 60_000)) min period fell due by its clock\(carried)")
            } else if records.isEmpty { skip(cadence, "the window (\(spanText)) holds no complete \(fmt(Double(period) / 60_000)) min period") }
            else { skip(cadence, "not exercised: \(records.count) \(cn) record(s), but the window (\(spanText)) holds no complete \(fmt(Double(period) / 60_000)) min period to judge the cadence") }
            return
        }
        let missing = due.filter { !periods.contains($0) }
        if missing.isEmpty { pass(cadence, "\(due.count) \(cn) period(s) due over \(spanText), all received") }
        else {
            fail(cadence, "\(missing.count) of \(due.count) \(cn) record(s) due over \(spanText) missing (first: DataTime \(HJTime(wallMilliseconds: missing[0]).text14))",
                 wire: probe.wire(of: records.filter { abs($0.dataTime - missing[0]) <= period }.map(\.frameIndex)))
        }
    }

    func judgeDuplicates(_ s: RecordStreams) {
        if !s.duplicates.isEmpty {
            fail(RuleID.loggerDuplicate, "\(s.duplicates.count) duplicate upload(s): \(s.duplicates[0].why)", wire: probe.wire(of: s.duplicates.map(\.index)))
        } else if s.byCN.isEmpty { skip(RuleID.loggerDuplicate, "no record received") }
        else { pass(RuleID.loggerDuplicate, "no record sent twice (\(s.legitimateCopies) resend(s) of unacknowledged packets)") }
    }

    func judgeOrder(_ s: RecordStreams) {
        var problems: [(Int, String)] = []
        for (cn, records) in s.byCN where CommandCode.seriesUploads.contains(CommandCode(cn)) {
            var last: [Int: Int64] = [:]
            for r in records {
                if let l = last[r.connection], r.dataTime < l {
                    problems.append((r.frameIndex, "\(cn) DataTime \(HJTime(wallMilliseconds: r.dataTime).text14) after \(HJTime(wallMilliseconds: l).text14)"))
                }
                last[r.connection] = max(last[r.connection] ?? .min, r.dataTime)
            }
        }
        problems.sort { $0.0 < $1.0 }
        if s.byCN.isEmpty { skip(RuleID.loggerOrder, "no record received") }
        else if problems.isEmpty { pass(RuleID.loggerOrder, "records in time order on every connection") }
        else { fail(RuleID.loggerOrder, "\(problems.count) record(s) out of order: first \(problems[0].1)", wire: probe.wire(of: problems.map(\.0))) }
    }

    // MARK: Clock

    func judgeClockConsistency(_ x: Exchange, _ t: HJTime?) {
        guard wants(RuleID.loggerClockConsistent) else { return }
        guard let t, let answer = x.responses.first(where: { $0.command == .getLoggerTime }) else { skip(RuleID.loggerClockConsistent, "1011 gave no time"); return }
        // The uploads around the answer, mapped to its moment by the clock rate.
        let near = clockFrames.filter { abs($0.time - answer.time) < max(5, 120 / rate) && $0.connection == answer.connection }
        let estimates = near.compactMap { f in f.loggerTime.map { $0.addingClamped(milliseconds(rate * (answer.time - f.time))) } }.sorted()
        guard !estimates.isEmpty else { skip(RuleID.loggerClockConsistent, "no upload near the 1011 to compare with"); return }
        let estimate = estimates[estimates.count / 2]
        let diff = t.wallMilliseconds.addingClamped(-estimate)
        let tolerance = milliseconds(max(60, rate * 1.5))
        if abs(diff) <= tolerance { pass(RuleID.loggerClockConsistent, "1011 and the upload QNs agree within \(fmt(Double(abs(diff)) / 1000)) s") }
        else {
            fail(RuleID.loggerClockConsistent, "1011 says \(t.text14), but the QNs of the uploads around it put the logger's clock at \(HJTime(wallMilliseconds: estimate).text14) (\(fmt(Double(diff) / 1000)) s; tolerance \(tolerance / 1000) s)",
                 wire: x.wire + probe.wire(of: near.prefix(3).map(\.index)))
        }
    }

    /// Live uploads whose DataTime lies ahead of their own QN (the logger's clock when it sent
    /// them) by more than 60 s: a record dated in the future. No record type is dated after it
    /// is sent (2011 the sample, 2051/2061/2031 the start of a closed period), so this holds at
    /// any clock rate. The finding (nil when none), and how many uploads were compared.
    func dataTimesAhead() -> (finding: (text: String, frames: [Int])?, judged: Int) {
        var judged = 0
        var ahead: [(ObservedFrame, Int64, Int64)] = []
        for f in probe.frames where f.role == .upload {
            guard let qn = f.qn, let sent = HJTime(qn, allowMilliseconds: true)?.wallMilliseconds, let dt = f.dataTime else { continue }
            judged += 1
            if dt.addingClamped(-sent) > 60_000 { ahead.append((f, dt, sent)) }
        }
        guard let (f, dt, sent) = ahead.first else { return (nil, judged) }
        let text = "\(ahead.count) of \(judged) uploads carry a DataTime ahead of their own QN (the logger's clock when it sent them): first \(f.cn) DataTime \(HJTime(wallMilliseconds: dt).text14), QN \(f.qn ?? "-") (\(fmt(Double(dt.addingClamped(-sent)) / 1000)) s ahead, tolerance 60 s)"
        return ((text, ahead.map(\.0.index)), judged)
    }

    /// L-CLOCK: the QNs against the platform's clock (a logger on real time only), and the
    /// DataTimes against the QNs (any rate): review 21's logger dated its records 400 days
    /// ahead of correct QNs and passed (decisions.md, session 22).
    func judgeRealClock() {
        guard wants(RuleID.loggerClock) else { return }
        let ahead = dataTimesAhead()
        if let a = ahead.finding, rate != 1 {
            fail(RuleID.loggerClock, a.text, wire: probe.wire(of: a.frames))
            return
        }
        guard rate == 1 else { skip(RuleID.loggerClock, "the logger's clock runs at \(String(format: "%.1f", rate))× real time (an accelerated emulation)"); return }
        let fs = clockFrames.filter { $0.connection == 1 && $0.time <= windowEnd + 1 }.prefix(50)
        let startWall = Self.platformNow() - milliseconds(probe.now)
        let offsets = fs.compactMap { f in f.loggerTime.map { $0.addingClamped(-startWall.addingClamped(milliseconds(f.time))) } }.sorted()
        guard !offsets.isEmpty else { skip(RuleID.loggerClock, "no upload with a valid QN or DataTime in the observation window"); return }
        let median = offsets[offsets.count / 2]
        if abs(median) > 60_000 {
            fail(RuleID.loggerClock, "the QNs of its uploads are \(fmt(Double(median) / 1000)) s from the platform's clock (tolerance 60 s)" + (ahead.finding.map { "; \($0.text)" } ?? ""),
                 wire: probe.wire(of: fs.prefix(3).map(\.index) + (ahead.finding?.frames.prefix(3) ?? [])))
        } else if let a = ahead.finding {
            fail(RuleID.loggerClock, a.text, wire: probe.wire(of: a.frames))
        } else {
            pass(RuleID.loggerClock, "the logger's clock is \(fmt(Double(median) / 1000)) s from the platform's" + (ahead.judged > 0 ? ", and no DataTime of \(ahead.judged) uploads ahead of its QN" : ""))
        }
    }

    func judgeBoot() {
        guard wants(RuleID.loggerBoot) else { return }
        if let f = probe.frames.first(where: { $0.command == .bootTime && $0.role == .upload }) {
            if f.segment.cpValue("RestartTime").flatMap({ HJTime($0) }) != nil { pass(RuleID.loggerBoot, "2081 RestartTime=\(f.segment.cpValue("RestartTime")!)") }
            else { fail(RuleID.loggerBoot, "2081 without a valid RestartTime", wire: probe.wire(of: [f.index])) }
        } else {
            fail(RuleID.loggerBoot, "no 2081 (boot time) during the run (a logger that was already running need not send one)")
        }
    }

    // MARK: Replies

    func judgeReplies() {
        guard !exchanges.isEmpty else {
            skip(RuleID.loggerReplyForm, "no request was sent")
            skip(RuleID.loggerReplyTime, "no request was sent")
            return
        }
        let wantedFlag = PacketFlag(version: dialect == .hj2025 ? 2 : 1, split: false, ack: false).rawValue
        var problems: [(String, [WireRecord])] = []
        var late: [(String, [WireRecord])] = []
        var answered = 0
        var keptPassword = 0
        // A wait cut by Ctrl-C or SIGTERM is no evidence of a missing or late reply.
        let judged = exchanges.filter(\.judgeable)
        guard !judged.isEmpty else {
            skip(RuleID.loggerReplyForm, "interrupted: no request's wait ended")
            skip(RuleID.loggerReplyTime, "interrupted: no request's wait ended")
            return
        }
        for x in judged {
            let cn = x.request.cn ?? ""
            guard !x.replies.isEmpty else {
                late.append(("\(cn) QN=\(x.qn): \(x.problem ?? "no 9011")", x.wire))
                continue
            }
            answered += 1
            if let d = x.replyDelay {
                if d > options.overTime { late.append(("\(cn): 9011 after \(String(format: "%.1f", d)) s", x.wire)) }
            } else {
                // Replies, but no 9011 (a 9012 alone, say): the request was never answered as §6.2 asks.
                late.append(("\(cn) QN=\(x.qn): no 9011 (got \(x.replies.map(\.cn).joined(separator: ", ")))", x.wire))
            }
            for r in x.replies {
                var wrong: [String] = []
                let s = r.segment
                if r.command == .requestReply || r.command == .executionResult {
                    if !s.isST(.systemInteraction) { wrong.append("ST=\(s.st ?? "-")") }
                    if s.flag?.rawValue != wantedFlag { wrong.append("Flag=\(s.header("Flag") ?? "-")") }
                    if r.command == .requestReply && s.cpValue("QnRtn") == nil { wrong.append("no QnRtn") }
                    if r.command == .executionResult && s.cpValue("ExeRtn") == nil { wrong.append("no ExeRtn") }
                }
                // A response packet (1011, 1061, 3020 …) may ask for a 9014 (Flag A=1): HJ212.md
                // §6.2 step 3, "the host acks each one with 9014"; the probe does.
                if s.qn != x.qn { wrong.append("QN=\(s.qn ?? "-")") }
                if s.pw != x.request.pw {
                    // The logger kept its password after a 1072 that did not take effect, and
                    // answered a request sent with the new one under the old: L-CMD-1072's defect.
                    if let u = unappliedPassword, x.request.pw == u.new, s.pw == u.old { keptPassword += 1 }
                    else { wrong.append("PW=\(s.pw ?? "-")") }
                }
                if s.mn != x.request.mn { wrong.append("MN=\(s.mn ?? "-")") }
                if !wrong.isEmpty { problems.append(("\(r.cn) to \(cn): \(wrong.joined(separator: ", "))", probe.wire(of: [r.index]))) }
            }
        }
        if answered == 0 { skip(RuleID.loggerReplyForm, "not exercised: none of the \(judged.count) requests was answered (see L-REPLY-TIME)") }
        else if problems.isEmpty {
            let kept = unappliedPassword.map { u in keptPassword == 0 ? "" : "; \(keptPassword) repl(ies) carried PW=\(u.old) to a request sent with \(u.new), the password a 1072 did not set (counted under L-CMD-1072)" } ?? ""
            pass(RuleID.loggerReplyForm, "\(answered) of \(judged.count) requests answered; every 9011/9012 and response well-formed\(kept)")
        }
        else { fail(RuleID.loggerReplyForm, "\(problems.count) malformed repl(ies): \(problems.prefix(3).map(\.0).joined(separator: "; "))", wire: problems.prefix(4).flatMap(\.1)) }
        if late.isEmpty { pass(RuleID.loggerReplyTime, "\(judged.count) requests, every 9011 within OverTime (\(fmt(options.overTime)) s)") }
        else { fail(RuleID.loggerReplyTime, "\(late.count) of \(judged.count) requests not answered in time: \(late.prefix(3).map(\.0).joined(separator: "; "))", wire: late.prefix(2).flatMap(\.1)) }
    }
}
