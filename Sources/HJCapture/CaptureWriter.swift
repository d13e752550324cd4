/// Writes a pcapng file: one section, any number of interfaces, enhanced packet blocks with
/// optional comments. Little-endian unless asked otherwise; time stamps in nanoseconds
/// (`if_tsresol` = 9) or microseconds. Pure: bytes accumulate until `take()`.
///
/// ```swift
/// var w = PcapngWriter(comment: "made by hj212")
/// let eth = w.addInterface(linkType: .ethernet)
/// w.addPacket(interface: eth, timestampNanos: t, data: frame)
/// file.write(w.take())
/// ```
public struct PcapngWriter: Sendable {
    private var out: [UInt8] = []
    private let bigEndian: Bool
    private var units: [UInt64] = []

    public init(comment: String? = nil, application: String = "hj212", bigEndian: Bool = false) {
        self.bigEndian = bigEndian
        var body: [UInt8] = []
        append32(0x1A2B_3C4D, to: &body)
        append16(1, to: &body)
        append16(0, to: &body)
        append32(0xFFFF_FFFF, to: &body)   // section length: not given (-1)
        append32(0xFFFF_FFFF, to: &body)
        var opts: [(UInt16, [UInt8])] = []
        if let comment { opts.append((1, Array(comment.utf8))) }
        opts.append((4, Array(application.utf8)))   // shb_userappl
        appendOptions(opts, to: &body)
        block(0x0A0D_0D0A, body)
    }

    /// Describes an interface; returns its index for `addPacket`.
    @discardableResult
    public mutating func addInterface(linkType: LinkType, snapLength: Int = 262_144, name: String? = nil,
                                      comment: String? = nil, nanoseconds: Bool = true) -> Int {
        var body: [UInt8] = []
        append16(UInt16(truncatingIfNeeded: linkType.rawValue), to: &body)
        append16(0, to: &body)
        append32(UInt32(truncatingIfNeeded: snapLength), to: &body)
        var opts: [(UInt16, [UInt8])] = []
        if let name { opts.append((2, Array(name.utf8))) }
        if let comment { opts.append((1, Array(comment.utf8))) }
        if nanoseconds { opts.append((9, [9])) }
        appendOptions(opts, to: &body)
        block(1, body)
        units.append(nanoseconds ? 1_000_000_000 : 1_000_000)
        return units.count - 1
    }

    /// Appends an enhanced packet block.
    public mutating func addPacket(interface: Int, timestampNanos: Int64, data: [UInt8], originalLength: Int? = nil, comment: String? = nil) {
        let perSecond = interface < units.count ? units[interface] : 1_000_000_000
        let nanos = UInt64(max(0, timestampNanos))
        let ticks = perSecond == 1_000_000_000 ? nanos : nanos / 1000
        var body: [UInt8] = []
        append32(UInt32(interface), to: &body)
        append32(UInt32(truncatingIfNeeded: ticks >> 32), to: &body)
        append32(UInt32(truncatingIfNeeded: ticks), to: &body)
        append32(UInt32(data.count), to: &body)
        append32(UInt32(originalLength ?? data.count), to: &body)
        body += data
        body += [UInt8](repeating: 0, count: (4 - data.count % 4) % 4)
        if let comment { appendOptions([(1, Array(comment.utf8))], to: &body) }
        block(6, body)
    }

    /// Appends a simple packet block (no time stamp, interface 0).
    public mutating func addSimplePacket(data: [UInt8]) {
        var body: [UInt8] = []
        append32(UInt32(data.count), to: &body)
        body += data
        body += [UInt8](repeating: 0, count: (4 - data.count % 4) % 4)
        block(3, body)
    }

    /// Appends a name resolution block with IPv4 records (`address`, `name`).
    public mutating func addNameResolution(_ records: [(IPAddress, String)]) {
        var body: [UInt8] = []
        for (address, name) in records {
            let value = address.bytes + Array(name.utf8) + [0]
            append16(address.isIPv6 ? 2 : 1, to: &body)
            append16(UInt16(value.count), to: &body)
            body += value + [UInt8](repeating: 0, count: (4 - value.count % 4) % 4)
        }
        append32(0, to: &body)   // nrb_record_end
        block(4, body)
    }

    /// Appends a block of any type (tests: unknown blocks must be skipped).
    public mutating func addRawBlock(type: UInt32, body: [UInt8]) {
        block(type, body + [UInt8](repeating: 0, count: (4 - body.count % 4) % 4))
    }

    /// The bytes written since the last call.
    public mutating func take() -> [UInt8] {
        defer { out.removeAll(keepingCapacity: true) }
        return out
    }

    private mutating func block(_ type: UInt32, _ body: [UInt8]) {
        let length = UInt32(12 + body.count)
        append32(type, to: &out)
        append32(length, to: &out)
        out += body
        append32(length, to: &out)
    }

    private func appendOptions(_ opts: [(UInt16, [UInt8])], to body: inout [UInt8]) {
        guard !opts.isEmpty else { return }
        for (code, value) in opts {
            let v = Array(value.prefix(65_535))
            append16(code, to: &body)
            append16(UInt16(v.count), to: &body)
            body += v + [UInt8](repeating: 0, count: (4 - v.count % 4) % 4)
        }
        append32(0, to: &body)   // opt_endofopt
    }

    private func append16(_ v: UInt16, to b: inout [UInt8]) {
        if bigEndian { b += [UInt8(v >> 8), UInt8(v & 0xFF)] } else { b += [UInt8(v & 0xFF), UInt8(v >> 8)] }
    }

    private func append32(_ v: UInt32, to b: inout [UInt8]) {
        let bytes = [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
        b += bigEndian ? bytes : bytes.reversed()
    }
}

/// Writes a classic pcap file (one link type), either byte order, micro- or nanosecond stamps.
public struct PcapWriter: Sendable {
    private var out: [UInt8] = []
    private let bigEndian: Bool
    private let nanoseconds: Bool

    public init(linkType: LinkType, snapLength: Int = 262_144, nanoseconds: Bool = false, bigEndian: Bool = false) {
        self.bigEndian = bigEndian
        self.nanoseconds = nanoseconds
        append32(nanoseconds ? 0xA1B2_3C4D : 0xA1B2_C3D4)
        append16(2)
        append16(4)
        append32(0)
        append32(0)
        append32(UInt32(truncatingIfNeeded: snapLength))
        append32(linkType.rawValue)
    }

    public mutating func addPacket(timestampNanos: Int64, data: [UInt8], originalLength: Int? = nil) {
        let t = max(0, timestampNanos)
        append32(UInt32(truncatingIfNeeded: t / 1_000_000_000))
        append32(UInt32(nanoseconds ? t % 1_000_000_000 : t % 1_000_000_000 / 1000))
        append32(UInt32(data.count))
        append32(UInt32(originalLength ?? data.count))
        out += data
    }

    public mutating func take() -> [UInt8] {
        defer { out.removeAll(keepingCapacity: true) }
        return out
    }

    private mutating func append16(_ v: UInt16) {
        if bigEndian { out += [UInt8(v >> 8), UInt8(v & 0xFF)] } else { out += [UInt8(v & 0xFF), UInt8(v >> 8)] }
    }

    private mutating func append32(_ v: UInt32) {
        let bytes = [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
        out += bigEndian ? bytes : bytes.reversed()
    }
}
