import HJ212

/// One injected fault from a ground-truth file (`generate --truth`, JSON Lines).
public struct Injection: Sendable, Equatable {
    public var index: Int
    public var mn: String
    public var fault: String
    public var layer: String
    public var factor: String?
    /// Local wall milliseconds; `end` nil when it lasts to the end of the run.
    public var start: Int64
    public var end: Int64?
    public var detail: String

    public init(index: Int, mn: String, fault: String, layer: String, factor: String?, start: Int64, end: Int64?, detail: String) {
        self.index = index
        self.mn = mn
        self.fault = fault
        self.layer = layer
        self.factor = factor
        self.start = start
        self.end = end
        self.detail = detail
    }

    /// Parses a ground-truth file. Lines that are not injections are skipped and counted.
    public static func parse(_ text: String) -> (injections: [Injection], skipped: Int) {
        var out: [Injection] = []
        var skipped = 0
        for line in text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) where !line.allSatisfy({ $0 == " " }) {
            // The run stopped while a fault acted (`"ended"` in place of `"fault"`): the latest
            // injection of that fault, unit and factor that was still acting then ends there.
            guard let v = try? JSONValue.parse(String(line)) else { skipped += 1; continue }
            if case .string(let mn)? = v["mn"], case .string(let fault)? = v["ended"], case .string(let t)? = v["t"], let time = isoLocal(t) {
                var factor: String?
                if case .string(let f)? = v["factor"], !f.isEmpty { factor = f }
                if let k = out.lastIndex(where: { $0.mn == mn && $0.fault == fault && $0.factor == factor && $0.start <= time && ($0.end ?? .max) > time }) {
                    out[k].end = time
                } else {
                    skipped += 1
                }
                continue
            }
            guard case .string(let mn)? = v["mn"], case .string(let fault)? = v["fault"],
                  case .string(let t)? = v["t"], let time = isoLocal(t) else { skipped += 1; continue }
            var layer = "protocol"
            if case .string(let l)? = v["layer"] { layer = l }
            var factor: String?
            if case .string(let f)? = v["factor"], !f.isEmpty { factor = f }
            var detail = ""
            if case .string(let d)? = v["detail"] { detail = d }
            var start = time
            var end: Int64? = time
            // "from 2026-11-30 01:00:00 to 2026-11-30 07:00:00; …": a window.
            if detail.hasPrefix("from ") {
                let body = detail.dropFirst(5).split(separator: ";", maxSplits: 1).first.map(String.init) ?? ""
                let parts = body.components(separatedBy: " to ")
                if let s = spaced(parts[0]) { start = s }
                end = parts.count > 1 ? spaced(parts[1]) : nil
            }
            out.append(Injection(index: out.count, mn: mn, fault: fault, layer: layer, factor: factor, start: start, end: end, detail: detail))
        }
        return (out, skipped)
    }

    /// "2026-11-30T01:00:00.000+08:00" → local wall ms (the offset is the logger's zone, kept as is).
    public static func isoTime(_ s: String) -> Int64? { isoLocal(s) }

    static func isoLocal(_ s: String) -> Int64? {
        let digits = s.prefix(19).filter(\.isNumber)
        guard digits.count == 14, let t = HJTime(String(digits)), t.isValid else { return nil }
        return t.wallMilliseconds
    }

    /// "2026-11-30 01:00:00" → local wall ms; nil for the far-future "until the end".
    static func spaced(_ s: String) -> Int64? {
        let trimmed = s.trimmingCharacters(in: .whitespaces)
        let digits = trimmed.prefix(19).filter(\.isNumber)
        guard digits.count == 14, let t = HJTime(String(digits)), t.isValid else { return nil }
        return t.wallMilliseconds
    }
}

/// Detections scored against the ground truth.
public struct DetectionScore: Sendable {
    public struct Outcome: Sendable {
        public var injection: Injection
        /// Counted in recall: its layer is scored and the traces covered it.
        public var scored: Bool
        /// Whether the traces held data of its unit over its window (false: not scored, not missed).
        public var covered = true
        public var alarm: Alarm?
        /// "detected", "missed", "not covered" or "not scored".
        public var result: String { !covered ? "not covered" : !scored ? "not scored" : alarm != nil ? "detected" : "missed" }
        public var delayMs: Int64? { alarm.map { max(0, $0.start - injection.start) } }
    }

    public struct ClassScore: Sendable {
        public var fault: String
        public var injections = 0
        public var detected = 0
        public var trueAlarms = 0
        public var falseAlarms = 0
        public var recall: Double? { injections > 0 ? Double(detected) / Double(injections) : nil }
        public var precision: Double? { trueAlarms + falseAlarms > 0 ? Double(trueAlarms) / Double(trueAlarms + falseAlarms) : nil }
    }

    public var outcomes: [Outcome]
    public var alarms: [Alarm]
    /// Alarms that overlap no injection on their unit (of any layer).
    public var falseAlarms: [Alarm]
    public var classes: [ClassScore]

    /// Injections of a scored layer that the traces did not cover (no data of their unit over
    /// their window): neither detected nor missed.
    public var notCovered: Int { outcomes.filter { !$0.covered }.count }

    /// Whether the truth had injections and the traces covered none of them.
    public var nothingCovered: Bool { !outcomes.isEmpty && !outcomes.contains { $0.covered } }

    /// Detected scored injections over scored injections; nil when nothing was scored.
    public var recall: Double? {
        let s = outcomes.filter(\.scored)
        return s.isEmpty ? nil : Double(s.filter { $0.alarm != nil }.count) / Double(s.count)
    }

