import Glibc
import Testing
import HJNetwork

@Suite("SocketAddress and NetworkError")
struct SocketAddressTests {
    @Test("parses IPv4 HOST:PORT and localhost", arguments: [
        ("127.0.0.1:7000", "127.0.0.1", UInt16(7000)),
        ("localhost:7000", "127.0.0.1", 7000),
        ("LOCALHOST:1", "127.0.0.1", 1),
        ("0.0.0.0:0", "0.0.0.0", 0),
        ("  127.0.0.9:65535 ", "127.0.0.9", 65535),
        ("255.255.255.255:80", "255.255.255.255", 80),
    ])
    func parses(text: String, host: String, port: UInt16) throws {
        let address = try SocketAddress(parsing: text)
        #expect(address.host == host)
        #expect(address.port == port)
        #expect(address.description == "\(host):\(port)")
    }

    @Test("rejects bad addresses with a message that says why", arguments: [
        ("", "empty"),
        ("127.0.0.1", "port is missing"),
        ("127.0.0.1:", "is not a number"),
        ("127.0.0.1:65536", "is not a number from 0 to 65535"),
        ("127.0.0.1:-1", "is not a number"),
        ("127.0.0.1:7x", "is not a number"),
        (":7000", "host is missing"),
        ("[::1]:7000", "IPv6"),
        ("::1:7000", "IPv6"),
        ("256.0.0.1:7000", "not a dotted IPv4"),
        ("127.0.1:7000", "not a dotted IPv4"),
        ("127.0.0.1.5:7000", "not a dotted IPv4"),
        ("example.org:7000", "host names are not resolved"),
    ])
    func rejects(text: String, why: String) {
        #expect {
            _ = try SocketAddress(parsing: text)
        } throws: { error in
            guard let error = error as? NetworkError else { return false }
            return error.kind == .invalidAddress && error.message.contains(why)
        }
    }

    @Test("host and port constructor checks the port range")
    func hostPort() throws {
        #expect(try SocketAddress(host: "127.0.0.2", port: 7001) == SocketAddress(127, 0, 0, 2, port: 7001))
        #expect(throws: NetworkError.self) { try SocketAddress(host: "127.0.0.1", port: 70000) }
        #expect(SocketAddress.loopback(port: 9, last: 3).description == "127.0.0.3:9")
    }

    @Test("errno maps to kinds, names and system messages")
    func errors() {
        let refused = NetworkError(errno: ECONNREFUSED, operation: "connect to 127.0.0.1:9")
        #expect(refused.kind == .refused)
        #expect(refused.description.hasPrefix("connect to 127.0.0.1:9: "))
        #expect(refused.description.hasSuffix("(ECONNREFUSED)"))
        #expect(!refused.message.isEmpty)
        #expect(NetworkError.kind(forErrno: ECONNRESET) == .reset)
        #expect(NetworkError.kind(forErrno: EPIPE) == .brokenPipe)
        #expect(NetworkError.kind(forErrno: ETIMEDOUT) == .timedOut)
        #expect(NetworkError.kind(forErrno: EHOSTUNREACH) == .unreachable)
        #expect(NetworkError.kind(forErrno: EMFILE) == .tooManyOpenFiles)
        #expect(NetworkError.kind(forErrno: EINVAL) == .other)
    }
}
