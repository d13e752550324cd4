/// The faults whose window contains a time, found without looking at the others: an interval
/// index over the specs' windows, so that a packet or a sample costs log(faults) plus the faults
/// it meets, not every fault of a long scenario (a scenario of 100,000 events scanned all of them
/// for every packet: events × packets).
///
/// Entries are sorted by window start; a segment tree over that order keeps the latest window end
/// of each node, so that a query descends only into nodes holding a window that contains the time.
/// Entries without a window (always active) are kept apart. Answers are entry numbers in
/// ascending order (the order the callers evaluated faults in before, so results do not change).
/// Queries may come in any time order.
struct WindowIndex: Sendable {
    /// Entries without a window, ascending.
    private let always: [Int]
    /// Windowed entries sorted by start: their entry numbers, starts and ends.
    private let entries: [Int]
    private let starts: [Int64]
    private let ends: [Int64]
    /// Segment tree (1-based heap layout over `leaves` leaves): the latest end in each node.
    private let maxEnd: [Int64]
    private let leaves: Int

    /// Entry `i` is active over `windows[i]` (always when nil).
    init(_ windows: [Range<Int64>?]) {
        var always: [Int] = []
        var windowed: [(start: Int64, end: Int64, entry: Int)] = []
        for (i, w) in windows.enumerated() {
            if let w {
                if !w.isEmpty { windowed.append((w.lowerBound, w.upperBound, i)) }
            } else {
                always.append(i)
            }
        }
        windowed.sort { ($0.start, $0.entry) < ($1.start, $1.entry) }
        self.always = always
        entries = windowed.map(\.entry)
        starts = windowed.map(\.start)
        ends = windowed.map(\.end)
        var leaves = 1
        while leaves < windowed.count { leaves *= 2 }
        self.leaves = leaves
        // No windows, no tree (`active` never reads it then): a logger without faults allocates nothing here.
        var tree = [Int64](repeating: .min, count: windowed.isEmpty ? 0 : 2 * leaves)
        for (i, w) in windowed.enumerated() { tree[leaves + i] = w.end }
        var node = windowed.isEmpty ? 0 : leaves - 1
        while node >= 1 {
            tree[node] = max(tree[2 * node], tree[2 * node + 1])
            node -= 1
        }
        maxEnd = tree
    }

    var isEmpty: Bool { always.isEmpty && entries.isEmpty }

    /// The entries whose window contains `t` (start ≤ t < end) and those without a window, ascending.
    func active(at t: Int64) -> [Int] {
        // Windows starting after t are the suffix from `count`.
        var lo = 0, hi = starts.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if starts[mid] <= t { lo = mid + 1 } else { hi = mid }
        }
        let count = lo
        var found: [Int] = []
        if count > 0 && maxEnd[1] > t {
            // Depth-first over the nodes that cover leaves below `count` and hold an end after t.
            var stack: [(node: Int, first: Int, width: Int)] = [(1, 0, leaves)]
            while let (node, first, width) = stack.popLast() {
                guard first < count, maxEnd[node] > t else { continue }
                if width == 1 {
                    found.append(entries[first])
                } else {
                    let half = width / 2
                    stack.append((2 * node + 1, first + half, half))
                    stack.append((2 * node, first, half))
                }
            }
        }
        if found.isEmpty { return always }
        if !always.isEmpty { found += always }
        found.sort()
        return found
    }
}
