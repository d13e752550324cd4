import Glibc

/// Connects a blocking TCP socket to 127.0.0.1:`port`: the one loopback connect of the scripted
/// loggers and plain peers that `check logger`'s tests play. The socket, or nil when it could
/// not connect (the socket is then closed).
func connectLoopback(port: UInt16) -> Int32? {
    let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard s >= 0 else { return nil }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = port.bigEndian
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let ok = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    guard ok == 0 else { close(s); return nil }
    return s
}
