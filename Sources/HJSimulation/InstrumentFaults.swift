import HJ212

/// Value-layer faults (instrument, fraud, process) acting on a logger's readings before
/// aggregation, and on the device parameters it uploads with 3020.
///
/// Faults act on what the instrument measured this sample (`FactorModel.trueReading`), never on
/// their own output of the previous sample, so a held reading of a cyclic analyser is not
/// transformed twice.
struct InstrumentFaults: Sendable {
    /// A spec bound to one factor of this logger.
    struct Binding: Sendable {
        var spec: Int
        var model: Int
        var key: String
    }

    let specs: [FaultSpec]
    let bindings: [Binding]
    let medium: UnitTemplate.Medium
    /// The analysers (PolIds of the template's information groups).
    let analysers: Set<String>
    let dynamicControl: DynamicControlProfile?
    /// The template's information groups (all that is read of the template after init: a copy
    /// of the whole template would add its size to every logger).
    let infoGroups: [UnitTemplate.InfoGroup]
    /// The faults whose window contains a time (by spec), and each spec's bindings (contiguous:
    /// bindings are made spec by spec). A sample looks only at these and at the active bindings.
    let schedule: WindowIndex
    let bindingsOfSpec: [Range<Int>]
    /// Per binding key: the reading frozen at activation (flatline) and the activation time.
    var frozen: [String: Double] = [:]
    var since: [String: Int64] = [:]
    /// Active bindings: by binding number, and their numbers in ascending order (the order in which
    /// they act on the readings).
    var isActive: [Bool]
    var activeList: [Int] = []
    var activations: [Int: Int] = [:]
    var records: [FaultRecord] = []
    /// The run stopped (`endActive`).
    var stopped = false
    /// Device parameters imposed by active faults, by "PolId|code".
    var info: [String: String] = [:]
    /// Which binding set which parameters (restored when it ends).
    var infoSetBy: [String: [String]] = [:]
    /// Parameters changed since the simulator last uploaded them: PolId ("" for none) and codes, in order.
    var changedInfo: [(polId: String, codes: [String])] = []
    /// Factors absent from records (missing-factor).
    var hidden: Set<String> = []
    /// Factors whose standard-sample check fails, with the deviation in %.
    var failingChecks: [String: Double] = [:]
    /// Factors whose failing check happens now (HJ 212-2025 sends a 2062).
    var checksNow: [String] = []

    static let implied: Set<FaultID> = [.o2Manipulation, .flowBypass, .furnaceLow]

    init(specs all: [FaultSpec], mn: String, template: UnitTemplate, models: [FactorModel], dynamicControl: DynamicControlProfile?) {
        let specs = all.filter { FaultDefinition.valueLayers.contains($0.layer) && $0.applies(to: mn) }
        self.specs = specs
        self.infoGroups = template.infoGroups
        self.medium = template.medium
        self.dynamicControl = dynamicControl
        // Only faults read it: a logger without value faults keeps no set (bench memory).
        analysers = specs.isEmpty ? [] : Set(template.infoGroups.compactMap(\.polId))
        var bindings: [Binding] = []
        var bindingsOfSpec: [Range<Int>] = []
        for (n, spec) in specs.enumerated() {
            let first = bindings.count
            defer { bindingsOfSpec.append(first..<bindings.count) }
            var code = spec.factor
            switch spec.id {
            case .o2Manipulation: code = template.o2Factor
            case .flowBypass: code = template.flowFactor
            case .furnaceLow: code = "a01901"
            default: break
            }
            if Self.implied.contains(spec.id) && code == nil { continue }
            for (i, m) in models.enumerated() where code == nil || code == m.code {
                bindings.append(Binding(spec: n, model: i, key: "\(n)|\(m.code)"))
            }
        }
        self.bindings = bindings
        self.bindingsOfSpec = bindingsOfSpec
        schedule = WindowIndex(specs.map(\.window))
        isActive = Array(repeating: false, count: bindings.count)
    }

    var isEmpty: Bool { bindings.isEmpty }

    /// Status codes of the flag faults: national i12001, Hebei water i12101 and gas i12007.
    static let statusCodes: [FaultID: (national: String, water: String, gas: String)] = [
        .calibration: ("3", "5", "3"), .maintenance: ("1", "3", "1"), .deviceFault: ("2", "4", "2"),
    ]

    /// The baseline of a dynamic-control parameter, when the profile has it as a number.
    func profileNumber(_ code: String) -> (value: Double, decimals: Int)? {
        for (_, values) in dynamicControl?.groups ?? [] {
            guard let v = values.first(where: { $0.code == code })?.value else { continue }
            switch v {
            case .number(let d, let decimals): return (d, decimals)
            case .varying(let b, _, let decimals): return (b, decimals)
            default: return nil
            }
        }
        return nil
    }

