import Testing
@testable import HJ212

@Suite("ScratchList and ByteBuffer.appendDescription: the byte linter's scratch storage and number text")
struct ScratchListTests {
    /// A small deterministic generator (the suite must be reproducible).
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    @Test("appends, reads, writes and emptying behave as an Array does, across growth")
    func matchesArray() {
        var g = Generator(state: 12)
        let list = ScratchList<Range<Int>>(capacity: 1)
        var model: [Range<Int>] = []
        for _ in 0..<20_000 {
            switch g.below(10) {
            case 0:
                list.removeAll()
                model.removeAll()
            case 1 where !model.isEmpty:
                let i = g.below(model.count), j = g.below(model.count)
                (list[i], list[j]) = (list[j], list[i])
                model.swapAt(i, j)
            case 2 where !model.isEmpty:
                let i = g.below(model.count), v = g.below(100)
                list[i] = v..<(v + 1)
                model[i] = v..<(v + 1)
            default:
                let v = g.below(1000)
                list.append(v..<(v + g.below(5)))
                model.append(model.last ?? 0..<0)
                model[model.count - 1] = list[list.count - 1]
            }
            #expect(list.count == model.count)
        }
        #expect(Array(list) == model)
        #expect(list.indices == model.indices)
        #expect(list.contains { $0.lowerBound == model.first?.lowerBound } == !model.isEmpty)
    }

    @Test("elements that hold references are released when emptied and when the list goes")
    func releasesReferences() {
        final class Token {}
        weak var first: Token?
        weak var second: Token?
        do {
            let list = ScratchList<Token>(capacity: 2)
            for i in 0..<10 {
                let t = Token()
                if i == 0 { first = t }
                list.append(t)
            }
            #expect(first != nil)
            list.removeAll()
            #expect(first == nil)
            let again = Token()
            second = again
            list.append(again)
            _ = consume again
            #expect(second != nil)
            _ = list
        }
        // The list's deinit released what it still held.
        #expect(second == nil)
    }

    @Test("the insertion sort (the linter's findings, the store's invalid flags) sorts as sorted(by:) does, stably")
    func insertionSort() {
        var g = Generator(state: 5)
        for n in 0..<40 {
            let values = (0..<n).map { _ in g.below(12) }
            let list = ScratchList<Int>()
            values.forEach(list.append)
            list.insertionSort(by: <)
            #expect(Array(list) == values.sorted())
            // Equal keys keep their order: pairs sorted by the key alone.
            let pairs = ScratchList<(key: Int, at: Int)>()
            for (i, v) in values.enumerated() { pairs.append((v / 3, i)) }
            pairs.insertionSort { $0.key < $1.key }
            let expected = values.enumerated().map { (key: $0.element / 3, at: $0.offset) }
                .sorted { $0.key != $1.key ? $0.key < $1.key : $0.at < $1.at }
            #expect(pairs.map(\.at) == expected.map(\.at))
        }
    }

    @Test("ByteBuffer.slice and bytes give the written bytes in place")
    func byteBufferSlice() {
        let b = ByteBuffer(capacity: 1)
        b.append("w01018")
        b.append(UInt8(ascii: "|"))
        b.append("a21026")
        #expect(Array(b.slice(7, 6)) == Array("a21026".utf8))
        #expect(Array(b.slice(13, 0)).isEmpty)
        #expect(String(decoding: b.bytes, as: UTF8.self) == "w01018|a21026")
        b.removeAll()
        #expect(b.bytes.isEmpty)
    }

    func text(_ v: Double) -> String {
        let b = ByteBuffer()
        b.appendDescription(of: v)
        return b.withBytes { String(decoding: $0, as: UTF8.self) }
    }

    @Test("appendDescription writes what Double.description writes, for decimals of every length and any bit pattern")
    func descriptionMatches() {
        var g = Generator(state: 99)
        var fast = 0
        for _ in 0..<300_000 {
            // Decimals as frames carry them: 1-16 digits, 0-9 of them after the point, either sign.
            let digits = 1 + g.below(16), fraction = g.below(min(digits, 10))
            var n: UInt64 = 0
            for _ in 0..<digits { n = n * 10 + UInt64(g.below(10)) }
            var p = 1.0
            for _ in 0..<fraction { p *= 10 }
            let v = (g.below(4) == 0 ? -1.0 : 1.0) * Double(n) / p
            #expect(text(v) == v.description, "\(v.description)")
            if ByteBuffer().appendShortDecimal(v) { fast += 1 }
        }
        // Most of them took the byte path (a fallback for everything would also match).
        #expect(fast > 250_000)
        for _ in 0..<200_000 {
            let v = Double(bitPattern: g.next())
            #expect(text(v) == v.description, "\(v.description)")
        }
        // Scaled bit patterns land in the range where the byte path works but digits run long.
        for _ in 0..<200_000 {
            let v = Double(g.next() >> 11) / Double(1 << (g.below(60)))
            #expect(text(v) == v.description, "\(v.description)")
        }
        let edges: [Double] = [0, -0.0, 0.001, 0.00099999, 0.0001, 1e15, 999_999_999_999_999.9, 1e15 - 0.5, 0.1 + 0.2, 1.0 / 3,
                               2.0 / 3, 100, 12.5, 0.05, .leastNonzeroMagnitude, .greatestFiniteMagnitude, .infinity, -.infinity, .nan,
                               9_007_199_254_740_994, 123_456_789.123_456_789, 0.123_456_789_012_345_6]
        for v in edges { #expect(text(v) == v.description, "\(v.description)") }
    }

    @Test("the values of a frame take the byte path; values outside its range are left to description")
    func pathTaken() {
        for v in [0.5, 12.0, 101.325, -7.25, 0.001, 123_456.789] { #expect(ByteBuffer().appendShortDecimal(v), "\(v)") }
        for v in [0.1 + 0.2, 0.0, -0.0, 0.0009, 1e15, 1e300, .infinity, .nan, .leastNonzeroMagnitude] { #expect(!ByteBuffer().appendShortDecimal(v), "\(v)") }
    }
}
