import CEpoll
import Glibc

/// Process-wide settings that a program with many sockets needs once, at start.
///
/// ```swift
/// let limit = try ProcessSetup.prepareForNetworking()
/// print("up to \(limit) open files")
/// ```
public enum ProcessSetup {
    /// Ignores SIGPIPE (a write to a closed peer then fails with EPIPE instead of killing the
    /// process) and raises the open-file limit to the hard limit. Returns the new soft limit.
    ///
    /// ```swift
    /// _ = try ProcessSetup.prepareForNetworking()
    /// ```
    @discardableResult
    public static func prepareForNetworking() throws(NetworkError) -> Int {
        try ignoreSIGPIPE()
        return try raiseOpenFileLimit()
    }

    /// Ignores SIGPIPE for the whole process.
    ///
    /// ```swift
    /// try ProcessSetup.ignoreSIGPIPE()
    /// ```
    public static func ignoreSIGPIPE() throws(NetworkError) {
        try Syscall.check("signal SIGPIPE") { Int(cepoll_ignore_sigpipe()) }
    }

    /// Raises the soft limit of open files (RLIMIT_NOFILE) to the hard limit; returns the new soft
    /// limit. Going past the hard limit needs CAP_SYS_RESOURCE, which this does not try.
    ///
    /// ```swift
    /// let limit = try ProcessSetup.raiseOpenFileLimit()   // for example 20000
    /// ```
    @discardableResult
    public static func raiseOpenFileLimit() throws(NetworkError) -> Int {
        var soft: UInt64 = 0
        var hard: UInt64 = 0
        try Syscall.check("setrlimit RLIMIT_NOFILE") { Int(cepoll_raise_nofile_limit(&soft, &hard)) }
        return Int(clamping: soft)
    }

    /// The current soft and hard limits of open files.
    ///
    /// ```swift
    /// let (soft, hard) = try ProcessSetup.openFileLimit()
    /// ```
    public static func openFileLimit() throws(NetworkError) -> (soft: Int, hard: Int) {
        var soft: UInt64 = 0
        var hard: UInt64 = 0
        try Syscall.check("getrlimit RLIMIT_NOFILE") { Int(cepoll_nofile_limit(&soft, &hard)) }
        return (Int(clamping: soft), Int(clamping: hard))
    }

    /// Gives memory freed after a burst back to the system (glibc `malloc_trim`).
    @discardableResult
    public static func releaseFreeMemory() -> Bool { cepoll_release_free_memory() == 1 }
}
