import HJ212
import HJRoles
import Testing

@Suite("PlatformSession reads from a lent buffer")
struct PlatformReadBufferTests {
    /// Two uploads and noise, fed in chunks of `chunk` bytes through the array form and through
    /// the buffer form: the same acknowledgements, byte for byte, and the same counters.
    @Test("the buffer form gives the array form's outputs, however the input is chunked", arguments: [1, 7, 64, 100_000])
    func sameOutputs(chunk: Int) throws {
        let input = Array("noise".utf8) + PlatformVectors.wire("A14") + PlatformVectors.wire("A16")
        func run(buffer: Bool) throws -> ([SessionAction], PlatformCounters) {
            let state = try PlatformState()
            var s = PlatformSession(state: state, peer: "test:1")
            var all: [SessionAction] = []
            var start = 0
            while start < input.count {
                let piece = Array(input[start..<min(input.count, start + chunk)])
                start += chunk
                var out: [PlatformOutput] = []
                if buffer {
                    piece.withUnsafeBufferPointer { s.received(buffer: $0, at: 1_000, into: &out) }
                } else {
                    s.received(piece, at: 1_000, into: &out)
                }
                all += out.actions
            }
            var out: [PlatformOutput] = []
            s.tick(at: 400_000, into: &out)  // reports the noise held back
            return (all, s.counters)
        }
        let (arrayActions, arrayCounters) = try run(buffer: false)
        let (bufferActions, bufferCounters) = try run(buffer: true)
        #expect(arrayActions.count == 2)
        #expect(bufferActions == arrayActions)
        #expect(bufferCounters == arrayCounters)
        #expect(bufferCounters.acks9014 == 2)
    }
}
