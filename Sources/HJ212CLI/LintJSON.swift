import HJ212

/// Writes one lint item as a JSON object (the command contract of ARCHITECTURE.md: `index`,
/// `offset`, `dialect`, `crc`, `header`, `cp`, `diagnostics`; skipped runs and incomplete tails
/// with their offsets) straight into `w`'s bytes, without building a `JSONValue` tree.
func writeJSON(_ item: LintItem, file: String?, to w: inout JSONWriter) {
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
        w.key("header")
        w.beginObject()
        for field in segment.header {
            w.key(field.name)
            w.string(field.value)
        }
        w.endObject()
        w.key("cp")
        w.beginArray()
        for group in segment.cp ?? [] {
            w.beginArray()
            for field in group {
                w.beginArray()
                w.string(field.name)
                w.string(field.value)
                w.endArray()
            }
            w.endArray()
        }
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

/// `writeJSON` for a frame judged by the byte path: the same object, values escaped straight
/// from the frame's bytes, messages written into `scratch`.
func writeJSON(fast r: ByteLinter, file: String?, to w: inout JSONWriter, scratch: inout [UInt8]) {
    writeItemHead("frame", file: file, index: r.index, offset: r.frame.offset, length: r.frame.bytes.count, to: &w)
    w.key("dialect"); w.string(r.detectedDialect.rawValue)
    w.key("crc")
    w.beginObject()
    scratch.removeAll(keepingCapacity: true)
    r.appendDeclaredCRC(to: &scratch)
    w.key("declared"); w.string(validUTF8: scratch)
    scratch.removeAll(keepingCapacity: true)
    r.appendComputedCRC(to: &scratch)
    w.key("computed"); w.string(validUTF8: scratch)
    w.key("ok"); w.bool(r.crcOK)
    w.key("variant"); w.string(r.crcVariant?.rawValue)
    w.endObject()
    r.frame.bytes.withUnsafeBufferPointer { buf in
        w.key("header")
        w.beginObject()
        for (slot, value) in zip(r.headerSlots, r.headerValues) {
            w.key(ByteLinter.headerName(slot))
            w.string(validUTF8: UnsafeBufferPointer(rebasing: buf[value]))
        }
        w.endObject()
        w.key("cp")
        w.beginArray()
        var start = 0
        for end in r.groupEnds {
            w.beginArray()
            for e in start..<end {
                w.beginArray()
                w.string(validUTF8: UnsafeBufferPointer(rebasing: buf[r.entryNames[e]]))
                w.string(validUTF8: UnsafeBufferPointer(rebasing: buf[r.entryValues[e]]))
                w.endArray()
            }
            w.endArray()
            start = end
        }
        w.endArray()
    }
    w.key("diagnostics")
    w.beginArray()
    for d in r.diagnostics {
        w.beginObject()
        w.key("rule"); w.string(d.rule)
        w.key("severity"); w.string(d.severity.rawValue)
        w.key("offset"); w.int(d.offset)
        scratch.removeAll(keepingCapacity: true)
        r.appendMessage(d, to: &scratch)
        w.key("message"); w.string(validUTF8: scratch)
        w.endObject()
    }
    w.endArray()
    w.endObject()
    w.newline()
}
