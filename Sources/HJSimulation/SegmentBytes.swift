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
struct SegmentBytes: @unchecked Sendable {
    /// The segment being written: a pointer, its capacity and the bytes used, held in this struct
    /// so that an append is a capacity check and a store (an `Array` append checked its storage's
    /// uniqueness and went out of line for every key and value: a fifth of a generation; a
    /// `ByteBuffer` reference cost a retain and a release per append). The memory belongs to
    /// `storage`. Copy-on-write per segment: `begin` writes into storage of its own (a copied
    /// simulator gets new storage), so copies never share what they write; nothing copies a
    /// writer between its `begin` and `end` — hence `@unchecked Sendable`.
    private var storage: SegmentStorage?
    private var base: UnsafeMutablePointer<UInt8>?
    private var capacity = 0
    /// Bytes written since `begin`.
    private(set) var count = 0
    /// The segment written (a copy: one array per packet, which the packet keeps).
    var bytes: [UInt8] { Array(UnsafeBufferPointer(start: base, count: count)) }
    /// Groups written in the CP area so far, and whether the open group has a field.
    private var groups = 0
    private var fieldInGroup = false
    /// The wall day (days since 1970) whose `YYYYMMDD` digits are in `dayDigits`: the date part
    /// of every time written changes once a day, so it is made once a day.
    private var cachedDay = Int64.min
    private var dayDigits: UInt64 = 0
    /// The header after the QN, by what it is made of (a logger sends a handful of CN/ST/Flag
    /// combinations; the last few are kept). Objects, so that comparing one copies nothing (a
    /// tuple of strings was copied for each comparison: five retains and releases).
    private var headers: [SegmentHeader] = []
    static let headerLimit = 8

    /// Empty until the first segment (a simulator that never writes bytes holds no buffer).
    init() {}

    @inline(__always)
    private mutating func reserve(_ n: Int) {
        if n > capacity - count { grow(n) }
    }

    @inline(never)
    private mutating func grow(_ n: Int) {
        let c = Swift.max(count + n, capacity * 2, 1024)
        let new = SegmentStorage(capacity: c)
        if let base { new.base.update(from: base, count: count) }
        storage = new
        base = new.base
        capacity = c
    }

    @inline(__always)
    private mutating func append(_ b: UInt8) {
        reserve(1)
        base.unsafelyUnwrapped[count] = b
        count += 1
    }

