import Foundation
import Testing
@testable import HJ212
import TestSupport

// Issue 18, items 8 and 9: the stream decoder's cost on dripped input, strict JSON, and profile
// directories that are wrong in a way that used to be ignored.

@Suite("Decoder work on dripped input")
struct DripWorkTests {
    /// A valid frame of about `bytes` bytes.
    static func frame(bytes: Int) -> [UInt8] {
        var cp = "DataTime=20260101120000"
        var n = 0
        while cp.utf8.count + 90 < bytes {
            cp += ";w\(10000 + n)-Rtd=\(n % 97).5,w\(10000 + n)-Flag=N"
            n += 1
        }
        return FrameEncoder.frame(segmentBytes: Array("QN=20260101120000000;ST=32;CN=2011;PW=123456;MN=M1;Flag=4;CP=&&\(cp)&&".utf8))
    }

    static func work(_ bytes: [UInt8], chunk: Int) -> (examined: Int, events: [DecoderHarness.Summary]) {
        var decoder = FrameDecoder()
        var events: [DecoderHarness.Summary] = []
        var i = 0
        while i < bytes.count {
            let end = min(bytes.count, i + chunk)
            decoder.feed(bytes[i..<end])
            i = end
            while let e = decoder.next() { events.append(.init(e)) }
        }
        for e in decoder.finish() { events.append(.init(e)) }
        return (decoder.bytesExamined, events)
    }

    @Test("a frame fed one byte at a time is examined at most 5 times as much as fed whole", arguments: [1024, 9000])
    func dripIsLinear(size: Int) {
        let f = Self.frame(bytes: size)
        let whole = Self.work(f, chunk: f.count)
        let drip = Self.work(f, chunk: 1)
        #expect(whole.events == [.frame(at: 0, count: f.count)])
        #expect(drip.events == whole.events)
        // Before remembering where scanning stopped, the dripped 1 KB frame cost ~n²/2 ≈ 500 KB.
        #expect(drip.examined <= 5 * whole.examined, "dripped \(drip.examined) vs whole \(whole.examined)")
    }

    @Test("dripped noise, broken headers and oversized declarations stay linear and equal to whole")
    func hostileDrips() {
        let good = Self.frame(bytes: 300)
        let streams: [[UInt8]] = [
            Array(repeating: UInt8(ascii: "x"), count: 5000) + good,
            Array("##ABCD".utf8) + Array(repeating: UInt8(ascii: "y"), count: 4000) + good,
            Array("##9999".utf8) + Array(repeating: UInt8(ascii: "z"), count: 9000) + good,
            Array("##0500".utf8) + Array(repeating: UInt8(ascii: "\r"), count: 3000) + good,
            // Pairs that each wake the scanner: resumed searches keep them linear too.
            Array("##9999".utf8) + Array(repeating: Array("##x".utf8), count: 3000).flatMap { $0 } + good,
            Array("##ABCD".utf8) + Array(repeating: Array("\r\n".utf8), count: 4000).flatMap { $0 } + good,
            Array("##0900".utf8) + Array(repeating: Array("\r\n##".utf8), count: 2000).flatMap { $0 } + good,
        ]
        for s in streams {
            let whole = Self.work(s, chunk: s.count)
            let drip = Self.work(s, chunk: 1)
            #expect(drip.events == whole.events)
            // Linear: a few looks per byte (the rescanning decoder needed ~n²/2 here).
            #expect(drip.examined <= 4 * s.count, "dripped \(drip.examined) for \(s.count) bytes: \(String(decoding: s.prefix(6), as: UTF8.self))")
        }
    }
}

@Suite("Decoder: the one-byte fast path")
struct DripFastPathTests {
    /// Feeds `bytes` one byte at a time; returns the events and the decoder.
    static func drip(_ bytes: [UInt8]) -> (events: [FrameDecoder.Event], decoder: FrameDecoder) {
        var decoder = FrameDecoder()
        var events: [FrameDecoder.Event] = []
        for i in bytes.indices {
            decoder.feed(bytes[i...i])
            while let e = decoder.next() { events.append(e) }
        }
        events += decoder.finish()
        return (events, decoder)
    }

