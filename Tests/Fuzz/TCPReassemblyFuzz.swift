// libFuzzer harness: TCP reassembly against a model. Built by .ci/fuzz (docs/fuzzing.md).
//
// The input is both the content and the schedule of one connection: the first 8 bytes are the
// two initial sequence numbers (so streams that wrap around 2^32 are reached), the rest is the
// client's byte stream (and, reversed, the server's). Both are cut into segments, some resent
// with wider bounds (overlapping retransmissions), and the segments are shuffled by the input;
// then handshake, segments and FINs go through `PacketDecoder` (real packets with checksums, as
// `TCPConversation` builds them) into `TCPReassembler`.
// With the default budgets nothing may be lost: each direction delivers exactly its stream, with
// no gap, and closes once. With tiny budgets (held bytes and segments) holes are declared as gaps
// to stay within them; then every delivered byte must still be the stream's byte at its position
// (a gap skips exactly the bytes it counts), the stream must end at its length, and the
// reassembler must never hold more than its budget.
import HJCapture

let client = Endpoint("10.0.0.2:40000")!
let server = Endpoint("10.0.0.1:7001")!

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTCPReassembly(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard bytes.count >= 9 else { return 0 }
    func u32(_ i: Int) -> UInt32 { UInt32(bytes[i]) << 24 | UInt32(bytes[i + 1]) << 16 | UInt32(bytes[i + 2]) << 8 | UInt32(bytes[i + 3]) }
    let isn = [u32(0), u32(4)]
    let script = Array(bytes[8...])
    let streams = [script, Array(script.reversed())]
    var rng = UInt64(truncatingIfNeeded: size) &* 0x9E37_79B9_7F4A_7C15
    func next(_ n: Int) -> Int {
        rng = rng &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Int((rng >> 33) % UInt64(n))
    }
    // Segments: (direction, offset, length), covering each stream; some resent wider.
    var segments: [(Int, Int, Int)] = []
    for d in 0..<2 {
        var offset = 0, k = 0
        while offset < streams[d].count {
            let length = min(streams[d].count - offset, 1 + Int(script[(k * 7 + d) % script.count]) % 48)
            segments.append((d, offset, length))
            if script[(k * 3 + d) % script.count] % 5 == 0 {
                let from = max(0, offset - 3)
                segments.append((d, from, min(streams[d].count, offset + length + 3) - from))
            }
            offset += length
            k += 1
        }
    }
    // Shuffle, moving each segment a bounded distance chosen by the input.
    for i in segments.indices {
        let reach = Int(script[i % script.count] >> 4)
        let j = max(0, i - next(reach + 1))
        segments.swapAt(i, j)
    }
    var c = TCPConversation(client: client, server: server, clientISN: isn[0], serverISN: isn[1], framing: .raw)
    var packets = [c.packet(fromClient: true, sequence: isn[0], ack: 0, flags: 0x02, payload: []),
                   c.packet(fromClient: false, sequence: isn[1], ack: isn[0] &+ 1, flags: 0x12, payload: [])]
    for (d, offset, length) in segments {
        packets.append(c.packet(fromClient: d == 0, sequence: isn[d] &+ 1 &+ UInt32(offset), ack: isn[1 - d] &+ 1, flags: 0x18,
                                payload: Array(streams[d][offset..<(offset + length)])))
    }
    for d in 0..<2 {
        packets.append(c.packet(fromClient: d == 0, sequence: isn[d] &+ 1 &+ UInt32(streams[d].count), ack: isn[1 - d] &+ 1, flags: 0x11, payload: []))
    }
    // Decoded once, fed to both reassemblers (decoding per reassembler was a fifth of the time).
    let decoded: [TCPSegment] = packets.map { p in
        guard case .tcp(let segment) = PacketDecoder.decode(p[...], linkType: .raw) else { fatalError("synthesised packet not TCP") }
        return segment
    }
    var tiny = TCPReassemblyLimits()
    tiny.maxBufferedBytesPerDirection = 16 + Int(bytes[0] % 128)
    tiny.maxBufferedSegmentsPerDirection = 1 + Int(bytes[1] % 6)
    tiny.maxBufferedBytesTotal = 32 + Int(bytes[2] % 200)
    for limits in [TCPReassemblyLimits(), tiny] {
        var r = TCPReassembler(limits: limits)
        var position = [0, 0]
        var gaps = 0
        var closed = [0, 0]
        func apply(_ events: [TCPEvent]) {
            for e in events {
                switch e {
                case .data(let id, let data, _, _):
                    let d = id.source == client ? 0 : 1
                    guard closed[d] == 0, !data.isEmpty, position[d] + data.count <= streams[d].count,
                          data == Array(streams[d][position[d]..<(position[d] + data.count)]) else {
                        fatalError("direction \(d): \(data.count) bytes at \(position[d]) are not the stream's")
                    }
                    position[d] += data.count
                case .gap(let id, let n, _, _):
                    let d = id.source == client ? 0 : 1
                    guard closed[d] == 0, n > 0, position[d] + n <= streams[d].count else { fatalError("gap of \(n) at \(position[d])") }
                    position[d] += n
                    gaps += 1
                case .closed(let id):
                    closed[id.source == client ? 0 : 1] += 1
                }
            }
            guard r.bufferedBytes <= limits.maxBufferedBytesTotal else { fatalError("holds \(r.bufferedBytes) bytes") }
        }
        for (i, segment) in decoded.enumerated() {
            apply(r.process(segment, timestampNanos: Int64(i), packet: i + 1))
        }
        apply(r.finish())
        guard position == [streams[0].count, streams[1].count], closed == [1, 1] else {
            fatalError("streams ended at \(position) of \(streams.map(\.count)), closed \(closed)")
        }
        if limits.maxBufferedSegmentsPerDirection == TCPReassemblyLimits().maxBufferedSegmentsPerDirection {
            guard gaps == 0, r.statistics.gaps == 0 else { fatalError("\(gaps) gaps with every segment captured") }
        }
    }
    return 0
}
