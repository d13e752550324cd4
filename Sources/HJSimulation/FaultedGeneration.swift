import HJ212

/// A generation in virtual time with faults: the packets of a `FleetGenerator` framed through one
/// `FaultInjector` per logger, with the ground truth of every injection. What `generate` writes,
/// and what the ground-truth tests decode.
///
/// The truth is the wire: a protocol-fault record names the QN of the frame that carries the
/// fault (for `missing-record`, the QN of the record not sent), and a packet that is not sent
/// carries no other fault.
///
/// ```swift
/// var run = try FaultedGeneration(generator: generator, mns: [mn], faults: specs, seed: 1)
/// run.run(until: end, truth: { print($0.json()) }) { unit, packet, frames in out += frames.joined() }
/// for (unit, frame) in run.finish() { out += frame }
/// ```
public struct FaultedGeneration: Sendable {
    public private(set) var generator: FleetGenerator
    var injectors: [FaultInjector]
    public let mns: [String]
    public let faults: [FaultSpec]

    public init(generator: FleetGenerator, mns: [String], faults: [FaultSpec], seed: UInt64) {
        self.generator = generator
        self.mns = mns
        self.faults = faults
        injectors = mns.map { FaultInjector(specs: faults, seed: seed, mn: $0) }
    }

    public var now: Int64 { generator.now }
    public var start: Int64 { generator.start }

    /// Runs to `end`; `body` gets each generated packet with the frames sent for it (none when
    /// dropped or held back, several when duplicated or when a held record follows it).
    /// `threads`: the loggers' threads (`FleetGenerator.run`); the faults are applied in order on the caller's.
    public mutating func run(until end: Int64, threads: Int = 1, shouldContinue: (Int64) -> Bool = { _ in true }, truth: (FaultRecord) -> Void,
                             _ body: (_ unit: Int, _ packet: GeneratedPacket, _ frames: [[UInt8]]) -> Void) {
        let faulted = !faults.isEmpty
        var injectors = self.injectors
        let mns = self.mns
        withoutActuallyEscaping(truth) { truth in
            generator.run(until: end, threads: threads, shouldContinue: shouldContinue, faults: faulted ? { _, record in truth(record) } : nil) { unit, packet in
                guard faulted else { body(unit, packet, [FrameEncoder.frame(segmentBytes: packet.bytes)]); return }
                let (frames, records) = injectors[unit].frames(for: packet, mn: mns[unit])
                for r in records { truth(r) }
                body(unit, packet, frames)
            }
        }
        self.injectors = injectors
    }

    /// Frames packets generated before (by a run without protocol faults: protocol faults never
    /// change what the loggers generate) through fresh injectors, exactly as `run` does: many
    /// fault combinations over one generation.
    public static func replay(_ packets: [(unit: Int, packet: GeneratedPacket)], mns: [String], faults: [FaultSpec], seed: UInt64,
                              truth: (FaultRecord) -> Void, _ body: (_ unit: Int, _ packet: GeneratedPacket, _ frames: [[UInt8]]) -> Void)
        -> [(unit: Int, frame: [UInt8])] {
        var injectors = mns.map { FaultInjector(specs: faults, seed: seed, mn: $0) }
        for (unit, packet) in packets {
            let (frames, records) = injectors[unit].frames(for: packet, mn: mns[unit])
            for r in records { truth(r) }
            body(unit, packet, frames)
        }
        var out: [(Int, [UInt8])] = []
        for i in injectors.indices { for frame in injectors[i].flush() { out.append((i, frame)) } }
        return out
    }

    /// The run stops here: the ground truth of the instrument faults still acting (`FaultRecord.ends`).
    public mutating func endFaults(truth: (FaultRecord) -> Void) {
        generator.endFaults { _, record in truth(record) }
    }

    /// Frames still held back (a record `out-of-order` kept for after the next one): they go out
    /// at the end of the run.
    public mutating func finish() -> [(unit: Int, frame: [UInt8])] {
        var out: [(Int, [UInt8])] = []
        for i in injectors.indices { for frame in injectors[i].flush() { out.append((i, frame)) } }
        return out
    }
}
