import Foundation
import HJNetwork
import Synchronization

/// A response: status, content type, body, extra headers.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var contentType: String
    public var body: [UInt8]
    public var headers: [(String, String)]

    public init(status: Int, contentType: String = "text/plain; charset=utf-8", body: [UInt8], headers: [(String, String)] = []) {
        self.status = status
        self.contentType = contentType
        self.body = body
        self.headers = headers
    }

    public static func text(_ status: Int, _ text: String) -> HTTPResponse {
        HTTPResponse(status: status, body: Array((text + "\n").utf8))
    }

    public static func json(_ text: String) -> HTTPResponse {
        HTTPResponse(status: 200, contentType: "application/json; charset=utf-8", body: Array(text.utf8))
    }

    public static func html(_ text: String) -> HTTPResponse {
        HTTPResponse(status: 200, contentType: "text/html; charset=utf-8", body: Array(text.utf8))
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 400: "Bad Request"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 414: "URI Too Long"
        case 431: "Request Header Fields Too Large"
        case 503: "Service Unavailable"
        case 505: "HTTP Version Not Supported"
        default: "Status"
        }
    }

    /// The bytes on the wire (no body for HEAD).
    public func serialized(head: Bool, keepAlive: Bool) -> [UInt8] {
        var s = "HTTP/1.1 \(status) \(Self.reason(status))\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.count)\r\n"
        s += "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
        s += "Content-Security-Policy: default-src 'self'; script-src 'unsafe-inline' 'self'; style-src 'unsafe-inline'; img-src 'self' data:\r\n"
        for (k, v) in headers { s += "\(k): \(v)\r\n" }
        s += keepAlive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n"
        var out = Array(s.utf8)
        if !head { out += body }
        return out
    }
}

/// HTTP/1.1 on the project's event loop: GET and HEAD, keep-alive, strict bounded parsing.
///
/// Budgets: at most `maxConnections` open connections (more are answered 503 and closed); a
/// request head must be complete within `headerTimeout` of its first byte (slow clients get
/// 408 and are closed); an idle keep-alive connection is closed after `idleTimeout`; at most
/// `Limits.maxHeaderBytes` bytes are buffered per connection; responses queue at most
/// `TCPOptions.maxPendingOutput` bytes. Methods other than GET and HEAD get 405, unknown routes
/// 404 (the router decides), bad requests 400/414/431, each followed by a close.
///
/// ```swift
/// let server = try HTTPServer.start(on: try SocketAddress(parsing: "127.0.0.1:8080"), group: group) { request in
///     request.path == "/" ? .html("<p>hello</p>") : .text(404, "not found")
/// }
/// ```
public final class HTTPServer: Sendable {
    public struct Settings: Sendable {
        public var maxConnections = 256
        public var headerTimeout: Duration = .seconds(10)
        public var idleTimeout: Duration = .seconds(60)
        public var limits = HTTPRequestParser.Limits()
        public init() {}
    }

    public let tcp: TCPServer
    public let settings: Settings
    let open = Atomic<Int>(0)
    let served = Atomic<Int>(0)
    let refused = Atomic<Int>(0)

    public var localAddress: SocketAddress { tcp.localAddress }
    /// Responses written so far.
    public var responses: Int { served.load(ordering: .relaxed) }
    /// Connections refused because `maxConnections` were open.
    public var refusedConnections: Int { refused.load(ordering: .relaxed) }
    public var openConnections: Int { open.load(ordering: .relaxed) }

    init(tcp: TCPServer, settings: Settings) {
        self.tcp = tcp
        self.settings = settings
    }

    public static func start(on address: SocketAddress, group: EventLoopGroup, settings: Settings = Settings(),
                             router: @escaping @Sendable (HTTPRequest) -> HTTPResponse) throws(NetworkError) -> HTTPServer {
        let box = Mutex<HTTPServer?>(nil)
        var options = TCPOptions()
        options.maxPendingOutput = 8 * 1024 * 1024
        let tcp = try TCPServer.start(on: address, group: group, options: options) { connection in
            let server = box.withLock { $0 }
            return HTTPConnection(connection: connection, server: server, router: router)
        }
        let server = HTTPServer(tcp: tcp, settings: settings)
        box.withLock { $0 = server }
        return server
    }

