import Foundation
import Glibc
import HJ212
import HJConformance
import HJSimulation
import HJNetwork
import HJLive
import HJRoles
import Synchronization
import Testing
@testable import HJ212CLI

/// Review 21: MUST checks of `check logger` that passed on what did not show the behaviour.
@Suite("check logger: passes that were not earned (review 21)")
struct CheckLoggerReview21Tests {
    static let mn = CheckLoggerTests.mn

    /// A logger on a plain socket: `cn` uploads (Flag=5, 2011 by default) every `every` ms (250),
    /// each with a DataTime `step` ms (30 s) after the last, from the present (aligned to `step`)
    /// plus `dataTimeOffset` ms, and `qn(i)` as QN; requests answered as `answer` says, always
    /// with PW=123456 (1072 is answered ExeRtn=1 but changes nothing).
    enum Answer { case none, only9012, proper }

    static func run(only: [String], window: Double, version2005: Bool = false, qn: @escaping @Sendable (Int) -> String,
                    answer: Answer, reCount: Int = 2, interruptAfterFirstRequest: Double? = nil,
                    cn: String = "2011", step: Int64 = 30_000, every: Int = 250, dataTimeOffset: Int64 = 0) throws -> CheckRun {
        let stop = Atomic<Bool>(false)
        let firstRequestAt = Atomic<Int64>(0)
        let options = LoggerCheckOptions(host: "127.0.0.1", port: 0, mn: mn, pw: "123456", selection: CheckSelection(only: only), window: window,
                                         overTime: 1, reCount: reCount, connectTimeout: 5, listening: { port in
            Thread {
                guard let s = connectLoopback(port: port) else { return }
                defer { close(s) }
                func write(_ bytes: [UInt8]) { _ = bytes.withUnsafeBytes { send(s, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }
                var decoder = FrameDecoder()
                var buffer = [UInt8](repeating: 0, count: 4096)
                var i = 0
                var next = MonotonicTime.now
                let base = LiveClock.wallNow(offsetMinutes: SimClock.chinaOffsetMinutes) / step * step + dataTimeOffset
                while !stop.load(ordering: .relaxed) {
                    if MonotonicTime.now >= next {
                        next = MonotonicTime.now + .milliseconds(every)
                        let dataTime = HJTime(wallMilliseconds: base + Int64(i) * step).text14
                        let cp = [[Field("DataTime", dataTime)], [Field(cn == "2011" ? "w01018-Rtd" : "w01018-Avg", "12.5"), Field("w01018-Flag", "N")]]
                        let header = version2005 ? [Field("ST", "32"), Field("CN", cn), Field("PW", "123456"), Field("MN", "88888880000001")]
                            : [Field("QN", qn(i)), Field("ST", "32"), Field("CN", cn), Field("PW", "123456"), Field("MN", mn), Field("Flag", "5")]
                        write(FrameEncoder.frame(DataSegment(header: header, cp: cp)))
                        i += 1
                    }
                    var p = pollfd(fd: s, events: Int16(POLLIN), revents: 0)
                    guard poll(&p, 1, 20) >= 0 else { return }
                    guard p.revents != 0 else { continue }
                    let n = recv(s, &buffer, buffer.count, 0)
                    guard n > 0 else { return }
                    decoder.feed(buffer[0..<n])
                    while let event = decoder.next() {
                        guard case .frame(let raw) = event else { continue }
                        let request = SegmentParser.parse(raw.segmentBytes).segment
                        guard let rq = request.qn, let cn = request.cn, !["9011", "9012", "9013", "9014"].contains(cn) else { continue }
                        _ = firstRequestAt.compareExchange(expected: 0, desired: Int64(MonotonicTime.now.nanoseconds), ordering: .relaxed)
                        let reply = [Field("QN", rq), Field("ST", "91")]
                        switch answer {
                        case .none: continue
                        case .only9012: break
                        case .proper:
                            write(FrameEncoder.frame(DataSegment(header: reply + [Field("CN", "9011"), Field("PW", "123456"), Field("MN", mn), Field("Flag", "4")],
                                                                 cp: [[Field("QnRtn", "1")]])))
                        }
                        write(FrameEncoder.frame(DataSegment(header: reply + [Field("CN", "9012"), Field("PW", "123456"), Field("MN", mn), Field("Flag", "4")],
                                                             cp: [[Field("ExeRtn", "1")]])))
                    }
                }
            }.start()
        })
        defer { stop.store(true, ordering: .relaxed) }
        let hooks = CheckHooks(shouldContinue: {
            guard let after = interruptAfterFirstRequest else { return true }
            let first = firstRequestAt.load(ordering: .relaxed)
            return first == 0 || Double(Int64(MonotonicTime.now.nanoseconds) - first) / 1e9 < after
        })
        return LoggerCheck.run(options, catalogue: try RuleCatalogue.load(), hooks: hooks)
    }

    static func result(_ run: CheckRun, _ id: String) -> (verdict: Verdict, message: String) {
        let r = run.results.first { $0.rule.id == id }
        return (r?.verdict ?? .notExercised, r?.message ?? "missing")
    }

    @Test("L-VERSION fails HJ/T 212-2005 packets, which carry no Flag (no version bits at all)")
    func version2005() throws {
        let run = try Self.run(only: ["L-VERSION"], window: 1, version2005: true, qn: { _ in "" }, answer: .proper)
        let v = Self.result(run, "L-VERSION")
        #expect(v.verdict == .fail, "\(v.verdict) \(v.message)")
    }

    @Test("L-RESEND: later records under the same QN are not copies of the withheld upload")
    func constantQNIsNoResend() throws {
        let run = try Self.run(only: ["L-CONNECT", "L-RESEND"], window: 0.5, qn: { _ in "20261206041343866" }, answer: .proper)
        let v = Self.result(run, "L-RESEND")
        #expect(v.verdict == .fail, "\(v.verdict) \(v.message)")
    }

    @Test("L-REPLY-FORM is not exercised when no request was answered; L-REPLY-TIME fails when only 9012s came")
    func repliesThatNeverCame() throws {
        let fresh: @Sendable (Int) -> String = { i in HJTime(wallMilliseconds: LiveClock.wallNow(offsetMinutes: SimClock.chinaOffsetMinutes) + Int64(i)).text17 }
        let silent = try Self.run(only: ["L-REPLY-FORM", "L-REPLY-TIME", "L-CMD-1011"], window: 0.5, qn: fresh, answer: .none)
        let form = Self.result(silent, "L-REPLY-FORM")
        #expect(form.verdict == .notExercised, "\(form.verdict) \(form.message)")
        #expect(Self.result(silent, "L-REPLY-TIME").verdict == .fail)
        let only9012 = try Self.run(only: ["L-REPLY-FORM", "L-REPLY-TIME", "L-CMD-1011"], window: 0.5, qn: fresh, answer: .only9012)
        let time = Self.result(only9012, "L-REPLY-TIME")
        #expect(time.verdict == .fail && time.message.contains("no 9011"), "\(time.verdict) \(time.message)")
    }

    @Test("Ctrl-C during a request's wait: that check and the requests not yet sent are not exercised (interrupted), never failed")
    func interruptedRequests() throws {
        let fresh: @Sendable (Int) -> String = { i in HJTime(wallMilliseconds: LiveClock.wallNow(offsetMinutes: SimClock.chinaOffsetMinutes) + Int64(i)).text17 }
        let run = try Self.run(only: ["L-CMD-BADPW", "L-CMD-BADMN", "L-CMD-BADCN", "L-CMD-1011", "L-REPLY-TIME"], window: 0.5, qn: fresh, answer: .none,
                               interruptAfterFirstRequest: 0.5)
        #expect(run.interrupted && run.verdict == .incomplete)
        for id in ["L-CMD-BADPW", "L-CMD-BADMN", "L-CMD-BADCN", "L-CMD-1011", "L-REPLY-TIME"] {
            let v = Self.result(run, id)
            #expect(v.verdict == .notExercised && v.message.contains("interrupted"), "\(id): \(v.verdict) \(v.message)")
        }
        let sentAfter = run.results.flatMap(\.wire).filter { $0.direction == .down && $0.text.contains("CN=1999") }
        #expect(sentAfter.isEmpty, "the request of L-CMD-BADCN went out after the interrupt")
    }
}
