import HJ212
import HJSimulation
import Testing
@testable import HJRoles

/// The typed outputs of the sessions, in order: what each input produces on the wire and as events.

private let mn = "010000A8900016F000169DC0"
private let at = HJTime(year: 2016, month: 8, day: 1, hour: 9).wallMilliseconds

private func frame(_ segment: String) -> [UInt8] { FrameEncoder.frame(segment) }

private func upload(qn: String, cn: String = "2011", flag: Int = 5, extra: String = "", cp: String = "DataTime=20160801085800;w01018-Rtd=2.2,w01018-Flag=N") -> [UInt8] {
    frame("QN=\(qn);ST=32;CN=\(cn);PW=123456;MN=\(mn);Flag=\(flag);\(extra)CP=&&\(cp)&&")
}

/// A short name for each output, to compare sequences (the platform model's events, which the
/// driver commits to `PlatformState`, left out: counters, log lines, diagnostics, notices).
private func names(_ outputs: [PlatformOutput]) -> [String] {
    outputs.compactMap { o in
        switch o {
        case .counted, .logged, .diagnostic, .notice: nil
        case .send(_, .acknowledgement(let code, _)): "ack \(code)"
        case .send(_, .command(let code, _, let attempt)): "command \(code) #\(attempt)"
        case .send: "send"
        case .close: "close"
        case .packetAccepted(let p): "packet \(p.segment.cn ?? "?")"
        case .recordAccepted(let r): r.reassembled ? "record \(r.segment.cn ?? "?") reassembled" : "record \(r.segment.cn ?? "?")"
        case .commandFinished(let c): "finished \(c.cn) \(c.outcome.rawValue)"
        }
    }
}

@Suite("Session outputs: the platform")
struct PlatformOutputTests {
    @Test("an upload: packet accepted, record accepted, then its 9014 echoing the QN (events before the ack)")
    func uploadSequence() throws {
        var s = PlatformSession(state: try PlatformState(), peer: "test")
        s.connected(at: at)
        let out = s.received(upload(qn: "20160801085857223"), at: at)
        #expect(names(out) == ["packet 2011", "record 2011", "ack 9014"])
        guard case .packetAccepted(let p) = out[0], case .send(let bytes, .acknowledgement(.dataReply, let qn)) = out[2] else {
            Issue.record("unexpected outputs \(names(out))")
            return
        }
        #expect(p.frame == upload(qn: "20160801085857223") && p.time == at && p.peer == "test")
        #expect(qn == "20160801085857223")
        #expect(String(decoding: bytes, as: UTF8.self).contains("QN=20160801085857223;ST=91;CN=9014;"))
        // A=0: accepted and stored, no acknowledgement.
        #expect(names(s.received(upload(qn: "20160801085857224", flag: 4), at: at)) == ["packet 2011", "record 2011"])
        // A bad CRC: nothing at all.
        var corrupt = upload(qn: "20160801085857225")
        corrupt[corrupt.count - 4] = corrupt[corrupt.count - 4] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
        #expect(names(s.received(corrupt, at: at)).isEmpty)
    }

