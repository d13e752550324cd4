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

    /// Like `prepareForNetworking()`, and tells what the open-file limit allows: the soft limit
    /// before and after the raise, the hard limit, the descriptors already open. Commands that
    /// open many sockets print `limit.boundMessage(...)` when it is what caps them.
    ///
    /// ```swift
    /// let limit = ProcessSetup.prepareDescriptors()
    /// if let line = limit.boundMessage(connections: 20_000) { print("hj212 simulate: \(line)") }
    /// ```
    public static func prepareDescriptors() -> DescriptorLimit {
        let before: (soft: Int, hard: Int) = (try? openFileLimit()) ?? (soft: 1024, hard: 1024)
        _ = try? ignoreSIGPIPE()
        let soft = (try? raiseOpenFileLimit()) ?? before.soft
        let hard = (try? openFileLimit())?.hard ?? before.hard
        return DescriptorLimit(soft: soft, hard: hard, softBefore: before.soft, inUse: descriptorsInUse())
    }

    /// Descriptors open in this process now (entries of /proc/self/fd; 0 when unreadable).
    ///
    /// ```swift
    /// let free = limit.soft - ProcessSetup.descriptorsInUse()
    /// ```
    public static func descriptorsInUse() -> Int {
        guard let dir = opendir("/proc/self/fd") else { return 0 }
        defer { closedir(dir) }
        var count = -1  // the directory's own descriptor
        while let entry = readdir(dir) {
            let first = withUnsafeBytes(of: entry.pointee.d_name) { $0[0] }
            if first != UInt8(ascii: ".") { count += 1 }
        }
        return max(0, count)
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

/// The open-file limit as a process that opens many sockets sees it: on this kind of machine the
/// hard limit (20,000 here) bounds the connections one process holds, so the soft limit is raised
/// to it at start (`ProcessSetup.prepareDescriptors()`), and a command asked for more connections
/// than fit says so in one line (`boundMessage`).
///
/// ```swift
/// let limit = DescriptorLimit(soft: 20_000, hard: 20_000, softBefore: 1024, inUse: 6)
/// limit.connectionsThatFit()                  // 19,978 (16 kept spare)
/// limit.boundMessage(connections: 20_000)     // "the descriptor limit is the bound: …"
/// ```
public struct DescriptorLimit: Sendable, Equatable {
    /// The soft limit now (after the raise).
    public var soft: Int
    /// The hard limit (going past it needs CAP_SYS_RESOURCE).
    public var hard: Int
    /// The soft limit the process started with.
    public var softBefore: Int
    /// Descriptors open when the limit was read (standard streams, pipes, event loops …).
    public var inUse: Int
    /// Descriptors kept free for what a run opens besides its connections (event loops, the
    /// listener and its reserve descriptor, trace and report files, /proc reads).
    public static let defaultSpare = 16

    public init(soft: Int, hard: Int, softBefore: Int, inUse: Int) {
        self.soft = soft
        self.hard = hard
        self.softBefore = softBefore
        self.inUse = inUse
    }

    /// Connections that fit under the soft limit, `spare` descriptors kept free.
    public func connectionsThatFit(spare: Int = DescriptorLimit.defaultSpare) -> Int {
        max(0, soft - inUse - spare)
    }

    /// One line when `connections` do not fit (nil when they do): how many fit, the limits, and
    /// whether the soft limit was raised to the hard one.
    ///
    /// ```swift
    /// // "the descriptor limit is the bound: 20,000 connections asked, 19,978 fit (open-file limit 20,000 = the hard limit, raised from 1,024 at start; 6 in use)"
    /// ```
    public func boundMessage(connections: Int, spare: Int = DescriptorLimit.defaultSpare) -> String? {
        let fit = connectionsThatFit(spare: spare)
        guard connections > fit else { return nil }
        let raised = softBefore < soft ? ", raised from \(Self.grouped(softBefore)) at start" : ""
        let which = soft >= hard ? "= the hard limit\(raised)" : "below the hard limit \(Self.grouped(hard)): it could not be raised"
        return "the descriptor limit is the bound: \(Self.grouped(connections)) connections asked, \(Self.grouped(fit)) fit "
            + "(open-file limit \(Self.grouped(soft)) \(which); \(inUse) in use, \(spare) kept spare; raise the hard limit (ulimit -Hn) or run shards)"
    }

    static func grouped(_ n: Int) -> String {
        let digits = Array(String(n.magnitude))
        var out = ""
        for (i, d) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(d)
        }
        return (n < 0 ? "-" : "") + out
    }
}
