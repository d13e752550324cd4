/// A DL/T 645-2007 frame: `68 A0…A5 68 C L DATA CS 16`. The address is six BCD bytes, lowest
/// first (A0 holds the last two digits); DATA is kept here without the +33H offset the wire adds;
/// CS is the sum modulo 256 of every byte from the first 68H to the end of DATA.
///
/// ```swift
/// let read = DLT645Frame(address: DLT645Frame.address("000000000001")!, control: 0x11, data: DLT645Frame.di(0x0001_0000))
/// read.bytes   // 68 01 00 00 00 00 00 68 11 04 33 33 34 33 B3 16
/// ```
public struct DLT645Frame: Sendable, Hashable {
    /// A0 first, as on the wire.
    public var address: [UInt8]
    public var control: UInt8
    /// Without the +33H offset.
    public var data: [UInt8]

    public init(address: [UInt8], control: UInt8, data: [UInt8]) {
        self.address = address
        self.control = control
        self.data = data
    }

    /// Longest data field accepted (the 2007 edition limits reads to 200 bytes).
    public static let maxData = 200
    /// Wildcard address (all AAH), used to read an unknown meter's address.
    public static let wildcard = [UInt8](repeating: 0xAA, count: 6)
    /// Broadcast address (all 99H), used for time synchronisation; never answered.
    public static let broadcast = [UInt8](repeating: 0x99, count: 6)

    /// Control codes (function part, bits 4…0) used here.
    public enum Function: UInt8, Sendable {
        case broadcastTime = 0x08
        case readData = 0x11
        case readFollowUp = 0x12
        case readAddress = 0x13
        case writeData = 0x14
        case writeAddress = 0x15
    }

    /// Error byte (ERR) of an abnormal reply: bit 0 other error, bit 1 no requested data, bit 2
    /// password error or unauthorised.
    public static let errOther: UInt8 = 0x01
    public static let errNoData: UInt8 = 0x02
    public static let errUnauthorised: UInt8 = 0x04

    /// The six address bytes of a 12-digit address text (`000000000001`), A0 first.
    public static func address(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count == 12, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        var out: [UInt8] = []
        for i in stride(from: 10, through: 0, by: -2) { out.append((digits[i] - 0x30) << 4 | (digits[i + 1] - 0x30)) }
        return out
    }

    /// The 12 hexadecimal digits of an address, A5 first (`000000000001`; `AAAAAAAAAAAA`).
    public static func addressText(_ address: [UInt8]) -> String {
        address.reversed().map { b in String(b >> 4, radix: 16, uppercase: true) + String(b & 0xF, radix: 16, uppercase: true) }.joined()
    }

    /// A data identifier DI3 DI2 DI1 DI0 as the four data bytes, DI0 first.
    public static func di(_ value: UInt32) -> [UInt8] {
        [UInt8(value & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 24)]
    }

    /// The frame on the wire (without wake-up bytes).
    public var bytes: [UInt8] {
        var out: [UInt8] = [0x68] + address + [0x68, control, UInt8(truncatingIfNeeded: data.count)]
        out.append(contentsOf: data.map { $0 &+ 0x33 })
        out.append(out.reduce(0, &+))
        out.append(0x16)
        return out
    }
}

/// Finds DL/T 645 frames in a byte stream (sans-I/O): skips FEH wake-up bytes and noise,
/// checks the second 68H, the length, the checksum and the 16H end; on any failure drops the
/// first byte and searches again, so a bad frame is silence (the standard's behaviour) and
/// a good frame after it is still found.
///
/// Budget: once `next()` returns nil, at most one incomplete frame is held (≤ 211 bytes: a frame
/// is at most 212); bytes fed without draining are capped at `maxBuffered` (64 KiB, oldest
/// dropped), so a caller that feeds bounded reads and drains after each never loses a frame.
public struct DLT645Decoder: Sendable {
    public static let maxBuffered = 65_536
    /// Longest frame: 12 bytes of envelope and 200 of data.
    public static let maxFrame = 12 + DLT645Frame.maxData
    /// Received bytes; the unread ones are `buffer[head...]`. Consumed bytes are only moved out
    /// when more arrive (`feed`), so dropping bad bytes one at a time costs linear time, not
    /// quadratic (a `removeFirst` per byte was quadratic over the 64 KiB budget).
    var buffer: [UInt8] = []
    var head = 0
    /// Frames rejected for their checksum or end byte.
    public private(set) var badFrames = 0
    /// Bytes skipped while searching for a frame (wake-up FEH bytes included).
    public private(set) var skippedBytes = 0

