/// A finding before severity is resolved: which rule, where (offset relative to the thing
/// being parsed), and what was seen.
public struct Finding: Sendable, Hashable {
    public var rule: Rule
    public var offset: Int?
    public var message: String

    public init(_ rule: Rule, at offset: Int?, _ message: String) {
        self.rule = rule
        self.offset = offset
        self.message = message
    }
}

/// A data segment parsed from bytes, with where each item was and what was wrong with its syntax.
public struct ParsedSegment: Sendable {
    public var segment: DataSegment
    /// Byte offset (within the segment) of each header field, parallel to `segment.header`.
    public var headerOffsets: [Int]
    /// Byte offset of each CP entry, parallel to `segment.cp`.
    public var cpOffsets: [[Int]]
    /// Byte range of the CP data area (between `CP=&&` and `&&`) within the segment.
    public var cpArea: Range<Int>?
    /// Syntax findings, offsets relative to the segment.
    public var findings: [Finding]
}

/// Parses a data segment: `QN=…;ST=…;CN=…;PW=…;MN=…;Flag=…;[PNUM=…;PNO=…;]CP=&&…&&`.
///
/// Lenient by construction: it accepts `,` between header fields, a missing `;` before `CP=`,
/// stray spaces, a trailing `;` in CP and an unterminated CP, records a finding for each, and
/// always returns what it could read. `//…//` log text is kept opaque.
public enum SegmentParser {
    static let semicolon = UInt8(ascii: ";")
    static let comma = UInt8(ascii: ",")
    static let equals = UInt8(ascii: "=")
    static let amp = UInt8(ascii: "&")
    static let space = UInt8(ascii: " ")
    static let slash = UInt8(ascii: "/")

    public static func parse(_ text: String) -> ParsedSegment { parse(Array(text.utf8)) }

    public static func parse<C: Collection>(_ bytes: C) -> ParsedSegment where C.Element == UInt8 {
        if let result = bytes.withContiguousStorageIfAvailable({ parse(buffer: $0) }) { return result }
        return Array(bytes).withUnsafeBufferPointer { parse(buffer: $0) }
    }

