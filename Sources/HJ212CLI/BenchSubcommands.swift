/// The subcommands of `hj212 bench`, each with its own options; the benchmarks themselves are
/// in the Bench*.swift files.
enum BenchOptions {
    static let loggers = Option("loggers", "N", help: "Emulated loggers (default 10000).", parse: Parse.int(1...1_000_000))
    static let seconds = Option("seconds", "S", help: "Length of the measurement window in seconds (default 20).", parse: Parse.number(0...86_400, above: true))
    static let speed = Shared.speed.help("Simulated seconds per real second (default 150: a 2011 every 0.2 s per logger).")
    static let unit = Shared.unit.help("Unit template of the loggers (default industrial-wastewater).")
    static let threads = Shared.threads.help("Event-loop threads in each process (default 1).")
}

struct BenchCodec: CLICommand {
    static let name = "codec"
    static let abstract = "Throughput of the codec beside straightforward baselines, measured in the same run."
    static let frames = Option("frames", "N", help: "Frames in the corpus (default 20000).", parse: Parse.count)
    static let rounds = Option("rounds", "N", help: "Rounds per measurement; the best is reported (default 5).", parse: Parse.count)
    static let only = Option("only", "ROW", help: "Run only the rows whose name starts with ROW (e.g. 'lint', 'platform'; for profiling).", parse: Parse.text)
    static let options: [any OptionDeclaration] = [frames, rounds, only]
    var bench: BenchCommand
    init(_ a: ParsedArguments) throws(UsageError) {
        bench = BenchCommand(frames: a[Self.frames] ?? 20_000, rounds: a[Self.rounds] ?? 5, only: a[Self.only])
    }
    func run(_ io: CommandIO) -> Int32 { bench.run(io) }
}

struct BenchLive: CLICommand {
    static let name = "live"
    static let abstract = "Live loggers in this process against 'hj212 serve' in a child process: throughput, latency, memory."
    static let options: [any OptionDeclaration] = [BenchOptions.loggers, BenchOptions.speed, BenchOptions.seconds, BenchOptions.unit, BenchOptions.threads]
    var bench: LiveBenchmark
    init(_ a: ParsedArguments) throws(UsageError) {
        bench = LiveBenchmark(loggers: a[BenchOptions.loggers] ?? 10_000, speed: a[BenchOptions.speed] ?? 150, seconds: a[BenchOptions.seconds] ?? 20,
                              unit: a[BenchOptions.unit] ?? "industrial-wastewater", threads: a[BenchOptions.threads] ?? 1)
    }
    func run(_ io: CommandIO) -> Int32 { bench.run(io) }
}

struct BenchMemory: CLICommand {
    static let name = "memory"
    static let abstract = "Memory per emulated logger."
    static let options: [any OptionDeclaration] = [BenchOptions.loggers, BenchOptions.unit]
    var bench: MemoryBenchmark
    init(_ a: ParsedArguments) throws(UsageError) {
        bench = MemoryBenchmark(loggers: a[BenchOptions.loggers] ?? 10_000, unit: a[BenchOptions.unit] ?? "industrial-wastewater")
    }
    func run(_ io: CommandIO) -> Int32 { bench.run(io) }
}

struct BenchLoad: CLICommand {
    static let name = "load"
    static let abstract = "'hj212 load' against a C epoll ping-pong baseline and against 'hj212 serve'."
    static let seconds = BenchOptions.seconds.help("Length of each measurement window in seconds, at most 3600 (default 10).")
    static let ramp = Option("ramp", "S", help: "Seconds over which the connections open (default 5).", parse: Parse.number(0...600))
    static let options: [any OptionDeclaration] = [BenchOptions.loggers, seconds, BenchOptions.threads, ramp]
    var bench: LoadBenchmark
    init(_ a: ParsedArguments) throws(UsageError) {
        let seconds = a[Self.seconds] ?? 10
        guard seconds <= 3600 else { throw UsageError("--seconds: at most 3600 for bench load") }
        bench = LoadBenchmark(loggers: a[BenchOptions.loggers] ?? 10_000, seconds: seconds, threads: a[BenchOptions.threads] ?? 1, ramp: a[Self.ramp] ?? 5)
    }
    func run(_ io: CommandIO) -> Int32 { bench.run(io) }
}

