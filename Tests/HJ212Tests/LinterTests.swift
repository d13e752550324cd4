import Testing
@testable import HJ212

/// Judgements on real-world and legacy packets (reference §9.3, §10.2, §11), beyond the vectors.
@Suite("Linter on field traffic")
struct LinterTests {
    /// Decodes one frame (CR LF added) and lints it.
    static func lint(_ frame: String, strict: Bool = false, dialect: Dialect? = nil, crlf: Bool = true) throws -> FrameReport {
        var decoder = FrameDecoder()
        decoder.feed(Array((frame + (crlf ? "\r\n" : "")).utf8))
        var events: [FrameDecoder.Event] = []
        while let e = decoder.next() { events.append(e) }
        events += decoder.finish()
        guard case .frame(let raw)? = events.first(where: { if case .frame = $0 { true } else { false } }) else {
            throw TestFailure("no frame in \(events)")
        }
        return try Linter(options: LintOptions(dialect: dialect, strict: strict)).check(raw, index: 0)
    }

    struct TestFailure: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    static func rules(_ r: FrameReport, _ severity: Severity? = nil) -> Set<String> {
        Set(r.diagnostics.filter { severity == nil || $0.severity == severity }.map(\.rule))
    }

    @Test("the standard's Appendix A example: 1C80, length 0101, clean")
    func appendixA() throws {
        let r = try Self.lint("##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&1C80", strict: true)
        #expect(r.crc.ok && r.crc.computed == "1C80")
        #expect(r.diagnostics.isEmpty)
    }

    @Test("V2: LA-td typo, trailing ';', Flag=7 without PNUM/PNO")
    func v2() throws {
        let r = try Self.lint("##0367QN=20200814151600001;ST=22;CN=2011;PW=123456;MN=010000A8900016F000169DC0;Flag=7;CP=&&DataTime=20200814151600;LA-td=50.1,LA-Flag=N;a34004-Rtd=207,a34004-Flag=N;a34002-Rtd=295,a34002-Flag=N;a01001-Rtd=12.6,a01001-Flag=N;a01002-Rtd=32,a01002-Flag=N;a01006-Rtd=101.02,a01006-Flag=N;a01007-Rtd=2.1,a01007-Flag=N;a01008-Rtd=120,a01008-Flag=N;a34001-Rtd=217,a34001-Flag=N;&&5CC0")
        #expect(r.crc.ok)
        let rules = Self.rules(r)
        #expect(rules.isSuperset(of: ["cp.field-unknown", "cp.trailing-separator", "segment.flag-split-without-pnum"]))
        #expect(!rules.contains("code.factor-unknown"))  // LA is the noise code of Table B.3
    }

    @Test("V3: vendor codes, MN as free text, MN before PW")
    func v3() throws {
        let r = try Self.lint("##0589QN=20210210073530000;ST=22;CN=2011;MN=aqms-1100-2020110011;PW=123456;Flag=4;CP=&&DataTime=20210210073530;a34004-Rtd=33,a34004-Flag=N;a34002-Rtd=42,a34002-Flag=N;pms_rules-Rtd=7,pms_rules-Flag=N;a01001-Rtd=10,a01001-Flag=N;a01002-Rtd=73,a01002-Flag=N;a01006-Rtd=102.3,a01006-Flag=N;lng-Rtd=120.32879,lng-Flag=N;lat-Rtd=31.17347,lat-Flag=N;a21026-Rtd=2,a21026-Flag=N;a21004-Rtd=28,a21004-Flag=N;a05024-Rtd=58,a05024-Flag=N;a21005-Rtd=0.5,a21005-Flag=N;a99054-Rtd=0.137,a99054-Flag=N;hot_t-Rtd=39.3,hot_t-Flag=N;a01007-Rtd=2.2,a01007-Flag=N;a01008-Rtd=41,a01008-Flag=N;vn-Rtd=1.04,vn-Flag=N&&5D80")
        #expect(r.crc.ok)
        #expect(!r.hasErrors, "\(r.diagnostics)")
        let unknown = r.diagnostics.filter { $0.rule == "code.factor-unknown" }.map(\.message)
        #expect(unknown.count == 7)  // pms_rules lng lat a05024 a99054 hot_t vn
        #expect(Self.rules(r).isSuperset(of: ["segment.mn-format", "segment.field-order"]))
    }

