import HJ212
import HJRoles
@testable import HJStore
import Testing
import TestSupport

/// `RecordPacker` (the writer's byte-level packing of a record's `codes`, `flags` and `vals`)
/// against a plain reference written from the definition in docs/store.md with strings and
/// `StoreBatch.split`, on records that exercise every branch.
@Suite("Record packer")
struct RecordPackerTests {
    /// The definition, spelled with strings: factors with a value in first-value order; the
    /// last flag of each factor; invalid flags sorted by factor; one element per value field.
    static func reference(_ segment: DataSegment) -> (codes: String, flags: String, vals: String, factors: Int, invalid: Int, values: Int) {
        var order: [String] = []
        var flag: [String: String] = [:]
        for field in segment.cpFields {
            guard let (f, k) = StoreBatch.split(field.name) else { continue }
            let factor = String(Substring(f))
            if String(Substring(k)) == "Flag" { flag[factor] = field.value } else if !order.contains(factor) { order.append(factor) }
        }
        let invalid = order.filter { flag[$0].map { !RecordSummary.isValid(flag: $0) } ?? false }.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        var vals: [UInt8] = [UInt8(ascii: "[")]
        var values = 0
        for field in segment.cpFields {
            guard let (f, k) = StoreBatch.split(field.name), String(Substring(k)) != "Flag" else { continue }
            if values > 0 { vals.append(UInt8(ascii: ",")) }
            PackedValues.append(factor: f, kind: k, value: field.value, flag: flag[String(Substring(f))], to: &vals)
            values += 1
        }
        vals.append(UInt8(ascii: "]"))
        return (order.joined(separator: "|"), invalid.map { "\($0):\(flag[$0]!)" }.joined(separator: "|"),
                String(decoding: vals, as: UTF8.self), order.count, invalid.count, values)
    }

    static func packed(_ packer: RecordPacker, _ segment: DataSegment) -> (codes: String, flags: String, vals: String, factors: Int, invalid: Int, values: Int) {
        packer.pack(segment)
        return (String(decoding: packer.codes, as: UTF8.self), String(decoding: packer.flags, as: UTF8.self),
                String(decoding: packer.vals, as: UTF8.self), packer.factorCount, packer.invalid, packer.values)
    }

    static let records: [[[Field]]] = [
        [[Field("DataTime", "20261130110000")],
         [Field("w01018-Avg", "12.5"), Field("w01018-Cou", "300"), Field("w01018-Flag", "D")],
         [Field("w21003-Avg", "007.25"), Field("w21003-Flag", "N")],
         [Field("a34013-Info", "x\"y\\z"), Field("a21026-Avg", "-0.5")]],
        // A flag before the value, two flags of one factor (the last counts), a flag-only
        // factor, names longer than 7 bytes (compared byte by byte) that share a prefix.
        [[Field("DataTime", "20261130110000"), Field("w01018-Flag", "N"), Field("w01018-Rtd", "1"), Field("w01018-Flag", "C")],
         [Field("a99999-Flag", "T")],
         [Field("LongFactorA-Avg", "1e3"), Field("LongFactorB-Avg", "nan"), Field("LongFactorA-Max", "2"),
          Field("LongFactorB-Flag", "D"), Field("LongFactorA-Flag", "M")]],
        // Fields without a code-Kind name, a dash at either end, a name with several dashes,
        // a quote and a control character in names and values, a non-ASCII text.
        [[Field("SampleTime", "20261130110000"), Field("-Avg", "1"), Field("w01018-", "2"), Field("a-b-Avg", "3"),
          Field("q\"x-Info", "t\u{1}"), Field("w01018-Info", "正常"), Field("w01018-Flag", "S")]],
        // No CP fields at all; an empty group.
        [],
        [[]],
    ]

    @Test("the packer writes the same bytes and counts as the reference, record after record")
    func sameAsReference() {
        let packer = RecordPacker()
        // Twice over, in one packer: its reused buffers must not leak one record into the next.
        for cp in Self.records + Self.records.reversed() {
            let segment = DataSegment(header: [Field("CN", "2061")], cp: cp)
            let got = Self.packed(packer, segment), want = Self.reference(segment)
            #expect(got.codes == want.codes && got.flags == want.flags && got.vals == want.vals, "\(cp)")
            #expect(got.factors == want.factors && got.invalid == want.invalid && got.values == want.values, "\(cp)")
        }
        // A spot check of the reference itself on the second record.
        let second = Self.reference(DataSegment(header: [], cp: Self.records[1]))
        #expect(second.codes == "w01018|LongFactorA|LongFactorB")
        #expect(second.flags == "LongFactorA:M|LongFactorB:D|w01018:C")
        #expect(second.values == 4 && second.invalid == 3)
    }

