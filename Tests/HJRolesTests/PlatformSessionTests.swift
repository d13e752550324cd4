import Foundation
import HJ212
import HJRoles
import HJSimulation
import Testing

/// The shared Appendix C vectors (`../shared/vectors` beside the checkout, or `HJ212_VECTORS`).
/// A copy of the loader in HJ212Tests/Vectors.swift: test targets cannot share files.
enum PlatformVectors {
    static var directory: String {
        if let env = ProcessInfo.processInfo.environment["HJ212_VECTORS"] { return env }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.deletingLastPathComponent().appendingPathComponent("shared/vectors").path
    }

    static var repositoryRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    static func text(_ name: String) throws -> String {
        try String(contentsOfFile: directory + "/" + name, encoding: .utf8)
    }

    /// Appendix frames by ID (without CR LF).
    static let appendix: [String: String] = {
        guard let text = try? text("hj212-2017-appendix.tsv") else { return [:] }
        let lines = text.split(separator: "\n").map { $0.hasSuffix("\r") ? String($0.dropLast()) : String($0) }
        guard let header = lines.first else { return [:] }
        let columns = header.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        guard let id = columns.firstIndex(of: "id"), let frame = columns.firstIndex(of: "frame") else { return [:] }
        var result: [String: String] = [:]
        for line in lines.dropFirst() where !line.isEmpty {
            let cells = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            if cells.count > max(id, frame) { result[cells[id]] = cells[frame] }
        }
        return result
    }()

    /// The frame of a vector, without CR LF.
    static func frame(_ id: String) -> String {
        guard let frame = appendix[id] else {
            Issue.record("vector \(id) not found in \(directory)/hj212-2017-appendix.tsv")
            return ""
        }
        return frame
    }

    /// The wire bytes of a vector (with CR LF).
    static func wire(_ id: String) -> [UInt8] { Array((frame(id) + "\r\n").utf8) }

    /// The data segment of a vector, as text.
    static func segmentText(_ id: String) -> String {
        let f = frame(id)
        guard f.count > 10 else { return "" }
        return String(f.dropFirst(6).dropLast(4))
    }

    static func segment(_ id: String) -> DataSegment { SegmentParser.parse(segmentText(id)).segment }
}

// MARK: - Helpers

private let mn = "010000A8900016F000169DC0"
private let logger = LoggerIdentity(mn: mn, pw: "123456")

private func t(_ text: String) -> SessionTime {
    guard let time = HJTime(text, allowMilliseconds: true) else {
        Issue.record("bad time \(text)")
        return 0
    }
    return time.wallMilliseconds
}

/// Frames a data segment for the wire.
private func wire(_ segment: String, crcStyle: FrameEncoder.CRCStyle = .standard) -> [UInt8] {
    FrameEncoder.frame(segment, crcStyle: crcStyle)
}

private func wire(_ segment: DataSegment) -> [UInt8] { FrameEncoder.frame(segment) }

/// The bytes of every `.send`.
private func sent<O: SessionOutput>(_ outputs: [O]) -> [[UInt8]] {
    outputs.sentBytes
}

/// The segments of every `.send`.
private func sentSegments<O: SessionOutput>(_ actions: [O]) -> [DataSegment] {
    sent(actions).compactMap(decode)
}

private func decode(_ bytes: [UInt8]) -> DataSegment? {
    var decoder = FrameDecoder()
    decoder.feed(bytes)
    guard case .frame(let raw)? = decoder.next() else { return nil }
    return SegmentParser.parse(raw.segmentBytes).segment
}

private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

/// The logger's 9011 / 9012 / 9013 to a request the platform sent.
private func answer(_ cn: String, to request: DataSegment, _ cp: [[Field]] = []) -> [UInt8] {
    FrameEncoder.frame(replySegment(cn: cn, to: request, cp: cp))
}

/// A periodic upload with DataTime `dataTime` (14 digits).
private func upload(_ cn: String, dataTime: String, qn: String? = nil, flag: Int = 5, mn: String = mn, pw: String = "123456") -> [UInt8] {
    let q = qn ?? dataTime + "001"
    return wire("QN=\(q);ST=32;CN=\(cn);PW=\(pw);MN=\(mn);Flag=\(flag);CP=&&DataTime=\(dataTime);w01018-Avg=40.1,w01018-Flag=N&&")
}

private func newState(registry: Registry? = nil) throws -> PlatformState { try PlatformState(registry: registry) }

private func session(_ state: PlatformState, _ configure: (inout PlatformSession.Options) -> Void = { _ in }) -> PlatformSession {
    var options = PlatformSession.Options()
    configure(&options)
    return PlatformSession(state: state, peer: "test:1", options: options)
}

/// A session that knows its logger in advance (so it can send commands at once).
private func commandSession(_ state: PlatformState, _ configure: (inout PlatformSession.Options) -> Void = { _ in }) -> PlatformSession {
    session(state) {
        $0.expectedLogger = logger
        configure(&$0)
    }
}

private let now = t("20160801090000500")

// MARK: - Acknowledgements

@Suite("PlatformSession acknowledgements")
struct PlatformAckTests {
    struct AckCase: CustomTestStringConvertible, Sendable {
        let upload: String
        /// The vector holding the expected 9014, or the expected segment text.
        let expectedVector: String?
        let expectedSegment: String?
        var testDescription: String { upload }
    }

    static let ackCases = [
        AckCase(upload: "A14", expectedVector: "A15", expectedSegment: nil),
        AckCase(upload: "A16", expectedVector: "A17", expectedSegment: nil),
        AckCase(upload: "A18", expectedVector: nil,
                expectedSegment: "QN=20160801090000001;ST=91;CN=9014;PW=123456;MN=010000A8900016F000169DC0;Flag=4;CP=&&&&"),
        AckCase(upload: "A21", expectedVector: "A22", expectedSegment: nil),
    ]

    @Test("9014 has the exact Appendix C form", arguments: ackCases)
    func ackMatchesAppendix(_ c: AckCase) throws {
        let state = try newState()
        var s = session(state)
        let actions = s.received(PlatformVectors.wire(c.upload), at: now)
        let expected = c.expectedVector.map(PlatformVectors.wire) ?? wire(c.expectedSegment ?? "")
        #expect(actions.actions == [.send(expected)])
        #expect(s.counters.acks9014 == 1)
        #expect(state.counters.records == 1)
    }

