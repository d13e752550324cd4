import Foundation
import Glibc
import Testing
import HJNetwork

/// Every test that opens descriptors runs inside this suite, one at a time, so that the
/// descriptor counts of the leak test are not disturbed by a neighbour.
@Suite("Network (serialized)", .serialized, .timeLimit(.minutes(2)))
struct NetworkTests {}

extension NetworkTests {
    @Suite("EventLoop")
    struct EventLoopTests {
        @Test("timers fire in deadline order, equal deadlines in scheduling order")
        func timerOrder() async throws {
            let group = try EventLoopGroup(threads: 1)
            defer { group.shutdown() }
            let loop = group.next()
            let fired = Locked<[Int]>([])
            // Scheduled from this (foreign) thread, out of order.
            for delay in [50, 10, 40, 20, 30] {
                loop.schedule(after: .milliseconds(delay)) { fired.update { $0.append(delay) } }
            }
            let same = MonotonicTime.now + .milliseconds(25)
            for tag in 1...3 {
                loop.schedule(at: same) { fired.update { $0.append(100 + tag) } }
            }
            #expect(await eventually { fired.value.count == 8 })
            #expect(fired.value == [10, 20, 101, 102, 103, 30, 40, 50])
        }

        @Test("cancelled timers do not fire; cancel reports whether it won")
        func cancel() async throws {
            let group = try EventLoopGroup(threads: 1)
            defer { group.shutdown() }
            let loop = group.next()
            let fired = Locked<[String]>([])
            // Deadlines far enough apart that a slow machine still cancels before "drop" is due;
            // "keep" fires after "drop" would have.
            let keep = loop.schedule(after: .milliseconds(250)) { fired.update { $0.append("keep") } }
            let drop = loop.schedule(after: .milliseconds(100)) { fired.update { $0.append("drop") } }
            #expect(drop.cancel())
            #expect(drop.isCancelled)
            #expect(!drop.cancel())  // second cancel: nothing left to cancel
            // Cancel from the loop itself, before the deadline.
            let local = await onLoop(loop) { () -> Bool in
                let handle = loop.scheduleOnLoop(after: .milliseconds(5)) { fired.update { $0.append("local") } }
                return handle.cancel()
            }
            #expect(local == true)
            #expect(await eventually { keep.hasFired })
            try await Task.sleep(for: .milliseconds(20))
            #expect(fired.value == ["keep"])
            #expect(!keep.cancel())  // too late: it fired
        }

        @Test("many cancelled timers are compacted away and the rest still fire")
        func manyCancelled() async throws {
            let group = try EventLoopGroup(threads: 1)
            defer { group.shutdown() }
            let loop = group.next()
            let handles = (0..<2000).map { _ in loop.schedule(after: .seconds(3600)) {} }
            for handle in handles { handle.cancel() }
            let fired = Locked(false)
            loop.schedule(after: .milliseconds(5)) { fired.set(true) }
            #expect(await eventually { fired.value })
            #expect(handles.allSatisfy { $0.isCancelled && !$0.hasFired })
        }

        @Test("execute from other threads runs on the loop, in submission order")
        func executeOnLoop() async throws {
            let group = try EventLoopGroup(threads: 1)
            defer { group.shutdown() }
            let loop = group.next()
            #expect(!loop.inEventLoop)
            let seen = Locked<[Int]>([])
            let onLoopThread = Locked(true)
            let threadNames = Locked<Set<String>>([])
            await withTaskGroup(of: Void.self) { tasks in
                for worker in 0..<4 {
                    tasks.addTask {
                        for index in 0..<250 {
                            loop.execute {
                                if !loop.inEventLoop { onLoopThread.set(false) }
                                let name = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? "?"
                                threadNames.update { $0.insert(name.trimmingCharacters(in: .whitespacesAndNewlines)) }
                                seen.update { $0.append(worker * 1000 + index) }
                            }
                        }
                    }
                }
            }
            #expect(await eventually { seen.value.count == 1000 })
            #expect(onLoopThread.value)
            #expect(threadNames.value == [loop.name])
            // Each worker's tasks ran in the order it submitted them.
            for worker in 0..<4 {
                let mine = seen.value.filter { $0 / 1000 == worker }
                #expect(mine == mine.sorted())
            }
        }

        @Test("a loop runs on a caller's thread until stop(); work after the stop is refused")
        func runAndStop() async throws {
            let loop = try EventLoop(name: "manual")
            let ran = Locked<[String]>([])
            loop.execute { ran.update { $0.append("task") } }  // queued before run()
            loop.schedule(after: .milliseconds(5)) {
                ran.update { $0.append("timer") }
                loop.stop()
            }
            let finished = Locked(false)
            let thread = Thread {
                loop.run()
                finished.set(true)
            }
            thread.start()
            #expect(await eventually { finished.value })
            #expect(ran.value == ["task", "timer"])
            #expect(loop.isFinished)
            #expect(!loop.execute {})
            #expect(loop.schedule(after: .zero) {}.isCancelled)
        }
    }
}
