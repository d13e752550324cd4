import HJ212
import HJSimulation

/// Logger-side reading faults on the DL/T 645 meters (`simulate --read` with a `dlt645:` line).
/// A fault's factor names a facility (`reading-scale:SB1`: every value of its meter), one
/// electricity value (`reading-scale:SB1P`, the names of ST=44), or nothing (every factor and
/// meter). `reading-scale` multiplies what was read; `reading-stale` stops polling the meter and
/// keeps its last values as if fresh. Byte order and status do not apply to BCD meter data.
extension InstrumentPollingLine {
    /// The spec of fault `id` acting on a meter value (by facility or by its ST=44 name), if any.
    func meterFault(_ id: FaultID, facility: String, source: String?, at t: Int64) -> FaultSpec? {
        if let source, let q = ElectricityCodes.shared.quantities.first(where: { $0.source == source }),
           let spec = faults.specs.first(where: { $0.id == id && $0.factor == facility + q.suffix && ($0.window?.contains(t) ?? true) }) {
            return spec
        }
        return faults.active(id, facility, at: t)
    }

    /// Values as the logger takes them: a wrong scale applied where `reading-scale` acts.
    func meterFaults(_ facility: String, _ values: [String: Double], _ records: inout [FaultRecord]) -> [String: Double] {
        let t = clock()
        var out = values
        var changed: [String] = []
        for (source, v) in values.sorted(by: { $0.key < $1.key }) {
            guard let spec = meterFault(.readingScale, facility: facility, source: source, at: t) else { continue }
            let w = v * spec.parameter("factor", default: 10)
            out[source] = w
            changed.append("\(source) \(ValueFormat.fixed(v, decimals: 4)) → \(ValueFormat.fixed(w, decimals: 4))")
        }
        if !changed.isEmpty, due("reading-scale|\(facility)", t) {
            records.append(record("reading-scale", facility, t, "meter of \(facility) served; the logger took \(changed.joined(separator: ", "))"))
        }
        return out
    }

    /// With `reading-stale` on this meter: its last values (the meter is not polled), else nil.
    func meterStale(_ facility: String, _ records: inout [FaultRecord]) -> [String: Double]? {
        let t = clock()
        guard meterFault(.readingStale, facility: facility, source: nil, at: t) != nil, let held = lastMeter[facility] else { return nil }
        if due("reading-stale|\(facility)", t) {
            records.append(record("reading-stale", facility, t, "meter of \(facility) not read; uploading its last values as N"))
        }
        return held
    }
}
