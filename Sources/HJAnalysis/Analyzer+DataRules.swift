import HJ212

/// Rules over monitoring records (2011, 2051, 2061, 2031).
extension Analyzer {
    static let flagNames: [String: String] = [
        "D": "故障 fault", "C": "校准 calibration", "M": "维护 maintenance", "F": "停运 stopped",
        "B": "通讯异常 communication lost", "S": "手工设定 set manually", "T": "超量程 over range",
    ]

    mutating func dataRules(_ r: DataRecord, _ unit: inout UnitState, _ events: inout [AlarmEvent]) {
        let profile = unit.profile
        if r.kind == .rtd { unit.sendsRtd = true }
        missingRecords(r, &unit, &events)
        // Running: the flow of this record against the template's flow baseline.
        if let flow = profile?.flowFactor, let fp = profile?.factor(flow), let v = r.reading(flow)?.value {
            unit.running = v >= catalogue.runningFraction * fp.baseline
        } else if profile == nil, let v = (r.reading("w00000") ?? r.reading("a00000"))?.value {
            unit.running = v > 0
        }
        let running = unit.running == true
        if running { unit.runningSince = unit.runningSince ?? r.dataTime } else if unit.running == false { unit.runningSince = nil }
        let fastKind: SeriesKind = unit.sendsRtd ? .rtd : .minute
        let o2 = profile?.o2Factor.flatMap { r.reading($0)?.value }
        for (code, reading) in r.factors.prefix(budget.maxFactorsPerUnit) {
            guard let v = reading.value, v.isFinite else { continue }
            let fp = profile?.factor(code)
            if r.kind == fastKind {
                fastRules(r, code, reading, v, fp, running, &unit, &events)
            }
            if r.kind == .minute {
                limitRule(r, code, reading, v, fp, o2, &unit, &events)
                flatlineRule(r, code, reading, v, fp, running, &unit, &events)
                stepRule(r, code, reading, v, fp, running, &unit, &events)
                if let fp, fp.limit != nil {
                    // A limited pollutant whose minute mean is exactly zero while the unit runs (not a reading below detection now and then).
                    let zero = v == 0 && running && fp.baseline >= 10 * pow10(-reading.decimals)
                    judge("value.zero-negative", code, &unit, mn: r.mn, active: zero, time: r.dataTime, arrival: r.arrival,
                          need: Int(catalogue.parameter("value.zero-negative", "zero_records", 2)),
                          clearMinutes: catalogue.parameter("value.zero-negative", "clear_minutes", 20), variant: "0", events: &events) {
                        ("\(code) minute mean = 0 while the unit runs", v)
                    }
                }
            }
        }
        if r.kind == .minute, let profile {
            bypassRule(r, profile, running, &unit, &events)
            o2Rule(r, profile, running, &unit, &events)
        }
    }

    /// Gaps in the DataTime sequence of minute and hour records.
    mutating func missingRecords(_ r: DataRecord, _ unit: inout UnitState, _ events: inout [AlarmEvent]) {
        guard r.kind == .minute || r.kind == .hour else { return }
        defer { if r.dataTime > unit.lastData[r.kind] ?? .min { unit.lastData[r.kind] = r.dataTime } }
        guard let last = unit.lastData[r.kind], r.dataTime > last else { return }
        let diff = r.dataTime - last
        var interval: Int64 = 3_600_000
        if r.kind == .minute {
            if diff < unit.observedMinuteInterval ?? .max { unit.observedMinuteInterval = diff }
            interval = unit.profile.map { Int64($0.minIntervalMinutes) * 60_000 } ?? unit.observedMinuteInterval!
            if let seen = unit.observedMinuteInterval, seen < interval { interval = seen }
        }
        let factor = catalogue.parameter("data.missing", "gap_intervals", 1.5)
        if Double(diff) > Double(interval) * factor {
            let count = diff / interval - 1
            instant("data.missing", nil, mn: r.mn, start: last + interval, end: r.dataTime - interval, arrival: r.arrival,
                    evidence: "\(count) \(r.kind.title) record\(count == 1 ? "" : "s") (CN \(r.kind.cn)) missing between \(HJTime(wallMilliseconds: last).description) and \(HJTime(wallMilliseconds: r.dataTime).description)",
                    value: Double(count), events: &events)
        }
    }