    @Test("every upload and notification of Appendix C with A=1 is acknowledged by QN",
          arguments: ["A05", "A07", "A10", "A14", "A16", "A18", "A19", "A21", "A25", "A26", "A27"])
    func everyUploadAcknowledged(_ id: String) throws {
        let state = try newState()
        var s = session(state) { $0.answerTimeRequests = false }
        let packet = PlatformVectors.segment(id)
        let acks = sentSegments(s.received(PlatformVectors.wire(id), at: now))
        guard packet.flag?.needsAck == true else {
            #expect(acks.isEmpty, "\(id) has A=0")
            return
        }
        try #require(acks.count == 1)
        #expect(acks[0].cn == (packet.cn == "1013" ? "9013" : "9014"))
        #expect(acks[0].qn == packet.qn)
        #expect(acks[0].st == "91")
        #expect(acks[0].header("Flag") == "4")
        #expect(acks[0].cp == [])
    }

    @Test("Flag=4 (A=0) gets no acknowledgement, the record is still stored")
    func noAckWithoutFlagA() throws {
        let state = try newState()
        var s = session(state)
        let segment = PlatformVectors.segmentText("A14").replacingOccurrences(of: "Flag=5", with: "Flag=4")
        #expect(s.received(wire(segment), at: now).actions.isEmpty)
        #expect(state.counters.acks9014 == 0)
        #expect(state.counters.records == 1)
        #expect(state.unit(mn)?.lastValues["2011"]?["w01018-Rtd"] == "2.2")
    }

    @Test("1013 (A07) gets 9013 (A08), then 1012 with the platform's time")
    func timeRequest() throws {
        let state = try newState()
        var s = session(state)
        let at = t("20160801085858000")
        let actions = s.received(PlatformVectors.wire("A07"), at: at).actions
        try #require(actions.count == 2)
        #expect(actions[0] == .send(PlatformVectors.wire("A08")))
        let setTime = try #require(sentSegments([actions[1]]).first)
        #expect(setTime.cn == "1012")
        #expect(setTime.st == "32")
        #expect(setTime.header("Flag") == "5")
        #expect(setTime.pw == "123456" && setTime.mn == mn)
        #expect(setTime.cpText == "PolId=w01018;SystemTime=20160801085858")
        #expect(s.commandInFlight == setTime.qn)
        #expect(state.counters.acks9013 == 1)

        var quiet = session(try newState()) { $0.answerTimeRequests = false }
        #expect(quiet.received(PlatformVectors.wire("A07"), at: at).actions == [.send(PlatformVectors.wire("A08"))])
    }

    @Test("split packets A23 + A24 are each acknowledged by their own QN and reassembled into A21's record")
    func splitPackets() throws {
        let state = try newState()
        var s = session(state)
        let first = sentSegments(s.received(PlatformVectors.wire("A23"), at: now))
        #expect(first.map(\.qn) == ["20160801085857534"])
        #expect(s.pendingSplitRecords == 1)
        #expect(state.counters.records == 0)
        let second = sentSegments(s.received(PlatformVectors.wire("A24"), at: now + 1))
        #expect(second.map(\.qn) == ["20160801085857535"])
        #expect(second.first?.cn == "9014")
        #expect(s.pendingSplitRecords == 0)
        let counters = state.counters
        #expect(counters.splitPackets == 2 && counters.reassembled == 1 && counters.records == 1 && counters.acks9014 == 2)
        var expected: [String: String] = [:]
        for field in PlatformVectors.segment("A21").cpFields { expected[field.name] = field.value }
        #expect(state.unit(mn)?.lastValues["2061"] == expected)
        #expect(state.unit(mn)?.recordsByCN["2061"] == 1)
        #expect(state.unit(mn)?.packetsByCN["2061"] == 2)
    }

    @Test("a wrong CRC is not acknowledged; CRC-16/MODBUS only with acceptCRCVariants")
    func badCRC() throws {
        let state = try newState()
        var s = session(state)
        let corrupted = PlatformVectors.frame("A14").replacingOccurrences(of: "&&6E80", with: "&&6E81") + "\r\n"
        #expect(s.received(Array(corrupted.utf8), at: now).actions.isEmpty)
        let modbus = wire(PlatformVectors.segmentText("A14"), crcStyle: .modbusSwapped)
        #expect(s.received(modbus, at: now).actions.isEmpty)
        #expect(state.counters.rejectedBadCRC == 2)
        #expect(state.counters.records == 0)
        #expect(state.counters.byRule["frame.crc-mismatch"] == 1)
        #expect(state.counters.byRule["frame.crc-variant-modbus-swapped"] == 1)
        #expect(state.log.filter { $0.kind == .rejected }.count == 2)

        var lenient = session(try newState()) { $0.acceptCRCVariants = true }
        #expect(lenient.received(modbus, at: now).actions == [.send(PlatformVectors.wire("A15"))])
        #expect(lenient.received(Array(corrupted.utf8), at: now).actions.isEmpty)
    }

    @Test("lint results are counted by rule; a lower-case CRC is accepted with a warning")
    func lintCounts() throws {
        let state = try newState()
        var s = session(state)
        let lower = wire(PlatformVectors.segmentText("A14"), crcStyle: .lowercase)
        #expect(s.received(lower, at: now).actions == [.send(PlatformVectors.wire("A15"))])
        let counters = state.counters
        #expect(counters.frames == 1)
        #expect(counters.byRule["frame.crc-lowercase"] == 1)
        #expect(counters.warnings >= 1 && counters.errors == 0)
        #expect(state.diagnostics.contains { $0.diagnostic.rule == "frame.crc-lowercase" && $0.mn == mn })
    }

    @Test("a 9011 or 9012 that answers nothing is counted as unexpected, never acknowledged")
    func unexpectedReplies() throws {
        let state = try newState()
        var s = session(state)
        #expect(s.received(PlatformVectors.wire("A02") + PlatformVectors.wire("A03"), at: now).actions.isEmpty)
        #expect(state.counters.unexpected == 2)
        #expect(state.counters.acks9014 == 0)
    }

