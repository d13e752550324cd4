// libFuzzer harness: the web console's HTTP request parser. Built by .ci/fuzz (see docs/fuzzing.md).
//
// The input is what a client sent on one connection. It is parsed as the server does: a request
// is taken from the front, then the next from what follows (pipelining, so the slices do not start
// at 0), until the parser needs more or refuses. Checked: a request consumes a whole head within
// the budget; the head alone parses to the same request, and every shorter prefix of it needs more
// (the server never answers early); what a request holds is what the server may trust (an
// uppercase method, HTTP/1.0 or 1.1, an origin-form path without dot segments, backslashes or
// control characters, lower-case token header names); refusals carry a 4xx/5xx status and a reason.
import Foundation
import HJWeb

let limits = HTTPRequestParser.Limits()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPRequest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var rest = bytes[...]
    var requests = 0
    while !rest.isEmpty {
        switch HTTPRequestParser.parse(rest, limits: limits) {
        case .needMore:
            // Nothing in the bytes held can be refused yet, so the request line is within its budget.
            return 0
        case .error(let status, let reason):
            guard [400, 414, 431, 505].contains(status), !reason.isEmpty else { fatalError("refusal \(status) '\(reason)'") }
            return 0
        case .request(let request, let consumed):
            guard consumed > 0, consumed <= rest.count, consumed <= limits.maxHeaderBytes + 1 else {
                fatalError("consumed \(consumed) of \(rest.count)")
            }
            check(request)
            let head = rest.prefix(consumed)
            guard HTTPRequestParser.parse(head, limits: limits) == .request(request, consumed: consumed) else {
                fatalError("the head alone parses differently")
            }
            // Every proper prefix of the head needs more bytes: no answer before the head is whole.
            var seed = UInt32(truncatingIfNeeded: size &* 31 &+ requests)
            for _ in 0..<3 {
                seed = seed &* 1_103_515_245 &+ 12345
                let cut = consumed == 1 ? 0 : Int(seed >> 8) % consumed
                for k in Set([cut, consumed - 1]) where k > 0 {
                    let result = HTTPRequestParser.parse(head.prefix(k), limits: limits)
                    guard result == .needMore else { fatalError("a prefix of \(k) of \(consumed) bytes gave \(result)") }
                }
            }
            rest = rest.dropFirst(consumed)
            requests += 1
        }
    }
    return 0
}

func check(_ r: HTTPRequest) {
    guard !r.method.isEmpty, r.method.unicodeScalars.allSatisfy({ $0.value >= 65 && $0.value <= 90 }) else { fatalError("method \(r.method)") }
    guard r.version == "HTTP/1.1" || r.version == "HTTP/1.0" else { fatalError("version \(r.version)") }
    // Bytes, not Characters: "/" followed by a combining mark is one Character (a finding of this harness).
    guard r.path.utf8.first == UInt8(ascii: "/") else { fatalError("path \(r.path.debugDescription)") }
    let segments = r.path.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
    guard !segments.contains(where: { $0.elementsEqual("..".utf8) || $0.elementsEqual(".".utf8) }), !r.path.utf8.contains(UInt8(ascii: "\\")),
          !r.path.unicodeScalars.contains(where: { $0.value < 0x20 }) else { fatalError("path \(r.path.debugDescription)") }
    for (name, _) in r.headers {
        guard !name.isEmpty, name == name.lowercased(),
              name.utf8.allSatisfy({ ($0 >= 0x21 && $0 < 0x7F) && $0 != UInt8(ascii: ":") }) else { fatalError("header \(name.debugDescription)") }
    }
    if r.version == "HTTP/1.1" && r.header("host") == nil { fatalError("HTTP/1.1 without Host") }
    _ = r.keepAlive
    for (k, _) in r.query { _ = r.parameter(k) }
}

@_cdecl("LLVMFuzzerInitialize")
public func initializeHTTPRequest(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    // `HJ212_FUZZ_SEEDS=DIR harness`: write the seed inputs to DIR and exit (.ci/fuzz does this).
    guard let dir = ProcessInfo.processInfo.environment["HJ212_FUZZ_SEEDS"] else { return 0 }
    let seeds = [
        "GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n",
        "GET /api/units HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\nAccept: application/json\r\n\r\n",
        "GET /api/series?mn=010000A89001000000000001&factor=w01018&kind=minute&from=20261130080000 HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /api/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\nGET /favicon.ico HTTP/1.0\r\n\r\n",
        "\r\nHEAD /unit/%E6%B5%8B%E8%AF%95?q=a+b&x=%41 HTTP/1.0\n\n",
        "GET /../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
        "POST /api HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
        "GET / HTTP/2.0\r\nHost: x\r\n\r\n",
        "GET http://example.com/ HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nX-Long: " + String(repeating: "v", count: 300) + "\r\n\r\n",
    ]
    for (i, s) in seeds.enumerated() {
        _ = FileManager.default.createFile(atPath: "\(dir)/seed-\(i)", contents: Data(s.utf8))
    }
    exit(0)
}
