import HJCapture
import Testing

@Suite struct ReassemblyTests {
    static let framings: [LinkFraming] = [.ethernet(vlan: nil), .ethernet(vlan: 42), .linuxSLL, .linuxSLL2, .raw, .null(bigEndian: false), .null(bigEndian: true), .loop]

    @Test(arguments: framings, [false, true])
    func everyLinkTypeOverIPv4AndIPv6(framing: LinkFraming, v6: Bool) throws {
        var c = TCPConversation(client: v6 ? Build.client6 : Build.client, server: v6 ? Build.server6 : Build.server, framing: framing)
        let up = Build.text(3000, seed: 1), down = Build.text(200, seed: 2)
        var packets = c.handshake()
        packets += c.send(fromClient: true, up, maxSegment: 700)
        packets += c.send(fromClient: false, down)
        packets += c.close()
        let (events, streams) = try Build.events(Build.pcapng(packets, link: framing.linkType), chunk: 97)
        let s = Build.streams(events)
        #expect(s[c.client] == up)
        #expect(s[c.server] == down)
        #expect(streams.tcpPackets == packets.count && streams.otherTraffic.isEmpty)
        #expect(events.filter { if case .closed = $0 { true } else { false } }.count == 2)
        guard case .data(let id, _, let t, let n)? = events.first else { Issue.record("no data"); return }
        #expect(id.client == c.client && id.source == c.client && n == 4 && t == Build.t0 + 3_000_000)
    }

    @Test func checksumsAreCorrect() {
        var c = TCPConversation(client: Build.client, server: Build.server, framing: .raw)
        let p = c.send(fromClient: true, Array("hello".utf8))[0]
        #expect(TCPConversation.checksum(Array(p[0..<20])) == 0)   // IPv4 header sums to zero
        let tcp = Array(p[20...])
        let pseudo = Build.client.address.bytes + Build.server.address.bytes + [0, 6, 0, UInt8(tcp.count)]
        #expect(TCPConversation.checksum(pseudo + tcp) == 0)
    }

    @Test(arguments: 0..<20)
    func shuffledDuplicatedAndOverlappingSegments(seed: Int) throws {
        var rng = Build.Random(seed: UInt64(seed))
        let payload = Build.text(5000, seed: UInt64(seed) + 100)
        let isn: UInt32 = seed % 2 == 0 ? 0xFFFF_F000 : 12345   // even seeds wrap the sequence space
        var c = TCPConversation(client: Build.client, server: Build.server, clientISN: isn, framing: .raw)
        let hs = c.handshake()
        let base = c.clientSequence
        var pieces: [[UInt8]] = []
        var offset = 0
        while offset < payload.count {
            let n = Int.random(in: 1...400, using: &rng)
            let start = max(0, offset - Int.random(in: 0...50, using: &rng))   // overlap the previous piece
            let end = min(payload.count, offset + n)
            pieces.append(c.packet(fromClient: true, sequence: base &+ UInt32(start), ack: 0, flags: 0x18, payload: Array(payload[start..<end])))
            offset = end
        }
        pieces += pieces.filter { _ in Bool.random(using: &rng) }   // retransmissions
        pieces.shuffle(using: &rng)
        let (events, streams) = try Build.events(Build.pcapng(hs + pieces, link: .raw))
        #expect(Build.streams(events)[Build.client] == payload)
        #expect(streams.reassembler.statistics.gaps == 0)
        #expect(streams.reassembler.statistics.retransmittedBytes > 0)
    }

    @Test func aHoleIsReportedAsAGapWithItsByteCount() throws {
        var c = TCPConversation(client: Build.client, server: Build.server, framing: .raw)
        var packets = c.handshake()
        packets += c.send(fromClient: true, Array("AAAA".utf8))
        _ = c.send(fromClient: true, Array("lost-bytes".utf8))   // never captured
        packets += c.send(fromClient: true, Array("BBBB".utf8))
        packets += c.close()
        let (events, streams) = try Build.events(Build.pcapng(packets, link: .raw))
        #expect(Build.streams(events)[Build.client] == Array("AAAA<gap 10>BBBB".utf8))
        #expect(streams.reassembler.statistics.gapBytes == 10)
        #expect(events.contains { if case .gap(_, 10, _, _) = $0 { true } else { false } })
    }

