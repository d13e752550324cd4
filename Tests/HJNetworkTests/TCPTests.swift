import Glibc
import Testing
import HJNetwork

extension NetworkTests {
    @Suite("TCP client and server")
    struct TCPTests {
        init() throws {
            try ProcessSetup.prepareForNetworking()
        }

        @Test("echo: 1,000 small writes, one 8 MB write, 1,000 more small writes come back intact and in order")
        func echoRoundTrip() async throws {
            let group = try EventLoopGroup(threads: 2)
            defer { group.shutdown() }
            let echo = try EchoServer(group: group)
            #expect(echo.address.port != 0)
            let loop = group.next()
            let (client, received) = try await connectRecording(to: echo.address, on: loop)
            #expect(client.remoteAddress == echo.address)
            #expect(client.localAddress.host == "127.0.0.1")

            // Small writes, the large one (the kernel takes only part: the rest is queued), then
            // more small writes that must queue behind it and keep their order.
            var expected: [UInt8] = []
            let small = (0..<1000).map { Array("line \($0)\r\n".utf8) }
            let after = (0..<1000).map { Array("after \($0)\r\n".utf8) }
            let large = pattern(8 * 1024 * 1024)
            for line in small { expected += line }
            expected += large
            for line in after { expected += line }
            let result = await onLoop(loop) { () -> (Bool, Int) in
                var ok = true
                for line in small { ok = client.write(line) && ok }
                ok = client.write(large) && ok
                for line in after { ok = client.write(line) && ok }
                return (ok, client.pendingOutputBytes)
            }
            #expect(result?.0 == true)
            // Whether the kernel left part queued depends on how fast the echo side drained it;
            // when it did, the connection owes its handler one `connectionDidDrain`.
            let queued = (result?.1 ?? 0) > 0
            #expect(await eventually(timeout: .seconds(20)) { received.count >= expected.count })
            #expect(received.bytes.value == expected)
            #expect(received.reads.value > 1)
            if queued { #expect(await eventually { received.drains.value >= 1 }) }  // queued output waited for EPOLLOUT
            let (written, pending) = await onLoop(loop) { (client.bytesWritten, client.pendingOutputBytes) } ?? (0, -1)
            #expect(written == UInt64(expected.count))
            #expect(pending == 0)
            echo.server.stopAndWait()
        }

        @Test("a peer sending one byte at a time is delivered correctly")
        func oneByteAtATime() async throws {
            let group = try EventLoopGroup(threads: 2)
            defer { group.shutdown() }
            let echo = try EchoServer(group: group)
            let loop = group.next()
            let (client, received) = try await connectRecording(to: echo.address, on: loop)
            let message = pattern(400, seed: 7)
            // One write per loop turn, each a separate TCP segment (TCP_NODELAY is on).
            let sendNext = Locked<(@Sendable (Int) -> Void)?>(nil)
            sendNext.set { index in
                guard index < message.count else { return }
                client.write([message[index]])
                loop.schedule(after: .microseconds(50)) { sendNext.value?(index + 1) }
            }
            loop.execute { sendNext.value?(0) }
            #expect(await eventually { received.count >= message.count })
            #expect(received.bytes.value == message)
            let server = try #require(echo.sides.value.first)
            #expect(server.bytes.value == message)
            #expect(server.reads.value > 10)  // it really arrived in pieces
            sendNext.set(nil)
            echo.server.stopAndWait()
        }

        @Test("a peer that closes is reported as peerClosed, on both sides")
        func peerCloses() async throws {
            let group = try EventLoopGroup(threads: 2)
            defer { group.shutdown() }
            // The server closes after the first read; the client hears peerClosed.
            let serverSide = Recorder()
            let server = try TCPServer.start(on: .loopback(port: 0), group: group) { _ in
                TCPCallbacks(onRead: { connection, bytes in
                    connection.write(Array("bye".utf8))
                    connection.closeAfterFlush()
                }, onClose: { _, reason in serverSide.closeReason.set(reason) })
            }
            let (client, received) = try await connectRecording(to: server.localAddress, on: group.next())
            client.loop.execute { client.write([1]) }
            #expect(await eventually { received.isClosed })
            #expect(received.closeReason.value == .peerClosed)
            #expect(received.bytes.value == Array("bye".utf8))
            #expect(serverSide.closeReason.value == .local)
            #expect(await eventually { server.connectionCount == 0 })

            // The client closes; the server-side handler hears peerClosed.
            let echo = try EchoServer(group: group)
            let (second, _) = try await connectRecording(to: echo.address, on: group.next())
            #expect(await eventually { echo.sides.value.count == 1 })
            _ = await onLoop(second.loop) { second.close(); second.close() }  // idempotent
            let side = try #require(echo.sides.value.first)
            #expect(await eventually { side.isClosed })
            #expect(side.closeReason.value == .peerClosed)
            #expect(second.closeReason == .local)
            #expect(await onLoop(second.loop) { second.write([1]) } == false)
            server.stopAndWait()
            echo.server.stopAndWait()
        }

        @Test("a peer that resets is reported as an error of kind reset")
        func peerResets() async throws {
            let group = try EventLoopGroup(threads: 1)
            defer { group.shutdown() }
            let echo = try EchoServer(group: group)
            let raw = RawSocket.connectBlocking(port: echo.address.port)
            #expect(raw >= 0)
            #expect(await eventually { echo.sides.value.count == 1 })
            RawSocket.resetAndClose(raw)
            let side = try #require(echo.sides.value.first)
            #expect(await eventually { side.isClosed })
            guard case .error(let error) = side.closeReason.value else {
                Issue.record("expected an error, got \(String(describing: side.closeReason.value))")
                return
            }
            #expect(error.kind == .reset)
            #expect(error.errno == ECONNRESET)
            echo.server.stopAndWait()
        }

        @Test("a peer that connects and never sends does not block the others")
        func idlePeerDoesNotBlock() async throws {
            let group = try EventLoopGroup(threads: 1)  // one loop: everything shares one thread
            defer { group.shutdown() }
            let echo = try EchoServer(group: group)
            let idle = (0..<5).map { _ in RawSocket.connectBlocking(port: echo.address.port) }
            defer { for fd in idle { close(fd) } }
            #expect(await eventually { echo.server.connectionCount == 5 })
            var recorders: [Recorder] = []
            for index in 0..<20 {
                let (client, recorder) = try await connectRecording(to: echo.address, on: group.next())
                client.loop.execute { client.write(Array("hello \(index)".utf8)) }
                recorders.append(recorder)
            }
            for (index, recorder) in recorders.enumerated() {
                let expected = Array("hello \(index)".utf8)
                #expect(await eventually(timeout: .seconds(5)) { recorder.bytes.value == expected })
            }
            echo.server.stopAndWait()
        }

        @Test("connect to a closed port fails with refused")
        func refused() async throws {
            let group = try EventLoopGroup(threads: 1)
            defer { group.shutdown() }
            // Bind a port, then free it: nobody listens there now.
            let (fd, port) = RawSocket.listener(backlog: 1)
            close(fd)
            do {
                _ = try await TCPClient.connect(to: .loopback(port: port), on: group.next(), timeout: .seconds(5))
                Issue.record("connect to a closed port succeeded")
            } catch {
                #expect(error.kind == .refused)
                #expect(error.errno == ECONNREFUSED)
                #expect(error.description.contains("127.0.0.1:\(port)"))
            }
            // The text form reports an unparsable address through the same path.
            let result = Locked<Result<TCPConnection, NetworkError>?>(nil)
            TCPClient.connect(host: "[::1]", port: 7000, on: group.next()) { result.set($0) }
            #expect(await eventually { result.value != nil })
            if case .failure(let error)? = result.value { #expect(error.kind == .invalidAddress) }
            else { Issue.record("expected invalidAddress") }
        }

        @Test("connect times out against a listener whose backlog is full")
        func connectTimeout() async throws {
            let group = try EventLoopGroup(threads: 1)
            defer { group.shutdown() }
            // backlog 0: the kernel queues one connection, never accepted; later SYNs are dropped.
            let (listener, port) = RawSocket.listener(backlog: 0)
            let fillers = (0..<3).map { _ in RawSocket.startConnect(port: port) }
            defer {
                for fd in fillers { close(fd) }
                close(listener)
            }
            try await Task.sleep(for: .milliseconds(50))
            let start = MonotonicTime.now
            do {
                let connection = try await TCPClient.connect(to: .loopback(port: port), on: group.next(),
                                                             timeout: .milliseconds(300))
                Issue.record("connect unexpectedly succeeded: \(connection)")
            } catch {
                let elapsed = MonotonicTime.now - start
                #expect(error.kind == .timedOut)
                #expect(error.message.contains("300 ms"))
                #expect(elapsed >= .milliseconds(290))
                #expect(elapsed < .seconds(3))
            }
        }

        @Test("writes to a peer that never reads hit the output cap: closed, memory bounded")
        func backpressureCloses() async throws {
            let group = try EventLoopGroup(threads: 2)
            defer { group.shutdown() }
            let server = try TCPServer.start(on: .loopback(port: 0), group: group) { connection in
                connection.pauseReading()  // never reads
                return TCPCallbacks()
            }
            var options = TCPOptions()
            options.maxPendingOutput = 1024 * 1024
            let (client, recorder) = try await connectRecording(to: server.localAddress, on: group.next(),
                                                                options: options)
            let outcome = await onLoop(client.loop) { () -> (refusedAt: Int?, maxPending: Int) in
                let chunk = [UInt8](repeating: 0x55, count: 64 * 1024)
                var maxPending = 0
                for index in 0..<1024 {  // at most 64 MB offered
                    if !client.write(chunk) { return (index, maxPending) }
                    maxPending = max(maxPending, client.pendingOutputBytes)
                }
                return (nil, maxPending)
            }
            let result = try #require(outcome)
            #expect(result.refusedAt != nil)
            #expect(result.maxPending <= options.maxPendingOutput)
            #expect(await eventually { recorder.isClosed })
            guard case .outputLimitExceeded(let pending, let attempted, let limit)? = recorder.closeReason.value else {
                Issue.record("expected outputLimitExceeded, got \(String(describing: recorder.closeReason.value))")
                return
            }
            #expect(pending + attempted > limit)
            #expect(limit == 1024 * 1024)
            #expect(client.pendingOutputBytes == 0)  // dropped at close
            server.stopAndWait()
        }

        @Test("with the rejectWrite policy an over-cap write is refused and the connection stays open")
        func backpressureRejects() async throws {
            let group = try EventLoopGroup(threads: 2)
            defer { group.shutdown() }
            let reader = Locked<TCPConnection?>(nil)
            let server = try TCPServer.start(on: .loopback(port: 0), group: group) { connection in
                connection.pauseReading()
                reader.set(connection)
                return TCPCallbacks()
            }
            var options = TCPOptions()
            options.maxPendingOutput = 256 * 1024
            options.whenOutputLimitExceeded = .rejectWrite
            let (client, recorder) = try await connectRecording(to: server.localAddress, on: group.next(),
                                                                options: options)
            let refused = await onLoop(client.loop) { () -> Bool in
                let chunk = [UInt8](repeating: 1, count: 32 * 1024)
                for _ in 0..<2048 where !client.write(chunk) { return true }
                return false
            }
            #expect(refused == true)
            #expect(await onLoop(client.loop) { client.isOpen } == true)
            #expect(await onLoop(client.loop) { client.pendingOutputBytes } ?? .max <= options.maxPendingOutput)
            // Let the peer read: the queue drains and the writer is told.
            #expect(await eventually { reader.value != nil })
            let peer = try #require(reader.value)
            peer.loop.execute {
                peer.handler = TCPCallbacks()
                peer.resumeReading()
            }
            #expect(await eventually { recorder.drains.value >= 1 })
            #expect(await onLoop(client.loop) { client.write([1, 2, 3]) } == true)
            server.stopAndWait()
        }

        @Test("clients can bind a 127.0.0.x source address")
        func sourceAddress() async throws {
            let group = try EventLoopGroup(threads: 1)
            defer { group.shutdown() }
            let echo = try EchoServer(group: group)
            for last: UInt8 in [2, 3] {
                let (client, recorder) = try await connectRecording(
                    to: echo.address, on: group.next(), from: .loopback(port: 0, last: last))
                #expect(client.localAddress.host == "127.0.0.\(last)")
                client.loop.execute { client.write([last]) }
                #expect(await eventually { recorder.bytes.value == [last] })
            }
            echo.server.stopAndWait()
        }

        @Test("server stop closes every connection; group shutdown ends the threads; no descriptor leaks")
        func cleanShutdown() async throws {
            // Leaks are judged on the sockets of this test's own ports (other suites open and close
            // sockets in the same process meanwhile, so a count of descriptors would be disturbed).
            var ports: Set<UInt16> = []
            do {
                let group = try EventLoopGroup(threads: 2)
                let echo = try EchoServer(group: group)
                var clients: [(TCPConnection, Recorder)] = []
                for _ in 0..<50 {
                    clients.append(try await connectRecording(to: echo.address, on: group.next()))
                }
                #expect(await eventually { echo.server.connectionCount == 50 })
                ports.insert(echo.address.port)
                #expect(openSockets(onPorts: ports) >= 2 * 50 + 1)
                #expect(echo.server.stopAndWait(timeout: .seconds(5)))
                #expect(echo.server.connectionCount == 0)
                #expect(await eventually { echo.sides.value.allSatisfy { $0.closeReason.value == .serverStopped } })
                #expect(await eventually { clients.allSatisfy { $0.1.closeReason.value == .peerClosed } })
                // A second stop is harmless and returns at once.
                #expect(echo.server.stopAndWait(timeout: .seconds(1)))

                // Connections still open when the group shuts down are closed with loopShutdown
                // (the client lives in another group, so it only hears the end of stream).
                let clientGroup = try EventLoopGroup(threads: 1)
                let echo2 = try EchoServer(group: group)
                let (last, lastRecorder) = try await connectRecording(to: echo2.address, on: clientGroup.next())
                ports.insert(echo2.address.port)
                #expect(await eventually { echo2.server.connectionCount == 1 })
                group.shutdown()
                #expect(group.loops.allSatisfy { $0.isFinished })
                #expect(echo2.sides.value.first?.closeReason.value == .loopShutdown)
                #expect(echo2.server.connectionCount == 0)
                #expect(await eventually { lastRecorder.closeReason.value == .peerClosed })
                #expect(await onLoop(last.loop) { last.isOpen } == false)
                // The listener closed too: connecting now is refused.
                #expect(RawSocket.connectBlocking(port: echo2.address.port) == -1)
                clientGroup.shutdown()
            }
            #expect(await eventually(timeout: .seconds(2)) { openSockets(onPorts: ports) == 0 })
            #expect(openSockets(onPorts: ports) == 0)
        }
    }
}
