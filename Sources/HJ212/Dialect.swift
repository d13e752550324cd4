/// The edition of the standard a packet follows.
public enum Dialect: String, Sendable, CaseIterable, Hashable {
    /// HJ/T 212-2005: Flag version 000000 or no Flag, QN optional, 3-character factor codes.
    case hj2005 = "2005"
    /// HJ 212-2017: Flag version 000001 (values 4-7).
    case hj2017 = "2017"
    /// HJ 212-2025 (in force 2026-01-01): Flag version 000010 (values 8-11). Details UNCONFIRMED.
    case hj2025 = "2025"
    /// Not enough to tell.
    case unknown

    /// The profile directory under `Profiles/dialects/` that overlays the 2017 base, if any.
    var overlayDirectory: String? {
        switch self {
        case .hj2005: return "dialects/hj212-2005"
        case .hj2025: return "dialects/hj212-2025"
        case .hj2017, .unknown: return nil
        }
    }

    public var title: String { titleText.description }

    /// `title` as static text (written into output buffers without a `String`).
    public var titleText: StaticString {
        switch self {
        case .hj2005: return "HJ/T 212-2005"
        case .hj2017: return "HJ 212-2017"
        case .hj2025: return "HJ 212-2025"
        case .unknown: return "unknown"
        }
    }

    /// Classifies a parsed segment (HJ 212-2017 §6.3.2 version bits; legacy heuristics of the
    /// reference §9.2): Flag version first, then the signs of 2005 traffic.
    public static func detect(_ segment: DataSegment) -> Dialect {
        if let flag = segment.flag {
            switch flag.version {
            case 0: return .hj2005
            case 1: return .hj2017
            case 2: return .hj2025
            default: return .unknown
            }
        }
        if segment.header("Flag") != nil { return .unknown }  // present but not a number
        // No Flag: 2005 (where Flag was optional), unless nothing identifies the packet at all.
        if segment.cn != nil || segment.st != nil { return .hj2005 }
        return .unknown
    }
}
