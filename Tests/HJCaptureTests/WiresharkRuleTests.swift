import Foundation
import HJ212
import Testing
import TestSupport

/// Rules the session-23 comparison of mutated streams found the dissector deciding otherwise than
/// `hj212 lint`: the length field's rules and `command.datatime-missing`. Each frame is its own
/// write, a correct frame last; rule IDs and severities must be lint's, and the length findings
/// lint's words.
extension WiresharkTests {
    /// A frame of `segment` with the length field `length` (the right one when nil), CRC and CR LF.
    static func frame(_ segment: [UInt8], length: String? = nil) -> [UInt8] {
        Array("##\(length ?? String(format: "%04d", segment.count))".utf8) + segment + Array(CRC.hex(CRC.hj212(segment)).utf8) + [13, 10]
    }

    static func upload(_ qn: String, cp: String) -> [UInt8] {
        Array(Session.segment(qn, st: "32", cn: "2011", flag: "5", cp: "DataTime=20251201120000;" + cp).utf8)
    }

    /// A length field that is not four digits is `frame.length-not-digits` (lint finds the frame
    /// by its line end); a length that counts characters instead of UTF-8 bytes (code points, or
    /// UTF-16 units as Java and C# count them; an invalid byte sequence counts as one character,
    /// as Swift decodes it) is `frame.length-counts-characters`; the dissector flagged
    /// `frame.length-mismatch` for all of them. A stray `##` inside a frame leaves, after it, a
    /// frame whose "length" is `18-R` (the mutated streams' `18-M`).
    @Test func lengthFieldsAreJudgedAsLintJudgesThem() throws {
        let log = Self.upload("20251201120000001", cp: "w01018-Rtd=1.0;i11001-Info=//设备正常 ok//")
        let emoji = Self.upload("20251201120000002", cp: "w01018-Rtd=1.0;i11001-Info=//告警🚨//")
        let invalid = Self.upload("20251201120000003", cp: "w01018-Rtd=1.0;i11001-Info=//a?//")
            .flatMap { $0 == UInt8(ascii: "?") ? [0xE4, 0xB8] : [$0] }  // a 3-byte sequence cut after 2 bytes
        func characters(_ s: [UInt8]) -> String { String(format: "%04d", String(decoding: s, as: UTF8.self).unicodeScalars.count) }
        func units(_ s: [UInt8]) -> String { String(format: "%04d", String(decoding: s, as: UTF8.self).utf16.count) }
        #expect(characters(emoji) != units(emoji) && characters(invalid) != String(format: "%04d", invalid.count))
        var stray = Self.shortFrame("20251201120000004")
        let at = try #require(stray.indices.first { stray[$0...].starts(with: Array("18-Rtd".utf8)) })
        stray.insert(contentsOf: [35, 35], at: at)
        // A correct frame first: a conversation is found by a segment that starts with "##dddd".
        let writes: [[UInt8]] = [
            Self.shortFrame("20251201115900000"),
            Self.frame(Self.upload("20251201120000000", cp: "w01018-Rtd=1.0"), length: "02x8"),
            Self.frame(log, length: characters(log)),
            Self.frame(emoji, length: units(emoji)),
            Self.frame(emoji, length: characters(emoji)),
            Self.frame(invalid, length: characters(invalid)),
            Self.frame(log, length: String(format: "%04d", log.count + 1)),
            stray,
            Self.shortFrame("20251201120000005"),
        ]
        let r = try Self.streamReading(writes, name: "length-rules")
        #expect(r.dissectorRules == r.lintRules, "dissector \(r.dissector)\nlint \(r.comparable)")
        #expect(r.qns == r.lintQNs, "\(r.qns) \(r.lintQNs)")
        let lengthRules: Set<String> = [Rules.lengthNotDigits.id, Rules.lengthCountsCharacters.id, Rules.lengthMismatch.id]
        let d = r.dissector.filter { lengthRules.contains($0.rule) }, l = r.lint.filter { lengthRules.contains($0.rule) }
        #expect(l.map(\.rule) == [Rules.lengthNotDigits.id] + Array(repeating: Rules.lengthCountsCharacters.id, count: 4)
            + [Rules.lengthMismatch.id, Rules.lengthNotDigits.id], "\(l)")
        #expect(d == l, "dissector \(d)\nlint \(l)")
    }

    /// `command.datatime-missing` as lint decides it (`SegmentChecks.checkCommand`): a history
    /// request (BeginTime or EndTime) of 2031/2041/2051/2061/2062/2111 carries no DataTime; a
    /// 2011 or 2021 with an empty CP is the platform's request; a 3020 without DataTime is a
    /// request when it carries InfoId (or nothing), else an upload without DataTime; an entry
    /// without '=' counts as an entry; ST=91 does not exempt an upload. The dissector flagged the
    /// CN=2061 request and the empty 2011, and missed 2021, 2062, 2111, 3020 and ST=91.
    @Test func dataTimeMissingIsDecidedAsLintDecidesIt() throws {
        func f(_ n: Int, st: String = "32", cn: String, _ cp: String) -> [UInt8] {
            FrameEncoder.frame(segmentBytes: Array(Session.segment("2025120112000000\(n)", st: st, cn: cn, flag: "5", cp: cp).utf8))
        }
        let writes: [[UInt8]] = [
            Self.shortFrame("20251201115900000"),
            f(0, cn: "2061", "BeginTime=20251201000000;EndTime=20251201120000"),
            f(1, cn: "2051", "EndTime=20251201120000"),
            f(2, cn: "2011", ""),
            f(3, cn: "2021", ";"),
            f(4, cn: "2021", "a01001-RS=1"),
            f(5, cn: "2062", "w01018-Avg=1.0"),
            f(6, cn: "2111", "a01012-Rtd=800"),
            f(7, cn: "3020", "i13004-Info=1"),
            f(8, cn: "3020", "InfoId=i13004"),
            f(9, st: "91", cn: "2011", "w01018-Rtd=1.0"),
        ] + [
            f(0, cn: "2061", "abc"),
            f(1, cn: "2061", "=x"),
            f(2, cn: "2031", "DataTime=20251201000000;w01018-Avg=1.0"),
            Self.shortFrame("20251201120000009"),
        ]
        let r = try Self.streamReading(writes, name: "datatime-missing")
        let missing = Rules.dataTimeMissing.id
        #expect(r.lint.filter { $0.rule == missing }.count == 6, "\(r.lint)")
        #expect(r.dissectorRules == r.lintRules, "dissector \(r.dissector)\nlint \(r.comparable)")
        #expect(r.dissector.filter { $0.rule == missing } == r.lint.filter { $0.rule == missing }, "\(r.dissector)")
        #expect(r.qns == r.lintQNs)
    }

    /// The header as lint judges it (`SegmentChecks.checkHeader`, `checkReply`): the first of
    /// each field, its name without spaces; the fields HJ/T 212-2005 requires (ST CN PW MN, ST CN
    /// for a reply; QN and Flag optional) for a 2005 packet (Flag version 0, or no Flag); MN of
    /// 24 characters 0-9 A-F (14 in 2005); a QN that is a real time; `segment.st-unknown` and
    /// `segment.cn-unknown` only for a code of the right form (else lint's format rules, which the
    /// dissector does not show); ST=91 required of a reply only when it has an ST; CP missing
    /// only without "CP=". Found by the comparison of mutated streams (a 14-character MN in 2017
    /// packets, 2005 packets without QN) and by reading lint's checks.
    @Test func headerFieldsAreJudgedAsLintJudgesThem() throws {
        let mn = Session.mn, cp = "CP=&&DataTime=20251201120000;w01018-Rtd=1.0&&"
        let segments = [
            "QN=20251201120000001;ST=32;CN=2011;PW=123456;MN=81733553213013;Flag=5;" + cp,
            "QN=20251201120000002;ST=32;CN=2011;PW=123456;MN=\(mn.lowercased());Flag=5;" + cp,
            "ST=32;CN=2011;PW=123456;MN=81733553213013;Flag=1;" + cp,
            "QN=20251201120000004;ST=32;CN=2011;PW=123456;MN=81733553213013;" + cp,
            "QN=20251201120000005;ST=91;CN=9014;CP=&&&&",
            "QN=20251301120000006;ST=32;CN=2011;PW=123456;MN=\(mn);Flag=5;" + cp,
            "QN=20251201120000007;ST=3;CN=2011;PW=123456;MN=\(mn);Flag=5;" + cp,
            "QN=20251201120000008;ST=32;CN=20x1;PW=123456;MN=\(mn);Flag=5;" + cp,
            "QN=20251201120000010;CN=9014;PW=123456;MN=\(mn);Flag=4;CP=&&&&",
            "QN=20251201120000011; ST=32;CN=2011;PW=123456;MN=\(mn);Flag=5;" + cp,
            "QN=20251201120000012;ST=32;CN=2011;PW=123456;MN=\(mn);Flag=5;CP=DataTime=20251201120000;w01018-Rtd=1.0&&",
        ]
        let writes = [Self.shortFrame("20251201115900000")] + segments.map { FrameEncoder.frame(segmentBytes: Array($0.utf8)) }
        let r = try Self.streamReading(writes, name: "header-rules")
        #expect(r.dissectorRules == r.lintRules, "dissector \(r.dissector)\nlint \(r.comparable)")
        #expect(r.qns == r.lintQNs, "\(r.qns) \(r.lintQNs)")
        let worded: Set<String> = [Rules.fieldMissing.id, Rules.mnFormat.id, Rules.qnFormat.id, Rules.stUnknown.id, Rules.cnUnknown.id, Rules.replySTNot91.id]
        let d = r.dissector.filter { worded.contains($0.rule) }, l = r.lint.filter { worded.contains($0.rule) }
        #expect(d.map(\.description).sorted() == l.map(\.description).sorted(), "dissector \(d)\nlint \(l)")
        #expect(l.count >= 4, "\(l)")
    }
}
