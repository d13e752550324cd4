import HJ212

extension UnitProfile {
    /// The profile of a unit template file (`Profiles/units/NAME.json`): the rules read its limits
    /// (`limit`, of the converted value when `zs`), measuring ranges (`range`), flow and O₂ factors,
    /// reference O₂, cadence and cyclic analysers. Only these keys are read; the simulation
    /// validates the rest of the file.
    public static func parse(templateJSON text: String, file: String) throws -> UnitProfile {
        let root: JSONValue
        do { root = try JSONValue.parse(text) } catch { throw ProfileError(file: file, line: nil, message: "\(error)") }
        func string(_ v: JSONValue?) -> String? { if case .string(let s)? = v { s } else { nil } }
        func number(_ v: JSONValue?) -> Double? { v.flatMap(AnomalyCatalogue.number) }
        guard let name = string(root["name"]), case .array(let items)? = root["factors"] else {
            throw ProfileError(file: file, line: nil, message: "a unit template needs 'name' and 'factors'")
        }
        var factors: [Factor] = []
        for (n, item) in items.enumerated() {
            guard let code = string(item["code"]), case .array(let range)? = item["range"], range.count == 2,
                  let lo = number(range[0]), let hi = number(range[1]) else {
                throw ProfileError(file: file, line: nil, message: "factors[\(n)]: 'code' and 'range' [min, max] are required")
            }
            var zs = false
            if case .bool(let b)? = item["zs"] { zs = b }
            factors.append(Factor(code: code, baseline: number(item["baseline"]) ?? 0, stopped: number(item["stopped"]) ?? 0,
                                  rangeMin: lo, rangeMax: hi, limit: number(item["limit"]), zs: zs,
                                  cycleMinutes: Int(number(item["measure_every_minutes"]) ?? 0)))
        }
        return UnitProfile(template: name, titleZh: string(root["title_zh"]) ?? name, titleEn: string(root["title_en"]) ?? name,
                           rtdIntervalSeconds: Int(number(root["rtd_interval_seconds"]) ?? 30),
                           minIntervalMinutes: Int(number(root["min_interval_minutes"]) ?? 10),
                           flowFactor: string(root["flow_factor"]), o2Factor: string(root["o2_factor"]),
                           referenceO2: number(root["reference_o2"]), factors: factors)
    }

    /// The profile of a built-in or overriding unit template by name.
    public static func load(template name: String, store: ProfileStore = .builtin) throws -> UnitProfile {
        let path = "units/\(name).json"
        guard let text = try store.text(path) else { throw ProfileError(file: path, line: nil, message: "no such unit template") }
        return try parse(templateJSON: text, file: path)
    }

    /// MN → profile for every unit of a fleet manifest (CSV with `mn` and `unit` columns).
    public static func fleet(csv text: String, file: String, store: ProfileStore = .builtin) throws -> [String: UnitProfile] {
        let rows = try CSVReader.rows(text, file: file).map(\.cells)
        guard let header = rows.first, let mnColumn = header.firstIndex(of: "mn"), let unitColumn = header.firstIndex(of: "unit") else {
            throw ProfileError(file: file, line: 1, message: "a fleet needs 'mn' and 'unit' columns")
        }
        var templates: [String: UnitProfile] = [:]
        var out: [String: UnitProfile] = [:]
        for row in rows.dropFirst() where row.count > max(mnColumn, unitColumn) {
            let name = row[unitColumn]
            if templates[name] == nil { templates[name] = try load(template: name, store: store) }
            out[row[mnColumn]] = templates[name]
        }
        return out
    }
}
