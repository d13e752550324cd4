import Dispatch
import Foundation

/// A thread of its own for a loop that blocks for the whole run (a serial line answering
/// requests, a logger's polling line).
///
/// Such loops must not go to `DispatchQueue.global()`: its worker pool is process-wide, about
/// as wide as the machine has cores, shared with Swift concurrency's global executor (and so
/// with the tests of a parallel `swift test`), and it grows only slowly (about one thread a
/// second) when its workers block. A loop queued behind blocked work there starts seconds late:
/// at ×600 the first three seconds are half an hour of simulated time, and a logger that starts
/// reading then misses what its instruments did meanwhile (issue: `demo --sensors` lost the
/// calibration when run in-process next to the electricity tests).
enum LineThread {
    /// Starts `body` now on a new thread named `name`; `group` is left when it returns, so that
    /// a caller waits for it with `group.wait(timeout:)` as for a Dispatch work item.
    static func start(name: String, group: DispatchGroup, _ body: @escaping @Sendable () -> Void) {
        group.enter()
        let thread = Thread {
            body()
            group.leave()
        }
        thread.name = name
        thread.start()
    }
}
