/// The master side of a register map (pure): which reads a logger makes to poll an instrument,
/// and what the registers it got back mean — value and HJ 212 flag per factor. The building
/// block of a logger that reads instruments (`simulate --read`, issue 14 part 2).
///
/// ```swift
/// let reader = InstrumentReader(instrument)
/// for request in reader.requests { words[request] = … }          // 03 reads of ≤ 125 registers
/// let values = reader.decode(registers)                          // [code: (value, flag)]
/// ```
public struct InstrumentReader: Sendable {
    public let instrument: InstrumentInfo
    /// The first `value` register and the first `status` register of each bound channel.
    let fields: [(code: String, value: InstrumentMap.Register, status: InstrumentMap.Register?)]
    /// Holding-register reads covering those fields, each at most 125 registers.
    public let requests: [ModbusRequest]

    public init(_ instrument: InstrumentInfo) {
        self.instrument = instrument
        var fields: [(String, InstrumentMap.Register, InstrumentMap.Register?)] = []
        for (c, code) in instrument.codes.enumerated() {
            guard let code, let value = instrument.map.registers.first(where: { $0.channel == c && $0.source == .value }) else { continue }
            fields.append((code, value, instrument.map.registers.first { $0.channel == c && $0.source == .status }))
        }
        self.fields = fields
        // Group the needed registers into reads: contiguous mapped runs, at most 125 each.
        let needed = fields.flatMap { f in [f.1] + (f.2.map { [$0] } ?? []) }.sorted { $0.address < $1.address }
        let mapped = Set(instrument.map.registers.flatMap { r in (r.address..<(r.address + r.type.width)) })
        var requests: [ModbusRequest] = []
        var start = -1, end = -1
        for r in needed {
            let rEnd = r.address + r.type.width
            let bridgeable = start >= 0 && (end..<r.address).allSatisfy { mapped.contains($0) } && rEnd - start <= ModbusPDU.maxReadQuantity
            if bridgeable {
                end = max(end, rEnd)
            } else {
                if start >= 0 { requests.append(.readHolding(start: UInt16(start), count: UInt16(end - start))) }
                (start, end) = (r.address, rEnd)
            }
        }
        if start >= 0 { requests.append(.readHolding(start: UInt16(start), count: UInt16(end - start))) }
        self.requests = requests
    }

    /// The value and flag of each factor from the registers read (by address). A status code the
    /// map does not list reads as D (fault); a missing register or an invalid value leaves the
    /// factor out.
    public func decode(_ registers: [Int: UInt16]) -> [String: (value: Double, flag: UInt8)] {
        var flags: [UInt16: UInt8] = [:]
        for (flag, code) in instrument.map.statusCodes.sorted(by: { $0.key < $1.key }) where flags[code] == nil { flags[code] = flag }
        var out: [String: (Double, UInt8)] = [:]
        for f in fields {
            let words = (f.value.address..<(f.value.address + f.value.type.width)).compactMap { registers[$0] }
            guard words.count == f.value.type.width, let v = f.value.type.decode(words, scale: f.value.scale, order: f.value.order) else { continue }
            var flag = UInt8(ascii: "N")
            if let s = f.status, let w = registers[s.address] { flag = flags[w] ?? UInt8(ascii: "D") }
            out[f.code] = (v, flag)
        }
        return out
    }

    /// Registers by address from the replies to `requests`, in order (nil where a reply was not
    /// registers of the asked length).
    public func registers(replies: [ModbusResponse]) -> [Int: UInt16] {
        var out: [Int: UInt16] = [:]
        for (request, reply) in zip(requests, replies) {
            guard case .readHolding(let start, let count) = request, case .registers(let w) = reply, w.count == Int(count) else { continue }
            for (k, v) in w.enumerated() { out[Int(start) + k] = v }
        }
        return out
    }
}
