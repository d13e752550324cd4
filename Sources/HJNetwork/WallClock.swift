import Glibc

/// The wall clock (`CLOCK_REALTIME`), for what must carry real dates: QNs, DataTimes, report
/// times. Deadlines and latencies use `MonotonicTime` instead.
///
/// ```swift
/// let chinaNow = WallClock.localMilliseconds(offsetMinutes: 480)   // HJ 212 times are UTC+8
/// ```
public enum WallClock {
    /// Milliseconds since 1970-01-01T00:00 UTC.
    public static func utcMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    /// Local wall-clock milliseconds in a zone `offsetMinutes` east of UTC (the `HJTime` scale).
    public static func localMilliseconds(offsetMinutes: Int) -> Int64 {
        utcMilliseconds() + Int64(offsetMinutes) * 60_000
    }
}
