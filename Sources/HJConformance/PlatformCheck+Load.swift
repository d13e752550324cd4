import HJ212
import HJReportKit
import HJRoles
import HJSimulation

/// Many loggers at once and reconnects (step 6 of the run).
extension PlatformSuite {
    // MARK: - Step 6: load

    func load() {
        if wants(RuleID.platformLoadConcurrent, RuleID.platformLoadLatency), shouldContinue { concurrency() }
        if wants(RuleID.platformLoadReconnect), shouldContinue { reconnects() }
    }

    /// The credentials of logger `i` of the concurrency check: the given list in order while it
    /// lasts; beyond it MNs derived from the first one when the platform accepts unknown MNs,
    /// otherwise the given list again (several connections of one MN).
    func credentials(_ i: Int) -> (mn: String, pw: String) {
        let list = options.credentials.isEmpty ? [(mn: packets.mn, pw: packets.pw)] : options.credentials
        if i < list.count { return list[i] }
        if acceptsUnknownMN == true {
            let base = list[0].mn
            let hex = String(i, radix: 16, uppercase: true)
            let suffix = String(repeating: "0", count: max(0, 4 - hex.count)) + hex
            return (base.count > 4 ? String(base.dropLast(4)) + suffix : base + suffix, list[0].pw)
        }
        return list[i % list.count]
    }

    /// Loggers of the concurrency check whose packets join the run-wide judgements (the
    /// acknowledgement form, commands); the others only count and are timed.
    static let trackedLoggers = 200

    /// Connect timeouts in a row after which the concurrency check stops connecting.
    static let maxConsecutiveTimeouts = 5

    /// The longest the concurrency check spends connecting its `n` loggers (seconds).
    static func connectPhaseSeconds(_ n: Int) -> Double { 60 + 0.05 * Double(n) }

