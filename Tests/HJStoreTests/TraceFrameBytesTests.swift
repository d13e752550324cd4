import HJ212
import HJStore
import Testing

/// `frame_hex` of a trace line and the CRC field read hex digits alike, with one function
/// (`CRC.hexDigitValue`; `TraceFrameBytes.decodeHex` had its own copy before session 21, which
/// this test found identical for every byte value).
@Suite("Trace frame bytes: hex")
struct TraceFrameBytesTests {
    /// Every byte value as the high digit of a pair: a digit of either case gives its value, the
    /// rest (signs, spaces, `g`, bytes outside ASCII) refuse the whole text.
    @Test("a frame_hex digit is a CRC hex digit, for every byte value")
    func hexDigits() {
        for b in 0...255 {
            let byte = UInt8(b)
            let reference: UInt8? = b < 128 ? UInt8(String(Character(Unicode.Scalar(byte))), radix: 16) : nil
            #expect(CRC.hexDigitValue(byte) == reference, "\(b)")
            let text = String(decoding: [byte, UInt8(ascii: "7")], as: UTF8.self)
            #expect(TraceFrameBytes.decodeHex(text) == reference.map { [$0 << 4 | 7] }, "\(b)")
        }
        #expect(CRC.parseHex(Array("1c8F".utf8)) == 0x1C8F && CRC.parseHex(Array("+1C8".utf8)) == nil)
        #expect(TraceFrameBytes.decodeHex("00fFa5") == [0x00, 0xFF, 0xA5] && TraceFrameBytes.decodeHex("0") == nil && TraceFrameBytes.decodeHex("") == [])
    }
}
