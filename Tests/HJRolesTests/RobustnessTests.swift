import HJ212
import HJSimulation
import Testing
@testable import HJRoles

/// Defects found in review, kept fixed.
@Suite("Roles: robustness against peers and interval changes")
struct RobustnessTests {
    @Test("a logger reporting an absurd MinInterval cannot crash the platform or its report")
    func absurdMinInterval() throws {
        let state = try PlatformState()
        var platform = PlatformSession(state: state, peer: "p")
        let t0 = LoggerHarness.start
        _ = platform.connected(at: t0)
        let upload = "QN=20160801000000001;ST=32;CN=2011;PW=123456;MN=\(LoggerHarness.mn);Flag=5;CP=&&DataTime=20160801000000;w01018-Rtd=1.0,w01018-Flag=N&&"
        _ = platform.received(FrameEncoder.frame(upload), at: t0)
        let answer = "QN=20160801000000002;ST=32;CN=1063;PW=123456;MN=\(LoggerHarness.mn);Flag=4;CP=&&MinInterval=999999999999999999&&"
        _ = platform.received(FrameEncoder.frame(answer), at: t0)
        let unit = try #require(state.unit(LoggerHarness.mn))
        #expect(unit.minInterval == nil || Completeness.validMinIntervals.contains(unit.minInterval!))
        #expect(state.summary(mn: LoggerHarness.mn, from: t0, to: t0 + 86_400_000) != nil)
        #expect(Completeness.interval(cn: "2051", minInterval: Int.max) == Optional(SessionTime(86_400_000)))
    }

    @Test("a repeated request is not executed twice and repeats its real outcome")
    func repeatedRequests() throws {
        var h = try LoggerHarness()
        _ = h.ack(h.connect())
        let bad = LoggerHarness.request("2061", "BeginTime=nonsense;EndTime=20160801020000")
        #expect(h.receive(text: bad).last?.cpValue("ExeRtn") == "3")
        let again = h.receive(text: bad)
        #expect(again.map { $0.cn } == ["9011", "9012"])
        #expect(again.last?.cpValue("ExeRtn") == "3")
        // While a history answer is being sent, a repeat gets only the 9011.
        for _ in 0..<3 { _ = h.ack(h.run(for: 3_600_000)) }
        let history = LoggerHarness.request("2061", "BeginTime=20160801000000;EndTime=20160801020000", qn: "20160801085857900")
        let first = h.receive(text: history)
        #expect(first.map { $0.cn } == ["9011", "2061"])
        #expect(h.receive(text: history).map { $0.cn } == ["9011"])
    }

    @Test("history records are resent ReCount times, not ReCount + 1")
    func historyResends() throws {
        var h = try LoggerHarness()
        _ = h.ack(h.connect())
        for _ in 0..<2 { _ = h.ack(h.run(for: 3_600_000)) }
        let r = h.receive(text: LoggerHarness.request("2061", "BeginTime=20160801000000;EndTime=20160801000000"))
        #expect(r.map { $0.cn } == ["9011", "2061"])
        var resent = 0
        for _ in 0..<6 { resent += h.run(for: 10_000).filter { $0.cn == "2061" && $0.qn == r[1].qn }.count }
        #expect(resent == 3)
    }

