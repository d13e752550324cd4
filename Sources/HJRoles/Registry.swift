import Foundation
import HJ212

/// The platform's access list: which loggers (MN) may talk to it, and with which password (PW).
///
/// With a registry, a packet whose MN is not listed, or whose PW differs from the listed one, is
/// not acknowledged: the platform stays silent, logs it and counts it (HJ212.md §6.7 item 3 has
/// the field side answer such requests with QnRtn 3/4; a platform has no reply code for it). Without one (`PlatformState.registry == nil`) every
/// logger is accepted: open mode.
///
/// ## File format
///
/// UTF-8 text, one logger per line, comma-separated with RFC 4180 quoting (`"a,b"`, `""` inside
/// quotes). Blank lines and lines whose first non-blank character is `#` are ignored. Two layouts
/// are accepted, told apart by the first non-comment line:
///
/// 1. **Headerless**: `mn,pw[,name]`. The optional third column is a free display name
///    (enterprise, outlet …); further columns are an error.
///
///    ```
///    # MN,                       PW,     name
///    010000A8900016F000169DC0,123456,示例污水处理厂 出口
///    81733553213013,654321
///    ```
///
/// 2. **With a header**: when the first non-comment line has cells named `mn` and `pw`
///    (case-insensitive), it is a header and columns are found by name. `name` or `unit` gives
///    the display name, `enterprise` the enterprise; any other columns are ignored. The fleet
///    manifests of `Profiles/fleets/` (`enterprise,county,category,pollutants,voc,mn,pw,unit,platforms`)
///    load directly.
///
/// Rules: MN is 1–64 printable ASCII characters without spaces (HJ 212-2017 wants 24 hex digits,
/// real traffic has 14-digit and free-form MNs, so the registry does not insist); PW is 1–32
/// printable ASCII characters (6 per Table 3); an MN may appear only once. Every error names the
/// file and the line: `loggers.csv:7: mn 81733553213013 already listed on line 3`.
///
/// ```swift
/// var registry = try Registry.load(path: "loggers.csv")
/// registry.check(mn: "81733553213013", pw: "123456")   // .accepted / .unknownMN / .wrongPW
/// ```
public struct Registry: Sendable, Equatable {
    /// One registered logger.
    public struct Entry: Sendable, Hashable {
        public var mn: String
        public var pw: String
        /// Display name (third column, or `name`/`unit` column), if any.
        public var name: String?
        /// Enterprise (`enterprise` column of a fleet manifest), if any.
        public var enterprise: String?
        /// Line in the file it came from (0 when added in code).
        public var line: Int

        public init(mn: String, pw: String, name: String? = nil, enterprise: String? = nil, line: Int = 0) {
            self.mn = mn
            self.pw = pw
            self.name = name
            self.enterprise = enterprise
            self.line = line
        }
    }

    /// The verdict on a packet's MN and PW.
    public enum Verdict: Sendable, Equatable {
        case accepted
        case unknownMN
        /// The MN is listed with another password.
        case wrongPW(expected: String)
    }

    /// Where the registry was loaded from (for messages), or empty.
    public var file: String
    public private(set) var entries: [String: Entry]

    public init(_ entries: [Entry] = [], file: String = "") {
        self.file = file
        self.entries = [:]
        for entry in entries { self.entries[entry.mn] = entry }
    }

    public var count: Int { entries.count }

    public func entry(_ mn: String) -> Entry? { entries[mn] }

    /// Whether a packet with this MN and PW may be accepted.
    public func check(mn: String, pw: String?) -> Verdict {
        guard let entry = entries[mn] else { return .unknownMN }
        return entry.pw == (pw ?? "") ? .accepted : .wrongPW(expected: entry.pw)
    }

    /// Adds or replaces a logger.
    public mutating func add(_ entry: Entry) { entries[entry.mn] = entry }

    public mutating func remove(mn: String) { entries[mn] = nil }

