/// The code tables of a dialect: factors (Appendix B), ST, CN, QnRtn, ExeRtn, data flags,
/// field names (Table 4) and enumerated values, loaded from `Profiles/dialects/`.
///
/// ```swift
/// let dictionary = try CodeDictionary.builtin(.hj2017)
/// dictionary.factor("w01018")?.label    // "w01018 化学需氧量 Chemical oxygen demand (COD), mg/L"
/// dictionary.command("2011")?.nameZh    // "取污染物实时数据 / 上传污染物实时数据"
/// ```
public struct CodeDictionary: Sendable {
    /// A monitoring factor or information code (Appendix B). A class: lookups hand out a
    /// reference (one retain) instead of copying eleven strings; immutable, hence Sendable.
    public final class Factor: Sendable, Hashable {
        public let code: String
        public let table: String
        public let nameZh: String
        public let nameEn: String
        public let unit: String
        public let unitZh: String
        public let couUnit: String
        public let couUnitZh: String
        public let type: NumberType?
        public let typeText: String
        public let code2005: String
        public let note: String
        /// `w01018 化学需氧量 Chemical oxygen demand (COD), mg/L`
        public let label: String

        public init(code: String, table: String, nameZh: String, nameEn: String, unit: String, unitZh: String, couUnit: String,
                    couUnitZh: String, type: NumberType?, typeText: String, code2005: String, note: String) {
            self.code = code
            self.table = table
            self.nameZh = nameZh
            self.nameEn = nameEn
            self.unit = unit
            self.unitZh = unitZh
            self.couUnit = couUnit
            self.couUnitZh = couUnitZh
            self.type = type
            self.typeText = typeText
            self.code2005 = code2005
            self.note = note
            label = "\(code) \(nameZh) \(nameEn)" + (unit.isEmpty ? "" : ", \(unit)")
        }

        public static func == (a: Factor, b: Factor) -> Bool {
            a.code == b.code && a.table == b.table && a.nameZh == b.nameZh && a.nameEn == b.nameEn && a.unit == b.unit
                && a.couUnit == b.couUnit && a.typeText == b.typeText && a.code2005 == b.code2005
        }

        public func hash(into h: inout Hasher) { h.combine(code) }
    }

    /// A command code (Table 9) and what it is in each direction.
    public struct Command: Sendable, Hashable {
        public var cn: String
        /// What the packet is when the platform sends it: request, notification, interaction, or empty.
        public var down: String
        /// What it is when the logger sends it: upload, notification, interaction, or empty.
        public var up: String
        public var nameZh: String
        public var nameEn: String
    }

    /// A code with a Chinese and English name (ST, QnRtn, ExeRtn, data flags, classes, values).
    public struct Entry: Sendable, Hashable {
        public var code: String
        public var nameZh: String
        public var nameEn: String
        /// A further column where the table has one (ST category, data-flag class).
        public var extra: String
    }

    /// A known CP key (`w01018-Avg`): its factor and field halves, and how its value is judged.
    public struct KeyInfo: Sendable {
        /// The factor code (`w01018`).
        public let code: String
        /// The field after the hyphen (`Avg`).
        public let field: String
        /// The factor of Appendix B the code names.
        public let factor: Factor
        /// How the value is judged.
        public let kind: FieldKind
    }

    /// How the value of a `code-field` CP entry is judged (by its field half).
    public enum FieldKind: Sendable, Equatable {
        /// A decimal number held to the factor's default type (`Rtd`, `Avg`, `Min`, `Max` …).
        case number
        /// A decimal number not held to the type (`Cou`, `ZsRtd` … converted or cumulative values).
        case untypedNumber
        /// Running hours 0…24.
        case runningHours
        /// A data flag of Table 5 (`N`, `F`, `M`, `S`, `D`, `C`, `T`, `B`).
        case flag
        /// A time `YYYYMMDDhhmmss` (`SampleTime`, `CompleteTime`).
        case time
        /// A facility running state `RS` (0 off, 1 running, 2 calibration …).
        case runState
        /// An information value (`-Info`), enumerated for some codes.
        case info
        /// Anything else (`EFlag`, `SN`, …): no value check.
        case other

