/// One `name=value` item of the data segment, in the header or in the CP area.
public struct Field: Hashable, Sendable, CustomStringConvertible {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }

    public var description: String { name.isEmpty ? value : "\(name)=\(value)" }
}

/// The data segment (数据段) of an HJ 212 packet: header fields in order, then the CP groups.
///
/// It keeps everything in the order received so that `serialized()` gives back the bytes it was
/// parsed from (for well-formed input), and it is also how packets are built for sending:
///
/// ```swift
/// let segment = DataSegment(
///     header: [Field("QN", "20160801085857223"), Field("ST", "32"), Field("CN", "2011"),
///              Field("PW", "123456"), Field("MN", "010000A8900016F000169DC0"), Field("Flag", "5")],
///     cp: [[Field("DataTime", "20160801085857")], [Field("w01018-Rtd", "2.2"), Field("w01018-Flag", "N")]])
/// let wire = FrameEncoder.frame(segment)   // "##0...&&XXXX\r\n"
/// ```
public struct DataSegment: Hashable, Sendable {
    /// The fields before `CP=`, in order (QN, ST, CN, PW, MN, Flag, PNUM, PNO as present).
    public var header: [Field]
    /// The CP data area as groups (`;`-separated) of entries (`,`-separated); nil when there is no CP.
    /// An encrypted (HJ 212-2025 SM4) or otherwise opaque area is one group of one field with an empty name.
    public var cp: [[Field]]?

    public init(header: [Field], cp: [[Field]]?) {
        self.header = header
        self.cp = cp
    }

    /// The value of the first header field called `name`.
    public func header(_ name: String) -> String? {
        for field in header where field.name == name { return field.value }
        return nil
    }

    /// Sets a header field, replacing its value in place or appending it before CP.
    public mutating func setHeader(_ name: String, _ value: String) {
        if let index = header.firstIndex(where: { $0.name == name }) {
            header[index].value = value
        } else {
            header.append(Field(name, value))
        }
    }

    /// The value of the first CP entry called `name`.
    public func cpValue(_ name: String) -> String? {
        guard let cp else { return nil }
        for group in cp { for field in group where field.name == name { return field.value } }
        return nil
    }

    /// All CP entries in order, flattened.
    public var cpFields: [Field] { cp?.flatMap { $0 } ?? [] }

    public var qn: String? { header("QN") }
    public var st: String? { header("ST") }
    public var cn: String? { header("CN") }
    public var pw: String? { header("PW") }
    public var mn: String? { header("MN") }
    /// The Flag as an integer, when it is one.
    public var flag: PacketFlag? { header("Flag").flatMap { Int($0) }.flatMap { (0...255).contains($0) ? PacketFlag(rawValue: $0) : nil } }
    public var pnum: Int? { header("PNUM").flatMap { Int($0) } }
    public var pno: Int? { header("PNO").flatMap { Int($0) } }

    /// The CP data area as text, without `CP=&&` and `&&`.
    public var cpText: String {
        guard let cp else { return "" }
        return cp.map { $0.map(\.description).joined(separator: ",") }.joined(separator: ";")
    }

    /// The segment as sent: `QN=…;ST=…;…;CP=&&…&&`.
    public func serialized() -> String {
        String(decoding: serializedBytes(), as: UTF8.self)
    }

    /// The segment's UTF-8 bytes, as sent (what the length counts and the CRC covers).
    public func serializedBytes() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(320)
        for field in header {
            Self.append(field.name, to: &out)
            out.append(UInt8(ascii: "="))
            Self.append(field.value, to: &out)
            out.append(UInt8(ascii: ";"))
        }
        guard let cp else {
            if out.last == UInt8(ascii: ";") { out.removeLast() }
            return out
        }
        out += "CP=&&".utf8
        for (g, group) in cp.enumerated() {
            if g > 0 { out.append(UInt8(ascii: ";")) }
            for (e, field) in group.enumerated() {
                if e > 0 { out.append(UInt8(ascii: ",")) }
                if !field.name.isEmpty {
                    Self.append(field.name, to: &out)
                    out.append(UInt8(ascii: "="))
                }
                Self.append(field.value, to: &out)
            }
        }
        out += "&&".utf8
        return out
    }

    /// Appends a string's UTF-8 bytes in one copy (not byte by byte through `String.UTF8View`).
    @inline(__always)
    static func append(_ text: String, to out: inout [UInt8]) {
        var text = text
        text.withUTF8 { out.append(contentsOf: $0) }
    }
}

/// The Flag field: `V5..V0 D A` (HJ 212-2017 §6.3.2 Table 3).
public struct PacketFlag: Hashable, Sendable, RawRepresentable {
    public var rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    public init(version: Int, split: Bool, ack: Bool) {
        rawValue = version << 2 | (split ? 2 : 0) | (ack ? 1 : 0)
    }

    /// Version bits: 0 = HJ/T 212-2005, 1 = HJ 212-2017, 2 = HJ 212-2025.
    public var version: Int { rawValue >> 2 }
    /// D: the packet carries PNUM and PNO (split transmission).
    public var isSplit: Bool { rawValue & 2 != 0 }
    /// A: the receiver must answer or acknowledge this packet.
    public var needsAck: Bool { rawValue & 1 != 0 }
}
