import HJ212

/// One fault of `Profiles/faults/catalogue.json`: its stable ID, layer, names, what factor it
/// takes and its parameters with their defaults.
public struct FaultDefinition: Sendable, Hashable {
    public var id: String
    /// `protocol`, `transport`, `instrument`, `fraud` or `process`.
    public var layer: String
    public var zh: String
    public var en: String
    /// `none`, `any` (omitted: every factor), `required`, or `implied: …` (chosen by the unit).
    public var factor: String
    /// Parameter names and default values, in catalogue order.
    public var parameters: [String: Double]
    public var parameterOrder: [String]
    /// What should detect it (a lint rule, a platform counter …).
    public var detects: String

    /// Layers whose faults act on a logger's values inside the simulator.
    public static let valueLayers: Set<String> = ["instrument", "fraud", "process"]
    public static let layers: Set<String> = ["protocol", "transport", "instrument", "fraud", "process"]
}

/// One entry of `--faults`: `ID[:FACTOR][(NAME=VALUE;…)][%RATE][#COUNT][@START/DURATION]`, e.g.
/// `crc-mismatch%5` (5 % of packets), `no-crlf@2026-11-30T10:00/30m` (every packet in that
/// window), `flow-bypass(fraction=0.2)@…`, `crc-modbus#1` (the first eligible packet only).
public struct FaultSpec: Sendable, Hashable {
    public var id: String
    /// The factor an instrument fault acts on (`flatline:w01018`); nil: every factor (or the implied one).
    public var factor: String?
    /// The catalogue layer (`protocol`, `transport`, `instrument`, `fraud`, `process`).
    public var layer: String = "protocol"
    /// Share of eligible packets affected, 0…1.
    public var rate: Double
    /// Local wall-clock window in which the fault is active, or always.
    public var window: Range<Int64>?
    /// Parameters (catalogue defaults merged with what was given).
    public var parameters: [String: Double] = [:]
    /// At most this many injections per logger (nil: no limit).
    public var limit: Int?
    /// Only the logger with this MN (scenarios); nil: every logger.
    public var mn: String?

    public init(id: String, factor: String? = nil, layer: String, rate: Double = 1, window: Range<Int64>? = nil,
                parameters: [String: Double] = [:], limit: Int? = nil, mn: String? = nil) {
        (self.id, self.factor, self.layer, self.rate, self.window, self.parameters, self.limit, self.mn) = (id, factor, layer, rate, window, parameters, limit, mn)
    }

    /// A parameter's value (the catalogue default when not given).
    public func parameter(_ name: String, default value: Double = 0) -> Double { parameters[name] ?? value }

    /// Whether the fault concerns this logger.
    public func applies(to mn: String) -> Bool { self.mn == nil || self.mn == mn }

    /// The fault definitions of `Profiles/faults/catalogue.json`.
    public static func definitions(store: ProfileStore = .builtin) throws -> [FaultDefinition] {
        let file = "faults/catalogue.json"
        guard let text = try store.text(file) else { return [] }
        let json: JSONValue
        do { json = try JSONValue.parse(text) } catch { throw ProfileError(file: file, line: nil, message: "not valid JSON: \(error)") }
        guard case .array(let items)? = json["faults"] else { throw ProfileError(file: file, line: nil, message: "no 'faults' array") }
        var out: [FaultDefinition] = []
        for (n, item) in items.enumerated() {
            guard case .string(let id)? = item["id"], case .string(let layer)? = item["layer"], FaultDefinition.layers.contains(layer),
                  case .string(let zh)? = item["zh"], case .string(let en)? = item["en"] else {
                throw ProfileError(file: file, line: nil, message: "faults[\(n)]: needs id, a known layer, zh and en")
            }
            var parameters: [String: Double] = [:]
            var order: [String] = []
            if case .object(let members)? = item["parameters"] {
                for (name, value) in members {
                    switch value {
                    case .int(let i): parameters[name] = Double(i)
                    case .double(let d): parameters[name] = d
                    default: throw ProfileError(file: file, line: nil, message: "faults[\(n)].parameters.\(name): expected a number")
                    }
                    order.append(name)
                }
            }
            var factor = "none"
            if case .string(let f)? = item["factor"] { factor = f }
            var detects = ""
            if case .string(let d)? = item["detects"] { detects = d }
            out.append(FaultDefinition(id: id, layer: layer, zh: zh, en: en, factor: factor, parameters: parameters, parameterOrder: order, detects: detects))
        }
        return out
    }