    @Test("bytes fed one at a time: the noisy stream vector gives the same acks as whole frames")
    func byteAtATime() throws {
        let bytes = Array(try PlatformVectors.text("stream-with-noise.txt").utf8)
        let state = try newState()
        var s = session(state)
        var acks: [[UInt8]] = []
        for (i, byte) in bytes.enumerated() { acks += sent(s.received([byte], at: now + SessionTime(i))) }
        s.disconnected(at: now + SessionTime(bytes.count))
        let ack18 = wire("QN=20160801090000001;ST=91;CN=9014;PW=123456;MN=010000A8900016F000169DC0;Flag=4;CP=&&&&")
        #expect(acks == [PlatformVectors.wire("A15"), PlatformVectors.wire("A17"), ack18, PlatformVectors.wire("A15")])
        #expect(state.counters.frames == 4)
        #expect(state.counters.skippedBytes > 0)
        #expect(state.counters.incompleteTails == 1)

        // The same stream in one piece.
        let whole = try newState()
        var w = session(whole)
        #expect(sent(w.received(bytes, at: now)) == acks)
    }
}

// MARK: - Access control

@Suite("PlatformSession registry")
struct PlatformRegistryTests {
    @Test("unknown MN and wrong PW are counted, logged and not acknowledged")
    func rejections() throws {
        let registry = Registry([Registry.Entry(mn: mn, pw: "654321"), Registry.Entry(mn: "81733553213013", pw: "123456")])
        let state = try newState(registry: registry)
        var s = session(state)
        #expect(s.received(PlatformVectors.wire("A14"), at: now).actions.isEmpty)  // PW 123456, registered 654321
        let stranger = PlatformVectors.segmentText("A14").replacingOccurrences(of: mn, with: "010000A8900016F000169DC9")
        #expect(s.received(wire(stranger), at: now).actions.isEmpty)
        let good = PlatformVectors.segmentText("A14").replacingOccurrences(of: "PW=123456", with: "PW=654321")
        // Below the limits, the right password after a wrong one is acknowledged (the conformance
        // check P-ACCESS-PW relies on it to show that the refusal was for the password).
        #expect(sentSegments(s.received(wire(good), at: now)).map(\.cn) == ["9014"])
        let counters = state.counters
        #expect(counters.rejectedBadPW == 1)
        #expect(counters.rejectedUnknownMN == 1)
        #expect(counters.acks9014 == 1)
        #expect(counters.records == 1)
        #expect(state.log.filter { $0.kind == .rejected }.count == 2)
        #expect(state.unit("010000A8900016F000169DC9") == nil)

        // Open mode accepts everyone.
        var open = session(try newState())
        #expect(sentSegments(open.received(wire(stranger), at: now)).count == 1)
    }

    @Test("headerless registry file: comments, quoting, optional name")
    func headerless() throws {
        let text = """
            # platform access list
            010000A8900016F000169DC0,123456,"示例厂, 出口"

              # indented comment
            81733553213013,654321
            """
        let registry = try Registry.parse(text, file: "loggers.csv")
        #expect(registry.count == 2)
        #expect(registry.entry(mn)?.name == "示例厂, 出口")
        #expect(registry.entry(mn)?.line == 2)
        #expect(registry.entry("81733553213013")?.pw == "654321")
        #expect(registry.check(mn: mn, pw: "123456") == .accepted)
        #expect(registry.check(mn: mn, pw: "000000") == .wrongPW(expected: "123456"))
        #expect(registry.check(mn: "X", pw: "123456") == .unknownMN)
        let reparsed = try Registry.parse(registry.serialized(), file: "again")
        func summary(_ r: Registry) -> Set<String> { Set(r.entries.values.map { "\($0.mn)|\($0.pw)|\($0.name ?? "")" }) }
        #expect(summary(reparsed) == summary(registry))
    }

    @Test("a fleet manifest loads by its header")
    func fleetManifest() throws {
        let path = PlatformVectors.repositoryRoot + "/Profiles/fleets/mixed-demo.csv"
        let registry = try Registry.load(path: path)
        #expect(registry.count > 0)
        let entry = try #require(registry.entry("010000A89001000000000001"))
        #expect(entry.pw == "112648")
        #expect(entry.enterprise == "示例市示东区演示化工有限公司")
        #expect(entry.name == "industrial-wastewater")
        #expect(entry.line == 2)
    }

    @Test("errors name the file and the line", arguments: [
        ("mn,pw\nA,1\nA,2\n", "r.csv:3: mn A already listed on line 2"),
        ("# c\nABC\n", "r.csv:2: expected 'mn,pw[,name]', found 1 field"),
        ("A,1,n,x\n", "r.csv:1: expected 'mn,pw[,name]', found 4 fields"),
        ("A B,123456\n", "r.csv:1: mn 'A B': expected 1-64 printable ASCII characters without spaces"),
        ("\"A,1\n", "r.csv:1: a quoted field is not closed"),
        ("name,mn,pw\nx,A\n", "r.csv:2: has 2 fields; the header has 3"),
    ])
    func errors(_ input: String, _ message: String) {
        #expect(throws: RegistryError.self) { try Registry.parse(input, file: "r.csv") }
        do {
            _ = try Registry.parse(input, file: "r.csv")
        } catch {
            #expect((error as? RegistryError)?.description == message)
        }
    }

    @Test("1072 answered by 9012 ExeRtn=1 changes the registered password")
    func passwordChange() throws {
        let state = try newState(registry: Registry([Registry.Entry(mn: mn, pw: "123456")]))
        var s = commandSession(state)
        let request = s.setPassword("654321", at: t("20160801085857223"))
        #expect(request.actions == [.send(PlatformVectors.wire("A12"))])
        let req = try #require(sentSegments(request).first)
        #expect(s.received(answer("9011", to: req, [[Field("QnRtn", "1")]]), at: t("20160801085858000")).actions.isEmpty)
        var done = req
        done.setHeader("PW", "654321")  // the logger may already answer with its new password
        #expect(s.received(answer("9012", to: done, [[Field("ExeRtn", "1")]]), at: t("20160801085859000")).actions.isEmpty)
        #expect(state.registry?.entry(mn)?.pw == "654321")
        #expect(s.logger?.pw == "654321")
        #expect(s.completedCommands.last?.succeeded == true)
        // The old password is refused now; the next command carries the new one.
        #expect(s.received(PlatformVectors.wire("A14"), at: t("20160801085900000")).actions.isEmpty)
        #expect(state.counters.rejectedBadPW == 1)
        #expect(sentSegments(s.setRtdInterval(60, at: t("20160801085901000"))).first?.pw == "654321")
    }
}

