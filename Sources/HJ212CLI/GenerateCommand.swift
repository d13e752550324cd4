import Glibc
import HJ212
import HJSimulation

/// `hj212 generate`: what loggers would send, in virtual time, written to a file.
struct GenerateCommand: CLICommand {
    static let name = "generate"
    static let abstract = "Write what emulated data loggers would send, in virtual time (raw frames or a trace)."
    static let unit = Shared.unit
    static let fleet = Shared.fleet.help("A fleet manifest (CSV), or a built-in fleet name (sample-city, mixed-demo).")
    /// Text: read in the zone of --zone.
    static let start = Option("start", "ISO8601", help: "Start of the virtual time, e.g. 2026-11-30 or 2026-11-30T08:00:00+08:00 (default zone UTC+8).", parse: Parse.text)
    static let duration = Option("duration", "D", help: "Simulated time: 90m, 1d, 30d, 2h30m.", parse: Parse.duration(1...400 * 86_400_000))
    static let seed = Shared.seed.help("Random seed (default 1). Same inputs and seed give byte-identical output.")
    static let format = Option("format", "F", choices: ["raw", "trace"], help: "raw: frames with CR LF (default); trace: JSON Lines {t,dir,peer,mn,frame}.")
    static let mn = Shared.mn.help("--unit: the logger's MN (default 010000A8900016F000169DC0).")
    static let pw = Shared.pw.help("--unit: the logger's password (default 123456).")
    static let edition = Shared.edition.help("Protocol edition the loggers speak (default 2017; 2025 adds CN 2111 for furnaces).")
    static let rtdInterval = Option("rtd-interval", "S", help: "Override the real-time interval in seconds (30..3600).", parse: Parse.int(30...3600))
    static let minInterval = Option("min-interval", "M", help: "Override the minute-data interval in minutes (1 2 3 4 5 6 10 12 15 20 30).",
                                    parse: { (s: String) throws(UsageError) -> Int in
                                        guard let v = Int(s), [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30].contains(v) else { throw UsageError("expected one of 1 2 3 4 5 6 10 12 15 20 30") }
                                        return v
                                    })
    static let facilityStatus = Flag("facility-status", help: "Also send 2021 facility states every real-time interval (normally started by the platform).")
    static let zone = Option("zone", "±HH:MM", help: "Time zone of the loggers' clocks (default +08:00).",
                             parse: { (s: String) throws(UsageError) -> Int in
                                 guard let z = GenerateCommand.parseZone(s) else { throw UsageError("expected ±HH:MM") }
                                 return z
                             })
    static let profiles = Shared.profiles.help("Directory of profile files overriding the built-in ones.")
    static let faults = Shared.faults.help("Faults for every logger: ID[:FACTOR][(NAME=VALUE;…)][%RATE][#COUNT][@START/DURATION], comma-separated (IDs: --list), e.g. 'crc-mismatch%5,flatline:w01018@2026-11-30T10:00/2h,flow-bypass(fraction=0.2)'. Transport faults need a live link (simulate).")
    static let scenario = Shared.scenario.help("A fault timeline on units of the fleet (Profiles/scenarios, or a file; a path wins). Without --unit/--fleet, the scenario's own fleet.")
    static let truth = Shared.truth.help("Where to write the ground truth of injected faults, JSON Lines (default: the --out file + .truth.jsonl).")
    static let list = Flag("list", help: "List the unit templates, built-in fleets, faults and scenarios, and exit.")
    static let threads = Shared.threads.help("Threads generating the loggers' packets, the units split between them (default 1). The output is the same bytes whatever the number.")
    static let options: [any OptionDeclaration] = [
        unit, fleet, start, duration, seed, format, Shared.out, mn, pw, edition, rtdInterval, minInterval, facilityStatus, zone, profiles, faults, scenario, truth,
        threads, list,
    ]
    static let discussion = """
    EXAMPLES:
      hj212 generate --unit industrial-wastewater --start 2026-11-30 --duration 1d -o day.raw
      hj212 generate --fleet sample-city --start 2026-11-30 --duration 1d --format trace -o city.jsonl
      hj212 generate --unit msw-incinerator --start 2026-11-30 --duration 2h --dialect 2025 | hj212 lint --strict -
      hj212 generate --scenario night-discharge-bypass --start 2026-11-30 --duration 1d -o night.raw   (truth: night.raw.truth.jsonl)
    """

