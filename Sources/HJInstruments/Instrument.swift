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

/// Where each register address of a map is (the field and the word within it), and which
/// analyser parameter each field shows. Built once per map, so that a request looks up numbers,
/// never parameter names.
public struct RegisterIndex: Sendable {
    let slots: [Int: (field: Int, offset: Int)]
    /// Per field: the parameter (index in `map.parameters`) it shows, or nil. A name declared
    /// twice (only in a hand-written map) names its last declaration, as the name-keyed table
    /// that came before this one kept the last value resolved under a name.
    let fieldParameter: [Int?]
    /// Per parameter: the first parameter of the same name, under which a write is kept and
    /// whose 3020 code a write goes to (the name-keyed table that came before: one entry per name).
    let firstOfName: [Int]
    /// Per parameter: its default, parsed once.
    let defaults: [ParameterDefault]
    /// Per slot: the addresses from the first to the last register of the fields that show it
    /// (empty for a parameter whose name a later declaration takes). One range, not one per
    /// field: a request between two fields of a slot resolves it for nothing, which changes nothing.
    let slotFields: [Range<Int>]
    public let parameterCount: Int

    /// A parameter's `default`: a number, or what `@range_max`, `@range_min`, `@calibration_time` stand for.
    enum ParameterDefault: Sendable {
        case number(Double)
        case rangeMax, rangeMin, calibrationTime
    }

    public init(_ map: InstrumentMap) {
        var s: [Int: (Int, Int)] = [:]
        for (i, r) in map.registers.enumerated() {
            for k in 0..<r.type.width { s[r.address + k] = (i, k) }
        }
        slots = s
        var last: [String: Int] = [:], first: [String: Int] = [:]
        for (p, parameter) in map.parameters.enumerated() {
            last[parameter.name] = p
            if first[parameter.name] == nil { first[parameter.name] = p }
        }
        fieldParameter = map.registers.map { r in
            if case .parameter(let name) = r.source { return last[name] }
            return nil
        }
        firstOfName = map.parameters.map { first[$0.name]! }
        defaults = map.parameters.map { p in
            switch p.defaultValue {
            case "@range_max": return .rangeMax
            case "@range_min": return .rangeMin
            case "@calibration_time": return .calibrationTime
            default: return .number(Double(p.defaultValue) ?? .nan)
            }
        }
        parameterCount = map.parameters.count
        var fields = [Range<Int>](repeating: 0..<0, count: map.channels.count * map.parameters.count)
        for (f, r) in map.registers.enumerated() {
            guard let p = fieldParameter[f] else { continue }
            let k = r.channel * map.parameters.count + p, field = r.address..<(r.address + r.type.width)
            fields[k] = fields[k].isEmpty ? field : min(fields[k].lowerBound, field.lowerBound)..<max(fields[k].upperBound, field.upperBound)
        }
        slotFields = fields
    }

    /// The slot of a channel's parameter in a `ParameterTable`.
    func slot(channel: Int, parameter: Int) -> Int { channel * parameterCount + parameter }

    /// Whether a request on the registers `range` reads or writes a field that shows `slot`.
    func touches(_ range: Range<Int>, _ slot: Int) -> Bool {
        slot < slotFields.count && slotFields[slot].overlaps(range)
    }
}

/// The analyser parameters of one instrument at one request, one slot per channel × parameter
/// of its map (`RegisterIndex.slot`): a flat array instead of a dictionary by "channel|name",
/// which cost a string key per parameter per request.
public struct ParameterTable: Sendable, Hashable {
    public var values: [Double]
    public let perChannel: Int

    public init(values: [Double], perChannel: Int) { (self.values, self.perChannel) = (values, perChannel) }

    /// The value of a channel's parameter; NaN for a channel or parameter the table lacks.
    public subscript(channel: Int, parameter: Int) -> Double {
        guard parameter >= 0, parameter < perChannel, channel >= 0 else { return .nan }
        let k = channel * perChannel + parameter
        return k < values.count ? values[k] : .nan
    }
}

/// The registers of one instrument at one moment: a `ModbusRegisterSpace` over a map, the
/// channels' snapshot and the resolved parameter values. Writes change `parameters` and list
/// the slots they changed (`RegisterIndex.slot`) in `changed`, in the order first written.
public struct InstrumentRegisters: ModbusRegisterSpace {
    public let map: InstrumentMap
    let index: RegisterIndex
    public var channels: [ChannelSnapshot]
    public var parameters: ParameterTable
    public private(set) var changed: [Int] = []

    public init(map: InstrumentMap, index: RegisterIndex, channels: [ChannelSnapshot], parameters: ParameterTable) {
        (self.map, self.index, self.channels, self.parameters) = (map, index, channels, parameters)
    }

    public var servesInputRegisters: Bool { map.inputRegisters }

    /// The value a field holds now.
    public func fieldValue(_ field: Int) -> Double {
        let r = map.registers[field]
        let c = channels.indices.contains(r.channel) ? channels[r.channel] : .unbound
        switch r.source {
        case .value: return c.value
        case .total: return c.code == nil ? .nan : c.total
        case .sampleTime: return Double(c.sampleTime)
        case .constant(let v): return v
        case .parameter: return index.fieldParameter[field].map { parameters[r.channel, $0] } ?? .nan
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

    public func words(_ field: Int) -> [UInt16] {
        var out: [UInt16] = []
        out.reserveCapacity(map.registers[field].type.width)
        appendWords(field, to: &out)
        return out
    }

    /// Appends the registers of a field to `out` (a NaN in an integer field reads as zeros).
    func appendWords(_ field: Int, to out: inout [UInt16]) {
        let r = map.registers[field]
        let v = fieldValue(field)
        if v.isNaN && r.type != .float32 { out.append(contentsOf: repeatElement(0, count: r.type.width)); return }
        r.type.encode(v, scale: r.scale, order: r.order, into: &out)
    }

    public mutating func readRegisters(_ table: RegisterTable, start: Int, count: Int) -> Result<[UInt16], ModbusException> {
        // Each field's registers are encoded once into `field`, reused: no array per field.
        var out: [UInt16] = [], field: [UInt16] = []
        out.reserveCapacity(count)
        field.reserveCapacity(6)
        var current = -1
        for a in start..<(start + count) {
            guard let slot = index.slots[a] else { return .failure(.illegalDataAddress) }
            if current != slot.field {
                current = slot.field
                field.removeAll(keepingCapacity: true)
                appendWords(slot.field, to: &field)
            }
            out.append(field[slot.offset])
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
                fields[slot.field] = words(slot.field)
                order.append(slot.field)
            }
            fields[slot.field]![slot.offset] = value
        }
        var decoded: [(Int, Double)] = []
        for f in order {
            let r = map.registers[f]
            guard let p = index.fieldParameter[f], let v = r.type.decode(fields[f]!, scale: r.scale, order: r.order) else { return .illegalDataValue }
            decoded.append((index.slot(channel: r.channel, parameter: p), v))
        }
        for (slot, v) in decoded where slot < parameters.values.count {
            parameters.values[slot] = v
            if !changed.contains(slot) { changed.append(slot) }
        }
        return nil
    }
}
