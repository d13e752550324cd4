import HJ212

/// Rules over 3020 device information: analyser parameters, standard checks, calibrations.
extension Analyzer {
    static let slopeCodes: Set<String> = ["i13008", "i13026"]
    static let interceptCodes: Set<String> = ["i13007", "i13022"]
    static let rangeCodes: Set<String> = ["i13001", "i13116", "i13013"]
    static let parameterNames: [String: String] = [
        "i13008": "slope 斜率", "i13026": "slope 斜率", "i13007": "intercept 截距", "i13022": "intercept 截距",
        "i13001": "range 量程", "i13116": "range 量程", "i13013": "range 量程",
    ]

    mutating func infoRules(_ r: InfoRecord, _ unit: inout UnitState, _ events: inout [AlarmEvent]) {
        // Calibration state and schedule first: several codes of one PolId come in one packet.
        var calibrating: [String: Bool] = [:]
        for (polId, code, text) in r.values {
            guard let pol = polId else { continue }
            if code == "i12001" { calibrating[pol] = (calibrating[pol] ?? false) || text == "3" }
            if code == "i12101" { calibrating[pol] = (calibrating[pol] ?? false) || text == "5" }
            if code == "i12007" { calibrating[pol] = (calibrating[pol] ?? false) || text == "3" }
        }
        for (polId, code, text) in r.values {
            let pol = polId ?? ""
            if (code == "i13101" || code == "i13021"), calibrating[pol] != true, unit.calibrationSchedule[pol] == nil,
               let t = HJTime(text), t.isValid {
                unit.calibrationSchedule[pol] = t.hour * 60 + t.minute
            }
            guard let v = Double(text), v.isFinite else { continue }
            let key = pol + "|" + code
            let previous = unit.info[key]
            if previous != nil || unit.info.count < budget.maxInfoCodesPerUnit { unit.info[key] = v }
            if let old = previous {
                parameterChange(r, pol, code, old, v, &unit, &events)
            }
            if code == "i13129" {
                let tolerance = catalogue.parameter("analyser.standard-check", "tolerance", 10)
                let failed = abs(v) > tolerance
                judge("analyser.standard-check", pol, &unit, mn: r.mn, active: failed, time: r.dataTime, arrival: r.arrival, need: 1, clearMinutes: 0, events: &events) {
                    ("\(pol) standard-sample check deviation i13129 = \(num(v)) %, tolerance \(num(tolerance)) %", v)
                }
            }
        }
        for (pol, isCalibrating) in calibrating {
            var unscheduled = false
            var evidence = ""
            if isCalibrating, let scheduled = unit.calibrationSchedule[pol] {
                let t = HJTime(wallMilliseconds: r.dataTime)
                let now = t.hour * 60 + t.minute
                let distance = min(abs(now - scheduled), 1440 - abs(now - scheduled))
                let window = Int(catalogue.parameter("analyser.calibration-unscheduled", "window_minutes", 60))
                unscheduled = distance > window
                evidence = "\(pol) in calibration (working state 校准) at \(t.description), \(distance) min from its scheduled time \(String(format2: scheduled / 60)):\(String(format2: scheduled % 60))"
            }
            judge("analyser.calibration-unscheduled", pol, &unit, mn: r.mn, active: unscheduled, time: r.dataTime, arrival: r.arrival, need: 1, clearMinutes: 0, events: &events) {
                (evidence, nil)
            }
        }
    }

    mutating func parameterChange(_ r: InfoRecord, _ pol: String, _ code: String, _ old: Double, _ new: Double, _ unit: inout UnitState, _ events: inout [AlarmEvent]) {
        var changed = false
        if Self.slopeCodes.contains(code) {
            changed = old != 0 && abs(new / old - 1) > catalogue.parameter("analyser.parameter-change", "slope_change", 0.1)
        } else if Self.interceptCodes.contains(code) {
            let range = unit.profile?.factor(pol)?.rangeMax ?? unit.info[pol + "|i13001"] ?? 100
            let threshold = max(catalogue.parameter("analyser.parameter-change", "intercept_change", 0.006) * range,
                                catalogue.parameter("analyser.parameter-change", "intercept_change_min", 1.5))
            changed = abs(new - old) > threshold
        } else if Self.rangeCodes.contains(code) {
            changed = new != old
        }
        guard changed else { return }
        instant("analyser.parameter-change", pol.isEmpty ? nil : pol, mn: r.mn, start: r.dataTime, end: r.dataTime, arrival: r.arrival,
                evidence: "\(pol) \(code) \(Self.parameterNames[code] ?? "") changed from \(num(old)) to \(num(new)) (3020)", value: new, events: &events)
    }
}

extension String {
    /// Two digits, zero-padded.
    init(format2 n: Int) {
        self = n < 10 && n >= 0 ? "0\(n)" : "\(n)"
    }
}
