import Foundation
import Glibc

/// The start-up rows of `bench codec`: a whole `hj212 lint` of one frame as a new process, beside
/// the same executable started for `--version` (the floor: loading, dynamic linking, the runtime).
/// The other rows take the best of rounds inside one process, where the code tables are loaded
/// once; a user linting one frame at a time pays them every time, so they are measured here.
extension BenchCommand {
    /// Runs this executable with `arguments`, output discarded; its exit status, or nil when it could
    /// not be started or was killed by a signal.
    static func runSelf(_ arguments: [String]) -> Int32? {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv: [UnsafeMutablePointer<CChar>?] = (["hj212"] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, "/proc/self/exe", &actions, nil, argv, environ) == 0 else { return nil }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        // Exited normally (WIFEXITED): the exit status (WEXITSTATUS).
        return status & 0x7F == 0 ? (status >> 8) & 0xFF : nil
    }

    func startupRows(io: CommandIO, wanted: (String) -> Bool) {
        guard wanted("start") || wanted("start: lint one frame") else { return }
        // One 2017 frame with findings (its CRC is wrong): the command reads, lints and prints.
        let frame = "##0101QN=20160801085857223;ST=32;CN=2011;PW=123456;MN=010000A8900016F000169DC0;Flag=5;CP=&&DataTime=20160801085857;a01=12.5,a01-Flag=N&&0A80\r\n"
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hj212-bench-\(getpid()).hj212").path
        guard FileManager.default.createFile(atPath: path, contents: Data(frame.utf8)) else {
            io.stderr.line("hj212 bench codec: cannot write \(path); start-up rows skipped")
            return
        }
        defer { unlink(path) }
        let runs = 10
        /// Seconds per command; nil when a run did not end with one of `expected`.
        func perCommand(_ arguments: [String], expected: ClosedRange<Int32>) -> Double? {
            var failed = false
            let t = Self.bestOf(rounds) {
                for _ in 0..<runs where !failed { failed = Self.runSelf(arguments).map { !expected.contains($0) } ?? true }
                return 0
            }
            return failed ? nil : t.seconds / Double(runs)
        }
        // lint exits 1 when a frame has an error (this one has a wrong CRC), 0 when none has.
        guard let floor = perCommand(["--version"], expected: 0...0), let lint = perCommand(["lint", "--quiet", path], expected: 0...1) else {
            io.stdout.line("start: incomplete: this executable could not be run again as a child; no figure")
            return
        }
        io.stdout.line("start-up (a new process each, best of \(rounds) rounds of \(runs))     ms/command  vs --version")
        io.stdout.line("start: hj212 --version".padding(toLength: 40, withPad: " ", startingAt: 0) + String(format: "%.1f", floor * 1000).leftPad(10))
        io.stdout.line("start: lint one frame".padding(toLength: 40, withPad: " ", startingAt: 0) + String(format: "%.1f", lint * 1000).leftPad(10)
                       + String(format: "%.1fx", lint / floor).leftPad(13))
        io.stdout.flush()
    }
}