        public init(field: String) {
            switch field {
            case "Rtd", "Min", "Avg", "Max", "Data", "DayData", "NightData", "SampleRd", "StandardValue": self = .number
            case "Cou", "ZsRtd", "ZsMin", "ZsAvg", "ZsMax": self = .untypedNumber
            case "RT": self = .runningHours
            case "Flag": self = .flag
            case "SampleTime", "CompleteTime": self = .time
            case "RS": self = .runState
            case "Info": self = .info
            default: self = .other
            }
        }

        /// Whether an entry of this kind is a monitoring value (an upload without any is empty).
        public var isMeasurement: Bool {
            switch self {
            case .number, .untypedNumber, .runningHours, .runState, .info: true
            default: false
            }
        }
    }

    /// A field name of Table 3 or Table 4.
    public struct FieldInfo: Sendable, Hashable {
        public var name: String
        /// header, plain (a CP key alone) or suffix (after `code-`).
        public var scope: String
        public var nameZh: String
        public var nameEn: String
        public var width: String
        public var note: String
    }

    public private(set) var dialect: Dialect
    public private(set) var factors: [String: Factor] = [:]
    /// Factors whose code has `x` placeholders (`e101xx`, `i3331x`).
    public private(set) var factorPatterns: [Factor] = []
    public private(set) var systems: [String: Entry] = [:]
    public private(set) var commands: [String: Command] = [:]
    public private(set) var qnRtn: [String: Entry] = [:]
    public private(set) var exeRtn: [String: Entry] = [:]
    public private(set) var dataFlags: [String: Entry] = [:]
    /// Header fields (Table 3) and plain CP keys (Table 4), by name.
    public private(set) var fields: [String: FieldInfo] = [:]
    /// Field names used after `code-` (`Rtd`, `Avg`, `Flag`, `Info`, …), by name.
    public private(set) var suffixFields: [String: FieldInfo] = [:]
    /// What a CP key `code-field` means, for every exact factor code and every suffix field,
    /// looked up once per key on the linter's hot path (instead of splitting the key and looking
    /// up its two halves). Keys of placeholder codes and unknown keys are not here.
    public private(set) var keys = KeyTable()

    /// The `code-field` lookup: a precomputed table while factors × suffix fields stay within
    /// `KeyTable.precomputeBudget` (the built-in tables: about 15,000 keys), otherwise the key is
    /// split and its halves looked up. A code table with 300,000 rows used to build 9 million
    /// keys (44 s and 2.7 GB before the first frame was linted).
    public struct KeyTable: Sendable {
        /// The most keys built ahead of time.
        public static let precomputeBudget = 200_000
        var table: [String: KeyInfo] = [:]
        /// Whether `table` holds every key (otherwise misses are computed).
        var complete = true
        var factors: [String: Factor] = [:]
        var suffixFields: [String: FieldInfo] = [:]

        public subscript(name: String) -> KeyInfo? {
            if let known = table[name] { return known }
            if complete { return nil }
            guard let dash = name.lastIndex(of: "-") else { return nil }
            let code = String(name[..<dash]), field = String(name[name.index(after: dash)...])
            guard suffixFields[field] != nil, let factor = factors[code] else { return nil }
            return KeyInfo(code: code, field: field, factor: factor, kind: FieldKind(field: field))
        }
    }
    /// Enumerated values by code (`i12001`, `SB-RS`), then by value.
    public private(set) var infoValues: [String: [String: Entry]] = [:]
    public private(set) var classes: [String: [String: Entry]] = [:]

    /// Looks up a factor by exact code, then as an instance of a placeholder code (`e10103` is one
    /// of `e101xx`), then case-insensitively among the exact codes (Appendix B prints `I33400` with
    /// a capital I).
    public func factor(_ code: String) -> Factor? {
        if let exact = factors[code] { return exact }
        if let pattern = patterns.match(code) { return pattern }
        if let folded = factorsFolded[code.lowercased()] { return folded }
        return nil
    }

