import Glibc
import Testing
import HJNetwork

extension NetworkTests {
    /// The client with deadlines that step-by-step code (the platform probe) uses instead of its
    /// own socket and poll calls.
    @Suite("TCP client socket with deadlines")
    struct TCPClientSocketTests {
        init() throws {
            try ProcessSetup.prepareForNetworking()
        }

        /// Reads until `count` bytes came or 10 s passed (every wait bounded).
        func read(_ socket: TCPClientSocket, count: Int) -> [UInt8] {
            var got: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            let deadline = MonotonicTime.now + .seconds(10)
            while got.count < count && MonotonicTime.now < deadline {
                guard TCPClientSocket.waitReadable([socket], timeoutMilliseconds: 50)?.first == true else { continue }
                switch socket.receive(into: &buffer) {
                case .bytes(let n): got += buffer[0..<n]
                case .wouldBlock: continue
                case .endOfStream, .failed: return got
                }
            }
            return got
        }

        @Test("connect, send and receive through an echo server; our address is known; nothing waiting reads as wouldBlock")
        func echo() throws {
            let group = try EventLoopGroup(threads: 1)
            defer { group.shutdown() }
            let echo = try EchoServer(group: group)
            let socket = try TCPClientSocket.connect(to: echo.address, timeout: .seconds(5)).get()
            defer { socket.close() }
            #expect(socket.remoteAddress == echo.address)
            #expect(socket.localAddress?.host == "127.0.0.1" && socket.localAddress?.port != 0)
            var buffer = [UInt8](repeating: 0, count: 16)
            #expect(socket.receive(into: &buffer) == .wouldBlock)
            let message = Array("##0101QN=1;CN=2011&&1C80\r\n".utf8)
            #expect(socket.send(message, timeout: .seconds(5)) == .sent)
            #expect(read(socket, count: message.count) == message)
        }

        @Test("a refused connect is a connect error of kind refused, at once")
        func refused() throws {
            // A port that was listening a moment ago and is closed now.
            let group = try EventLoopGroup(threads: 1)
            let server = try TCPServer.start(on: .loopback(port: 0), group: group) { _ in TCPCallbacks() }
            let address = server.localAddress
            _ = server.stopAndWait(timeout: .seconds(5))
            group.shutdown()
            let start = MonotonicTime.now
            switch TCPClientSocket.connect(to: address, timeout: .seconds(5)) {
            case .failure(.connect(let error)): #expect(error.kind == .refused, "\(error)")
            case .failure(let other): Issue.record("expected refused, got \(other)")
            case .success: Issue.record("connected to a closed port")
            }
            #expect(MonotonicTime.now - start < .seconds(5))
        }

        @Test("the peer's close reads as endOfStream; our reset close is seen by the peer as a reset")
        func closes() async throws {
            let group = try EventLoopGroup(threads: 1)
            defer { group.shutdown() }
            let echo = try EchoServer(group: group)
            let first = try TCPClientSocket.connect(to: echo.address, timeout: .seconds(5)).get()
            #expect(await eventually { echo.sides.value.count == 1 })
            let side = echo.sides.value[0]
            first.close(reset: true)
            #expect(first.isClosed)
            #expect(await eventually { side.isClosed })
            if case .error(let e)? = side.closeReason.value, e.kind == .reset {} else { Issue.record("expected a reset, got \(String(describing: side.closeReason.value))") }

            let second = try TCPClientSocket.connect(to: echo.address, timeout: .seconds(5)).get()
            defer { second.close() }
            #expect(await eventually { echo.sides.value.count == 2 })
            _ = echo.server.stopAndWait(timeout: .seconds(5))  // closes the server's side of every connection
            var buffer = [UInt8](repeating: 0, count: 64)
            var last = TCPClientSocket.ReceiveResult.wouldBlock
            let closed = await eventually {
                last = second.receive(into: &buffer)
                return last == .endOfStream
            }
            #expect(closed, "last receive: \(last)")
        }

        @Test("a server connection closed with reset reaches the client as a reset (kind .reset), not an end of stream")
        func serverReset() async throws {
            let group = try EventLoopGroup(threads: 1)
            defer { group.shutdown() }
            // Closes with a reset on the first bytes it reads.
            let server = try TCPServer.start(on: .loopback(port: 0), group: group) { _ in
                TCPCallbacks(onRead: { c, _ in c.close(reset: true) })
            }
            defer { _ = server.stopAndWait(timeout: .seconds(5)) }
            let socket = try TCPClientSocket.connect(to: server.localAddress, timeout: .seconds(5)).get()
            defer { socket.close() }
            #expect(socket.send(Array("hello\r\n".utf8), timeout: .seconds(5)) == .sent)
            var buffer = [UInt8](repeating: 0, count: 64)
            var last = TCPClientSocket.ReceiveResult.wouldBlock
            let failed = await eventually {
                last = socket.receive(into: &buffer)
                return last != .wouldBlock
            }
            #expect(failed)
            if case .failed(let e) = last, e.kind == .reset {} else { Issue.record("expected a reset, got \(last)") }
        }
    }
}
