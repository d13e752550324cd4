import HJ212

/// What a kind of monitored discharge point sends: its factors with their value models, its
/// cadence, and its status information (Profiles/units/NAME.json; schema in Profiles/units/README.md).
public struct UnitTemplate: Sendable, Hashable {
    public enum Medium: String, Sendable, Hashable { case water, gas }

    /// The value model of one factor.
    public struct Factor: Sendable, Hashable {
        public var code: String
        public var baseline: Double
        public var stopped: Double
        public var rangeMin: Double
        public var rangeMax: Double
        public var limit: Double?
        public var dailyAmplitude: Double
        public var peakHour: Double
        public var noise: Double
        public var autocorrelation: Double
        /// Water analysers measure every N minutes and hold the value; 0 = continuous.
        public var measureEveryMinutes: Int
        public var decimals: Int
        public var zs: Bool
        public var couple: [(to: String, gain: Double)]
        /// The concentration unit when it differs from Appendix B's default (e.g. a05002 CH4,
        /// printed as ng/m³ but measured in mg/m³); used for Cou.
        public var unit: String?

        public static func == (a: Factor, b: Factor) -> Bool {
            a.code == b.code && a.baseline == b.baseline && a.stopped == b.stopped && a.rangeMin == b.rangeMin
                && a.rangeMax == b.rangeMax && a.limit == b.limit && a.dailyAmplitude == b.dailyAmplitude
                && a.peakHour == b.peakHour && a.noise == b.noise && a.autocorrelation == b.autocorrelation
                && a.measureEveryMinutes == b.measureEveryMinutes && a.decimals == b.decimals && a.zs == b.zs
                && a.couple.map(\.to) == b.couple.map(\.to) && a.couple.map(\.gain) == b.couple.map(\.gain)
        }

        public func hash(into h: inout Hasher) { h.combine(code) }
    }

    public struct Facility: Sendable, Hashable {
        public var id: String
        public var nameZh: String
        public var nameEn: String
    }

    /// A value in a 3020 information group.
    public enum InfoValue: Sendable, Hashable {
        case number(Double, decimals: Int)
        case text(String)
        case varying(baseline: Double, noise: Double, decimals: Int)
        case counter(perHour: Double, start: Double, decimals: Int)
    }

    public struct InfoGroup: Sendable, Hashable {
        public var polId: String?
        public var values: [(code: String, value: InfoValue)]

        public static func == (a: InfoGroup, b: InfoGroup) -> Bool {
            a.polId == b.polId && a.values.map(\.code) == b.values.map(\.code) && a.values.map(\.value) == b.values.map(\.value)
        }
        public func hash(into h: inout Hasher) { h.combine(polId) }
    }

    public var name: String
    public var titleZh: String
    public var titleEn: String
    public var medium: Medium
    public var st: String
    public var rtdIntervalSeconds: Int
    public var minIntervalMinutes: Int
    public var sampleSeconds: Int
    public var flowFactor: String
    public var referenceO2: Double?
    public var o2Factor: String?
    public var operationStartHour: Double
    public var operationEndHour: Double
    public var rampMinutes: Double
    public var factors: [Factor]
    public var facilities: [Facility]
    public var workingConditionST: String?
    public var workingCondition: [Factor]
    public var infoIntervalMinutes: Int
    public var infoGroups: [InfoGroup]
    public var dynamicControl: String?

    /// Loads `Profiles/units/NAME.json` from the store (built in, or overridden).
    public static func load(_ name: String, from store: ProfileStore = .builtin) throws -> UnitTemplate {
        let path = "units/\(name).json"
        guard let text = try store.text(path) else {
            let known = available(in: store).joined(separator: ", ")
            throw ProfileError(file: path, line: nil, message: "no such unit template; available: \(known)")
        }
        return try parse(text, file: path)
    }

    /// Names of the templates available in a store.
    public static func available(in store: ProfileStore = .builtin) -> [String] {
        var names = Set(ProfileStore.builtinPaths.filter { $0.hasPrefix("units/") && $0.hasSuffix(".json") }
            .map { String($0.dropFirst(6).dropLast(5)) })
        if let dir = store.overrideDirectory, let items = try? listDirectory(dir + "/units") {
            for item in items where item.hasSuffix(".json") { names.insert(String(item.dropLast(5))) }
        }
        return names.sorted()
    }

