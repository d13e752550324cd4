import Glibc

/// An input named on the command line: a file, or `-` for standard input.
struct InputFile {
    let name: String
    private let fd: Int32
    private var memory: [UInt8]?
    private var memoryOffset = 0

    /// Opens every input before any is read, so that an unreadable one stops the command
    /// (exit 2) before output starts.
    static func openAll(_ names: [String], io: CommandIO) throws(UsageError) -> [InputFile] {
        var inputs: [InputFile] = []
        for name in names.isEmpty ? ["-"] : names {
            if name == "-" {
                inputs.append(InputFile(name: "-", fd: 0, memory: io.stdinBytes))
                continue
            }
            let fd = open(name, O_RDONLY | O_CLOEXEC)
            if fd < 0 {
                let reason = String(cString: strerror(errno))
                for input in inputs { input.close() }
                throw UsageError("cannot read '\(name)': \(reason)", exitCode: 2)
            }
            var st = stat()
            if fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR {
                Glibc.close(fd)
                for input in inputs { input.close() }
                throw UsageError("cannot read '\(name)': it is a directory", exitCode: 2)
            }
            inputs.append(InputFile(name: name, fd: fd, memory: nil))
        }
        return inputs
    }

    private init(name: String, fd: Int32, memory: [UInt8]?) {
        self.name = name
        self.fd = fd
        self.memory = memory
    }

    /// Reads up to `capacity` bytes; an empty array at end of input. Throws with the reason on a read error.
    mutating func read(capacity: Int = 1 << 16) throws(UsageError) -> [UInt8] {
        if let memory {
            let end = min(memory.count, memoryOffset + capacity)
            defer { memoryOffset = end }
            return Array(memory[memoryOffset..<end])
        }
        var chunk = [UInt8](repeating: 0, count: capacity)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, capacity) }
            if n >= 0 {
                chunk.removeSubrange(n...)
                return chunk
            }
            if errno == EINTR {
                if Interrupts.requested { return [] }
                continue
            }
            throw UsageError("cannot read '\(name)': \(String(cString: strerror(errno)))", exitCode: 2)
        }
    }

    func close() {
        if memory == nil && fd > 2 { Glibc.close(fd) }
    }
}