    /// The fault IDs of `Profiles/faults/catalogue.json` (id, layer, names).
    public static func catalogue(store: ProfileStore = .builtin) throws -> [(id: String, layer: String, zh: String, en: String)] {
        try definitions(store: store).map { ($0.id, $0.layer, $0.zh, $0.en) }
    }

    /// Makes a spec from its parts, checking them against the catalogue; `source` names the
    /// input in messages (`--faults`, a scenario file and entry).
    public static func make(id: String, factor: String?, parameters given: [String: Double], rate: Double = 1, window: Range<Int64>? = nil,
                            limit: Int? = nil, mn: String? = nil, definitions: [FaultDefinition], source: String) throws -> FaultSpec {
        guard let entry = definitions.first(where: { $0.id == id }) else {
            throw ProfileError(file: source, line: nil, message: "unknown fault '\(id)'; known: \(definitions.map(\.id).sorted().joined(separator: ", "))")
        }
        if factor != nil && !(entry.factor == "any" || entry.factor == "required") {
            throw ProfileError(file: source, line: nil, message: "fault '\(id)' takes no factor (\(entry.layer) fault\(entry.factor.hasPrefix("implied") ? "; its factor is \(entry.factor.dropFirst(9))" : ""))")
        }
        if factor == nil && entry.factor == "required" {
            throw ProfileError(file: source, line: nil, message: "fault '\(id)' needs a factor (\(id):CODE)")
        }
        var parameters = entry.parameters
        for (name, value) in given {
            guard entry.parameters[name] != nil else {
                let known = entry.parameterOrder.isEmpty ? "it has none" : "known: \(entry.parameterOrder.joined(separator: ", "))"
                throw ProfileError(file: source, line: nil, message: "fault '\(id)': unknown parameter '\(name)'; \(known)")
            }
            guard value.isFinite, abs(value) <= 1e9 else { throw ProfileError(file: source, line: nil, message: "fault '\(id)': parameter '\(name)' out of range") }
            parameters[name] = value
        }
        try checkParameters(id: id, parameters, source: source)
        return FaultSpec(id: id, factor: factor, layer: entry.layer, rate: rate, window: window, parameters: parameters, limit: limit, mn: mn)
    }

    /// Ranges that keep a fault meaningful (and the live loops safe).
    static func checkParameters(id: String, _ p: [String: Double], source: String) throws {
        func need(_ name: String, _ range: ClosedRange<Double>) throws {
            if let v = p[name], !range.contains(v) {
                throw ProfileError(file: source, line: nil, message: "fault '\(id)': \(name) must be in \(range.lowerBound)...\(range.upperBound), found \(v)")
            }
        }
        try need("interval_ms", 1...60_000)
        try need("packets", 2...1000)
        try need("fraction", 0...1)
        try need("slope", 0.01...100)
        try need("range", 0...1e7)
        try need("points", 0...20)
        try need("temperature", 0...2000)
        try need("minutes", -10_080...10_080)
        try need("scale", 0...1000)
        try need("deviation", -100...1000)
    }

