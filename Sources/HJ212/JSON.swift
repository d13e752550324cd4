/// A JSON value, written by hand so that the codec needs nothing beyond the standard library.
/// Object keys keep their insertion order, which keeps output stable and readable.
public indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.int(let x), .int(let y)): return x == y
        case (.double(let x), .double(let y)): return x == y
        case (.string(let x), .string(let y)): return x == y
        case (.array(let x), .array(let y)): return x == y
        case (.object(let x), .object(let y)): return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// Compact serialisation on one line (through `JSONWriter`).
    public var serialized: String {
        var writer = JSONWriter(capacity: 256)
        writer.value(self)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    public func write(to out: inout String) {
        out += serialized
    }

    /// Writes a JSON string literal: quotes, backslashes and control characters escaped.
    public static func writeString(_ s: String, to out: inout String) {
        var writer = JSONWriter(capacity: s.utf8.count + 8)
        writer.string(s)
        out += String(decoding: writer.bytes, as: UTF8.self)
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members.first { $0.0 == key }?.1 }
        return nil
    }
}

extension JSONValue {
    /// Parses JSON text (RFC 8259). Errors carry the byte offset.
    public static func parse(_ text: String) throws -> JSONValue {
        var parser = JSONParser(bytes: Array(text.utf8))
        parser.skipSpace()
        let value = try parser.value(depth: 0)
        parser.skipSpace()
        guard parser.i == parser.bytes.count else { throw JSONParseError(offset: parser.i, message: "unexpected text after the value") }
        return value
    }
}

public struct JSONParseError: Error, CustomStringConvertible, Sendable {
    public var offset: Int
    public var message: String
    public var description: String { "byte \(offset): \(message)" }
}

struct JSONParser {
    let bytes: [UInt8]
    var i = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func skipSpace() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x0A || bytes[i] == 0x0D { i += 1 }
    }

    func fail(_ message: String) -> JSONParseError { JSONParseError(offset: i, message: message) }

    mutating func value(depth: Int) throws -> JSONValue {
        guard depth < 512 else { throw fail("nested too deeply") }
        guard i < bytes.count else { throw fail("unexpected end of input") }
        switch bytes[i] {
        case UInt8(ascii: "{"):
            i += 1
            var members: [(String, JSONValue)] = []
            skipSpace()
            if i < bytes.count && bytes[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
            var keys: Set<String> = []
            while true {
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw fail("expected a string key") }
                let keyOffset = i
                let key = try string()
                // RFC 8259 leaves duplicate names to the reader; a silent "first wins" hides typos
                // and lets two tools read the same file differently, so a duplicate is an error.
                guard keys.insert(key).inserted else {
                    throw JSONParseError(offset: keyOffset, message: "duplicate key \"\(TerminalText.safe(key, limit: 40))\"")
                }
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                i += 1
                skipSpace()
                members.append((key, try value(depth: depth + 1)))
                skipSpace()
                guard i < bytes.count else { throw fail("unterminated object") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
                throw fail("expected ',' or '}'")
            }
        case UInt8(ascii: "["):
            i += 1
            var items: [JSONValue] = []
            skipSpace()
            if i < bytes.count && bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
            while true {
                skipSpace()
                items.append(try value(depth: depth + 1))
                skipSpace()
                guard i < bytes.count else { throw fail("unterminated array") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
                throw fail("expected ',' or ']'")
            }
        case UInt8(ascii: "\""):
            return .string(try string())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .null)
        default:
            return try number()
        }
    }

    mutating func literal(_ word: String, _ value: JSONValue) throws -> JSONValue {
        let w = Array(word.utf8)
        guard i + w.count <= bytes.count, Array(bytes[i..<(i + w.count)]) == w else { throw fail("unexpected character") }
        i += w.count
        return value
    }

    /// A number as RFC 8259 spells it: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    /// No leading zeros (`010`), no `+`, no bare `.5` or `5.`.
    mutating func number() throws -> JSONValue {
        let start = i
        func digit(_ k: Int) -> Bool { k < bytes.count && bytes[k] &- 48 < 10 }
        if i < bytes.count && bytes[i] == UInt8(ascii: "-") { i += 1 }
        guard digit(i) else { i = start; throw fail("expected a value") }
        if bytes[i] == UInt8(ascii: "0") {
            i += 1
            if digit(i) { throw fail("leading zero in a number") }
        } else {
            while digit(i) { i += 1 }
        }
        var integral = true
        if i < bytes.count && bytes[i] == UInt8(ascii: ".") {
            integral = false
            i += 1
            guard digit(i) else { throw fail("expected a digit after '.'") }
            while digit(i) { i += 1 }
        }
        if i < bytes.count && (bytes[i] | 0x20) == UInt8(ascii: "e") {
            integral = false
            i += 1
            if i < bytes.count && (bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-")) { i += 1 }
            guard digit(i) else { throw fail("expected a digit in the exponent") }
            while digit(i) { i += 1 }
        }
        let text = String(decoding: bytes[start..<i], as: UTF8.self)
        if integral, let n = Int(text) { return .int(n) }
        if let d = Double(text), d.isFinite { return .double(d) }
        i = start
        throw fail("number out of range")
    }

    /// A string literal. Only the escapes of RFC 8259 (`\" \\ \/ \b \f \n \r \t \uXXXX`) are
    /// accepted, a high surrogate must be followed by a low one (and a low one never stands alone),
    /// and raw control characters (below U+0020) are refused.
    mutating func string() throws -> String {
        i += 1
        var out: [UInt8] = []
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") { i += 1; return String(decoding: out, as: UTF8.self) }
            if b < 0x20 { throw fail("control character in a string (escape it)") }
            if b == UInt8(ascii: "\\") {
                guard i + 1 < bytes.count else { break }
                let e = bytes[i + 1]
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "u"):
                    let escapeStart = i
                    guard let v = hex4(at: i + 2) else { throw fail("bad \\u escape (four hex digits expected)") }
                    var scalarValue = v
                    var length = 6
                    if (0xD800..<0xDC00).contains(v) {
                        guard i + 12 <= bytes.count, bytes[i + 6] == UInt8(ascii: "\\"), bytes[i + 7] == UInt8(ascii: "u"),
                              let low = hex4(at: i + 8), (0xDC00..<0xE000).contains(low) else {
                            throw JSONParseError(offset: escapeStart, message: "lone high surrogate \\u\(String(v, radix: 16))")
                        }
                        scalarValue = 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00)
                        length = 12
                    } else if (0xDC00..<0xE000).contains(v) {
                        throw JSONParseError(offset: escapeStart, message: "lone low surrogate \\u\(String(v, radix: 16))")
                    }
                    guard let scalar = Unicode.Scalar(scalarValue) else { throw fail("bad \\u escape") }
                    out += Array(String(Character(scalar)).utf8)
                    i += length
                    continue
                default:
                    throw fail("unknown escape \\\(TerminalText.safe(String(decoding: [e], as: UTF8.self)))")
                }
                i += 2
                continue
            }
            out.append(b)
            i += 1
        }
        throw fail("unterminated string")
    }

    /// The value of four hex digits at `k`, or nil.
    func hex4(at k: Int) -> UInt32? {
        guard k + 4 <= bytes.count else { return nil }
        var v: UInt32 = 0
        for j in k..<(k + 4) {
            let b = bytes[j]
            let d: UInt8
            if b &- 48 < 10 { d = b &- 48 } else if (b | 0x20) &- 97 < 6 { d = (b | 0x20) &- 87 } else { return nil }
            v = v << 4 | UInt32(d)
        }
        return v
    }
}
