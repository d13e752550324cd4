import Foundation
import HJ212
import HJConformance
import HJNetwork
import HJRoles
import Synchronization
import Testing
@testable import HJ212CLI
import TestSupport

/// The test platform of `check platform`'s tests: a script over the frames it receives (the
/// tool's own replies 9011–9014 excluded unless `seesReplies`) answers each with actions: raw
/// bytes (so that answers and commands can be malformed in any way: a wrong CRC, length or
/// trailer, missing fields), a segment, a close, a close with a reset, or nothing. The script
/// can depend on how the frame came (cut across reads, several in one read, after noise). It
/// plays the misbehaviours of review 20 (late acceptances of bad packets, refusals of
/// everything, closes on any frame, a refused dialect, silence, a backlog), refusals by QnRtn
/// and resent commands (`refusing`), and acknowledgement forms (`answering`).
final class WirePlatform: @unchecked Sendable {
    // Sendable: `port` is immutable; each handler touches only its own state on its loop.
    let group: EventLoopGroup
    let server: TCPServer
    let port: UInt16
    static let mn = "010000A8900016F000169DC0"
    static let pw = "123456"

    struct Incoming: Sendable {
        var segment: DataSegment
        var crcOK: Bool
        var lengthOK: Bool
        /// Bytes of the data segment.
        var size: Int
        /// The connection's number (0 for the first accepted) and the frame's on it.
        var connection: Int
        var index: Int
        /// The frame's bytes came in more than one read.
        var cut: Bool
        /// Frames the same read completed before this one.
        var before: Int
        /// Bytes that are not a frame came on this connection before this frame.
        var afterNoise: Bool

        var registered: Bool { segment.mn == WirePlatform.mn && segment.pw == WirePlatform.pw }
        /// The registered logger, a right CRC and length, at most 1024 bytes, A=1.
        var isGood: Bool { crcOK && lengthOK && size <= 1024 && registered && (segment.flag?.needsAck ?? false) }
        var qn: String { segment.qn ?? segment.cpValue("QN") ?? "" }
        var cn: String { segment.cn ?? "" }
        /// The Flag's version bits (0: HJ/T 212-2005, 1: 2017, 2: 2025).
        var version: Int { segment.flag?.version ?? 0 }
    }

    enum Action: Sendable {
        /// Sends the bytes `after` seconds (on this connection, if still open, and if `unless`
        /// does not say otherwise then).
        case send([UInt8], after: Double = 0, unless: (@Sendable () -> Bool)? = nil)
        case close
        /// Closes with a reset (`SO_LINGER` 0: an RST instead of a FIN).
        case reset

        /// Sends the segment's frame `after` seconds.
        static func reply(_ s: DataSegment, after: Double = 0) -> Action { .send(FrameEncoder.frame(s), after: after) }
    }

    /// `seesReplies`: the script is given the tool's replies (9011–9014) too (they count in `index`).
    init(seesReplies: Bool = false, _ script: @escaping @Sendable (Incoming) -> [Action]) throws {
        group = try EventLoopGroup(threads: 1, name: "wire-platform")
        let counter = Atomic<Int>(0)
        server = try TCPServer.start(on: .loopback(port: 0), group: group) { _ in
            Handler(connection: counter.add(1, ordering: .relaxed).oldValue, seesReplies: seesReplies, script)
        }
        port = server.localAddress.port
    }

    func stop() {
        _ = server.stopAndWait(timeout: .seconds(3))
        group.shutdown()
    }

    /// Touched only on its connection's loop (the rule behind `@unchecked Sendable`).
    final class Handler: TCPConnectionHandler, @unchecked Sendable {
        var decoder = FrameDecoder()
        let script: @Sendable (Incoming) -> [Action]
        let connection: Int
        let seesReplies: Bool
        var index = 0
        /// Bytes fed to the decoder that no event has taken yet.
        var held = 0
        var noisy = false
        init(connection: Int, seesReplies: Bool, _ script: @escaping @Sendable (Incoming) -> [Action]) {
            self.connection = connection
            self.seesReplies = seesReplies
            self.script = script
        }

