import Glibc
import HJ212
import HJLive
import HJNetwork
import HJRoles
import HJSimulation
import HJStore

/// One `serve --request`: `[MN@]CN;CP`.
struct ServeRequest: Sendable {
    let target: String?
    let cn: String
    let cp: [[Field]]
}

/// `hj212 serve`: the reference platform.
struct ServeCommand: CLICommand {
    static let name = "serve"
    static let abstract = "Run the reference platform: acknowledge, validate, record and command data loggers."
    static let listen = Option("listen", "HOST:PORT", help: "Address to listen on, e.g. 0.0.0.0:7001 or 127.0.0.1:0 (a free port).", parse: Parse.address).required()
    static let registry = Shared.registry.help("Accepted loggers: CSV mn,pw[,name], a fleet manifest, or a built-in fleet name (sample-city, mixed-demo). Unknown MNs and wrong passwords are not acknowledged; registered units that never connect are listed as missing.")
    static let trace = Shared.trace.help("Append every frame received and sent to this JSON Lines trace (checked writable before listening).")
    static let initialise = Flag("init", help: "Run the first-connection set-up of HJ 212-2017 §6.3 on every new logger (1012, 1000, 1062, 1064, 2011, 2021).")
    static let request = Option("request", "[MN@]CN;CP", help: "Send this request to every logger (or to the one with MN) once it has identified itself, e.g. '2061;BeginTime=20261129000000;EndTime=20261129230000' (repeatable).",
                                repeatable: true, parse: Self.parseRequest)
    static let duration = Shared.duration.help("Stop after this real time (default: until Ctrl-C).")
    static let ackDelay = Option("ack-delay", "MS", help: "Delay every acknowledgement (for latency tests).", parse: Parse.int(0...3_600_000))
    static let acceptCRCVariants = Flag("accept-crc-variants", help: "Acknowledge packets whose CRC is CRC-16/MODBUS (either byte order), as lenient field platforms do.")
    static let http = Option("http", "HOST:PORT", help: "Also serve the web console (units, alarms, charts; JSON endpoints, docs/console.md) on this address only, e.g. 127.0.0.1:8080.", parse: Parse.text)
    static let idleTimeout = Option("idle-timeout", "D", help: "Close a connection that sent no whole frame for this long (default 30m: three 10-minute intervals; 0: never).",
                                    parse: { (s: String) throws(UsageError) -> Int64? in s == "0" ? nil : try Parse.duration(1000...SimClock.maxDurationMs)(s) })
    static let maxPerAddress = Option("max-per-address", "N", help: "Connections open at once from one source address (default 1000; loopback exempt unless given; 0: no limit).", parse: Parse.int(0...Int.max))
    static let maxOutput = Option("max-output", "BYTES", help: "Output held for a peer that does not read (default 262144); reading pauses above 64 KiB, the connection closes at this.", parse: Parse.int(4_096...Int.max))
    static let maxWrongPW = Option("max-wrong-pw", "N", help: "Wrong passwords per connection before it is closed (default 3); per MN: 10 in 10 min lock it for 15 min.", parse: Parse.int(1...1_000))
    static let misbehave = Option("misbehave", "FAULT,…", help: "Testing only: deliberate protocol faults of the platform (see PlatformMisbehaviour), for the self-tests of 'check'.",
                                  hidden: true, repeatable: true, parse: Self.parseMisbehaviour)
    static let options: [any OptionDeclaration] = [
        listen, registry, trace, Shared.pcap, initialise, request, duration, Shared.threads, ackDelay, acceptCRCVariants, http, idleTimeout, maxPerAddress, maxOutput, maxWrongPW,
    ] + StoreSink.serveOptions + [misbehave]

