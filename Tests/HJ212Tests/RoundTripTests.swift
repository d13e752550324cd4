import Testing
@testable import HJ212

// Property tests over generated values (deterministic: SplitMix64 with fixed seeds): what the
// library writes, it reads back unchanged.

/// Random data segments, times and JSON values for the round-trip properties.
struct SegmentGenerator {
    var rng: DecoderHarness.SplitMix64

    init(seed: UInt64) { rng = DecoderHarness.SplitMix64(seed: seed) }

    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &rng) }
    mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &rng) < p }
    mutating func pick<T>(_ items: [T]) -> T { items[int(0...(items.count - 1))] }

    mutating func string(_ alphabet: String, _ length: ClosedRange<Int>) -> String {
        let chars = Array(alphabet)
        return String((0..<int(length)).map { _ in pick(chars) })
    }

    static let digits = "0123456789"
    static let hex = "0123456789ABCDEF"
    static let upperAlnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    static let alnum = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    /// Value characters: no ';' ',' '=' '&', no spaces, no '/' (a leading "//" starts log text).
    static let safe = alnum + ".-_:+*!~^()[]{}|?<>$%@#'\""

    mutating func time14() -> String { HJTime(wallMilliseconds: instant()).text14 }
    mutating func time17() -> String { HJTime(wallMilliseconds: instant()).text17 }

    /// A wall-clock instant in 1990-01-01 ..< 2101-01-01, in milliseconds since 1970.
    mutating func instant() -> Int64 { Int64.random(in: 631_152_000_000..<4_133_980_800_000, using: &rng) }

    mutating func header(splitFields: Bool? = nil) -> [Field] {
        var header = [
            Field("QN", time17()),
            Field("ST", chance(0.7) ? pick(["21", "22", "31", "32", "91"]) : string(Self.upperAlnum, 2...2)),
            Field("CN", chance(0.7) ? pick(["2011", "2051", "2061", "2031", "3020", "9014", "1062"]) : string(Self.digits, 4...4)),
            Field("PW", chance(0.5) ? "123456" : string(Self.alnum, 6...6)),
            Field("MN", chance(0.6) ? string(Self.hex, 24...24) : string(Self.alnum + "-_", 1...30)),
        ]
        let split = splitFields ?? chance(0.2)
        header.append(Field("Flag", split ? pick(["6", "7"]) : (chance(0.8) ? pick(["4", "5"]) : String(int(0...255)))))
        if split {
            let pnum = int(1...40)
            header.append(Field("PNUM", String(pnum)))
            header.append(Field("PNO", String(int(1...pnum))))
        }
        return header
    }

    static let codes = ["w01018", "w01001", "w00000", "a21026", "a21004", "a34004", "a01012", "SB1", "SB2", "i11001", "e1000"]
    static let fields = ["Rtd", "ZsRtd", "Avg", "ZsAvg", "Min", "Max", "Cou", "Flag", "EFlag", "SampleTime", "RS", "Info"]
    static let plainKeys = ["DataTime", "RestartTime", "PolId", "SystemTime", "RtdInterval"]

    mutating func logValue() -> String {
        let words = ["清洗管路", "校准", "text", "with", "中文", "pump 2", "ok", "维护:开始", "12.5", "日志", "a;b", "x=1,y=2", "R&&D"]
        return "//" + (0..<int(0...5)).map { _ in pick(words) }.joined(separator: " ") + "//"
    }

    mutating func value() -> String {
        if chance(0.05) { return "" }
        if chance(0.3) { return String(int(-999...99_999)) + (chance(0.6) ? "." + string(Self.digits, 1...3) : "") }
        return string(Self.safe, 1...12)
    }

    /// One CP entry: `code-Field=value`, a plain key, or log text.
    mutating func entry() -> Field {
        let r = int(0...9)
        if r == 0 { return Field("DataTime", time14()) }
        if r == 1 { return Field(pick(Self.codes) + "-Info", logValue()) }
        if r == 2 { return Field(pick(Self.plainKeys), value()) }
        return Field(pick(Self.codes) + "-" + pick(Self.fields), value())
    }

    mutating func cp(groups: ClosedRange<Int>) -> [[Field]] {
        var cp: [[Field]] = chance(0.7) ? [[Field("DataTime", time14())]] : []
        for _ in 0..<int(groups) { cp.append((0..<int(1...5)).map { _ in entry() }) }
        return cp
    }

    mutating func segment() -> DataSegment {
        DataSegment(header: header(), cp: chance(0.03) ? nil : cp(groups: 0...8))
    }

    /// A pollutant group: every key is `code-Field`.
    mutating func pollutantGroup() -> [Field] {
        let code = chance(0.5) ? pick(Self.codes) : pick(["w", "a"]) + string(Self.digits, 5...5)
        var group = [Field(code + "-Rtd", String(int(0...9999)) + "." + string(Self.digits, 1...3))]
        if chance(0.5) { group.append(Field(code + "-SampleTime", time14())) }
        if chance(0.3) { group.append(Field(code + "-Info", logValue())) }
        group.append(Field(code + "-Flag", pick(["N", "F", "M", "S", "D", "C", "T", "B"])))
        return group
    }

    /// A record too large for one packet: DataTime, then many pollutant groups.
    mutating func largeRecord() -> DataSegment {
        var header = header(splitFields: false)
        header[5] = Field("Flag", pick(["4", "5"]))
        var cp: [[Field]] = [[Field("DataTime", time14())]]
        let count = int(30...250)
        for _ in 0..<count { cp.append(pollutantGroup()) }
        return DataSegment(header: header, cp: cp)
    }

    /// A JSON value of bounded depth with strings holding control characters, quotes, backslashes,
    /// Chinese and characters outside the BMP.
    mutating func json(depth: Int = 0) -> JSONValue {
        switch int(0...(depth >= 3 ? 4 : 6)) {
        case 0: return .null
        case 1: return .bool(chance(0.5))
        case 2:
            switch int(0...3) {
            case 0: return .int(Int.random(in: Int.min...Int.max, using: &rng))
            case 1: return .int(pick([0, -1, 1, Int.max, Int.min]))
            default: return .int(int(-100_000...100_000))
            }
        case 3:
            switch int(0...4) {
            case 0:
                let d = Double(bitPattern: rng.next())
                return .double(d.isFinite ? d : 0.5)
            case 1: return .double(pick([0.5, -0.0, 1e300, .leastNonzeroMagnitude, 1.0, -123.25, 1e16, 0.1]))
            default: return .double(Double(int(-1_000_000...1_000_000)) / 64.0 + 0.015625)
            }
        case 4: return .string(jsonString())
        case 5: return .array((0..<int(0...4)).map { _ in json(depth: depth + 1) })
        default: return .object((0..<int(0...4)).map { _ in (jsonString(), json(depth: depth + 1)) })
        }
    }

    mutating func jsonString() -> String {
        let pieces: [String] = ["a", "Z", "0", " ", "\"", "\\", "/", "\n", "\r", "\t", "\u{0}", "\u{1}", "\u{8}", "\u{C}", "\u{1F}", "\u{7F}",
                                "\u{85}", "\u{2028}", "中文", "清洗管路", "é", "😀", "\u{FEFF}", "//", "&&", "##", "\r\n", ";", "="]
        return (0..<int(0...10)).map { _ in pick(pieces) }.joined()
    }
}

