/// A calendar time as HJ 212 writes it: `YYYYMMDDhhmmss`, optionally with `zzz` milliseconds.
///
/// HJ 212 times are local time of the logger; China (UTC+8) unless configured otherwise.
/// Parsing is pure arithmetic (no Foundation) so that it is cheap on hot paths.
public struct HJTime: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, millisecond: Int

    public init(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0, millisecond: Int = 0) {
        (self.year, self.month, self.day, self.hour, self.minute, self.second, self.millisecond) =
            (year, month, day, hour, minute, second, millisecond)
    }

    /// Parses 14 digits (`YYYYMMDDhhmmss`) or, with `allowMilliseconds`, 17 (`…zzz`).
    /// Nil when the text is not such digits or not a real date and time.
    public init?(_ text: String, allowMilliseconds: Bool = false) {
        // Read in place (no array per call: the platform parses a DataTime per record).
        let parsed = text.utf8.withContiguousStorageIfAvailable { HJTime.parse($0, allowMilliseconds: allowMilliseconds) }
            ?? Array(text.utf8).withUnsafeBufferPointer { HJTime.parse($0, allowMilliseconds: allowMilliseconds) }
        guard let parsed else { return nil }
        self = parsed
    }

    /// `init?(_:allowMilliseconds:)` of the text's UTF-8 bytes.
    static func parse(_ utf8: UnsafeBufferPointer<UInt8>, allowMilliseconds: Bool) -> HJTime? {
        guard utf8.count == 14 || (allowMilliseconds && utf8.count == 17) else { return nil }
        for byte in utf8 { guard byte &- 48 < 10 else { return nil } }
        func number(_ from: Int, _ count: Int) -> Int {
            var value = 0
            for i in from..<(from + count) { value = value * 10 + Int(utf8[i] &- 48) }
            return value
        }
        let time = HJTime(year: number(0, 4), month: number(4, 2), day: number(6, 2), hour: number(8, 2),
                          minute: number(10, 2), second: number(12, 2), millisecond: utf8.count == 17 ? number(14, 3) : 0)
        return time.isValid ? time : nil
    }

    public var isValid: Bool {
        (1900...2999).contains(year) && (1...12).contains(month) && day >= 1
            && day <= HJTime.daysInMonth(year: year, month: month)
            && (0...23).contains(hour) && (0...59).contains(minute) && (0...59).contains(second)
            && (0...999).contains(millisecond)
    }

    public static func isLeap(_ year: Int) -> Bool { (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 }

    public static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 of a civil date (proleptic Gregorian).
    public static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    /// The civil date of a day count since 1970-01-01.
    public static func civilFromDays(_ days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// Milliseconds since 1970-01-01 00:00:00 of this wall-clock time (no zone applied).
    public var wallMilliseconds: Int64 {
        let days = Int64(HJTime.daysFromCivil(year: year, month: month, day: day))
        return ((days * 24 + Int64(hour)) * 60 + Int64(minute)) * 60_000 + Int64(second) * 1000 + Int64(millisecond)
    }

    /// The wall-clock time `milliseconds` after 1970-01-01 00:00:00.
    public init(wallMilliseconds ms: Int64) {
        var days = ms / 86_400_000
        var rest = ms % 86_400_000
        if rest < 0 { rest += 86_400_000; days -= 1 }
        let (y, m, d) = HJTime.civilFromDays(Int(days))
        let r = Int(rest)
        self.init(year: y, month: m, day: d, hour: r / 3_600_000, minute: r / 60_000 % 60, second: r / 1000 % 60, millisecond: r % 1000)
    }

    public static func < (a: HJTime, b: HJTime) -> Bool { a.wallMilliseconds < b.wallMilliseconds }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let s = String(value)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    /// `YYYYMMDDhhmmss`
    public var text14: String { digits(withMilliseconds: false) }

    /// `YYYYMMDDhhmmsszzz`, the QN form.
    public var text17: String { digits(withMilliseconds: true) }

    /// The digits written straight into a small buffer (these are made for every packet).
    private func digits(withMilliseconds: Bool) -> String {
        let count = withMilliseconds ? 17 : 14
        return String(unsafeUninitializedCapacity: count) { buffer in
            var i = 0
            func put(_ value: Int, _ width: Int) {
                var v = value
                var k = width - 1
                while k >= 0 {
                    buffer[i + k] = UInt8(48 + abs(v % 10))  // never traps, even on a nonsense date
                    v /= 10
                    k -= 1
                }
                i += width
            }
            put(year, 4); put(month, 2); put(day, 2); put(hour, 2); put(minute, 2); put(second, 2)
            if withMilliseconds { put(millisecond, 3) }
            return count
        }
    }

    /// `2016-08-01 08:58:57`
    public var description: String {
        "\(HJTime.pad(year, 4))-\(HJTime.pad(month, 2))-\(HJTime.pad(day, 2)) \(HJTime.pad(hour, 2)):\(HJTime.pad(minute, 2)):\(HJTime.pad(second, 2))"
            + (millisecond != 0 ? ".\(HJTime.pad(millisecond, 3))" : "")
    }
}
