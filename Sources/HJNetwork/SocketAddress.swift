/// An IPv4 address and TCP port.
///
/// Only IPv4 is supported: `"[::1]:7000"` and other IPv6 forms are rejected with an error that
/// says so. Host names are not resolved (no DNS from an event loop), except `localhost`, which
/// means `127.0.0.1`.
///
/// `Sendable` because it is a plain value.
///
/// ```swift
/// let address = try SocketAddress(parsing: "127.0.0.1:7000")
/// print(address.host, address.port)          // 127.0.0.1 7000
/// let any = SocketAddress.loopback(port: 0)  // 127.0.0.1:0, let the kernel pick the port
/// ```
public struct SocketAddress: Sendable, Hashable, CustomStringConvertible {
    /// The IPv4 address in host byte order (`127.0.0.1` is `0x7F00_0001`).
    public var ipv4: UInt32
    /// The TCP port; 0 means "any free port" when binding.
    public var port: UInt16

    /// Makes an address from a host-order IPv4 number and a port.
    ///
    /// ```swift
    /// let address = SocketAddress(ipv4: 0x7F00_0001, port: 7000)   // 127.0.0.1:7000
    /// ```
    public init(ipv4: UInt32, port: UInt16) {
        self.ipv4 = ipv4
        self.port = port
    }

    /// Makes an address from four octets and a port.
    ///
    /// ```swift
    /// let address = SocketAddress(127, 0, 0, 2, port: 7000)   // 127.0.0.2:7000
    /// ```
    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8, port: UInt16) {
        self.init(ipv4: UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d), port: port)
    }

    /// `127.0.0.<last>:<port>`: a loopback address.
    ///
    /// ```swift
    /// let source = SocketAddress.loopback(port: 0, last: 7)   // 127.0.0.7:0
    /// ```
    public static func loopback(port: UInt16, last: UInt8 = 1) -> SocketAddress {
        SocketAddress(127, 0, 0, last, port: port)
    }

    /// Parses `"HOST:PORT"` where HOST is a dotted IPv4 address or `localhost`.
    ///
    /// ```swift
    /// let a = try SocketAddress(parsing: "localhost:7000")   // 127.0.0.1:7000
    /// _ = try? SocketAddress(parsing: "[::1]:7000")          // throws: IPv6 is not supported
    /// ```
    public init(parsing text: String) throws(NetworkError) {
        let trimmed = text.trimmingASCIIWhitespace()
        func fail(_ why: String) -> NetworkError {
            NetworkError(kind: .invalidAddress, operation: "parse address \"\(text)\"", message: why)
        }
        if trimmed.isEmpty { throw fail("the address is empty; expected HOST:PORT such as 127.0.0.1:7000") }
        if trimmed.hasPrefix("[") || trimmed.filter({ $0 == ":" }).count > 1 {
            throw fail("IPv6 addresses are not supported; use an IPv4 address such as 127.0.0.1:7000")
        }
        guard let colon = trimmed.lastIndex(of: ":") else {
            throw fail("the port is missing; expected HOST:PORT such as 127.0.0.1:7000")
        }
        let host = String(trimmed[..<colon])
        let portText = String(trimmed[trimmed.index(after: colon)...])
        if host.isEmpty { throw fail("the host is missing; expected HOST:PORT such as 127.0.0.1:7000") }
        guard let port = Self.parsePort(portText) else {
            throw fail("the port \"\(portText)\" is not a number from 0 to 65535")
        }
        try self.init(host: host, port: port, original: text)
    }

    /// Makes an address from a host text (dotted IPv4 or `localhost`) and a port number.
    ///
    /// ```swift
    /// let a = try SocketAddress(host: "127.0.0.1", port: 7000)
    /// ```
    public init(host: String, port: Int) throws(NetworkError) {
        guard (0...65535).contains(port) else {
            throw NetworkError(kind: .invalidAddress, operation: "address \(host):\(port)",
                               message: "the port \(port) is not from 0 to 65535")
        }
        try self.init(host: host, port: UInt16(port), original: "\(host):\(port)")
    }

    private init(host: String, port: UInt16, original: String) throws(NetworkError) {
        if host.lowercased() == "localhost" {
            self.init(127, 0, 0, 1, port: port)
            return
        }
        guard let ipv4 = Self.parseIPv4(host) else {
            let why = host.contains(":")
                ? "IPv6 addresses are not supported; use an IPv4 address"
                : "\"\(host)\" is not a dotted IPv4 address (four numbers 0-255) or localhost; host names are not resolved"
            throw NetworkError(kind: .invalidAddress, operation: "parse address \"\(original)\"", message: why)
        }
        self.init(ipv4: ipv4, port: port)
    }

    /// The dotted IPv4 text, `"127.0.0.1"`.
    public var host: String {
        "\(ipv4 >> 24).\(ipv4 >> 16 & 0xFF).\(ipv4 >> 8 & 0xFF).\(ipv4 & 0xFF)"
    }

    /// `"127.0.0.1:7000"`.
    public var description: String { "\(host):\(port)" }

    /// The same host with another port.
    ///
    /// ```swift
    /// let bound = listenAddress.withPort(server.localAddress.port)
    /// ```
    public func withPort(_ port: UInt16) -> SocketAddress {
        SocketAddress(ipv4: ipv4, port: port)
    }

    static func parsePort(_ text: String) -> UInt16? {
        guard !text.isEmpty, text.count <= 5, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              let value = Int(text), value <= 65535 else { return nil }
        return UInt16(value)
    }

    static func parseIPv4(_ text: String) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                  let octet = UInt32(part), octet <= 255 else { return nil }
            value = value << 8 | octet
        }
        return value
    }
}

extension String {
    fileprivate func trimmingASCIIWhitespace() -> Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }) else { return "" }
        let last = lastIndex(where: { !isSpace($0) })!
        return self[first...last]
    }
}
