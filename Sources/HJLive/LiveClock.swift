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
        let elapsed = MonotonicTime.now - realStart
        let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        return virtualStart + Int64(ms * speed)
    }

    /// Real duration until the virtual time `t`.
    package func realDelay(until t: Int64) -> Duration {
        let ahead = Double(t - now) / speed
        return .milliseconds(Int64(max(1, min(ahead, 1000))))
    }
}
