import HJ212
import HJRoles

/// Rows for one transaction, made from what sessions accepted (on the loop thread, outside the
/// store's lock). `Store.write` inserts them all or nothing.
///
/// ```swift
/// var batch = StoreBatch()
/// batch.add(PlatformJournal(outputs))   // the events of a PlatformSession's outputs
/// try store.write(batch)
/// ```
///
/// The rows are kept in flat form (`Rows`): every text of a packet's row (MN, QN, CN, ST, PW,
/// the peer), its frame and its record's packed texts are copied into one byte buffer, and a
/// row is a few offsets and integers. `serve --store` builds them on the event loop that
/// accepted the packets and hands the batch to the writer thread, which binds the bytes where
/// they are (`SQLITE_STATIC`); after the commit the batch is emptied and reused (`removeAll`
/// keeps its memory). Nothing per packet is allocated on one thread and freed on the other:
/// with journals of `DataSegment`s and strings (session 13 and before), the writer freed what
/// the loop had allocated, and the loop's own allocations then took malloc's slow paths (perf,
/// session 14: a fifth of the loop thread in `_int_malloc` and `unlink_chunk` under load).
public struct StoreBatch: Sendable {
    var rows: Rows
    var commands: [CommandResult] = []

    public init() { rows = Rows() }

    public var isEmpty: Bool { rows.list.isEmpty && commands.isEmpty }
    public var packetCount: Int { rows.list.count }
    /// Bytes of memory the batch keeps for reuse (its row buffers).
    public var retainedBytes: Int { rows.retainedBytes }

    /// Adds what one session accepted in one event (or several).
    public mutating func add(_ journal: PlatformJournal) {
        unique()
        // A packet completes at most one record; when two name the same packet the last counts.
        var recordOf: [Int: Int] = [:]
        for (k, r) in journal.records.enumerated() where r.packet >= 0 && r.packet < journal.packets.count { recordOf[r.packet] = k }
        for (i, p) in journal.packets.enumerated() {
            rows.append(p, record: recordOf[i].map { journal.records[$0].segment })
        }
        commands += journal.results
    }

    /// Adds one accepted packet and the record it completed, if any.
    public mutating func add(packet: AcceptedPacket, record: DataSegment?) {
        unique()
        rows.append(packet, record: record)
    }

    /// Adds a finished command's outcome.
    public mutating func add(command: CommandResult) {
        commands.append(command)
    }

    /// Forgets the rows and keeps the memory, for the next batch.
    public mutating func removeAll() {
        unique()
        rows.removeAll()
        commands.removeAll(keepingCapacity: true)
    }

    private mutating func unique() {
        if !isKnownUniquelyReferenced(&rows) { rows = rows.copy() }
    }

    /// A byte range in `Rows.bytes`; `start` < 0: absent (SQL NULL).
    struct Span {
        var start: Int
        var count: Int
        static let none = Span(start: -1, count: 0)
        var isNone: Bool { start < 0 }
    }

    /// One packet row: its texts as ranges of the batch's bytes.
    struct Row {
        var mn: Span, pw: Span, qn: Span, cn: Span, st: Span, peer: Span, frame: Span
        var pno: Int
        /// The record's DataTime when the packet completed one, else the packet's; `Row.noTime`: none.
        var dataTime: Int64
        var receivedAt: Int64
        /// The record the packet completed (stored in the packet's row): its packed texts and counts.
        var hasRecord: Bool
        var factors: Int, invalid: Int, values: Int
        var codes: Span, flags: Span, vals: Span
        static let noTime = Int64.min
    }

    /// The flat rows of a batch: one owner at a time (the loop that fills it, then the writer
    /// that writes it, handed over under the writer queue's lock).
    final class Rows: @unchecked Sendable {
        let bytes: ByteBuffer
        let list: ScratchList<Row>
        /// Packs each record's texts (reused from record to record).
        let packer = RecordPacker()

        init(bytes: Int = 16_384, rows: Int = 64) {
            self.bytes = ByteBuffer(capacity: bytes)
            list = ScratchList(capacity: rows)
        }

        var retainedBytes: Int { bytes.allocatedBytes + list.allocatedCount * MemoryLayout<Row>.stride }

        func copy() -> Rows {
            let c = Rows(bytes: bytes.count, rows: list.count)
            c.bytes.append(bytes.bytes)
            for r in list { c.list.append(r) }
            return c
        }

        func removeAll() {
            bytes.removeAll()
            list.removeAll()
        }

        /// The bytes of a span, in place: valid until the next append.
        @inline(__always)
        func text(_ s: Span) -> UnsafeBufferPointer<UInt8>? {
            s.isNone ? nil : bytes.slice(s.start, s.count)
        }

