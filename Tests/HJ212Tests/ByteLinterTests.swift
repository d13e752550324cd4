import Testing
import TestSupport
@testable import HJ212

/// `ByteLinter` against `Linter.check` (the reference): on every frame the byte path takes, the
/// same diagnostics (rule, severity, offset, message, order), CRC verdict, dialects, header and CP.
/// The frames are generated from field-like templates (2005 and 2017 packets, old and vendor codes,
/// milliseconds, wide numbers, Min/Avg/Max out of order) and then mutated byte by byte.
@Suite struct ByteLinterTests {
    struct Rand {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
    }

    static let codes = ["011", "060", "B01", "001", "101", "S01", "S02", "S03", "B02", "01", "02", "w01018", "w21003", "w99001",
                        "w00000", "a21026", "a34013", "SB1", "SB12", "X99", "e10105", "i12001", "I33400", "w01018x", ""]
    static let fields = ["Rtd", "Flag", "Min", "Avg", "Max", "Cou", "ZsRtd", "SampleTime", "Ala", "EFlag", "Data", "RT", "RS", "Info", "Foo"]
    static let plain = ["DataTime", "AlarmTime", "AlarmType", "BeginTime", "SystemTime", "PolId", "RtdInterval", "Foo", "SKCreateTime"]
    static let commands = ["2011", "2051", "2061", "2031", "2041", "2072", "2021", "2111", "2062", "9014", "1011", "3020", "2081", "20110", "99", "1062", "3011"]

    static func value(_ r: inout Rand) -> String {
        switch r.below(14) {
        case 0: return r.pick(["N", "F", "M", "S", "D", "C", "T", "B", "X", "n"])
        case 1: return r.pick(["20160824000000000", "20160824101500", "20161332000000", "2016082400000", "20160824000000", "20160824001000000",
                               "20160824000500", "20160824100000", "20160229000000", "abc", ""])
        case 2: return r.pick(["-1.5", "+2", "1e5", "inf", "nan", "1.2.3", ".", "0012.500", "-0", "12345678.123456", "0.0000"])
        default:
            let whole = r.below(100_000)
            let decimals = r.below(5)
            var text = String(whole)
            if decimals > 0 { text += "." + String(repeating: "7", count: decimals) }
            return r.below(20) == 0 ? "-" + text : text
        }
    }

    static func segment(_ r: inout Rand) -> String {
        var header: [String] = []
        let newer = r.below(3) == 0
        let time = r.pick(["20160824000000", "20160824101500", "20160824103000", "20160824000100", "20171301000000"])
        if newer || r.below(10) == 0 { header.append("QN=\(time)\(r.pick(["000", "123", "", "99"]))") }
        header.append("ST=\(r.pick(["32", "31", "91", "21", "3", "ZZ", "a1"]))")
        header.append("CN=\(r.pick(commands))")
        if r.below(12) != 0 { header.append("PW=\(r.pick(["123456", "12345", "1234567"]))") }
        header.append("MN=\(r.pick(["LD130133010000", "LD1301330102590000000000", "0123456789ABCDEF01234567", "88888880000001", "ABC"]))")
        if newer || r.below(8) == 0 { header.append("Flag=\(r.pick(["5", "4", "0", "1", "9", "7", "8", "256", "x", "005", "12"]))") }
        if r.below(30) == 0 { header.append(r.pick(["PNUM=2", "PNO=1", "Foo=1"])) }
        if r.below(15) == 0 { header.swapAt(r.below(header.count), r.below(header.count)) }
        var groups: [String] = []
        if r.below(20) != 0 { groups.append("\(r.pick(plain.prefix(3) + ["DataTime"]))=\(r.pick([time + "000", time, "20160824000000000", "bad"]))") }
        for _ in 0..<r.below(6) {
            var entries: [String] = []
            let code = r.pick(codes)
            for _ in 0..<(1 + r.below(4)) {
                if r.below(8) == 0 {
                    entries.append("\(r.pick(plain))=\(value(&r))")
                } else {
                    let key = code.isEmpty ? r.pick(fields) : "\(code)-\(r.pick(fields))"
                    entries.append("\(key)=\(value(&r))")
                }
            }
            groups.append(entries.joined(separator: ","))
        }
        return header.joined(separator: ";") + ";CP=&&" + groups.joined(separator: ";") + "&&"
    }

