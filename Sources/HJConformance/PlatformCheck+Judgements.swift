import HJ212
import HJReportKit
import HJRoles
import HJSimulation

/// The judgements over the whole run: acknowledgement forms, commands, latency.
extension PlatformSuite {
    // MARK: - Judgements over the whole run

    /// Every 9013/9014 attributed to a packet the tool sent, judged for its form.
    func judgeAckForms() {
        struct Finding { var text: String; var wire: [WireRecord] }
        var bad: [RuleID: [Finding]] = [:]
        // The answers each check found wrong (an answer with two defects of one check, say no PW
        // and no MN, counts once in "N of M answers").
        var badAnswers: [RuleID: Set<Int>] = [:]
        var counted = 0
        var twice: [Finding] = []
        func add(_ id: RuleID, _ text: String, _ c: Conversation, _ frame: ProbeFrame, _ p: SentPacket) {
            badAnswers[id, default: []].insert(counted)
            guard bad[id, default: []].count < 5 else { bad[id]!.append(Finding(text: "", wire: [])); return }
            bad[id, default: []].append(Finding(text: text, wire: [
                WireRecord(time: round3(p.sentAt - origin), direction: .up, text: showBytes(FrameEncoder.frame(p.segment, trailer: false))),
                WireRecord(time: round3(frame.time - origin), direction: .down, text: frame.text),
            ]))
        }
        var lateCount = 0
        var lowerCRC: [String] = []
        var lowerCRCCount = 0
        for c in conversations {
            for p in c.sent where p.kind != .reply {
                for (i, a) in p.answers.enumerated() {
                    let f = a.frame
                    let s = f.segment
                    // A 9011 refusing a packet (a wrong PW, an unknown MN, a bad CRC, a dialect
                    // the platform does not support) is no acknowledgement: its form is not
                    // judged as one. The checks of the packet refused judge the refusal.
                    if f.refusalCode != nil { continue }
                    counted += 1
                    if i == 0 {
                        latencies.record(microseconds: UInt64(max(0, a.latency * 1e6)))
                        if a.latency > (slowest?.1.latency ?? -1) { slowest = (p, a) }
                    }
                    // The form expected follows the dialect of the packet answered, never the
                    // answer's own form: a 2017 packet is acknowledged in the 2017 form (HJ212.md
                    // §9.1: QN in the header, PW, MN, Flag=4, CP=&&&&). A 2005 packet may be
                    // acknowledged in the 2005 form (QN inside CP, PW/MN/Flag optional) or in the
                    // 2017 form (decisions.md: the 2017 form is accepted from platforms under test);
                    // an answer to it without QN in CP is judged as the 2017 form.
                    let legacy = p.version == 0 && s.cpValue("QN") != nil
                    let expectedCN: CommandCode = p.kind == .notification ? .notificationReply : .dataReply
                    if !s.isCN(expectedCN) { add(RuleID.platformAckCn, "\(p.describe) answered by CN \(s.cn ?? "-"), expected \(expectedCN)", c, f, p) }
                    if !s.isST(.systemInteraction) { add(RuleID.platformAckSt, "\(p.cn) answered with ST=\(s.st ?? "-"), expected 91", c, f, p) }
                    let flagExpected = (p.version == 0 ? 1 : p.version) << 2
                    if legacy {
                        if let flag = s.header("Flag"), Int(flag) != 0 {
                            add(RuleID.platformAckFlag, "HJ/T 212-2005 \(p.cn) answered with Flag=\(flag), expected 0 or none", c, f, p)
                        }
                    } else if s.header("Flag") != String(flagExpected) {
                        if p.version == 0 {
                            add(RuleID.platformAckFlag, "HJ/T 212-2005 \(p.cn) answered with Flag=\(s.header("Flag") ?? "-"), expected the 2005 form (QN in CP) or the 2017 form (Flag=4)", c, f, p)
                        } else {
                            add(RuleID.platformAckFlag, "\(p.cn) (Flag=\(p.segment.header("Flag") ?? "-")) answered with Flag=\(s.header("Flag") ?? "-"), expected \(flagExpected)", c, f, p)
                        }
                    }
                    let echoed = legacy ? (s.cpValue("QN") ?? s.qn) : s.qn
                    if echoed != p.qn {
                        add(RuleID.platformAckQn, "\(p.cn) QN=\(p.qn ?? "-") answered with QN=\(echoed ?? "-")", c, f, p)
                    }
                    if legacy {
                        let allowed: Set<String> = ["QN", "CN", "PNO", "PNUM"]
                        if s.cpFields.contains(where: { !allowed.contains($0.name) }) {
                            add(RuleID.platformAckCp, "HJ/T 212-2005 \(p.cn) answered with CP=&&\(s.cpText)&&, expected QN (and CN) only", c, f, p)
                        }
                    } else if s.cp == nil || !(s.cp ?? []).allSatisfy({ $0.isEmpty }) {
                        add(RuleID.platformAckCp, "\(p.cn) answered with \(s.cp == nil ? "no CP" : "CP=&&\(s.cpText)&&"), expected CP=&&&&", c, f, p)
                    }
                    if let pw = s.pw, pw != (p.segment.pw ?? "") {
                        add(RuleID.platformAckPwmn, "\(p.cn) with PW=\(p.segment.pw ?? "-") answered with PW=\(pw)", c, f, p)
                    } else if s.pw == nil && !legacy {
                        add(RuleID.platformAckPwmn, "\(p.cn) answered without PW", c, f, p)
                    }
                    if let mn = s.mn, mn != (p.segment.mn ?? "") {
                        add(RuleID.platformAckPwmn, "\(p.cn) from MN=\(p.segment.mn ?? "-") answered with MN=\(mn)", c, f, p)
                    } else if s.mn == nil && !legacy {
                        add(RuleID.platformAckPwmn, "\(p.cn) answered without MN", c, f, p)
                    }
                    if !f.crcOK {
                        let declared = String(decoding: f.raw.crcBytes, as: UTF8.self)
                        let right = CRC.hex(CRC.hj212(f.raw.segmentBytes))
                        let what = f.crcVariant.map { "is the \($0.rawValue) variant" } ?? "is wrong"
                        add(RuleID.platformAckCrc, "\(s.cn ?? "answer") CRC \(declared) \(what) (HJ 212 CRC: \(right))", c, f, p)
                    } else if f.raw.crcBytes.contains(where: { $0 >= 0x61 && $0 <= 0x66 }) {
                        // HJ212.md §1: "Checker: accept either case, and warn on lower case".
                        if lowerCRC.count < 3 { lowerCRC.append("\(s.cn ?? "answer") CRC in lower case (\(String(decoding: f.raw.crcBytes, as: UTF8.self)))") }
                        lowerCRCCount += 1
                    }
                    if f.raw.declaredLength != f.raw.segment.count {
                        add(RuleID.platformAckFraming, "\(s.cn ?? "answer") length field \(showBytes(f.raw.lengthBytes)), the data segment has \(f.raw.segment.count) bytes", c, f, p)
                    }
                    if f.raw.trailer != .crlf {
                        add(RuleID.platformAckFraming, "\(s.cn ?? "answer") ends with \(f.raw.trailer.rawValue), expected CR LF", c, f, p)
                    }
                    if i == 0, a.latency > options.overTime {
                        lateCount += 1
                        add(RuleID.platformAckTime, "\(p.cn) QN=\(p.qn ?? "-") answered after \(ms(a.latency)), OverTime is \(format(options.overTime)) s", c, f, p)
                    }
                    if i == 1, twice.count < 5, p.expectsAnswer || p.mustNotAnswer {
                        twice.append(Finding(text: "\(p.describe) answered \(p.answerCount) times", wire: [
                            WireRecord(time: round3(p.sentAt - origin), direction: .up, text: showBytes(FrameEncoder.frame(p.segment, trailer: false))),
                        ] + p.answers.map { WireRecord(time: round3($0.frame.time - origin), direction: .down, text: $0.frame.text) }))
                    }
                }
            }
        }
        if counted == 0 {
            for id in [RuleID.platformAckCn, RuleID.platformAckSt, RuleID.platformAckFlag, RuleID.platformAckQn, RuleID.platformAckCp, RuleID.platformAckPwmn, RuleID.platformAckCrc, RuleID.platformAckFraming, RuleID.platformAckTime, RuleID.platformAckOnce] {
                judge(id, .notExercised, "not exercised: the platform acknowledged nothing the tool sent")
            }
            return
        }
        facts.append(("acknowledgements", "\(counted) answers to the tool's packets judged"))
        for id in [RuleID.platformAckCn, RuleID.platformAckSt, RuleID.platformAckFlag, RuleID.platformAckQn, RuleID.platformAckCp, RuleID.platformAckPwmn, RuleID.platformAckCrc, RuleID.platformAckFraming, RuleID.platformAckTime] {
            let list = bad[id] ?? []
            if list.isEmpty && id == RuleID.platformAckCrc && lowerCRCCount > 0 {
                judge(id, .warn, "\(lowerCRCCount) of \(counted) answers: " + lowerCRC.joined(separator: "; ") + (lowerCRCCount > lowerCRC.count ? " (and more)" : ""), established: true)
            } else if list.isEmpty {
                judge(id, .pass, "all \(counted) answers conform", established: true)
            } else {
                let shown = list.filter { !$0.text.isEmpty }
                let more = list.count > shown.count ? " (and more)" : ""
                judge(id, .fail, "\(id == RuleID.platformAckTime ? lateCount : badAnswers[id, default: []].count) of \(counted) answers: " + shown.map(\.text).prefix(3).joined(separator: "; ") + more,
                      wire: shown.flatMap(\.wire), established: true)
            }
        }
        if twice.isEmpty {
            judge(RuleID.platformAckOnce, .pass, "no packet answered twice", established: true)
        } else {
            judge(RuleID.platformAckOnce, .fail, twice.map(\.text).prefix(3).joined(separator: "; "), wire: twice.flatMap(\.wire), established: true)
        }
    }