    /// Zero/negative, over range, trouble flags, furnace: judged on the fastest data the unit sends.
    mutating func fastRules(_ r: DataRecord, _ code: String, _ reading: FactorReading, _ v: Double, _ fp: UnitProfile.Factor?,
                            _ running: Bool, _ unit: inout UnitState, _ events: inout [AlarmEvent]) {
        let mn = r.mn, t = r.dataTime, arrival = r.arrival
        // Negative (below the measuring range); zeros are judged on minute means (zeroRule).
        let negative = fp.map { v < $0.rangeMin } ?? false
        judge("value.zero-negative", code, &unit, mn: mn, active: negative, time: t, arrival: arrival, need: 1,
              clearMinutes: catalogue.parameter("value.zero-negative", "clear_minutes", 20), events: &events) {
            ("\(code) = \(num(v)), below the measuring range \(num(fp!.rangeMin))–\(num(fp!.rangeMax))", v)
        }
        // Over range.
        let overRange = reading.flag == "T" || (fp.map { v >= $0.rangeMax } ?? false)
        judge("value.over-range", code, &unit, mn: mn, active: overRange, time: t, arrival: arrival, need: 1,
              clearMinutes: catalogue.parameter("value.over-range", "clear_minutes", 20), events: &events) {
            ("\(code) = \(num(v))\(reading.flag == "T" ? ", flag T" : "")\(fp.map { ", range \(num($0.rangeMin))–\(num($0.rangeMax))" } ?? "")", v)
        }
        // Trouble flags. F (stopped) while the whole unit is stopped is its normal state, not trouble.
        let flags = catalogue.rule("flag.trouble")?.textParameters["flags"] ?? "DCMFBS"
        var trouble = false
        if let f = reading.flag, f.count == 1, flags.contains(f) { trouble = !(f == "F" && unit.running == false) }
        judge("flag.trouble", code, &unit, mn: mn, active: trouble, time: t, arrival: arrival,
              need: Int(catalogue.parameter("flag.trouble", "min_records", 1)),
              clearMinutes: catalogue.parameter("flag.trouble", "clear_minutes", 15), events: &events) {
            let f = reading.flag ?? "?"
            return ("\(code) flag \(f) (\(Self.flagNames[f] ?? "?")) from \(HJTime(wallMilliseconds: t).description)", v)
        }
        // Furnace below 850 °C while burning.
        if code == "a01901" {
            let minimum = catalogue.parameter("process.furnace-low", "minimum", 850)
            let burning = catalogue.parameter("process.furnace-low", "burning", 300)
            let low = v < minimum && v > burning
            judge("process.furnace-low", code, &unit, mn: mn, active: low, time: t, arrival: arrival,
                  need: r.kind == .rtd ? Int(catalogue.parameter("process.furnace-low", "rtd_records", 4)) : 1,
                  clearMinutes: catalogue.parameter("process.furnace-low", "clear_minutes", 10), events: &events) {
                ("furnace temperature a01901 = \(num(v)) °C, below \(num(minimum)) °C while burning", v)
            }
        }
    }