        func connection(_ c: TCPConnection, didRead bytes: [UInt8]) {
            decoder.feed(bytes)
            // Bytes of earlier reads come first: a frame that starts among them was cut.
            var fromEarlier = held
            held += bytes.count
            var completed = 0
            while let event = decoder.next() {
                let size: Int
                switch event {
                case .frame(let raw): size = raw.bytes.count
                case .skipped(let s): size = s.count; noisy = true
                case .incomplete(let t): size = t.count
                }
                let cut = fromEarlier > 0
                fromEarlier = max(0, fromEarlier - size)
                held -= size
                guard case .frame(let raw) = event else { continue }
                let s = SegmentParser.parse(raw.segmentBytes).segment
                if !seesReplies && ["9011", "9012", "9013", "9014"].contains(s.cn ?? "") { continue }
                let crcOK = CRC.parseHex(raw.crcBytes).map { CRC.match(declared: $0, segment: raw.segmentBytes).match == .hj212 } ?? false
                let incoming = Incoming(segment: s, crcOK: crcOK, lengthOK: raw.declaredLength == raw.segment.count, size: raw.segment.count,
                                        connection: connection, index: index, cut: cut, before: completed, afterNoise: noisy)
                index += 1
                completed += 1
                for action in script(incoming) {
                    switch action {
                    case .send(let bytes, let after, let unless):
                        let send = { if unless?() != true { _ = c.write(bytes) } }
                        if after <= 0 {
                            send()
                        } else {
                            _ = c.loop.scheduleOnLoop(after: .milliseconds(Int64(after * 1000)), send)
                        }
                    case .close:
                        c.close()
                        return
                    case .reset:
                        c.close(reset: true)
                        return
                    }
                }
            }
        }

        func connection(_ c: TCPConnection, didCloseWith reason: CloseReason) {}
        func connectionDidDrain(_ c: TCPConnection) {}
    }
}

extension WirePlatform {
    /// `check platform` against it (JSON report parsed): the registered logger's identity, this
    /// OverTime, the command window (nil: the tool's default), and, with `messagesInChinese`, an
    /// expectation that every check message reads in Chinese in a `--lang zh` report.
    func check(_ extra: [String], overTime: String = "0.4", commandWindow: String? = nil,
               messagesInChinese: Bool = false) throws -> (status: Int32, json: JSONValue, out: String) {
        try checkPlatform(port: port, identity: ["--mn", Self.mn, "--pw", Self.pw], overTime: overTime, commandWindow: commandWindow,
                          messagesInChinese: messagesInChinese, extra)
    }

    /// The check `id` of a JSON report: its verdict, its verdict before the SHOULD→warn softening, its message.
    static func result(_ json: JSONValue, _ id: String) -> (verdict: String, raw: String, message: String) {
        let c = json["checks"]?.array.first { $0["id"]?.string == id }
        return (c?["verdict"]?.string ?? "missing", c?["raw_verdict"]?.string ?? c?["verdict"]?.string ?? "missing", c?["message"]?.string ?? "")
    }

    /// For the cases the reference platform does not play: refuses a bad CRC (9011 QnRtn=9), an
    /// unknown MN (4) and a wrong PW (3) instead of staying silent, acknowledges everything else
    /// that asks for it, and, with `commands`, sends the first logger (after its 2081) a command
    /// with A=0 (never resent) and then one with A=1 that it resends every 300 ms until answered.
    static func refusing(commands: Bool = false) throws -> WirePlatform {
        let answered = Mutex<Set<String>>([])
        let sent = Atomic<Bool>(false)
        return try WirePlatform(seesReplies: true) { f in
            if f.cn == "9011", let qn = f.segment.qn { answered.withLock { _ = $0.insert(qn) } }
            if ["9011", "9012", "9013", "9014"].contains(f.cn) { return [] }
            var actions: [Action] = []
            let refusal = !f.crcOK ? "9" : f.segment.mn != mn ? "4" : f.segment.pw != pw ? "3" : nil
            if let refusal {
                actions.append(.reply(replySegment(cn: "9011", to: f.segment, cp: [[Field("QnRtn", refusal)]])))
            } else if f.segment.flag?.needsAck ?? false {
                actions.append(.reply(replySegment(cn: f.cn == "1013" || f.cn == "9015" ? "9013" : "9014", to: f.segment, cp: [])))
            }
            if commands && f.connection == 0 && f.cn == "2081" && !sent.exchange(true, ordering: .relaxed) {
                let qn = "20261130080000002"
                let resent = FrameEncoder.frame(Wire.command("1061", qn: qn, flag: "5"))
                actions.append(.reply(Wire.command("1011", qn: "20261130080000001", flag: "4")))
                actions += (0..<5).map { k in .send(resent, after: 0.3 * Double(k), unless: { answered.withLock { $0.contains(qn) } }) }
            }
            return actions
        }
    }

