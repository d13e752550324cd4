import HJ212
import HJReportKit
import HJRoles
import HJSimulation

/// Bad frames, access control, dialects and profile packets (steps 4 and 5 of the run).
extension PlatformSuite {
    // MARK: - Step 4: bad frames

    func badFrames() {
        let cases: [(id: RuleID, what: String, make: (ProbePackets, QNSource) -> (DataSegment?, [UInt8]))] = [
            (RuleID.platformBadGarbage, "noise bytes", { _, _ in
                (nil, [0x00, 0x01, 0xFE, 0xFF, 0x7F] + Array("GET / HTTP/1.0\r\n\r\n# #\r\n".utf8) + [0x80, 0xC3, 0x28, 0x0D, 0x0A])
            }),
            (RuleID.platformBadCrc, "the frame with a wrong CRC", { p, q in
                let s = p.segment(cn: .realTimeData, qn: q.next(), flag: 5, cp: ProbePackets.uploadCP(.realTimeData, now: chinaWallMilliseconds()))
                var bytes = FrameEncoder.frame(s)
                let crcAt = bytes.count - 6
                let right = String(decoding: bytes[crcAt..<(crcAt + 4)], as: UTF8.self)
                let wrong = right == "0000" ? "FFFF" : "0000"
                bytes.replaceSubrange(crcAt..<(crcAt + 4), with: Array(wrong.utf8))
                return (s, bytes)
            }),
            (RuleID.platformBadLength, "the frame with a wrong length field", { p, q in
                let s = p.segment(cn: .realTimeData, qn: q.next(), flag: 5, cp: ProbePackets.uploadCP(.realTimeData, now: chinaWallMilliseconds()))
                var bytes = FrameEncoder.frame(s)
                let n = s.serializedBytes().count + 7
                let digits = Array(String(n).utf8)
                bytes.replaceSubrange(2..<6, with: [UInt8](repeating: 0x30, count: 4 - digits.count) + digits)
                return (s, bytes)
            }),
            (RuleID.platformBadOversize, "the oversized frame", { p, q in
                let s = p.oversized(qn: q.next(), now: chinaWallMilliseconds())
                return (s, FrameEncoder.frame(s))
            }),
        ]
        for c in cases where wants(c.id) && shouldContinue {
            let conv: Conversation
            switch connect("logger 1 (\(c.id))") {
            case .failure(let e): judge(c.id, .fail, "could not connect: \(e.message)"); continue
            case .success(let x): conv = x
            }
            // A good frame first (the connection is served), then the bad one, then a good one.
            let first = conv.send(packets.segment(cn: .realTimeData, qn: qns.next(), flag: 5, cp: ProbePackets.uploadCP(.realTimeData, now: chinaWallMilliseconds())))
            let mark = max(0, conv.log.records.count - 1)
            let (segment, bytes) = c.make(packets, qns)
            var bad: SentPacket?
            if let segment {
                bad = conv.send(segment, mustNotAnswer: true, bytes: bytes)
            } else {
                conv.link.send(bytes)
            }
            wait([conv], until: probeClock() + 0.02) { false }
            let good = conv.send(packets.segment(cn: .realTimeData, qn: qns.next(), flag: 5, cp: ProbePackets.uploadCP(.realTimeData, now: chinaWallMilliseconds())))
            awaitAnswers(conv, [first, bad, good], grace: true)
            conv.link.readAvailable()
            conv.process()
            if segment == nil {
                // Garbage cannot be answered as such; any answer besides the good frame's is stray.
                let wire = Array(conv.log.snapshot.dropFirst(mark))
                if let good, let a = good.acceptance, conv.link.usable {
                    judge(c.id, .pass, "noise ignored; the next good frame was answered (\(ms(a.latency)))", established: true)
                } else if first?.acceptance == nil {
                    judge(c.id, .notExercised, "not exercised: the platform accepted no packet on this connection before the noise, so that it did not accept it shows nothing",
                          wire: wire)
                } else if let good, good.answered {
                    judge(c.id, .fail, "the good frame sent after the noise was \(whyNotAccepted(good))", wire: wire, established: true)
                } else {
                    judge(c.id, .fail, conv.link.peerClosed ? "the platform closed the connection after the noise"
                                                           : "the good frame sent after the noise was not answered within \(format(answerWait)) s", wire: wire)
                }
            } else {
                judgeNegative(c.id, bad: bad, good: good, conv, since: mark, what: c.what)
            }
            close(conv)
        }
    }

