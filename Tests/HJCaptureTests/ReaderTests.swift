import HJCapture
import Testing

@Suite struct ReaderTests {
    @Test(arguments: [(false, false), (false, true), (true, false), (true, true)])
    func pcapBothByteOrdersAndResolutions(bigEndian: Bool, nanoseconds: Bool) throws {
        var w = PcapWriter(linkType: .ethernet, nanoseconds: nanoseconds, bigEndian: bigEndian)
        let stamps: [Int64] = [Build.t0 + 123_456_789, Build.t0 + 2_000_000_001]
        w.addPacket(timestampNanos: stamps[0], data: [1, 2, 3])
        w.addPacket(timestampNanos: stamps[1], data: Array(repeating: 7, count: 70), originalLength: 1500)
        var r = try CaptureReader(source: ArrayByteSource(w.take(), chunk: 5))
        #expect(r.format == .pcap)
        let a = try #require(try r.next()), b = try #require(try r.next())
        #expect(try r.next() == nil)
        #expect(a.data == [1, 2, 3] && a.number == 1 && a.fileOffset == 24)
        #expect(b.data.count == 70 && b.originalLength == 1500 && b.fileOffset == 24 + 16 + 3)
        // Microsecond files lose the nanoseconds.
        #expect(a.timestampNanos == (nanoseconds ? stamps[0] : stamps[0] / 1000 * 1000))
        #expect(b.timestampNanos == (nanoseconds ? stamps[1] : stamps[1] / 1000 * 1000))
        #expect(a.linkType == .ethernet)
    }

    @Test(arguments: [false, true])
    func pcapngInterfacesCommentsAndOtherBlocks(bigEndian: Bool) throws {
        var w = PcapngWriter(comment: "site A, 排放口 1", bigEndian: bigEndian)
        let eth = w.addInterface(linkType: .ethernet, name: "eth0", comment: "uplink")
        let sll = w.addInterface(linkType: .linuxSLL2, nanoseconds: false)
        w.addNameResolution([(IPAddress("10.0.0.1")!, "platform.example")])
        w.addPacket(interface: eth, timestampNanos: Build.t0 + 5, data: [0xAA], comment: "first")
        w.addRawBlock(type: 0x0BAD, body: [1, 2, 3, 4, 5])   // unknown block: skipped
        w.addPacket(interface: sll, timestampNanos: Build.t0 + 1_500_000, data: [0xBB, 0xCC])
        w.addSimplePacket(data: [0xDD])
        var r = try CaptureReader(source: ArrayByteSource(w.take(), chunk: 3))
        #expect(r.format == .pcapng)
        let p1 = try #require(try r.next()), p2 = try #require(try r.next()), p3 = try #require(try r.next())
        #expect(try r.next() == nil)
        #expect(p1.interface == 0 && p1.linkType == .ethernet && p1.timestampNanos == Build.t0 + 5 && p1.comment == "first")
        #expect(p2.interface == 1 && p2.linkType == .linuxSLL2 && p2.timestampNanos == Build.t0 + 1_500_000 && p2.data == [0xBB, 0xCC])
        #expect(p3.data == [0xDD] && p3.number == 3)
        #expect(r.comments == ["site A, 排放口 1", "uplink"])
        #expect(r.interfaces.map(\.name) == ["eth0", nil])
    }

    @Test func twoSectionsWithDifferentByteOrders() throws {
        var a = PcapngWriter(bigEndian: false)
        a.addInterface(linkType: .raw)
        a.addPacket(interface: 0, timestampNanos: 1, data: [1])
        var b = PcapngWriter(bigEndian: true)
        b.addInterface(linkType: .ethernet)
        b.addPacket(interface: 0, timestampNanos: 2, data: [2])
        var r = try CaptureReader(source: ArrayByteSource(a.take() + b.take()))
        let p1 = try #require(try r.next()), p2 = try #require(try r.next())
        #expect(p1.linkType == .raw && p1.data == [1])
        #expect(p2.linkType == .ethernet && p2.data == [2] && p2.number == 2)
    }

    @Test func notACapture() {
        #expect(throws: CaptureError.self) { try CaptureReader(source: ArrayByteSource(Array("##0101QN=".utf8))) }
        #expect(CaptureFormat.detect(Array("{\"t\"".utf8)) == nil)
    }

    @Test func truncatedFinalRecordKeepsWhatCameBefore() throws {
        var w = PcapWriter(linkType: .raw)
        w.addPacket(timestampNanos: 1, data: Array(repeating: 1, count: 40))
        w.addPacket(timestampNanos: 2, data: Array(repeating: 2, count: 40))
        let full = w.take()
        for cut in [full.count - 1, full.count - 40, 24 + 56 + 10] {
            var r = try CaptureReader(source: ArrayByteSource(Array(full.prefix(cut))))
            #expect(try r.next()?.number == 1)
            do {
                _ = try r.next()
                Issue.record("cut at \(cut) not reported")
            } catch let e as CaptureError {
                #expect(e.truncated && e.packet == 2 && e.offset == 24 + 56)
                #expect(e.description.contains("packet 2, byte 80"))
            }
        }
    }

    @Test func absurdSnapLengthIsAClearError() throws {
        var w = PcapWriter(linkType: .ethernet, snapLength: Int(UInt32.max))
        w.addPacket(timestampNanos: 1, data: [1, 2])
        var bytes = w.take()
        // Record's captured length set to 3 GB.
        bytes[24 + 8] = 0; bytes[24 + 9] = 0; bytes[24 + 10] = 0; bytes[24 + 11] = 0xC0
        var r = try CaptureReader(source: ArrayByteSource(bytes))
        #expect {
            _ = try r.next()
        } throws: { error in
            guard let e = error as? CaptureError else { return false }
            return e.packet == 1 && e.offset == 24 && e.message.contains("exceeds the budget") && !e.truncated
        }
    }

    @Test func pcapngCorruptBlockLength() throws {
        var w = PcapngWriter()
        w.addInterface(linkType: .ethernet)
        let head = w.take()
        w.addPacket(interface: 0, timestampNanos: 1, data: [1, 2, 3, 4])
        var packet = w.take()
        packet[4] = 0x0D   // length not a multiple of 4
        var r = try CaptureReader(source: ArrayByteSource(head + packet))
        #expect {
            _ = try r.next()
        } throws: { error in
            (error as? CaptureError)?.offset == head.count + 4 && (error as? CaptureError)?.packet == 1
        }
        // Trailing length differing from the leading one.
        w.addPacket(interface: 0, timestampNanos: 1, data: [1, 2, 3, 4])
        var p2 = w.take()
        p2[p2.count - 4] ^= 0x04
        var r2 = try CaptureReader(source: ArrayByteSource(head + p2))
        #expect(throws: CaptureError.self) { _ = try r2.next() }
        // A packet on an interface that was never described.
        var w3 = PcapngWriter()
        w3.addInterface(linkType: .ethernet)
        w3.addPacket(interface: 3, timestampNanos: 1, data: [1])
        var r3 = try CaptureReader(source: ArrayByteSource(w3.take()))
        #expect(throws: CaptureError.self) { _ = try r3.next() }
    }
}
