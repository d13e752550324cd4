import Testing
import HJ212
@testable import HJConformance

/// A split record left incomplete (issue 11, done-when for the incinerators): a failure only when
/// the logger went on sending on the same connection without the missing parts.
@Suite("Split records left incomplete")
struct SplitRecordTests {
    static let mn = "010000A8900016F000169DC0"

    static func frame(_ index: Int, connection: Int, qn: String, extra: String, cp: String) throws -> ObservedFrame {
        let segment = "QN=\(qn);ST=31;CN=2051;PW=123456;MN=\(mn);Flag=\(extra.isEmpty ? 5 : 7);\(extra)CP=&&\(cp)&&"
        var decoder = FrameDecoder()
        decoder.feed(FrameEncoder.frame(SegmentParser.parse(Array(segment.utf8)[...]).segment))
        guard case .frame(let raw)? = decoder.next() else { throw SplitError() }
        let report = try Linter(options: LintOptions()).check(raw, index: index)
        return ObservedFrame(index: index, time: Double(index), connection: connection, report: report, role: .upload, text: raw.textWithoutTrailer)
    }

    struct SplitError: Error {}

    @Test("the first part only, then another upload on the connection: a split problem")
    func abandoned() throws {
        let frames = [try Self.frame(0, connection: 1, qn: "20261130100000001", extra: "PNUM=2;PNO=1;", cp: "DataTime=20261130095000;a01012-Avg=100.0"),
                      try Self.frame(1, connection: 1, qn: "20261130100100001", extra: "", cp: "DataTime=20261130100000;a01012-Avg=101.0")]
        let s = RecordStreams(frames: frames)
        #expect(s.splitProblems.count == 1)
        #expect(s.splitProblems.first?.why.contains("1 of 2 parts") == true, "\(s.splitProblems)")
    }

    @Test("the first part as the last upload of its connection (cut by the outage or the end): no problem")
    func cut() throws {
        let frames = [try Self.frame(0, connection: 1, qn: "20261130100100001", extra: "", cp: "DataTime=20261130094000;a01012-Avg=101.0"),
                      try Self.frame(1, connection: 1, qn: "20261130100000001", extra: "PNUM=2;PNO=1;", cp: "DataTime=20261130095000;a01012-Avg=100.0")]
        let s = RecordStreams(frames: frames)
        #expect(s.splitProblems.isEmpty, "\(s.splitProblems)")
    }
}
