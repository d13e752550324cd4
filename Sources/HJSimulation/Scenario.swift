import HJ212

/// A timeline of faults on units of a fleet (`Profiles/scenarios/NAME.json`, or a file):
/// which unit, which fault (a catalogue ID), which factor, from when, for how long, with which
/// parameters. Compiled into `FaultSpec`s bound to MNs, so the same seed gives the same run.
///
/// ```json
/// {"name": "furnace-below-850", "title_zh": "…", "title_en": "…", "fleet": "mixed-demo",
///  "events": [{"unit": "template:msw-incinerator", "fault": "furnace-low", "start": "+1h", "duration": "45m",
///              "parameters": {"temperature": 810}}]}
/// ```
///
/// `unit` is an MN (24 hex digits), `#N` (the N-th unit of the fleet, 1-based), `template:NAME`
/// (every unit of that template), `*` (every unit), or an enterprise name as in the manifest.
/// `start` is an offset from the run's start (`+90m`, `0`), a time of day (`22:00`: the first at
/// or after the start) or a date and time (`2026-11-30T22:00`); `duration` is omitted for "until
/// the end".
public struct Scenario: Sendable {
    public struct Event: Sendable {
        public var index: Int
        public var unit: String
        public var fault: String
        public var factor: String?
        public var start: String
        public var duration: String?
        public var rate: Double
        public var count: Int?
        public var parameters: [String: Double]
    }

    /// A unit a scenario may name.
    public struct Unit: Sendable {
        public var mn: String
        public var template: UnitTemplate
        /// 1-based position in the fleet.
        public var row: Int
        public var enterprise: String
        public init(mn: String, template: UnitTemplate, row: Int, enterprise: String) {
            (self.mn, self.template, self.row, self.enterprise) = (mn, template, row, enterprise)
        }
    }

    public var name: String
    /// Where it was read from (for messages).
    public var file: String
    public var titleZh: String
    public var titleEn: String
    public var description: String
    /// The fleet it was written for (used when the command names none).
    public var fleet: String?
    public var events: [Event]

    public static var builtinNames: [String] {
        ProfileStore.builtinPaths.filter { $0.hasPrefix("scenarios/") && $0.hasSuffix(".json") }.map { String($0.dropFirst(10).dropLast(5)) }.sorted()
    }

    /// Loads a scenario by file path (a path wins) or built-in name.
    public static func load(_ nameOrPath: String, store: ProfileStore = .builtin) throws -> Scenario {
        if nameOrPath.contains("/") || nameOrPath.hasSuffix(".json"), let data = readFile(nameOrPath) {
            return try parse(String(decoding: data, as: UTF8.self), file: nameOrPath)
        }
        if let text = try store.text("scenarios/\(nameOrPath).json") {
            return try parse(text, file: "scenarios/\(nameOrPath).json")
        }
        throw ProfileError(file: nameOrPath, line: nil, message: "cannot be read (not a file, and not a built-in scenario: \(builtinNames.joined(separator: ", ")))")
    }

    /// Parses a scenario strictly: unknown keys, missing fields and wrong types are errors naming
    /// the entry.
    public static func parse(_ text: String, file: String) throws -> Scenario {
        let json: JSONValue
        do { json = try JSONValue.parse(text) } catch { throw ProfileError(file: file, line: nil, message: "not valid JSON: \(error)") }
        var r = try JSONReader(json, file: file)
        var s = Scenario(name: try r.string("name"), file: file, titleZh: try r.string("title_zh"), titleEn: try r.string("title_en"),
                         description: try r.optionalString("description") ?? "", fleet: try r.optionalString("fleet"), events: [])
        _ = r.raw("note")
        for (i, item) in try r.array("events").enumerated() {
            var e = try JSONReader(item, file: file, path: "events[\(i)]")
            var parameters: [String: Double] = [:]
            if let p = try e.optionalObject("parameters") {
                var p = p
                for (name, _) in p.allMembers { parameters[name] = try p.number(name) }
            }
            let rate = try e.optionalNumber("rate", in: 0.001...100) ?? 100
            var count: Int?
            if e.has("count") { count = try e.int("count", in: 1...1_000_000) }
            s.events.append(Event(index: i, unit: try e.string("unit"), fault: try e.string("fault"), factor: try e.optionalString("factor"),
                                  start: try e.optionalString("start") ?? "0", duration: try e.optionalString("duration"),
                                  rate: rate / 100, count: count, parameters: parameters))
            _ = e.raw("note")
            try e.finish()
        }
        try r.finish()
        if s.events.isEmpty { throw ProfileError(file: file, line: nil, message: "events: a scenario needs at least one event") }
        return s
    }