    /// Alarms that match an injection over all alarms; nil when there was no alarm.
    /// Nil too when the traces covered no injection (every alarm would count as false).
    public var precision: Double? {
        alarms.isEmpty || nothingCovered ? nil : Double(alarms.count - falseAlarms.count) / Double(alarms.count)
    }

    /// Scores alarms against injections. An injection is detected by the earliest alarm of a rule
    /// that the catalogue lists for its fault, on its unit (and its factor when the rule says
    /// `factor_match`), overlapping its window extended by the grace time. An alarm is false when
    /// it overlaps no injection window of its unit at all.
    ///
    /// `coverage` (MN → first and last time of its data in the traces), when given, leaves out of
    /// the score every injection whose unit never appears or whose window lies wholly outside its
    /// unit's span: the traces cannot tell whether it would have been detected ("not covered").
    public static func score(injections: [Injection], alarms: [Alarm], catalogue: AnomalyCatalogue,
                             coverage: [String: ClosedRange<Int64>]? = nil) -> DetectionScore {
        let grace = Int64(catalogue.graceMinutes * 60_000)
        func overlaps(_ a: Alarm, _ i: Injection) -> Bool {
            let aEnd = a.end ?? .max
            let iEnd = i.end.map { $0 + grace } ?? .max
            return a.start <= iEnd && aEnd >= i.start - 60_000
        }
        var outcomes: [Outcome] = []
        var byMN: [String: [Alarm]] = [:]
        for a in alarms { byMN[a.mn, default: []].append(a) }
        var classes: [String: ClassScore] = [:]
        for i in injections {
            var covered = true
            if let coverage {
                if let span = coverage[i.mn] { covered = i.start <= span.upperBound && (i.end ?? .max) >= span.lowerBound } else { covered = false }
            }
            let scored = covered && catalogue.scoredLayers.contains(i.layer)
            let rules = catalogue.rules(detecting: i.fault)
            let match = (byMN[i.mn] ?? []).filter { a in
                guard let rule = rules.first(where: { $0.id == a.rule }) else { return false }
                if rule.factorMatch, let f = i.factor, a.factor != f { return false }
                return overlaps(a, i)
            }.min { $0.start != $1.start ? $0.start < $1.start : $0.id < $1.id }
            outcomes.append(Outcome(injection: i, scored: scored, covered: covered, alarm: covered ? match : nil))
            if scored {
                classes[i.fault, default: ClassScore(fault: i.fault)].injections += 1
                if match != nil { classes[i.fault]!.detected += 1 }
            }
        }
        var falseAlarms: [Alarm] = []
        for a in alarms {
            let related = injections.filter { $0.mn == a.mn && overlaps(a, $0) }
            if related.isEmpty {
                falseAlarms.append(a)
                for r in catalogue.rule(a.rule)?.faults ?? [] where classes[r] != nil { classes[r]!.falseAlarms += 1 }
            } else if let i = related.first(where: { inj in catalogue.rules(detecting: inj.fault).contains { $0.id == a.rule } }) ?? related.first {
                classes[i.fault, default: ClassScore(fault: i.fault)].trueAlarms += 1
            }
        }
        return DetectionScore(outcomes: outcomes, alarms: alarms, falseAlarms: falseAlarms,
                              classes: classes.values.sorted { $0.fault < $1.fault })
    }

    /// The machine-readable report (`report --format json`).
    public func json(catalogue: AnomalyCatalogue, units: Int, days: Double) -> JSONValue {
        func ratio(_ v: Double?) -> JSONValue { v.map { .double(($0 * 10_000).rounded() / 10_000) } ?? .null }
        let truth: [JSONValue] = outcomes.map { o in
            var m: [(String, JSONValue)] = [("mn", .string(o.injection.mn)), ("fault", .string(o.injection.fault)), ("layer", .string(o.injection.layer)),
                                            ("factor", o.injection.factor.map { .string($0) } ?? .null),
                                            ("start", .string(HJTime(wallMilliseconds: o.injection.start).description)),
                                            ("end", o.injection.end.map { .string(HJTime(wallMilliseconds: $0).description) } ?? .null),
                                            ("scored", .bool(o.scored)), ("covered", .bool(o.covered)), ("result", .string(o.result)),
                                            ("detected", o.covered ? .bool(o.alarm != nil) : .null),
                                            ("rule", o.alarm.map { .string($0.rule) } ?? .null),
                                            ("alarm", o.alarm.map { .int($0.id) } ?? .null),
                                            ("delay_s", o.delayMs.map { .int(Int($0 / 1000)) } ?? .null)]
            if !o.injection.detail.isEmpty { m.append(("detail", .string(o.injection.detail))) }
            return .object(m)
        }
        let perClass: [JSONValue] = classes.map { c in
            .object([("fault", .string(c.fault)), ("injections", .int(c.injections)), ("detected", .int(c.detected)),
                     ("recall", ratio(c.recall)), ("true_alarms", .int(c.trueAlarms)), ("false_alarms", .int(c.falseAlarms)), ("precision", ratio(c.precision))])
        }
        let unitDays = Double(units) * days
        return .object([
            ("recall", ratio(recall)), ("precision", ratio(precision)),
            ("scored_layers", .array(catalogue.scoredLayers.map { .string($0) })),
            ("not_covered", .int(notCovered)),
            ("units", .int(units)), ("days", .double((days * 1000).rounded() / 1000)),
            ("false_alarms_per_unit_day", unitDays > 0 ? .double((Double(falseAlarms.count) / unitDays * 1000).rounded() / 1000) : .null),
            ("per_class", .array(perClass)),
            ("truth", .array(truth)),
            ("alarms", .array(alarms.map { $0.json(catalogue: catalogue) })),
            ("false_alarms", .array(falseAlarms.map { $0.json(catalogue: catalogue) })),
        ])
    }
}
