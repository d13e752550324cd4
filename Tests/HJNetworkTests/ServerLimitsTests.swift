import Foundation
import Glibc
import HJNetwork
import Testing

/// A blocking IPv4 client socket connected to `port` from `source` (nil: any), or -1.
func rawConnect(port: UInt16, source: String? = nil) -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return -1 }
    if let source {
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        local.sin_addr.s_addr = inet_addr(source)
        _ = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = port.bigEndian
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let ok = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    if ok != 0 { close(fd); return -1 }
    var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    return fd
}

/// Whether the server closed this socket (read returns 0 or a reset) within about `seconds`.
func closedByPeer(_ fd: Int32, within seconds: Double = 3) -> Bool {
    let end = Date().addingTimeInterval(seconds)
    var byte: UInt8 = 0
    while Date() < end {
        let n = recv(fd, &byte, 1, 0)
        if n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) { return true }
    }
    return false
}

@Suite("TCPServer budgets (issue 18)", .serialized)
struct ServerLimitsTests {
    @Test("connections per source address: newcomers over the budget are closed at once and counted; a freed slot admits again")
    func perAddress() async throws {
        let group = try EventLoopGroup(threads: 1)
        defer { group.shutdown() }
        var limits = TCPServer.Limits(maxConnectionsPerAddress: 3)
        limits.exemptLoopback = false
        let server = try TCPServer.start(on: .loopback(port: 0), group: group, limits: limits) { _ in TCPCallbacks() }
        defer { server.stopAndWait() }
        let port = server.localAddress.port
        var fds = (0..<5).map { _ in rawConnect(port: port, source: "127.0.0.2") }
        defer { for fd in fds where fd >= 0 { close(fd) } }
        #expect(await eventually { server.refusedPerAddress == 2 })
        #expect(fds.filter { closedByPeer($0, within: 0.5) }.count == 2)
        #expect(server.connectionCount == 3)
        // Another address has its own budget.
        let other = rawConnect(port: port, source: "127.0.0.3")
        defer { close(other) }
        #expect(await eventually { server.connectionCount == 4 })
        // Close one of the admitted: a newcomer from the first address is admitted again.
        let admitted = fds.first { !closedByPeer($0, within: 0.05) }!
        close(admitted)
        fds.removeAll { $0 == admitted }
        #expect(await eventually { server.connections(from: 0x7F00_0002) == 2 })
        let again = rawConnect(port: port, source: "127.0.0.2")
        defer { close(again) }
        #expect(await eventually { server.connections(from: 0x7F00_0002) == 3 })
        #expect(server.refusedPerAddress == 2)
    }

    @Test("loopback peers are exempt by default")
    func loopbackExempt() async throws {
        let group = try EventLoopGroup(threads: 1)
        defer { group.shutdown() }
        let server = try TCPServer.start(on: .loopback(port: 0), group: group, limits: TCPServer.Limits(maxConnectionsPerAddress: 2)) { _ in TCPCallbacks() }
        defer { server.stopAndWait() }
        let fds = (0..<4).map { _ in rawConnect(port: server.localAddress.port) }
        defer { for fd in fds where fd >= 0 { close(fd) } }
        #expect(await eventually { server.connectionCount == 4 })
        #expect(server.refusedPerAddress == 0)
    }
}
