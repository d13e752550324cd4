import Testing
@testable import HJ212

// Randomised fuzzing (deterministic seeds) of the decoder, the segment parser and the linter on
// mutated frames and random bytes. The properties: nothing traps, every input byte is reported
// exactly once, every diagnostic offset lies within the input (and within its frame), the events
// do not depend on how the input was cut into reads.

/// Mutations of valid frames.
struct FrameMutator {
    var rng: DecoderHarness.SplitMix64

    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &rng) }
    mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: rng.next()) }
    mutating func pick<T>(_ items: [T]) -> T { items[int(0...(items.count - 1))] }

    /// Byte strings that matter to the decoder, parser and linter.
    static let tokens: [[UInt8]] = [
        "##", "#", "\r\n", "\r", "\n", "&&", "CP=&&", "CP=", "//", ";", ",", "=", " ", "-", "{", "0", "9999", "0000",
        "Flag=", "Flag=7", "PNUM=", "PNO=0", "PNUM=2;PNO=3", "QN=", "ST=91", "CN=9011", "CN=3020", "CN=1000", "MN=", "PW=",
        "DataTime=", "DataTime=20160230250000", "RtdInterval=", "MinInterval=7", "CstartTime=", "CstartTime=2561",
        "OverTime=", "ReCount=", "VaseNo=", "Ctime=", "Stime=", "QnRtn=", "ExeRtn=", "NewPW=", "PolId=", "PolId=w01018",
        "w01018-Rtd=", "-Flag=", "-Flag=X", "SB1-RS=", "i11001-Info=//", "-SampleTime=", "99999999999999999999999",
        "-0.", "+.", "1e5", "清洗管路", "中文", "😀",
    ].map { Array($0.utf8) }

    /// Byte sequences that are not UTF-8.
    static let invalidUTF8: [[UInt8]] = [[0xFF], [0xC0, 0x80], [0x80], [0xE4, 0xB8], [0xF5, 0x80, 0x80, 0x80], [0xED, 0xA0, 0x80],
                                         [0xC7, 0xE5, 0xCF, 0xB4] /* GBK 清洗 */, [0xF0, 0x9F, 0x98]]

    mutating func randomUTF8() -> [UInt8] {
        let scalars: [Unicode.Scalar] = (0..<int(1...4)).map { _ in
            switch int(0...3) {
            case 0: return Unicode.Scalar(UInt8(int(0x20...0x7E)))
            case 1: return Unicode.Scalar(UInt32(int(0x4E00...0x9FA5)))!
            case 2: return Unicode.Scalar(UInt32(int(0x80...0x7FF)))!
            default: return Unicode.Scalar(UInt32(int(0x1F600...0x1F64F)))!
            }
        }
        var s = ""
        s.unicodeScalars.append(contentsOf: scalars)
        return Array(s.utf8)
    }

    /// One mutation of `frame` in place.
    mutating func mutate(_ frame: inout [UInt8]) {
        let n = frame.count
        switch int(0...13) {
        case 0 where n > 0:  // flip a bit
            frame[int(0...(n - 1))] ^= UInt8(1) << UInt8(int(0...7))
        case 1:  // insert random bytes
            frame.insert(contentsOf: (0..<int(1...4)).map { _ in byte() }, at: int(0...n))
        case 2 where n > 0:  // delete a run
            let at = int(0...(n - 1))
            frame.removeSubrange(at..<min(n, at + int(1...8)))
        case 3 where n > 0:  // truncate
            frame.removeSubrange(int(0...(n - 1))..<n)
        case 4:  // duplicate "##" (often at the front)
            frame.insert(contentsOf: [0x23, 0x23], at: int(0...3) == 0 ? int(0...n) : 0)
        case 5 where n >= 6:  // replace digits of the length field
            for i in 2..<6 where int(0...1) == 0 {
                frame[i] = int(0...3) == 0 ? pick(Array("#x &-9".utf8)) : UInt8(48 + int(0...9))
            }
        case 6:  // insert CR LF
            frame.insert(contentsOf: [0x0D, 0x0A], at: int(0...n))
        case 7:  // random UTF-8
            frame.insert(contentsOf: randomUTF8(), at: int(0...n))
        case 8:  // invalid UTF-8
            frame.insert(contentsOf: pick(Self.invalidUTF8), at: int(0...n))
        case 9:  // a token
            frame.insert(contentsOf: pick(Self.tokens), at: int(0...n))
        case 10 where n > 8:  // overwrite a run with a token
            let token = pick(Self.tokens)
            let at = int(0...(n - 1))
            frame.replaceSubrange(at..<min(n, at + token.count), with: token)
        case 11 where n >= 8:  // corrupt the CRC or the trailer
            let at = max(0, n - int(1...6))
            frame[at] = pick(Array("0123456789abcdefABCDEFG\r\n#".utf8))
        case 12 where n > 4:  // duplicate a slice
            let a = int(0...(n - 1)), b = min(n, a + int(1...64))
            frame.insert(contentsOf: frame[a..<b], at: int(0...n))
        default:  // drop the trailer
            if frame.suffix(2) == [0x0D, 0x0A] { frame.removeLast(2) }
        }
    }
}

