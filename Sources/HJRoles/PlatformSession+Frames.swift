import HJ212
import HJSimulation

/// Frames from the logger: checks, access, acknowledgements, uploads, split records, replies.
extension PlatformSession {
    // MARK: - Frames

    /// One frame: linted, checked (CRC, length, size, CN), admitted (registry, locks), then
    /// acknowledged and taken as what its CN says it is.
    mutating func handle(_ raw: RawFrame, at now: SessionTime) {
        let report = state.lint(raw, index: frameIndex)
        frameIndex += 1
        let segment = report.segment
        let head = HeaderFields(segment)
        delta.frames += 1
        for diagnostic in report.diagnostics {
            delta.count(diagnostic)
            outbox.append(.diagnostic(RecordedDiagnostic(time: now, peer: peer, mn: head.mn, cn: head.cn,
                                                         frameIndex: report.index, diagnostic: diagnostic)))
        }
        let mn = head.mn ?? ""
        guard let cn = wellFormedCN(raw, report, head, mn: mn, at: now), admitted(segment, head, cn: cn, mn: mn, at: now) else { return }
        delta.accepted += 1
        outbox.append(.packetAccepted(AcceptedPacket(frame: raw.bytes, segment: segment, time: now, peer: peer, dialect: report.detectedDialect)))
        let identifiedNow = identify(head, cn: cn, mn: mn, dialect: report.detectedDialect, at: now)
        take(segment, head, cn: cn, mn: mn, dialect: report.detectedDialect, bytes: raw.segment.count, at: now)
        if identifiedNow { maybeInitialise(at: now) }
        pump(at: now)
    }

    /// The frame's CN when its CRC, length field and size may be acknowledged; nil (counted and
    /// logged) otherwise. The roster judges a trace's frames by the same framing rules
    /// (`RosterEvidence.acknowledgeable`, which says why it does not call this).
    mutating func wellFormedCN(_ raw: RawFrame, _ report: FrameReport, _ head: HeaderFields, mn: String, at now: SessionTime) -> String? {
        if !report.crc.ok {
            let variantAccepted = report.crc.variant != nil && options.acceptCRCVariants
            if !variantAccepted && !options.misbehaviour.contains(.acknowledgeBadCRC) {
                delta.rejectedBadCRC += 1
                let what = report.crc.variant.map { "CRC '\(report.crc.declared)' is the \($0) variant" }
                    ?? "CRC '\(report.crc.declared)' (computed '\(report.crc.computed)')"
                note(.rejected, "frame \(report.index) CN=\(head.cn ?? "?"): \(what); not acknowledged", mn: mn, at: now)
                return nil
            }
        }
        // Length: the declared length must be the data segment's (bytes, or characters as some
        // firmware counts them), and the segment at most 1024 bytes (Table 2).
        let byteCount = raw.segment.count
        if !raw.declaredLengthFits && !options.misbehaviour.contains(.acknowledgeBadLength) {
            delta.rejectedMalformed += 1
            note(.rejected, "frame \(report.index) CN=\(head.cn ?? "?"): length field '\(String(decoding: raw.lengthBytes, as: UTF8.self))', the data segment has \(byteCount) bytes; not acknowledged",
                 mn: mn, at: now)
            return nil
        }
        if byteCount > PacketSplitter.maxSegmentBytes && !options.misbehaviour.contains(.acknowledgeOversize) {
            delta.rejectedMalformed += 1
            note(.rejected, "frame \(report.index) CN=\(head.cn ?? "?"): data segment of \(byteCount) bytes, over \(PacketSplitter.maxSegmentBytes) and not split; not acknowledged",
                 mn: mn, at: now)
            return nil
        }
        guard let cn = head.cn, !cn.isEmpty else {
            delta.rejectedMalformed += 1
            note(.rejected, "frame \(report.index): no CN; not acknowledged", mn: mn, at: now)
            return nil
        }
        return cn
    }

