import Dispatch
import HJ212

/// Runs many simulated loggers in one virtual clock and merges their packets in time order
/// (ties by unit order), so that a template or fleet + seed + start + duration gives the same
/// bytes every time.
///
/// With `threads` > 1 the units are dealt out to that many lanes (unit i to lane i mod N: a fleet
/// listed by kind would otherwise give one thread the heavy units), each advanced on its own
/// thread through a block; the block's packets are then merged in the same order (time,
/// unit, order within the unit), so the output does not depend on the number of threads. The
/// loggers share nothing mutable: each has its own random streams, models and buffers.
public struct FleetGenerator: Sendable {
    public private(set) var simulators: [UnitSimulator]
    public let start: Int64
    public private(set) var now: Int64

    /// Simulators for every unit of a fleet; each unit's randomness derives from the seed and its MN.
    public init(fleet: Fleet, seed: UInt64, start: Int64, options: SimulationOptions = SimulationOptions()) throws {
        simulators = try fleet.units.map { unit in
            try UnitSimulator(template: fleet.templates[unit.unit]!, identity: unit.identity, seed: seed, start: start, options: options)
        }
        self.start = simulators.first?.start ?? start
        now = self.start
    }

    /// One unit of a template.
    public init(template: UnitTemplate, identity: LoggerIdentity, seed: UInt64, start: Int64, options: SimulationOptions = SimulationOptions()) throws {
        simulators = [try UnitSimulator(template: template, identity: identity, seed: seed, start: start, options: options)]
        self.start = simulators[0].start
        now = self.start
    }

    /// Loggers made by the caller (at least one), started together.
    public init(simulators: [UnitSimulator]) {
        precondition(!simulators.isEmpty, "a fleet generator needs a logger")
        self.simulators = simulators
        start = simulators[0].start
        now = start
    }

    /// Advances every logger to `end` in blocks of `block` ms, handing packets out in time order.
    /// `shouldContinue` is asked after every block (progress, Ctrl-C); returning false stops at
    /// that block boundary with everything before it delivered.
    public mutating func run(until end: Int64, block: Int64 = 60_000, threads: Int = 1, shouldContinue: (Int64) -> Bool = { _ in true },
                             faults: ((Int, FaultRecord) -> Void)? = nil, _ out: (Int, GeneratedPacket) -> Void) {
        var lanes = Array(repeating: PacketLane(), count: laneCount(threads))
        var batch: [(unit: Int, order: Int, packet: GeneratedPacket)] = []
        while now < end {
            let blockEnd = Swift.min(end, (now / block + 1) * block)
            advanceAll(to: blockEnd, &lanes)
            batch.removeAll(keepingCapacity: true)
            for k in lanes.indices {
                batch += lanes[k].packets
                lanes[k].packets.removeAll(keepingCapacity: true)
            }
            batch.sort { a, b in
                a.packet.time != b.packet.time ? a.packet.time < b.packet.time : a.unit != b.unit ? a.unit < b.unit : a.order < b.order
            }
            for item in batch { out(item.unit, item.packet) }
            if let faults {
                for i in simulators.indices where !simulators[i].faultRecords.isEmpty {
                    for r in simulators[i].faultRecords { faults(i, r) }
                    simulators[i].faultRecords = []
                }
            }
            now = blockEnd
            if !shouldContinue(now) { return }
        }
    }

    /// The run stops at `now`: each unit's instrument faults still acting get the record of their
    /// real end (`FaultRecord.ends`; their activation records gave the planned windows).
    public mutating func endFaults(_ faults: (Int, FaultRecord) -> Void) {
        for i in simulators.indices {
            simulators[i].endFaults(at: now)
            for r in simulators[i].faultRecords { faults(i, r) }
            simulators[i].faultRecords = []
        }
    }

