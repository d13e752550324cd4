import HJ212
import HJNetwork
import HJSimulation

/// Everything a load run needs, checked before anything connects.
///
/// `Sendable`: values, and payload pools that are immutable.
///
/// ```swift
/// var c = LoadConfiguration(targets: [address], totalLoggers: 100, pools: [try PayloadPool(unit: "industrial-wastewater")])
/// c.cadence = .rate(500)
/// c.duration = .seconds(10)
/// let report = LoadRun(c).run()
/// ```
public struct LoadConfiguration: Sendable {
    /// Where the loggers connect: logger i to `targets[i mod count]`.
    public var targets: [SocketAddress]
    /// Loggers of the whole run (all shards).
    public var totalLoggers: Int
    /// The slice of the loggers this process drives.
    public var shard: Shard = .whole
    /// The open-model schedule.
    public var cadence: Cadence = .realtime
    /// Connects are spread over the ramp (logger i at ramp·i/N); the send window starts after it.
    public var ramp: Duration = .seconds(1)
    /// Sending at the schedule's rate for this long after the ramp, before the window, with
    /// nothing counted (packets scheduled before the window are neither counted nor judged; their
    /// acknowledgements are matched and dropped): a server just past its connects settles under
    /// the load it is then judged by. Zero: the window starts after the ramp (default).
    public var warmUp: Duration = .zero
    /// When non-zero, the send window starts on the next wall-clock multiple of this (for
    /// example every whole minute), the ramp just before it: shards started a little apart share
    /// one schedule, and their per-second series line up.
    public var align: Duration = .zero
    /// Length of the send window.
    public var duration: Duration = .seconds(60)
    /// A sent packet without acknowledgement after this long is counted unacknowledged.
    public var ackTimeout: Duration = .seconds(10)
    /// A connect not established after this long fails (counted, then retried).
    public var connectTimeout: Duration = .seconds(10)
    /// After the window, how long to wait at most for the acknowledgements still outstanding.
    public var drainTimeout: Duration = .seconds(10)
    /// The most packets per logger from its oldest unacknowledged one to its newest: beyond it the
    /// oldest is given up (counted), so that memory stays bounded when a server never answers.
    public var maxOutstanding = 256
    /// Bytes a connection may queue in user space when the server does not read; scheduled
    /// packets that do not fit are not sent (counted as missed).
    public var maxQueuedBytes = 16 * 1024
    /// Event-loop threads.
    public var threads = 1
    /// Payload pools; logger i uses `pools[poolOfLogger[i mod poolOfLogger.count]]`.
    public var pools: [PayloadPool]
    /// Pool index by logger index (modulo its length).
    public var poolOfLogger: [Int] = [0]
    /// Identities by logger index (from a registry); when nil, `mnPrefix` + index and `password`.
    public var identities: [LoggerIdentity]?
    /// MN of logger i: this prefix, then i zero-padded to 24 characters.
    public var mnPrefix = "0100AD00000000"
    /// Password of every logger when there is no registry.
    public var password = "123456"
    /// Reconnect (with back-off from 0.5 s to 8 s) after a failed connect or a close.
    public var reconnect = true
    /// Hours between UTC and the QN / DataTime clock (China: +8).
    public var offsetMinutes = 480

    /// A configuration with the defaults above.
    public init(targets: [SocketAddress], totalLoggers: Int, pools: [PayloadPool]) {
        self.targets = targets
        self.totalLoggers = totalLoggers
        self.pools = pools
    }

    /// The identity of logger `i` (0-based over the whole run).
    public func identity(_ i: Int) -> LoggerIdentity {
        if let identities, i < identities.count { return identities[i] }
        let digits = String(i)
        let width = max(0, 24 - mnPrefix.count)
        return LoggerIdentity(mn: mnPrefix + String(repeating: "0", count: max(0, width - digits.count)) + digits, pw: password)
    }

    /// The pool of logger `i`.
    public func pool(_ i: Int) -> PayloadPool {
        pools[poolOfLogger[i % max(1, poolOfLogger.count)] % max(1, pools.count)]
    }

    /// The plan of logger `i`.
    public func plan(_ i: Int) -> LoggerPlan {
        LoggerPlan(logger: i, of: totalLoggers, cadence: cadence, rtdIntervalMilliseconds: pool(i).rtdIntervalMilliseconds)
    }

    /// Packets per second the schedule offers over this shard's loggers.
    public var offeredRate: Double {
        var r = 0.0
        for i in shard.loggers(total: totalLoggers) { r += 1e9 / Double(plan(i).intervalNanoseconds) }
        return r
    }

    /// Packets per second one logger can send at most: a QN is the packet's scheduled wall-clock
    /// millisecond and unique per logger, so a logger sends at most one packet per millisecond
    /// (faster, its QNs and DataTimes would run ahead of real time).
    public static let maxRatePerLogger = 1000.0

    /// Checks what a user could have got wrong. Returns the problem, or nil.
    public func problem() -> String? {
        if targets.isEmpty { return "no target" }
        if totalLoggers < 1 || totalLoggers > 1_000_000 { return "--loggers must be 1…1000000" }
        if pools.isEmpty { return "no payloads" }
        if let identities, identities.count < totalLoggers {
            return "the registry has \(identities.count) loggers; --loggers \(totalLoggers) needs as many"
        }
        if identities == nil {
            let width = String(max(0, totalLoggers - 1)).count
            if mnPrefix.count + width > 24 {
                return "--mn-prefix '\(mnPrefix)' leaves no room for \(width) digits of logger index in a 24-character MN"
            }
        }
        if maxOutstanding < 1 { return "--max-outstanding must be at least 1" }
        if case .rate(let r) = cadence, !(r > 0) || r > Double(totalLoggers) * Self.maxRatePerLogger {
            return "--rate \(LoadFormat.number(r)) over \(totalLoggers) logger\(totalLoggers == 1 ? "" : "s") needs more than "
                + "\(LoadFormat.number(Self.maxRatePerLogger)) packets/s per logger; a logger's QN is its packet's scheduled millisecond "
                + "and must be unique, so the rate is at most \(LoadFormat.number(Double(totalLoggers) * Self.maxRatePerLogger)) (1000 × loggers): add loggers or lower the rate"
        }
        return nil
    }
}