    /// Answers every packet that asks for an answer (A=1, not itself a reply) with what `answer`
    /// builds from it (nil: no answer), its CRC in lower case with `lowerCRC`: acknowledgement
    /// forms the reference platform never produces.
    static func answering(lowerCRC: Bool = false, _ answer: @escaping @Sendable (DataSegment) -> DataSegment?) throws -> WirePlatform {
        try WirePlatform { f in
            guard f.segment.flag?.needsAck ?? false, let reply = answer(f.segment) else { return [] }
            return [.send(lowerCRC ? Wire.lowerCaseCRC(FrameEncoder.frame(reply)) : FrameEncoder.frame(reply))]
        }
    }

    /// The answer's CN for a packet: 9013 for notifications, 9014 for the rest.
    static func ackCN(_ s: DataSegment) -> String { s.cn == "1013" || s.cn == "9015" ? "9013" : "9014" }

    /// The HJ/T 212-2005 form: `ST=91;CN=9014;CP=&&QN=…;CN=…&&`, no QN header, no PW/MN/Flag.
    static func form2005(_ s: DataSegment) -> DataSegment {
        DataSegment(header: [Field("ST", "91"), Field("CN", ackCN(s))], cp: [[Field("QN", s.qn ?? ""), Field("CN", s.cn ?? "")]])
    }

    /// The HJ 212-2017 form: QN header, PW, MN, Flag=4, `CP=&&&&` (whatever the packet's version).
    static func form2017(_ s: DataSegment) -> DataSegment { replySegment(cn: ackCN(s), to: s, cp: [], version: 1) }
}

/// `hj212 check platform` against a loopback port with short timings (`identity`: `--mn`/`--pw`
/// or `--registry`), its JSON report parsed; with `messagesInChinese`, every check message must
/// read in Chinese in a `--lang zh` report (review 20, F10).
func checkPlatform(port: UInt16, identity: [String], overTime: String = "0.4", commandWindow: String? = nil, messagesInChinese: Bool = false,
                   _ extra: [String]) throws -> (status: Int32, json: JSONValue, out: String) {
    let r = hj212(["check", "platform", "127.0.0.1:\(port)"] + identity + ["--overtime", overTime]
                  + (commandWindow.map { ["--command-window", $0] } ?? []) + ["--format", "json"] + extra)
    let json = try JSONValue.parse(r.out)
    if messagesInChinese {
        let catalogue = try RuleCatalogue.load().messages
        let english = (json["checks"]?.array ?? []).compactMap { $0["message"]?.string }.filter { hasEnglish(catalogue.localized($0, .zh)) }
        #expect(english.isEmpty, "not in Chinese: \(english.map { catalogue.localized($0, .zh) })")
    }
    return (r.status, json, r.out + r.err)
}

/// Frames a `WirePlatform` sends: answers and commands, well formed or not.
enum Wire {
    typealias Incoming = WirePlatform.Incoming
    typealias Action = WirePlatform.Action

    /// The acknowledgement a packet asks for (9013 for 1013/9015, else 9014) in the 2017 form
    /// (the QN of an HJ/T 212-2005 packet, in its CP, put in the header).
    static func ackSegment(_ s: DataSegment, cn: String? = nil, cp: [[Field]] = []) -> DataSegment {
        var request = s
        if request.qn == nil, let qn = s.cpValue("QN") { request.header.insert(Field("QN", qn), at: 0) }
        return replySegment(cn: cn ?? (s.cn == "1013" || s.cn == "9015" ? "9013" : "9014"), to: request, cp: cp, version: 1)
    }

