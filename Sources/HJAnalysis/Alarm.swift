import HJ212

/// An anomaly found by a rule: on a unit (MN), optionally a factor, from `start` to `end`
/// (DataTime, local wall milliseconds; `end` nil while it lasts), with the evidence a person reads.
public struct Alarm: Sendable, Equatable {
    public var id: Int
    public var rule: String
    public var mn: String
    public var factor: String?
    /// Data time of the first record that showed it.
    public var start: Int64
    /// Data time of the last record that showed it; nil while still open.
    public var end: Int64?
    /// Arrival time of the record that opened it (for "after how long").
    public var raisedAt: Int64
    public var evidence: String
    /// The most telling value (the highest excess, the frozen value …), if any.
    public var value: Double?

    public init(id: Int, rule: String, mn: String, factor: String?, start: Int64, end: Int64?, raisedAt: Int64, evidence: String, value: Double?) {
        self.id = id
        self.rule = rule
        self.mn = mn
        self.factor = factor
        self.start = start
        self.end = end
        self.raisedAt = raisedAt
        self.evidence = evidence
        self.value = value
    }

    public var isOpen: Bool { end == nil }

    /// JSON object for reports and the console's endpoints.
    public func json(catalogue: AnomalyCatalogue?) -> JSONValue {
        var m: [(String, JSONValue)] = [("id", .int(id)), ("rule", .string(rule))]
        if let r = catalogue?.rule(rule) { m += [("zh", .string(r.zh)), ("en", .string(r.en))] }
        m += [("mn", .string(mn)), ("factor", factor.map { .string($0) } ?? .null),
              ("start", .string(HJTime(wallMilliseconds: start).description)),
              ("end", end.map { .string(HJTime(wallMilliseconds: $0).description) } ?? .null),
              ("start_ms", .int(Int(start))), ("end_ms", end.map { .int(Int($0)) } ?? .null),
              ("evidence", .string(evidence))]
        if let value, value.isFinite { m.append(("value", .double(value))) }
        return .object(m)
    }
}

/// What the analyser reports as records come in.
public enum AlarmEvent: Sendable, Equatable {
    case opened(Alarm)
    case closed(Alarm)

    public var alarm: Alarm {
        switch self {
        case .opened(let a), .closed(let a): a
        }
    }
}

/// Opens an alarm after `need` consecutive true evaluations and closes it once the condition
/// has been false for `clear` milliseconds of data time. One latch per rule, unit and factor.
struct Latch: Sendable {
    var open: Alarm?
    var streak = 0
    var streakStart: Int64 = 0
    var lastTrue: Int64 = 0

    /// Returns the event this evaluation causes, if any. `make(start)` builds the alarm to open.
    mutating func update(active: Bool, time: Int64, need: Int, clear: Int64, make: (Int64) -> Alarm) -> AlarmEvent? {
        if active {
            if streak == 0 { streakStart = time }
            streak += 1
            lastTrue = time
            if open == nil && streak >= need {
                let a = make(streakStart)
                open = a
                return .opened(a)
            }
            return nil
        }
        streak = 0
        if var a = open, time - lastTrue >= clear {
            a.end = lastTrue
            open = nil
            return .closed(a)
        }
        return nil
    }

    /// Closes an open alarm now (the unit's state changed so that the rule no longer applies).
    mutating func close() -> AlarmEvent? {
        streak = 0
        guard var a = open else { return nil }
        a.end = lastTrue
        open = nil
        return .closed(a)
    }
}
