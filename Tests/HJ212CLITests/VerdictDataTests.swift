import Foundation
import HJ212
import Testing
@testable import HJ212CLI

/// Issue 11, the verdicts outside `check`: each test reproduces one item that was seen.
@Suite("Verdicts outside check (issue 11)")
struct VerdictDataTests {
    @Test("lint of input that holds no frame exits 1 with a one-line reason (item 11)")
    func lintNoFrame() throws {
        let noise = hj212(["lint", "-"], stdin: Array("hello, this is not HJ 212\r\n".utf8))
        #expect(noise.status == 1)
        #expect(noise.err.contains("no frame found") && noise.err.split(separator: "\n").count == 1)
        let empty = hj212(["lint", "-"], stdin: [])
        #expect(empty.status == 1)
        let json = hj212(["lint", "--format", "json", "-"], stdin: [])
        #expect(json.status == 1 && json.err.contains("no frame"))
        // A frame still passes.
        #expect(hj212(["lint", "-"], stdin: Array((v1Frame + "\r\n").utf8)).status == 0)
    }
}
