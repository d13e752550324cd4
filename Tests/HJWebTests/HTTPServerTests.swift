import Foundation
import Glibc
import HJNetwork
import HJWeb
import Testing

/// A blocking TCP client for tests.
struct TestClient {
    let fd: Int32

    init(port: UInt16) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var tv = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard r == 0 else { close(fd); throw NSError(domain: "connect", code: Int(errno)) }
    }

    func send(_ text: String) { _ = Array(text.utf8).withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }

    /// Reads until the peer closes (or `until` appears), at most 20 s.
    func read(until marker: String? = nil) -> String {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, 65536, 0) }
            if n <= 0 { break }
            out += buf[..<n]
            if let marker, String(decoding: out, as: UTF8.self).contains(marker) { break }
        }
        return String(decoding: out, as: UTF8.self)
    }

    func closeNow() { close(fd) }
}

@Suite("HTTP server on the event loop", .serialized)
struct HTTPServerTests {
    static func withServer(_ settings: HTTPServer.Settings = HTTPServer.Settings(), _ body: (HTTPServer) throws -> Void) throws {
        let group = try EventLoopGroup(threads: 1, name: "http-test")
        defer { group.shutdown() }
        let server = try HTTPServer.start(on: try SocketAddress(parsing: "127.0.0.1:0"), group: group, settings: settings) { request in
            request.path == "/hello" ? .text(200, "hello \(request.parameter("n") ?? "")") : .text(404, "not found")
        }
        defer { server.stop() }
        try body(server)
    }

    @Test("binds to the address given only, answers GET, HEAD without a body, 404 and 405")
    func routes() throws {
        try Self.withServer { server in
            #expect(server.localAddress.host == "127.0.0.1")
            let c = try TestClient(port: server.localAddress.port)
            c.send("GET /hello?n=1 HTTP/1.1\r\nHost: t\r\n\r\nHEAD /hello HTTP/1.1\r\nHost: t\r\n\r\nGET /nope HTTP/1.1\r\nHost: t\r\n\r\n")
            let all = c.read()
            c.closeNow()
            #expect(all.components(separatedBy: "HTTP/1.1 200 OK").count == 3)
            #expect(all.contains("hello 1\n"))
            #expect(all.components(separatedBy: "hello").count == 2, "HEAD has no body")
            #expect(all.contains("HTTP/1.1 404 Not Found"))
            let d = try TestClient(port: server.localAddress.port)
            d.send("DELETE /hello HTTP/1.1\r\nHost: t\r\n\r\n")
            let r = d.read()
            d.closeNow()
            #expect(r.hasPrefix("HTTP/1.1 405"))
            #expect(r.contains("Allow: GET, HEAD"))
        }
    }

    @Test("path traversal and oversized heads get 4xx and a close")
    func hostile() throws {
        try Self.withServer { server in
            let a = try TestClient(port: server.localAddress.port)
            a.send("GET /../../etc/passwd HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(a.read().hasPrefix("HTTP/1.1 400"))
            a.closeNow()
            let b = try TestClient(port: server.localAddress.port)
            b.send("GET / HTTP/1.1\r\nHost: t\r\n" + String(repeating: "X-Pad: " + String(repeating: "p", count: 200) + "\r\n", count: 60))
            #expect(b.read().hasPrefix("HTTP/1.1 431"))
            b.closeNow()
        }
    }

    @Test("a slow client is answered 408 and closed; an idle keep-alive connection is closed")
    func slow() throws {
        var settings = HTTPServer.Settings()
        settings.headerTimeout = .milliseconds(300)
        settings.idleTimeout = .milliseconds(500)
        try Self.withServer(settings) { server in
            let c = try TestClient(port: server.localAddress.port)
            c.send("GET /hello HTTP/1.1\r\nHo")
            #expect(c.read().hasPrefix("HTTP/1.1 408"))
            c.closeNow()
            let idle = try TestClient(port: server.localAddress.port)
            #expect(idle.read() == "")   // closed without a word
            idle.closeNow()
        }
    }

    @Test("more connections than the budget are answered 503")
    func manyConnections() throws {
        var settings = HTTPServer.Settings()
        settings.maxConnections = 4
        try Self.withServer(settings) { server in
            var clients: [TestClient] = []
            for _ in 0..<4 { clients.append(try TestClient(port: server.localAddress.port)) }
            // Let the server account for the first four.
            for c in clients { c.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"); #expect(c.read(until: "hello").contains("200 OK")) }
            let extra = try TestClient(port: server.localAddress.port)
            #expect(extra.read().hasPrefix("HTTP/1.1 503"))
            extra.closeNow()
            #expect(server.refusedConnections >= 1)
            for c in clients { c.closeNow() }
        }
    }
}