    @Test("split records are kept whole in the logger's history")
    func splitHistory() throws {
        let template = try UnitTemplate.load("hazardous-waste-incinerator")
        var t = template
        t.factors += t.workingCondition.map { var f = $0; f.zs = false; return f }  // make the hour record long
        t.workingCondition = []
        let sim = try UnitSimulator(template: t, identity: LoggerIdentity(mn: LoggerHarness.mn, pw: "123456"), seed: 2, start: LoggerHarness.start)
        let device = LoggerDevice(simulator: sim)
        device.advance(to: LoggerHarness.start + 3_600_000)
        let records = device.records(cn: "2061", from: LoggerHarness.start, to: LoggerHarness.start)
        #expect(records.count == 1)
        let record = try #require(records.first)
        #expect(record.pnum == nil && record.flag?.isSplit == false)
        for f in t.factors { #expect(record.cpValue("\(f.code)-Avg") != nil, "\(f.code)") }
    }

    @Test("1062 and 1064 take effect: any RtdInterval is honoured, a MinInterval change never repeats a DataTime")
    func intervalChanges() throws {
        var h = try LoggerHarness()
        _ = h.ack(h.connect())
        _ = h.ack(h.receive(text: LoggerHarness.request("1062", "RtdInterval=31")))
        var sent = h.run(for: 600_000)
        sent += h.ack(sent)
        let count = sent.filter { $0.cn == "2011" }.count
        #expect(count >= 18 && count <= 20, "\(count) real-time uploads in 10 minutes at 31 s")
        _ = h.ack(h.run(for: 120_000))  // now 00:12
        _ = h.ack(h.receive(text: LoggerHarness.request("1064", "MinInterval=15", qn: "20160801085857901")))
        var later = h.run(for: 20 * 60_000)  // to 00:32
        later += h.ack(later)
        let windows = later.filter { $0.cn == "2051" }.compactMap { $0.cpValue("DataTime") }
        #expect(windows == ["20160801001000", "20160801001500"], "\(windows)")
    }
}

@Suite("Roles: HJ/T 212-2005 peers")
struct Legacy2005Tests {
    @Test("a 2005 upload asking for an answer gets the 2005-form 9014; 2005 replies with QN in CP close commands")
    func legacyForms() throws {
        let state = try PlatformState()
        var platform = PlatformSession(state: state, peer: "p")
        let t0 = LoggerHarness.start
        _ = platform.connected(at: t0)
        let upload = "QN=20160801000000001;ST=32;CN=2051;PW=123456;MN=88888880000001;Flag=1;CP=&&DataTime=20160801000000;011-Avg=40.1,011-Flag=N&&"
        let acks = LoggerHarness.decode(platform.received(FrameEncoder.frame(upload), at: t0))
        let ack = try #require(acks.first { $0.cn == "9014" })
        #expect(ack.qn == nil && ack.cpValue("QN") == "20160801000000001" && ack.cpValue("CN") == "2051" && ack.flag?.rawValue == 0)
        // A command answered the 2005 way.
        let sent = LoggerHarness.decode(platform.send(command: "1061", cp: [], at: t0))
        let request = try #require(sent.first)
        let qn = try #require(request.qn)
        let r1 = "ST=91;CN=9011;PW=123456;MN=88888880000001;Flag=0;CP=&&QN=\(qn);QnRtn=1&&"
        let r2 = "ST=91;CN=9012;PW=123456;MN=88888880000001;CP=&&QN=\(qn);ExeRtn=1&&"
        _ = platform.received(FrameEncoder.frame(r1) + FrameEncoder.frame(r2), at: t0 + 500)
        let result = try #require(state.completedCommands.last)
        #expect(result.cn == "1061" && result.qnRtn == 1 && result.exeRtn == 1)
    }
}

@Suite("Roles: other vendors' platforms")
struct VendorPlatformTests {
    @Test("acknowledgements framed with a MODBUS CRC, with a CP, or the 2005 form still count; a corrupt one does not")
    func lenientAcks() throws {
        for style in ["modbus", "modbus-swapped", "cp", "2005", "corrupt"] {
            var h = try LoggerHarness()
            h.device.advance(to: h.now)
            let sent = h.connect()
            let upload = try #require(sent.first)
            var ack = replySegment(cn: "9014", to: upload, cp: style == "cp" ? [[Field("QnRtn", "1")]] : [])
            if style == "2005" {
                ack.header.removeAll { $0.name == "QN" }
                ack.cp = [[Field("QN", upload.qn!)], [Field("CN", upload.cn!)]]
            }
            var bytes: [UInt8]
            switch style {
            case "modbus": bytes = FrameEncoder.frame(ack, crcStyle: .modbus)
            case "modbus-swapped": bytes = FrameEncoder.frame(ack, crcStyle: .modbusSwapped)
            default: bytes = FrameEncoder.frame(ack)
            }
            if style == "corrupt" { bytes[bytes.count - 4] = bytes[bytes.count - 4] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0") }
            let before = h.session.statistics.acknowledged
            _ = h.session.received(bytes, at: h.now)
            #expect(h.session.statistics.acknowledged == before + (style == "corrupt" ? 0 : 1), "\(style)")
        }
    }
}

@Suite("Roles: faults on a live link")
struct LinkFaultTests {
    @Test("a link with faults sends the faulty frames and reports each injection")
    func faultyLink() throws {
        var options = LoggerSession.Options()
        options.faults = try FaultSpec.parseList("no-crlf,missing-record")
        var h = try LoggerHarness(options: options)
        h.device.advance(to: h.now)
        var raw: [UInt8] = []
        let out = h.session.connected(at: h.now)
        for case .send(let b, _) in out { raw += b }
        #expect(!raw.isEmpty && !raw.contains(0x0D))  // no CR LF anywhere
        let faults = out.compactMap { if case .faultInjected(let r) = $0 { r } else { nil } }
        #expect(!faults.isEmpty)
        #expect(faults.allSatisfy { $0.fault == "no-crlf" })
        // Records that are never sent are not waited for: with missing-record, an hour of
        // acknowledged traffic has no 2051/2061 and nothing pending.
        options.faults = try FaultSpec.parseList("missing-record")
        var m = try LoggerHarness(options: options)
        m.device.advance(to: m.now)
        var sent = m.connect()
        sent += m.ack(sent)
        let batch = m.run(for: 3_600_000)
        sent += batch + m.ack(batch)
        let cns = sent.compactMap(\.cn)
        #expect(cns.contains("2011"))
        #expect(!cns.contains("2051") && !cns.contains("2061"))
        #expect(m.session.pendingCount == 0)
        #expect(m.faults.contains { $0.fault == "missing-record" && $0.cn == "2061" })
        // A record the faults drop is not counted as sent: every upload counted went out and was acknowledged.
        #expect(m.session.statistics.sent == sent.count, "\(m.session.statistics) for \(sent.count) uploads on the wire")
        #expect(m.session.statistics.acknowledged == sent.count)
    }

