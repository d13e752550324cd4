/// A JSON writer that appends UTF-8 bytes to one reusable buffer: no `String` or dictionary per
/// value, separators placed by the writer. The one writer behind every JSON the tool emits at
/// volume (lint's JSON Lines, traces, reports); `JSONValue.serialized` uses it too.
///
/// ```swift
/// var w = JSONWriter()
/// w.beginObject()
/// w.key("rule"); w.string("frame.crc-mismatch")
/// w.key("offset"); w.int(42)
/// w.endObject()
/// w.newline()
/// // w.bytes: {"rule":"frame.crc-mismatch","offset":42}\n
/// ```
///
/// Strings are escaped per RFC 8259: `"` and `\`, and every control character (U+0000–U+001F as
/// `\n`, `\r`, `\t` or `\u00XX`; DEL and C1 controls as `\u00XX` too, so that a
/// terminal showing the output is never driven by bytes from the wire). Everything else is
/// copied as UTF-8 in runs. Non-finite doubles are written as `null`.
public struct JSONWriter: Sendable {
    /// The output so far.
    public var bytes: [UInt8]
    /// One entry per open container: whether a value has been written into it yet.
    private var first: [Bool] = []
    /// Set after `key(_:)`: the next value follows the colon, without a separator.
    private var afterKey = false

