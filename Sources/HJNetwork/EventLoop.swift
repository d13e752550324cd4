import CEpoll
import Glibc
import Synchronization

/// Something registered with an event loop's epoll instance: a connection, a listener or a
/// connect in progress. Called only on the loop's thread.
protocol EpollHandler: AnyObject {
    /// The epoll event bits reported for the handler's descriptor.
    func handleEpollEvents(_ events: UInt32)
    /// The loop is stopping: deregister and close the descriptor, report to the user.
    func handleLoopShutdown()
}

/// One thread, one epoll instance: waits for socket readiness, timers and submitted closures,
/// and runs their handlers one at a time on that thread.
///
/// Registrations are level-triggered: a socket that still has unread input after a handler
/// returned is reported again by the next `epoll_wait`, so a handler may stop reading early
/// (for fairness) without losing a wakeup. `EPOLLOUT` is asked for only while output is pending.
///
/// Thread safety: `execute(_:)`, `schedule(after:_:)`, `stop()` and `inEventLoop` may be called
/// from any thread. Everything else (registrations, `scheduleOnLoop`, connections) belongs to the
/// loop's thread.
///
/// `@unchecked Sendable`, by this rule: the cross-thread state (submitted tasks, phase) is in a
/// `Mutex`, the stop flag and thread id are `Atomic`s, and every other stored property is touched
/// only on the loop thread, which `assertInEventLoop()` checks at each internal entry point.
///
/// ```swift
/// let loop = try EventLoop()
/// loop.schedule(after: .milliseconds(10)) { print("tick"); loop.stop() }
/// loop.run()   // returns after stop()
/// ```
public final class EventLoop: @unchecked Sendable {
    /// Where the loop is in its one life: created, running, or finished (no more tasks accepted).
    private enum Phase { case idle, running, finished }

    private struct Shared {
        var tasks: [@Sendable () -> Void] = []
        var phase: Phase = .idle
    }

    private struct Slot {
        var generation: UInt32
        var interest: UInt32
        var handler: any EpollHandler
    }

    /// The epoll data value of the wake eventfd (no registration can have it: generations skip it).
    private static let wakeToken = UInt64.max
    private static let eventBatch: Int32 = 256
    /// Bytes of the per-loop read buffer shared by all connections of the loop.
    static let readBufferSize = 64 * 1024

    /// A name for diagnostics, for example `"hj-loop-1"`.
    public let name: String

    // Cross-thread state.
    private let shared = Mutex(Shared())
    private let stopRequested = Atomic<Bool>(false)
    private let threadID = Atomic<UInt>(0)
    private let epfd: Int32
    private let wakeFD: Int32
    let cancelledTimers = CancelledTimerCounter()

    // Loop-thread state.
    private var slots: [Slot?] = []
    private var nextGeneration: UInt32 = 1
    private var timers = TimerHeap()
    private var localTasks: [() -> Void] = []
    private var descriptorsClosed = false
    /// The read buffer shared by the loop's connections (one read at a time per loop).
    let readBuffer: UnsafeMutableRawBufferPointer
    /// Number of descriptors registered with this loop's epoll.
    private(set) var registrationCount = 0

    /// Creates a loop; call `run()` on the thread that should own it (or use `EventLoopGroup`).
    ///
    /// ```swift
    /// let loop = try EventLoop(name: "main-loop")
    /// ```
    public init(name: String = "hj-loop") throws(NetworkError) {
        self.name = name
        let epfd = try Syscall.check("epoll_create1") { Int(cepoll_create()) }
        let wakeFD: Int
        do {
            wakeFD = try Syscall.check("eventfd") { Int(cepoll_eventfd()) }
            try Syscall.check("epoll_ctl ADD eventfd") {
                Int(cepoll_ctl(Int32(epfd), CEPOLL_CTL_ADD, Int32(wakeFD), CEPOLL_IN, EventLoop.wakeToken))
            }
        } catch {
            Syscall.close(Int32(epfd))
            throw error
        }
        self.epfd = Int32(epfd)
        self.wakeFD = Int32(wakeFD)
        self.readBuffer = .allocate(byteCount: EventLoop.readBufferSize, alignment: 16)
    }

