import HJCapture
import Testing

/// Property-based robustness: thousands of random mutations of valid captures never crash the
/// reader, the decoder or the reassembler, and memory held stays within the budgets.
/// (A libFuzzer harness under Tests/Fuzz is still to be added once that layout lands.)
@Suite struct RobustnessTests {
    static func validCaptures() -> [[UInt8]] {
        var c = TCPConversation(client: Build.client, server: Build.server, framing: .ethernet(vlan: 7))
        var packets = c.handshake()
        packets += c.send(fromClient: true, Array("##0020QN=1;ST=32;CN=2011&&0000\r\n".utf8), maxSegment: 9)
        packets += c.send(fromClient: false, Array("##0010ST=91;CN=9014\r\n".utf8))
        packets += c.close()
        var pcap = PcapWriter(linkType: .ethernet, nanoseconds: true, bigEndian: true)
        for p in packets { pcap.addPacket(timestampNanos: Build.t0, data: p) }
        var ng = PcapngWriter(comment: "c")
        ng.addInterface(linkType: .ethernet)
        ng.addInterface(linkType: .linuxSLL2)
        for (i, p) in packets.enumerated() { ng.addPacket(interface: 0, timestampNanos: Build.t0 + Int64(i), data: p, comment: i == 2 ? "x" : nil) }
        ng.addSimplePacket(data: packets[0])
        return [pcap.take(), ng.take(), Build.pcapng(packets, bigEndian: true)]
    }

    @Test(arguments: 0..<3)
    func randomMutationsNeverCrash(which: Int) throws {
        let original = Self.validCaptures()[which]
        var rng = Build.Random(seed: UInt64(which) * 7919)
        var readerLimits = CaptureReaderLimits()
        readerLimits.maxPacketBytes = 4096
        readerLimits.maxBlockBytes = 8192
        var errors = 0, cases = 0
        for _ in 0..<1500 {
            var bytes = original
            for _ in 0..<Int.random(in: 1...8, using: &rng) {
                switch Int.random(in: 0..<5, using: &rng) {
                case 0: bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                case 1: bytes[Int.random(in: 0..<bytes.count, using: &rng)] ^= 1 << UInt8.random(in: 0..<8, using: &rng)
                case 2: bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &rng)))
                case 3:
                    let i = Int.random(in: 0...bytes.count, using: &rng)
                    bytes.insert(contentsOf: (0..<Int.random(in: 1...16, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }, at: i)
                default:
                    if bytes.count > 8 {
                        let i = Int.random(in: 0..<(bytes.count - 4), using: &rng)
                        bytes.replaceSubrange(i..<(i + 4), with: [0xFF, 0xFF, 0xFF, 0x7F])
                    }
                }
                if bytes.count < 4 { break }
            }
            cases += 1
            do {
                var s = try CaptureStreams(source: ArrayByteSource(bytes, chunk: Int.random(in: 1...512, using: &rng)), readerLimits: readerLimits)
                var events = 0
                while let _ = try s.next() {
                    events += 1
                    #expect(s.reassembler.bufferedBytes <= TCPReassemblyLimits().maxBufferedBytesPerDirection)
                }
                if let e = s.error {
                    errors += 1
                    #expect(e.offset >= 0 && e.offset <= bytes.count)
                    #expect(!e.description.isEmpty)
                }
                #expect(events <= 4 * (bytes.count + 1))
            } catch is CaptureError {
                errors += 1
            }
        }
        #expect(cases == 1500 && errors > 0)
    }

    @Test func manyTinyPacketsAreStreamedInBoundedMemory() throws {
        // 100 000 one-byte segments over 50 000 connections: the reader holds one record, the
        // reassembler at most its connection budget.
        var limits = TCPReassemblyLimits()
        limits.maxConnections = 1000
        var w = PcapngWriter()
        w.addInterface(linkType: .raw)
        var file = w.take()
        var conversations: [TCPConversation] = (0..<50).map { k in
            TCPConversation(client: Endpoint(IPAddress([10, 9, 0, UInt8(k)]), 40000), server: Build.server, framing: .raw)
        }
        for k in 0..<100_000 {
            let i = (k * 7919) % 50
            w.addPacket(interface: 0, timestampNanos: Int64(k), data: conversations[i].send(fromClient: true, [UInt8(0x30 + k % 10)])[0])
            file += w.take()
        }
        var s = try CaptureStreams(source: ArrayByteSource(file, chunk: 4096), reassemblyLimits: limits)
        var bytes = 0
        while let e = try s.next() {
            if case .data(_, let b, _, _) = e { bytes += b.count }
            #expect(s.reassembler.trackedConnections <= 1000)
        }
        #expect(s.packets == 100_000 && bytes == 100_000 && s.error == nil)
    }
}
