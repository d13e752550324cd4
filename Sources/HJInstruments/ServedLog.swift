import HJ212
import Synchronization

/// What the instruments served, for judging a logger's uploads against it (`check logger
/// --sensors`, the L-VALUE checks): every reading in a reply to a read, with the value as the
/// register holds it and the register's resolution, every analyser parameter read, every meter
/// value. Times are the instruments' clock (local wall-clock ms).
///
/// `Sendable`: one `Mutex`. Budget: at most `maxPerKey` entries per factor, parameter or meter
/// value (the oldest quarter goes first), so a days-long run stays flat.
public final class ServedLog: Sendable {
    public static let maxPerKey = 100_000

    public struct Reading: Sendable, Hashable {
        public var time: Int64
        public var value: Double
        public var flag: UInt8
        /// The smallest step the register can show near this value (1/scale for integers,
        /// float32's relative precision for floats).
        public var resolution: Double
        /// Slave address and first register of the read (the evidence).
        public var unit: UInt8
        public var register: Int
    }

    struct State {
        var readings: [String: [Reading]] = [:]
        var parameters: [String: [(time: Int64, value: Double)]] = [:]
        var meters: [String: [(time: Int64, value: Double)]] = [:]
    }

    let state = Mutex(State())

    public init() {}

    static func append<T>(_ list: inout [T], _ item: T) {
        if list.count >= maxPerKey { list.removeFirst(list.count / 4) }
        list.append(item)
    }

    func add(code: String, _ r: Reading) { state.withLock { Self.append(&$0.readings[code, default: []], r) } }
    func addParameter(_ key: String, time: Int64, value: Double) { state.withLock { Self.append(&$0.parameters[key, default: []], (time, value)) } }
    func addMeter(_ key: String, time: Int64, value: Double) { state.withLock { Self.append(&$0.meters[key, default: []], (time, value)) } }

    /// The readings served of each factor, in time order.
    public var readings: [String: [Reading]] { state.withLock { $0.readings } }
    /// Analyser parameters served, by "FACTOR|INFO-CODE" (the 3020 keys), in time order.
    public var parameters: [String: [(time: Int64, value: Double)]] { state.withLock { $0.parameters } }
    /// Meter values served, by "FACILITY|SOURCE" (`SB1|energy`), in time order.
    public var meters: [String: [(time: Int64, value: Double)]] { state.withLock { $0.meters } }

    /// Records a read's reply: the channels' values and flags (when the read covered the value
    /// register) and the parameters in the range.
    func recordRead(_ inst: InstrumentInfo, index: RegisterIndex, start: Int, count: Int, channels: [ChannelSnapshot], parameters: ParameterTable, at t: Int64) {
        let range = start..<(start + count)
        for (field, r) in inst.map.registers.enumerated() where range.contains(r.address) {
            guard inst.codes.indices.contains(r.channel), let code = inst.codes[r.channel] else { continue }
            switch r.source {
            case .value:
                let c = channels[r.channel]
                let held = r.type.decode(r.type.encode(c.value, scale: r.scale, order: r.order), scale: r.scale, order: r.order) ?? c.value
                let resolution = r.type == .float32 ? max(abs(held) * 1.2e-7, 1e-12) : 1 / (r.scale == 0 ? 1 : abs(r.scale))
                add(code: code, Reading(time: t, value: held, flag: c.flag, resolution: resolution, unit: inst.address, register: r.address))
            case .parameter:
                // The 3020 code is the first declaration's of the name, the value the field's.
                guard let p = index.fieldParameter[field], let info = inst.map.parameters[index.firstOfName[p]].info else { continue }
                addParameter("\(code)|\(info)", time: t, value: parameters[r.channel, p])
            default: continue
            }
        }
    }
}