    /// `[MN@]CN;CP`: the target MN (nil: every logger), the command code and the CP fields.
    @Sendable static func parseRequest(_ item: String) throws(UsageError) -> ServeRequest {
        var r = Substring(item)
        var target: String?
        if let at = r.firstIndex(of: "@") {
            target = String(r[..<at])
            r = r[r.index(after: at)...]
        }
        let parts = r.split(separator: ";", maxSplits: 1).map(String.init)
        guard let cn = parts.first, cn.count == 4, Int(cn) != nil else { throw UsageError("expected [MN@]CN;CP, e.g. 2061;BeginTime=…;EndTime=…") }
        let cp = parts.count > 1 ? (SegmentParser.parse("CP=&&\(parts[1])&&").segment.cp ?? []) : []
        return ServeRequest(target: target, cn: cn, cp: cp)
    }

    @Sendable static func parseMisbehaviour(_ list: String) throws(UsageError) -> [PlatformMisbehaviour] {
        var out: [PlatformMisbehaviour] = []
        for name in list.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !name.isEmpty {
            guard let fault = PlatformMisbehaviour.named.first(where: { $0.name.lowercased() == name.lowercased() }) else {
                throw UsageError("expected one of \(PlatformMisbehaviour.named.map(\.name).joined(separator: ", "))")
            }
            out.append(fault.value)
        }
        return out
    }
    static let discussion = """
    Acknowledges per Flag (9014 for uploads, 9013 for 1013, nothing for A=0), validates every packet with
    the linter, reassembles split packets, answers 1013 with 1012, and tracks per unit which 2051/2061/2031
    records arrived. At the end (Ctrl-C or --duration) it prints the counters and the completeness of
    every unit up to the platform's clock (gaps listed; ? = a record type that never arrived, not judged;
    n/? = 2051 of a unit whose MinInterval is not known, neither reported, set nor learnt, not judged):
    "nothing lost" only when everything judged arrived and nothing was left unjudged, else "incomplete".
    Exit status 1 when frames could not be traced or the store failed (it stops acknowledging); 130 on Ctrl-C.

    EXAMPLE:
      hj212 serve --listen 127.0.0.1:7001 --trace platform.jsonl --init
    """

    var a: ParsedArguments

    init(_ a: ParsedArguments) throws(UsageError) {
        self.a = a
    }

    /// The store's line of the end-of-run summary: what this run stored, and the resends
    /// (duplicates: the same packet again, already stored) acknowledged without storing them twice.
    static func storeLine(path: String, _ t: StoreOutcome, failed: String?) -> String {
        "store: \(TerminalText.safe(path)): \(t.stored) packets stored, \(t.duplicates) duplicate\(t.duplicates == 1 ? "" : "s") acknowledged again (resent, already stored), "
            + "\(t.records) records, \(t.values) values, \(t.commands) commands\(failed.map { "; FAILED: \(TerminalText.safe($0))" } ?? "")"
    }

    /// Packets that reused the key of a different stored packet (a logger defect, not a resend):
    /// stored and acknowledged like any other, said apart so that they are never read as duplicates.
    static func reusedQNLine(_ n: Int) -> String {
        "store: of them, \(n) packet\(n == 1 ? "" : "s") reused the QN of a different packet already stored (same MN, CN and PNO, other data): "
            + "stored, not duplicates (a logger must not reuse a QN)"
    }

    /// A registry file (CSV mn,pw[,name] or a fleet manifest), or a built-in fleet by name.
    static func registry(_ path: String) throws(UsageError) -> Registry {
        if access(path, F_OK) != 0, Fleet.builtinNames.contains(path) {
            do {
                let fleet = try Fleet.load(path)
                return Registry(fleet.units.map { Registry.Entry(mn: $0.identity.mn, pw: $0.identity.pw, name: $0.unit, enterprise: $0.enterprise) }, file: path)
            } catch { throw UsageError("registry: \(error)", exitCode: 2) }
        }
        do { return try Registry.load(path: path) } catch { throw UsageError("registry: \(error)", exitCode: 2) }
    }

