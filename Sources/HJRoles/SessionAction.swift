import HJ212
import HJSimulation

/// What a sans-I/O session asks its driver to do on the wire: the projection of its outputs
/// (`PlatformOutput`, `LoggerOutput`) that a socket sees. Sessions never touch a socket or a
/// clock: they take inputs (connected, bytes received, time passed) and append outputs.
public enum SessionAction: Sendable, Equatable {
    /// Write these bytes on the connection.
    case send([UInt8])
    /// Close the connection (the session has given up on it, or was told to).
    case close(reason: String)
}

/// What the bytes a session asks to send are, so that a driver never re-reads its own frames.
public enum OutgoingFrame: Sendable, Hashable {
    /// Platform: the acknowledgement (9014 数据应答, 9013 通知应答) of the logger's packet `qn`.
    case acknowledgement(CommandCode, qn: String?)
    /// Platform: a command to the logger; `attempt` 1 is the first send, more is a resend after OverTime.
    case command(CommandCode, qn: String, attempt: Int)
    /// Logger: an upload or a history record; `awaited` when a 9014 is waited for (Flag A=1);
    /// `attempt` 1 is the first send, more is a resend after OverTime.
    case upload(CommandCode, qn: String, attempt: Int, awaited: Bool)
    /// Logger: an answer to a host request (9011 请求应答, 9012 执行结果, 9013, or a response such as 1011).
    case reply(CommandCode, qn: String?)
    /// Logger: a frame changed or added by an injected protocol fault (its ground truth is a `faultInjected` output).
    case faulty
}

/// An output of a session that may carry a wire action.
public protocol SessionOutput: Sendable {
    /// The wire action of this output (nil for an event).
    var action: SessionAction? { get }
}

extension Array where Element: SessionOutput {
    /// The wire actions among these outputs, in order (what a socket sees).
    public var actions: [SessionAction] { compactMap { $0.action } }  // no key path: built per call
    /// The bytes to send among these outputs, in order.
    public var sentBytes: [[UInt8]] { compactMap { if case .send(let b)? = $0.action { b } else { nil } } }
    /// Whether one of these outputs closes the connection.
    public var closes: Bool { contains { if case .close? = $0.action { true } else { false } } }
}

extension SessionAction: SessionOutput {
    public var action: SessionAction? { self }
}

/// Times in sessions are local wall-clock milliseconds (`HJTime.wallMilliseconds`): the virtual
/// clock in tests and generation, the real clock (in the loggers' zone) on live runs.
public typealias SessionTime = Int64

/// A reply or acknowledgement segment (ST=91, Flag version bits of the dialect with D=0 A=0,
/// QN echoed, PW and MN echoed), as in HJ 212-2017 Appendix C.
public func replySegment(cn: String, to request: DataSegment, cp: [[Field]], version: Int? = nil) -> DataSegment {
    let v = version ?? request.flag?.version ?? 1
    var header: [Field] = []
    if let qn = request.qn { header.append(Field("QN", qn)) }
    header.append(Field("ST", "91"))
    header.append(Field("CN", cn))
    header.append(Field("PW", request.pw ?? ""))
    header.append(Field("MN", request.mn ?? ""))
    header.append(Field("Flag", String(PacketFlag(version: v, split: false, ack: false).rawValue)))
    return DataSegment(header: header, cp: cp)
}

/// What a `LoggerSession` produced for one input, in order: bytes to send (tagged with what they
/// are: `upload` with its attempt for uploads and resends, `reply` for answers to requests), a
/// close, and events for the driver to commit (latency, ground truth, counters) in one place.
public enum LoggerOutput: SessionOutput {
    /// Write these bytes.
    case send([UInt8], OutgoingFrame)
    /// Close the connection: ReCount resends of an upload went unanswered (§6.2).
    case close(reason: String)
    /// The upload (or history record, or notification) with this QN was acknowledged (9014 / 9013).
    case acknowledged(qn: String)
    /// The upload with this QN is no longer waited for: no 9014 within OverTime with resends off
    /// (no-resend), or after ReCount resends (then `close` follows).
    case givenUp(qn: String)
    /// A protocol fault was injected into what this link sent (the run's ground truth).
    indirect case faultInjected(FaultRecord)

    public var action: SessionAction? {
        switch self {
        case .send(let bytes, _): .send(bytes)
        case .close(let reason): .close(reason: reason)
        default: nil
        }
    }
}