    /// Parses a template, checking every key and every factor code against the 2017 dictionary.
    public static func parse(_ text: String, file: String) throws -> UnitTemplate {
        let json: JSONValue
        do { json = try JSONValue.parse(text) } catch let e as JSONParseError {
            throw ProfileError(file: file, line: nil, message: "not valid JSON at \(e)")
        }
        var r = try JSONReader(json, file: file)
        let dictionary = CodeDictionary.shared(.hj2017)
        var t = UnitTemplate(
            name: try r.string("name"), titleZh: try r.string("title_zh"), titleEn: try r.string("title_en"),
            medium: .water, st: try r.string("st"),
            rtdIntervalSeconds: try r.int("rtd_interval_seconds", in: 30...3600),
            minIntervalMinutes: try r.int("min_interval_minutes", in: 1...30),
            sampleSeconds: try r.int("sample_seconds", in: 1...60),
            flowFactor: try r.string("flow_factor"),
            referenceO2: try r.optionalNumber("reference_o2", in: 0...20.9),
            o2Factor: try r.optionalString("o2_factor"),
            operationStartHour: 0, operationEndHour: 24, rampMinutes: 0,
            factors: [], facilities: [], workingConditionST: nil, workingCondition: [],
            infoIntervalMinutes: 60, infoGroups: [], dynamicControl: nil)
        let medium = try r.string("medium")
        guard let m = Medium(rawValue: medium) else { throw r.fail("medium", "expected \"water\" or \"gas\", found \"\(medium)\"") }
        t.medium = m
        guard [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30].contains(t.minIntervalMinutes) else {
            throw r.fail("min_interval_minutes", "expected one of 1 2 3 4 5 6 10 12 15 20 30")
        }
        guard t.rtdIntervalSeconds % t.sampleSeconds == 0, 60 % t.sampleSeconds == 0 else {
            throw r.fail("sample_seconds", "must divide 60 and rtd_interval_seconds (\(t.rtdIntervalSeconds))")
        }
        var op = try r.object("operation")
        t.operationStartHour = try op.number("start_hour", in: 0...24)
        t.operationEndHour = try op.number("end_hour", in: 0...24)
        t.rampMinutes = try op.number("ramp_minutes", in: 0...600)
        try op.finish()
        for (i, item) in try r.array("factors").enumerated() {
            t.factors.append(try parseFactor(item, file: file, path: "factors[\(i)]", dictionary: dictionary))
        }
        guard !t.factors.isEmpty else { throw r.fail("factors", "at least one factor is required") }
        let codes = Set(t.factors.map(\.code))
        guard codes.count == t.factors.count else { throw r.fail("factors", "a code appears twice") }
        guard codes.contains(t.flowFactor) else { throw r.fail("flow_factor", "'\(t.flowFactor)' is not one of the template's factors") }
        if t.referenceO2 != nil {
            guard let o2 = t.o2Factor, codes.contains(o2) else { throw r.fail("o2_factor", "reference_o2 needs o2_factor naming one of the factors") }
        }
        for (i, f) in t.factors.enumerated() {
            for c in f.couple where !codes.contains(c.to) {
                throw ProfileError(file: file, line: nil, message: "factors[\(i)].couple: '\(c.to)' is not a factor of this template")
            }
            if f.zs && t.referenceO2 == nil {
                throw ProfileError(file: file, line: nil, message: "factors[\(i)].zs: converted values need reference_o2")
            }
        }
        for (i, item) in try r.array("facilities").enumerated() {
            var fr = try JSONReader(item, file: file, path: "facilities[\(i)]")
            let f = Facility(id: try fr.string("id"), nameZh: try fr.string("name_zh"), nameEn: try fr.string("name_en"))
            guard f.id.hasPrefix("SB"), Int(f.id.dropFirst(2)) != nil else { throw fr.fail("id", "expected SB followed by a number") }
            try fr.finish()
            t.facilities.append(f)
        }
        if var wc = try r.optionalObject("working_condition") {
            t.workingConditionST = try wc.string("st")
            for (i, item) in try wc.array("factors").enumerated() {
                t.workingCondition.append(try parseFactor(item, file: file, path: "working_condition.factors[\(i)]", dictionary: dictionary))
            }
            try wc.finish()
        }
        var info = try r.object("info")
        t.infoIntervalMinutes = try info.int("interval_minutes", in: 1...1440)
        for (i, item) in try info.array("groups").enumerated() {
            var gr = try JSONReader(item, file: file, path: "info.groups[\(i)]")
            var group = InfoGroup(polId: try gr.optionalString("pol_id"), values: [])
            if let p = group.polId, dictionary.factor(p) == nil {
                throw gr.fail("pol_id", "'\(p)' is not a code of Appendix B")
            }
            let values = try gr.object("values")
            for (code, v) in values.allMembers {
                group.values.append((code, try parseInfoValue(v, file: file, path: "info.groups[\(i)].values.\(code)")))
            }
            _ = gr.raw("values")
            try gr.finish()
            t.infoGroups.append(group)
        }
        t.dynamicControl = try info.optionalString("dynamic_control")
        try info.finish()
        _ = r.raw("note")
        try r.finish()
        return t
    }