    /// Whether the registry (and the wrong-password locks) let this packet in.
    mutating func admitted(_ segment: DataSegment, _ head: HeaderFields, cn: String, mn: String, at now: SessionTime) -> Bool {
        guard let access = state.access(mn: mn, pw: head.pw, at: now) else { return true }  // open mode
        switch access.verdict {
        case .accepted:
            if let since = access.lockedSince, !(identified?.identity.mn == mn && (identified?.since ?? .max) < since) {
                // No oracle while the MN is locked: a right password from a connection that was
                // not accepted for it before the lock gets the same silence as a wrong one.
                delta.rejectedLocked += 1
                note(.rejected, "CN=\(cn) QN=\(head.qn ?? "-"): MN locked after wrong passwords; not acknowledged", mn: mn, at: now)
                return false
            }
            return true
        case .unknownMN where options.misbehaviour.contains(.acceptUnknownMN):
            return true
        case .unknownMN:
            delta.rejectedUnknownMN += 1
            note(.rejected, "CN=\(cn) QN=\(head.qn ?? "-"): MN '\(mn)' is not registered; not acknowledged", mn: mn, at: now)
            return false
        case .wrongPW where options.misbehaviour.contains(.acceptWrongPW):
            return true
        case .wrongPW:
            // The answer to our own 1072 may already carry the new password.
            let newPW = inFlight.flatMap { $0.command.cn == CommandCode.setPassword.rawValue && $0.qn == head.qn ? $0.request.cpValue("NewPW") : nil }
            if newPW != nil && head.pw == newPW { return true }
            delta.rejectedBadPW += 1
            // The registered password is never shown (logs and summaries are read by many).
            note(.rejected, "CN=\(cn) QN=\(head.qn ?? "-"): wrong PW; not acknowledged", mn: mn, at: now)
            wrongPassword(mn: mn, lockedBefore: access.lockedSince != nil, at: now)
            return false
        }
    }

    /// Who is on this connection: the first accepted MN identifies it; a later PW of the same MN
    /// (not in a 9011/9012) replaces the known one. True when this packet identified the logger.
    mutating func identify(_ segment: HeaderFields, cn: String, mn: String, dialect: Dialect, at now: SessionTime) -> Bool {
        var identifiedNow = false
        if case .anonymous(let started) = link, !mn.isEmpty {
            link = .identified(Identified(identity: LoggerIdentity(mn: mn, pw: segment.pw ?? ""), since: now, setUpStarted: started))
            identifiedNow = true
        } else if case .closed(nil) = link, !mn.isEmpty {
            link = .closed(Identified(identity: LoggerIdentity(mn: mn, pw: segment.pw ?? ""), since: now))
        } else if var who = identified, who.identity.mn == mn, let pw = segment.pw, pw != who.identity.pw,
                  cn != CommandCode.requestReply.rawValue, cn != CommandCode.executionResult.rawValue {
            who.identity.pw = pw
            identified = who
        }
        if var who = identified, who.identity.mn == mn {
            if let st = segment.st, st != "91" { who.st = st }
            if dialect != .unknown { who.dialect = dialect }
            identified = who
        }
        return identifiedNow
    }

    /// An accepted packet by what its CN is: a reply to our command, an upload (acknowledged,
    /// stored, reassembled), a notification (acknowledged), or something a logger does not send.
    mutating func take(_ segment: DataSegment, _ head: HeaderFields, cn: String, mn: String, dialect: Dialect, bytes byteCount: Int, at now: SessionTime) {
        let wantsAck = (head.flag?.needsAck ?? false) || options.misbehaviour.contains(.ackEvenWithoutFlagA)
        let version = Self.version(of: dialect)
        let code = CommandCode(cn)
        switch code {
        case .requestReply, .executionResult, .notificationReply:
            handleReply(cn, segment, at: now)
        case .dataReply:
            delta.unexpected += 1
            note(.unexpected, "\(cn) QN=\(head.qn ?? "-") from a logger: the platform sent nothing to acknowledge", mn: mn, at: now)
        default:
            switch uploadRole(cn, dialect: dialect) {
            case .upload:
                // `refusal` judges split packets only (nil for the others).
                if head.isSplit, let why = reassembler.refusal(segment, bytes: byteCount) {
                    delta.reassemblyRejected += 1
                    note(.reassembly, "CN=\(cn) QN=\(head.qn ?? "-"): \(why)", mn: mn, at: now)
                    return
                }
                // The record's events first, then its acknowledgement: a driver that commits
                // events before writing sends acknowledges only what it stored. A part whose
                // record was just dropped (over a budget) is not acknowledged.
                if handleUpload(segment, split: head.isSplit, bytes: byteCount, at: now), wantsAck {
                    acknowledge(.dataReply, segment, head, version: version, at: now)
                }
            case .notification:
                if wantsAck { acknowledge(.notificationReply, segment, head, version: version, at: now) }
                if code == .timeCalibrationRequest && options.answerTimeRequests {
                    enqueue(Self.setTimeCommand(polId: segment.cpValue("PolId"), at: now), at: now)
                }
            default:
                delta.unexpected += 1
                note(.unexpected, "CN=\(cn) QN=\(head.qn ?? "-") is not something a logger sends; not acknowledged", mn: mn, at: now)
            }
        }
    }

