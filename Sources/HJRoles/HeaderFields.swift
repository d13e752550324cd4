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
        for field in segment.header {
            let name = field.name.utf8
            switch name.count {
            case 2:
                var i = name.makeIterator()
                let a = i.next()!, b = i.next()!
                switch (a, b) {
                case (0x51, 0x4E): if qn == nil { qn = field.value }  // QN
                case (0x53, 0x54): if st == nil { st = field.value }  // ST
                case (0x43, 0x4E): if cn == nil { cn = field.value }  // CN
                case (0x50, 0x57): if pw == nil { pw = field.value }  // PW
                case (0x4D, 0x4E): if mn == nil { mn = field.value }  // MN
                default: continue
                }
            case 4:
                if flagText == nil && field.name == "Flag" { flagText = field.value }
                else if pnumText == nil && field.name == "PNUM" { pnumText = field.value }
            default:
                continue
            }
        }
    }

    /// `DataSegment.flag`: the Flag as a number 0…255.
    var flag: PacketFlag? { flagText.flatMap { Int($0) }.flatMap { (0...255).contains($0) ? PacketFlag(rawValue: $0) : nil } }

    /// A split packet by its Flag (D) or by carrying PNUM, as the reassembler decides.
    var isSplit: Bool { (flag?.isSplit ?? false) || pnumText != nil }
}
