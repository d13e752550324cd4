import Glibc

/// The texts of a resolved CP key that only messages and the ordering of findings read, kept
/// beside `ByteLintKey` so that the key itself holds no reference (read per entry without a
/// retain or release).
struct ByteLintKeyText {
    var code = ""
    var field = ""
    /// `dictionary.factor(code)?.label ?? code`, as `SegmentChecks.label` shows it.
    var label = ""
    /// The factor's type as the message reads it (`dictionary.factor(code)`), "" when none.
    var messageType = ""
}

/// What `ByteLinter` knows about one CP key (`011-Rtd`, `w01018-Avg`, `DataTime`), resolved once
/// per run from its bytes exactly as `SegmentChecks` resolves it from a `String` (the key table of
/// the dictionary, else the split at the last hyphen, else a plain key). Its texts are in
/// `ByteLintKeyText`, at the same index.
struct ByteLintKey {
    /// `code-field` (true) or a plain CP key (false).
    var coded = false
    /// Whether a factor was found (the key table's, or `dictionary.factor(code)`).
    var hasFactor = false
    /// The factor's type as the width check reads it; whether the message has one to name.
    var checkType: NumberType?
    var hasMessageType = false
    var knownField = false
    var kind = CodeDictionary.FieldKind.other
    var isFacility = false
    /// Interned ids (`ByteLintKeys.intern`): the code, and the name the unknown-field set holds
    /// (the field half of a coded key, the whole name of a plain one).
    var codeID = -1
    var fieldID = -1
    /// 1 Min, 2 Avg, 3 Max (the coded field), else 0.
    var stat: UInt8 = 0
    /// Plain keys: `dictionary.fields[name] != nil`.
    var plainKnown = false
    /// Plain keys: 1 a time field (`DataTime` …), 2 a parameter checked by a rule the byte path
    /// leaves to the full linter (`RtdInterval` …), 3 `PolId` (a known factor code, else the full
    /// linter), 0 nothing to check.
    var plainClass: UInt8 = 0
    /// `code-Info` keys: the index in `Table.infoValues` of the code's enumerated values
    /// (`dictionary.infoValues[code] ?? [code.lowercased()]`), -1 when it has none (nothing to check).
    var infoTable: Int32 = -1
}

/// CP keys resolved by their bytes, per dialect, for one linting loop. Budget as `LintCache`:
/// at most `budget` keys per dialect, each at most `LintCache.maxKeyBytes` long (a longer key
/// sends the frame to the full linter); when a table fills up every table is emptied (and the
/// interned names with them): a hostile stream of distinct keys costs bounded memory and only speed.
struct ByteLintKeys {
    static let budget = LintCache.budget

    struct Table {
        /// Open addressing: entry index + 1, 0 for empty. Size a power of two, at most half full.
        var slots = [Int32](repeating: 0, count: 2 * ByteLintKeys.budget)
        /// Per entry: the key's hash and where its bytes are in `arena`.
        var meta: [(hash: UInt64, start: Int, length: Int)] = []
        var arena: [UInt8] = []
        var entries: [ByteLintKey] = []
        var texts: [ByteLintKeyText] = []
        /// The enumerated values of the `-Info` keys' codes (`ByteLintKey.infoTable`), shared with the dictionary.
        var infoValues: [[String: CodeDictionary.Entry]] = []

        mutating func clear() {
            for i in slots.indices { slots[i] = 0 }
            meta.removeAll(keepingCapacity: true)
            arena.removeAll(keepingCapacity: true)
            entries.removeAll(keepingCapacity: true)
            texts.removeAll(keepingCapacity: true)
            infoValues.removeAll(keepingCapacity: true)
        }

        /// The entry holding the key `buf[lo..<lo+length]` (hash `h`), or -1 and the empty slot
        /// where it goes. Reads through buffer pointers: each key of each frame is looked up here
        /// (bounds-checked reads of four arrays and a byte loop were 8 % of `lint`).
        func find(_ buf: UnsafeBufferPointer<UInt8>, _ lo: Int, _ length: Int, _ h: UInt64) -> (entry: Int, slot: Int) {
            slots.withUnsafeBufferPointer { slots in
                meta.withUnsafeBufferPointer { meta in
                    arena.withUnsafeBufferPointer { arena in
                        let mask = slots.count - 1
                        var p = Int(truncatingIfNeeded: h) & mask
                        while true {
                            let e = Int(slots[p]) - 1
                            if e < 0 { return (-1, p) }
                            let m = meta[e]
                            if m.hash == h && m.length == length
                                && (length == 0 || memcmp(arena.baseAddress! + m.start, buf.baseAddress! + lo, length) == 0) {
                                return (e, p)
                            }
                            p = (p + 1) & mask
                        }
                    }
                }
            }
        }
    }

