/// The electricity-monitoring (用电监控) value names of HJ 212-2025 ST=44 CN=2011
/// (`Profiles/dialects/hj212-2025/electricity.tsv`): a facility number of the unit (`SB1`, as in
/// `SB1-RS`) followed by a quantity suffix, `SB1P-Rtd` the active power of facility SB1.
///
/// The shape `{设施名}-Rtd,{设施名}-Flag` is SECONDARY (EXTENSIONS.md §7); the code table is
/// UNKNOWN, so the suffixes are our convention, kept as data a user can replace (`--profiles`).
///
/// ```swift
/// let codes = ElectricityCodes.shared
/// codes.parse("SB2Ia")?.quantity.nameZh   // "A相电流"
/// codes.code(facility: "SB1", codes.quantities[0])   // "SB1P"
/// ```
public struct ElectricityCodes: Sendable {
    public struct Quantity: Sendable, Hashable {
        public var suffix: String
        /// The DL/T 645 meter value it shows (`power`, `energy`, `voltage_a` …).
        public var source: String
        public var nameZh: String
        public var nameEn: String
        public var unit: String
        public var unitZh: String
        /// Decimals uploaded: as many as the meter shows.
        public var decimals: Int
        /// The HJ 212-2017 Table B.10 code of the same quantity for a whole wastewater plant, if any.
        public var national: String
    }

    public var quantities: [Quantity]

    public static let path = "dialects/hj212-2025/electricity.tsv"

    public init(quantities: [Quantity]) { self.quantities = quantities }

    /// The table of a profile store.
    public static func load(from store: ProfileStore = .builtin) throws -> ElectricityCodes {
        guard let text = try store.text(path) else { throw ProfileError(file: path, line: nil, message: "missing") }
        let table = try TSVTable(file: path, text: text, required: ["suffix", "source", "name_zh", "name_en", "unit", "decimals"])
        var out: [Quantity] = []
        for (i, r) in table.records.enumerated() {
            let suffix = r["suffix"] ?? ""
            guard let first = suffix.unicodeScalars.first, first.properties.isUppercase, suffix.utf8.allSatisfy({ $0 < 0x80 && $0 != UInt8(ascii: "-") }) else {
                throw ProfileError(file: path, line: table.lines[i], message: "suffix '\(TerminalText.safe(suffix))' must start with an upper-case ASCII letter and hold no '-'")
            }
            guard let d = Int(r["decimals"] ?? ""), (0...6).contains(d) else { throw ProfileError(file: path, line: table.lines[i], message: "decimals 0...6") }
            guard !out.contains(where: { $0.suffix == suffix }) else { throw ProfileError(file: path, line: table.lines[i], message: "suffix '\(suffix)' listed twice") }
            out.append(Quantity(suffix: suffix, source: r["source"] ?? "", nameZh: r["name_zh"] ?? "", nameEn: r["name_en"] ?? "", unit: r["unit"] ?? "",
                                unitZh: r["unit_zh"] ?? "", decimals: d, national: r["national"] ?? ""))
        }
        return ElectricityCodes(quantities: out)
    }

    /// The built-in table (a broken built-in table is a build defect caught by the tests: empty here).
    public static let shared: ElectricityCodes = (try? load()) ?? ElectricityCodes(quantities: [])

    /// The value name of a quantity of a facility.
    public func code(facility: String, _ q: Quantity) -> String { facility + q.suffix }

    /// A value name split into facility number and quantity (`SB12Ua` → `SB12`, A相电压), or nil.
    public func parse(_ code: String) -> (facility: String, quantity: Quantity)? {
        let u = Array(code.utf8)
        guard u.count > 3, u[0] == UInt8(ascii: "S"), u[1] == UInt8(ascii: "B") else { return nil }
        var k = 2
        while k < u.count && u[k] &- 48 < 10 { k += 1 }
        guard k > 2, k < u.count else { return nil }
        let suffix = String(decoding: u[k...], as: UTF8.self)
        guard let q = quantities.first(where: { $0.suffix == suffix }) else { return nil }
        return (String(decoding: u[..<k], as: UTF8.self), q)
    }

    /// What a person reads for a value name: `SB1P 设施 SB1 有功功率 Active power, kW`.
    public func label(_ code: String) -> String? {
        guard let (facility, q) = parse(code) else { return nil }
        return "\(code) 设施 \(facility) \(q.nameZh) \(q.nameEn), \(q.unit)" + (q.national.isEmpty ? "" : " (plant-wide national code \(q.national))")
    }
}

extension SystemType {
    /// 44 用电监控: electricity-consumption monitoring (HJ 212-2025, SECONDARY; EXTENSIONS.md §7).
    public static let electricityMonitoring = SystemType("44")
}
