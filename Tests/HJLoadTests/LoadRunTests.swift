import Glibc
import HJ212
import HJNetwork
import Synchronization
import Testing
@testable import HJLoad

/// A test ingest server on loopback with a chosen behaviour, answering 9014s itself.
enum ServerBehaviour: Sendable {
    case normal
    /// Reads nothing until this long after the connection's first bytes, then acks everything.
    case stall(milliseconds: Int64)
    /// Acknowledges every packet this long after reading it.
    case delay(milliseconds: Int64)
    /// Reads everything, answers nothing.
    case never
    /// Acknowledges every packet twice.
    case twice
    /// ST=32 instead of 91.
    case wrongST
    /// A QN of its own instead of the packet's.
    case noQNEcho
    /// Flag=5: the acknowledgement asks for an acknowledgement.
    case wrongFlag
    /// 9013 instead of 9014.
    case wrongCN
    /// Another logger's MN.
    case wrongMN
}

/// Frames the test server received. `Sendable`: an `Atomic`.
final class FrameCounter: Sendable {
    let count = Atomic<Int>(0)
    var value: Int { count.load(ordering: .relaxed) }
    func increment() { count.add(1, ordering: .relaxed) }
}

/// One accepted connection of the test server. `@unchecked Sendable`: touched only on its loop.
final class TestAckHandler: TCPConnectionHandler, @unchecked Sendable {
    let behaviour: ServerBehaviour
    var decoder = FrameDecoder()
    var stalledUntil: MonotonicTime?
    var held: [UInt8] = []
    let frames: FrameCounter

    init(_ behaviour: ServerBehaviour, frames: FrameCounter) {
        self.behaviour = behaviour
        self.frames = frames
    }

    func connection(_ connection: TCPConnection, didRead bytes: [UInt8]) {
        if case .stall(let ms) = behaviour, stalledUntil == nil {
            // Stop reading: the kernel buffers (and then the client's queue) hold what comes.
            stalledUntil = .now + .milliseconds(ms)
            held = bytes
            connection.pauseReading()
            connection.loop.scheduleOnLoop(after: .milliseconds(ms)) { [self] in
                connection.resumeReading()
                answer(connection, held)
                held = []
            }
            return
        }
        if case .delay(let ms) = behaviour {
            connection.loop.scheduleOnLoop(after: .milliseconds(ms)) { [self] in answer(connection, bytes) }
            return
        }
        answer(connection, bytes)
    }

    func answer(_ connection: TCPConnection, _ bytes: [UInt8]) {
        decoder.feed(bytes)
        var out: [UInt8] = []
        while let event = decoder.next() {
            guard case .frame(let f) = event else { continue }
            frames.increment()
            let s = SegmentParser.parse(f.segmentBytes).segment
            var qn = s.qn ?? ""
            var st = "91", cn = "9014", flag = "4", mn = s.mn ?? ""
            switch behaviour {
            case .never: continue
            case .wrongST: st = "32"
            case .noQNEcho: qn = "20200101000000000"
            case .wrongFlag: flag = "5"
            case .wrongCN: cn = "9013"
            case .wrongMN: mn = "0100AD999999999999999999"
            default: break
            }
            let reply = FrameEncoder.frame("QN=\(qn);ST=\(st);CN=\(cn);PW=\(s.pw ?? "");MN=\(mn);Flag=\(flag);CP=&&&&")
            out += reply
            if case .twice = behaviour { out += reply }
        }
        if !out.isEmpty { connection.write(out) }
    }
}

/// Starts a test server; stop it with `group.shutdown()`.
func startTestServer(_ behaviour: ServerBehaviour) throws -> (server: TCPServer, group: EventLoopGroup, frames: FrameCounter) {
    let group = try EventLoopGroup(threads: 1, name: "test-server")
    let frames = FrameCounter()
    let server = try TCPServer.start(on: .loopback(port: 0), group: group) { _ in TestAckHandler(behaviour, frames: frames) }
    return (server, group, frames)
}

