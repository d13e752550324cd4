/// One direction of one TCP connection.
public struct TCPStreamID: Sendable, Hashable, CustomStringConvertible {
    /// Serial number of the connection in the capture (1-based, in order of first packet).
    public var connection: Int
    public var source: Endpoint
    public var destination: Endpoint
    /// The side that sent the SYN, when the handshake was captured.
    public var client: Endpoint?

    public var description: String { "\(source)→\(destination)" }
}

/// What the reassembler hands out, in capture order.
public enum TCPEvent: Sendable, Equatable {
    /// Bytes of a direction, in order, once each. `time` is that of the packet that completed them.
    case data(TCPStreamID, [UInt8], timestampNanos: Int64, packet: Int)
    /// Bytes that never appeared in the capture: the stream skips `bytes` bytes here. Whatever
    /// was being assembled across the hole is not to be trusted.
    case gap(TCPStreamID, bytes: Int, timestampNanos: Int64, packet: Int)
    /// The direction ends (FIN, RST, eviction or end of capture).
    case closed(TCPStreamID)
}

/// Budgets of the reassembler: everything a capture could fill is bounded.
public struct TCPReassemblyLimits: Sendable {
    /// Out-of-order bytes held per direction while waiting for a hole to fill. Past it, the hole
    /// is declared a gap and assembly goes on after it.
    public var maxBufferedBytesPerDirection = 1 << 20
    /// Out-of-order segments held per direction.
    public var maxBufferedSegmentsPerDirection = 4096
    /// Out-of-order bytes held over all connections.
    public var maxBufferedBytesTotal = 64 << 20
    /// Connections tracked at once; past it, the least recently seen eighth is closed (their
    /// holes reported as gaps) to make room.
    public var maxConnections = 16_384

    public init() {}
}

/// Counters over a reassembly, for summaries.
public struct TCPReassemblyStatistics: Sendable, Equatable {
    public var segments = 0
    public var connections = 0
    public var connectionsWithoutHandshake = 0
    public var retransmittedBytes = 0
    public var outOfOrderSegments = 0
    public var gaps = 0
    public var gapBytes = 0
    public var evictedConnections = 0
}

/// Reassembles the byte streams of TCP connections from segments in capture order, per
/// connection and direction: out-of-order segments are held (within budget) until the hole
/// before them fills; retransmitted and overlapping bytes are delivered once (the first copy
/// seen wins); a connection captured without its handshake starts at its first segment; a hole
/// that never fills is reported as a gap with its byte count, never papered over.
///
/// Sequence numbers are compared modulo 2^32 (RFC 1982 serial arithmetic), so streams that wrap
/// are followed.
public struct TCPReassembler {
    public let limits: TCPReassemblyLimits
    public private(set) var statistics = TCPReassemblyStatistics()

    private struct Pending {
        var sequence: UInt32
        var bytes: [UInt8]
        var time: Int64
        var packet: Int
    }

    private struct Direction {
        var next: UInt32?
        /// The sequence number of this direction's SYN, when it was captured.
        var synSequence: UInt32?
        var pending: [Pending] = []
        var pendingBytes = 0
        var finSequence: UInt32?
        var closed = false
    }

    private struct Key: Hashable {
        var a: Endpoint
        var b: Endpoint
    }

    private struct Connection {
        var id: Int
        var a: Endpoint
        var b: Endpoint
        var client: Endpoint?
        var directions = [Direction(), Direction()]
        var lastSeen = 0

        func stream(_ index: Int) -> TCPStreamID {
            index == 0 ? TCPStreamID(connection: id, source: a, destination: b, client: client)
                : TCPStreamID(connection: id, source: b, destination: a, client: client)
        }
    }

    private var connections: [Key: Connection] = [:]
    private var totalPending = 0
    private var clock = 0

    public init(limits: TCPReassemblyLimits = TCPReassemblyLimits()) {
        self.limits = limits
    }

