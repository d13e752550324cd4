/// How many digits a decimal number has on each side of its point: the width check of CP values
/// against their factor's type, on both lint paths (`SegmentChecks` and `ByteLinter`).
extension SegmentChecks {
    /// A decimal number's digits, read in one pass over its bytes: [+-]digits[.digits], at least
    /// one digit, at most one point; nil for anything else.
    struct NumberShape {
        var integerDigits = 0, fractionDigits = 0

        init?(_ text: String) {
            var text = text
            guard let shape = text.withUTF8({ NumberShape($0) }) else { return nil }
            self = shape
        }

        init?(_ bytes: UnsafeBufferPointer<UInt8>) {
            let packed = bytes.count <= 8 && !bytes.isEmpty ? Self.scanWord(bytes.baseAddress!, bytes.count) : Self.scanLoop(bytes)
            if packed < 0 { return nil }
            integerDigits = packed >> 8
            fractionDigits = packed & 0xFF
        }

        /// The shape of `buffer[range]`; where eight bytes of `buffer` start at the value, they are
        /// read as one word (no copy of the value's bytes first).
        init?(_ buffer: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) {
            let n = range.count
            let packed: Int
            if n >= 1 && n <= 8 && range.lowerBound + 8 <= buffer.count, let base = buffer.baseAddress {
                let w = UnsafeRawPointer(base + range.lowerBound).loadUnaligned(as: UInt64.self)
                packed = Self.scanWord(UInt64(littleEndian: w) & (n == 8 ? ~0 : (1 << UInt64(8 * n)) &- 1), n)
            } else {
                packed = Self.scanLoop(UnsafeBufferPointer(rebasing: buffer[range]))
            }
            if packed < 0 { return nil }
            integerDigits = packed >> 8
            fractionDigits = packed & 0xFF
        }

        /// The shape of a number of at most 8 bytes, judged on one word (most values of a frame
        /// are that short; the loop was 5 % of `lint` on the real-traffic stand-in). The same
        /// answer as `scanLoop` (compared for every string of up to 8 bytes over the bytes that
        /// matter, in `NumberShapeTests`): integer digits << 8 | fraction digits, or -1.
        @inline(__always)
        static func scanWord(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int {
            var w: UInt64 = 0
            withUnsafeMutableBytes(of: &w) { $0.baseAddress!.copyMemory(from: p, byteCount: n) }
            return scanWord(UInt64(littleEndian: w), n)
        }

        /// `scanWord` of the value held in the low `n` bytes of `w` (the others zero), first byte lowest.
        @inline(__always)
        static func scanWord(_ w: UInt64, _ n: Int) -> Int {
            let high: UInt64 = 0x8080_8080_8080_8080, low7: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
            let lanes = n == 8 ? high : high & ((1 << UInt64(8 * n)) &- 1)
            // Per byte: bit 7 set where the byte is not '0'…'9' (x = byte ^ '0' is 10 or more),
            // not '.', not '0'.
            let x = w ^ 0x3030_3030_3030_3030
            let notDigit = (x | ((x & low7) &+ 0x7676_7676_7676_7676)) & high
            let y = w ^ 0x2E2E_2E2E_2E2E_2E2E
            let notPoint = (y | ((y & low7) &+ low7)) & high
            let notZero = (x | ((x & low7) &+ low7)) & high
            let digit = ~notDigit & lanes
            let point = ~notPoint & lanes
            let first = w & 0xFF
            let sign: UInt64 = first == 0x2D || first == 0x2B ? 0x80 : 0
            guard lanes & ~digit & ~point & ~sign == 0, digit != 0, point & (point &- 1) == 0 else { return -1 }  // at most one point
            let pointAt = point == 0 ? n : point.trailingZeroBitCount >> 3
            let fraction = point == 0 ? 0 : n - pointAt - 1
            // Integer digits: from the first byte that is not '0' (after a sign) to the point.
            let significant = notZero & ~(sign == 0 ? 0 : 0xFF)
            let firstSignificant = significant == 0 ? 8 : significant.trailingZeroBitCount >> 3
            return (pointAt - min(firstSignificant, pointAt)) << 8 | fraction
        }

        /// The byte-by-byte judgement (any length): integer digits << 8 | fraction digits, or -1.
        static func scanLoop(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
            var digits = 0, points = 0, leading = true
            var integerDigits = 0, fractionDigits = 0
            for i in 0..<bytes.count {
                let b = bytes[i]
                if b &- 48 < 10 {
                    digits += 1
                    if points > 0 {
                        fractionDigits += 1
                    } else if !(b == 48 && leading) {
                        leading = false
                        integerDigits += 1
                    }
                } else if b == UInt8(ascii: ".") {
                    points += 1
                } else if i == 0 && (b == UInt8(ascii: "-") || b == UInt8(ascii: "+")) {
                    continue
                } else {
                    return -1
                }
            }
            if !(digits > 0 && points <= 1) { return -1 }
            // A value longer than a frame allows digits for would not fit in 8 bits.
            return min(integerDigits, 0xFF_FFFF) << 8 | min(fractionDigits, 0xFF)
        }

        /// The same judgement as `NumberType.fits`.
        func fits(_ type: NumberType) -> Bool {
            max(integerDigits, 1) <= max(type.integerDigits, 1) && fractionDigits <= type.fractionDigits
        }
    }
}