        private func put(_ b: UnsafeBufferPointer<UInt8>) -> Span {
            let start = bytes.count
            bytes.append(b)
            return Span(start: start, count: b.count)
        }

        private func put(_ s: String?) -> Span {
            guard let s else { return .none }
            return RecordPacker.withBytes(s) { put($0) }
        }

        func append(_ p: AcceptedPacket, record: DataSegment?) {
            // The header fields a row needs, the first of each name (as `DataSegment.header(_:)`
            // finds it), copied as bytes.
            var mn = Span.none, pw = Span.none, qn = Span.none, cn = Span.none, st = Span.none
            var pno = 0, sawPNO = false
            // The fields read in place (no copy of each `Field`), as `HeaderFields` does.
            p.segment.header.withUnsafeBufferPointer { fields in
                for f in fields.indices {
                    let n = fields[f].name.utf8.count
                    guard n == 2 || n == 3 else { continue }
                    switch RecordPacker.withBytes(fields[f].name, RecordPacker.key) {
                    case StoreBatch.headerKey("QN"): if qn.isNone { qn = put(fields[f].value) }
                    case StoreBatch.headerKey("MN"): if mn.isNone { mn = put(fields[f].value) }
                    case StoreBatch.headerKey("CN"): if cn.isNone { cn = put(fields[f].value) }
                    case StoreBatch.headerKey("ST"): if st.isNone { st = put(fields[f].value) }
                    case StoreBatch.headerKey("PW"): if pw.isNone { pw = put(fields[f].value) }
                    case StoreBatch.headerKey("PNO"):
                        if !sawPNO {
                            sawPNO = true
                            pno = RecordPacker.withBytes(fields[f].value, StoreBatch.integer) ?? 0
                        }
                    default: continue
                    }
                }
            }
            if mn.isNone { mn = Span(start: bytes.count, count: 0) }
            if cn.isNone { cn = Span(start: bytes.count, count: 0) }
            if qn.count == 0 { qn = .none }
            let peer = put(p.peer)
            let frame = p.frame.withUnsafeBufferPointer { put($0) }
            var row = Row(mn: mn, pw: pw, qn: qn, cn: cn, st: st, peer: peer, frame: frame, pno: pno,
                          dataTime: Row.noTime, receivedAt: HJTime(wallMilliseconds: p.time).digits17,
                          hasRecord: false, factors: 0, invalid: 0, values: 0, codes: .none, flags: .none, vals: .none)
            if let record {
                packer.pack(record)
                row.hasRecord = true
                row.dataTime = packer.dataTime ?? Row.noTime
                row.factors = packer.factorCount
                row.invalid = packer.invalid
                row.values = packer.values
                row.codes = put(packer.codeBytes.bytes)
                row.flags = put(packer.flagBytes.bytes)
                row.vals = put(packer.valBytes.bytes)
            }
            // The record's DataTime when the packet completed one (the last packet of a split
            // record may carry none of its own), else the packet's.
            if row.dataTime == Row.noTime, let t = p.segment.cpValue("DataTime").flatMap(StoreBatch.digits14) { row.dataTime = t }
            list.append(row)
        }
    }

    /// A decimal integer as `Int(String)` reads it (an optional sign, digits, no overflow).
    static func integer(_ u: UnsafeBufferPointer<UInt8>) -> Int? {
        var i = 0
        var negative = false
        if i < u.count && (u[i] == UInt8(ascii: "+") || u[i] == UInt8(ascii: "-")) {
            negative = u[i] == UInt8(ascii: "-")
            i += 1
        }
        guard i < u.count else { return nil }
        var n = 0
        while i < u.count {
            let d = u[i] &- 48
            guard d < 10 else { return nil }
            let (m, o1) = n.multipliedReportingOverflow(by: 10)
            let (s, o2) = negative ? m.subtractingReportingOverflow(Int(d)) : m.addingReportingOverflow(Int(d))
            guard !o1 && !o2 else { return nil }
            n = s
            i += 1
        }
        return n
    }

    /// `RecordPacker.key` of a short ASCII header name, folded by the compiler (`Rows.append`
    /// finds the header fields it needs by these keys, not by a string comparison per name).
    /// The same encoding written again on purpose: through `withUTF8Buffer(RecordPacker.key)`
    /// the keys were no longer folded, +96 instructions per packet in `Rows.append` (callgrind,
    /// session 15).
    @inline(__always)
    static func headerKey(_ name: StaticString) -> UInt64 {
        var k: UInt64 = 0
        for i in 0..<name.utf8CodeUnitCount { k = k << 8 | UInt64(name.utf8Start[i]) }
        return UInt64(name.utf8CodeUnitCount) << 56 | k
    }