    /// The placeholder codes, matched on demand (expanding them at load time made 16,500 codes per
    /// dialect, a third of the start-up of every command).
    private var patterns = PatternTable([])

    /// Placeholder codes (`e101xx`, `i3331x`): a code is an instance of the first pattern, in table
    /// order, whose bytes it has everywhere but at the `x`s, where it has ASCII digits — the codes
    /// `expand(_:)` lists.
    struct PatternTable: Sendable {
        /// Pattern code → its place in the table order.
        private var order: [String: Int] = [:]
        private var factors: [Factor] = []
        /// The distinct shapes of the patterns: length in bytes and where the `x`s are.
        private var shapes: [(length: Int, offsets: [Int])] = []
        /// The shape of each pattern, by place (a code with an `x` of its own must not take the
        /// pattern of another shape that its `x` completes: `e101x9` is no `e101xx`).
        private var shapeOf: [Int] = []

        init(_ patterns: [Factor]) {
            factors = patterns
            for (i, f) in patterns.enumerated() {
                if order[f.code] == nil { order[f.code] = i }
                let u = Array(f.code.utf8)
                let offsets = u.indices.filter { u[$0] == UInt8(ascii: "x") }
                if let s = shapes.firstIndex(where: { $0.length == u.count && $0.offsets == offsets }) {
                    shapeOf.append(s)
                } else {
                    shapeOf.append(shapes.count)
                    shapes.append((u.count, offsets))
                }
            }
        }

        func match(_ code: String) -> Factor? {
            guard !shapes.isEmpty else { return nil }
            let u = Array(code.utf8)
            var best: Int?
            for (s, shape) in shapes.enumerated() where shape.length == u.count {
                guard shape.offsets.allSatisfy({ u[$0] >= UInt8(ascii: "0") && u[$0] <= UInt8(ascii: "9") }) else { continue }
                var candidate = u
                for o in shape.offsets { candidate[o] = UInt8(ascii: "x") }
                if let i = order[String(decoding: candidate, as: UTF8.self)], shapeOf[i] == s, i < best ?? .max { best = i }
            }
            return best.map { factors[$0] }
        }
    }

    /// The most `x` placeholders one code may have (10^3 codes).
    public static let maxPlaceholders = 3

    /// All codes a pattern stands for (`x` = any digit): what `factor(_:)` matches, spelled out.
    static func expand(_ pattern: String) -> [String] {
        var results = [""]
        for ch in pattern {
            if ch == "x" {
                results = results.flatMap { prefix in (0...9).map { prefix + String($0) } }
            } else {
                results = results.map { $0 + String(ch) }
            }
        }
        return results
    }

    public func command(_ cn: String) -> Command? { commands[cn] }
    public func system(_ st: String) -> Entry? { systems[st] }
    public func field(_ name: String) -> FieldInfo? { fields[name] }

    private var factorsFolded: [String: Factor] = [:]

    /// `x` is a digit placeholder only in working-condition and information codes (`e101xx`, `i3331x`);
    /// elsewhere it is a letter (`LMx`).
    static func isPattern(_ code: String) -> Bool {
        guard let first = code.first, "egi".contains(first) else { return false }
        return code.contains("x")
    }

    // MARK: Loading

    /// The built-in tables of a dialect (2017 base, with the 2005 or 2025 overlay).
    public static func builtin(_ dialect: Dialect) throws -> CodeDictionary {
        try load(dialect, from: .builtin)
    }

    /// The built-in tables, cached; a broken built-in profile is a build defect caught by the tests.
    public static func shared(_ dialect: Dialect) -> CodeDictionary {
        switch dialect {
        case .hj2005: return cached2005
        case .hj2025: return cached2025
        case .hj2017, .unknown: return cached2017
        }
    }
    private static let cached2005 = (try? builtin(.hj2005)) ?? CodeDictionary(dialect: .hj2005)
    private static let cached2017 = (try? builtin(.hj2017)) ?? CodeDictionary(dialect: .hj2017)
    private static let cached2025 = (try? builtin(.hj2025)) ?? CodeDictionary(dialect: .hj2025)

