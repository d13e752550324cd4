/// A growable byte buffer for writers that append many small pieces (the JSON items and text
/// lines of `lint`): each append is inlined with one capacity check, where an `Array` append also
/// checks that its storage is unique and is called out of line (an eighth of a JSON lint run
/// went to that). It grows to the largest item written (a frame is at most 10,011 bytes, six
/// times that escaped) and is reused from item to item (`removeAll`); one owner at a time, not
/// shared between threads.
///
/// ```swift
/// let out = ByteBuffer()
/// out.append(#"{"mn":""#)
/// out.appendEscapedJSON(bytes)     // at most 6 bytes per input byte
/// out.append(#""}"#)
/// out.withBytes { sink.write(bytes: $0) }
/// ```
public final class ByteBuffer {
    @usableFromInline @exclusivity(unchecked) var base: UnsafeMutablePointer<UInt8>
    @usableFromInline @exclusivity(unchecked) var capacity: Int
    @usableFromInline @exclusivity(unchecked) var used = 0

    public init(capacity: Int = 4096) {
        self.capacity = max(64, capacity)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    /// Bytes written since the last `removeAll`.
    @inlinable public var count: Int { used }

    /// Bytes allocated (kept across `removeAll`), for the memory budgets of its owners.
    @inlinable public var allocatedBytes: Int { capacity }

    /// Makes room for `n` more bytes.
    @inlinable @inline(__always)
    public func reserve(_ n: Int) {
        if n > capacity - used { grow(n) }
    }

    @usableFromInline @inline(never)
    func grow(_ n: Int) {
        let (needed, overflow) = used.addingReportingOverflow(n)
        precondition(!overflow, "byte buffer of \(used) bytes cannot grow by \(n)")
        let c = Swift.max(needed, capacity <= Int.max / 2 ? capacity * 2 : Int.max)
        let new = UnsafeMutablePointer<UInt8>.allocate(capacity: c)
        new.update(from: base, count: used)
        base.deallocate()
        base = new
        capacity = c
    }

    @inlinable @inline(__always)
    public func append(_ b: UInt8) {
        reserve(1)
        base[used] = b
        used += 1
    }

    @inlinable @inline(__always)
    public func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let p = bytes.baseAddress, !bytes.isEmpty else { return }
        reserve(bytes.count)
        (base + used).update(from: p, count: bytes.count)
        used += bytes.count
    }

    @inlinable @inline(__always)
    public func append(_ s: StaticString) { s.withUTF8Buffer { append($0) } }

    @inlinable
    public func append(_ bytes: [UInt8]) { bytes.withUnsafeBufferPointer { append($0) } }

    /// A string's UTF-8 bytes as they are (no escaping). Labelled so that a string literal takes
    /// `append(_: StaticString)`, copied straight from the binary: with an unlabelled `String`
    /// overload every literal became a `String` (`withUTF8`, retain and release, ~90 instructions).
    @inlinable
    public func append(string s: String) {
        var s = s
        s.withUTF8 { append($0) }
    }

    /// Forgets what was written; the memory is kept for the next item.
    @inlinable
    public func removeAll() { used = 0 }