    public init() {}

    public var bufferedBytes: Int { buffer.count - head }

    public mutating func feed<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        if head > 0 {
            buffer.removeFirst(head)
            head = 0
        }
        buffer.append(contentsOf: bytes)
        if buffer.count > Self.maxBuffered {
            let drop = buffer.count - Self.maxBuffered
            skippedBytes += drop
            buffer.removeFirst(drop)
        }
    }

    /// The next valid frame, or nil when more bytes are needed.
    public mutating func next() -> DLT645Frame? {
        while true {
            guard let start = buffer[head...].firstIndex(of: 0x68) else {
                skippedBytes += buffer.count - head
                buffer.removeAll(keepingCapacity: true)
                head = 0
                return nil
            }
            skippedBytes += start - head
            head = start
            let available = buffer.count - head
            guard available >= 10 else { return nil }
            let length = Int(buffer[head + 9])
            guard buffer[head + 7] == 0x68, length <= DLT645Frame.maxData else { dropOne(); continue }
            let total = 12 + length
            guard available >= total else { return nil }
            let sum = buffer[head..<(head + 10 + length)].reduce(UInt8(0), &+)
            guard buffer[head + 10 + length] == sum, buffer[head + 11 + length] == 0x16 else {
                badFrames += 1
                dropOne()
                continue
            }
            let frame = DLT645Frame(address: Array(buffer[(head + 1)...(head + 6)]), control: buffer[head + 8],
                                    data: buffer[(head + 10)..<(head + 10 + length)].map { $0 &- 0x33 })
            head += total
            if head == buffer.count {
                buffer.removeAll(keepingCapacity: true)
                head = 0
            }
            return frame
        }
    }

    mutating func dropOne() {
        skippedBytes += 1
        head += 1
    }
}

/// BCD encoding of DL/T 645 values: `value × 10^decimals` as 2·`bytes` decimal digits, lowest
/// byte first; a signed item puts the sign in the top bit of the highest byte.
public enum DLT645BCD {
    public static func encode(_ value: Double, bytes: Int, decimals: Int, signed: Bool) -> [UInt8] {
        let negative = signed && value < 0
        var scaled = (abs(value.isFinite ? value : 0) * pow10(decimals)).rounded()
        // Unsigned counters (energy) wrap like a meter's register; signed values saturate.
        let digits = bytes * 2
        // A signed item keeps the top bit for the sign: its top digit is at most 7.
        let capacity = signed ? 8 * pow10(digits - 1) : pow10(digits)
        if signed {
            scaled = min(scaled, capacity - 1)
        } else {
            scaled = scaled.truncatingRemainder(dividingBy: capacity)
        }
        var n = UInt64(scaled)
        var out: [UInt8] = []
        for _ in 0..<bytes {
            let lo = UInt8(n % 10); n /= 10
            let hi = UInt8(n % 10); n /= 10
            out.append(hi << 4 | lo)
        }
        if negative { out[bytes - 1] |= 0x80 }
        return out
    }

    /// The value of BCD bytes (lowest first); nil when a nibble is not a decimal digit.
    public static func decode(_ bytes: [UInt8], decimals: Int, signed: Bool) -> Double? {
        var n: UInt64 = 0
        var negative = false
        for (i, b0) in bytes.enumerated().reversed() {
            var b = b0
            if signed && i == bytes.count - 1 {
                negative = b & 0x80 != 0
                b &= 0x7F
            }
            guard b >> 4 <= 9, b & 0xF <= 9 else { return nil }
            n = n * 100 + UInt64(b >> 4) * 10 + UInt64(b & 0xF)
        }
        let v = Double(n) / pow10(decimals)
        return negative ? -v : v
    }

    static func pow10(_ n: Int) -> Double {
        var r = 1.0
        for _ in 0..<max(0, n) { r *= 10 }
        return r
    }
}
