/// CRC-16/MODBUS (Modbus over Serial Line V1.02, §6.2.2): polynomial 0xA001 (reflected 0x8005),
/// initial value 0xFFFF, no final XOR; sent low byte first.
///
/// ```swift
/// ModbusCRC.compute([0x01, 0x03, 0x00, 0x00, 0x00, 0x0A])   // 0xCDC5: on the wire C5 CD
/// ```
public enum ModbusCRC {
    static let table: [UInt16] = (0..<256).map { n -> UInt16 in
        var crc = UInt16(n)
        for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xA001 : crc >> 1 }
        return crc
    }

    /// The CRC of `bytes` as a number (its low byte goes first on the wire).
    public static func compute<C: Collection>(_ bytes: C) -> UInt16 where C.Element == UInt8 {
        var crc: UInt16 = 0xFFFF
        for b in bytes { crc = (crc >> 8) ^ table[Int((crc ^ UInt16(b)) & 0xFF)] }
        return crc
    }

    /// `bytes` followed by their CRC, low byte first.
    public static func appending(to bytes: [UInt8]) -> [UInt8] {
        let crc = compute(bytes)
        return bytes + [UInt8(crc & 0xFF), UInt8(crc >> 8)]
    }

    /// Whether the last two bytes are the CRC of the others.
    public static func check(_ frame: [UInt8]) -> Bool {
        guard frame.count >= 3 else { return false }
        let crc = compute(frame.dropLast(2))
        return frame[frame.count - 2] == UInt8(crc & 0xFF) && frame[frame.count - 1] == UInt8(crc >> 8)
    }
}
