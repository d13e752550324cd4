/// What `ByteLinter` knows about one CP key (`011-Rtd`, `w01018-Avg`, `DataTime`), resolved once
/// per run from its bytes exactly as `SegmentChecks` resolves it from a `String` (the key table of
/// the dictionary, else the split at the last hyphen, else a plain key).
struct ByteLintKey {
    /// `code-field` (true) or a plain CP key (false).
    var coded = false
    var code = ""
    var field = ""
    /// `dictionary.factor(code)?.label ?? code`, as `SegmentChecks.label` shows it.
    var label = ""
    /// Whether a factor was found (the key table's, or `dictionary.factor(code)`).
    var hasFactor = false
    /// The factor's type as the width check reads it, and as the message reads it (`dictionary.factor(code)`).
    var checkType: NumberType?
    var messageType = ""
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
    /// leaves to the full linter (`RtdInterval` …), 0 nothing to check.
    var plainClass: UInt8 = 0
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
        var hashes: [UInt64] = []
        var starts: [Int] = []
        var lengths: [Int] = []
        var arena: [UInt8] = []
        var entries: [ByteLintKey] = []

        mutating func clear() {
            for i in slots.indices { slots[i] = 0 }
            hashes.removeAll(keepingCapacity: true)
            starts.removeAll(keepingCapacity: true)
            lengths.removeAll(keepingCapacity: true)
            arena.removeAll(keepingCapacity: true)
            entries.removeAll(keepingCapacity: true)
        }
    }

    var tables = [Table(), Table(), Table()]
    var names: [String: Int] = [:]
    /// Times the tables were emptied because one reached the budget.
    var resets = 0

    @inline(__always)
    static func hash(_ buf: UnsafeBufferPointer<UInt8>, _ lo: Int, _ hi: Int) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for i in lo..<hi { h = (h ^ UInt64(buf[i])) &* 0x100_0000_01b3 }
        return h
    }

    mutating func intern(_ name: String) -> Int {
        if let id = names[name] { return id }
        let id = names.count
        names[name] = id
        return id
    }

    /// The index in `tables[slot].entries` of the key `buf[lo..<hi]`, resolving and storing it when new.
    mutating func lookup(_ buf: UnsafeBufferPointer<UInt8>, _ lo: Int, _ hi: Int, slot: Int, dialect: Dialect,
                         dictionary: CodeDictionary) -> Int {
        let h = Self.hash(buf, lo, hi)
        let length = hi - lo
        let mask = tables[slot].slots.count - 1
        var p = Int(truncatingIfNeeded: h) & mask
        while true {
            let e = Int(tables[slot].slots[p]) - 1
            if e < 0 { break }
            if tables[slot].hashes[e] == h && tables[slot].lengths[e] == length {
                let s = tables[slot].starts[e]
                var same = true
                tables[slot].arena.withUnsafeBufferPointer { a in
                    for k in 0..<length where a[s + k] != buf[lo + k] { same = false; break }
                }
                if same { return e }
            }
            p = (p + 1) & mask
        }
        if tables[slot].entries.count >= Self.budget {
            for t in tables.indices { tables[t].clear() }
            names.removeAll(keepingCapacity: true)
            resets += 1
            return lookup(buf, lo, hi, slot: slot, dialect: dialect, dictionary: dictionary)
        }
        let name = String(decoding: UnsafeBufferPointer(rebasing: buf[lo..<hi]), as: UTF8.self)
        let key = resolve(name, dialect: dialect, dictionary: dictionary)
        let e = tables[slot].entries.count
        tables[slot].entries.append(key)
        tables[slot].hashes.append(h)
        tables[slot].starts.append(tables[slot].arena.count)
        tables[slot].lengths.append(length)
        tables[slot].arena.append(contentsOf: UnsafeBufferPointer(rebasing: buf[lo..<hi]))
        tables[slot].slots[p] = Int32(e + 1)
        return e
    }

    static let specialPlain: Set<String> = ["RtdInterval", "MinInterval", "OverTime", "ReCount", "VaseNo", "Ctime", "CTime",
                                            "Stime", "CstartTime", "QnRtn", "ExeRtn", "NewPW", "PolId"]

    /// `SegmentChecks.checkCP`'s resolution of a key, with what its checks and messages read.
    mutating func resolve(_ name: String, dialect: Dialect, dictionary: CodeDictionary) -> ByteLintKey {
        var key = ByteLintKey()
        func coded(code: String, field: String, factor: CodeDictionary.Factor?, knownField: Bool, kind: CodeDictionary.FieldKind) {
            key.coded = true
            key.code = code
            key.field = field
            let messageFactor = dictionary.factor(code)
            key.label = messageFactor?.label ?? code
            key.messageType = messageFactor?.type.map { "\($0)" } ?? ""
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
            key.plainClass = SegmentChecks.timeFields.contains(name) ? 1 : Self.specialPlain.contains(name) ? 2 : 0
        }
        return key
    }
}
