/// The master side of a DL/T 645 meter map (pure): the read frames a logger sends for the
/// electricity parameters of 用电监控, and the values in the replies. The building block of a
/// logger that reads meters (`simulate --read`, issue 14 part 2).
///
/// ```swift
/// let reader = MeterReader(map: map, address: DLT645Frame.address("000000000001")!)
/// for frame in reader.requests { send([0xFE, 0xFE, 0xFE, 0xFE] + frame.bytes) }
/// let values = reader.decode(replies)   // ["energy": 1012.37, "voltage_a": 220.1, …]
/// ```
public struct MeterReader: Sendable {
    public let map: MeterMap
    public let address: [UInt8]
    /// The items read: energy, the per-phase voltage and current blocks, total power, power factor.
    public let items: [MeterMap.Item]

    public static let defaultDIs: [UInt32] = [0x0001_0000, 0x0201_FF00, 0x0202_FF00, 0x0203_0000, 0x0206_0000]

    public init(map: MeterMap, address: [UInt8], dis: [UInt32] = MeterReader.defaultDIs) {
        self.map = map
        self.address = address
        items = dis.compactMap { map.item($0) }
    }

    /// One read-data frame (C = 11H) per item.
    public var requests: [DLT645Frame] { items.map { DLT645Frame(address: address, control: 0x11, data: DLT645Frame.di($0.di)) } }

    /// Values by source name from the replies (any order; abnormal replies, other meters' replies
    /// and items not asked for are left out; a data field of the wrong length or with a non-decimal
    /// digit is left out).
    public func decode(_ replies: [DLT645Frame]) -> [String: Double] {
        var out: [String: Double] = [:]
        for reply in replies where reply.control == 0x91 && reply.address == address && reply.data.count >= 4 {
            let di = UInt32(reply.data[0]) | UInt32(reply.data[1]) << 8 | UInt32(reply.data[2]) << 16 | UInt32(reply.data[3]) << 24
            guard let item = items.first(where: { $0.di == di }) else { continue }
            let parts = item.block.isEmpty ? [item] : item.block.compactMap { map.item($0) }
            var data = Array(reply.data.dropFirst(4))
            guard data.count == parts.reduce(0, { $0 + ($1.source == "address" ? 6 : $1.bytes) }) else { continue }
            for p in parts {
                let n = p.source == "address" ? 6 : p.bytes
                let field = Array(data.prefix(n))
                data.removeFirst(n)
                guard p.source != "address", let v = DLT645BCD.decode(field, decimals: p.decimals, signed: p.signed) else { continue }
                out[p.source] = v
            }
        }
        return out
    }
}