    @Test("V8: a 9011 with ST=22 instead of 91")
    func v8() throws {
        let r = try Self.lint("##0094QN=20231008125115215;ST=22;CN=9011;PW=123456;MN=010000A8900016F000169DC0;Flag=4;CP=&&QnRtn=1&&CC01")
        #expect(r.crc.ok)
        #expect(Self.rules(r, .error) == ["reply.st-not-91"])
    }

    @Test("V10: 2005-style packet without QN and Flag, 3-character codes, DataTime with milliseconds")
    func v10() throws {
        let r = try Self.lint("##0139ST=32;CN=2011;PW=123456;MN=LD130133000015;CP=&&DataTime=20160824003817000;B01-Rtd=36.91;011-Rtd=231.0,011-Flag=N;060-Rtd=1.803,060-Flag=N&&4980")
        #expect(r.crc.ok)
        #expect(r.detectedDialect == .hj2005)
        let rules = Self.rules(r)
        #expect(rules.contains("dialect.2005"))
        #expect(rules.contains("value.datetime-milliseconds"))
        #expect(!rules.contains("code.factor-unknown"), "\(r.diagnostics)")  // B01, 011, 060 are 2005 codes
        #expect(!rules.contains("segment.field-missing"))  // QN and Flag were optional in 2005
    }

    @Test("V10 forced to 2017: a dialect mismatch and the missing QN/Flag are errors")
    func v10Forced() throws {
        let r = try Self.lint("##0139ST=32;CN=2011;PW=123456;MN=LD130133000015;CP=&&DataTime=20160824003817000;B01-Rtd=36.91;011-Rtd=231.0,011-Flag=N;060-Rtd=1.803,060-Flag=N&&4980", dialect: .hj2017)
        #expect(Self.rules(r, .error).isSuperset(of: ["dialect.mismatch", "segment.field-missing"]))
    }

    @Test("V11: 2005 history request with ',' between BeginTime and EndTime")
    func v11() throws {
        let r = try Self.lint("##0124QN=20040516010101001;ST=32;CN=2051;PW=123456;MN=88888880000001;Flag=3;CP=&&BeginTime=20040506111000,EndTime=20040506151000&&6B80")
        #expect(r.crc.ok)
        #expect(r.detectedDialect == .hj2005)
        #expect(!Self.rules(r).contains("command.history-separator"))
        #expect(!r.hasErrors, "\(r.diagnostics)")
    }

    @Test("a 2017 history request with ',' is warned about")
    func historyComma() throws {
        let seg = "QN=20160801085857223;ST=32;CN=2061;PW=123456;MN=010000A8900016F000169DC0;Flag=5;CP=&&BeginTime=20160801080000,EndTime=20160801090000&&"
        let r = try Self.lint(FrameEncoder.frameText(seg))
        #expect(Self.rules(r) == ["command.history-separator"])
        let reversed = "QN=20160801085857223;ST=32;CN=2061;PW=123456;MN=010000A8900016F000169DC0;Flag=5;CP=&&BeginTime=20160801090000;EndTime=20160801080000&&"
        #expect(Self.rules(try Self.lint(FrameEncoder.frameText(reversed)), .error) == ["command.history-range"])
    }

    @Test("V12 and R7: Flag=9 packets are HJ 212-2025")
    func v12() throws {
        let v12 = try Self.lint("##0087QN=20240601085857223;ST=32;CN=1011;PW=123456;MN=010000A8900016F000169DC0;Flag=9;CP=&&&&2200", strict: true)
        #expect(v12.crc.ok)
        #expect(v12.detectedDialect == .hj2025)
        #expect(v12.diagnostics.map(\.rule) == ["dialect.2025"])
        let r7 = try Self.lint("##0561QN=20201030000000437;ST=21;CN=2061;PW=123456;MN=NM100000_0005;Flag=9;CP=&&DataTime=20201129210001;w01010-Avg=23.1,w01010-Flag=N;w01001-Avg=7.64,w01001-Flag=N;w01009-Avg=6.60,w01009-Flag=N;w01014-Avg=300,w01014-Flag=N;w01003-Avg=17,w01003-Flag=N;w01019-Avg=1.4,w01019-Flag=N;w21011-Avg=0.042,w21011-Flag=N;w21001-Avg=3.04,w21001-Flag=N;w21003-Avg=0.16,w21003-Flag=N;w20120-Avg=0.00011,w20120-Flag=N;w20119-Avg=0.00000,w20119-Flag=N;w23002-Avg=0.0005,w23002-Flag=N;w21016-Avg=0.002,w21016-Flag=N;w20115-Avg=0.00001,w20115-Flag=N;w20122-Avg=0.00005,w20122-Flag=N&&4C80")
        #expect(r7.crc.ok)
        #expect(r7.detectedDialect == .hj2025)
        #expect(Self.rules(r7).contains("command.datatime-alignment"))  // 21:00:01 is not a whole hour
    }