// MARK: - Commands

@Suite("PlatformSession commands")
struct PlatformCommandTests {
    static let at = t("20160801085857223")

    @Test("helpers build the Appendix C requests byte for byte")
    func requestsMatchAppendix() throws {
        let cases: [(String, (inout PlatformSession) -> [PlatformOutput])] = [
            ("A20", { $0.requestHistory(cn: "2061", from: t("20160801080000"), to: t("20160801080000"), at: Self.at) }),
            ("A01", { $0.setOverTime(seconds: 5, reCount: 3, at: Self.at) }),
            ("A06", { $0.setTime(polId: "w01018", at: Self.at) }),
            ("A11", { $0.setMinInterval(10, at: Self.at) }),
            ("A12", { $0.setPassword("654321", at: Self.at) }),
            ("A13", { $0.send(command: "2011", cp: [], at: Self.at) }),
            ("A09", { $0.send(command: "1061", cp: [], at: Self.at) }),
            ("A28", { $0.setInfo(polId: "w01018", infoId: "i13004", value: "168.0", at: Self.at) }),
        ]
        for (id, build) in cases {
            var s = commandSession(try newState())
            #expect(build(&s).actions == [.send(PlatformVectors.wire(id))], "\(id)")
        }
        var s = commandSession(try newState())
        let info = sentSegments(s.getInfo(polId: "w01018", infoId: "i11001", from: t("20160801000000"), to: t("20160801235959"), at: Self.at))
        #expect(info.first?.cpText == "PolId=w01018;InfoId=i11001;BeginTime=20160801000000;EndTime=20160801235959")
    }

    @Test("history request: 9011, an acknowledged record, 9012 are recorded as one CommandResult")
    func historyFlow() throws {
        let state = try newState()
        var s = commandSession(state)
        #expect(s.requestHistory(cn: "2061", from: t("20160801080000"), to: t("20160801080000"), at: Self.at).actions == [.send(PlatformVectors.wire("A20"))])
        #expect(s.received(PlatformVectors.wire("A02"), at: Self.at + 100).actions.isEmpty)
        #expect(s.received(PlatformVectors.wire("A21"), at: Self.at + 300).actions == [.send(PlatformVectors.wire("A22"))])
        #expect(s.received(PlatformVectors.wire("A03"), at: Self.at + 500).actions.isEmpty)
        #expect(s.commandInFlight == nil)
        let result = try #require(state.completedCommands.first)
        #expect(result.cn == "2061")
        #expect(result.qn == "20160801085857223")
        #expect(result.qnRtn == 1 && result.exeRtn == 1)
        #expect(result.records == 1)
        #expect(result.outcome == .completed && result.succeeded)
        #expect(result.duration == 500)
        #expect(result.responses.first?.cp == PlatformVectors.segment("A21").cp)
        #expect(s.completedCommands == state.completedCommands)
        #expect(state.unit(mn)?.dataTimes["2061"]?.contains(t("20160801080000")) == true)
    }