    func run(_ io: CommandIO) -> Int32 {
        do throws(UsageError) {
            guard let address = a[Self.listen] else { throw UsageError("--listen HOST:PORT is required") }
            var registry: Registry?
            if let path = a[Self.registry] { registry = try Self.registry(path) }
            var trace: TraceWriter?
            if let p = a[Self.trace] { trace = try TraceWriter(path: p, offsetMinutes: SimClock.chinaOffsetMinutes) }
            if let p = a[Shared.pcap] {
                let capture = try CaptureRecorder(path: p, offsetMinutes: SimClock.chinaOffsetMinutes, localIsLogger: false, local: a.text(Self.listen))
                trace = try TraceWriter(path: a[Self.trace], offsetMinutes: SimClock.chinaOffsetMinutes, capture: capture)
            }
            var options = PlatformSession.Options()
            if a[Self.initialise] { options.initialise = .firstContact }
            options.acceptCRCVariants = a[Self.acceptCRCVariants]
            for fault in a.all(Self.misbehave).joined() { options.misbehaviour.insert(fault) }
            if let ms = a[Self.ackDelay] { options.ackDelay = Int64(ms) }
            let requests = a.all(Self.request).map { ($0.target, $0.cn, $0.cp) }
            // Budgets (docs/budgets.md).
            if a.given(Self.idleTimeout) { options.idleTimeout = a[Self.idleTimeout] ?? nil }
            if let n = a[Self.maxWrongPW] { options.maxWrongPasswordsPerConnection = n }
            var limits = TCPServer.Limits(maxConnectionsPerAddress: 1_000)
            if let n = a[Self.maxPerAddress] {
                limits.maxConnectionsPerAddress = n == 0 ? nil : n
                limits.exemptLoopback = false
            }
            var tcpOptions = LivePlatform.defaultTCPOptions
            if let n = a[Self.maxOutput] { tcpOptions.maxPendingOutput = n }
            let threads = a[Shared.threads] ?? min(8, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
            let duration = a[Self.duration].map { Double($0) / 1000 }
            let storeSink = try StoreSink.open(a)
            _ = try? ProcessSetup.prepareForNetworking()
            let group: EventLoopGroup
            do { group = try EventLoopGroup(threads: threads, name: "platform") } catch { throw UsageError("\(error)", exitCode: 2) }
            defer { group.shutdown() }
            let clock = LiveClock(start: LiveClock.wallNow(offsetMinutes: SimClock.chinaOffsetMinutes), speed: 1)
            let state = PlatformState(registry: registry, linter: try makeLinter(dialect: nil, strict: false, profiles: nil, profile: "hebei-dynamic"))
            let platform = LivePlatform(address: address, state: state, clock: clock, options: options, trace: trace, group: group,
                                        tcpOptions: tcpOptions, limits: limits, storeSink: storeSink)
            let bound: SocketAddress
            do { bound = try platform.start() } catch { throw UsageError("cannot listen on \(address): \(error)", exitCode: 2) }
            let console = try a[Self.http].map { http throws(UsageError) in try Console.attach(to: platform, http: http, registry: registry, registryPath: a[Self.registry]) }
            defer { console?.stop() }
            if let console, let store = storeSink?.store {
                // The console starts with what earlier runs stored (bounded: Console.historyPackets).
                do { try console.seed(from: store) } catch { io.stderr.line("hj212 serve: console: cannot read the store: \(safeMessage(error.message))") }
            }
            if let console { io.stdout.line("hj212 serve: console on http://\(console.server.localAddress)/") }
            if !options.misbehaviour.isEmpty {
                let names = PlatformMisbehaviour.named.filter { options.misbehaviour.contains($0.value) }.map(\.name)
                io.stderr.line("hj212 serve: MISBEHAVING on purpose (testing): \(names.joined(separator: ", "))")
            }
            io.stdout.line("hj212 serve: listening on \(bound)\(registry.map { ", \($0.entries.count) registered loggers" } ?? ", open registry")\(trace.map { ", trace \($0.path)" } ?? "")\(storeSink.map { ", store \($0.store.path)" } ?? "")")
            io.stdout.flush()
            let t0 = monotonicSeconds()
            var requested: Set<String> = []
            var announced: Set<String> = []
            var lastProgress = t0
            var lastTable = t0
            var notices = ServeNotices()
            var lastTrim = t0
            var closedAtTrim = 0
            var storeFailureShown = false
            while !Interrupts.requested {
                usleep(200_000)
                let wall = monotonicSeconds()
                if let duration, wall - t0 >= duration { break }
                if !storeFailureShown, let line = storeSink?.failureLine {
                    storeFailureShown = true
                    io.clearProgress()
                    io.stderr.line("hj212 serve: " + line)
                    io.stderr.flush()
                }
                // The MNs only when new units came (with 10,000 loggers, copying and sorting them
                // five times a second cost the platform a tenth of its time); the unit records are
                // copied for the table, rarely.
                let unitCount = state.unitCount
                let mns = unitCount != announced.count || (!requests.isEmpty && requested.count < unitCount) ? state.mns : []
                for mn in mns.sorted() where !announced.contains(mn) {
                    announced.insert(mn)
                    guard let u = state.unit(mn) else { continue }
                    io.clearProgress()
                    io.stdout.line("+ \(safeWire(mn)) from \(u.lastPeer) (ST=\(safeWire(u.st ?? "?")), \(u.dialect.title))")
                    io.stdout.flush()
                }
                for mn in mns where !requests.isEmpty && !requested.contains(mn) {
                    requested.insert(mn)
                    for (target, cn, cp) in requests where target == nil || target == mn {
                        _ = platform.request(mn: mn) { session, now in session.send(command: cn, cp: cp, at: now) }
                    }
                }
                if io.stdout.isTerminal && wall - lastTable >= 10 && unitCount > 0 {
                    lastTable = wall
                    io.clearProgress()
                    PlatformReport.table(state.units, now: clock.now, io: io)
                }
                notices.report(state: state, platform: platform, io: io, now: wall)
                // Memory back to the system after a burst of connections has gone (the allocator
                // keeps freed pages otherwise): at most every 10 s, after 256 closes or more.
                let closed = platform.closedConnections.load(ordering: .relaxed)
                if wall - lastTrim >= 10 && closed - closedAtTrim >= 256 {
                    lastTrim = wall
                    closedAtTrim = closed
                    _ = ProcessSetup.releaseFreeMemory()
                }
                if let notice = trace?.takeFailureNotice() {
                    // At once, one line per run of failures; acknowledging goes on (docs/budgets.md).
                    io.clearProgress()
                    io.stderr.line("hj212 serve: TRACE WRITE FAILED (\(TerminalText.safe(trace!.path))): \(notice); frames are not being traced, acknowledgements continue")
                    io.stderr.flush()
                }
                if wall - lastProgress >= 1 {
                    lastProgress = wall
                    let c = state.counters
                    io.progress("serve: \(platform.connectionCount) connections, \(unitCount) units, \(c.frames) frames, \(c.acks9014) acks, \(c.errors) errors, rejected \(c.rejectedBadCRC + c.rejectedUnknownMN + c.rejectedBadPW)")
                }
            }
            platform.stop()
            storeSink?.finish()
            io.clearProgress()
            if let storeSink {
                let t = storeSink.totals
                io.stdout.line(Self.storeLine(path: storeSink.store.path, t, failed: storeSink.failed))
                if t.reusedQN > 0 { io.stdout.line(Self.reusedQNLine(t.reusedQN)) }
            }
            let storeFailure = storeSink.flatMap { sink in sink.failed.map { _ in StoreFailureNote(unsentReplies: sink.unsentReplies) } }
            // Completeness up to the platform's own clock at the end of the run (docs/decisions.md, session 18).
            PlatformReport.serveSummary(state: state, now: clock.now, io: io, trace: trace, storeFailure: storeFailure)
            notices.summary(state: state, platform: platform, io: io)
            if let storeSink { ServeStoreSummary.print(storeSink.store, state: state, io: io) }
            if Interrupts.requested { return Interrupts.exitStatus }
            // 1: frames not traced, or a store that failed (acknowledging stopped): the run is not what was asked.
            return (trace?.lost ?? 0) > 0 || storeSink?.failed != nil ? 1 : 0
        } catch {
            io.stderr.line("hj212 serve: \(safeMessage(error.message))")
            return error.exitCode
        }
    }
}

/// The platform's end-of-run summary: counters, rejections, commands, completeness per unit.
enum PlatformReport {
    /// `2061 取污染物小时数据 → 0100…: completed, QnRtn 1, 3 records, ExeRtn 1, 0.4 s`
    static func describe(_ r: CommandResult) -> String {
        let name = CodeDictionary.shared(.hj2017).command(r.cn).map { " " + $0.nameZh } ?? ""
        var parts = ["\(r.outcome.rawValue)"]
        if let q = r.qnRtn { parts.append("QnRtn \(q)") }
        if r.records > 0 { parts.append("\(r.records) record\(r.records == 1 ? "" : "s")") }
        if let e = r.exeRtn { parts.append("ExeRtn \(e)") }
        if let sent = r.sentAt { parts.append(String(format: "%.1f s", Double(r.finishedAt - sent) / 1000)) }
        return safeWire("\(r.cn)\(name) → \(r.mn): " + parts.joined(separator: ", "), limit: TerminalLimits.message)
    }

