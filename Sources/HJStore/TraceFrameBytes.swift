import HJ212

/// The bytes of a trace line's frame, losslessly (ARCHITECTURE.md: bytes that are not UTF-8 are
/// kept). A JSON string holds text only, so a frame that is not valid UTF-8 (GBK text from the
/// field) is written with its exact bytes in hex as `"frame_hex"`, next to `"frame"` (the same
/// bytes decoded for reading, invalid sequences as U+FFFD). Readers take `frame_hex` when it is
/// there, else the UTF-8 of `frame`. (In HJStore, the lowest module of the trace's writers —
/// `serve --trace`, `trace import` — and readers — `lint`, `report`, `roster`.)
public enum TraceFrameBytes {
    /// The frame's bytes of a parsed trace line; nil without a `frame` string, or with a
    /// `frame_hex` that is not hex.
    public static func frame(_ line: JSONValue) -> [UInt8]? {
        guard case .string(let text)? = line["frame"] else { return nil }
        guard case .string(let hex)? = line["frame_hex"] else { return Array(text.utf8) }
        return decodeHex(hex)
    }

    /// `,"frame":"…"` and, when `bytes` are not UTF-8, `,"frame_hex":"…"` appended to `line`.
    public static func write(_ bytes: ArraySlice<UInt8>, to line: inout String) {
        line += ",\"frame\":"
        let text = String(decoding: bytes, as: UTF8.self)
        JSONValue.writeString(text, to: &line)
        if !text.utf8.elementsEqual(bytes) {
            line += ",\"frame_hex\":\""
            let digits = Array("0123456789ABCDEF".utf8)
            var hex: [UInt8] = []
            hex.reserveCapacity(bytes.count * 2)
            for b in bytes { hex.append(digits[Int(b >> 4)]); hex.append(digits[Int(b & 0xF)]) }
            line += String(decoding: hex, as: UTF8.self) + "\""
        }
    }

    /// The bytes of hex text (digits of either case, two per byte); nil when a character is not
    /// a hex digit or one is left over.
    public static func decodeHex(_ hex: String) -> [UInt8]? {
        let u = Array(hex.utf8)
        guard u.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(u.count / 2)
        var i = 0
        while i < u.count {
            guard let h = CRC.hexDigitValue(u[i]), let l = CRC.hexDigitValue(u[i + 1]) else { return nil }
            out.append(h << 4 | l)
            i += 2
        }
        return out
    }
}