    /// Records a password change (after a 1072 answered by 9012 ExeRtn=1). Returns false when the
    /// MN is not registered (nothing changes then).
    @discardableResult
    public mutating func setPassword(mn: String, to pw: String) -> Bool {
        guard entries[mn] != nil else { return false }
        entries[mn]!.pw = pw
        return true
    }

    /// The registry in the headerless file format, sorted by MN (round-trips through `parse`).
    public func serialized() -> String {
        var out = "# mn,pw,name\n"
        for entry in entries.values.sorted(by: { $0.mn < $1.mn }) {
            out += Registry.csvCell(entry.mn) + "," + Registry.csvCell(entry.pw)
            if let name = entry.name { out += "," + Registry.csvCell(name) }
            out += "\n"
        }
        return out
    }

    // MARK: Loading

    /// Loads a registry file (format in the type's documentation).
    public static func load(path: String) throws -> Registry {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RegistryError(file: path, line: nil, message: "cannot be read")
        }
        return try parse(String(decoding: data, as: UTF8.self), file: path)
    }

    /// Parses registry text; `file` is used in error messages.
    public static func parse(_ text: String, file: String = "registry") throws -> Registry {
        let rows = try CSVReader.rows(text, file: file)
        var registry = Registry(file: file)
        var columns: (mn: Int, pw: Int, name: Int?, enterprise: Int?)?
        var headerWidth = 0
        var seen: [String: Int] = [:]
        for row in rows {
            let cells = row.cells.map { $0.trimmingCharacters(in: .whitespaces) }
            if columns == nil {
                let lower = cells.map { $0.replacingOccurrences(of: "\u{FEFF}", with: "").lowercased() }
                if let mn = lower.firstIndex(of: "mn"), let pw = lower.firstIndex(of: "pw") {
                    columns = (mn, pw, lower.firstIndex(of: "name") ?? lower.firstIndex(of: "unit"), lower.firstIndex(of: "enterprise"))
                    headerWidth = cells.count
                    continue
                }
                columns = (0, 1, 2, nil)
                headerWidth = 0
            }
            guard let c = columns else { continue }
            if headerWidth == 0 {
                guard cells.count >= 2 else {
                    throw RegistryError(file: file, line: row.line, message: "expected 'mn,pw[,name]', found \(cells.count) field")
                }
                guard cells.count <= 3 else {
                    throw RegistryError(file: file, line: row.line, message: "expected 'mn,pw[,name]', found \(cells.count) fields")
                }
            } else if cells.count < headerWidth {
                throw RegistryError(file: file, line: row.line, message: "has \(cells.count) fields; the header has \(headerWidth)")
            }
            let mn = cells[c.mn], pw = cells[c.pw]
            guard !mn.isEmpty, mn.utf8.count <= 64, mn.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                throw RegistryError(file: file, line: row.line, message: "mn '\(TerminalText.safe(mn, limit: 64))': expected 1-64 printable ASCII characters without spaces")
            }
            guard !pw.isEmpty, pw.utf8.count <= 32, pw.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                throw RegistryError(file: file, line: row.line, message: "pw '\(TerminalText.safe(pw, limit: 64))' for mn \(TerminalText.safe(mn, limit: 64)): expected 1-32 printable ASCII characters (6 in HJ 212-2017)")
            }
            if let other = seen[mn] {
                throw RegistryError(file: file, line: row.line, message: "mn \(mn) already listed on line \(other)")
            }
            seen[mn] = row.line
            let name = c.name.flatMap { $0 < cells.count && !cells[$0].isEmpty ? cells[$0] : nil }
            let enterprise = c.enterprise.flatMap { $0 < cells.count && !cells[$0].isEmpty ? cells[$0] : nil }
            registry.add(Entry(mn: mn, pw: pw, name: name, enterprise: enterprise, line: row.line))
        }
        return registry
    }

    static func csvCell(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "#" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

/// A registry file that cannot be used: which file, which line, what was wrong.
public typealias RegistryError = ProfileError
