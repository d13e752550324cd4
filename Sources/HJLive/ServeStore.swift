import Dispatch
import Glibc
import HJ212
import HJNetwork
import HJRoles
import HJStore
import Synchronization

/// `serve --store`: acknowledged means stored.
///
/// After each session input the link hands its outputs here (`LivePlatformLink.commit`): when the
/// input accepted something (`packetAccepted`, `recordAccepted`, `commandFinished` events), its
/// sends (the 9014 / 9013 acks among them) are held, and the packets' rows join the batch of the
/// link's event loop for this round (`StoreBatch`: flat rows, built on the loop). At the end of
/// the loop's round (a local task, `EventLoop.executeOnLoop`) the round's batch goes to the
/// store's **writer thread** and the loop takes an empty one from the pool; it goes on reading.
/// The writer takes everything the loops have handed over since its last commit (group commit:
/// several rounds of several loops) and writes it in one transaction; only after COMMIT returned
/// does it hand each round's held actions back to its loop (`EventLoop.execute`), which performs
/// them in the order they were produced, and the emptied batches back to the pool. A link with
/// held actions holds later ones too (until those are performed), so its bytes never overtake
/// each other.
///
/// A failed commit stops acknowledging for good: the held acks are dropped (the loggers keep
/// their data and resend it to a platform that can store it), later events' actions are dropped
/// too (counted in `unsentReplies`), and `serve` says so in one line (`failureLine`).
///
/// Budget: the rounds waiting for the writer hold at most `maxQueuedPackets` packets; a loop
/// that would exceed it waits for the writer before handing over more (it stops reading, so the
/// loggers wait in their own kernels). Plus the transaction being written, of the same bound.
/// The pool keeps at most `maxPooledBatches` emptied batches, each of at most
/// `maxPooledBatchBytes` (a larger one, after a burst, is freed instead).
package final class StoreSink: Sendable {
    package let store: Store
    private let failure = Mutex<String?>(nil)
    /// Sends (acknowledgements, replies) dropped because the store had failed.
    private let unsent = Atomic<Int>(0)
    private let batches = Mutex<[ObjectIdentifier: LoopBatch]>([:])
    private let counters = Mutex<StoreOutcome>(StoreOutcome())
    private let queue = Mutex<WriterQueue>(WriterQueue())
    private let work = DispatchSemaphore(value: 0)
    private let writerDone = DispatchSemaphore(value: 0)
    /// Packets handed to the writer and not yet taken by it, beyond which a loop waits. It also
    /// bounds a transaction (what the writer takes at once), hence the wait of an ack: with
    /// 20,000, a loaded machine took seconds per commit and 10,000 loggers timed out and
    /// reconnected (bench store).
    package static let maxQueuedPackets = 8_000
    /// A writer woken with fewer packets than this waits `lingerMicroseconds` before taking
    /// them: the acks of a lone packet leave that much later, a busy platform commits fewer,
    /// larger transactions.
    package static let lingerBelowPackets = 256
    package static let lingerMicroseconds: UInt32 = 2_000
    /// Emptied batches kept for reuse, and the largest kept (bytes of its buffers).
    package static let maxPooledBatches = 16
    package static let maxPooledBatchBytes = 4 << 20
    private let pool = Mutex<[StoreBatch]>([])

    /// Rounds handed over and not yet written.
    struct WriterQueue {
        var rounds: [Round] = []
        var packets = 0
        var stopping = false
        var stopped = false
        /// Transactions written, for the tests and the benchmark.
        var commits = 0
    }

    /// One round of one loop: what it accepted, and the actions held until it is committed.
    struct Round: @unchecked Sendable {
        /// Taken out (nil) once written, so that the writer holds the only reference when it
        /// empties the batch for reuse (a shared one would be copied).
        var rows: StoreBatch?
        var held: [(LivePlatformLink, [SessionAction])]
        let batch: LoopBatch
    }

    package init(store: Store) {
        self.store = store
        let q = DispatchQueue(label: "hj212.store.writer", qos: .userInitiated)
        q.async { [self] in writerLoop() }
    }

    /// Why the store stopped accepting, if it did.
    package var failed: String? { failure.withLock { $0 } }
    /// Sends (9014 / 9013 acknowledgements and other replies) the platform produced but did not
    /// write because the store had failed: the `PlatformState` counters include them.
    package var unsentReplies: Int { unsent.load(ordering: .relaxed) }
    /// Totals of every committed batch.
    package var totals: StoreOutcome { counters.withLock { $0 } }
    /// Transactions committed so far.
    package var commits: Int { queue.withLock { $0.commits } }

    /// The round being gathered on one event loop: touched only on that loop's thread (the rule
    /// that makes `@unchecked Sendable` safe; the dictionary that finds it is under a mutex).
    package final class LoopBatch: @unchecked Sendable {
        let loop: EventLoop
        var rows: StoreBatch
        var held: [(LivePlatformLink, [SessionAction])] = []
        /// Per link: held action lists not yet performed (this round's and those being written).
        var holding: [ObjectIdentifier: Int] = [:]
        var scheduled = false
        init(loop: EventLoop, rows: StoreBatch) {
            self.loop = loop
            self.rows = rows
        }
    }

    private func loopBatch(_ loop: EventLoop) -> LoopBatch {
        batches.withLock { b in
            if let existing = b[ObjectIdentifier(loop)] { return existing }
            let fresh = LoopBatch(loop: loop, rows: StoreBatch())
            b[ObjectIdentifier(loop)] = fresh
            return fresh
        }
    }

    /// Journals the events of one input's outputs; returns true when its sends are held (or
    /// dropped after a failure), false when the link may perform them now.
    package func hold(_ link: LivePlatformLink, _ outputs: [PlatformOutput]) -> Bool {
        let stores = outputs.contains { o in
            switch o {
            case .packetAccepted, .recordAccepted, .commandFinished: return true
            case .send, .close, .counted, .diagnostic, .logged, .notice: return false
            }
        }
        if failed != nil {
            if stores {
                var sends = 0
                for case .send in outputs { sends += 1 }
                unsent.add(sends, ordering: .relaxed)
            }
            return stores
        }
        let id = ObjectIdentifier(link)
        let lb = loopBatch(link.connection.loop)
        guard stores || lb.holding[id] != nil else { return false }
        // A record belongs to the packet of the same input accepted just before it (it is
        // stored in that packet's row; a record with no packet before it in this input is not
        // stored, as `PlatformJournal` has it); when two follow one packet, the last counts.
        var pending: AcceptedPacket?
        var record: DataSegment?
        for o in outputs {
            switch o {
            case .packetAccepted(let p):
                if let q = pending { lb.rows.add(packet: q, record: record) }
                pending = p
                record = nil
            case .recordAccepted(let r): if pending != nil { record = r.segment }
            case .commandFinished(let c): lb.rows.add(command: c)
            case .send, .close, .counted, .diagnostic, .logged, .notice: break
            }
        }
        if let q = pending { lb.rows.add(packet: q, record: record) }
        // The actions by hand: `outputs.actions` (a generic `compactMap`) cost 7k instructions
        // per input (callgrind, session 12).
        var actions: [SessionAction] = []
        for o in outputs {
            switch o {
            case .send(let bytes, _): actions.append(.send(bytes))
            case .close(let reason): actions.append(.close(reason: reason))
            case .packetAccepted, .recordAccepted, .commandFinished, .counted, .diagnostic, .logged, .notice: break
            }
        }
        lb.held.append((link, actions))
        lb.holding[id, default: 0] += 1
        if !lb.scheduled {
            lb.scheduled = true
            lb.loop.executeOnLoop { [self] in submit(lb) }
        }
        return true
    }

    /// End of a loop's round: hands its batch and held actions to the writer. Waits (bounded
    /// by the writer's progress) while the writer has more than `maxQueuedPackets` in hand.
    func submit(_ lb: LoopBatch) {
        let round = Round(rows: lb.rows, held: lb.held, batch: lb)
        lb.rows = pool.withLock { $0.popLast() } ?? StoreBatch()
        lb.held = []
        lb.scheduled = false
        let n = round.rows?.packetCount ?? 0
        while true {
            let (accepted, wake) = queue.withLock { q -> (Bool, Bool) in
                guard !q.stopped else { return (true, false) }
                guard q.packets == 0 || q.packets + n <= Self.maxQueuedPackets else { return (false, false) }
                q.rounds.append(round)
                q.packets += n
                return (true, q.rounds.count == 1)
            }
            if wake { work.signal() }
            if accepted { return }
            usleep(200)
        }
    }

    /// The writer thread: takes every round handed over, writes them in one transaction, then
    /// gives each round's held actions back to its loop.
    private func writerLoop() {
        while true {
            work.wait()
            // A commit of a few packets costs nearly what one of hundreds does (BEGIN and
            // COMMIT, the file locks, the tail page of every table and index written to the WAL
            // again), so a writer woken for a small batch lets the loops gather a little more.
            let (queued, stopping) = queue.withLock { ($0.packets, $0.stopping) }
            if queued < Self.lingerBelowPackets && !stopping { usleep(Self.lingerMicroseconds) }
            var (rounds, stop) = queue.withLock { q -> ([Round], Bool) in
                defer { q.rounds = []; q.packets = 0 }
                return (q.rounds, q.stopping)
            }
            if !rounds.isEmpty { write(&rounds) }
            if stop && queue.withLock({ $0.rounds.isEmpty }) { break }
        }
        queue.withLock { $0.stopped = true }
        writerDone.signal()
    }

    private func write(_ rounds: inout [Round]) {
        if failed == nil {
            do {
                let outcome = try store.write(rounds.lazy.compactMap(\.rows))
                counters.withLock { c in
                    c.stored += outcome.stored
                    c.duplicates += outcome.duplicates
                    c.reusedQN += outcome.reusedQN
                    c.records += outcome.records
                    c.values += outcome.values
                    c.commands += outcome.commands
                }
                queue.withLock { $0.commits += 1 }
            } catch {
                failure.withLock { f in if f == nil { f = error.message } }
            }
        }
        guard failed == nil else {
            // Held acks dropped: the loggers keep their data (counted for the summary).
            var sends = 0
            for round in rounds { for (_, actions) in round.held { for case .send in actions { sends += 1 } } }
            unsent.add(sends, ordering: .relaxed)
            return
        }
        // The batches, emptied, go back to the pool (their memory is reused by the loops: nothing
        // per packet is freed here). The held actions go back to the loops in one task per loop
        // for all of its rounds of this commit, in order: a task per round took the loop's task
        // lock once per round against the loop itself (`_lockSlow` in perf, session 12).
        recycle(&rounds)
        var byLoop: [ObjectIdentifier: (LoopBatch, [[(LivePlatformLink, [SessionAction])]])] = [:]
        for r in rounds where !r.held.isEmpty {
            byLoop[ObjectIdentifier(r.batch), default: (r.batch, [])].1.append(r.held)
        }
        for (lb, helds) in byLoop.values {
            _ = lb.loop.execute { for held in helds { Self.release(held, in: lb) } }
        }
    }

    /// Empties the rounds' batches and keeps them for the loops, within the pool's budget.
    private func recycle(_ rounds: inout [Round]) {
        var spare: [StoreBatch] = []
        for i in rounds.indices {
            guard var rows = rounds[i].rows else { continue }
            rounds[i].rows = nil
            guard rows.retainedBytes <= Self.maxPooledBatchBytes else { continue }
            rows.removeAll()
            spare.append(rows)
        }
        pool.withLock { p in
            for b in spare where p.count < Self.maxPooledBatches { p.append(b) }
        }
    }

    /// On the loop: performs the held actions of a committed round, in order.
    private static func release(_ held: [(LivePlatformLink, [SessionAction])], in lb: LoopBatch) {
        for (link, actions) in held {
            let id = ObjectIdentifier(link)
            if let n = lb.holding[id] { lb.holding[id] = n > 1 ? n - 1 : nil }
            link.perform(actions)
        }
    }

    /// Writes what was handed over and stops the writer (the end of `serve`). Held actions
    /// released after the loops stopped are dropped (the loggers resend; a resent packet already
    /// stored is acknowledged again, not stored twice).
    package func finish() {
        let first = queue.withLock { q -> Bool in
            defer { q.stopping = true }
            return !q.stopping
        }
        guard first else { return }
        work.signal()
        writerDone.wait()
    }
}

extension StoreSink {
    /// The one line `serve` prints when the store failed.
    package var failureLine: String? {
        failed.map { "store \(store.path): \($0); not acknowledging any more (the loggers keep their data)" }
    }
}