    public init(capacity: Int = 4096) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Clears the output, keeping its storage (one buffer reused for every line).
    public mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
        first.removeAll(keepingCapacity: true)
        afterKey = false
    }

    @inline(__always)
    private mutating func separate() {
        if afterKey {
            afterKey = false
            return
        }
        if let last = first.last {
            if last { first[first.count - 1] = false } else { bytes.append(UInt8(ascii: ",")) }
        }
    }

    public mutating func beginObject() {
        separate()
        bytes.append(UInt8(ascii: "{"))
        first.append(true)
    }

    public mutating func endObject() {
        first.removeLast()
        bytes.append(UInt8(ascii: "}"))
    }

    public mutating func beginArray() {
        separate()
        bytes.append(UInt8(ascii: "["))
        first.append(true)
    }

    public mutating func endArray() {
        first.removeLast()
        bytes.append(UInt8(ascii: "]"))
    }

    /// An object member's name; the next call writes its value.
    public mutating func key(_ name: StaticString) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { appendEscaped($0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
        afterKey = true
    }

    /// An object member's name given at run time (escaped).
    public mutating func key(_ name: String) {
        string(name)
        bytes.append(UInt8(ascii: ":"))
        afterKey = true
    }

    public mutating func string(_ value: String) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { appendEscaped($0) }
        bytes.append(UInt8(ascii: "\""))
    }

    public mutating func string(_ value: Substring) {
        string(String(value))
    }

    /// A string given as UTF-8 bytes (for example a slice of a frame). Bytes that are not valid
    /// UTF-8 are written as U+FFFD, as `String(decoding:as:)` would show them.
    public mutating func string<C: Collection>(utf8 value: C) where C.Element == UInt8 {
        separate()
        bytes.append(UInt8(ascii: "\""))
        let done: Bool? = value.withContiguousStorageIfAvailable { buffer in
            guard Self.isASCII(buffer) else { return false }
            appendEscaped(buffer)
            return true
        }
        if done != true {
            var text = String(decoding: value, as: UTF8.self)
            text.withUTF8 { appendEscaped($0) }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// A string given as bytes the caller vouches are valid UTF-8 (text it assembled from
    /// `String`s and ASCII): escaped and copied without building a `String`.
    public mutating func string(validUTF8 value: UnsafeBufferPointer<UInt8>) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        appendEscaped(value)
        bytes.append(UInt8(ascii: "\""))
    }

    public mutating func string(validUTF8 value: [UInt8]) {
        value.withUnsafeBufferPointer { string(validUTF8: $0) }
    }

    public mutating func int(_ value: Int) {
        separate()
        Self.appendDecimal(value, to: &bytes)
    }

    /// Appends an integer's decimal digits (as `String(value)` spells it) to a byte buffer,
    /// without building a `String`.
    public static func appendDecimal(_ value: Int, to bytes: inout [UInt8]) {
        if value == 0 {
            bytes.append(UInt8(ascii: "0"))
            return
        }
        var magnitude = value.magnitude
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { d in
            while magnitude > 0 {
                d[count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            }
            for i in stride(from: count - 1, through: 0, by: -1) { bytes.append(d[i]) }
        }
    }

    public mutating func double(_ value: Double) {
        guard value.isFinite else {
            null()
            return
        }
        separate()
        bytes.append(contentsOf: String(value).utf8)
    }

    public mutating func bool(_ value: Bool) {
        separate()
        bytes.append(contentsOf: value ? Self.trueBytes : Self.falseBytes)
    }

    public mutating func null() {
        separate()
        bytes.append(contentsOf: Self.nullBytes)
    }

    /// Optional values: the value or `null`.
    public mutating func int(_ value: Int?) {
        if let value { int(value) } else { null() }
    }

    public mutating func string(_ value: String?) {
        if let value { string(value) } else { null() }
    }

    /// Raw JSON text written as a value (the caller vouches that it is JSON).
    public mutating func raw(_ json: [UInt8]) {
        separate()
        bytes.append(contentsOf: json)
    }

    /// A line break, for JSON Lines (outside any container).
    public mutating func newline() {
        bytes.append(0x0A)
    }

    /// Writes a `JSONValue` tree.
    public mutating func value(_ v: JSONValue) {
        switch v {
        case .null: null()
        case .bool(let b): bool(b)
        case .int(let i): int(i)
        case .double(let d): double(d)
        case .string(let s): string(s)
        case .array(let items):
            beginArray()
            for item in items { value(item) }
            endArray()
        case .object(let members):
            beginObject()
            for (k, item) in members {
                key(k)
                value(item)
            }
            endObject()
        }
    }

    private static let trueBytes: [UInt8] = Array("true".utf8)
    private static let falseBytes: [UInt8] = Array("false".utf8)
    private static let nullBytes: [UInt8] = Array("null".utf8)

    @inline(__always)
    private static func isASCII(_ buffer: UnsafeBufferPointer<UInt8>) -> Bool {
        for b in buffer where b >= 0x80 { return false }
        return true
    }

    private mutating func appendEscaped(_ buffer: UnsafeBufferPointer<UInt8>) {
        Self.appendEscaped(buffer, to: &bytes)
    }

    /// Whether all eight bytes of `w` are copied as they are: printable ASCII other than `"` and
    /// `\\`, or bytes of UTF-8 sequences (≥ 0x80) other than 0xC2 (which starts the C1 controls).
    @inline(__always)
    static func isPlainWord(_ w: UInt64) -> Bool {
        ByteWord.hasBelow(w, 0x20) | ByteWord.has(w, 0x22) | ByteWord.has(w, 0x5C) | ByteWord.has(w, 0x7F) | ByteWord.has(w, 0xC2) == 0
    }

    /// How the byte at `i` is written in a JSON string: 0 as it is; else the short escape letter
    /// (`n`, `r`, `t`, `"`, `\\`), 0xFF for `\u00XX` of this byte (other C0 controls, DEL), or
    /// 0xFE for `\u00XX` of the next byte (a C1 control, U+0080–U+009F: two bytes).
    @inline(__always)
    static func escapeClass(_ buffer: UnsafeBufferPointer<UInt8>, _ i: Int) -> UInt8 {
        let b = buffer[i]
        if b &- 0x20 < 0x5F { return b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") ? b : 0 }
        if b < 0x20 {
            switch b {
            case 0x0A: return UInt8(ascii: "n")
            case 0x0D: return UInt8(ascii: "r")
            case 0x09: return UInt8(ascii: "t")
            default: return 0xFF
            }
        }
        if b == 0x7F { return 0xFF }
        if b == 0xC2, i + 1 < buffer.count, buffer[i + 1] &- 0x80 < 0x20 { return 0xFE }
        return 0
    }

    @inline(__always)
    static func hexDigit(_ v: UInt8) -> UInt8 { v < 10 ? UInt8(ascii: "0") + v : UInt8(ascii: "a") + v - 10 }

    /// Copies valid UTF-8 into `bytes`, escaping what JSON and terminals need escaped (as a
    /// string's contents, without the quotes; `escapeClass` says how); unescaped runs are copied
    /// in bulk. (`ByteBuffer.appendEscapedJSON` writes the same bytes into a `ByteBuffer`.)
    public static func appendEscaped(_ buffer: UnsafeBufferPointer<UInt8>, to bytes: inout [UInt8]) {
        var runStart = 0
        var i = 0
        let n = buffer.count
        while i < n {
            // Eight plain bytes at a time (most of a frame or a message, Chinese text included).
            if let base = buffer.baseAddress {
                while i + 8 <= n && isPlainWord(UnsafeRawPointer(base).loadUnaligned(fromByteOffset: i, as: UInt64.self)) { i += 8 }
                if i >= n { break }
            }
            let e = escapeClass(buffer, i)
            if e == 0 {
                i += 1
                continue
            }
            if runStart < i { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[runStart..<i])) }
            bytes.append(UInt8(ascii: "\\"))
            if e >= 0xFE {
                let code = e == 0xFE ? buffer[i + 1] : buffer[i]
                bytes.append(UInt8(ascii: "u"))
                bytes.append(UInt8(ascii: "0"))
                bytes.append(UInt8(ascii: "0"))
                bytes.append(hexDigit(code >> 4))
                bytes.append(hexDigit(code & 0x0F))
                i += e == 0xFE ? 2 : 1
            } else {
                bytes.append(e)
                i += 1
            }
            runStart = i
        }
        if runStart < n { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[runStart..<n])) }
    }
}

/// Tests on eight bytes at once (the word tests of "bit twiddling hacks": has a byte equal to b,
/// has a byte less than n), exact as yes/no answers: non-zero when some byte matches.
enum ByteWord {
    static let ones: UInt64 = 0x0101_0101_0101_0101
    static let highs: UInt64 = 0x8080_8080_8080_8080

    @inline(__always)
    static func has(_ w: UInt64, _ b: UInt8) -> UInt64 {
        let x = w ^ (ones &* UInt64(b))
        return (x &- ones) & ~x & highs
    }

    /// `n` at most 128.
    @inline(__always)
    static func hasBelow(_ w: UInt64, _ n: UInt8) -> UInt64 { (w &- ones &* UInt64(n)) & ~w & highs }
}
