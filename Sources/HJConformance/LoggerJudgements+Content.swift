import HJ212
import HJSimulation

/// The passive judgements of `check logger` on what the records carry: the unit's factors, the
/// aggregates against their real-time values, ZsAvg, and Jiangsu's dynamic control (the others are
/// in LoggerJudgements.swift).
extension LoggerCheckRunner {
    // MARK: Content

    func judgeFactors(_ s: RecordStreams) {
        guard let template else {
            skip(RuleID.loggerFactors, "no unit kind: give --unit (no template has all its factors in what was sent)")
            skip(RuleID.loggerFields, "no unit kind: give --unit")
            return
        }
        let how = templateInferred ? "inferred unit \(template.name)" : "unit \(template.name)"
        var missing: [(Int, String)] = []
        var incomplete: [(Int, String)] = []
        var judged = 0
        for (code, suffixes) in [(CommandCode.realTimeData, ["Rtd", "Flag"]), (.minuteData, ["Avg", "Flag"]), (.hourData, ["Avg", "Flag"]), (.dailyData, ["Avg", "Flag"])] {
            let cn = code.rawValue
            for r in s.records(code) where r.segment.st == template.st {
                judged += 1
                let f = r.factors
                for factor in template.factors {
                    let lacking = suffixes.filter { f[factor.code]?[$0] == nil }
                    if !lacking.isEmpty { missing.append((r.frameIndex, "\(cn) \(HJTime(wallMilliseconds: r.dataTime).text14) lacks \(lacking.map { "\(factor.code)-\($0)" }.joined(separator: ", "))")) }
                }
                guard code != .realTimeData else { continue }
                for factor in template.factors {
                    var want = ["Min", "Max"]
                    if factor.code == template.flowFactor { want.append("Cou") }
                    if factor.zs { want.append("ZsAvg") }
                    let lacking = want.filter { f[factor.code]?[$0] == nil }
                    if !lacking.isEmpty { incomplete.append((r.frameIndex, "\(cn) lacks \(lacking.map { "\(factor.code)-\($0)" }.joined(separator: ", "))")) }
                }
            }
        }
        guard judged > 0 else {
            skip(RuleID.loggerFactors, "no 2011/2051/2061/2031 with ST \(template.st) received")
            skip(RuleID.loggerFields, "no 2051/2061/2031 received")
            return
        }
        if missing.isEmpty { pass(RuleID.loggerFactors, "\(judged) records carry all \(template.factors.count) factors of the \(how)") }
        else { fail(RuleID.loggerFactors, "\(missing.count) missing value(s) for the \(how): \(missing[0].1)", wire: probe.wire(of: missing.map(\.0))) }
        if incomplete.isEmpty { pass(RuleID.loggerFields, "Min, Max, Cou and converted values present") }
        else { fail(RuleID.loggerFields, "\(incomplete.count) incomplete statistic(s): \(incomplete[0].1)", wire: probe.wire(of: incomplete.map(\.0))) }
    }

    // MARK: Aggregation

    /// Tolerance: 1 % plus three units of the last printed digit.
    static func close(_ a: Double, _ b: Double, text: String, rel: Double = 0.01, units: Double = 3) -> Bool {
        let decimals = text.split(separator: ".").dropFirst().first?.count ?? 0
        var unit = 1.0
        for _ in 0..<decimals { unit /= 10 }
        return abs(a - b) <= rel * max(abs(a), abs(b)) + units * unit
    }