    /// Connections currently tracked.
    public var trackedConnections: Int { connections.count }
    /// Out-of-order bytes currently held.
    public var bufferedBytes: Int { totalPending }

    /// Takes one segment; returns what became deliverable.
    public mutating func process(_ segment: TCPSegment, timestampNanos time: Int64, packet: Int) -> [TCPEvent] {
        statistics.segments += 1
        clock += 1
        var events: [TCPEvent] = []
        let key = segment.source < segment.destination ? Key(a: segment.source, b: segment.destination) : Key(a: segment.destination, b: segment.source)
        let index = segment.source == key.a ? 0 : 1
        // The connection is taken out of the table while this segment changes it and put back at the
        // end: one lookup instead of five, and its directions and held bytes are not copied on write
        // (a copy read out of the table shares its buffers with the one still in it).
        var taken = connections.removeValue(forKey: key)
        if var existing = taken, segment.syn, let initial = existing.directions[index].synSequence,
           initial != segment.sequence {
            // A SYN with another initial sequence number: the 4-tuple is reused by a new connection.
            close(&existing, into: &events)
            taken = nil
        }
        var c: Connection
        if let t = taken {
            c = t
        } else {
            // A bare ACK or RST of a connection not tracked (its end, or one evicted) starts nothing.
            if !segment.syn && segment.payload.isEmpty { return events }
            if connections.count >= limits.maxConnections { evict(into: &events) }
            statistics.connections += 1
            c = Connection(id: statistics.connections, a: key.a, b: key.b)
            if segment.syn { c.client = segment.ack ? segment.destination : segment.source }
            else { statistics.connectionsWithoutHandshake += 1 }
        }
        c.lastSeen = clock
        if segment.syn && c.client == nil && !segment.ack { c.client = segment.source }
        var seq = segment.sequence
        if segment.syn {
            if c.directions[index].next == nil { c.directions[index].next = seq &+ 1 }
            if c.directions[index].synSequence == nil { c.directions[index].synSequence = seq }
            seq = seq &+ 1
        }
        if c.directions[index].next == nil { c.directions[index].next = seq }
        if !segment.payload.isEmpty {
            insert(&c, index, sequence: seq, bytes: Array(segment.payload), time: time, packet: packet, into: &events)
        }
        if segment.fin {
            c.directions[index].finSequence = seq &+ UInt32(truncatingIfNeeded: segment.payload.count)
        }
        if let fin = c.directions[index].finSequence, c.directions[index].next == fin, !c.directions[index].closed {
            flush(&c, index, time: time, packet: packet, into: &events)
            c.directions[index].closed = true
            events.append(.closed(c.stream(index)))
        }
        if segment.rst || (c.directions[0].closed && c.directions[1].closed) {
            close(&c, into: &events)
            return events
        }
        connections[key] = c
        return events
    }

    /// Ends the capture: every hole still open is reported as a gap, every direction closed.
    public mutating func finish() -> [TCPEvent] {
        var events: [TCPEvent] = []
        for key in connections.keys.sorted(by: { connections[$0]!.id < connections[$1]!.id }) {
            var c = connections[key]!
            close(&c, into: &events)
        }
        connections = [:]
        return events
    }

    // MARK: - Internals

