import HJ212
import HJSimulation
import Testing
@testable import HJRoles

/// A logger session driven in virtual time; what it sends is decoded with the codec.
struct LoggerHarness {
    let device: LoggerDevice
    var session: LoggerSession
    var now: SessionTime
    var closed: String?
    /// Every output of the session so far, in order (events included).
    var outputs: [LoggerOutput] = []
    /// The injected faults reported so far.
    var faults: [FaultRecord] { outputs.compactMap { if case .faultInjected(let r) = $0 { r } else { nil } } }

    static let mn = "010000A8900016F000169DC0"
    static let start = HJTime(year: 2016, month: 8, day: 1).wallMilliseconds

    init(options: LoggerSession.Options = LoggerSession.Options()) throws {
        let template = try UnitTemplate.load("industrial-wastewater")
        var t = template
        t.operationStartHour = 0
        t.operationEndHour = 24
        let sim = try UnitSimulator(template: t, identity: LoggerIdentity(mn: Self.mn, pw: "123456"), seed: 5, start: Self.start)
        device = LoggerDevice(simulator: sim)
        session = LoggerSession(device: device, options: options)
        now = Self.start
    }

    static func decode<O: SessionOutput>(_ outputs: [O]) -> [DataSegment] {
        var out: [DataSegment] = []
        for case .send(let bytes) in outputs.actions {
            var d = FrameDecoder()
            d.feed(bytes)
            while case .frame(let f)? = d.next() {
                #expect(CRC.parseHex(f.crcBytes) == CRC.hj212(f.segmentBytes))
                out.append(SegmentParser.parse(f.segmentBytes).segment)
            }
        }
        return out
    }

    /// Keeps the outputs, notes a close, and decodes what was sent.
    mutating func take(_ out: [LoggerOutput]) -> [DataSegment] {
        outputs += out
        for case .close(let reason) in out { closed = reason }
        return Self.decode(out)
    }

    mutating func connect() -> [DataSegment] { take(session.connected(at: now)) }

    /// Advances the device and the session; collects what is sent.
    mutating func run(for ms: SessionTime) -> [DataSegment] {
        now += ms
        device.advance(to: now)
        return take(session.tick(at: now))
    }

    mutating func receive(_ segment: DataSegment) -> [DataSegment] {
        take(session.received(FrameEncoder.frame(segment), at: now))
    }

    mutating func receive(text: String) -> [DataSegment] {
        take(session.received(FrameEncoder.frame(text), at: now))
    }

    /// Acknowledges every upload in `segments` that asks for it, and whatever the logger sends
    /// in turn (it keeps at most `maxInFlight` unacknowledged); returns what it sent meanwhile.
    mutating func ack(_ segments: [DataSegment]) -> [DataSegment] {
        var all: [DataSegment] = []
        var pending = segments
        while !pending.isEmpty {
            var next: [DataSegment] = []
            for s in pending where s.flag?.needsAck == true && s.st != "91" {
                next += receive(replySegment(cn: "9014", to: s, cp: []))
            }
            all += next
            pending = next
        }
        return all
    }

    static func request(_ cn: String, _ cp: String, qn: String = "20160801085857223", pw: String = "123456", mn: String = mn, st: String = "32", flag: String = "5") -> String {
        "QN=\(qn);ST=\(st);CN=\(cn);PW=\(pw);MN=\(mn);Flag=\(flag);CP=&&\(cp)&&"
    }
}

@Suite("LoggerSession (field side, virtual time)")
struct LoggerSessionTests {
    @Test("after connecting the logger sends 2081 first, uploads ask for 9014, and acknowledged packets are done")
    func uploadsAndAcks() throws {
        var h = try LoggerHarness()
        h.device.advance(to: h.now)
        let first = h.connect()
        #expect(first.first?.cn == "2081")
        #expect(first.allSatisfy { $0.flag?.rawValue == 5 && $0.mn == LoggerHarness.mn })
        var sent = first
        sent += h.ack(first)
        for _ in 0..<10 {
            let batch = h.run(for: 60_000)
            sent += batch
            sent += h.ack(batch)
        }
        #expect(sent.filter { $0.cn == "2011" }.count == 20)
        #expect(sent.filter { $0.cn == "2051" }.count == 1)
        #expect(h.session.pendingCount == 0)
        #expect(h.session.statistics.acknowledged == sent.count)
        #expect(h.session.statistics.resent == 0)
    }

