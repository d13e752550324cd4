import Glibc
import HJNetwork

/// The clock of a live run: local wall-clock milliseconds (the loggers' zone), optionally
/// accelerated: `speed` simulated seconds per real second, from a simulated start.
package struct LiveClock: Sendable {
    package let virtualStart: Int64
    package let realStart: MonotonicTime
    package let speed: Double

    /// Real time now in the zone, as local wall-clock milliseconds.
    package static func wallNow(offsetMinutes: Int) -> Int64 { WallClock.localMilliseconds(offsetMinutes: offsetMinutes) }

    package init(start: Int64, speed: Double) {
        virtualStart = start
        realStart = .now
        self.speed = speed
    }

    package var now: Int64 {
        // From nanoseconds (`Duration.components` costs a 128-bit division: read per packet).
        let t = MonotonicTime.now.nanoseconds, s = realStart.nanoseconds
        let ms = t >= s ? Double(t - s) / 1e6 : -Double(s - t) / 1e6
        return virtualStart + Int64(ms * speed)
    }

    /// Real duration until the virtual time `t`.
    package func realDelay(until t: Int64) -> Duration {
        let ahead = Double(t - now) / speed
        return .milliseconds(Int64(max(1, min(ahead, 1000))))
    }
}