    /// `20261130120000` as an integer, or nil when not 14 digits (17: the first 14 count).
    static func digits14(_ text: String) -> Int64? {
        RecordPacker.withBytes(text, digits14)
    }

    static func digits14(_ u: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard u.count == 14 || u.count == 17 else { return nil }
        var n: Int64 = 0
        for i in 0..<14 {
            let d = u[i] &- 48
            guard d < 10 else { return nil }
            n = n * 10 + Int64(d)
        }
        return n
    }

    /// The validity of a record's fields: factors with a value (`code-Kind`, Kind not `Flag`) in
    /// the record's order, and the flag of each factor that has one.
    static func summary(of segment: DataSegment) -> RecordSummary {
        var flags: [String: String] = [:]
        var order: [String] = []
        for group in segment.cp ?? [] {
            for field in group {
                guard let (factor, kind) = split(field.name) else { continue }
                if kind.elementsEqual("Flag".utf8) {
                    flags[String(Substring(factor))] = field.value
                } else if !order.contains(where: { $0.utf8.elementsEqual(factor) }) {
                    order.append(String(Substring(factor)))
                }
            }
        }
        return RecordSummary(factors: order, flags: flags)
    }

    /// `w01018-Avg` → (`w01018`, `Avg`) as UTF-8 views of the name, without new strings; nil when
    /// there is no dash or either side is empty.
    @inline(__always)
    static func split(_ name: String) -> (Substring.UTF8View, Substring.UTF8View)? {
        let u = name.utf8
        guard let dash = u.lastIndex(of: UInt8(ascii: "-")), dash != u.startIndex else { return nil }
        let after = u.index(after: dash)
        guard after != u.endIndex else { return nil }
        return (name[..<dash].utf8, name[after...].utf8)
    }

    /// The summary and the value rows of a record (for traces; the store binds its rows from the
    /// fields directly).
    static func values(of segment: DataSegment) -> (RecordSummary, [(factor: String, kind: String, value: Double?, text: String?, flag: String?)]) {
        let summary = summary(of: segment)
        var flags: [String: String] = [:]
        var rows: [(factor: String, kind: String, value: Double?, text: String?, flag: String?)] = []
        for field in segment.cpFields {
            guard let (factor, kind) = split(field.name) else { continue }
            if kind.elementsEqual("Flag".utf8) { flags[String(Substring(factor))] = field.value; continue }
            let number = Double(field.value)
            rows.append((String(Substring(factor)), String(Substring(kind)), number, number == nil ? field.value : nil, nil))
        }
        for i in rows.indices { rows[i].flag = flags[rows[i].factor] }
        return (summary, rows)
    }
}

/// The validity of one record: which factors it carries and which of them have a flag that
/// makes the value invalid (see `RecordSummary.validFlags`).
public struct RecordSummary: Sendable, Equatable {
    /// Data flags (HJ 212-2017 Table 9 codes) whose values count as valid: N (normal) and S
    /// (manually set value). Provisional: the reference has this split only from the
    /// `IceCoffee.HJ212` annotation of the flags (HJ212.md), not from a standard's text.
    public static let validFlags: Set<String> = ["N", "S"]

    /// `validFlags.contains(flag)`, without hashing (the writer asks once per flag).
    @inline(__always)
    static func isValid(flag: String) -> Bool { flag == "N" || flag == "S" }

    /// Factor codes with at least one value, in the record's order.
    public var factors: [String]
    /// Factor code → flag, for the factors whose flag is not valid.
    public var invalid: [String: String]

    public init(factors: [String], flags: [String: String]) {
        self.factors = factors
        invalid = flags.filter { factors.contains($0.key) && !Self.validFlags.contains($0.value) }
    }

    public init(codes: String, flags: String) {
        factors = codes.split(separator: "|").map(String.init)
        var invalid: [String: String] = [:]
        for pair in flags.split(separator: "|") {
            let parts = pair.split(separator: ":", maxSplits: 1)
            if parts.count == 2 { invalid[String(parts[0])] = String(parts[1]) }
        }
        self.invalid = invalid
    }

    /// `a21026|a21002|a34013`
    public var codesText: String { factors.joined(separator: "|") }
    /// `a21026:D|a34013:C`
    public var flagsText: String { invalid.keys.sorted().map { "\($0):\(invalid[$0]!)" }.joined(separator: "|") }
}

extension HJTime {
    /// `YYYYMMDDhhmmssSSS` as an integer.
    var digits17: Int64 {
        Int64(year) * 10_000_000_000_000 + Int64(month) * 100_000_000_000 + Int64(day) * 1_000_000_000
            + Int64(hour) * 10_000_000 + Int64(minute) * 100_000 + Int64(second) * 1_000 + Int64(millisecond)
    }
}
