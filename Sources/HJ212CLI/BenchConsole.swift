import Foundation
import Glibc
import HJ212
import HJNetwork
import HJSimulation
import Synchronization
import HJLive

/// `hj212 bench console`: the web console of `serve --http` with the 520-unit sample city
/// connected (issue 12's target: page load under 1 s, a new alarm listed within 2 s of its packet).
///
/// `serve --registry (sample city + one probe unit) --http` runs in a child process and
/// `simulate --fleet sample-city` in another, so this process only measures:
/// - **page load**: the console page and its JSON endpoints fetched whole over a fresh connection,
///   first with no logger connected (the baseline, same run), then with the whole city sending;
/// - **packet to alarm list**: a probe logger (a unit of its own, registered beside the city)
///   sends a minute record flagged D (故障); the time until `/api/alarms` lists the alarm it opens
///   (`flag.trouble`, one record) is measured, polling every 20 ms; then a clean record 20 data
///   minutes later closes it, and the next probe opens a new one.
struct ConsoleBenchmark {
    /// Simulated seconds per real second of the city (default 10: ten times its real traffic).
    var speed: Double
    /// Length of the probe phase (one probe per 2 s, 3 to 20 probes).
    var seconds: Double
    /// Fetches of each page per phase.
    var requests: Int
    var threads: Int

    static let probeMN = "010000A8900000000000P001"
    static let probePW = "123456"
    static let fleet = "sample-city"