    var arguments: ParsedArguments

    init(_ a: ParsedArguments) throws(UsageError) {
        arguments = a
        if a[Self.list] { return }
        guard !(a.given(Self.unit) && a.given(Self.fleet)), a.given(Self.unit) || a.given(Self.fleet) || a.given(Self.scenario) else {
            throw UsageError("give exactly one of --unit NAME or --fleet FILE (or a --scenario, which names its fleet)")
        }
        guard a.given(Self.start) else { throw UsageError("--start is required (e.g. --start 2026-11-30)") }
        guard a.given(Self.duration) else { throw UsageError("--duration is required (e.g. --duration 1d)") }
    }

    static func parseZone(_ text: String) -> Int? {
        let t = text.trimmingCharacters(in: .whitespaces)
        if t == "Z" || t == "UTC" { return 0 }
        guard t.count == 6, let sign = t.first, sign == "+" || sign == "-", Array(t)[3] == ":",
              let h = Int(t.dropFirst().prefix(2)), let m = Int(t.suffix(2)), h <= 14, m < 60 else { return nil }
        return (sign == "+" ? 1 : -1) * (h * 60 + m)
    }

    func run(_ io: CommandIO) -> Int32 {
        let a = arguments
        let store: ProfileStore
        do { store = try ProfileStore.opening(a[Self.profiles]) } catch {
            io.stderr.line("hj212 generate: profile error: \(TerminalText.safe(error.description))")
            return 2
        }
        if a[Self.list] {
            io.stdout.line("unit templates:")
            for name in UnitTemplate.available(in: store) {
                if let t = try? UnitTemplate.load(name, from: store) { io.stdout.line("  \(name.padding(toLength: 30, withPad: " ", startingAt: 0)) \(t.titleZh) \(t.titleEn)") }
            }
            io.stdout.line("built-in fleets: \(Fleet.builtinNames.joined(separator: ", "))")
            io.stdout.line("faults (--faults ID[:FACTOR][(NAME=VALUE;…)][%RATE][#COUNT][@START/DURATION]; transport faults: simulate only):")
            for f in (try? FaultSpec.definitions(store: store)) ?? [] {
                let parameters = f.parameterOrder.map { "\($0)=\(ValueFormat.fixed(f.parameters[$0]!, decimals: f.parameters[$0]! == f.parameters[$0]!.rounded() ? 0 : 2))" }
                let factor = f.factor == "none" ? "" : " [factor: \(f.factor)]"
                io.stdout.line("  \(f.id.rawValue.padding(toLength: 22, withPad: " ", startingAt: 0)) \(f.layer.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)) \(f.zh) \(f.en)\(factor)\(parameters.isEmpty ? "" : " (\(parameters.joined(separator: ", ")))")")
            }
            io.stdout.line("scenarios (--scenario):")
            for name in Scenario.builtinNames {
                if let s = try? Scenario.load(name, store: store) {
                    io.stdout.line("  \(name.padding(toLength: 24, withPad: " ", startingAt: 0)) \(s.titleZh) \(s.titleEn) (\(s.events.count) events\(s.fleet.map { ", fleet \($0)" } ?? ""))")
                }
            }
            return 0
        }
        let zone = a[Self.zone] ?? 480
        guard let start = SimClock.parseStart(a[Self.start]!, offsetMinutes: zone) else {
            return usage(io, "--start '\(a[Self.start]!)': expected a date like 2026-11-30 or 2026-11-30T08:00:00+08:00")
        }
        let duration = a[Self.duration]!
        let seed = a[Self.seed] ?? 1
        var faults: [FaultSpec] = []
        if let spec = a[Self.faults] {
            do { faults = try FaultSpec.parseList(spec, offsetMinutes: zone) } catch { return usage(io, "\(error)") }
        }
        if let r = faults.first(where: { $0.layer == .reading }) {
            return usage(io, "--faults: '\(r.id)' is a reading fault: it acts on a logger that reads instruments (use simulate --read)")
        }
        if let t = faults.first(where: { $0.layer == .transport }) {
            return usage(io, "--faults: '\(t.id)' is a transport fault: it acts on a live TCP link, and generate has no network (use simulate)")
        }
        var scenario: Scenario?
        if let name = a[Self.scenario] {
            do { scenario = try Scenario.load(name, store: store) } catch { return usage(io, "--scenario: \(error)") }
        }
        var options = SimulationOptions()
        options.profiles = store
        options.dialect = a[Self.edition] == "2025" ? .hj2025 : .hj2017
        options.facilityStatus = a[Self.facilityStatus]
        // Packets as bytes only: no DataSegment per packet (the fault injector parses those it changes).
        options.bytesOnly = true
        if let v = a[Self.rtdInterval] { options.rtdIntervalSeconds = v }
        if let v = a[Self.minInterval] { options.minIntervalMinutes = v }
        var generator: FleetGenerator
        var mns: [String]
        do {
            // The units first, so that a scenario is checked against them before anything runs.
            var units: [Scenario.Unit]
            var fleet: Fleet?
            if let unit = a[Self.unit] {
                let template = try UnitTemplate.load(unit, from: store)
                units = [Scenario.Unit(mn: a[Self.mn] ?? "010000A8900016F000169DC0", template: template, row: 1, enterprise: "")]
            } else {
                guard let name = a[Self.fleet] ?? scenario?.fleet else { return usage(io, "the scenario names no fleet: give --unit or --fleet") }
                fleet = try Fleet.load(name, store: store)
                units = fleet!.units.enumerated().map { Scenario.Unit(mn: $1.identity.mn, template: fleet!.templates[$1.unit]!, row: $0 + 1, enterprise: $1.enterprise) }
            }
            if let scenario {
                do {
                    let compiled = try scenario.compile(units: units, start: start, end: start + duration, offsetMinutes: zone, live: false, store: store)
                    faults += compiled.specs
                    for note in compiled.notes { io.stderr.line("hj212 generate: note: \(note)") }
                } catch {
                    return usage(io, "--scenario: \(error)")
                }
            }
            if let why = LiveSetup.unusable(faults, templates: units.map(\.template)) { return usage(io, "--faults: \(why)") }
            options.faults = faults
            if let fleet {
                generator = try FleetGenerator(fleet: fleet, seed: seed, start: start, options: options)
            } else {
                let identity = LoggerIdentity(mn: units[0].mn, pw: a[Self.pw] ?? "123456")
                generator = try FleetGenerator(template: units[0].template, identity: identity, seed: seed, start: start, options: options)
            }
            mns = units.map(\.mn)
        } catch {
            io.stderr.line("hj212 generate: \(error)")
            return 2
        }

        let truthPath = a[Self.truth] ?? a[Shared.out].flatMap { $0 == "-" ? nil : $0 + ".truth.jsonl" }
        if !faults.isEmpty && truthPath == nil { return usage(io, "faults write their ground truth to a file: give --truth FILE (or --out FILE)") }
        // Output: a file created before anything is generated, so that an unwritable path fails first.
        var fd: Int32 = 1
        if let path = a[Shared.out], path != "-" {
            fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            if fd < 0 { return fail(io, "cannot write '\(path)': \(String(cString: strerror(errno)))") }
        }
        defer { if fd > 2 { close(fd) } }
        var truth: OutputSink?
        if !faults.isEmpty, let path = truthPath {
            let tfd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            if tfd < 0 { return fail(io, "cannot write '\(path)': \(String(cString: strerror(errno)))") }
            truth = OutputSink(fd: tfd)
        }
        defer { if let truth { truth.flush(); if let fd = truth.descriptor { close(fd) } } }
        var injected = 0
        let trace = a[Self.format] == "trace"
        let threads = a[Self.threads] ?? 1
        let writer = fd == 1 ? io.stdout : OutputSink(fd: fd, bufferBytes: 1 << 20)
        // What was written (frames, by the CN they carry) and what the faults dropped.
        var counts = CNCounts()
        var packets = 0
        var dropped = CNCounts()
        var droppedCount = 0
        let origin = generator.start
        let end = origin + duration
        let t0 = monotonicSeconds()
        var lastProgress = t0
        var stoppedAt: Int64?
        func write(_ frame: ArraySlice<UInt8>, _ unit: Int, _ time: Int64) {
            if trace {
                var line = "{\"t\":\"\(SimClock.iso(time, offsetMinutes: zone))\",\"dir\":\"up\",\"peer\":\"virtual\",\"mn\":"
                JSONValue.writeString(mns[unit], to: &line)
                line += ",\"frame\":"
                let body = frame.last == 0x0A ? frame.dropLast(2) : frame
                JSONValue.writeString(String(decoding: body, as: UTF8.self), to: &line)
                line += "}\n"
                writer.write(line)
            } else {
                writer.write(bytes: Array(frame))
            }
        }
        func proceed(_ now: Int64) -> Bool {
            if Interrupts.requested { stoppedAt = now; return false }
            let wall = monotonicSeconds()
            if wall - lastProgress > 0.5 {
                lastProgress = wall
                let done = Double(now - origin) / Double(duration) * 100
                io.progress("generate: \(Int(done))% of \(SimClock.durationText(duration)), \(packets) packets, \(writer.written / 1_000_000) MB")
            }
            return !writer.failed
        }
        if faults.isEmpty {
            // Plain uploads: framed on the loggers' threads into one buffer per block, written whole.
            generator.runFrames(until: end, threads: threads, shouldContinue: proceed) { block in
                if trace {
                    var from = 0
                    for p in block.packets {
                        write(block.bytes[from..<p.end], p.unit, p.time)
                        from = p.end
                    }
                } else {
                    writer.write(bytes: block.bytes)
                }
                counts.add(block.packets)
                packets += block.packets.count
            }
        } else {
            var run = FaultedGeneration(generator: generator, mns: mns, faults: faults, seed: seed)
            run.run(until: end, threads: threads, shouldContinue: proceed, truth: { record in
                truth?.line(record.json(offsetMinutes: zone))
                injected += 1
                if record.faultID == .missingRecord {
                    dropped.add(record.cn)
                    droppedCount += 1
                }
            }) { unit, packet, frames in
                // Counted as written: none for a dropped or held packet, each copy of a duplicate,
                // a held record with the packet it follows (by the CN each frame carries).
                for frame in frames {
                    write(frame[...], unit, packet.time)
                    counts.add(Self.cn(ofFrame: frame) ?? packet.cn)
                    packets += 1
                }
            }
            // A record held back (out-of-order) with nothing after it goes out at the end.
            for (unit, frame) in run.finish() {
                write(frame[...], unit, run.now)
                counts.add(Self.cn(ofFrame: frame) ?? "?")
                packets += 1
            }
            // Instrument faults still acting where the run stops end there (not injections: not counted).
            run.endFaults { record in truth?.line(record.json(offsetMinutes: zone)) }
        }
        writer.flush()
        truth?.flush()
        io.clearProgress()
        let seconds = monotonicSeconds() - t0
        if writer.failed { return fail(io, "write failed: \(writer.failure ?? "?")") }
        if let truth, truth.failed, let truthPath {
            // The frames were written but their ground truth was not: a file that says less than
            // what was injected is not the truth (one line, exit 1).
            return fail(io, "GROUND TRUTH WRITE FAILED (\(TerminalText.safe(truthPath))): \(truth.failure ?? "?"); "
                        + "\(injected) fault injection\(injected == 1 ? "" : "s") made, the file does not hold them all")
        }
        let summary = counts.summary
        let rate = seconds > 0 ? Int(Double(packets) / seconds) : packets
        if let truthPath, !faults.isEmpty { io.stderr.line("\(injected) fault injection\(injected == 1 ? "" : "s") written to \(TerminalText.safe(truthPath))") }
        let drops = droppedCount == 0 ? "" : ", \(droppedCount) record\(droppedCount == 1 ? "" : "s") dropped by faults (\(dropped.namedSummary))"
        io.stderr.line("\(stoppedAt != nil ? "interrupted at \(SimClock.iso(stoppedAt!, offsetMinutes: zone)): " : "")\(packets) packets (\(summary))\(drops), \(writer.written) bytes, \(mns.count) logger\(mns.count == 1 ? "" : "s"), \(String(Int(seconds * 10) / 10)).\(Int(seconds * 10) % 10) s, \(rate) packets/s")
        return stoppedAt != nil ? Interrupts.exitStatus : 0
    }