    init(dialect: Dialect) { self.dialect = dialect }

    /// Loads a dialect's tables from a profile store. Every file is checked; an error names
    /// the file, the line and what was expected.
    /// `overlays` are further directories under `Profiles/dialects/` (rule profiles such as
    /// `hebei-dynamic`), applied after the dialect's own overlay.
    public static func load(_ dialect: Dialect, from store: ProfileStore, overlays: [String] = []) throws -> CodeDictionary {
        var d = CodeDictionary(dialect: dialect)
        for name in overlays where !store.hasDirectory("dialects/\(name)") {
            throw ProfileError(file: "dialects/\(name)", line: nil, message: "no such profile; available: \(store.profileNames().joined(separator: ", "))")
        }
        let dirs = ["dialects/hj212-2017"] + (dialect.overlayDirectory.map { [$0] } ?? []) + overlays.map { "dialects/\($0)" }

        /// The rows of `name` over the directories (a table marked `#! replace` drops the rows
        /// before it), each as the cells of `columns` in that order: the first `required` columns
        /// must be in every file's header; a column a file lacks, and a cell `-`, read as "".
        func tables(_ name: String, _ columns: [String], required: Int) throws -> [[String]] {
            var merged: [[String]] = []
            for dir in dirs {
                let path = "\(dir)/\(name)"
                guard let text = try store.text(path) else { continue }
                let table = try TSVTable(file: path, text: text, required: Array(columns.prefix(required)))
                if table.replacesBase { merged = [] }
                let at = columns.map { table.column($0) }
                merged.reserveCapacity(merged.count + table.rows.count)
                for row in table.rows {
                    merged.append(at.map { i in i.map { row[$0] == "-" ? "" : row[$0] } ?? "" })
                }
            }
            return merged
        }

        var patternIndex: [String: Int] = [:]
        var patterns: [Factor?] = []
        let factorColumns = ["code", "table", "name_zh", "name_en", "unit", "type", "unit_zh", "cou_unit", "cou_unit_zh", "code2005", "note"]
        for r in try tables("factors.tsv", factorColumns, required: 6) {
            let factor = Factor(
                code: r[0], table: r[1], nameZh: r[2], nameEn: r[3], unit: r[4], unitZh: r[6], couUnit: r[7], couUnitZh: r[8],
                type: NumberType(r[5]), typeText: r[5], code2005: r[9], note: r[10])
            if CodeDictionary.isPattern(factor.code) {
                // Each x stands for ten codes: more than three would make a row stand for thousands.
                guard factor.code.utf8.count(where: { $0 == UInt8(ascii: "x") }) <= CodeDictionary.maxPlaceholders else {
                    throw ProfileError(file: "factors.tsv", line: nil,
                                       message: "code '\(TerminalText.safe(factor.code, limit: 40))' has more than \(CodeDictionary.maxPlaceholders) x placeholders")
                }
                // A later row for the same code replaces the earlier one and moves to the end
                // (the order decides which pattern an overlapping code takes), in constant time.
                if let at = patternIndex[factor.code] { patterns[at] = nil }
                patternIndex[factor.code] = patterns.count
                patterns.append(factor)
            } else {
                d.factors[factor.code] = factor
            }
        }
        d.factorPatterns = patterns.compactMap { $0 }
        d.patterns = PatternTable(d.factorPatterns)
        for factor in d.factors.values { d.factorsFolded[factor.code.lowercased()] = factor }
        for r in try tables("systems.tsv", ["code", "name_zh", "name_en", "category"], required: 3) {
            d.systems[r[0]] = Entry(code: r[0], nameZh: r[1], nameEn: r[2], extra: r[3])
        }
        for r in try tables("commands.tsv", ["cn", "down", "up", "name_zh", "name_en"], required: 5) {
            d.commands[r[0]] = Command(cn: r[0], down: r[1], up: r[2], nameZh: r[3], nameEn: r[4])
        }
        for r in try tables("qnrtn.tsv", ["code", "name_zh", "name_en"], required: 3) {
            d.qnRtn[r[0]] = Entry(code: r[0], nameZh: r[1], nameEn: r[2], extra: "")
        }
        for r in try tables("exertn.tsv", ["code", "name_zh", "name_en"], required: 3) {
            d.exeRtn[r[0]] = Entry(code: r[0], nameZh: r[1], nameEn: r[2], extra: "")
        }
        for r in try tables("data-flags.tsv", ["flag", "name_zh", "name_en", "class"], required: 3) {
            d.dataFlags[r[0]] = Entry(code: r[0], nameZh: r[1], nameEn: r[2], extra: r[3])
        }
        for r in try tables("fields.tsv", ["name", "scope", "name_zh", "name_en", "width", "note"], required: 4) {
            let info = FieldInfo(name: r[0], scope: r[1], nameZh: r[2], nameEn: r[3], width: r[4], note: r[5])
            if info.scope == "suffix" { d.suffixFields[info.name] = info } else { d.fields[info.name] = info }
        }
        for r in try tables("info-values.tsv", ["code", "value", "name_zh", "name_en"], required: 4) {
            d.infoValues[r[0], default: [:]][r[1]] = Entry(code: r[1], nameZh: r[2], nameEn: r[3], extra: "")
        }
        for r in try tables("process-classes.tsv", ["table", "code", "name_zh", "name_en"], required: 4) {
            d.classes[r[0], default: [:]][r[1]] = Entry(code: r[1], nameZh: r[2], nameEn: r[3], extra: "")
        }
        d.keys.factors = d.factors
        d.keys.suffixFields = d.suffixFields
        if d.factors.count * d.suffixFields.count <= KeyTable.precomputeBudget {
            d.keys.table.reserveCapacity(d.factors.count * d.suffixFields.count)
            let fields = d.suffixFields.keys.map { (name: $0, suffix: "-" + $0, kind: FieldKind(field: $0)) }
            for (code, factor) in d.factors {
                for field in fields {
                    d.keys.table[code + field.suffix] = KeyInfo(code: code, field: field.name, factor: factor, kind: field.kind)
                }
            }
        } else {
            d.keys.complete = false
        }
        return d
    }
}

