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
    static let options: [any OptionDeclaration] = [
        OptionSpec("loggers", value: "N", help: "Loggers of the whole run (all shards together), each one TCP connection with its own MN."),
        OptionSpec("rate", value: "R", help: "Packets per second in total over all loggers (and all shards), evenly spaced; at most 1000 per logger (a QN is the scheduled millisecond, unique per logger)."),
        OptionSpec("cadence", value: "C", help: "Per-logger cadence instead of --rate: realtime (each unit's RtdInterval, 30 s), accelerated (1 s), or an interval such as 250ms. Default realtime."),
        OptionSpec("duration", value: "D", help: "Length of the send window, e.g. 60s, 10m, at most 24h (default 60s)."),
        OptionSpec("ramp", value: "D", help: "Spread the connects over this time before the window (default: 1 s per 1000 loggers, at least 1 s)."),
        OptionSpec("unit", value: "NAME", help: "Every logger sends real generated packets of this unit template (e.g. industrial-wastewater)."),
        OptionSpec("fleet", value: "FILE", help: "Loggers take the units of this fleet manifest in turn (default: the built-in mixed-demo mix)."),
        OptionSpec("mn-prefix", value: "P", help: "MN of logger i: P followed by i, zero-padded to 24 characters (default 0100AD00000000)."),
        OptionSpec("pw", value: "PW", help: "Password of every logger (default 123456)."),
        OptionSpec("registry", value: "FILE", help: "Take MNs and passwords from this registry (CSV mn,pw[,name], as 'serve --registry'), in MN order."),
        OptionSpec("align", value: "D", help: "Start the send window on the next wall-clock multiple of D (e.g. 1m), so that shards started apart share one schedule."),
        OptionSpec("shard", value: "K/N", help: "Drive only shard K of N: loggers i with i mod N = K−1, and their share of the rate."),
        OptionSpec("threshold", value: "SPEC", help: "A pass/fail condition, e.g. 'p99<500ms', 'unacked<0.1%', 'acked/s>=1000', 'errors==0' (repeatable; grammar below)."),
        OptionSpec("format", value: "F", choices: ["text", "json", "html"], help: "Report format (default text)."),
        OptionSpec("out", value: "FILE", help: "Write the report there (in --format); the text summary still goes to standard output."),
        OptionSpec("threads", value: "N", help: "Event-loop threads (default: the number of cores)."),
        OptionSpec("ack-timeout", value: "D", help: "A packet not acknowledged after this long is unacknowledged (default 10s)."),
        OptionSpec("connect-timeout", value: "D", help: "Give up a connect after this long (default 10s)."),
        OptionSpec("drain", value: "D", help: "After the window, wait at most this long for outstanding acknowledgements (default: the ack timeout)."),
        OptionSpec("max-outstanding", value: "N", help: "Per logger, at most N packets from the oldest unacknowledged to the newest; older ones are given up (default 256)."),
    ]
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

    VERDICT: pass, fail or incomplete (interrupted), with the reasons on one line. A run in which
    nothing was acknowledged fails, thresholds or not. Without thresholds, a run also fails when
    fewer loggers connected than asked; with thresholds, they decide that (e.g. 'connected>=95%').

    EXIT STATUS: 0 pass, 1 fail (a threshold fails, nothing was acknowledged, or without thresholds
    fewer loggers connected than asked), 2 bad usage or the target could not be reached (no
    connection at all), 130/143 interrupted (the report of what ran is printed, verdict incomplete).

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
        do {
            thresholds = try (a.values["threshold"] ?? []).map { s throws(LoadSpecError) in try Threshold(parsing: s) }
        } catch { throw UsageError(error.message) }
        format = a.value("format") ?? "text"
        out = a.value("out")
        if a.positionals.first == "merge" {
            let files = Array(a.positionals.dropFirst())
            guard !files.isEmpty else { throw UsageError("load merge: give the JSON reports to merge") }
            mode = .merge(files)
            return
        }
        guard a.positionals.count == 1 else {
            throw UsageError(a.positionals.isEmpty ? "give the target: hj212 load HOST:PORT --loggers N (see --help)"
                             : "expected one target HOST:PORT[,HOST:PORT…], got \(a.positionals.joined(separator: " "))")
        }
        mode = .run(try Self.configuration(a))
    }

    /// `SimClock.parseDuration`, on text short enough that no sum or product in it can come near
    /// Int64 (at most 24 characters, digit runs of at most 9 digits: 10⁹ weeks < 2^63 ms).
    static func boundedDuration(_ text: String) -> Int64? {
        guard text.count <= 24 else { return nil }
        var run = 0
        for c in text {
            run = c.isASCII && c.isNumber ? run + 1 : 0
            if run > 9 { return nil }
        }
        return SimClock.parseDuration(text)
    }

    static func duration(_ a: ParsedArguments, _ name: String, default d: Int64, range: ClosedRange<Int64>) throws(UsageError) -> Duration {
        guard let text = a.value(name) else { return .milliseconds(d) }
        let zero = !text.isEmpty && ["", "ms", "s", "m", "h"].contains(String(text.drop { $0 == "0" })) && text.first == "0"
        guard let ms = zero ? 0 : boundedDuration(text), range.contains(ms) else {
            throw UsageError("--\(name) '\(text)': expected a duration from \(range.lowerBound) ms to \(range.upperBound / 1000) s, e.g. 30s or 500ms")
        }
        return .milliseconds(ms)
    }

    static func configuration(_ a: ParsedArguments) throws(UsageError) -> LoadConfiguration {
        // Targets first: a bad address is a usage error before anything else happens.
        var targets: [SocketAddress] = []
        for part in a.positionals[0].split(separator: ",") {
            targets.append(try resolve(String(part)))
        }
        guard !targets.isEmpty else { throw UsageError("no target address") }
        guard let nText = a.value("loggers") else { throw UsageError("--loggers N is required") }
        guard let n = Int(nText), (1...1_000_000).contains(n) else { throw UsageError("--loggers '\(nText)': expected 1…1000000") }

        var pools: [PayloadPool] = []
        var poolOfLogger: [Int] = [0]
        if a.value("unit") != nil && a.value("fleet") != nil { throw UsageError("give --unit or --fleet, not both") }
        do {
            if let unit = a.value("unit") {
                pools = [try PayloadPool(unit: unit)]
            } else {
                let fleet = try Fleet.load(a.value("fleet") ?? "mixed-demo")
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
        if a.value("rate") != nil && a.value("cadence") != nil { throw UsageError("give --rate or --cadence, not both") }
        if let r = a.value("rate") {
            guard let rate = Double(r), rate > 0, rate <= 10_000_000 else { throw UsageError("--rate '\(r)': expected packets per second, > 0 and ≤ 10000000") }
            c.cadence = .rate(rate)
            // Checked again by problem(); said here with the option's own words.
            guard rate <= Double(n) * LoadConfiguration.maxRatePerLogger else {
                throw UsageError("--rate '\(r)': at most 1000 packets/s per logger (\(LoadFormat.number(Double(n) * LoadConfiguration.maxRatePerLogger)) for \(n) logger\(n == 1 ? "" : "s")): "
                                 + "a logger's QN is its packet's scheduled millisecond, unique per logger; add loggers or lower the rate")
            }
        } else if let cadence = a.value("cadence") {
            do { c.cadence = try Cadence(parsing: cadence, parseDuration: Self.boundedDuration) } catch { throw UsageError(error.message) }
        }
        if let s = a.value("shard") {
            do { c.shard = try Shard(parsing: s) } catch { throw UsageError(error.message) }
        }
        c.duration = try duration(a, "duration", default: 60_000, range: 1...86_400_000)
        if a.value("align") != nil { c.align = try duration(a, "align", default: 0, range: 1...3_600_000) }
        c.ramp = try duration(a, "ramp", default: Int64(max(1000, n)), range: 0...3_600_000)
        c.ackTimeout = try duration(a, "ack-timeout", default: 10_000, range: 1...3_600_000)
        c.connectTimeout = try duration(a, "connect-timeout", default: 10_000, range: 1...600_000)
        c.drainTimeout = a.value("drain") == nil ? c.ackTimeout : try duration(a, "drain", default: 10_000, range: 0...3_600_000)
        if let m = a.value("max-outstanding") {
            guard let v = Int(m), (1...100_000).contains(v) else { throw UsageError("--max-outstanding '\(m)': expected 1…100000") }
            c.maxOutstanding = v
        }
        if let t = a.value("threads") {
            guard let v = Int(t), (1...64).contains(v) else { throw UsageError("--threads '\(t)': expected 1…64") }
            c.threads = v
        } else {
            c.threads = max(1, min(8, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))))
        }
        if let path = a.value("registry") {
            if a.value("mn-prefix") != nil || a.value("pw") != nil { throw UsageError("give --registry or --mn-prefix/--pw, not both") }
            do {
                let registry = try Registry.load(path: path)
                c.identities = registry.entries.values.sorted { $0.mn < $1.mn }.map { LoggerIdentity(mn: $0.mn, pw: $0.pw) }
            } catch { throw UsageError("--registry: \(error)") }
        }
        if let p = a.value("mn-prefix") {
            guard p.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 70) }) else {
                throw UsageError("--mn-prefix '\(p)': use 0-9 and A-F (an MN is 24 hex characters)")
            }
            c.mnPrefix = p
        }
        if let pw = a.value("pw") {
            guard !pw.isEmpty, pw.utf8.count <= 32, pw.utf8.allSatisfy({ $0 > 32 && $0 < 127 && $0 != UInt8(ascii: ";") && $0 != UInt8(ascii: "=") && $0 != UInt8(ascii: "&") }) else {
                throw UsageError("--pw '\(pw)': expected up to 32 printable characters without ; = &")
            }
            c.password = pw
        }
        if let problem = c.problem() { throw UsageError(problem) }
        return c
    }

    /// A dotted address, `localhost`, or a host name resolved once (IPv4), e.g. a Kubernetes service.
    static func resolve(_ text: String) throws(UsageError) -> SocketAddress {
        do { return try SocketAddress(parsing: text) } catch {
            guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else {
                throw UsageError("target '\(text)': \(error.message)")
            }
            let host = String(text[..<colon])
            var hints = addrinfo()
            hints.ai_family = AF_INET
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            var result: UnsafeMutablePointer<addrinfo>?
            guard getaddrinfo(host, nil, &hints, &result) == 0, let first = result, let sa = first.pointee.ai_addr else {
                throw UsageError("target '\(text)': cannot resolve host '\(host)' (\(error.message))")
            }
            defer { freeaddrinfo(result) }
            let ip = sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt32(bigEndian: $0.pointee.sin_addr.s_addr) }
            return SocketAddress(ipv4: ip, port: UInt16(port))
        }
    }

    func run(_ io: CommandIO) -> Int32 {
        switch mode {
        case .merge(let files): return merge(files, io)
        case .run(let c): return drive(c, io)
        }
    }

    func drive(_ c: LoadConfiguration, _ io: CommandIO) -> Int32 {
        let limit = (try? ProcessSetup.prepareForNetworking()) ?? 1024
        let mine = c.shard.loggers(total: c.totalLoggers).underestimatedCount
        if mine + 64 > limit {
            io.stderr.line("hj212 load: warning: \(mine) connections need \(mine + 64) file descriptors and the limit here is \(limit); the connects beyond it will fail (counted, with their reason)")
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
        (report.outcome, report.outcomeReasons) = report.outcome(thresholdsGiven: !thresholds.isEmpty)
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
        (report.outcome, report.outcomeReasons) = report.outcome(thresholdsGiven: !thresholds.isEmpty)
        return finish(report, io, unreachable: false)
    }

    func finish(_ report: LoadReport, _ io: CommandIO, unreachable: Bool) -> Int32 {
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
        if report.interrupted { return Interrupts.exitStatus }
        return report.outcome == .pass ? 0 : 1
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
