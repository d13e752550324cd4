/// A min-heap of timers ordered by deadline, then by scheduling order (so timers with the same
/// deadline fire first-in, first-out). Cancelled timers (and the superseded armings of a
/// `LoopTimer`) are removed lazily: when they reach the top, or all at once by `compact()` when
/// many accumulate.
///
/// Not `Sendable`: it belongs to one event loop and is touched only on that loop's thread.
struct TimerHeap {
    /// What fires: a one-shot timer (its handle and action), or one arming of a `LoopTimer`.
    enum Timer {
        case once(TimerHandle, () -> Void)
        /// The timer and its `generation` when armed: a later arming or a cancel makes it stale.
        case owned(LoopTimer, UInt64)

        /// Cancelled, or superseded: it will not fire.
        var isStale: Bool {
            switch self {
            case .once(let handle, _): handle.isCancelled
            case .owned(let timer, let generation): timer.generation != generation
            }
        }
    }

    struct Entry {
        let deadline: UInt64
        let sequence: UInt64
        let timer: Timer
    }

    /// What the heap orders: plain values, so that sifting neither retains nor releases (with
    /// the timers in the heap's own elements, every comparison and swap of a sift retained and
    /// released their handles and closures: 7 % of 10,000 live loggers' CPU in session 21's
    /// profile). `slot` is the timer's place in `slots`.
    private struct Key {
        let deadline: UInt64
        let sequence: UInt64
        let slot: Int

        @inline(__always)
        func precedes(_ other: Key) -> Bool {
            deadline != other.deadline ? deadline < other.deadline : sequence < other.sequence
        }
    }

    private var keys: [Key] = []
    /// The timers by slot; a slot is nil while free (in `freeSlots`). It holds at most as many
    /// slots as the heap ever held entries at once.
    private var slots: [Timer?] = []
    private var freeSlots: [Int] = []
    private var nextSequence: UInt64 = 0

    var count: Int { keys.count }
    /// Slots held (the tests check that they are reused).
    var slotCount: Int { slots.count }
    var isEmpty: Bool { keys.isEmpty }

    /// The earliest deadline, cancelled timers included (they only make the loop wake early).
    var earliestDeadline: UInt64? { keys.first?.deadline }

    mutating func insert(handle: TimerHandle, action: @escaping () -> Void) {
        insert(deadline: handle.deadline.nanoseconds, .once(handle, action))
    }

    mutating func insert(deadline: UInt64, _ timer: Timer) {
        let slot: Int
        if let free = freeSlots.popLast() {
            slots[free] = timer
            slot = free
        } else {
            slot = slots.count
            slots.append(timer)
        }
        keys.append(Key(deadline: deadline, sequence: nextSequence, slot: slot))
        nextSequence &+= 1
        siftUp(keys.count - 1)
    }

    /// Removes and returns the first entry whose deadline is at or before `now`.
    mutating func popDue(now: UInt64) -> Entry? {
        guard let first = keys.first, first.deadline <= now else { return nil }
        let last = keys.removeLast()
        if !keys.isEmpty {
            keys[0] = last
            siftDown(0)
        }
        return Entry(deadline: first.deadline, sequence: first.sequence, timer: take(first.slot))
    }

    private mutating func take(_ slot: Int) -> Timer {
        let timer = slots[slot].unsafelyUnwrapped
        slots[slot] = nil
        freeSlots.append(slot)
        return timer
    }

    /// Removes every stale entry; returns how many were removed.
    mutating func compact() -> Int {
        let before = keys.count
        var kept = 0
        for i in keys.indices {
            let key = keys[i]
            if slots[key.slot].unsafelyUnwrapped.isStale {
                _ = take(key.slot)
            } else {
                keys[kept] = key
                kept += 1
            }
        }
        keys.removeLast(keys.count - kept)
        if keys.count > 1 {
            for index in stride(from: keys.count / 2 - 1, through: 0, by: -1) { siftDown(index) }
        }
        return before - keys.count
    }

    mutating func removeAll() -> [Entry] {
        let all = keys.map { Entry(deadline: $0.deadline, sequence: $0.sequence, timer: slots[$0.slot].unsafelyUnwrapped) }
        keys = []
        slots = []
        freeSlots = []
        return all
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard keys[child].precedes(keys[parent]) else { return }
            keys.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        let count = keys.count
        while true {
            let left = 2 * parent + 1
            guard left < count else { return }
            let right = left + 1
            var best = left
            if right < count && keys[right].precedes(keys[left]) { best = right }
            guard keys[best].precedes(keys[parent]) else { return }
            keys.swapAt(parent, best)
            parent = best
        }
    }
}