@Suite("Round trips: segment, frame, CRC, split/reassembly, time, JSON")
struct RoundTripTests {
    static let cases = 400

    @Test("SegmentParser.parse(segment.serialized()) gives the segment back, with no findings")
    func segmentRoundTrip() throws {
        var gen = SegmentGenerator(seed: 0x5E6)
        for n in 0..<Self.cases {
            let segment = gen.segment()
            let text = segment.serialized()
            let parsed = SegmentParser.parse(text)
            #expect(parsed.segment == segment, "case \(n): \(text)")
            #expect(!parsed.findings.contains { $0.rule.severity(strict: true) == .error || $0.rule.severity(strict: false) == .error },
                    "case \(n): \(parsed.findings.map(\.message)) in \(text)")
            #expect(parsed.findings.isEmpty, "case \(n): \(parsed.findings.map(\.message)) in \(text)")
            // Offsets point at the items they belong to.
            let bytes = Array(text.utf8)
            #expect(parsed.headerOffsets.count == segment.header.count)
            for (field, offset) in zip(segment.header, parsed.headerOffsets) {
                #expect(Array(bytes[offset...].prefix(field.name.utf8.count + 1)) == Array((field.name + "=").utf8), "case \(n)")
            }
            if let cp = segment.cp {
                #expect(parsed.cpOffsets.map(\.count) == cp.map(\.count), "case \(n)")
                for (group, offsets) in zip(cp, parsed.cpOffsets) {
                    for (field, offset) in zip(group, offsets) {
                        #expect(Array(bytes[offset...].prefix(field.description.utf8.count)) == Array(field.description.utf8), "case \(n)")
                    }
                }
            }
        }
    }

    @Test("FrameEncoder.frame decodes to exactly one frame with the segment bytes and a verifying CRC")
    func frameRoundTrip() throws {
        var gen = SegmentGenerator(seed: 0xF4A)
        let linter = try Linter()
        for n in 0..<Self.cases {
            let segment = gen.segment()
            let serialized = Array(segment.serialized().utf8)
            let wire = FrameEncoder.frame(segment)
            #expect(wire.count == serialized.count + 12)
            let events = FrameDecoder.events(in: wire)
            guard events.count == 1, case .frame(let frame) = events[0] else {
                Issue.record("case \(n): expected one frame, got \(events.map(DecoderHarness.Summary.init))")
                continue
            }
            #expect(frame.offset == 0)
            #expect(frame.bytes == wire)
            #expect(Array(frame.segmentBytes) == serialized, "case \(n)")
            #expect(frame.declaredLength == serialized.count)
            #expect(CRC.parseHex(frame.crcBytes) == CRC.hj212(frame.segmentBytes), "case \(n)")
            #expect(String(decoding: frame.crcBytes, as: UTF8.self) == CRC.hex(CRC.hj212(serialized)))
            #expect(frame.trailer == .crlf && frame.boundary == .declaredLength)
            // The linter agrees: nothing wrong with the framing (only the size rule may apply).
            let report = linter.check(frame, index: n)
            #expect(report.crc.ok && report.crc.variant == nil)
            let frameFindings = report.diagnostics.filter { $0.rule.hasPrefix("frame.") && $0.rule != Rules.segmentTooLong.id }
            #expect(frameFindings.isEmpty, "case \(n): \(frameFindings.map(\.message))")
            #expect(report.diagnostics.contains { $0.rule == Rules.segmentTooLong.id } == (serialized.count > 1024))
            #expect(report.segment == segment, "case \(n)")
        }
    }

    @Test("frames of generated segments, concatenated, come back one by one in any read size")
    func concatenatedFrames() throws {
        var gen = SegmentGenerator(seed: 0xC0C)
        var stream: [UInt8] = []
        var segments: [[UInt8]] = []
        for _ in 0..<60 {
            let segment = gen.segment()
            segments.append(Array(segment.serialized().utf8))
            stream += FrameEncoder.frame(segment)
        }
        let whole = DecoderHarness.decodeWhole(stream)
        #expect(whole.compactMap { if case .frame(let f) = $0 { Array(f.segmentBytes) } else { nil } } == segments)
        #expect(whole.count == segments.count)
        #expect(DecoderHarness.decode(stream, chunkSizes: DecoderHarness.randomChunks(total: stream.count, maxChunk: 37, seed: 5)) == whole)
    }

    @Test("the table CRC equals the bit-by-bit reference on random bytes; reference vectors")
    func crcTableMatchesReference() throws {
        #expect(CRC.hj212([UInt8]()) == 0xFFFF)
        #expect(CRC.hj212BitwiseReference([UInt8]()) == 0xFFFF)
        #expect(CRC.hj212(Array("123456789".utf8)) == 0x2F80)
        #expect(CRC.hj212BitwiseReference(Array("123456789".utf8)) == 0x2F80)
        #expect(CRC.modbus(Array("123456789".utf8)) == 0x4B37)
        let v1 = "QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&"
        #expect(CRC.hj212(Array(v1.utf8)) == 0x1C80)
        #expect(CRC.hex(CRC.hj212(Array(v1.utf8))) == "1C80")
        #expect(FrameEncoder.frameText(v1) == "##0101" + v1 + "1C80")

        var rng = DecoderHarness.SplitMix64(seed: 0xC5C)
        let table = Set(CRC.table)
        for n in 0..<Self.cases {
            let length = n < 10 ? n : Int.random(in: 0...600, using: &rng)
            let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let reference = CRC.hj212BitwiseReference(bytes)
            #expect(CRC.hj212(bytes) == reference, "case \(n), \(length) bytes")
            // Slices and collections without contiguous storage take the other path.
            #expect(CRC.hj212(bytes[...]) == reference)
            #expect(CRC.hj212(bytes.lazy.map { $0 }) == reference)
            // The register holds a table entry after each byte; the low byte is one of 8 values.
            if length > 0 {
                #expect(table.contains(reference))
                #expect([0x00, 0x01, 0x40, 0x41, 0x80, 0x81, 0xC0, 0xC1].contains(reference & 0xFF))
            }
            #expect(CRC.parseHex(CRC.hexBytes(reference)) == reference)
            #expect(CRC.match(declared: reference, segment: bytes).match == .hj212)
        }
    }

    @Test("the slicing-by-8 CRC equals the bit-by-bit reference at every length around the 8-byte blocks and every offset")
    func crcSlicingEveryLengthAndOffset() {
        var rng = DecoderHarness.SplitMix64(seed: 0x5C1CE)
        let bytes = (0..<1200).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        for length in 0...80 {
            for offset in 0..<9 {
                let slice = bytes[offset..<(offset + length)]
                let reference = CRC.hj212BitwiseReference(slice)
                #expect(CRC.hj212(slice) == reference, "\(length) bytes at offset \(offset)")
                #expect(CRC.hj212Bytewise(slice) == reference)
            }
        }
        // Frames of the size generation writes (a few hundred bytes to the 1024 limit), and bytes
        // that make every table index appear.
        for length in [255, 256, 257, 511, 1023, 1024, 1025, 1199] {
            #expect(CRC.hj212(Array(bytes.prefix(length))) == CRC.hj212BitwiseReference(bytes.prefix(length)), "\(length) bytes")
        }
        let all = (0..<2048).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        #expect(CRC.hj212(all) == CRC.hj212BitwiseReference(all))
    }

    /// Checks the packets of one split record and reassembles them (in the given order).
    func checkSplit(_ record: DataSegment, _ packets: [DataSegment], order: [Int], _ n: Int) {
        let common = [record.cp![0]]
        let flag = record.flag!
        #expect(packets.count >= 2, "case \(n): a record of \(record.serialized().utf8.count) bytes gave \(packets.count) packet(s)")
        var groups: [[Field]] = []
        var qns = Set<String>()
        for (i, packet) in packets.enumerated() {
            let size = packet.serialized().utf8.count
            #expect(size <= PacketSplitter.maxSegmentBytes, "case \(n), packet \(i + 1): \(size) bytes")
            #expect(packet.pno == i + 1 && packet.pnum == packets.count, "case \(n), packet \(i + 1): PNO \(packet.pno ?? -1) PNUM \(packet.pnum ?? -1)")
            #expect(packet.flag?.isSplit == true, "case \(n): Flag \(packet.header("Flag") ?? "nil")")
            #expect(packet.flag?.needsAck == flag.needsAck && packet.flag?.version == flag.version)
            #expect(packet.header.map(\.name) == ["QN", "ST", "CN", "PW", "MN", "Flag", "PNUM", "PNO"])
            #expect(packet.st == record.st && packet.cn == record.cn && packet.mn == record.mn && packet.pw == record.pw)
            #expect(Array((packet.cp ?? []).prefix(1)) == common, "case \(n): every packet repeats DataTime")
            groups += (packet.cp ?? []).dropFirst()
            if let qn = packet.qn { qns.insert(qn) }
            // Each packet parses back as it was written.
            #expect(SegmentParser.parse(packet.serialized()).segment == packet)
        }
        #expect(packets.first?.qn == record.qn)
        #expect(qns.count == packets.count, "case \(n): QNs are not distinct")
        #expect(groups == Array(record.cp!.dropFirst()), "case \(n): the packets' groups are not the record's groups in order")

        var reassembler = Reassembler()
        var result: DataSegment?
        for (k, index) in order.enumerated() {
            switch reassembler.add(packets[index]) {
            case .pending(let received, let of):
                #expect(received == k + 1 && of == packets.count)
            case .complete(let segment):
                #expect(k == order.count - 1, "case \(n): complete after \(k + 1) of \(packets.count) packets")
                result = segment
            case let other:
                Issue.record("case \(n): packet \(index + 1) gave \(other)")
            }
        }
        #expect(reassembler.pendingCount == 0)
        guard let result else {
            Issue.record("case \(n): no record reassembled")
            return
        }
        #expect(result.cp == record.cp, "case \(n): reassembled CP differs")
        #expect(result.cp?.filter { $0.contains { $0.name == "DataTime" } }.count == 1, "case \(n): DataTime not once")
        #expect(result.header == record.header, "case \(n): \(result.header) vs \(record.header)")
    }

    @Test("PacketSplitter.split: packets ≤ 1024 bytes, PNO 1…PNUM, D set; Reassembler restores the record")
    func splitAndReassemble() throws {
        var gen = SegmentGenerator(seed: 0x5917)
        for n in 0..<150 {
            let record = gen.largeRecord()
            let packets = try PacketSplitter.split(record)
            var order = Array(packets.indices)
            if n % 2 == 1 { order.shuffle(using: &gen.rng) }
            checkSplit(record, packets, order: order, n)
        }
    }

    @Test("split packets survive the wire: frame, decode in random reads, parse, reassemble")
    func splitOverTheWire() throws {
        var gen = SegmentGenerator(seed: 0x3177)
        for n in 0..<20 {
            let record = gen.largeRecord()
            let packets = try PacketSplitter.split(record)
            let stream = packets.flatMap { FrameEncoder.frame($0) }
            let events = DecoderHarness.decode(stream, chunkSizes: DecoderHarness.randomChunks(total: stream.count, maxChunk: 700, seed: UInt64(n)))
            let decoded = events.compactMap { if case .frame(let f) = $0 { SegmentParser.parse(f.segmentBytes).segment } else { nil } }
            #expect(decoded == packets, "case \(n)")
            checkSplit(record, decoded, order: Array(decoded.indices).reversed(), n)
        }
    }

    @Test("a segment that fits is not split")
    func smallSegmentIsNotSplit() throws {
        var gen = SegmentGenerator(seed: 0x511)
        for _ in 0..<50 {
            let segment = gen.segment()
            guard segment.serialized().utf8.count <= PacketSplitter.maxSegmentBytes else { continue }
            #expect(try PacketSplitter.split(segment) == [segment])
        }
    }

    /// A plain group (no `code-` key) that is not leading, e.g. `PolId=…` before each record's log
    /// entries in a 3020 upload, can land at the start of a later packet. `Reassembler.join` then
    /// takes [DataTime][PolId] as that packet's leading groups, finds them different from the
    /// first packet's [DataTime] and keeps them as data: DataTime comes back twice.
    @Test("reassembly keeps DataTime once when a later packet starts with a plain group")
    func plainGroupAtPacketStart() throws {
        var found: (DataSegment, [DataSegment])?
        for records in 8...40 where found == nil {
            var cp: [[Field]] = [[Field("DataTime", "20160801085857")]]
            for record in 0..<records {
                cp.append([Field("i11001-Info", "//记录 \(record): 清洗管路 pump ok//")])
                cp.append([Field("PolId", "w0\(1000 + record)")])
            }
            let record = DataSegment(
                header: [Field("QN", "20160801085857223"), Field("ST", "32"), Field("CN", "3020"), Field("PW", "123456"),
                         Field("MN", "010000A8900016F000169DC0"), Field("Flag", "5")],
                cp: cp)
            let packets = try PacketSplitter.split(record)
            // A packet after the first whose own groups (after the repeated DataTime) start with PolId.
            if packets.dropFirst().contains(where: { $0.cp?.dropFirst().first?.first?.name == "PolId" }) {
                found = (record, packets)
            }
        }
        let (record, packets) = try #require(found, "no record size put a PolId group at the start of a packet")
        var reassembler = Reassembler()
        var result: DataSegment?
        for packet in packets { if case .complete(let s) = reassembler.add(packet) { result = s } }
        let whole = try #require(result)
        #expect(whole.cp?.filter { $0.contains { $0.name == "DataTime" } }.count == 1,
                "DataTime appears \(whole.cp?.filter { $0.contains { $0.name == "DataTime" } }.count ?? 0) times")
        #expect(whole.cp == record.cp)
    }

    @Test("HJTime(wallMilliseconds:) round-trips over random instants 1990–2100")
    func timeRoundTrip() throws {
        var gen = SegmentGenerator(seed: 0x71E)
        for n in 0..<2000 {
            let ms = gen.instant()
            let time = HJTime(wallMilliseconds: ms)
            #expect(time.wallMilliseconds == ms, "case \(n): \(ms) → \(time)")
            #expect(time.isValid && (1990...2100).contains(time.year), "case \(n): \(time)")
            #expect(HJTime(time.text17, allowMilliseconds: true) == time, "case \(n): \(time.text17)")
            #expect(HJTime(time.text14) == HJTime(wallMilliseconds: ms - ms % 1000), "case \(n): \(time.text14)")
            let next = HJTime(wallMilliseconds: ms + 1)
            #expect(time < next)
        }
        // Fixed points: the epoch, the standard's QN, a leap day, 2100 (not a leap year).
        #expect(HJTime(wallMilliseconds: 0) == HJTime(year: 1970, month: 1, day: 1))
        #expect(HJTime(wallMilliseconds: 1_470_041_937_223).text17 == "20160801085857223")
        #expect(HJTime(year: 2000, month: 2, day: 29, hour: 12).wallMilliseconds == 951_825_600_000)
        #expect(HJTime(wallMilliseconds: 4_107_542_399_999).text17 == "21000228235959999")
        #expect(HJTime(wallMilliseconds: 4_107_542_400_000).text17 == "21000301000000000")
        #expect(HJTime("21000229000000") == nil)
        #expect(PacketSplitter.incrementQN("20161231235959999", 1) == "20170101000000000")
    }

    @Test("JSONValue.parse(value.serialized) == value for random values")
    func jsonRoundTrip() throws {
        var gen = SegmentGenerator(seed: 0x150)
        for n in 0..<Self.cases {
            let value = gen.json()
            let text = value.serialized
            #expect(!text.contains("\n") && !text.contains("\r"), "case \(n): serialisation is one line")
            let parsed = try JSONValue.parse(text)
            #expect(parsed == value, "case \(n): \(text)")
        }
        // Control characters are escaped, not written raw.
        #expect(JSONValue.string("a\u{0}\u{1F}\u{7F}\"\\\n").serialized == #""a\u0000\u001f\u007f\"\\\n""#)
        #expect(try JSONValue.parse(#"["\ud83d\ude00","\u4e2d\u6587","\/"]"#) == .array([.string("😀"), .string("中文"), .string("/")]))
    }
}

