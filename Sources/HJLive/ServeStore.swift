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
/// sends (the 9014 / 9013 acks among them) are held, and
/// the packets join the batch of the link's event loop. At the end of the loop's round (a local
/// task, `EventLoop.executeOnLoop`) the batch is written in one transaction; only after COMMIT
/// returns are the held actions performed, in the order they were produced. A link with held
/// actions holds later ones too, so its bytes never overtake each other.
///
/// A failed commit stops acknowledging for good: the held acks are dropped (the loggers keep
/// their data and resend it to a platform that can store it), later events' actions are dropped
/// too, and `serve` says so in one line (`failureLine`).
///
/// Budget: a batch holds at most one round of events of one loop (the loop reads at most
/// `EventLoop.eventBatch` sockets per round, each read bounded by the connection's read size), so
/// memory is bounded by what one round can read.
package final class StoreSink: Sendable {
    package let store: Store
    private let failure = Mutex<String?>(nil)
    private let batches = Mutex<[ObjectIdentifier: LoopBatch]>([:])
    private let counters = Mutex<StoreOutcome>(StoreOutcome())

    package init(store: Store) {
        self.store = store
    }

    /// Why the store stopped accepting, if it did.
    package var failed: String? { failure.withLock { $0 } }
    /// Totals of every committed batch.
    package var totals: StoreOutcome { counters.withLock { $0 } }

    /// The batch of one event loop: touched only on that loop's thread (the rule that makes
    /// `@unchecked Sendable` safe; the dictionary that finds it is under a mutex).
    package final class LoopBatch: @unchecked Sendable {
        package var batch = StoreBatch()
        package var held: [(LivePlatformLink, [SessionAction])] = []
        package var holding: Set<ObjectIdentifier> = []
        package var scheduled = false
    }

    private func loopBatch(_ loop: EventLoop) -> LoopBatch {
        batches.withLock { b in
            if let existing = b[ObjectIdentifier(loop)] { return existing }
            let fresh = LoopBatch()
            b[ObjectIdentifier(loop)] = fresh
            return fresh
        }
    }

    /// Journals the events of one input's outputs; returns true when its sends are held (or
    /// dropped after a failure), false when the link may perform them now.
    package func hold(_ link: LivePlatformLink, _ outputs: [PlatformOutput]) -> Bool {
        var journal = PlatformJournal()
        for o in outputs { journal.add(o) }
        if failed != nil { return journal.isEmpty ? false : true }
        let id = ObjectIdentifier(link)
        let loop = link.connection.loop
        let lb = loopBatch(loop)
        guard !journal.isEmpty || lb.holding.contains(id) else { return false }
        lb.batch.add(journal)
        lb.held.append((link, outputs.actions))
        lb.holding.insert(id)
        if !lb.scheduled {
            lb.scheduled = true
            loop.executeOnLoop { [self] in commit(lb) }
        }
        return true
    }

    /// Writes the loop's batch, then performs what it held (or drops it after a failure).
    package func commit(_ lb: LoopBatch) {
        let batch = lb.batch
        let held = lb.held
        lb.batch = StoreBatch()
        lb.held = []
        lb.holding = []
        lb.scheduled = false
        if failed == nil {
            do {
                let outcome = try store.write(batch)
                counters.withLock { c in
                    c.stored += outcome.stored
                    c.duplicates += outcome.duplicates
                    c.records += outcome.records
                    c.values += outcome.values
                    c.commands += outcome.commands
                }
            } catch {
                failure.withLock { f in if f == nil { f = error.message } }
            }
        }
        guard failed == nil else { return }
        for (link, actions) in held { link.perform(actions) }
    }
}

extension StoreSink {
    /// The one line `serve` prints when the store failed.
    package var failureLine: String? {
        failed.map { "store \(store.path): \($0); not acknowledging any more (the loggers keep their data)" }
    }
}
