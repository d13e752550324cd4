import HJ212

/// The unit's information codes (3020, 设备运行参数): their current values for a request, the
/// draws those values take from the simulator's noise, and the 3020 uploads the simulator sends
/// on its own (at boot, hourly, daily, and when a fault changes a value).
extension UnitSimulator {
    /// The current value of an information code (for a 3020 request), or nil when the unit has none.
    public mutating func infoValue(polId: String?, code: String, at t: Int64) -> String? {
        if let v = infoOverride(polId, code) { return v }
        guard let v = templateInfoValue(polId, code) else { return nil }
        return Self.infoText(v, at: t, start: start, random: &infoNoise)
    }

    /// Whether `infoValue(polId:code:at:)` draws from the simulator's noise now: a varying value
    /// of the template that no override replaces. Only `advance` and a change of `infoOverrides`
    /// change the answer.
    ///
    /// The draws come from the generator the fault models use too. A caller that resolves
    /// information values only when it needs them (the emulated instruments) makes, for each
    /// value it skips that draws, the draw `infoValue` would have made (`skipInfoDraw`), so that
    /// every later value and fault is that of the same run.
    public func infoValueDraws(polId: String?, code: String) -> Bool {
        guard infoOverride(polId, code) == nil, case .varying? = templateInfoValue(polId, code) else { return false }
        return true
    }

    /// The draw `infoValue` makes for a value for which `infoValueDraws` is true (one Gaussian,
    /// `infoText`), without building the value.
    public mutating func skipInfoDraw() { _ = infoNoise.gaussian() }

    /// The template's value of an information code (its group's, else the dynamic-control
    /// profile's for an analyser of the template), before any override.
    func templateInfoValue(_ polId: String?, _ code: String) -> UnitTemplate.InfoValue? {
        for group in template.infoGroups where group.polId == polId {
            if let v = group.values.first(where: { $0.code == code })?.value { return v }
        }
        if let polId, template.infoGroups.contains(where: { $0.polId == polId }), let dc = dynamicControl {
            for (_, values) in dc.groups {
                if let v = values.first(where: { $0.code == code })?.value { return v }
            }
        }
        return nil
    }

    /// A parameter value set by an active fault, or by the platform (3021).
    func infoOverride(_ polId: String?, _ code: String) -> String? {
        let key = "\(polId ?? "")|\(code)"
        if !instrumentFaults.info.isEmpty, let v = instrumentFaults.info[key] { return v }
        if let v = infoOverrides[key] { return v }
        return readInfo.isEmpty ? nil : readInfo[key]
    }

    /// 3020 uploads of the parameters a fault changed, when they change (a working state going to
    /// calibration and back, a tampered slope, a failed check), and HJ 212-2025 2062 for a
    /// standard-sample check failing now.
    mutating func faultInfoPackets(at t: Int64, _ out: (GeneratedPacket) -> Void) {
        let changed = instrumentFaults.changedInfo
        instrumentFaults.changedInfo = []
        for (polId, codes) in changed {
            var cp: [[Field]] = [[Field("DataTime", Self.time14(t))]]
            if !polId.isEmpty { cp.append([Field("PolId", polId)]) }
            for code in codes {
                // Ended: back to the template's value (a working state with no template value is 0, normal).
                let value = infoValue(polId: polId.isEmpty ? nil : polId, code: code, at: t)
                    ?? (["i12001", "i12101", "i12007"].contains(code) ? (code == "i12101" ? "1" : "0") : nil)
                if let value { cp.append([Field("\(code)-Info", value)]) }
            }
            if cp.count > (polId.isEmpty ? 1 : 2) { emit(packet(.loggerInfo, at: t, cp: cp), out) }
        }
        let checks = instrumentFaults.checksNow
        instrumentFaults.checksNow = []
        if options.dialect == .hj2025 { for code in checks { standardChecks(at: t, only: code, out) } }
    }

