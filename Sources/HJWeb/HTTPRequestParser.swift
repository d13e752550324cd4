import Foundation

/// An HTTP/1.1 request head (the console serves GET and HEAD only, so there is no body).
public struct HTTPRequest: Sendable, Equatable {
    public var method: String
    /// The decoded path, always starting with `/`, never containing `..` segments.
    public var path: String
    /// Query parameters, decoded, in order.
    public var query: [(String, String)]
    public var version: String
    /// Header names lower-cased, values trimmed, in order.
    public var headers: [(String, String)]

    public func header(_ name: String) -> String? {
        let n = name.lowercased()
        return headers.first { $0.0 == n }?.1
    }

    public func parameter(_ name: String) -> String? { query.first { $0.0 == name }?.1 }

    /// Whether the connection stays open after the response (HTTP/1.1 default; 1.0 asks).
    public var keepAlive: Bool {
        let c = header("connection")?.lowercased() ?? ""
        return version == "HTTP/1.1" ? !c.contains("close") : c.contains("keep-alive")
    }

    public static func == (a: HTTPRequest, b: HTTPRequest) -> Bool {
        a.method == b.method && a.path == b.path && a.version == b.version
            && a.query.map { "\($0.0)=\($0.1)" } == b.query.map { "\($0.0)=\($0.1)" }
            && a.headers.map { "\($0.0):\($0.1)" } == b.headers.map { "\($0.0):\($0.1)" }
    }
}

/// A strict, bounded HTTP/1.1 request-head parser: a pure function of the bytes received so far.
///
/// It answers `.request` (with the bytes it used, so pipelined requests follow), `.needMore`,
/// or `.error(status)`; the caller answers the error and closes. Limits: request line at most
/// `maxRequestLine` bytes, whole head at most `maxHeaderBytes`, at most `maxHeaders` fields;
/// bytes that are not allowed (control characters, non-ASCII in the head, bare CR), an absolute
/// or malformed target, a `..` segment (path traversal), a body (Content-Length > 0 or
/// Transfer-Encoding: GET and HEAD have none) are errors.
///
/// ```swift
/// switch HTTPRequestParser.parse(buffer[...]) {
/// case .request(let r, let used): buffer.removeFirst(used); answer(r)
/// case .needMore: break
/// case .error(let status, let why): reply(status, why); close()
/// }
/// ```
public enum HTTPRequestParser {
    public struct Limits: Sendable {
        public var maxRequestLine = 2048
        public var maxHeaderBytes = 8192
        public var maxHeaders = 64
        public init() {}
    }

    public enum Result: Sendable, Equatable {
        case request(HTTPRequest, consumed: Int)
        case needMore
        case error(status: Int, reason: String)
    }

