// libFuzzer harness: capture files (pcap, pcapng) read as TCP byte streams: `CaptureReader`,
// `PacketDecoder` and `TCPReassembler` together, as `hj212 trace import` reads them. Built by
// .ci/fuzz (docs/fuzzing.md).
//
// The input is a capture file. Read with the source handing out at most 64 KiB, and again 1 to
// 97 bytes at a time (chosen by the input), it must give the same stream events, the same
// packet counts and the same error (a corrupt or cut file stops reading with an error whose
// offset is inside the file). Packets stay within the reader's budget; the reassembler holds no
// more than its budget; every stream event names a connection that was opened, data and gaps
// are never empty, and no stream delivers after it closed. The raw input is also decoded as a
// packet of every supported link type.
import Foundation
import HJCapture

let linkTypes: [LinkType] = [.null, .ethernet, .raw, .loop, .linuxSLL, .ipv4, .ipv6, .linuxSLL2, LinkType(rawValue: 147)]
let readerLimits: CaptureReaderLimits = {
    var l = CaptureReaderLimits()
    l.maxPacketBytes = 8192
    l.maxBlockBytes = 16384
    l.maxInterfaces = 16
    l.maxComments = 8
    l.maxCommentBytes = 64
    return l
}()
let reassemblyLimits: TCPReassemblyLimits = {
    var l = TCPReassemblyLimits()
    l.maxBufferedBytesPerDirection = 2048
    l.maxBufferedSegmentsPerDirection = 16
    l.maxBufferedBytesTotal = 4096
    l.maxConnections = 8
    return l
}()

struct Outcome: Equatable {
    var events: [TCPEvent] = []
    var packets = 0
    var tcpPackets = 0
    var other: [String: Int] = [:]
    var error: CaptureError?
    var headerError: CaptureError?
}

func read(_ bytes: [UInt8], chunk: Int) -> Outcome {
    var out = Outcome()
    let streams: CaptureStreams<ArrayByteSource>
    do {
        streams = try CaptureStreams(source: ArrayByteSource(bytes, chunk: chunk), readerLimits: readerLimits, reassemblyLimits: reassemblyLimits)
    } catch let e as CaptureError {
        out.headerError = e
        return out
    } catch {
        fatalError("an array source threw \(error)")
    }
    var s = streams
    var closed: Set<StreamKey> = []
    while let event = try! s.next() {
        guard s.reassembler.bufferedBytes <= reassemblyLimits.maxBufferedBytesTotal,
              s.reassembler.trackedConnections <= reassemblyLimits.maxConnections else { fatalError("reassembler over budget") }
        guard s.reader.comments.count <= readerLimits.maxComments,
              s.reader.comments.allSatisfy({ $0.utf8.count <= readerLimits.maxCommentBytes + 4 }) else { fatalError("comments over budget") }
        switch event {
        case .data(let id, let data, _, let packet):
            guard !data.isEmpty, packet >= 1, packet <= s.packets, !closed.contains(key(id)) else { fatalError("data event \(id) \(data.count) bytes, packet \(packet) of \(s.packets), closed before: \(closed.contains(key(id)))") }
        case .gap(let id, let n, _, _):
            guard n > 0, !closed.contains(key(id)) else { fatalError("gap event \(id) \(n)") }
        case .closed(let id):
            guard closed.insert(key(id)).inserted else { fatalError("closed twice: \(id)") }
        }
        out.events.append(event)
    }
    if let e = s.error {
        guard e.offset >= 0, e.offset <= bytes.count, !e.message.isEmpty else { fatalError("error at \(e.offset) of \(bytes.count): \(e)") }
    }
    guard s.reassembler.bufferedBytes == 0 else { fatalError("bytes held after the end") }
    (out.packets, out.tcpPackets, out.other, out.error) = (s.packets, s.tcpPackets, s.otherTraffic, s.error)
    return out
}

/// A stream without its `client` (known only once the handshake was seen). A struct, not the
/// text of the three fields: formatting endpoints per event was a tenth of the harness's time.
struct StreamKey: Hashable {
    var connection: Int
    var source: Endpoint
    var destination: Endpoint
}

