// libFuzzer harness: DL/T 645-2007 as the emulated meters see it. Built by .ci/fuzz (docs/fuzzing.md).
//
// The input is a serial byte stream. `DLT645Decoder` fed whole, one byte at a time and in
// input-chosen pieces must find the same frames and reject the same number of bad ones; it holds
// at most its budget; every frame it finds re-encodes to bytes that decode to the same frame.
// Each frame is also answered by the bank's meters as `SerialLineRunner` does: a reply is a
// slave's frame (direction bit set) from a meter's own address, within the data budget, and it
// decodes back unchanged.
// The first byte also selects a second use of the input: as a frame's fields (address, control,
// data) encoded with a correct checksum, so that mutated requests reach the meters.
import Foundation
import HJ212
import HJSimulation
import HJInstruments

let start = SimClock.parseStart("2026-11-30T10:00")!
let bank = try! InstrumentBank(template: try! UnitTemplate.load("msw-incinerator"), identity: LoggerIdentity(mn: "010000A8900016F000169DC0", pw: "123456"),
                               seed: 1, start: start, recordsTruth: false, clock: { start })

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDLT645(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let whole = decode(bytes) { _ in bytes.count }
    let drip = decode(bytes) { _ in 1 }
    var seed = UInt32(truncatingIfNeeded: size) &* 2_654_435_761
    let pieces = decode(bytes) { _ in
        seed = seed &* 1_103_515_245 &+ 12345
        return Int(seed >> 16) % 40 + 1
    }
    guard whole.frames == drip.frames, whole.frames == pieces.frames, whole.bad == drip.bad, whole.bad == pieces.bad else {
        fatalError("frames depend on how the stream was cut")
    }
    for frame in whole.frames { answer(frame) }
    // The input as a request's fields, with a correct checksum.
    if bytes.count >= 7 {
        let frame = DLT645Frame(address: Array(bytes[0..<6]), control: bytes[6], data: Array(bytes.dropFirst(7).prefix(DLT645Frame.maxData)))
        var d = DLT645Decoder()
        d.feed([0xFE, 0xFE] + frame.bytes)
        guard d.next() == frame, d.next() == nil else { fatalError("an encoded frame does not decode back") }
        answer(frame)
    }
    return 0
}

func decode(_ bytes: [UInt8], piece: (Int) -> Int) -> (frames: [DLT645Frame], bad: Int) {
    var d = DLT645Decoder()
    var frames: [DLT645Frame] = []
    var i = 0
    while i < bytes.count {
        let n = min(bytes.count - i, max(1, piece(i)))
        d.feed(bytes[i..<(i + n)])
        i += n
        while let f = d.next() { frames.append(f) }
        // Drained after each read: at most one incomplete frame is held.
        guard d.bufferedBytes < DLT645Decoder.maxFrame else { fatalError("decoder holds \(d.bufferedBytes) bytes") }
    }
    for f in frames {
        guard f.address.count == 6, f.data.count <= DLT645Frame.maxData else { fatalError("frame out of bounds") }
        var back = DLT645Decoder()
        back.feed(f.bytes)
        guard back.next() == f else { fatalError("frame does not re-encode") }
    }
    return (frames, d.badFrames)
}

func answer(_ frame: DLT645Frame) {
    guard let reply = bank.dlt645(frame, line: "fuzz") else { return }
    guard reply.control & 0x80 != 0, reply.data.count <= DLT645Frame.maxData else { fatalError("reply \(reply)") }
    guard bank.meters.contains(where: { $0.address == reply.address }) else { fatalError("reply from an address no meter has") }
    guard frame.control & 0x80 == 0, frame.address != DLT645Frame.broadcast else { fatalError("answered a reply or a broadcast") }
    var d = DLT645Decoder()
    d.feed([0xFE, 0xFE, 0xFE, 0xFE] + reply.bytes)
    guard d.next() == reply else { fatalError("reply does not decode back") }
}

@_cdecl("LLVMFuzzerInitialize")
public func initializeDLT645(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    // `HJ212_FUZZ_SEEDS=DIR harness`: write the seed inputs to DIR and exit (.ci/fuzz does this).
    guard let dir = ProcessInfo.processInfo.environment["HJ212_FUZZ_SEEDS"] else { return 0 }
    let meter = DLT645Frame.address("000000000001")!
    let requests = [
        DLT645Frame(address: meter, control: 0x11, data: DLT645Frame.di(0x0001_0000)),   // forward active energy
        DLT645Frame(address: meter, control: 0x11, data: DLT645Frame.di(0x0201_FF00)),   // voltage block
        DLT645Frame(address: meter, control: 0x11, data: DLT645Frame.di(0x0203_0000)),   // active power
        DLT645Frame(address: DLT645Frame.wildcard, control: 0x13, data: []),              // read address
        DLT645Frame(address: meter, control: 0x14, data: DLT645Frame.di(0x0400_0401) + [0, 0, 0, 0, 1, 2, 3, 4]),
        DLT645Frame(address: DLT645Frame.broadcast, control: 0x08, data: [0x00, 0x30, 0x10, 0x30, 0x11, 0x26]),
        DLT645Frame(address: meter, control: 0x91, data: DLT645Frame.di(0x0001_0000) + [0x12, 0x34, 0x56, 0x78]),
    ]
    var n = 0
    for r in requests {
        for stream in [r.bytes, [0xFE, 0xFE, 0xFE, 0xFE] + r.bytes, Array(r.bytes.dropLast()) + [0x00] + r.bytes, r.bytes + r.bytes] {
            n += 1
            _ = FileManager.default.createFile(atPath: "\(dir)/seed-\(n)", contents: Data(stream))
        }
    }
    exit(0)
}
