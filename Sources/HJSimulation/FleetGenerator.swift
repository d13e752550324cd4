import HJ212

/// Runs many simulated loggers in one virtual clock and merges their packets in time order
/// (ties by unit order), so that a template or fleet + seed + start + duration gives the same
/// bytes every time.
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
    public mutating func run(until end: Int64, block: Int64 = 60_000, shouldContinue: (Int64) -> Bool = { _ in true },
                             faults: ((Int, FaultRecord) -> Void)? = nil, _ out: (Int, GeneratedPacket) -> Void) {
        var batch: [(unit: Int, order: Int, packet: GeneratedPacket)] = []
        while now < end {
            let blockEnd = Swift.min(end, (now / block + 1) * block)
            batch.removeAll(keepingCapacity: true)
            for i in simulators.indices {
                var order = 0
                simulators[i].advance(to: blockEnd) { p in
                    batch.append((i, order, p))
                    order += 1
                }
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
}
