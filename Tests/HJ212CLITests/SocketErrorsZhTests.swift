import Foundation
import Glibc
import HJConformance
import HJNetwork
import Testing

/// Socket errors in a Chinese report (session 23): every error number a TCP connection can meet
/// reads in Chinese, named by its symbol; any other is shown as `errno N (…)` inside Chinese.
@Suite("socket errors in Chinese reports")
struct SocketErrorsZhTests {
    /// The catalogue judged: the built-in one, or HJ212_CHECK_MESSAGES (another messages.json,
    /// an older one say, as in `CheckPlatformMessagesZhTests`).
    static func catalogue() throws -> MessageCatalogue {
        let other = ProcessInfo.processInfo.environment["HJ212_CHECK_MESSAGES"]
        return try other.map { try MessageCatalogue.parse(String(contentsOfFile: $0, encoding: .utf8), file: $0) } ?? RuleCatalogue.load().messages
    }

    /// The Latin letters of `text` once `allowed` is taken out.
    static func latinLetters(_ text: String, allowing allowed: String) -> String {
        String(text.replacingOccurrences(of: allowed, with: "").unicodeScalars.filter { $0.isASCII && $0.properties.isAlphabetic }.map(Character.init))
    }

    @Test("every named socket error reads in Chinese in each message that quotes one, with no Latin letters but its symbol")
    func everyNamedErrno() throws {
        let catalogue = try Self.catalogue()
        // The errors the task names, at least (the table may hold more).
        let required: [Int32] = [ECONNREFUSED, ECONNRESET, EPIPE, ETIMEDOUT, EHOSTUNREACH, ENETUNREACH, EADDRNOTAVAIL, ECONNABORTED,
                                 EADDRINUSE, EACCES, EMFILE, ENFILE, ENOBUFS, ENOMEM, EINTR, EAGAIN, ENOTCONN, EINVAL, ENOENT]
        let named = Set(NetworkError.errnoNames.map(\.code))
        #expect(required.allSatisfy(named.contains), "\(required.filter { !named.contains($0) })")
        for (code, name) in NetworkError.errnoNames {
            for operation in ["recv", "send", "connect to 127.0.0.1:7000", "accept on 127.0.0.1:7000"] {
                let reason = NetworkError(errno: code, operation: operation).reason
                #expect(reason.hasPrefix(name + " ("), "\(reason)")
                // The shapes the probe and check logger write (PlatformProbe, LoggerCheck).
                for message in ["recv: \(reason)", "send: \(reason)", "socket: \(reason)", "cannot connect to 127.0.0.1:7000: \(reason)",
                                "logger 1: the platform closed the connection with a reset (recv: \(reason))", "cannot listen on 0.0.0.0:7000: \(reason)",
                                "could not send: send: \(reason)", "not exercised: the platform could not be reached (cannot connect to 127.0.0.1:7000: \(reason))"] {
                    let zh = catalogue.localized(message, .zh)
                    #expect(zh.contains(name), "\(message) → \(zh)")
                    #expect(Self.latinLetters(zh, allowing: name).isEmpty, "\(message) → \(zh)")
                }
            }
        }
    }

    @Test("an error number without a name is shown with its number and the system's words, inside Chinese")
    func unknownErrno() throws {
        let catalogue = try Self.catalogue()
        for code: Int32 in [200, 4095, ECHRNG] {
            let reason = NetworkError(errno: code, operation: "recv").reason
            #expect(reason.hasPrefix("errno \(code) ("), "\(reason)")
            let zh = catalogue.localized("recv: \(reason)", .zh)
            #expect(zh.hasPrefix("接收失败：系统错误 errno \(code)（") && zh.hasSuffix("）"), "\(zh)")
            #expect(zh.contains(NetworkError.systemMessage(code)), "\(zh)")
        }
        // Not from a system call: the message alone.
        #expect(NetworkError(kind: .invalidAddress, operation: "parse", message: "port missing").reason == "port missing")
    }
}
