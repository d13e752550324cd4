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
        var findings: [Finding] = []
        var header: [Field] = []
        var headerOffsets: [Int] = []
        header.reserveCapacity(8)
        headerOffsets.reserveCapacity(8)
        let n = buf.count
        let cpStart = findCP(buf)
        let headerEnd = cpStart ?? n

        // Header: items separated by ';' (',' tolerated).
        var itemStart = 0
        var i = 0
        while i <= headerEnd {
            if i == headerEnd || buf[i] == semicolon || buf[i] == comma {
                if i < headerEnd && buf[i] == comma {
                    findings.append(Finding(Rules.separator, at: i, "',' between header fields; expected ';'"))
                }
                let raw = itemStart..<i
                if !raw.isEmpty {
                    let item = trimmed(buf, raw)
                    if item != raw {
                        findings.append(Finding(Rules.whitespace, at: raw.lowerBound, "spaces around header item '\(string(buf, raw))'"))
                    }
                    if let eq = item.firstIndex(where: { buf[$0] == equals }) {
                        let name = trimmed(buf, item.lowerBound..<eq)
                        let value = trimmed(buf, (eq + 1)..<item.upperBound)
                        if name != item.lowerBound..<eq || value != (eq + 1)..<item.upperBound {
                            findings.append(Finding(Rules.whitespace, at: item.lowerBound, "spaces around '=' in '\(string(buf, item))'"))
                        }
                        header.append(Field(string(buf, name), string(buf, value)))
                        headerOffsets.append(item.lowerBound)
                    } else if !item.isEmpty {
                        findings.append(Finding(Rules.fieldSyntax, at: item.lowerBound, "header item '\(string(buf, item))' has no '='"))
                    }
                } else if i < headerEnd {
                    findings.append(Finding(Rules.separator, at: i, "empty header item (doubled separator)"))
                }
                itemStart = i + 1
            }
            i += 1
        }
        if let cpStart, cpStart > 0, buf[cpStart - 1] != semicolon, buf[cpStart - 1] != comma {
            findings.append(Finding(Rules.separator, at: cpStart, "no ';' before CP="))
        }

        guard let cpStart else {
            return ParsedSegment(segment: DataSegment(header: header, cp: nil), headerOffsets: headerOffsets,
                                 cpOffsets: [], cpArea: nil, findings: findings)
        }
        // CP=&& … &&
        var areaStart = cpStart + 3
        if areaStart + 1 < n && buf[areaStart] == amp && buf[areaStart + 1] == amp {
            areaStart += 2
        } else {
            findings.append(Finding(Rules.cpOpenMissing, at: cpStart, "expected 'CP=&&', found '\(string(buf, cpStart..<min(n, cpStart + 5)))'"))
            if areaStart < n && buf[areaStart] == amp { areaStart += 1 }
        }
        var areaEnd = n
        if n - areaStart >= 2 && buf[n - 1] == amp && buf[n - 2] == amp {
            areaEnd = n - 2
        } else {
            // The last "&&" after the opening one, if any: what follows it is stray.
            var j = n - 2
            var closing: Int?
            while j >= areaStart {
                if buf[j] == amp && buf[j + 1] == amp { closing = j; break }
                j -= 1
            }
            if let closing, !(areaStart..<n).isEmpty, closing + 2 < n, !containsLogOpen(buf, areaStart..<closing) {
                areaEnd = closing
                findings.append(Finding(Rules.cpTrailingBytes, at: closing + 2, "'\(string(buf, (closing + 2)..<n))' after the closing '&&'"))
            } else {
                findings.append(Finding(Rules.cpUnterminated, at: n, "CP is not closed by '&&' (segment ends with '\(string(buf, max(areaStart, n - 8)..<n))')"))
            }
        }
        if areaEnd < areaStart { areaEnd = areaStart }
        let area = areaStart..<areaEnd
        let (groups, offsets) = parseArea(buf, area, &findings)
        return ParsedSegment(segment: DataSegment(header: header, cp: groups), headerOffsets: headerOffsets,
                             cpOffsets: offsets, cpArea: area, findings: findings)
    }

    static func containsLogOpen(_ buf: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Bool {
        var i = range.lowerBound
        while i + 1 < range.upperBound {
            if buf[i] == slash && buf[i + 1] == slash { return true }
            i += 1
        }
        return false
    }

    /// Splits the CP data area into groups and entries; `//…//` values are opaque.
    static func parseArea(_ buf: UnsafeBufferPointer<UInt8>, _ area: Range<Int>, _ findings: inout [Finding])
        -> ([[Field]], [[Int]])
    {
        var groups: [[Field]] = []
        var offsets: [[Int]] = []
        if area.isEmpty { return (groups, offsets) }
        // HJ 212-2025 SM4-encrypted area: CP=&&{0x..,0x..}&&
        if buf[area.lowerBound] == UInt8(ascii: "{") {
            findings.append(Finding(Rules.cpEncrypted, at: area.lowerBound, "encrypted data area of \(area.count) bytes"))
            return ([[Field("", string(buf, area))]], [[area.lowerBound]])
        }
        var group: [Field] = []
        var groupOffsets: [Int] = []
        var entryStart = area.lowerBound
        var i = area.lowerBound
        var valueStart: Int?  // index after '=' of the current entry
        while i <= area.upperBound {
            if i < area.upperBound {
                let b = buf[i]
                if b == equals && valueStart == nil {
                    valueStart = i + 1
                    // Opaque log text: value starting with "//" runs to the closing "//".
                    var v = i + 1
                    while v < area.upperBound && buf[v] == space { v += 1 }
                    if v + 1 < area.upperBound && buf[v] == slash && buf[v + 1] == slash {
                        var k = v + 2
                        var closed = false
                        while k + 1 < area.upperBound {
                            if buf[k] == slash && buf[k + 1] == slash { closed = true; break }
                            k += 1
                        }
                        if closed {
                            i = k + 2
                            continue
                        }
                        findings.append(Finding(Rules.cpLogUnterminated, at: v, "log text starting '//' is not closed by '//'"))
                        i = area.upperBound
                        continue
                    }
                    i += 1
                    continue
                }
                if b != semicolon && b != comma { i += 1; continue }
            }
            // End of an entry at i (separator or end of area).
            let raw = entryStart..<i
            let item = trimmed(buf, raw)
            if item.isEmpty {
                let atEnd = i == area.upperBound
                if atEnd && !(group.isEmpty && groups.isEmpty) {
                    findings.append(Finding(Rules.cpTrailingSeparator, at: max(area.lowerBound, i - 1),
                                            "CP ends with '\(string(buf, max(area.lowerBound, i - 1)..<i))' before '&&'"))
                } else if !atEnd || raw.count > 0 {
                    findings.append(Finding(Rules.cpEmptyEntry, at: raw.lowerBound, "empty CP entry"))
                }
            } else {
                if item != raw {
                    findings.append(Finding(Rules.cpWhitespace, at: raw.lowerBound, "spaces around CP entry '\(string(buf, item))'"))
                }
                if let vs = valueStart, vs - 1 >= item.lowerBound, vs - 1 < item.upperBound {
                    let nameRange = trimmed(buf, item.lowerBound..<(vs - 1))
                    let valueRange = trimmed(buf, vs..<item.upperBound)
                    if nameRange != item.lowerBound..<(vs - 1) || valueRange != vs..<item.upperBound {
                        findings.append(Finding(Rules.cpWhitespace, at: item.lowerBound, "spaces around '=' in '\(string(buf, item))'"))
                    }
                    if nameRange.isEmpty {
                        findings.append(Finding(Rules.cpEntrySyntax, at: item.lowerBound, "CP entry '\(string(buf, item))' has no key"))
                    }
                    group.append(Field(string(buf, nameRange), string(buf, valueRange)))
                } else {
                    findings.append(Finding(Rules.cpEntrySyntax, at: item.lowerBound, "CP entry '\(string(buf, item))' has no '='"))
                    group.append(Field(string(buf, item), ""))
                }
                groupOffsets.append(item.lowerBound)
            }
            if i == area.upperBound || buf[i] == semicolon {
                if !group.isEmpty {
                    groups.append(group)
                    offsets.append(groupOffsets)
                }
                group = []
                groupOffsets = []
            }
            entryStart = i + 1
            valueStart = nil
            i += 1
        }
        return (groups, offsets)
    }
}