    /// Minute means (converted at the reference O₂ where the limit is a converted one) over the limit.
    mutating func limitRule(_ r: DataRecord, _ code: String, _ reading: FactorReading, _ v: Double, _ fp: UnitProfile.Factor?,
                            _ o2: Double?, _ unit: inout UnitState, _ events: inout [AlarmEvent]) {
        guard let fp, let limit = fp.limit else { return }
        var value = v
        var converted = false
        if fp.zs {
            if let zs = reading.zs {
                value = zs
                converted = true
            } else if let ref = unit.profile?.referenceO2, let o2, o2 < 20 {
                value = v * (21 - ref) / (21 - o2)
                converted = true
            }
        }
        let over = value > limit
        let reference = unit.profile?.referenceO2 ?? 0
        judge("limit.exceeded", code, &unit, mn: r.mn, active: over, time: r.dataTime, arrival: r.arrival,
              need: Int(catalogue.parameter("limit.exceeded", "minute_records", 2)),
              clearMinutes: catalogue.parameter("limit.exceeded", "clear_minutes", 30), events: &events) {
            ("\(code) \(converted ? "ZsAvg" : "Avg") = \(num(value)) > limit \(num(limit))\(converted ? " (at \(num(reference)) % O₂)" : "") (\(num(value / limit * 100)) %)\(reading.flag.map { $0 != "N" ? ", flag \($0)" : "" } ?? "")", value)
        }
    }

    /// Frozen values while the unit runs.
    mutating func flatlineRule(_ r: DataRecord, _ code: String, _ reading: FactorReading, _ v: Double, _ fp: UnitProfile.Factor?,
                               _ running: Bool, _ unit: inout UnitState, _ events: inout [AlarmEvent]) {
        // Needs the factor's template (its cycle, whether the unit runs): a unit or factor without
        // one is not judged (docs/anomalies.md; an hourly analyser holds its value for an hour).
        guard catalogue.enabled("value.flatline"), fp != nil, unit.running != nil else { return }
        if unit.factors[code] == nil {
            guard unit.factors.count < budget.maxFactorsPerUnit else { return }
            unit.factors[code] = FactorState()
        }
        var s = unit.factors[code]!
        let resolution = pow10(-reading.decimals)
        let judgeable = running && (reading.flag ?? "N") == "N" && (v == 0 || resolution / abs(v) <= catalogue.parameter("value.flatline", "max_resolution", 0.02))
        let constantWithin = (reading.min.map { $0 == v } ?? true) && (reading.max.map { $0 == v } ?? true)
        if judgeable && constantWithin {
            if s.flatValue == v {
                s.flatCount += 1
            } else {
                s.flatValue = v
                s.flatCount = 1
                s.flatSince = r.dataTime
            }
        } else {
            s.flatValue = nil
            s.flatCount = 0
        }
        let intervalMinutes = max(1, unit.profile?.minIntervalMinutes ?? Int((unit.observedMinuteInterval ?? 600_000) / 60_000))
        var need = Int(catalogue.parameter("value.flatline", "minute_records", 4))
        if let cycle = fp?.cycleMinutes, cycle > 0 {
            need = max(need, Int(catalogue.parameter("value.flatline", "cycles", 3)) * max(1, cycle / intervalMinutes) + 1)
        }
        let active = s.flatCount >= need
        let since = s.flatSince, count = s.flatCount
        unit.factors[code] = s
        judge("value.flatline", code, &unit, mn: r.mn, active: active, time: r.dataTime, arrival: r.arrival, need: 1,
              clearMinutes: catalogue.parameter("value.flatline", "clear_minutes", 20), since: since, events: &events) {
            ("\(code) constant at \(num(v)) (Min = Avg = Max) in \(count) minute records since \(HJTime(wallMilliseconds: since).description) while the unit runs", v)
        }
    }

