import Glibc
import Testing
import HJNetwork

extension NetworkTests {
    @Suite("Connects on a loop that fell behind")
    struct ConnectLagTests {
        /// 600 connects started in one turn of the loop, which then sleeps past their 1 ms
        /// timeout: epoll hands out 256 completions per wait and the timers run after each batch,
        /// so the later completions were judged by their timers (timed out) although connected.
        @Test("a connect whose completion waits in epoll when its timer fires is a connection, not a timeout")
        func lateTimerSeesConnection() async throws {
            try ProcessSetup.prepareForNetworking()
            let serverGroup = try EventLoopGroup(threads: 1)
            defer { serverGroup.shutdown() }
            let server = try TCPServer.start(on: .loopback(port: 0), group: serverGroup) { _ in TCPCallbacks() }
            defer { _ = server.stopAndWait(timeout: .seconds(5)) }
            let group = try EventLoopGroup(threads: 1)
            defer { group.shutdown() }
            let loop = group.next()
            let count = 600
            let connected = Locked<Int>(0)
            let failures = Locked<[String]>([])
            let address = server.localAddress
            _ = loop.execute {
                for _ in 0..<count {
                    TCPClient.connect(to: address, on: loop, timeout: .milliseconds(1)) { result in
                        switch result {
                        case .success(let connection):
                            connected.update { $0 += 1 }
                            connection.close()
                        case .failure(let error):
                            failures.update { $0.append("\(error)") }
                        }
                    }
                }
                usleep(100_000)  // the loop falls behind: every timer is due before any completion is read
            }
            #expect(await eventually { connected.value + failures.value.count == count })
            #expect(connected.value == count, "\(failures.value.count) failed, first: \(failures.value.first ?? "-")")
        }
    }
}
