/// A capture read as TCP byte streams: the reader, the link/IP/TCP decoder and the reassembler
/// in one pull loop, with counts of everything that was not TCP.
///
/// ```swift
/// var streams = try CaptureStreams(source: ArrayByteSource(bytes))
/// while let event = try streams.next() {
///     if case .data(let stream, let bytes, _, _) = event { … }
/// }
/// if let error = streams.error { print(error) }   // truncated or corrupt: what came before is valid
/// ```
public struct CaptureStreams<Source: CaptureByteSource> {
    public private(set) var reader: CaptureReader<Source>
    public private(set) var reassembler: TCPReassembler
    /// Packets read.
    public private(set) var packets = 0
    /// Packets that carried TCP.
    public private(set) var tcpPackets = 0
    /// Packets that were not TCP, by reason (`UDP`, `ARP`, `IPv4 fragment (not reassembled)`…);
    /// at most 32 reasons, the rest counted under `other`.
    public private(set) var otherTraffic: [String: Int] = [:]
    /// Set when reading stopped at a truncated or corrupt record; the streams were then closed.
    public private(set) var error: CaptureError?
    /// Time stamp of the last packet read (nanoseconds since 1970, UTC).
    public private(set) var lastTimestamp: Int64 = 0

    private var queue: [TCPEvent] = []
    private var queueIndex = 0
    private var finished = false

    public init(source: Source, readerLimits: CaptureReaderLimits = CaptureReaderLimits(),
                reassemblyLimits: TCPReassemblyLimits = TCPReassemblyLimits()) throws {
        reader = try CaptureReader(source: source, limits: readerLimits)
        reassembler = TCPReassembler(limits: reassemblyLimits)
    }

    /// The next stream event; nil when the capture is done (cleanly or at `error`).
    /// Rethrows only the byte source's own errors.
    public mutating func next() throws -> TCPEvent? {
        while true {
            if queueIndex < queue.count {
                defer { queueIndex += 1 }
                return queue[queueIndex]
            }
            queue.removeAll(keepingCapacity: true)
            queueIndex = 0
            if finished { return nil }
            let packet: CapturedPacket?
            do {
                packet = try reader.next()
            } catch let e as CaptureError {
                error = e
                packet = nil
            }
            guard let packet else {
                finished = true
                queue = reassembler.finish()
                continue
            }
            packets += 1
            lastTimestamp = packet.timestampNanos
            switch PacketDecoder.decode(packet) {
            case .tcp(let segment):
                tcpPackets += 1
                queue = reassembler.process(segment, timestampNanos: packet.timestampNanos, packet: packet.number)
            case .other(let reason):
                let key = otherTraffic[reason] != nil || otherTraffic.count < 32 ? reason : "other"
                otherTraffic[key, default: 0] += 1
            }
        }
    }

    /// One line on what was not TCP, for a summary: `12 packets not TCP: UDP 10, ARP 2`.
    public var otherTrafficSummary: String? {
        let total = otherTraffic.values.reduce(0, +)
        guard total > 0 else { return nil }
        let parts = otherTraffic.sorted { $0.value == $1.value ? $0.key < $1.key : $0.value > $1.value }.map { "\($0.key) \($0.value)" }
        return "\(total) packet\(total == 1 ? "" : "s") not TCP: " + parts.joined(separator: ", ")
    }
}
