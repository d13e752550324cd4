import HJ212

/// A point of a factor's series: DataTime, value (Rtd or Avg), flag.
public struct SeriesPoint: Sendable, Equatable {
    public var time: Int64
    public var value: Double
    public var flag: String?

    public init(time: Int64, value: Double, flag: String?) {
        self.time = time
        self.value = value
        self.flag = flag
    }
}

/// Which series: unit, factor, kind.
public struct SeriesKey: Sendable, Hashable, Comparable {
    public var mn: String
    public var factor: String
    public var kind: SeriesKind

    public init(mn: String, factor: String, kind: SeriesKind) {
        self.mn = mn
        self.factor = factor
        self.kind = kind
    }

    public static func < (a: SeriesKey, b: SeriesKey) -> Bool {
        (a.mn, a.factor) != (b.mn, b.factor) ? (a.mn, a.factor) < (b.mn, b.factor) : a.kind < b.kind
    }
}

/// A whole recorded run analysed offline (`hj212 report`): the rules' alarms and, for charts and
/// CSV, the series of every unit and factor.
///
/// Budget: each series keeps at most `maxPointsPerSeries` points (the first ones; later points
/// are counted in `droppedPoints`), at most `maxSeries` series are kept.
///
/// ```swift
/// var run = TraceAnalysis(catalogue: catalogue, profiles: profiles)
/// run.add(segment, arrival: t)          // for every uplink frame, in order
/// run.finish()
/// let score = DetectionScore.score(injections: truth, alarms: run.alarms, catalogue: catalogue)
/// ```
public struct TraceAnalysis: Sendable {
    public private(set) var analyzer: Analyzer
    var assembler = RecordAssembler()
    public private(set) var alarms: [Alarm] = []
    var alarmIndex: [Int: Int] = [:]
    public private(set) var series: [SeriesKey: [SeriesPoint]] = [:]
    public private(set) var units: [String] = []
    public private(set) var firstTime: Int64?
    public private(set) var lastTime: Int64?
    public private(set) var records = 0
    /// Per unit (MN), the first and last time of its data: arrivals and records' DataTime.
    public private(set) var spans: [String: ClosedRange<Int64>] = [:]
    public private(set) var droppedPoints = 0
    public let collectSeries: Bool
    public let maxPointsPerSeries: Int
    public let maxSeries: Int

    public init(catalogue: AnomalyCatalogue, profiles: [String: UnitProfile], collectSeries: Bool = true,
                maxPointsPerSeries: Int = 500_000, maxSeries: Int = 100_000) {
        analyzer = Analyzer(catalogue: catalogue, profiles: profiles)
        self.collectSeries = collectSeries
        self.maxPointsPerSeries = maxPointsPerSeries
        self.maxSeries = maxSeries
    }

    /// One uplink segment received at `arrival` (local wall ms).
    public mutating func add(_ segment: DataSegment, arrival: Int64) {
        if firstTime == nil { firstTime = arrival }
        if arrival > lastTime ?? .min { lastTime = arrival }
        if let mn = segment.mn { extendSpan(mn, arrival) }
        for input in assembler.add(segment, arrival: arrival) { take(input) }
        apply(analyzer.advance(to: arrival))
    }

    /// End of input: split records still held are judged.
    public mutating func finish() {
        for input in assembler.flush() { take(input) }
    }

    mutating func take(_ input: AnalysisInput) {
        if !units.contains(input.mn) && units.count < analyzer.budget.maxUnits { units.append(input.mn) }
        if case .data(let r) = input {
            records += 1
            extendSpan(r.mn, r.dataTime)
            if collectSeries {
                for (code, reading) in r.factors {
                    guard let v = reading.value else { continue }
                    let key = SeriesKey(mn: r.mn, factor: code, kind: r.kind)
                    if series[key] == nil && series.count >= maxSeries { droppedPoints += 1; continue }
                    if series[key, default: []].count >= maxPointsPerSeries { droppedPoints += 1; continue }
                    series[key, default: []].append(SeriesPoint(time: r.dataTime, value: v, flag: reading.flag))
                }
            }
        }
        apply(analyzer.feed(input))
    }

    mutating func extendSpan(_ mn: String, _ t: Int64) {
        if let s = spans[mn] {
            if t < s.lowerBound || t > s.upperBound { spans[mn] = min(t, s.lowerBound)...max(t, s.upperBound) }
        } else if spans.count < analyzer.budget.maxUnits {
            spans[mn] = t...t
        }
    }

    mutating func apply(_ events: [AlarmEvent]) {
        for e in events {
            let a = e.alarm
            if let i = alarmIndex[a.id] {
                alarms[i] = a
            } else {
                alarmIndex[a.id] = alarms.count
                alarms.append(a)
            }
        }
    }

    /// Days covered (first to last arrival), at least one minute.
    public var days: Double {
        guard let f = firstTime, let l = lastTime else { return 0 }
        return Double(max(l - f, 60_000)) / 86_400_000
    }
}
