import HJ212
import HJInstruments
import HJNetwork
import HJSimulation

/// The L-VALUE checks (`check logger --sensors`): what the logger uploads against what its
/// instruments served. Times are compared on the logger's clock: the instruments' clock plus the
/// offset seen in the QNs of its real-time uploads.
extension LoggerCheckRunner {
    static let valueRules: [RuleID] = [.loggerValueRtd, .loggerValueFresh, .loggerValueFlag, .loggerValueMin, .loggerValueHour, .loggerValueInfo, .loggerValuePower]

    func judgeValues() {
        guard let ev = options.sensors, Self.valueRules.contains(where: { wants($0) }) else { return }
        let served = ev.served.readings
        let streams = RecordStreams(frames: probe.frames, st: st)
        let realtime = streams.byCN.filter { $0.key == "2011" || $0.key.hasPrefix("2011/") }.values.flatMap { $0 }.sorted { $0.frameIndex < $1.frameIndex }
        // The logger's clock minus the instruments', from its live real-time uploads (QN = send
        // time; arrival is later, so the largest differences are the least delayed: 90th percentile).
        var offsets: [Int64] = []
        for f in probe.frames where f.role == .upload && f.cn == "2011" {
            guard let qn = f.qn, let t = HJTime(qn, allowMilliseconds: true)?.wallMilliseconds else { continue }
            offsets.append(t - ev.clockAt(probe.started + .milliseconds(Int64(f.time * 1000))))
        }
        offsets.sort()
        let offset = offsets.isEmpty ? 0 : offsets[min(offsets.count - 1, offsets.count * 9 / 10)]
        // A reading counts for a value sampled at t when it was served in [t − before, t + after]
        // (logger time): the minute before, widened for an accelerated logger to half a second of
        // real time (its polling thread may lag that much under load).
        let before = max(Int64(60_000), Int64(rate * 500))
        let after = max(Int64(15_000), Int64(rate * 50))
        facts.append(("instruments", "\(ev.lines); logger clock − instruments' clock \(offset / 1000) s; window \(before / 1000) s before to \(after / 1000) s after DataTime"))
        if !ev.statusPlan.isEmpty { facts.append(("instrument status set by the check", ev.statusPlan)) }

        func window(_ code: String, _ t: Int64) -> ArraySlice<ServedLog.Reading> {
            guard let list = served[code] else { return [] }
            let lo = t - before - offset, hi = t + after - offset
            var a = 0, b = list.count
            while a < b { let m = (a + b) / 2; if list[m].time < lo { a = m + 1 } else { b = m } }
            var e = a
            while e < list.count && list[e].time <= hi { e += 1 }
            return list[a..<e]
        }
        func time14(_ t: Int64) -> String { HJTime(wallMilliseconds: t).text14 }
        func num(_ v: Double) -> String { ValueFormat.fixed(v, decimals: abs(v) >= 100 ? 2 : 4) }
        /// Half a unit of the last printed digit.
        func printed(_ text: String) -> Double {
            guard let dot = text.firstIndex(of: ".") else { return 0.5 }
            return 0.5 * pow10(-text[text.index(after: dot)...].count)
        }

        var judged = 0, codes = Set<String>(), badValue: [(Int, String)] = [], stale: [(Int, String)] = [], fresh = 0
        var badFlag: [(Int, String)] = [], flagJudged = 0, abnormalServed = 0
        for rec in realtime {
            for (code, fields) in rec.factors {
                guard served[code] != nil, let text = fields["Rtd"], let v = Double(text) else { continue }
                let flag = fields["Flag"].flatMap { $0.utf8.first } ?? UInt8(ascii: "N")
                // B: the logger says it could not read; nothing to compare.
                if flag == UInt8(ascii: "B") { continue }
                let candidates = window(code, rec.dataTime)
                if candidates.isEmpty {
                    let lastServed = served[code]!.last { $0.time + offset <= rec.dataTime }
                    stale.append((rec.frameIndex, "\(code) at \(time14(rec.dataTime)) uploaded \(text) flag \(String(UnicodeScalar(flag))), last reading served \(lastServed.map { time14($0.time + offset) } ?? "-")"))
                    continue
                }
                fresh += 1
                judged += 1
                codes.insert(code)
                let matches = candidates.filter { abs($0.value - v) <= printed(text) + $0.resolution + 1e-9 * abs(v) }
                if matches.isEmpty {
                    let lo = candidates.map(\.value).min()!, hi = candidates.map(\.value).max()!
                    let first = candidates.first!
                    badValue.append((rec.frameIndex, "\(code) at \(time14(rec.dataTime)) uploaded \(text), served \(num(lo)) to \(num(hi)) (unit \(first.unit) register \(first.register))"))
                    continue
                }
                // The flag is judged where the status is unambiguous: every reading served within
                // the clock tolerance of DataTime carries the same status (not at a transition).
                let near = candidates.filter { abs($0.time + offset - rec.dataTime) <= after }
                guard let status = near.first?.flag, near.allSatisfy({ $0.flag == status }) else { continue }
                flagJudged += 1
                if status != UInt8(ascii: "N") { abnormalServed += 1 }
                if flag != status {
                    let m = near.last!
                    badFlag.append((rec.frameIndex, "\(code) at \(time14(rec.dataTime)) flagged \(String(UnicodeScalar(flag))), the instrument reported \(String(UnicodeScalar(m.flag))) (unit \(m.unit) register \(m.register))"))
                }
            }
        }
        func evidence(_ items: [(Int, String)]) -> (String, [WireRecord]) {
            let text = items.prefix(3).map(\.1).joined(separator: "; ")
            var wire = probe.wire(of: Array(Set(items.prefix(6).map(\.0))).sorted())
            wire += items.prefix(6).map { WireRecord(time: (probe.now * 1000).rounded() / 1000, direction: .note, text: $0.1) }
            return (text, wire)
        }
        if badValue.isEmpty {
            if judged > 0 { pass(.loggerValueRtd, "\(judged) real-time values of \(codes.count) factors match a reading served in their window") }
            else { skip(.loggerValueRtd, "not exercised: no real-time value of a factor the instruments served") }
        } else {
            let (text, wire) = evidence(badValue)
            fail(.loggerValueRtd, "\(badValue.count) of \(judged) real-time values match no reading served in their window: \(text)", wire: wire)
        }
        if stale.isEmpty {
            if fresh > 0 { pass(.loggerValueFresh, "\(fresh) real-time values flagged valid, each with a reading served in its window") }
            else { skip(.loggerValueFresh, "not exercised: no real-time value of a factor the instruments served") }
        } else {
            let (text, wire) = evidence(stale)
            fail(.loggerValueFresh, "\(stale.count) real-time values flagged valid with no reading served in their window (a lost instrument must be flagged B): \(text)", wire: wire)
        }
        if !badFlag.isEmpty {
            let (text, wire) = evidence(badFlag)
            fail(.loggerValueFlag, "\(badFlag.count) real-time values do not carry the status the instrument reported: \(text)", wire: wire)
        } else if abnormalServed > 0 {
            pass(.loggerValueFlag, "\(flagJudged) real-time values carry the status the instrument reported (\(abnormalServed) with status other than N)")
        } else {
            skip(.loggerValueFlag, "not exercised: no instrument reported a status other than N during the run")
        }
        judgeServedAggregates(served, offset: offset)
        judgeServedParameters(ev.served.parameters, offset: offset, before: before, after: after)
        judgeElectricity(ev, offset: offset, before: before, after: after)
    }