    static func mutate(_ bytes: inout [UInt8], _ r: inout Rand) {
        let alphabet: [UInt8] = Array(";,=&-/ .{xN09AZaz\"\\".utf8) + [0x01, 0x7F, 0xC2, 0x80, 0xE4]
        for _ in 0..<(1 + r.below(3)) where !bytes.isEmpty {
            let i = r.below(bytes.count)
            switch r.below(4) {
            case 0: bytes[i] = r.pick(alphabet)
            case 1: bytes.remove(at: i)
            case 2: bytes.insert(r.pick(alphabet), at: i)
            default:
                let j = min(bytes.count, i + r.below(12))
                bytes.insert(contentsOf: Array(bytes[i..<j]), at: i)
            }
        }
    }

    /// A stream of frames: most with the right CRC, some lower case, some with a wrong or missing
    /// CR LF or a wrong length field.
    static func stream(count: Int, seed: UInt64, mutateSegments: Bool) -> [UInt8] {
        var r = Rand(state: seed)
        var wire: [UInt8] = []
        for _ in 0..<count {
            var segment = Array(Self.segment(&r).utf8)
            if mutateSegments && r.below(2) == 0 { mutate(&segment, &r) }
            var frame = FrameEncoder.frame(segmentBytes: segment, crcStyle: r.below(10) == 0 ? .lowercase : .standard)
            switch r.below(30) {
            case 0: frame[frame.count - 3] = frame[frame.count - 3] == 0x30 ? 0x31 : 0x30  // wrong CRC
            case 1: frame.removeLast()  // CR alone
            case 2: frame.remove(at: frame.count - 2)  // LF alone
            case 3: frame[5] = frame[5] == 0x30 ? 0x31 : 0x30  // wrong length
            default: break
            }
            if mutateSegments && r.below(10) == 0 { mutate(&frame, &r) }
            wire += frame
        }
        return wire
    }

    /// Compares both paths on every frame of `wire`; returns how many frames took the byte path.
    static func compare(_ wire: [UInt8], options: LintOptions = LintOptions()) throws -> (fast: Int, frames: Int) {
        let linter = try Linter(options: options)
        let fast = ByteLinter(linter: linter)
        var decoder = FrameDecoder()
        decoder.feed(wire)
        var events: [FrameDecoder.Event] = []
        while let e = decoder.next() { events.append(e) }
        events += decoder.finish()
        var taken = 0, frames = 0
        for case .frame(let raw) in events {
            frames += 1
            let reference = linter.check(raw, index: frames)
            guard fast.lint(raw, index: frames) else { continue }
            taken += 1
            let text = raw.textWithoutTrailer
            #expect(fast.materializedDiagnostics() == reference.diagnostics, "\(text)")
            #expect(fast.dialect == reference.dialect && fast.detectedDialect == reference.detectedDialect, "\(text)")
            #expect(fast.crcTexts.declared == reference.crc.declared)
            #expect(fast.crcTexts.computed == reference.crc.computed)
            #expect(fast.crcOK == reference.crc.ok && fast.crcVariant == reference.crc.variant, "\(text)")
            let header = zip(fast.headerSlots, fast.headerValues).map {
                Field(ByteLinter.headerName($0), String(decoding: raw.bytes[$1], as: UTF8.self))
            }
            #expect(header == reference.segment.header, "\(text)")
            var groups: [[Field]] = []
            var start = 0
            for end in fast.groupEnds {
                groups.append((start..<end).map {
                    Field(String(decoding: raw.bytes[fast.entryNames[$0]], as: UTF8.self), String(decoding: raw.bytes[fast.entryValues[$0]], as: UTF8.self))
                })
                start = end
            }
            #expect(groups == reference.segment.cp ?? [], "\(text)")
        }
        return (taken, frames)
    }

    @Test func generatedFramesAgreeWithTheLinter() throws {
        let (taken, frames) = try Self.compare(Self.stream(count: 3000, seed: 1, mutateSegments: false))
        #expect(frames == 3000)
        // The byte path must carry a good share (the generator also makes RT/RS/Info entries,
        // parameters, replies, PNUM… that it leaves to the full linter), or the comparison proves little.
        #expect(taken > frames / 6, "\(taken) of \(frames) frames took the byte path")
    }

    @Test func mutatedFramesAgreeWithTheLinter() throws {
        let (taken, frames) = try Self.compare(Self.stream(count: 4000, seed: 7, mutateSegments: true))
        #expect(frames > 3000)
        #expect(taken > 500, "\(taken) of \(frames) frames took the byte path")
    }

    @Test func strictAndRequiredDialectAgree() throws {
        let wire = Self.stream(count: 1500, seed: 3, mutateSegments: true)
        for options in [LintOptions(strict: true), LintOptions(dialect: .hj2017), LintOptions(dialect: .hj2005, strict: true),
                        LintOptions(dialect: .hj2025)] {
            let (taken, _) = try Self.compare(wire, options: options)
            #expect(taken > 200)
        }
    }