    /// What a logger sent, as (CN, DataTime) in the order sent.
    static func records(_ segments: [DataSegment]) -> [String] { segments.map { "\($0.cn ?? "") \($0.cpValue("DataTime") ?? "")" } }

    @Test("out-of-order: a record held back when production ends goes out then (in order, so no truth line), and is pending until it does")
    func heldAtTheEnd() throws {
        func run(_ faults: String) throws -> (sent: [DataSegment], harness: LoggerHarness, pendingBeforeEnd: Int) {
            var options = LoggerSession.Options()
            options.faults = try FaultSpec.parseList(faults)
            var m = try LoggerHarness(options: options)
            m.device.advance(to: m.now)
            var sent = m.connect()
            sent += m.ack(sent)
            // Production ends at 01:00: the 01:00 packets are the last (2011, and the 2051 and 2061 of the hour before).
            let batch = m.run(for: 3_600_000)
            sent += batch + m.ack(batch)
            let pending = m.session.pendingCount
            let last = m.take(m.session.endProduction(at: m.now))
            sent += last + m.ack(last)
            return (sent, m, pending)
        }
        let clean = try run("")
        let held = try run("out-of-order@2016-08-01T01:00/1m")
        #expect(held.harness.faults.isEmpty, "\(held.harness.faults)")
        #expect(held.pendingBeforeEnd == 1, "the held record is pending")
        #expect(held.harness.session.pendingCount == 0)
        // Every record the device made went out once, the held one last.
        let a = Self.records(clean.sent), b = Self.records(held.sent)
        #expect(a.sorted() == b.sorted(), "\(a) against \(b)")
        #expect(a != b, "one record went out last")
        #expect(held.harness.session.statistics.sent == b.count)
    }
}
