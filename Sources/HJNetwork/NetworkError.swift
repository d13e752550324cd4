import Glibc
import CEpoll

/// A failure of the network layer: a kind to switch on, the errno it came from (if any),
/// the operation that failed and a message for a person.
///
/// `Sendable` because it is a value of `Sendable` fields.
///
/// ```swift
/// TCPClient.connect(to: address, on: loop) { result in
///     if case .failure(let error) = result, error.kind == .refused {
///         print("nobody listens on \(address): \(error)")
///     }
/// }
/// ```
public struct NetworkError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, coarse enough to switch on.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// Nobody listens at the address (ECONNREFUSED).
        case refused
        /// The peer reset the connection (ECONNRESET).
        case reset
        /// Writing to a connection the peer has closed (EPIPE).
        case brokenPipe
        /// A connect timeout of ours, or the kernel's (ETIMEDOUT).
        case timedOut
        /// No route to the network or host (ENETUNREACH, EHOSTUNREACH, ENETDOWN).
        case unreachable
        /// The local address is taken (EADDRINUSE).
        case addressInUse
        /// The local address cannot be used, or no local port is free (EADDRNOTAVAIL, EAGAIN on connect).
        case addressNotAvailable
        /// The process or system is out of file descriptors (EMFILE, ENFILE).
        case tooManyOpenFiles
        /// An address text that does not parse.
        case invalidAddress
        /// The event loop stopped before the operation could finish.
        case loopShutdown
        /// Any other system error; see `errno`.
        case other
    }

    /// What went wrong.
    public let kind: Kind
    /// The system error number, or nil when the failure did not come from a system call.
    public let errno: Int32?
    /// The operation that failed, for example `"connect 127.0.0.1:7000"`.
    public let operation: String
    /// A description of the failure for a person.
    public let message: String

    /// Makes an error from its parts.
    ///
    /// ```swift
    /// throw NetworkError(kind: .invalidAddress, operation: "parse", message: "port missing in \"127.0.0.1\"")
    /// ```
    public init(kind: Kind, errno: Int32? = nil, operation: String, message: String) {
        self.kind = kind
        self.errno = errno
        self.operation = operation
        self.message = message
    }

    /// Makes an error from a system error number, with the system's message.
    ///
    /// ```swift
    /// let error = NetworkError(errno: ECONNREFUSED, operation: "connect 127.0.0.1:9")
    /// // error.kind == .refused; "connect 127.0.0.1:9: Connection refused (ECONNREFUSED)"
    /// ```
    public init(errno code: Int32, operation: String) {
        self.init(kind: Self.kind(forErrno: code), errno: code, operation: operation,
                  message: Self.systemMessage(code))
    }

    /// `"operation: message (ENAME)"`.
    public var description: String {
        var text = "\(operation): \(message)"
        if let errno { text += " (\(Self.errnoName(errno)))" }
        return text
    }

    /// The kind a system error number falls under.
    ///
    /// ```swift
    /// NetworkError.kind(forErrno: ECONNRESET)   // .reset
    /// ```
    public static func kind(forErrno code: Int32) -> Kind {
        switch code {
        case ECONNREFUSED: .refused
        case ECONNRESET, ECONNABORTED: .reset
        case EPIPE: .brokenPipe
        case ETIMEDOUT: .timedOut
        case ENETUNREACH, EHOSTUNREACH, ENETDOWN, EHOSTDOWN: .unreachable
        case EADDRINUSE: .addressInUse
        case EADDRNOTAVAIL: .addressNotAvailable
        case EMFILE, ENFILE: .tooManyOpenFiles
        default: .other
        }
    }

    /// The system's text for an error number (`strerror_r`).
    ///
    /// ```swift
    /// NetworkError.systemMessage(EPIPE)   // "Broken pipe"
    /// ```
    public static func systemMessage(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        buffer.withUnsafeMutableBufferPointer { cepoll_strerror(code, $0.baseAddress, $0.count) }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The system error as a report shows it: `ENAME (system message)` for the error numbers
    /// named here (`errnoNames`), `errno N (system message)` for any other, and the message
    /// alone when the failure did not come from a system call. The name comes first so that a
    /// message catalogue can translate the error by its name (the system's wording varies with
    /// the C library and the locale).
    ///
    /// ```swift
    /// NetworkError(errno: ECONNRESET, operation: "recv").reason   // "ECONNRESET (Connection reset by peer)"
    /// NetworkError(errno: 200, operation: "recv").reason          // "errno 200 (Unknown error 200)"
    /// ```
    public var reason: String {
        guard let errno else { return message }
        return "\(Self.errnoName(errno)) (\(message))"
    }

    /// The error numbers a TCP socket can meet on socket, connect, bind, listen, accept, send and
    /// recv (and on a Unix-domain path), with their symbolic names. A report in Chinese has a
    /// translation for each (`Profiles/checks/messages.json`); any other number is shown as
    /// `errno N`.
    public static let errnoNames: [(code: Int32, name: String)] = [
        (ECONNREFUSED, "ECONNREFUSED"), (ECONNRESET, "ECONNRESET"), (ECONNABORTED, "ECONNABORTED"), (EPIPE, "EPIPE"),
        (ETIMEDOUT, "ETIMEDOUT"), (ENETUNREACH, "ENETUNREACH"), (EHOSTUNREACH, "EHOSTUNREACH"), (ENETDOWN, "ENETDOWN"),
        (EHOSTDOWN, "EHOSTDOWN"), (ENETRESET, "ENETRESET"), (EADDRINUSE, "EADDRINUSE"), (EADDRNOTAVAIL, "EADDRNOTAVAIL"),
        (EMFILE, "EMFILE"), (ENFILE, "ENFILE"), (ENOBUFS, "ENOBUFS"), (ENOMEM, "ENOMEM"),
        (EAGAIN, "EAGAIN"), (EINPROGRESS, "EINPROGRESS"), (EALREADY, "EALREADY"), (EISCONN, "EISCONN"),
        (ENOTCONN, "ENOTCONN"), (ESHUTDOWN, "ESHUTDOWN"), (EINTR, "EINTR"), (EBADF, "EBADF"),
        (EINVAL, "EINVAL"), (EFAULT, "EFAULT"), (EACCES, "EACCES"), (EPERM, "EPERM"),
        (ENOTSOCK, "ENOTSOCK"), (EOPNOTSUPP, "EOPNOTSUPP"), (EAFNOSUPPORT, "EAFNOSUPPORT"), (EPROTONOSUPPORT, "EPROTONOSUPPORT"),
        (EPROTOTYPE, "EPROTOTYPE"), (EPROTO, "EPROTO"), (EMSGSIZE, "EMSGSIZE"), (EIO, "EIO"),
        (ENOENT, "ENOENT"), (ENOTDIR, "ENOTDIR"), (ENAMETOOLONG, "ENAMETOOLONG"), (ELOOP, "ELOOP"),
        (EROFS, "EROFS"), (ENOSPC, "ENOSPC"),
    ]

    /// The symbolic name of the error numbers met on sockets (`errnoNames`), else `"errno N"`.
    ///
    /// ```swift
    /// NetworkError.errnoName(ECONNRESET)   // "ECONNRESET"
    /// ```
    public static func errnoName(_ code: Int32) -> String {
        errnoNames.first { $0.code == code }?.name ?? "errno \(code)"
    }
}
