import Dispatch
import Foundation
import Glibc
import HJNetwork
import Synchronization
import Testing
@testable import HJ212CLI

/// The main thread reads the loggers' state by running a task on each event loop
/// (`LiveSetup.onLoops`). Until session 7 it waited at most 5 s per loop and then went on with
/// what it had: a loop busy for longer left its loggers out of the reports, and `simulate`'s
/// drain, `demo`'s "all loggers drained", `bench storm`'s "every logger reconnected" and
/// `bench store`'s figures (negative acknowledgements, "0 connected") took that partial list for
/// the whole fleet.
@Suite("reading the loggers' state from their event loops")
struct LoopAnswerTests {
    @Test("a loop busy for longer than the old 5 s bound is waited for: its task has run when onLoops returns")
    func busyLoopIsWaitedFor() throws {
        let group = try EventLoopGroup(threads: 1, name: "busy-loop-test")
        defer { group.shutdown() }
        let loop = group.loops[0]
        #expect(loop.execute { usleep(5_600_000) })
        usleep(100_000)  // the loop is now inside the busy task
        let ran = Answers()
        let complete = LiveSetup.onLoops([(loop, { @Sendable in ran.add(0) })])
        #expect(complete)
        #expect(ran.list == [0], "onLoops returned before the loop ran the task")
    }

    @Test("a loop that does not answer within the guard makes the answer incomplete, not partial")
    func wedgedLoopIsIncomplete() throws {
        let group = try EventLoopGroup(threads: 2, name: "wedged-loop-test")
        defer { group.shutdown() }
        #expect(group.loops[1].execute { usleep(1_500_000) })
        usleep(100_000)
        let answered = Answers()
        let complete = LiveSetup.onLoops([(group.loops[0], { @Sendable in answered.add(0) }), (group.loops[1], { @Sendable in answered.add(1) })], guardSeconds: 0.4)
        #expect(!complete)
        #expect(answered.list == [0])
        usleep(1_600_000)  // the wedged loop runs its task late; nothing is lost or double-counted
        #expect(answered.list.sorted() == [0, 1])
    }
}

private final class Answers: Sendable {
    private let m = Mutex<[Int]>([])
    func add(_ i: Int) { m.withLock { $0.append(i) } }
    var list: [Int] { m.withLock { $0 } }
}
