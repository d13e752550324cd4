/// How synthesised IP packets are framed on the link.
public enum LinkFraming: Sendable, Equatable {
    case ethernet(vlan: UInt16?)
    case linuxSLL
    case linuxSLL2
    case raw
    /// BSD NULL loopback, the family in little- or big-endian order.
    case null(bigEndian: Bool)
    case loop

    public var linkType: LinkType {
        switch self {
        case .ethernet: .ethernet
        case .linuxSLL: .linuxSLL
        case .linuxSLL2: .linuxSLL2
        case .raw: .raw
        case .null: .null
        case .loop: .loop
        }
    }

    /// Wraps an IP packet in this link's header.
    public func frame(_ ip: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(Self.maxHeaderLength + ip.count)
        appendHeader(v6: ip.first.map { $0 >> 4 == 6 } ?? false, to: &out)
        out += ip
        return out
    }

    /// The longest link header this writes (Ethernet with a VLAN tag).
    static let maxHeaderLength = 20

    /// Appends this link's header for an IPv4 or IPv6 packet.
    func appendHeader(v6: Bool, to out: inout [UInt8]) {
        let etherType: (UInt8, UInt8) = v6 ? (0x86, 0xDD) : (0x08, 0x00)
        switch self {
        case .ethernet(let vlan):
            out += [0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01]
            if let vlan { out += [0x81, 0x00, UInt8((vlan >> 8) & 0x0F), UInt8(vlan & 0xFF)] }
            out += [etherType.0, etherType.1]
        case .linuxSLL:
            // packet type 0 (to us), ARPHRD_ETHER, address length 6, address, protocol.
            out += [0, 0, 0, 1, 0, 6, 0x02, 0, 0, 0, 0, 0x01, 0, 0, etherType.0, etherType.1]
        case .linuxSLL2:
            // protocol, reserved, interface index 2, ARPHRD_ETHER, packet type, address length, address.
            out += [etherType.0, etherType.1, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 0x02, 0, 0, 0, 0, 0x01, 0, 0]
        case .raw:
            break
        case .null(let bigEndian):
            let family: UInt8 = v6 ? 30 : 2
            out += bigEndian ? [0, 0, 0, family] : [family, 0, 0, 0]
        case .loop:
            out += [0, 0, 0, v6 ? 24 : 2]
        }
    }
}

/// Builds the packets of one TCP connection with correct sequence numbers, acknowledgements and
/// checksums (IPv4 header, TCP over the pseudo-header), over IPv4 or IPv6 by the addresses given.
/// Used by tests to build captures and by the tool to write what it sent and received.
///
/// ```swift
/// var c = TCPConversation(client: Endpoint("10.0.0.2:40000")!, server: Endpoint("10.0.0.1:9000")!)
/// var packets = c.handshake()
/// packets += c.send(fromClient: true, Array("##0101QN=…\r\n".utf8))
/// ```
public struct TCPConversation: Sendable {
    public let client: Endpoint
    public let server: Endpoint
    public let framing: LinkFraming
    /// The next sequence number of each side.
    public private(set) var clientSequence: UInt32
    public private(set) var serverSequence: UInt32
    private var identification: UInt16 = 1

    public init(client: Endpoint, server: Endpoint, clientISN: UInt32 = 0x1000_0000, serverISN: UInt32 = 0x2000_0000, framing: LinkFraming = .ethernet(vlan: nil)) {
        self.client = client
        self.server = server
        self.framing = framing
        clientSequence = clientISN
        serverSequence = serverISN
    }

    /// SYN, SYN-ACK, ACK.
    public mutating func handshake() -> [[UInt8]] {
        let syn = packet(fromClient: true, sequence: clientSequence, ack: 0, flags: 0x02, payload: [])
        clientSequence &+= 1
        let synAck = packet(fromClient: false, sequence: serverSequence, ack: clientSequence, flags: 0x12, payload: [])
        serverSequence &+= 1
        let ack = packet(fromClient: true, sequence: clientSequence, ack: serverSequence, flags: 0x10, payload: [])
        return [syn, synAck, ack]
    }

    /// The data segments carrying `payload` (cut at `maxSegment` bytes), PSH on the last.
    public mutating func send(fromClient: Bool, _ payload: [UInt8], maxSegment: Int = 1460) -> [[UInt8]] {
        var packets: [[UInt8]] = []
        var offset = 0
        while offset < payload.count {
            let end = min(payload.count, offset + max(1, maxSegment))
            let piece = Array(payload[offset..<end])
            let seq = fromClient ? clientSequence : serverSequence
            let ack = fromClient ? serverSequence : clientSequence
            packets.append(packet(fromClient: fromClient, sequence: seq, ack: ack, flags: end == payload.count ? 0x18 : 0x10, payload: piece))
            if fromClient { clientSequence &+= UInt32(piece.count) } else { serverSequence &+= UInt32(piece.count) }
            offset = end
        }
        return packets
    }

