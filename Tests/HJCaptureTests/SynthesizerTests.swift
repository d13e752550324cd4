import Testing
@testable import HJCapture

/// `TCPConversation.packet` writes each packet into one buffer; these tests hold it to the
/// straightforward construction (each header built by itself and concatenated, the checksums
/// over a separate pseudo-header) that it replaced.
@Suite("Packet synthesis")
struct SynthesizerTests {
    static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }

    /// The reference: link header + IP header + TCP header + payload, built piece by piece.
    static func reference(_ framing: LinkFraming, src: Endpoint, dst: Endpoint, identification: UInt16, sequence: UInt32, ack: UInt32,
                          flags: UInt8, payload: [UInt8]) -> [UInt8] {
        var tcp: [UInt8] = [UInt8(src.port >> 8), UInt8(src.port & 0xFF), UInt8(dst.port >> 8), UInt8(dst.port & 0xFF)]
        tcp += be32(sequence) + be32(ack) + [0x50, flags, 0xFF, 0xFF, 0, 0, 0, 0] + payload
        var pseudo = src.address.bytes + dst.address.bytes
        pseudo += src.address.isIPv6 ? be32(UInt32(tcp.count)) + [0, 0, 0, 6] : [0, 6, UInt8(tcp.count >> 8), UInt8(tcp.count & 0xFF)]
        let sum = TCPConversation.checksum(pseudo + tcp)
        tcp[16] = UInt8(sum >> 8)
        tcp[17] = UInt8(sum & 0xFF)
        let ip: [UInt8]
        if src.address.isIPv6 {
            ip = [0x60, 0, 0, 0, UInt8(tcp.count >> 8), UInt8(tcp.count & 0xFF), 6, 64] + src.address.bytes + dst.address.bytes + tcp
        } else {
            let total = 20 + tcp.count
            var h: [UInt8] = [0x45, 0, UInt8(total >> 8), UInt8(total & 0xFF), UInt8(identification >> 8), UInt8(identification & 0xFF),
                              0x40, 0, 64, 6, 0, 0] + src.address.bytes + dst.address.bytes
            let hs = TCPConversation.checksum(h)
            h[10] = UInt8(hs >> 8)
            h[11] = UInt8(hs & 0xFF)
            ip = h + tcp
        }
        return framing.frame(ip)
    }

    @Test("every framing, IPv4 and IPv6, payloads of odd and even lengths: the same bytes as the reference")
    func sameBytesAsTheReference() {
        let framings: [LinkFraming] = [.ethernet(vlan: nil), .ethernet(vlan: 4095), .linuxSLL, .linuxSLL2, .raw, .null(bigEndian: false),
                                       .null(bigEndian: true), .loop]
        let pairs = [(Endpoint("10.0.0.2:40000")!, Endpoint("192.168.255.1:7001")!),
                     (Endpoint("[2001:db8::2]:40000")!, Endpoint("[fe80::ffff:1]:65535")!)]
        var x: UInt64 = 7
        for framing in framings {
            for (client, server) in pairs {
                var c = TCPConversation(client: client, server: server, clientISN: 0xFFFF_FFF0, serverISN: 3, framing: framing)
                var identification: UInt16 = 1
                for length in [0, 1, 2, 3, 17, 64, 255, 1460, 9000] {
                    x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                    let payload = (0..<length).map { UInt8(truncatingIfNeeded: x >> UInt64(8 * ($0 % 8))) &+ UInt8(truncatingIfNeeded: $0) }
                    let fromClient = length % 2 == 0
                    let seq = UInt32(truncatingIfNeeded: x >> 20), ack = UInt32(truncatingIfNeeded: x >> 3)
                    let flags = UInt8(truncatingIfNeeded: x >> 40)
                    let got = c.packet(fromClient: fromClient, sequence: seq, ack: ack, flags: flags, payload: payload)
                    let want = Self.reference(framing, src: fromClient ? client : server, dst: fromClient ? server : client,
                                              identification: identification, sequence: seq, ack: ack, flags: flags, payload: payload)
                    if !client.address.isIPv6 { identification &+= 1 }
                    #expect(got == want, "\(framing) \(client) length \(length)")
                    guard case .tcp(let segment) = PacketDecoder.decode(got[...], linkType: framing.linkType) else {
                        Issue.record("not decoded as TCP: \(framing) \(client) length \(length)")
                        continue
                    }
                    #expect(segment.sequence == seq && segment.acknowledgement == ack && segment.flags == flags && Array(segment.payload) == payload)
                }
            }
        }
    }

    @Test("IPv6 checksums sum to zero over the pseudo-header")
    func ipv6Checksum() {
        var c = TCPConversation(client: Endpoint("[2001:db8::2]:40000")!, server: Endpoint("[2001:db8::1]:9212")!, framing: .raw)
        for p in c.send(fromClient: true, Array("hello, odd".utf8) + [0xFF], maxSegment: 5) {
            let tcp = Array(p[40...])
            let pseudo = Array(p[8..<40]) + Self.be32(UInt32(tcp.count)) + [0, 0, 0, 6]
            #expect(TCPConversation.checksum(pseudo + tcp) == 0)
        }
    }
}
