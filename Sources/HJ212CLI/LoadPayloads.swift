import HJ212
import HJLoad
import HJSimulation

/// `load --payloads TRACE|CAPTURE`: the load's packets taken from real traffic (the recording's
/// uplinks) instead of generated ones; see `PayloadPool(recorded:…)` for what is kept and what
/// is stamped per logger.
enum LoadPayloads {
    /// Most recorded bytes read for a pool (the first uplinks of a larger recording).
    static let maxBytes = 64 << 20

    static func pool(_ path: String) throws(UsageError) -> PayloadPool {
        var segments: [[UInt8]] = []
        var bytes = 0
        var times: [Int64] = []
        let io = CommandIO(stdout: OutputSink(), stderr: OutputSink(), stdinBytes: nil)
        try Recording.read(path, io: io) { f in
            guard f.up else { return true }
            let s = Array(f.raw.segmentBytes)
            segments.append(s)
            bytes += s.count
            if times.count < 10_000, let dt = SegmentParser.parse(s[...]).segment.realTimeDataTime { times.append(dt) }
            return segments.count < 2 * PayloadPool.maxRecordedEntries && bytes < maxBytes
        }
        // The real-time interval: the most frequent step between consecutive 2011 DataTimes.
        var steps: [Int64: Int] = [:]
        for (a, b) in zip(times, times.dropFirst()) where b > a { steps[b - a, default: 0] += 1 }
        let rtd = steps.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }?.key
        do {
            return try PayloadPool(recorded: segments, name: path, template: try UnitTemplate.load("industrial-wastewater"), rtdIntervalMilliseconds: rtd)
        } catch {
            throw UsageError("--payloads: \(error)")
        }
    }
}

extension DataSegment {
    /// The DataTime of a 2011 (real-time data), China local wall ms.
    var realTimeDataTime: Int64? {
        guard cn == "2011" else { return nil }
        return cpValue("DataTime").flatMap { HJTime($0) }?.wallMilliseconds
    }
}