    /// A limited pollutant jumps to a multiple of its running mean while the unit runs.
    mutating func stepRule(_ r: DataRecord, _ code: String, _ reading: FactorReading, _ v: Double, _ fp: UnitProfile.Factor?,
                           _ running: Bool, _ unit: inout UnitState, _ events: inout [AlarmEvent]) {
        guard catalogue.enabled("value.step-up"), let fp, fp.limit != nil, let profile = unit.profile, code != profile.flowFactor else { return }
        let key = "^" + code
        var s = unit.factors[key] ?? FactorState()
        defer { unit.factors[key] = s }
        // A plant starting up ramps its load and its concentrations for an hour or two: the running
        // mean is only taken once the unit has run for 'warmup_minutes', so a start-up is not a step.
        let warmup = Int64(catalogue.parameter("value.step-up", "warmup_minutes", 120) * 60_000)
        guard running, let since = unit.runningSince, r.dataTime - since >= warmup else {
            s.meanCount = 0
            s.mean = nil
            judge("value.step-up", code, &unit, mn: r.mn, active: false, time: r.dataTime, arrival: r.arrival, need: 1, clearMinutes: 0, events: &events) { ("", nil) }
            return
        }
        let ratio = catalogue.parameter("value.step-up", "ratio", 1.8)
        let settle = Int(catalogue.parameter("value.step-up", "settle_records", 9))
        var active = false
        var mean = 0.0
        if s.meanCount >= settle, let m = s.mean, m > 0 {
            mean = m
            active = v >= ratio * m && v >= catalogue.parameter("value.step-up", "min_of_limit", 0.5) * fp.limit!
        }
        let need = fp.cycleMinutes > 0 ? 1 : Int(catalogue.parameter("value.step-up", "minute_records", 2))
        judge("value.step-up", code, &unit, mn: r.mn, active: active, time: r.dataTime, arrival: r.arrival, need: need,
              clearMinutes: catalogue.parameter("value.step-up", "clear_minutes", 30), events: &events) {
            ("\(code) Avg = \(num(v)), \(num(v / mean)) × its running mean \(num(mean)) while the unit runs", v)
        }
        if !active && unit.latches["value.step-up|" + code]?.open == nil {
            let weight = min(1, Double(profile.minIntervalMinutes) / catalogue.parameter("value.step-up", "mean_minutes", 60))
            s.mean = s.mean.map { $0 + weight * (v - $0) } ?? v
            s.meanCount += 1
        }
    }

    /// Flow collapses while concentrations keep: the loads (Cou) fall (a bypass or a tampered flow meter).
    mutating func bypassRule(_ r: DataRecord, _ profile: UnitProfile, _ running: Bool, _ unit: inout UnitState, _ events: inout [AlarmEvent]) {
        guard catalogue.enabled("fraud.bypass"), let flowCode = profile.flowFactor, let flow = r.reading(flowCode)?.value else { return }
        let weight = min(1, Double(profile.minIntervalMinutes) / catalogue.parameter("fraud.bypass", "mean_minutes", 60))
        let drop = catalogue.parameter("fraud.bypass", "flow_drop", 0.45)
        let keep = catalogue.parameter("fraud.bypass", "concentration_keep", 0.9)
        var flowState = unit.factors["~" + flowCode] ?? FactorState()
        if !running {
            flowState.meanCount = 0
            unit.factors["~" + flowCode] = flowState
            judge("fraud.bypass", flowCode, &unit, mn: r.mn, active: false, time: r.dataTime, arrival: r.arrival, need: 1, clearMinutes: 0, events: &events) { ("", nil) }
            return
        }
        var active = false
        var evidence = ""
        var states: [(String, FactorState)] = []
        for f in profile.factors where f.limit != nil && f.code != flowCode {
            guard let c = r.reading(f.code)?.value, c > 0 else { continue }
            let s = unit.factors["~" + f.code] ?? FactorState()
            if flowState.meanCount >= 3, let fm = flowState.mean, fm > 0, let cm = s.mean, cm > 0,
               flow / fm < drop, c / cm >= keep {
                active = true
                if evidence.isEmpty {
                    evidence = "\(flowCode) \(num(flow)) = \(num(flow / fm * 100)) % of its running mean \(num(fm)); \(f.code) \(num(c)) = \(num(c / cm * 100)) % of its mean: the load (Cou) falls while the concentration keeps"
                }
            }
            states.append((f.code, s))
        }
        let flowRatio = flowState.mean.map { $0 > 0 ? flow / $0 : 1 } ?? 1
        judge("fraud.bypass", flowCode, &unit, mn: r.mn, active: active, time: r.dataTime, arrival: r.arrival,
              need: Int(catalogue.parameter("fraud.bypass", "minute_records", 2)),
              clearMinutes: catalogue.parameter("fraud.bypass", "clear_minutes", 30), events: &events) { (evidence, flowRatio) }
        // Running means follow the process only while nothing suspicious happens.
        let suspicious = active || unit.latches["fraud.bypass|" + flowCode]?.open != nil
        guard !suspicious else { return }
        flowState.mean = flowState.mean.map { $0 + weight * (flow - $0) } ?? flow
        flowState.meanCount += 1
        unit.factors["~" + flowCode] = flowState
        for (code, var s) in states {
            let c = r.reading(code)!.value!
            s.mean = s.mean.map { $0 + weight * (c - $0) } ?? c
            s.meanCount += 1
            unit.factors["~" + code] = s
        }
    }