    static func parseFactor(_ value: JSONValue, file: String, path: String, dictionary: CodeDictionary) throws(ProfileError) -> Factor {
        var r = try JSONReader(value, file: file, path: path)
        let code = try r.string("code")
        guard dictionary.factor(code) != nil else { throw r.fail("code", "'\(code)' is not a code of Appendix B") }
        let range = try r.array("range")
        guard range.count == 2 else { throw r.fail("range", "expected [min, max]") }
        let lo = try JSONReader.number(range[0], path: path + ".range[0]", file: file, range: nil)
        let hi = try JSONReader.number(range[1], path: path + ".range[1]", file: file, range: nil)
        guard lo < hi else { throw r.fail("range", "min must be below max") }
        var f = Factor(
            code: code, baseline: try r.number("baseline"), stopped: try r.number("stopped"), rangeMin: lo, rangeMax: hi,
            limit: try r.optionalNumber("limit"), dailyAmplitude: try r.number("daily_amplitude", in: 0...1),
            peakHour: try r.number("peak_hour", in: 0...24), noise: try r.number("noise", in: 0...1),
            autocorrelation: try r.number("autocorrelation", in: 0...0.9999),
            measureEveryMinutes: try r.int("measure_every_minutes", in: 0...1440), decimals: try r.int("decimals", in: 0...6),
            zs: try r.bool("zs"), couple: [], unit: try r.optionalString("unit"))
        for (i, item) in try r.array("couple").enumerated() {
            var cr = try JSONReader(item, file: file, path: "\(path).couple[\(i)]")
            f.couple.append((try cr.string("to"), try cr.number("gain", in: -10...10)))
            try cr.finish()
        }
        try r.finish()
        return f
    }

    static func parseInfoValue(_ v: JSONValue, file: String, path: String) throws(ProfileError) -> InfoValue {
        switch v {
        case .int(let i): return .number(Double(i), decimals: 0)
        case .double(let d):
            let text = String(d)
            let decimals = text.contains(".") ? max(1, text.split(separator: ".").last!.count) : 0
            return .number(d, decimals: min(decimals, 6))
        case .string(let s): return .text(s)
        case .object:
            var r = try JSONReader(v, file: file, path: path)
            if r.has("counter_per_hour") {
                let value = InfoValue.counter(perHour: try r.number("counter_per_hour"), start: try r.number("start"), decimals: try r.int("decimals", in: 0...6))
                try r.finish()
                return value
            }
            let value = InfoValue.varying(baseline: try r.number("baseline"), noise: try r.number("noise", in: 0...1), decimals: try r.int("decimals", in: 0...6))
            try r.finish()
            return value
        default:
            throw ProfileError(file: file, line: nil, message: "\(path): expected a number, a string or a value model, found \(JSONReader.quote(v))")
        }
    }
}

import Glibc

/// The names in a directory (without `.` and `..`); empty when it cannot be read.
public func listDirectory(_ path: String) throws -> [String] {
    guard let dir = opendir(path) else { return [] }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafePointer(to: entry.pointee.d_name) { $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) } }
        if name != "." && name != ".." { names.append(name) }
    }
    return names
}
