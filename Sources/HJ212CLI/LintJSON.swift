import HJ212

/// Writes one lint item as a JSON object (the command contract of ARCHITECTURE.md: `index`,
/// `offset`, `dialect`, `crc`, `header`, `cp`, `diagnostics`; skipped runs and incomplete tails
/// with their offsets) straight into `w`'s bytes, without building a `JSONValue` tree.
func writeJSON(_ item: LintItem, file: String?, to w: inout JSONWriter) {
    /// Fields as a list of `[name, value]` pairs (a CP group, the repeated header fields).
    func pairs(_ fields: [Field]) {
        w.beginArray()
        for field in fields {
            w.beginArray()
            w.string(field.name)
            w.string(field.value)
            w.endArray()
        }
        w.endArray()
    }
    func diagnostics(_ ds: [Diagnostic]) {
        w.key("diagnostics")
        w.beginArray()
        for d in ds {
            w.beginObject()
            w.key("rule"); w.string(d.rule)
            w.key("severity"); w.string(d.severity.rawValue)
            w.key("offset"); w.int(d.offset)
            w.key("message"); w.string(d.message)
            w.endObject()
        }
        w.endArray()
    }
    switch item {
    case .frame(let r):
        writeItemHead("frame", file: file, index: r.index, offset: r.raw.offset, length: r.raw.bytes.count, to: &w)
        w.key("dialect"); w.string(r.detectedDialect.rawValue)
        w.key("crc")
        w.beginObject()
        w.key("declared"); w.string(r.crc.declared)
        w.key("computed"); w.string(r.crc.computed)
        w.key("ok"); w.bool(r.crc.ok)
        w.key("variant"); w.string(r.crc.variant?.rawValue)
        w.endObject()
        let segment = r.segment
        // The first of each name (the one lint judges, as `DataSegment.header(_:)` finds it); the
        // later ones, which `segment.field-duplicate` reports, under `header_repeated` as
        // [name, value] pairs, so that no object holds a key twice.
        w.key("header")
        w.beginObject()
        var names = Set<String>()
        var repeated: [Field] = []
        for field in segment.header {
            guard names.insert(field.name).inserted else { repeated.append(field); continue }
            w.key(field.name)
            w.string(field.value)
        }
        w.endObject()
        if !repeated.isEmpty {
            w.key("header_repeated")
            pairs(repeated)
        }
        w.key("cp")
        w.beginArray()
        for group in segment.cp ?? [] { pairs(group) }
        w.endArray()
        diagnostics(r.diagnostics)
    case .skipped(let s, let d):
        writeItemHead("skipped", file: file, index: nil, offset: s.offset, length: s.count, to: &w)
        w.key("reason"); w.string(s.reason.rawValue)
        diagnostics([d])
    case .incomplete(let t, let d):
        writeItemHead("incomplete", file: file, index: nil, offset: t.offset, length: t.count, to: &w)
        w.key("declared_length"); w.int(t.declaredLength)
        diagnostics([d])
    }
    w.endObject()
    w.newline()
}

/// Opens an item's object with the members every item starts with: `type`, `file` (several
/// inputs), `index` (frames), `offset` and `length`; the one place both paths write them.
func writeItemHead(_ type: String, file: String?, index: Int?, offset: Int, length: Int, to w: inout JSONWriter) {
    w.beginObject()
    w.key("type"); w.string(type)
    if let file { w.key("file"); w.string(file) }
    if let index { w.key("index"); w.int(index) }
    w.key("offset"); w.int(offset)
    w.key("length"); w.int(length)
}