    /// Parses a comma-separated list; unknown IDs, bad rates and bad windows are errors that say why.
    public static func parseList(_ text: String, offsetMinutes: Int = SimClock.chinaOffsetMinutes, store: ProfileStore = .builtin) throws -> [FaultSpec] {
        let definitions = try definitions(store: store)
        var specs: [FaultSpec] = []
        for raw in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !raw.isEmpty {
            func bad(_ message: String) -> ProfileError { ProfileError(file: "--faults", line: nil, message: "'\(raw)': \(message)") }
            var rest = Substring(raw)
            var window: Range<Int64>?
            if let at = rest.firstIndex(of: "@") {
                let w = rest[rest.index(after: at)...]
                rest = rest[..<at]
                let parts = w.split(separator: "/", maxSplits: 1)
                guard parts.count == 2, let start = SimClock.parseStart(String(parts[0]), offsetMinutes: offsetMinutes),
                      let length = SimClock.parseDuration(String(parts[1])) else {
                    throw bad("the window must be @START/DURATION, e.g. @2026-11-30T10:00/30m")
                }
                window = start..<(start + length)
            }
            var limit: Int?
            if let hash = rest.firstIndex(of: "#") {
                guard let n = Int(rest[rest.index(after: hash)...]), n >= 1 else { throw bad("the count after # must be a whole number ≥ 1") }
                limit = n
                rest = rest[..<hash]
            }
            var rate = 1.0
            if let pct = rest.firstIndex(of: "%") {
                guard let r = Double(rest[rest.index(after: pct)...]), r > 0, r <= 100 else {
                    throw bad("the rate must be a percentage in (0, 100]")
                }
                rate = r / 100
                rest = rest[..<pct]
            }
            var parameters: [String: Double] = [:]
            if let open = rest.firstIndex(of: "(") {
                guard rest.last == ")" else { throw bad("parameters go in parentheses: ID(name=value;name=value)") }
                for item in rest[rest.index(after: open)..<rest.index(before: rest.endIndex)].split(separator: ";") {
                    let kv = item.split(separator: "=", maxSplits: 1)
                    guard kv.count == 2, let v = Double(kv[1].trimmingCharacters(in: .whitespaces)) else { throw bad("parameter '\(item)': expected name=number") }
                    parameters[kv[0].trimmingCharacters(in: .whitespaces)] = v
                }
                rest = rest[..<open]
            }
            var factor: String?
            if let colon = rest.firstIndex(of: ":") {
                factor = String(rest[rest.index(after: colon)...])
                rest = rest[..<colon]
                guard !(factor ?? "").isEmpty else { throw bad("empty factor after ':'") }
            }
            do {
                specs.append(try make(id: String(rest), factor: factor, parameters: parameters, rate: rate, window: window, limit: limit,
                                      definitions: definitions, source: "--faults"))
            } catch let e as ProfileError {
                throw ProfileError(file: "--faults", line: nil, message: e.message.hasPrefix("unknown fault") ? e.message : "'\(raw)': \(e.message)")
            }
        }
        return specs
    }

    /// Why this (value-layer) fault cannot act on a unit of this template, or nil when it can.
    public func inapplicability(to template: UnitTemplate) -> String? {
        let codes = template.factors.map(\.code)
        if let factor, !codes.contains(factor) {
            return "unit template \(template.name) has no factor \(factor) (it has \(codes.joined(separator: " ")))"
        }
        switch id {
        case "o2-manipulation":
            if template.o2Factor == nil || template.referenceO2 == nil { return "unit template \(template.name) has no O2 factor and reference O2 (no converted values)" }
        case "flow-bypass":
            if !codes.contains(template.flowFactor) { return "unit template \(template.name) has no flow factor" }
        case "furnace-low":
            if !codes.contains("a01901") { return "unit template \(template.name) has no furnace temperature a01901" }
        case "standard-check-fail":
            let f = template.factors.first { $0.code == factor }
            let hebei = template.dynamicControl.flatMap { try? DynamicControlProfile.load($0) }?.groups.contains { $0.name == "standard_check" && !$0.values.isEmpty } ?? false
            if !(hebei && template.infoGroups.contains { $0.polId == factor }) && (f?.measureEveryMinutes ?? 0) == 0 {
                return "factor \(factor ?? "?") of \(template.name) has no standard-sample check (needs a cyclic analyser, or a dynamic-control profile with standard-check codes and an information group for it)"
            }
        default: break
        }
        return nil
    }
}