func key(_ id: TCPStreamID) -> StreamKey { StreamKey(connection: id.connection, source: id.source, destination: id.destination) }

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCapture(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let big = read(bytes, chunk: 1 << 16)
    let small = read(bytes, chunk: 1 + Int(bytes.last ?? 0) % 97)
    guard big == small else { fatalError("the capture reads differently in smaller pieces: \(big.events.count) vs \(small.events.count) events, \(String(describing: big.error)) vs \(String(describing: small.error))") }
    for link in linkTypes {
        switch PacketDecoder.decode(bytes[...], linkType: link) {
        case .tcp(let segment):
            guard segment.payload.count <= bytes.count else { fatalError("payload larger than the packet") }
            _ = segment.source.description
            _ = segment.destination.description
        case .other(let reason):
            guard !reason.isEmpty else { fatalError("empty reason") }
        }
    }
    return 0
}

@_cdecl("LLVMFuzzerInitialize")
public func initializeCapture(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    // `HJ212_FUZZ_SEEDS=DIR harness`: write seed captures to DIR and exit (.ci/fuzz does this):
    // pcapng (both byte orders, comments, several interfaces) and classic pcap (both byte orders,
    // micro- and nanoseconds) of HJ 212 conversations over every link framing, IPv4 and IPv6,
    // with retransmissions, reordering and a lost segment.
    guard let dir = ProcessInfo.processInfo.environment["HJ212_FUZZ_SEEDS"] else { return 0 }
    let frame = Array("##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&1C80\r\n".utf8)
    let ack = Array("##0085QN=20160801085857223;ST=91;CN=9014;PW=100000;MN=010000A8900016F000169DC0;Flag=4;CP=&&&&0E41\r\n".utf8)
    let framings: [LinkFraming] = [.ethernet(vlan: nil), .ethernet(vlan: 7), .linuxSLL, .linuxSLL2, .raw, .null(bigEndian: false), .null(bigEndian: true), .loop]
    var n = 0
    func write(_ bytes: [UInt8]) {
        n += 1
        _ = FileManager.default.createFile(atPath: "\(dir)/seed-\(n)", contents: Data(bytes))
    }
    for (k, framing) in framings.enumerated() {
        let v6 = k % 3 == 2
        let client = Endpoint(v6 ? "[2001:db8::2]:40000" : "10.0.0.2:40000")!
        let server = Endpoint(v6 ? "[2001:db8::1]:7001" : "10.0.0.1:7001")!
        var c = TCPConversation(client: client, server: server, clientISN: k == 1 ? 0xFFFF_FFF0 : 0x1000_0000, framing: framing)
        var packets = c.handshake()
        packets += c.send(fromClient: true, frame + frame, maxSegment: 60)
        packets += c.send(fromClient: false, ack)
        packets += c.close()
        if k % 2 == 1 { packets.swapAt(4, 5); packets.insert(packets[4], at: 6) }   // reordered and retransmitted
        if k == 3 { packets.remove(at: 5) }                                          // a segment never captured
        var w = PcapngWriter(comment: "seed \(k)", bigEndian: k % 2 == 1)
        let interface = w.addInterface(linkType: framing.linkType, name: "eth\(k)")
        for (i, p) in packets.enumerated() { w.addPacket(interface: interface, timestampNanos: 1_796_000_000_000_000_000 + Int64(i) * 1_000_000, data: p, comment: i == 0 ? "first" : nil) }
        write(w.take())
        write(pcap(packets, link: framing.linkType.rawValue, bigEndian: k % 2 == 0, nanoseconds: k % 3 == 0))
    }
    exit(0)
}

/// A classic pcap file.
func pcap(_ packets: [[UInt8]], link: UInt32, bigEndian: Bool, nanoseconds: Bool) -> [UInt8] {
    func u32(_ v: UInt32) -> [UInt8] {
        let b = [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 24)]
        return bigEndian ? b.reversed() : b
    }
    func u16(_ v: UInt16) -> [UInt8] { bigEndian ? [UInt8(v >> 8), UInt8(v & 0xFF)] : [UInt8(v & 0xFF), UInt8(v >> 8)] }
    var out = u32(nanoseconds ? 0xA1B2_3C4D : 0xA1B2_C3D4) + u16(2) + u16(4) + u32(0) + u32(0) + u32(262_144) + u32(link)
    for (i, p) in packets.enumerated() {
        out += u32(1_796_000_000 + UInt32(i)) + u32(UInt32(i) * 1000) + u32(UInt32(p.count)) + u32(UInt32(p.count)) + p
    }
    return out
}
