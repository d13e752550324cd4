import HJ212

/// The header fields the platform reads of every packet (QN, ST, CN, PW, MN, Flag, PNUM), found
/// in one pass over `DataSegment.header`: each `segment.qn` … is a scan comparing names, and a
/// packet's handling asked for them about fifteen times (a tenth of `serve`'s time per packet).
/// Each value is what `DataSegment.header(name)` gives: the first field of that name.
struct HeaderFields {
    var qn: String?
    var st: String?
    var cn: String?
    var pw: String?
    var mn: String?
    /// The Flag field's text (`flag` parses it as `DataSegment.flag` does).
    var flagText: String?
    var pnumText: String?

    init(_ segment: DataSegment) {
        // Locals assigned once at the end, fields read in place (no copy of each `Field`).
        var qn: String?, st: String?, cn: String?, pw: String?, mn: String?, flag: String?, pnum: String?
        segment.header.withUnsafeBufferPointer { fields in
            for i in fields.indices {
                switch HeaderFields.which(fields[i].name) {
                case 1: if qn == nil { qn = fields[i].value }
                case 2: if st == nil { st = fields[i].value }
                case 3: if cn == nil { cn = fields[i].value }
                case 4: if pw == nil { pw = fields[i].value }
                case 5: if mn == nil { mn = fields[i].value }
                case 6: if flag == nil { flag = fields[i].value }
                case 7: if pnum == nil { pnum = fields[i].value }
                default: continue
                }
            }
        }
        (self.qn, self.st, self.cn, self.pw, self.mn, self.flagText, self.pnumText) = (qn, st, cn, pw, mn, flag, pnum)
    }

    /// 1 QN, 2 ST, 3 CN, 4 PW, 5 MN, 6 Flag, 7 PNUM, 0 another name.
    @inline(__always)
    static func which(_ name: String) -> Int {
        let utf8 = name.utf8
        switch utf8.count {
        case 2:
            let a = utf8[utf8.startIndex], b = utf8[utf8.index(after: utf8.startIndex)]
            switch (a, b) {
            case (0x51, 0x4E): return 1  // QN
            case (0x53, 0x54): return 2  // ST
            case (0x43, 0x4E): return 3  // CN
            case (0x50, 0x57): return 4  // PW
            case (0x4D, 0x4E): return 5  // MN
            default: return 0
            }
        case 4:
            if name == "Flag" { return 6 }
            if name == "PNUM" { return 7 }
            return 0
        default:
            return 0
        }
    }

    /// `DataSegment.flag`: the Flag as a number 0…255.
    var flag: PacketFlag? { flagText.flatMap { Int($0) }.flatMap { (0...255).contains($0) ? PacketFlag(rawValue: $0) : nil } }

    /// A split packet by its Flag (D) or by carrying PNUM, as the reassembler decides.
    var isSplit: Bool { (flag?.isSplit ?? false) || pnumText != nil }
}
