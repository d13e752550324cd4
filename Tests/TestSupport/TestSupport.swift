import Foundation
#if canImport(Glibc)
import Glibc
#endif
import HJ212CLI

// Helpers shared by the test targets (a library target that only test targets depend on):
// one copy of each instead of one per target.

/// Runs `hj212` in-process with captured streams.
public func hj212(_ arguments: [String], stdin: [UInt8]? = nil) -> (status: Int32, out: String, err: String) {
    let io = CommandIO(stdout: OutputSink(), stderr: OutputSink(), stdinBytes: stdin)
    let status = CommandLineTool.run(arguments, io: io)
    return (status, io.stdout.captured, io.stderr.captured)
}

/// A path in the temporary directory that nothing uses yet: `hj212-<UUID><suffix>`.
public func temporaryPath(_ suffix: String) -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("hj212-\(UUID().uuidString)\(suffix)").path
}

/// A new temporary file holding `bytes`; returns its path.
public func temporaryFile(_ bytes: [UInt8], suffix: String = ".txt") throws -> String {
    let path = temporaryPath(suffix)
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else { throw CocoaError(.fileWriteUnknown) }
    return path
}

/// A fresh directory for one test's files (`name` makes it recognisable).
public func scratchDirectory(_ name: String) -> String {
    let path = NSTemporaryDirectory() + "hj212-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// A loopback TCP port that was free a moment ago (bound to 127.0.0.1, then released); nil when
/// no socket could be bound.
public func freePort() -> UInt16? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var a = sockaddr_in()
    a.sin_family = sa_family_t(AF_INET)
    a.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &a) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    return bound ? UInt16(bigEndian: a.sin_port) : nil
}

/// SplitMix64: a small deterministic generator, so that every run of a property test sees the
/// same "random" cases (one copy for every test target).
public struct SplitMix64: RandomNumberGenerator {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// 0 ..< n (0 when n < 1).
    public mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(1, n))) }
    /// True `percent` times in a hundred.
    public mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
}