    @Test("without 9014 the same frame is resent after OverTime, ReCount times, then the link is closed")
    func resends() throws {
        var h = try LoggerHarness()
        h.device.advance(to: h.now)
        let first = h.connect()
        let boot = try #require(first.first)
        var resent: [DataSegment] = []
        for _ in 0..<5 { resent += h.run(for: 10_000).filter { $0.cn == "2081" } }
        #expect(resent.count == 3)
        #expect(resent.allSatisfy { $0.serialized() == boot.serialized() })  // same QN, same bytes
        #expect(h.closed?.contains("no 9014") == true)
    }

    @Test("what was not acknowledged is sent again after reconnecting, in order, before newer data")
    func backfill() throws {
        var h = try LoggerHarness()
        h.device.advance(to: h.now)
        _ = h.ack(h.connect())
        let lost = h.run(for: 60_000)  // sent, never acknowledged
        #expect(!lost.isEmpty)
        h.session.disconnected(at: h.now)
        _ = h.run(for: 3_600_000)  // an hour offline
        let resumed = h.connect()
        #expect(Array(resumed.prefix(lost.count)).map { $0.serialized() } == lost.map { $0.serialized() })
        var all = resumed
        all += h.ack(resumed)
        #expect(h.session.pendingCount == 0)
        #expect(all.filter { $0.cn == "2061" }.count == 1)
        #expect(all.filter { $0.cn == "2011" }.count == 2 + 120)
        #expect(h.session.statistics.backfilled > 100)
        let times = all.compactMap { $0.qn }
        #expect(times == times.sorted(), "backfill keeps the order")
    }

    @Test("an upload in flight at a disconnect counts once in sent and once in resent: after the backfill, sent = acknowledged")
    func inFlightAtDisconnectCountsOnce() throws {
        var h = try LoggerHarness()
        h.device.advance(to: h.now)
        _ = h.ack(h.connect())
        let before = h.session.statistics
        #expect(before.sent == before.acknowledged)
        let lost = h.run(for: 30_000).filter { $0.flag?.needsAck == true }  // sent, then the link drops at once
        #expect(!lost.isEmpty)
        #expect(h.session.statistics.sent == before.sent + lost.count)
        h.session.disconnected(at: h.now)
        #expect(h.session.statistics.sent == before.sent, "the packets in flight will be sent again: counted once")
        #expect(h.session.statistics.resent == before.resent + lost.count)
        let resumed = h.connect()
        _ = h.ack(resumed)
        let after = h.session.statistics
        #expect(h.session.pendingCount == 0)
        #expect(after.sent == after.acknowledged, "sent \(after.sent), acknowledged \(after.acknowledged)")
        #expect(after.resent == before.resent + lost.count)
    }

    @Test("1000, 1011, 1061, 1064 are answered with 9011, the data, and 9012, echoing the request QN")
    func parameterCommands() throws {
        var h = try LoggerHarness()
        _ = h.connect()
        var r = h.receive(text: LoggerHarness.request("1000", "OverTime=5;ReCount=3"))
        #expect(r.map { $0.cn } == ["9011", "9012"])
        #expect(r.allSatisfy { $0.qn == "20160801085857223" && $0.st == "91" && $0.flag?.rawValue == 4 })
        #expect(r[0].cpValue("QnRtn") == "1" && r[1].cpValue("ExeRtn") == "1")
        #expect(h.device.overTimeMs == 5000)
        r = h.receive(text: LoggerHarness.request("1011", "PolId=w01018", qn: "20160801085857224"))
        #expect(r.map { $0.cn } == ["9011", "1011", "9012"])
        #expect(r[1].cpValue("PolId") == "w01018" && r[1].cpValue("SystemTime") == "20160801000000" && r[1].flag?.needsAck == false)
        r = h.receive(text: LoggerHarness.request("1061", "", qn: "20160801085857225"))
        #expect(r[1].cn == "1061" && r[1].cpValue("RtdInterval") == "30")
        r = h.receive(text: LoggerHarness.request("1064", "MinInterval=7", qn: "20160801085857226"))
        #expect(r.last?.cpValue("ExeRtn") == "3")
        r = h.receive(text: LoggerHarness.request("1064", "MinInterval=5", qn: "20160801085857227"))
        #expect(r.last?.cpValue("ExeRtn") == "1")
        r = h.receive(text: LoggerHarness.request("1012", "SystemTime=20160801010000", qn: "20160801085857228"))
        #expect(r.last?.cpValue("ExeRtn") == "1")
        r = h.receive(text: LoggerHarness.request("1011", "", qn: "20160801085857229"))
        #expect(r[1].cpValue("SystemTime") == "20160801010000")
    }