    @Test("split history record: both packets acked, the reassembled CP equals A21's")
    func splitHistory() throws {
        let state = try newState()
        var s = commandSession(state)
        _ = s.requestHistory(cn: "2061", from: t("20160801080000"), to: t("20160801080000"), at: Self.at)
        _ = s.received(PlatformVectors.wire("A02"), at: Self.at + 100)
        #expect(sentSegments(s.received(PlatformVectors.wire("A23") + PlatformVectors.wire("A24"), at: Self.at + 200)).map(\.qn)
                == ["20160801085857534", "20160801085857535"])
        _ = s.received(PlatformVectors.wire("A03"), at: Self.at + 300)
        let result = try #require(state.completedCommands.first)
        #expect(result.records == 1)
        #expect(result.responses.first?.cp == PlatformVectors.segment("A21").cp)
        #expect(result.responses.first?.header("Flag") == "5")
        #expect(result.responses.first?.header("PNUM") == nil)
    }

    @Test("history: a periodic upload outside the range is not the command's record; a late 9011 is still recorded")
    func historyMatching() throws {
        let state = try newState()
        var s = commandSession(state)
        _ = s.requestHistory(cn: "2061", from: t("20160801080000"), to: t("20160801080000"), at: Self.at)
        // The logger's own hourly upload (07:00) crosses the request, and its history record
        // comes before its 9011.
        #expect(sentSegments(s.received(upload("2061", dataTime: "20160801070000"), at: Self.at + 10)).map(\.cn) == ["9014"])
        #expect(s.received(PlatformVectors.wire("A21"), at: Self.at + 20).actions == [.send(PlatformVectors.wire("A22"))])
        _ = s.received(PlatformVectors.wire("A02") + PlatformVectors.wire("A03"), at: Self.at + 30)
        let result = try #require(state.completedCommands.first)
        #expect(result.records == 1)
        #expect(result.qnRtn == 1 && result.exeRtn == 1)
        #expect(result.responses.first?.qn == "20160801085857534")
        #expect(state.counters.records == 2)
    }

    @Test("no 9011: resent with the same QN after OverTime, then recorded as noReply")
    func replyTimeout() throws {
        let state = try newState()
        var s = commandSession(state) { $0.reCount = 1 }
        let first = s.setRtdInterval(30, at: Self.at)
        #expect(s.nextDeadline == Self.at + 10_000)
        #expect(s.tick(at: Self.at + 9_999).actions.isEmpty)
        #expect(s.tick(at: Self.at + 10_000).actions == first.actions)
        #expect(s.tick(at: Self.at + 19_999).actions.isEmpty)
        #expect(s.tick(at: Self.at + 20_000).actions.isEmpty)
        let result = try #require(state.completedCommands.first)
        #expect(result.outcome == .noReply && result.timedOut)
        #expect(result.attempts == 2)
        #expect(result.qnRtn == nil)
        #expect(result.duration == 20_000)
        #expect(state.counters.resends == 1)
        #expect(s.commandInFlight == nil)
    }

    @Test("9011 but no 9012: executionTimeout; a record restarts the timer")
    func executionTimeout() throws {
        let state = try newState()
        var s = commandSession(state)
        let request = try #require(sentSegments(s.requestHistory(cn: "2061", from: t("20160801080000"), to: t("20160801090000"), at: Self.at)).first)
        _ = s.received(answer("9011", to: request, [[Field("QnRtn", "1")]]), at: Self.at + 1_000)
        #expect(s.nextDeadline == Self.at + 61_000)
        _ = s.received(PlatformVectors.wire("A21"), at: Self.at + 30_000)
        #expect(s.nextDeadline == Self.at + 90_000)
        #expect(s.tick(at: Self.at + 89_999).actions.isEmpty)
        _ = s.tick(at: Self.at + 90_000)
        let result = try #require(state.completedCommands.first)
        #expect(result.outcome == .executionTimeout)
        #expect(result.qnRtn == 1 && result.exeRtn == nil && result.records == 1)
    }

    @Test("QnRtn other than 1 ends the command as rejected; the next one goes out")
    func rejected() throws {
        let state = try newState()
        var s = commandSession(state)
        let first = try #require(sentSegments(s.setMinInterval(7, at: Self.at)).first)
        #expect(s.setRtdInterval(60, at: Self.at).actions.isEmpty)  // queued behind
        #expect(s.queuedCommands == 1)
        let next = sentSegments(s.received(answer("9011", to: first, [[Field("QnRtn", "2")]]), at: Self.at + 10))
        #expect(next.map(\.cn) == ["1062"])
        #expect(next.first?.qn != first.qn)
        #expect(state.completedCommands.first?.outcome == .rejected)
        #expect(state.completedCommands.first?.qnRtn == 2)
    }

    @Test("2012 is a notification: it waits for 9013")
    func notification() throws {
        let state = try newState()
        var s = commandSession(state)
        let stop = try #require(sentSegments(s.send(command: "2012", cp: [], at: Self.at)).first)
        #expect(s.received(answer("9013", to: stop), at: Self.at + 50).actions.isEmpty)
        #expect(state.completedCommands.first?.outcome == .acknowledged)
        #expect(state.completedCommands.first?.succeeded == true)
    }

    @Test("a command before the logger is known waits for its first packet, or expires")
    func waitsForIdentity() throws {
        let state = try newState()
        var s = session(state)
        #expect(s.setRtdInterval(30, at: Self.at).actions.isEmpty)
        let actions = sentSegments(s.received(PlatformVectors.wire("A14"), at: Self.at + 5))
        #expect(actions.map(\.cn) == ["9014", "1062"])
        #expect(actions.last?.mn == mn)

        var lonely = session(try newState())
        _ = lonely.setRtdInterval(30, at: Self.at)
        #expect(lonely.nextDeadline == Self.at + 120_000)
        _ = lonely.tick(at: Self.at + 120_000)
        #expect(lonely.completedCommands.first?.outcome == .expired)
    }

    @Test("initialise sends 1012, 1000, 1062, 1064, 2011, 2021 in order, one at a time")
    func initialise() throws {
        let state = try newState()
        var s = commandSession(state) { $0.initialise = .everyConnection }
        var clock = Self.at
        var actions = s.connected(at: clock)
        var order: [String] = []
        var cps: [String] = []
        for step in 0..<6 {
            let requests = sentSegments(actions)
            try #require(requests.count == 1, "step \(step): \(requests.map { $0.cn ?? "?" })")
            let request = requests[0]
            order.append(request.cn ?? "")
            cps.append(request.cpText)
            #expect(request.header("Flag") == "5")
            clock += 200
            #expect(s.received(answer("9011", to: request, [[Field("QnRtn", "1")]]), at: clock).actions.isEmpty)
            clock += 200
            if step == 3 {
                // 1064 runs into its execution timeout; the next command still follows.
                actions = s.tick(at: clock + 60_000)
                clock += 60_000
                #expect(state.completedCommands.last?.outcome == .executionTimeout)
            } else {
                actions = s.received(answer("9012", to: request, [[Field("ExeRtn", "1")]]), at: clock)
            }
        }
        #expect(sent(actions).isEmpty)
        #expect(order == ["1012", "1000", "1062", "1064", "2011", "2021"])
        #expect(cps == ["SystemTime=20160801085857", "OverTime=10;ReCount=3", "RtdInterval=30", "MinInterval=10", "", ""])
        #expect(state.completedCommands.count == 6)
        #expect(state.isInitialised(mn))
    }

    @Test("initialise on first contact: the first packet of a new MN, once per platform")
    func initialiseFirstContact() throws {
        let state = try newState()
        var s = session(state) { $0.initialise = .firstContact }
        #expect(s.connected(at: Self.at).actions.isEmpty)
        let first = sentSegments(s.received(PlatformVectors.wire("A14"), at: Self.at + 1))
        #expect(first.map(\.cn) == ["9014", "1012"])
        var again = session(state) { $0.initialise = .firstContact }
        #expect(sentSegments(again.received(PlatformVectors.wire("A16"), at: Self.at + 2)).map(\.cn) == ["9014"])
    }

    @Test("disconnecting ends the command in flight and queued ones")
    func disconnect() throws {
        let state = try newState()
        var s = commandSession(state)
        _ = s.setRtdInterval(30, at: Self.at)
        _ = s.setMinInterval(10, at: Self.at)
        s.disconnected(at: Self.at + 5)
        #expect(state.completedCommands.map(\.outcome) == [.disconnected, .disconnected])
        #expect(s.nextDeadline == nil)
        #expect(s.received(PlatformVectors.wire("A14"), at: Self.at + 6).actions.isEmpty)
    }

    @Test("an idle connection is closed after idleTimeout")
    func idle() throws {
        var s = session(try newState()) { $0.idleTimeout = 60_000 }
        _ = s.connected(at: Self.at)
        #expect(s.nextDeadline == Self.at + 60_000)
        _ = s.received(PlatformVectors.wire("A14"), at: Self.at + 30_000)
        #expect(s.tick(at: Self.at + 60_000).actions.isEmpty)
        #expect(s.tick(at: Self.at + 90_000).actions == [.close(reason: "idle for 60 s")])
        #expect(s.isClosed)
    }
}

// MARK: - Completeness

