import HJ212

/// Builds a record's row texts from its fields: `codes`, `flags` and the packed `vals` (the
/// bytes `PackedValues` defines), with its counts. It reads each field's name and value as the
/// strings' own UTF-8 bytes and writes into buffers it owns (HJ212's `ByteBuffer` and
/// `ScratchList`: a pointer, a count, no uniqueness check or retain per append), so the store
/// binds the texts where they are (`SQLITE_STATIC`). One packer lives on the writer's connection
/// and is reused from record to record (the writer's lock serialises every use); the buffers are
/// classes held in `let`s, so an access costs no exclusivity check. Callgrind (session 12): 21k
/// instructions per record of ten values with the session-8 version (Swift arrays, strings for
/// flags, a closure per value); see docs/performance.md.
final class RecordPacker {
    /// A factor of the record being packed. Plain values only (no strings): its name and its
    /// last flag are bytes in `names`.
    struct Factor {
        /// Up to 7 bytes of the name packed with its length (`key(_:)`): compared without reading the name; 0 for longer names, compared byte by byte.
        var key: UInt64
        /// The name in `names`.
        var start: Int
        var count: Int
        /// The factor's last `-Flag` value in `names` (`flagStart` < 0: none).
        var flagStart = -1
        var flagCount = 0
        var hasValue = false
    }

    let codeBytes = ByteBuffer(capacity: 256)
    let flagBytes = ByteBuffer(capacity: 64)
    let valBytes = ByteBuffer(capacity: 2048)
    /// Factors with a value, factors whose flag is not valid, value fields.
    @exclusivity(unchecked) private(set) var factorCount = 0
    @exclusivity(unchecked) private(set) var invalid = 0
    @exclusivity(unchecked) private(set) var values = 0
    /// The record's DataTime (its first `DataTime` field) as `YYYYMMDDhhmmss`, when it is 14 or
    /// 17 digits (`StoreBatch.digits14`).
    @exclusivity(unchecked) private(set) var dataTime: Int64?

    /// Factor names, flags, and each value field's kind and value, copied once from the fields.
    private let names = ByteBuffer(capacity: 1024)
    private let factors = ScratchList<Factor>(capacity: 32)
    private let order = ScratchList<Int>(capacity: 32)
    /// The value fields of the record in order: their factor and where their kind and value are
    /// in `names` (the second pass reads only these, no string).
    private let valueFields = ScratchList<ValueField>(capacity: 64)
    private let invalidOnes = ScratchList<Int>(capacity: 16)

    struct ValueField {
        var factor: Int
        var kindStart: Int, kindCount: Int
        var valueStart: Int, valueCount: Int
    }

    init() {}

    /// The texts as arrays (tests and diagnostics; the store binds the buffers themselves).
    var codes: [UInt8] { Array(codeBytes.bytes) }
    var flags: [UInt8] { Array(flagBytes.bytes) }
    var vals: [UInt8] { Array(valBytes.bytes) }

    /// The texts of one record (`Store.insert`): the same bytes as the definition written with
    /// strings (`RecordPackerTests.reference`, `StoreSchemaTests`).
    func pack(_ segment: DataSegment) {
        names.removeAll()
        factors.removeAll()
        order.removeAll()
        valueFields.removeAll()
        dataTime = nil
        var sawDataTime = false
        // One pass over the fields: the factors in order, their flags (a factor's last flag
        // counts), and each value field's kind and value bytes. The groups and fields are read
        // in place (no copy of each `Field`, no retain of its strings), as `HeaderFields` does.
        segment.cp?.withUnsafeBufferPointer { groups in
            for g in groups.indices {
                groups[g].withUnsafeBufferPointer { fields in
                    for f in fields.indices {
                        Self.withBytes(fields[f].name) { n in add(name: n, value: fields[f].value, sawDataTime: &sawDataTime) }
                    }
                }
            }
        }
        finish()
    }

    /// One CP field of the record being packed.
    @inline(__always)
    private func add(name n: UnsafeBufferPointer<UInt8>, value: String, sawDataTime: inout Bool) {
        guard let dash = Self.lastDash(n), dash > 0, dash + 1 < n.count else {
            if !sawDataTime && Self.isDataTime(n) {
                sawDataTime = true
                dataTime = Self.withBytes(value, StoreBatch.digits14)
            }
            return
        }
        let factorBytes = UnsafeBufferPointer(rebasing: n[..<dash])
        let key = Self.key(factorBytes)
        var i = -1
        for j in 0..<factors.count where factors[j].key == key {
            if key != 0 || Self.slice(names.bytes, factors[j].start, factors[j].count).elementsEqual(factorBytes) { i = j; break }
        }
        if i < 0 {
            i = factors.count
            factors.append(Factor(key: key, start: names.count, count: factorBytes.count))
            names.append(factorBytes)
        }
        let kind = UnsafeBufferPointer(rebasing: n[(dash + 1)...])
        if Self.isFlag(kind) {
            let start = names.count
            Self.withBytes(value) { names.append($0) }
            var f = factors[i]
            f.flagStart = start
            f.flagCount = names.count - start
            factors[i] = f
            return
        }
        if !factors[i].hasValue {
            var f = factors[i]
            f.hasValue = true
            factors[i] = f
            order.append(i)
        }
        let kindStart = names.count
        names.append(kind)
        let valueStart = names.count
        Self.withBytes(value) { names.append($0) }
        valueFields.append(ValueField(factor: i, kindStart: kindStart, kindCount: kind.count,
                                      valueStart: valueStart, valueCount: names.count - valueStart))
    }

