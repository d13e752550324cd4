import Foundation
import HJ212
import HJCapture
import HJLoad
import HJNetwork

/// `hj212 replay`: a recorded session (trace or capture) played back to a platform.
struct ReplayCommand: CLICommand {
    static let name = "replay"
    static let abstract = "Play a recorded session (trace or capture) back to a platform: the loggers' uplinks at their recorded spacing, their answers to commands."
    static let operands = "TRACE|CAPTURE"
    static let to = Option("to", "HOST:PORT", help: "The platform to replay to.", required: true, parse: Parse.address)
    static let speed = Option("speed", "X", help: "Recorded seconds per real second (default 1: the recorded spacing).", parse: Parse.number(0...1_000_000, above: true))
    static let asFastAsPossible = Flag("as-fast-as-possible", help: "Send every uplink at once, in recorded order, without waiting.")
    static let rewriteTime = Flag("rewrite-time", help: "Move QN and every …Time field (DataTime, BeginTime …) to now: by whole hours (whole days when the recording holds day records), CRC recomputed.")
    static let mnMap = Option("mn-map", "FILE", help: "CSV old,new[,pw]: replay the logger with MN 'old' as MN 'new' (and password 'pw').", parse: Parse.path)
    static let platform = Option("platform", "HOST:PORT", help: "The platform's address in a capture (repeatable); default: the side that does not send uploads.", repeatable: true, parse: Parse.endpoint)
    static let ackTimeout = Option("ack-timeout", "S", help: "After the last uplink, wait at most this long for acknowledgements (default 10).", parse: Parse.seconds(0...3600))
    static let options: [any OptionDeclaration] = [to, speed, asFastAsPossible, rewriteTime, mnMap, platform, ackTimeout]
    static let discussion = """
    Reads a JSON Lines trace (serve/simulate/check --trace, trace import) or a pcap/pcapng capture.
    One TCP connection per MN. Uplinks the recorded logger sent on its own are sent with their
    recorded spacing (divided by --speed); the platform's 9014/9013 are matched by QN. Frames the
    recorded logger sent in answer to a platform request (its 9011, responses, history records,
    9012) are not sent on their own: when the platform sends a command, the recorded answer to the
    same CN (the first unused one, in the recorded order) is sent, with the command's QN.

    Frames go out byte for byte as recorded (their defects included, with CR LF), except:
    --mn-map (MN, PW), --rewrite-time (QN and …Time fields), the answers' QN; the length and CRC
    are then recomputed. An acknowledgement whose CRC is wrong is ignored, as a logger does.

    Judged: the uplinks acknowledged in the recording; a recording with no acknowledgement at all
    (a logger's own trace) is judged by the protocol instead: every uplink whose Flag asks for one.

    EXIT STATUS: 0 every uplink judged was acknowledged again and every uplink was sent; 1 some
    were not acknowledged (the first few QNs are listed) or not sent, or nothing was there to
    judge; 2 bad usage, an unreadable recording, nothing to replay or a target never reached;
    130/143 on Ctrl-C/SIGTERM (the summary is printed).

    EXAMPLES:
      hj212 replay site.pcapng --to 127.0.0.1:7001 --speed 60 --rewrite-time
      hj212 replay day.jsonl --to ingest.test:7001 --as-fast-as-possible --mn-map mns.csv
    """

    var file: String
    var target: SocketAddress
    var speed: Double?
    var rewriteTime: Bool
    var mnMap: [String: (mn: String, pw: String?)] = [:]
    var platforms: [Endpoint] = []
    var ackTimeout = 10.0

    init(_ a: ParsedArguments) throws(UsageError) {
        guard a.positionals.count == 1 else { throw UsageError("replay takes one TRACE or CAPTURE file") }
        file = a.positionals[0]
        guard let to = a[Self.to] else { throw UsageError("replay needs --to HOST:PORT") }
        target = to
        if a[Self.asFastAsPossible] {
            guard !a.given(Self.speed) else { throw UsageError("--speed and --as-fast-as-possible exclude each other") }
            speed = nil
        } else {
            speed = a[Self.speed] ?? 1
        }
        rewriteTime = a[Self.rewriteTime]
        ackTimeout = a[Self.ackTimeout] ?? 10
        platforms = a.all(Self.platform)
        if let path = a[Self.mnMap] { mnMap = try Self.loadMap(path) }
    }