    func concurrency() {
        let n = max(1, options.concurrency)
        let rounds = 5
        let log = WireLog(origin: origin, limit: 200)
        var convs: [Conversation] = []
        var failures: [String] = []
        // Connecting stops after `maxConsecutiveTimeouts` timeouts in a row (the platform
        // stopped accepting) or at an overall deadline, so that the step cannot take hours.
        let connectDeadline = probeClock() + Self.connectPhaseSeconds(n)
        var consecutiveTimeouts = 0
        var stoppedConnecting: String?
        for i in 0..<n where shouldContinue {
            if consecutiveTimeouts >= Self.maxConsecutiveTimeouts {
                stoppedConnecting = "connecting stopped after \(consecutiveTimeouts) timeouts in a row (the platform stopped accepting after \(convs.count) loggers)"
                break
            }
            if probeClock() >= connectDeadline {
                stoppedConnecting = "connecting stopped at the \(format(Self.connectPhaseSeconds(n))) s limit of the step"
                break
            }
            let id = credentials(i)
            // Each connection logs into the shared log only its notes and the first logger's frames.
            switch connect("logger \(i + 1) (\(id.mn))", mn: id.mn, pw: id.pw, log: i == 0 ? log : WireLog(origin: origin, limit: 24), track: i < Self.trackedLoggers,
                           deadline: connectDeadline) {
            case .success(let c):
                convs.append(c)
                consecutiveTimeouts = 0
            case .failure(let e):
                consecutiveTimeouts = e.timedOut ? consecutiveTimeouts + 1 : 0
                if failures.count < 5 { failures.append("logger \(i + 1): \(e.message)") }
                log.note("logger \(i + 1): \(e.message)")
            }
            if i % 50 == 49 { progress("concurrency: \(i + 1)/\(n) connected") }
        }
        if let stoppedConnecting {
            log.note(stoppedConnecting)
            failures.insert(stoppedConnecting, at: 0)
            facts.append(("concurrency connects", stoppedConnecting))
        }
        let tracked = Set(conversations.map(ObjectIdentifier.init))
        let unique = Set(convs.map(\.mn)).count
        facts.append(("concurrency", "\(convs.count) of \(n) loggers connected at once (\(unique) distinct MNs), \(rounds) uploads each"))
        var pending: [ObjectIdentifier: SentPacket] = [:]
        var sentCount = 0, answeredCount = 0
        // Uploads refused with a 9011 (QnRtn other than 1): the logger is not served, and stops.
        var refusedCount = 0
        var firstRefusal: String?
        var round: [ObjectIdentifier: Int] = [:]
        var concurrent = LatencyHistogram()
        func sendNext(_ c: Conversation) {
            let k = round[ObjectIdentifier(c), default: 0]
            guard k < rounds, c.link.usable else { pending[ObjectIdentifier(c)] = nil; return }
            round[ObjectIdentifier(c)] = k + 1
            let packet = ProbePackets(mn: c.mn, pw: c.pw, st: packets.st)
            if let p = c.send(packet.segment(cn: .realTimeData, qn: qns.next(), flag: 5, cp: ProbePackets.uploadCP(.realTimeData, now: chinaWallMilliseconds()))) {
                pending[ObjectIdentifier(c)] = p
                sentCount += 1
            } else {
                pending[ObjectIdentifier(c)] = nil
            }
        }
        for c in convs { sendNext(c) }
        var lastProgress = probeClock()
        var deadline = probeClock() + answerWait
        while !pending.isEmpty && shouldContinue && probeClock() < deadline {
            ProbeLink.pump(convs.map(\.link), until: min(deadline, probeClock() + 0.05), shouldContinue: { shouldContinue }) { false }
            var progressed = false
            for c in convs {
                c.process()
                guard let p = pending[ObjectIdentifier(c)] else { continue }
                if p.answered && p.acceptance == nil {
                    refusedCount += 1
                    if firstRefusal == nil { firstRefusal = "\(c.mn): \(p.cn) \(whyNotAccepted(p))" }
                    pending[ObjectIdentifier(c)] = nil
                } else if let a = p.acceptance {
                    answeredCount += 1
                    concurrent.record(microseconds: UInt64(max(0, a.latency * 1e6)))
                    // Tracked conversations are timed with the rest of the run; the others here.
                    if !tracked.contains(ObjectIdentifier(c)) { latencies.record(microseconds: UInt64(max(0, a.latency * 1e6))) }
                    progressed = true
                    sendNext(c)
                } else if !c.link.usable {
                    pending[ObjectIdentifier(c)] = nil
                }
            }
            if progressed { deadline = probeClock() + answerWait }
            if probeClock() - lastProgress > 0.5 {
                lastProgress = probeClock()
                progress("concurrency: \(answeredCount)/\(convs.count * rounds) answered")
            }
        }
        responder?.tick()
        let closed = convs.filter { $0.link.peerClosed }.count
        for c in convs { close(c) }
        if concurrent.total > 0 {
            facts.append(("latency under load", "p50 \(LatencyHistogram.format(concurrent.percentile(50))), p99 \(LatencyHistogram.format(concurrent.percentile(99))), max \(LatencyHistogram.format(concurrent.max)) over \(concurrent.total) acknowledgements"))
        }
        let expected = n * rounds
        if convs.count == n && answeredCount == expected {
            judge(RuleID.platformLoadConcurrent, .pass, "\(n) loggers at once (\(unique) distinct MNs): \(answeredCount) of \(expected) uploads answered", established: true)
        } else if interrupted {
            return
        } else {
            // Items joined by "; ": each has its own template (a report in Chinese translates item by item).
            // (Each starts with words, not a number: a template opening with a placeholder would match the whole list.)
            var items = ["loggers connected: \(convs.count) of \(n)", "uploads answered: \(answeredCount) of \(expected)"]
            if closed > 0 { items.append("connections the platform closed: \(closed)") }
            if let firstRefusal { items.append("refused: \(refusedCount) (first: \(firstRefusal))") }
            if unique < convs.count { items.append("only \(unique) distinct MNs: give --registry with more loggers if the platform allows one connection per MN") }
            judge(RuleID.platformLoadConcurrent, .fail, (items + failures).joined(separator: "; "), wire: log.snapshot)
        }
    }

    func reconnects() {
        let log = WireLog(origin: origin)
        var steps: [String] = []
        for (i, reset) in [(1, false), (2, true), (3, false)] {
            guard shouldContinue else { return }
            let conv: Conversation
            switch connect("logger 1 (connection \(i))", log: log) {
            case .failure(let e):
                judge(RuleID.platformLoadReconnect, .fail, "connection \(i) failed: \(e.message)", wire: log.snapshot)
                return
            case .success(let c): conv = c
            }
            let p = conv.send(packets.segment(cn: .realTimeData, qn: qns.next(), flag: 5, cp: ProbePackets.uploadCP(.realTimeData, now: chinaWallMilliseconds())))
            awaitAnswers(conv, [p])
            guard let a = p?.acceptance else {
                if let p, p.answered {
                    // A 9011 refusal (say, the MN still bound to the dead connection) does not serve.
                    judge(RuleID.platformLoadReconnect, .fail, i == 1 ? "the first connection's upload was \(whyNotAccepted(p))" :
                            "after \(i == 2 ? "closing" : "resetting") the previous connection, the upload on connection \(i) was \(whyNotAccepted(p))",
                          wire: log.snapshot, established: true)
                } else {
                    judge(RuleID.platformLoadReconnect, .fail, i == 1 ? "the first connection's upload was not answered" :
                            "after \(i == 2 ? "closing" : "resetting") the previous connection, the upload on connection \(i) was not answered within \(format(answerWait)) s",
                          wire: log.snapshot)
                }
                close(conv)
                return
            }
            steps.append("connection \(i): \(ms(a.latency))")
            close(conv, reset: reset)
        }
        judge(RuleID.platformLoadReconnect, .pass, "served after a close and after a reset: " + steps.joined(separator: ", "), established: true)
    }
}