    /// The text of an information value at t. Static: called with `&infoNoise`, an instance
    /// method would have the whole simulator copied for each value (exclusive access to self).
    static func infoText(_ value: UnitTemplate.InfoValue, at t: Int64, start: Int64, random: inout SimRandom) -> String {
        switch value {
        case .number(let d, let decimals): return ValueFormat.fixed(d, decimals: decimals)
        case .text(let s):
            switch s {
            case "@calibration_time": return time14(lastDaily(t, hour: 2))
            case "@check_time": return time14(lastDaily(t, hour: 3))
            default: return s
            }
        case .varying(let baseline, let noise, let decimals):
            return ValueFormat.fixed(baseline * (1 + noise * random.gaussian()), decimals: decimals)
        case .counter(let perHour, let startValue, let decimals):
            return ValueFormat.fixed(startValue + perHour * Double(t - start) / 3_600_000, decimals: decimals)
        }
    }

    /// The most recent daily event at `hour` o'clock at or before t.
    static func lastDaily(_ t: Int64, hour: Int64) -> Int64 {
        let day = (t / dayMs) * dayMs
        let candidate = day + hour * hourMs
        return candidate <= t ? candidate : candidate - dayMs
    }

    /// 3020 uploads: the template's information groups every `info.interval_minutes`; the
    /// dynamic-control groups with their own rhythm: run parameters with the information, the
    /// calibration parameters after the daily calibration (02:00), the standard-sample check after
    /// the daily check (03:00), the work parameters at midnight; everything at boot.
    /// Whether `infoPackets` (not at boot) has anything to send at a minute: the information
    /// interval, or one of the dynamic-control times (00:00, 02:00, 03:00). Asked first, so that
    /// the other minutes of the day cost nothing.
    func infoMayBeDue(at t: Int64) -> Bool {
        if t % (Int64(template.infoIntervalMinutes) * Self.minuteMs) == 0 { return true }
        guard dynamicControl != nil else { return false }
        let timeOfDay = (t % Self.dayMs + Self.dayMs) % Self.dayMs
        return timeOfDay == 0 || timeOfDay == 2 * Self.hourMs || timeOfDay == 3 * Self.hourMs
    }

    mutating func infoPackets(at t: Int64, boot: Bool = false, _ out: (GeneratedPacket) -> Void) {
        let periodic = boot || t % (Int64(template.infoIntervalMinutes) * Self.minuteMs) == 0
        if periodic {
            for group in template.infoGroups {
                var cp: [[Field]] = [[Field("DataTime", Self.time14(t))]]
                if let p = group.polId { cp.append([Field("PolId", p)]) }
                for (code, value) in group.values where !awaitingRead(group.polId, code) {
                    let text = infoOverride(group.polId, code) ?? Self.infoText(value, at: t, start: start, random: &infoNoise)
                    cp.append([Field("\(code)-Info", text)])
                }
                // Parameters a fault imposes that the group does not carry (tampering on a unit
                // without dynamic-control codes, a working state of an analyser).
                if !instrumentFaults.info.isEmpty {
                    let prefix = (group.polId ?? "") + "|"
                    for (key, value) in instrumentFaults.info.sorted(by: { $0.key < $1.key }) where key.hasPrefix(prefix) {
                        let code = String(key.dropFirst(prefix.count))
                        if !group.values.contains(where: { $0.code == code }) && !(dynamicControl?.groups.contains { $0.values.contains { $0.code == code } } ?? false) {
                            cp.append([Field("\(code)-Info", value)])
                        }
                    }
                }
                emit(packet(.loggerInfo, at: t, cp: cp), out)
            }
        }
        guard let dc = dynamicControl else { return }
        let timeOfDay = (t % Self.dayMs + Self.dayMs) % Self.dayMs
        let analysers = template.infoGroups.compactMap(\.polId)
        for (name, values) in dc.groups where !values.isEmpty {
            let due: Bool
            switch name {
            case "run": due = periodic
            case "calibration": due = boot || timeOfDay == 2 * Self.hourMs
            case "standard_check": due = boot || timeOfDay == 3 * Self.hourMs
            default: due = boot || timeOfDay == 0
            }
            guard due else { continue }
            for polId in analysers {
                var cp: [[Field]] = [[Field("DataTime", Self.time14(t))], [Field("PolId", polId)]]
                for (code, value) in values where !awaitingRead(polId, code) {
                    cp.append([Field("\(code)-Info", infoOverride(polId, code) ?? Self.infoText(value, at: t, start: start, random: &infoNoise))])
                }
                if cp.count > 2 { emit(packet(.loggerInfo, at: t, cp: cp), out) }
            }
        }
    }
}
