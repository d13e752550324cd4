import HJ212

/// Budgets for split packets held by one connection until their record is complete. A packet
/// is a parsed segment of at most 1024 bytes that costs a few KiB in memory; without these a
/// peer sending PNUM=9999 could make one connection hold gigabytes. See docs/budgets.md.
///
/// ```swift
/// var options = PlatformSession.Options()
/// options.splitBudget.maxBytesPerConnection = 64 * 1024
/// ```
public struct SplitBudget: Sendable, Hashable {
    /// The largest PNUM accepted: packets of one record. Over it the packet is not acknowledged.
    public var maxPartsPerRecord = 128
    /// Data-segment bytes of one record; over it the record is dropped and the packet not acknowledged.
    public var maxBytesPerRecord = 128 * 1024
    /// Packets held for all incomplete records of a connection; over it the oldest records are dropped.
    public var maxPartsPerConnection = 512
    /// Data-segment bytes held for all incomplete records of a connection (the same).
    public var maxBytesPerConnection = 256 * 1024

    public init() {}
}

/// Reassembles split records (through `Reassembler`, one per record) within a `SplitBudget` and
/// a number of records in progress. Not `Sendable`-sensitive: a value owned by one session.
struct SplitAssembly: Sendable {
    struct Key: Hashable, Sendable {
        var mn: String
        var cn: String
        var first: String
        var pnum: Int
    }

    struct Record: Sendable {
        var parts: Reassembler
        var count = 0
        var bytes = 0
    }

    let budget: SplitBudget
    let maxRecords: Int
    private var records: [Key: Record] = [:]
    /// Records in progress, the one idle longest first (a part moves its record to the end): over a
    /// budget the idlest go, never the record a part just came for (its parts were acknowledged).
    private var order: [Key] = []
    private(set) var heldParts = 0
    private(set) var heldBytes = 0
    /// Incomplete records dropped (too many records, or over a budget).
    private(set) var dropped = 0
    /// The last `add` dropped the record of the part it was given.
    private(set) var droppedCurrent = false

    init(budget: SplitBudget, maxRecords: Int) {
        self.budget = budget
        self.maxRecords = max(1, maxRecords)
    }

    var pendingCount: Int { records.count }

    static func key(_ segment: DataSegment, pnum: Int) -> Key {
        let first = segment.cp?.first.map { $0.map(\.description).joined(separator: ",") } ?? ""
        return Key(mn: segment.mn ?? "", cn: segment.cn ?? "", first: first, pnum: pnum)
    }

    /// Why this packet would break a per-record budget (then it is not acknowledged), or nil.
    func refusal(_ segment: DataSegment, bytes: Int) -> String? {
        guard (segment.flag?.isSplit ?? false) || segment.header("PNUM") != nil, let pnum = segment.pnum, pnum > 1 else { return nil }
        if pnum > budget.maxPartsPerRecord {
            return "PNUM \(pnum) is over the budget of \(budget.maxPartsPerRecord) packets per record; not acknowledged"
        }
        let held = records[Self.key(segment, pnum: pnum)]?.bytes ?? 0
        if held + bytes > budget.maxBytesPerRecord {
            return "the record would exceed the budget of \(budget.maxBytesPerRecord) bytes; record dropped, not acknowledged"
        }
        return nil
    }

    /// `split`: whether the packet is split (Flag D or PNUM), when the caller knows it already.
    mutating func add(_ segment: DataSegment, bytes: Int, split: Bool? = nil) -> Reassembler.Outcome {
        droppedCurrent = false
        guard split ?? ((segment.flag?.isSplit ?? false) || segment.header("PNUM") != nil) else { return .whole(segment) }
        guard let pnum = segment.pnum, pnum > 1, pnum <= budget.maxPartsPerRecord else {
            // PNUM=1, unusable numbers: the reassembler's own answer (nothing is held).
            var single = Reassembler(maxPending: 1)
            let outcome = single.add(segment)
            if case .pending = outcome { return .rejected("PNUM '\(segment.header("PNUM") ?? "")' over the budget") }
            return outcome
        }
        let key = Self.key(segment, pnum: pnum)
        var record = records.removeValue(forKey: key) ?? Record(parts: Reassembler(maxPending: 1))
        let isNew = record.count == 0
        if record.bytes + bytes > budget.maxBytesPerRecord {
            release(record, key: key, isNew: isNew)
            dropped += 1
            droppedCurrent = true
            return .rejected("record over the budget of \(budget.maxBytesPerRecord) bytes; dropped")
        }
        let outcome = record.parts.add(segment)
        switch outcome {
        case .pending:
            record.count += 1
            record.bytes += bytes
            heldParts += 1
            heldBytes += bytes
            records[key] = record
            if !isNew { order.removeAll { $0 == key } }
            order.append(key)
            // Within the connection's budgets: the records idle longest go first.
            while records.count > maxRecords || heldParts > budget.maxPartsPerConnection || heldBytes > budget.maxBytesPerConnection,
                  let oldest = order.first {
                order.removeFirst()
                if let r = records.removeValue(forKey: oldest) { heldParts -= r.count; heldBytes -= r.bytes }
                dropped += 1
                if oldest == key {
                    droppedCurrent = true
                    return .rejected("record over the connection's split budget (\(budget.maxPartsPerConnection) packets, \(budget.maxBytesPerConnection) bytes); dropped")
                }
            }
            return outcome
        case .complete, .whole:
            release(record, key: key, isNew: isNew)
            return outcome
        case .rejected:
            if isNew { return outcome }
            records[key] = record  // a repeated PNO: the record goes on
            return outcome
        }
    }

    private mutating func release(_ record: Record, key: Key, isNew: Bool) {
        heldParts -= record.count
        heldBytes -= record.bytes
        if !isNew { order.removeAll { $0 == key } }
    }
}