    func judgeCommands() {
        guard wantsGroup("P-CMD-") || wants(RuleID.platformNotify1012) else { return }
        struct Finding { var text: String; var frame: ProbeFrame }
        var bad: [RuleID: [Finding]] = [:]
        var total = 0
        var cns: [String: Int] = [:]
        let linter = try? Linter(options: LintOptions(strict: false))
        var set1012 = false
        for c in conversations {
            var byQN: [String: String] = [:]
            for (frame, version) in c.commands {
                total += 1
                let s = frame.segment
                let cn = s.cn ?? "?"
                cns[cn, default: 0] += 1
                func add(_ id: RuleID, _ text: String) { if bad[id, default: []].count < 20 { bad[id, default: []].append(Finding(text: "\(cn) QN=\(s.qn ?? "-"): \(text)", frame: frame)) } }
                // Form: frame, header, known CN, lint errors.
                var problems: [String] = []
                if !frame.crcOK { problems.append("CRC \(String(decoding: frame.raw.crcBytes, as: UTF8.self)) is wrong\(frame.crcVariant.map { " (\($0.rawValue))" } ?? "")") }
                if frame.raw.declaredLength != frame.raw.segment.count { problems.append("length field \(showBytes(frame.raw.lengthBytes)) for \(frame.raw.segment.count) bytes") }
                if frame.raw.trailer != .crlf { problems.append("ends with \(frame.raw.trailer.rawValue), not CR LF") }
                let missing = ["QN", "ST", "CN", "PW", "MN", "Flag"].filter { s.header($0) == nil } + (s.cp == nil ? ["CP"] : [])
                if !missing.isEmpty { problems.append("missing " + missing.joined(separator: ", ")) }
                if let linter {
                    let report = linter.check(frame.raw, index: 0)
                    if let e = report.diagnostics.first(where: { $0.severity == .error }) { problems.append("\(e.rule): \(e.message)") }
                }
                if !problems.isEmpty { add(RuleID.platformCmdForm, problems.prefix(3).joined(separator: "; ")) }
                // ST: the logger's, never 91.
                if let st = s.st, !c.sts.contains(st) { add(RuleID.platformCmdSt, "ST=\(st), the logger uses \(c.sts.sorted().joined(separator: "/"))") }
                else if s.st == nil { add(RuleID.platformCmdSt, "no ST") }
                // Flag: A=1, D=0, the logger's version.
                if let flag = s.flag {
                    if !flag.needsAck || flag.isSplit || flag.version != version {
                        add(RuleID.platformCmdFlag, "Flag=\(flag.rawValue), expected \(PacketFlag(version: version, split: false, ack: true).rawValue) (A=1, version \(version))")
                    }
                } else {
                    add(RuleID.platformCmdFlag, "Flag=\(s.header("Flag") ?? "-")")
                }
                // QN: 17 digits, a valid time, one per command.
                if let qn = s.qn, qn.utf8.count == 17, HJTime(qn, allowMilliseconds: true) != nil {
                    let key = cn + "|" + s.cpText
                    if let previous = byQN[qn], previous != key { add(RuleID.platformCmdQn, "QN reused by a different command") }
                    byQN[qn] = key
                } else {
                    add(RuleID.platformCmdQn, "QN=\(s.qn ?? "-") is not a valid 17-digit time")
                }
                // PW and MN of the logger.
                let pair = (s.mn ?? "") + "\u{1}" + (s.pw ?? "")
                if !(c.identities.contains(pair) || (s.mn == c.mn && s.pw == c.pw)) {
                    add(RuleID.platformCmdPwmn, "MN=\(s.mn ?? "-") PW=\(s.pw ?? "-"), the logger is MN=\(c.mn) PW=\(c.pw)")
                }
                if cn == CommandCode.setLoggerTime.rawValue, let t = time1013, frame.time >= t { set1012 = true }
            }
        }
        facts.append(("commands", total == 0 ? "none seen" : cns.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: ", ")))
        if time1013 != nil && wants(RuleID.platformNotify1012) {
            if set1012 { judge(RuleID.platformNotify1012, .pass, "a 1012 set-time command followed the 1013") }
            else { judge(RuleID.platformNotify1012, .fail, "no 1012 set-time command followed the 1013 during the run", wire: primary?.log.snapshot ?? []) }
        }
        let window = options.commandWindow
        guard total > 0 else {
            for id in [RuleID.platformCmdForm, RuleID.platformCmdSt, RuleID.platformCmdFlag, RuleID.platformCmdQn, RuleID.platformCmdPwmn, RuleID.platformCmdFlow, RuleID.platformCmdResend] {
                judge(id, .notExercised, "not exercised: the platform sent no command during the run (command window \(format(window)) s)")
            }
            return
        }
        for id in [RuleID.platformCmdForm, RuleID.platformCmdSt, RuleID.platformCmdFlag, RuleID.platformCmdQn, RuleID.platformCmdPwmn] {
            let list = bad[id] ?? []
            if list.isEmpty {
                judge(id, .pass, "all \(total) commands conform", established: true)
            } else {
                judge(id, .fail, "\(list.count) of \(total) commands: " + list.prefix(3).map(\.text).joined(separator: "; "),
                      wire: list.prefix(5).map { WireRecord(time: round3($0.frame.time - origin), direction: .down, text: $0.frame.text) }, established: true)
            }
        }
        responder?.judge()
    }

    func judgeLatency() {
        guard wants(RuleID.platformLoadLatency) else { return }
        guard latencies.total > 0 else {
            judge(RuleID.platformLoadLatency, .notExercised, "not exercised: no acknowledgement was timed")
            return
        }
        let p50 = latencies.percentile(50), p99 = latencies.percentile(99)
        let text = "p50 \(LatencyHistogram.format(p50)), p99 \(LatencyHistogram.format(p99)), max \(LatencyHistogram.format(latencies.max)) over \(latencies.total) acknowledgements"
        facts.append(("ack latency", text))
        if Double(p99) / 1e6 <= options.overTime {
            judge(RuleID.platformLoadLatency, .pass, text + "; OverTime \(format(options.overTime)) s", established: true)
        } else {
            var wire: [WireRecord] = []
            if let (p, a) = slowest {
                wire = [WireRecord(time: round3(p.sentAt - origin), direction: .up, text: showBytes(FrameEncoder.frame(p.segment, trailer: false))),
                        WireRecord(time: round3(a.frame.time - origin), direction: .down, text: a.frame.text),
                        WireRecord(time: round3(a.frame.time - origin), direction: .note, text: "the slowest answer: \(ms(a.latency))")]
            }
            judge(RuleID.platformLoadLatency, .fail, text + "; p99 exceeds OverTime \(format(options.overTime)) s: loggers would resend", wire: wire, established: true)
        }
    }
}
