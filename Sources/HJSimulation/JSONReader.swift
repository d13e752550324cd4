import HJ212

/// Reads a JSON object strictly: every key must be consumed, every type is checked, and every
/// error names the file, the key path and what was expected.
struct JSONReader {
    let file: String
    let path: String
    private let members: [(String, JSONValue)]
    private var used: Set<String> = []

    init(_ value: JSONValue, file: String, path: String = "") throws(ProfileError) {
        guard case .object(let members) = value else {
            throw ProfileError(file: file, line: nil, message: "\(path.isEmpty ? "top level" : path): expected an object")
        }
        self.file = file
        self.path = path
        self.members = members
    }

    func fail(_ key: String, _ message: String) -> ProfileError {
        ProfileError(file: file, line: nil, message: "\(TerminalText.safe(sub(key), limit: 80)): \(message)")
    }

    func sub(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// A value quoted in an error message: safe for a terminal and cut to a bounded length with
    /// the count of what was cut (a 50 MB field must not be echoed whole).
    static func quote(_ v: JSONValue) -> String {
        TerminalText.safe(v.serialized, limit: 60)
    }

    mutating func raw(_ key: String) -> JSONValue? {
        used.insert(key)
        return members.first { $0.0 == key }?.1
    }

    mutating func has(_ key: String) -> Bool {
        members.contains { $0.0 == key }
    }

    mutating func string(_ key: String) throws(ProfileError) -> String {
        guard let v = raw(key) else { throw fail(key, "missing (expected a string)") }
        guard case .string(let s) = v else { throw fail(key, "expected a string, found \(JSONReader.quote(v))") }
        return s
    }

    mutating func optionalString(_ key: String) throws(ProfileError) -> String? {
        guard let v = raw(key), v != .null else { return nil }
        guard case .string(let s) = v else { throw fail(key, "expected a string or null, found \(JSONReader.quote(v))") }
        return s
    }

    mutating func number(_ key: String, in range: ClosedRange<Double>? = nil) throws(ProfileError) -> Double {
        guard let v = raw(key) else { throw fail(key, "missing (expected a number)") }
        return try JSONReader.number(v, path: sub(key), file: file, range: range)
    }

    mutating func optionalNumber(_ key: String, in range: ClosedRange<Double>? = nil) throws(ProfileError) -> Double? {
        guard let v = raw(key), v != .null else { return nil }
        return try JSONReader.number(v, path: sub(key), file: file, range: range)
    }

    static func number(_ v: JSONValue, path: String, file: String, range: ClosedRange<Double>?) throws(ProfileError) -> Double {
        let d: Double
        switch v {
        case .int(let i): d = Double(i)
        case .double(let x): d = x
        default: throw ProfileError(file: file, line: nil, message: "\(path): expected a number, found \(JSONReader.quote(v))")
        }
        if let range, !range.contains(d) {
            throw ProfileError(file: file, line: nil, message: "\(path): \(d) is outside \(range.lowerBound)...\(range.upperBound)")
        }
        return d
    }

    mutating func int(_ key: String, in range: ClosedRange<Int>) throws(ProfileError) -> Int {
        let d = try number(key)
        guard d == d.rounded(), let i = Int(exactly: d), range.contains(i) else {
            throw fail(key, "expected a whole number \(range.lowerBound)...\(range.upperBound), found \(d)")
        }
        return i
    }

    mutating func bool(_ key: String) throws(ProfileError) -> Bool {
        guard let v = raw(key) else { throw fail(key, "missing (expected true or false)") }
        guard case .bool(let b) = v else { throw fail(key, "expected true or false, found \(JSONReader.quote(v))") }
        return b
    }

    mutating func array(_ key: String) throws(ProfileError) -> [JSONValue] {
        guard let v = raw(key) else { throw fail(key, "missing (expected an array)") }
        guard case .array(let items) = v else { throw fail(key, "expected an array, found \(JSONReader.quote(v))") }
        return items
    }

    mutating func optionalObject(_ key: String) throws(ProfileError) -> JSONReader? {
        guard let v = raw(key), v != .null else { return nil }
        return try JSONReader(v, file: file, path: sub(key))
    }

    mutating func object(_ key: String) throws(ProfileError) -> JSONReader {
        guard let v = raw(key) else { throw fail(key, "missing (expected an object)") }
        return try JSONReader(v, file: file, path: sub(key))
    }

    /// The members of the object, in order (for maps such as `values`).
    var allMembers: [(String, JSONValue)] { members }

    mutating func consumeAll() { for (k, _) in members { used.insert(k) } }

    /// Fails on keys that were not read: a typo must not be silently ignored.
    func finish() throws(ProfileError) {
        for (key, _) in members where !used.contains(key) {
            throw fail(key, "unknown key")
        }
    }
}
