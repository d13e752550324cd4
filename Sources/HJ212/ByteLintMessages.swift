/// The messages of `ByteLinter`'s diagnostics, written as UTF-8 into a caller's buffer, word for
/// word the messages `Linter.check` builds (the tests compare them on generated and mutated frames).
extension ByteLinter {
    @inline(__always)
    private func bytes(_ r: Range<Int>, to out: ByteBuffer) {
        frame.bytes.withUnsafeBufferPointer { out.append(UnsafeBufferPointer(rebasing: $0[r])) }
    }

    @inline(__always)
    private func text(_ s: String, to out: ByteBuffer) { out.append(string: s) }

    /// Literal text: appended straight from the binary (a `String` parameter made every literal
    /// piece a `String`, appended through `withUTF8`: a tenth of the text output's cost).
    @inline(__always)
    private func literal(_ s: StaticString, to out: ByteBuffer) { out.append(s) }

    private func number(_ n: Int, to out: ByteBuffer) { out.appendDecimal(n) }

    /// The declared CRC as sent (four hex digits in the byte path).
    public func appendDeclaredCRC(to out: ByteBuffer) { bytes(frame.crcField, to: out) }

    /// The HJ 212 CRC of the segment, four upper-case hex digits.
    public func appendComputedCRC(to out: ByteBuffer) {
        for k in 0..<4 { out.append(Self.hexDigit(computedCRC, k)) }
    }

    /// Both CRCs as text (`CRCCheck`'s `declared` and `computed`).
    public var crcTexts: (declared: String, computed: String) {
        let b = ByteBuffer(capacity: 8)
        appendDeclaredCRC(to: b)
        appendComputedCRC(to: b)
        let n = frame.crcField.count
        return b.withBytes { (String(decoding: $0[..<n], as: UTF8.self), String(decoding: $0[n...], as: UTF8.self)) }
    }

    private func flagDescription(_ flag: Int, to out: ByteBuffer) {
        guard flag >= 0 else { return literal("no Flag", to: out) }
        literal("Flag=", to: out)
        bytes(slotValue[5], to: out)
        literal(", version bits ", to: out)
        let version = flag >> 2
        for bit in stride(from: 5, through: 0, by: -1) { out.append(version >> bit & 1 == 1 ? 0x31 : 0x30) }
    }

    private func label(_ k: Int, to out: ByteBuffer) { text(keyTexts[k].label, to: out) }

    /// `code-field` of a coded key, the entry's name for a plain one.
    private func timeName(_ e: Int, _ k: Int, to out: ByteBuffer) {
        if keyEntries[k].coded {
            let key = keyTexts[k]
            text(key.code, to: out); out.append(0x2D); text(key.field, to: out)
        } else {
            bytes(entryNames[e], to: out)
        }
    }