    /// FIN from the client, FIN-ACK from the server, last ACK.
    public mutating func close() -> [[UInt8]] {
        let fin = packet(fromClient: true, sequence: clientSequence, ack: serverSequence, flags: 0x11, payload: [])
        clientSequence &+= 1
        let finAck = packet(fromClient: false, sequence: serverSequence, ack: clientSequence, flags: 0x11, payload: [])
        serverSequence &+= 1
        let ack = packet(fromClient: true, sequence: clientSequence, ack: serverSequence, flags: 0x10, payload: [])
        return [fin, finAck, ack]
    }

    /// One segment with explicit numbers (tests: retransmissions, overlaps, holes). Written into
    /// one buffer: link header, IP header, TCP header, payload, the checksums filled in last.
    public mutating func packet(fromClient: Bool, sequence: UInt32, ack: UInt32, flags: UInt8, payload: [UInt8]) -> [UInt8] {
        let src = fromClient ? client : server, dst = fromClient ? server : client
        let v6 = src.address.isIPv6
        let tcpLength = 20 + payload.count
        var out: [UInt8] = []
        out.reserveCapacity(LinkFraming.maxHeaderLength + (v6 ? 40 : 20) + tcpLength)
        framing.appendHeader(v6: v6, to: &out)
        let ipStart = out.count
        if v6 {
            out += [0x60, 0, 0, 0, UInt8(truncatingIfNeeded: tcpLength >> 8), UInt8(truncatingIfNeeded: tcpLength), 6, 64]
        } else {
            let total = 20 + tcpLength
            out += [0x45, 0, UInt8(truncatingIfNeeded: total >> 8), UInt8(truncatingIfNeeded: total),
                    UInt8(identification >> 8), UInt8(identification & 0xFF), 0x40, 0, 64, 6, 0, 0]
            identification &+= 1
        }
        let addressStart = out.count
        src.address.appendBytes(to: &out)
        dst.address.appendBytes(to: &out)
        let tcpStart = out.count
        if !v6 {
            let hs = Self.checksum(out[ipStart..<tcpStart])
            out[ipStart + 10] = UInt8(hs >> 8)
            out[ipStart + 11] = UInt8(hs & 0xFF)
        }
        out += [UInt8(src.port >> 8), UInt8(src.port & 0xFF), UInt8(dst.port >> 8), UInt8(dst.port & 0xFF)]
        Self.append32(sequence, to: &out)
        Self.append32(ack, to: &out)
        out += [0x50, flags, 0xFF, 0xFF, 0, 0, 0, 0]   // data offset 5, window 65535, checksum, urgent
        out += payload
        // The pseudo-header: both addresses, then protocol 6 and the TCP length.
        var pseudo = Self.sum(out[addressStart..<tcpStart], into: 6)
        pseudo &+= UInt32(tcpLength >> 16) &+ UInt32(tcpLength & 0xFFFF)
        let sum = Self.finish(Self.sum(out[tcpStart...], into: pseudo))
        out[tcpStart + 16] = UInt8(sum >> 8)
        out[tcpStart + 17] = UInt8(sum & 0xFF)
        return out
    }

    /// The Internet checksum (RFC 1071).
    public static func checksum(_ bytes: [UInt8]) -> UInt16 { finish(sum(bytes[...], into: 0)) }

    static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt16 { finish(sum(bytes, into: 0)) }

    /// Adds the 16-bit big-endian words of `bytes` (an odd last byte padded with zero) to `sum`.
    /// A packet here is at most 64 KiB plus headers, so the 32-bit sum cannot overflow.
    static func sum(_ bytes: ArraySlice<UInt8>, into sum: UInt32) -> UInt32 {
        var sum = sum
        bytes.withUnsafeBufferPointer { b in
            var i = 0
            while i + 1 < b.count {
                sum &+= UInt32(b[i]) << 8 | UInt32(b[i + 1])
                i += 2
            }
            if i < b.count { sum &+= UInt32(b[i]) << 8 }
        }
        return sum
    }

    static func finish(_ sum: UInt32) -> UInt16 {
        var sum = sum
        while sum >> 16 != 0 { sum = (sum & 0xFFFF) + (sum >> 16) }
        return ~UInt16(sum)
    }

    static func append32(_ v: UInt32, to out: inout [UInt8]) {
        out += [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
    }
}