/// What was injected, for scoring a detection against (one JSON line each).
public struct FaultRecord: Sendable, Hashable {
    public var time: Int64
    public var mn: String
    public var fault: String
    public var cn: String
    public var qn: String
    public var detail: String
    public var layer = "protocol"
    /// The factor of an instrument fault.
    public var factor = ""

    public init(time: Int64, mn: String, fault: String, cn: String, qn: String, detail: String, layer: String = "protocol", factor: String = "") {
        (self.time, self.mn, self.fault, self.cn, self.qn, self.detail, self.layer, self.factor) = (time, mn, fault, cn, qn, detail, layer, factor)
    }

    public func json(offsetMinutes: Int = SimClock.chinaOffsetMinutes) -> String {
        var members: [(String, JSONValue)] = [("t", .string(SimClock.iso(time, offsetMinutes: offsetMinutes))), ("mn", .string(mn)),
                                              ("fault", .string(fault)), ("layer", .string(layer))]
        if !factor.isEmpty { members.append(("factor", .string(factor))) }
        if !cn.isEmpty { members += [("cn", .string(cn)), ("qn", .string(qn))] }
        members.append(("detail", .string(detail)))
        return JSONValue.object(members).serialized
    }
}

extension FaultSpec {
    /// `from … to …` and the parameters, for the ground truth.
    public func describe(from t: Int64) -> String {
        var s = "from \(HJTime(wallMilliseconds: t).description)" + (window.map { " to \(HJTime(wallMilliseconds: $0.upperBound).description)" } ?? "")
        if !parameters.isEmpty {
            s += "; " + parameters.sorted { $0.key < $1.key }.map { "\($0.key)=\(ValueFormat.fixed($0.value, decimals: $0.value == $0.value.rounded() ? 0 : 3))" }.joined(separator: " ")
        }
        return s
    }
}

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
    let template: UnitTemplate
    /// Per binding key: the reading frozen at activation (flatline) and the activation time.
    var frozen: [String: Double] = [:]
    var since: [String: Int64] = [:]
    var active: Set<String> = []
    var activations: [Int: Int] = [:]
    var records: [FaultRecord] = []
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

    static let implied: Set<String> = ["o2-manipulation", "flow-bypass", "furnace-low"]

    init(specs all: [FaultSpec], mn: String, template: UnitTemplate, models: [FactorModel], dynamicControl: DynamicControlProfile?) {
        let specs = all.filter { FaultDefinition.valueLayers.contains($0.layer) && $0.applies(to: mn) }
        self.specs = specs
        self.template = template
        self.medium = template.medium
        self.dynamicControl = dynamicControl
        analysers = Set(template.infoGroups.compactMap(\.polId))
        var bindings: [Binding] = []
        for (n, spec) in specs.enumerated() {
            var code = spec.factor
            switch spec.id {
            case "o2-manipulation": code = template.o2Factor
            case "flow-bypass": code = template.flowFactor
            case "furnace-low": code = "a01901"
            default: break
            }
            if Self.implied.contains(spec.id) && code == nil { continue }
            for (i, m) in models.enumerated() where code == nil || code == m.code {
                bindings.append(Binding(spec: n, model: i, key: "\(n)|\(m.code)"))
            }
        }
        self.bindings = bindings
    }

    var isEmpty: Bool { bindings.isEmpty }

    /// Status codes of the flag faults: national i12001, Hebei water i12101 and gas i12007.
    static let statusCodes: [String: (national: String, water: String, gas: String)] = [
        "calibration": ("3", "5", "3"), "maintenance": ("1", "3", "1"), "fault": ("2", "4", "2"),
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
        case "calibration", "maintenance", "fault":
            let s = Self.statusCodes[spec.id]!
            var out = [(pol, "i12001", s.national)]
            if analysers.contains(pol) {
                if medium == .water, hasProfileCode("i12101") { out.append((pol, "i12101", s.water)) }
                if medium == .gas, hasProfileCode("i12007") { out.append((pol, "i12007", s.gas)) }
            }
            return out
        case "standard-check-fail":
            guard analysers.contains(pol), hasProfileCode("i13129") else { return [] }
            return [(pol, "i13128", HJTime(wallMilliseconds: t).text14), (pol, "i13129", ValueFormat.fixed(spec.parameter("deviation"), decimals: 1))]
        case "parameter-tampering":
            let codes = medium == .water ? (slope: "i13008", intercept: "i13007", range: "i13116") : (slope: "i13026", intercept: "i13022", range: "i13013")
            let slope = profileNumber(codes.slope) ?? (1, 3)
            let intercept = profileNumber(codes.intercept) ?? (0, 3)
            var out = [(pol, codes.slope, ValueFormat.fixed(slope.value * spec.parameter("slope", default: 1), decimals: max(3, slope.decimals))),
                       (pol, codes.intercept, ValueFormat.fixed(intercept.value + spec.parameter("intercept"), decimals: max(3, intercept.decimals)))]
            if spec.parameter("range") > 0 { out.append((pol, codes.range, ValueFormat.fixed(spec.parameter("range"), decimals: 0))) }
            return out
        case "furnace-low":
            let ratio = spec.parameter("temperature", default: 820) / max(1, m.baseline)
            var out: [(String, String, String)] = []
            for group in template.infoGroups where group.polId == nil {
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

    /// Before the process step: activations and ends (ground truth, parameters), process targets.
    mutating func update(_ models: inout [FactorModel], at t: Int64, mn: String) {
        for b in bindings {
            let spec = specs[b.spec]
            var on = spec.window?.contains(t) ?? true
            let wasOn = active.contains(b.key)
            if on && !wasOn, let limit = spec.limit, activations[b.spec, default: 0] >= limit { on = false }
            if on == wasOn {
                if on && spec.id == "furnace-low" { models[b.model].processTarget = spec.parameter("temperature", default: 820) }
                continue
            }
            let code = models[b.model].code
            if on {
                active.insert(b.key)
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
                case "missing-factor": hidden.insert(code)
                case "standard-check-fail":
                    failingChecks[code] = spec.parameter("deviation", default: 18)
                    checksNow.append(code)
                case "furnace-low": models[b.model].processTarget = spec.parameter("temperature", default: 820)
                default: break
                }
            } else {
                active.remove(b.key)
                frozen[b.key] = nil
                for k in infoSetBy.removeValue(forKey: b.key) ?? [] {
                    info[k] = nil
                    let parts = k.split(separator: "|", maxSplits: 1, omittingEmptySubsequences: false)
                    noteChanged(String(parts[0]), String(parts[1]))
                }
                switch spec.id {
                case "missing-factor": hidden.remove(code)
                case "standard-check-fail": failingChecks[code] = nil
                case "furnace-low": models[b.model].processTarget = nil
                default: break
                }
            }
        }
    }

    /// After the process step: the readings and flags of the active faults.
    mutating func apply(_ models: inout [FactorModel], at t: Int64, random: inout SimRandom) {
        for i in models.indices {
            models[i].reading = models[i].trueReading
            models[i].flag = models[i].trueFlag
        }
        for b in bindings where active.contains(b.key) {
            let spec = specs[b.spec]
            var m = models[b.model]
            switch spec.id {
            case "flatline":
                if frozen[b.key] == nil { frozen[b.key] = m.reading }
                m.reading = frozen[b.key]!
            case "under-limit":
                if let limit = m.limit { m.reading = limit * (0.96 + 0.02 * random.unit()) }
            case "drift":
                let start = spec.window?.lowerBound ?? since[b.key] ?? t
                m.reading *= 1 + 0.05 * Double(t - start) / 3_600_000
            case "spike":
                if random.unit() < 0.02 { m.reading *= 4 }
            case "level-shift": m.reading *= spec.parameter("scale", default: 1.5)
            case "negative": m.reading = -abs(m.reading) - 0.1
            case "over-range": m.reading = m.rangeMax; m.flag = UInt8(ascii: "T")
            case "calibration": m.flag = UInt8(ascii: "C")
            case "maintenance": m.flag = UInt8(ascii: "M")
            case "fault": m.flag = UInt8(ascii: "D")
            case "stopped": m.flag = UInt8(ascii: "F")
            case "comm-loss": m.flag = UInt8(ascii: "B")
            case "manual": m.flag = UInt8(ascii: "S")
            case "parameter-tampering":
                m.reading = m.reading * spec.parameter("slope", default: 1) + spec.parameter("intercept")
                let range = spec.parameter("range")
                if range > 0 { m.reading = Swift.min(m.reading, range) }
            case "o2-manipulation": m.reading = Swift.max(0.1, m.reading - spec.parameter("points", default: 3))
            case "flow-bypass": m.reading *= spec.parameter("fraction", default: 0.3)
            default: break
            }
            models[b.model] = m
        }
    }
}

