import Foundation
import Glibc
import Testing
@testable import HJ212CLI

/// `OutputSink` writes large byte arrays to its descriptor without buffering them: the order
/// of everything written must not change.
@Suite("OutputSink")
struct OutputSinkTests {
    @Test("writes of every size, buffered or written through, reach the file in order")
    func order() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sink-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).bin").path
        defer { unlink(path) }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        try #require(fd >= 0)
        let sink = OutputSink(fd: fd, bufferBytes: 64)
        var expected: [UInt8] = []
        // Sizes below, at and above a quarter of the buffer and above the buffer, text between them.
        for (n, size) in [1, 15, 16, 17, 0, 64, 65, 200, 5, 1000, 2].enumerated() {
            let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ n) }
            sink.write(bytes: bytes)
            expected += bytes
            let text = "<\(n)>"
            sink.write(text)
            expected += Array(text.utf8)
        }
        sink.flush()
        close(fd)
        #expect(!sink.failed)
        #expect(sink.written == expected.count)
        let data = try #require(FileManager.default.contents(atPath: path))
        #expect(Array(data) == expected)
    }
}