    /// The CN a frame carries (`…;CN=2051;…` in its data segment), or nil.
    static func cn(ofFrame frame: [UInt8]) -> String? {
        // "##" + 4 digits of length, then the segment: "CN=" at its start or after a ';'.
        let semicolon = UInt8(ascii: ";"), c = UInt8(ascii: "C"), n = UInt8(ascii: "N"), equals = UInt8(ascii: "=")
        var i = 6
        while i + 7 <= frame.count {
            if frame[i] == c && frame[i + 1] == n && frame[i + 2] == equals && (i == 6 || frame[i - 1] == semicolon) {
                let digits = frame[(i + 3)..<(i + 7)]
                guard digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
                return String(decoding: digits, as: UTF8.self)
            }
            if frame[i] == UInt8(ascii: "&") { return nil }  // the CP: past the header
            i += 1
        }
        return nil
    }

    func usage(_ io: CommandIO, _ message: String) -> Int32 {
        io.stderr.line("hj212 generate: \(message)")
        return 2
    }

    func fail(_ io: CommandIO, _ message: String) -> Int32 {
        io.stderr.line("hj212 generate: \(message)")
        return 1
    }
}

/// Packets per CN: a handful of CNs, so a short list beats hashing a `String` per packet. Most
/// packets have the CN of the one before (2011), so that entry is tried first; a block is
/// counted in one call (a function nested in `run` reached its captured counts through a
/// dynamic exclusivity check each, three per packet, ~330 instructions a packet).
struct CNCounts {
    private var cns: [String] = []
    private var counts: [Int] = []
    private var last = -1

    mutating func add(_ cn: String) {
        if last >= 0 && cns[last] == cn {
            counts[last] += 1
        } else if let i = cns.firstIndex(of: cn) {
            counts[i] += 1
            last = i
        } else {
            cns.append(cn)
            counts.append(1)
            last = cns.count - 1
        }
    }

    mutating func add(_ packets: [FrameBlock.Packet]) {
        for p in packets { add(p.cn) }
    }

    /// `CN count` by CN, comma-separated.
    var summary: String {
        zip(cns, counts).sorted { $0.0 < $1.0 }.map { "\($0.0) \($0.1)" }.joined(separator: ", ")
    }

    /// `CN 中文名 count` by CN, comma-separated.
    var namedSummary: String {
        let names = CodeDictionary.shared(.hj2017)
        return zip(cns, counts).sorted { $0.0 < $1.0 }.map { "\($0.0)\(names.command($0.0).map { " " + $0.nameZh } ?? "") \($0.1)" }.joined(separator: ", ")
    }
}
