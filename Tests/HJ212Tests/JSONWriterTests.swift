import Testing
@testable import HJ212
import TestSupport

@Suite("JSONWriter: bytes out, RFC 8259 escaping, separators")
struct JSONWriterTests {
    @Test("nested containers get their separators and parse back to the same value")
    func nesting() throws {
        let value: JSONValue = .object([
            ("a", .int(-42)), ("b", .array([.int(0), .bool(true), .null, .string("x")])),
            ("c", .object([])), ("d", .array([])), ("e", .double(1.5)), ("f", .int(Int.min)), ("g", .int(Int.max)),
            ("键", .string("化学需氧量 COD")),
        ])
        var w = JSONWriter()
        w.value(value)
        let text = String(decoding: w.bytes, as: UTF8.self)
        #expect(text == #"{"a":-42,"b":[0,true,null,"x"],"c":{},"d":[],"e":1.5,"f":-9223372036854775808,"g":9223372036854775807,"键":"化学需氧量 COD"}"#)
        #expect(try JSONValue.parse(text) == value)
    }

    @Test("control characters, quotes, backslashes, DEL and C1 controls are escaped; the rest is copied")
    func escaping() throws {
        var w = JSONWriter()
        w.string("q\"b\\n\n r\r t\t e\u{1B}[2J d\u{7F} c1\u{9B} nul\u{0} 中")
        let text = String(decoding: w.bytes, as: UTF8.self)
        #expect(text == #""q\"b\\n\n r\r t\t e\u001b[2J d\u007f c1\u009b nul\u0000 中""#)
        // Nothing below U+0020 or in U+007F…U+009F is left raw.
        #expect(!w.bytes.contains { $0 < 0x20 || $0 == 0x7F })
        #expect(try JSONValue.parse(text) == .string("q\"b\\n\n r\r t\t e\u{1B}[2J d\u{7F} c1\u{9B} nul\u{0} 中"))
    }

    @Test("strings given as bytes: ASCII copied, invalid UTF-8 shown as U+FFFD")
    func utf8Bytes() {
        var w = JSONWriter()
        w.beginArray()
        w.string(utf8: Array("w01018-Rtd=1.0".utf8))
        w.string(utf8: [0x41, 0xFF, 0x42])
        w.endArray()
        #expect(String(decoding: w.bytes, as: UTF8.self) == "[\"w01018-Rtd=1.0\",\"A\u{FFFD}B\"]")
    }

    @Test("non-finite doubles are null; reset reuses the buffer for the next line")
    func doublesAndReset() {
        var w = JSONWriter()
        w.beginArray(); w.double(.nan); w.double(.infinity); w.double(-0.25); w.endArray(); w.newline()
        #expect(String(decoding: w.bytes, as: UTF8.self) == "[null,null,-0.25]\n")
        w.reset()
        w.int(7)
        #expect(w.bytes == Array("7".utf8))
    }