/// Applies protocol faults to one logger's packets as they are framed, deterministically for a
/// seed, and reports each injection.
public struct FaultInjector: Sendable {
    public let specs: [FaultSpec]
    var random: SimRandom
    var previousQN: String?
    /// Injections so far, per spec (for `#COUNT`).
    var injections: [Int: Int] = [:]
    /// A record held back by `out-of-order`, sent after the next record of its CN (so that its
    /// DataTime arrives after a later one: out of order where a platform sees it).
    var held: [[UInt8]] = []
    var heldCN: String?
    /// The parts of a split record being held back are still coming.
    var holdingParts = false
    /// Parts of a split record being joined by `oversized-record`.
    var joining: Reassembler?

    public init(specs: [FaultSpec], seed: UInt64, mn: String) {
        self.specs = specs.filter { $0.layer == "protocol" && $0.applies(to: mn) }
        random = SimRandom(seed: seed &+ 0x5EED, label: "faults:" + mn)
    }

    /// Shifts every time stamp of a segment (QN, DataTime, *SampleTime, RestartTime).
    static func shiftTimes(_ segment: inout DataSegment, by ms: Int64) {
        if let qn = segment.qn, let t = HJTime(qn, allowMilliseconds: true) { segment.setHeader("QN", HJTime(wallMilliseconds: t.wallMilliseconds + ms).text17) }
        guard var cp = segment.cp else { return }
        for g in cp.indices {
            for e in cp[g].indices where cp[g][e].name == "DataTime" || cp[g][e].name.hasSuffix("SampleTime") || cp[g][e].name == "RestartTime" {
                if let t = HJTime(cp[g][e].value) { cp[g][e].value = HJTime(wallMilliseconds: t.wallMilliseconds + ms).text14 }
            }
        }
        segment.cp = cp
    }