    @Test("R12: 9014 with a CP and a lower-case CRC")
    func r12() throws {
        let r = try Self.lint("##0078QN=20201008154743635;ST=91;CN=9014;PW=123456;MN=SD000001;Flag=9;CP=&&QnRtn=1&&71c0")
        #expect(r.crc.ok)
        #expect(Self.rules(r).isSuperset(of: ["reply.cp-not-empty", "frame.crc-lowercase"]))
        let strict = try Self.lint("##0078QN=20201008154743635;ST=91;CN=9014;PW=123456;MN=SD000001;Flag=9;CP=&&QnRtn=1&&71c0", strict: true)
        #expect(Self.rules(strict, .error).contains("reply.cp-not-empty"))
    }

    @Test("R15, R16 and the 2005 reply forms are recognised as 2005 without errors")
    func legacy() throws {
        for frame in [
            "##0245ST=32;CN=2051;PW=123456;MN=12091200160055;CP=&&DataTime=20150430135700;B01-Min=895.13,B01-Avg=909.87,B01-Max=932.28,B01-Cou=54.59;011-Min=999.99,011-Avg=999.99,011-Max=999.99,011-Cou=54.59;060-Min=30.18,060-Avg=30.18,060-Max=30.18,060-Cou=1.65&&7640",
            "##0213ST=32;CN=2011;PW=123456;MN=81733553216204;CP=&&DataTime=20240123131500;001-Rtd=7.470,001-Flag=N;B01-Rtd=0.000;011-Rtd=32.439,011-Flag=N;060-Rtd=0.466,060-Flag=N;101-Rtd=0.287,101-Flag=N;065-Rtd=25.801,065-Flag=N&&47C0",
            "##0084ST=91;CN=9011;PW=123456;MN=LD130107000188;Flag=0;CP=&&QN=20160824000504006;QnRtn=1&&5780",
            "##0080ST=91;CN=9012;PW=123456;MN=LD130107000188;CP=&&QN=20160824000504006;ExeRtn=100&&84C1",
        ] {
            let r = try Self.lint(frame)
            #expect(r.crc.ok, "\(frame)")
            #expect(r.detectedDialect == .hj2005)
            #expect(!r.hasErrors, "\(frame): \(r.diagnostics)")
            #expect(!Self.rules(r).contains("code.factor-unknown"), "\(r.diagnostics)")
        }
    }

    @Test("R6: a real flue-gas hour record; R17: a vendor CN")
    func realWorld() throws {
        let r6 = try Self.lint("##0612QN=20240123101501421;ST=31;CN=2061;PW=123456;MN=81733553216103;Flag=4;CP=&&DataTime=20240122170000;a00000-Cou=19191.973,a00000-Min=5.051,a00000-Avg=5.331,a00000-Max=5.617,a00000-Flag=N;a01011-Min=6.686,a01011-Avg=7.029,a01011-Max=7.425,a01011-Flag=N;a01013-Min=-0.041,a01013-Avg=-0.026,a01013-Max=0.011,a01013-Flag=N;a01012-Min=8.074,a01012-Avg=8.524,a01012-Max=8.789,a01012-Flag=N;a24088-Cou=0.018,a24088-Min=0.665,a24088-Avg=0.933,a24088-Max=1.418,a24088-Flag=N;a05002-Cou=0.000,a05002-Min=0.000,a05002-Avg=0.000,a05002-Max=0.000,a05002-Flag=N;a01014-Min=0.828,a01014-Avg=1.040,a01014-Max=1.239,a01014-Flag=N&&0E40")
        #expect(r6.crc.ok)
        #expect(!r6.hasErrors, "\(r6.diagnostics)")
        #expect(Self.rules(r6).contains("value.number-width"))  // a01011-Min=6.686 has 3 decimals, N5.2
        let r17 = try Self.lint("##0069QN=20230723080035006;ST=91;CN=9021;PW=123456;MN=000201;Flag=4;CP=&&&&BDC1")
        #expect(r17.crc.ok)
        #expect(Self.rules(r17).contains("segment.cn-unknown"))
        #expect(!r17.hasErrors)
    }

