import Synchronization

/// A timer scheduled on an event loop; cancel it to keep it from firing.
///
/// `Sendable`: its only mutable state is an `Atomic`, so `cancel()` may be called from any thread.
/// The timer's state moves once from pending to either fired or cancelled (compare-and-exchange),
/// so after `cancel()` returns `true` the action has not run and never will; when it returns
/// `false` the action has already started (or the timer was cancelled before).
///
/// ```swift
/// let timer = loop.schedule(after: .seconds(5)) { print("too late") }
/// if timer.cancel() { print("cancelled in time") }
/// ```
public final class TimerHandle: Sendable {
    private static let pending: UInt8 = 0
    private static let fired: UInt8 = 1
    private static let cancelled: UInt8 = 2

    private let state = Atomic<UInt8>(TimerHandle.pending)
    /// The loop's count of cancelled timers still in its heap (to know when to compact it).
    private let cancelledInHeap: CancelledTimerCounter?

    /// When the timer is due.
    public let deadline: MonotonicTime

    init(deadline: MonotonicTime, counter: CancelledTimerCounter?) {
        self.deadline = deadline
        self.cancelledInHeap = counter
    }

    /// A handle for a timer that will never fire (scheduled on a loop that has stopped).
    static func alreadyCancelled(deadline: MonotonicTime) -> TimerHandle {
        let handle = TimerHandle(deadline: deadline, counter: nil)
        handle.state.store(TimerHandle.cancelled, ordering: .relaxed)
        return handle
    }

    /// Cancels the timer. Returns `true` if it was pending and now will not fire.
    ///
    /// ```swift
    /// timeout.cancel()
    /// ```
    @discardableResult
    public func cancel() -> Bool {
        let (exchanged, _) = state.compareExchange(
            expected: TimerHandle.pending, desired: TimerHandle.cancelled, ordering: .acquiringAndReleasing)
        if exchanged { cancelledInHeap?.increment() }
        return exchanged
    }

    /// Whether `cancel()` won before the timer fired.
    public var isCancelled: Bool { state.load(ordering: .acquiring) == TimerHandle.cancelled }

    /// Whether the timer's action has run (or is running).
    public var hasFired: Bool { state.load(ordering: .acquiring) == TimerHandle.fired }

    /// Marks the timer fired; `false` if it was cancelled first. Called by the loop only.
    func claimForFiring() -> Bool {
        state.compareExchange(
            expected: TimerHandle.pending, desired: TimerHandle.fired, ordering: .acquiringAndReleasing
        ).exchanged
    }
}

/// How many cancelled timers an event loop's heap still holds.
/// `Sendable`: an `Atomic` only, incremented from any thread by `TimerHandle.cancel()`.
final class CancelledTimerCounter: Sendable {
    private let count = Atomic<Int>(0)
    func increment() { count.add(1, ordering: .relaxed) }
    func subtract(_ n: Int) { count.subtract(n, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }
}