    /// A start written as an offset (`+90m`, `0`), a time of day (`22:00`) or a date and time.
    static func resolveStart(_ text: String, runStart: Int64, offsetMinutes: Int) -> Int64? {
        var t = text.trimmingCharacters(in: .whitespaces)
        if t == "0" || t == "+0" { return runStart }
        if t.hasPrefix("+") { t.removeFirst(); return SimClock.parseDuration(t).map { runStart + $0 } }
        let parts = t.split(separator: ":")
        if !t.contains("-"), parts.count == 2, let h = Int(parts[0]), let m = Int(parts[1]), (0..<24).contains(h), (0..<60).contains(m) {
            let day: Int64 = 86_400_000
            let midnight = runStart - ((runStart % day) + day) % day
            let candidate = midnight + Int64(h * 60 + m) * 60_000
            return candidate >= runStart ? candidate : candidate + day
        }
        if t.contains("-") { return SimClock.parseStart(t, offsetMinutes: offsetMinutes) }
        return SimClock.parseDuration(t).map { runStart + $0 }
    }

    /// The faults of this scenario for these units, from `start`; every entry is checked first
    /// (unit, fault, factor, parameters, times, and whether the fault can act there), and the
    /// first problem is thrown naming the file, the entry and the reason. `live` is false for
    /// runs without a network (`generate`), where transport faults cannot act.
    public func specs(units: [Unit], start: Int64, end: Int64?, offsetMinutes: Int = SimClock.chinaOffsetMinutes, live: Bool,
                      store: ProfileStore = .builtin) throws -> [FaultSpec] {
        try compile(units: units, start: start, end: end, offsetMinutes: offsetMinutes, live: live, store: store).specs
    }

    /// `specs`, and notes on entries that are valid but start after the run ends (left out, so
    /// that a long timeline can be run in part).
    public func compile(units: [Unit], start: Int64, end: Int64?, offsetMinutes: Int = SimClock.chinaOffsetMinutes, live: Bool,
                        store: ProfileStore = .builtin) throws -> (specs: [FaultSpec], notes: [String]) {
        let definitions = try FaultSpec.definitions(store: store)
        var out: [FaultSpec] = []
        var notes: [String] = []
        // Units by template and by MN or enterprise, built once: each event's selection is a
        // lookup, so compiling costs events + units, not events × units.
        var byTemplate: [String: [Unit]] = [:]
        var byName: [String: [Unit]] = [:]
        for unit in units {
            byTemplate[unit.template.name, default: []].append(unit)
            byName[unit.mn, default: []].append(unit)
            if unit.enterprise != unit.mn { byName[unit.enterprise, default: []].append(unit) }
        }
        let templateNames = Set(units.map(\.template.name)).sorted().joined(separator: ", ")
        for e in events {
            func fail(_ message: String) -> ProfileError { ProfileError(file: file, line: nil, message: "events[\(e.index)] (\(e.fault) on \(e.unit)): \(message)") }
            let selected: [Unit]
            if e.unit == "*" { selected = units }
            else if e.unit.hasPrefix("#") {
                guard let n = Int(e.unit.dropFirst()), n >= 1, n <= units.count else {
                    throw fail("unit '\(e.unit)': the fleet has \(units.count) unit\(units.count == 1 ? "" : "s") (#1…#\(units.count))")
                }
                selected = [units[n - 1]]
            } else if e.unit.hasPrefix("template:") {
                let name = String(e.unit.dropFirst(9))
                selected = byTemplate[name] ?? []
                if selected.isEmpty {
                    throw fail("no unit of template '\(name)' in the fleet (it has \(templateNames))")
                }
            } else {
                // In fleet order, each unit once (built in fleet order; a unit whose MN is its
                // enterprise name is listed once).
                selected = byName[e.unit] ?? []
                if selected.isEmpty { throw fail("unit '\(e.unit)' is not in the fleet (give an MN, #ROW, template:NAME, an enterprise name or *)") }
            }
            guard let from = Self.resolveStart(e.start, runStart: start, offsetMinutes: offsetMinutes) else {
                throw fail("start '\(e.start)': expected +DURATION, HH:MM or a date and time")
            }
            var window: Range<Int64>?
            if let d = e.duration {
                guard let ms = SimClock.parseDuration(d) else { throw fail("duration '\(d)': expected like 30m, 2h") }
                window = from..<(from + ms)
            } else if from > start {
                window = from..<Int64.max
            }
            let late = end.map { from >= $0 } ?? false
            if late { notes.append("\(file): events[\(e.index)] (\(e.fault) on \(e.unit)) starts at \(HJTime(wallMilliseconds: from).description), after the run ends: not injected") }
            for unit in selected {
                let spec: FaultSpec
                do {
                    spec = try FaultSpec.make(id: e.fault, factor: e.factor, parameters: e.parameters, rate: e.rate, window: window, limit: e.count,
                                              mn: unit.mn, definitions: definitions, source: file)
                } catch let error as ProfileError { throw fail(error.message) }
                if spec.layer == .transport && !live {
                    throw fail("a transport fault needs a live link: run the scenario with simulate (generate has no network)")
                }
                if FaultDefinition.valueLayers.contains(spec.layer), let why = spec.inapplicability(to: unit.template) { throw fail(why) }
                if !late { out.append(spec) }
            }
        }
        return (out, notes)
    }
}
