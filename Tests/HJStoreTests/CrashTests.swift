import Foundation
import Glibc
import HJStore
import Testing
import TestSupport

/// Real processes of the built `hj212` binary (beside the test bundle): `serve --store` under
/// load from `simulate`, killed and restarted.
enum Binary {
    static var path: String {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("hj212").path
    }

    /// Starts the binary with its output in `output` (standard output and error together).
    /// With posix_spawn and an empty signal mask and default dispositions: a test runner may
    /// block SIGINT and SIGTERM in its threads, and a child would inherit that.
    static func start(_ arguments: [String], output: String, shell prefix: String? = nil, command: String? = nil) throws -> Child {
        var argv: [String]
        if let command {
            argv = ["/bin/sh", "-c", command]
        } else if let prefix {
            let quoted = ([path] + arguments).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
            argv = ["/bin/sh", "-c", "\(prefix); exec \(quoted)"]
        } else {
            argv = [path] + arguments
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGINT)
        sigaddset(&defaults, SIGTERM)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let cArgs = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        let rc = posix_spawn(&pid, argv[0], &actions, &attributes, cArgs, environ)
        guard rc == 0 else { throw POSIXError(POSIXErrorCode(rawValue: rc) ?? .EINVAL) }
        return Child(pid: pid)
    }

    static func text(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    /// Waits (bounded) until the file contains `needle` or the process ended.
    static func wait(for needle: String, in file: String, process: Child, seconds: Double = 60) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if text(file).contains(needle) { return true }
            if !process.isRunning { return text(file).contains(needle) }
            usleep(20_000)
        }
        return false
    }

    /// Waits (bounded) for the process to end and returns its exit status; kills it (nil) when it does not end.
    @discardableResult
    static func finish(_ process: Child, seconds: Double = 60) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            kill(process.pid, SIGKILL)
            _ = process.exitStatus()
            return nil
        }
        return process.exitStatus()
    }

    /// `(MN, QN)` of every 9014 the loggers received, from a trace of `simulate`.
    static func acknowledged(trace: String) -> [(mn: String, qn: String)] {
        var out: [(String, String)] = []
        for line in text(trace).split(separator: "\n") where line.contains("\"dir\":\"down\"") && line.contains("CN=9014") {
            func field(_ name: String) -> String? {
                guard let r = line.range(of: ";\(name)=") ?? line.range(of: "##\(name)=") ?? line.range(of: "\(name)=") else { return nil }
                return String(line[r.upperBound...].prefix { $0 != ";" && $0 != "&" && $0 != "\"" })
            }
            if let mn = field("MN"), let qn = field("QN") { out.append((mn, qn)) }
        }
        return out
    }
}

/// A child process; `waitpid` reaps it once and the outcome is kept.
final class Child: @unchecked Sendable {
    let pid: pid_t
    /// Raw wait status once reaped (touched only by the test's own thread).
    private var status: Int32?
    init(pid: pid_t) { self.pid = pid }

    var isRunning: Bool {
        if status != nil { return false }
        var s: Int32 = 0
        if waitpid(pid, &s, WNOHANG) == pid { status = s; return false }
        return true
    }

    /// Blocks until it ends; the exit code, or 128 + signal.
    @discardableResult
    func exitStatus() -> Int32 {
        if status == nil {
            var s: Int32 = 0
            while waitpid(pid, &s, 0) < 0 && errno == EINTR {}
            status = s
        }
        let s = status!
        return (s & 0x7f) == 0 ? (s >> 8) & 0xff : 128 + (s & 0x7f)
    }
}

@Suite("Store crash safety", .serialized)
struct CrashTests {
    @Test("serve --store killed with SIGKILL 20 times under load: every QN a logger saw acknowledged is stored exactly once")
    func killNineUnderLoad() throws {
        #expect(FileManager.default.isExecutableFile(atPath: Binary.path), "the hj212 binary is built beside the tests")
        let dir = scratchDirectory("kill9")
        let db = dir + "/platform.db", trace = dir + "/loggers.jsonl"
        let port = try #require(freePort())
        let serveArguments = ["serve", "--listen", "127.0.0.1:\(port)", "--store", db, "--threads", "1"]
        var run = 0
        var serve = try Binary.start(serveArguments, output: dir + "/serve-\(run).out")
        #expect(Binary.wait(for: "listening on", in: dir + "/serve-0.out", process: serve))
        // 8 loggers, one simulated hour every 1.2 s: real-time, minute and hour records, each waiting for its 9014.
        let loggers = try Binary.start(["simulate", "--fleet", "mixed-demo", "--to", "127.0.0.1:\(port)", "--speed", "3000",
                                        "--duration", "60d", "--trace", trace, "--threads", "1", "--drain", "2"], output: dir + "/simulate.out")
        defer { if loggers.isRunning { kill(loggers.pid, SIGKILL); loggers.exitStatus() } }
        var storedBefore = 0
        var growing = 0
        for _ in 0..<20 {
            // Kill at a random moment once a logger is back and sending.
            _ = Binary.wait(for: "+ 0", in: dir + "/serve-\(run).out", process: serve, seconds: 20)
            usleep(UInt32.random(in: 0...600_000))
            kill(serve.pid, SIGKILL)
            #expect(serve.exitStatus() == 128 + SIGKILL)
            run += 1
            serve = try Binary.start(serveArguments, output: dir + "/serve-\(run).out")
            let up = Binary.wait(for: "listening on", in: dir + "/serve-\(run).out", process: serve)
            #expect(up, "restart \(run): \(Binary.text(dir + "/serve-\(run).out"))")
            guard up else { break }
            let stored = (try? Store(path: db, readOnly: true).counts().packets) ?? 0
            if stored > storedBefore { growing += 1 }
            storedBefore = stored
        }
        // Let the loggers resend what was not acknowledged, then stop both cleanly.
        sleep(3)
        kill(loggers.pid, SIGINT)
        Binary.finish(loggers)
        kill(serve.pid, SIGINT)
        #expect(Binary.finish(serve) == 130)

        let acked = Binary.acknowledged(trace: trace)
        let store = try Store(path: db, readOnly: true)
        let stored = try store.packetsByQN()
        var missing: [String] = [], twice: [String] = []
        for (mn, qn) in acked {
            switch stored["\(mn) \(qn)"] ?? 0 {
            case 1: break
            case 0: missing.append("\(mn) \(qn)")
            default: twice.append("\(mn) \(qn)")
            }
        }
        #expect(acked.count > 500, "the loggers saw \(acked.count) acknowledgements")
        #expect(growing >= 10, "the store grew between \(growing) of 20 kills")
        #expect(missing.isEmpty, "acknowledged but not stored: \(missing.prefix(5))")
        #expect(twice.isEmpty, "stored more than once: \(twice.prefix(5))")
        #expect(stored.values.allSatisfy { $0 == 1 })
        let last = Binary.text(dir + "/serve-\(run).out")
        #expect(last.contains("store: \(db):"), "\(last)")
    }
}
