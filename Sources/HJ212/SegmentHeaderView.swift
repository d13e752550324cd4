/// The header of a data segment read in place: where `QN`, `ST`, `CN`, `PW`, `MN`, `Flag`,
/// `PNUM`, `PNO` and the CP area are in the segment's bytes, with typed accessors that build no
/// `String` (numbers, byte comparisons). For hot paths that judge many frames by their header
/// (an acknowledgement: QN echoed, CN=9014, ST=91, Flag, MN) and do not need the CP entries.
///
/// It reads the header exactly as `SegmentParser` does, so that the two never disagree:
/// the header ends at the first `CP=&&` (else the first `CP=`); items are separated by `;` (or
/// `,`), spaces around items, names and values are trimmed, an item without `=` is ignored, and
/// when a name appears twice the **first** wins (as `DataSegment.header(_:)`). The CP area is the
/// one `SegmentParser` reports as `cpArea`.
///
/// ```swift
/// let h = SegmentHeaderView(frame.segmentBytes)
/// if h.isCN(.dataReply), let qn = h.qnNumber, h.isST(.systemInteraction) { … }
/// ```
///
/// Zero-copy: it holds the `ArraySlice` it was given (shared storage) and ranges into it.
/// `Sendable`: a value.
public struct SegmentHeaderView: Sendable {
    /// The segment's bytes; every range below indexes into them.
    public let bytes: ArraySlice<UInt8>
    /// Value ranges of the header fields (first occurrence), nil when absent.
    public private(set) var qn: Range<Int>?
    public private(set) var st: Range<Int>?
    public private(set) var cn: Range<Int>?
    public private(set) var pw: Range<Int>?
    public private(set) var mn: Range<Int>?
    public private(set) var flag: Range<Int>?
    public private(set) var pnum: Range<Int>?
    public private(set) var pno: Range<Int>?
    /// Where `CP=` starts, nil when the segment has none.
    public private(set) var cpStart: Int?
    /// The CP data area (between `CP=&&` and the closing `&&`), as `SegmentParser`'s `cpArea`.
    public private(set) var cp: Range<Int>?

    /// Reads the header of a data segment (the bytes between `##LLLL` and the CRC).
    public init(_ segment: ArraySlice<UInt8>) {
        bytes = segment
        let base = segment.startIndex
        let found = segment.withUnsafeBufferPointer { Self.scan($0) }
        func absolute(_ r: Range<Int>?) -> Range<Int>? { r.map { (base + $0.lowerBound)..<(base + $0.upperBound) } }
        qn = absolute(found.qn); st = absolute(found.st); cn = absolute(found.cn); pw = absolute(found.pw)
        mn = absolute(found.mn); flag = absolute(found.flag); pnum = absolute(found.pnum); pno = absolute(found.pno)
        cpStart = found.cpStart.map { base + $0 }
        cp = absolute(found.cp)
    }

    public init(_ segment: [UInt8]) { self.init(segment[...]) }

    /// Reads the header of a whole frame (`##LLLL…CRC\r\n`): the segment is the `LLLL` bytes after
    /// the length field. Nil when the bytes do not start with `##` and four digits, or are shorter
    /// than the length says.
    public init?(frame: ArraySlice<UInt8>) {
        let s = frame.startIndex
        guard frame.count >= 6, frame[s] == UInt8(ascii: "#"), frame[s + 1] == UInt8(ascii: "#") else { return nil }
        var length = 0
        for i in (s + 2)..<(s + 6) {
            let d = frame[i] &- 48
            guard d < 10 else { return nil }
            length = length * 10 + Int(d)
        }
        guard frame.count - 6 >= length else { return nil }
        self.init(frame[(s + 6)..<(s + 6 + length)])
    }

    public init?(frame: [UInt8]) { self.init(frame: frame[...]) }

    // MARK: Typed accessors (no String built)

    /// The bytes of a field's value.
    public subscript(_ range: Range<Int>) -> ArraySlice<UInt8> { bytes[range] }

    /// Whether the header has a QN field (possibly empty or not a number).
    public var hasQN: Bool { qn != nil }

    /// The QN as a number when it is exactly 17 digits (`YYYYMMDDhhmmsszzz`), else nil.
    public var qnNumber: Int64? {
        guard let qn, qn.count == 17 else { return nil }
        return Self.number(bytes[qn])
    }