    private mutating func insert(_ c: inout Connection, _ i: Int, sequence: UInt32, bytes: [UInt8], time: Int64, packet: Int, into events: inout [TCPEvent]) {
        // Nothing is delivered after a direction's FIN (or held for it: held bytes of a closed
        // direction would never be released, and would count against the total budget forever).
        guard let next = c.directions[i].next, !c.directions[i].closed else { return }
        let distance = Int(Int32(bitPattern: sequence &- next))
        if distance <= 0 {
            if -distance >= bytes.count {
                statistics.retransmittedBytes += bytes.count
                return
            }
            statistics.retransmittedBytes += -distance
            let fresh = distance == 0 ? bytes : Array(bytes[(-distance)...])
            c.directions[i].next = next &+ UInt32(fresh.count)
            events.append(.data(c.stream(i), fresh, timestampNanos: time, packet: packet))
            drain(&c, i, time: time, packet: packet, into: &events)
            return
        }
        statistics.outOfOrderSegments += 1
        c.directions[i].pending.append(Pending(sequence: sequence, bytes: bytes, time: time, packet: packet))
        c.directions[i].pendingBytes += bytes.count
        totalPending += bytes.count
        while !c.directions[i].pending.isEmpty
            && (c.directions[i].pendingBytes > limits.maxBufferedBytesPerDirection
                || c.directions[i].pending.count > limits.maxBufferedSegmentsPerDirection
                || totalPending > limits.maxBufferedBytesTotal) {
            skipToFirstPending(&c, i, into: &events)
        }
    }

    /// Delivers held segments that now follow on.
    private mutating func drain(_ c: inout Connection, _ i: Int, time: Int64?, packet: Int?, into events: inout [TCPEvent]) {
        while let next = c.directions[i].next, let (index, distance) = nearestPending(c.directions[i], next), distance <= 0 {
            let p = c.directions[i].pending.remove(at: index)
            c.directions[i].pendingBytes -= p.bytes.count
            totalPending -= p.bytes.count
            if -distance >= p.bytes.count {
                statistics.retransmittedBytes += p.bytes.count
                continue
            }
            statistics.retransmittedBytes += -distance
            let fresh = Array(p.bytes[(-distance)...])
            c.directions[i].next = next &+ UInt32(fresh.count)
            events.append(.data(c.stream(i), fresh, timestampNanos: time ?? p.time, packet: packet ?? p.packet))
        }
    }

    private func nearestPending(_ d: Direction, _ next: UInt32) -> (Int, Int)? {
        var best: (Int, Int)?
        for (index, p) in d.pending.enumerated() {
            let distance = Int(Int32(bitPattern: p.sequence &- next))
            if best == nil || distance < best!.1 { best = (index, distance) }
        }
        return best
    }

    /// Declares the hole before the first held segment a gap and assembles on after it.
    private mutating func skipToFirstPending(_ c: inout Connection, _ i: Int, into events: inout [TCPEvent]) {
        guard let next = c.directions[i].next, let (index, distance) = nearestPending(c.directions[i], next) else { return }
        let p = c.directions[i].pending[index]
        if distance > 0 {
            statistics.gaps += 1
            statistics.gapBytes += distance
            events.append(.gap(c.stream(i), bytes: distance, timestampNanos: p.time, packet: p.packet))
            c.directions[i].next = p.sequence
        }
        drain(&c, i, time: nil, packet: nil, into: &events)
    }

    private mutating func flush(_ c: inout Connection, _ i: Int, time: Int64, packet: Int, into events: inout [TCPEvent]) {
        while !c.directions[i].pending.isEmpty { skipToFirstPending(&c, i, into: &events) }
    }

    private mutating func close(_ c: inout Connection, into events: inout [TCPEvent]) {
        for i in 0..<2 where !c.directions[i].closed {
            while !c.directions[i].pending.isEmpty { skipToFirstPending(&c, i, into: &events) }
            c.directions[i].closed = true
            // A direction that carried nothing is closed silently only if it never started.
            if c.directions[i].next != nil { events.append(.closed(c.stream(i))) }
        }
        for i in 0..<2 {
            totalPending -= c.directions[i].pendingBytes
            c.directions[i].pending = []
            c.directions[i].pendingBytes = 0
        }
    }

    private mutating func evict(into events: inout [TCPEvent]) {
        let victims = connections.sorted { $0.value.lastSeen < $1.value.lastSeen }.prefix(max(1, connections.count / 8))
        for (key, var c) in victims {
            close(&c, into: &events)
            connections[key] = nil
            statistics.evictedConnections += 1
        }
    }
}