    public static func parse(_ bytes: ArraySlice<UInt8>, limits: Limits = Limits()) -> Result {
        // Find the end of the head (CRLF CRLF; a lone LF line end is tolerated as RFC 9112 allows).
        var i = bytes.startIndex
        var lineStart = i
        var lines: [ArraySlice<UInt8>] = []
        var headEnd: Int?
        while i < bytes.endIndex {
            let b = bytes[i]
            if b == 0x0A {
                var end = i
                if end > lineStart, bytes[end - 1] == 0x0D { end -= 1 }
                let line = bytes[lineStart..<end]
                if lines.isEmpty && line.isEmpty {
                    // Leading empty lines before the request line are ignored (RFC 9112 §2.2), a few only.
                    if i - bytes.startIndex > 8 { return .error(status: 400, reason: "empty lines before the request") }
                    lineStart = i + 1
                    i += 1
                    continue
                }
                if line.isEmpty { headEnd = i + 1; break }
                lines.append(line)
                if lines.count > limits.maxHeaders + 1 { return .error(status: 431, reason: "more than \(limits.maxHeaders) header fields") }
                lineStart = i + 1
            } else if b == 0x0D {
                if i + 1 < bytes.endIndex, bytes[i + 1] != 0x0A { return .error(status: 400, reason: "bare CR in the request head") }
            } else if b < 0x20 && b != 0x09 || b >= 0x7F {
                return .error(status: 400, reason: "byte 0x\(String(b, radix: 16)) not allowed in the request head")
            }
            if lines.isEmpty && i - lineStart >= limits.maxRequestLine { return .error(status: 414, reason: "request line longer than \(limits.maxRequestLine) bytes") }
            if i - bytes.startIndex >= limits.maxHeaderBytes { return .error(status: 431, reason: "request head larger than \(limits.maxHeaderBytes) bytes") }
            i += 1
        }
        guard let end = headEnd else {
            if lines.isEmpty && bytes.endIndex - lineStart >= limits.maxRequestLine { return .error(status: 414, reason: "request line longer than \(limits.maxRequestLine) bytes") }
            return .needMore
        }
        let requestLine = String(decoding: lines[0], as: UTF8.self)
        let parts = requestLine.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, parts[0].allSatisfy({ $0.isUppercase && $0.isASCII }) else {
            return .error(status: 400, reason: "malformed request line")
        }
        let version = String(parts[2])
        guard version == "HTTP/1.1" || version == "HTTP/1.0" else { return .error(status: 505, reason: "HTTP version not supported") }
        let target = String(parts[1])
        guard target.hasPrefix("/") else { return .error(status: 400, reason: "only origin-form targets (/path) are served") }
        var headers: [(String, String)] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex else { return .error(status: 400, reason: "malformed header field") }
            let name = String(decoding: line[line.startIndex..<colon], as: UTF8.self)
            guard name.utf8.allSatisfy({ Self.tokenByte($0) }) else { return .error(status: 400, reason: "malformed header name") }
            let value = String(decoding: line[(colon + 1)...], as: UTF8.self).trimmingCharacters(in: .whitespaces)
            headers.append((name.lowercased(), value))
        }
        if version == "HTTP/1.1", !headers.contains(where: { $0.0 == "host" }) { return .error(status: 400, reason: "Host header missing") }
        if headers.contains(where: { $0.0 == "transfer-encoding" }) { return .error(status: 400, reason: "a request body is not accepted") }
        let lengths = headers.filter { $0.0 == "content-length" }
        if lengths.count > 1 || lengths.contains(where: { $0.1 != "0" }) { return .error(status: 400, reason: "a request body is not accepted") }
        let (rawPath, rawQuery) = split(target)
        guard let path = decode(rawPath, plusIsSpace: false) else { return .error(status: 400, reason: "malformed percent-encoding in the path") }
        // On bytes, not Characters: a combining mark after '/' makes one Character with it, which
        // a Character split would not cut at (hiding a ".." segment behind it).
        let segments = path.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        if segments.contains(where: { $0.elementsEqual("..".utf8) || $0.elementsEqual(".".utf8) }) || path.utf8.contains(UInt8(ascii: "\\"))
            || path.unicodeScalars.contains(where: { $0.value < 0x20 }) {
            return .error(status: 400, reason: "path traversal refused")
        }
        var query: [(String, String)] = []
        if let rawQuery {
            for pair in rawQuery.split(separator: "&") where !pair.isEmpty {
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard let k = decode(String(kv[0]), plusIsSpace: true), let v = decode(kv.count > 1 ? String(kv[1]) : "", plusIsSpace: true) else {
                    return .error(status: 400, reason: "malformed query")
                }
                query.append((k, v))
            }
        }
        let request = HTTPRequest(method: String(parts[0]), path: path, query: query, version: version, headers: headers)
        return .request(request, consumed: end - bytes.startIndex)
    }

    static func tokenByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || "!#$%&'*+-.^_`|~".utf8.contains(b)
    }

    static func split(_ target: String) -> (String, String?) {
        guard let q = target.firstIndex(of: "?") else { return (target, nil) }
        return (String(target[..<q]), String(target[target.index(after: q)...]))
    }

    /// Percent-decoding; nil for a malformed escape or bytes that are not UTF-8.
    static func decode(_ s: String, plusIsSpace: Bool) -> String? {
        var out: [UInt8] = []
        var it = Array(s.utf8)[...]
        while let b = it.popFirst() {
            if b == UInt8(ascii: "%") {
                guard it.count >= 2, let h = UInt8(String(decoding: it.prefix(2), as: UTF8.self), radix: 16) else { return nil }
                out.append(h)
                it = it.dropFirst(2)
            } else if b == UInt8(ascii: "+") && plusIsSpace {
                out.append(0x20)
            } else {
                out.append(b)
            }
        }
        return String(validating: out, as: UTF8.self)
    }
}