    // MARK: - Step 5: access, dialects, profile packets

    func unknownMN() -> String {
        let known = Set(options.credentials.map(\.mn))
        let base = packets.mn
        for suffix in ["F0F0F0", "E1E1E1", "D2D2D2", "C3C3C3"] {
            let mn = base.count > suffix.count ? String(base.dropLast(suffix.count)) + suffix : base + suffix
            if !known.contains(mn) { return mn }
        }
        return base + "X"
    }

    /// A wrong PW and an unknown MN, each on a fresh connection between two packets of the
    /// registered logger: the first shows that the platform serves this connection (without it
    /// a refusal, or a close, shows nothing), the last that it still does.
    func access() {
        let cases: [(id: RuleID, what: String, mn: String, pw: String)] = [
            (RuleID.platformAccessPw, "the packet with a wrong PW", packets.mn, packets.pw == "000000" ? "999999" : "000000"),
            (RuleID.platformAccessMn, "the packet from an unknown MN", unknownMN(), packets.pw),
        ]
        for c in cases where wants(c.id) && shouldContinue {
            let conv: Conversation
            switch connect("logger 1 (\(c.id))") {
            case .failure(let e): judge(c.id, .fail, "could not connect: \(e.message)"); continue
            case .success(let x): conv = x
            }
            let first = conv.send(packets.segment(cn: .realTimeData, qn: qns.next(), flag: 5, cp: ProbePackets.uploadCP(.realTimeData, now: chinaWallMilliseconds())))
            let bad = conv.send(packets.segment(cn: .realTimeData, qn: qns.next(), flag: 5, cp: ProbePackets.uploadCP(.realTimeData, now: chinaWallMilliseconds()),
                                                mn: c.mn, pw: c.pw), mustNotAnswer: true)
            let good = conv.send(packets.segment(cn: .realTimeData, qn: qns.next(), flag: 5, cp: ProbePackets.uploadCP(.realTimeData, now: chinaWallMilliseconds())))
            awaitAnswers(conv, [first, bad, good], grace: true)
            conv.link.readAvailable()
            conv.process()
            let wire = conv.log.snapshot
            // A 9011 with QnRtn 3 (wrong PW) or 4 (unknown MN) is a correct refusal, not an acknowledgement.
            let refused = bad?.refusal.map { " (refused with 9011 QnRtn=\($0.frame.refusalCode ?? "?"))" } ?? ""
            var exercised = true
            if let bad, bad.acceptance != nil {
                let open = c.id == RuleID.platformAccessMn
                    ? "the platform acknowledged MN \(c.mn), which is not among the credentials given: it accepts every MN (open registry?)"
                    : "the platform acknowledged MN \(c.mn) with the wrong PW \(c.pw): it does not check passwords"
                judge(c.id, .fail, open, wire: wire, established: true)
            } else if bad == nil {
                exercised = false
                judge(c.id, .fail, "could not send: \(conv.link.whyUnusable)", wire: wire)
            } else if first?.acceptance == nil {
                // Nothing shows that the platform would serve this connection at all: not
                // accepting (or a close) is no refusal.
                exercised = false
                judge(c.id, .notExercised, "not exercised: the registered logger's first packet on this connection was not accepted (\(first.map { whyNotAccepted($0, conv) } ?? "not sent")), so that \(c.what) was not acknowledged shows nothing",
                      wire: wire)
            } else if conv.link.peerClosed {
                judge(c.id, .pass, "\(c.what) was not acknowledged\(refused) (the platform closed the connection)")
            } else if let good, good.acceptance != nil {
                judge(c.id, .pass, "\(c.what) was not acknowledged\(refused); the registered logger's next packet was")
            } else {
                // Neither answered: the platform may just be slow or broken; the refusal is not shown.
                exercised = false
                judge(c.id, .notExercised, "not exercised: the registered logger's own packet was not answered either, so the refusal shows nothing", wire: wire)
            }
            // The registry fact only from a check that was exercised (and not cut by Ctrl-C).
            if c.id == RuleID.platformAccessMn, exercised, let r = results[c.id.rawValue], r.verdict != .notExercised {
                acceptsUnknownMN = bad?.acceptance != nil
            }
            close(conv)
        }
        if let accepts = acceptsUnknownMN { facts.append(("registry", accepts ? "the platform accepts unknown MNs" : "the platform refuses unknown MNs")) }
    }