    func hasProfileCode(_ code: String) -> Bool { dynamicControl?.groups.contains { $0.values.contains { $0.code == code } } ?? false }

    /// The device parameters a fault imposes on a factor while it is active.
    func infoEffects(_ spec: FaultSpec, _ m: FactorModel, at t: Int64) -> [(polId: String, code: String, value: String)] {
        let pol = m.code
        switch spec.id {
        case .calibration, .maintenance, .deviceFault:
            let s = Self.statusCodes[spec.id]!
            var out = [(pol, "i12001", s.national)]
            if analysers.contains(pol) {
                if medium == .water, hasProfileCode("i12101") { out.append((pol, "i12101", s.water)) }
                if medium == .gas, hasProfileCode("i12007") { out.append((pol, "i12007", s.gas)) }
            }
            return out
        case .standardCheckFail:
            guard analysers.contains(pol), hasProfileCode("i13129") else { return [] }
            return [(pol, "i13128", HJTime(wallMilliseconds: t).text14), (pol, "i13129", ValueFormat.fixed(spec.parameter("deviation"), decimals: 1))]
        case .parameterTampering:
            let codes = medium == .water ? (slope: "i13008", intercept: "i13007", range: "i13116") : (slope: "i13026", intercept: "i13022", range: "i13013")
            let slope = profileNumber(codes.slope) ?? (1, 3)
            let intercept = profileNumber(codes.intercept) ?? (0, 3)
            var out = [(pol, codes.slope, ValueFormat.fixed(slope.value * spec.parameter("slope", default: 1), decimals: max(3, slope.decimals))),
                       (pol, codes.intercept, ValueFormat.fixed(intercept.value + spec.parameter("intercept"), decimals: max(3, intercept.decimals)))]
            if spec.parameter("range") > 0 { out.append((pol, codes.range, ValueFormat.fixed(spec.parameter("range"), decimals: 0))) }
            return out
        case .furnaceLow:
            let ratio = spec.parameter("temperature", default: 820) / max(1, m.baseline)
            var out: [(String, String, String)] = []
            for group in infoGroups where group.polId == nil {
                for (code, value) in group.values where code.hasPrefix("i333") {
                    if case .varying(let b, _, let d) = value { out.append(("", code, ValueFormat.fixed(b * ratio, decimals: d))) }
                    if case .number(let b, let d) = value { out.append(("", code, ValueFormat.fixed(b * ratio, decimals: d))) }
                }
            }
            return out
        default:
            return []
        }
    }

    mutating func noteChanged(_ polId: String, _ code: String) {
        if let i = changedInfo.firstIndex(where: { $0.polId == polId }) {
            if !changedInfo[i].codes.contains(code) { changedInfo[i].codes.append(code) }
        } else {
            changedInfo.append((polId, [code]))
        }
    }

    /// The bindings an update at `t` can change, ascending: those of the faults whose window
    /// contains `t` (or that have none), and the active ones (which end when their window no
    /// longer contains `t`). Every other binding is off and stays off at `t`.
    func candidates(at t: Int64) -> [Int] {
        var live: [Int] = []
        for s in schedule.active(at: t) { live.append(contentsOf: bindingsOfSpec[s]) }
        if activeList.isEmpty { return live }
        var out: [Int] = []
        out.reserveCapacity(live.count + activeList.count)
        var i = 0, j = 0
        while i < live.count || j < activeList.count {
            if j == activeList.count || (i < live.count && live[i] < activeList[j]) {
                out.append(live[i]); i += 1
            } else {
                if i < live.count && live[i] == activeList[j] { i += 1 }
                out.append(activeList[j]); j += 1
            }
        }
        return out
    }

