import CEpoll
import Glibc

/// A POSIX thread that runs one closure; used by `EventLoopGroup` to run one loop per thread.
///
/// `Sendable`: immutable after `start` (the thread id is a plain integer).
struct LoopThread: Sendable {
    let id: pthread_t

    private final class Box {
        let name: String
        let body: @Sendable () -> Void
        init(name: String, body: @escaping @Sendable () -> Void) {
            self.name = name
            self.body = body
        }
    }

    /// Starts a thread named `name` (at most 15 bytes are kept) running `body`.
    ///
    /// ```swift
    /// let thread = try LoopThread.start(name: "hj-loop-0") { loop.run() }
    /// thread.join()
    /// ```
    static func start(name: String, _ body: @escaping @Sendable () -> Void) throws(NetworkError) -> LoopThread {
        let box = Unmanaged.passRetained(Box(name: name, body: body)).toOpaque()
        var id = pthread_t()
        let rc = pthread_create(&id, nil, { argument in
            let box = Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue()
            _ = cepoll_set_thread_name(box.name)
            box.body()
            return nil
        }, box)
        if rc != 0 {
            Unmanaged<Box>.fromOpaque(box).release()
            throw NetworkError(errno: rc, operation: "start thread \(name)")
        }
        return LoopThread(id: id)
    }

    /// Waits for the thread to end.
    func join() {
        _ = pthread_join(id, nil)
    }
}
