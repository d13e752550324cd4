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
        let v6 = ip.first.map { $0 >> 4 == 6 } ?? false
        let etherType: [UInt8] = v6 ? [0x86, 0xDD] : [0x08, 0x00]
        switch self {
        case .ethernet(let vlan):
            var h: [UInt8] = [0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01]
            if let vlan { h += [0x81, 0x00, UInt8((vlan >> 8) & 0x0F), UInt8(vlan & 0xFF)] }
            return h + etherType + ip
        case .linuxSLL:
            // packet type 0 (to us), ARPHRD_ETHER, address length 6, address, protocol.
            return [0, 0, 0, 1, 0, 6, 0x02, 0, 0, 0, 0, 0x01, 0, 0] + etherType + ip
        case .linuxSLL2:
            // protocol, reserved, interface index 2, ARPHRD_ETHER, packet type, address length, address.
            return etherType + [0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 0x02, 0, 0, 0, 0, 0x01, 0, 0] + ip
        case .raw:
            return ip
        case .null(let bigEndian):
            let family: UInt8 = v6 ? 30 : 2
            return (bigEndian ? [0, 0, 0, family] : [family, 0, 0, 0]) + ip
        case .loop:
            return [0, 0, 0, v6 ? 24 : 2] + ip
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

    /// One segment with explicit numbers (tests: retransmissions, overlaps, holes).
    public mutating func packet(fromClient: Bool, sequence: UInt32, ack: UInt32, flags: UInt8, payload: [UInt8]) -> [UInt8] {
        let src = fromClient ? client : server, dst = fromClient ? server : client
        var tcp: [UInt8] = []
        tcp += [UInt8(src.port >> 8), UInt8(src.port & 0xFF), UInt8(dst.port >> 8), UInt8(dst.port & 0xFF)]
        tcp += bytes32(sequence) + bytes32(ack)
        tcp += [0x50, flags, 0xFF, 0xFF, 0, 0, 0, 0]   // data offset 5, window 65535, checksum, urgent
        tcp += payload
        var pseudo = src.address.bytes + dst.address.bytes
        if src.address.isIPv6 {
            pseudo += bytes32(UInt32(tcp.count)) + [0, 0, 0, 6]
        } else {
            pseudo += [0, 6, UInt8(tcp.count >> 8), UInt8(tcp.count & 0xFF)]
        }
        let sum = Self.checksum(pseudo + tcp)
        tcp[16] = UInt8(sum >> 8)
        tcp[17] = UInt8(sum & 0xFF)
        let ip: [UInt8]
        if src.address.isIPv6 {
            ip = [0x60, 0, 0, 0, UInt8(tcp.count >> 8), UInt8(tcp.count & 0xFF), 6, 64] + src.address.bytes + dst.address.bytes + tcp
        } else {
            let total = 20 + tcp.count
            var h: [UInt8] = [0x45, 0, UInt8(total >> 8), UInt8(total & 0xFF), UInt8(identification >> 8), UInt8(identification & 0xFF),
                              0x40, 0, 64, 6, 0, 0] + src.address.bytes + dst.address.bytes
            identification &+= 1
            let hs = Self.checksum(h)
            h[10] = UInt8(hs >> 8)
            h[11] = UInt8(hs & 0xFF)
            ip = h + tcp
        }
        return framing.frame(ip)
    }

    /// The Internet checksum (RFC 1071).
    public static func checksum(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var i = 0
        while i + 1 < bytes.count {
            sum += UInt32(bytes[i]) << 8 | UInt32(bytes[i + 1])
            i += 2
        }
        if i < bytes.count { sum += UInt32(bytes[i]) << 8 }
        while sum >> 16 != 0 { sum = (sum & 0xFFFF) + (sum >> 16) }
        return ~UInt16(sum)
    }

    private func bytes32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }
}
