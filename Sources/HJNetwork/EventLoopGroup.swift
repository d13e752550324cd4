import Glibc
import Synchronization

/// Event loops, one per thread, handed out round-robin.
///
/// `Sendable`: the loops are `Sendable`, the round-robin counter is an `Atomic` and the thread
/// list is in a `Mutex`.
///
/// ```swift
/// let group = try EventLoopGroup(threads: 2)
/// defer { group.shutdown() }
/// let server = try TCPServer.start(on: .loopback(port: 0), group: group) { _ in EchoHandler() }
/// ```
public final class EventLoopGroup: Sendable {
    /// The loops, each running on a thread of its own.
    public let loops: [EventLoop]
    private let threads: Mutex<[LoopThread]>
    private let counter = Atomic<Int>(0)

    /// Starts `threads` loops (at least one), named `"<name>-0"`, `"<name>-1"`, ...
    ///
    /// ```swift
    /// let group = try EventLoopGroup(threads: 2)
    /// ```
    public init(threads count: Int, name: String = "hj-loop") throws(NetworkError) {
        var loops: [EventLoop] = []
        for index in 0..<max(1, count) {
            loops.append(try EventLoop(name: "\(name)-\(index)"))
        }
        var started: [LoopThread] = []
        for loop in loops {
            do {
                started.append(try LoopThread.start(name: loop.name) { loop.run() })
            } catch {
                for loop in loops { loop.stop() }
                for thread in started { thread.join() }
                throw error
            }
        }
        self.loops = loops
        self.threads = Mutex(started)
    }

    deinit {
        // Joining our own thread would never return; then only ask the loops to stop.
        if currentLoop == nil { shutdown() } else { for loop in loops { loop.stop() } }
    }

    /// The next loop, round-robin.
    ///
    /// ```swift
    /// TCPClient.connect(to: address, on: group.next()) { result in ... }
    /// ```
    public func next() -> EventLoop {
        let index = counter.wrappingAdd(1, ordering: .relaxed).oldValue
        return loops[Int(UInt(bitPattern: index) % UInt(loops.count))]
    }

    /// The loop whose thread is calling, or nil when called from another thread.
    public var currentLoop: EventLoop? {
        loops.first { $0.inEventLoop }
    }

    /// Stops every loop (closing their connections and listeners) and waits for the threads to
    /// end. Idempotent. Must not be called from one of the group's own loop threads.
    ///
    /// ```swift
    /// server.stopAndWait()
    /// group.shutdown()
    /// ```
    public func shutdown() {
        precondition(currentLoop == nil, "EventLoopGroup.shutdown() called from one of its own loop threads")
        for loop in loops { loop.stop() }
        let toJoin = threads.withLock { threads -> [LoopThread] in
            defer { threads = [] }
            return threads
        }
        for thread in toJoin { thread.join() }
    }
}
