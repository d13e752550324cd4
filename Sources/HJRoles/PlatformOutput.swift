import HJ212

/// What a `PlatformSession` produced for one input, in order: bytes to send (tagged with what
/// they are), a close, and events for the driver to commit (store, console, trace) in one place.
///
/// ```swift
/// var out: [PlatformOutput] = []          // reused across inputs: no array per frame
/// session.received(bytes, at: now, into: &out)
/// for o in out { switch o { case .packetAccepted(let p): store(p) … } }
/// out.removeAll(keepingCapacity: true)
/// ```
///
/// Order matters to a storing driver: a packet's `packetAccepted` and `recordAccepted` come
/// before the `send` of its acknowledgement, so a driver that commits the events of a batch
/// before writing its sends acknowledges only what is stored ("acknowledged means stored").
public enum PlatformOutput: SessionOutput {
    /// Write these bytes.
    case send([UInt8], OutgoingFrame)
    /// Close the connection (idle, wrong passwords).
    case close(reason: String)
    /// A packet passed the CRC, length and access checks (acknowledged or not, by its Flag).
    case packetAccepted(AcceptedPacket)
    /// A record was accepted: a whole upload, or a split record reassembled by the packet just accepted.
    case recordAccepted(AcceptedRecord)
    /// A command ended (completed, acknowledged, rejected, timed out, expired, disconnected).
    indirect case commandFinished(CommandResult)

    // The platform's model (`PlatformState`): what the driver commits with `state.commit(outputs)`,
    // together with the packets, records and command results above. A session never writes them.

    /// This input's counters (frames, diagnostics by rule, acknowledgements, rejections …),
    /// already added to the session's own `counters`; one per input that counted something.
    indirect case counted(PlatformCounters)
    /// A linter finding on this connection's bytes (a frame's, skipped noise, a truncated tail).
    indirect case diagnostic(RecordedDiagnostic)
    /// A line of the platform's log (connections, rejections, commands, registry, security).
    indirect case logged(PlatformLogEntry)
    /// A one-line notice for the operator (printed at once by `serve`).
    indirect case notice(String)

    public var action: SessionAction? {
        switch self {
        case .send(let bytes, _): .send(bytes)
        case .close(let reason): .close(reason: reason)
        default: nil
        }
    }
}

/// One accepted packet: its frame bytes as received, its parsed segment, when and from where.
public struct AcceptedPacket: Sendable, Hashable {
    public var frame: [UInt8]
    public var segment: DataSegment
    public var time: SessionTime
    public var peer: String
    /// The dialect the linter detected in it (`.unknown` when it could not tell).
    public var dialect: Dialect

    public init(frame: [UInt8], segment: DataSegment, time: SessionTime, peer: String, dialect: Dialect = .unknown) {
        self.frame = frame
        self.segment = segment
        self.time = time
        self.peer = peer
        self.dialect = dialect
    }
}

/// One accepted record (whole, or reassembled from split packets), completed by the packet
/// accepted just before it.
public struct AcceptedRecord: Sendable, Hashable {
    public var segment: DataSegment
    public var time: SessionTime
    /// Reassembled from split packets.
    public var reassembled: Bool

    public init(segment: DataSegment, time: SessionTime, reassembled: Bool = false) {
        self.segment = segment
        self.time = time
        self.reassembled = reassembled
    }
}

/// What a storing driver writes in one transaction: the accepted packets, records and command
/// results of a batch of `PlatformOutput`s, gathered with `add(_:)` in output order.
public struct PlatformJournal: Sendable {
    public typealias Packet = AcceptedPacket

    /// One record: `packet` is the index in `packets` of the packet that completed it.
    public struct Record: Sendable {
        public var packet: Int
        public var segment: DataSegment
        public var time: SessionTime

        public init(packet: Int, segment: DataSegment, time: SessionTime) {
            self.packet = packet
            self.segment = segment
            self.time = time
        }
    }

    public var packets: [Packet] = []
    public var records: [Record] = []
    public var results: [CommandResult] = []

    public init() {}

    /// The journal of these outputs.
    public init(_ outputs: [PlatformOutput]) {
        for o in outputs { add(o) }
    }

    public var isEmpty: Bool { packets.isEmpty && records.isEmpty && results.isEmpty }

    /// Adds an output's event (sends and closes are not journaled); true when it was one to store.
    @discardableResult
    public mutating func add(_ output: PlatformOutput) -> Bool {
        switch output {
        case .packetAccepted(let p): packets.append(p)
        case .recordAccepted(let r): records.append(Record(packet: packets.count - 1, segment: r.segment, time: r.time))
        case .commandFinished(let c): results.append(c)
        case .send, .close, .counted, .diagnostic, .logged, .notice: return false
        }
        return true
    }
}