@Suite("Platform completeness")
struct PlatformCompletenessTests {
    @Test("2061 for hours 0-23 except 5 and 6: one gap 05:00-06:00")
    func hourlyGap() throws {
        let state = try newState()
        var s = session(state)
        for hour in 0..<24 where hour != 5 && hour != 6 {
            let h = hour < 10 ? "0\(hour)" : "\(hour)"
            _ = s.received(upload("2061", dataTime: "20160801\(h)0000", flag: 4), at: t("20160801\(h)0500"))
        }
        _ = s.received(upload("2061", dataTime: "20160801030000", qn: "20160801040000002", flag: 4), at: t("20160801235900"))
        let from = t("20160801000000"), to = t("20160801230000")
        #expect(state.gaps(mn: mn, cn: "2061", from: from, to: to) == [t("20160801050000")...t("20160801060000")])
        let summary = try #require(state.completeness(mn: mn, cn: "2061", from: from, to: to))
        #expect(summary.expected == 24)
        #expect(summary.received == 22)
        #expect(summary.missing == 2)
        #expect(summary.duplicates == 1)
        // A range that ends in the gap, and one past the data.
        #expect(state.gaps(mn: mn, cn: "2061", from: t("20160801040000"), to: t("20160801053000")) == [t("20160801050000")...t("20160801050000")])
        #expect(state.gaps(mn: mn, cn: "2061", from: t("20160801220000"), to: t("20160802013000"))
                == [t("20160802000000")...t("20160802010000")])
        let unit = try #require(state.summary(mn: mn, from: from, to: to))
        #expect(unit.byCN["2061"]?.missing == 2)
        #expect(unit.byCN["2031"]?.expected == 1 && unit.byCN["2031"]?.missing == 1)
        #expect(unit.byCN["2051"]?.expected == 24 * 6 - 5)
    }

    @Test("2051 MinInterval is learned from the DataTime spacing; a 1063 answer overrides it")
    func minInterval() throws {
        let state = try newState()
        var s = session(state)
        for minute in stride(from: 0, to: 60, by: 5) where minute != 20 {
            let m = minute < 10 ? "0\(minute)" : "\(minute)"
            _ = s.received(upload("2051", dataTime: "2016080100\(m)00", flag: 4), at: now)
        }
        #expect(state.unit(mn)?.minInterval == 5)
        #expect(state.unit(mn)?.minIntervalSource == .learned)
        #expect(state.gaps(mn: mn, cn: "2051", from: t("20160801000000"), to: t("20160801010000"))
                == [t("20160801002000")...t("20160801002000"), t("20160801010000")...t("20160801010000")])
        // 1063 answer (C.7 form: request QN, Flag=4).
        _ = s.received(wire("QN=20160801085857223;ST=32;CN=1063;PW=123456;MN=\(mn);Flag=4;CP=&&MinInterval=10&&"), at: now)
        #expect(state.unit(mn)?.minInterval == 10)
        #expect(state.unit(mn)?.minIntervalSource == .reported)
        #expect(state.completeness(mn: mn, cn: "2051", from: t("20160801000000"), to: t("20160801005000"))?.offGrid == 5)
    }

    @Test("the DataTime log keeps a window behind the newest DataTime and a capacity")
    func boundedLog() {
        var log = DataTimeLog(window: 8 * Completeness.day, capacity: 5)
        let day0 = t("20160801000000")
        #expect(log.insert(day0) == .new)
        #expect(log.insert(day0) == .duplicate)
        #expect(log.insert(day0 + 8 * Completeness.day) == .new)
        #expect(log.times.count == 2)  // within the pruning slack (an eighth of the window)
        #expect(log.insert(day0 + 10 * Completeness.day) == .new)
        #expect(log.times == [day0 + 8 * Completeness.day, day0 + 10 * Completeness.day])
        #expect(log.insert(day0 + Completeness.day) == .outsideWindow)
        for d in 11...16 { log.insert(day0 + SessionTime(d) * Completeness.day) }
        #expect(log.times.count == 5)
        #expect(log.oldest == day0 + 12 * Completeness.day)
        #expect(log.dropped == 5)  // day0 pruned, day1 refused, days 8, 10, 11 over capacity
    }
}

// MARK: - Misbehaviour

@Suite("Platform misbehaviour switches")
struct PlatformMisbehaviourTests {
    private func ack(_ configure: (inout PlatformSession.Options) -> Void, registry: Registry? = nil, input: [UInt8] = PlatformVectors.wire("A14"))
        throws -> [PlatformOutput]
    {
        var s = session(try newState(registry: registry), configure)
        return s.received(input, at: now)
    }

    @Test("off by default: the 9014 is A15")
    func baseline() throws {
        #expect(try ack { _ in }.actions == [.send(PlatformVectors.wire("A15"))])
    }

    @Test("ackWrongST echoes ST=32")
    func wrongST() throws {
        let acks = sentSegments(try ack { $0.misbehaviour = .ackWrongST })
        #expect(acks.first?.st == "32")
        #expect(acks.first?.qn == "20160801085857223")
    }

    @Test("noQNEcho sends a fresh QN")
    func noQNEcho() throws {
        let acks = sentSegments(try ack { $0.misbehaviour = .noQNEcho })
        let qn = try #require(acks.first?.qn)
        #expect(qn != "20160801085857223")
        #expect(HJTime(qn, allowMilliseconds: true) != nil && qn.count == 17)
        #expect(acks.first?.header.first?.name == "QN")
    }

    @Test("modbusCRC frames the ack with byte-swapped CRC-16/MODBUS")
    func modbusCRC() throws {
        let bytes = try #require(sent(try ack { $0.misbehaviour = .modbusCRC }).first)
        let segment = PlatformVectors.segmentText("A15")
        #expect(bytes == wire(segment, crcStyle: .modbusSwapped))
        #expect(bytes != PlatformVectors.wire("A15"))
    }

    @Test("acknowledgeBadCRC acknowledges a corrupted frame")
    func acknowledgeBadCRC() throws {
        let corrupted = Array((PlatformVectors.frame("A14").replacingOccurrences(of: "&&6E80", with: "&&6E81") + "\r\n").utf8)
        #expect(try ack({ _ in }, input: corrupted).actions.isEmpty)
        #expect(try ack({ $0.misbehaviour = .acknowledgeBadCRC }, input: corrupted).actions == [.send(PlatformVectors.wire("A15"))])
    }