    /// The live per-unit view: the most recently active units first (at most 20 rows).
    static func table(_ units: [String: UnitRecord], now: Int64, io: CommandIO) {
        io.stdout.line("  " + "MN".padding(toLength: 26, withPad: " ", startingAt: 0) + "ST".padding(toLength: 4, withPad: " ", startingAt: 0)
                       + "last seen".leftPad(11) + "2011".leftPad(8) + "2051".leftPad(7) + "2061".leftPad(6) + "3020".leftPad(7))
        for u in units.values.sorted(by: { $0.lastSeen > $1.lastSeen }).prefix(20) {
            let ago = max(0, (now - u.lastSeen) / 1000)
            func n(_ cn: String) -> String { String(u.packetsByCN[cn] ?? 0) }
            io.stdout.line("  " + safeWire(u.mn).padding(toLength: 26, withPad: " ", startingAt: 0) + safeWire(u.st ?? "?").padding(toLength: 4, withPad: " ", startingAt: 0)
                           + "\(ago) s ago".leftPad(11) + n("2011").leftPad(8) + n("2051").leftPad(7) + n("2061").leftPad(6) + n("3020").leftPad(7))
        }
        if units.count > 20 { io.stdout.line("  … and \(units.count - 20) more units") }
        io.stdout.flush()
    }

