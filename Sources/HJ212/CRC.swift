/// The HJ 212 checksum ("ANSI CRC16", HJ 212-2017 Appendix A) and the CRC-16/MODBUS variants
/// that some field devices send instead.
///
/// HJ 212 folds each byte in with `crc = (crc >> 8) ^ byte` and then shifts out 8 bits with the
/// reflected polynomial 0xA001. The old low byte is discarded, so the result is always an entry of
/// the reflected-0xA001 table: one table lookup per byte.
///
/// ```swift
/// CRC.hj212(Array("123456789".utf8))   // 0x2F80
/// CRC.modbus(Array("123456789".utf8))  // 0x4B37
/// ```
public enum CRC {
    /// The reflected CRC-16 table for polynomial 0xA001 (T[0]=0000, T[1]=C0C1, ...).
    static let table: [UInt16] = (0..<256).map { index in
        var crc = UInt16(index)
        for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xA001 : crc >> 1 }
        return crc
    }

    /// The HJ 212 CRC of `bytes` (the data segment only).
    public static func hj212<C: Collection>(_ bytes: C) -> UInt16 where C.Element == UInt8 {
        if let fast = bytes.withContiguousStorageIfAvailable({ hj212(buffer: $0) }) { return fast }
        return hj212(buffer: Array(bytes))
    }

    /// Slicing-by-8 tables of the HJ 212 CRC. Only the high byte `u` of the register survives a
    /// step: u' = H[u ^ b] with H[i] = T[i] >> 8, and H is linear over GF(2) (H[a ^ b] = H[a] ^ H[b]),
    /// so eight steps give H⁸[u ^ b0] ^ H⁷[b1] ^ … ^ H¹[b7]: eight independent lookups
    /// instead of a chain of eight. `slices[k * 256 + i]` = H^(8-k)[i], k = 0 … 7.
    static let slices: [UInt8] = {
        let h = table.map { UInt8(truncatingIfNeeded: $0 >> 8) }
        var powers: [[UInt8]] = [h]  // H¹ … H⁸
        for _ in 1..<8 { powers.append(powers.last!.map { h[Int($0)] }) }
        return (0..<8).flatMap { powers[7 - $0] }
    }()

    static func hj212(buffer: UnsafeBufferPointer<UInt8>) -> UInt16 {
        var crc: UInt16 = 0xFFFF
        var i = 0
        let n = buffer.count
        guard let base = buffer.baseAddress else { return crc }
        if n > 8 {
            // Eight bytes at a time while at least one byte is left for the last step, which needs
            // the full table entry (the register's low byte).
            slices.withUnsafeBufferPointer { s in
                var u = UInt8(truncatingIfNeeded: crc >> 8)
                while n - i > 8 {
                    let p = base + i
                    u = s[Int(u ^ p[0])] ^ s[256 + Int(p[1])] ^ s[512 + Int(p[2])] ^ s[768 + Int(p[3])]
                        ^ s[1024 + Int(p[4])] ^ s[1280 + Int(p[5])] ^ s[1536 + Int(p[6])] ^ s[1792 + Int(p[7])]
                    i += 8
                }
                crc = UInt16(u) << 8
            }
        }
        table.withUnsafeBufferPointer { t in
            while i < n {
                crc = t[Int(UInt8(truncatingIfNeeded: crc >> 8) ^ base[i])]
                i += 1
            }
        }
        return crc
    }

    /// The byte-at-a-time table loop (the form before slicing-by-8): a baseline for benchmarks
    /// and a second oracle for tests.
    public static func hj212Bytewise<C: Collection>(_ bytes: C) -> UInt16 where C.Element == UInt8 {
        table.withUnsafeBufferPointer { t in
            var crc: UInt16 = 0xFFFF
            for byte in bytes { crc = t[Int(UInt8(truncatingIfNeeded: crc >> 8) ^ byte)] }
            return crc
        }
    }

    static func hj212(buffer: [UInt8]) -> UInt16 { buffer.withUnsafeBufferPointer { (b: UnsafeBufferPointer<UInt8>) in hj212(buffer: b) } }

    /// CRC-16/MODBUS (init 0xFFFF, reflected 0xA001, no final XOR), as some field devices send.
    public static func modbus<C: Collection>(_ bytes: C) -> UInt16 where C.Element == UInt8 {
        table.withUnsafeBufferPointer { t in
            var crc: UInt16 = 0xFFFF
            for byte in bytes { crc = (crc >> 8) ^ t[Int(UInt8(truncatingIfNeeded: crc) ^ byte)] }
            return crc
        }
    }

    /// The bit-by-bit HJ 212 CRC exactly as the standard's step list reads. Slow; the baseline
    /// for benchmarks and the oracle for tests of the table-driven form.
    public static func hj212BitwiseReference<C: Collection>(_ bytes: C) -> UInt16 where C.Element == UInt8 {
        var crc: UInt16 = 0xFFFF
        for byte in bytes {
            crc = (crc >> 8) ^ UInt16(byte)
            for _ in 0..<8 {
                let lsb = crc & 1
                crc >>= 1
                if lsb != 0 { crc ^= 0xA001 }
            }
        }
        return crc
    }

    /// Upper-case four-digit hex, the form HJ 212 prescribes ("%04X").
    public static func hex(_ value: UInt16) -> String {
        String(decoding: hexBytes(value), as: UTF8.self)
    }

    /// The four ASCII hex digits of `value`, upper case, high byte first.
    @inlinable
    public static func hexBytes(_ value: UInt16) -> [UInt8] {
        let digits: StaticString = "0123456789ABCDEF"
        return digits.withUTF8Buffer { d in
            [d[Int(value >> 12)], d[Int((value >> 8) & 0xF)], d[Int((value >> 4) & 0xF)], d[Int(value & 0xF)]]
        }
    }

    /// Parses four ASCII hex digits (either case). Returns nil unless all four are hex digits.
    @inlinable
    public static func parseHex<C: Collection>(_ bytes: C) -> UInt16? where C.Element == UInt8 {
        guard bytes.count == 4 else { return nil }
        var value: UInt16 = 0
        for byte in bytes {
            guard let digit = hexDigitValue(byte) else { return nil }
            value = value << 4 | UInt16(digit)
        }
        return value
    }

    /// The value of one ASCII hex digit (either case), nil for any other byte: the one hex digit
    /// of the package (CRC fields, a trace's `frame_hex`).
    ///
    /// ```swift
    /// CRC.hexDigitValue(UInt8(ascii: "c"))   // 12
    /// CRC.hexDigitValue(UInt8(ascii: "+"))   // nil
    /// ```
    @inlinable
    public static func hexDigitValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte &- UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte &- UInt8(ascii: "A") &+ 10
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte &- UInt8(ascii: "a") &+ 10
        default: return nil
        }
    }

    /// Which checksum a declared value matches, tried in the order field devices are seen to use.
    public enum Match: String, Sendable, Equatable {
        /// The HJ 212 CRC, as the standard prescribes.
        case hj212
        /// CRC-16/MODBUS printed high byte first.
        case modbus
        /// CRC-16/MODBUS printed low byte first (21 of 50 packets in one public field capture).
        case modbusSwapped = "modbus-swapped"
        /// Matches nothing: corruption.
        case none
    }

    /// Classifies a declared CRC against the segment.
    public static func match<C: Collection>(declared: UInt16, segment: C) -> (computed: UInt16, match: Match)
    where C.Element == UInt8 {
        match(declared: declared, computed: hj212(segment), segment: segment)
    }

    /// The same, when the HJ 212 CRC of the segment is already known.
    public static func match<C: Collection>(declared: UInt16, computed: UInt16, segment: C) -> (computed: UInt16, match: Match)
    where C.Element == UInt8 {
        if declared == computed { return (computed, .hj212) }
        let mb = modbus(segment)
        if declared == mb { return (computed, .modbus) }
        if declared == mb.byteSwapped { return (computed, .modbusSwapped) }
        return (computed, .none)
    }
}
