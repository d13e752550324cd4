import Glibc

/// A finding of `ByteLinter`: rule, severity and offset at once, the message only when asked
/// (`ByteLinter.appendMessage`), from ranges of the frame and what the checks recorded.
public struct LazyDiagnostic: Sendable {
    public let rule: String
    public let severity: Severity
    public let offset: Int?
    let kind: ByteLinter.MessageKind
    /// Payload of the message (entry or key indices, counts), by kind.
    let a: Int, b: Int, c: Int
}

/// The linter's fast path for well-formed frames: it judges a frame on the bytes of the frame
/// (header fields and CP entries as ranges into `RawFrame.bytes`), with no `DataSegment`, no
/// `String` and no dictionary per frame, and reuses its storage from frame to frame (no
/// allocation per frame in the steady state). Diagnostics are rules and offsets; their messages
/// are written only when printed.
///
/// It takes the frames whose every finding it can state exactly as `Linter.check` would: a
/// printable-ASCII segment without spaces, `;`-separated known header fields, `CP=&&…&&`, plain
/// `code-field=value` entries, the common upload commands. For anything else `lint` returns
/// false and the caller uses `Linter.check` (which stays the reference: the two are compared on
/// generated and mutated frames in `ByteLinterTests` and by the `linter` fuzz harness).
///
/// Not thread-safe: one per linting loop. Its state is read and written only by its own methods,
/// one at a time, so the per-access exclusivity checks of class properties (a third of the time
/// of a lint run in a profile) are turned off for it.
public final class ByteLinter {
    public let linter: Linter
    let strict: Bool
    @exclusivity(unchecked) var keys = ByteLintKeys()

    // The frame judged last (valid after `lint` returned true). Read by other modules through
    // inlinable getters: a client module reading a stored property of this class checks the
    // access at run time (it does not see `@exclusivity(unchecked)`; 7 checks per frame were 2 %
    // of `lint`), a getter compiled here does not.
    @usableFromInline @exclusivity(unchecked) var storedFrame = RawFrame(offset: 0, bytes: [], declaredLength: nil, segment: 0..<0,
                                                                        crcField: 0..<0, trailer: .crlf, boundary: .declaredLength)
    @usableFromInline @exclusivity(unchecked) var storedIndex = 0
    @usableFromInline @exclusivity(unchecked) var storedDialect = Dialect.hj2017
    @usableFromInline @exclusivity(unchecked) var storedDetectedDialect = Dialect.hj2017
    @usableFromInline @exclusivity(unchecked) var storedDiagnostics: [LazyDiagnostic] = []
    @usableFromInline @exclusivity(unchecked) var storedComputedCRC: UInt16 = 0
    @usableFromInline @exclusivity(unchecked) var storedCRCOK = false
    @usableFromInline @exclusivity(unchecked) var storedCRCVariant: CRC.Match?

    @inlinable public var frame: RawFrame { storedFrame }
    @inlinable public var index: Int { storedIndex }
    @inlinable public var dialect: Dialect { storedDialect }
    @inlinable public var detectedDialect: Dialect { storedDetectedDialect }
    @inlinable public var diagnostics: [LazyDiagnostic] { storedDiagnostics }
    /// The HJ 212 CRC of the segment, whether the declared one is it (either case), a variant it matched.
    @inlinable public var computedCRC: UInt16 { storedComputedCRC }
    @inlinable public var crcOK: Bool { storedCRCOK }
    @inlinable public var crcVariant: CRC.Match? { storedCRCVariant }

    // Per-frame tables, emptied and refilled by each `lint` (`ScratchList`: no uniqueness check
    // per append). Readers outside see them until the next `lint`.
    /// Header fields in order of appearance: slot (`SegmentChecks.order2017`) and value range.
    public let headerSlots = ScratchList<Int>()
    public let headerValues = ScratchList<Range<Int>>()
    let headerItemStart = ScratchList<Int>()
    /// Value range of each slot (`-1..<-1`: absent), and where its item starts.
    @exclusivity(unchecked) var slotValue = [Range<Int>](repeating: -1..<(-1), count: 8)
    @exclusivity(unchecked) var slotItem = [Int](repeating: -1, count: 8)