let testPool = try! PayloadPool(unit: "industrial-wastewater")

func configuration(_ address: SocketAddress, loggers: Int, rate: Double, seconds: Double) -> LoadConfiguration {
    var c = LoadConfiguration(targets: [address], totalLoggers: loggers, pools: [testPool])
    c.cadence = .rate(rate)
    c.duration = .milliseconds(Int64(seconds * 1000))
    c.ramp = .milliseconds(100)
    c.threads = 1
    c.ackTimeout = .seconds(5)
    c.drainTimeout = .seconds(5)
    return c
}

@Suite("Load runs against test servers", .serialized)
struct LoadRunTests {
    @Test("a normal server: every scheduled packet sent and acknowledged, on schedule")
    func normal() throws {
        let s = try startTestServer(.normal)
        defer { s.group.shutdown() }
        let r = LoadRun(configuration(s.server.localAddress, loggers: 10, rate: 200, seconds: 1)).run()
        #expect(r.counts.scheduled == 200)
        #expect(r.counts.sent == 200 && r.counts.acked == 200 && r.counts.unacked == 0, "\(r.text())")
        #expect(r.counts.errors == 0 && r.counts.duplicates == 0 && r.counts.wrongAcks == 0)
        #expect(r.counts.maxConnections == 10)
        #expect(r.latency.total == 200 && r.sendLatency.total == 200 && r.connectLatency.total == 10)
        // Scheduled-time latency includes the send lag, so it is never below the send-time latency.
        #expect(r.latency.percentile(50) >= r.sendLatency.percentile(50))
        #expect(s.frames.value == 200)
    }

