import HJNetwork
import HJRoles

/// A sans-I/O session as the live adapter drives it: inputs in (connected, bytes, time,
/// disconnected), typed outputs appended to a buffer the adapter owns and reuses.
/// `PlatformSession` (outputs `PlatformOutput`) and `LoggerSession` (`LoggerOutput`) conform.
package protocol LiveSession {
    associatedtype Output: SessionOutput
    mutating func connected(at now: SessionTime, into out: inout [Output])
    mutating func received(_ bytes: [UInt8], at now: SessionTime, into out: inout [Output])
    /// The same from the connection's read buffer (valid during the call only).
    mutating func received(buffer bytes: UnsafeBufferPointer<UInt8>, at now: SessionTime, into out: inout [Output])
    mutating func tick(at now: SessionTime, into out: inout [Output])
    mutating func disconnected(at now: SessionTime, into out: inout [Output])
    /// When `tick` must run next (nil: nothing pending).
    var nextDeadline: SessionTime? { get }
}

extension PlatformSession: LiveSession {}

extension LoggerSession: LiveSession {
    package mutating func received(buffer bytes: UnsafeBufferPointer<UInt8>, at now: SessionTime, into out: inout [LoggerOutput]) {
        received(Array(bytes), at: now, into: &out)
    }

    /// The logger forgets the connection; it has nothing to say about it.
    package mutating func disconnected(at now: SessionTime, into out: inout [LoggerOutput]) {
        disconnected(at: now)
    }
}

/// A session on a `TCPConnection`: the one adapter of every live driver. The reference
/// platform (`serve`, `demo`, the `check logger` and `check platform` self-tests) runs a
/// `LivePlatformLink` = `SessionLink<PlatformSession>` per accepted connection; a simulated
/// logger (`simulate`, `demo`, the self-tests) a `LiveLink` = `SessionLink<LoggerSession>` per
/// platform it reports to.
///
/// Every input goes through `run`: the session appends its outputs to `outputs`, `commit` (the
/// role's override) makes them take effect in one place (the platform's model, console, store,
/// latency, ground truth, then the sends in one write), and the buffer is kept for the next
/// input (or dropped after a burst grew it, so an idle link holds little). Bytes read and the
/// close arrive here from the connection (`TCPConnectionHandler`) and become inputs the same way.
///
/// What differs by role is in the subclasses: how a connection is made (accepted, or dialled
/// with back-off), what time it is (the run's clock, a logger's skew), what `commit` does, the
/// platform's deadline timer, the logger's transport faults. Touched only on its connection's
/// loop (the rule that makes `@unchecked Sendable` safe).
package class SessionLink<Session: LiveSession>: TCPConnectionHandler, @unchecked Sendable {
    // Final: read in place by the subclasses (an overridable property's getter copied the whole
    // session to read its next deadline after every input).
    package final var session: Session
    /// The session's outputs of the current input: one buffer, reused (no array per frame).
    package final var outputs: [Session.Output] = []

    package init(session: Session) {
        self.session = session
    }

    /// Output buffer capacity kept between inputs: a busy link reuses its buffer (no array per
    /// read), a burst's larger buffer is dropped so that an idle link holds little.
    package var keptOutputCapacity: Int { 8 }

    /// Reads (or changes) the session in place: a method of the session called on `session`
    /// itself is given a copy of it (the class's property may change during the call), which
    /// for the platform's next deadline after every input was a copy of the whole session.
    package final func withSession<T>(_ body: (inout Session) -> T) -> T { body(&session) }

    /// The session's time now. Overridden by every role.
    package var now: SessionTime { 0 }

    /// Gives one input to the session and commits what it produced.
    package final func run(_ body: (inout Session, SessionTime, inout [Session.Output]) -> Void) {
        body(&session, now, &outputs)
        commit()
        if outputs.capacity > keptOutputCapacity { outputs = [] } else { outputs.removeAll(keepingCapacity: true) }
    }

    /// The one place where `outputs` (this input's) take effect. Overridden by every role.
    package func commit() {}

    /// Bytes are about to be given to the session (traces record them here).
    package func willReceive(_ bytes: [UInt8], on connection: TCPConnection) {}
    /// The session has taken a read.
    package func didReceive() {}
    /// The connection closed and the session was told (`disconnected`).
    package func didClose(_ connection: TCPConnection, reason: CloseReason) {}

    package func connection(_ connection: TCPConnection, didRead bytes: [UInt8]) {
        willReceive(bytes, on: connection)
        run { session, now, out in session.received(bytes, at: now, into: &out) }
        didReceive()
    }

    /// The read as an array for roles that look at it (traces, transport faults); the platform
    /// overrides this and gives the session the read buffer itself.
    package func connection(_ connection: TCPConnection, didReadBuffer bytes: UnsafeRawBufferPointer) {
        self.connection(connection, didRead: [UInt8](bytes))
    }

    package func connection(_ connection: TCPConnection, didCloseWith reason: CloseReason) {
        // The last frames' events still come out (a store keeps what they carried); a closed
        // connection sends nothing.
        run { session, now, out in session.disconnected(at: now, into: &out) }
        didClose(connection, reason: reason)
    }

    package func connectionDidDrain(_ connection: TCPConnection) {}
}
