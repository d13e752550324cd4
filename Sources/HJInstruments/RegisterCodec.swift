import HJ212

/// Word order of a 32-bit value in two 16-bit registers, named by where the big-endian bytes
/// A B C D of the value go: ABCD (high word first, "big-endian"), CDAB (low word first, the
/// common "word-swapped" layout), BADC (bytes swapped in each word), DCBA (little-endian).
public enum WordOrder: String, Sendable, Hashable, CaseIterable {
    case abcd = "ABCD", cdab = "CDAB", badc = "BADC", dcba = "DCBA"

    /// The two registers of the big-endian bytes `b` (A B C D).
    public func words(_ b: [UInt8]) -> [UInt16] {
        var out: [UInt16] = []
        out.reserveCapacity(2)
        append(UInt32(b[0]) << 24 | UInt32(b[1]) << 16 | UInt32(b[2]) << 8 | UInt32(b[3]), to: &out)
        return out
    }

    /// Appends the two registers of the 32-bit value `v` to `out` (no arrays of its own: a read
    /// encodes every field it covers).
    public func append(_ v: UInt32, to out: inout [UInt16]) {
        let a = UInt8(v >> 24), b = UInt8(v >> 16 & 0xFF), c = UInt8(v >> 8 & 0xFF), d = UInt8(v & 0xFF)
        func w(_ x: UInt8, _ y: UInt8) -> UInt16 { UInt16(x) << 8 | UInt16(y) }
        switch self {
        case .abcd: out.append(w(a, b)); out.append(w(c, d))
        case .cdab: out.append(w(c, d)); out.append(w(a, b))
        case .badc: out.append(w(b, a)); out.append(w(d, c))
        case .dcba: out.append(w(d, c)); out.append(w(b, a))
        }
    }

    /// The big-endian bytes A B C D from two registers in this order.
    public func bytes(_ r: [UInt16]) -> [UInt8] {
        let h0 = UInt8(r[0] >> 8), l0 = UInt8(r[0] & 0xFF), h1 = UInt8(r[1] >> 8), l1 = UInt8(r[1] & 0xFF)
        switch self {
        case .abcd: return [h0, l0, h1, l1]
        case .cdab: return [h1, l1, h0, l0]
        case .badc: return [l0, h0, l1, h1]
        case .dcba: return [l1, h1, l0, h0]
        }
    }
}

/// How a register field holds its value.
public enum RegisterType: String, Sendable, Hashable {
    case uint16, int16, uint32, int32, float32
    /// Six registers: year, month, day, hour, minute, second (local time).
    case datetime

    public var width: Int {
        switch self {
        case .uint16, .int16: return 1
        case .uint32, .int32, .float32: return 2
        case .datetime: return 6
        }
    }

    /// The registers holding `value`; integers are `value × scale` rounded and saturated.
    /// `datetime` takes local wall-clock milliseconds.
    public func encode(_ value: Double, scale: Double, order: WordOrder) -> [UInt16] {
        var out: [UInt16] = []
        out.reserveCapacity(width)
        encode(value, scale: scale, order: order, into: &out)
        return out
    }

    /// Appends the `width` registers holding `value` to `out`, as `encode(_:scale:order:)` gives them.
    public func encode(_ value: Double, scale: Double, order: WordOrder, into out: inout [UInt16]) {
        func saturate(_ x: Double, _ lo: Double, _ hi: Double) -> Double { x.isNaN ? 0 : min(max(x, lo), hi) }
        let scaled = (value * scale).rounded()
        switch self {
        case .uint16: out.append(UInt16(saturate(scaled, 0, 65535)))
        case .int16: out.append(UInt16(bitPattern: Int16(saturate(scaled, -32768, 32767))))
        case .uint32: order.append(UInt32(saturate(scaled, 0, 4_294_967_295)), to: &out)
        case .int32: order.append(UInt32(bitPattern: Int32(saturate(scaled, -2_147_483_648, 2_147_483_647))), to: &out)
        case .float32: order.append(Float(value).bitPattern, to: &out)
        case .datetime:
            let t = HJTime(wallMilliseconds: Int64(value))
            out.append(UInt16(clamping: t.year)); out.append(UInt16(t.month)); out.append(UInt16(t.day))
            out.append(UInt16(t.hour)); out.append(UInt16(t.minute)); out.append(UInt16(t.second))
        }
    }

    /// The value of the registers, or nil when they hold no valid value (a NaN or infinite float,
    /// an impossible date).
    public func decode(_ r: [UInt16], scale: Double, order: WordOrder) -> Double? {
        guard r.count == width else { return nil }
        func u32() -> UInt32 { order.bytes(r).reduce(0) { $0 << 8 | UInt32($1) } }
        let s = scale == 0 ? 1 : scale
        switch self {
        case .uint16: return Double(r[0]) / s
        case .int16: return Double(Int16(bitPattern: r[0])) / s
        case .uint32: return Double(u32()) / s
        case .int32: return Double(Int32(bitPattern: u32())) / s
        case .float32:
            let f = Float(bitPattern: u32())
            return f.isFinite ? Double(f) : nil
        case .datetime:
            let t = HJTime(year: Int(r[0]), month: Int(r[1]), day: Int(r[2]), hour: Int(r[3]), minute: Int(r[4]), second: Int(r[5]))
            guard (1970...2199).contains(t.year), t.isValid else { return nil }
            return Double(t.wallMilliseconds)
        }
    }
}

