/// Bytes written to a connection that the kernel has not taken yet: a queue of chunks with a
/// read offset into the first one. Small writes are merged into the last chunk (up to 64 KiB) so
/// that many small writes leave in few system calls.
///
/// Not `Sendable`: it belongs to one connection, touched on its loop thread only.
struct OutputQueue {
    private static let mergeLimit = 64 * 1024

    private var chunks: [[UInt8]] = []
    /// Index in `chunks` of the first chunk not fully sent.
    private var head = 0
    /// Bytes of `chunks[head]` already sent.
    private var offset = 0
    /// Bytes queued and not yet sent.
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }

    /// Queues `bytes`, of which the first `alreadySent` have been sent (only on an empty queue:
    /// the rest of a write that the kernel took in part; the array is kept, not copied).
    mutating func append(_ bytes: [UInt8], alreadySent: Int = 0) {
        let remaining = bytes.count - alreadySent
        guard remaining > 0 else { return }
        if alreadySent > 0 {
            precondition(isEmpty, "a partly sent write can only start an empty queue")
            chunks = [bytes]
            head = 0
            offset = alreadySent
        } else if chunks.count > head, chunks[chunks.count - 1].count + bytes.count <= OutputQueue.mergeLimit {
            chunks[chunks.count - 1].append(contentsOf: bytes)
        } else {
            chunks.append(bytes)
        }
        count += remaining
    }

    /// Calls `body` with the unsent bytes of the first chunk; nil when the queue is empty.
    mutating func withFirstChunk<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R? {
        guard head < chunks.count else { return nil }
        let start = offset
        return chunks[head].withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[start...])) }
    }

    /// Marks `sent` bytes of the first chunk as sent.
    mutating func consume(_ sent: Int) {
        count -= sent
        offset += sent
        if offset == chunks[head].count {
            head += 1
            offset = 0
            if head == chunks.count {
                removeAll()
            } else if head >= 16 && head * 2 >= chunks.count {
                chunks.removeFirst(head)
                head = 0
            }
        }
    }

    mutating func removeAll() {
        chunks = []
        head = 0
        offset = 0
        count = 0
    }
}