/// The C ping-pong server of `bench load`, run in a child process.
struct BenchPingPongServer: CLICommand {
    static let name = "pingpong-server"
    static let abstract = "Internal: the C epoll ping-pong server of 'bench load' (run as a child process)."
    static let hidden = true
    static let options: [any OptionDeclaration] = [BenchOptions.threads]
    var threads: Int
    init(_ a: ParsedArguments) throws(UsageError) { threads = a[BenchOptions.threads] ?? 1 }
    func run(_ io: CommandIO) -> Int32 { LoadBenchmark.runPingPongServer(threads: threads, io: io) }
}

struct BenchHostile: CLICommand {
    static let name = "hostile"
    static let abstract = "Hostile connections against 'hj212 serve': its memory before, during and after."
    static let connections = Option("connections", "N", help: "Connections that send '##9999' + --bytes and close (default 120000).", parse: Parse.int(1...10_000_000))
    static let bytes = Option("bytes", "B", help: "Bytes after '##9999' on each connection (default 9000).", parse: Parse.int(0...1_000_000))
    static let settle = Option("settle", "S", help: "Seconds after the last connection before serve's RSS is read again (default 20).", parse: Parse.number(1...3600))
    static let options: [any OptionDeclaration] = [connections, bytes, settle]
    var bench: HostileBenchmark
    init(_ a: ParsedArguments) throws(UsageError) {
        bench = HostileBenchmark(connections: a[Self.connections] ?? 120_000, bytes: a[Self.bytes] ?? 9000, settle: a[Self.settle] ?? 20, threads: 4)
    }
    func run(_ io: CommandIO) -> Int32 { bench.run(io) }
}

struct BenchSoak: CLICommand {
    static let name = "soak"
    static let abstract = "A long run with connection churn and abusive connections: serve's memory and acknowledgements over time."
    static let minutes = Option("minutes", "M", help: "Length of the run (default 60).", parse: Parse.number(0...10_080, above: true))
    static let churn = Option("churn", "P", help: "Percent of the loggers whose connection is dropped each minute (default 1); as many abusive connections come too.",
                              parse: Parse.number(0...100))
    static let speed = BenchOptions.speed.help("Simulated seconds per real second (default 10).")
    static let options: [any OptionDeclaration] = [BenchOptions.loggers, minutes, churn, speed, BenchOptions.threads, BenchOptions.unit]
    var bench: SoakBenchmark
    init(_ a: ParsedArguments) throws(UsageError) {
        bench = SoakBenchmark(loggers: a[BenchOptions.loggers] ?? 10_000, minutes: a[Self.minutes] ?? 60, churnPercent: a[Self.churn] ?? 1, speed: a[Self.speed] ?? 10,
                              threads: a[BenchOptions.threads] ?? 1, unit: a[BenchOptions.unit] ?? "industrial-wastewater")
    }
    func run(_ io: CommandIO) -> Int32 { bench.run(io) }
}

struct BenchStorm: CLICommand {
    static let name = "storm"
    static let abstract = "serve stopped and restarted under load: the reconnect storm and the backfill."
    static let outage = Option("outage", "S", help: "Seconds serve stays stopped before the restart (default 10).", parse: Parse.number(0...3600))
    static let speed = BenchOptions.speed.help("Simulated seconds per real second (default 30).")
    static let options: [any OptionDeclaration] = [BenchOptions.loggers, outage, speed, BenchOptions.threads, BenchOptions.unit]
    var bench: StormBenchmark
    init(_ a: ParsedArguments) throws(UsageError) {
        bench = StormBenchmark(loggers: a[BenchOptions.loggers] ?? 10_000, outage: a[Self.outage] ?? 10, speed: a[Self.speed] ?? 30,
                               threads: a[BenchOptions.threads] ?? 1, unit: a[BenchOptions.unit] ?? "industrial-wastewater")
    }
    func run(_ io: CommandIO) -> Int32 { bench.run(io) }
}

