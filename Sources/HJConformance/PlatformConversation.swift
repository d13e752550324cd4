import HJ212

/// A packet the probe sent, and the answers attributed to it.
final class SentPacket {
    enum Kind {
        /// An upload (9014 expected when A=1).
        case upload
        /// A notification (1013, 9015: 9013 expected when A=1).
        case notification
        /// The tool's own 9011/9012/9013 (never answered).
        case reply
    }

    struct Answer {
        var frame: ProbeFrame
        /// From the last byte sent to the answer's arrival, seconds.
        var latency: Double
        /// Matched by the QN it echoes (false: taken in order, the QN did not match).
        var byQN: Bool
    }

    let segment: DataSegment
    let kind: Kind
    /// The check expects an answer (a good packet with A=1).
    let expectsAnswer: Bool
    /// The check expects no answer (a bad packet, A=0, a refused identity).
    let mustNotAnswer: Bool
    let sentAt: Double
    /// The first `maxAnswers` answers (memory stays bounded whatever the platform sends);
    /// `answerCount` counts them all.
    private(set) var answers: [Answer] = []
    private(set) var answerCount = 0
    static let maxAnswers = 8

    init(segment: DataSegment, kind: Kind, expectsAnswer: Bool, mustNotAnswer: Bool, sentAt: Double) {
        self.segment = segment
        self.kind = kind
        self.expectsAnswer = expectsAnswer
        self.mustNotAnswer = mustNotAnswer
        self.sentAt = sentAt
    }

    var qn: String? { segment.qn }
    var cn: String { segment.cn ?? "" }
    var version: Int { segment.flag?.version ?? 0 }
    var answered: Bool { !answers.isEmpty }
    var firstAnswer: Answer? { answers.first }
    /// An answer that accepts the packet (9014, 9013, or 9011 QnRtn=1), if any came.
    var acceptance: Answer? { answers.first { $0.frame.isAcceptance } }
    /// A 9011 that refuses the packet (QnRtn other than 1), if one came.
    var refusal: Answer? { answers.first { $0.frame.refusalCode != nil } }

    func add(_ answer: Answer) {
        answerCount += 1
        if answers.count < Self.maxAnswers { answers.append(answer) }
    }
    var describe: String { "\(cn) QN=\(qn ?? "-") Flag=\(segment.header("Flag") ?? "-")" }
}

/// One connection of the probe with what was sent and received on it: answers are attributed
/// to the packets they answer (by QN, else in order), commands are collected and handed to a
/// responder.
///
/// Not Sendable: owned by the suite, driven from its one thread.
final class Conversation {
    let link: ProbeLink
    /// The identity of the logger this connection plays (its good packets).
    let mn: String
    let pw: String
    /// STs and PW/MN pairs the tool used on this connection (commands may carry any of them).
    var sts: Set<String> = []
    var identities: Set<String> = []
    /// Flag version bits of the tool's last packet (a command should follow the logger's dialect).
    var lastVersion = 1
    private(set) var sent: [SentPacket] = []
    /// Answers that matched nothing sent (kept for the report; bounded).
    private(set) var stray: [ProbeFrame] = []
    /// Commands received (not 9011–9014), with the tool's version at the time; bounded.
    private(set) var commands: [(frame: ProbeFrame, version: Int)] = []
    /// Called for each command as it arrives.
    var responder: ((ProbeFrame) -> Void)?
    /// How long the suite waits for an answer (OverTime plus grace): an answer that echoes no QN
    /// goes in order to a packet still within it before one whose wait has ended.
    var answerWindow: Double = .infinity

    init(link: ProbeLink, mn: String, pw: String) {
        self.link = link
        self.mn = mn
        self.pw = pw
    }

    var log: WireLog { link.log }

    /// Sends a segment (or pre-built `bytes`), records it, returns the record (nil when the write failed).
    @discardableResult
    func send(_ segment: DataSegment, kind: SentPacket.Kind = .upload, expectsAnswer: Bool? = nil, mustNotAnswer: Bool = false,
              bytes: [UInt8]? = nil, logAs: String? = nil) -> SentPacket? {
        let frame = bytes ?? FrameEncoder.frame(segment)
        guard link.send(frame, logAs: logAs) else { return nil }
        return record(segment, kind: kind, expectsAnswer: expectsAnswer, mustNotAnswer: mustNotAnswer)
    }

