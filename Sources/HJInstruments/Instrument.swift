/// What one channel of an instrument shows at the moment of a request.
public struct ChannelSnapshot: Sendable, Hashable {
    /// The factor code bound to the channel; nil when the unit has no such factor.
    public var code: String?
    public var value: Double
    /// The HJ 212 flag of the reading (N, C, M, D, T, F, B, S …).
    public var flag: UInt8
    public var sampleTime: Int64
    public var total: Double
    public var limit: Double?
    public var rangeMin: Double
    public var rangeMax: Double

    public init(code: String?, value: Double, flag: UInt8, sampleTime: Int64, total: Double, limit: Double?, rangeMin: Double, rangeMax: Double) {
        (self.code, self.value, self.flag, self.sampleTime, self.total, self.limit, self.rangeMin, self.rangeMax) = (code, value, flag, sampleTime, total, limit, rangeMin, rangeMax)
    }

    /// A channel the unit does not have.
    public static let unbound = ChannelSnapshot(code: nil, value: .nan, flag: 0, sampleTime: 0, total: 0, limit: nil, rangeMin: 0, rangeMax: 0)
}

/// Where each register address of a map is: the field and the word within it. Built once per map.
public struct RegisterIndex: Sendable {
    let slots: [Int: (field: Int, offset: Int)]

    public init(_ map: InstrumentMap) {
        var s: [Int: (Int, Int)] = [:]
        for (i, r) in map.registers.enumerated() {
            for k in 0..<r.type.width { s[r.address + k] = (i, k) }
        }
        slots = s
    }
}

/// The registers of one instrument at one moment: a `ModbusRegisterSpace` over a map, the
/// channels' snapshot and the resolved parameter values (by "channel|name"). Writes change
/// `parameters` and list the keys they changed in `changed`.
public struct InstrumentRegisters: ModbusRegisterSpace {
    public let map: InstrumentMap
    let index: RegisterIndex
    public var channels: [ChannelSnapshot]
    public var parameters: [String: Double]
    public private(set) var changed: [String] = []

    public init(map: InstrumentMap, index: RegisterIndex, channels: [ChannelSnapshot], parameters: [String: Double]) {
        (self.map, self.index, self.channels, self.parameters) = (map, index, channels, parameters)
    }

    public static func key(_ channel: Int, _ name: String) -> String { "\(channel)|\(name)" }

    public var servesInputRegisters: Bool { map.inputRegisters }

    /// The value a field holds now.
    public func fieldValue(_ r: InstrumentMap.Register) -> Double {
        let c = channels.indices.contains(r.channel) ? channels[r.channel] : .unbound
        switch r.source {
        case .value: return c.value
        case .total: return c.code == nil ? .nan : c.total
        case .sampleTime: return Double(c.sampleTime)
        case .constant(let v): return v
        case .parameter(let name): return parameters[Self.key(r.channel, name)] ?? .nan
        case .status:
            guard c.code != nil else { return 0xFFFF }
            return Double(map.statusCodes[c.flag] ?? map.statusCodes[UInt8(ascii: "D")] ?? 0xFFFF)
        case .alarm:
            guard c.code != nil else { return 0 }
            var bits = 0
            if let b = map.alarmBits[String(UnicodeScalar(c.flag))] { bits |= 1 << b }
            if let b = map.alarmBits["limit"], let limit = c.limit, c.value > limit { bits |= 1 << b }
            return Double(bits)
        }
    }

    public func words(_ r: InstrumentMap.Register) -> [UInt16] {
        let v = fieldValue(r)
        if v.isNaN && r.type != .float32 { return [UInt16](repeating: 0, count: r.type.width) }
        return r.type.encode(v, scale: r.scale, order: r.order)
    }

    public mutating func readRegisters(_ table: RegisterTable, start: Int, count: Int) -> Result<[UInt16], ModbusException> {
        var out: [UInt16] = []
        out.reserveCapacity(count)
        var cache: (field: Int, words: [UInt16])?
        for a in start..<(start + count) {
            guard let slot = index.slots[a] else { return .failure(.illegalDataAddress) }
            if cache?.field != slot.field { cache = (slot.field, words(map.registers[slot.field])) }
            out.append(cache!.words[slot.offset])
        }
        return .success(out)
    }

    public mutating func writeRegisters(start: Int, values: [UInt16]) -> ModbusException? {
        // Check every address first: a write is all or nothing.
        var fields: [Int: [UInt16]] = [:]
        var order: [Int] = []
        for (k, value) in values.enumerated() {
            guard let slot = index.slots[start + k], map.registers[slot.field].writable else { return .illegalDataAddress }
            if fields[slot.field] == nil {
                fields[slot.field] = words(map.registers[slot.field])
                order.append(slot.field)
            }
            fields[slot.field]![slot.offset] = value
        }
        var decoded: [(String, Double)] = []
        for f in order {
            let r = map.registers[f]
            guard case .parameter(let name) = r.source, let v = r.type.decode(fields[f]!, scale: r.scale, order: r.order) else { return .illegalDataValue }
            decoded.append((Self.key(r.channel, name), v))
        }
        for (key, v) in decoded {
            parameters[key] = v
            if !changed.contains(key) { changed.append(key) }
        }
        return nil
    }
}