    var tables = [Table(), Table(), Table()]
    var names: [String: Int] = [:]
    /// Times the tables were emptied because one reached the budget.
    var resets = 0

    @inline(__always)
    static func hash(_ buf: UnsafeBufferPointer<UInt8>, _ lo: Int, _ hi: Int) -> UInt64 {
        // Eight bytes per step (a byte-wise FNV-1a was a fifth of `lookup`), then a final mix so
        // that every byte reaches the low bits the table is indexed by. Keys are at most
        // `LintCache.maxKeyBytes` long.
        precondition(lo >= 0 && lo <= hi && hi <= buf.count)
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(hi - lo)
        guard let base = buf.baseAddress else { return h }
        var i = lo
        while hi - i >= 8 {
            h = (h ^ UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)) &* 0xBF58_476D_1CE4_E5B9
            h ^= h >> 31
            i += 8
        }
        let left = hi - i
        if left > 0 {
            var w: UInt64 = 0
            if buf.count - i >= 8 {
                // The key is followed by at least eight bytes of the frame: one load, masked.
                w = UInt64(littleEndian: UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)) & ((1 << UInt64(8 * left)) - 1)
            } else {
                for k in 0..<left { w |= UInt64(base[i + k]) << UInt64(8 * k) }
            }
            h = (h ^ w) &* 0xBF58_476D_1CE4_E5B9
        }
        h = (h ^ (h >> 32)) &* 0x94D0_49BB_1331_11EB
        return h ^ (h >> 29)
    }

    mutating func intern(_ name: String) -> Int {
        if let id = names[name] { return id }
        let id = names.count
        names[name] = id
        return id
    }

    /// The index in `tables[slot].entries` of the key `buf[lo..<hi]`, resolving and storing it when new.
    mutating func lookup(_ buf: UnsafeBufferPointer<UInt8>, _ lo: Int, _ hi: Int, slot: Int, dialect: Dialect,
                         dictionary: ByteLinter.DictionaryRef) -> Int {
        let h = Self.hash(buf, lo, hi)
        let length = hi - lo
        let (found, p) = tables[slot].find(buf, lo, length, h)
        if found >= 0 { return found }
        if tables[slot].entries.count >= Self.budget {
            for t in tables.indices { tables[t].clear() }
            names.removeAll(keepingCapacity: true)
            resets += 1
            return lookup(buf, lo, hi, slot: slot, dialect: dialect, dictionary: dictionary)
        }
        let name = String(decoding: UnsafeBufferPointer(rebasing: buf[lo..<hi]), as: UTF8.self)
        let resolved = resolve(name, dialect: dialect, dictionary: dictionary.value)
        var key = resolved.0
        let text = resolved.1
        if key.kind == .info, key.coded,
           let values = dictionary.value.infoValues[text.code] ?? dictionary.value.infoValues[text.code.lowercased()] {
            key.infoTable = Int32(tables[slot].infoValues.count)
            tables[slot].infoValues.append(values)
        }
        let e = tables[slot].entries.count
        tables[slot].entries.append(key)
        tables[slot].texts.append(text)
        tables[slot].meta.append((h, tables[slot].arena.count, length))
        tables[slot].arena.append(contentsOf: UnsafeBufferPointer(rebasing: buf[lo..<hi]))
        tables[slot].slots[p] = Int32(e + 1)
        return e
    }

    static let specialPlain: Set<String> = ["RtdInterval", "MinInterval", "OverTime", "ReCount", "VaseNo", "Ctime", "CTime",
                                            "Stime", "CstartTime", "QnRtn", "ExeRtn", "NewPW", "PolId"]

    /// `SegmentChecks.checkCP`'s resolution of a key, with what its checks and messages read.
    mutating func resolve(_ name: String, dialect: Dialect, dictionary: CodeDictionary) -> (ByteLintKey, ByteLintKeyText) {
        var key = ByteLintKey()
        var text = ByteLintKeyText()
        func coded(code: String, field: String, factor: CodeDictionary.Factor?, knownField: Bool, kind: CodeDictionary.FieldKind) {
            key.coded = true
            text.code = code
            text.field = field
            let messageFactor = dictionary.factor(code)
            text.label = messageFactor?.label ?? code
            text.messageType = messageFactor?.type.map { "\($0)" } ?? ""
            key.hasMessageType = !text.messageType.isEmpty
            key.hasFactor = factor != nil
            key.checkType = factor?.type
            key.knownField = knownField
            key.kind = kind
            key.isFacility = SegmentChecks.isFacilityCode(code, dialect)
            key.codeID = intern(code)
            key.fieldID = intern(field)
            key.stat = field == "Min" ? 1 : field == "Avg" ? 2 : field == "Max" ? 3 : 0
        }
        if let known = dictionary.keys[name] {
            coded(code: known.code, field: known.field, factor: known.factor, knownField: true, kind: known.kind)
        } else if let (code, field) = SegmentChecks.splitKey(name), !code.isEmpty {
            coded(code: code, field: field, factor: dictionary.factor(code), knownField: dictionary.suffixFields[field] != nil,
                  kind: CodeDictionary.FieldKind(field: field))
        } else {
            key.plainKnown = dictionary.fields[name] != nil
            key.fieldID = intern(name)
            key.plainClass = SegmentChecks.timeFields.contains(name) ? 1 : name == "PolId" ? 3 : Self.specialPlain.contains(name) ? 2 : 0
        }
        return (key, text)
    }
}