    private func commandTitle(to out: ByteBuffer) {
        literal("CN=", to: out)
        bytes(slotValue[2], to: out)
        let cn = frame.bytes.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[slotValue[2]]), as: UTF8.self) }
        if let command = dictionary(dialect).command(cn) {
            literal(" (", to: out); text(command.nameZh, to: out); out.append(0x29)
        }
    }

    private func optionalDouble(_ v: Double?, to out: ByteBuffer) {
        if let v { out.appendDescription(of: v) } else { literal("–", to: out) }
    }

    /// Appends the message of `d` (a diagnostic of the frame judged last) as UTF-8.
    public func appendMessage(_ d: LazyDiagnostic, to out: ByteBuffer) {
        let title = dialect.titleText
        switch d.kind {
        case .crcLowercase:
            literal("CRC '", to: out); appendDeclaredCRC(to: out); literal("' is correct but in lower case; expected '", to: out)
            appendComputedCRC(to: out); out.append(0x27)
        case .crcMismatch:
            literal("declared CRC '", to: out); appendDeclaredCRC(to: out); literal("', computed '", to: out)
            appendComputedCRC(to: out); out.append(0x27)
        case .crcModbus, .crcModbusSwapped:
            literal("CRC '", to: out); appendDeclaredCRC(to: out)
            literal(d.kind == .crcModbus ? "' is CRC-16/MODBUS; the HJ 212 CRC is '" : "' is CRC-16/MODBUS with its bytes swapped; the HJ 212 CRC is '",
                 to: out)
            appendComputedCRC(to: out); out.append(0x27)
        case .trailerLF: literal("frame ends with LF alone; expected CR LF", to: out)
        case .trailerCR: literal("frame ends with CR alone; expected CR LF", to: out)
        case .trailerMissing: literal("no CR LF after the CRC", to: out)
        case .dialectMismatch:
            literal("expected an ", to: out); literal(Dialect(index: d.a).titleText, to: out); literal(" packet, found ", to: out)
            literal(Dialect(index: d.b).titleText, to: out); literal(" (", to: out); flagDescription(d.c, to: out); out.append(0x29)
        case .dialect2005, .dialect2025:
            literal(d.kind == .dialect2005 ? "HJ/T 212-2005 packet (" : "HJ 212-2025 packet (", to: out)
            flagDescription(d.a, to: out)
            literal(d.kind == .dialect2005 ? "); judged by the 2005 rules" : "); judged by the 2025 rules", to: out)
        case .fieldMissing:
            text(SegmentChecks.order2017[d.a], to: out); literal(" is missing; ", to: out); literal(title, to: out); literal(" requires", to: out)
            for slot in dialect == .hj2005 ? Self.required2005 : Self.required2017 {
                out.append(0x20); text(SegmentChecks.order2017[slot], to: out)
            }
        case .fieldOrder:
            literal("fields in the order", to: out)
            for slot in headerSlots { out.append(0x20); text(SegmentChecks.order2017[slot], to: out) }
            literal("; Table 3 orders them", to: out)
            for name in dialect == .hj2005 ? SegmentChecks.order2005 : SegmentChecks.order2017 {
                if let slot = SegmentChecks.headerSlot(name), slotItem[slot] >= 0 { out.append(0x20); text(name, to: out) }
            }
        case .qnLength:
            literal("QN '", to: out); bytes(slotValue[0], to: out); literal("' has ", to: out); number(slotValue[0].count, to: out)
            literal(" characters; expected 17 digits YYYYMMDDhhmmsszzz", to: out)
        case .qnDate:
            literal("QN '", to: out); bytes(slotValue[0], to: out); literal("' is not a real date and time (YYYYMMDDhhmmsszzz)", to: out)
        case .stFormat:
            literal("ST '", to: out); bytes(slotValue[1], to: out); literal("' is not 2 characters of 0-9 A-Z", to: out)
        case .stUnknown:
            literal("ST=", to: out); bytes(slotValue[1], to: out); literal(" is not in the system-code table of ", to: out); literal(title, to: out)
        case .cnFormat:
            literal("CN '", to: out); bytes(slotValue[2], to: out); literal("' is not 4 digits", to: out)
        case .cnUnknown:
            literal("CN=", to: out); bytes(slotValue[2], to: out); literal(" is not a command of ", to: out); literal(title, to: out)
            literal(" (vendor extension?)", to: out)
        case .pwFormat:
            literal("PW '", to: out); bytes(slotValue[3], to: out); literal("' has ", to: out); number(slotValue[3].count, to: out)
            literal(" characters; expected 6", to: out)
        case .mn2005:
            literal("MN '", to: out); bytes(slotValue[4], to: out); literal("' has ", to: out); number(slotValue[4].count, to: out)
            literal(" characters; HJ/T 212-2005 uses 14", to: out)
        case .mnFormat:
            let n = slotValue[4].count
            literal("MN '", to: out); bytes(slotValue[4], to: out); literal("' is ", to: out); number(n, to: out); literal(" characters", to: out)
            if d.a == 0 { literal(", not all 0-9 A-F", to: out) }
            literal("; expected 24 hex characters (EPC-96)", to: out)
            if n == 14 { literal(", 14 is the HJ/T 212-2005 form", to: out) }
        case .cpTooLong:
            literal("CP data area is ", to: out); number(d.a, to: out); literal(" bytes; ", to: out); literal(title, to: out)
            literal(" allows ", to: out); number(d.b, to: out)
        case .cpDuplicateKey:
            out.append(0x27); bytes(entryNames[d.a], to: out); literal("' appears twice in one group", to: out)
        case .cpFieldUnknownCoded:
            let key = keyTexts[d.a]
            out.append(0x27); text(key.code, to: out); out.append(0x2D); text(key.field, to: out); literal("': '", to: out)
            text(key.field, to: out)
            literal("' is not a field of Table 4 (Rtd Min Avg Max Cou Flag EFlag SampleTime ZsRtd … Info SN)", to: out)
        case .cpFieldUnknownPlain:
            literal("CP key '", to: out); bytes(entryNames[d.a], to: out); literal("' is not a field of Table 4", to: out)
        case .factorUnknown:
            out.append(0x27); text(keyTexts[d.a].code, to: out); literal("' is not a code of Appendix B (", to: out); literal(title, to: out)
            literal("); non-standard or vendor code", to: out)
        case .numberInvalid:
            label(d.a, to: out); out.append(0x20); text(keyTexts[d.a].field, to: out); literal("='", to: out)
            bytes(entryValues[d.b], to: out); literal("' is not a decimal number", to: out)
        case .dataFlagInvalid:
            label(d.a, to: out); literal(" Flag=", to: out); bytes(entryValues[d.b], to: out); literal("; expected one of ", to: out)
            text(dictionary(dialect).dataFlags.keys.sorted().joined(separator: " "), to: out)
        case .timeMilliseconds, .timeNotReal, .timeNot14:
            timeName(d.a, d.b, to: out); out.append(0x3D); bytes(entryValues[d.a], to: out)
            literal(d.kind == .timeMilliseconds ? " has milliseconds; expected 14 digits YYYYMMDDhhmmss"
                 : d.kind == .timeNotReal ? " is not a real date and time" : ": expected 14 digits YYYYMMDDhhmmss", to: out)
        case .numberWidth:
            let keys = keyTexts
            label(d.a, to: out); literal(": ", to: out)
            for i in d.b..<d.c {
                if i > d.b { literal(", ", to: out) }
                let e = widthItems[i]
                text(keys[entryKeys[e]].field, to: out); out.append(0x3D); bytes(entryValues[e], to: out)
            }
            literal(d.c - d.b == 1 ? " exceeds the default type " : " exceed the default type ", to: out)
            text(keys[d.a].messageType, to: out); literal(" of Appendix B", to: out)
        case .minAvgMax:
            let s = statItems[d.b]
            label(d.a, to: out)
            literal(": Min=", to: out); optionalDouble(s.min, to: out)
            literal(" Avg=", to: out); optionalDouble(s.avg, to: out)
            literal(" Max=", to: out); optionalDouble(s.max, to: out)
            literal("; expected Min ≤ Avg ≤ Max", to: out)
        case .dataTimeMissing:
            commandTitle(to: out); literal(" upload without DataTime", to: out)
        case .emptyUpload:
            commandTitle(to: out); literal(" upload carries no monitoring values", to: out)
        case .dataTimeAlignment:
            commandTitle(to: out); literal(" DataTime=", to: out); bytes(entryValues[d.a], to: out); literal("; expected ", to: out)
            switch d.b {
            case 2: literal("a whole minute (start of the MinInterval)", to: out)
            case 3: literal("a whole hour", to: out)
            case 0, 1: literal("midnight", to: out)
            default: literal("a 5-minute boundary", to: out)
            }
            literal(", the start of the period", to: out)
        }
    }
}