    @Test func aConnectionWithoutItsHandshake() throws {
        var c = TCPConversation(client: Build.client, server: Build.server, clientISN: 777, framing: .ethernet(vlan: nil))
        _ = c.handshake()   // not captured
        let packets = c.send(fromClient: true, Array("mid-stream".utf8)) + c.send(fromClient: false, Array("reply".utf8))
        let (events, streams) = try Build.events(Build.pcapng(packets))
        let s = Build.streams(events)
        #expect(s[Build.client] == Array("mid-stream".utf8) && s[Build.server] == Array("reply".utf8))
        #expect(streams.reassembler.statistics.connectionsWithoutHandshake == 1)
        guard case .data(let id, _, _, _)? = events.first else { Issue.record("no data"); return }
        #expect(id.client == nil)
    }

    @Test func vlanStacksIPv4OptionsAndIPv6ExtensionHeaders() throws {
        var c = TCPConversation(client: Build.client, server: Build.server, framing: .raw)
        let ip = c.send(fromClient: true, Array("opt".utf8))[0]
        // IPv4 with 8 bytes of options (header length 7 words); checksum is not verified by the decoder.
        var withOptions = [0x47] + Array(ip[1..<20]) + [1, 1, 1, 1, 1, 1, 1, 0] + Array(ip[20...])
        let total = withOptions.count
        withOptions[2] = UInt8(total >> 8); withOptions[3] = UInt8(total & 0xFF)
        let qinq = [UInt8](repeating: 2, count: 12) + [0x88, 0xA8, 0, 1, 0x81, 0x00, 0, 2, 0x08, 0x00] + withOptions
        guard case .tcp(let s1) = PacketDecoder.decode(qinq[...], linkType: .ethernet) else { Issue.record("QinQ + options"); return }
        #expect(Array(s1.payload) == Array("opt".utf8) && s1.source == Build.client)
        // IPv6 with a hop-by-hop and a destination-options header before TCP.
        var c6 = TCPConversation(client: Build.client6, server: Build.server6, framing: .raw)
        let p6 = c6.send(fromClient: true, Array("six".utf8))[0]
        let tcp = Array(p6[40...])
        let ext: [UInt8] = [60, 0, 1, 4, 0, 0, 0, 0] + [6, 0, 1, 4, 0, 0, 0, 0]
        var h = Array(p6[0..<40])
        h[6] = 0
        let length = ext.count + tcp.count
        h[4] = UInt8(length >> 8); h[5] = UInt8(length & 0xFF)
        guard case .tcp(let s2) = PacketDecoder.decode((h + ext + tcp)[...], linkType: .raw) else { Issue.record("IPv6 ext"); return }
        #expect(Array(s2.payload) == Array("six".utf8) && s2.destination == Build.server6)
        // Fragments are reported, not reassembled.
        var frag = ip
        frag[6] = 0x20   // more fragments
        #expect(PacketDecoder.decode(frag[...], linkType: .raw) == .other("IPv4 fragment (not reassembled)"))
    }

    @Test func nonTCPTrafficIsCountedNotFatal() throws {
        var conversation = TCPConversation(client: Build.client, server: Build.server, framing: .raw)
        var udp = conversation.send(fromClient: true, [1])[0]
        udp[9] = 17
        let arp = [UInt8](repeating: 0, count: 12) + [0x08, 0x06] + [UInt8](repeating: 0, count: 28)
        var w = PcapngWriter()
        let raw = w.addInterface(linkType: .raw)
        let eth = w.addInterface(linkType: .ethernet)
        let odd = w.addInterface(linkType: LinkType(rawValue: 147))
        w.addPacket(interface: raw, timestampNanos: 1, data: udp)
        w.addPacket(interface: eth, timestampNanos: 2, data: arp)
        w.addPacket(interface: odd, timestampNanos: 3, data: [1, 2, 3])
        w.addPacket(interface: raw, timestampNanos: 4, data: [])
        let (events, streams) = try Build.events(w.take())
        #expect(events.isEmpty && streams.packets == 4 && streams.tcpPackets == 0)
        #expect(streams.otherTraffic == ["UDP": 1, "ARP": 1, "unsupported link type 147": 1, "empty packet": 1])
        #expect(streams.otherTrafficSummary == "4 packets not TCP: ARP 1, UDP 1, empty packet 1, unsupported link type 147 1")
    }

