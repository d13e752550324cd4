/// The counters of a load run (one event loop, one process, or several merged): every packet
/// scheduled ends in exactly one of acked, unacked (timed out, given up at the outstanding cap,
/// lost with its connection, still pending at the end) or not sent (missed).
///
/// `Sendable`: a value. Merging adds field by field (`merge(_:)`), which is exact.
///
/// ```swift
/// var total = LoadCounts()
/// total.merge(loopCounts)
/// total.unacked   // timedOut + givenUp + lostOnClose + pendingAtEnd
/// ```
public struct LoadCounts: Sendable, Equatable {
    // Packets.
    /// Packets whose scheduled time fell in the send window.
    public var scheduled: UInt64 = 0
    /// Packets written to a connection.
    public var sent: UInt64 = 0
    /// Scheduled packets not sent: no connection at their time, or the connection's output was full.
    public var missed: UInt64 = 0
    /// Packets acknowledged by a correct 9014 (QN echoed, ST=91, CN=9014, Flag without A, our MN).
    public var acked: UInt64 = 0
    /// Of `acked`, those whose acknowledgement arrived inside the send window (for rates).
    public var ackedInWindow: UInt64 = 0
    /// Sent packets not acknowledged within the acknowledgement timeout.
    public var timedOut: UInt64 = 0
    /// Sent packets given up because the logger already had the most outstanding packets allowed.
    public var givenUp: UInt64 = 0
    /// Sent packets still unacknowledged when their connection closed.
    public var lostOnClose: UInt64 = 0
    /// Sent packets still unacknowledged when the run ended (drain timeout or Ctrl-C).
    public var pendingAtEnd: UInt64 = 0

    // Acknowledgements and other frames from the server.
    /// Correct acknowledgements of packets already given up (timed out, over the cap, closed).
    public var late: UInt64 = 0
    /// Acknowledgements of packets already acknowledged.
    public var duplicates: UInt64 = 0
    /// 9014s whose QN matches no packet sent on the connection (QN not echoed).
    public var wrongQN: UInt64 = 0
    /// 9014s with ST other than 91.
    public var wrongST: UInt64 = 0
    /// Replies with a CN other than 9014 to one of our packets (e.g. 9013 or 9011).
    public var wrongCN: UInt64 = 0
    /// 9014s whose Flag asks for an acknowledgement or names another protocol version.
    public var wrongFlag: UInt64 = 0
    /// 9014s naming another MN.
    public var wrongMN: UInt64 = 0
    /// Frames from the server with a wrong CRC.
    public var badCRC: UInt64 = 0
    /// Other frames from the server (requests such as 1000 or 1062; not answered by the driver).
    public var otherFrames: UInt64 = 0
    /// Bytes from the server that were not part of a frame.
    public var noiseBytes: UInt64 = 0

    // Connections.
    /// Connect attempts (first connects and reconnects).
    public var connectAttempts: UInt64 = 0
    /// Connections established.
    public var connects: UInt64 = 0
    /// Connect attempts refused (ECONNREFUSED).
    public var refused: UInt64 = 0
    /// Connect attempts that timed out.
    public var connectTimeouts: UInt64 = 0
    /// Connect attempts that failed for lack of file descriptors (EMFILE/ENFILE) or local ports.
    public var fdExhausted: UInt64 = 0
    /// Connect attempts that failed otherwise (unreachable, …).
    public var connectOtherErrors: UInt64 = 0
    /// Established connections reset by the peer (ECONNRESET, EPIPE).
    public var resets: UInt64 = 0
    /// Established connections the peer closed (end of stream).
    public var peerCloses: UInt64 = 0
    /// Established connections that ended on another error.
    public var otherCloses: UInt64 = 0
    /// Loggers that connected at least once (each counted once, however often it reconnected).
    public var loggersConnected: UInt64 = 0
    /// Most connections open at once (a sum over loops and shards of their own maxima).
    public var maxConnections: UInt64 = 0
    /// Connections open at the end of the send window.
    public var openAtEnd: UInt64 = 0

    /// All zero.
    public init() {}

    /// Sent packets never acknowledged in time.
    public var unacked: UInt64 { timedOut &+ givenUp &+ lostOnClose &+ pendingAtEnd }
    /// Wrong acknowledgements and frames of every kind.
    public var wrongAcks: UInt64 { wrongQN &+ wrongST &+ wrongCN &+ wrongFlag &+ wrongMN &+ badCRC }
    /// Failed connect attempts.
    public var connectErrors: UInt64 { refused &+ connectTimeouts &+ fdExhausted &+ connectOtherErrors }
    /// Connections that ended early (not closed by us).
    public var closes: UInt64 { resets &+ peerCloses &+ otherCloses }
    /// Everything that is an error: wrong acknowledgements, failed connects, connections that
    /// ended early, packets not sent. (Unacknowledged packets are counted apart: `unacked`.)
    public var errors: UInt64 { wrongAcks &+ connectErrors &+ closes &+ missed }

    /// The fields with their JSON names, in report order.
    public static var fields: [(name: String, key: WritableKeyPath<LoadCounts, UInt64>)] { [
        ("scheduled", \.scheduled), ("sent", \.sent), ("missed", \.missed), ("acked", \.acked), ("ackedInWindow", \.ackedInWindow),
        ("timedOut", \.timedOut), ("givenUp", \.givenUp), ("lostOnClose", \.lostOnClose), ("pendingAtEnd", \.pendingAtEnd),
        ("late", \.late), ("duplicates", \.duplicates), ("wrongQN", \.wrongQN), ("wrongST", \.wrongST), ("wrongCN", \.wrongCN),
        ("wrongFlag", \.wrongFlag), ("wrongMN", \.wrongMN), ("badCRC", \.badCRC), ("otherFrames", \.otherFrames), ("noiseBytes", \.noiseBytes),
        ("connectAttempts", \.connectAttempts), ("connects", \.connects), ("refused", \.refused), ("connectTimeouts", \.connectTimeouts),
        ("fdExhausted", \.fdExhausted), ("connectOtherErrors", \.connectOtherErrors), ("resets", \.resets), ("peerCloses", \.peerCloses),
        ("otherCloses", \.otherCloses), ("loggersConnected", \.loggersConnected), ("maxConnections", \.maxConnections), ("openAtEnd", \.openAtEnd),
    ] }

    /// Adds another run's counts (exact).
    public mutating func merge(_ o: LoadCounts) {
        for (_, key) in Self.fields { self[keyPath: key] &+= o[keyPath: key] }
    }
}