    /// The same packets as `run`, framed (standard CRC, CR LF) into one buffer per block: what
    /// `generate` writes when no fault is injected. The frames are made on the units' threads,
    /// so that only the merge and the write are left to the caller's. Instrument fault records
    /// are not reported (use `run` with faults).
    public mutating func runFrames(until end: Int64, block: Int64 = 60_000, threads: Int = 1, shouldContinue: (Int64) -> Bool = { _ in true },
                                   _ out: (FrameBlock) -> Void) {
        var lanes = Array(repeating: FrameLane(), count: laneCount(threads))
        var merged = FrameBlock()
        var order: [(time: Int64, unit: Int32, order: Int32, lane: Int32, index: Int32)] = []
        while now < end {
            let blockEnd = Swift.min(end, (now / block + 1) * block)
            advanceAll(to: blockEnd, &lanes)
            order.removeAll(keepingCapacity: true)
            for k in lanes.indices {
                for (n, p) in lanes[k].packets.enumerated() { order.append((p.time, p.unit, p.order, Int32(k), Int32(n))) }
            }
            order.sort { a, b in a.time != b.time ? a.time < b.time : a.unit != b.unit ? a.unit < b.unit : a.order < b.order }
            merged.bytes.removeAll(keepingCapacity: true)
            merged.packets.removeAll(keepingCapacity: true)
            for o in order {
                let p = lanes[Int(o.lane)].packets[Int(o.index)]
                lanes[Int(o.lane)].bytes.withUnsafeBufferPointer { merged.bytes.append(contentsOf: UnsafeBufferPointer(rebasing: $0[p.start..<p.end])) }
                merged.packets.append(FrameBlock.Packet(unit: Int(p.unit), time: p.time, cn: p.cn, end: merged.bytes.count))
            }
            for k in lanes.indices { lanes[k].clear() }
            for i in simulators.indices where !simulators[i].faultRecords.isEmpty { simulators[i].faultRecords = [] }
            out(merged)
            now = blockEnd
            if !shouldContinue(now) { return }
        }
    }

    func laneCount(_ threads: Int) -> Int { Swift.max(1, Swift.min(threads, simulators.count)) }

    /// Advances every simulator to `blockEnd`, lane k taking units k, k + N, k + 2N … on its own
    /// thread.
    mutating func advanceAll<Lane: GenerationLane>(to blockEnd: Int64, _ lanes: inout [Lane]) {
        let count = simulators.count, n = lanes.count
        if n == 1 {
            for i in simulators.indices { lanes[0].advance(&simulators[i], unit: i, to: blockEnd) }
            return
        }
        simulators.withUnsafeMutableBufferPointer { sims in
            lanes.withUnsafeMutableBufferPointer { ls in
                // Each lane touches only its own units and its own lane: disjoint memory.
                nonisolated(unsafe) let sims = sims, ls = ls
                DispatchQueue.concurrentPerform(iterations: n) { k in
                    for i in stride(from: k, to: count, by: n) { ls[k].advance(&sims[i], unit: i, to: blockEnd) }
                }
            }
        }
    }
}

/// What one thread of a fleet collects from its units through a block.
protocol GenerationLane: Sendable {
    mutating func advance(_ simulator: inout UnitSimulator, unit: Int, to end: Int64)
}

struct PacketLane: GenerationLane {
    var packets: [(unit: Int, order: Int, packet: GeneratedPacket)] = []
    mutating func advance(_ simulator: inout UnitSimulator, unit: Int, to end: Int64) {
        var order = 0
        simulator.advance(to: end) { p in
            packets.append((unit, order, p))
            order += 1
        }
    }
}

struct FrameLane: GenerationLane {
    var bytes: [UInt8] = []
    var packets: [(time: Int64, unit: Int32, order: Int32, cn: String, start: Int, end: Int)] = []
    mutating func advance(_ simulator: inout UnitSimulator, unit: Int, to end: Int64) {
        var order: Int32 = 0
        simulator.advance(to: end) { p in
            let start = bytes.count
            FrameEncoder.appendFrame(segmentBytes: p.bytes, to: &bytes)
            packets.append((p.time, Int32(unit), order, p.cn, start, bytes.count))
            order += 1
        }
    }

    mutating func clear() {
        bytes.removeAll(keepingCapacity: true)
        packets.removeAll(keepingCapacity: true)
    }
}

/// The frames of one block of a fleet run, in the order they are sent, back to back.
public struct FrameBlock: Sendable {
    public struct Packet: Sendable {
        public var unit: Int
        public var time: Int64
        public var cn: String
        /// Where this packet's frame ends in `bytes` (it starts where the previous one ends).
        public var end: Int
    }
    public var bytes: [UInt8] = []
    public var packets: [Packet] = []
}
