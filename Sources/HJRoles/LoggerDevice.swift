import HJ212
import HJSimulation

/// A simulated data logger (数采仪): its unit simulator, settings and stored history, shared by
/// its links to one or more platforms (each a `LoggerSession`).
///
/// Not Sendable: a device and its sessions are driven from one thread (one event loop), which is
/// also the rule that makes the shared reference safe.
public final class LoggerDevice {
    public private(set) var simulator: UnitSimulator
    /// Timeout and resend count of HJ 212-2017 Table 1, set by CN 1000.
    public var overTimeMs: Int64 = 10_000
    public var reCount = 3
    /// Clock offset set by CN 1012 (added to the simulated time in 1011 answers).
    public var clockOffsetMs: Int64 = 0
    /// Sampling settings set by 3016.
    public var samplingStart = "000000"
    public var samplingHours = 2
    /// Stored records for history requests, by CN: (DataTime, serialised segment), in time order.
    /// Kept as bytes: a record costs its ~300 bytes, not a tree of small strings.
    private(set) var history: [String: [(time: SessionTime, bytes: [UInt8])]] = [:]
    /// Days of history kept.
    public var historyDays: Int64 = 40
    /// Sessions receive what the device produces.
    var sessions: [LoggerSession.Link] = []
    /// Reassembles the device's own split records for its history.
    private var splitRecords = Reassembler(maxPending: 16)

    public var identity: LoggerIdentity { simulator.identity }
    public var st: String { simulator.template.st }

    public init(simulator: UnitSimulator) {
        self.simulator = simulator
    }

    /// Runs the simulator to `now`, stores history records and hands every packet to the sessions.
    public func advance(to now: SessionTime) {
        var produced: [GeneratedPacket] = []
        simulator.advance(to: now) { produced.append($0) }
        // An idle logger keeps no packet buffer between advances (the memory per idle logger).
        simulator.releaseWriterBuffer()
        for p in produced {
            if ["2031", "2041", "2051", "2061"].contains(p.cn) {
                // A split record is stored whole, once all its packets are in.
                switch splitRecords.add(p.segment) {
                case .whole(let s), .complete(let s): store(GeneratedPacket(time: p.time, cn: p.cn, segment: s, bytes: []))
                case .pending, .rejected: break
                }
            }
            // Queued as its bytes only: a packet waiting for its link (the boot burst, an outage's
            // backlog) costs one buffer, not its segment's tree of fields as well; the session
            // reads what it needs from the header bytes (`LoggerSession.sendUpload`).
            // The bytes are copied into a buffer of their own size: a simulator writing bytes only
            // hands out its reused writer buffer, which a queued packet would otherwise keep (with
            // the writer's capacity), making the writer grow a new one for every packet.
            let queued = p.bytes.isEmpty ? p : GeneratedPacket(time: p.time, cn: p.cn, bytes: p.bytes.withUnsafeBufferPointer { Array($0) })
            for link in sessions { link.enqueue(queued) }
        }
    }

    func store(_ p: GeneratedPacket) {
        guard let text = p.segment.cpValue("DataTime"), let t = HJTime(text) else { return }
        let segment = p.segment
        history[p.cn, default: []].append((t.wallMilliseconds, segment.serializedBytes()))
        let cutoff = t.wallMilliseconds - historyDays * 86_400_000
        if let first = history[p.cn]?.first, first.time < cutoff {
            history[p.cn]?.removeAll { $0.time < cutoff }
        }
    }

    /// Stored records of a CN with DataTime in [from, to] (inclusive, as the examples use Begin = End).
    public func records(cn: String, from: SessionTime, to: SessionTime) -> [DataSegment] {
        (history[cn] ?? []).filter { $0.time >= from && $0.time <= to }.map { SegmentParser.parse($0.bytes).segment }
    }

    /// The run stops at `t`: instrument faults still acting get the record of their end
    /// (`FaultRecord.ends`), taken with the next `takeFaultRecords`.
    public func endFaults(at t: SessionTime) { simulator.endFaults(at: t) }

    /// Instrument faults that became active since the last call (ground truth).
    public func takeFaultRecords() -> [FaultRecord] {
        let records = simulator.faultRecords
        if !records.isEmpty { simulator.faultRecords = [] }
        return records
    }

    func setRtdInterval(_ seconds: Int) { simulator.rtdIntervalMs = Int64(seconds) * 1000 }
    func setMinInterval(_ minutes: Int) { simulator.minIntervalMs = Int64(minutes) * 60_000 }
    func setRealtime(_ on: Bool) { simulator.sendRealtime = on }
    func setFacilityStatus(_ on: Bool) { simulator.sendFacilityStatus = on }
    func setInfo(polId: String?, code: String, value: String) { simulator.infoOverrides["\(polId ?? "")|\(code)"] = value }
    func infoValue(polId: String?, code: String, at t: SessionTime) -> String? { simulator.infoValue(polId: polId, code: code, at: t) }
}
