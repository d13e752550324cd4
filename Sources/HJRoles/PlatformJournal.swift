import HJ212

/// What a `PlatformSession` accepted since the driver last asked, for a driver that stores it
/// (`serve --store`): every accepted packet as received, every record it produced (whole or
/// reassembled), every command that finished. Collected only with `Options.journal`; the driver
/// takes it with `takeJournal()` after each event, before it sends that event's actions, so
/// an acknowledgement can wait until what it acknowledges is stored.
public struct PlatformJournal: Sendable {
    /// One accepted packet: its frame bytes, its parsed segment, when and from where.
    public struct Packet: Sendable {
        public var frame: [UInt8]
        public var segment: DataSegment
        public var time: SessionTime
        public var peer: String

        public init(frame: [UInt8], segment: DataSegment, time: SessionTime, peer: String) {
            self.frame = frame
            self.segment = segment
            self.time = time
            self.peer = peer
        }
    }

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

    public var isEmpty: Bool { packets.isEmpty && records.isEmpty && results.isEmpty }
}

extension PlatformSession {
    /// Hands over what was accepted since the last call (empty unless `Options.journal`).
    public mutating func takeJournal() -> PlatformJournal {
        guard !journaled.isEmpty else { return PlatformJournal() }
        defer { journaled = PlatformJournal() }
        return journaled
    }
}