    @Test("work is linear in the frame: per dripped byte, a constant number of bytes examined and a constant number of decisions per frame, for 1, 3 and 9 KB")
    func linearWork() {
        var perByte: [Double] = []
        for size in [1000, 3000, 9000] {
            let f = DripWorkTests.frame(bytes: size)
            let (events, decoder) = Self.drip(f)
            guard events.count == 1, case .frame(let frame) = events[0] else {
                Issue.record("expected one frame, got \(events.map(DecoderHarness.Summary.init))")
                continue
            }
            #expect(frame.bytes == f)
            // The scanner decides at the header, the declared end and the trailer: not per byte
            // (one decision per byte was the cost of every `next()` before the fast path).
            #expect(decoder.decisions <= 10, "\(decoder.decisions) decisions for a \(f.count)-byte frame")
            perByte.append(Double(decoder.bytesExamined) / Double(f.count))
        }
        // Quadratic work would grow ninefold per byte from 1 KB to 9 KB; linear stays flat.
        for p in perByte { #expect(p <= 4, "\(perByte)") }
        #expect(perByte.max()! - perByte.min()! < 0.2, "bytes examined per byte: \(perByte)")
    }

    @Test("bytes staged one at a time keep their order and value whichever form of feed follows", arguments: 0..<8)
    func mixedFeeds(seed: Int) {
        var rng = DecoderHarness.SplitMix64(seed: UInt64(seed) &+ 77)
        let stream = seed == 0 ? StreamDecoderTests.cases.flatMap(\.bytes) : StreamDecoderTests.adversarialStream(count: 4000, seed: UInt64(seed))
        var whole = FrameDecoder()
        whole.feed(stream)
        var expected: [FrameDecoder.Event] = []
        while let e = whole.next() { expected.append(e) }
        expected += whole.finish()

        var decoder = FrameDecoder()
        var events: [FrameDecoder.Event] = []
        var i = 0
        while i < stream.count {
            // Mostly single bytes (the staged path, 32 at a time), now and then a longer read.
            let n = rng.next() % 8 == 0 ? min(stream.count - i, Int(rng.next() % 70) + 2) : 1
            let piece = stream[i..<(i + n)]
            switch rng.next() % 3 {
            case 0: decoder.feed(piece)
            case 1: decoder.feed(Array(piece))
            default: Array(piece).withUnsafeBufferPointer { decoder.feed($0) }
            }
            i += n
            #expect(decoder.bytesFed == i)
            if rng.next() % 4 != 0 { while let e = decoder.next() { events.append(e) } }
        }
        while let e = decoder.next() { events.append(e) }
        events += decoder.finish()
        #expect(events == expected)
    }

    @Test("a copy taken while bytes are staged is independent")
    func copies() {
        let f = DripWorkTests.frame(bytes: 400)
        var a = FrameDecoder()
        for i in 0..<100 {
            a.feed(f[i...i])
            #expect(a.next() == nil)
        }
        #expect(a.bufferedCount == 100)
        var b = a
        for i in 100..<f.count { a.feed(f[i...i]) }
        for _ in 0..<20 { b.feed([UInt8(ascii: "x")]) }
        var fromA: [FrameDecoder.Event] = []
        while let e = a.next() { fromA.append(e) }
        var whole = FrameDecoder()
        whole.feed(f)
        #expect(fromA.count == 1)
        #expect(fromA.first == whole.next())
        let fromB = b.finish()
        guard case .incomplete(let tail)? = fromB.first else {
            Issue.record("expected an incomplete tail, got \(fromB)")
            return
        }
        #expect(tail.count == 120)
        #expect(tail.sample == Array(f[0..<64]))
    }
}

@Suite("Decoder: remembering where scanning stopped never delays an event")
struct NoStallTests {
    @Test("fed one byte at a time, after every byte the events so far equal those of a decoder that rescans everything", arguments: 0..<6)
    func sameAsRescanning(seed: Int) {
        let streams = seed == 0 ? StreamDecoderTests.cases.map(\.bytes) : [StreamDecoderTests.adversarialStream(count: 3000, seed: UInt64(seed))]
        for stream in streams {
            var ours = FrameDecoder()
            var reference = FrameDecoder()
            reference.rescansEveryCall = true
            var seen: [DecoderHarness.Summary] = []
            var expected: [DecoderHarness.Summary] = []
            for i in 0..<stream.count {
                ours.feed(stream[i...i])
                reference.feed(stream[i...i])
                while let e = ours.next() { seen.append(.init(e)) }
                while let e = reference.next() { expected.append(.init(e)) }
                if seen != expected {
                    Issue.record("after byte \(i) of \(stream.count): \(seen) vs \(expected)")
                    break
                }
            }
            #expect(ours.finish().map(DecoderHarness.Summary.init) == reference.finish().map(DecoderHarness.Summary.init))
        }
    }
}

@Suite("Strict JSON (RFC 8259)")
struct StrictJSONTests {
    @Test("rejected with the byte offset", arguments: [
        (#"{"a":"\x41"}"#, 6),
        (#"["\ud800"]"#, 2),
        (#"["\ud800\u0041"]"#, 2),
        (#"["\udc00"]"#, 2),
        ("[010]", 2),
        ("[-01]", 3),
        ("[+1]", 1),
        ("[1.]", 3),
        ("[.5]", 1),
        ("[1e]", 3),
        (#"{"a":1,"a":2}"#, 7),
        ("[\"a\u{01}b\"]", 3),
        ("[1e999]", 1),
    ])
    func rejected(text: String, offset: Int) {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(text) }
        do {
            _ = try JSONValue.parse(text)
        } catch let e as JSONParseError {
            #expect(e.offset == offset, "\(text): \(e)")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test("valid JSON still reads")
    func accepted() throws {
        let v = try JSONValue.parse(#"{"s":"\u00e9\ud83d\ude00\/\"\\\b\f\n\r\t","n":[-0,0,10,1.5,-2e3,1E+2,0.25],"o":{}}"#)
        #expect(v["s"] == .string("é😀/\"\\\u{08}\u{0C}\n\r\t"))
        #expect(v["n"] == .array([.int(0), .int(0), .int(10), .double(1.5), .double(-2000), .double(100), .double(0.25)]))
        #expect(v["o"] == .object([]))
    }

    @Test("an error about a duplicate key quotes it safely and bounded")
    func duplicateKeyMessage() {
        let key = "\\u001b[2J" + String(repeating: "k", count: 500)
        let text = "{\"\(key)\":1,\"\(key)\":2}"
        do {
            _ = try JSONValue.parse(text)
            Issue.record("accepted a duplicate key")
        } catch {
            let message = "\(error)"
            #expect(!message.contains("\u{1B}"))
            #expect(message.contains("\\x1b"))
            #expect(message.count < 200)
        }
    }
}

@Suite("Profile directories: mistakes are errors")
struct ProfileDirectoryTests {
    static func scratch() -> String { scratchDirectory("profiles") }

    @Test("a missing directory")
    func missing() {
        #expect(throws: ProfileError.self) { try ProfileStore.opening("/nonexistent/profiles") }
    }

    @Test("a file where the directory should be, and a file in place of units/")
    func fileInPlace() throws {
        let dir = Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = FileManager.default.createFile(atPath: dir + "/units", contents: Data("x".utf8))
        do {
            _ = try ProfileStore.opening(dir)
            Issue.record("accepted a file in place of units/")
        } catch {
            #expect(error.description.contains("units"))
        }
        #expect(throws: ProfileError.self) { try ProfileStore.opening(dir + "/units") }
    }

    @Test("a broken faults/catalogue.json")
    func brokenCatalogue() throws {
        let dir = Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/faults", withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: dir + "/faults/catalogue.json", contents: Data("{\"faults\": [".utf8))
        do {
            _ = try ProfileStore.opening(dir)
            Issue.record("accepted a broken catalogue")
        } catch {
            #expect(error.description.contains("catalogue.json"))
            #expect(error.description.contains("not valid JSON"))
        }
    }

    @Test("an empty directory overrides nothing and is accepted")
    func emptyDirectory() throws {
        let dir = Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try ProfileStore.opening(dir)
        #expect(try store.text("dialects/hj212-2017/factors.tsv") != nil)
    }

    @Test("a profile file over the size budget is refused before it is read")
    func oversized() throws {
        let dir = Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/dialects/hj212-2017", withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: dir + "/dialects/hj212-2017/factors.tsv", contents: Data(count: ProfileStore.maxFileBytes + 1))
        let store = try ProfileStore.opening(dir)
        #expect(throws: ProfileError.self) { try store.text("dialects/hj212-2017/factors.tsv") }
    }
}

@Suite("Large code tables: bounded cost")
struct LargeCodeTableTests {
    static let header = "code\ttable\tname_zh\tname_en\tunit\tunit_zh\tcou_unit\tcou_unit_zh\ttype\tcode2005\tnote\n"

    static func store(rows: Int, extra: String = "") throws -> (ProfileStore, String) {
        let dir = ProfileDirectoryTests.scratch()
        try FileManager.default.createDirectory(atPath: dir + "/dialects/hj212-2017", withIntermediateDirectories: true)
        var text = header + extra
        text.reserveCapacity(rows * 40)
        for n in 0..<rows { text += "z\(n)\tB1\t因子\(n)\tfactor \(n)\tmg/L\t-\t-\t-\tN3.2\t-\t-\n" }
        let base = try #require(try ProfileStore.builtin.text("dialects/hj212-2017/factors.tsv"))
        // The big table overlays the national one (appended rows).
        _ = FileManager.default.createFile(atPath: dir + "/dialects/hj212-2017/factors.tsv", contents: Data((base + "\n" + text.dropFirst(header.count)).utf8))
        return (try ProfileStore.opening(dir), dir)
    }

    @Test("100,000 extra factors: keys are looked up, not built ahead (cost linear in rows), and a frame still lints")
    func hundredThousandRows() throws {
        let (store, dir) = try Self.store(rows: 100_000)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let dictionary = try CodeDictionary.load(.hj2017, from: store)
        #expect(dictionary.factors.count > 100_000)
        #expect(dictionary.keys.table.count == 0 && !dictionary.keys.complete)
        #expect(dictionary.keys["z99999-Rtd"]?.factor.nameEn == "factor 99999")
        #expect(dictionary.keys["w01018-Avg"]?.code == "w01018")
        #expect(dictionary.keys["z99999-Bogus"] == nil)
        let linter = try Linter(options: LintOptions(profiles: store))
        var decoder = FrameDecoder()
        decoder.feed(FrameEncoder.frame("QN=20260101120000000;ST=32;CN=2011;PW=123456;MN=M1;Flag=4;CP=&&DataTime=20260101120000;z99999-Rtd=1.25,z99999-Flag=N&&"))
        let events = decoder.finish()
        guard case .frame(let raw)? = events.first else { Issue.record("no frame"); return }
        let report = linter.check(raw, index: 0)
        #expect(!report.diagnostics.contains { $0.message.contains("z99999") && $0.rule.contains("unknown") }, "\(report.diagnostics)")
    }

    @Test("the built-in tables keep their precomputed keys")
    func builtinPrecomputed() {
        let d = CodeDictionary.shared(.hj2017)
        #expect(d.keys.complete && d.keys.table.count > 1000)
    }

    @Test("a code with more than three x placeholders is refused (it would expand into millions)")
    func placeholderBomb() throws {
        let (store, dir) = try Self.store(rows: 1, extra: "exxxxxxxx\tB1\t炸弹\tbomb\t-\t-\t-\t-\tN3\t-\t-\n")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(throws: ProfileError.self) { try CodeDictionary.load(.hj2017, from: store) }
    }
}
