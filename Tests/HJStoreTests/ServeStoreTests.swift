import Foundation
import Glibc
import HJStore
import Testing
import TestSupport

@Suite("serve --store faults", .serialized)
struct ServeStoreTests {
    func lines(_ text: String) -> [String] { text.split(separator: "\n").map(String.init) }

    @Test("a file that is not a store: one line, non-zero exit, before listening, file untouched")
    func notOurs() throws {
        let dir = scratchDirectory("serve-notours")
        let file = dir + "/report.xlsx"
        let bytes = Data((0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        try bytes.write(to: URL(fileURLWithPath: file))
        let serve = try Binary.start(["serve", "--listen", "127.0.0.1:0", "--store", file], output: dir + "/out")
        let status = Binary.finish(serve, seconds: 30)
        let out = Binary.text(dir + "/out")
        #expect(status == 1)
        #expect(lines(out).count == 1, "\(out)")
        #expect(out.contains("is not an hj212 store") && !out.contains("listening"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: file)) == bytes)
    }

    @Test("a store in use by another serve: one line, non-zero exit")
    func locked() throws {
        let dir = scratchDirectory("serve-locked")
        let first = try Binary.start(["serve", "--listen", "127.0.0.1:0", "--store", dir + "/s.db"], output: dir + "/first")
        defer { kill(first.pid, SIGKILL); first.exitStatus() }
        #expect(Binary.wait(for: "listening on", in: dir + "/first", process: first))
        let second = try Binary.start(["serve", "--listen", "127.0.0.1:0", "--store", dir + "/s.db"], output: dir + "/second")
        #expect(Binary.finish(second, seconds: 30) == 1)
        let out = Binary.text(dir + "/second")
        #expect(lines(out).count == 1 && out.contains("locked by another process"), "\(out)")
    }

    @Test("no room to create the store (file size limit 0): one line, non-zero exit")
    func noRoom() throws {
        let dir = scratchDirectory("serve-full")
        // The limit applies to every regular file the process writes, so its output goes through a pipe.
        let command = "'\(Binary.path)' serve --listen 127.0.0.1:0 --store '\(dir)/s.db'"
        let shell = try Binary.start([], output: dir + "/out", command: "{ (trap '' XFSZ; ulimit -f 0; exec \(command)) 2>&1; echo \"exit=$?\"; } | cat")
        #expect(Binary.finish(shell, seconds: 30) == 0)
        let out = lines(Binary.text(dir + "/out"))
        #expect(out.last == "exit=1", "\(out)")
        #expect(out.count == 2 && out[0].contains("cannot create the store"), "\(out)")
    }

    @Test("the disk fills while serving: the failed commit stops acknowledging, says so, and every ack sent is stored")
    func fullWhileServing() throws {
        let dir = scratchDirectory("serve-fills")
        let db = dir + "/s.db", trace = dir + "/loggers.jsonl"
        let port = try #require(freePort())
        // Room for the schema and a few hundred packets (each commit appends its pages, 16 KiB
        // each, to the WAL), then EFBIG (a full disk to SQLite).
        let serve = try Binary.start(["serve", "--listen", "127.0.0.1:\(port)", "--store", db, "--threads", "1"], output: dir + "/serve",
                                     shell: "trap '' XFSZ; ulimit -f 2000")
        defer { if serve.isRunning { kill(serve.pid, SIGKILL); serve.exitStatus() } }
        #expect(Binary.wait(for: "listening on", in: dir + "/serve", process: serve))
        let loggers = try Binary.start(["simulate", "--fleet", "mixed-demo", "--to", "127.0.0.1:\(port)", "--speed", "3000",
                                        "--duration", "60d", "--trace", trace, "--threads", "1", "--drain", "1"], output: dir + "/simulate")
        defer { if loggers.isRunning { kill(loggers.pid, SIGKILL); loggers.exitStatus() } }
        let failed = Binary.wait(for: "not acknowledging any more", in: dir + "/serve", process: serve, seconds: 90)
        #expect(failed, "\(Binary.text(dir + "/serve"))")
        sleep(2)
        kill(loggers.pid, SIGINT)
        Binary.finish(loggers)
        kill(serve.pid, SIGINT)
        #expect(Binary.finish(serve) == 130)
        let out = Binary.text(dir + "/serve")
        #expect(lines(out).filter { $0.contains("not acknowledging any more") }.count == 1)
        #expect(out.contains("FAILED:"))
        let acked = Binary.acknowledged(trace: trace)
        let stored = try Store(path: db, readOnly: true).packetsByQN()
        #expect(acked.count > 0)
        #expect(acked.allSatisfy { stored["\($0.mn) \($0.qn)"] == 1 }, "an acknowledged packet is not stored")
        // The loggers kept what was not acknowledged.
        #expect(Binary.text(dir + "/simulate").contains("pending"))
        let sent = Binary.text(trace).split(separator: "\n").filter { $0.contains("\"dir\":\"up\"") }.count
        #expect(sent > acked.count, "some packets were left unacknowledged")
    }

    /// The same fault on the `--duration` path: the run ends by itself, and its summary and exit
    /// status must not pass a failed store for a complete run (session 18, item 1).
    @Test("the disk fills during a --duration run: never 'nothing lost', the unsent acknowledgements are said, exit 1")
    func fullWithDuration() throws {
        let dir = scratchDirectory("serve-fills-duration")
        let db = dir + "/s.db"
        let port = try #require(freePort())
        let serve = try Binary.start(["serve", "--listen", "127.0.0.1:\(port)", "--store", db, "--threads", "1", "--duration", "45s"], output: dir + "/serve",
                                     shell: "trap '' XFSZ; ulimit -f 2000")
        defer { if serve.isRunning { kill(serve.pid, SIGKILL); serve.exitStatus() } }
        #expect(Binary.wait(for: "listening on", in: dir + "/serve", process: serve))
        let loggers = try Binary.start(["simulate", "--fleet", "mixed-demo", "--to", "127.0.0.1:\(port)", "--speed", "3000",
                                        "--duration", "60d", "--threads", "1", "--drain", "1"], output: dir + "/simulate")
        defer { if loggers.isRunning { kill(loggers.pid, SIGKILL); loggers.exitStatus() } }
        #expect(Binary.wait(for: "not acknowledging any more", in: dir + "/serve", process: serve, seconds: 40), "\(Binary.text(dir + "/serve"))")
        let status = Binary.finish(serve, seconds: 90)
        kill(loggers.pid, SIGINT)
        Binary.finish(loggers)
        let out = Binary.text(dir + "/serve")
        #expect(status == 1, "\(out)")
        #expect(!out.contains("nothing lost"), "\(out)")
        // The counters say that what came after the failure was neither stored nor acknowledged.
        let platformLine = lines(out).firstIndex { $0.hasPrefix("platform:") }
        let failedLine = lines(out).firstIndex { $0.contains("store FAILED") && $0.contains("neither stored nor acknowledged") }
        #expect(platformLine != nil && failedLine != nil && failedLine! == platformLine! + 1, "\(out)")
        #expect(lines(out).last { $0.contains("incomplete") && $0.contains("store failed") } != nil, "\(out)")
    }
}
