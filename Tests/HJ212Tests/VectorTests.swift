import Testing
@testable import HJ212

/// The shared vectors, with the results their README states.
@Suite("Shared vectors")
struct VectorTests {
    static func decodeAll(_ bytes: [UInt8]) -> [FrameDecoder.Event] {
        var decoder = FrameDecoder()
        decoder.feed(bytes)
        var events: [FrameDecoder.Event] = []
        while let e = decoder.next() { events.append(e) }
        return events + decoder.finish()
    }

    @Test("the vector files are present")
    func present() {
        #expect(Vectors.appendix.count == 28)
        #expect(Vectors.malformed.count == 18)
    }

    @Test("Appendix C frames decode with correct length and CRC and no error", arguments: Vectors.appendix)
    func appendix(_ v: Vectors.Appendix) throws {
        let events = Self.decodeAll(Array((v.frame + "\r\n").utf8))
        #expect(events.count == 1)
        guard case .frame(let raw)? = events.first else { Issue.record("no frame: \(events)"); return }
        #expect(raw.declaredLength == raw.segment.count)
        #expect(raw.trailer == .crlf)
        let report = try Linter(options: LintOptions(strict: true)).check(raw, index: 0)
        #expect(report.crc.ok)
        #expect(report.crc.declared == report.crc.computed)
        #expect(report.segment.cn == v.cn)
        #expect(report.dialect == .hj2017)
        let problems = report.diagnostics.filter { $0.severity >= .warning }
        #expect(problems.isEmpty, "\(problems.map { "\($0.rule): \($0.message)" })")
        // The round trip of what was parsed gives the segment back byte for byte.
        #expect(Array(report.segment.serialized().utf8) == Array(raw.segmentBytes))
    }

    @Test("A27 counts UTF-8 bytes: 152 bytes, 144 characters")
    func utf8Length() throws {
        let a27 = try #require(Vectors.appendix.first { $0.id == "A27" })
        guard case .frame(let raw)? = Self.decodeAll(Array(a27.frame.utf8)).first else { Issue.record("no frame"); return }
        #expect(raw.declaredLength == 152)
        #expect(raw.segment.count == 152)
        #expect(raw.segmentText.count == 144)
        #expect(SegmentParser.parse(raw.segmentBytes).segment.cpValue("i11001-Info") == "//清洗管路//")
    }

    /// The rule each malformed category must trigger.
    static let ruleForCategory: [String: String] = [
        "crc-mismatch": "frame.crc-mismatch",
        "crc-lowercase": "frame.crc-lowercase",
        "crc-variant-modbus": "frame.crc-variant-modbus",
        "crc-variant-modbus-swapped": "frame.crc-variant-modbus-swapped",
        "length-mismatch": "frame.length-mismatch",
        "length-not-digits": "frame.length-not-digits",
        "segment-too-long": "frame.segment-too-long",
        "flag-version-2005": "dialect.2005",
        "flag-split-without-pnum": "segment.flag-split-without-pnum",
        "qn-format": "segment.qn-format",
        "mn-format": "segment.mn-format",
        "cp-unterminated": "cp.unterminated",
        "data-flag-invalid": "value.data-flag-invalid",
        "rtdinterval-range": "value.rtdinterval-range",
        "reply-st-not-91": "reply.st-not-91",
        "cp-trailing-separator": "cp.trailing-separator",
        "datatime-invalid": "value.datetime-invalid",
        "dialect-2025": "dialect.2025",
    ]

    static func severity(_ text: String) -> Severity { Severity(rawValue: text)! }

