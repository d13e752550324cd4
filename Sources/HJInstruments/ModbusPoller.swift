/// A logger's polling of its Modbus instruments (sans-I/O): one request outstanding at a time
/// (as on an RS-485 bus), the reads of every instrument in turn, a reply timeout after which the
/// instrument's factors keep their last value with flag B (communication fault, 通讯异常).
/// Bytes and times in, requests out; the same poller runs over RTU, TCP or in a test.
///
/// ```swift
/// var poller = ModbusPoller(bank.instruments, timeoutMs: 500)
/// var action = poller.startCycle(at: now)
/// while case .send(let unit, let pdu)? = action { action = poller.received(reply(unit, pdu), from: unit, at: now) }
/// poller.latest["w01018"]   // (value, flag, time)
/// ```
public struct ModbusPoller: Sendable {
    public struct Reading: Sendable, Hashable {
        public var value: Double
        public var flag: UInt8
        /// When the instrument last answered for it.
        public var time: Int64
    }

    public enum Action: Sendable, Hashable {
        /// Send this request PDU to the slave, then call `received` or, after `deadline`, `tick`.
        case send(unit: UInt8, pdu: [UInt8], deadline: Int64)
        /// The cycle is over.
        case cycleComplete
    }

    public let readers: [InstrumentReader]
    public let timeoutMs: Int64
    var queue: [(instrument: Int, request: Int)] = []
    var outstanding: (instrument: Int, request: Int, deadline: Int64)?
    var replies: [[ModbusResponse]]
    var failed: Set<Int> = []
    /// The last reading of each factor.
    public private(set) var latest: [String: Reading] = [:]
    /// Requests that got no (valid) reply in time, since the start.
    public private(set) var timeouts = 0

    public init(_ instruments: [InstrumentInfo], timeoutMs: Int64 = 1000) {
        readers = instruments.map { InstrumentReader($0) }
        self.timeoutMs = timeoutMs
        replies = Array(repeating: [], count: instruments.count)
    }

    /// Starts a polling cycle over every instrument; the first request to send.
    public mutating func startCycle(at t: Int64) -> Action {
        queue = readers.indices.flatMap { i in readers[i].requests.indices.map { (i, $0) } }
        replies = Array(repeating: [], count: readers.count)
        failed = []
        outstanding = nil
        return next(at: t)
    }

    mutating func next(at t: Int64) -> Action {
        guard !queue.isEmpty else { return .cycleComplete }
        let (i, r) = queue.removeFirst()
        let deadline = t + timeoutMs
        outstanding = (i, r, deadline)
        return .send(unit: readers[i].instrument.address, pdu: readers[i].requests[r].pdu, deadline: deadline)
    }

    /// A reply PDU from a slave. A reply from another slave than the one asked is ignored
    /// (nil: keep waiting).
    public mutating func received(_ pdu: [UInt8], from unit: UInt8, at t: Int64) -> Action? {
        guard let o = outstanding, readers[o.instrument].instrument.address == unit else { return nil }
        let response = ModbusResponse.parse(pdu[...])
        guard case .registers = response else { return fail(o.instrument, at: t) }
        replies[o.instrument].append(response)
        if replies[o.instrument].count == readers[o.instrument].requests.count {
            let values = readers[o.instrument].decode(readers[o.instrument].registers(replies: replies[o.instrument]))
            for (code, v) in values { latest[code] = Reading(value: v.value, flag: v.flag, time: t) }
        }
        return next(at: t)
    }

    /// Time passed: when the outstanding request's deadline is over, the instrument is marked
    /// and the next request goes out (nil: nothing to do yet).
    public mutating func tick(at t: Int64) -> Action? {
        guard let o = outstanding, t >= o.deadline else { return nil }
        return fail(o.instrument, at: t)
    }

    /// An instrument that did not answer, or answered with an exception: its factors keep their
    /// last value with flag B; its remaining reads in this cycle are skipped.
    mutating func fail(_ i: Int, at t: Int64) -> Action {
        timeouts += 1
        failed.insert(i)
        queue.removeAll { $0.instrument == i }
        for code in readers[i].instrument.codes.compactMap({ $0 }) {
            var r = latest[code] ?? Reading(value: 0, flag: 0, time: t)
            r.flag = UInt8(ascii: "B")
            latest[code] = r
        }
        return next(at: t)
    }
}