    @Test("a split record: each part accepted and acknowledged, the record only once, after the last part")
    func splitSequence() throws {
        var s = PlatformSession(state: try PlatformState(), peer: "test")
        var all: [String] = []
        for pno in 1...3 {
            let part = upload(qn: "2016080108585700\(pno)", cn: "2061", flag: 7, extra: "PNUM=3;PNO=\(pno);",
                              cp: "DataTime=20160801080000;w01018-Avg=\(pno)")
            let out = s.received(part, at: at)
            all += names(out)
            if pno < 3 { #expect(names(out) == ["packet 2061", "ack 9014"], "part \(pno)") }
        }
        #expect(all.filter { $0.hasPrefix("record") } == ["record 2061 reassembled"])
        #expect(all.suffix(3) == ["packet 2061", "record 2061 reassembled", "ack 9014"])
    }

    @Test("a command: sent (attempt 1), resent after OverTime (attempt 2), 9011 and 9012, then commandFinished")
    func commandSequence() throws {
        var options = PlatformSession.Options()
        options.expectedLogger = LoggerIdentity(mn: mn, pw: "123456")
        var s = PlatformSession(state: try PlatformState(), peer: "test", options: options)
        s.connected(at: at)
        let sent = s.setRtdInterval(60, at: at)
        #expect(names(sent) == ["command 1062 #1"])
        #expect(names(s.tick(at: at + 10_000)) == ["command 1062 #2"])
        let qn = try #require(s.commandInFlight)
        func reply(_ cn: CommandCode, _ cp: String) -> [UInt8] { frame("QN=\(qn);ST=91;CN=\(cn);PW=123456;MN=\(mn);Flag=4;CP=&&\(cp)&&") }
        #expect(names(s.received(reply(.requestReply, "QnRtn=1"), at: at + 10_100)) == ["packet 9011"])
        let done = s.received(reply(.executionResult, "ExeRtn=1"), at: at + 10_200)
        #expect(names(done) == ["packet 9012", "finished 1062 completed"])
        guard case .commandFinished(let result)? = done.last else { return }
        #expect(result.exeRtn == 1 && result.attempts == 2 && result.qn == qn && result.succeeded)
    }

    @Test("a disconnect ends the command in flight and the queued ones as events; nothing is sent")
    func disconnectSequence() throws {
        var options = PlatformSession.Options()
        options.expectedLogger = LoggerIdentity(mn: mn, pw: "123456")
        var s = PlatformSession(state: try PlatformState(), peer: "test", options: options)
        s.connected(at: at)
        _ = s.setRtdInterval(60, at: at)
        _ = s.setMinInterval(10, at: at)
        let out = s.disconnected(at: at + 5)
        #expect(names(out) == ["finished 1062 disconnected", "finished 1064 disconnected"])
        #expect(s.isClosed && out.actions.isEmpty)
        #expect(s.received(upload(qn: "20160801085857223"), at: at + 6).isEmpty)
    }
}

@Suite("Session outputs: the logger")
struct LoggerOutputTests {
    /// The QNs of the awaited first sends among the outputs.
    func uploads(_ outputs: [LoggerOutput]) -> [(cn: CommandCode, qn: String, attempt: Int)] {
        outputs.compactMap { if case .send(_, .upload(let cn, let qn, let attempt, true)) = $0 { (cn, qn, attempt) } else { nil } }
    }

    @Test("an upload is tagged with its CN and QN; its 9014 gives acknowledged(QN)")
    func uploadAcknowledged() throws {
        var h = try LoggerHarness()
        h.device.advance(to: h.now)
        let out = h.session.connected(at: h.now)
        let boot = try #require(uploads(out).first)
        #expect(boot.cn == .bootTime && boot.attempt == 1)
        let sent = LoggerHarness.decode(out)
        #expect(sent.first?.qn == boot.qn)
        let ack = h.session.received(FrameEncoder.frame(replySegment(cn: "9014", to: sent[0], cp: [])), at: h.now)
        #expect(ack.contains { if case .acknowledged(boot.qn) = $0 { true } else { false } })
        // The same 9014 again acknowledges nothing.
        let again = h.session.received(FrameEncoder.frame(replySegment(cn: "9014", to: sent[0], cp: [])), at: h.now)
        #expect(!again.contains { if case .acknowledged = $0 { true } else { false } })
    }

    @Test("no 9014: resent after OverTime with attempts 2…ReCount+1, then givenUp and close")
    func resentThenGivenUp() throws {
        var h = try LoggerHarness()
        h.device.advance(to: h.now)
        let boot = try #require(uploads(h.session.connected(at: h.now)).first)
        var attempts: [Int] = []
        var tail: [LoggerOutput] = []
        for step in 1...5 {
            let out = h.session.tick(at: h.now + SessionTime(step) * 10_000)
            attempts += uploads(out).filter { $0.qn == boot.qn }.map(\.attempt)
            if out.closes { tail = out; break }
        }
        #expect(attempts == [2, 3, 4])  // ReCount 3
        guard tail.count == 2, case .givenUp(let qn) = tail[0], case .close(let reason) = tail[1] else {
            Issue.record("expected givenUp then close, got \(tail)")
            return
        }
        #expect(qn == boot.qn && reason.contains("no 9014"))
    }

