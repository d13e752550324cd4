/// Splitting of records longer than the 1024-byte segment limit into PNUM/PNO packets, and
/// their reassembly (HJ 212-2017 §6.3.2 Table 3, §6.5; Appendix C.49/C.50).
///
/// Each packet repeats the `DataTime` group (and any other plain leading group), carries a
/// disjoint run of the remaining CP groups, has its own QN, Flag with D=1, and `PNUM`/`PNO`
/// before `CP`. Reassembly concatenates the groups in PNO order and keeps `DataTime` once.
public enum PacketSplitter {
    /// The largest data segment a packet may carry.
    public static let maxSegmentBytes = 1024

    public enum SplitError: Error, Equatable, CustomStringConvertible {
        /// One CP group alone does not fit into a packet.
        case groupTooLarge(index: Int, bytes: Int)
        /// More than 9999 packets would be needed.
        case tooManyPackets

        public var description: String {
            switch self {
            case .groupTooLarge(let index, let bytes): return "CP group \(index) alone needs \(bytes) bytes; it cannot be split into packets of \(PacketSplitter.maxSegmentBytes)"
            case .tooManyPackets: return "more than 9999 packets would be needed"
            }
        }
    }

    /// Splits `segment` when its serialisation exceeds `limit` bytes; returns it unchanged otherwise.
    /// `nextQN` gives the QN of each packet after the first (the first keeps the segment's QN);
    /// Appendix C.50 numbers them by adding one millisecond.
    public static func split(_ segment: DataSegment, limit: Int = maxSegmentBytes, nextQN: (String, Int) -> String = PacketSplitter.incrementQN)
        throws -> [DataSegment]
    {
        guard segment.serialized().utf8.count > limit, let cp = segment.cp, !cp.isEmpty else { return [segment] }
        // The DataTime group is repeated in every packet (C.49/C.50); everything else is data.
        var common: [[Field]] = []
        var rest = cp[...]
        if let first = rest.first, first.count == 1, first[0].name == "DataTime", rest.count > 1 {
            common = [first]
            rest = rest.dropFirst()
        }

        var base = segment
        base.header.removeAll { $0.name == "PNUM" || $0.name == "PNO" }
        let flag = segment.flag ?? PacketFlag(rawValue: 5)
        base.setHeader("Flag", String(PacketFlag(version: flag.version, split: true, ack: flag.needsAck).rawValue))
        base.header.append(Field("PNUM", "9999"))
        base.header.append(Field("PNO", "9999"))

        func size(_ groups: [[Field]]) -> Int {
            var s = base
            s.cp = common + groups
            return s.serialized().utf8.count
        }
        var packets: [[[Field]]] = []
        var current: [[Field]] = []
        for (index, group) in rest.enumerated() {
            if size(current + [group]) <= limit {
                current.append(group)
                continue
            }
            if current.isEmpty { throw SplitError.groupTooLarge(index: index, bytes: size([group])) }
            packets.append(current)
            current = [group]
            if size(current) > limit { throw SplitError.groupTooLarge(index: index, bytes: size(current)) }
        }
        if !current.isEmpty { packets.append(current) }
        guard packets.count <= 9999 else { throw SplitError.tooManyPackets }

        var qn = segment.qn ?? ""
        return packets.enumerated().map { i, groups in
            var s = base
            if i > 0 { qn = nextQN(qn, i) }
            if !qn.isEmpty { s.setHeader("QN", qn) }
            s.setHeader("PNUM", String(packets.count))
            s.setHeader("PNO", String(i + 1))
            s.cp = common + groups
            return s
        }
    }

    /// The QN one millisecond later (as in Appendix C.50: …534, …535).
    public static func incrementQN(_ qn: String, _ index: Int) -> String {
        guard let t = HJTime(qn, allowMilliseconds: true) else { return qn }
        return HJTime(wallMilliseconds: t.wallMilliseconds + 1).text17
    }
}

/// Collects the packets of split records and gives back each record when all its packets are in.
///
/// Packets are grouped by MN, CN and the value of the first CP group (DataTime for data),
/// since each packet has its own QN. Bounded: at most `maxPending` records are held; the oldest
/// is dropped (and reported) beyond that.
public struct Reassembler: Sendable {
    public struct Key: Hashable, Sendable {
        public var mn: String
        public var cn: String
        public var first: String
        public var pnum: Int
    }

    /// What happened to a packet given to `add`.
    public enum Outcome: Equatable, Sendable {
        /// Not split: the segment itself.
        case whole(DataSegment)
        /// Held until the others arrive.
        case pending(received: Int, of: Int)
        /// All packets in: the reassembled record.
        case complete(DataSegment)
        /// PNUM/PNO unusable or a packet repeated.
        case rejected(String)
    }

    public let maxPending: Int
    private var pending: [Key: [Int: DataSegment]] = [:]
    private var order: [Key] = []
    /// Records dropped because too many were pending.
    public private(set) var dropped = 0

    public init(maxPending: Int = 1024) { self.maxPending = max(1, maxPending) }

    public var pendingCount: Int { pending.count }

    public mutating func add(_ segment: DataSegment) -> Outcome {
        let isSplit = segment.flag?.isSplit ?? false
        guard isSplit || segment.header("PNUM") != nil else { return .whole(segment) }
        guard let pnum = segment.pnum, let pno = segment.pno, pnum >= 1, pnum <= 9999, pno >= 1, pno <= pnum else {
            return .rejected("PNUM '\(segment.header("PNUM") ?? "")' / PNO '\(segment.header("PNO") ?? "")' unusable")
        }
        if pnum == 1 { return .complete(Self.join([segment])) }
        let first = segment.cp?.first.map { $0.map(\.description).joined(separator: ",") } ?? ""
        let key = Key(mn: segment.mn ?? "", cn: segment.cn ?? "", first: first, pnum: pnum)
        var parts = pending[key] ?? [:]
        if parts[pno] != nil { return .rejected("PNO \(pno) of \(pnum) received twice") }
        parts[pno] = segment
        if parts.count == pnum {
            pending[key] = nil
            order.removeAll { $0 == key }
            return .complete(Self.join((1...pnum).map { parts[$0]! }))
        }
        if pending[key] == nil {
            order.append(key)
            if order.count > maxPending {
                let oldest = order.removeFirst()
                pending[oldest] = nil
                dropped += 1
            }
        }
        pending[key] = parts
        return .pending(received: parts.count, of: pnum)
    }

    /// Joins packets in PNO order: header of the first (without PNUM/PNO, D cleared), the common
    /// leading groups once, then every packet's other groups.
    static func join(_ parts: [DataSegment]) -> DataSegment {
        var result = parts[0]
        result.header.removeAll { $0.name == "PNUM" || $0.name == "PNO" }
        if let flag = result.flag {
            result.setHeader("Flag", String(PacketFlag(version: flag.version, split: false, ack: flag.needsAck).rawValue))
        }
        // Each packet repeats the DataTime group; keep it once.
        var groups: [[Field]] = []
        let first = parts[0].cp?.first
        let dataTime = first.flatMap { $0.count == 1 && $0[0].name == "DataTime" ? $0 : nil }
        for (i, part) in parts.enumerated() {
            var cp = part.cp?[...] ?? [][...]
            if i > 0, let dataTime, cp.first == dataTime { cp = cp.dropFirst() }
            groups += cp
        }
        result.cp = groups
        return result
    }
}
