/// The packets of one logger from its oldest unacknowledged one to its newest, in send order
/// (QNs strictly increase), with what became of each: a ring that grows only while its oldest
/// entry is unacknowledged, up to a cap; settled entries stay until overwritten, so that a
/// second acknowledgement of a packet is recognised as a duplicate.
///
/// Not `Sendable`: part of one logger, on one event loop.
struct OutstandingRing {
    enum State: UInt8 { case waiting, acked, givenUp }
    struct Entry {
        var qn: Int64
        var scheduled: UInt64
        var sent: UInt64
        var state: State
    }

    private(set) var entries: [Entry] = []
    private var head = 0
    private(set) var count = 0
    /// Entries still waiting for their acknowledgement.
    private(set) var waiting = 0

    var isEmpty: Bool { count == 0 }

    subscript(offset: Int) -> Entry {
        get { entries[(head + offset) & (entries.count - 1)] }
        set { entries[(head + offset) & (entries.count - 1)] = newValue }
    }

    /// Appends a packet just sent. If the ring is at `cap` with its oldest entry still waiting,
    /// that entry is given up and returned (the caller counts it).
    mutating func append(_ e: Entry, cap: Int) -> Entry? {
        var evicted: Entry?
        if count == entries.count {
            if entries.isEmpty {
                entries = [Entry](repeating: Entry(qn: 0, scheduled: 0, sent: 0, state: .acked), count: 4)
                head = 0
            } else if self[0].state == .waiting && entries.count < cap {
                grow()
            } else {
                if self[0].state == .waiting {
                    var old = self[0]
                    old.state = .givenUp
                    evicted = old
                    waiting -= 1
                }
                head = (head + 1) & (entries.count - 1)
                count -= 1
            }
        }
        self[count] = e
        count += 1
        if e.state == .waiting { waiting += 1 }
        return evicted
    }

    private mutating func grow() {
        var bigger = [Entry](repeating: Entry(qn: 0, scheduled: 0, sent: 0, state: .acked), count: entries.count * 2)
        for k in 0..<count { bigger[k] = self[k] }
        entries = bigger
        head = 0
    }

    /// The offset of the entry with this QN (binary search: QNs increase).
    func find(_ qn: Int64) -> Int? {
        var lo = 0, hi = count - 1
        while lo <= hi {
            let mid = (lo + hi) / 2
            let v = self[mid].qn
            if v == qn { return mid }
            if v < qn { lo = mid + 1 } else { hi = mid - 1 }
        }
        return nil
    }

    /// Marks an entry settled.
    mutating func settle(_ offset: Int, as state: State) {
        if self[offset].state == .waiting && state != .waiting { waiting -= 1 }
        self[offset].state = state
    }

    /// Gives up the waiting entries sent at or before `deadline`; returns how many.
    /// (Only entries scheduled at or after `countedFrom` are counted: the warm-up's are not.)
    mutating func expire(sentAtOrBefore deadline: UInt64, countedFrom: UInt64 = 0) -> Int {
        var n = 0
        var k = 0
        while k < count && waiting > 0 {
            let e = self[k]
            if e.state == .waiting {
                if e.sent > deadline { break }
                settle(k, as: .givenUp)
                if e.scheduled >= countedFrom { n += 1 }
            }
            k += 1
        }
        return n
    }

    /// Gives up everything still waiting; returns how many.
    mutating func giveUpAll(countedFrom: UInt64 = 0) -> Int {
        var n = 0
        for k in 0..<count where self[k].state == .waiting {
            if self[k].scheduled >= countedFrom { n += 1 }
            settle(k, as: .givenUp)
        }
        return n
    }

    /// Forgets settled history (frees a ring that grew during a stall once all is settled).
    mutating func shrinkIfIdle() {
        if waiting == 0 && entries.count > 16 {
            entries = []
            head = 0
            count = 0
        }
    }
}