    @Test func outOfOrderBufferIsBoundedAndTheHoleBecomesAGap() throws {
        var limits = TCPReassemblyLimits()
        limits.maxBufferedBytesPerDirection = 1000
        var r = TCPReassembler(limits: limits)
        var c = TCPConversation(client: Build.client, server: Build.server, framing: .raw)
        for p in c.handshake() {
            guard case .tcp(let seg) = PacketDecoder.decode(p[...], linkType: .raw) else { continue }
            _ = r.process(seg, timestampNanos: 0, packet: 0)
        }
        let base = c.clientSequence
        var delivered = 0, gapBytes = 0, maxHeld = 0
        // Byte 0..99 never arrives; 100 segments of 100 bytes after it do.
        for k in 1...100 {
            let p = c.packet(fromClient: true, sequence: base &+ UInt32(k * 100), ack: 0, flags: 0x10, payload: Array(repeating: UInt8(k), count: 100))
            guard case .tcp(let seg) = PacketDecoder.decode(p[...], linkType: .raw) else { Issue.record("decode"); return }
            for e in r.process(seg, timestampNanos: 0, packet: k) {
                if case .data(_, let b, _, _) = e { delivered += b.count }
                if case .gap(_, let n, _, _) = e { gapBytes += n }
            }
            maxHeld = max(maxHeld, r.bufferedBytes)
        }
        #expect(maxHeld <= 1000)
        #expect(gapBytes == 100)
        #expect(delivered + r.bufferedBytes == 100 * 100)
    }

    @Test func connectionTableIsBounded() throws {
        var limits = TCPReassemblyLimits()
        limits.maxConnections = 64
        var r = TCPReassembler(limits: limits)
        var maxTracked = 0
        for k in 0..<5000 {
            let client = Endpoint(IPAddress([10, 1, UInt8(k >> 8), UInt8(k & 0xFF)]), 40000)
            var c = TCPConversation(client: client, server: Build.server, framing: .raw)
            let p = c.send(fromClient: true, [UInt8(k & 0x7F)])[0]
            guard case .tcp(let seg) = PacketDecoder.decode(p[...], linkType: .raw) else { continue }
            _ = r.process(seg, timestampNanos: 0, packet: k)
            maxTracked = max(maxTracked, r.trackedConnections)
        }
        #expect(maxTracked <= 64)
        #expect(r.statistics.connections == 5000 && r.statistics.evictedConnections > 4000)
    }
}

/// Found by the `capture` fuzz harness (issue 18): bytes a peer sent after its own FIN, ahead of
/// the FIN's sequence number, were held for a direction already closed. Nothing released them:
/// after the capture ended the reassembler still counted them against its total budget (so later
/// connections would have been cut into gaps for it), and bytes at the FIN's number were delivered
/// after the direction's `.closed`.
@Suite struct DataAfterFINTests {
    @Test func bytesAfterAFINAreNeitherHeldNorDelivered() {
        var c = TCPConversation(client: Build.client, server: Build.server, framing: .raw)
        var packets = c.handshake()
        packets += c.send(fromClient: true, Array("hello".utf8))
        let fin = c.clientSequence
        packets.append(c.packet(fromClient: true, sequence: fin, ack: c.serverSequence, flags: 0x11, payload: []))
        packets.append(c.packet(fromClient: true, sequence: fin &+ 10, ack: c.serverSequence, flags: 0x18, payload: Array("late, ahead".utf8)))
        packets.append(c.packet(fromClient: true, sequence: fin, ack: c.serverSequence, flags: 0x18, payload: Array("late, at the FIN".utf8)))
        var r = TCPReassembler()
        var events: [TCPEvent] = []
        for (i, p) in packets.enumerated() {
            guard case .tcp(let segment) = PacketDecoder.decode(p[...], linkType: .raw) else { Issue.record("not TCP"); return }
            events += r.process(segment, timestampNanos: Int64(i), packet: i + 1)
        }
        #expect(r.bufferedBytes == 0)
        events += r.finish()
        #expect(r.bufferedBytes == 0)
        let client = events.compactMap { e -> [UInt8]? in
            if case .data(let id, let bytes, _, _) = e, id.source == Build.client { return bytes }
            return nil
        }
        #expect(client == [Array("hello".utf8)])
        let closedAt = events.firstIndex { if case .closed(let id) = $0, id.source == Build.client { return true } else { return false } }
        let lastData = events.lastIndex { if case .data(let id, _, _, _) = $0, id.source == Build.client { return true } else { return false } }
        #expect(closedAt != nil && lastData != nil && lastData! < closedAt!)
    }
}
