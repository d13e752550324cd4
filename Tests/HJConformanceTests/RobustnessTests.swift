import Testing
import HJ212
@testable import HJConformance

/// The pieces of the checks that must hold against a hostile or odd peer: the clock model, the
/// clamped arithmetic, what counts as an acceptance, and the memory bounds.
@Suite("Conformance robustness")
struct RobustnessTests {
    static let t0: Int64 = 1_796_000_000_000

    @Test("the clock rate of a real-time logger is 1 even when an old resend comes first after connecting")
    func rateIgnoresOldResend() {
        // A 10-minute-old resend at once, then live 2011s every 30 s.
        var samples: [(real: Double, logger: Int64)] = [(0.1, Self.t0 - 600_000)]
        for i in 0..<7 { samples.append((0.2 + 30 * Double(i), Self.t0 + 200 + 30_000 * Int64(i))) }
        #expect(LoggerCheckRunner.estimateRate(samples) == 1)
        // First and last frames only would have said about 4.3×.
        let naive = Double(samples.last!.logger - samples[0].logger) / 1000 / (samples.last!.real - samples[0].real)
        #expect(naive > 4)
    }

    @Test("an accelerated logger's rate is found, backfilled records are skipped, and the result is clamped")
    func rateAccelerated() {
        // 1200×: 120 s of logger time every 100 ms, with a backfilled (old) record in between.
        var samples: [(real: Double, logger: Int64)] = []
        for i in 0..<20 { samples.append((0.1 + 0.1 * Double(i), Self.t0 + 120_000 * Int64(i))) }
        samples.insert((0.55, Self.t0 - 3_600_000), at: 5)
        let r = LoggerCheckRunner.estimateRate(samples)
        #expect(abs(r - 1200) < 1, "\(r)")
        // Absurd clocks are clamped; too little to go by is 1.
        #expect(LoggerCheckRunner.estimateRate([(0, 0), (1, Int64(1) << 60)]) == LoggerCheckRunner.maxRate)
        #expect(LoggerCheckRunner.estimateRate([(0, Self.t0), (1, Self.t0 + 10)]) == 0.2)
        #expect(LoggerCheckRunner.estimateRate([(0, Self.t0)]) == 1)
        #expect(LoggerCheckRunner.estimateRate([]) == 1)
    }

    @Test("milliseconds and clamped sums never trap")
    func clamped() {
        #expect(milliseconds(.nan) == 0)
        #expect(milliseconds(.infinity) == 1 << 62)
        #expect(milliseconds(-1e300) == -(1 << 62))
        #expect(milliseconds(1.5) == 1500)
        #expect(Int64.max.addingClamped(5) == .max)
        #expect(Int64.min.addingClamped(-5) == -.max)
        #expect(abs(Int64(-5).addingClamped(-.max)) == .max)
    }

    static func probeFrame(_ text: String) throws -> ProbeFrame {
        var decoder = FrameDecoder()
        decoder.feed(FrameEncoder.frame(SegmentParser.parse(Array(text.utf8)[...]).segment))
        guard case .frame(let raw)? = decoder.next() else { throw CancellationError() }
        return ProbeFrame(raw: raw, time: 0)
    }

    @Test("only 9014, 9013 or 9011 QnRtn=1 accept a packet; another QnRtn refuses it")
    func acceptance() throws {
        let head = "QN=20261130080000001;ST=91;PW=123456;MN=010000A8900016F000169DC0;Flag=4;"
        #expect(try Self.probeFrame(head + "CN=9014;CP=&&&&").isAcceptance)
        #expect(try Self.probeFrame(head + "CN=9013;CP=&&&&").isAcceptance)
        #expect(try Self.probeFrame(head + "CN=9011;CP=&&QnRtn=1&&").isAcceptance)
        for code in ["3", "4", "9"] {
            let refusal = try Self.probeFrame(head + "CN=9011;CP=&&QnRtn=\(code)&&")
            #expect(!refusal.isAcceptance)
            #expect(refusal.refusalCode == code)
        }
        #expect(try Self.probeFrame(head + "CN=9012;CP=&&ExeRtn=1&&").isAcceptance == false)
    }

    @Test("a packet keeps at most 8 answers however many come, and counts them all")
    func answersBounded() throws {
        let segment = SegmentParser.parse(Array("QN=20261130080000001;ST=32;CN=2011;PW=123456;MN=010000A8900016F000169DC0;Flag=5;CP=&&&&".utf8)[...]).segment
        let p = SentPacket(segment: segment, kind: .upload, expectsAnswer: true, mustNotAnswer: false, sentAt: 0)
        let ack = try Self.probeFrame("QN=20261130080000001;ST=91;CN=9014;PW=123456;MN=010000A8900016F000169DC0;Flag=4;CP=&&&&")
        for _ in 0..<1_000 { p.add(.init(frame: ack, latency: 0.01, byQN: true)) }
        #expect(p.answers.count == SentPacket.maxAnswers)
        #expect(p.answerCount == 1_000)
    }

    @Test("a flood beyond the inbox cap is refused whole (the connection is then closed), not cut mid-stream")
    func inboxFlood() {
        let inbox = ProbeInbox()
        #expect(inbox.push(.bytes(id: 1, [UInt8](repeating: 0x41, count: ProbeInbox.maxQueuedBytes - 10))))
        #expect(!inbox.push(.bytes(id: 1, [UInt8](repeating: 0x41, count: 11))))
        #expect(inbox.push(.bytes(id: 1, [UInt8](repeating: 0x41, count: 10))))
        #expect(inbox.take().count == 2)
        #expect(inbox.push(.bytes(id: 1, [UInt8](repeating: 0x41, count: 11))), "taking the events frees the room")
    }
}