@Suite("Fuzz: decoder, parser and linter on mutated and random input")
struct FuzzTests {
    /// Valid frames to mutate: the Appendix C vectors when they are present, plus generated ones.
    static let seedFrames: [[UInt8]] = {
        var frames = Vectors.appendix.map { Array($0.frame.utf8) + [0x0D, 0x0A] }
        frames += Vectors.malformed.map { Array($0.frame.utf8) + [0x0D, 0x0A] }
        frames += [StreamDecoderTests.a, StreamDecoderTests.b, StreamDecoderTests.log]
        var gen = SegmentGenerator(seed: 0xF022)
        for _ in 0..<24 { frames.append(FrameEncoder.frame(gen.segment())) }
        return frames
    }()

    static let linters: [Linter] = [
        try! Linter(),
        try! Linter(options: LintOptions(strict: true)),
        try! Linter(options: LintOptions(dialect: .hj2005, strict: true)),
        try! Linter(options: LintOptions(dialect: .hj2025)),
    ]

    /// Checks every property on one input; returns the number of frames found.
    @discardableResult
    static func check(_ input: [UInt8], label: String, chunkSeed: UInt64?, linter: Linter) -> Int {
        let events = DecoderHarness.decodeWhole(input)
        if let violation = DecoderHarness.accountingViolation(events, inputCount: input.count) {
            Issue.record("\(label): \(violation); input \(Linter.quote(input))")
        }
        if let chunkSeed {
            let sizes = DecoderHarness.randomChunks(total: input.count, maxChunk: Int(chunkSeed % 2 == 0 ? 7 : 300), seed: chunkSeed)
            let chunked = DecoderHarness.decode(input, chunkSizes: sizes)
            if chunked != events {
                Issue.record("\(label): reads of ≤ \(chunkSeed % 2 == 0 ? 7 : 300) bytes gave \(chunked.map(DecoderHarness.Summary.init)), whole gave \(events.map(DecoderHarness.Summary.init)); input \(Linter.quote(input))")
            }
        }
        var frames = 0
        for event in events {
            switch event {
            case .frame(let frame):
                frames += 1
                checkFrame(frame, input: input, label: label, linter: linter)
            case .skipped(let skipped):
                let d = linter.diagnose(skipped)
                #expect(d.offset == skipped.offset && (0..<input.count).contains(skipped.offset), "\(label)")
            case .incomplete(let tail):
                let d = linter.diagnose(tail)
                #expect(d.offset == tail.offset && (0..<input.count).contains(tail.offset), "\(label)")
            }
        }
        return frames
    }

