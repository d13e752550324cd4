import HJ212
import Synchronization

/// A dynamic-control (动态管控) parameter profile: the four groups of analyser parameters
/// uploaded with CN 3020 (Profiles/dynamic-control/NAME.json). Swappable: the codes differ by
/// province and vendor (EXTENSIONS.md §4, UNCONFIRMED for Jiangsu).
public struct DynamicControlProfile: Sendable, Hashable {
    public static let groupOrder = ["run", "calibration", "standard_check", "work"]

    public var name: String
    public var titleZh: String
    public var titleEn: String
    /// Group name → values in order.
    public var groups: [(name: String, values: [(code: String, value: UnitTemplate.InfoValue)])]

    public static func == (a: DynamicControlProfile, b: DynamicControlProfile) -> Bool { a.name == b.name }
    public func hash(into h: inout Hasher) { h.combine(name) }

    /// Built-in profiles parsed once (thousands of loggers share them).
    private static let cache = Mutex<[String: DynamicControlProfile]>([:])

    public static func load(_ name: String, from store: ProfileStore = .builtin) throws -> DynamicControlProfile {
        if store.overrideDirectory == nil, let cached = cache.withLock({ $0[name] }) { return cached }
        let profile = try parse(name, from: store)
        if store.overrideDirectory == nil { cache.withLock { $0[name] = profile } }
        return profile
    }

    static func parse(_ name: String, from store: ProfileStore) throws -> DynamicControlProfile {
        let path = "dynamic-control/\(name).json"
        guard let text = try store.text(path) else { throw ProfileError(file: path, line: nil, message: "no such dynamic-control profile") }
        let json: JSONValue
        do { json = try JSONValue.parse(text) } catch let e as JSONParseError {
            throw ProfileError(file: path, line: nil, message: "not valid JSON at \(e)")
        }
        var r = try JSONReader(json, file: path)
        var profile = DynamicControlProfile(name: try r.string("name"), titleZh: try r.string("title_zh"), titleEn: try r.string("title_en"), groups: [])
        let groups = try r.object("groups")
        for (group, value) in groups.allMembers {
            guard groupOrder.contains(group) else {
                throw ProfileError(file: path, line: nil, message: "groups.\(group): unknown group; expected \(groupOrder.joined(separator: ", "))")
            }
            let members = try JSONReader(value, file: path, path: "groups.\(group)").allMembers
            var values: [(String, UnitTemplate.InfoValue)] = []
            for (code, v) in members { values.append((code, try UnitTemplate.parseInfoValue(v, file: path, path: "groups.\(group).\(code)"))) }
            profile.groups.append((group, values))
        }
        _ = r.raw("groups")
        _ = r.raw("note")
        _ = r.raw("codes")
        try r.finish()
        return profile
    }
}