    func judgeAggregation(_ s: RecordStreams) {
        let minutes = s.records(.minuteData), hours = s.records(.hourData), days = s.records(.dailyData)
        let water = template.map { $0.medium == .water } ?? (st == "32" || st.hasPrefix("2") == false && st != "31")
        let flow = template?.flowFactor ?? (water ? "w00000" : "a00000")
        var hourProblems: [(Int, String)] = [], couProblems: [(Int, String)] = [], flagProblems: [(Int, String)] = []
        var hoursJudged = 0, daysJudged = 0
        func compare(_ parent: LiveRecord, _ children: [LiveRecord], _ label: String, _ problems: inout [(Int, String)]) {
            for (code, fields) in parent.factors {
                if let text = fields["Min"], let v = Double(text) {
                    let mins = children.compactMap { $0.number(code, "Min") }
                    if mins.count == children.count, let m = mins.min(), !Self.close(v, m, text: text) { problems.append((parent.frameIndex, "\(label) \(code)-Min=\(text), least sub-period Min \(m)")) }
                }
                if let text = fields["Max"], let v = Double(text) {
                    let maxs = children.compactMap { $0.number(code, "Max") }
                    if maxs.count == children.count, let m = maxs.max(), !Self.close(v, m, text: text) { problems.append((parent.frameIndex, "\(label) \(code)-Max=\(text), greatest sub-period Max \(m)")) }
                }
                if let text = fields["Avg"], let v = Double(text) {
                    let avgs = children.compactMap { $0.number(code, "Avg") }
                    guard avgs.count == children.count, !avgs.isEmpty else { continue }
                    var candidates = [avgs.reduce(0, +) / Double(avgs.count)]
                    let volumes = children.compactMap { $0.number(flow, "Cou") }
                    if volumes.count == children.count, volumes.reduce(0, +) > 0 {
                        candidates.append(zip(avgs, volumes).map { $0 * $1 }.reduce(0, +) / volumes.reduce(0, +))
                    }
                    let normal = children.filter { $0.segment.cpValue("\(code)-Flag") == "N" }.compactMap { $0.number(code, "Avg") }
                    if !normal.isEmpty { candidates.append(normal.reduce(0, +) / Double(normal.count)) }
                    if !candidates.contains(where: { Self.close(v, $0, text: text) }) {
                        problems.append((parent.frameIndex, "\(label) \(code)-Avg=\(text), sub-period mean \(String(format: "%.4g", candidates[0]))" + (candidates.count > 1 ? " (flow-weighted \(String(format: "%.4g", candidates[1])))" : "")))
                    }
                }
                if let text = fields["Cou"], let v = Double(text) {
                    let cous = children.compactMap { $0.number(code, "Cou") }
                    if cous.count == children.count {
                        let sum = cous.reduce(0, +)
                        if !Self.close(v, sum, text: text, units: 3 + Double(children.count)) { couProblems.append((parent.frameIndex, "\(label) \(code)-Cou=\(text), sum of sub-periods \(String(format: "%.6g", sum))")) }
                    }
                }
                if let flag = fields["Flag"] {
                    let flags = children.compactMap { $0.segment.cpValue("\(code)-Flag") }
                    guard flags.count == children.count else { continue }
                    let normal = flags.filter { $0 == "N" }.count
                    if normal == flags.count && flag != "N" { flagProblems.append((parent.frameIndex, "\(label) \(code)-Flag=\(flag) although every sub-period is N")) }
                    else if water && normal < flags.count && flag == "N" { flagProblems.append((parent.frameIndex, "\(label) \(code)-Flag=N although \(flags.count - normal) sub-period(s) are abnormal")) }
                    else if !water && Double(normal) < 0.75 * Double(flags.count) && flag == "N" { flagProblems.append((parent.frameIndex, "\(label) \(code)-Flag=N with only \(normal) of \(flags.count) sub-periods normal")) }
                }
            }
        }
        if let step = minInterval ?? modalStep(.minuteData), step > 0, 3_600_000 % step == 0 {
            let per = Int(3_600_000 / step)
            for h in hours {
                let kids = minutes.filter { $0.dataTime >= h.dataTime && $0.dataTime < h.dataTime + 3_600_000 }
                guard kids.count == per else { continue }
                hoursJudged += 1
                compare(h, kids, "hour \(HJTime(wallMilliseconds: h.dataTime).text14)", &hourProblems)
            }
        }
        var dayProblems: [(Int, String)] = []
        for d in days {
            let kids = hours.filter { $0.dataTime >= d.dataTime && $0.dataTime < d.dataTime + 86_400_000 }
            guard kids.count == 24 else { continue }
            daysJudged += 1
            compare(d, kids, "day \(HJTime(wallMilliseconds: d.dataTime).text14)", &dayProblems)
        }
        func verdict(_ id: RuleID, _ problems: [(Int, String)], judged: Int, what: String) {
            if judged == 0 { skip(id, "no complete \(what) (all its sub-period records) in the window") }
            else if problems.isEmpty { pass(id, "\(judged) \(what)(s) consistent") }
            else { fail(id, "\(problems.count) inconsistenc(ies) over \(judged) \(what)(s): \(problems.prefix(2).map(\.1).joined(separator: "; "))", wire: probe.wire(of: problems.map(\.0), limit: 4)) }
        }
        verdict(RuleID.loggerAggHour, hourProblems, judged: hoursJudged, what: "hour")
        verdict(RuleID.loggerAggDay, dayProblems, judged: daysJudged, what: "day")
        verdict(RuleID.loggerAggCou, couProblems, judged: hoursJudged + daysJudged, what: "hour or day")
        verdict(RuleID.loggerAggFlag, flagProblems, judged: hoursJudged + daysJudged, what: "hour or day")
        judgeZs(minutes + hours + days)
    }

