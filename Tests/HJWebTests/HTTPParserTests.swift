import HJWeb
import Testing

@Suite("HTTP request parser")
struct HTTPParserTests {
    static func bytes(_ s: String) -> ArraySlice<UInt8> { Array(s.utf8)[...] }

    @Test("a GET with query and headers; the bytes used are reported so that pipelined requests follow")
    func basic() throws {
        let text = "GET /api/series?mn=0100&factor=w01018&kind=minute HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"
        guard case .request(let r, let used) = HTTPRequestParser.parse(Self.bytes(text)) else { Issue.record("not parsed"); return }
        #expect(r.method == "GET")
        #expect(r.path == "/api/series")
        #expect(r.parameter("factor") == "w01018")
        #expect(r.header("HOST") == "x")
        #expect(r.keepAlive)
        guard case .request(let second, _) = HTTPRequestParser.parse(Self.bytes(text).dropFirst(used)) else { Issue.record("second not parsed"); return }
        #expect(second.path == "/")
    }

    @Test("byte by byte: need more until the head is complete, then the same request")
    func byteByByte() {
        let text = Array("GET /a%20b?x=1+2 HTTP/1.1\r\nHost: h\r\n\r\n".utf8)
        for n in 0..<text.count {
            #expect(HTTPRequestParser.parse(text[..<n]) == .needMore)
        }
        guard case .request(let r, let used) = HTTPRequestParser.parse(text[...]) else { Issue.record("not parsed"); return }
        #expect(used == text.count)
        #expect(r.path == "/a b")
        #expect(r.parameter("x") == "1 2")
    }

    @Test("hostile requests are errors", arguments: [
        ("GET /../etc/passwd HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        ("GET /a/%2e%2e/b HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        ("GET /a\\b HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        ("GET http://evil/ HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\n\r\n", 400),
        ("GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505),
        ("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello", 400),
        ("GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: h\r\nBad Header: x\r\n\r\n", 400),
        ("GET /%zz HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        ("GET / HTTP/1.1\rHost: h\r\n\r\n", 400),
        ("get / HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        ("GET /\u{1} HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        // A combining mark after '/' (found by the http fuzz harness, session 7): as Characters,
        // "/" + U+0301 is not "/", so a Character split saw one segment "../\u{301}" and let the
        // ".." through; the bytes are /../ + the mark.
        ("GET /../%CC%81 HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        ("GET /a/..%2F%CC%81x HTTP/1.1\r\nHost: h\r\n\r\n", 400),
    ])
    func hostile(_ text: String, _ status: Int) {
        guard case .error(let s, _) = HTTPRequestParser.parse(Self.bytes(text)) else { Issue.record("accepted: \(text.debugDescription)"); return }
        #expect(s == status)
    }

    @Test("limits: a long request line is 414, a large head 431, even before it ends")
    func limits() {
        let long = "GET /" + String(repeating: "a", count: 3000)
        guard case .error(414, _) = HTTPRequestParser.parse(Self.bytes(long)) else { Issue.record("long line accepted"); return }
        let big = "GET / HTTP/1.1\r\nHost: h\r\n" + String(repeating: "X-A: " + String(repeating: "b", count: 100) + "\r\n", count: 100)
        guard case .error(431, _) = HTTPRequestParser.parse(Self.bytes(big)) else { Issue.record("large head accepted"); return }
        let many = "GET / HTTP/1.1\r\nHost: h\r\n" + String(repeating: "X: 1\r\n", count: 70) + "\r\n"
        guard case .error(431, _) = HTTPRequestParser.parse(Self.bytes(many)) else { Issue.record("70 headers accepted"); return }
    }

    @Test("random bytes never crash the parser and never yield a path with a dot segment")
    func random() {
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array("GET HEAD / HTTP/1.1\r\n:Host%2e%2E.?&=+\\\u{0}abc".utf8)
        for _ in 0..<20_000 {
            let n = Int.random(in: 0..<120, using: &rng)
            let input = (0..<n).map { _ in Bool.random(using: &rng) ? alphabet.randomElement(using: &rng)! : UInt8.random(in: 0...255, using: &rng) }
            if case .request(let r, let used) = HTTPRequestParser.parse(input[...]) {
                #expect(used <= input.count)
                #expect(r.path.hasPrefix("/"))
                #expect(!r.path.split(separator: "/").contains { $0 == ".." || $0 == "." })
            }
        }
    }
}