    /// O₂ out of line with the process (dilution air, a lowered reading).
    mutating func o2Rule(_ r: DataRecord, _ profile: UnitProfile, _ running: Bool, _ unit: inout UnitState, _ events: inout [AlarmEvent]) {
        guard catalogue.enabled("process.o2-implausible"), let o2Code = profile.o2Factor, let o2 = r.reading(o2Code)?.value else { return }
        var s = unit.factors["~o2"] ?? FactorState()
        guard running else {
            s.meanCount = 0
            unit.factors["~o2"] = s
            judge("process.o2-implausible", o2Code, &unit, mn: r.mn, active: false, time: r.dataTime, arrival: r.arrival, need: 1, clearMinutes: 0, events: &events) { ("", nil) }
            return
        }
        let high = catalogue.parameter("process.o2-implausible", "high", 19)
        let shift = catalogue.parameter("process.o2-implausible", "shift_points", 2)
        // Judged at full load only: start-up and shut-down move O₂ between 20.6 % and its working level.
        let fullLoad: Bool = {
            guard let code = profile.flowFactor, let base = profile.factor(code)?.baseline, let flow = r.reading(code)?.value else { return false }
            return flow >= 0.7 * base
        }()
        if !fullLoad { s.meanCount = 0 }
        let flowSteady: Bool = {
            guard fullLoad, let code = profile.flowFactor, let flow = r.reading(code)?.value, let fm = unit.factors["~" + code]?.mean, fm > 0 else { return false }
            return abs(flow / fm - 1) < 0.25
        }()
        var active = o2 > high
        var evidence = "O₂ \(o2Code) = \(num(o2)) % while the unit runs (above \(num(high)) %): dilution air?"
        if !active, s.meanCount >= 6, let m = s.mean, flowSteady, abs(o2 - m) > shift {
            active = true
            evidence = "O₂ \(o2Code) = \(num(o2)) %, \(num(o2 - m)) points from its running mean \(num(m)) % with a steady flow: the converted (Zs) values move without the process"
        }
        judge("process.o2-implausible", o2Code, &unit, mn: r.mn, active: active, time: r.dataTime, arrival: r.arrival,
              need: Int(catalogue.parameter("process.o2-implausible", "minute_records", 2)),
              clearMinutes: catalogue.parameter("process.o2-implausible", "clear_minutes", 30), events: &events) { (evidence, o2) }
        if fullLoad && !active && unit.latches["process.o2-implausible|" + o2Code]?.open == nil {
            let weight = min(1, Double(profile.minIntervalMinutes) / catalogue.parameter("process.o2-implausible", "mean_minutes", 120))
            s.mean = s.mean.map { $0 + weight * (o2 - $0) } ?? o2
            s.meanCount += 1
        }
        unit.factors["~o2"] = s
    }
}

func pow10(_ n: Int) -> Double {
    var r = 1.0
    if n >= 0 { for _ in 0..<min(n, 30) { r *= 10 } } else { for _ in 0..<min(-n, 30) { r /= 10 } }
    return r
}
