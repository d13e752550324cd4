/// A timer that its owner arms again and again on one loop (an emulated logger's next tick):
/// made once with its action, it costs no allocation per arming, where `scheduleOnLoop` makes a
/// `TimerHandle` and a closure context every time. Those two small objects, made anew by each of
/// 10,000 loggers every few seconds, landed in the holes the boot burst had left in the loop
/// thread's heap, one or two per page, and kept ~4.5 KiB resident per idle logger (bench live).
/// Make it where the owner is made (not in a burst on the loop) and keep it for the owner's life.
///
/// Arming it again replaces the pending arming (one deadline at a time); `cancel` drops it. The
/// action runs on the loop thread, after the timer has become unarmed (so it may arm it again).
///
/// Not `Sendable`: made on any thread, then armed, cancelled and fired on its loop's thread only.
///
/// ```swift
/// let ticker = LoopTimer(loop: loop) { [weak self] in self?.tick() }
/// // on the loop:
/// ticker.schedule(after: .seconds(1))
/// ```
public final class LoopTimer {
    /// The loop the timer fires on.
    public let loop: EventLoop
    private let action: () -> Void
    /// Bumped by every arming and every cancel: a heap entry armed with an older value is stale.
    private(set) var generation: UInt64 = 0
    /// When the timer fires next (nil: not armed).
    public private(set) var deadline: MonotonicTime?

    /// A timer on `loop` that runs `action` each time it fires. Callable from any thread.
    public init(loop: EventLoop, _ action: @escaping () -> Void) {
        self.loop = loop
        self.action = action
    }

    /// Whether the timer is armed.
    public var isArmed: Bool { deadline != nil }

    /// Arms the timer for `delay` from now, replacing a pending arming. Loop thread.
    public func schedule(after delay: Duration) {
        schedule(at: .now + delay)
    }

    /// Arms the timer for `deadline`, replacing a pending arming. Loop thread.
    public func schedule(at deadline: MonotonicTime) {
        let superseding = self.deadline != nil
        generation &+= 1
        self.deadline = deadline
        loop.arm(self, at: deadline, generation: generation, superseding: superseding)
    }

    /// Drops the pending arming, if any: the action does not run for it. Loop thread.
    public func cancel() {
        loop.assertInEventLoop()
        guard deadline != nil else { return }
        forget()
        loop.cancelledTimers.increment()
    }

    /// Called by the loop when an arming is due.
    func fire() {
        deadline = nil
        action()
    }

    /// Unarmed without counting a stale entry (the loop is emptying its heap).
    func forget() {
        generation &+= 1
        deadline = nil
    }
}