    /// `serve`'s end-of-run summary: completeness from the oldest record received to the
    /// platform's own clock at the end of the run (`now`: an outage at the end is missing
    /// records, not an invisible tail), each unit and CN judged from its own first record.
    /// Returns true only when it said "nothing lost".
    @discardableResult
    static func serveSummary(state: PlatformState, now: Int64, io: CommandIO, trace: TraceWriter?, storeFailure: StoreFailureNote? = nil) -> Bool {
        // From the oldest record received (the loggers' clocks), or when the first unit came.
        let units = state.units.values
        let oldest = (units.flatMap { $0.dataTimes.values }.compactMap(\.oldest) + units.map(\.firstSeen)).min() ?? now
        return report(state: state, from: min(oldest, now), end: now, io: io, trace: trace, fromFirstRecord: true, storeFailure: storeFailure).nothingLost
    }

    /// Prints the report; returns the number of expected records missing between `from` and `end`.
    /// With `fromFirstRecord`, each unit and CN is judged from its own first record (a platform does
    /// not know when a logger started); otherwise from `from`.
    @discardableResult
    static func print(state: PlatformState, from: Int64, end: Int64, io: CommandIO, trace: TraceWriter?, fromFirstRecord: Bool = false) -> Int {
        report(state: state, from: from, end: end, io: io, trace: trace, fromFirstRecord: fromFirstRecord, storeFailure: nil).missing
    }

