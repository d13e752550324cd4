/// How bad a finding is.
public enum Severity: String, Sendable, Comparable, CaseIterable {
    case info, warning, error

    private var rank: Int { self == .info ? 0 : self == .warning ? 1 : 2 }

    /// `rawValue` as static text (written into output buffers without a `String`).
    public var text: StaticString {
        switch self {
        case .info: return "info"
        case .warning: return "warning"
        case .error: return "error"
        }
    }
    public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
}

/// One finding about a frame or the stream: which rule, how bad, where, and what was expected
/// against what was seen.
public struct Diagnostic: Sendable, Hashable {
    /// The stable rule ID (see `Rules`).
    public var rule: String
    public var severity: Severity
    /// Byte offset in the input where the problem is, when it has one.
    public var offset: Int?
    public var message: String

    public init(rule: String, severity: Severity, offset: Int?, message: String) {
        self.rule = rule
        self.severity = severity
        self.offset = offset
        self.message = message
    }
}

/// A check with a stable ID, the clause it comes from, and its severity in strict (certification)
/// and lenient (field traffic) modes.
public struct Rule: Sendable, Hashable {
    public let id: String
    /// Where the requirement comes from, e.g. "HJ 212-2017 §6.3.1 Table 2".
    public let clause: String
    public let strict: Severity
    public let lenient: Severity
    public let title: String
    public let titleZh: String

    public init(_ id: String, _ clause: String, strict: Severity, lenient: Severity? = nil, _ title: String, _ titleZh: String) {
        self.id = id
        self.clause = clause
        self.strict = strict
        self.lenient = lenient ?? strict
        self.title = title
        self.titleZh = titleZh
    }

    public func severity(strict isStrict: Bool) -> Severity { isStrict ? strict : lenient }
}