    private func finish() {
        // `names` does not change from here on: its bytes are read through one pointer.
        let names = self.names.bytes
        codeBytes.removeAll()
        flagBytes.removeAll()
        valBytes.removeAll()
        invalidOnes.removeAll()
        for k in 0..<order.count {
            let f = factors[order[k]]
            if k > 0 { codeBytes.append(UInt8(ascii: "|")) }
            codeBytes.append(Self.slice(names, f.start, f.count))
            if f.flagStart >= 0 && !Self.isValidFlag(Self.slice(names, f.flagStart, f.flagCount)) { invalidOnes.append(order[k]) }
        }
        // Invalid flags sorted by factor name (bytes), by insertion: a record has few.
        if invalidOnes.count > 1 { invalidOnes.insertionSort(by: precedes) }
        for k in 0..<invalidOnes.count {
            let f = factors[invalidOnes[k]]
            if k > 0 { flagBytes.append(UInt8(ascii: "|")) }
            flagBytes.append(Self.slice(names, f.start, f.count))
            flagBytes.append(UInt8(ascii: ":"))
            flagBytes.append(Self.slice(names, f.flagStart, f.flagCount))
        }
        factorCount = order.count
        invalid = invalidOnes.count
        values = valueFields.count
        valBytes.append(UInt8(ascii: "["))
        for k in 0..<valueFields.count {
            let v = valueFields[k], f = factors[v.factor]
            if k > 0 { valBytes.append(UInt8(ascii: ",")) }
            valBytes.append(UInt8(ascii: "["))
            Self.appendString(Self.slice(names, f.start, f.count), to: valBytes)
            valBytes.append(UInt8(ascii: ","))
            Self.appendString(Self.slice(names, v.kindStart, v.kindCount), to: valBytes)
            valBytes.append(UInt8(ascii: ","))
            Self.appendValue(Self.slice(names, v.valueStart, v.valueCount), to: valBytes)
            if f.flagStart >= 0 { Self.appendString(Self.slice(names, f.flagStart, f.flagCount), to: valBytes) } else { valBytes.append("null") }
            valBytes.append(UInt8(ascii: "]"))
        }
        valBytes.append(UInt8(ascii: "]"))
    }

    /// Whether factor `a`'s name sorts before factor `b`'s (bytes, shorter first on a common prefix).
    private func precedes(_ a: Int, _ b: Int) -> Bool {
        let x = factors[a], y = factors[b], n = names.bytes
        return Self.slice(n, x.start, x.count).lexicographicallyPrecedes(Self.slice(n, y.start, y.count))
    }

    /// `count` bytes of `names` from `start`: offsets the packer itself recorded while writing
    /// `names`, so in range (`ByteBuffer.slice` checks them at every call, 0.9k instructions per
    /// record in `finish`, session 13).
    @inline(__always)
    static func slice(_ names: UnsafeBufferPointer<UInt8>, _ start: Int, _ count: Int) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: names.baseAddress! + start, count: count)
    }

    /// `12.5,null,` or `null,"text",` (`PackedValues.appendValue` without the flag).
    static func appendValue(_ v: UnsafeBufferPointer<UInt8>, to out: ByteBuffer) {
        if PackedValues.isJSONNumber(v) {
            out.append(v)
            out.append(",null,")
            return
        }
        if let d = Double(String(decoding: v, as: UTF8.self)), d.isFinite {
            // `007.25`, `1.`, `+3`: numbers for Swift (as version 1 stored them), not JSON's spelling.
            withBytes("\(d)") { out.append($0) }
            out.append(",null,")
        } else {
            out.append("null,")
            appendString(v, to: out)
            out.append(UInt8(ascii: ","))
        }
    }

    /// A JSON string (`PackedValues.appendString`): `"` and `\\` escaped, control characters as
    /// `\\u00XX`; copied whole when nothing needs escaping (nearly always).
    @inline(__always)
    static func appendString(_ u: UnsafeBufferPointer<UInt8>, to out: ByteBuffer) {
        var plain = true
        for b in u where b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") || b < 0x20 { plain = false; break }
        if plain {
            out.reserve(u.count + 2)
            out.append(UInt8(ascii: "\""))
            out.append(u)
            out.append(UInt8(ascii: "\""))
            return
        }
        var escaped: [UInt8] = []
        PackedValues.appendString(u, to: &escaped)
        out.append(escaped)
    }

    static func isValidFlag(_ flag: UnsafeBufferPointer<UInt8>) -> Bool {
        flag.count == 1 && (flag[0] == UInt8(ascii: "N") || flag[0] == UInt8(ascii: "S"))
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
    static func isDataTime(_ n: UnsafeBufferPointer<UInt8>) -> Bool {
        n.count == 8 && n.elementsEqual("DataTime".utf8)
    }

    @inline(__always)
    static func isFlag(_ kind: UnsafeBufferPointer<UInt8>) -> Bool {
        kind.count == 4 && kind[0] == UInt8(ascii: "F") && kind[1] == UInt8(ascii: "l") && kind[2] == UInt8(ascii: "a") && kind[3] == UInt8(ascii: "g")
    }
}
