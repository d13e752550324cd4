/// Types shared by the capture reader, the link and network decoders, and the TCP reassembler.

/// A link-layer header type (the LINKTYPE_ values of pcap and pcapng).
public struct LinkType: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// BSD loopback: a 4-byte address family in the writer's byte order.
    public static let null = LinkType(rawValue: 0)
    /// Ethernet II, with 802.1Q / 802.1ad VLAN tags.
    public static let ethernet = LinkType(rawValue: 1)
    /// Raw IPv4 or IPv6 (LINKTYPE_RAW).
    public static let raw = LinkType(rawValue: 101)
    /// OpenBSD loopback: the address family in network byte order.
    public static let loop = LinkType(rawValue: 108)
    /// Linux cooked capture v1 (`tcpdump -i any` before libpcap 1.10).
    public static let linuxSLL = LinkType(rawValue: 113)
    /// Raw IPv4 only.
    public static let ipv4 = LinkType(rawValue: 228)
    /// Raw IPv6 only.
    public static let ipv6 = LinkType(rawValue: 229)
    /// Linux cooked capture v2.
    public static let linuxSLL2 = LinkType(rawValue: 276)

    public var description: String {
        switch self {
        case .null: "NULL/loopback (0)"
        case .ethernet: "Ethernet (1)"
        case .raw: "raw IP (101)"
        case .loop: "OpenBSD loopback (108)"
        case .linuxSLL: "Linux cooked SLL (113)"
        case .ipv4: "raw IPv4 (228)"
        case .ipv6: "raw IPv6 (229)"
        case .linuxSLL2: "Linux cooked SLL2 (276)"
        default: "link type \(rawValue)"
        }
    }

    /// Whether the reader can decode packets of this link type.
    public var isSupported: Bool {
        [.null, .ethernet, .raw, .loop, .linuxSLL, .ipv4, .ipv6, .linuxSLL2].contains(self)
    }
}

/// One packet as recorded in a capture file.
public struct CapturedPacket: Sendable, Equatable {
    /// 1-based number in the file, as Wireshark numbers frames.
    public var number: Int
    /// Byte offset in the file of the record that holds the packet.
    public var fileOffset: Int
    /// Interface index (pcapng; always 0 for pcap).
    public var interface: Int
    public var linkType: LinkType
    /// Time of capture, nanoseconds since 1970-01-01T00:00:00Z.
    public var timestampNanos: Int64
    /// The captured bytes (at most the snap length).
    public var data: [UInt8]
    /// The length of the packet on the wire.
    public var originalLength: Int
    /// The packet's comment (pcapng `opt_comment`), if any.
    public var comment: String?

    public init(number: Int, fileOffset: Int, interface: Int, linkType: LinkType, timestampNanos: Int64,
                data: [UInt8], originalLength: Int, comment: String? = nil) {
        self.number = number
        self.fileOffset = fileOffset
        self.interface = interface
        self.linkType = linkType
        self.timestampNanos = timestampNanos
        self.data = data
        self.originalLength = originalLength
        self.comment = comment
    }
}

/// Why a capture could not be read further: what was wrong, at which byte of the file and, when
/// known, in which packet. A truncated file is reported with `truncated` set: the packets before
/// it were read and are valid.
public struct CaptureError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    /// Byte offset in the file of the record or block that is wrong.
    public var offset: Int
    /// 1-based packet number of the packet that could not be read, when there is one.
    public var packet: Int?
    /// The file ends inside a record (a capture cut short, typically by a killed tcpdump).
    public var truncated: Bool

    public init(_ message: String, offset: Int, packet: Int? = nil, truncated: Bool = false) {
        self.message = message
        self.offset = offset
        self.packet = packet
        self.truncated = truncated
    }

    public var description: String {
        "\(packet.map { "packet \($0), " } ?? "")byte \(offset): \(message)"
    }
}

/// The format of a capture file, recognised by its first four bytes.
public enum CaptureFormat: String, Sendable {
    case pcap
    case pcapng

    /// The format whose magic number starts `bytes`, or nil (a raw stream or a trace).
    public static func detect<C: Collection>(_ bytes: C) -> CaptureFormat? where C.Element == UInt8 {
        let head = Array(bytes.prefix(4))
        guard head.count == 4 else { return nil }
        switch (head[0], head[1], head[2], head[3]) {
        case (0xD4, 0xC3, 0xB2, 0xA1), (0xA1, 0xB2, 0xC3, 0xD4), (0x4D, 0x3C, 0xB2, 0xA1), (0xA1, 0xB2, 0x3C, 0x4D): return .pcap
        case (0x0A, 0x0D, 0x0D, 0x0A): return .pcapng
        default: return nil
        }
    }
}

/// Reads little- or big-endian integers from a byte array without trapping (callers check bounds).
struct ByteOrderReader {
    var bigEndian: Bool

    func u16(_ b: [UInt8], _ i: Int) -> UInt16 {
        bigEndian ? UInt16(b[i]) << 8 | UInt16(b[i + 1]) : UInt16(b[i + 1]) << 8 | UInt16(b[i])
    }

    func u32(_ b: [UInt8], _ i: Int) -> UInt32 {
        bigEndian
            ? UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
            : UInt32(b[i + 3]) << 24 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 1]) << 8 | UInt32(b[i])
    }

    func u64(_ b: [UInt8], _ i: Int) -> UInt64 {
        let a = UInt64(u32(b, i)), c = UInt64(u32(b, i + 4))
        return bigEndian ? a << 32 | c : c << 32 | a
    }
}

/// Big-endian (network order) helpers over any byte buffer.
@inline(__always) func be16(_ b: ArraySlice<UInt8>, _ i: Int) -> Int {
    Int(b[b.startIndex + i]) << 8 | Int(b[b.startIndex + i + 1])
}

@inline(__always) func be32(_ b: ArraySlice<UInt8>, _ i: Int) -> UInt32 {
    let s = b.startIndex + i
    return UInt32(b[s]) << 24 | UInt32(b[s + 1]) << 16 | UInt32(b[s + 2]) << 8 | UInt32(b[s + 3])
}