/// `writeJSON` for a frame judged by the byte path: the same object, byte for byte, written into
/// `out` as literal chunks (`{"type":"frame","index":`…) instead of one `JSONWriter` call per
/// token. Why: on real traffic (issue 17) the writer's per-token work (separator stack, a `String`
/// per key and per enum value, one small append each) cost more than linting the frame. Values
/// are escaped straight from the frame's bytes, messages from `scratch`. The oracle is the
/// reference path above (`writeJSON(_:file:to:)` on `Linter.check`'s report): LintBytePathTests
/// compares the two outputs byte for byte on the real-traffic stand-in and mutated copies of it.
func writeJSON(fast r: ByteLinter, file: String?, to out: ByteBuffer, scratch: ByteBuffer) {
    @inline(__always) func chunk(_ s: StaticString) { out.append(s) }
    @inline(__always) func escaped(_ b: UnsafeBufferPointer<UInt8>) { out.appendEscapedJSON(b) }
    @inline(__always) func escaped(_ s: String) { out.appendEscapedJSON(s) }
    @inline(__always) func decimal(_ n: Int) { out.appendDecimal(n) }
    chunk(#"{"type":"frame","#)
    if let file { chunk(#""file":""#); escaped(file); chunk(#"","#) }
    chunk(#""index":"#); decimal(r.index)
    chunk(#","offset":"#); decimal(r.frame.offset)
    chunk(#","length":"#); decimal(r.frame.bytes.count)
    chunk(#","dialect":""#); escaped(r.detectedDialect.rawValue)
    chunk(#"","crc":{"declared":""#)
    scratch.removeAll()
    r.appendDeclaredCRC(to: scratch)
    scratch.withBytes { escaped($0) }
    chunk(#"","computed":""#)
    r.appendComputedCRC(to: out)  // four upper-case hex digits: nothing to escape
    chunk(r.crcOK ? #"","ok":true,"variant":"# : #"","ok":false,"variant":"#)
    if let variant = r.crcVariant { out.append(0x22); escaped(variant.rawValue); out.append(0x22) } else { chunk("null") }
    chunk(#"},"header":{"#)
    // The linter's arrays read once: each access to a class's property from this module is
    // checked for exclusivity at run time (a tenth of an item's cost when read per entry).
    let headerSlots = r.headerSlots, headerValues = r.headerValues
    let groupEnds = r.groupEnds, entryNames = r.entryNames, entryValues = r.entryValues
    r.frame.bytes.withUnsafeBufferPointer { buf in
        // The first of each name in `header`, the later ones under `header_repeated` (as the
        // segment path writes them): no object holds a key twice.
        var seen: UInt32 = 0
        var repeats = false
        var first = true
        for (slot, value) in zip(headerSlots, headerValues) {
            guard seen & (1 << slot) == 0 else { repeats = true; continue }
            seen |= 1 << slot
            if !first { out.append(0x2C) }
            first = false
            out.append(headerKeyChunks[slot])
            escaped(UnsafeBufferPointer(rebasing: buf[value]))
            out.append(0x22)
        }
        if repeats {
            chunk(#"},"header_repeated":["#)
            seen = 0
            first = true
            for (slot, value) in zip(headerSlots, headerValues) {
                guard seen & (1 << slot) != 0 else { seen |= 1 << slot; continue }
                chunk(first ? #"[""# : #",[""#)
                first = false
                escaped(ByteLinter.headerName(slot))
                chunk(#"",""#)
                escaped(UnsafeBufferPointer(rebasing: buf[value]))
                chunk(#""]"#)
            }
            chunk(#"],"cp":["#)
        } else {
            chunk(#"},"cp":["#)
        }
        var start = 0
        for (g, end) in groupEnds.enumerated() {
            chunk(g > 0 ? ",[" : "[")
            for e in start..<end {
                chunk(e > start ? #",[""# : #"[""#)
                escaped(UnsafeBufferPointer(rebasing: buf[entryNames[e]]))
                chunk(#"",""#)
                escaped(UnsafeBufferPointer(rebasing: buf[entryValues[e]]))
                chunk(#""]"#)
            }
            out.append(0x5D)
            start = end
        }
    }
    chunk(#"],"diagnostics":["#)
    let diagnostics = r.diagnostics
    for (k, d) in diagnostics.enumerated() {
        chunk(k > 0 ? #",{"rule":""# : #"{"rule":""#)
        escaped(d.rule)
        chunk(#"","severity":""#)
        escaped(d.severity.rawValue)
        chunk(#"","offset":"#)
        if let offset = d.offset { decimal(offset) } else { chunk("null") }
        chunk(#","message":""#)
        scratch.removeAll()
        r.appendMessage(d, to: scratch)
        scratch.withBytes { escaped($0) }
        chunk(#""}"#)
    }
    chunk("]}\n")
}

/// `"QN":"` … `"PNO":"`: a header member's start by slot (`SegmentChecks.order2017`).
private let headerKeyChunks: [[UInt8]] = (0..<8).map { Array(("\"" + ByteLinter.headerName($0) + "\":\"").utf8) }