    func dialects() {
        if wants(RuleID.platformV2005Ack), shouldContinue, case .success(let conv) = connect("logger 1 (HJ/T 212-2005)") {
            let p = conv.send(packets.legacy2051(qn: qns.next(), now: chinaWallMilliseconds()))
            awaitAnswers(conv, [p])
            if let a = p?.acceptance {
                let form = a.frame.segment.cpValue("QN") != nil ? "the HJ/T 212-2005 form (QN in CP)" : "the HJ 212-2017 form"
                judge(RuleID.platformV2005Ack, .pass, "answered by \(a.frame.segment.cn ?? "?") in \(form), \(ms(a.latency))", established: true)
            } else if let p, p.refusal != nil {
                // Supporting HJ/T 212-2005 is a MAY: refusing it is "not supported", not a broken acknowledgement.
                judge(RuleID.platformV2005Ack, .fail, "HJ/T 212-2005 not supported: the 2051 (Flag=1) was \(whyNotAccepted(p))", wire: conv.log.snapshot, established: true)
            } else if let p, p.answered {
                judge(RuleID.platformV2005Ack, .fail, "the HJ/T 212-2005 2051 (Flag=1) was \(whyNotAccepted(p))", wire: conv.log.snapshot, established: true)
            } else {
                judge(RuleID.platformV2005Ack, .fail, "no answer to the HJ/T 212-2005 2051 (Flag=1) within \(format(answerWait)) s", wire: conv.log.snapshot)
            }
            close(conv)
        }
        if wants(RuleID.platformV2025Ack, RuleID.platformV2025Heartbeat), shouldContinue, case .success(let conv) = connect("logger 1 (HJ 212-2025)") {
            if wants(RuleID.platformV2025Ack) {
                let p = conv.send(packets.segment(cn: .realTimeData, qn: qns.next(), flag: 9, cp: ProbePackets.uploadCP(.realTimeData, now: chinaWallMilliseconds())))
                awaitAnswers(conv, [p])
                if let a = p?.acceptance, a.frame.segment.command == .dataReply {
                    judge(RuleID.platformV2025Ack, .pass, "2011 with Flag=9 answered by 9014 Flag=\(a.frame.segment.header("Flag") ?? "-") in \(ms(a.latency))", established: true)
                } else if let p, p.refusal != nil {
                    judge(RuleID.platformV2025Ack, .fail, "HJ 212-2025 not supported: the 2011 with Flag=9 was \(whyNotAccepted(p))", wire: conv.log.snapshot, established: true)
                } else {
                    judge(RuleID.platformV2025Ack, .fail, p?.firstAnswer.map { "answered by CN \($0.frame.segment.cn ?? "?"), expected 9014" }
                          ?? "no answer to the 2011 with Flag=9 within \(format(answerWait)) s", wire: conv.log.snapshot)
                }
            }
            if wants(RuleID.platformV2025Heartbeat) {
                let p = conv.send(packets.segment(cn: .heartbeat, qn: qns.next(), flag: 9, cp: [], st: SystemType.systemInteraction.rawValue), kind: .notification)
                awaitAnswers(conv, [p])
                if let a = p?.firstAnswer, a.frame.segment.command == .notificationReply {
                    judge(RuleID.platformV2025Heartbeat, .pass, "9015 answered by 9013 in \(ms(a.latency))")
                } else {
                    judge(RuleID.platformV2025Heartbeat, .fail, p?.firstAnswer.map { "answered by CN \($0.frame.segment.cn ?? "?"), expected 9013" }
                          ?? "no 9013 answering the 9015 heartbeat within \(format(answerWait)) s", wire: conv.log.snapshot)
                }
            }
            close(conv)
        }
        if wantsGroup("P-JS-"), shouldContinue, case .success(let conv) = connect("logger 1 (Jiangsu)") {
            for (id, segment) in [(RuleID.platformJsDynamic, packets.dynamicControl3020(qn: qns.next(), now: chinaWallMilliseconds())),
                                  (RuleID.platformJsProcess, packets.process2011(qn: qns.next(), now: chinaWallMilliseconds()))] where wants(id) {
                let p = conv.send(segment)
                awaitAnswers(conv, [p])
                judgeUpload(id, p, conv)
            }
            close(conv)
        }
    }
}
