import Foundation
import HJ212
import HJConformance
import HJNetwork
import HJRoles
import Synchronization
import Testing
@testable import HJ212CLI
import TestSupport

/// Handover 21, item 2: every message `check platform` can emit reads in Chinese in a `--lang zh`
/// report. Session 21 found "the resent frame (same QN) was not answered again" without a
/// template; the catalogue was checked only for the linter's message shapes.
///
/// The test runs `check platform` against platforms that misbehave in every way at hand (the
/// reference platform with each of its deliberate faults, and scripted platforms that refuse,
/// close, stay silent, answer late, twice, with malformed frames or the wrong CN, send malformed
/// commands, drop cut frames …), so that the checks fail, warn, pass and are not exercised
/// through as many of their branches as the tool has; it collects every message of the runs (the
/// checks' messages, the facts with their names, the out-of-scope reasons and the remarks of the
/// wire logs) and localizes each with the built-in templates: none may keep English.
@Suite("check platform: every message it can emit reads in Chinese")
struct CheckPlatformMessagesZhTests {
    typealias Incoming = WirePlatform.Incoming
    typealias Action = WirePlatform.Action

    enum Target: Sendable {
        case script(@Sendable (Incoming) -> [Action])
        case reference(PlatformMisbehaviour, ackDelayMs: Int64)
        /// A port nothing listens on.
        case unreachable
    }

    struct Scenario: Sendable {
        var name: String
        var target: Target
        var profile: CheckProfile = .national2017
        var only: [String] = []
        var overTime: Double = 0.3
        var commandWindow: Double = 0.3
        var loggers = 2
        /// Stop the run (as Ctrl-C does) this many seconds after it starts.
        var interruptAfter: Double?
    }

    /// What a run emitted: (where it comes from, the English text).
    struct Emitted: Sendable {
        var origin: String
        var text: String
        /// A wire-log line (localized as the report does: `CheckReport.wireLine`).
        var wire: WireRecord?
    }

    static func run(_ s: Scenario) throws -> (run: CheckRun, scenario: String) {
        let catalogue = try RuleCatalogue.load()
        var port: UInt16 = 9
        var credentials: [(mn: String, pw: String)] = [(WirePlatform.mn, WirePlatform.pw)]
        var stop: () -> Void = {}
        switch s.target {
        case .script(let script):
            let p = try WirePlatform(script)
            port = p.port
            stop = p.stop
        case .reference(let misbehaviour, let delay):
            let p = try ReferencePlatform(misbehaviour: misbehaviour, ackDelayMs: delay)
            port = p.port
            credentials = ReferencePlatform.mns.map { ($0, "123456") }
            stop = p.stop
        case .unreachable:
            port = try #require(freePort())
        }
        defer { stop() }
        let options = PlatformCheckOptions(host: "127.0.0.1", port: port, credentials: credentials,
                                           selection: CheckSelection(only: s.only, profile: s.profile),
                                           overTime: s.overTime, commandWindow: s.commandWindow, concurrency: s.loggers)
        let stopAt = s.interruptAfter.map { monotonicSeconds() + $0 }
        let run = PlatformCheck.run(options, catalogue: catalogue, hooks: CheckHooks(shouldContinue: { stopAt.map { monotonicSeconds() < $0 } ?? true }))
        return (run, s.name)
    }

    /// Every text of a run a report shows in the report's language.
    static func emitted(_ run: CheckRun, _ scenario: String) -> [Emitted] {
        var out: [Emitted] = []
        for r in run.results {
            out.append(Emitted(origin: "\(scenario) \(r.rule.id) \(r.verdict.rawValue)", text: r.message))
            for w in r.wire where w.direction == .note || !(w.text.hasPrefix("##") || w.text.hasPrefix("\\x")) {
                out.append(Emitted(origin: "\(scenario) \(r.rule.id) wire", text: w.text, wire: w))
            }
        }
        for o in run.outOfScope { out.append(Emitted(origin: "\(scenario) \(o.rule.id) out of scope", text: o.why)) }
        for (name, value) in run.facts {
            out.append(Emitted(origin: "\(scenario) fact name", text: name))
            out.append(Emitted(origin: "\(scenario) fact \(name)", text: value))
        }
        return out
    }

