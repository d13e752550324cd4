import HJ212

/// Builds a record's row texts from its fields: `codes`, `flags` and the packed `vals`
/// (`PackedValues`), with its counts. It reads each field's name and value as the strings'
/// own UTF-8 bytes (no `Substring` per field, no generic index walking: the profile of
/// `serve --store` showed those, with their retains, as the largest Swift cost of the writer)
/// and copies factor names into one reused buffer. One packer lives on the writer's connection,
/// so its buffers are reused from record to record.
struct RecordPacker {
    struct Factor {
        /// Up to 7 bytes of the name packed with its length (`key(_:)`): compared without reading the name; 0 for longer names, compared byte by byte.
        var key: UInt64
        /// The name in `names`.
        var start: Int
        var count: Int
        var flag: String? = nil
        var hasValue = false
    }

    private(set) var codes: [UInt8] = []
    private(set) var flags: [UInt8] = []
    private(set) var vals: [UInt8] = []
    /// Factors with a value, factors whose flag is not valid, value fields.
    private(set) var factorCount = 0, invalid = 0, values = 0

    private var names: [UInt8] = []
    private var factors: [Factor] = []
    private var order: [Int] = []
    /// Per field of the record: the factor it gives a value of (-1: a flag, or no `code-Kind`
    /// name), and where its kind starts in its name.
    private var fieldFactor: [Int] = []
    private var fieldKind: [Int] = []
    private var invalidOnes: [Int] = []

    /// The texts of one record (`Store.insert`): the same bytes as the field-by-field version
    /// that used `StoreBatch.split` (`StoreSchemaTests`, `RecordPackerTests`).
    mutating func pack(_ segment: DataSegment) {
        names.removeAll(keepingCapacity: true)
        factors.removeAll(keepingCapacity: true)
        order.removeAll(keepingCapacity: true)
        fieldFactor.removeAll(keepingCapacity: true)
        fieldKind.removeAll(keepingCapacity: true)
        guard let cp = segment.cp else { finish(segment); return }
        // One pass over the fields: the factors in order and their flags (a factor's last flag counts).
        for group in cp {
            for field in group {
                let (factor, kindStart) = Self.withBytes(field.name) { n -> (Int, Int) in
                    guard let dash = Self.lastDash(n), dash > 0, dash + 1 < n.count else { return (-1, -1) }
                    let factorBytes = UnsafeBufferPointer(rebasing: n[..<dash])
                    let key = Self.key(factorBytes)
                    var i = -1
                    for j in factors.indices where factors[j].key == key {
                        if key != 0 || Self.equal(names, factors[j], factorBytes) { i = j; break }
                    }
                    if i < 0 {
                        i = factors.count
                        factors.append(Factor(key: key, start: names.count, count: factorBytes.count))
                        names.append(contentsOf: factorBytes)
                    }
                    if Self.isFlag(UnsafeBufferPointer(rebasing: n[(dash + 1)...])) {
                        factors[i].flag = field.value
                        return (-1, -1)
                    }
                    if !factors[i].hasValue { factors[i].hasValue = true; order.append(i) }
                    return (i, dash + 1)
                }
                fieldFactor.append(factor)
                fieldKind.append(kindStart)
            }
        }
        finish(segment)
    }

    private mutating func finish(_ segment: DataSegment) {
        codes.removeAll(keepingCapacity: true)
        flags.removeAll(keepingCapacity: true)
        vals.removeAll(keepingCapacity: true)
        for i in order {
            if !codes.isEmpty { codes.append(UInt8(ascii: "|")) }
            codes.append(contentsOf: names[factors[i].start..<factors[i].start + factors[i].count])
        }
        invalidOnes.removeAll(keepingCapacity: true)
        for i in order { if let flag = factors[i].flag, !RecordSummary.isValid(flag: flag) { invalidOnes.append(i) } }
        if invalidOnes.count > 1 {
            let names = self.names, factors = self.factors
            invalidOnes.sort { a, b in
                names[factors[a].start..<factors[a].start + factors[a].count]
                    .lexicographicallyPrecedes(names[factors[b].start..<factors[b].start + factors[b].count])
            }
        }
        for i in invalidOnes {
            if !flags.isEmpty { flags.append(UInt8(ascii: "|")) }
            flags.append(contentsOf: names[factors[i].start..<factors[i].start + factors[i].count])
            flags.append(UInt8(ascii: ":"))
            flags.append(contentsOf: factors[i].flag!.utf8)
        }
        factorCount = order.count
        invalid = invalidOnes.count
        values = 0
        var n = 0
        let arena = names
        vals.append(UInt8(ascii: "["))
        for group in segment.cp ?? [] {
            for field in group {
                let i = fieldFactor[n], kindStart = fieldKind[n]
                n += 1
                guard i >= 0 else { continue }
                if values > 0 { vals.append(UInt8(ascii: ",")) }
                let f = factors[i]
                arena.withUnsafeBufferPointer { b in
                    Self.withBytes(field.name) { n in
                        PackedValues.append(factor: UnsafeBufferPointer(rebasing: b[f.start..<f.start + f.count]),
                                            kind: UnsafeBufferPointer(rebasing: n[kindStart...]), value: field.value, flag: f.flag, to: &vals)
                    }
                }
                values += 1
            }
        }
        vals.append(UInt8(ascii: "]"))
    }

    /// A string's UTF-8 bytes, in place (native strings, small ones included, are contiguous).
    @inline(__always)
    static func withBytes<R>(_ s: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if let r = s.utf8.withContiguousStorageIfAvailable(body) { return r }
        var copy = s
        copy.makeContiguousUTF8()
        return copy.utf8.withContiguousStorageIfAvailable(body)!
    }

    @inline(__always)
    static func lastDash(_ n: UnsafeBufferPointer<UInt8>) -> Int? {
        var i = n.count
        while i > 0 {
            i -= 1
            if n[i] == UInt8(ascii: "-") { return i }
        }
        return nil
    }

    @inline(__always)
    static func key(_ u: UnsafeBufferPointer<UInt8>) -> UInt64 {
        guard u.count <= 7 else { return 0 }
        var k: UInt64 = 0
        for b in u { k = k << 8 | UInt64(b) }
        return UInt64(u.count) << 56 | k
    }

    @inline(__always)
    static func equal(_ names: [UInt8], _ f: Factor, _ u: UnsafeBufferPointer<UInt8>) -> Bool {
        guard f.count == u.count else { return false }
        return names.withUnsafeBufferPointer { b in
            UnsafeBufferPointer(rebasing: b[f.start..<f.start + f.count]).elementsEqual(u)
        }
    }

    @inline(__always)
    static func isFlag(_ kind: UnsafeBufferPointer<UInt8>) -> Bool {
        kind.count == 4 && kind[0] == UInt8(ascii: "F") && kind[1] == UInt8(ascii: "l") && kind[2] == UInt8(ascii: "a") && kind[3] == UInt8(ascii: "g")
    }
}
