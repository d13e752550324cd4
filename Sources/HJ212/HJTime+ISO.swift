extension HJTime {
    /// China local wall milliseconds (UTC+8, HJ 212's time) of a trace line's time (`"t"`,
    /// ARCHITECTURE.md: `2026-11-30T12:00:00.000+08:00`): a time written with another offset
    /// (`Z`, `+00:00`, `-05`, `+0530`) is moved to China time; one without an offset is taken as
    /// China time. Nil unless it starts with a valid date and time (`YYYY-MM-DDThh:mm:ss`, years
    /// 1900–2999; the separators are not checked).
    ///
    /// ```swift
    /// HJTime.chinaWallMilliseconds(iso: "2026-11-30T20:00:00Z")
    ///     == HJTime(year: 2026, month: 12, day: 1, hour: 4).wallMilliseconds   // true
    /// ```
    ///
    /// The lenient parts, which the trace readers (`report`, `replay`, `roster`) share: digits
    /// past the millisecond are ignored; an offset is `±hh` followed by `mm` or `:mm` when those
    /// can be read (else the hours alone); a sign without two digits, a lower-case `z` and
    /// anything after the offset are ignored (China time, then).
    public static func chinaWallMilliseconds(iso text: String) -> Int64? {
        text.utf8.withContiguousStorageIfAvailable(chinaWallMilliseconds(isoUTF8:))
            ?? Array(text.utf8).withUnsafeBufferPointer(chinaWallMilliseconds(isoUTF8:))
    }

    static func chinaWallMilliseconds(isoUTF8 u: UnsafeBufferPointer<UInt8>) -> Int64? {
        let china = 480  // UTC+8, in minutes
        func number(_ at: Int, _ n: Int) -> Int? {
            guard at + n <= u.count else { return nil }
            var v = 0
            for k in at..<(at + n) {
                let d = u[k] &- 48
                guard d < 10 else { return nil }
                v = v * 10 + Int(d)
            }
            return v
        }
        guard let y = number(0, 4), let mo = number(5, 2), let d = number(8, 2), let h = number(11, 2), let mi = number(14, 2),
              let s = number(17, 2) else { return nil }
        var i = 19, ms = 0
        if i < u.count, u[i] == UInt8(ascii: ".") {
            i += 1
            var scale = 100
            while i < u.count, u[i] &- 48 < 10 {
                ms += Int(u[i] &- 48) * scale
                scale /= 10
                i += 1
            }
        }
        var offsetMinutes = china
        if i < u.count, u[i] == UInt8(ascii: "Z") {
            offsetMinutes = 0
        } else if i < u.count, u[i] == UInt8(ascii: "+") || u[i] == UInt8(ascii: "-"), let oh = number(i + 1, 2) {
            let om = number(i + 4, 2) ?? number(i + 3, 2) ?? 0
            offsetMinutes = (oh * 60 + om) * (u[i] == UInt8(ascii: "-") ? -1 : 1)
        }
        let local = HJTime(year: y, month: mo, day: d, hour: h, minute: mi, second: s, millisecond: ms)
        guard local.isValid else { return nil }
        return local.wallMilliseconds + Int64(china - offsetMinutes) * 60_000
    }
}