struct BenchStore: CLICommand {
    static let name = "store"
    static let abstract = "Live loggers against 'serve --store': acknowledged means stored, at what cost."
    static let durability = Option("durability", "MODE", choices: ["normal", "full"], help: "Durability of serve --store (default normal).")
    static let loggerThreads = Option("logger-threads", "N", help: "Event-loop threads of the loggers (default: as --threads); more than serve's lets the loggers offer more than serve takes.", parse: Parse.int(1...64))
    static let parts = Option("parts", "WHICH", choices: StoreBenchmark.Parts.allCases.map(\.rawValue),
                              help: "both (default): the live loggers' windows, then the C client's closed loop (a new QN per frame); loggers; or closed-loop.")
    static let rounds = Option("rounds", "N", help: "Pairs of the loggers' windows (serve, then serve --store), one after the other; with more than one the verdict is on the median of their ratios (default 1).", parse: Parse.int(1...20))
    static let options: [any OptionDeclaration] = [BenchOptions.loggers, BenchOptions.speed, BenchOptions.seconds, BenchOptions.unit, BenchOptions.threads, loggerThreads, durability, parts, rounds]
    var bench: StoreBenchmark
    init(_ a: ParsedArguments) throws(UsageError) {
        bench = StoreBenchmark(loggers: a[BenchOptions.loggers] ?? 10_000, speed: a[BenchOptions.speed] ?? 150, seconds: a[BenchOptions.seconds] ?? 20,
                               unit: a[BenchOptions.unit] ?? "industrial-wastewater", threads: a[BenchOptions.threads] ?? 1, durability: a[Self.durability] ?? "normal",
                               loggerThreads: a[Self.loggerThreads] ?? a[BenchOptions.threads] ?? 1)
        bench.parts = a[Self.parts].flatMap { StoreBenchmark.Parts(rawValue: $0) } ?? .both
        bench.rounds = a[Self.rounds] ?? 1
    }
    func run(_ io: CommandIO) -> Int32 { bench.run(io) }
}

struct BenchRoster: CLICommand {
    static let name = "roster"
    static let abstract = "The monthly roster of a sample city from a store written live."
    static let days = Option("days", "N", help: "Simulated days of the sample city written into the store (default 1).", parse: Parse.int(1...31))
    static let keep = Option("keep", "WHAT", choices: ["all", "records", "hours"],
                             help: "What the store keeps: all (every packet, the 30 s real-time data too; default up to 2 days), records (the minute, hour and day records a platform is sent: ~60 M values a month; default above 2 days) or hours (the hour and day records only).")
    static let options: [any OptionDeclaration] = [days, keep]
    var bench: RosterBenchmark
    init(_ a: ParsedArguments) throws(UsageError) {
        let days = a[Self.days] ?? 1
        bench = RosterBenchmark(days: days, keep: RosterBenchmark.Keep(rawValue: a[Self.keep] ?? (days > 2 ? "records" : "all")) ?? .all)
    }
    func run(_ io: CommandIO) -> Int32 { bench.run(io) }
}

struct BenchConsoleCommand: CLICommand {
    static let name = "console"
    static let abstract = "The web console of 'serve --http' with the 520-unit sample city sending: page loads (idle baseline, same run) and packet-to-alarm-list delay."
    static let speed = BenchOptions.speed.help("Simulated seconds per real second of the city (default 10: ten times its real traffic).")
    static let seconds = Option("seconds", "S", help: "Length of the probe phase: one probe every 2 s, 3 to 20 probes (default 20).", parse: Parse.number(1...3600))
    static let requests = Option("requests", "N", help: "Fetches of each page per phase (default 40).", parse: Parse.int(1...10_000))
    static let options: [any OptionDeclaration] = [speed, seconds, requests, BenchOptions.threads]
    var bench: ConsoleBenchmark
    init(_ a: ParsedArguments) throws(UsageError) {
        bench = ConsoleBenchmark(speed: a[Self.speed] ?? 10, seconds: a[Self.seconds] ?? 20, requests: a[Self.requests] ?? 40, threads: a[BenchOptions.threads] ?? 1)
    }
    func run(_ io: CommandIO) -> Int32 { bench.run(io) }
}