    deinit {
        if !descriptorsClosed {
            Syscall.close(wakeFD)
            Syscall.close(epfd)
        }
        readBuffer.deallocate()
    }

    // MARK: - Any thread

    /// Whether the calling thread is the one running this loop.
    ///
    /// ```swift
    /// if loop.inEventLoop { connection.write(bytes) } else { loop.execute { connection.write(bytes) } }
    /// ```
    public var inEventLoop: Bool {
        threadID.load(ordering: .relaxed) == UInt(pthread_self())
    }

    /// Whether `run()` has finished (the loop accepts no more work). Any thread.
    ///
    /// ```swift
    /// group.shutdown()
    /// assert(group.loops.allSatisfy(\.isFinished))
    /// ```
    public var isFinished: Bool {
        shared.withLock { $0.phase == .finished }
    }

    /// Runs `task` on the loop thread, after the events being handled now. Callable from any
    /// thread, the loop's own included. Returns `false` (and drops the task) if the loop has
    /// finished.
    ///
    /// ```swift
    /// loop.execute { connection.write(Array("hello".utf8)) }
    /// ```
    @discardableResult
    public func execute(_ task: @escaping @Sendable () -> Void) -> Bool {
        shared.withLock { shared in
            guard shared.phase != .finished else { return false }
            let wasEmpty = shared.tasks.isEmpty
            shared.tasks.append(task)
            // One wake per batch: a non-empty queue means a wake is already on its way.
            // Signalled under the lock so that the eventfd cannot be closed meanwhile.
            if wasEmpty { _ = cepoll_eventfd_signal(wakeFD) }
            return true
        }
    }

    /// Runs `action` on the loop thread once `delay` has passed (monotonic clock, millisecond
    /// resolution). Callable from any thread. Timers fire in deadline order; equal deadlines fire
    /// in the order they were scheduled.
    ///
    /// ```swift
    /// let timeout = loop.schedule(after: .seconds(3)) { connection.close() }
    /// timeout.cancel()
    /// ```
    @discardableResult
    public func schedule(after delay: Duration, _ action: @escaping @Sendable () -> Void) -> TimerHandle {
        schedule(at: .now + delay, action)
    }

    /// Runs `action` on the loop thread at `deadline`. Callable from any thread.
    ///
    /// ```swift
    /// let timer = loop.schedule(at: MonotonicTime.now + .milliseconds(5)) { print("due") }
    /// ```
    @discardableResult
    public func schedule(at deadline: MonotonicTime, _ action: @escaping @Sendable () -> Void) -> TimerHandle {
        let handle = TimerHandle(deadline: deadline, counter: cancelledTimers)
        if inEventLoop {
            timers.insert(handle: handle, action: action)
        } else if !execute({ self.timers.insert(handle: handle, action: action) }) {
            handle.cancel()
        }
        return handle
    }

    /// Asks the loop to stop: `run()` finishes the events in hand, runs the tasks already
    /// submitted, closes every connection and listener still registered, and returns.
    /// Callable from any thread; idempotent.
    ///
    /// ```swift
    /// loop.stop()
    /// ```
    public func stop() {
        stopRequested.store(true, ordering: .releasing)
        shared.withLock { shared in
            if shared.phase != .finished { _ = cepoll_eventfd_signal(wakeFD) }
        }
    }

    // MARK: - Loop thread

    /// Like `schedule(after:_:)` for a closure that is not `Sendable`; call it on the loop thread.
    ///
    /// ```swift
    /// // inside a connection handler, on the loop:
    /// connection.loop.scheduleOnLoop(after: .seconds(1)) { self.sendHeartbeat() }
    /// ```
    @discardableResult
    public func scheduleOnLoop(after delay: Duration, _ action: @escaping () -> Void) -> TimerHandle {
        assertInEventLoop()
        let handle = TimerHandle(deadline: .now + delay, counter: cancelledTimers)
        timers.insert(handle: handle, action: action)
        return handle
    }

    /// Arms `timer` for `deadline` (its previous arming, if pending, becomes stale). See `LoopTimer`.
    func arm(_ timer: LoopTimer, at deadline: MonotonicTime, generation: UInt64, superseding: Bool) {
        assertInEventLoop()
        if superseding { cancelledTimers.increment() }
        timers.insert(deadline: deadline.nanoseconds, .owned(timer, generation))
    }