    /// Before the process step: activations and ends (ground truth, parameters), process targets.
    mutating func update(_ models: inout [FactorModel], at t: Int64, mn: String) {
        for n in candidates(at: t) {
            let b = bindings[n]
            let spec = specs[b.spec]
            var on = spec.window?.contains(t) ?? true
            let wasOn = isActive[n]
            if on && !wasOn, let limit = spec.limit, activations[b.spec, default: 0] >= limit { on = false }
            if on == wasOn {
                if on && spec.id == .furnaceLow { models[b.model].processTarget = spec.parameter("temperature", default: 820) }
                continue
            }
            let code = models[b.model].code
            if on {
                isActive[n] = true
                activeList.insert(n, at: Self.insertionPoint(of: n, in: activeList))
                activations[b.spec, default: 0] += 1
                since[b.key] = t
                records.append(FaultRecord(time: t, mn: mn, fault: spec.id, cn: "", qn: "", detail: spec.describe(from: t), layer: spec.layer, factor: code))
                var set: [String] = []
                for (pol, c, v) in infoEffects(spec, models[b.model], at: t) {
                    info["\(pol)|\(c)"] = v
                    set.append("\(pol)|\(c)")
                    noteChanged(pol, c)
                }
                infoSetBy[b.key] = set
                switch spec.id {
                case .missingFactor: hidden.insert(code)
                case .standardCheckFail:
                    failingChecks[code] = spec.parameter("deviation", default: 18)
                    checksNow.append(code)
                case .furnaceLow: models[b.model].processTarget = spec.parameter("temperature", default: 820)
                default: break
                }
            } else {
                isActive[n] = false
                activeList.remove(at: Self.insertionPoint(of: n, in: activeList))
                frozen[b.key] = nil
                for k in infoSetBy.removeValue(forKey: b.key) ?? [] {
                    info[k] = nil
                    let parts = k.split(separator: "|", maxSplits: 1, omittingEmptySubsequences: false)
                    noteChanged(String(parts[0]), String(parts[1]))
                }
                switch spec.id {
                case .missingFactor: hidden.remove(code)
                case .standardCheckFail: failingChecks[code] = nil
                case .furnaceLow: models[b.model].processTarget = nil
                default: break
                }
            }
        }
    }

    /// The run stops at `t`: one `ends` record per binding still acting (its activation record
    /// gave the planned window, which the run did not reach). Once only: the faults stay as they
    /// are, nothing runs after a stop.
    mutating func endActive(at t: Int64, mn: String, models: [FactorModel]) {
        guard !stopped else { return }
        stopped = true
        for n in activeList {
            let b = bindings[n]
            let spec = specs[b.spec]
            if let w = spec.window, w.upperBound <= t { continue }    // ends as planned, at the stop or before it
            let planned = spec.describe(from: since[b.key] ?? t)
            var r = FaultRecord(time: t, mn: mn, fault: spec.id, cn: "", qn: "",
                                detail: "the run stopped at \(HJTime(wallMilliseconds: t).description) while it acted (planned: \(planned))",
                                layer: spec.layer, factor: models[b.model].code)
            r.ends = true
            records.append(r)
        }
    }

    /// Where `n` is or goes in the ascending list.
    static func insertionPoint(of n: Int, in list: [Int]) -> Int {
        var lo = 0, hi = list.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if list[mid] < n { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// After the process step: the readings and flags of the active faults.
    mutating func apply(_ models: inout [FactorModel], at t: Int64, random: inout SimRandom) {
        for i in models.indices {
            models[i].reading = models[i].trueReading
            models[i].flag = models[i].trueFlag
        }
        for n in activeList {
            let b = bindings[n]
            let spec = specs[b.spec]
            var m = models[b.model]
            switch spec.id {
            case .flatline:
                if frozen[b.key] == nil { frozen[b.key] = m.reading }
                m.reading = frozen[b.key]!
            case .underLimit:
                if let limit = m.limit { m.reading = limit * (0.96 + 0.02 * random.unit()) }
            case .drift:
                let start = spec.window?.lowerBound ?? since[b.key] ?? t
                m.reading *= 1 + 0.05 * Double(t - start) / 3_600_000
            case .spike:
                if random.unit() < 0.02 { m.reading *= 4 }
            case .levelShift: m.reading *= spec.parameter("scale", default: 1.5)
            case .negative: m.reading = -abs(m.reading) - 0.1
            case .overRange: m.reading = m.rangeMax; m.flag = UInt8(ascii: "T")
            case .calibration: m.flag = UInt8(ascii: "C")
            case .maintenance: m.flag = UInt8(ascii: "M")
            case .deviceFault: m.flag = UInt8(ascii: "D")
            case .stopped: m.flag = UInt8(ascii: "F")
            case .commLoss: m.flag = UInt8(ascii: "B")
            case .manual: m.flag = UInt8(ascii: "S")
            case .parameterTampering:
                m.reading = m.reading * spec.parameter("slope", default: 1) + spec.parameter("intercept")
                let range = spec.parameter("range")
                if range > 0 { m.reading = Swift.min(m.reading, range) }
            case .o2Manipulation: m.reading = Swift.max(0.1, m.reading - spec.parameter("points", default: 3))
            case .flowBypass: m.reading *= spec.parameter("fraction", default: 0.3)
            default: break
            }
            models[b.model] = m
        }
    }
}

