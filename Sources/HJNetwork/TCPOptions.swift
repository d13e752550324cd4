/// Settings for TCP connections, shared by clients and servers.
///
/// `Sendable` because it is a plain value.
///
/// ```swift
/// var options = TCPOptions()
/// options.maxPendingOutput = 256 * 1024
/// options.whenOutputLimitExceeded = .rejectWrite
/// ```
public struct TCPOptions: Sendable, Hashable {
    /// What `write` does when accepting the bytes would queue more than `maxPendingOutput`.
    public enum OutputLimitPolicy: Sendable, Hashable {
        /// Close the connection with `CloseReason.outputLimitExceeded` (the default): a peer that
        /// does not read cannot make us hold unbounded memory.
        case close
        /// Refuse the write (`write` returns `false`, nothing is queued) and keep the connection;
        /// the writer waits for `connectionDidDrain` before writing again.
        case rejectWrite
    }

    /// Disable Nagle's algorithm (`TCP_NODELAY`): small frames leave at once. Default `true`.
    public var noDelay: Bool = true
    /// The most bytes a connection queues in user space for a peer that reads slowly (bytes
    /// already in the kernel's socket buffer are not counted). Default 16 MiB.
    public var maxPendingOutput: Int = 16 * 1024 * 1024
    /// What to do when `maxPendingOutput` would be exceeded. Default `.close`.
    public var whenOutputLimitExceeded: OutputLimitPolicy = .close
    /// Reads of up to 64 KiB done for one readiness event before the loop turns to other
    /// connections (fairness); the rest is read on the next turn. Default 16.
    public var maxReadsPerEvent: Int = 16

    /// The defaults.
    ///
    /// ```swift
    /// let options = TCPOptions()
    /// ```
    public init() {}
}
