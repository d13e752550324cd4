/// Why a connection closed, as reported to its handler.
///
/// `Sendable` because it is a value of `Sendable` fields.
///
/// ```swift
/// func connection(_ connection: TCPConnection, didCloseWith reason: CloseReason) {
///     if case .error(let error) = reason, error.kind == .reset { resets += 1 }
/// }
/// ```
public enum CloseReason: Sendable, Hashable, CustomStringConvertible {
    /// `close()` or `closeAfterFlush()` was called on this side.
    case local
    /// The peer ended its side of the stream (read returned 0: FIN received, half-close included).
    case peerClosed
    /// A system error ended the connection (ECONNRESET, EPIPE, ETIMEDOUT, ...).
    case error(NetworkError)
    /// A write would have queued more than the limit of pending output (the peer reads too
    /// slowly or not at all); `pending` bytes were queued, `attempted` more were offered.
    case outputLimitExceeded(pending: Int, attempted: Int, limit: Int)
    /// The server that accepted the connection was stopped.
    case serverStopped
    /// The connection's event loop stopped.
    case loopShutdown

    /// A short text for logs, for example `"peer closed"`.
    public var description: String {
        switch self {
        case .local: "closed locally"
        case .peerClosed: "peer closed"
        case .error(let error): "error: \(error)"
        case .outputLimitExceeded(let pending, let attempted, let limit):
            "output limit exceeded: \(pending) bytes pending + \(attempted) offered > \(limit)"
        case .serverStopped: "server stopped"
        case .loopShutdown: "event loop shut down"
        }
    }
}
