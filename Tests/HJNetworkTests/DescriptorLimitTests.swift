import Glibc
import Testing
import HJNetwork

extension NetworkTests {
    @Suite("Descriptor limit")
    struct DescriptorLimitTests {
        @Test("connections that fit get no line; more than fit get one line naming the descriptor limit as the bound")
        func boundMessage() throws {
            let limit = DescriptorLimit(soft: 20_000, hard: 20_000, softBefore: 1024, inUse: 6)
            #expect(limit.connectionsThatFit() == 19_978)
            #expect(limit.boundMessage(connections: 19_978) == nil)
            let line = try #require(limit.boundMessage(connections: 20_000))
            #expect(line.hasPrefix("the descriptor limit is the bound"))
            #expect(line.contains("20,000 connections asked, 19,978 fit"))
            #expect(line.contains("open-file limit 20,000 = the hard limit, raised from 1,024 at start"))
            #expect(!line.contains("\n"))
        }

        @Test("a soft limit left below the hard one is named as not raised; nothing fits under a tiny limit")
        func notRaised() {
            let limit = DescriptorLimit(soft: 1024, hard: 4096, softBefore: 1024, inUse: 3)
            #expect(limit.boundMessage(connections: 2000)?.contains("below the hard limit 4,096: it could not be raised") == true)
            #expect(DescriptorLimit(soft: 10, hard: 10, softBefore: 10, inUse: 8).connectionsThatFit() == 0)
        }

        @Test("prepareDescriptors raises a lowered soft limit to the hard limit and counts what is open")
        func raisesLoweredLimit() throws {
            var original = rlimit()
            try #require(getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &original) == 0)
            try #require(original.rlim_max > 64 && original.rlim_max < 1 << 40)  // a finite hard limit
            // Lowered by one only: the suites running beside this one keep their descriptors.
            var lowered = original
            lowered.rlim_cur = original.rlim_max - 1
            try #require(setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &lowered) == 0)
            let limit = ProcessSetup.prepareDescriptors()
            var after = rlimit()
            _ = getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &after)
            #expect(after.rlim_cur == original.rlim_max)
            #expect(limit.soft == Int(original.rlim_max))
            #expect(limit.hard == Int(original.rlim_max))
            #expect(limit.softBefore == Int(original.rlim_max) - 1)
            #expect(limit.inUse >= 3)  // at least the standard streams
            #expect(limit.boundMessage(connections: limit.soft)?.contains("raised from") == true)
        }
    }

    @Suite("Reads lent from the loop's buffer")
    struct ReadBufferTests {
        /// Takes reads from the buffer itself; the array form must never be called.
        final class BufferReader: TCPConnectionHandler, @unchecked Sendable {
            let received = Locked<[UInt8]>([])
            let arrayCalls = Locked<Int>(0)
            func connection(_ connection: TCPConnection, didRead bytes: [UInt8]) { arrayCalls.update { $0 += 1 } }
            func connection(_ connection: TCPConnection, didReadBuffer bytes: UnsafeRawBufferPointer) {
                let copy = [UInt8](bytes)
                received.update { $0 += copy }
            }
        }

        @Test("a handler that overrides didReadBuffer gets every byte, in order, and no arrays")
        func bufferReads() async throws {
            try ProcessSetup.prepareForNetworking()
            let group = try EventLoopGroup(threads: 1)
            defer { group.shutdown() }
            let reader = BufferReader()
            let server = try TCPServer.start(on: .loopback(port: 0), group: group) { _ in reader }
            defer { _ = server.stopAndWait(timeout: .seconds(5)) }
            let loop = group.next()
            let client = try await TCPClient.connect(to: server.localAddress, on: loop, timeout: .seconds(5))
            let expected = pattern(300_000)
            _ = await onLoop(loop) { client.handler = TCPCallbacks(); return client.write(expected) }
            #expect(await eventually { reader.received.value.count >= expected.count })
            #expect(reader.received.value == expected)
            #expect(reader.arrayCalls.value == 0)
            _ = await onLoop(loop) { client.close() }
        }
    }
}
