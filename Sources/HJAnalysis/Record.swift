import HJ212

/// Which data command a value came from (real-time 2011, minute 2051, hour 2061, day 2031).
public enum SeriesKind: String, Sendable, CaseIterable, Comparable {
    case rtd, minute, hour, day

    /// The kind of a data command, nil for commands that carry no monitoring values.
    public init?(cn: String) { self.init(command: CommandCode(cn)) }

    /// The kind of a data command, nil for commands that carry no monitoring values.
    public init?(command: CommandCode) {
        switch command {
        case .realTimeData: self = .rtd
        case .minuteData: self = .minute
        case .hourData: self = .hour
        case .dailyData: self = .day
        default: return nil
        }
    }

    /// The data command of this kind.
    public var command: CommandCode {
        switch self {
        case .rtd: .realTimeData
        case .minute: .minuteData
        case .hour: .hourData
        case .day: .dailyData
        }
    }

    public var cn: String { command.rawValue }

    /// Chinese and English name, for pages and tables.
    public var title: String {
        switch self {
        case .rtd: "实时 real-time"
        case .minute: "分钟 minute"
        case .hour: "小时 hour"
        case .day: "日 day"
        }
    }

    private var order: Int { SeriesKind.allCases.firstIndex(of: self)! }
    public static func < (a: SeriesKind, b: SeriesKind) -> Bool { a.order < b.order }
}

/// One factor's values in one record: `Rtd` (real-time) or `Avg` (minute, hour, day) as `value`.
public struct FactorReading: Sendable, Equatable {
    public var value: Double?
    /// Converted value at the reference O₂ (`ZsRtd` / `ZsAvg`).
    public var zs: Double?
    public var min: Double?
    public var max: Double?
    public var cou: Double?
    /// The data flag (N, D, C, M, F, B, S, T …) as sent.
    public var flag: String?
    /// Decimals of the value as printed (its resolution is 10^-decimals).
    public var decimals: Int = 0

    public init() {}
}

/// A monitoring record of one unit: a whole 2011/2051/2061/2031 packet (split parts merged).
public struct DataRecord: Sendable {
    public var mn: String
    public var st: String
    public var kind: SeriesKind
    /// DataTime as local wall milliseconds (`HJTime.wallMilliseconds`).
    public var dataTime: Int64
    /// When the platform received it (local wall milliseconds, same base as `dataTime`).
    public var arrival: Int64
    /// Factors in packet order.
    public var factors: [(code: String, reading: FactorReading)]

    public init(mn: String, st: String, kind: SeriesKind, dataTime: Int64, arrival: Int64, factors: [(code: String, reading: FactorReading)]) {
        self.mn = mn
        self.st = st
        self.kind = kind
        self.dataTime = dataTime
        self.arrival = arrival
        self.factors = factors
    }

    public func reading(_ code: String) -> FactorReading? {
        factors.first { $0.code == code }?.reading
    }
}

/// A 3020 (on-site equipment information) record: `i…-Info` values, grouped by `PolId`.
public struct InfoRecord: Sendable {
    public var mn: String
    public var dataTime: Int64
    public var arrival: Int64
    /// (PolId or nil for the logger/station, code, value text).
    public var values: [(polId: String?, code: String, value: String)]

    public init(mn: String, dataTime: Int64, arrival: Int64, values: [(polId: String?, code: String, value: String)]) {
        self.mn = mn
        self.dataTime = dataTime
        self.arrival = arrival
        self.values = values
    }
}

/// What the analyser consumes.
public enum AnalysisInput: Sendable {
    case data(DataRecord)
    case info(InfoRecord)

    public var mn: String {
        switch self {
        case .data(let r): r.mn
        case .info(let r): r.mn
        }
    }
}

/// Number of decimals of a number as printed ("12.30" → 2, "4" → 0).
func decimalsOf(_ text: String) -> Int {
    guard let dot = text.utf8.firstIndex(of: UInt8(ascii: ".")) else { return 0 }
    return text.utf8.distance(from: dot, to: text.utf8.endIndex) - 1
}

/// Parses a DataTime (YYYYMMDDhhmmss) into local wall milliseconds.
func parseDataTime(_ text: String?) -> Int64? {
    guard let text, let t = HJTime(text), t.isValid else { return nil }
    return t.wallMilliseconds
}
