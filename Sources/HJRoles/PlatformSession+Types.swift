import HJ212
import HJSimulation


/// Deliberate protocol faults of the platform, for the self-tests of the logger certification
/// (does the logger notice a bad 9014?). All off by default. Each changes the 9014 and 9013
/// acknowledgements this session sends; nothing else.
public struct PlatformMisbehaviour: OptionSet, Sendable, Hashable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// Acks carry the acknowledged packet's ST instead of 91 (seen in `IceCoffee.HJ212`).
    public static let ackWrongST = PlatformMisbehaviour(rawValue: 1 << 0)
    /// Acks carry a fresh QN instead of echoing the acknowledged packet's QN.
    public static let noQNEcho = PlatformMisbehaviour(rawValue: 1 << 1)
    /// Acks are framed with CRC-16/MODBUS, bytes swapped (`FrameEncoder.CRCStyle.modbusSwapped`).
    public static let modbusCRC = PlatformMisbehaviour(rawValue: 1 << 2)
    /// Packets with a wrong CRC are accepted and acknowledged like good ones.
    public static let acknowledgeBadCRC = PlatformMisbehaviour(rawValue: 1 << 3)
    /// MNs missing from the registry are accepted (a wrong PW of a listed MN is still refused).
    public static let acceptUnknownMN = PlatformMisbehaviour(rawValue: 1 << 4)
    /// Uploads and notifications are acknowledged even when their Flag has A=0.
    public static let ackEvenWithoutFlagA = PlatformMisbehaviour(rawValue: 1 << 5)
    /// Acks carry `CP=&&QnRtn=1&&` instead of the empty `CP=&&&&` (seen in the wild, HJ212.md R12).
    public static let nonEmptyAckCP = PlatformMisbehaviour(rawValue: 1 << 6)
    /// Frames whose length field disagrees with their data segment are accepted and acknowledged.
    public static let acknowledgeBadLength = PlatformMisbehaviour(rawValue: 1 << 7)
    /// Frames whose data segment exceeds 1024 bytes (unsplit) are accepted and acknowledged.
    public static let acknowledgeOversize = PlatformMisbehaviour(rawValue: 1 << 8)
    /// A listed MN with a wrong PW is accepted (unknown MNs are still refused).
    public static let acceptWrongPW = PlatformMisbehaviour(rawValue: 1 << 9)

    /// The switches by name (for `hj212 serve --misbehave`), in declaration order.
    public static let named: [(name: String, value: PlatformMisbehaviour)] = [
        ("ackWrongST", .ackWrongST), ("noQNEcho", .noQNEcho), ("modbusCRC", .modbusCRC), ("acknowledgeBadCRC", .acknowledgeBadCRC),
        ("acceptUnknownMN", .acceptUnknownMN), ("ackEvenWithoutFlagA", .ackEvenWithoutFlagA), ("nonEmptyAckCP", .nonEmptyAckCP),
        ("acknowledgeBadLength", .acknowledgeBadLength), ("acknowledgeOversize", .acknowledgeOversize), ("acceptWrongPW", .acceptWrongPW),
    ]
}

/// When the platform runs the first-connection set-up of HJ 212-2017 §6.7 (HJ212.md §6.3).
public enum InitialisePolicy: String, Sendable, Equatable {
    /// Only when asked (`initialise(at:)`).
    case never
    /// On every connection: at `connected` when the logger is known in advance
    /// (`Options.expectedLogger`), otherwise at its first accepted packet.
    case everyConnection
    /// The first time the platform meets an MN (once per `PlatformState`), as §6.7 says.
    case firstContact
}

/// The outcome of a command the platform sent to a logger.
public struct CommandResult: Sendable, Equatable {
    public enum Outcome: String, Sendable, Equatable {
        /// 9012 arrived (see `exeRtn`).
        case completed
        /// A notification (2012, 2022) answered by 9013.
        case acknowledged
        /// 9011 with QnRtn ≠ 1 (or without a usable QnRtn).
        case rejected
        /// No 9011 (9013 for a notification) within OverTime after the first send and every resend.
        case noReply
        /// 9011 came, but no data and no 9012 within the execution timeout.
        case executionTimeout
        /// Never sent: the logger did not identify itself in time, or the queue was full.
        case expired
        /// The connection closed first.
        case disconnected
    }

    public var cn: String
    /// The request's QN (empty when it was never sent).
    public var qn: String
    public var mn: String
    public var peer: String
    /// The request as sent (or as it would have been built).
    public var request: DataSegment?
    public var qnRtn: Int?
    public var exeRtn: Int?
    /// Records received for the command (history records, 1011/1061/1063/3020 … responses;
    /// a reassembled split record counts once).
    public var records: Int
    /// The first of those records (at most `Options.maxResponsesPerCommand`).
    public var responses: [DataSegment]
    /// Sends of the request (1 + resends).
    public var attempts: Int
    public var queuedAt: SessionTime
    public var sentAt: SessionTime?
    public var finishedAt: SessionTime
    public var outcome: Outcome

    /// From the first send to the outcome.
    public var duration: SessionTime? { sentAt.map { finishedAt - $0 } }
    /// Executed successfully: ExeRtn=1, or a notification acknowledged.
    public var succeeded: Bool { outcome == .acknowledged || (outcome == .completed && exeRtn == 1) }
    public var timedOut: Bool { outcome == .noReply || outcome == .executionTimeout }
}