    @inline(__always)
    private mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let from = bytes.baseAddress else { return }
        reserve(bytes.count)
        (base.unsafelyUnwrapped + count).update(from: from, count: bytes.count)
        count += bytes.count
    }

    @inline(__always)
    private mutating func append(_ raw: UnsafeRawBufferPointer) {
        raw.withMemoryRebound(to: UInt8.self) { append($0) }
    }

    /// Starts a segment: the header fields in the order `UnitSimulator` writes them, then `CP=&&`.
    mutating func begin(qnSecond: Int64, qnMilliseconds: Int, st: String, cn: String, pw: String, mn: String, flag: Int) {
        if !isKnownUniquelyReferenced(&storage) {
            storage = nil
            base = nil
            capacity = 0
        }
        count = 0
        groups = 0
        fieldInGroup = false
        literal("QN=")
        time(qnSecond * 1000 + Int64(qnMilliseconds), milliseconds: true)
        for h in headers where h.flag == flag && h.cn == cn && h.st == st && h.pw == pw && h.mn == mn {
            h.bytes.withUnsafeBufferPointer { append($0) }
            return
        }
        let from = count
        literal(";ST="); text(st)
        literal(";CN="); text(cn)
        literal(";PW="); text(pw)
        literal(";MN="); text(mn)
        literal(";Flag="); integer(flag)
        literal(";CP=&&")
        if headers.count >= Self.headerLimit { headers.removeFirst() }
        headers.append(SegmentHeader(st: st, cn: cn, pw: pw, mn: mn, flag: flag, bytes: Array(UnsafeBufferPointer(start: base! + from, count: count - from))))
    }

    /// Closes the CP area.
    mutating func end() { literal("&&") }

    /// Starts a CP group (`;` between groups).
    mutating func group() {
        if groups > 0 { append(UInt8(ascii: ";")) }
        groups += 1
        fieldInGroup = false
    }

    /// Starts a field of the open group: `,` between fields, then `name=`.
    mutating func key(_ name: String) {
        if fieldInGroup { append(UInt8(ascii: ",")) }
        fieldInGroup = true
        text(name)
        append(UInt8(ascii: "="))
    }

    /// `key(name)` of a key made once (`FactorSpec`): its bytes stored as three words, where a
    /// `String` went through `withUTF8` and a copy call, with a retain and a release.
    @inline(__always)
    mutating func key(_ k: CPKey) {
        guard k.count > 0 else { return key(k.name) }
        reserve(25)
        let p = UnsafeMutableRawPointer(base.unsafelyUnwrapped + count)
        var n = 0
        if fieldInGroup {
            p.storeBytes(of: UInt8(ascii: ","), as: UInt8.self)
            n = 1
        }
        fieldInGroup = true
        p.storeBytes(of: k.words.0, toByteOffset: n, as: UInt64.self)
        p.storeBytes(of: k.words.1, toByteOffset: n + 8, as: UInt64.self)
        p.storeBytes(of: k.words.2, toByteOffset: n + 16, as: UInt64.self)
        count += n + k.count
    }

    /// The CP groups of fields, as `DataSegment.serializedBytes` writes them (a field with an
    /// empty name is its value alone).
    mutating func fields(_ cp: [[Field]]) {
        for g in cp {
            group()
            for field in g {
                if field.name.isEmpty {
                    if fieldInGroup { append(UInt8(ascii: ",")) }
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
        s.withUTF8 { append($0) }
    }

    @inline(__always)
    mutating func literal(_ s: StaticString) { s.withUTF8Buffer { append($0) } }

    @inline(__always)
    mutating func ascii(_ b: UInt8) { append(b) }

    /// A flag byte as `String(UnicodeScalar(b))` writes it.
    @inline(__always)
    mutating func flag(_ b: UInt8) {
        if b < 0x80 { append(b) } else { text(String(UnicodeScalar(b))) }
    }

    mutating func integer(_ v: Int) {
        if v >= 0 && v < 10 { append(UInt8(48 + v)); return }
        text(String(v))
    }

    /// `YYYYMMDDhhmmss` (or with `zzz`) of a wall-clock time, as `HJTime.text14`/`text17`.
    mutating func time(_ ms: Int64, milliseconds: Bool) {
        // The day and the time of day as HJTime(wallMilliseconds:) splits them.
        var day = ms / 86_400_000
        var rest = ms % 86_400_000
        if rest < 0 { rest += 86_400_000; day -= 1 }
        if day != cachedDay {
            let h = HJTime(wallMilliseconds: ms)
            var digits: UInt64 = 0
            withUnsafeMutableBytes(of: &digits) { d in
                Self.put(h.year, 4, into: d, at: 0)
                Self.put(h.month, 2, into: d, at: 4)
                Self.put(h.day, 2, into: d, at: 6)
            }
            dayDigits = digits
            cachedDay = day
        }
        // The date's 8 digits as one word, then the clock two digits at a time (all in range:
        // 0 ≤ rest < 86,400,000).
        let r = Int(rest)
        reserve(17)
        let p = base.unsafelyUnwrapped + count
        UnsafeMutableRawPointer(p).storeBytes(of: dayDigits, as: UInt64.self)
        let pairs = ByteBuffer.digitPairs.utf8Start
        let hh = r / 3_600_000, mm = r / 60_000 % 60, ss = r / 1000 % 60
        p[8] = pairs[2 &* hh]; p[9] = pairs[2 &* hh &+ 1]
        p[10] = pairs[2 &* mm]; p[11] = pairs[2 &* mm &+ 1]
        p[12] = pairs[2 &* ss]; p[13] = pairs[2 &* ss &+ 1]
        if milliseconds {
            let z = r % 1000
            p[14] = UInt8(truncatingIfNeeded: 48 &+ z / 100)
            p[15] = pairs[2 &* (z % 100)]; p[16] = pairs[2 &* (z % 100) &+ 1]
            count += 17
        } else {
            count += 14
        }
    }

    mutating func time14(_ ms: Int64) { time(ms, milliseconds: false) }

    /// `value` in `width` decimal digits at `offset` of `bytes`.
    @inline(__always)
    private static func put(_ value: Int, _ width: Int, into bytes: UnsafeMutableRawBufferPointer, at offset: Int) {
        var v = value
        var k = width - 1
        while k >= 0 {
            bytes[offset + k] = UInt8(48 + abs(v % 10))  // as HJTime: never traps, even on a nonsense date
            v /= 10
            k -= 1
        }
    }

    /// A value with fixed decimals, exactly as `ValueFormat.fixed` prints it (the same rounding
    /// and digits as `ValueFormat.withFixedBytes`), written in place: its length is known before
    /// the digits are, so they go straight to where they belong, right to left, two at a time
    /// (a scratch, a digit per division and a copy call before; numbers are most of a 2011).
    mutating func number(_ value: Double, decimals: Int) {
        let d = Swift.max(0, Swift.min(6, decimals))
        guard value.isFinite else { return append(UInt8(ascii: "0")) }
        var scale = 1.0
        for _ in 0..<d { scale *= 10 }  // 1, 10 … 1e6, exactly
        let x = abs(value) * scale
        // Below 9e15 exactly when its rounding is (from 2^52 on every double is an integer).
        guard x < 9.0e15 else { return text(ValueFormat.fixed(value, decimals: decimals)) }
        // Half away from zero, as `rounded(.toNearestOrAwayFromZero)` (a libm call): the
        // fraction x − ⌊x⌋ is exact.
        let whole = UInt64(x)
        var n = x - Double(whole) >= 0.5 ? whole &+ 1 : whole
        let negative = value < 0 && n != 0
        var digits = 1
        var limit: UInt64 = 10
        while n >= limit {  // n < 1e16
            digits &+= 1
            limit &*= 10
        }
        let length = Swift.max(digits, d &+ 1) &+ (d > 0 ? 1 : 0) &+ (negative ? 1 : 0)
        reserve(length)
        let p = base.unsafelyUnwrapped + count
        let pairs = ByteBuffer.digitPairs.utf8Start
        var k = length
        /// The last two digits of `n` before position `k`.
        @inline(__always) func pair() {
            let r = Int(n % 100)
            n /= 100
            k &-= 2
            p[k] = pairs[2 &* r]
            p[k &+ 1] = pairs[2 &* r &+ 1]
        }
        // The decimals, the dot, then the integer part (at least one digit).
        var left = d
        while left >= 2 {
            pair()
            left &-= 2
        }
        if left == 1 {
            k &-= 1
            p[k] = UInt8(truncatingIfNeeded: 48 &+ n % 10)
            n /= 10
        }
        if d > 0 {
            k &-= 1
            p[k] = UInt8(ascii: ".")
        }
        while n >= 100 { pair() }
        if n >= 10 {
            p[k &- 2] = pairs[2 &* Int(n)]
            p[k &- 1] = pairs[2 &* Int(n) &+ 1]
        } else {
            p[k &- 1] = UInt8(truncatingIfNeeded: 48 &+ n)
        }
        if negative { p[0] = UInt8(ascii: "-") }
        count += length
    }
}

/// The memory a `SegmentBytes` writes into, freed with the last writer that holds it.
final class SegmentStorage: @unchecked Sendable {
    let base: UnsafeMutablePointer<UInt8>

    init(capacity: Int) { base = .allocate(capacity: capacity) }

    deinit { base.deallocate() }
}

/// A header `SegmentBytes` made: what it was made of, and its bytes after the QN.
final class SegmentHeader: Sendable {
    let st, cn, pw, mn: String
    let flag: Int
    let bytes: [UInt8]

    init(st: String, cn: String, pw: String, mn: String, flag: Int, bytes: [UInt8]) {
        self.st = st
        self.cn = cn
        self.pw = pw
        self.mn = mn
        self.flag = flag
        self.bytes = bytes
    }
}

/// A CP key and its `=` (`w01018-Rtd=`), made once per factor: up to 24 bytes held in three
/// words (`SegmentBytes.key(_:)` stores them whole and counts `count`); a longer key is written
/// from `name`.
struct CPKey: Sendable {
    let name: String
    let words: (UInt64, UInt64, UInt64)
    /// Bytes in `words` (with the `=`), 0 when the key is longer than 23 bytes.
    let count: Int

    init(_ name: String) {
        self.name = name
        var bytes = Array(name.utf8)
        bytes.append(UInt8(ascii: "="))
        var words: (UInt64, UInt64, UInt64) = (0, 0, 0)
        if bytes.count <= 24 {
            withUnsafeMutableBytes(of: &words) { $0.copyBytes(from: bytes) }
            count = bytes.count
        } else {
            count = 0
        }
        self.words = words
    }
}