    /// `old,new[,pw]` per line; blank lines and `#` comments skipped; a header line `old,new…` too.
    static func loadMap(_ path: String) throws(UsageError) -> [String: (mn: String, pw: String?)] {
        guard let data = FileManager.default.contents(atPath: path) else { throw UsageError("--mn-map: cannot read '\(TerminalText.safe(path))'") }
        var out: [String: (mn: String, pw: String?)] = [:]
        func field(_ s: Substring) -> String { s.trimmingCharacters(in: .whitespaces) }
        for (n, line) in String(decoding: data, as: UTF8.self).split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).enumerated() {
            let text = line.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "\u{FEFF}", with: "")
            if text.isEmpty || text.hasPrefix("#") { continue }
            let parts = text.split(separator: ",", omittingEmptySubsequences: false).map(field)
            if n == 0 && parts.first?.lowercased() == "old" { continue }
            guard parts.count == 2 || parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw UsageError("--mn-map \(TerminalText.safe(path)) line \(n + 1): expected old,new[,pw]")
            }
            for value in parts where value.utf8.contains(where: { $0 <= 32 || $0 == 127 || $0 == UInt8(ascii: ";") || $0 == UInt8(ascii: "=") || $0 == UInt8(ascii: "&") }) {
                throw UsageError("--mn-map \(TerminalText.safe(path)) line \(n + 1): '\(TerminalText.safe(value))' holds a space, a control character or one of ; = &")
            }
            guard out.count < 1_000_000 else { throw UsageError("--mn-map: more than 1 000 000 lines") }
            out[parts[0]] = (parts[1], parts.count == 3 && !parts[2].isEmpty ? parts[2] : nil)
        }
        return out
    }

    func run(_ io: CommandIO) -> Int32 {
        var plan = ReplayPlan()
        plan.mnMap = mnMap
        let summary: Recording.Summary
        do { summary = try Recording.read(file, platforms: platforms, io: io) { plan.add($0) && !Interrupts.requested } } catch {
            io.stderr.line("hj212 replay: \(error.message)")
            return 2  // 1 says acknowledgements were missing
        }
        if let c = summary.capture { io.stderr.line("hj212 replay: " + c) }
        for note in summary.notes { io.stderr.line("hj212 replay: " + note) }
        if plan.truncated { io.stderr.line("hj212 replay: the recording is larger than the replay budget (\(ReplayPlan.maxFrames) uplinks, \(ReplayPlan.maxBytes >> 20) MiB); replaying its first \(plan.frameCount) uplinks") }
        if Interrupts.requested { return Interrupts.exitStatus }
        guard plan.frameCount > 0 else {
            io.stderr.line("hj212 replay: '\(TerminalText.safe(file))' holds no uplink frame to replay")
            return 2
        }
        _ = try? ProcessSetup.prepareForNetworking()
        let group: EventLoopGroup
        do { group = try EventLoopGroup(threads: 1, name: "replay") } catch {
            io.stderr.line("hj212 replay: \(error)")
            return 2
        }
        defer { group.shutdown() }
        let runner = ReplayRunner(plan: plan, options: ReplayRunner.Options(target: target, speed: speed, rewriteTime: rewriteTime, ackTimeout: ackTimeout))
        io.stderr.line("hj212 replay: \(plan.frameCount) uplink\(plan.frameCount == 1 ? "" : "s") of \(plan.loggers.count) logger\(plan.loggers.count == 1 ? "" : "s") to \(target)"
                       + (speed.map { $0 == 1 ? " at the recorded spacing" : " at \(LoadFormat.number($0))× the recorded pace" } ?? " as fast as possible")
                       + (rewriteTime ? "; times moved by \(SimClockText.shift(runner.plan.timeShift(now: WallClock.localMilliseconds(offsetMinutes: 480))))" : ""))
        runner.run(group: group, shouldContinue: { !Interrupts.requested }, progress: { io.progress($0) })
        io.clearProgress()
        let c = runner.counts
        let missing = runner.missing
        io.stdout.line("logger(s)  sent  acknowledged  not acknowledged  acknowledged in recording  commands  answered  unanswered")
        io.stdout.line("\(plan.loggers.count)".padding(toLength: 11, withPad: " ", startingAt: 0) + "\(c.sent)".padding(toLength: 6, withPad: " ", startingAt: 0)
                       + "\(c.acknowledged)".padding(toLength: 14, withPad: " ", startingAt: 0) + "\(missing.count)".padding(toLength: 18, withPad: " ", startingAt: 0)
                       + "\(c.expected)".padding(toLength: 27, withPad: " ", startingAt: 0) + "\(c.commands)".padding(toLength: 10, withPad: " ", startingAt: 0)
                       + "\(c.answered)".padding(toLength: 10, withPad: " ", startingAt: 0) + "\(c.unanswered.values.reduce(0, +))")
        if c.notSent > 0 { io.stdout.line("\(c.notSent) uplink(s) not sent (no connection)") }
        if c.reconnects > 0 || c.connectFailures > 0 { io.stdout.line("\(c.reconnects) reconnect(s), \(c.connectFailures) failed connect(s)") }
        if !c.unanswered.isEmpty {
            io.stdout.line("commands without a recorded answer: " + c.unanswered.sorted { $0.key < $1.key }.map { "\(TerminalText.safe($0.key)) ×\($0.value)" }.joined(separator: ", "))
        }
        for e in runner.errors.prefix(5) { io.stderr.line("hj212 replay: " + TerminalText.safe(e)) }
        if Interrupts.requested {
            io.stdout.line("interrupted: the replay is incomplete")
            return Interrupts.exitStatus
        }
        if c.badCRC > 0 { io.stdout.line("\(c.badCRC) frame(s) from the target with a wrong CRC were ignored, as a logger discards them") }
        if c.sent == 0 && !runner.links.contains(where: \.everConnected) {
            io.stdout.line("the target \(target) could not be reached: nothing was replayed")
            return 2
        }
        let recorded = plan.hasRecordedAcks
        let basis = recorded ? "acknowledged in the recording" : "asking for an acknowledgement (Flag A=1)"
        if !recorded {
            io.stdout.line("the recording holds no acknowledgement (a logger's own trace): judged by the protocol instead, every uplink asking for one must be acknowledged")
        }
        if c.expected == 0 {
            io.stdout.line("nothing to judge: no uplink was acknowledged in the recording or asks for an acknowledgement")
            return 1
        }
        if missing.isEmpty && c.notSent == 0 {
            io.stdout.line("every uplink \(basis) (\(c.expected)) was acknowledged again")
            return 0
        }
        if !missing.isEmpty {
            let list = missing.prefix(5).map { m in "\(TerminalText.safe(m.mn)) QN=\(TerminalText.safe(m.recorded))" + (m.sent.map { $0 != m.recorded ? " (sent as \(TerminalText.safe($0)))" : "" } ?? " (not sent)") }
            io.stdout.line("\(missing.count) of \(c.expected) uplinks \(basis) were not acknowledged: " + list.joined(separator: "; ") + (missing.count > 5 ? "; …" : ""))
        }
        if c.notSent > 0 { io.stdout.line("not every uplink reached the target: \(c.notSent) not sent") }
        return 1
    }
}

/// `+3 d 4 h` for a time shift in ms.
enum SimClockText {
    static func shift(_ ms: Int64) -> String {
        let sign = ms < 0 ? "-" : "+"
        let h = abs(ms) / 3_600_000
        return h >= 24 ? "\(sign)\(h / 24) d\(h % 24 == 0 ? "" : " \(h % 24) h")" : "\(sign)\(h) h"
    }
}
