import Synchronization

extension ByteLinter {
    /// The report `linter.check(raw, index:)` gives, when the byte path takes the frame; nil when
    /// it does not (the caller then uses `Linter.check`). For callers that need the frame's
    /// `DataSegment` anyway (the platform: access, identification, acknowledgement, storage):
    /// the segment is built once, from the ranges the byte path found (no second parse), and
    /// the diagnostics are materialized only when there are any.
    ///
    /// `parsed` carries the segment only: its offsets are empty and it has no findings (the
    /// byte path's findings are in `diagnostics`); callers that need offsets use `Linter.check`.
    public func platformReport(_ raw: RawFrame, index: Int) -> FrameReport? {
        var names = PlatformNames()
        return platformReport(raw, index: index, names: &names)
    }

    /// The same, taking the CP entry names from `names` (kept by the caller between frames:
    /// the pool's linters): a name is made into a `String` once per key, not once per frame.
    public func platformReport(_ raw: RawFrame, index: Int, names: inout PlatformNames) -> FrameReport? {
        guard lint(raw, index: index) else { return nil }
        // A key's index names the same bytes until the key tables are emptied (`keys.resets`).
        if names.resets != keys.resets {
            names.byKey = []
            names.resets = keys.resets
        }
        while names.byKey.count <= keySlot { names.byKey.append([]) }
        let slot = keySlot
        let (header, groups) = raw.bytes.withUnsafeBufferPointer { bytes -> ([Field], [[Field]]) in
            func text(_ r: Range<Int>) -> String { String(decoding: UnsafeBufferPointer(rebasing: bytes[r]), as: UTF8.self) }
            var header: [Field] = []
            header.reserveCapacity(headerSlots.count)
            for k in headerSlots.indices {
                header.append(Field(ByteLinter.headerName(headerSlots[k]), text(headerValues[k])))
            }
            var groups: [[Field]] = []
            groups.reserveCapacity(groupEnds.count)
            var start = 0
            for end in groupEnds {
                var group: [Field] = []
                group.reserveCapacity(end - start)
                for e in start..<end {
                    let key = entryKeys[e]
                    let name: String
                    if key < names.byKey[slot].count, let known = names.byKey[slot][key] {
                        name = known
                    } else {
                        name = text(entryNames[e])
                        if key >= names.byKey[slot].count {
                            names.byKey[slot].append(contentsOf: repeatElement(nil, count: key + 1 - names.byKey[slot].count))
                        }
                        names.byKey[slot][key] = name
                    }
                    group.append(Field(name, text(entryValues[e])))
                }
                groups.append(group)
                start = end
            }
            return (header, groups)
        }
        let texts = crcTexts
        let crc = CRCCheck(declared: texts.declared, computed: texts.computed, ok: crcOK, variant: crcVariant)
        let parsed = ParsedSegment(segment: DataSegment(header: header, cp: groups), headerOffsets: [], cpOffsets: [],
                                   cpArea: nil, findings: [])
        return FrameReport(index: index, raw: raw, parsed: parsed, dialect: dialect, detectedDialect: detectedDialect, crc: crc,
                           diagnostics: diagnostics.isEmpty ? [] : materializedDiagnostics())
    }
}

/// CP entry names as `String`s by key table and key (`ByteLintKeys`), for `platformReport`:
/// bounded as the key tables are (emptied with them).
public struct PlatformNames {
    var resets = -1
    var byKey: [[String?]] = []

    public init() {}
}

/// Byte linters for callers that lint from many threads (the platform's event loops): a
/// `ByteLinter` is not thread-safe, so each call takes one from the pool for the frame and
/// gives it back (one short uncontended lock per frame; as many linters as threads linting at
/// once, each keeping its key tables within `ByteLintKeys.budget`).
public final class ByteLinterPool: Sendable {
    public let linter: Linter
    private let idle = Mutex<[Box]>([])

    private final class Box: @unchecked Sendable {
        let linter: ByteLinter
        var names = PlatformNames()
        init(_ linter: ByteLinter) { self.linter = linter }
    }

    public init(linter: Linter) {
        self.linter = linter
    }

    /// `Linter.check`'s report of `raw`, by the byte path when it takes the frame.
    public func check(_ raw: RawFrame, index: Int) -> FrameReport {
        let box = idle.withLock { $0.popLast() } ?? Box(ByteLinter(linter: linter))
        let report = box.linter.platformReport(raw, index: index, names: &box.names)
        idle.withLock { $0.append(box) }
        return report ?? linter.check(raw, index: index)
    }
}