    @Test("random strings round-trip through the writer and the parser", arguments: 0..<4)
    func randomRoundTrip(seed: Int) throws {
        var rng = UInt64(seed + 1) &* 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng }
        for _ in 0..<500 {
            var scalars = String.UnicodeScalarView()
            for _ in 0..<Int(next() % 40) {
                let pick = next() % 6
                let v: UInt32 = pick == 0 ? UInt32(next() % 0x20) : pick == 1 ? UInt32(0x7F + next() % 0x30)
                    : pick == 2 ? UInt32(0x4E00 + next() % 0x100) : pick == 3 ? 0x1F600 : UInt32(0x20 + next() % 0x5F)
                scalars.append(Unicode.Scalar(v)!)
            }
            let s = String(scalars)
            var w = JSONWriter()
            w.string(s)
            #expect(try JSONValue.parse(String(decoding: w.bytes, as: UTF8.self)) == .string(s))
        }
    }

    /// The escaping rule one byte at a time, as `appendEscaped` states it.
    static func referenceEscaped(_ u: [UInt8]) -> [UInt8] {
        let hex = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        var i = 0
        while i < u.count {
            let b = u[i]
            func code(_ c: UInt8) { out += Array("\\u00".utf8) + [hex[Int(c >> 4)], hex[Int(c & 15)]] }
            switch b {
            case 0x0A: out += Array("\\n".utf8)
            case 0x0D: out += Array("\\r".utf8)
            case 0x09: out += Array("\\t".utf8)
            case 0x22, 0x5C: out += [0x5C, b]
            case 0..<0x20, 0x7F: code(b)
            case 0xC2 where i + 1 < u.count && (0x80...0x9F).contains(u[i + 1]):
                code(u[i + 1])
                i += 1
            default: out.append(b)
            }
            i += 1
        }
        return out
    }

    @Test("escaping eight bytes at a time gives the byte-at-a-time result, wherever the special bytes fall")
    func wordAtATimeEscaping() {
        var rng = SplitMix64(seed: 212)
        let buffer = ByteBuffer(capacity: 1)
        // Mostly plain text with special bytes sprinkled in, at every offset against the 8-byte words.
        let specials: [UInt8] = [0, 0x1F, 0x20, 0x21, 0x22, 0x5B, 0x5C, 0x5D, 0x7E, 0x7F, 0x80, 0xC2, 0x9F, 0xA0, 0xE4, 0xFF, 0x0A, 0x0D, 0x09]
        for round in 0..<3000 {
            let n = Int(rng.next() % 70)
            // Plain ASCII, or (one round in three) Chinese text: 3-byte sequences copied as they are.
            var u = round % 3 == 2 ? Array(String(repeating: "数采仪联网", count: n / 15 + 1).utf8.prefix(n))
                : (0..<n).map { _ in UInt8(0x20 + rng.next() % 0x5F) }
            let sprinkle = round % 4 == 0 ? 0 : Int(rng.next() % 4)
            for _ in 0..<sprinkle where n > 0 {
                let at = Int(rng.next() % UInt64(n))
                u[at] = specials[Int(rng.next() % UInt64(specials.count))]
                if u[at] == 0xC2 && at + 1 < n && rng.next() % 2 == 0 { u[at + 1] = UInt8(0x80 + rng.next() % 0x40) }
            }
            var out: [UInt8] = Array("x".utf8)
            u.withUnsafeBufferPointer { JSONWriter.appendEscaped($0, to: &out) }
            #expect(out == Array("x".utf8) + Self.referenceEscaped(u), "\(u)")
            // The ByteBuffer path writes the same bytes (behind a small start, so that it grows).
            buffer.append(UInt8(ascii: "x"))
            u.withUnsafeBufferPointer { buffer.appendEscapedJSON($0) }
            #expect(buffer.withBytes { Array($0) } == out, "\(u)")
            buffer.removeAll()
        }
        // Each word test alone, on words with one byte of each value at each position.
        for v in 0...255 {
            for k in 0..<8 {
                var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: 8)
                bytes[k] = UInt8(v)
                let w = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
                let plain = (v >= 0x20 && v <= 0x7E && v != 0x22 && v != 0x5C) || (v >= 0x80 && v != 0xC2)
                #expect(JSONWriter.isPlainWord(w) == plain, "byte \(v) at \(k)")
            }
        }
    }

    @Test("ByteBuffer: decimals as Swift prints them, at every power of ten and between")
    func byteBufferDecimals() {
        var values = [0, 1, -1, Int.max, Int.min, Int.max - 1, Int.min + 1]
        var p = 1
        for _ in 0..<19 {
            values += [p - 1, p, p + 1, -p, -p + 1, -p - 1, 2 * p - 1, 5 * p + 3]
            p = p &* 10
        }
        var rng = SplitMix64(seed: 10)
        for _ in 0..<2000 { values.append(Int(truncatingIfNeeded: rng.next()) >> Int.random(in: 0..<63, using: &rng)) }
        let b = ByteBuffer(capacity: 1)
        for v in values {
            b.removeAll()
            b.appendDecimal(v)
            #expect(b.withBytes { String(decoding: $0, as: UTF8.self) } == String(v))
        }
    }

    @Test("ByteBuffer.digitPairs: pair k is k in two digits, for every k of 0…99")
    func digitPairs() {
        let table = ByteBuffer.digitPairs
        #expect(table.utf8CodeUnitCount == 200)
        let bytes = UnsafeBufferPointer(start: table.utf8Start, count: table.utf8CodeUnitCount)
        for k in 0..<100 {
            let pair = String(decoding: bytes[(2 * k)..<(2 * k + 2)], as: UTF8.self)
            #expect(pair == (k < 10 ? "0\(k)" : "\(k)"), "pair \(k)")
        }
    }

    @Test("ByteBuffer: decimals as JSONWriter writes them, bytes kept across growth")
    func byteBuffer() {
        let b = ByteBuffer(capacity: 1)
        var want: [UInt8] = []
        let values = [0, 1, -1, 9, 10, -10, 99, 100, 12_345, Int.max, Int.min, Int.max - 1, Int.min + 1, 1_000_000_000_000_000_000]
        for (k, v) in values.enumerated() {
            b.appendDecimal(v)
            JSONWriter.appendDecimal(v, to: &want)
            b.append(k % 2 == 0 ? "," : ";")
            want += Array((k % 2 == 0 ? "," : ";").utf8)
            b.append(Array(repeating: UInt8(k), count: k * 37))
            want += Array(repeating: UInt8(k), count: k * 37)
            b.append(#"{"a":1}"#)
            want += Array(#"{"a":1}"#.utf8)
        }
        #expect(b.count == want.count)
        #expect(b.withBytes { Array($0) } == want)
        b.removeAll()
        #expect(b.count == 0 && b.withBytes { $0.isEmpty })
    }
}