    /// The text as a `--lang zh` report shows it.
    static func chinese(_ e: Emitted, _ messages: MessageCatalogue) -> String {
        if let w = e.wire {
            // `+0.611s ↑ 一次写入：##0200QN=…`: the frame is data (as in the report-language tests).
            let line = CheckReport.wireLine(w, messages, .zh)
            return String(line.drop { $0 != " " }.dropFirst(3)).replacing(/##[0-9]{4}.*$/, with: "")
        }
        if e.origin.hasSuffix("fact name") { return messages.factName(e.text, .zh) }
        return messages.localized(e.text, .zh)
    }

    // MARK: - The platforms

    static func isUpload(_ f: Incoming) -> Bool { f.cn != "1013" && f.cn != "9015" }

    /// Answers every packet that asks for it, in the 2017 form.
    static let acksAll: @Sendable (Incoming) -> [Action] = { f in f.segment.flag?.needsAck == true ? [Wire.ack(f)] : [] }

    static var scenarios: [Scenario] {
        let everything = PlatformMisbehaviour.named.reduce(PlatformMisbehaviour()) { $0.union($1.value) }
        var list: [Scenario] = [
            // The reference platform: every check passes; with every deliberate fault at once (and
            // acks held beyond OverTime) the acknowledgement, bad-frame and access checks fail.
            Scenario(name: "reference", target: .reference([], ackDelayMs: 0), overTime: 0.4, commandWindow: 0.7, loggers: 3),
            Scenario(name: "reference 2025", target: .reference([], ackDelayMs: 0), profile: .national2025, only: ["P-V", "P-ACK-2011"], overTime: 0.4),
            Scenario(name: "reference jiangsu", target: .reference([], ackDelayMs: 0), profile: .jiangsu, only: ["P-JS", "P-V2005", "P-ACK-2011"], overTime: 0.4),
            Scenario(name: "reference misbehaving", target: .reference(everything, ackDelayMs: 250), overTime: 0.1, commandWindow: 0.7, loggers: 3),
            Scenario(name: "unreachable", target: .unreachable),
            // Silent: accepts connections, never answers.
            Scenario(name: "silent", target: .script { _ in [] }),
            // Ctrl-C during the command window.
            Scenario(name: "interrupted", target: .script { _ in [] }, overTime: 8, commandWindow: 4, interruptAfter: 1.5),
        ]
        // Refuses everything (9011 QnRtn=2), in every profile.
        let refuses: @Sendable (Incoming) -> [Action] = { f in [Wire.refuse(f, "2")] }
        list += [
            Scenario(name: "refuses", target: .script(refuses), loggers: 2),
            Scenario(name: "refuses 2025", target: .script(refuses), profile: .national2025, only: ["P-V", "P-ACK-2011"]),
            Scenario(name: "refuses jiangsu", target: .script(refuses), profile: .jiangsu, only: ["P-JS", "P-ACK-2011"]),
            // Closes every connection on its first frame.
            Scenario(name: "closes", target: .script { _ in [.close] }),
        ]
        // Answers only on the first connection: the other connections are never served.
        let firstOnly: @Sendable (Incoming) -> [Action] = { f in f.connection == 0 && f.isGood ? [Wire.ack(f)] : [] }
        list += [
            Scenario(name: "first connection only", target: .script(firstOnly), loggers: 3),
            Scenario(name: "first connection only 2025", target: .script(firstOnly), profile: .national2025, only: ["P-V", "P-ACK-2011"]),
        ]
        // Malformed acknowledgements, a different defect for each CN.
        list.append(Scenario(name: "malformed acks", target: .script { f in
            guard f.segment.flag?.needsAck == true else { return [] }
            let a = Wire.ackSegment(f)
            if f.version == 0 {
                // The 2005 form with a Flag and extra CP fields.
                let legacy = DataSegment(header: [Field("ST", "91"), Field("CN", "9014"), Field("Flag", "4")],
                                         cp: [[Field("QN", f.qn), Field("CN", f.cn), Field("Ab", "1")]])
                return [Wire.send(legacy)]
            }
            switch f.cn {
            case "2011": return [.send(Wire.frame(a, crc: .modbus), after: 0), Wire.send(a, after: 0.05)]
            case "2051": return [Wire.send(Wire.setting(Wire.setting(DataSegment(header: a.header, cp: [[Field("QnRtn", "1")]]), "ST", "32"), "Flag", "5"))]
            case "2061": return [.send(Wire.frame(Wire.setting(Wire.setting(a, "PW", nil), "MN", nil), trailer: "\n"), after: 0)]
            case "2031": return [.send(Wire.frame(Wire.setting(Wire.setting(a, "PW", "999999"), "MN", "010000A8900016F0001699FF"), corruptCRC: true, lengthDelta: 2), after: 0)]
            case "2041": return [Wire.send(Wire.setting(a, "QN", "20200101000000000"), after: 0.5)]
            case "2021": return [Wire.send(Wire.ackSegment(f, cn: "9013"))]
            case "2081": return [Wire.send(DataSegment(header: a.header, cp: nil))]
            case "1013": return [Wire.send(Wire.ackSegment(f, cn: "9014"))]
            default: return [Wire.send(a)]
            }
        }, only: ["P-ACK", "P-NOTIFY-1013", "P-V2005-ACK", "P-LOAD-LATENCY", "P-SPLIT-ACK"]))
        // Correct acknowledgements with their CRC in lower case: a warning.
        list.append(Scenario(name: "lower-case CRC", target: .script { f in
            guard f.segment.flag?.needsAck == true else { return [] }
            return [.send(Wire.lowerCaseCRC(Wire.frame(Wire.ackSegment(f))))]
        }, only: ["P-ACK-2011", "P-ACK-2051", "P-ACK-CRC"]))
        // Answers of the wrong kind: 9013 for uploads, 9014 for notifications, 9012 for 2005.
        let wrongKinds: @Sendable (Incoming) -> [Action] = { f in
            guard f.segment.flag?.needsAck == true else { return [] }
            if f.version == 0 { return [Wire.send(Wire.setting(Wire.ackSegment(f, cn: "9012", cp: [[Field("ExeRtn", "1")]]), "Flag", "8"))] }
            if f.cn == "1013" { return [Wire.send(Wire.ackSegment(f, cn: "9012", cp: [[Field("ExeRtn", "1")]]))] }
            if f.cn == "9015" { return [Wire.send(Wire.ackSegment(f, cn: "9014"))] }
            if f.cn == "2051" && f.segment.header("PNUM") == nil { return [Wire.send(Wire.ackSegment(f, cn: "9012", cp: [[Field("ExeRtn", "1")]]))] }
            return [Wire.send(Wire.ackSegment(f, cn: "9013"))]
        }
        list += [
            Scenario(name: "wrong kinds", target: .script(wrongKinds), only: ["P-ACK", "P-NOTIFY-1013", "P-V2005-ACK", "P-RESEND-ACK", "P-SPLIT-ACK"]),
            Scenario(name: "wrong kinds 2025", target: .script(wrongKinds), profile: .national2025, only: ["P-V", "P-ACK-2011"]),
        ]
        // Answers without QN, and never the first 2011 (answers attributed in order).
        let dropped = Atomic<Bool>(false)
        list.append(Scenario(name: "no QN echoed", target: .script { f in
            guard f.isGood else { return [] }
            if f.cn == "2011" && !dropped.exchange(true, ordering: .relaxed) { return [] }
            return [Wire.send(Wire.setting(Wire.ackSegment(f), "QN", nil))]
        }, only: ["P-ACK-2011", "P-ACK-2051", "P-ACK-QN", "P-ACK-TIME", "P-NOACK-FLAG", "P-RESEND-ACK"]))
        // Bad packets acknowledged 0.3 s after the good ones (within OverTime); without QN for A=0.
        list.append(Scenario(name: "late acceptance", target: .script { f in
            if f.qn.isEmpty { return [] }
            if f.segment.flag?.needsAck == false { return [Wire.send(Wire.setting(Wire.ackSegment(f), "QN", nil), after: 0.3)] }
            return [Wire.ack(f, after: f.isGood ? 0 : 0.3)]
        }, only: ["P-BAD", "P-NOACK-FLAG", "P-ACCESS"], overTime: 1))
        // One frame at a time, 0.7 s each: the platform falls behind.
        let free = Mutex<[Int: Double]>([:])
        list.append(Scenario(name: "backlog", target: .script { f in
            guard f.isGood else { return [] }
            let delay = free.withLock { next -> Double in
                let now = monotonicSeconds()
                let at = max(now, next[f.connection] ?? now) + 0.7
                next[f.connection] = at
                return at - now
            }
            return [Wire.ack(f, after: delay)]
        }, only: ["P-ACK-2011", "P-NOACK-FLAG"], overTime: 1))
        // Resends: each QN answered once; the second send refused; the 2051 never answered; refused.
        let seen = Mutex<Set<String>>([])
        list.append(Scenario(name: "answers a QN once", target: .script { f in
            guard f.isGood, seen.withLock({ $0.insert(f.qn).inserted }) else { return [] }
            return [Wire.ack(f)]
        }, only: ["P-ACK-2081", "P-RESEND-ACK", "P-V2005-ACK"]))
        let seen2 = Mutex<Set<String>>([])
        list.append(Scenario(name: "refuses a resend", target: .script { f in
            guard f.isGood else { return [] }
            return [seen2.withLock({ $0.insert(f.qn).inserted }) ? Wire.ack(f) : Wire.refuse(f, "2")]
        }, only: ["P-ACK-2081", "P-RESEND-ACK"]))
        list.append(Scenario(name: "never answers 2051", target: .script { f in f.isGood && f.cn != "2051" ? [Wire.ack(f)] : [] },
                             only: ["P-ACK-2081", "P-RESEND-ACK"]))
        // Split records: the second packet not answered; refused; each accepted by 9011 QnRtn=1.
        list += [
            Scenario(name: "split: PNO 2 not answered", target: .script { f in f.isGood && f.segment.header("PNO") != "2" ? [Wire.ack(f)] : [] },
                     only: ["P-SPLIT-ACK"]),
            Scenario(name: "split: PNO 2 refused", target: .script { f in
                guard f.isGood else { return [] }
                return [f.segment.header("PNO") == "2" ? Wire.refuse(f, "2") : Wire.ack(f)]
            }, only: ["P-SPLIT-ACK"]),
            Scenario(name: "split: 9011 QnRtn=1", target: .script { f in
                guard f.isGood else { return [] }
                return [f.segment.header("PNO") != nil ? Wire.refuse(f, "1") : Wire.ack(f)]
            }, only: ["P-SPLIT-ACK"]),
        ]
        // Framing: frames cut across reads, and all but the first of a read, ignored; refused.
        list += [
            Scenario(name: "ignores cut and packed frames", target: .script { f in f.isGood && !f.cut && f.before == 0 ? [Wire.ack(f)] : [] },
                     only: ["P-FRAME"]),
            Scenario(name: "refuses cut and packed frames", target: .script { f in
                guard f.isGood else { return [] }
                return [f.cut || f.before > 0 ? Wire.refuse(f, "2") : Wire.ack(f)]
            }, only: ["P-FRAME"]),
        ]
        // Bad frames and identities: the connection closed after one; every later frame refused; silence.
        let badOnConnection = Mutex<Set<Int>>([])
        let bad: @Sendable (Incoming) -> Bool = { f in
            if !f.isGood || f.afterNoise { badOnConnection.withLock { _ = $0.insert(f.connection) } }
            return badOnConnection.withLock { $0.contains(f.connection) }
        }
        let badOnConnection2 = Mutex<Set<Int>>([])
        let bad2: @Sendable (Incoming) -> Bool = { f in
            if !f.isGood || f.afterNoise { badOnConnection2.withLock { _ = $0.insert(f.connection) } }
            return badOnConnection2.withLock { $0.contains(f.connection) }
        }
        let badOnConnection3 = Mutex<Set<Int>>([])
        let bad3: @Sendable (Incoming) -> Bool = { f in
            if !f.isGood || f.afterNoise { badOnConnection3.withLock { _ = $0.insert(f.connection) } }
            return badOnConnection3.withLock { $0.contains(f.connection) }
        }
        list += [
            Scenario(name: "closes after a bad frame", target: .script { f in bad(f) ? [.close] : [Wire.ack(f)] }, only: ["P-BAD", "P-ACCESS"]),
            Scenario(name: "refuses after a bad frame", target: .script { f in
                guard bad2(f) else { return [Wire.ack(f)] }
                let code = !f.crcOK ? "9" : f.segment.mn != WirePlatform.mn ? "4" : f.segment.pw != WirePlatform.pw ? "3" : "2"
                return [Wire.refuse(f, code)]
            }, only: ["P-BAD", "P-ACCESS"]),
            Scenario(name: "silent after a bad frame", target: .script { f in bad3(f) ? [] : [Wire.ack(f)] }, only: ["P-BAD", "P-ACCESS"]),
        ]
        // Reconnects: the second connection not answered; the third refused. Concurrency: every
        // connection but the first closed after its first answer.
        list += [
            Scenario(name: "reconnect not answered", target: .script { f in f.isGood && f.connection < 2 ? [Wire.ack(f)] : [] }, only: ["P-LOAD-RECONNECT"]),
            Scenario(name: "reconnect refused", target: .script { f in
                guard f.isGood else { return [] }
                return [f.connection < 3 ? Wire.ack(f) : Wire.refuse(f, "2")]
            }, only: ["P-LOAD-RECONNECT"]),
            Scenario(name: "closes other connections", target: .script { f in
                guard f.isGood else { return [] }
                return f.connection > 0 && f.index > 0 ? [.close] : [Wire.ack(f)]
            }, only: ["P-LOAD"], loggers: 3),
        ]
        list += commandScenarios
        return list
    }

    /// Platforms that send commands after the boot packet (2081) on the first connection.
    static var commandScenarios: [Scenario] {
        let only = ["P-CMD", "P-NOTIFY"]
        @Sendable func boot(_ f: Incoming) -> Bool { f.connection == 0 && f.cn == "2081" }
        // Malformed commands: a wrong ST, PW, MN and a MODBUS CRC (withheld: the first that asks
        // for a 9011), then others (so the withheld one is not resent), a QN reused, no ST, Flag
        // or valid QN, a wrong length, a corrupt CRC, LF alone; one answered and sent again.
        let malformed: @Sendable (Incoming) -> [Action] = { f in
            guard boot(f) else { return f.isGood ? [Wire.ack(f)] : [] }
            let q = (1...4).map { Wire.qn(100 + $0) }
            let a = Wire.command("1011", qn: q[0], st: "91", pw: "999999", mn: "010000A8900016F0001699FF", cp: [[Field("PolId", "w01018")]])
            let b = Wire.command("1061", qn: q[1], st: nil, flag: "7")
            let c = Wire.command("1061", qn: q[2])
            let d = Wire.command("1062", qn: q[2], cp: [[Field("RtdInterval", "30")]])
            let e = Wire.command("1011", qn: "12345", flag: nil, cp: [[Field("PolId", "w01018")]])
            return [Wire.ack(f), .send(Wire.frame(a, crc: .modbus), after: 0.05), .send(Wire.frame(b, trailer: "\n"), after: 0.15),
                    Wire.send(c, after: 0.25), Wire.send(d, after: 0.35), .send(Wire.frame(e, corruptCRC: true, lengthDelta: 3), after: 0.45),
                    Wire.send(c, after: 1.0)]
        }
        // A good command, withheld and resent; a 1012 after the 1013.
        let resends: @Sendable (Incoming) -> [Action] = { f in
            if f.cn == "1013" { return [Wire.ack(f), Wire.send(Wire.command("1012", qn: Wire.qn(300), cp: [[Field("SystemTime", Wire.chinaTime())]]), after: 0.05)] }
            guard boot(f) else { return f.isGood ? [Wire.ack(f)] : [] }
            let c = Wire.command("1011", qn: Wire.qn(200), cp: [[Field("PolId", "w01018")]])
            return [Wire.ack(f), Wire.send(c, after: 0.05), Wire.send(c, after: 0.6)]
        }
        // One command, never resent.
        let once: @Sendable (Incoming) -> [Action] = { f in
            guard boot(f) else { return f.isGood ? [Wire.ack(f)] : [] }
            return [Wire.ack(f), Wire.send(Wire.command("1061", qn: Wire.qn(400)), after: 0.05)]
        }
        // A history request resent and answered; the records it brings are not acknowledged.
        let history: @Sendable (Incoming) -> [Action] = { f in
            if f.cn == "2061" || f.cn == "2051" { return [] }
            guard boot(f) else { return f.isGood ? [Wire.ack(f)] : [] }
            let c = Wire.command("2061", qn: Wire.qn(500), cp: [[Field("BeginTime", Wire.chinaTime(-3 * 3600)), Field("EndTime", Wire.chinaTime())]])
            return [Wire.ack(f), Wire.send(c, after: 0.05), Wire.send(c, after: 0.5)]
        }
        // A command that asks for no 9011 (A=0), and nothing else: none to withhold, none answered.
        let noAck: @Sendable (Incoming) -> [Action] = { f in
            guard boot(f) else { return f.isGood ? [Wire.ack(f)] : [] }
            return [Wire.ack(f), Wire.send(Wire.command("1011", qn: Wire.qn(600), flag: "4", cp: [[Field("PolId", "w01018")]]), after: 0.05)]
        }
        return [
            Scenario(name: "malformed commands", target: .script(malformed), only: only, commandWindow: 1.6),
            Scenario(name: "a command without A=1", target: .script(noAck), only: only, commandWindow: 0.6),
            Scenario(name: "commands resent", target: .script(resends), only: only, commandWindow: 1.2),
            Scenario(name: "command not resent", target: .script(once), only: only, commandWindow: 0.8),
            Scenario(name: "history not acknowledged", target: .script(history), only: only, commandWindow: 2),
        ]
    }

    /// Runs the scenarios, a few at a time.
    static func runAll(_ list: [Scenario]) async throws -> [(run: CheckRun, scenario: String)] {
        var out: [(run: CheckRun, scenario: String)] = []
        var start = 0
        while start < list.count {
            let chunk = Array(list[start..<min(list.count, start + 4)])
            start += chunk.count
            out += try await withThrowingTaskGroup(of: (run: CheckRun, scenario: String).self) { group in
                for s in chunk { group.addTask { try await offPool { try Self.run(s) } } }
                var results: [(run: CheckRun, scenario: String)] = []
                for try await r in group { results.append(r) }
                return results
            }
        }
        return out
    }

    @Test("every message of check platform against misbehaving platforms has a Chinese template")
    func everyMessageInChinese() async throws {
        // HJ212_CHECK_MESSAGES: another messages.json to judge (an older catalogue, say) instead of the built-in one.
        let other = ProcessInfo.processInfo.environment["HJ212_CHECK_MESSAGES"]
        let messages = try other.map { try MessageCatalogue.parse(String(contentsOfFile: $0, encoding: .utf8), file: $0) } ?? RuleCatalogue.load().messages
        let runs = try await Self.runAll(Self.scenarios)
        var seen = Set<String>()
        var untranslated: [String: String] = [:]
        var reached: [String: Set<String>] = [:]
        for (run, scenario) in runs {
            for r in run.results { reached[r.rule.id, default: []].insert(r.verdict.rawValue) }
            for e in Self.emitted(run, scenario) where seen.insert(e.text).inserted {
                let zh = Self.chinese(e, messages)
                if hasEnglish(zh) { untranslated[e.text] = "[\(e.origin)] \(e.text) → \(zh)" }
            }
        }
        for line in untranslated.values.sorted() { Issue.record("no Chinese: \(line)") }
        #expect(untranslated.isEmpty, "\(untranslated.count) of \(seen.count) texts keep English")
        // What the scenarios reached, for the record (a check whose verdicts were not all reached
        // has branches no platform here draws out).
        let catalogue = try RuleCatalogue.load()
        var lines: [String] = []
        for rule in catalogue.rules(for: .platform) {
            let got = reached[rule.id] ?? []
            lines.append("\(rule.id): \(["pass", "warn", "fail", "not-exercised"].filter(got.contains).joined(separator: " "))")
        }
        print("check platform messages: \(seen.count) texts from \(runs.count) runs\n" + lines.joined(separator: "\n"))
        // Every check must have been failed (or warned) and passed by some platform here.
        let unfailed = catalogue.rules(for: .platform).filter { (reached[$0.id] ?? []).isDisjoint(with: ["fail", "warn"]) }.map(\.id)
        let unpassed = catalogue.rules(for: .platform).filter { !(reached[$0.id] ?? []).contains("pass") }.map(\.id)
        #expect(unfailed.isEmpty, "checks no platform here fails: \(unfailed)")
        #expect(unpassed.isEmpty, "checks no platform here passes: \(unpassed)")
    }
}