    @Test("a length that counts characters is a warning, not a length error")
    func lengthCountsCharacters() throws {
        let seg = "QN=20160801085857223;ST=32;CN=3020;PW=123456;MN=010000A8900016F000169DC0;Flag=5;CP=&&DataTime=20160801085857;PolId=w01018;i11001-Info=//清洗管路//&&"
        let frame = "##0144" + seg + CRC.hex(CRC.hj212(Array(seg.utf8)))
        let r = try Self.lint(frame, strict: true)
        #expect(r.raw.segment.count == 152)
        #expect(Self.rules(r) == ["frame.length-counts-characters"])
        #expect(!r.hasErrors)
    }

    @Test("GBK bytes are reported as not UTF-8")
    func gbk() throws {
        var seg = Array("QN=20160801085857223;ST=32;CN=3020;PW=123456;MN=010000A8900016F000169DC0;Flag=5;CP=&&DataTime=20160801085857;i11001-Info=//".utf8)
        seg += [0xC7, 0xE5, 0xCF, 0xB4]  // 清洗 in GBK
        seg += Array("//&&".utf8)
        var decoder = FrameDecoder()
        decoder.feed(FrameEncoder.frame(segmentBytes: seg))
        guard case .frame(let raw)? = decoder.next() else { Issue.record("no frame"); return }
        let r = try Linter().check(raw, index: 0)
        #expect(r.crc.ok)
        #expect(Self.rules(r).contains("frame.encoding-not-utf8"))
    }

    @Test("frames run together without CR LF are each recovered, the trailer reported")
    func noTrailer() throws {
        let a = "QN=20160801085857223;ST=32;CN=1061;PW=123456;MN=010000A8900016F000169DC0;Flag=5;CP=&&&&"
        var bytes = FrameEncoder.frame(a, trailer: false)
        bytes += FrameEncoder.frame(a, trailer: false)
        bytes += FrameEncoder.frame(a)
        var decoder = FrameDecoder()
        decoder.feed(bytes)
        var frames: [RawFrame] = []
        while case .frame(let f)? = decoder.next() { frames.append(f) }
        for case .frame(let f) in decoder.finish() { frames.append(f) }
        #expect(frames.map(\.trailer) == [.missing, .missing, .crlf])
        let linter = try Linter()
        #expect(linter.check(frames[0], index: 0).diagnostics.map(\.rule) == ["frame.trailer-missing"])
    }

    @Test("the standard's own typos get warnings, not errors: spaces, comma in header, missing ';' before CP")
    func appendixTypos() throws {
        let cases: [(String, String)] = [
            ("QN=20160801085857223;ST=32;CN=3020;PW=123456;MN=010000A8900016F000169DC0;Flag=5;CP=&&DataTime=20160801085857;PolId=w01018;i12001-Info=1;i12003-Info =0&&", "cp.whitespace"),
            ("QN=20160801085857534,ST=32;CN=2061;PW=123456;MN=010000A8900016F000169DC0;Flag=5;CP=&&BeginTime=20160801080000;EndTime=20160801080000&&", "segment.separator"),
            ("QN=20160801085857223;ST=32;CN=2041;PW=123456;MN=010000A8900016F000169DC0;Flag=5CP=&&BeginTime=20160801000000;EndTime=20160802000000&&", "segment.separator"),
            ("QN=20160801085857223;ST=32;CN=1011;PW=123456;MN=010000A8900016F000169DC0;Flag=5;CP=&& PolId=w01018&&", "cp.whitespace"),
        ]
        for (seg, rule) in cases {
            let r = try Self.lint(FrameEncoder.frameText(seg))
            #expect(Self.rules(r).contains(rule), "\(seg): \(r.diagnostics)")
            #expect(!r.hasErrors, "\(seg): \(r.diagnostics)")
            // Values come out trimmed.
            #expect(r.segment.flag?.rawValue == 5)
        }
    }