    @Test("with resends off (no-resend), an upload past OverTime is given up without a resend")
    func givenUpWithoutResend() throws {
        var h = try LoggerHarness()
        h.device.advance(to: h.now)
        let boot = try #require(uploads(h.session.connected(at: h.now)).first)
        h.session.resends = false
        let out = h.session.tick(at: h.now + 10_000)
        #expect(out.contains { if case .givenUp(boot.qn) = $0 { true } else { false } })
        #expect(!uploads(out).contains { $0.qn == boot.qn })
        #expect(h.session.statistics.givenUp >= 1 && !out.closes)
    }

    @Test("answers to a request are tagged as replies (9011, response, 9012)")
    func repliesTagged() throws {
        var h = try LoggerHarness()
        _ = h.connect()
        let out = h.session.received(FrameEncoder.frame(LoggerHarness.request("1061", "")), at: h.now)
        let tags: [CommandCode] = out.compactMap { if case .send(_, .reply(let code, "20160801085857223")) = $0 { code } else { nil } }
        #expect(tags == [.requestReply, .getRealTimeInterval, .executionResult])
    }
}

@Suite("Session outputs: the platform's model is changed only by the driver's commit")
struct PlatformCommitTests {
    @Test("with the into: forms nothing reaches PlatformState until the driver commits; then units, records, counters, log and diagnostics match")
    func driverCommits() throws {
        let state = try PlatformState()
        var s = PlatformSession(state: state, peer: "test")
        var out: [PlatformOutput] = []
        s.connected(at: at, into: &out)
        s.received(upload(qn: "20160801085857223"), at: at, into: &out)
        var corrupt = upload(qn: "20160801085857224")
        corrupt[corrupt.count - 4] = corrupt[corrupt.count - 4] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
        s.received(corrupt + Array("noise".utf8), at: at + 1, into: &out)
        // The session counted for itself, the shared model has nothing yet.
        #expect(s.counters.frames == 2 && s.counters.accepted == 1 && s.counters.rejectedBadCRC == 1)
        #expect(state.counters == PlatformCounters())
        #expect(state.unit(mn) == nil && state.log.isEmpty && state.diagnostics.isEmpty)
        #expect(out.contains { if case .counted = $0 { true } else { false } })
        #expect(out.contains { if case .logged(let e) = $0 { e.kind == .rejected } else { false } })
        #expect(out.contains { if case .diagnostic(let d) = $0 { d.diagnostic.rule == "frame.crc-mismatch" } else { false } })
        state.commit(out)
        #expect(state.counters == s.counters)
        let unit = try #require(state.unit(mn))
        #expect(unit.packetsByCN["2011"] == 1 && unit.recordsByCN["2011"] == 1 && unit.dialect == .hj2017)
        #expect(state.log.contains { $0.kind == .rejected } && state.log.contains { $0.kind == .connection })
        #expect(state.diagnostics.contains { $0.diagnostic.rule == "frame.crc-mismatch" })
    }

    @Test("requests through request(into:) leave the commit to the driver; the array forms commit themselves")
    func requests() throws {
        let state = try PlatformState()
        var s = PlatformSession(state: state, peer: "test")
        s.connected(at: at)
        _ = s.received(upload(qn: "20160801085857223"), at: at)  // identifies the logger; committed by the array form
        #expect(state.counters.accepted == 1)
        var out: [PlatformOutput] = []
        s.request(into: &out) { $0.setRtdInterval(60, at: at + 10) }
        #expect(out.actions.count == 1 && s.counters.commandsSent == 1)
        #expect(state.counters.commandsSent == 0)
        state.commit(out)
        #expect(state.counters.commandsSent == 1)
        // The array form commits: a second command is queued and ends as expired when the queue is closed.
        _ = s.setMinInterval(5, at: at + 20)
        _ = s.disconnected(at: at + 30)
        #expect(state.completedCommands.map(\.outcome) == [.disconnected, .disconnected])
    }
}
