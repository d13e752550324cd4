/// What the linter concluded about one frame.
public struct FrameReport: Sendable {
    /// Position of the frame among the frames of the input (0-based).
    public var index: Int
    public var raw: RawFrame
    public var parsed: ParsedSegment
    /// The dialect the frame was judged by.
    public var dialect: Dialect
    /// The dialect its own markers say (Flag version bits, legacy signs).
    public var detectedDialect: Dialect
    public var crc: CRCCheck
    public var diagnostics: [Diagnostic]

    public var segment: DataSegment { parsed.segment }
    public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }
    public var worstSeverity: Severity? { diagnostics.map(\.severity).max() }
}

/// The CRC of a frame: what it declared, what the segment gives, and which variant it matched.
public struct CRCCheck: Sendable, Hashable {
    /// The four characters as sent.
    public var declared: String
    /// The HJ 212 CRC of the segment, upper case.
    public var computed: String
    /// The declared value is the HJ 212 CRC (in either case).
    public var ok: Bool
    /// A non-standard checksum that the declared value matched (`modbus`, `modbus-swapped`), if any.
    public var variant: CRC.Match?
}

/// Options of a lint run.
public struct LintOptions: Sendable {
    /// A required dialect, or nil to judge each packet by the dialect it declares.
    public var dialect: Dialect?
    /// Certification mode: field-tolerated defects count as errors.
    public var strict: Bool
    public var profiles: ProfileStore
    /// Rule profiles overlaying the code tables (e.g. `hebei-dynamic`); empty for the national tables.
    public var overlays: [String]
    /// Whether diagnostics carry their message text. Callers that only count findings (rules,
    /// severities, offsets) set it false: the messages are then never built (they are empty).
    public var messages: Bool

    public init(dialect: Dialect? = nil, strict: Bool = false, profiles: ProfileStore = .builtin, overlays: [String] = [],
                messages: Bool = true) {
        self.dialect = dialect
        self.strict = strict
        self.profiles = profiles
        self.overlays = overlays
        self.messages = messages
    }
}

/// Judges frames against HJ 212: framing, CRC, segment, CP syntax, values, replies and the
/// per-command contents of Appendix C. Every finding names a rule of `Rules`.
///
/// ```swift
/// let linter = try Linter(options: LintOptions(strict: true))
/// var decoder = FrameDecoder()
/// decoder.feed(bytes)
/// while case .frame(let frame)? = decoder.next() {
///     let report = linter.check(frame, index: 0)
///     for d in report.diagnostics { print(d.rule, d.severity, d.message) }
/// }
/// ```
public struct Linter: Sendable {
    public let options: LintOptions
    let dictionaries: [Dialect: CodeDictionary]

    /// Loads the dictionaries of every dialect from the options' profile store; a broken
    /// profile file throws a `ProfileError` naming the file and line. The built-in tables are
    /// not loaded here but on first use, dialect by dialect (`CodeDictionary.shared`): they are
    /// checked by the tests, and a command linting one edition's traffic pays for that edition's
    /// tables only.
    public init(options: LintOptions = LintOptions()) throws {
        self.options = options
        var d: [Dialect: CodeDictionary] = [:]
        if options.profiles.overrideDirectory != nil || !options.overlays.isEmpty {
            for dialect in [Dialect.hj2005, .hj2017, .hj2025] {
                d[dialect] = try CodeDictionary.load(dialect, from: options.profiles, overlays: options.overlays)
            }
        }
        dictionaries = d
    }

    public func dictionary(_ dialect: Dialect) -> CodeDictionary {
        dictionaries[dialect == .unknown ? .hj2017 : dialect] ?? CodeDictionary.shared(dialect)
    }

    /// Diagnostics for bytes the decoder skipped.
    public func diagnose(_ skipped: SkippedBytes) -> Diagnostic {
        let what: String
        switch skipped.reason {
        case .noise: what = "not part of any frame"
        case .brokenHeader: what = "a '##' whose length field is not 4 digits and that no CR LF closes"
        case .unframed: what = "a '##' whose frame could not be delimited (no CRC where the length says, no CR LF)"
        case .truncated: what = "a frame cut short: the next frame's '##' header came before its declared end"
        }
        return Diagnostic(rule: Rules.skippedBytes.id, severity: Rules.skippedBytes.severity(strict: options.strict),
                          offset: skipped.offset,
                          message: "skipped \(skipped.count) byte\(skipped.count == 1 ? "" : "s"): \(what); starts \(Linter.quote(skipped.sample))")
    }

    /// The diagnostic for the end of the input inside a frame: a frame cut short, or one whose
    /// data segment is complete but that no CRC of four hex digits and CR LF delimit.
    public func diagnose(_ tail: IncompleteTail) -> Diagnostic {
        let expected: String
        if let declared = tail.declaredLength, let crc = tail.crc {
            expected = "; the \(declared)-byte data segment its length field announces is complete, but the CRC after it, "
                + "\(Linter.quote(crc)), is not 4 hex digits and no CR LF follows a valid CRC"
        } else {
            expected = tail.declaredLength.map { "; its length field announces a \($0 + 12)-byte frame" } ?? ""
        }
        return Diagnostic(rule: Rules.incompleteTail.id, severity: Rules.incompleteTail.severity(strict: options.strict),
                          offset: tail.offset,
                          message: "input ends \(tail.count) bytes into a frame\(expected); starts \(Linter.quote(tail.sample))")
    }

