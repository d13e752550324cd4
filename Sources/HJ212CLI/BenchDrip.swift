import HJ212

/// The `drip` row of `hj212 bench codec`: one frame of about 1 KB decoded when it arrives one
/// byte per read (the `slow-drip` fault, or a slowloris peer) against the same frame arriving
/// whole, in the same run. The decoder remembers where it stopped scanning, so the dripped
/// cost stays within a small factor of the whole (target: ≤ 5×); a decoder that rescans its
/// buffer on every read is quadratic here.
enum DripBenchmark {
    /// A valid frame whose data segment makes the whole frame about `bytes` long.
    static func frame(bytes: Int = 1024) -> [UInt8] {
        var cp = "DataTime=20260101120000"
        var n = 0
        while cp.utf8.count + 90 < bytes {
            cp += ";w\(String(10000 + n))-Rtd=\(Double(n % 997) + 0.125),w\(String(10000 + n))-Flag=N"
            n += 1
        }
        let segment = "QN=20260101120000000;ST=32;CN=2011;PW=123456;MN=BENCH0000000001;Flag=4;CP=&&\(cp)&&"
        return FrameEncoder.frame(segmentBytes: Array(segment.utf8))
    }

    /// Decodes `frame` `repeats` times, fed in reads of `chunk` bytes; returns the frames seen.
    static func decode(_ frame: [UInt8], repeats: Int, chunk: Int, rescanning: Bool = false) -> Int {
        var seen = 0
        for _ in 0..<repeats {
            var decoder = FrameDecoder()
            decoder.rescansEveryCall = rescanning
            var i = 0
            while i < frame.count {
                let end = min(frame.count, i + chunk)
                decoder.feed(frame[i..<end])
                i = end
                while let event = decoder.next() { if case .frame = event { seen += 1 } }
            }
            for event in decoder.finish() { if case .frame = event { seen += 1 } }
        }
        return seen
    }

    /// Prints the row: µs per frame whole and dripped, and the cost ratio.
    static func run(rounds: Int, io: CommandIO) {
        let frame = frame()
        let repeats = 2000
        func best(_ chunk: Int, rescanning: Bool = false, repeats: Int = repeats) -> (seconds: Double, seen: Int) {
            var bestTime = Double.infinity
            var seen = 0
            for _ in 0..<max(1, rounds) {
                let t0 = monotonicSeconds()
                seen = decode(frame, repeats: repeats, chunk: chunk, rescanning: rescanning)
                bestTime = min(bestTime, monotonicSeconds() - t0)
                if Interrupts.requested { break }
            }
            return (bestTime, seen)
        }
        let whole = best(frame.count)
        let dripped = best(1)
        // Baseline in the same run: the decoder rescanning its whole buffer on every read (as before).
        let rescanRepeats = max(1, repeats / 50)
        let rescanned = best(1, rescanning: true, repeats: rescanRepeats)
        let rescanPerFrame = rescanned.seconds / Double(rescanRepeats)
        let ratio = dripped.seconds / whole.seconds
        var line = "drip: one \(frame.count)-byte frame, whole \(String(format: "%.2f", whole.seconds / Double(repeats) * 1e6)) µs,"
            + " one byte per read \(String(format: "%.2f", dripped.seconds / Double(repeats) * 1e6)) µs:"
            + " cost \(String(format: "%.1f", ratio))× whole (target ≤ 5×);"
            + " rescanning on every read \(String(format: "%.1f", rescanPerFrame * 1e6)) µs (\(String(format: "%.0f", rescanPerFrame / (whole.seconds / Double(repeats))))× whole)"
        if whole.seen != dripped.seen || whole.seen != repeats { line += "  (frames differ: \(dripped.seen) vs \(whole.seen))" }
        io.stdout.line(line)
        io.stdout.flush()
    }
}