    func judgeZs(_ records: [LiveRecord]) {
        guard wants(RuleID.loggerAggZs) else { return }
        if templateAmbiguous, let t = template {
            skip(RuleID.loggerAggZs, "the unit kind was inferred (\(t.name)) but other templates with other reference O₂ fit as well: give --unit")
            return
        }
        guard let template, let ref = template.referenceO2, let o2 = template.o2Factor else {
            skip(RuleID.loggerAggZs, template == nil ? "no unit kind (give --unit)" : "the unit kind has no reference O₂")
            return
        }
        var judged = 0
        var problems: [(Int, String)] = []
        for r in records {
            guard let o = r.number(o2, "Avg"), o < 19 else { continue }  // a stopped plant (O₂ near air) is not judged
            for (code, fields) in r.factors {
                guard let zsText = fields["ZsAvg"], let zs = Double(zsText), let avg = r.number(code, "Avg") else { continue }
                judged += 1
                let expected = avg * (21 - ref) / (21 - o)
                if !Self.close(zs, expected, text: zsText, rel: 0.03) {
                    problems.append((r.frameIndex, "\(r.cn) \(HJTime(wallMilliseconds: r.dataTime).text14) \(code)-ZsAvg=\(zsText), Avg × (21 − \(fmt(ref)))/(21 − \(o)) = \(String(format: "%.4g", expected))"))
                }
            }
        }
        if judged == 0 { skip(RuleID.loggerAggZs, "no ZsAvg with a running-plant O₂ received") }
        else if problems.isEmpty { pass(RuleID.loggerAggZs, "\(judged) converted values match reference O₂ \(fmt(ref)) %") }
        else { fail(RuleID.loggerAggZs, "\(problems.count) of \(judged) converted values off: \(problems[0].1)", wire: probe.wire(of: problems.map(\.0), limit: 4)) }
    }

    // MARK: Dynamic control (profile jiangsu)

    var dynamicProfile: DynamicControlProfile? {
        let name = template?.dynamicControl ?? (st == "31" ? "hebei-gas" : "hebei-water")
        return try? DynamicControlProfile.load(name)
    }

    func judgeDynamicUploads() {
        guard wants(RuleID.loggerDynRun, RuleID.loggerDynCal) else { return }
        guard let profile = dynamicProfile else { skip(RuleID.loggerDynRun, "no dynamic-control profile"); skip(RuleID.loggerDynCal, "no dynamic-control profile"); return }
        var byPol: [String: Set<String>] = [:]
        for f in probe.frames where f.role == .upload && f.command == .loggerInfo {
            guard let pol = f.segment.cpValue("PolId") else { continue }
            for field in f.segment.cpFields where field.name.hasSuffix("-Info") { byPol[pol, default: []].insert(String(field.name.dropLast(5))) }
        }
        func judge(_ id: RuleID, groups: [String]) {
            let codes = profile.groups.filter { groups.contains($0.name) }.flatMap { $0.values.map(\.code) }
            guard !codes.isEmpty else { skip(id, "the profile \(profile.name) has no such group"); return }
            guard !byPol.isEmpty else { fail(id, "no 3020 with a PolId (analyser information) during the run"); return }
            var lacking: [String] = []
            for (pol, seen) in byPol.sorted(by: { $0.key < $1.key }) {
                let missing = codes.filter { !seen.contains($0) }
                if !missing.isEmpty { lacking.append("\(pol) lacks \(missing.prefix(5).joined(separator: ", "))") }
            }
            if lacking.isEmpty { pass(id, "\(byPol.count) analyser(s) report \(groups.joined(separator: "/")) codes of \(profile.name)") }
            else { fail(id, "\(lacking.count) of \(byPol.count) analyser(s): \(lacking.prefix(3).joined(separator: "; "))") }
        }
        judge(RuleID.loggerDynRun, groups: ["run"])
        judge(RuleID.loggerDynCal, groups: ["calibration", "standard_check"])
    }

    func dynamicQuery() {
        guard let profile = dynamicProfile, let code = profile.groups.first(where: { $0.name == "run" })?.values.first?.code else {
            skip(RuleID.loggerDynQuery, "no dynamic-control profile")
            return
        }
        let pol = probe.frames.first { $0.role == .upload && $0.command == .loggerInfo && $0.segment.cpValue("PolId") != nil }?.segment.cpValue("PolId")
            ?? template?.infoGroups.compactMap(\.polId).first
        guard let pol else { skip(RuleID.loggerDynQuery, "no analyser PolId known"); return }
        let x = request(.loggerInfo, [[Field("PolId", pol)], [Field("InfoId", code)]])
        if x.ok, let v = x.responses.first(where: { $0.command == .loggerInfo })?.segment.cpValue("\(code)-Info") { pass(RuleID.loggerDynQuery, "PolId=\(pol) \(code)=\(v)") }
        else { fail(RuleID.loggerDynQuery, "3020 PolId=\(pol) InfoId=\(code): expected a 3020 with \(code)-Info and ExeRtn=1; got \(x.summary)", wire: x.wire) }
    }
}