    /// 2051 and 2061 against the Appendix D aggregates of the readings served: a reference logger
    /// of the same unit template samples the served readings (on the logger's clock) every 5 s and
    /// aggregates them with the simulator's own code; each Avg must agree within 2 % plus three
    /// units of its last printed digit. Records whose period began before the first reading are
    /// not judged, nor those after the cadence changes of the run.
    func judgeServedAggregates(_ served: [String: [ServedLog.Reading]], offset: Int64) {
        guard wants(.loggerValueMin, .loggerValueHour) else { return }
        guard let template else {
            skip(.loggerValueMin, "not exercised: the unit kind is not known (give --unit)")
            skip(.loggerValueHour, "not exercised: the unit kind is not known (give --unit)")
            return
        }
        let first = served.values.compactMap { $0.first?.time }.min().map { $0 + offset }
        let last = served.values.compactMap { $0.last?.time }.max().map { $0 + offset }
        let early = RecordStreams(frames: probe.frames, limit: cadenceCutoff, st: st)
        var reference: [String: [Int64: DataSegment]] = [:]
        if let first, let last, last > first {
            var options = SimulationOptions()
            options.readingSource = ServedSource(served, offset: offset)
            options.minIntervalMinutes = minInterval.map { Int($0 / 60_000) }
            let start = (first / 60_000 + 1) * 60_000
            if var sim = try? UnitSimulator(template: template, identity: LoggerIdentity(mn: mn ?? "", pw: "123456"), seed: 0, start: start, options: options) {
                sim.advance(to: (last / 60_000) * 60_000) { p in
                    guard p.cn == "2051" || p.cn == "2061", let dt = p.segment.cpValue("DataTime").flatMap({ HJTime($0) })?.wallMilliseconds, dt >= start else { return }
                    reference[p.cn, default: [:]][dt] = p.segment
                }
            }
        }
        for (cn, id) in [("2051", RuleID.loggerValueMin), ("2061", RuleID.loggerValueHour)] {
            var records = 0, values = 0
            var bad: [(Int, String)] = []
            for rec in early.byCN[cn] ?? [] {
                guard let ref = reference[cn]?[rec.dataTime] else { continue }
                records += 1
                for (code, fields) in rec.factors where served[code] != nil {
                    guard let text = fields["Avg"], let v = Double(text), let r = ref.cpValue("\(code)-Avg").flatMap(Double.init) else { continue }
                    values += 1
                    let digits = text.firstIndex(of: ".").map { text[text.index(after: $0)...].count } ?? 0
                    if abs(v - r) > 0.02 * abs(r) + 3 * pow10(-digits) {
                        bad.append((rec.frameIndex, "\(code)-Avg \(cn) of \(HJTime(wallMilliseconds: rec.dataTime).text14): uploaded \(text), from the readings \(ValueFormat.fixed(r, decimals: max(digits, 2)))"))
                    }
                }
            }
            if !bad.isEmpty {
                var wire = probe.wire(of: Array(Set(bad.prefix(6).map(\.0))).sorted())
                wire += bad.prefix(6).map { WireRecord(time: (probe.now * 1000).rounded() / 1000, direction: .note, text: $0.1) }
                fail(id, "\(bad.count) of \(values) values disagree with the Appendix D aggregates of the readings served: \(bad.prefix(3).map(\.1).joined(separator: "; "))", wire: wire)
            } else if values > 0 {
                pass(id, "\(records) records (\(values) values) agree with the Appendix D aggregates of the readings served")
            } else {
                skip(id, "not exercised: no \(cn) record covered by readings served")
            }
        }
    }