    static func ackSegment(_ f: Incoming, cn: String? = nil, cp: [[Field]] = []) -> DataSegment { ackSegment(f.segment, cn: cn, cp: cp) }

    /// A 9011 with this QnRtn (echoing the QN, from the header or, for HJ/T 212-2005, from CP).
    static func refusalSegment(_ s: DataSegment, _ code: String) -> DataSegment { ackSegment(s, cn: "9011", cp: [[Field("QnRtn", code)]]) }

    static func refusalSegment(_ f: Incoming, _ code: String) -> DataSegment { refusalSegment(f.segment, code) }

    /// A header field set (nil: removed).
    static func setting(_ s: DataSegment, _ name: String, _ value: String?) -> DataSegment {
        var s = s
        if let value {
            if let i = s.header.firstIndex(where: { $0.name == name }) { s.header[i].value = value } else { s.header.append(Field(name, value)) }
        } else {
            s.header.removeAll { $0.name == name }
        }
        return s
    }

    /// The frame of `s`: with a CRC style, a corrupt CRC, another trailer, a length field off by `lengthDelta`.
    static func frame(_ s: DataSegment, crc: FrameEncoder.CRCStyle = .standard, corruptCRC: Bool = false, trailer: String = "\r\n",
                      lengthDelta: Int = 0) -> [UInt8] {
        var bytes = FrameEncoder.frame(s, crcStyle: crc, trailer: false)
        if corruptCRC {
            let at = bytes.count - 4
            let right = String(decoding: bytes[at...], as: UTF8.self)
            bytes.replaceSubrange(at..., with: Array((right == "0000" ? "FFFF" : "0000").utf8))
        }
        if lengthDelta != 0 {
            let n = String(bytes.count - 10 + lengthDelta)
            bytes.replaceSubrange(2..<6, with: Array((String(repeating: "0", count: max(0, 4 - n.count)) + n).utf8))
        }
        return bytes + Array(trailer.utf8)
    }

    /// A frame with its CRC's hex letters in lower case.
    static func lowerCaseCRC(_ frame: [UInt8]) -> [UInt8] {
        var bytes = frame
        for i in (bytes.count - 6)..<(bytes.count - 2) where bytes[i] >= 0x41 && bytes[i] <= 0x46 { bytes[i] += 0x20 }
        return bytes
    }

    static func send(_ s: DataSegment, after: Double = 0) -> Action { .reply(s, after: after) }
    static func ack(_ f: Incoming, after: Double = 0) -> Action { send(ackSegment(f), after: after) }
    static func refuse(_ f: Incoming, _ code: String, after: Double = 0) -> Action { send(refusalSegment(f, code), after: after) }

    /// A command of the platform (the registered logger's identity unless given).
    static func command(_ cn: String, qn: String?, st: String? = "32", pw: String? = WirePlatform.pw, mn: String? = WirePlatform.mn,
                        flag: String? = "5", cp: [[Field]] = []) -> DataSegment {
        var header: [Field] = []
        if let qn { header.append(Field("QN", qn)) }
        if let st { header.append(Field("ST", st)) }
        header.append(Field("CN", cn))
        if let pw { header.append(Field("PW", pw)) }
        if let mn { header.append(Field("MN", mn)) }
        if let flag { header.append(Field("Flag", flag)) }
        return DataSegment(header: header, cp: cp)
    }

    /// China time, `YYYYMMDDhhmmss`, `offset` seconds from now.
    static func chinaTime(_ offset: Double = 0) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(secondsFromGMT: 8 * 3600)
        f.dateFormat = "yyyyMMddHHmmss"
        return f.string(from: Date().addingTimeInterval(offset))
    }

    /// A command QN: a valid 17-digit time.
    static func qn(_ n: Int) -> String { chinaTime() + String(format: "%03d", n % 1000) }
}