    /// Like `execute(_:)` for a closure that is not `Sendable`; call it on the loop thread.
    /// The closure runs after the current event has been handled, never re-entrantly.
    ///
    /// ```swift
    /// loop.executeOnLoop { self.handler.finish() }
    /// ```
    public func executeOnLoop(_ task: @escaping () -> Void) {
        assertInEventLoop()
        localTasks.append(task)
    }

    /// Traps unless called on the loop thread.
    ///
    /// ```swift
    /// func send(_ frame: [UInt8]) { connection.loop.assertInEventLoop(); connection.write(frame) }
    /// ```
    public func assertInEventLoop(file: StaticString = #fileID, line: UInt = #line) {
        precondition(inEventLoop, "\(name): this must be called on the event loop's own thread",
                     file: file, line: line)
    }

    /// Runs the loop on the calling thread until `stop()`. Call it once.
    ///
    /// ```swift
    /// let group = try EventLoopGroup(threads: 2)   // runs loops on threads of its own
    /// // or, on a thread of yours:
    /// let loop = try EventLoop(); loop.run()
    /// ```
    public func run() {
        let started = shared.withLock { shared -> Bool in
            guard shared.phase == .idle else { return false }
            shared.phase = .running
            return true
        }
        precondition(started, "\(name): run() may be called only once")
        threadID.store(UInt(pthread_self()), ordering: .releasing)
        defer { threadID.store(0, ordering: .releasing) }

        var datas = [UInt64](repeating: 0, count: Int(EventLoop.eventBatch))
        var events = [UInt32](repeating: 0, count: Int(EventLoop.eventBatch))
        while !stopRequested.load(ordering: .acquiring) {
            let timeout = waitTimeoutMilliseconds()
            let result = datas.withUnsafeMutableBufferPointer { datas in
                events.withUnsafeMutableBufferPointer { events in
                    Syscall.io {
                        Int(cepoll_wait(epfd, datas.baseAddress, events.baseAddress, EventLoop.eventBatch, timeout))
                    }
                }
            }
            guard case .done(let count) = result else {
                preconditionFailure("\(name): epoll_wait failed: \(result)")
            }
            for index in 0..<count {
                dispatch(data: datas[index], events: events[index])
            }
            runDueTimers()
            runSubmittedTasks()
            runLocalTasks()
        }
        tearDown()
    }

    // MARK: - Registrations (loop thread)

    /// Adds `fd` to epoll with `interest` (CEPOLL_IN / CEPOLL_OUT bits; 0 still reports errors
    /// and hang-ups). The loop keeps `handler` alive until `deregister`.
    func register(fd: Int32, interest: UInt32, handler: any EpollHandler) throws(NetworkError) {
        assertInEventLoop()
        let generation = nextGeneration
        nextGeneration = nextGeneration &+ 1
        if nextGeneration == UInt32.max { nextGeneration = 1 }
        try Syscall.check("epoll_ctl ADD fd \(fd)") {
            Int(cepoll_ctl(epfd, CEPOLL_CTL_ADD, fd, interest, EventLoop.token(fd: fd, generation: generation)))
        }
        let index = Int(fd)
        if index >= slots.count {
            slots.append(contentsOf: repeatElement(nil, count: max(index + 1, slots.count * 2) - slots.count))
        }
        slots[index] = Slot(generation: generation, interest: interest, handler: handler)
        registrationCount += 1
    }

    /// Changes the events asked for on a registered `fd`.
    func setInterest(fd: Int32, _ interest: UInt32) throws(NetworkError) {
        assertInEventLoop()
        let index = Int(fd)
        guard index < slots.count, let slot = slots[index] else {
            throw NetworkError(errno: ENOENT, operation: "epoll_ctl MOD fd \(fd)")
        }
        if slot.interest == interest { return }
        try Syscall.check("epoll_ctl MOD fd \(fd)") {
            Int(cepoll_ctl(epfd, CEPOLL_CTL_MOD, fd, interest, EventLoop.token(fd: fd, generation: slot.generation)))
        }
        slots[index]!.interest = interest
    }

