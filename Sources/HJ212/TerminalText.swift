/// Text from the wire or from a user's file made safe to print on a terminal.
///
/// Bytes from a peer can hold escape sequences that move the cursor, retitle the window or
/// hide text; a tool that prints them raw lets a hostile logger rewrite the operator's screen.
/// Every text output of the tool passes wire-derived text through `TerminalText.safe`.
///
/// ```swift
/// TerminalText.safe("MN=\u{1B}[2J42")          // "MN=\\x1b[2J42"
/// TerminalText.safe(String(repeating: "A", count: 500), limit: 10)
/// // "AAAAAAAAAA… (490 more characters)"
/// ```
public enum TerminalText {
    /// The default number of characters of one quoted value shown in a message.
    public static let defaultLimit = 200

    /// Control characters (C0 except none, DEL, C1, and the Unicode bidi overrides) shown as escapes
    /// (`\x1b`, `\u{202e}`); CR, LF and TAB as `\r`, `\n`, `\t`. Text longer than `limit` characters
    /// is cut, with the count of what was cut. `limit` nil keeps the whole text.
    public static func safe(_ text: some StringProtocol, limit: Int? = defaultLimit) -> String {
        // Fast path: printable ASCII within the limit is returned as it is (one scan, no copy of
        // scalars one by one). Other text takes the scalar loop below.
        if let count = text.utf8.withContiguousStorageIfAvailable({ plainScalarCount($0) }), let count,
           limit.map({ count <= $0 }) ?? true {
            return String(text)
        }
        var out = ""
        var shown = 0
        var total = 0
        for scalar in text.unicodeScalars {
            total += 1
            if let limit, shown >= limit { continue }
            shown += 1
            append(scalar, to: &out)
        }
        if let limit, total > limit {
            out += "… (\(total - limit) more characters)"
        }
        return out
    }

    /// Appends `safe(text, limit:)` as UTF-8 to a byte buffer: for printable ASCII (what the wire
    /// mostly holds) the bytes are copied in bulk, without building a `String`.
    public static func appendSafe(_ text: String, limit: Int? = defaultLimit, to out: inout [UInt8]) {
        var text = text
        let done = text.withUTF8 { bytes -> Bool in
            guard let count = plainScalarCount(bytes) else { return false }
            if let limit, count > limit {
                // Only ASCII is cut here (one byte per scalar); other long text takes `safe`.
                guard count == bytes.count else { return false }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[..<limit]))
                out.append(contentsOf: "… (\(bytes.count - limit) more characters)".utf8)
            } else {
                out.append(contentsOf: bytes)
            }
            return true
        }
        if !done { out.append(contentsOf: safe(text, limit: limit).utf8) }
    }

    /// The number of scalars of valid UTF-8 text when none of them needs an escape (`needsEscape`
    /// read on the bytes: C0, DEL, C1 = C2 80…9F, bidi U+202A…202E = E2 80 AA…AE and
    /// U+2066…2069 = E2 81 A6…A9); nil when one does.
    @inline(__always)
    static func plainScalarCount(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        var count = 0
        var i = 0
        let n = bytes.count
        while i < n {
            // Eight bytes at a time while none is a C0 control, DEL, 0xC2 or 0xE2 (the only lead
            // bytes of what needs an escape): each byte that is not a continuation byte (10xxxxxx)
            // starts a scalar.
            if let base = bytes.baseAddress {
                while i + 8 <= n {
                    let w = UnsafeRawPointer(base).loadUnaligned(fromByteOffset: i, as: UInt64.self)
                    guard isPlainTextWord(w) else { break }
                    count += 8 - ((w & ByteWord.highs) & ~((w << 1) & ByteWord.highs)).nonzeroBitCount
                    i += 8
                }
                if i >= n { break }
            }
            let b = bytes[i]
            if b < 0x80 {
                if b < 0x20 || b == 0x7F { return nil }
                count += 1
            } else if b & 0xC0 != 0x80 {
                count += 1
                if b == 0xC2, i + 1 < n, bytes[i + 1] < 0xA0 { return nil }
                if b == 0xE2, i + 2 < n {
                    let b1 = bytes[i + 1], b2 = bytes[i + 2]
                    if (b1 == 0x80 && b2 >= 0xAA && b2 <= 0xAE) || (b1 == 0x81 && b2 >= 0xA6 && b2 <= 0xA9) { return nil }
                }
            }
            i += 1
        }
        return count
    }

    /// Whether no byte of `w` is below 0x20, 0x7F, 0xC2 or 0xE2.
    @inline(__always)
    static func isPlainTextWord(_ w: UInt64) -> Bool {
        ByteWord.hasBelow(w, 0x20) | ByteWord.has(w, 0x7F) | ByteWord.has(w, 0xC2) | ByteWord.has(w, 0xE2) == 0
    }

    /// Like `safe(_:limit:)` but keeps line breaks, for multi-line text that the tool itself
    /// composed around quoted values (each line is still cleaned of other control characters).
    public static func safeLines(_ text: some StringProtocol) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            if scalar == "\n" { out.unicodeScalars.append(scalar) } else { append(scalar, to: &out) }
        }
        return out
    }

    /// True when printing `text` raw could not affect a terminal.
    public static func isSafe(_ text: some StringProtocol) -> Bool {
        text.unicodeScalars.allSatisfy { !needsEscape($0) }
    }

    @inline(__always)
    static func needsEscape(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        return v < 0x20 || v == 0x7F || (0x80...0x9F).contains(v)
            || (0x202A...0x202E).contains(v) || (0x2066...0x2069).contains(v)
    }

    static func append(_ s: Unicode.Scalar, to out: inout String) {
        guard needsEscape(s) else {
            out.unicodeScalars.append(s)
            return
        }
        switch s {
        case "\r": out += "\\r"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        default:
            let hex = String(s.value, radix: 16)
            if s.value <= 0xFF {
                out += "\\x" + (hex.count < 2 ? "0" + hex : hex)
            } else {
                out += "\\u{" + hex + "}"
            }
        }
    }
}