    public func stop() { _ = tcp.stopAndWait(timeout: .seconds(5)) }
}

/// One HTTP connection, touched only on its connection's loop (the rule that makes
/// `@unchecked Sendable` safe).
final class HTTPConnection: TCPConnectionHandler, @unchecked Sendable {
    let connection: TCPConnection
    let server: HTTPServer?
    let router: @Sendable (HTTPRequest) -> HTTPResponse
    var buffer: [UInt8] = []
    var timer: TimerHandle?
    var counted = false

    init(connection: TCPConnection, server: HTTPServer?, router: @escaping @Sendable (HTTPRequest) -> HTTPResponse) {
        self.connection = connection
        self.server = server
        self.router = router
        connection.loop.executeOnLoop { [self] in
            guard let server else { connection.close(); return }
            if server.open.add(1, ordering: .relaxed).newValue > server.settings.maxConnections {
                server.open.subtract(1, ordering: .relaxed)
                server.refused.add(1, ordering: .relaxed)
                _ = connection.write(HTTPResponse.text(503, "too many connections").serialized(head: false, keepAlive: false))
                connection.closeAfterFlush()
                return
            }
            counted = true
            arm(server.settings.idleTimeout, status: nil)
        }
    }

    /// Closes the connection when the timer fires: 408 for a started request, silently when idle.
    func arm(_ after: Duration, status: Int?) {
        timer?.cancel()
        timer = connection.loop.scheduleOnLoop(after: after) { [weak self] in
            guard let self, self.connection.isOpen else { return }
            if let status { _ = self.connection.write(HTTPResponse.text(status, "request not complete in time").serialized(head: false, keepAlive: false)) }
            self.connection.closeAfterFlush()
        }
    }

    func connection(_ connection: TCPConnection, didRead bytes: [UInt8]) {
        guard counted, let server else { return }
        let wasEmpty = buffer.isEmpty
        buffer += bytes
        if wasEmpty { arm(server.settings.headerTimeout, status: 408) }
        while !buffer.isEmpty && connection.isOpen {
            switch HTTPRequestParser.parse(buffer[...], limits: server.settings.limits) {
            case .needMore:
                if buffer.count > server.settings.limits.maxHeaderBytes { fail(431, "request head too large") }
                return
            case .error(let status, let reason):
                fail(status, reason)
                return
            case .request(let request, let used):
                buffer.removeFirst(used)
                var response: HTTPResponse
                if request.method != "GET" && request.method != "HEAD" {
                    response = .text(405, "only GET and HEAD")
                    response.headers.append(("Allow", "GET, HEAD"))
                } else {
                    response = router(request)
                }
                let keep = request.keepAlive && response.status < 400
                _ = connection.write(response.serialized(head: request.method == "HEAD", keepAlive: keep))
                server.served.add(1, ordering: .relaxed)
                if !keep { timer?.cancel(); connection.closeAfterFlush(); return }
                arm(buffer.isEmpty ? server.settings.idleTimeout : server.settings.headerTimeout, status: buffer.isEmpty ? nil : 408)
            }
        }
    }

    func fail(_ status: Int, _ reason: String) {
        timer?.cancel()
        buffer = []
        _ = connection.write(HTTPResponse.text(status, reason).serialized(head: false, keepAlive: false))
        server?.served.add(1, ordering: .relaxed)
        connection.closeAfterFlush()
    }

    func connection(_ connection: TCPConnection, didCloseWith reason: CloseReason) {
        timer?.cancel()
        if counted { server?.open.subtract(1, ordering: .relaxed) }
        counted = false
    }
}
