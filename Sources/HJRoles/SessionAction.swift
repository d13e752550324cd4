import HJ212

/// What a sans-I/O session asks its driver to do. Sessions never touch a socket or a clock:
/// they take events (connected, bytes received, time passed) and return actions.
public enum SessionAction: Sendable, Equatable {
    /// Write these bytes on the connection.
    case send([UInt8])
    /// Close the connection (the session has given up on it, or was told to).
    case close(reason: String)
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