    /// The report, and whether it said "nothing lost". With `fromFirstRecord` (serve: the platform
    /// knows neither when a logger started nor what it sends), what cannot be judged is said and
    /// makes the verdict "incomplete": a record type of a unit that never arrived although one of
    /// its periods ended since the unit came (`?`), a unit with nothing to judge, records dated
    /// after `end` (a logger's clock ahead of the platform's).
    static func report(state: PlatformState, from: Int64, end: Int64, io: CommandIO, trace: TraceWriter?, fromFirstRecord: Bool,
                       storeFailure: StoreFailureNote?) -> (missing: Int, nothingLost: Bool) {
        defer { if let trace { io.stdout.line(trace.summary) } }
        let c = state.counters
        io.stdout.line("platform: \(c.frames) frames, \(c.acks9014) x 9014, \(c.acks9013) x 9013, \(c.records) records, \(c.errors) errors, \(c.warnings) warnings")
        if let storeFailure {
            let n = storeFailure.unsentReplies
            io.stdout.line("  store FAILED (存储失败): \(n) repl\(n == 1 ? "y" : "ies") (acknowledgements among them) not sent; what arrived after the failure is counted here "
                           + "but was neither stored nor acknowledged (the loggers keep it and send it again)")
        }
        io.stdout.line("  rejected: \(c.rejectedBadCRC) bad CRC, \(c.rejectedUnknownMN) unknown MN, \(c.rejectedBadPW) wrong password, \(c.rejectedMalformed) malformed")
        let results = state.completedCommands
        if !results.isEmpty {
            io.stdout.line("  commands: \(results.count) completed")
            for r in results.suffix(10) { io.stdout.line("    " + describe(r)) }
        }
        let units = state.units
        let registered = state.registry.map { Array($0.entries.keys) }
        var reasons: [String] = []
        if storeFailure != nil { reasons.append("the store failed: what arrived after the failure was neither stored nor acknowledged") }
        if units.isEmpty && registered == nil {
            if !reasons.isEmpty { io.stdout.line("incomplete (不完整): " + reasons.joined(separator: "; ")) }
            return (0, false)
        }
        io.stdout.line("completeness (records whose period ended between \(HJTime(wallMilliseconds: from).description) and \(HJTime(wallMilliseconds: end).description)):")
        io.stdout.line("  " + "MN".padding(toLength: 26, withPad: " ", startingAt: 0) + "2051".leftPad(9) + "2061".leftPad(9) + "2031".leftPad(9) + "  gaps")
        var totalMissing = 0
        var unknown: [(mn: String, cn: String)] = []
        var nothingToJudge = 0
        var ahead = 0
        var intervalUnknown = 0
        for mn in units.keys.sorted() {
            guard let unit = units[mn] else { continue }
            // Neither reported (1063), configured (1064) nor learnt from two 2051s: not known. The
            // standard gives no default, so the 2051 cell is not judged rather than guessed.
            let intervalKnown = unit.minIntervalSource != nil
            let minutes = Completeness.interval(cn: "2051", minInterval: unit.effectiveMinInterval) ?? 600_000
            // When the unit came: its first record of a tracked CN, else when the platform first saw it.
            let unitStart = max(from, unit.dataTimes.values.compactMap(\.oldest).min() ?? unit.firstSeen)
            var cells: [String] = []
            var gaps: [String] = []
            var judged = false
            var hasUnknown = false
            if fromFirstRecord && unit.dataTimes.values.contains(where: { ($0.newest ?? .min) > end }) { ahead += 1 }
            for (cn, period) in [("2051", minutes), ("2061", Int64(3_600_000)), ("2031", Int64(86_400_000))] {
                // Periods that ended by `end`: DataTime (the period start) at most end − period.
                let last = end - period
                let first: Int64
                if fromFirstRecord {
                    guard let oldest = unit.dataTimes[cn]?.oldest else {
                        // None arrived: missing, or not sent by this unit? The registry does not say.
                        let due = last >= unitStart && Completeness.summary(mn: mn, cn: cn, log: nil, interval: period, from: unitStart, to: last).expected > 0
                        cells.append(due ? "?" : "-")
                        if due { unknown.append((mn, cn)); hasUnknown = true }
                        continue
                    }
                    first = max(from, oldest)
                } else {
                    first = from
                }
                if cn == "2051" && !intervalKnown {
                    let received = Set(unit.dataTimes[cn]?.times.filter { $0 >= first && $0 <= end } ?? []).count
                    if received > 0 || last >= first {
                        cells.append("\(received)/?")
                        intervalUnknown += 1
                        hasUnknown = true
                        continue
                    }
                }
                guard last >= first, let s = state.completeness(mn: mn, cn: cn, from: first, to: last) else { cells.append("-"); continue }
                if s.expected > 0 { judged = true }
                totalMissing += s.missing
                cells.append("\(s.received)/\(s.expected)")
                for g in state.gaps(mn: mn, cn: cn, from: first, to: last).prefix(3) {
                    gaps.append("\(cn) \(HJTime(wallMilliseconds: g.lowerBound).description)…\(HJTime(wallMilliseconds: g.upperBound).description)")
                }
            }
            if fromFirstRecord && !judged && !hasUnknown { nothingToJudge += 1 }
            io.stdout.line("  " + safeWire(mn).padding(toLength: 26, withPad: " ", startingAt: 0) + cells.map { $0.leftPad(9) }.joined()
                           + "  " + (gaps.isEmpty ? "none" : gaps.joined(separator: "; ")))
        }
        if !unknown.isEmpty {
            let names = CodeDictionary.shared(.hj2017)
            let shown = unknown.prefix(4).map { "\($0.cn) \(names.command($0.cn)?.nameZh ?? "") of \(safeWire($0.mn))" }
            io.stdout.line("  ?: none arrived although a period ended since the unit came; whether the unit sends it is not known (the registry does not say): "
                           + "not judged: \(shown.joined(separator: ", "))\(unknown.count > 4 ? ", …" : "")")
            let unitCount = Set(unknown.map(\.mn)).count
            reasons.append("\(unknown.count) record type\(unknown.count == 1 ? "" : "s") of \(unitCount) unit\(unitCount == 1 ? "" : "s") never arrived and were not judged (?)")
        }
        if intervalUnknown > 0 {
            io.stdout.line("  n/?: the minute-data interval (MinInterval) is not known: no 1063 answer, no 1064 set, and fewer than two 2051 records a standard interval apart; "
                           + "the standard gives no default, so 2051 was not judged")
            reasons.append("the MinInterval of \(intervalUnknown) unit\(intervalUnknown == 1 ? " is" : "s are") not known: 2051 not judged (n/?)")
        }
        if nothingToJudge > 0 {
            reasons.append("\(nothingToJudge) unit\(nothingToJudge == 1 ? "" : "s") had no record period ended to judge")
        }
        if ahead > 0 {
            reasons.append("records of \(ahead) unit\(ahead == 1 ? " are" : "s are") dated after the platform's clock at the end of the run (\(HJTime(wallMilliseconds: end).description)): "
                           + "not judged (a logger clock ahead, e.g. an accelerated simulation)")
        }
        let verdict = RunCompleteness(registered: registered, seen: Set(units.keys), missingOfSeen: totalMissing, from: from, to: end)
        if !verdict.neverConnected.isEmpty {
            let shown = verdict.neverConnected.prefix(10).map { mn in TerminalText.safe(mn) + (state.registry?.entry(mn)?.name.map { " (\(TerminalText.safe($0)))" } ?? "") }
            io.stdout.line("  never connected (未连接): \(verdict.neverConnected.count) registered unit\(verdict.neverConnected.count == 1 ? "" : "s"), "
                           + "at least \(verdict.expectedPerAbsentUnit) expected records each (2051 counted at the longest MinInterval, 30 min): \(shown.joined(separator: ", "))\(verdict.neverConnected.count > 10 ? ", …" : "")")
        }
        if reasons.isEmpty {
            io.stdout.line(verdict.summary)
        } else if verdict.nothingLost {
            io.stdout.line("incomplete (不完整): no expected record missing among those judged, but " + reasons.joined(separator: "; "))
        } else {
            io.stdout.line(verdict.summary + "; incomplete (不完整): " + reasons.joined(separator: "; "))
        }
        return (verdict.missing, verdict.nothingLost && reasons.isEmpty)
    }
}

/// A failed `serve --store`, for the summary: the acknowledgements it dropped.
struct StoreFailureNote: Sendable {
    var unsentReplies: Int
}

/// Abuse shed by `serve`, told to the operator at once, one line each, at most
/// `linesPerInterval` lines per `interval` seconds (the rest counted and summarised).
struct ServeNotices {
    var interval = 10.0
    var linesPerInterval = 10
    private var windowStart = 0.0
    private var printed = 0
    private var suppressed = 0
    private var seen = (perAddress: 0, atLimit: 0, failures: 0)