    @Test("per-command contents: missing parameters, missing DataTime, wrong MinInterval, bad QnRtn")
    func commandContents() throws {
        let head = "QN=20160801085857223;ST=32;PW=123456;MN=010000A8900016F000169DC0;Flag=5;"
        let cases: [(String, String)] = [
            ("CN=1062;CP=&&&&", "command.parameter-missing"),
            ("CN=1072;CP=&&&&", "command.parameter-missing"),
            ("CN=1000;CP=&&OverTime=5&&", "command.parameter-missing"),
            ("CN=2061;CP=&&w01018-Avg=1.0,w01018-Flag=N&&", "command.datatime-missing"),
            ("CN=1064;CP=&&MinInterval=7&&", "value.mininterval-invalid"),
            ("CN=1000;CP=&&OverTime=100;ReCount=3&&", "value.parameter-range"),
            ("CN=3016;CP=&&PolId=w01018;CstartTime=250000;CTime=2&&", "value.parameter-range"),
            ("CN=3021;CP=&&PolId=w01018;InfoId=i13004&&", "command.parameter-missing"),
            ("CN=2011;CP=&&DataTime=20160801085857;w01018-Rtd=abc,w01018-Flag=N&&", "value.number-invalid"),
        ]
        for (tail, rule) in cases {
            let r = try Self.lint(FrameEncoder.frameText(head.replacingOccurrences(of: "Flag=5;", with: "") + tail.replacingOccurrences(of: ";CP=", with: ";Flag=5;CP=")))
            #expect(Self.rules(r, .error).contains(rule), "\(tail): \(r.diagnostics)")
        }
        let reply = "QN=20160801085857223;ST=91;CN=9011;PW=123456;MN=010000A8900016F000169DC0;Flag=4;CP=&&QnRtn=10&&"
        #expect(Self.rules(try Self.lint(FrameEncoder.frameText(reply)), .error) == ["value.qnrtn-invalid"])
        let order = "QN=20160801085857223;ST=32;CN=2051;PW=123456;MN=010000A8900016F000169DC0;Flag=5;CP=&&DataTime=20160801084000;w01018-Min=41.0,w01018-Avg=40.1,w01018-Max=42.0,w01018-Flag=N&&"
        #expect(Self.rules(try Self.lint(FrameEncoder.frameText(order))) == ["value.min-avg-max-order"])
    }

    @Test("every diagnostic names a catalogued rule and carries an offset inside the frame")
    func catalogue() throws {
        for v in Vectors.malformed {
            let r = try Self.lint(v.frame, strict: true)
            for d in r.diagnostics {
                #expect(Rules.rule(id: d.rule) != nil, "\(d.rule)")
                if let o = d.offset { #expect(o >= 0 && o <= r.raw.offset + r.raw.bytes.count, "\(d)") }
            }
        }
        #expect(Set(Rules.all.map(\.id)).count == Rules.all.count)
    }

    /// The end of the input inside a frame: cut before its CRC, the tail says how long the frame
    /// was to be; with the whole data segment and the CRC field there, but a CRC that is not four
    /// hex digits (so the frame could not be delimited), it says that, not "input ends 230 bytes
    /// into a frame; its length field announces a 230-byte frame".
    @Test("an incomplete tail says whether the frame was cut or could not be delimited")
    func incompleteTailMessages() throws {
        let segment = "QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&"
        func tail(_ bytes: String) throws -> String {
            var decoder = FrameDecoder()
            decoder.feed(Array(bytes.utf8))
            var events: [FrameDecoder.Event] = []
            while let e = decoder.next() { events.append(e) }
            events += decoder.finish()
            guard case .incomplete(let t)? = events.last else { throw TestFailure("no incomplete tail in \(events)") }
            return try Linter(options: LintOptions()).diagnose(t).message
        }
        #expect(try tail("##0101" + segment.prefix(50)) == "input ends 56 bytes into a frame; its length field announces a 113-byte frame; starts '##0101QN=20160801085857223;ST=32;CN=1062;PW=1000…'")
        for trailer in ["\r\n", "", "\r"] {
            let m = try tail("##0101" + segment + "1C8G" + trailer)
            #expect(m == "input ends \(111 + trailer.utf8.count) bytes into a frame; the 101-byte data segment its length field announces is complete, "
                + "but the CRC after it, '1C8G', is not 4 hex digits and no CR LF follows a valid CRC; starts '##0101QN=20160801085857223;ST=32;CN=1062;PW=1000…'")
        }
    }
}