    @Test("generated records: the packer writes what the reference writes (names, flags, numbers, texts, escapes)")
    func generated() {
        var rng = SplitMix64(seed: 12)
        func pick<T>(_ xs: [T]) -> T { xs[Int(rng.next() % UInt64(xs.count))] }
        let factors = ["w01018", "w21003", "a34013", "a21026", "i13101", "LongFactorName", "x", "q\"x", "w01018-Avg"]
        let kinds = ["Avg", "Min", "Max", "Cou", "Rtd", "Flag", "Flag", "Info", "ZsAvg", ""]
        let values = ["12.5", "0", "-0.5", "007.25", "1.", "+3", "1e3", "nan", "inf", "", "N", "D", "S", "C", "x\"y\\z", "t\u{1}", "正常",
                      "20261129020000", "-", "0.0", "00", "-.5", String(repeating: "9", count: 30)]
        let packer = RecordPacker()
        var differences = 0
        for _ in 0..<2_000 {
            var cp: [[Field]] = [[Field("DataTime", "20261130110000")]]
            for _ in 0..<Int(rng.next() % 6) {
                var group: [Field] = []
                for _ in 0..<Int(rng.next() % 8) {
                    let kind = pick(kinds)
                    group.append(Field(kind.isEmpty ? pick(factors) : "\(pick(factors))-\(kind)", pick(values)))
                }
                cp.append(group)
            }
            let segment = DataSegment(header: [Field("CN", "2011")], cp: cp)
            let got = Self.packed(packer, segment), want = Self.reference(segment)
            if got.codes != want.codes || got.flags != want.flags || got.vals != want.vals
                || got.factors != want.factors || got.invalid != want.invalid || got.values != want.values {
                differences += 1
                if differences <= 3 { Issue.record("\(cp): \(got) vs \(want)") }
            }
        }
        #expect(differences == 0)
    }

    @Test("a row's header fields are the segment's (first of each name), read in one pass as the store builds its rows; DataTime digits")
    func headerValues() {
        let headers: [[Field]] = [
            [Field("QN", "20261130120000001"), Field("ST", "32"), Field("CN", "2061"), Field("PW", "123456"), Field("MN", "010000A89001000000000001"),
             Field("Flag", "5"), Field("PNUM", "3"), Field("PNO", "2")],
            [Field("MN", "A"), Field("MN", "B"), Field("QN", ""), Field("qn", "x"), Field("PNOX", "1"), Field("CN", "2011"), Field("CN", "9014")],
            [Field("Q", "1"), Field("QNN", "2"), Field("", "3"), Field("PNO", "x")],
            [],
        ]
        // The row `serve --store` builds (`StoreBatch.Rows.append`): an absent MN or CN is an
        // empty text, an empty QN is none (no duplicate key), a PNO that is not a number is 0.
        let rows = StoreBatch.Rows()
        for h in headers {
            let segment = DataSegment(header: h, cp: nil)
            rows.append(AcceptedPacket(frame: [], segment: segment, time: 0, peer: "p"), record: nil)
            let r = rows.list[rows.list.count - 1]
            let text = { (span: StoreBatch.Span) in rows.text(span).map { String(decoding: $0, as: UTF8.self) } }
            #expect(text(r.qn) == segment.qn.flatMap { $0.isEmpty ? nil : $0 }, "\(h)")
            #expect(text(r.mn) == segment.mn ?? "" && text(r.cn) == segment.cn ?? "", "\(h)")
            #expect(text(r.st) == segment.st && text(r.pw) == segment.pw, "\(h)")
            #expect(r.pno == segment.header("PNO").flatMap { Int($0) } ?? 0, "\(h)")
        }
        #expect(StoreBatch.digits14("20261130110000") == 20261130110000)
        #expect(StoreBatch.digits14("20261130110000123") == 20261130110000)
        #expect(StoreBatch.digits14("2026113011000") == nil)
        #expect(StoreBatch.digits14("2026113011000x") == nil)
        #expect(StoreBatch.digits14("") == nil)
    }

    @Test("no cp: empty texts, an empty array")
    func noCP() {
        let packer = RecordPacker()
        packer.pack(DataSegment(header: [Field("CN", "2061")], cp: [[Field("w01018-Avg", "1")]]))
        packer.pack(DataSegment(header: [Field("CN", "2061")], cp: nil))
        #expect(packer.codes.isEmpty && packer.flags.isEmpty && String(decoding: packer.vals, as: UTF8.self) == "[]")
        #expect(packer.factorCount == 0 && packer.values == 0)
    }
}
