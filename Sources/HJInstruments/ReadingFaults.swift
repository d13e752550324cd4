import HJ212
import HJSimulation

/// Logger-side reading faults (layer `reading` of `Profiles/faults/catalogue.json`): a logger
/// configured wrongly for its instruments. They act where the logger decodes what it read, so the
/// instruments serve the truth and the uploads carry the error.
///
/// - `reading-byte-order`: the value register read in the wrong byte/word order (32-bit: words
///   swapped; 16-bit: bytes swapped);
/// - `reading-scale`: the value multiplied by `factor` (a scale configured wrong, default 10);
/// - `reading-no-status`: the status register ignored: every reading flagged N;
/// - `reading-stale`: the instrument is lost to the logger (it is no longer polled), and the logger
///   keeps uploading its last reading flagged N instead of B (通讯异常).
///
/// Each is active in its window (`@START/DURATION`, or always) for its factor (or every factor).
public struct ReadingFaults: Sendable {
    public static let ids: [FaultID] = [.readingByteOrder, .readingScale, .readingNoStatus, .readingStale]
    public let specs: [FaultSpec]

    public init(_ all: [FaultSpec], mn: String) {
        specs = all.filter { $0.layer == .reading && $0.applies(to: mn) }
    }

    public var isEmpty: Bool { specs.isEmpty }

    /// The spec of fault `id` acting on `code` at `t`, if any.
    public func active(_ id: FaultID, _ code: String, at t: Int64) -> FaultSpec? {
        specs.first { $0.id == id && ($0.factor == nil || $0.factor == code) && ($0.window?.contains(t) ?? true) }
    }

    /// The registers as a logger with the byte-order fault reads them: the value field of `code`
    /// swapped.
    public static func swapped(_ registers: [Int: UInt16], value r: InstrumentMap.Register) -> [Int: UInt16] {
        var out = registers
        if r.type.width == 1 {
            if let w = registers[r.address] { out[r.address] = w.byteSwapped }
        } else {
            for k in 0..<r.type.width { out[r.address + k] = registers[r.address + r.type.width - 1 - k] }
        }
        return out
    }
}