    mutating func report(state: PlatformState, platform: LivePlatform, io: CommandIO, now: Double) {
        var lines = state.takeNotices()
        let r = platform.refusals
        if r.perAddress > seen.perAddress {
            lines.append("\(r.perAddress - seen.perAddress) connection(s) closed at once: over the budget of \(platform.limits.maxConnectionsPerAddress ?? 0) per source address")
        }
        if r.atDescriptorLimit > seen.atLimit {
            lines.append("\(r.atDescriptorLimit - seen.atLimit) connection(s) closed at once: at the open-file limit (raise ulimit -n)")
        } else if r.acceptFailures > seen.failures, let last = r.lastFailure {
            lines.append("accept failing (\(r.acceptFailures - seen.failures) time(s)): \(last)")
        }
        seen = (r.perAddress, r.atDescriptorLimit, r.acceptFailures)
        guard !lines.isEmpty else { return }
        if now - windowStart >= interval {
            if suppressed > 0 { io.stderr.line("hj212 serve: … \(suppressed) more notice(s) in the last \(Int(interval)) s") }
            windowStart = now
            printed = 0
            suppressed = 0
        }
        io.clearProgress()
        for line in lines {
            if printed < linesPerInterval {
                io.stderr.line("hj212 serve: " + TerminalText.safe(line))
                printed += 1
            } else {
                suppressed += 1
            }
        }
        io.stderr.flush()
    }

    /// The shed abuse in the end-of-run summary (only what happened).
    func summary(state: PlatformState, platform: LivePlatform, io: CommandIO) {
        let c = state.counters
        let r = platform.refusals
        var parts: [String] = []
        if c.closedForWrongPW > 0 { parts.append("\(c.closedForWrongPW) connections closed for wrong passwords") }
        if c.rejectedLocked > 0 { parts.append("\(c.rejectedLocked) packets of locked MNs not acknowledged") }
        if r.perAddress > 0 { parts.append("\(r.perAddress) refused over the per-address budget") }
        if r.atDescriptorLimit > 0 { parts.append("\(r.atDescriptorLimit) refused at the open-file limit") }
        if c.reassemblyRejected > 0 { parts.append("\(c.reassemblyRejected) split packets refused") }
        if !parts.isEmpty { io.stdout.line("  shed: " + parts.joined(separator: ", ")) }
        let locked = state.lockedMNs(at: platform.clock.now)
        if !locked.isEmpty { io.stdout.line("  locked MNs: " + locked.prefix(10).map { TerminalText.safe($0) }.joined(separator: ", ") + (locked.count > 10 ? " … (\(locked.count))" : "")) }
    }
}
