import Glibc
import Synchronization
import HJ212

/// Where a command writes: a file descriptor (buffered) or, in tests, a string.
public final class OutputSink {
    private let fd: Int32?
    /// The descriptor written to, if any.
    public var descriptor: Int32? { fd }
    private var buffer: [UInt8] = []
    /// What was written, when capturing.
    public private(set) var captured = ""
    /// Whether this sink is a terminal (progress and colour only then).
    public let isTerminal: Bool
    /// Set when a write failed (for example a closed pipe); further output is dropped.
    public private(set) var failed = false
    /// The reason of the first failed write.
    public private(set) var failure: String?
    /// Bytes handed to the descriptor so far.
    public private(set) var written = 0
    private let bufferLimit: Int

    public init(fd: Int32, bufferBytes: Int = 1 << 16) {
        self.fd = fd
        isTerminal = isatty(fd) == 1
        bufferLimit = bufferBytes
    }

    /// A sink that keeps what is written, for tests.
    public init(capturing: Void = ()) {
        fd = nil
        isTerminal = false
        bufferLimit = 0
    }

    public func write(_ text: String) {
        if fd == nil {
            captured += text
            return
        }
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= bufferLimit { flush() }
    }

    /// Writes raw bytes (frames); captured as UTF-8 text in tests. Bytes of at least a quarter
    /// of the buffer (a block of `generate`: 0.3–0.7 MB) go to the descriptor as they are, after
    /// what is buffered: copying them into the buffer first was one more pass over every byte.
    public func write(bytes: [UInt8]) {
        if fd == nil {
            captured += String(decoding: bytes, as: UTF8.self)
            return
        }
        if bytes.count >= bufferLimit / 4 && !bytes.isEmpty {
            flush()
            bytes.withUnsafeBytes { writeAll($0) }
            return
        }
        buffer += bytes
        if buffer.count >= bufferLimit { flush() }
    }

    /// Writes raw bytes from memory the caller owns (a `ByteBuffer`).
    public func write(bytes: UnsafeBufferPointer<UInt8>) {
        if fd == nil {
            captured += String(decoding: bytes, as: UTF8.self)
            return
        }
        buffer.append(contentsOf: bytes)
        if buffer.count >= bufferLimit { flush() }
    }

    /// Lines are messages: with `sanitizesLines` (standard error) control characters in them are
    /// shown as escapes, whatever part of a message came from the wire or a file. Progress is
    /// written with `write`, which this does not touch.
    public var sanitizesLines = false

    public func line(_ text: String = "") {
        if sanitizesLines && !TerminalText.isSafe(text) {
            write(TerminalText.safeLines(text) + "\n")
        } else {
            write(text + "\n")
        }
    }

    public func flush() {
        guard fd != nil, !buffer.isEmpty else { return }
        defer { buffer.removeAll(keepingCapacity: true) }
        buffer.withUnsafeBytes { writeAll($0) }
    }

    /// Writes `raw` to the descriptor whole (short writes and EINTR retried), unless a write
    /// has failed.
    private func writeAll(_ raw: UnsafeRawBufferPointer) {
        guard let fd, !failed else { return }
        var done = 0
        while done < raw.count {
            let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
            if n > 0 { done += n; continue }
            if n < 0 && errno == EINTR { continue }
            failed = true
            failure = n < 0 ? String(cString: strerror(errno)) : "nothing written"
            break
        }
        written += done
    }

    deinit { flush() }
}

/// The streams a command uses.
public final class CommandIO {
    public let stdout: OutputSink
    public let stderr: OutputSink
    /// Bytes to serve as standard input in tests; nil reads the real standard input.
    public let stdinBytes: [UInt8]?

    public init(stdout: OutputSink, stderr: OutputSink, stdinBytes: [UInt8]? = nil) {
        self.stdout = stdout
        self.stderr = stderr
        stderr.sanitizesLines = true
        self.stdinBytes = stdinBytes
    }

    public static func standard() -> CommandIO {
        CommandIO(stdout: OutputSink(fd: 1), stderr: OutputSink(fd: 2))
    }

    /// A progress line on a terminal's stderr, rewritten in place; nothing when not a terminal.
    public func progress(_ text: String) {
        guard stderr.isTerminal else { return }
        stderr.write("\r\u{1B}[K" + text)
        stderr.flush()
    }

    public func clearProgress() {
        guard stderr.isTerminal else { return }
        stderr.write("\r\u{1B}[K")
        stderr.flush()
    }
}

/// Set by SIGINT or SIGTERM: long-running loops stop, flush what they hold and print their summary.
let interruptRequested = Atomic<Bool>(false)
/// The signal that asked to stop (SIGINT or SIGTERM), 0 while none did.
let interruptSignal = Atomic<Int32>(0)

enum Interrupts {
    /// Routes Ctrl-C (SIGINT) and SIGTERM (what containers and service managers send) to
    /// `interruptRequested` instead of killing the process, so both stop the same clean way.
    static func install() {
        signal(SIGINT) { signo in
            interruptSignal.store(signo, ordering: .relaxed)
            interruptRequested.store(true, ordering: .relaxed)
        }
        signal(SIGTERM) { signo in
            interruptSignal.store(signo, ordering: .relaxed)
            interruptRequested.store(true, ordering: .relaxed)
        }
        signal(SIGPIPE, SIG_IGN)
        // A parent may have started us with these blocked (posix_spawn keeps the mask: Foundation's
        // Process does, from a Dispatch thread that blocks signals); blocked, SIGTERM would stay
        // pending and the run would never stop. Threads started later inherit this mask.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    static var requested: Bool { interruptRequested.load(ordering: .relaxed) }

    /// The conventional exit status of a run stopped by a signal: 130 for SIGINT, 143 for SIGTERM.
    static var exitStatus: Int32 {
        let signo = interruptSignal.load(ordering: .relaxed)
        return 128 + (signo == 0 ? SIGINT : signo)
    }
}

/// Monotonic seconds, for progress pacing and benchmarks.
func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Bounds on text quoted in terminal output (issue 18: a message quoting a 50 MB field must not
/// print it whole). What is cut is counted in the output (`… (N more characters)`).
enum TerminalLimits {
    /// Characters of one diagnostic message shown in text output (JSON output keeps it whole).
    static let message = 400
    /// Characters of one value from the wire (an MN, a QN, a CN) shown in a summary line.
    static let value = 64
}

/// A value from the wire (MN, ST, QN, a command result) made safe and bounded for a terminal line.
func safeWire(_ text: some StringProtocol, limit: Int = TerminalLimits.value) -> String {
    TerminalText.safe(text, limit: limit)
}

/// An error message for the terminal: control characters escaped, line breaks kept, each line
/// cut to a bounded length with the count of what was cut (a message may quote a file's field).
func safeMessage(_ text: some StringProtocol, lineLimit: Int = 1000) -> String {
    text.split(separator: "\n", omittingEmptySubsequences: false).map { TerminalText.safe($0, limit: lineLimit) }.joined(separator: "\n")
}

/// Writes `bytes` to the file at `path` in place (created if missing, truncated if not): through
/// a symbolic link to its target, into a device or a pipe as given. `FileManager.createFile`
/// writes a temporary file and renames it over the path, which replaced a symbolic link by a file
/// and, run as root, `/dev/null` by a regular file. False when it cannot be opened or written.
func writeFileInPlace(_ path: String, _ bytes: [UInt8]) -> Bool {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var done = 0
    while done < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { return false }
        done += n
    }
    return true
}
