import HJCapture

/// Helpers that build captures for the tests with the project's own writer and synthesiser.
enum Build {
    static let client = Endpoint("10.0.0.2:40000")!
    static let server = Endpoint("10.0.0.1:9212")!
    static let client6 = Endpoint("[2001:db8::2]:40000")!
    static let server6 = Endpoint("[2001:db8::1]:9212")!
    static let t0: Int64 = 1_764_561_600_000_000_000   // 2025-12-01T04:00:00Z

    /// A pcapng file with one interface holding `packets`, one millisecond apart.
    static func pcapng(_ packets: [[UInt8]], link: LinkType = .ethernet, bigEndian: Bool = false) -> [UInt8] {
        var w = PcapngWriter(bigEndian: bigEndian)
        let i = w.addInterface(linkType: link)
        for (n, p) in packets.enumerated() { w.addPacket(interface: i, timestampNanos: t0 + Int64(n) * 1_000_000, data: p) }
        return w.take()
    }

    /// Every stream event of a capture.
    static func events(_ file: [UInt8], chunk: Int = 1 << 16) throws -> (events: [TCPEvent], streams: CaptureStreams<ArrayByteSource>) {
        var s = try CaptureStreams(source: ArrayByteSource(file, chunk: chunk))
        var out: [TCPEvent] = []
        while let e = try s.next() { out.append(e) }
        return (out, s)
    }

    /// The bytes delivered per direction (by source endpoint), with gaps marked as `<gap N>`.
    static func streams(_ events: [TCPEvent]) -> [Endpoint: [UInt8]] {
        var out: [Endpoint: [UInt8]] = [:]
        for e in events {
            switch e {
            case .data(let id, let bytes, _, _): out[id.source, default: []] += bytes
            case .gap(let id, let n, _, _): out[id.source, default: []] += Array("<gap \(n)>".utf8)
            case .closed: break
            }
        }
        return out
    }

    /// A deterministic generator (tests must be reproducible).
    struct Random: RandomNumberGenerator {
        var state: UInt64
        init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func text(_ n: Int, seed: UInt64) -> [UInt8] {
        var r = Random(seed: seed)
        return (0..<n).map { _ in UInt8.random(in: 0x41...0x5A, using: &r) }
    }
}
