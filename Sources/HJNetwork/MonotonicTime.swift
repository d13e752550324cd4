import Glibc

/// A point on the monotonic clock (`CLOCK_MONOTONIC`), in nanoseconds.
///
/// Timers use it so that changing the wall clock never makes them fire early or late.
/// `Sendable` because it is a plain value.
///
/// ```swift
/// let start = MonotonicTime.now
/// // ...
/// let elapsed = MonotonicTime.now - start   // a Duration
/// ```
public struct MonotonicTime: Sendable, Hashable, Comparable {
    /// Nanoseconds since an unspecified start (boot, on Linux).
    public var nanoseconds: UInt64

    /// Makes a time from nanoseconds on the monotonic clock.
    ///
    /// ```swift
    /// let t = MonotonicTime(nanoseconds: 0)
    /// ```
    public init(nanoseconds: UInt64) {
        self.nanoseconds = nanoseconds
    }

    /// The current time.
    public static var now: MonotonicTime {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return MonotonicTime(nanoseconds: UInt64(spec.tv_sec) &* 1_000_000_000 &+ UInt64(spec.tv_nsec))
    }

    /// The time `duration` after this one (negative durations count as zero).
    ///
    /// ```swift
    /// let deadline = MonotonicTime.now + .milliseconds(250)
    /// ```
    public static func + (time: MonotonicTime, duration: Duration) -> MonotonicTime {
        let delta = duration.nanosecondsClamped
        let (sum, overflow) = time.nanoseconds.addingReportingOverflow(delta)
        return MonotonicTime(nanoseconds: overflow ? .max : sum)
    }

    /// The time from `b` to `a` (zero or negative when `a` is not later).
    public static func - (a: MonotonicTime, b: MonotonicTime) -> Duration {
        if a.nanoseconds >= b.nanoseconds {
            return .nanoseconds(Int64(clamping: a.nanoseconds - b.nanoseconds))
        }
        return .nanoseconds(-Int64(clamping: b.nanoseconds - a.nanoseconds))
    }

    public static func < (a: MonotonicTime, b: MonotonicTime) -> Bool {
        a.nanoseconds < b.nanoseconds
    }
}

extension Duration {
    /// Whole nanoseconds, clamped to `0...UInt64.max` (negative durations are zero).
    var nanosecondsClamped: UInt64 {
        let (seconds, attoseconds) = components
        if seconds < 0 || (seconds == 0 && attoseconds <= 0) { return 0 }
        let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return .max }
        let (sum, overflow2) = whole.addingReportingOverflow(UInt64(max(0, attoseconds) / 1_000_000_000))
        return overflow2 ? .max : sum
    }
}