    static func quote<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var text = "'"
        for byte in bytes.prefix(48) {
            switch byte {
            case 0x20...0x7E where byte != UInt8(ascii: "'") && byte != UInt8(ascii: "\\"): text.unicodeScalars.append(Unicode.Scalar(byte))
            case 0x0D: text += "\\r"
            case 0x0A: text += "\\n"
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                text += "\\x" + (hex.count < 2 ? "0" : "") + hex
            }
        }
        return text + (bytes.count > 48 ? "…'" : "'")
    }

    /// Judges one frame.
    public func check(_ raw: RawFrame, index: Int) -> FrameReport {
        check(raw, index: index, cache: nil)
    }

    /// Judges one frame, resolving keys outside the code tables through `cache` (one cache per
    /// linting loop; see `LintCache` for its budget). The report is the same with or without it.
    public func check(_ raw: RawFrame, index: Int, cache: LintCache?) -> FrameReport {
        var context = Context(linter: self, raw: raw)
        let crc = context.checkFrame()
        let parsed = SegmentParser.parse(raw.segmentBytes)
        let segmentBase = raw.offset + raw.segment.lowerBound
        for finding in parsed.findings { context.add(finding.rule, at: finding.offset.map { segmentBase + $0 }, finding.message) }
        let detected = Dialect.detect(parsed.segment)
        var dialect = options.dialect ?? (detected == .unknown ? .hj2017 : detected)
        if let required = options.dialect, detected != .unknown, detected != required {
            context.add(Rules.dialectMismatch, at: segmentBase,
                        "expected an \(required.title) packet, found \(detected.title) (\(Linter.flagDescription(parsed.segment)))")
            dialect = required
        } else if options.dialect == nil {
            if detected == .hj2005 {
                context.add(Rules.dialect2005, at: segmentBase, "HJ/T 212-2005 packet (\(Linter.flagDescription(parsed.segment))); judged by the 2005 rules")
            } else if detected == .hj2025 {
                context.add(Rules.dialect2025, at: segmentBase, "HJ 212-2025 packet (\(Linter.flagDescription(parsed.segment))); judged by the 2025 rules")
            }
        }
        var segmentContext = SegmentChecks(context: context, parsed: parsed, base: segmentBase, dialect: dialect,
                                           dictionary: dictionary(dialect), cache: cache)
        segmentContext.run()
        return FrameReport(index: index, raw: raw, parsed: parsed, dialect: dialect, detectedDialect: detected, crc: crc,
                           diagnostics: segmentContext.context.diagnostics)
    }

    static func flagDescription(_ segment: DataSegment) -> String {
        guard let text = segment.header("Flag") else { return "no Flag" }
        guard let flag = segment.flag else { return "Flag=\(text)" }
        let bits = String(flag.version, radix: 2)
        return "Flag=\(text), version bits \(String(repeating: "0", count: max(0, 6 - bits.count)) + bits)"
    }

    /// Collects diagnostics with severities resolved for the mode.
    struct Context {
        let linter: Linter
        let raw: RawFrame
        /// The findings so far, in a box: `add` does not mutate the context, so a message
        /// built lazily from the checker's own state does not overlap a write to it.
        let found = Found()

        final class Found {
            var diagnostics: [Diagnostic] = []
        }

        var diagnostics: [Diagnostic] { found.diagnostics }

        init(linter: Linter, raw: RawFrame) {
            self.linter = linter
            self.raw = raw
        }

        /// The message is built only when the options ask for messages.
        func add(_ rule: Rule, at offset: Int?, _ message: @autoclosure () -> String) {
            found.diagnostics.append(Diagnostic(rule: rule.id, severity: rule.severity(strict: linter.options.strict), offset: offset,
                                                message: linter.options.messages ? message() : ""))
        }

        /// Framing, length, CRC, trailer and encoding.
        mutating func checkFrame() -> CRCCheck {
            let base = raw.offset
            let segment = raw.segmentBytes
            let byteCount = segment.count
            if let declared = raw.declaredLength {
                if declared != byteCount {
                    let text = String(decoding: segment, as: UTF8.self)
                    // Byte-oriented firmware counts bytes; Java and C# count UTF-16 units, others code points.
                    if declared == text.utf16.count || declared == text.unicodeScalars.count {
                        add(Rules.lengthCountsCharacters, at: base + 2,
                            "declared length \(declared) counts characters; the data segment is \(byteCount) UTF-8 bytes (write \(Linter.fourDigits(byteCount)))")
                    } else {
                        add(Rules.lengthMismatch, at: base + 2,
                            "declared length \(Linter.fourDigits(declared)), the data segment has \(byteCount) bytes (expected \(Linter.fourDigits(byteCount)))")
                    }
                }
            } else {
                add(Rules.lengthNotDigits, at: base + 2,
                    "expected 4 decimal digits after '##', found \(Linter.quote(raw.lengthBytes)); the data segment has \(byteCount) bytes")
            }
            if byteCount > 1024 {
                add(Rules.segmentTooLong, at: base + 6,
                    "data segment is \(byteCount) bytes; at most 1024 are allowed, longer records must be split with PNUM/PNO")
            }
            let crcText = String(decoding: raw.crcBytes, as: UTF8.self)
            let computed = CRC.hj212(segment)
            let computedText = CRC.hex(computed)
            var check = CRCCheck(declared: crcText, computed: computedText, ok: false, variant: nil)
            let crcOffset = base + raw.crcField.lowerBound
            if let declared = CRC.parseHex(raw.crcBytes) {
                let (_, match) = CRC.match(declared: declared, computed: computed, segment: segment)
                switch match {
                case .hj212:
                    check.ok = true
                    if crcText != computedText {
                        add(Rules.crcLowercase, at: crcOffset, "CRC '\(crcText)' is correct but in lower case; expected '\(computedText)'")
                    }
                case .modbus:
                    check.variant = .modbus
                    add(Rules.crcVariantModbus, at: crcOffset, "CRC '\(crcText)' is CRC-16/MODBUS; the HJ 212 CRC is '\(computedText)'")
                case .modbusSwapped:
                    check.variant = .modbusSwapped
                    add(Rules.crcVariantModbusSwapped, at: crcOffset,
                        "CRC '\(crcText)' is CRC-16/MODBUS with its bytes swapped; the HJ 212 CRC is '\(computedText)'")
                case .none:
                    add(Rules.crcMismatch, at: crcOffset, "declared CRC '\(crcText)', computed '\(computedText)'")
                }
            } else {
                add(Rules.crcNotHex, at: crcOffset, "expected 4 hex digits before the trailer, found \(Linter.quote(raw.crcBytes)); the HJ 212 CRC is '\(computedText)'")
            }
            switch raw.trailer {
            case .crlf: break
            case .lf: add(Rules.trailerMissing, at: base + raw.crcField.upperBound, "frame ends with LF alone; expected CR LF")
            case .cr: add(Rules.trailerMissing, at: base + raw.crcField.upperBound, "frame ends with CR alone; expected CR LF")
            case .missing: add(Rules.trailerMissing, at: base + raw.crcField.upperBound, "no CR LF after the CRC")
            }
            checkEncoding(segment, base: base + raw.segment.lowerBound)
            return check
        }

        /// UTF-8 validity, and non-ASCII text outside `//…//` log values.
        mutating func checkEncoding(_ segment: ArraySlice<UInt8>, base: Int) {
            var hasNonASCII = false
            for byte in segment where byte >= 0x80 { hasNonASCII = true; break }
            guard hasNonASCII else { return }
            let bytes = Array(segment)
            if let bad = Linter.firstInvalidUTF8(bytes) {
                add(Rules.encodingNotUTF8, at: base + bad, "byte 0x\(String(bytes[bad], radix: 16, uppercase: true)) at segment offset \(bad) is not valid UTF-8 (GBK-encoded Chinese?)")
            }
            // Outside //…// runs.
            var i = 0
            var inLog = false
            while i < bytes.count {
                if i + 1 < bytes.count && bytes[i] == 0x2F && bytes[i + 1] == 0x2F {
                    inLog.toggle()
                    i += 2
                    continue
                }
                if !inLog && bytes[i] >= 0x80 {
                    add(Rules.nonASCIIOutsideLog, at: base + i, "non-ASCII byte at segment offset \(i) outside a //log// value; only log text may hold Chinese")
                    break
                }
                i += 1
            }
        }
    }

    static func fourDigits(_ n: Int) -> String {
        let s = String(n)
        return s.count >= 4 ? s : String(repeating: "0", count: 4 - s.count) + s
    }

    /// Offset of the first byte that breaks UTF-8 (RFC 3629: no overlong forms, no surrogates,
    /// nothing above U+10FFFF), or nil.
    static func firstInvalidUTF8(_ bytes: [UInt8]) -> Int? {
        var i = 0
        let n = bytes.count
        while i < n {
            let b = bytes[i]
            if b < 0x80 { i += 1; continue }
            let need: Int
            var lo: UInt8 = 0x80, hi: UInt8 = 0xBF  // allowed range of the second byte
            switch b {
            case 0xC2...0xDF: need = 1
            case 0xE0: need = 2; lo = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: need = 2
            case 0xED: need = 2; hi = 0x9F
            case 0xF0: need = 3; lo = 0x90
            case 0xF1...0xF3: need = 3
            case 0xF4: need = 3; hi = 0x8F
            default: return i
            }
            guard i + need < n else { return i }
            guard bytes[i + 1] >= lo && bytes[i + 1] <= hi else { return i }
            for k in stride(from: 2, through: need, by: 1) where bytes[i + k] & 0xC0 != 0x80 { return i }
            i += need + 1
        }
        return nil
    }
}
