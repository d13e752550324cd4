/// Wraps data segments into frames: `##` + 4-digit length + segment + CRC + CR LF.
///
/// The length counts UTF-8 bytes and the CRC is the HJ 212 CRC in upper case, as the standard
/// prescribes. Variants (for fault injection) are explicit options.
///
/// ```swift
/// FrameEncoder.frame("QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&")
/// // "##0101QN=…&&1C80\r\n"
/// ```
public enum FrameEncoder {
    /// How to write the CRC. Everything but `.standard` is non-conformant and exists for fault injection.
    public enum CRCStyle: String, Sendable, CaseIterable {
        case standard, lowercase, modbus
        case modbusSwapped = "modbus-swapped"
    }

    /// The frame bytes of a segment given as bytes.
    public static func frame<C: Collection>(segmentBytes segment: C, crcStyle: CRCStyle = .standard, trailer: Bool = true) -> [UInt8]
    where C.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(segment.count + 12)
        out.append(UInt8(ascii: "#"))
        out.append(UInt8(ascii: "#"))
        let n = segment.count % 10000
        out.append(UInt8(48 + n / 1000))
        out.append(UInt8(48 + n / 100 % 10))
        out.append(UInt8(48 + n / 10 % 10))
        out.append(UInt8(48 + n % 10))
        out.append(contentsOf: segment)
        switch crcStyle {
        case .standard: out += CRC.hexBytes(CRC.hj212(segment))
        case .lowercase: out += CRC.hexBytes(CRC.hj212(segment)).map { $0 >= 65 ? $0 | 0x20 : $0 }
        case .modbus: out += CRC.hexBytes(CRC.modbus(segment))
        case .modbusSwapped: out += CRC.hexBytes(CRC.modbus(segment).byteSwapped)
        }
        if trailer {
            out.append(0x0D)
            out.append(0x0A)
        }
        return out
    }

    /// Appends the standard frame of a segment (`##`, length, segment, upper-case CRC, CR LF) to
    /// `out`: no array per frame, the CRC over the caller's bytes. The same bytes as `frame(segmentBytes:)`.
    public static func appendFrame(segmentBytes segment: [UInt8], to out: inout [UInt8]) {
        let start = out.count
        out.append(contentsOf: placeholder)
        out.append(contentsOf: segment)
        finishFrame(&out, start: start)
    }

    /// `##0000`: the start of a frame whose segment is written next and whose length
    /// `finishFrame` sets.
    public static let placeholder: [UInt8] = [0x23, 0x23, 0x30, 0x30, 0x30, 0x30]

    /// Completes in place a standard frame that starts at `start` with `placeholder` followed by
    /// its segment (up to the end of `out`): the length digits, then the upper-case CRC and CR LF.
    /// For writers that build a frame in one array (the platform's 9014); `appendFrame` uses it.
    public static func finishFrame(_ out: inout [UInt8], start: Int = 0) {
        let n = (out.count - start - 6) % 10000
        out[start + 2] = UInt8(48 + n / 1000)
        out[start + 3] = UInt8(48 + n / 100 % 10)
        out[start + 4] = UInt8(48 + n / 10 % 10)
        out[start + 5] = UInt8(48 + n % 10)
        let crc = CRC.hj212(out[(start + 6)...])
        let digits: StaticString = "0123456789ABCDEF"
        digits.withUTF8Buffer { d in
            out.append(d[Int(crc >> 12)])
            out.append(d[Int((crc >> 8) & 0xF)])
            out.append(d[Int((crc >> 4) & 0xF)])
            out.append(d[Int(crc & 0xF)])
        }
        out.append(0x0D)
        out.append(0x0A)
    }

    /// The frame bytes of a segment given as text (UTF-8).
    public static func frame(_ segment: String, crcStyle: CRCStyle = .standard, trailer: Bool = true) -> [UInt8] {
        frame(segmentBytes: Array(segment.utf8), crcStyle: crcStyle, trailer: trailer)
    }

    /// The frame bytes of a data segment.
    public static func frame(_ segment: DataSegment, crcStyle: CRCStyle = .standard, trailer: Bool = true) -> [UInt8] {
        frame(segmentBytes: segment.serializedBytes(), crcStyle: crcStyle, trailer: trailer)
    }

    /// The frame as text, without CR LF.
    public static func frameText(_ segment: String) -> String {
        String(decoding: frame(segment, trailer: false), as: UTF8.self)
    }
}