extension TerminalText {
    /// `appendSafe(_:limit:to:)` for text given as valid UTF-8 bytes: printable text is copied
    /// in bulk, anything else goes through `safe` as before.
    public static func appendSafe(validUTF8 bytes: UnsafeBufferPointer<UInt8>, limit: Int? = defaultLimit, to out: inout [UInt8]) {
        if let count = plainScalarCount(bytes) {
            if let limit, count > limit {
                if count == bytes.count {
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[..<limit]))
                    out.append(contentsOf: "… (\(bytes.count - limit) more characters)".utf8)
                    return
                }
            } else {
                out.append(contentsOf: bytes)
                return
            }
        }
        out.append(contentsOf: safe(String(decoding: bytes, as: UTF8.self), limit: limit).utf8)
    }

    /// `appendSafe(validUTF8:limit:to:)` into a `ByteBuffer` (the text lines of `lint`): plain
    /// text within the limit is copied as it is, anything else takes the rules above.
    public static func appendSafe(validUTF8 bytes: UnsafeBufferPointer<UInt8>, limit: Int? = defaultLimit, to out: ByteBuffer) {
        if let count = plainScalarCount(bytes), limit.map({ count <= $0 }) ?? true {
            out.append(bytes)
            return
        }
        var cut: [UInt8] = []
        appendSafe(validUTF8: bytes, limit: limit, to: &cut)
        out.append(cut)
    }

    /// `appendSafe(_:limit:to:)` of a string into a `ByteBuffer`.
    public static func appendSafe(_ text: String, limit: Int? = defaultLimit, to out: ByteBuffer) {
        var text = text
        text.withUTF8 { appendSafe(validUTF8: $0, limit: limit, to: out) }
    }
}
