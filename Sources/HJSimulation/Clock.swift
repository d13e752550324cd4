import HJ212

/// Parsing and printing of the times and durations users type, and of trace time stamps.
/// HJ 212 times are local time; China (UTC+8) unless another zone is given.
public enum SimClock {
    /// The default zone offset, in minutes east of UTC.
    public static let chinaOffsetMinutes = 480

    /// Parses `2026-11-30`, `2026-11-30T08:00`, `2026-11-30T08:00:00`, with an optional `Z` or
    /// `±hh:mm` offset, into local wall-clock milliseconds in the zone `offsetMinutes`.
    public static func parseStart(_ text: String, offsetMinutes: Int = chinaOffsetMinutes) -> Int64? {
        var s = Substring(text.trimmingCharacters(in: .whitespaces))
        var givenOffset: Int?
        if s.hasSuffix("Z") {
            givenOffset = 0
            s = s.dropLast()
        } else if s.count > 6, let sign = s.dropLast(5).last.flatMap({ $0 == "+" || $0 == "-" ? $0 : nil }), s.dropLast(2).last == ":" {
            let tail = s.suffix(5)
            guard let h = Int(tail.prefix(2)), let m = Int(tail.suffix(2)) else { return nil }
            givenOffset = (sign == "+" ? 1 : -1) * (h * 60 + m)
            s = s.dropLast(6)
        }
        let parts = s.split(separator: "T", maxSplits: 1)
        // An empty text has no date part (found by fuzzing: `--faults 'x@ /1h'` trapped here).
        guard let datePart = parts.first, !datePart.isEmpty else { return nil }
        let date = datePart.split(separator: "-")
        guard date.count == 3, let y = Int(date[0]), let mo = Int(date[1]), let d = Int(date[2]) else { return nil }
        var h = 0, mi = 0, sec = 0
        if parts.count == 2 {
            let time = parts[1].split(separator: ":")
            guard (2...3).contains(time.count), let hh = Int(time[0]), let mm = Int(time[1]) else { return nil }
            h = hh; mi = mm
            if time.count == 3 { guard let ss = Int(time[2].prefix(2)) else { return nil }; sec = ss }
        }
        let time = HJTime(year: y, month: mo, day: d, hour: h, minute: mi, second: sec)
        guard time.isValid else { return nil }
        let t = time.wallMilliseconds
        if let g = givenOffset { return t + Int64(offsetMinutes - g) * 60_000 }
        return t
    }

    /// The longest duration accepted anywhere (1,000 years): beyond it `parseDuration` says nil,
    /// so that start + duration can never overflow for any real start time.
    public static let maxDurationMs: Int64 = 1000 * 366 * 86_400_000

    /// Parses durations like `90m`, `1d`, `30d`, `2h30m`, `45s`, `1500ms` into milliseconds
    /// (nil for anything malformed, zero, or longer than `maxDurationMs`).
    public static func parseDuration(_ text: String) -> Int64? {
        var total: Int64 = 0
        var number: Int64 = 0
        var hasNumber = false
        var chars = Array(text.trimmingCharacters(in: .whitespaces))
        guard !chars.isEmpty else { return nil }
        if chars.allSatisfy(\.isNumber) { chars.append("s") }
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if let digit = c.wholeNumberValue, c.isASCII {
                let (m, o1) = number.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(Int64(digit))
                guard !o1, !o2 else { return nil }
                number = a
                hasNumber = true
                i += 1
                continue
            }
            guard hasNumber else { return nil }
            var unit: Int64
            if c == "m" && i + 1 < chars.count && chars[i + 1] == "s" { unit = 1; i += 1 }
            else {
                switch c {
                case "s": unit = 1000
                case "m": unit = 60_000
                case "h": unit = 3_600_000
                case "d": unit = 86_400_000
                case "w": unit = 7 * 86_400_000
                default: return nil
                }
            }
            let (p, o) = number.multipliedReportingOverflow(by: unit)
            guard !o, p <= maxDurationMs, total + p <= maxDurationMs else { return nil }
            total += p
            number = 0
            hasNumber = false
            i += 1
        }
        guard !hasNumber, total > 0 else { return nil }
        return total
    }

    /// `2026-11-30T12:00:00.000+08:00` for a local wall-clock time in the zone.
    public static func iso(_ local: Int64, offsetMinutes: Int = chinaOffsetMinutes) -> String {
        let t = HJTime(wallMilliseconds: local)
        func p(_ v: Int, _ w: Int) -> String { let s = String(v); return String(repeating: "0", count: max(0, w - s.count)) + s }
        let sign = offsetMinutes >= 0 ? "+" : "-"
        let o = abs(offsetMinutes)
        return "\(p(t.year, 4))-\(p(t.month, 2))-\(p(t.day, 2))T\(p(t.hour, 2)):\(p(t.minute, 2)):\(p(t.second, 2)).\(p(t.millisecond, 3))\(sign)\(p(o / 60, 2)):\(p(o % 60, 2))"
    }

    /// `90m`, `1d`, `2h30m` for a duration in milliseconds.
    public static func durationText(_ ms: Int64) -> String {
        var s = ms / 1000
        var parts: [String] = []
        for (unit, size) in [("d", Int64(86400)), ("h", 3600), ("m", 60), ("s", 1)] where s >= size {
            parts.append("\(s / size)\(unit)")
            s %= size
        }
        return parts.isEmpty ? "\(ms)ms" : parts.joined()
    }
}