    /// Builds and sends (or holds, with `ackDelay`) a 9014 / 9013.
    mutating func acknowledge(_ code: CommandCode, _ packet: DataSegment, _ head: HeaderFields, version: Int, at now: SessionTime) {
        let cn = code.rawValue
        let faults = options.misbehaviour
        if faults.isEmpty && version != 0 {
            // The common case written straight to bytes, in one array (the frame's only
            // allocation): the same fields, in the same order, as `replySegment` gives (QN echoed,
            // ST=91, CN, PW and MN echoed, Flag without A), then the length, CRC and CR LF.
            let qn = head.qn, pw = head.pw ?? "", mn = head.mn ?? ""
            var frame: [UInt8] = []
            frame.reserveCapacity(64 + (qn?.utf8.count ?? 0) + pw.utf8.count + mn.utf8.count)
            frame.append(contentsOf: FrameEncoder.placeholder)  // "##0000": finishFrame sets the length
            func add(_ name: StaticString, _ value: String) {
                frame.append(contentsOf: UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
                frame.append(UInt8(ascii: "="))
                frame.append(contentsOf: value.utf8)
                frame.append(UInt8(ascii: ";"))
            }
            if let qn { add("QN", qn) }
            add("ST", "91")
            add("CN", cn)
            add("PW", pw)
            add("MN", mn)
            // Flag: the version bits alone (4, 8 …: at most three digits), then CP=&&&&.
            let flag = PacketFlag(version: version, split: false, ack: false).rawValue
            let flagName: StaticString = "Flag="
            frame.append(contentsOf: UnsafeRawBufferPointer(start: flagName.utf8Start, count: flagName.utf8CodeUnitCount))
            if flag >= 100 { frame.append(UInt8(48 + flag / 100)) }
            if flag >= 10 { frame.append(UInt8(48 + flag / 10 % 10)) }
            frame.append(UInt8(48 + flag % 10))
            let cpEmpty: StaticString = ";CP=&&&&"
            frame.append(contentsOf: UnsafeRawBufferPointer(start: cpEmpty.utf8Start, count: cpEmpty.utf8CodeUnitCount))
            FrameEncoder.finishFrame(&frame)
            sendAck(frame, code, qn: qn, at: now)
            return
        }
        var reply = replySegment(cn: cn, to: packet, cp: faults.contains(.nonEmptyAckCP) ? [[Field("QnRtn", QnRtn.ready.rawValue)]] : [], version: version)
        if version == 0, let qn = packet.qn {
            // The HJ/T 212-2005 form: no QN in the header, the answered QN (and for 9014 the CN) in CP.
            reply.header.removeAll { $0.name == "QN" }
            reply.cp = code == .dataReply ? [[Field("QN", qn)], [Field("CN", packet.cn ?? "")]] : [[Field("QN", qn)]]
        }
        if faults.contains(.ackWrongST), let st = packet.st { reply.setHeader("ST", st) }
        if faults.contains(.noQNEcho) {
            let qn = freshQN(at: now, avoiding: packet.qn)
            if reply.qn != nil { reply.setHeader("QN", qn) } else { reply.header.insert(Field("QN", qn), at: 0) }
        }
        sendAck(FrameEncoder.frame(reply, crcStyle: faults.contains(.modbusCRC) ? .modbusSwapped : .standard), code, qn: packet.qn, at: now)
    }

    /// Sends an acknowledgement, or holds it for `ackDelay`.
    mutating func sendAck(_ bytes: [UInt8], _ code: CommandCode, qn: String?, at now: SessionTime) {
        if code == .dataReply { delta.acks9014 += 1 } else { delta.acks9013 += 1 }
        let frame = OutgoingFrame.acknowledgement(code, qn: qn)
        if options.ackDelay > 0 && delayedAcks.count < options.maxDelayedAcks {
            delayedAcks.append((now + options.ackDelay, bytes, frame))
        } else {
            outbox.append(.send(bytes, frame))
        }
    }

    /// Stores a record, or holds a part of one; false when the packet's record was dropped for a
    /// budget (the packet must not be acknowledged).
    @discardableResult
    mutating func handleUpload(_ packet: DataSegment, split: Bool, bytes: Int, at now: SessionTime) -> Bool {
        if split { delta.splitPackets += 1 }
        let droppedBefore = reassembler.dropped
        let outcome = reassembler.add(packet, bytes: bytes, split: split)
        delta.reassemblyDropped += reassembler.dropped - droppedBefore
        switch outcome {
        case .whole(let record):
            store(record, reassembled: false, at: now)
        case .complete(let record):
            if split { delta.reassembled += 1 }
            store(record, reassembled: split, at: now)
        case .pending:
            // A sub-packet of the command's answer restarts its execution timeout (§6.2).
            if var command = inFlight, matches(packet, command) {
                if command.phase == .awaitingReply { command.phase = .executing }
                command.deadline = now + options.executionTimeout
                inFlight = command
            }
        case .rejected(let why):
            delta.reassemblyRejected += 1
            note(.reassembly, "CN=\(packet.cn ?? "?") QN=\(packet.qn ?? "-"): \(why)", mn: packet.mn, at: now)
            // A part repeated or out of its record's numbering is answered as before; a record
            // that went over a budget with this part is gone.
            return !reassembler.droppedCurrent
        }
        return true
    }

    /// Whether a packet answers the command in flight: it reuses the request's QN (single
    /// responses, C.2, C.5, C.7 …), or it has the command's CN and, when the request asked for a
    /// BeginTime…EndTime range, a DataTime inside it (history records get new QNs, C.20; a
    /// periodic upload of the same CN arriving meanwhile is not counted).
    func matches(_ packet: DataSegment, _ command: InFlight) -> Bool {
        guard packet.mn == command.request.mn else { return false }
        if let qn = packet.qn, qn == command.qn { return true }
        guard packet.cn == command.command.cn else { return false }
        guard let begin = command.request.cpValue("BeginTime").flatMap({ HJTime($0, allowMilliseconds: true) }),
              let end = command.request.cpValue("EndTime").flatMap({ HJTime($0, allowMilliseconds: true) })
        else { return true }
        guard let dataTime = packet.cpValue("DataTime").flatMap({ HJTime($0, allowMilliseconds: true) }) else { return false }
        return dataTime >= begin && dataTime <= end
    }

    mutating func store(_ record: DataSegment, reassembled: Bool, at now: SessionTime) {
        delta.records += 1
        outbox.append(.recordAccepted(AcceptedRecord(segment: record, time: now, reassembled: reassembled)))
        if var command = inFlight, !command.isNotification, matches(record, command) {
            command.records += 1
            if command.responses.count < options.maxResponsesPerCommand { command.responses.append(record) }
            if command.phase == .awaitingReply { command.phase = .executing }
            command.deadline = now + options.executionTimeout
            inFlight = command
        }
    }

    mutating func handleReply(_ cn: String, _ reply: DataSegment, at now: SessionTime) {
        // HJ/T 212-2005 replies carry the answered QN inside CP (reference §9.1, §9.3).
        let answeredQN = reply.qn ?? reply.cpValue("QN")
        guard var command = inFlight, answeredQN == command.qn, reply.mn == command.request.mn else {
            delta.unexpected += 1
            note(.unexpected, "\(cn) QN=\(reply.qn ?? "-") answers no command in flight\(inFlight.map { " (in flight: \($0.command.cn) QN=\($0.qn))" } ?? "")",
                 mn: reply.mn, at: now)
            return
        }
        switch CommandCode(cn) {
        case .notificationReply where command.isNotification:
            finish(.acknowledged, at: now)
        case .requestReply where !command.isNotification:
            let code = reply.cpValue("QnRtn").flatMap { Int($0) }
            guard command.phase == .awaitingReply else {
                // A repeated 9011 (we resent), or one that came after the first record.
                if command.qnRtn == nil { command.qnRtn = code; inFlight = command }
                return
            }
            command.qnRtn = code
            if code == Int(QnRtn.ready.rawValue) {
                command.phase = .executing
                command.deadline = now + options.executionTimeout
                inFlight = command
            } else {
                inFlight = command
                note(.command, "\(command.command.cn) QN=\(command.qn) refused: QnRtn=\(reply.cpValue("QnRtn") ?? "missing")", at: now)
                finish(.rejected, at: now)
            }
        case .executionResult where !command.isNotification:
            let code = reply.cpValue("ExeRtn").flatMap { Int($0) }
            if code != Int(ExeRtn.success.rawValue) {
                note(.command, "\(command.command.cn) QN=\(command.qn) ended with ExeRtn=\(reply.cpValue("ExeRtn") ?? "missing")", at: now)
            }
            finish(.completed, exeRtn: code, at: now)
        default:
            delta.unexpected += 1
            note(.unexpected, "\(cn) QN=\(reply.qn ?? "-") does not fit \(command.command.cn) (\(command.isNotification ? "notification" : "request"))",
                 mn: reply.mn, at: now)
        }
    }

    /// A wrong password: counted for the connection and the MN; the connection closes at its
    /// limit, or at once while the MN is locked. One notice line for the operator either way.
    mutating func wrongPassword(mn: String, lockedBefore: Bool, at now: SessionTime) {
        wrongPasswords += 1
        let lockedNow = state.noteWrongPassword(mn: mn, peer: peer, at: now)
        guard lockedBefore || lockedNow || wrongPasswords >= options.maxWrongPasswordsPerConnection else { return }
        let why = lockedBefore || lockedNow ? "a wrong password while MN \(TerminalText.safe(mn)) is locked"
            : "\(wrongPasswords) wrong passwords on this connection"
        delta.closedForWrongPW += 1
        note(.security, "closed: \(why)", mn: mn, at: now)
        if !lockedNow { outbox.append(.notice("\(peer): connection closed after \(why)")) }  // else the lock's notice says it
        outbox.append(.close(reason: why))
        shutDown(at: now)
    }
}