    func run(_ io: CommandIO) -> Int32 {
        #if DEBUG
        io.stderr.line("hj212 bench: warning: this is a debug build; use 'swift run -c release hj212 bench console'.")
        #endif
        let directory = NSTemporaryDirectory() + "hj212-bench-console-\(getpid())"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // The registry: the city's manifest and one probe unit of the same shape.
        guard let city = try? Fleet.load(Self.fleet), let text = (try? ProfileStore.builtin.text("fleets/\(Self.fleet).csv")) ?? nil else {
            io.stderr.line("hj212 bench console: the built-in fleet \(Self.fleet) cannot be read")
            return 2
        }
        let registry = directory + "/registry.csv"
        var manifest = text.hasSuffix("\n") ? text : text + "\n"
        manifest += "示例市基准探针（bench probe）,示东区,污水处理厂,w00000|w01018|w21003,否,\(Self.probeMN),\(Self.probePW),wwtp-outlet,city:7002,是,,\n"
        guard FileManager.default.createFile(atPath: registry, contents: Data(manifest.utf8)) else {
            io.stderr.line("hj212 bench console: cannot write \(registry)")
            return 2
        }
        let serve = ChildProcess(["serve", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--registry", registry, "--threads", String(threads)])
        guard serve.start(), let lines = serve.waitForLines(containing: ["console on http://", "listening on "], timeout: 30),
              let http = Self.address(after: "console on http://", in: lines, until: "/"),
              let platform = Self.address(after: "listening on ", in: lines, until: ",") else {
            io.stderr.line("hj212 bench console: the platform did not start")
            serve.stop()
            return 2
        }
        defer { serve.stop() }
        let pages = ["/", "/api/units", "/api/alarms", "/api/rules"]

        // Baseline: the same fetches with nothing connected.
        io.progress("bench console: idle page loads")
        let idle: [String: PageTiming]
        switch fetchAll(pages, http) {
        case .success(let t): idle = t
        case .failure(let f):
            io.stderr.line("hj212 bench console: the console at \(http) does not answer GET \(f.page): \(f.what)")
            return 1
        }

        // The city.
        let simulate = ChildProcess(["simulate", "--fleet", Self.fleet, "--to", platform.description, "--speed", String(speed), "--threads", String(threads)])
        guard simulate.start() else {
            io.stderr.line("hj212 bench console: cannot start the loggers")
            return 2
        }
        defer { simulate.stop() }
        let units = city.units.count
        var online = 0
        let t0 = monotonicSeconds()
        while online < units && monotonicSeconds() - t0 < 120 && !Interrupts.requested {
            usleep(500_000)
            online = Self.onlineUnits(http)
            io.progress("bench console: \(online)/\(units) units online")
        }
        guard online >= units else {
            io.clearProgress()
            io.stderr.line("hj212 bench console: only \(online) of \(units) units came online in 120 s")
            return 1
        }
        // Let the city run a while before measuring (first records, alarms of start-up).
        let warm = monotonicSeconds()
        while monotonicSeconds() - warm < min(10, seconds) && !Interrupts.requested { usleep(200_000) }

        io.progress("bench console: page loads with \(units) units")
        let loaded: [String: PageTiming]
        switch fetchAll(pages, http) {
        case .success(let t): loaded = t
        case .failure(let f):
            io.clearProgress()
            io.stderr.line("hj212 bench console: under load, GET \(f.page) failed: \(f.what)")
            return 1
        }
        io.progress("bench console: probe alarms")
        let probe = probeAlarms(platform: platform, http: http, io: io)
        io.clearProgress()

        io.stdout.line("hj212 bench console: serve --http with \(units) units of \(Self.fleet) sending (simulate --speed \(Int(speed)) in another process), \(threads) loop thread(s) each")
        io.stdout.line("  page load (whole response, new connection; \(requests) each)   idle p50 / max        loaded p50 / max      ratio p50")
        for p in pages {
            let a = idle[p]!, b = loaded[p]!
            io.stdout.line("  " + "GET \(p) (\(b.bytes >= 1024 ? "\(b.bytes / 1024) KiB" : "\(b.bytes) B"))".padding(toLength: 58, withPad: " ", startingAt: 0)
                           + "\(ms(a.p50)) / \(ms(a.max))".padding(toLength: 22, withPad: " ", startingAt: 0)
                           + "\(ms(b.p50)) / \(ms(b.max))".padding(toLength: 22, withPad: " ", startingAt: 0)
                           + String(format: "%.1fx", b.p50 / max(a.p50, 1e-6)))
        }
        let worstPage = loaded.values.map(\.max).max() ?? .infinity
        io.stdout.line("  page load, slowest loaded: \(ms(worstPage)) (target < 1 s)")
        if probe.delays.isEmpty {
            io.stdout.line("  packet to alarm list: no alarm seen for \(probe.sent) probe packets (INCOMPLETE)")
        } else {
            let d = probe.delays.sorted()
            io.stdout.line("  packet to alarm list: \(d.count) of \(probe.sent) probes listed; p50 \(ms(d[d.count / 2])), max \(ms(d.last!)) (target < 2 s; polled every 20 ms)")
        }
        let pass = worstPage < 1 && probe.delays.count == probe.sent && probe.sent > 0 && (probe.delays.max() ?? .infinity) < 2
        io.stdout.line("  verdict: \(pass ? "targets met" : probe.delays.count < probe.sent ? "INCOMPLETE: probes not all seen" : "targets NOT met")")
        return pass ? 0 : 1
    }

    func ms(_ s: Double) -> String { s.isFinite ? String(format: "%.1f ms", s * 1000) : "—" }

    struct PageTiming {
        var p50: Double
        var max: Double
        var bytes: Int
    }

    /// Each page fetched `requests` times in turn; nil when any fetch fails.
    func fetchAll(_ pages: [String], _ http: SocketAddress) -> Result<[String: PageTiming], FetchFailure> {
        var times: [String: [Double]] = [:]
        var sizes: [String: Int] = [:]
        for _ in 0..<requests {
            for p in pages {
                let t = monotonicSeconds()
                guard let r = HTTPGet.fetch(http, p) else { return .failure(FetchFailure(page: p, what: "no complete response")) }
                guard r.status == 200 else { return .failure(FetchFailure(page: p, what: "status \(r.status)")) }
                times[p, default: []].append(monotonicSeconds() - t)
                sizes[p] = r.body.count
            }
        }
        var out: [String: PageTiming] = [:]
        for p in pages {
            let s = times[p]!.sorted()
            out[p] = PageTiming(p50: s[s.count / 2], max: s.last!, bytes: sizes[p] ?? 0)
        }
        return .success(out)
    }

    struct FetchFailure: Error {
        var page: String
        var what: String
    }

    /// Probe packets, each a minute record flagged D, and how long each took to be listed.
    func probeAlarms(platform: SocketAddress, http: SocketAddress, io: CommandIO) -> (sent: Int, delays: [Double]) {
        let fd = benchConnect(platform, source: 0x7F00_0001)
        guard fd >= 0 else { return (0, []) }
        defer { close(fd) }
        var tv = timeval(tv_sec: 0, tv_usec: 1000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var drain = [UInt8](repeating: 0, count: 65536)
        func send(_ frame: [UInt8]) -> Bool {
            frame.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == frame.count
        }
        // Data times an hour back, 40 data minutes apart: a D record opens, a clean one 20 minutes
        // later closes (clear_minutes 15), so that each probe opens an alarm of its own.
        let now = LiveClock.wallNow(offsetMinutes: SimClock.chinaOffsetMinutes) / 60_000 * 60_000
        var sent = 0
        var delays: [Double] = []
        let probes = max(3, min(20, Int(seconds / 2)))
        for k in 0..<probes where !Interrupts.requested {
            let base = now - 3_600_000 * 8 + Int64(k) * 40 * 60_000
            let latest = Self.latestAlarm(http) ?? 0
            let t = monotonicSeconds()
            guard send(Self.minuteFrame(time: base, flag: "D", qnOffset: k * 2)) else { break }
            sent += 1
            var seen: Double?
            while monotonicSeconds() - t < 5 {
                _ = recv(fd, &drain, drain.count, 0)
                if Self.alarmListed(http, since: latest) { seen = monotonicSeconds() - t; break }
                usleep(20_000)
            }
            if let seen { delays.append(seen) }
            _ = send(Self.minuteFrame(time: base + 20 * 60_000, flag: "N", qnOffset: k * 2 + 1))
            io.progress("bench console: probe \(k + 1)/\(probes)")
            usleep(200_000)
            _ = recv(fd, &drain, drain.count, 0)
        }
        return (sent, delays)
    }

    /// A 2051 minute record of the probe unit with COD flagged `flag`.
    static func minuteFrame(time: Int64, flag: String, qnOffset: Int) -> [UInt8] {
        let qn = HJTime(wallMilliseconds: LiveClock.wallNow(offsetMinutes: SimClock.chinaOffsetMinutes) + Int64(qnOffset)).text17
        let dt = HJTime(wallMilliseconds: time).text14
        let segment = "QN=\(qn);ST=32;CN=\(CommandCode.minuteData.rawValue);PW=\(probePW);MN=\(probeMN);Flag=5;CP=&&DataTime=\(dt);"
            + "w01018-Min=21.0,w01018-Avg=22.0,w01018-Max=23.0,w01018-Flag=\(flag)&&"
        return FrameEncoder.frame(segment)
    }

    static func address(after marker: String, in text: String, until stop: Character) -> SocketAddress? {
        guard let r = text.range(of: marker) else { return nil }
        return try? SocketAddress(parsing: String(text[r.upperBound...].prefix { $0 != stop && $0 != "\n" && $0 != "/" }))
    }

    static func json(_ http: SocketAddress, _ path: String) -> JSONValue? {
        guard let r = HTTPGet.fetch(http, path), r.status == 200 else { return nil }
        return try? JSONValue.parse(String(decoding: r.body, as: UTF8.self))
    }

    static func onlineUnits(_ http: SocketAddress) -> Int {
        guard case .array(let units)? = json(http, "/api/units")?["units"] else { return 0 }
        return units.filter { $0["online"] == .bool(true) }.count
    }

    static func latestAlarm(_ http: SocketAddress) -> Int? {
        guard case .int(let id)? = json(http, "/api/alarms")?["latest"] else { return nil }
        return id
    }

    /// Whether an alarm of the probe unit newer than `since` is listed.
    static func alarmListed(_ http: SocketAddress, since: Int) -> Bool {
        guard case .array(let alarms)? = json(http, "/api/alarms?since=\(since)")?["alarms"] else { return false }
        return alarms.contains { $0["mn"] == .string(probeMN) && $0["rule"] == .string("flag.trouble") }
    }
}

/// A blocking HTTP/1.1 GET with `Connection: close`, for benchmarks: the whole response read.
enum HTTPGet {
    struct Response {
        var status: Int
        var body: [UInt8]
    }

    static func fetch(_ address: SocketAddress, _ path: String, limit: Int = 64 << 20) -> Response? {
        let fd = benchConnect(address, source: 0x7F00_0001)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var tv = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let request = Array("GET \(path) HTTP/1.1\r\nHost: \(address)\r\nConnection: close\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else { return nil }
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while data.count < limit {
            let n = recv(fd, &chunk, chunk.count, 0)
            if n <= 0 { break }
            data.append(contentsOf: chunk[0..<n])
        }
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = (0..<max(0, data.count - 3)).first(where: { data[$0..<$0 + 4].elementsEqual(separator) }) else { return nil }
        let head = String(decoding: data[0..<end], as: UTF8.self)
        let parts = head.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, let status = Int(parts[1]) else { return nil }
        var body = Array(data[(end + 4)...])
        if head.lowercased().contains("transfer-encoding: chunked") { body = dechunk(body) ?? [] }
        return Response(status: status, body: body)
    }

    static func dechunk(_ b: [UInt8]) -> [UInt8]? {
        var out: [UInt8] = []
        var i = 0
        while i < b.count {
            var j = i
            while j + 1 < b.count && !(b[j] == 13 && b[j + 1] == 10) { j += 1 }
            guard j + 1 < b.count, let size = Int(String(decoding: b[i..<j], as: UTF8.self).split(separator: ";")[0], radix: 16) else { return nil }
            if size == 0 { return out }
            let start = j + 2
            guard start + size <= b.count else { return nil }
            out.append(contentsOf: b[start..<start + size])
            i = start + size + 2
        }
        return out
    }
}

/// This executable run again as a child (`/proc/self/exe ARGS`), its standard output read on a
/// thread of its own, stopped with SIGINT (then SIGKILL after 30 s) so its CPU is free again.
final class ChildProcess: @unchecked Sendable {
    let arguments: [String]
    private let process = Process()
    private let output = Mutex<String>("")

    init(_ arguments: [String]) { self.arguments = arguments }

    func start() -> Bool {
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = ProcessInfo.processInfo.environment["HJ212_BENCH_CHILD_STDERR"] != nil ? FileHandle.standardError : FileHandle.nullDevice
        do { try process.run() } catch { return false }
        let reader = pipe.fileHandleForReading
        Thread.detachNewThread { [self] in
            while true {
                let d = reader.availableData
                if d.isEmpty { break }
                // Only the start of the output is kept (the lines a benchmark waits for).
                output.withLock { o in if o.utf8.count < 65536 { o += String(decoding: d, as: UTF8.self) } }
            }
        }
        return true
    }

    /// The output so far once it contains every marker, or nil after `timeout` seconds or if the child ended.
    func waitForLines(containing markers: [String], timeout: Double) -> String? {
        let t = monotonicSeconds()
        while monotonicSeconds() - t < timeout {
            let text = output.withLock { $0 }
            if markers.allSatisfy({ text.contains($0) }) { return text }
            if !process.isRunning { return nil }
            usleep(20_000)
        }
        return nil
    }

    func stop() {
        guard process.isRunning else { return }
        let pid = process.processIdentifier
        kill(pid, SIGINT)
        let deadline = monotonicSeconds() + 30
        while StoreBenchmark.alive(pid) && monotonicSeconds() < deadline { usleep(50_000) }
        if StoreBenchmark.alive(pid) { kill(pid, SIGKILL) }
        process.waitUntilExit()
    }
}
