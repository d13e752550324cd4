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

        func precedes(_ other: Entry) -> Bool {
            deadline != other.deadline ? deadline < other.deadline : sequence < other.sequence
        }
    }

    private var entries: [Entry] = []
    private var nextSequence: UInt64 = 0

    var count: Int { entries.count }
    var isEmpty: Bool { entries.isEmpty }

    /// The earliest deadline, cancelled timers included (they only make the loop wake early).
    var earliestDeadline: UInt64? { entries.first?.deadline }

    mutating func insert(handle: TimerHandle, action: @escaping () -> Void) {
        insert(deadline: handle.deadline.nanoseconds, .once(handle, action))
    }

    mutating func insert(deadline: UInt64, _ timer: Timer) {
        entries.append(Entry(deadline: deadline, sequence: nextSequence, timer: timer))
        nextSequence &+= 1
        siftUp(entries.count - 1)
    }

    /// Removes and returns the first entry whose deadline is at or before `now`.
    mutating func popDue(now: UInt64) -> Entry? {
        guard let first = entries.first, first.deadline <= now else { return nil }
        return removeFirst()
    }

    /// Removes every stale entry; returns how many were removed.
    mutating func compact() -> Int {
        let before = entries.count
        entries.removeAll { $0.timer.isStale }
        if entries.count > 1 {
            for index in stride(from: entries.count / 2 - 1, through: 0, by: -1) { siftDown(index) }
        }
        return before - entries.count
    }

    mutating func removeAll() -> [Entry] {
        defer { entries = [] }
        return entries
    }

    private mutating func removeFirst() -> Entry {
        let first = entries[0]
        let last = entries.removeLast()
        if !entries.isEmpty {
            entries[0] = last
            siftDown(0)
        }
        return first
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[child].precedes(entries[parent]) else { return }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        let count = entries.count
        while true {
            let left = 2 * parent + 1
            guard left < count else { return }
            let right = left + 1
            var best = left
            if right < count && entries[right].precedes(entries[left]) { best = right }
            guard entries[best].precedes(entries[parent]) else { return }
            entries.swapAt(parent, best)
            parent = best
        }
    }
}
