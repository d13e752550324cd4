import Foundation
import Glibc
import Synchronization
import Testing
import HJNetwork

/// A value shared between the test's task and the loop threads.
/// `Sendable`: the value is behind a `Mutex`.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    var value: Value { mutex.withLock { $0 } }
    func set(_ value: Value) { mutex.withLock { $0 = value } }
    @discardableResult
    func update<R: Sendable>(_ body: (inout Value) -> R) -> R { mutex.withLock { body(&$0) } }
}

/// Polls `condition` every 2 ms until it holds or `timeout` passes; returns whether it held.
/// Every wait in these tests goes through here (or another bounded wait), so a bug fails a test
/// instead of hanging the run.
func eventually(timeout: Duration = .seconds(10), _ condition: () -> Bool) async -> Bool {
    let deadline = MonotonicTime.now + timeout
    while true {
        if condition() { return true }
        if MonotonicTime.now >= deadline { return false }
        try? await Task.sleep(for: .milliseconds(2))
    }
}

/// Runs `body` on `loop` and returns its result (nil if the loop has stopped or it took > 10 s).
func onLoop<T: Sendable>(_ loop: EventLoop, _ body: @escaping @Sendable () -> T) async -> T? {
    let result = Locked<T?>(nil)
    let done = Locked(false)
    guard loop.execute({ result.set(body()); done.set(true) }) else { return nil }
    _ = await eventually { done.value }
    return result.value
}

/// What one connection saw: bytes, number of reads, close reason.
/// `Sendable`: `Locked` fields only.
final class Recorder: Sendable {
    let bytes = Locked<[UInt8]>([])
    let reads = Locked(0)
    let closeReason = Locked<CloseReason?>(nil)
    let drains = Locked(0)

    /// A handler that records into this recorder (and echoes, if asked).
    func handler(echo: Bool = false) -> TCPCallbacks {
        TCPCallbacks(
            onRead: { connection, bytes in
                self.bytes.update { $0.append(contentsOf: bytes) }
                self.reads.update { $0 += 1 }
                if echo { connection.write(bytes) }
            },
            onDrain: { _ in self.drains.update { $0 += 1 } },
            onClose: { _, reason in self.closeReason.set(reason) })
    }

    var count: Int { bytes.update { $0.count } }
    var isClosed: Bool { closeReason.value != nil }
}

/// An echo server on 127.0.0.1 with an ephemeral port; records each server-side connection.
/// `Sendable`: immutable references to `Sendable` objects.
final class EchoServer: Sendable {
    let server: TCPServer
    let sides = Locked<[Recorder]>([])

    init(group: EventLoopGroup, options: TCPOptions = TCPOptions()) throws {
        let sides = self.sides
        server = try TCPServer.start(on: .loopback(port: 0), group: group, options: options) { _ in
            let recorder = Recorder()
            sides.update { $0.append(recorder) }
            return recorder.handler(echo: true)
        }
    }

    var address: SocketAddress { server.localAddress }
}

/// Connects with the async API and sets a recording handler on the loop; returns both.
func connectRecording(to address: SocketAddress, on loop: EventLoop, from source: SocketAddress? = nil,
                      options: TCPOptions = TCPOptions()) async throws -> (TCPConnection, Recorder) {
    let connection = try await TCPClient.connect(to: address, from: source, on: loop, timeout: .seconds(5),
                                                 options: options)
    let recorder = Recorder()
    _ = await onLoop(loop) { connection.handler = recorder.handler() }
    return (connection, recorder)
}

/// Descriptors of the kinds the network layer opens: sockets, epoll instances, eventfds.
func networkDescriptorCount() -> Int {
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return -1 }
    var count = 0
    for entry in entries {
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(entry)") else {
            continue
        }
        if target.hasPrefix("socket:") || target == "anon_inode:[eventpoll]" || target == "anon_inode:[eventfd]" {
            count += 1
        }
    }
    return count
}

/// Sockets that still hold a descriptor (inode ≠ 0: not TIME_WAIT leftovers) with a local or
/// remote port among `ports`, from /proc/net/tcp. Unlike counting this process's descriptors,
/// it is not disturbed by other suites opening and closing sockets in parallel.
func openSockets(onPorts ports: Set<UInt16>) -> Int {
    // Read to the end with read(2): /proc files report size 0, and some readers stop at a page.
    let fd = open("/proc/net/tcp", O_RDONLY)
    guard fd >= 0 else { return -1 }
    defer { close(fd) }
    var data: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n <= 0 { break }
        data += chunk[0..<n]
    }
    let text = String(decoding: data, as: UTF8.self)
    var count = 0
    for line in text.split(separator: "\n").dropFirst() {
        let columns = line.split(separator: " ", omittingEmptySubsequences: true)
        guard columns.count > 9 else { continue }
        func port(_ address: Substring) -> UInt16? { address.split(separator: ":").last.flatMap { UInt16($0, radix: 16) } }
        guard let local = port(columns[1]), let remote = port(columns[2]) else { continue }
        if (ports.contains(local) || ports.contains(remote)) && columns[9] != "0" { count += 1 }
    }
    return count
}

/// Resident memory of the process in KiB (VmRSS in /proc/self/status).
func residentKiB() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return -1 }
    for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? -1
    }
    return -1
}

/// Plain blocking sockets from Glibc, for peers that misbehave on purpose.
enum RawSocket {
    static func address(_ ip: UInt32, _ port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = ip.bigEndian
        return address
    }

    /// A listener on 127.0.0.1 with `backlog`, never accepting. Returns (fd, port).
    static func listener(backlog: Int32) -> (Int32, UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = address(0x7F00_0001, 0)
        let size = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, size) } }
        _ = listen(fd, backlog)
        var bound = sockaddr_in()
        var length = size
        _ = withUnsafeMutablePointer(to: &bound) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return (fd, UInt16(bigEndian: bound.sin_port))
    }

    /// Starts a connect to 127.0.0.1:`port`; non-blocking, so it returns at once. Returns the fd.
    static func startConnect(port: UInt16) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        var address = address(0x7F00_0001, port)
        let size = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, size) } }
        return fd
    }

    /// A blocking connect to 127.0.0.1:`port`. Returns the fd, or -1.
    static func connectBlocking(port: UInt16) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = address(0x7F00_0001, port)
        let size = socklen_t(MemoryLayout<sockaddr_in>.size)
        let rc = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, size) } }
        if rc != 0 { Glibc.close(fd); return -1 }
        return fd
    }

    /// Closes with SO_LINGER 0, so the peer gets a reset (RST) instead of an end of stream.
    static func resetAndClose(_ fd: Int32) {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        Glibc.close(fd)
    }
}

/// A deterministic byte pattern.
func pattern(_ count: Int, seed: Int = 0) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: ($0 &* 31 &+ seed) % 251) }
}
