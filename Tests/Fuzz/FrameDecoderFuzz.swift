// libFuzzer harness: the HJ 212 stream decoder. Built by .ci/fuzz (see docs/fuzzing.md).
//
// Two modes, chosen by the low bit of the first byte (which also sets the decoder's cap):
// - even: differential: the same bytes fed whole, one byte at a time and in chunks chosen by the
//   input must give the same events, every byte must be accounted for exactly once, and the
//   decoder never holds more than one maximal frame plus one read;
// - odd: no stall: dripped, the decoder that remembers where it stopped gives the same events
//   after every read as one that rescans everything (quadratic, so inputs up to 2,000 bytes).
// Both modes used to run on every input; the rescanning reference was 80 % of the time, so
// splitting doubles the executions with each property checked on as many inputs as before.
import HJ212

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrameDecoder(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let first = Int(bytes.first ?? 0)
    let cap = 64 + first * 8  // small caps reach the oversized-frame paths
    if first & 1 == 0 {
        differential(bytes, cap: cap)
    } else if bytes.count <= 2000 {
        noStall(bytes, cap: cap)
    }
    return 0
}

func differential(_ bytes: [UInt8], cap: Int) {
    let whole = decode(bytes, cap: cap) { _ in bytes.count }
    let drip = decode(bytes, cap: cap) { _ in 1 }
    var seed = UInt32(bytes.count) &* 2_654_435_761
    let chunked = decode(bytes, cap: cap) { _ in
        seed = seed &* 1_103_515_245 &+ 12345
        return Int(seed >> 16) % 97 + 1
    }
    guard whole == drip, whole == chunked else { fatalError("events depend on how the input was cut") }
    var covered = 0
    for e in whole {
        let (offset, count) = span(e)
        guard offset == covered, count > 0 else { fatalError("events do not tile the input at \(covered)") }
        covered += count
    }
    guard covered == bytes.count else { fatalError("\(bytes.count - covered) bytes unaccounted for") }
}

/// Fed in the same reads, the decoder that remembers where it stopped gives the same events
/// after every read as one that rescans everything (it never waits for a byte that the
/// rescanning decoder did not need).
func noStall(_ bytes: [UInt8], cap: Int) {
    var ours = FrameDecoder(maxFrameBytes: cap)
    var reference = FrameDecoder(maxFrameBytes: cap)
    reference.rescansEveryCall = true
    var i = 0, step = 0
    while i < bytes.count {
        step += 1
        let n = min(bytes.count - i, step % 5 == 0 ? 7 : 1)
        ours.feed(bytes[i..<(i + n)])
        reference.feed(bytes[i..<(i + n)])
        i += n
        while true {
            let a = ours.next(), b = reference.next()
            guard a == b else { fatalError("after \(i) bytes: \(String(describing: a)) vs \(String(describing: b))") }
            if a == nil { break }
        }
    }
    guard ours.finish() == reference.finish() else { fatalError("the tails differ") }
}

func span(_ e: FrameDecoder.Event) -> (Int, Int) {
    switch e {
    case .frame(let f): return (f.offset, f.bytes.count)
    case .skipped(let s): return (s.offset, s.count)
    case .incomplete(let t): return (t.offset, t.count)
    }
}

func decode(_ bytes: [UInt8], cap: Int, chunk: (Int) -> Int) -> [FrameDecoder.Event] {
    var d = FrameDecoder(maxFrameBytes: cap)
    var out: [FrameDecoder.Event] = []
    var i = 0
    while i < bytes.count {
        let n = min(bytes.count - i, max(1, chunk(i)))
        d.feed(bytes[i..<(i + n)])
        i += n
        guard d.bufferedCount <= d.maxFrameBytes + n + 2 else { fatalError("decoder holds \(d.bufferedCount) bytes") }
        while let e = d.next() { out.append(e) }
    }
    out += d.finish()
    return out
}