    static func setCP(_ segment: inout DataSegment, _ name: String, _ value: String) {
        guard var cp = segment.cp else { return }
        for g in cp.indices { for e in cp[g].indices where cp[g][e].name == name { cp[g][e].value = value } }
        segment.cp = cp
    }

    static func scaleCP(_ segment: inout DataSegment, suffix: String, by k: Double) {
        guard var cp = segment.cp else { return }
        for g in cp.indices { for e in cp[g].indices where cp[g][e].name.hasSuffix(suffix) {
            if let v = Double(cp[g][e].value) {
                let decimals = cp[g][e].value.split(separator: ".").dropFirst().first?.count ?? 0
                cp[g][e].value = ValueFormat.fixed(v * k, decimals: Swift.max(decimals, 1))
            }
        } }
        segment.cp = cp
    }

    /// Whether spec n fires on this packet (window, count limit, rate).
    mutating func fires(_ n: Int, at t: Int64) -> Bool {
        let spec = specs[n]
        if let w = spec.window, !w.contains(t) { return false }
        if let limit = spec.limit, injections[n, default: 0] >= limit { return false }
        if spec.rate < 1 && random.unit() >= spec.rate { return false }
        return true
    }

    /// Frames still held back (a record `out-of-order` kept for after the next packet): send
    /// them when the run ends.
    public mutating func flush() -> [[UInt8]] {
        defer { held = []; heldCN = nil }
        return held
    }