    /// CP entries: name and value ranges, key index; `groupEnds[g]` is one past the last entry of group g.
    public let entryNames = ScratchList<Range<Int>>(capacity: 64)
    public let entryValues = ScratchList<Range<Int>>(capacity: 64)
    let entryKeys = ScratchList<Int>(capacity: 64)
    public let groupEnds = ScratchList<Int>()
    @exclusivity(unchecked) var areaStart = 0, areaEnd = 0
    @exclusivity(unchecked) var keySlot = 1

    // Scratch for the CP checks (what messages read stays until the next frame).
    let unknownCodes = ScratchList<Int>()
    let unknownFields = ScratchList<Int>()
    let width = ScratchList<(codeKey: Int, entry: Int)>()
    let widthCodes = ScratchList<Int>()
    let widthItems = ScratchList<Int>()
    let stats = ScratchList<(key: Int, min: Double?, avg: Double?, max: Double?)>()
    let brokenStats = ScratchList<(key: Int, min: Double?, avg: Double?, max: Double?)>()
    let statItems = ScratchList<(min: Double?, avg: Double?, max: Double?)>()
    @exclusivity(unchecked) var stMemo = ByteLintMemo()
    @exclusivity(unchecked) var cnMemo = ByteLintMemo()
    @exclusivity(unchecked) var flagMemo = ByteLintMemo()

    /// `linter.dictionary(_:)` of each dialect, by `Dialect.index`, taken when a frame of the dialect
    /// first needs it (a dialect's tables are built on first use: traffic of one edition does not
    /// pay for the others' at start).
    /// Each held in a class: a `CodeDictionary` copied out of an array retains and releases its
    /// twenty-odd tables, which once per frame was a few percent of lint.
    @exclusivity(unchecked) private var dictionaryCache: [DictionaryRef?] = [nil, nil, nil, nil]

    final class DictionaryRef {
        let value: CodeDictionary
        /// Whether every text of the dictionary that a message can quote (factor labels, command
        /// names, data-flag codes) is free of what `TerminalText` escapes: true for the built-in
        /// tables; a profile directory could hold anything. Found the first time text output asks.
        private(set) lazy var textsAreTerminalSafe: Bool =
            value.factors.values.allSatisfy { TerminalText.isSafe($0.label) }
            && value.factorPatterns.allSatisfy { TerminalText.isSafe($0.label) }
            && value.commands.values.allSatisfy { TerminalText.isSafe($0.nameZh) }
            && value.dataFlags.keys.allSatisfy { TerminalText.isSafe($0) }

        init(_ value: CodeDictionary) { self.value = value }
    }

    /// Whether the messages of the frame judged last can be shown without `TerminalText`'s scan:
    /// they quote only the segment (printable ASCII, or the frame would not be on this path), the
    /// declared CRC (four hex digits, or `run` declines the frame), numbers, literals and the
    /// dictionary's texts.
    public var messagesAreTerminalSafe: Bool { dictionaryRef(dialect).textsAreTerminalSafe }

    func dictionaryRef(_ dialect: Dialect) -> DictionaryRef {
        let i = Int(dialect.index)
        if let d = dictionaryCache[i] { return d }
        let d = DictionaryRef(linter.dictionary(dialect))
        dictionaryCache[i] = d
        return d
    }

    func dictionary(_ dialect: Dialect) -> CodeDictionary { dictionaryRef(dialect).value }

    public init(linter: Linter) {
        self.linter = linter
        strict = linter.options.strict
        storedDiagnostics.reserveCapacity(32)
    }

