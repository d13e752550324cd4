import Glibc
import HJ212
import HJLoad
import HJNetwork
import HJRoles
import HJSimulation

/// `hj212 load`: drives N emulated loggers against an ingest server on an open-model schedule and
/// reports acknowledgement latency (from the scheduled time), throughput and errors; thresholds
/// make it a CI gate. `hj212 load merge` merges the JSON reports of shards exactly.
struct LoadCommand: CLICommand {
    static let name = "load"
    static let abstract = "Load-test an ingest server: N loggers, open-model schedule, honest latency, thresholds, shards."
    static let operands = "HOST:PORT[,HOST:PORT…]"
    static let loggers = Option("loggers", "N", help: "Loggers of the whole run (all shards together), each one TCP connection with its own MN.", parse: Parse.int(1...1_000_000)).required()
    static let rate = Option("rate", "R", help: "Packets per second in total over all loggers (and all shards), evenly spaced; at most 1000 per logger (a QN is the scheduled millisecond, unique per logger).",
                             parse: Parse.number(0...10_000_000, above: true))
    static let cadence = Option("cadence", "C", help: "Per-logger cadence instead of --rate: realtime (each unit's RtdInterval, 30 s), accelerated (1 s), or an interval such as 250ms. Default realtime.",
                                parse: { (s: String) throws(UsageError) -> Cadence in
                                    do throws(LoadSpecError) { return try Cadence(parsing: s, parseDuration: Parse.boundedDuration) } catch { throw UsageError(error.message) }
                                })
    static let duration = Option("duration", "D", help: "Length of the send window, e.g. 60s, 10m, at most 24h (default 60s).", parse: Parse.duration(1...86_400_000))
    static let ramp = Option("ramp", "D", help: "Spread the connects over this time before the window (default: 1 s per 1000 loggers, at least 1 s).", parse: Parse.duration(0...3_600_000))
    static let unit = Shared.unit.help("Every logger sends real generated packets of this unit template (e.g. industrial-wastewater).")
    static let fleet = Shared.fleet.help("Loggers take the units of this fleet manifest in turn (default: the built-in mixed-demo mix).")
    static let payloads = Option("payloads", "TRACE|CAPTURE", help: "Every logger sends packets taken from this recording's uplinks (QN, PW, MN and the 2011 DataTime stamped per logger; the rest as recorded).", parse: Parse.path)
    static let mnPrefix = Option("mn-prefix", "P", help: "MN of logger i: P followed by i, zero-padded to 24 characters (default 0100AD00000000).",
                                 parse: { (p: String) throws(UsageError) -> String in
                                     guard p.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 70) }) else { throw UsageError("use 0-9 and A-F (an MN is 24 hex characters)") }
                                     return p
                                 })
    static let pw = Shared.pw.help("Password of every logger (default 123456).")
    static let registry = Shared.registry.help("Take MNs and passwords from this registry (CSV mn,pw[,name], as 'serve --registry'), in MN order.")
    static let align = Option("align", "D", help: "Start the send window on the next wall-clock multiple of D (e.g. 1m), so that shards started apart share one schedule.", parse: Parse.duration(1...3_600_000))
    static let shard = Option("shard", "K/N", help: "Drive only shard K of N: loggers i with i mod N = K−1, and their share of the rate.",
                              parse: { (s: String) throws(UsageError) -> Shard in
                                  do throws(LoadSpecError) { return try Shard(parsing: s) } catch { throw UsageError(error.message) }
                              })
    static let threshold = Option("threshold", "SPEC", help: "A pass/fail condition, e.g. 'p99<500ms', 'unacked<0.1%', 'acked/s>=1000', 'errors==0' (repeatable; grammar below).", repeatable: true,
                                  parse: { (s: String) throws(UsageError) -> Threshold in
                                      do throws(LoadSpecError) { return try Threshold(parsing: s) } catch { throw UsageError(error.message) }
                                  })
    static let format = Option("format", "F", choices: ["text", "json", "html"], help: "Report format (default text).")
    static let out = Shared.out.help("Write the report there (in --format); the text summary still goes to standard output.")
    static let ackTimeout = Option("ack-timeout", "D", help: "A packet not acknowledged after this long is unacknowledged (default 10s).", parse: Parse.duration(1...3_600_000))
    static let connectTimeout = Option("connect-timeout", "D", help: "Give up a connect after this long (default 10s).", parse: Parse.duration(1...600_000))
    static let drain = Option("drain", "D", help: "After the window, wait at most this long for outstanding acknowledgements (default: the ack timeout).", parse: Parse.duration(0...3_600_000))
    static let maxOutstanding = Option("max-outstanding", "N", help: "Per logger, at most N packets from the oldest unacknowledged to the newest; older ones are given up (default 256).",
                                       parse: Parse.int(1...100_000))
    static let options: [any OptionDeclaration] = [
        loggers, rate, cadence, duration, ramp, unit, fleet, payloads, mnPrefix, pw, registry, align, shard, threshold, format, out, Shared.threads, ackTimeout, connectTimeout, drain, maxOutstanding,
    ]
    static let subcommands: [any CLICommand.Type] = [LoadMerge.self]
    static let discussion = """
    The schedule is open: it is fixed before the first packet (logger i of N first sends at i/R, then
    every N/R seconds; with --cadence every logger every interval, phases spread evenly), and a logger
    never waits for an acknowledgement before its next packet. Latency is measured from each packet's
    scheduled time (so a server that stalls is charged for every packet that waited, no coordinated
    omission) and also from the actual send; connect latency and the driver's own send lag apart.
    Payloads are real generated uploads of the units (2011, 2051, 2061, 3020 …) with each logger's MN
    and PW, a unique QN per packet (its scheduled time) and a valid CRC. An acknowledgement counts
    when it is a 9014 with the packet's QN, ST=91, Flag=4 and the logger's MN; anything else is
    counted as late, duplicate or wrong.

    THRESHOLDS: METRIC OP VALUE, OP one of < <= > >= == !=
      latency   p50 p90 p99 p99.9 pNN max mean (from the schedule); send.p99, connect.p99, lag.p99 …
                VALUE with a unit: us, ms, s, m                       e.g. 'p99<500ms'  'connect.max<2s'
      counts    sent scheduled acked unacked missed late duplicates wrong-acks errors resets closes
                refused connect-errors connected timed-out; VALUE a count or a percentage: of the
                packets scheduled (the reports use the same base), of the loggers for connected,
                refused, connect-errors, resets, closes; a percentage of nothing (no packet
                scheduled, e.g. a merge of unreachable shards) fails  e.g. 'unacked<0.1%'  'errors==0'
      rates     acked/s sent/s (over the send window)                 e.g. 'acked/s>=1000'
    errors = wrong acknowledgements + failed connects + connections that ended early + packets not sent.

    VERDICT: pass, fail or incomplete (interrupted, or the report covers less than the run: an event
    loop did not report, a merge lacks shards), with the reasons on one line. A run in which nothing
    was acknowledged fails, thresholds or not. A run also fails when fewer loggers connected than
    asked, unless a threshold bounds connected (a floor), refused or connect-errors (a ceiling)
    ('connected>=95%'), and when a scheduled packet was not acknowledged, unless a threshold
    bounds unacked, missed or timed-out (a ceiling) or acked (a floor) ('unacked<0.1%'); 'sent>=1',
    'timed-out>=0' bound nothing. Latency percentiles are of the acknowledged packets: 'p99<500ms'
    alone accepts no loss.

    EXIT STATUS: 0 pass, 1 fail, 2 bad usage or the target could not be reached (no connection at
    all), 3 incomplete (a loop did not report; a merge lacks shards or holds an interrupted one),
    130/143 interrupted (the report of what ran is printed, verdict incomplete).

    SHARDS: run N processes (or machines) with --shard 1/N … N/N and the same other options, each
    with --format json --out shard-K.json; then 'hj212 load merge shard-*.json' adds their histograms
    and counts exactly. See the README for a Kubernetes Indexed Job.

    EXAMPLES:
      hj212 load 127.0.0.1:7001 --loggers 1000 --rate 2000 --duration 60s --threshold 'p99<200ms'
      hj212 load 10.0.0.5:7001 --loggers 10000 --cadence realtime --duration 10m --format html --out load.html
      hj212 load 10.0.0.5:7001 --loggers 40000 --rate 20000 --shard 2/4 --format json --out shard-2.json
      hj212 load merge shard-*.json --threshold 'p99<500ms' --threshold 'unacked<0.1%'
    """

    enum Mode { case run(LoadConfiguration), merge([String]) }
    var mode: Mode
    var thresholds: [Threshold]
    var format: String
    var out: String?

    init(_ a: ParsedArguments) throws(UsageError) {
        thresholds = a.all(Self.threshold)
        format = a[Self.format] ?? "text"
        out = a[Self.out]
        guard a.positionals.count == 1 else {
            throw UsageError(a.positionals.isEmpty ? "give the target: hj212 load HOST:PORT --loggers N (see --help)"
                             : "expected one target HOST:PORT[,HOST:PORT…], got \(a.positionals.joined(separator: " "))")
        }
        mode = .run(try Self.configuration(a))
    }

    init(merging files: [String], thresholds: [Threshold], format: String, out: String?) {
        mode = .merge(files)
        self.thresholds = thresholds
        self.format = format
        self.out = out
    }

    static func configuration(_ a: ParsedArguments) throws(UsageError) -> LoadConfiguration {
        // Targets first: a bad address is a usage error before anything else happens.
        var targets: [SocketAddress] = []
        for part in a.positionals[0].split(separator: ",") {
            targets.append(try resolve(String(part)))
        }
        guard !targets.isEmpty else { throw UsageError("no target address") }
        guard let n = a[Self.loggers] else { throw UsageError("--loggers N is required") }

        var pools: [PayloadPool] = []
        var poolOfLogger: [Int] = [0]
        if [a.given(Self.unit), a.given(Self.fleet), a.given(Self.payloads)].filter({ $0 }).count > 1 { throw UsageError("give one of --unit, --fleet and --payloads") }
        do {
            if let payloads = a[Self.payloads] {
                pools = [try LoadPayloads.pool(payloads)]
            } else if let unit = a[Self.unit] {
                pools = [try PayloadPool(unit: unit)]
            } else {
                let fleet = try Fleet.load(a[Self.fleet] ?? "mixed-demo")
                guard !fleet.units.isEmpty else { throw UsageError("fleet \(fleet.file) has no units") }
                var index: [String: Int] = [:]
                poolOfLogger = []
                for u in fleet.units {
                    if index[u.unit] == nil, let t = fleet.templates[u.unit] {
                        index[u.unit] = pools.count
                        pools.append(try PayloadPool(template: t))
                    }
                    poolOfLogger.append(index[u.unit] ?? 0)
                }
            }
        } catch let e as UsageError {
            throw e
        } catch {
            throw UsageError("\(error)")
        }
        var c = LoadConfiguration(targets: targets, totalLoggers: n, pools: pools)
        c.poolOfLogger = poolOfLogger
        if a.given(Self.rate) && a.given(Self.cadence) { throw UsageError("give --rate or --cadence, not both") }
        if let rate = a[Self.rate] {
            c.cadence = .rate(rate)
            // Checked again by problem(); said here with the option's own words.
            guard rate <= Double(n) * LoadConfiguration.maxRatePerLogger else {
                throw UsageError("--rate '\(a.text(Self.rate) ?? "")': at most 1000 packets/s per logger (\(LoadFormat.number(Double(n) * LoadConfiguration.maxRatePerLogger)) for \(n) logger\(n == 1 ? "" : "s")): "
                                 + "a logger's QN is its packet's scheduled millisecond, unique per logger; add loggers or lower the rate")
            }
        } else if let cadence = a[Self.cadence] {
            c.cadence = cadence
        }
        if let shard = a[Self.shard] { c.shard = shard }
        c.duration = .milliseconds(a[Self.duration] ?? 60_000)
        if let align = a[Self.align] { c.align = .milliseconds(align) }
        c.ramp = .milliseconds(a[Self.ramp] ?? Int64(max(1000, n)))
        c.ackTimeout = .milliseconds(a[Self.ackTimeout] ?? 10_000)
        c.connectTimeout = .milliseconds(a[Self.connectTimeout] ?? 10_000)
        c.drainTimeout = a[Self.drain].map { .milliseconds($0) } ?? c.ackTimeout
        if let m = a[Self.maxOutstanding] { c.maxOutstanding = m }
        c.threads = a[Shared.threads] ?? max(1, min(8, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))))
        if let path = a[Self.registry] {
            if a.given(Self.mnPrefix) || a.given(Self.pw) { throw UsageError("give --registry or --mn-prefix/--pw, not both") }
            do {
                let registry = try Registry.load(path: path)
                c.identities = registry.entries.values.sorted { $0.mn < $1.mn }.map { LoggerIdentity(mn: $0.mn, pw: $0.pw) }
            } catch { throw UsageError("--registry: \(error)") }
        }
        if let p = a[Self.mnPrefix] { c.mnPrefix = p }
        if let pw = a[Self.pw] { c.password = pw }
        if let problem = c.problem() { throw UsageError(problem) }
        return c
    }

    /// A dotted address, `localhost`, or a host name resolved once (IPv4), e.g. a Kubernetes service.
    static func resolve(_ text: String) throws(UsageError) -> SocketAddress {
        do { return try Parse.address(text) } catch { throw UsageError("target '\(text)': \(error.message)") }
    }

    func run(_ io: CommandIO) -> Int32 {
        switch mode {
        case .merge(let files): return merge(files, io)
        case .run(let c): return drive(c, io)
        }
    }

    func drive(_ c: LoadConfiguration, _ io: CommandIO) -> Int32 {
        let limit = ProcessSetup.prepareDescriptors()
        let mine = c.shard.loggers(total: c.totalLoggers).underestimatedCount
        if let line = limit.boundMessage(connections: mine) {
            io.stderr.line("hj212 load: warning: \(line); the connects beyond it will fail (counted, with their reason)")
        }
        if let out, !Self.writable(out) {
            io.stderr.line("hj212 load: cannot write '\(out)'")
            return 2
        }
        io.stderr.flush()
        let run = LoadRun(c)
        var lastLine = -1.0
        var report = run.run(progress: { p in
            guard io.stderr.isTerminal, p.elapsed - lastLine >= 0.5 || p.last != nil else { return }
            lastLine = p.elapsed
            let last = p.last
            io.progress("load \(p.phase.rawValue) \(LoadFormat.fixed(p.elapsed, 0)) s: \(p.openConnections) connected, "
                        + "sent \(last.map { String($0.sent) } ?? "-")/s, acked \(last.map { String($0.acked) } ?? "-")/s, "
                        + "p99 \(last.map { LoadFormat.latency($0.p99) } ?? "-"), outstanding \(p.outstanding), unacked \(p.counts.unacked), errors \(p.counts.errors)")
        }, shouldStop: { Interrupts.requested })
        io.clearProgress()
        report.tool = "hj212 \(CommandLineTool.version)"
        report.verdicts = thresholds.map { $0.evaluate(report) }
        (report.outcome, report.outcomeReasons) = report.outcome()
        return finish(report, io, unreachable: report.counts.connects == 0)
    }

    func merge(_ files: [String], _ io: CommandIO) -> Int32 {
        var merged: LoadReport?
        for f in files {
            guard let data = readWholeFile(f) else {
                io.stderr.line("hj212 load merge: cannot read '\(f)'")
                return 2
            }
            let r: LoadReport
            do {
                r = try LoadReport(json: String(decoding: data, as: UTF8.self), file: f)
            } catch {
                io.stderr.line("hj212 load merge: \(error.message)")
                return 2
            }
            guard var m = merged else {
                merged = r
                continue
            }
            // Shards of one run only: the same loggers in the run, shard count and schedule.
            let (refuse, warn) = m.mergeProblems(with: r)
            if !refuse.isEmpty {
                io.stderr.line("hj212 load merge: '\(f)' is not a shard of the same run as '\(files[0])'\(files.count > 2 ? " and the files before it" : ""): "
                               + refuse.joined(separator: "; ") + " (run every shard with the same --loggers, --rate or --cadence, --duration and N of --shard K/N)")
                return 2
            }
            for w in warn { io.stderr.line("hj212 load merge: warning: '\(f)': \(w)") }
            m.merge(r)
            merged = m
        }
        guard var report = merged else { return 2 }
        report.verdicts = thresholds.map { $0.evaluate(report) }
        (report.outcome, report.outcomeReasons) = report.outcome(requireAllShards: true)
        return finish(report, io, unreachable: false, merged: true)
    }

    func finish(_ report: LoadReport, _ io: CommandIO, unreachable: Bool, merged: Bool = false) -> Int32 {
        let rendered: String
        switch format {
        case "json": rendered = report.json().serialized + "\n"
        case "html": rendered = report.html()
        default: rendered = report.text()
        }
        if let out {
            if !Self.write(rendered, to: out) {
                io.stderr.line("hj212 load: cannot write '\(out)'")
                io.stdout.write(report.text())
                return 2
            }
            io.stdout.write(report.text())
            io.stdout.line("report: \(out) (\(format))")
        } else {
            io.stdout.write(rendered)
        }
        io.stdout.flush()
        if unreachable {
            io.stderr.line("hj212 load: the target could not be reached: \(report.errors.keys.sorted().first ?? "no connection")")
            return 2
        }
        // A run stopped by a signal exits 130/143; a merge of a shard that was stopped is not
        // itself interrupted: its report is incomplete (3), as one missing a shard or a loop.
        if report.interrupted && !merged { return Interrupts.exitStatus }
        switch report.outcome {
        case .pass?: return 0
        case .incomplete?: return 3
        default: return 1
        }
    }

    static func writable(_ path: String) -> Bool {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return false }
        close(fd)
        return true
    }

    static func write(_ text: String, to path: String) -> Bool {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, bytes.count - done) }
            if n > 0 { done += n; continue }
            if n < 0 && errno == EINTR { continue }
            return false
        }
        return true
    }
}

/// The whole content of a file, or nil (at most 1 GiB).
func readWholeFile(_ path: String) -> [UInt8]? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    while out.count < 1 << 30 {
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n > 0 { out += buffer[0..<n]; continue }
        if n < 0 && errno == EINTR { continue }
        if n < 0 { return nil }
        break
    }
    return out
}

/// `hj212 load merge REPORT.json…`: the JSON reports of shards merged exactly.
struct LoadMerge: CLICommand {
    static let name = "merge"
    static let abstract = "Merge the JSON reports of the shards of one load run exactly (histograms and counts added)."
    static let operands = "REPORT.json…"
    static let options: [any OptionDeclaration] = [LoadCommand.threshold, LoadCommand.format, LoadCommand.out]
    var load: LoadCommand
    init(_ a: ParsedArguments) throws(UsageError) {
        guard !a.positionals.isEmpty else { throw UsageError("load merge: give the JSON reports to merge") }
        load = LoadCommand(merging: a.positionals, thresholds: a.all(LoadCommand.threshold), format: a[LoadCommand.format] ?? "text", out: a[LoadCommand.out])
    }
    func run(_ io: CommandIO) -> Int32 { load.run(io) }
}
