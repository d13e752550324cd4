import HJ212

/// The versioned catalogue of conformance checks, read from `Profiles/checks/platform.json` and
/// `Profiles/checks/logger.json` (embedded at build time; `--profiles DIR` overrides), so that a
/// certifier can read every rule without the source.
///
/// ```swift
/// let catalogue = try RuleCatalogue.load()
/// catalogue.rules(for: .platform).count
/// ```
public struct RuleCatalogue: Sendable {
    /// The catalogue version of each file (`platform`, `logger`).
    public var versions: [CheckTarget: String]
    public var rules: [CheckRule]
    /// Message templates in both languages (`checks/messages.json`, optional).
    public var messages = MessageCatalogue()

    public init(versions: [CheckTarget: String], rules: [CheckRule]) {
        self.versions = versions
        self.rules = rules
    }

    /// The file of each target, relative to `Profiles/`.
    public static func path(of target: CheckTarget) -> String { "checks/\(target.rawValue).json" }

    /// Loads both catalogues; a malformed file is an error that names the file, the entry and the reason.
    public static func load(_ store: ProfileStore = .builtin) throws(ProfileError) -> RuleCatalogue {
        var versions: [CheckTarget: String] = [:]
        var rules: [CheckRule] = []
        var seen = Set<String>()
        for target in CheckTarget.allCases {
            let file = path(of: target)
            let text: String?
            do { text = try store.text(file) } catch let e as ProfileError { throw e } catch { throw ProfileError(file: file, line: nil, message: "\(error)") }
            guard let text else { throw ProfileError(file: file, line: nil, message: "missing") }
            let (version, fileRules) = try parse(text, file: file, target: target)
            for r in fileRules {
                guard seen.insert(r.id).inserted else { throw ProfileError(file: file, line: nil, message: "rule \(r.id) is defined twice") }
            }
            versions[target] = version
            rules += fileRules
        }
        var catalogue = RuleCatalogue(versions: versions, rules: rules)
        let file = "checks/messages.json"
        let text: String?
        do { text = try store.text(file) } catch let e as ProfileError { throw e } catch { throw ProfileError(file: file, line: nil, message: "\(error)") }
        if let text { catalogue.messages = try MessageCatalogue.parse(text, file: file) }
        return catalogue
    }

    /// Parses one catalogue file.
    public static func parse(_ text: String, file: String, target: CheckTarget) throws(ProfileError) -> (String, [CheckRule]) {
        let json: JSONValue
        do { json = try JSONValue.parse(text) } catch { throw ProfileError(file: file, line: nil, message: "not valid JSON: \(error)") }
        guard case .object(let top) = json else { throw ProfileError(file: file, line: nil, message: "expected an object with \"version\" and \"rules\"") }
        func field(_ o: [(String, JSONValue)], _ k: String) -> JSONValue? { o.first(where: { $0.0 == k })?.1 }
        guard case .string(let version)? = field(top, "version") else { throw ProfileError(file: file, line: nil, message: "\"version\" (a string) is missing") }
        guard case .array(let entries)? = field(top, "rules") else { throw ProfileError(file: file, line: nil, message: "\"rules\" (an array) is missing") }
        let prefix = target == .platform ? "P-" : "L-"
        // Optional {"group": {"zh": "…"}} names of the groups in Chinese.
        var groupZh: [String: String] = [:]
        if case .object(let groups)? = field(top, "groups") {
            for (name, value) in groups {
                if case .object(let o) = value, case .string(let zh)? = field(o, "zh") { groupZh[name] = zh }
            }
        }
        var rules: [CheckRule] = []
        for (i, entry) in entries.enumerated() {
            func fail(_ m: String) -> ProfileError { ProfileError(file: file, line: nil, message: "rule #\(i + 1): \(m)") }
            guard case .object(let o) = entry else { throw fail("expected an object") }
            func string(_ k: String) throws(ProfileError) -> String {
                guard case .string(let s)? = field(o, k), !s.isEmpty else { throw fail("\"\(k)\" (a non-empty string) is missing") }
                return s
            }
            let id = try string("id")
            guard id.hasPrefix(prefix), id.utf8.allSatisfy({ $0 == 0x2D || ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) }) else {
                throw fail("ID \(id) must start with \(prefix) and use only A-Z, 0-9 and -")
            }
            guard let level = CheckLevel(rawValue: try string("level")) else { throw fail("\(id): level must be MUST, SHOULD or MAY") }
            var profiles: [CheckProfile] = []
            if let p = field(o, "profiles") {
                guard case .array(let items) = p else { throw fail("\(id): \"profiles\" must be an array") }
                for item in items {
                    guard case .string(let name) = item, let profile = CheckProfile(rawValue: name) else {
                        throw fail("\(id): unknown profile \(item.serialized) (national-2017, national-2025, jiangsu)")
                    }
                    profiles.append(profile)
                }
            }
            var plan = CheckPlan.quick
            if let p = field(o, "plan") {
                guard case .string(let name) = p, let value = CheckPlan(rawValue: name) else { throw fail("\(id): \"plan\" must be quick, hour or full") }
                plan = value
            }
            rules.append(CheckRule(id: id, target: target, group: try string("group"), level: level, titleZh: try string("zh"),
                                   titleEn: try string("en"), clause: try string("clause"), exercise: try string("exercise"),
                                   profiles: profiles, plan: plan))
            rules[rules.count - 1].groupZh = groupZh[rules[rules.count - 1].group] ?? ""
            // Optional Chinese of the clause and of the exercise, for `--lang zh` reports.
            for key in ["clause_zh", "exercise_zh"] {
                guard let value = field(o, key) else { continue }
                guard case .string(let zh) = value, !zh.isEmpty else { throw fail("\(id): \"\(key)\" must be a non-empty string") }
                if key == "clause_zh" { rules[rules.count - 1].clauseZh = zh } else { rules[rules.count - 1].exerciseZh = zh }
            }
        }
        return (version, rules)
    }

    /// The rules of one target, in catalogue order.
    public func rules(for target: CheckTarget) -> [CheckRule] { rules.filter { $0.target == target } }

    public func rule(_ id: String) -> CheckRule? { rules.first { $0.id == id } }
    public func rule(_ id: RuleID) -> CheckRule? { rule(id.rawValue) }
}
