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
public struct StoreBatch: Sendable {
    struct PacketRow: Sendable {
        var frame: [UInt8]
        var mn: String
        var pw: String?
        var qn: String?
        var cn: String
        var st: String?
        var pno: Int
        var dataTime: Int64?
        var receivedAt: Int64
        var peer: String
        /// Index in `records` of the record this packet completed (stored in the packet's row),
        /// -1: none. A packet completes at most one record (`PlatformJournal`).
        var record = -1
    }

    struct RecordRow: Sendable {
        /// The record's DataTime (its CN is its packet's).
        var dataTime: Int64?
        /// The record's fields: its value rows are bound from them, without a string per field
        /// (`Store.insert`).
        var segment: DataSegment
    }

    var packets: [PacketRow] = []
    var records: [RecordRow] = []
    var commands: [CommandResult] = []

    public init() {}

    public var isEmpty: Bool { packets.isEmpty && commands.isEmpty }
    public var packetCount: Int { packets.count }

    /// Adds what one session accepted in one event (or several).
    public mutating func add(_ journal: PlatformJournal) {
        let base = packets.count
        packets.reserveCapacity(base + journal.packets.count)
        for p in journal.packets {
            let h = HeaderValues(p.segment)
            packets.append(PacketRow(
                frame: p.frame, mn: h.mn ?? "", pw: h.pw, qn: h.qn.flatMap { $0.isEmpty ? nil : $0 }, cn: h.cn ?? "",
                st: h.st, pno: h.pno.flatMap { Int($0) } ?? 0, dataTime: p.segment.cpValue("DataTime").flatMap(Self.digits14),
                receivedAt: HJTime(wallMilliseconds: p.time).digits17, peer: p.peer))
        }
        for r in journal.records where r.packet >= 0 && r.packet < journal.packets.count {
            packets[base + r.packet].record = records.count
            records.append(RecordRow(dataTime: r.segment.cpValue("DataTime").flatMap(Self.digits14), segment: r.segment))
        }
        commands += journal.results
    }

    /// The header fields a row needs, found in one pass over the header (the first of each name,
    /// as `DataSegment.header(_:)` finds it) by a key of the name's bytes, not a string
    /// comparison per field and name.
    struct HeaderValues {
        var mn: String?, pw: String?, qn: String?, cn: String?, st: String?, pno: String?

        init(_ segment: DataSegment) {
            for field in segment.header {
                let n = field.name.utf8.count
                guard n == 2 || n == 3 else { continue }
                switch RecordPacker.withBytes(field.name, RecordPacker.key) {
                case Self.key("QN"): if qn == nil { qn = field.value }
                case Self.key("MN"): if mn == nil { mn = field.value }
                case Self.key("CN"): if cn == nil { cn = field.value }
                case Self.key("ST"): if st == nil { st = field.value }
                case Self.key("PW"): if pw == nil { pw = field.value }
                case Self.key("PNO"): if pno == nil { pno = field.value }
                default: break
                }
            }
        }

        /// `RecordPacker.key` of a short ASCII name, folded by the compiler.
        @inline(__always)
        static func key(_ name: StaticString) -> UInt64 {
            var k: UInt64 = 0
            for i in 0..<name.utf8CodeUnitCount { k = k << 8 | UInt64(name.utf8Start[i]) }
            return UInt64(name.utf8CodeUnitCount) << 56 | k
        }
    }

    /// `20261130120000` as an integer, or nil when not 14 digits (17: the first 14 count).
    static func digits14(_ text: String) -> Int64? {
        RecordPacker.withBytes(text) { u -> Int64? in
            guard u.count == 14 || u.count == 17 else { return nil }
            var n: Int64 = 0
            for i in 0..<14 {
                let d = u[i] &- 48
                guard d < 10 else { return nil }
                n = n * 10 + Int64(d)
            }
            return n
        }
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