    @Test("acceptUnknownMN acknowledges an unregistered MN")
    func acceptUnknownMN() throws {
        let registry = Registry([Registry.Entry(mn: "81733553213013", pw: "123456")])
        #expect(try ack({ _ in }, registry: registry).actions.isEmpty)
        #expect(try ack({ $0.misbehaviour = .acceptUnknownMN }, registry: registry).actions == [.send(PlatformVectors.wire("A15"))])
    }

    @Test("ackEvenWithoutFlagA acknowledges Flag=4 uploads")
    func ackWithoutFlagA() throws {
        let flag4 = wire(PlatformVectors.segmentText("A14").replacingOccurrences(of: "Flag=5", with: "Flag=4"))
        #expect(try ack({ _ in }, input: flag4).actions.isEmpty)
        #expect(try ack({ $0.misbehaviour = .ackEvenWithoutFlagA }, input: flag4).actions == [.send(PlatformVectors.wire("A15"))])
    }

    @Test("nonEmptyAckCP puts QnRtn=1 in the 9014's CP")
    func nonEmptyCP() throws {
        let bytes = try #require(sent(try ack { $0.misbehaviour = .nonEmptyAckCP }).first)
        #expect(text(bytes).contains(";Flag=4;CP=&&QnRtn=1&&"))
    }

    @Test("ackDelay holds the ack until tick reaches its deadline")
    func ackDelay() throws {
        var s = session(try newState()) { $0.ackDelay = 5_000 }
        #expect(s.received(PlatformVectors.wire("A14"), at: now).actions.isEmpty)
        #expect(s.nextDeadline == now + 5_000)
        #expect(s.tick(at: now + 4_999).actions.isEmpty)
        #expect(s.tick(at: now + 5_000).actions == [.send(PlatformVectors.wire("A15"))])
    }

    @Test("switches combine")
    func combined() throws {
        let acks = sentSegments(try ack { $0.misbehaviour = [.ackWrongST, .nonEmptyAckCP] })
        #expect(acks.first?.st == "32")
        #expect(acks.first?.cpText == "QnRtn=1")
    }
}

@Suite("PlatformSession acknowledgement bytes")
struct PlatformAckBytesTests {
    /// The 9014/9013 written straight to bytes equal the ones built from `replySegment`.
    @Test("the fast acknowledgement equals the reply segment, for 2017 and 2025 uploads and a 1013")
    func sameBytes() throws {
        let state = try PlatformState()
        var session = PlatformSession(state: state, peer: "test")
        _ = session.connected(at: 1_000)
        let packets = [
            "QN=20160801085857223;ST=32;CN=2011;PW=123456;MN=010000A8900016F000169DC0;Flag=5;CP=&&DataTime=20160801085857;w01018-Rtd=2.2,w01018-Flag=N&&",
            "QN=20260801085857223;ST=31;CN=2011;PW=654321;MN=010000A8900016F000169DC1;Flag=9;CP=&&DataTime=20260801085857;a21026-Rtd=12.5,a21026-Flag=N&&",
            "QN=20160801085857224;ST=32;CN=1013;PW=123456;MN=010000A8900016F000169DC0;Flag=5;CP=&&&&",
        ]
        for (i, text) in packets.enumerated() {
            let request = SegmentParser.parse(Array(text.utf8)).segment
            let actions = session.received(FrameEncoder.frame(text), at: 2_000 + Int64(i))
            let sent = actions.compactMap { action -> [UInt8]? in if case .send(let b, _) = action { return b } else { return nil } }
            let cn = request.cn == "1013" ? "9013" : "9014"
            let version = request.flag?.version ?? 1
            #expect(sent.first == FrameEncoder.frame(replySegment(cn: cn, to: request, cp: [], version: version)), "\(text)")
        }
    }
}

// MARK: - Password brute force (issue 18)

@Suite("PlatformSession wrong-password limits")
struct BruteForceTests {
    static let registered = "654321"

    func guess(_ pw: String, qn: Int) -> [UInt8] {
        upload("2011", dataTime: "20160801085800", qn: String(20160801085857000 + qn), pw: pw)
    }

    @Test("a connection is closed after 3 wrong passwords, with one notice; nothing ever answers a guess")
    func perConnection() throws {
        let state = try newState(registry: Registry([Registry.Entry(mn: mn, pw: Self.registered)]))
        var s = session(state)
        var closes = 0
        var replies = 0
        for k in 0..<1_000 where !s.isClosed {
            for a in s.received(guess(String(format: "%06d", k), qn: k), at: now + Int64(k)).actions {
                if case .close = a { closes += 1 } else { replies += 1 }
            }
        }
        #expect(closes == 1 && replies == 0)
        #expect(state.counters.rejectedBadPW == 3 && state.counters.closedForWrongPW == 1)
        #expect(state.takeNotices().count == 1)
        #expect(!state.log.contains { $0.message.contains(Self.registered) }, "the registered password is never logged")
    }

    @Test("once the MN is locked, the right password on the guessing connection gets the same silence as a wrong one")
    func noOracleWhileLocked() throws {
        var limits = PlatformLimits()
        limits.maxWrongPasswordsPerMN = 2
        let state = try PlatformState(registry: Registry([Registry.Entry(mn: mn, pw: Self.registered)]), limits: limits)
        var first = session(state)
        #expect(first.received(guess("000000", qn: 1), at: now).actions.isEmpty)
        var s = session(state) { $0.maxWrongPasswordsPerConnection = 100 }
        #expect(s.received(guess(Self.registered, qn: 2), at: now).actions.map { _ in 1 }.count == 1, "not locked yet: acknowledged")
        var other = session(state) { $0.maxWrongPasswordsPerConnection = 100 }
        let locking = other.received(guess("111111", qn: 3), at: now)
        #expect(locking.contains { if case .close = $0 { true } else { false } }, "the locking attempt closes")
        var late = session(state)
        #expect(late.received(guess(Self.registered, qn: 4), at: now + 1).actions.isEmpty)
        #expect(state.counters.rejectedLocked == 1)
    }