    @Test("the schedule is open: a stalled server does not slow the sends, and latency from the schedule grows")
    func stalledServer() throws {
        let s = try startTestServer(.stall(milliseconds: 1000))
        defer { s.group.shutdown() }
        let t0 = MonotonicTime.now
        let r = LoadRun(configuration(s.server.localAddress, loggers: 4, rate: 100, seconds: 2)).run()
        let elapsed = MonotonicTime.now - t0
        // 200 packets on schedule, none held back while the server read nothing.
        #expect(r.counts.scheduled == 200 && r.counts.sent == 200 && r.counts.missed == 0, "\(r.text())")
        #expect(r.counts.acked == 200)
        // Lower bounds the server enforces (a loaded machine only makes them larger): the first
        // packets waited out the 1 s stall from their scheduled time; the 100 packets scheduled in
        // the stall waited for its end, so the 50 longest waits (p75 and above) are ≥ ~0.5 s.
        #expect(r.latency.max >= 800_000, "max \(r.latency.max) µs")
        #expect(r.latency.percentile(75) >= 300_000, "p75 \(r.latency.percentile(75)) µs")
        // Orderings, not timings: the sender was not held up by the stall — its median lag is a
        // small fraction of what the stalled packets waited (a closed loop would have lagged by
        // about the wait) — and the packets scheduled after the stall (the lower half) waited far
        // less than those in it.
        #expect(r.sendLag.percentile(50) * 4 < r.latency.percentile(75),
                "lag p50 \(r.sendLag.percentile(50)) µs, latency p75 \(r.latency.percentile(75)) µs")
        #expect(r.latency.percentile(25) * 2 < r.latency.percentile(75), "p25 \(r.latency.percentile(25)) µs")
        // Every second of the window sent packets while the server read nothing (the first full
        // second holds ~65 on schedule; a closed loop would have sent one per logger, 4).
        let sentPerSecond = r.series.map(\.sent).filter { $0 > 0 }
        #expect(sentPerSecond.count >= 2 && sentPerSecond.allSatisfy { $0 >= 30 }, "\(sentPerSecond)")
        // A hang guard only (≥ 5× the ~2.5 s this takes).
        #expect(elapsed < .seconds(15))
    }

    @Test("a server that never acknowledges: memory bounded by the outstanding cap, waits bounded by the timeouts")
    func neverAcks() throws {
        let s = try startTestServer(.never)
        defer { s.group.shutdown() }
        var c = configuration(s.server.localAddress, loggers: 2, rate: 200, seconds: 1)
        c.maxOutstanding = 8
        c.ackTimeout = .milliseconds(300)
        c.drainTimeout = .milliseconds(500)
        let t0 = MonotonicTime.now
        let r = LoadRun(c).run()
        // A hang guard only (≥ 5× the ~1.9 s this takes): the drain is bounded.
        #expect(MonotonicTime.now - t0 < .seconds(10))
        #expect(r.counts.sent == 200 && r.counts.acked == 0)
        #expect(r.counts.unacked == r.counts.sent, "\(r.text())")
        #expect(r.counts.givenUp + r.counts.timedOut > 0)
        #expect(r.latency.total == 0)
    }

    @Test("a warm-up is sent and not counted: the window's counts are the window's packets")
    func warmUp() throws {
        let s = try startTestServer(.normal)
        defer { s.group.shutdown() }
        var c = configuration(s.server.localAddress, loggers: 4, rate: 200, seconds: 1)
        c.warmUp = .milliseconds(500)
        let r = LoadRun(c).run()
        // 200/s for 1 s counted; the server got the warm-up's 100 packets too.
        #expect(r.counts.scheduled == 200 && r.counts.sent == 200 && r.counts.acked == 200, "\(r.text())")
        #expect(r.counts.unacked == 0)
        #expect(s.frames.value >= 290, "\(s.frames.value) frames reached the server")
    }

    @Test("a server that acknowledges twice: duplicates counted, nothing acknowledged twice")
    func acksTwice() throws {
        let s = try startTestServer(.twice)
        defer { s.group.shutdown() }
        let r = LoadRun(configuration(s.server.localAddress, loggers: 3, rate: 60, seconds: 1)).run()
        #expect(r.counts.sent == 60 && r.counts.acked == 60 && r.counts.duplicates == 60, "\(r.text())")
        #expect(r.latency.total == 60)
    }

    @Test("wrong acknowledgements are counted, not taken: ST, QN not echoed, Flag, CN, MN")
    func wrongAcks() throws {
        for (behaviour, check) in [(ServerBehaviour.wrongST, \LoadCounts.wrongST), (.noQNEcho, \LoadCounts.wrongQN),
                                   (.wrongFlag, \LoadCounts.wrongFlag), (.wrongCN, \LoadCounts.wrongCN), (.wrongMN, \LoadCounts.wrongMN)] {
            let s = try startTestServer(behaviour)
            defer { s.group.shutdown() }
            var c = configuration(s.server.localAddress, loggers: 2, rate: 40, seconds: 0.5)
            c.ackTimeout = .milliseconds(300)
            c.drainTimeout = .milliseconds(400)
            let r = LoadRun(c).run()
            #expect(r.counts.sent == 20 && r.counts.acked == 0)
            #expect(r.counts[keyPath: check] == 20, "\(r.text())")
            #expect(r.counts.errors >= 20 && r.counts.unacked == 20)
        }
    }

    @Test("a closed port: refused connects counted with the reason, the run ends early")
    func refused() throws {
        // A port that was free a moment ago.
        let s = try startTestServer(.normal)
        let address = s.server.localAddress
        s.group.shutdown()
        var c = configuration(address, loggers: 3, rate: 30, seconds: 30)
        c.reconnect = false
        let t0 = MonotonicTime.now
        let r = LoadRun(c).run()
        // Stops once every logger failed (well under a second), not after the 30 s window; the
        // bound is a generous hang guard.
        #expect(MonotonicTime.now - t0 < .seconds(10), "stops once every logger failed")
        #expect(r.counts.connects == 0 && r.counts.refused == 3)
        #expect(r.errors.keys.contains { $0.contains("ECONNREFUSED") }, "\(r.errors)")
    }

    @Test("a stop request (Ctrl-C) ends the window at once and reports what ran")
    func interrupted() throws {
        let s = try startTestServer(.normal)
        defer { s.group.shutdown() }
        let t0 = MonotonicTime.now
        let r = LoadRun(configuration(s.server.localAddress, loggers: 4, rate: 100, seconds: 30)).run(shouldStop: {
            MonotonicTime.now - t0 > .milliseconds(1100)
        })
        // The stop comes at 1.1 s, the window would last 30 s: bounds far from both (hang guards).
        #expect(MonotonicTime.now - t0 < .seconds(10))
        #expect(r.interrupted)
        #expect(r.windowSeconds > 0.3 && r.windowSeconds < 8, "\(r.windowSeconds)")
        #expect(r.counts.sent > 30 && r.counts.sent < 800, "\(r.counts.sent)")
        #expect(r.counts.acked + r.counts.unacked == r.counts.sent)
    }

    @Test("--align starts the window on a wall-clock multiple (shards started apart share one schedule)")
    func aligned() throws {
        let s = try startTestServer(.normal)
        defer { s.group.shutdown() }
        var c = configuration(s.server.localAddress, loggers: 2, rate: 20, seconds: 0.5)
        c.align = .milliseconds(500)
        let r = LoadRun(c).run()
        #expect(r.started.hasSuffix(".000+08:00") || r.started.hasSuffix(".500+08:00"), "\(r.started)")
        #expect(r.counts.sent == 10 && r.counts.acked == 10, "\(r.text())")
    }

    @Test("the run ends on a snapshot taken after the window: a packet sent just before its end is waited for, not given up")
    func lastPacketWaitedFor() throws {
        // The acks take 300 ms. The loop publishes once a second here (every 100 ms in real runs,
        // where the same happens with shorter delays), starting 20 ms before the ramp: the last
        // snapshot before the window's end (at 0.98 s) predates the last send (1.35 s) and shows
        // nothing waiting; a run that trusted it would give that packet up at the end (1.4 s).
        let s = try startTestServer(.delay(milliseconds: 300))
        defer { s.group.shutdown() }
        // One logger once a second: sends at 0 and 1000 ms of a 1050 ms window (after 350 ms of ramp).
        var c = configuration(s.server.localAddress, loggers: 1, rate: 1, seconds: 1.05)
        c.ackTimeout = .seconds(3)
        c.drainTimeout = .seconds(3)
        let r = LoadRun(c, finalTimeout: .seconds(5), sweepInterval: .seconds(1), beforeFinish: nil).run()
        #expect(r.counts.sent == 2 && r.counts.acked == 2 && r.counts.pendingAtEnd == 0, "\(r.text())")
    }

    @Test("a loop that does not hand over its final state in time is named in the errors")
    func loopDidNotReport() throws {
        let s = try startTestServer(.normal)
        defer { s.group.shutdown() }
        var c = configuration(s.server.localAddress, loggers: 4, rate: 40, seconds: 0.5)
        c.threads = 2
        // Loop 2 is busy for 1 s when asked to finish; the run waits 200 ms for it.
        let r = LoadRun(c, finalTimeout: .milliseconds(200), sweepInterval: .milliseconds(100), beforeFinish: { k in
            if k == 1 { usleep(1_000_000) }
        }).run()
        let missing = r.errors.keys.filter { $0.contains("did not report") }
        #expect(missing.count == 1 && missing[0].contains("event loop 2 of 2"), "\(r.errors)")
        // Loop 1's loggers (half of them) are in the report, loop 2's are not.
        #expect(r.counts.sent == 10 && r.counts.acked == 10, "\(r.text())")
        #expect(r.text().contains("did not report"))
        // The report lacks half the run: whatever the thresholds say of the half it has, it is incomplete.
        var judged = r
        judged.verdicts = [try Threshold(parsing: "p99<10s").evaluate(r)]
        #expect(judged.verdicts[0].pass)
        let (outcome, reasons) = judged.outcome()
        #expect(outcome == .incomplete && reasons.contains { $0.contains("1 event loop(s) did not report") }, "\(reasons)")
    }
}