    /// Whether the CN is this command code.
    public func isCN(_ code: CommandCode) -> Bool {
        guard let cn else { return false }
        return bytes[cn].elementsEqual(code.rawValue.utf8)
    }

    /// The CN as a number when it is 1 to 4 digits (for messages), else nil.
    public var cnNumber: Int? {
        guard let cn, cn.count <= 4 else { return nil }
        return Self.number(bytes[cn]).map { Int($0) }
    }

    /// The typed command code (this one builds a String; for hot paths use `isCN(_:)`).
    public var command: CommandCode? { cn.map { CommandCode(rawValue: String(decoding: bytes[$0], as: UTF8.self)) } }

    /// Whether the ST is this system type.
    public func isST(_ type: SystemType) -> Bool {
        guard let st else { return false }
        return bytes[st].elementsEqual(type.rawValue.utf8)
    }

    /// The Flag as a number when it is 1 to 3 digits, else nil.
    public var flagNumber: Int? {
        guard let flag, flag.count <= 3 else { return nil }
        return Self.number(bytes[flag]).map { Int($0) }
    }

    /// The Flag as `PacketFlag` when it is a number 0…255.
    public var packetFlag: PacketFlag? { flagNumber.flatMap { $0 <= 255 ? PacketFlag(rawValue: $0) : nil } }

    /// The MN's bytes, when present.
    public var mnBytes: ArraySlice<UInt8>? { mn.map { bytes[$0] } }

    /// The QN's bytes, when present.
    public var qnBytes: ArraySlice<UInt8>? { qn.map { bytes[$0] } }

    /// Whether the segment ends with exactly `CP=&&&&`: no data, nothing after it.
    public var isCPEmpty: Bool {
        guard let cpStart else { return false }
        return bytes.endIndex - cpStart == 7 && bytes[cpStart...].elementsEqual("CP=&&&&".utf8)
    }

    /// The QN of a plain data acknowledgement: CN=9014, the segment ending in `CP=&&&&`, a
    /// non-empty QN. (`LoggerSession`'s fast path; the caller checks the CRC.)
    public var plainAcknowledgementQN: String? {
        guard isCN(.dataReply), isCPEmpty, let qn, !qn.isEmpty else { return nil }
        return String(decoding: bytes[qn], as: UTF8.self)
    }

    /// A field's value as text (allocates; for messages and tests).
    public func text(_ range: Range<Int>?) -> String? { range.map { String(decoding: bytes[$0], as: UTF8.self) } }

    /// Decimal digits as a number (at most 18 digits), nil when empty or not all digits.
    @inline(__always)
    static func number(_ digits: ArraySlice<UInt8>) -> Int64? {
        guard !digits.isEmpty, digits.count <= 18 else { return nil }
        var v: Int64 = 0
        for d in digits {
            let x = d &- 48
            guard x < 10 else { return nil }
            v = v &* 10 &+ Int64(x)
        }
        return v
    }

    // MARK: Scanning (the rules of SegmentParser.parse, without building anything)

    // Byte constants as literals (not static stored properties: no lazy-initialisation check in the loops).
    private static var semicolon: UInt8 { 0x3B }
    private static var comma: UInt8 { 0x2C }
    private static var equals: UInt8 { 0x3D }
    private static var amp: UInt8 { 0x26 }
    private static var space: UInt8 { 0x20 }
    private static var slash: UInt8 { 0x2F }

    /// Offsets relative to the segment's start (filled by one scan, no allocation).
    private struct Found {
        var qn, st, cn, pw, mn, flag, pnum, pno, cp: Range<Int>?
        var cpStart: Int?
    }