    @Test("1062 changes the real-time cadence; 2012 stops real-time data and is answered with 9013")
    func cadence() throws {
        var h = try LoggerHarness()
        _ = h.ack(h.connect())
        _ = h.ack(h.receive(text: LoggerHarness.request("1062", "RtdInterval=60")))
        var sent = h.run(for: 600_000)
        sent += h.ack(sent)
        #expect(sent.filter { $0.cn == "2011" }.count == 10)
        let stop = h.receive(text: LoggerHarness.request("2012", "", qn: "20160801085857300"))
        #expect(stop.map { $0.cn } == ["9013"])
        sent = h.run(for: 600_000)
        sent += h.ack(sent)
        #expect(sent.filter { $0.cn == "2011" }.isEmpty)
        _ = h.ack(h.receive(text: LoggerHarness.request("2011", "", qn: "20160801085857301")))
        sent = h.run(for: 120_000)
        #expect(sent.filter { $0.cn == "2011" }.count == 2)
    }

    @Test("requests are checked in the order of §6.7 and answered with the matching QnRtn")
    func rejections() throws {
        var h = try LoggerHarness()
        _ = h.connect()
        let cases: [(String, Int)] = [
            (LoggerHarness.request("1061", "", qn: "2016080108585722"), 7),
            (LoggerHarness.request("1061", "", st: "31"), 5),
            (LoggerHarness.request("9021", ""), 8),
            (LoggerHarness.request("1061", "", pw: "000000"), 3),
            (LoggerHarness.request("1061", "", mn: "010000A8900016F000169DC1"), 4),
            (LoggerHarness.request("1061", "", flag: "1"), 6),
        ]
        for (text, code) in cases {
            let r = h.receive(text: text)
            #expect(r.map { $0.cn } == ["9011"], "\(text)")
            #expect(r.first?.cpValue("QnRtn") == String(code), "\(text)")
        }
        #expect(h.session.statistics.requestsRejected == 6)
    }

    @Test("a request with a bad CRC is ignored, or answered QnRtn 9 when configured")
    func badCRC() throws {
        for answer in [false, true] {
            var options = LoggerSession.Options()
            options.answerBadCRC = answer
            var h = try LoggerHarness(options: options)
            _ = h.connect()
            var bytes = FrameEncoder.frame(LoggerHarness.request("1061", ""))
            bytes[bytes.count - 3] = bytes[bytes.count - 3] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
            let r = LoggerHarness.decode(h.session.received(bytes, at: h.now))
            #expect(r.map { $0.cpValue("QnRtn") } == (answer ? ["9"] : []))
        }
    }

    @Test("1072 changes the password: later packets carry it and the old one is refused")
    func password() throws {
        var h = try LoggerHarness()
        _ = h.ack(h.connect())
        let r = h.receive(text: LoggerHarness.request("1072", "NewPW=654321"))
        #expect(r.map { $0.cn } == ["9011", "9012"])
        #expect(r.allSatisfy { $0.pw == "123456" })
        let sent = h.run(for: 60_000)
        #expect(!sent.isEmpty && sent.allSatisfy { $0.pw == "654321" })
        #expect(h.receive(text: LoggerHarness.request("1061", "", qn: "20160801085857400")).first?.cpValue("QnRtn") == "3")
        #expect(h.receive(text: LoggerHarness.request("1061", "", qn: "20160801085857401", pw: "654321")).first?.cpValue("QnRtn") == "1")
    }

    @Test("history: one record per packet with a new QN, each waiting for 9014, then 9012; empty range gives ExeRtn 100")
    func history() throws {
        var h = try LoggerHarness()
        _ = h.ack(h.connect())
        for _ in 0..<4 { _ = h.ack(h.run(for: 3_600_000)) }
        var r = h.receive(text: LoggerHarness.request("2061", "BeginTime=20160801010000;EndTime=20160801020000"))
        #expect(r.map { $0.cn } == ["9011", "2061"])
        let first = r[1]
        #expect(first.cpValue("DataTime") == "20160801010000")
        #expect(first.qn != "20160801085857223" && first.flag?.needsAck == true)
        // Nothing more until the 9014 of that record.
        #expect(h.run(for: 0).filter { $0.cn == "2061" }.isEmpty)
        r = h.receive(replySegment(cn: "9014", to: first, cp: []))
        #expect(r.map { $0.cn } == ["2061"])
        #expect(r[0].cpValue("DataTime") == "20160801020000")
        r = h.receive(replySegment(cn: "9014", to: r[0], cp: []))
        #expect(r.map { $0.cn } == ["9012"])
        #expect(r[0].cpValue("ExeRtn") == "1" && r[0].qn == "20160801085857223")
        // Minute history accepts ',' between the times too.
        r = h.receive(text: LoggerHarness.request("2051", "BeginTime=20160801011000,EndTime=20160801011000", qn: "20160801085857500"))
        #expect(r.map { $0.cn } == ["9011", "2051"])
        _ = h.receive(replySegment(cn: "9014", to: r[1], cp: []))
        r = h.receive(text: LoggerHarness.request("2031", "BeginTime=20150101000000;EndTime=20150102000000", qn: "20160801085857600"))
        #expect(r.map { $0.cn } == ["9011", "9012"])
        #expect(r[1].cpValue("ExeRtn") == "100")
    }