    /// Hands a registered `fd` to another handler (a connect that became a connection).
    func replaceHandler(fd: Int32, with handler: any EpollHandler) {
        assertInEventLoop()
        let index = Int(fd)
        precondition(index < slots.count && slots[index] != nil, "fd \(fd) is not registered")
        slots[index]!.handler = handler
    }

    /// Removes `fd` from epoll. Call it before closing the descriptor.
    func deregister(fd: Int32) {
        assertInEventLoop()
        let index = Int(fd)
        guard index < slots.count, slots[index] != nil else { return }
        _ = cepoll_ctl(epfd, CEPOLL_CTL_DEL, fd, 0, 0)
        slots[index] = nil
        registrationCount -= 1
    }

    // MARK: - Internals

    private static func token(fd: Int32, generation: UInt32) -> UInt64 {
        UInt64(generation) << 32 | UInt64(UInt32(bitPattern: fd))
    }

    private func dispatch(data: UInt64, events: UInt32) {
        if data == EventLoop.wakeToken {
            _ = cepoll_eventfd_drain(wakeFD)
            return
        }
        let index = Int(UInt32(truncatingIfNeeded: data))
        let generation = UInt32(truncatingIfNeeded: data >> 32)
        // A descriptor closed earlier in this batch (and perhaps reused) is skipped.
        guard index < slots.count, let slot = slots[index], slot.generation == generation else { return }
        slot.handler.handleEpollEvents(events)
    }

    private func waitTimeoutMilliseconds() -> Int32 {
        if !localTasks.isEmpty { return 0 }
        guard let deadline = timers.earliestDeadline else { return -1 }
        let now = MonotonicTime.now.nanoseconds
        if deadline <= now { return 0 }
        let milliseconds = (deadline - now + 999_999) / 1_000_000
        return Int32(clamping: milliseconds)
    }

    private func runDueTimers() {
        let now = MonotonicTime.now.nanoseconds
        while let entry = timers.popDue(now: now) {
            switch entry.timer {
            case .once(let handle, let action):
                if handle.claimForFiring() { action() } else { cancelledTimers.subtract(1) }
            case .owned(let timer, let generation):
                if timer.generation == generation { timer.fire() } else { cancelledTimers.subtract(1) }
            }
        }
        // A cancelled entry keeps its handle and closure context until it is removed; connects
        // cancel their timeout at once, and 10,000 loggers that connected in one burst left 10,000
        // such pairs for 5 s beside their 10,000 tickers (half the heap, which the old rule waited
        // to exceed), scattered over pages the boot burst had freed. A quarter of the heap is
        // enough: a compaction every n/3 cancellations still costs O(1) per cancellation.
        let cancelled = cancelledTimers.value
        if cancelled > 256 && cancelled * 4 > timers.count {
            cancelledTimers.subtract(timers.compact())
        }
    }

    private func runSubmittedTasks() {
        let tasks = shared.withLock { shared -> [@Sendable () -> Void] in
            let tasks = shared.tasks
            shared.tasks = []
            return tasks
        }
        for task in tasks { task() }
    }

    /// Runs the local tasks queued so far; ones they queue run on the next turn.
    private func runLocalTasks() {
        guard !localTasks.isEmpty else { return }
        let batch = localTasks
        localTasks = []
        for task in batch { task() }
    }

    private func tearDown() {
        // Finish the work submitted before the stop, then refuse more.
        while true {
            let tasks = shared.withLock { shared -> [@Sendable () -> Void]? in
                if shared.tasks.isEmpty {
                    shared.phase = .finished
                    return nil
                }
                let tasks = shared.tasks
                shared.tasks = []
                return tasks
            }
            guard let tasks else { break }
            for task in tasks { task() }
            runLocalTasks()
        }
        // Close whatever is still registered; handlers report to their users.
        let handlers = slots.compactMap { $0?.handler }
        for handler in handlers { handler.handleLoopShutdown() }
        var rounds = 0
        while !localTasks.isEmpty && rounds < 1000 {
            runLocalTasks()
            rounds += 1
        }
        for entry in timers.removeAll() {
            switch entry.timer {
            case .once(let handle, _): handle.cancel()
            case .owned(let timer, _): timer.forget()
            }
        }
        slots = []
        // No thread can signal the eventfd any more: the phase is finished.
        descriptorsClosed = true
        Syscall.close(wakeFD)
        Syscall.close(epfd)
    }
}