/// A small direct-mapped memo of per-frame dictionary answers (ST known, CN known and class, data
/// flag known) keyed by a number made of the dialect and the value's bytes: field captures repeat
/// the same few values in every frame, so the `String` and the dictionary lookup happen once per
/// run instead of once per frame. Fixed size (64 entries, 1 KiB); a collision only evicts.
struct ByteLintMemo {
    private var keys = [Int](repeating: -1, count: 64)
    private var values = [UInt8](repeating: 0, count: 64)

    @inline(__always)
    private static func slot(_ key: Int) -> Int { Int(truncatingIfNeeded: (UInt64(bitPattern: Int64(key)) &* 0x9E37_79B9_7F4A_7C15) >> 58) }

    /// The value kept for `key` (≥ 0), else `compute()`'s, kept.
    @inline(__always)
    mutating func value(_ key: Int, _ compute: () -> UInt8) -> UInt8 {
        let s = Self.slot(key)
        if keys[s] == key { return values[s] }
        let v = compute()
        keys[s] = key
        values[s] = v
        return v
    }
}

extension SegmentChecks {
    /// `Double(String(decoding: bytes, as: UTF8.self))` for the common shape `[-]digits[.digits]`
    /// with at most 15 significant digits and 22 fraction digits: the digits are exact as an
    /// integer and so is the power of ten, and one IEEE division rounds correctly, giving the
    /// same value as the full parser. Anything else goes through `Double(String)`.
    static func parseDouble(_ bytes: UnsafeBufferPointer<UInt8>) -> Double? {
        var i = 0
        let n = bytes.count
        var negative = false
        if n > 0 && bytes[0] == 0x2D { negative = true; i = 1 }
        var mantissa: UInt64 = 0
        var digits = 0, significant = 0, fraction = 0
        var point = false
        while i < n {
            let b = bytes[i]
            let d = b &- 48
            if d < 10 {
                digits += 1
                if significant > 0 || d != 0 { significant += 1 }
                mantissa = mantissa &* 10 &+ UInt64(d)
                if point { fraction += 1 }
            } else if b == 0x2E && !point {
                point = true
            } else {
                return Double(String(decoding: bytes, as: UTF8.self))
            }
            i += 1
        }
        guard digits > 0, significant <= 15, fraction <= 22 else { return Double(String(decoding: bytes, as: UTF8.self)) }
        var v = Double(mantissa)
        if fraction > 0 { v /= powersOfTen[fraction] }
        return negative ? -v : v
    }

    static let powersOfTen: [Double] = (0...22).map { e in
        var p = 1.0
        for _ in 0..<e { p *= 10 }
        return p
    }
}
