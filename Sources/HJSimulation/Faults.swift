import HJ212

/// One fault of `Profiles/faults/catalogue.json`: its stable ID, layer, names, what factor it
/// takes and its parameters with their defaults.
public struct FaultDefinition: Sendable, Hashable {
    public var id: FaultID
    /// The layer it acts on; `reading` faults (a logger that reads its instruments wrongly) apply to `simulate --read` only.
    public var layer: FaultLayer
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
    public static let valueLayers: Set<FaultLayer> = Set(FaultLayer.allCases.filter(\.actsOnValues))
}

/// One entry of `--faults`: `ID[:FACTOR][(NAME=VALUE;…)][%RATE][#COUNT][@START/DURATION]`, e.g.
/// `crc-mismatch%5` (5 % of packets), `no-crlf@2026-11-30T10:00/30m` (every packet in that
/// window), `flow-bypass(fraction=0.2)@…`, `crc-modbus#1` (the first eligible packet only).
public struct FaultSpec: Sendable, Hashable {
    public var id: FaultID
    /// The factor an instrument fault acts on (`flatline:w01018`); nil: every factor (or the implied one).
    public var factor: String?
    /// The catalogue layer.
    public var layer: FaultLayer = .protocol
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

    public init(id: FaultID, factor: String? = nil, layer: FaultLayer, rate: Double = 1, window: Range<Int64>? = nil,
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
            guard case .string(let id)? = item["id"], case .string(let layerName)? = item["layer"], let layer = FaultLayer(rawValue: layerName),
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
            out.append(FaultDefinition(id: FaultID(id), layer: layer, zh: zh, en: en, factor: factor, parameters: parameters, parameterOrder: order, detects: detects))
        }
        return out
    }

    /// The fault IDs of `Profiles/faults/catalogue.json` (id, layer, names).
    public static func catalogue(store: ProfileStore = .builtin) throws -> [(id: String, layer: String, zh: String, en: String)] {
        try definitions(store: store).map { ($0.id.rawValue, $0.layer.rawValue, $0.zh, $0.en) }
    }

    /// Makes a spec from its parts, checking them against the catalogue; `source` names the
    /// input in messages (`--faults`, a scenario file and entry).
    public static func make(id: String, factor: String?, parameters given: [String: Double], rate: Double = 1, window: Range<Int64>? = nil,
                            limit: Int? = nil, mn: String? = nil, definitions: [FaultDefinition], source: String) throws -> FaultSpec {
        guard let entry = definitions.first(where: { $0.id.rawValue == id }) else {
            throw ProfileError(file: source, line: nil, message: "unknown fault '\(id)'; known: \(definitions.map(\.id.rawValue).sorted().joined(separator: ", "))")
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
        return FaultSpec(id: entry.id, factor: factor, layer: entry.layer, rate: rate, window: window, parameters: parameters, limit: limit, mn: mn)
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
        try need("factor", 0.001...1000)
    }

    /// Parses a comma-separated list; unknown IDs, bad rates and bad windows are errors that say why.
    public static func parseList(_ text: String, offsetMinutes: Int = SimClock.chinaOffsetMinutes, store: ProfileStore = .builtin) throws -> [FaultSpec] {
        try parseList(text, offsetMinutes: offsetMinutes, definitions: try definitions(store: store))
    }

    /// `parseList` against a catalogue already read (`definitions(store:)`), for callers that parse
    /// many lists (the fuzz harness: reading the catalogue was nearly all of its cost per input).
    public static func parseList(_ text: String, offsetMinutes: Int = SimClock.chinaOffsetMinutes, definitions: [FaultDefinition]) throws -> [FaultSpec] {
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
        case .o2Manipulation:
            if template.o2Factor == nil || template.referenceO2 == nil { return "unit template \(template.name) has no O2 factor and reference O2 (no converted values)" }
        case .flowBypass:
            if !codes.contains(template.flowFactor) { return "unit template \(template.name) has no flow factor" }
        case .furnaceLow:
            if !codes.contains("a01901") { return "unit template \(template.name) has no furnace temperature a01901" }
        case .standardCheckFail:
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

/// What was injected, for scoring a detection against (one JSON line each). Its fields stay text:
/// it is the ground truth as written and read back (`HJAnalysis` scores from the JSON).
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
    /// The run stopped while this fault was still acting (`time` is the stop): the activation's
    /// record gave the planned window, this one says where the fault really ended. Written with the
    /// key `ended` in place of `fault`, so that a reader taking every `fault` line for an injection
    /// does not count it twice (`Injection.parse` reads it as the end of the injection).
    public var ends = false

    public init(time: Int64, mn: String, fault: String, cn: String, qn: String, detail: String, layer: String = "protocol", factor: String = "") {
        (self.time, self.mn, self.fault, self.cn, self.qn, self.detail, self.layer, self.factor) = (time, mn, fault, cn, qn, detail, layer, factor)
    }

    /// A record of an injected fault, from its typed ID and layer.
    public init(time: Int64, mn: String, fault: FaultID, cn: String, qn: String, detail: String, layer: FaultLayer = .protocol, factor: String = "") {
        self.init(time: time, mn: mn, fault: fault.rawValue, cn: cn, qn: qn, detail: detail, layer: layer.rawValue, factor: factor)
    }

    /// The typed fault ID.
    public var faultID: FaultID { FaultID(fault) }
    /// The typed layer, nil when the text is not a known layer.
    public var faultLayer: FaultLayer? { FaultLayer(rawValue: layer) }

    public func json(offsetMinutes: Int = SimClock.chinaOffsetMinutes) -> String {
        var members: [(String, JSONValue)] = [("t", .string(SimClock.iso(time, offsetMinutes: offsetMinutes))), ("mn", .string(mn)),
                                              (ends ? "ended" : "fault", .string(fault)), ("layer", .string(layer))]
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

