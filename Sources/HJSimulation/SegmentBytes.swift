import HJ212

/// A data segment written straight into a reused byte buffer: what `generate` uses instead of
/// a `DataSegment` (an array of header fields, an array per CP group, a `String` per value) for
/// every packet. It writes exactly the bytes `DataSegment.serializedBytes()` would for the same
/// fields; `SegmentBytesTests` hold it to that.
///
/// ```swift
/// var w = SegmentBytes()
/// w.begin(qnSecond: t / 1000, qnMilliseconds: 1, st: "32", cn: "2011", pw: "123456", mn: mn, flag: 5)
/// w.group(); w.key("DataTime"); w.time14(t)
/// w.group(); w.key("w01018-Rtd"); w.number(45.2, decimals: 1); w.key("w01018-Flag"); w.ascii(UInt8(ascii: "N"))
/// w.end()   // w.bytes: "QN=…;ST=32;CN=2011;PW=123456;MN=…;Flag=5;CP=&&DataTime=…;w01018-Rtd=45.2,w01018-Flag=N&&"
/// ```
struct SegmentBytes {
    private(set) var bytes: [UInt8] = []
    /// Groups written in the CP area so far, and whether the open group has a field.
    private var groups = 0
    private var fieldInGroup = false
    /// The wall day (days since 1970) whose `YYYYMMDD` digits are in `dayDigits`: the date part
    /// of every time written changes once a day, so it is made once a day.
    private var cachedDay = Int64.min
    private var dayDigits: UInt64 = 0
    /// The header after the QN, by what it is made of (a logger sends a handful of CN/ST/Flag
    /// combinations; the last few are kept).
    private var headers: [(st: String, cn: String, pw: String, mn: String, flag: Int, bytes: [UInt8])] = []
    static let headerLimit = 8

    /// Empty until the first segment (a simulator that never writes bytes holds no buffer).
    init() {}

    /// Starts a segment: the header fields in the order `UnitSimulator` writes them, then `CP=&&`.
    mutating func begin(qnSecond: Int64, qnMilliseconds: Int, st: String, cn: String, pw: String, mn: String, flag: Int) {
        bytes.removeAll(keepingCapacity: true)
        if bytes.capacity < 1024 { bytes.reserveCapacity(1024) }
        groups = 0
        fieldInGroup = false
        literal("QN=")
        time(qnSecond * 1000 + Int64(qnMilliseconds), milliseconds: true)
        // By index: a `for h in headers` loop copies each tuple (five retains) to compare it.
        for k in headers.indices where headers[k].flag == flag && headers[k].cn == cn && headers[k].st == st && headers[k].pw == pw
            && headers[k].mn == mn {
            bytes.append(contentsOf: headers[k].bytes)
            return
        }
        let from = bytes.count
        literal(";ST="); text(st)
        literal(";CN="); text(cn)
        literal(";PW="); text(pw)
        literal(";MN="); text(mn)
        literal(";Flag="); integer(flag)
        literal(";CP=&&")
        if headers.count >= Self.headerLimit { headers.removeFirst() }
        headers.append((st, cn, pw, mn, flag, Array(bytes[from...])))
    }

    /// Closes the CP area.
    mutating func end() { literal("&&") }

    /// Starts a CP group (`;` between groups).
    mutating func group() {
        if groups > 0 { bytes.append(UInt8(ascii: ";")) }
        groups += 1
        fieldInGroup = false
    }

    /// Starts a field of the open group: `,` between fields, then `name=`.
    mutating func key(_ name: String) {
        if fieldInGroup { bytes.append(UInt8(ascii: ",")) }
        fieldInGroup = true
        text(name)
        bytes.append(UInt8(ascii: "="))
    }

    /// The CP groups of fields, as `DataSegment.serializedBytes` writes them (a field with an
    /// empty name is its value alone).
    mutating func fields(_ cp: [[Field]]) {
        for g in cp {
            group()
            for field in g {
                if field.name.isEmpty {
                    if fieldInGroup { bytes.append(UInt8(ascii: ",")) }
                    fieldInGroup = true
                } else {
                    key(field.name)
                }
                text(field.value)
            }
        }
    }

    @inline(__always)
    mutating func text(_ s: String) {
        var s = s
        s.withUTF8 { bytes.append(contentsOf: $0) }
    }

    @inline(__always)
    mutating func literal(_ s: StaticString) {
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    @inline(__always)
    mutating func ascii(_ b: UInt8) { bytes.append(b) }

    /// A flag byte as `String(UnicodeScalar(b))` writes it.
    @inline(__always)
    mutating func flag(_ b: UInt8) {
        if b < 0x80 { bytes.append(b) } else { text(String(UnicodeScalar(b))) }
    }

    mutating func integer(_ v: Int) {
        if v >= 0 && v < 10 { bytes.append(UInt8(48 + v)); return }
        text(String(v))
    }

    /// `YYYYMMDDhhmmss` (or with `zzz`) of a wall-clock time, as `HJTime.text14`/`text17`.
    mutating func time(_ ms: Int64, milliseconds: Bool) {
        // The day and the time of day as HJTime(wallMilliseconds:) splits them.
        var day = ms / 86_400_000
        var rest = ms % 86_400_000
        if rest < 0 { rest += 86_400_000; day -= 1 }
        if day == cachedDay {
            withUnsafeBytes(of: dayDigits) { bytes.append(contentsOf: $0) }
        } else {
            let h = HJTime(wallMilliseconds: ms)
            let base = bytes.count
            put(h.year, 4); put(h.month, 2); put(h.day, 2)
            withUnsafeMutableBytes(of: &dayDigits) { d in for k in 0..<8 { d[k] = bytes[base + k] } }
            cachedDay = day
        }
        let r = Int(rest)
        put(r / 3_600_000, 2); put(r / 60_000 % 60, 2); put(r / 1000 % 60, 2)
        if milliseconds { put(r % 1000, 3) }
    }

    mutating func time14(_ ms: Int64) { time(ms, milliseconds: false) }

    @inline(__always)
    private mutating func put(_ value: Int, _ width: Int) {
        let base = bytes.count
        for _ in 0..<width { bytes.append(48) }
        var v = value
        var k = width - 1
        while k >= 0 {
            bytes[base + k] = UInt8(48 + abs(v % 10))  // as HJTime: never traps, even on a nonsense date
            v /= 10
            k -= 1
        }
    }

    /// A value with fixed decimals, exactly as `ValueFormat.fixed` prints it.
    mutating func number(_ value: Double, decimals: Int) {
        ValueFormat.append(value, decimals: decimals, to: &bytes)
    }
}