    /// Records a packet whose bytes went out some other way (cut into pieces, several per write).
    @discardableResult
    func record(_ segment: DataSegment, kind: SentPacket.Kind = .upload, expectsAnswer: Bool? = nil, mustNotAnswer: Bool = false) -> SentPacket {
        let wants = segment.flag?.needsAck ?? false
        let p = SentPacket(segment: segment, kind: kind, expectsAnswer: expectsAnswer ?? (wants && !mustNotAnswer && kind != .reply),
                           mustNotAnswer: mustNotAnswer, sentAt: probeClock())
        if kind != .reply {
            if let st = segment.st, !segment.isST(.systemInteraction) { sts.insert(st) }
            if let v = segment.flag?.version { lastVersion = v } else { lastVersion = 0 }
        }
        sent.append(p)
        if sent.count > 5_000 { sent.removeFirst(sent.count - 5_000) }
        return p
    }

    /// Takes what the link received: answers are attributed, commands collected.
    func process() {
        while !link.inbox.isEmpty {
            let frame = link.inbox.removeFirst()
            if frame.isReply {
                attribute(frame)
            } else {
                if commands.count < 1_000 { commands.append((frame, lastVersion)) }
                responder?(frame)
            }
        }
    }

    /// Attribution, in order: the unanswered packet whose QN (header QN, or the QN in CP of the
    /// HJ/T 212-2005 form), MN and PW the answer echoes; a packet answered before with that QN
    /// and identity (a second answer); the unanswered packet with that QN whatever its identity
    /// (a platform that answers a wrong PW with its registered PW still answered that packet);
    /// only then, when no packet sent has the QN echoed, in order (`inOrder`).
    func attribute(_ frame: ProbeFrame) {
        let now = frame.time
        let qns = Set([frame.segment.qn, frame.segment.cpValue("QN")].compactMap { $0 })
        let answerable = sent.filter { $0.kind != .reply }
        let sameQN = answerable.filter { $0.qn.map(qns.contains) ?? false }
        func sameIdentity(_ p: SentPacket) -> Bool {
            (frame.segment.mn == nil || frame.segment.mn == p.segment.mn) && (frame.segment.pw == nil || frame.segment.pw == p.segment.pw)
        }
        let pick: (SentPacket, Bool)?
        if let p = sameQN.first(where: { !$0.answered && sameIdentity($0) }) {
            pick = (p, true)
        } else if let p = sameQN.last(where: { $0.answered && sameIdentity($0) }) {
            pick = (p, true)
        } else if let p = sameQN.first(where: { !$0.answered }) {
            pick = (p, true)
        } else if let p = sameQN.last {
            pick = (p, true)
        } else if let p = inOrder(frame, among: answerable) {
            pick = (p, false)
        } else {
            pick = nil
        }
        if let (p, byQN) = pick {
            p.add(.init(frame: frame, latency: max(0, now - p.sentAt), byQN: byQN))
            if let mn = p.segment.mn, p.answerCount == 1 { identities.insert(mn + "\u{1}" + (p.segment.pw ?? "")) }
            return
        }
        if stray.count < 100 { stray.append(frame) }
    }

    /// An answer that echoes no QN sent: an unanswered packet that waits for an answer or
    /// should not get one, the oldest first, chosen by tiers: of the answer's kind (a 9014
    /// answers an upload, a 9013 a notification; a 9011 either) and within its answer wait; then
    /// within its wait; then of its kind; then any. Within a tier a packet waiting for an answer
    /// goes before one that should not get one. So a packet the platform never answered does not
    /// take the answers of the packets sent after its wait ended (each later check would be
    /// judged on its neighbour's answer), a packet that must not be answered sent now is not
    /// shielded by an old unanswered one, and a 9013 goes to the 1013 it answers, not to an
    /// upload sent before it (handover 20).
    func inOrder(_ frame: ProbeFrame, among answerable: [SentPacket]) -> SentPacket? {
        let kind: SentPacket.Kind? = switch frame.segment.command {
        case .dataReply?: .upload
        case .notificationReply?: .notification
        default: nil
        }
        let now = frame.time
        let waiting = answerable.filter { ($0.expectsAnswer || $0.mustNotAnswer) && !$0.answered }
        let fits: (SentPacket) -> Bool = { kind == nil || $0.kind == kind }
        let live: (SentPacket) -> Bool = { now - $0.sentAt <= self.answerWindow }
        for tier in [{ fits($0) && live($0) }, live, fits, { (_: SentPacket) in true }] {
            if let p = waiting.first(where: { $0.expectsAnswer && tier($0) }) ?? waiting.first(where: tier) { return p }
        }
        return nil
    }
}
