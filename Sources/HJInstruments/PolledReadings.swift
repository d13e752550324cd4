import HJ212
import HJSimulation
import Synchronization

/// What a logger that reads instruments has read (`simulate --read`): per factor the readings in
/// time order, analyser parameters, meter values. The polling threads add; the logger's loop
/// samples (`ReadingSource`): at time t it holds the latest reading taken at or before t.
///
/// `Sendable`: all state is in one `Mutex`. Budget: per factor at most `maxPerFactor` readings
/// (the oldest go first: a sample only ever asks for the present, give or take a loop tick), and
/// per meter at most `maxPerFactor` reads.
public final class PolledReadings: ReadingSource {
    public static let maxPerFactor = 4096

    struct State {
        var series: [String: [(t: Int64, r: SourcedReading)]] = [:]
        var parameters: [String: String] = [:]
        var parameterKeys: Set<String> = []
        var meters: [String: [MeterRead]] = [:]
        var meterFacilities: [String] = []
        var polls = 0
        var failures = 0
    }

    let state = Mutex(State())

    public init() {}

    /// Readings at `t` after a poll of one instrument; `read`: they were read from it (false: a
    /// failed poll's B values, or a stale fault's held values, which are no read).
    public func add(_ readings: [String: SourcedReading], at t: Int64, read: Bool = true) {
        state.withLock { s in
            for (code, r) in readings {
                var list = s.series[code, default: []]
                if list.count >= Self.maxPerFactor { list.removeFirst(list.count / 4) }
                // Keep time order even if two threads report out of order.
                if let last = list.last, last.t > t { list.removeAll { $0.t > t } }
                list.append((t, r))
                s.series[code] = list
            }
            if read { s.polls += 1 }
        }
    }

    /// Parameters of one reading cycle, all at once (a sample never sees half a cycle).
    public func setParameters(_ values: [String: String]) { state.withLock { s in for (k, v) in values { s.parameters[k] = v } } }
    /// Declares the parameter keys the lines will read ("FACTOR|INFO-CODE").
    public func expectParameters(_ keys: Set<String>) { state.withLock { $0.parameterKeys.formUnion(keys) } }
    public func parameterKeys() -> Set<String> { state.withLock { $0.parameterKeys } }

    /// Values read from a facility's meter at `t` (the logger's clock).
    public func setMeter(_ facility: String, _ values: [String: Double], at t: Int64, read: Bool = true) {
        state.withLock { s in
            var list = s.meters[facility, default: []]
            if list.count >= Self.maxPerFactor { list.removeFirst(list.count / 4) }
            if let last = list.last, last.time > t { list.removeAll { $0.time > t } }
            list.append(MeterRead(time: t, values: values))
            s.meters[facility] = list
            if read { s.polls += 1 }
        }
    }
    /// Declares the facilities whose meters a line reads (the logger then uploads electricity).
    public func expectMeters(_ facilities: [String]) {
        state.withLock { s in for f in facilities where !s.meterFacilities.contains(f) { s.meterFacilities.append(f) } }
    }
    public func meterFacilities() -> [String] { state.withLock { $0.meterFacilities } }
    /// The latest values read from each meter at or before `t` (the logger's clock), by facility.
    public func meterReadings(at t: Int64) -> [String: MeterRead] {
        state.withLock { s in
            var out: [String: MeterRead] = [:]
            for (facility, list) in s.meters {
                var lo = 0, hi = list.count
                while lo < hi { let mid = (lo + hi) / 2; if list[mid].time <= t { lo = mid + 1 } else { hi = mid } }
                if lo > 0 { out[facility] = list[lo - 1] }
            }
            return out
        }
    }
    public func countFailure() { state.withLock { $0.failures += 1 } }

    /// Successful reads of an instrument or a meter, and failed ones, so far.
    public var counts: (polls: Int, failures: Int) { state.withLock { ($0.polls, $0.failures) } }
    /// The last values read from each meter, by facility.
    public var meters: [String: [String: Double]] { state.withLock { $0.meters.compactMapValues { $0.last?.values } } }

    /// The latest reading of a factor at or before `t`.
    public func latest(_ code: String, at t: Int64) -> SourcedReading? {
        state.withLock { s in Self.latest(s.series[code] ?? [], at: t) }
    }

    public static func latest(_ list: [(t: Int64, r: SourcedReading)], at t: Int64) -> SourcedReading? {
        // Binary search for the last entry with time ≤ t.
        var lo = 0, hi = list.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if list[mid].t <= t { lo = mid + 1 } else { hi = mid }
        }
        guard lo > 0 else { return nil }
        var r = list[lo - 1].r
        r.readAt = list[lo - 1].t
        return r
    }

    public func readings(at t: Int64) -> [String: SourcedReading] {
        state.withLock { s in
            var out: [String: SourcedReading] = [:]
            for (code, list) in s.series { if let r = Self.latest(list, at: t) { out[code] = r } }
            return out
        }
    }

    public func parameters(at t: Int64) -> [String: String] { state.withLock { $0.parameters } }
}