    /// The bytes written.
    @inlinable
    public func withBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: base, count: used))
    }

    /// `n` bytes from `start`, in place: valid until the next append or `removeAll` (the store
    /// binds a row's texts where they are, `SQLITE_STATIC`).
    @inlinable @inline(__always)
    public func slice(_ start: Int, _ n: Int) -> UnsafeBufferPointer<UInt8> {
        precondition(start >= 0 && n >= 0 && n <= used - start, "slice out of range")
        return UnsafeBufferPointer(start: base + start, count: n)
    }

    /// The bytes written, in place: valid until the next append or `removeAll`.
    @inlinable
    public var bytes: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: base, count: used) }

    /// A decimal integer, as `JSONWriter.appendDecimal` writes it: two digits per division, from a
    /// table of the pairs 00…99 (offsets and indices are written for every finding of `lint`).
    public func appendDecimal(_ value: Int) {
        reserve(20)
        var magnitude = value.magnitude
        if value < 0 { base[used] = UInt8(ascii: "-"); used += 1 }
        // Digits from the bit length (log10(2) ≈ 1233 / 4096), corrected by one comparison.
        var digits = ((64 - magnitude.leadingZeroBitCount) * 1233) >> 12
        if digits < 19 ? magnitude >= Self.powersOfTen[digits] : digits == 19 && magnitude >= 10_000_000_000_000_000_000 { digits += 1 }
        digits = Swift.max(digits, 1)
        let pairs = Self.digitPairs.utf8Start
        var k = used + digits
        while magnitude >= 100 {
            let r = Int(magnitude % 100)
            magnitude /= 100
            k -= 2
            base[k] = pairs[2 * r]
            base[k + 1] = pairs[2 * r + 1]
        }
        if magnitude >= 10 {
            base[k - 2] = pairs[2 * Int(magnitude)]
            base[k - 1] = pairs[2 * Int(magnitude) + 1]
        } else {
            base[k - 1] = UInt8(ascii: "0") + UInt8(magnitude)
        }
        used += digits
    }

    /// `value.description`, without the `String` (lint's Min/Avg/Max messages quote three per
    /// finding; the `String` was 3 % of `lint` on the real-traffic stand-in).
    ///
    /// `description` prints the shortest decimal that reads back as the value (the closest one
    /// when several are that short), with at least one fraction digit in this range. For
    /// 0.001 ≤ |value| < 10^15 the candidates with k fraction digits (k = 1…9) are the integers
    /// n with n / 10^k == |value|: both operands are exact, so the division rounds as reading the
    /// decimal does. n lies within one of |value| · 10^k rounded, so the three integers around
    /// it are all the candidates at that k. The first k with exactly one candidate gives the
    /// digits `description` prints; with two or more, or outside the range, `description` is used.
    public func appendDescription(of value: Double) {
        if !appendShortDecimal(value) { append(string: value.description) }
    }

    /// `appendDescription`'s own path: false (nothing written) where it leaves the value to `description`.
    func appendShortDecimal(_ value: Double) -> Bool {
        let m = value.magnitude
        if m >= 0.001 && m < 1e15 {
            var p = 1.0
            for k in 1...9 {
                p *= 10
                let scaled = (m * p).rounded()
                guard scaled < 9_007_199_254_740_000 else { break }
                let low = (scaled - 1) / p == m, mid = scaled / p == m, high = (scaled + 1) / p == m
                let found = (low ? 1 : 0) + (mid ? 1 : 0) + (high ? 1 : 0)
                if found == 0 { continue }
                guard found == 1 else { break }
                let n = UInt64(mid ? scaled : low ? scaled - 1 : scaled + 1)
                let unit = UInt64(p)
                if value < 0 { append(UInt8(ascii: "-")) }
                appendDecimal(Int(n / unit))
                append(UInt8(ascii: "."))
                reserve(k)
                var fraction = n % unit
                for i in stride(from: k - 1, through: 0, by: -1) {
                    base[used + i] = UInt8(ascii: "0") + UInt8(fraction % 10)
                    fraction /= 10
                }
                used += k
                return true
            }
        }
        return false
    }

    private static let powersOfTen: [UInt64] = (0..<19).map { e in (0..<e).reduce(1) { p, _ in p * 10 } }

    /// "00" … "99": two decimal digits per division by 100. One table for every writer of
    /// decimals in the package (the linter's output here, the generator's `SegmentBytes`); a
    /// computed literal, so that a client module reads a constant address, not a lazy global.
    @inlinable
    public static var digitPairs: StaticString {
        """
        00010203040506070809101112131415161718192021222324252627282930313233343536373839\
        40414243444546474849505152535455565758596061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899
        """
    }

    /// The contents of a JSON string (without the quotes), escaped exactly as
    /// `JSONWriter.appendEscaped` escapes them (`JSONWriter.escapeClass`); plain runs of eight
    /// bytes are copied as words.
    public func appendEscapedJSON(_ buffer: UnsafeBufferPointer<UInt8>) {
        let n = buffer.count
        guard n > 0, let src = buffer.baseAddress else { return }
        // Each input byte becomes at most 6 (`\u00XX`; a C1 control: 2 bytes become 6), and a
        // last short piece is stored as a whole word (8 bytes of room past what it writes).
        let (bound, overflow) = n.multipliedReportingOverflow(by: 6)
        reserve(overflow || bound > Int.max - 8 ? Int.max : bound + 8)
        var o = base + used
        var i = 0
        while i < n {
            while i + 8 <= n {
                let w = UnsafeRawPointer(src + i).loadUnaligned(as: UInt64.self)
                guard JSONWriter.isPlainWord(w) else { break }
                UnsafeMutableRawPointer(o).storeBytes(of: w, as: UInt64.self)
                i += 8
                o += 8
            }
            if i >= n { break }
            if n - i < 8 {
                // The last 1–7 bytes (most pieces are that short): padded with plain bytes into one
                // word, tested and stored whole, `used` then counting only the real ones.
                var w: UInt64 = 0x6161_6161_6161_6161
                withUnsafeMutableBytes(of: &w) { $0.baseAddress!.copyMemory(from: src + i, byteCount: n - i) }
                if JSONWriter.isPlainWord(w) {
                    UnsafeMutableRawPointer(o).storeBytes(of: w, as: UInt64.self)
                    o += n - i
                    break
                }
            }
            let e = JSONWriter.escapeClass(buffer, i)
            if e == 0 {
                o.pointee = src[i]
                o += 1
                i += 1
                continue
            }
            o.pointee = UInt8(ascii: "\\")
            if e >= 0xFE {
                let code = e == 0xFE ? src[i + 1] : src[i]
                o[1] = UInt8(ascii: "u")
                o[2] = UInt8(ascii: "0")
                o[3] = UInt8(ascii: "0")
                o[4] = JSONWriter.hexDigit(code >> 4)
                o[5] = JSONWriter.hexDigit(code & 0x0F)
                o += 6
                i += e == 0xFE ? 2 : 1
            } else {
                o[1] = e
                o += 2
                i += 1
            }
        }
        used = o - base
    }

    /// `appendEscapedJSON` of a string's UTF-8 bytes.
    public func appendEscapedJSON(_ s: String) {
        var s = s
        s.withUTF8 { appendEscapedJSON($0) }
    }
}