    static func checkFrame(_ frame: RawFrame, input: [UInt8], label: String, linter: Linter) {
        let end = frame.offset + frame.bytes.count
        let report = linter.check(frame, index: 0)
        for d in report.diagnostics {
            guard let offset = d.offset else { continue }
            if !(frame.offset...end).contains(offset) || !(0...input.count).contains(offset) {
                Issue.record("\(label): \(d.rule) at \(offset) outside frame \(frame.offset)..<\(end) (input \(input.count) bytes): \(d.message); frame \(Linter.quote(frame.bytes))")
            }
        }
        let parsed = SegmentParser.parse(frame.segmentBytes)
        #expect(report.segment == parsed.segment, "\(label)")
        checkParsed(parsed, count: frame.segment.count, label: label)
    }

    /// Offsets of a parse lie within the bytes parsed.
    static func checkParsed(_ parsed: ParsedSegment, count: Int, label: String) {
        for f in parsed.findings {
            if let o = f.offset, !(0...count).contains(o) {
                Issue.record("\(label): finding \(f.rule.id) at \(o) outside 0...\(count): \(f.message)")
            }
        }
        #expect(parsed.headerOffsets.count == parsed.segment.header.count, "\(label)")
        #expect(parsed.headerOffsets.allSatisfy { (0..<max(count, 1)).contains($0) }, "\(label): header offsets \(parsed.headerOffsets) for \(count) bytes")
        #expect(parsed.cpOffsets.map(\.count) == (parsed.segment.cp ?? []).map(\.count), "\(label)")
        #expect(parsed.cpOffsets.joined().allSatisfy { (0..<max(count, 1)).contains($0) }, "\(label): CP offsets beyond \(count) bytes")
        if let area = parsed.cpArea {
            #expect(area.lowerBound >= 0 && area.upperBound <= count, "\(label): CP area \(area) for \(count) bytes")
        }
    }

    @Test("mutated frames: no trap, every byte accounted for once, offsets within the input", arguments: 0..<4)
    func mutatedFrames(_ shard: Int) throws {
        var mutator = FrameMutator(rng: DecoderHarness.SplitMix64(seed: 0xF0F0 + UInt64(shard)))
        let linter = Self.linters[shard % Self.linters.count]
        var frames = 0
        for n in 0..<2500 {
            var input: [UInt8] = []
            for _ in 0..<mutator.int(1...3) {
                var frame = mutator.pick(Self.seedFrames)
                for _ in 0..<mutator.int(1...3) { mutator.mutate(&frame) }
                input += frame
                if mutator.int(0...3) == 0 { input += (0..<mutator.int(0...6)).map { _ in mutator.byte() } }
            }
            frames += Self.check(input, label: "shard \(shard) case \(n)", chunkSeed: n % 5 == 0 ? UInt64(n) : nil, linter: linter)
        }
        // The mutations are small: most inputs still hold frames.
        #expect(frames > 2500)
    }