    private static func scan(_ buf: UnsafeBufferPointer<UInt8>) -> Found {
        var found = Found()
        let n = buf.count
        // One pass: split header items while looking for `CP=`. The header ends at the first
        // `CP=&&`; when there is none it ends at the first `CP=` (SegmentParser.findCP), and the
        // items seen past that point are dropped by reading the header again (a broken segment).
        var cpAt: Int?
        var fallback: Int?
        var itemStart = 0
        var i = 0
        while i < n {
            let b = buf[i]
            if b == UInt8(ascii: "C") && i + 2 < n && buf[i + 1] == UInt8(ascii: "P") && buf[i + 2] == equals {
                if i + 4 < n && buf[i + 3] == amp && buf[i + 4] == amp { cpAt = i; break }
                if fallback == nil { fallback = i }
            }
            if b == semicolon || b == comma {
                item(buf, itemStart, i, &found)
                itemStart = i + 1
            }
            i += 1
        }
        if cpAt == nil, let fallback {
            found = Found()
            cpAt = fallback
            itemStart = 0
            for j in 0..<fallback where buf[j] == semicolon || buf[j] == comma {
                item(buf, itemStart, j, &found)
                itemStart = j + 1
            }
        }
        item(buf, itemStart, cpAt ?? n, &found)
        guard let cpAt else { return found }
        found.cpStart = cpAt
        var areaStart = cpAt + 3
        if areaStart + 1 < n && buf[areaStart] == Self.amp && buf[areaStart + 1] == Self.amp {
            areaStart += 2
        } else if areaStart < n && buf[areaStart] == Self.amp {
            areaStart += 1
        }
        var areaEnd = n
        if n - areaStart >= 2 && buf[n - 1] == Self.amp && buf[n - 2] == Self.amp {
            areaEnd = n - 2
        } else {
            var j = n - 2
            var closing: Int?
            while j >= areaStart {
                if buf[j] == Self.amp && buf[j + 1] == Self.amp { closing = j; break }
                j -= 1
            }
            if let closing, areaStart < n, closing + 2 < n, !Self.containsLogOpen(buf, areaStart, closing) {
                areaEnd = closing
            }
        }
        if areaEnd < areaStart { areaEnd = areaStart }
        found.cp = areaStart..<areaEnd
        return found
    }

    /// One header item `lo..<hi`: trimmed, split at its first `=`, name and value trimmed.
    @inline(__always)
    private static func item(_ buf: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, _ found: inout Found) {
        var lo = start, hi = end
        while lo < hi && buf[lo] == space { lo += 1 }
        while hi > lo && buf[hi - 1] == space { hi -= 1 }
        var eq = lo
        while eq < hi && buf[eq] != equals { eq += 1 }
        guard eq < hi else { return }
        var nLo = lo, nHi = eq
        while nLo < nHi && buf[nLo] == space { nLo += 1 }
        while nHi > nLo && buf[nHi - 1] == space { nHi -= 1 }
        var vLo = eq + 1, vHi = hi
        while vLo < vHi && buf[vLo] == space { vLo += 1 }
        while vHi > vLo && buf[vHi - 1] == space { vHi -= 1 }
        assign(buf, name: nLo..<nHi, value: vLo..<vHi, to: &found)
    }

    /// Records a field by its name (first occurrence wins).
    @inline(__always)
    private static func assign(_ buf: UnsafeBufferPointer<UInt8>, name: Range<Int>, value: Range<Int>, to f: inout Found) {
        let a = name.lowerBound
        switch name.count {
        case 2:
            let b0 = buf[a], b1 = buf[a + 1]
            switch (b0, b1) {
            case (UInt8(ascii: "Q"), UInt8(ascii: "N")): if f.qn == nil { f.qn = value }
            case (UInt8(ascii: "S"), UInt8(ascii: "T")): if f.st == nil { f.st = value }
            case (UInt8(ascii: "C"), UInt8(ascii: "N")): if f.cn == nil { f.cn = value }
            case (UInt8(ascii: "P"), UInt8(ascii: "W")): if f.pw == nil { f.pw = value }
            case (UInt8(ascii: "M"), UInt8(ascii: "N")): if f.mn == nil { f.mn = value }
            default: break
            }
        case 3:
            if f.pno == nil, buf[a] == UInt8(ascii: "P"), buf[a + 1] == UInt8(ascii: "N"), buf[a + 2] == UInt8(ascii: "O") { f.pno = value }
        case 4:
            if buf[a] == UInt8(ascii: "F"), buf[a + 1] == UInt8(ascii: "l"), buf[a + 2] == UInt8(ascii: "a"), buf[a + 3] == UInt8(ascii: "g") {
                if f.flag == nil { f.flag = value }
            } else if buf[a] == UInt8(ascii: "P"), buf[a + 1] == UInt8(ascii: "N"), buf[a + 2] == UInt8(ascii: "U"), buf[a + 3] == UInt8(ascii: "M") {
                if f.pnum == nil { f.pnum = value }
            }
        default:
            break
        }
    }

    private static func containsLogOpen(_ buf: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> Bool {
        var i = from
        while i + 1 < to {
            if buf[i] == slash && buf[i + 1] == slash { return true }
            i += 1
        }
        return false
    }
}
