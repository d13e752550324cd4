import HJ212

/// One anomaly rule of `Profiles/anomalies/catalogue.json`.
public struct AnomalyRule: Sendable, Equatable {
    public var id: String
    public var zh: String
    public var en: String
    public var evidence: String
    public var parameters: [String: Double]
    /// Text parameters (e.g. the flag letters).
    public var textParameters: [String: String]
    /// Fault IDs (Profiles/faults/catalogue.json) this rule is expected to detect.
    public var faults: [String]
    /// A detection counts only on the factor the fault was injected on.
    public var factorMatch: Bool
}

/// The rule catalogue: rule definitions, their parameters, and how a detection is scored.
///
/// ```swift
/// let catalogue = try AnomalyCatalogue.load(store: .builtin)
/// catalogue.rule("value.flatline")?.zh   // "数据恒值"
/// ```
public struct AnomalyCatalogue: Sendable {
    public var rules: [AnomalyRule]
    /// Minutes after an injection's end during which a detection still counts.
    public var graceMinutes: Double
    /// Fault layers that the recall is computed over.
    public var scoredLayers: [String]
    /// A unit runs while its flow is at least this fraction of the template's flow baseline.
    public var runningFraction: Double

    public static let path = "anomalies/catalogue.json"

    public static func load(store: ProfileStore = .builtin) throws -> AnomalyCatalogue {
        guard let text = try store.text(path) else { throw ProfileError(file: path, line: nil, message: "not found") }
        return try parse(text)
    }

    public static func parse(_ text: String, file: String = path) throws -> AnomalyCatalogue {
        let root: JSONValue
        do { root = try JSONValue.parse(text) } catch { throw ProfileError(file: file, line: nil, message: "\(error)") }
        guard case .array(let items)? = root["rules"] else { throw ProfileError(file: file, line: nil, message: "'rules' must be an array") }
        var rules: [AnomalyRule] = []
        for (n, item) in items.enumerated() {
            guard case .string(let id)? = item["id"], case .string(let zh)? = item["zh"], case .string(let en)? = item["en"] else {
                throw ProfileError(file: file, line: nil, message: "rules[\(n)]: id, zh and en are required")
            }
            var numbers: [String: Double] = [:]
            var texts: [String: String] = [:]
            if case .object(let members)? = item["parameters"] {
                for (k, v) in members {
                    switch v {
                    case .int(let i): numbers[k] = Double(i)
                    case .double(let d): numbers[k] = d
                    case .string(let s): texts[k] = s
                    default: throw ProfileError(file: file, line: nil, message: "rules[\(n)].parameters.\(k): expected a number or a string")
                    }
                }
            }
            var faults: [String] = []
            if case .array(let fs)? = item["faults"] { for case .string(let f) in fs { faults.append(f) } }
            var evidence = ""
            if case .string(let e)? = item["evidence"] { evidence = e }
            var factorMatch = false
            if case .bool(let b)? = item["factor_match"] { factorMatch = b }
            rules.append(AnomalyRule(id: id, zh: zh, en: en, evidence: evidence, parameters: numbers, textParameters: texts, faults: faults, factorMatch: factorMatch))
        }
        var grace = 90.0
        var layers = ["instrument", "fraud", "process"]
        if let scoring = root["scoring"] {
            if let g = scoring["grace_minutes"].flatMap(Self.number) { grace = g }
            if case .array(let ls)? = scoring["scored_layers"] { layers = ls.compactMap { if case .string(let s) = $0 { s } else { nil } } }
        }
        let running = root["running_fraction"].flatMap(Self.number) ?? 0.1
        return AnomalyCatalogue(rules: rules, graceMinutes: grace, scoredLayers: layers, runningFraction: running)
    }

    static func number(_ v: JSONValue) -> Double? {
        switch v {
        case .int(let i): Double(i)
        case .double(let d): d
        default: nil
        }
    }

    public func rule(_ id: String) -> AnomalyRule? { rules.first { $0.id == id } }

    /// A numeric parameter of a rule, or `fallback` when the catalogue lacks it.
    public func parameter(_ rule: String, _ name: String, _ fallback: Double) -> Double {
        self.rule(rule)?.parameters[name] ?? fallback
    }

    /// Whether a rule is in the catalogue (a rule removed from the file is switched off).
    public func enabled(_ rule: String) -> Bool { self.rule(rule) != nil }

    /// The rules expected to detect a fault.
    public func rules(detecting fault: String) -> [AnomalyRule] { rules.filter { $0.faults.contains(fault) } }
}
