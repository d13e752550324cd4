import Testing
@testable import HJ212

@Suite("NumberShape: the word path judges numbers as the byte loop does")
struct NumberShapeTests {
    /// Bytes that matter to the judgement: digits at both ends, the neighbours of '0'…'9' ('/' and
    /// ':'), the point, both signs, a letter, a space, and a byte with its top bit set.
    static let alphabet: [UInt8] = Array("019/:.-+a ".utf8) + [0xB0]

    /// The word path (copied, and loaded from a frame with bytes after the value) and the loop.
    func both(_ bytes: [UInt8]) -> (word: Int, loop: Int) {
        let loop = bytes.withUnsafeBufferPointer { SegmentChecks.NumberShape.scanLoop($0) }
        let word = bytes.withUnsafeBufferPointer { SegmentChecks.NumberShape.scanWord($0.baseAddress!, $0.count) }
        // In a frame: a byte before, bytes after that would change the answer if they were read.
        let frame = [UInt8(ascii: "=")] + bytes + Array("-.x&&1C80\r\n".utf8)
        let inFrame = frame.withUnsafeBufferPointer { SegmentChecks.NumberShape($0, 1..<(1 + bytes.count)) }
        let packed = inFrame.map { $0.integerDigits << 8 | $0.fractionDigits } ?? -1
        #expect(packed == word, "\(String(decoding: bytes, as: UTF8.self)) in a frame")
        return (word, loop)
    }

    @Test("every string of 1 to 5 bytes over the alphabet, and random ones of 6 to 8 bytes")
    func wordMatchesLoop() {
        let a = Self.alphabet
        var checked = 0, valid = 0
        for length in 1...5 {
            var digits = [Int](repeating: 0, count: length)
            while true {
                let bytes = digits.map { a[$0] }
                let (word, loop) = both(bytes)
                #expect(word == loop, "\(String(decoding: bytes, as: UTF8.self))")
                checked += 1
                if loop >= 0 { valid += 1 }
                var k = 0
                while k < length && digits[k] == a.count - 1 { digits[k] = 0; k += 1 }
                if k == length { break }
                digits[k] += 1
            }
        }
        var state: UInt64 = 7
        for _ in 0..<300_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let length = 6 + Int((state >> 40) % 3)
            var bytes: [UInt8] = []
            var r = state
            for _ in 0..<length {
                // Mostly digits, so that valid numbers of every shape come up.
                bytes.append(r % 4 == 0 ? a[Int((r >> 2) % UInt64(a.count))] : UInt8(ascii: "0") + UInt8((r >> 2) % 10))
                r = (r >> 7) | (r << 57)
            }
            let (word, loop) = both(bytes)
            #expect(word == loop, "\(String(decoding: bytes, as: UTF8.self))")
            if loop >= 0 { valid += 1 }
        }
        #expect(checked == (1...5).reduce(0) { total, n in total + (0..<n).reduce(1) { p, _ in p * a.count } })
        #expect(valid > 50_000)
    }

    @Test("known shapes: leading zeros, signs, points")
    func knownShapes() {
        func shape(_ s: String) -> (Int, Int)? {
            Array(s.utf8).withUnsafeBufferPointer { SegmentChecks.NumberShape($0) }.map { ($0.integerDigits, $0.fractionDigits) }
        }
        #expect(shape("0.5")! == (0, 1))
        #expect(shape("007")! == (1, 0))
        #expect(shape("-12.50")! == (2, 2))
        #expect(shape("+100")! == (3, 0))
        #expect(shape("12345678.9")! == (8, 1))  // longer than a word: the loop
        #expect(shape("1.2.3") == nil)
        #expect(shape("-") == nil)
        #expect(shape("1-2") == nil)
        #expect(shape(".") == nil)
    }
}