    @Test("strict mode reports each malformed frame's defect with at least its severity", arguments: Vectors.malformed)
    func malformedStrict(_ v: Vectors.Malformed) throws {
        let rule = try #require(Self.ruleForCategory[v.category], "category \(v.category) has no rule")
        let events = Self.decodeAll(Array((v.frame + "\r\n").utf8))
        let frames = events.compactMap { if case .frame(let f) = $0 { return f } else { return nil } }
        #expect(frames.count == 1, "\(events)")
        let raw = try #require(frames.first)
        let report = try Linter(options: LintOptions(strict: true)).check(raw, index: 0)
        let hits = report.diagnostics.filter { $0.rule == rule }
        #expect(!hits.isEmpty, "expected \(rule); got \(report.diagnostics.map(\.rule))")
        let expected = Self.severity(v.severity)
        #expect(hits.allSatisfy { $0.severity >= expected })
        if expected == .info {
            // A valid packet of another dialect: recognised, not rejected.
            #expect(!report.hasErrors, "\(report.diagnostics)")
            #expect(report.detectedDialect == (v.category == "dialect-2025" ? .hj2025 : .hj2005))
        } else {
            // Exactly the named defect: no other error or warning sneaks in (cp.too-long goes with oversize).
            let others = report.diagnostics.filter { $0.rule != rule && $0.severity >= .warning && $0.rule != "cp.too-long" }
            #expect(others.isEmpty, "\(others.map { "\($0.rule): \($0.message)" })")
        }
    }

    @Test("lenient mode never silences a malformed frame's defect", arguments: Vectors.malformed)
    func malformedLenient(_ v: Vectors.Malformed) throws {
        let rule = try #require(Self.ruleForCategory[v.category])
        let events = Self.decodeAll(Array((v.frame + "\r\n").utf8))
        guard case .frame(let raw)? = events.first(where: { if case .frame = $0 { true } else { false } }) else {
            Issue.record("no frame"); return
        }
        let report = try Linter().check(raw, index: 0)
        let hits = report.diagnostics.filter { $0.rule == rule }
        #expect(!hits.isEmpty)
        // Field-common defects may drop to a warning, never below.
        if Self.severity(v.severity) > .info { #expect(hits.allSatisfy { $0.severity >= .warning }) }
    }

    @Test("CRC variants drop to warnings in lenient mode and stay errors in strict mode")
    func variantSeverities() throws {
        for id in ["M03", "M04", "M07"] {
            let v = try #require(Vectors.malformed.first { $0.id == id })
            guard case .frame(let raw)? = Self.decodeAll(Array((v.frame + "\r\n").utf8)).first else { Issue.record("no frame"); continue }
            #expect(try Linter().check(raw, index: 0).hasErrors == false, "\(id) lenient")
            #expect(try Linter(options: LintOptions(strict: true)).check(raw, index: 0).hasErrors, "\(id) strict")
        }
    }

    @Test("the noisy stream gives exactly 4 frames in order, skipped noise and an incomplete tail")
    func noisyStream() throws {
        let bytes = try Vectors.bytes("stream-with-noise.txt")
        let events = Self.decodeAll(bytes)
        let frames = events.compactMap { if case .frame(let f) = $0 { return f } else { return nil } }
        let skipped = events.compactMap { if case .skipped(let s) = $0 { return s } else { return nil } }
        let tails = events.compactMap { if case .incomplete(let t) = $0 { return t } else { return nil } }
        #expect(frames.map { SegmentParser.parse($0.segmentBytes).segment.cn } == ["2011", "2051", "2061", "2011"])
        let linter = try Linter()
        for (i, f) in frames.enumerated() {
            let r = linter.check(f, index: i)
            #expect(r.crc.ok)
            #expect(!r.hasErrors, "\(r.diagnostics)")
        }
        // Modem chatter at the start, the NUL/garbage run, and the broken "##12" header.
        #expect(skipped.first?.offset == 0)
        #expect(skipped.first?.sample.starts(with: Array("AT+CSQ".utf8)) == true)
        #expect(skipped.contains { $0.reason == .brokenHeader && $0.sample == Array("##12".utf8) })
        #expect(skipped.contains { $0.sample.first == 0 })
        #expect(tails.count == 1)
        #expect(tails.first.map { $0.offset + $0.count } == bytes.count)
        // Every byte accounted for once.
        #expect(frames.reduce(0) { $0 + $1.bytes.count } + skipped.reduce(0) { $0 + $1.count } + tails.reduce(0) { $0 + $1.count } == bytes.count)
        // Note: in the file the fourth frame is followed directly by the truncated one, without
        // CR LF; the decoder recovers it and reports the missing trailer.
        #expect(frames.last?.trailer == .missing)
    }
}