    static func string(_ buf: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: buf[range]), as: UTF8.self)
    }

    /// Finds "CP=" that starts a field: at the start, or after ';' ',' or a non-name character.
    static func findCP(_ buf: UnsafeBufferPointer<UInt8>) -> Int? {
        var i = 0
        let n = buf.count
        var fallback: Int?
        while i + 2 < n {
            if buf[i] == UInt8(ascii: "C") && buf[i + 1] == UInt8(ascii: "P") && buf[i + 2] == equals {
                if i + 4 < n && buf[i + 3] == amp && buf[i + 4] == amp { return i }
                if fallback == nil { fallback = i }
            }
            i += 1
        }
        return fallback
    }

    static func trimmed(_ buf: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Range<Int> {
        var lo = range.lowerBound, hi = range.upperBound
        while lo < hi && buf[lo] == space { lo += 1 }
        while hi > lo && buf[hi - 1] == space { hi -= 1 }
        return lo..<hi
    }

    static func parse(buffer buf: UnsafeBufferPointer<UInt8>) -> ParsedSegment {
        var v = Builder(buf)
        let area = SegmentScanner.scan(buf, &v)
        return ParsedSegment(segment: DataSegment(header: v.header, cp: area == nil ? nil : v.groups), headerOffsets: v.headerOffsets,
                             cpOffsets: v.offsets, cpArea: area, findings: v.findings)
    }

    static func containsLogOpen(_ buf: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Bool {
        var i = range.lowerBound
        while i + 1 < range.upperBound {
            if buf[i] == slash && buf[i + 1] == slash { return true }
            i += 1
        }
        return false
    }

    /// What `parse` keeps of the scanner's items: fields as strings, offsets and findings.
    struct Builder: SegmentVisitor {
        static var wantsFindings: Bool { true }
        let buf: UnsafeBufferPointer<UInt8>
        var findings: [Finding] = []
        var header: [Field] = []
        var headerOffsets: [Int] = []
        var groups: [[Field]] = []
        var offsets: [[Int]] = []
        var group: [Field] = []
        var groupOffsets: [Int] = []

        init(_ buf: UnsafeBufferPointer<UInt8>) {
            self.buf = buf
            header.reserveCapacity(8)
            headerOffsets.reserveCapacity(8)
        }

        mutating func finding(_ rule: Rule, at offset: Int, _ message: String) {
            findings.append(Finding(rule, at: offset, message))
        }

        mutating func headerField(name: Range<Int>, value: Range<Int>, at offset: Int) {
            header.append(Field(string(buf, name), string(buf, value)))
            headerOffsets.append(offset)
        }

        mutating func cpEntry(name: Range<Int>, value: Range<Int>, at offset: Int) {
            group.append(Field(string(buf, name), string(buf, value)))
            groupOffsets.append(offset)
        }

        mutating func cpGroupEnd() {
            groups.append(group)
            offsets.append(groupOffsets)
            group = []
            groupOffsets = []
        }
    }
}

/// What `SegmentScanner` finds in a data segment, in order: header fields, CP entries (a group
/// ends with `cpGroupEnd`), and, when `wantsFindings`, the syntax findings. Ranges and offsets
/// are byte positions in the scanned buffer.
public protocol SegmentVisitor {
    /// Whether the scanner reports findings (a visitor that ignores them spares their messages:
    /// the scanner is specialized for each visitor, and this is known when it is compiled).
    static var wantsFindings: Bool { get }
    mutating func finding(_ rule: Rule, at offset: Int, _ message: String)
    /// A header item with `=`: its name and value without surrounding spaces; `offset`: the item's start.
    mutating func headerField(name: Range<Int>, value: Range<Int>, at offset: Int)
    /// A CP entry: name and value without surrounding spaces. An entry without `=` is its whole
    /// text as the name and an empty value; an encrypted area (`{…}`) is one entry with an empty
    /// name and the area as its value.
    mutating func cpEntry(name: Range<Int>, value: Range<Int>, at offset: Int)
    /// The end of a CP group that had at least one entry (`;` or the end of the area).
    mutating func cpGroupEnd()
}

/// The one reading of a data segment's items (`QN=…;…;CP=&&…&&`): `SegmentParser` makes its
/// `DataSegment` from it, and the store reads a frame's row from it in place (`StoreBatch`), so
/// the two cannot disagree on where a field is.
///
/// Lenient by construction: it accepts `,` between header fields, a missing `;` before `CP=`,
/// stray spaces, a trailing `;` in CP and an unterminated CP, reports a finding for each, and
/// always reads what it can. `//…//` log text is kept opaque.
public enum SegmentScanner {
    typealias P = SegmentParser

    /// Scans `buf`; returns the CP data area (between `CP=&&` and `&&`), nil when there is no `CP=`.
    @discardableResult
    public static func scan<V: SegmentVisitor>(_ buf: UnsafeBufferPointer<UInt8>, _ v: inout V) -> Range<Int>? {
        let n = buf.count
        let cpStart = P.findCP(buf)
        let headerEnd = cpStart ?? n

        // Header: items separated by ';' (',' tolerated).
        var itemStart = 0
        var i = 0
        while i <= headerEnd {
            if i == headerEnd || buf[i] == P.semicolon || buf[i] == P.comma {
                if V.wantsFindings && i < headerEnd && buf[i] == P.comma {
                    v.finding(Rules.separator, at: i, "',' between header fields; expected ';'")
                }
                let raw = itemStart..<i
                if !raw.isEmpty {
                    let item = P.trimmed(buf, raw)
                    if V.wantsFindings && item != raw {
                        v.finding(Rules.whitespace, at: raw.lowerBound, "spaces around header item '\(P.string(buf, raw))'")
                    }
                    if let eq = firstEquals(buf, item) {
                        let name = P.trimmed(buf, item.lowerBound..<eq)
                        let value = P.trimmed(buf, (eq + 1)..<item.upperBound)
                        if V.wantsFindings && (name != item.lowerBound..<eq || value != (eq + 1)..<item.upperBound) {
                            v.finding(Rules.whitespace, at: item.lowerBound, "spaces around '=' in '\(P.string(buf, item))'")
                        }
                        v.headerField(name: name, value: value, at: item.lowerBound)
                    } else if V.wantsFindings && !item.isEmpty {
                        v.finding(Rules.fieldSyntax, at: item.lowerBound, "header item '\(P.string(buf, item))' has no '='")
                    }
                } else if V.wantsFindings && i < headerEnd {
                    v.finding(Rules.separator, at: i, "empty header item (doubled separator)")
                }
                itemStart = i + 1
            }
            i += 1
        }
        if V.wantsFindings, let cpStart, cpStart > 0, buf[cpStart - 1] != P.semicolon, buf[cpStart - 1] != P.comma {
            v.finding(Rules.separator, at: cpStart, "no ';' before CP=")
        }

        guard let cpStart else { return nil }
        // CP=&& … &&
        var areaStart = cpStart + 3
        if areaStart + 1 < n && buf[areaStart] == P.amp && buf[areaStart + 1] == P.amp {
            areaStart += 2
        } else {
            if V.wantsFindings {
                v.finding(Rules.cpOpenMissing, at: cpStart, "expected 'CP=&&', found '\(P.string(buf, cpStart..<min(n, cpStart + 5)))'")
            }
            if areaStart < n && buf[areaStart] == P.amp { areaStart += 1 }
        }
        var areaEnd = n
        if n - areaStart >= 2 && buf[n - 1] == P.amp && buf[n - 2] == P.amp {
            areaEnd = n - 2
        } else {
            // The last "&&" after the opening one, if any: what follows it is stray.
            var j = n - 2
            var closing: Int?
            while j >= areaStart {
                if buf[j] == P.amp && buf[j + 1] == P.amp { closing = j; break }
                j -= 1
            }
            if let closing, !(areaStart..<n).isEmpty, closing + 2 < n, !P.containsLogOpen(buf, areaStart..<closing) {
                areaEnd = closing
                if V.wantsFindings {
                    v.finding(Rules.cpTrailingBytes, at: closing + 2, "'\(P.string(buf, (closing + 2)..<n))' after the closing '&&'")
                }
            } else if V.wantsFindings {
                v.finding(Rules.cpUnterminated, at: n, "CP is not closed by '&&' (segment ends with '\(P.string(buf, max(areaStart, n - 8)..<n))')")
            }
        }
        if areaEnd < areaStart { areaEnd = areaStart }
        let area = areaStart..<areaEnd
        scanArea(buf, area, &v)
        return area
    }

    @inline(__always)
    static func firstEquals(_ buf: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Int? {
        var k = r.lowerBound
        while k < r.upperBound {
            if buf[k] == P.equals { return k }
            k += 1
        }
        return nil
    }

    /// Splits the CP data area into groups and entries; `//…//` values are opaque.
    static func scanArea<V: SegmentVisitor>(_ buf: UnsafeBufferPointer<UInt8>, _ area: Range<Int>, _ v: inout V) {
        if area.isEmpty { return }
        // HJ 212-2025 SM4-encrypted area: CP=&&{0x..,0x..}&&
        if buf[area.lowerBound] == UInt8(ascii: "{") {
            if V.wantsFindings { v.finding(Rules.cpEncrypted, at: area.lowerBound, "encrypted data area of \(area.count) bytes") }
            v.cpEntry(name: area.lowerBound..<area.lowerBound, value: area, at: area.lowerBound)
            v.cpGroupEnd()
            return
        }
        var entries = 0       // in the current group
        var groupsSeen = 0    // groups ended with at least one entry
        var entryStart = area.lowerBound
        var i = area.lowerBound
        var valueStart: Int?  // index after '=' of the current entry
        while i <= area.upperBound {
            if i < area.upperBound {
                let b = buf[i]
                if b == P.equals && valueStart == nil {
                    valueStart = i + 1
                    // Opaque log text: value starting with "//" runs to the closing "//".
                    var w = i + 1
                    while w < area.upperBound && buf[w] == P.space { w += 1 }
                    if w + 1 < area.upperBound && buf[w] == P.slash && buf[w + 1] == P.slash {
                        var k = w + 2
                        var closed = false
                        while k + 1 < area.upperBound {
                            if buf[k] == P.slash && buf[k + 1] == P.slash { closed = true; break }
                            k += 1
                        }
                        if closed {
                            i = k + 2
                            continue
                        }
                        if V.wantsFindings { v.finding(Rules.cpLogUnterminated, at: w, "log text starting '//' is not closed by '//'") }
                        i = area.upperBound
                        continue
                    }
                    i += 1
                    continue
                }
                if b != P.semicolon && b != P.comma { i += 1; continue }
            }
            // End of an entry at i (separator or end of area).
            let raw = entryStart..<i
            let item = P.trimmed(buf, raw)
            if item.isEmpty {
                if V.wantsFindings {
                    let atEnd = i == area.upperBound
                    if atEnd && !(entries == 0 && groupsSeen == 0) {
                        v.finding(Rules.cpTrailingSeparator, at: max(area.lowerBound, i - 1),
                                  "CP ends with '\(P.string(buf, max(area.lowerBound, i - 1)..<i))' before '&&'")
                    } else if !atEnd || raw.count > 0 {
                        v.finding(Rules.cpEmptyEntry, at: raw.lowerBound, "empty CP entry")
                    }
                }
            } else {
                if V.wantsFindings && item != raw {
                    v.finding(Rules.cpWhitespace, at: raw.lowerBound, "spaces around CP entry '\(P.string(buf, item))'")
                }
                if let vs = valueStart, vs - 1 >= item.lowerBound, vs - 1 < item.upperBound {
                    let nameRange = P.trimmed(buf, item.lowerBound..<(vs - 1))
                    let valueRange = P.trimmed(buf, vs..<item.upperBound)
                    if V.wantsFindings {
                        if nameRange != item.lowerBound..<(vs - 1) || valueRange != vs..<item.upperBound {
                            v.finding(Rules.cpWhitespace, at: item.lowerBound, "spaces around '=' in '\(P.string(buf, item))'")
                        }
                        if nameRange.isEmpty {
                            v.finding(Rules.cpEntrySyntax, at: item.lowerBound, "CP entry '\(P.string(buf, item))' has no key")
                        }
                    }
                    v.cpEntry(name: nameRange, value: valueRange, at: item.lowerBound)
                } else {
                    if V.wantsFindings { v.finding(Rules.cpEntrySyntax, at: item.lowerBound, "CP entry '\(P.string(buf, item))' has no '='") }
                    v.cpEntry(name: item, value: item.upperBound..<item.upperBound, at: item.lowerBound)
                }
                entries += 1
            }
            if i == area.upperBound || buf[i] == P.semicolon {
                if entries > 0 {
                    v.cpGroupEnd()
                    groupsSeen += 1
                }
                entries = 0
            }
            entryStart = i + 1
            valueStart = nil
            i += 1
        }
    }

}