/// A default numeric type of Appendix B, `Nx.y` (x integer digits, y decimals) or `Nx`.
public struct NumberType: Sendable, Hashable, CustomStringConvertible {
    public var integerDigits: Int
    public var fractionDigits: Int

    public init(integerDigits: Int, fractionDigits: Int) {
        self.integerDigits = integerDigits
        self.fractionDigits = fractionDigits
    }

    /// Parses `N5.1`, `N4`; nil for anything else (C890, YYYYMMDDHHMMSS, `-`).
    public init?(_ text: String) {
        guard text.hasPrefix("N") else { return nil }
        let parts = text.dropFirst().split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let x = Int(parts[0]) else { return nil }
        let y = parts.count == 2 ? Int(parts[1]) : 0
        guard let y else { return nil }
        integerDigits = x
        fractionDigits = y
    }

    public var description: String { fractionDigits > 0 ? "N\(integerDigits).\(fractionDigits)" : "N\(integerDigits)" }

    /// Whether a decimal value's digit counts fit (sign and point not counted; leading zeros of
    /// the integer part not counted). Works on the UTF-8 bytes: no allocation.
    public func fits(_ value: String) -> Bool {
        var integer = 0, fraction = 0
        var inFraction = false, leading = true
        for (i, b) in value.utf8.enumerated() {
            if i == 0 && (b == UInt8(ascii: "-") || b == UInt8(ascii: "+")) { continue }
            if b == UInt8(ascii: ".") { inFraction = true; continue }
            if inFraction {
                fraction += 1
            } else if b == UInt8(ascii: "0") && leading {
                continue
            } else {
                leading = false
                integer += 1
            }
        }
        return max(integer, 1) <= max(integerDigits, 1) && fraction <= fractionDigits
    }
}