    @Test("3021 sets a parameter whose value shows in later 3020 uploads and in a 3020 request")
    func parameters() throws {
        var h = try LoggerHarness()
        _ = h.ack(h.connect())
        var r = h.receive(text: LoggerHarness.request("3021", "PolId=w01018;InfoId=i13004;i13004-Info=168.0"))
        #expect(r.map { $0.cn } == ["9011", "9012"] && r[1].cpValue("ExeRtn") == "1")
        let later = h.run(for: 3_600_000)
        let info = later.filter { $0.cn == "3020" && $0.cpValue("PolId") == "w01018" && $0.cpValue("i13004-Info") != nil }
        #expect(!info.isEmpty)
        #expect(info.allSatisfy { $0.cpValue("i13004-Info") == "168.0" })
        r = h.receive(text: LoggerHarness.request("3020", "PolId=w01018;InfoId=i13004", qn: "20160801085857700"))
        #expect(r.map { $0.cn } == ["9011", "3020", "9012"])
        #expect(r[1].cpValue("i13004-Info") == "168.0" && r[1].qn == "20160801085857700")
    }

    @Test("bytes arriving one at a time are handled the same")
    func byteByByte() throws {
        var h = try LoggerHarness()
        _ = h.connect()
        var out: [LoggerOutput] = []
        for b in FrameEncoder.frame(LoggerHarness.request("1061", "")) { out += h.session.received([b], at: h.now) }
        #expect(LoggerHarness.decode(out).map { $0.cn } == ["9011", "1061", "9012"])
    }

    @Test("two platforms are independent: acknowledgements on one do not clear the other")
    func twoPlatforms() throws {
        var h = try LoggerHarness()
        var city = LoggerSession(device: h.device)
        h.device.advance(to: h.now)
        _ = h.ack(h.connect())
        let citySent = LoggerHarness.decode(city.connected(at: h.now))
        #expect(citySent.first?.cn == "2081")
        #expect(h.session.pendingCount == 0)
        #expect(city.pendingCount > 0)
    }
}

@Suite("LoggerSession: the fast path for plain acknowledgements")
struct PlainAckTests {
    static func raw(_ segment: String, crc: FrameEncoder.CRCStyle = .standard) throws -> RawFrame {
        var decoder = FrameDecoder()
        decoder.feed(FrameEncoder.frame(segment, crcStyle: crc))
        guard case .frame(let f)? = decoder.finish().first else { throw DecodeFailure() }
        return f
    }
    struct DecodeFailure: Error {}

    @Test("a plain 9014 gives its QN; anything unusual takes the full path (nil)")
    func plain() throws {
        let ack = "QN=20160801085857223;ST=91;CN=9014;PW=123456;MN=010000A8900016F000169DC0;Flag=4;CP=&&&&"
        #expect(LoggerSession.plainAckQN(try Self.raw(ack)) == "20160801085857223")
        // A MODBUS CRC, a non-empty CP, another CN, the 2005 form (QN in CP), a request: full path.
        #expect(LoggerSession.plainAckQN(try Self.raw(ack, crc: .modbusSwapped)) == nil)
        #expect(LoggerSession.plainAckQN(try Self.raw(ack.replacingOccurrences(of: "CP=&&&&", with: "CP=&&QnRtn=1&&"))) == nil)
        #expect(LoggerSession.plainAckQN(try Self.raw(ack.replacingOccurrences(of: "CN=9014", with: "CN=9013"))) == nil)
        #expect(LoggerSession.plainAckQN(try Self.raw("ST=91;CN=9014;PW=123456;MN=01000000000001;CP=&&QN=20160801085857223;CN=2011&&")) == nil)
        #expect(LoggerSession.plainAckQN(try Self.raw("QN=20160801085857223;ST=32;CN=1011;PW=123456;MN=010000A8900016F000169DC0;Flag=5;CP=&&&&")) == nil)
        #expect(LoggerSession.plainAckQN(try Self.raw("QN=;ST=91;CN=9014;PW=123456;MN=010000A8900016F000169DC0;Flag=4;CP=&&&&")) == nil)
    }
}