    /// The key table of the last frame's dialect.
    var keyEntries: [ByteLintKey] { keys.tables[keySlot].entries }
    /// Their texts.
    var keyTexts: [ByteLintKeyText] { keys.tables[keySlot].texts }

    public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }

    /// Judges `raw`; false when the frame needs the full linter (nothing usable is left then).
    public func lint(_ raw: RawFrame, index: Int) -> Bool {
        storedFrame = raw
        storedIndex = index
        storedDiagnostics.removeAll(keepingCapacity: true)
        let ok = raw.bytes.withUnsafeBufferPointer { run($0) }
        if !ok { storedDiagnostics.removeAll(keepingCapacity: true) }
        return ok
    }

    /// The report `Linter.check` gives, built from what was found (for tests and callers that
    /// want `Diagnostic`s; the messages are built here).
    public func materializedDiagnostics() -> [Diagnostic] {
        let scratch = ByteBuffer(capacity: 256)
        return diagnostics.map { d in
            scratch.removeAll()
            appendMessage(d, to: scratch)
            return Diagnostic(rule: d.rule, severity: d.severity, offset: d.offset,
                              message: linter.options.messages ? scratch.withBytes { String(decoding: $0, as: UTF8.self) } : "")
        }
    }

    @inline(__always)
    func add(_ rule: Rule, _ offset: Int?, _ kind: MessageKind, _ a: Int = 0, _ b: Int = 0, _ c: Int = 0) {
        storedDiagnostics.append(LazyDiagnostic(rule: rule.id, severity: rule.severity(strict: strict), offset: offset, kind: kind, a: a, b: b, c: c))
    }

    enum MessageKind: UInt8, Sendable {
        case crcLowercase, crcMismatch, crcModbus, crcModbusSwapped, trailerLF, trailerCR, trailerMissing
        case dialectMismatch, dialect2005, dialect2025
        case fieldMissing, fieldOrder, qnLength, qnDate, stFormat, stUnknown, cnFormat, cnUnknown, pwFormat, mn2005, mnFormat
        case cpTooLong, cpDuplicateKey, cpFieldUnknownCoded, cpFieldUnknownPlain, factorUnknown, numberInvalid, dataFlagInvalid
        case timeMilliseconds, timeNotReal, timeNot14, numberWidth, minAvgMax
        case dataTimeMissing, emptyUpload, dataTimeAlignment
    }

    // MARK: Reading the frame

    private static let slotNames: [[UInt8]] = SegmentChecks.order2017.map { Array($0.utf8) }

    /// Slot of a header name, or -1.
    @inline(__always)
    static func slot(_ buf: UnsafeBufferPointer<UInt8>, _ lo: Int, _ hi: Int) -> Int {
        let a = lo
        switch hi - lo {
        case 2:
            switch (buf[a], buf[a + 1]) {
            case (0x51, 0x4E): return 0  // QN
            case (0x53, 0x54): return 1  // ST
            case (0x43, 0x4E): return 2  // CN
            case (0x50, 0x57): return 3  // PW
            case (0x4D, 0x4E): return 4  // MN
            default: return -1
            }
        case 3: return buf[a] == 0x50 && buf[a + 1] == 0x4E && buf[a + 2] == 0x4F ? 7 : -1
        case 4:
            if buf[a] == 0x46 && buf[a + 1] == 0x6C && buf[a + 2] == 0x61 && buf[a + 3] == 0x67 { return 5 }
            if buf[a] == 0x50 && buf[a + 1] == 0x4E && buf[a + 2] == 0x55 && buf[a + 3] == 0x4D { return 6 }
            return -1
        default: return -1
        }
    }

    /// The first index in `from..<end` holding `a`, `b` or `c`, or `end`: eight bytes at a time (the
    /// separators of a frame are a few among its bytes; the byte-by-byte loops were a tenth of lint).
    /// The lowest byte `ByteWord.has` flags is always a match (a false flag needs a borrow from a
    /// match below it), so the first flagged byte is the answer.
    @inline(__always)
    static func firstOf(_ buf: UnsafeBufferPointer<UInt8>, _ from: Int, _ end: Int, _ a: UInt8, _ b: UInt8, _ c: UInt8) -> Int {
        var i = from
        if let base = buf.baseAddress {
            let raw = UnsafeRawPointer(base)
            while i + 8 <= end {
                let w = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                let m = ByteWord.has(w, a) | ByteWord.has(w, b) | ByteWord.has(w, c)
                if m != 0 { return i + (m.trailingZeroBitCount >> 3) }
                i += 8
            }
        }
        while i < end {
            let x = buf[i]
            if x == a || x == b || x == c { return i }
            i += 1
        }
        return end
    }

    private func run(_ buf: UnsafeBufferPointer<UInt8>) -> Bool {
        let raw = frame
        let s0 = raw.segment.lowerBound, s1 = raw.segment.upperBound
        let base = raw.offset
        // Preconditions of the byte path: printable ASCII without spaces, the declared length right.
        guard raw.declaredLength == s1 - s0, s1 - s0 <= 1024, raw.crcField.count == 4 else { return false }
        // Both scans below run on every frame (issue 17: the byte loops of this function were a
        // seventh of `lint` on the real-traffic stand-in in a profile): the printable check is one
        // pass without an early exit, which the compiler vectorises (the largest `b - 0x21` of the
        // segment), and the search for `CP=&&` jumps from `C` to `C` with libc's `memchr`. They
        // decide as the byte-by-byte loops they replaced did; ByteLinterTests and LintBytePathTests
        // compare the outcome with `Linter.check`.
        var widest: UInt8 = 0
        for i in s0..<s1 { widest = max(widest, buf[i] &- 0x21) }
        if widest >= 0x5E { return false }
        // The first `CP=&&`, right after a `;`, and the segment ending in `&&`.
        var cp = -1
        if let start = buf.baseAddress {
            var from = s0
            // Candidates `C` at from…s1-5 (the whole marker inside the segment).
            while s1 - 4 > from, let found = memchr(start + from, 0x43, s1 - 4 - from) {
                let c = UnsafeRawPointer(start).distance(to: UnsafeRawPointer(found))
                if buf[c + 1] == 0x50 && buf[c + 2] == 0x3D && buf[c + 3] == 0x26 && buf[c + 4] == 0x26 { cp = c; break }
                from = c + 1
            }
        }
        guard cp > s0, buf[cp - 1] == 0x3B, s1 - (cp + 5) >= 2, buf[s1 - 1] == 0x26, buf[s1 - 2] == 0x26 else { return false }
        areaStart = cp + 5
        areaEnd = s1 - 2
        // Header: known names, each once, `name=value` separated by `;`.
        headerSlots.removeAll()
        headerValues.removeAll()
        headerItemStart.removeAll()
        for k in 0..<8 { slotValue[k] = -1..<(-1); slotItem[k] = -1 }
        var itemStart = s0
        var i = s0
        while true {
            // The next `;` or `,` (the byte before `CP=&&` is a `;`).
            i = Self.firstOf(buf, i, cp, 0x3B, 0x2C, 0x2C)
            if i == cp { break }
            if buf[i] == 0x2C { return false }
            guard itemStart < i else { return false }
            var eq = itemStart
            while eq < i && buf[eq] != 0x3D { eq += 1 }
            guard eq < i else { return false }
            let slot = Self.slot(buf, itemStart, eq)
            guard slot >= 0, slotItem[slot] < 0 else { return false }
            slotItem[slot] = itemStart
            slotValue[slot] = (eq + 1)..<i
            headerSlots.append(slot)
            headerValues.append((eq + 1)..<i)
            headerItemStart.append(itemStart)
            itemStart = i + 1
            i += 1
        }
        // Flag: digits only, 0…255 (other Flags go to the full linter).
        var flag = -1
        if slotItem[5] >= 0 {
            let r = slotValue[5]
            guard !r.isEmpty, r.count <= 3 else { return false }
            flag = 0
            for k in r { let d = buf[k] &- 48; guard d < 10 else { return false }; flag = flag * 10 + Int(d) }
            guard flag <= 255 else { return false }
        }
        // PNUM/PNO, replies and the commands with their own parameter rules: the full linter.
        if slotItem[6] >= 0 || slotItem[7] >= 0 { return false }
        let command = commandClass(buf)
        if command == .fallback { return false }
        // CP entries.
        entryNames.removeAll()
        entryValues.removeAll()
        entryKeys.removeAll()
        groupEnds.removeAll()
        if areaStart < areaEnd {
            if buf[areaStart] == 0x7B { return false }  // `{`: encrypted
            var start = areaStart
            var eq = -1
            i = areaStart
            while true {
                // The next `=`, `;` or `,`; the end of the area closes the last group as a `;` would.
                i = Self.firstOf(buf, i, areaEnd, 0x3D, 0x3B, 0x2C)
                let b: UInt8 = i < areaEnd ? buf[i] : 0x3B
                if b == 0x3D {
                    if eq < 0 {
                        eq = i
                        if i + 2 < areaEnd && buf[i + 1] == 0x2F && buf[i + 2] == 0x2F { return false }  // `//log//`
                    }
                } else {
                    guard eq > start, start < i else { return false }
                    entryNames.append(start..<eq)
                    entryValues.append((eq + 1)..<i)
                    if b == 0x3B { groupEnds.append(entryNames.count) }
                    start = i + 1
                    eq = -1
                    if i == areaEnd { break }
                }
                i += 1
            }
        }
        // Dialect.
        let detected: Dialect
        if flag >= 0 {
            switch flag >> 2 {
            case 0: detected = .hj2005
            case 1: detected = .hj2017
            case 2: detected = .hj2025
            default: detected = .unknown
            }
        } else {
            detected = slotItem[2] >= 0 || slotItem[1] >= 0 ? .hj2005 : .unknown
        }
        let options = linter.options
        var dialect = options.dialect ?? (detected == .unknown ? .hj2017 : detected)
        storedDetectedDialect = detected
        // A split Flag without PNUM/PNO (reported outside 2005): the full linter.
        if flag >= 0 && flag & 2 != 0 && dialect != .hj2005 { return false }
        keySlot = LintCache.slot(dialect)
        let dictionary = dictionaryRef(dialect)
        // Keys (a key longer than LintCache.maxKeyBytes: the full linter).
        for e in entryNames.indices {
            let r = entryNames[e]
            guard r.count <= LintCache.maxKeyBytes else { return false }
            let before = keys.resets
            let k = keys.lookup(buf, r.lowerBound, r.upperBound, slot: keySlot, dialect: dialect, dictionary: dictionary)
            if keys.resets != before {
                // The tables were emptied: the keys of this frame resolved so far are gone; start over.
                return run(buf)
            }
            entryKeys.append(k)
            let key = keys.tables[keySlot].entries[k]
            if key.coded {
                if key.kind == .runningHours || key.kind == .runState { return false }
                // An Info value outside its code's enumeration: the full linter writes the finding.
                if key.infoTable >= 0 {
                    let value = String(decoding: UnsafeBufferPointer(rebasing: buf[entryValues[e]]), as: UTF8.self)
                    if keys.tables[keySlot].infoValues[Int(key.infoTable)][value] == nil { return false }
                }
            } else if key.plainClass == 2 {
                return false
            } else if key.plainClass == 3 {
                // PolId not a code of Appendix B: the full linter writes the finding.
                if dictionary.value.factor(String(decoding: UnsafeBufferPointer(rebasing: buf[entryValues[e]]), as: UTF8.self)) == nil { return false }
            }
        }
        // Frame checks (Linter.Context.checkFrame): length and size hold by the preconditions.
        let segment = UnsafeBufferPointer(rebasing: buf[s0..<s1])
        storedComputedCRC = CRC.hj212(buffer: segment)
        storedCRCOK = false
        storedCRCVariant = nil
        let crcAt = base + raw.crcField.lowerBound
        guard let declared = CRC.parseHex(UnsafeBufferPointer(rebasing: buf[raw.crcField])) else { return false }
        switch CRC.match(declared: declared, computed: storedComputedCRC, segment: segment).match {
        case .hj212:
            storedCRCOK = true
            if !crcIsUpper(buf) { add(Rules.crcLowercase, crcAt, .crcLowercase) }
        case .modbus:
            storedCRCVariant = .modbus
            add(Rules.crcVariantModbus, crcAt, .crcModbus)
        case .modbusSwapped:
            storedCRCVariant = .modbusSwapped
            add(Rules.crcVariantModbusSwapped, crcAt, .crcModbusSwapped)
        case .none:
            add(Rules.crcMismatch, crcAt, .crcMismatch)
        }
        let trailerAt = base + raw.crcField.upperBound
        switch raw.trailer {
        case .crlf: break
        case .lf: add(Rules.trailerMissing, trailerAt, .trailerLF)
        case .cr: add(Rules.trailerMissing, trailerAt, .trailerCR)
        case .missing: add(Rules.trailerMissing, trailerAt, .trailerMissing)
        }
        // Dialect findings (Linter.check).
        let segmentBase = base + s0
        if let required = options.dialect, detected != .unknown, detected != required {
            add(Rules.dialectMismatch, segmentBase, .dialectMismatch, Int(required.index), Int(detected.index), flag)
            dialect = required
        } else if options.dialect == nil {
            if detected == .hj2005 {
                add(Rules.dialect2005, segmentBase, .dialect2005, flag)
            } else if detected == .hj2025 {
                add(Rules.dialect2025, segmentBase, .dialect2025, flag)
            }
        }
        storedDialect = dialect
        checkHeader(buf, dictionary: dictionary, flag: flag, base: segmentBase)
        let hasMeasurements = checkCP(buf, dictionary: dictionary)
        return checkCommand(buf, command, hasMeasurements: hasMeasurements)
    }

    private func crcIsUpper(_ buf: UnsafeBufferPointer<UInt8>) -> Bool {
        let c = frame.crcField.lowerBound
        for k in 0..<4 where buf[c + k] != Self.hexDigit(computedCRC, k) { return false }
        return true
    }

    /// The k-th upper-case hex digit of a CRC.
    @inline(__always)
    static func hexDigit(_ v: UInt16, _ k: Int) -> UInt8 {
        let nibble = UInt8((v >> UInt16(12 - 4 * k)) & 0xF)
        return nibble < 10 ? 48 + nibble : 55 + nibble
    }

    @inline(__always)
    func offset(_ i: Int) -> Int { frame.offset + i }

    @inline(__always)
    func value(_ slot: Int) -> Range<Int>? { slotItem[slot] >= 0 ? slotValue[slot] : nil }
}

extension Dialect {
    /// A small number for message payloads (`ByteLinter`).
    var index: UInt8 {
        switch self {
        case .hj2005: 0
        case .hj2017: 1
        case .hj2025: 2
        case .unknown: 3
        }
    }

    init(index: Int) {
        self = [Dialect.hj2005, .hj2017, .hj2025, .unknown][index]
    }
}

extension ByteLinter {
    /// The value range of a header field by its slot in `SegmentChecks.order2017` (0 QN … 7 PNO), nil when absent.
    public func headerValue(_ slot: Int) -> Range<Int>? { value(slot) }

    /// The name of a header slot.
    public static func headerName(_ slot: Int) -> String { SegmentChecks.order2017[slot] }
}
