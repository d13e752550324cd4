import HJ212
@testable import HJStore
import Testing

/// A trace line's time (`"t"`), read as China time: the roster (`RosterEvidence`) and the trace
/// readers (`Recording`) accept and refuse the same texts and read them alike, with one function
/// (`HJTime.chinaWallMilliseconds(iso:)`). Before they shared it, the roster cut the text at 40
/// bytes and the trace readers took `+05` and `+05:0` as China time.
@Suite("Trace times")
struct TraceTimeTests {
    /// Text → China time as YYYYMMDDhhmmssSSS, nil when refused.
    static let cases: [(String, Int64?)] = [
        ("2026-11-30T12:00:00.250+08:00", 20261130120000250),
        ("2026-11-30T20:00:00.000Z", 20261201040000000),
        ("2026-11-30T20:00:00+00:00", 20261201040000000),
        ("2026-11-30T12:00:00", 20261130120000000),                    // no zone: China time
        ("2026-11-30T12:00:00.5", 20261130120000500),
        ("2026-11-30T12:00:00.123456789+08:00", 20261130120000123),    // digits past the millisecond ignored
        ("2026-11-30T12:00:00.", 20261130120000000),
        ("2026-11-30T12:00:00+", 20261130120000000),                   // an offset without hours: China time
        ("2026-11-30T12:00:00+8", 20261130120000000),
        ("2026-11-30T12:00:00+05", 20261130150000000),                 // ISO 8601 ±hh
        ("2026-11-30T12:00:00+05:0", 20261130150000000),               // minutes unreadable: the hours
        ("2026-11-30T12:00:00+0530", 20261130143000000),
        ("2026-11-30T12:00:00-05:00", 20261201010000000),
        ("2026-11-30T12:00:00-00:30", 20261130203000000),
        ("2026-12-31T23:00:00-02:00", 20270101090000000),
        ("2026-11-30T12:00:00+99:99", 20261126152100000),              // read as written (99 h 99 min)
        ("2026-11-30T12:00:00z", 20261130120000000),                   // lower-case z is no zone
        ("2026-11-30T12:00:00 +05:00", 20261130120000000),             // nor is an offset after a space
        ("2026-11-30 12:00:00", 20261130120000000),                    // separators are not checked
        ("2026/11/30T12:00:00", 20261130120000000),
        ("2026-11-30T12:00:00." + String(repeating: "0", count: 30) + "+05:00", 20261130150000000),  // past 40 bytes
        ("2026-11-30T12:00:00.000+08:00" + String(repeating: "x", count: 100), 20261130120000000),
        ("2024-02-29T00:00:00", 20240229000000000),
        ("1900-01-01T00:00:00+09:00", 18991231230000000),              // valid where written, 1899 in China
        ("2026-02-29T00:00:00", nil),
        ("1899-12-31T23:59:59Z", nil),
        ("9999-12-31T23:59:59.999-23:59", nil),
        ("2026-11-30T24:00:00", nil),
        ("2026-11-30T12:60:00", nil),
        ("2026-11-30T12:00", nil),
        ("２０２６-11-30T12:00:00", nil),
        ("+026-11-30T12:00:00", nil),
        ("junk", nil),
        ("", nil),
        (String(repeating: "9", count: 100), nil),
    ]

    static func digits17(_ chinaMilliseconds: Int64) -> Int64? { Int64(HJTime(wallMilliseconds: chinaMilliseconds).text17) }

    @Test("the roster and the trace readers read every edge of a trace time alike", arguments: cases)
    func sameReading(_ text: String, _ expected: Int64?) {
        #expect(RosterEvidence.chinaDigits17(iso: text) == expected, "roster: \(text)")
        #expect(HJTime.chinaWallMilliseconds(iso: text).flatMap(Self.digits17) == expected, "trace readers: \(text)")
    }
}
