import Testing
@testable import HJ212

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
}
