/// Receives a connection's events, on the connection's event-loop thread.
///
/// A connection starts reading only once it has a handler, so no byte is lost between the
/// connect (or accept) and the moment the handler is set. The connection holds its handler
/// strongly until it has reported the close, then lets it go.
///
/// Not required to be `Sendable`: it is called only on one loop thread.
///
/// ```swift
/// final class Echo: TCPConnectionHandler {
///     func connection(_ connection: TCPConnection, didRead bytes: [UInt8]) {
///         connection.write(bytes)
///     }
/// }
/// ```
public protocol TCPConnectionHandler: AnyObject {
    /// Bytes arrived, in order. Each call carries one read (up to 64 KiB); message boundaries
    /// of the sender are not kept.
    func connection(_ connection: TCPConnection, didRead bytes: [UInt8])

    /// Bytes arrived, lent for this call only (the loop's read buffer: copy what you keep). The
    /// connection calls this one; the default copies the bytes into an array and calls
    /// `connection(_:didRead:)`. A handler that feeds a decoder overrides it and saves the array
    /// (an allocation and a copy per read).
    func connection(_ connection: TCPConnection, didReadBuffer bytes: UnsafeRawBufferPointer)

    /// All queued output has reached the kernel after a write had to wait. Writers that got
    /// `false` from `write` (policy `.rejectWrite`) may write again. Default: nothing.
    func connectionDidDrain(_ connection: TCPConnection)

    /// The connection closed (called once, after the descriptor is closed, never from inside a
    /// `write` or `close` call). Default: nothing.
    func connection(_ connection: TCPConnection, didCloseWith reason: CloseReason)
}

extension TCPConnectionHandler {
    public func connection(_ connection: TCPConnection, didReadBuffer bytes: UnsafeRawBufferPointer) {
        self.connection(connection, didRead: [UInt8](bytes))
    }
    public func connectionDidDrain(_ connection: TCPConnection) {}
    public func connection(_ connection: TCPConnection, didCloseWith reason: CloseReason) {}
}

/// A handler made of closures, for small jobs and tests.
///
/// Not `Sendable`: its closures run on the connection's loop thread only.
///
/// ```swift
/// connection.handler = TCPCallbacks(
///     onRead: { connection, bytes in connection.write(bytes) },
///     onClose: { _, reason in print("closed: \(reason)") })
/// ```
public final class TCPCallbacks: TCPConnectionHandler {
    /// Called for each read.
    public var onRead: (TCPConnection, [UInt8]) -> Void
    /// Called when queued output has drained.
    public var onDrain: (TCPConnection) -> Void
    /// Called once when the connection closed.
    public var onClose: (TCPConnection, CloseReason) -> Void

    /// Makes a handler; each closure defaults to doing nothing.
    ///
    /// ```swift
    /// let sink = TCPCallbacks(onRead: { _, bytes in received += bytes.count })
    /// ```
    public init(onRead: @escaping (TCPConnection, [UInt8]) -> Void = { _, _ in },
                onDrain: @escaping (TCPConnection) -> Void = { _ in },
                onClose: @escaping (TCPConnection, CloseReason) -> Void = { _, _ in }) {
        self.onRead = onRead
        self.onDrain = onDrain
        self.onClose = onClose
    }

    public func connection(_ connection: TCPConnection, didRead bytes: [UInt8]) {
        onRead(connection, bytes)
    }

    public func connectionDidDrain(_ connection: TCPConnection) {
        onDrain(connection)
    }

    public func connection(_ connection: TCPConnection, didCloseWith reason: CloseReason) {
        onClose(connection, reason)
    }
}