    @Test("random bytes over a structural alphabet and uniformly random bytes", arguments: 0..<2)
    func randomBytes(_ shard: Int) throws {
        var rng = DecoderHarness.SplitMix64(seed: 0xB17E5 + UInt64(shard))
        let alphabet = Array("##0123456789;=,&&CP=QN\r\n//ABCDEFabcdef-. ".utf8) + [0x00, 0xE4, 0xB8, 0xAD, 0xFF]
        let linter = Self.linters[shard + 1]
        for n in 0..<1500 {
            let count = Int.random(in: 0...600, using: &rng)
            let input: [UInt8] = n % 3 == 0
                ? (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                : (0..<count).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
            Self.check(input, label: "random \(shard)/\(n)", chunkSeed: n % 4 == 0 ? UInt64(n) : nil, linter: linter)
            // The segment parser on raw bytes, as when a caller parses unframed text.
            Self.checkParsed(SegmentParser.parse(input), count: input.count, label: "parse random \(shard)/\(n)")
        }
    }

    @Test("random segments built from tokens: parser and linter findings stay within the segment")
    func tokenSegments() throws {
        var mutator = FrameMutator(rng: DecoderHarness.SplitMix64(seed: 0x70CE))
        for n in 0..<4000 {
            var segment: [UInt8] = []
            for _ in 0..<mutator.int(0...25) {
                switch mutator.int(0...5) {
                case 0: segment += mutator.randomUTF8()
                case 1: segment += mutator.pick(FrameMutator.invalidUTF8)
                case 2: segment += (0..<mutator.int(1...5)).map { _ in UInt8(48 + mutator.int(0...9)) }
                default: segment += mutator.pick(FrameMutator.tokens)
                }
            }
            Self.checkParsed(SegmentParser.parse(segment), count: segment.count, label: "tokens \(n)")
            // Framed correctly, the segment must come back as one frame whatever it holds, unless it
            // holds a line end closing "&&XXXX" (which ends a frame early by design).
            let wire = FrameEncoder.frame(segmentBytes: segment)
            Self.check(wire, label: "framed tokens \(n)", chunkSeed: n % 3 == 0 ? UInt64(n) : nil, linter: Self.linters[n % Self.linters.count])
        }
    }
    /// Whether `bytes` is well-formed UTF-8, by the standard library's decoder: it replaces every
    /// ill-formed sequence (overlong forms, surrogates, values above U+10FFFF, truncations).
    static func isValidUTF8(_ bytes: [UInt8]) -> Bool {
        Array(String(decoding: bytes, as: UTF8.self).utf8) == bytes
    }

    @Test("the linter's UTF-8 check agrees with the standard library on random byte strings")
    func utf8CheckMatchesStandardLibrary() throws {
        var rng = DecoderHarness.SplitMix64(seed: 0x07F8)
        // High bytes dominate so that multi-byte sequences, valid and not, are common.
        let bytes: [UInt8] = [0x41, 0x2F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE4, 0xED, 0xEF,
                              0xF0, 0xF4, 0xF5, 0xFF]
        var disagreements: [[UInt8]] = []
        for _ in 0..<20_000 {
            let input = (0..<Int.random(in: 1...6, using: &rng)).map { _ in bytes[Int(rng.next() % UInt64(bytes.count))] }
            if (Linter.firstInvalidUTF8(input) == nil) != Self.isValidUTF8(input) { disagreements.append(input) }
        }
        #expect(disagreements.isEmpty, "\(disagreements.count) disagreements, e.g. \(disagreements.prefix(5).map { Linter.quote($0) })")
        // Ill-formed sequences with a valid-looking lead byte: a surrogate (CESU-8), overlong
        // forms of '/' and U+0000, and a value above U+10FFFF.
        for bad: [UInt8] in [[0xED, 0xA0, 0x80], [0xE0, 0x80, 0xAF], [0xF0, 0x80, 0x80, 0x80], [0xF4, 0x90, 0x80, 0x80]] {
            #expect(!Self.isValidUTF8(bad))
            #expect(Linter.firstInvalidUTF8(bad) == 0, "\(Linter.quote(bad)) is not UTF-8")
            // Through the linter, inside a log value where Chinese is allowed.
            let segment = Array("QN=20160801085857223;ST=32;CN=3020;PW=123456;MN=010000A8900016F000169DC0;Flag=5;CP=&&DataTime=20160801085857;i11001-Info=//".utf8)
                + bad + Array("//&&".utf8)
            var decoder = FrameDecoder()
            decoder.feed(FrameEncoder.frame(segmentBytes: segment))
            guard case .frame(let frame)? = decoder.finish().first else {
                Issue.record("no frame")
                continue
            }
            let report = try Linter().check(frame, index: 0)
            #expect(report.diagnostics.contains { $0.rule == Rules.encodingNotUTF8.id }, "\(Linter.quote(bad)) inside a log is not reported as non-UTF-8")
        }
    }
}
