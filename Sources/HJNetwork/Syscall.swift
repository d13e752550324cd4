import Glibc
import CEpoll

/// The outcome of one non-blocking system call, with the three cases a caller must tell apart.
enum IOResult: Equatable {
    /// Success with the call's result (a byte count or a file descriptor).
    case done(Int)
    /// EAGAIN / EWOULDBLOCK: nothing can be done now; wait for readiness.
    case wouldBlock
    /// Any other error number (EINPROGRESS included: only connect can return it, and it handles it).
    case failed(Int32)
}

/// The one place where system calls are retried on EINTR and their `-errno` results classified.
///
/// Every CEpoll function returns a value `>= 0` on success and `-errno` on failure, so no caller
/// reads the thread-local `errno`.
enum Syscall {
    /// Runs `body`, retrying while it fails with EINTR, and classifies the result.
    ///
    /// ```swift
    /// switch Syscall.io({ Int(cepoll_read(fd, buffer, count)) }) { ... }
    /// ```
    @inline(__always)
    static func io(_ body: () -> Int) -> IOResult {
        while true {
            let result = body()
            if result >= 0 { return .done(result) }
            let code = Int32(truncatingIfNeeded: -result)
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { return .wouldBlock }
            return .failed(code)
        }
    }

    /// Runs `body` (retrying EINTR) and throws a `NetworkError` for any failure, EAGAIN included.
    ///
    /// ```swift
    /// let fd = try Syscall.check("socket") { Int(cepoll_tcp4_socket()) }
    /// ```
    @discardableResult
    static func check(_ operation: @autoclosure () -> String, _ body: () -> Int) throws(NetworkError) -> Int {
        switch io(body) {
        case .done(let value): return value
        case .wouldBlock: throw NetworkError(errno: EAGAIN, operation: operation())
        case .failed(let code): throw NetworkError(errno: code, operation: operation())
        }
    }

    /// Closes a file descriptor once. Never retried: Linux releases the descriptor even when
    /// close reports EINTR, and a retry could close a descriptor another thread just opened.
    static func close(_ fd: Int32) {
        _ = cepoll_close(fd)
    }
}