    /// 3020 analyser parameters uploaded during the observation window (before the check's own
    /// 3021) against the parameter registers served in the same window.
    func judgeServedParameters(_ params: [String: [(time: Int64, value: Double)]], offset: Int64, before: Int64, after: Int64) {
        guard wants(.loggerValueInfo) else { return }
        var judged = 0
        var bad: [(Int, String)] = []
        for f in probe.frames where f.role == .upload && f.cn == "3020" && f.time <= windowEnd {
            guard let polId = f.segment.cpValue("PolId"), let dt = f.dataTime else { continue }
            for field in f.segment.cpFields where field.name.hasSuffix("-Info") {
                let code = String(field.name.dropLast(5))
                guard let list = params["\(polId)|\(code)"] else { continue }
                let near = list.filter { $0.time + offset >= dt - max(before, 120_000) && $0.time + offset <= dt + after }
                guard !near.isEmpty else { continue }
                judged += 1
                let uploaded = field.value.utf8.count == 14 ? HJTime(field.value).map { Double($0.wallMilliseconds) } : Double(field.value)
                let ok = uploaded.map { u in near.contains { abs($0.value - u) <= 1e-4 * max(1, abs($0.value)) + 1e-6 } } ?? false
                if !ok {
                    let s = near.last!.value
                    let shown = field.value.utf8.count == 14 ? HJTime(wallMilliseconds: Int64(s)).text14 : ValueFormat.fixed(s, decimals: 4)
                    bad.append((f.index, "\(code) of \(polId) at \(HJTime(wallMilliseconds: dt).text14): uploaded \(field.value), served \(shown)"))
                }
            }
        }
        if !bad.isEmpty {
            fail(.loggerValueInfo, "\(bad.count) of \(judged) analyser parameters in 3020 do not match the registers served: \(bad.prefix(3).map(\.1).joined(separator: "; "))",
                 wire: probe.wire(of: Array(Set(bad.prefix(6).map(\.0))).sorted()))
        } else if judged > 0 {
            pass(.loggerValueInfo, "\(judged) analyser parameters in 3020 match the registers served")
        } else {
            skip(.loggerValueInfo, "not exercised: no 3020 parameter of an analyser register was uploaded")
        }
    }
}

func pow10(_ n: Int) -> Double {
    var r = 1.0
    if n >= 0 { for _ in 0..<n { r *= 10 } } else { for _ in 0..<(-n) { r /= 10 } }
    return r
}