    /// The frames to send for a packet (none when it is dropped or held, two or more when
    /// duplicated or when a held record follows) and what was done.
    public mutating func frames(for packet: GeneratedPacket, mn: String) -> (frames: [[UInt8]], records: [FaultRecord]) {
        var segment = packet.segment
        var crcStyle = FrameEncoder.CRCStyle.standard
        var trailer = true
        var lengthDelta = 0
        var corruptCRC = false
        var copies = 1
        var holdBack = false
        var records: [FaultRecord] = []
        var qn = segment.qn ?? ""
        func note(_ n: Int, _ detail: String) {
            injections[n, default: 0] += 1
            records.append(FaultRecord(time: packet.time, mn: mn, fault: specs[n].id, cn: packet.cn, qn: qn, detail: detail))
        }
        let record = ["2051", "2061", "2031"].contains(packet.cn)
        let pnum = segment.pnum, pno = segment.pno
        let isPart = segment.header("PNUM") != nil
        // An oversized record: the parts of a split record joined back into one packet.
        if isPart, let n = specs.indices.first(where: { specs[$0].id == "oversized-record" }) {
            if joining != nil || (pno == 1 && fires(n, at: packet.time)) {
                if joining == nil { joining = Reassembler(maxPending: 4) }
                switch joining!.add(segment) {
                case .pending: return ([], [])
                case .complete(var whole):
                    joining = nil
                    whole.setHeader("QN", segment.qn ?? "")
                    segment = whole
                    note(n, "\(pnum ?? 0) packets sent as one of \(segment.serializedBytes().count) bytes, without PNUM/PNO")
                case .whole, .rejected:
                    joining = nil
                }
            }
        }
        let stillPart = segment.header("PNUM") != nil
        // The rest of a split record held back by out-of-order joins it, unchanged.
        if holdingParts && stillPart {
            held.append(FrameEncoder.frame(segmentBytes: packet.bytes.isEmpty ? segment.serializedBytes() : packet.bytes))
            if pno == pnum { holdingParts = false }
            return ([], [])
        }
        for n in specs.indices {
            let spec = specs[n]
            if spec.id == "oversized-record" { continue }
            if ["missing-record", "duplicate-record", "out-of-order"].contains(spec.id) && !record { continue }
            if spec.id == "wrong-pno" && !(stillPart && pno == pnum) { continue }
            if spec.id == "out-of-order" && (!held.isEmpty || (stillPart && pno != 1)) { continue }
            if (spec.id == "inconsistent-cou" || spec.id == "inconsistent-avg") && !(packet.cn == "2061" || packet.cn == "2031") { continue }
            if spec.id == "misaligned-datatime" && !record { continue }
            if spec.id == "duplicate-qn" && previousQN == nil { continue }
            if spec.id == "version-2005" && segment.flag == nil { continue }
            guard fires(n, at: packet.time) else { continue }
            switch spec.id {
            case "crc-mismatch": corruptCRC = true; note(n, "CRC digits changed")
            case "crc-modbus": crcStyle = .modbus; note(n, "CRC-16/MODBUS, high byte first")
            case "crc-modbus-swapped": crcStyle = .modbusSwapped; note(n, "CRC-16/MODBUS, low byte first")
            case "crc-lowercase": crcStyle = .lowercase; note(n, "CRC in lower case")
            case "length-wrong": lengthDelta = 1; note(n, "declared length + 1")
            case "no-crlf": trailer = false; note(n, "no CR LF")
            case "wrong-pw": segment.setHeader("PW", "000000"); note(n, "PW=000000")
            case "malformed-mn": segment.setHeader("MN", String(mn.suffix(14))); note(n, "MN=\(mn.suffix(14))")
            case "version-2005":
                let f = segment.flag!
                segment.setHeader("Flag", String(f.rawValue & 3))
                note(n, "Flag=\(f.rawValue & 3)")
            case "duplicate-qn":
                segment.setHeader("QN", previousQN!)
                qn = previousQN!
                note(n, "QN=\(previousQN!) of the previous packet")
            case "missing-record": copies = 0; note(n, "record not sent")
            case "duplicate-record": copies = 2; note(n, "record sent twice")
            case "out-of-order":
                holdBack = true
                heldCN = packet.cn
                if stillPart && pno != pnum { holdingParts = true }
                note(n, "held back, sent after the next \(packet.cn) record")
            case "wrong-pno":
                let wrong = (pnum ?? 0) + 1
                segment.setHeader("PNO", String(wrong))
                note(n, "PNO=\(wrong) with PNUM=\(pnum ?? 0)")
            case "clock-skew":
                Self.shiftTimes(&segment, by: 7 * 60_000)
                qn = segment.qn ?? qn
                note(n, "QN, DataTime and SampleTime 7 min ahead")
            case "clock-jump":
                let minutes = Int64(spec.parameter("minutes", default: 60))
                Self.shiftTimes(&segment, by: minutes * 60_000)
                qn = segment.qn ?? qn
                note(n, "clock jumped \(minutes >= 0 ? "+" : "")\(minutes) min: QN, DataTime and SampleTime shifted")
            case "misaligned-datatime":
                if let dt = segment.cpValue("DataTime").flatMap({ HJTime($0) }) {
                    Self.setCP(&segment, "DataTime", HJTime(wallMilliseconds: dt.wallMilliseconds + 37_000).text14)
                    note(n, "DataTime + 37 s")
                }
            case "inconsistent-cou":
                Self.scaleCP(&segment, suffix: "-Cou", by: 1.3)
                note(n, "Cou x 1.3")
            case "inconsistent-avg":
                let k = spec.parameter("scale", default: 1.3)
                Self.scaleCP(&segment, suffix: "-Avg", by: k)
                note(n, "Avg x \(k)")
            default: break
            }
        }
        previousQN = packet.segment.qn
        var release: [[UInt8]] = []
        if !held.isEmpty && !holdBack && !holdingParts && (heldCN == nil || (record && packet.cn == heldCN)) {
            release = held
            held = []
            heldCN = nil
        }
        guard copies > 0 else { return (release, records) }
        let changed = !records.isEmpty
        var frame = changed ? FrameEncoder.frame(segment, crcStyle: crcStyle, trailer: trailer) : FrameEncoder.frame(segmentBytes: packet.bytes)
        if lengthDelta != 0, frame.count >= 6, let declared = Int(String(decoding: frame[2..<6], as: UTF8.self)) {
            let digits = Array(String(declared + lengthDelta).utf8)
            frame.replaceSubrange(2..<6, with: [UInt8](repeating: 48, count: max(0, 4 - digits.count)) + digits.suffix(4))
        }
        if corruptCRC {
            let i = frame.count - (trailer ? 3 : 1)
            frame[i] = frame[i] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
        }
        let frames = Array(repeating: frame, count: copies)
        if holdBack {
            held += frames
            return ([], records)
        }
        return (frames + release, records)
    }
}