    @Test("10 wrong passwords over many connections lock the MN: new connections get silence, the logger already accepted keeps its acks, the lock ends")
    func perMN() throws {
        var limits = PlatformLimits()
        limits.wrongPasswordLockout = 60_000
        let state = try PlatformState(registry: Registry([Registry.Entry(mn: mn, pw: Self.registered)]), limits: limits)
        var logger = session(state)
        #expect(sentSegments(logger.received(guess(Self.registered, qn: 0), at: now)).map(\.cn) == ["9014"])
        for k in 1...10 {
            var attacker = session(state)
            _ = attacker.received(guess(String(format: "%06d", k), qn: k), at: now + Int64(k))
        }
        #expect(state.lockedMNs(at: now + 20) == [mn])
        let notices = state.takeNotices()
        #expect(notices.contains { $0.contains("LOCKED") } && notices.count == 1, "\(notices)")
        var late = session(state)
        #expect(late.received(guess(Self.registered, qn: 20), at: now + 20).actions.isEmpty, "locked: no oracle for new connections")
        #expect(sentSegments(logger.received(guess(Self.registered, qn: 21), at: now + 21)).map(\.cn) == ["9014"])
        var wrong = session(state)
        #expect(wrong.received(guess("999999", qn: 22), at: now + 22).contains { if case .close = $0 { true } else { false } },
                "a wrong password during the lock closes at once")
        var after = session(state)
        #expect(sentSegments(after.received(guess(Self.registered, qn: 30), at: now + 61_000)).map(\.cn) == ["9014"], "the lock has ended")
    }
}

// MARK: - Budgets against hostile peers (issue 18)

@Suite("PlatformSession budgets")
struct SessionBudgetTests {
    static let at = t("20160801090000000")

    func part(qn: Int, pnum: Int, pno: Int, dataTime: String = "20160801080000", filler: Int = 800) -> [UInt8] {
        wire("QN=\(20160801085857000 + qn);ST=32;CN=2061;PW=123456;MN=\(mn);Flag=7;PNUM=\(pnum);PNO=\(pno);CP=&&DataTime=\(dataTime);w01018-Avg=\(String(repeating: "1", count: filler)),w01018-Flag=N&&")
    }

    @Test("PNUM=9999 is refused and not acknowledged; nothing is held")
    func hugePNUM() throws {
        let state = try newState()
        var s = session(state)
        for pno in 1...200 {
            #expect(s.received(part(qn: pno, pnum: 9999, pno: pno), at: Self.at).actions.isEmpty)
        }
        #expect(s.pendingSplitPackets == 0 && s.pendingSplitBytes == 0)
        #expect(state.counters.reassemblyRejected == 200 && state.counters.acks9014 == 0)
    }

    @Test("parts held per connection stay within the byte budget; a legal split record still reassembles")
    func connectionBudget() throws {
        let state = try newState()
        var s = session(state)
        // 100 records of 100 parts, never completed: without a budget, 10,000 parts held.
        for record in 0..<100 {
            for pno in 1...99 {
                _ = s.received(part(qn: record * 100 + pno, pnum: 100, pno: pno, dataTime: String(20160801000000 + record * 100)), at: Self.at)
                #expect(s.pendingSplitBytes <= SplitBudget().maxBytesPerConnection)
                #expect(s.pendingSplitPackets <= SplitBudget().maxPartsPerConnection)
            }
        }
        #expect(state.counters.reassemblyDropped > 0)
        // A whole record of 3 parts after the flood.
        var acks = 0
        for pno in 1...3 { acks += sentSegments(s.received(part(qn: 50_000 + pno, pnum: 3, pno: pno, dataTime: "20160801070000"), at: Self.at)).count }
        #expect(acks == 3 && state.counters.reassembled == 1)
    }

    @Test("over the parts budget the record idle longest goes, not the one a part just came for (which is acknowledged and completes)")
    func budgetEvictsTheIdlest() throws {
        let state = try newState()
        var s = session(state) { $0.splitBudget.maxPartsPerConnection = 4 }
        func send(_ qn: Int, pnum: Int, pno: Int, hour: String) -> [String] {
            sentSegments(s.received(part(qn: qn, pnum: pnum, pno: pno, dataTime: "20160801\(hour)0000", filler: 10), at: Self.at)).compactMap(\.cn)
        }
        #expect(send(1, pnum: 3, pno: 1, hour: "01") == ["9014"])  // record A
        for pno in 1...3 { #expect(send(10 + pno, pnum: 5, pno: pno, hour: "02") == ["9014"]) }  // record B
        // A's second part: five parts held, over the budget of four. B, idle since, is dropped; A goes on.
        #expect(send(2, pnum: 3, pno: 2, hour: "01") == ["9014"])
        #expect(s.pendingSplitPackets <= 4)
        #expect(send(3, pnum: 3, pno: 3, hour: "01") == ["9014"])
        #expect(state.counters.reassembled == 1, "record A, whose parts were all acknowledged, is whole")
        #expect(state.counters.reassemblyDropped == 1, "record B")
        // A record alone over the connection's budget goes with the part that took it over, unacknowledged.
        var small = session(state) { $0.splitBudget.maxPartsPerConnection = 2 }
        for pno in 1...3 {
            let answer = sentSegments(small.received(part(qn: 40 + pno, pnum: 5, pno: pno, filler: 10), at: Self.at)).compactMap(\.cn)
            #expect(answer == (pno < 3 ? ["9014"] : []), "part \(pno)")
        }
        #expect(small.pendingSplitPackets == 0)
    }

    @Test("a peer dripping bytes that never make a frame is closed at the idle timeout (slowloris)")
    func slowloris() throws {
        var s = session(try newState()) { $0.idleTimeout = 60_000 }
        _ = s.connected(at: Self.at)
        let frame = PlatformVectors.wire("A14")
        var closed = false
        for k in 0..<20 where !closed {
            let now = Self.at + Int64(k) * 10_000
            _ = s.received([frame[k]], at: now)
            closed = s.tick(at: now).contains { if case .close = $0 { true } else { false } }
        }
        #expect(closed, "closed after 60 s although a byte came every 10 s")
        #expect(s.isClosed)
    }

    @Test("the default idle timeout is a few 10-minute intervals, not hours")
    func defaultIdle() {
        let idle = PlatformSession.Options().idleTimeout
        #expect(idle != nil && idle! <= 3_600_000 && idle! >= 1_200_000)
    }
}
