import Glibc
import HJNetwork

/// The clock of a live run: local wall-clock milliseconds (the loggers' zone), optionally
/// accelerated: `speed` simulated seconds per real second, from a simulated start.
struct LiveClock: Sendable {
    let virtualStart: Int64
    let realStart: MonotonicTime
    let speed: Double

    /// Real time now in the zone, as local wall-clock milliseconds.
    static func wallNow(offsetMinutes: Int) -> Int64 { WallClock.localMilliseconds(offsetMinutes: offsetMinutes) }

    init(start: Int64, speed: Double) {
        virtualStart = start
        realStart = .now
        self.speed = speed
    }

    var now: Int64 {
        let elapsed = MonotonicTime.now - realStart
        let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        return virtualStart + Int64(ms * speed)
    }

    /// Real duration until the virtual time `t`.
    func realDelay(until t: Int64) -> Duration {
        let ahead = Double(t - now) / speed
        return .milliseconds(Int64(max(1, min(ahead, 1000))))
    }
}