    @Test func framesOutsideTheByteSubsetAreLeftToTheLinter() throws {
        let linter = try Linter()
        let fast = ByteLinter(linter: linter)
        for segment in ["QN=1;ST=32;CN=2011;PW=1;MN=1;CP=&&a=//x//&&", "ST=32;CN=2011 ;CP=&&a=1&&", "ST=32;CN=9014;CP=&&&&",
                        "ST=32,CN=2011;CP=&&a=1&&", "ST=32;CN=2011;CP=&&a=1;&&", "ST=32;CN=2011;PNUM=2;PNO=1;CP=&&a=1&&",
                        "ST=32;CN=2031;CP=&&BeginTime=20200101000000;EndTime=20200102000000&&", "ST=32;CN=2011;CP=&&{0x01}&&"] {
            var decoder = FrameDecoder()
            decoder.feed(FrameEncoder.frame(segmentBytes: Array(segment.utf8)))
            guard case .frame(let raw)? = decoder.next() else { Issue.record("no frame"); continue }
            #expect(!fast.lint(raw, index: 0), "\(segment)")
        }
    }

    /// 3020 information uploads (the frame of `bench load`): the byte path takes a clean one
    /// (Info values of enumerated codes, PolId, DataTime) and leaves to the full linter an Info
    /// value outside its code's enumeration, a PolId that is no code, and a 3020 without DataTime
    /// (the InfoId rule); on all of them both paths agree.
    @Test func informationUploadsTakeTheBytePathWhenClean() throws {
        let clean = "QN=20261130080000000;ST=32;CN=3020;PW=123456;MN=0100AD000000000000000000;Flag=5;"
            + "CP=&&DataTime=20261130000000;PolId=w01018;i12001-Info=0;i12002-Info=0;i13004-Info=164.6&&"
        let others = [clean.replacing("i12001-Info=0", with: "i12001-Info=4"),
                      clean.replacing("PolId=w01018", with: "PolId=zz999"),
                      clean.replacing("DataTime=20261130000000;", with: "")]
        let fast = ByteLinter(linter: try Linter())
        func takes(_ segment: String) -> Bool {
            var decoder = FrameDecoder()
            decoder.feed(FrameEncoder.frame(segmentBytes: Array(segment.utf8)))
            guard case .frame(let raw)? = decoder.next() else { Issue.record("no frame"); return false }
            return fast.lint(raw, index: 0)
        }
        #expect(takes(clean))
        for segment in others { #expect(!takes(segment), "\(segment)") }
        let wire = ([clean] + others).flatMap { FrameEncoder.frame(segmentBytes: Array($0.utf8)) }
        let (taken, frames) = try Self.compare(wire)
        #expect(taken == 1 && frames == 4)
        // The full linter has something to say about each refused one (else the refusal proves little).
        let linter = try Linter()
        var decoder = FrameDecoder()
        decoder.feed(wire)
        var index = 0
        while let event = decoder.next() {
            guard case .frame(let raw) = event else { continue }
            index += 1
            #expect(linter.check(raw, index: index).diagnostics.isEmpty == (index == 1), "frame \(index)")
        }
    }

    /// The Min/Avg/Max values are read by `SegmentChecks.parseDouble`: the same `Double` as
    /// `Double(String)` (bit for bit, sign of zero included) on decimal shapes of every length,
    /// and on the shapes it hands to the full parser.
    @Test func numberParsingMatchesTheFullParser() {
        var r = Rand(state: 11)
        var cases = ["0", "-0", "-0.0", ".5", "5.", "-.5", ".", "-", "", "+2", "1e5", "inf", "nan", "1.2.3", "0012.500",
                     "123456789012345", "1234567890123456", "0.0000000000000000000001", "0.00000000000000000000001",
                     "9007199254740993", "999999999999999.9", "0.1", "0.3", "-123.456", "00000000000000000000000001.5"]
        for _ in 0..<20_000 {
            var text = r.below(5) == 0 ? "-" : ""
            let whole = r.below(18), fraction = r.below(25)
            for _ in 0..<whole { text.append(Character(Unicode.Scalar(UInt8(48 + r.below(10))))) }
            if r.below(4) != 0 { text += "." }
            for _ in 0..<fraction { text.append(Character(Unicode.Scalar(UInt8(48 + r.below(10))))) }
            cases.append(text)
        }
        for text in cases {
            let bytes = Array(text.utf8)
            let fast = bytes.withUnsafeBufferPointer { SegmentChecks.parseDouble($0) }
            let full = Double(text)
            #expect(fast?.bitPattern == full?.bitPattern, "\(text): \(String(describing: fast)) vs \(String(describing: full))")
        }
    }

    /// The memo of dictionary answers: a value per key, recomputed after an eviction, never another key's.
    @Test func memoKeepsEachKeysOwnAnswer() {
        var memo = ByteLintMemo()
        var computed = 0
        for round in 0..<3 {
            for key in 0..<500 {
                let v = memo.value(key) { computed += 1; return UInt8(key % 251) }
                #expect(v == UInt8(key % 251), "round \(round) key \(key)")
            }
        }
        // 500 keys in 64 slots: most are evicted and recomputed, but a repeated key is not.
        #expect(computed > 500)
        let before = computed
        _ = memo.value(7) { computed += 1; return 7 }
        _ = memo.value(7) { computed += 1; return 7 }
        #expect(computed <= before + 1)
    }

    @Test func unknownKeysStayWithinTheBudget() throws {
        let linter = try Linter()
        let fast = ByteLinter(linter: linter)
        var decoder = FrameDecoder()
        for i in 0..<(ByteLintKeys.budget + 100) {
            decoder.feed(FrameEncoder.frame(segmentBytes: Array("ST=32;CN=2011;PW=123456;MN=LD130133010000;CP=&&DataTime=20160824000000;Z\(i)-Rtd=1&&".utf8)))
            guard case .frame(let raw)? = decoder.next() else { Issue.record("no frame"); return }
            #expect(fast.lint(raw, index: i))
            let reference = linter.check(raw, index: i)
            #expect(fast.materializedDiagnostics() == reference.diagnostics)
        }
        #expect(fast.keys.resets >= 1)
        #expect(fast.keys.tables.allSatisfy { $0.entries.count <= ByteLintKeys.budget })
    }

    @Test("firstOf finds the first of three bytes eight at a time exactly as a byte loop does, at every start and end")
    func firstOfWordScan() {
        var rng = SplitMix64(seed: 8)
        // Separators, their neighbours (borrows in the word test), high bytes and zeros.
        let alphabet: [UInt8] = [0x3D, 0x3B, 0x2C, 0x3C, 0x3E, 0x3A, 0x2B, 0x2D, 0x00, 0x01, 0xFF, 0x80, 0x41, 0x30, 0x7E]
        for _ in 0..<300 {
            let bytes = (0..<Int.random(in: 0..<40, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
            bytes.withUnsafeBufferPointer { buf in
                for from in 0...bytes.count {
                    for end in from...bytes.count {
                        for (a, b, c) in [(UInt8(0x3D), UInt8(0x3B), UInt8(0x2C)), (0x3B, 0x2C, 0x2C), (0x00, 0xFF, 0x01)] {
                            let naive = (from..<end).first { [a, b, c].contains(bytes[$0]) } ?? end
                            #expect(ByteLinter.firstOf(buf, from, end, a, b, c) == naive)
                        }
                    }
                }
            }
        }
    }

    @Test("messages count as terminal-safe with a hex declared CRC and a dictionary without control characters")
    func messagesAreTerminalSafe() throws {
        let segment = Array("QN=20160801085857223;ST=32;CN=2011;PW=123456;MN=010000A8900016F000169DC0;Flag=5;CP=&&DataTime=20160801085857;w01018-Rtd=12.5&&".utf8)
        func frame(crc: [UInt8]) -> RawFrame {
            let bytes = Array("##\(String(format: "%04d", segment.count))".utf8) + segment + crc + [0x0D, 0x0A]
            return RawFrame(offset: 0, bytes: bytes, declaredLength: segment.count, segment: 6..<(6 + segment.count),
                            crcField: (6 + segment.count)..<(10 + segment.count), trailer: .crlf, boundary: .declaredLength)
        }
        let fast = ByteLinter(linter: try Linter())
        #expect(fast.lint(frame(crc: Array("1234".utf8)), index: 0))
        #expect(fast.messagesAreTerminalSafe)
        #expect(fast.lint(frame(crc: Array("9b8f".utf8)), index: 1))
        #expect(fast.messagesAreTerminalSafe)
        // A CRC field that is not hex never reaches the byte path's messages: it declines the frame.
        #expect(!fast.lint(frame(crc: [0x1B, 0x5B, 0x32, 0x4A]), index: 2))
        // The static texts written for severities are their raw values.
        #expect(Severity.allCases.allSatisfy { $0.text.description == $0.rawValue })
        // Every built-in dictionary's quotable texts are safe.
        for dialect in [Dialect.hj2005, .hj2017, .hj2025] {
            #expect(ByteLinter.DictionaryRef(CodeDictionary.shared(dialect)).textsAreTerminalSafe)
        }
    }
}

