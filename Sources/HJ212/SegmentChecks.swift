/// The checks on a parsed data segment: header fields, CP entries and values, replies, and the
/// per-command contents of HJ 212-2017 Appendix C.
struct SegmentChecks {
    var context: Linter.Context
    let parsed: ParsedSegment
    /// Stream offset of the segment's first byte.
    let base: Int
    let dialect: Dialect
    let dictionary: CodeDictionary
    let segment: DataSegment
    /// Resolutions of keys outside the code tables, kept across frames (nil: resolve each time).
    let cache: LintCache?
    /// Whether the CP carries a monitoring value (`code-Rtd`, `-Avg`, `-RS`, `-Info` …); set by `checkCP`.
    var hasMeasurements = false

    init(context: Linter.Context, parsed: ParsedSegment, base: Int, dialect: Dialect, dictionary: CodeDictionary, cache: LintCache? = nil) {
        self.context = context
        self.cache = cache
        self.parsed = parsed
        self.base = base
        self.dialect = dialect
        self.dictionary = dictionary
        self.segment = parsed.segment
    }

    func add(_ rule: Rule, at offset: Int?, _ message: @autoclosure () -> String) {
        context.add(rule, at: offset, message())
    }

    /// Index in the header of the first field of each `order2017` slot (-1: absent); set by `checkHeader`.
    var headerFirst: [Int] = []

    func headerOffset(_ name: String) -> Int? {
        if let slot = Self.headerSlot(name), slot < headerFirst.count {
            let i = headerFirst[slot]
            return i >= 0 ? base + parsed.headerOffsets[i] : nil
        }
        guard let i = segment.header.firstIndex(where: { $0.name == name }) else { return nil }
        return base + parsed.headerOffsets[i]
    }

    mutating func run() {
        checkHeader()
        checkCP()
        checkReply()
        checkCommand()
    }

    // MARK: Header

    static let order2017 = ["QN", "ST", "CN", "PW", "MN", "Flag", "PNUM", "PNO"]
    static let order2005 = ["QN", "PNUM", "PNO", "ST", "CN", "PW", "MN", "Flag"]

    var isReply: Bool { segment.command?.isInteraction ?? false }

    /// Slot of a Table 3 header field in `order2017`, or nil.
    static func headerSlot(_ name: String) -> Int? {
        switch name {
        case "QN": 0
        case "ST": 1
        case "CN": 2
        case "PW": 3
        case "MN": 4
        case "Flag": 5
        case "PNUM": 6
        case "PNO": 7
        default: nil
        }
    }

    /// Rank of each slot of `order2017` in HJ/T 212-2005's order (QN PNUM PNO ST CN PW MN Flag).
    static let rank2005 = [0, 3, 4, 5, 6, 7, 1, 2]

    mutating func checkHeader() {
        // One pass: first index of each known field, duplicates, unknown names.
        var first = [Int](repeating: -1, count: 8)
        var appearance: [Int] = []  // slots in order of first appearance
        var unknownSeen: Set<String> = []
        for (i, field) in segment.header.enumerated() {
            let name = field.name
            if let slot = Self.headerSlot(name) {
                if first[slot] >= 0 {
                    add(Rules.fieldDuplicate, at: base + parsed.headerOffsets[i], "header field \(name) appears more than once")
                } else {
                    first[slot] = i
                    appearance.append(slot)
                }
            } else {
                if !unknownSeen.insert(name).inserted {
                    add(Rules.fieldDuplicate, at: base + parsed.headerOffsets[i], "header field \(name) appears more than once")
                }
                add(Rules.fieldUnknown, at: base + parsed.headerOffsets[i],
                    "'\(name)' is not a header field of Table 3 (QN ST CN PW MN Flag PNUM PNO)")
            }
        }
        headerFirst = first
        // Required fields.
        var required = ["QN", "ST", "CN", "PW", "MN", "Flag"]
        if dialect == .hj2005 {
            required = isReply ? ["ST", "CN"] : ["ST", "CN", "PW", "MN"]
        }
        for name in required where first[Self.headerSlot(name)!] < 0 {
            add(Rules.fieldMissing, at: base, "\(name) is missing; \(dialect.title) requires \(required.joined(separator: " "))")
        }
        if segment.cp == nil {
            add(Rules.fieldMissing, at: base, "CP=&&…&& is missing")
        }
        // Order of the known fields (by first appearance).
        let rank: (Int) -> Int = dialect == .hj2005 ? { Self.rank2005[$0] } : { $0 }
        if zip(appearance, appearance.dropFirst()).contains(where: { rank($0) > rank($1) }) {
            let order = dialect == .hj2005 ? Self.order2005 : Self.order2017
            let seenNames = appearance.map { Self.order2017[$0] }
            let expected = order.filter { seenNames.contains($0) }
            add(Rules.fieldOrder, at: base, "fields in the order \(seenNames.joined(separator: " ")); Table 3 orders them \(expected.joined(separator: " "))")
        }
        if let qn = segment.qn {
            let at = headerOffset("QN")
            if qn.utf8.count != 17 || !qn.utf8.allSatisfy({ $0 &- 48 < 10 }) {
                add(Rules.qnFormat, at: at, "QN '\(qn)' has \(qn.utf8.count) characters; expected 17 digits YYYYMMDDhhmmsszzz")
            } else if HJTime(qn, allowMilliseconds: true) == nil {
                add(Rules.qnFormat, at: at, "QN '\(qn)' is not a real date and time (YYYYMMDDhhmmsszzz)")
            }
        }
        if let st = segment.st {
            let at = headerOffset("ST")
            if st.utf8.count != 2 || !st.utf8.allSatisfy({ $0 &- 48 < 10 || $0 &- 65 < 26 }) {
                add(Rules.stFormat, at: at, "ST '\(st)' is not 2 characters of 0-9 A-Z")
            } else if dictionary.system(st) == nil {
                add(Rules.stUnknown, at: at, "ST=\(st) is not in the system-code table of \(dialect.title)")
            }
        }
        if let cn = segment.cn {
            let at = headerOffset("CN")
            if cn.utf8.count != 4 || !cn.utf8.allSatisfy({ $0 &- 48 < 10 }) {
                add(Rules.cnFormat, at: at, "CN '\(cn)' is not 4 digits")
            } else if dictionary.command(cn) == nil {
                add(Rules.cnUnknown, at: at, "CN=\(cn) is not a command of \(dialect.title) (vendor extension?)")
            }
        }
        if let pw = segment.pw, pw.count != 6 {
            add(Rules.pwFormat, at: headerOffset("PW"), "PW '\(pw)' has \(pw.count) characters; expected 6")
        }
        if let mn = segment.mn {
            let hex = mn.utf8.allSatisfy { $0 &- 48 < 10 || $0 &- 65 < 6 }
            if dialect == .hj2005 {
                if mn.count != 14 && !(mn.count == 24 && hex) {
                    add(Rules.mnFormat, at: headerOffset("MN"), "MN '\(mn)' has \(mn.count) characters; HJ/T 212-2005 uses 14")
                }
            } else if mn.count != 24 || !hex {
                add(Rules.mnFormat, at: headerOffset("MN"),
                    "MN '\(mn)' is \(mn.count) characters\(hex ? "" : ", not all 0-9 A-F"); expected 24 hex characters (EPC-96)\(mn.count == 14 ? ", 14 is the HJ/T 212-2005 form" : "")")
            }
        }
        let flagText = segment.header("Flag")
        let flag = segment.flag
        if let flagText, flag == nil {
            add(Rules.flagFormat, at: headerOffset("Flag"), "Flag '\(flagText)' is not an integer 0-255")
        }
        let pnumText = segment.header("PNUM"), pnoText = segment.header("PNO")
        // HJ/T 212-2005's own request examples use Flag=3 (D=1) without PNUM/PNO: not held against 2005 packets.
        if let flag, flag.isSplit, dialect != .hj2005, pnumText == nil || pnoText == nil {
            add(Rules.flagSplitWithoutPnum, at: headerOffset("Flag"),
                "Flag=\(flag.rawValue) has D=1 (split), but \(pnumText == nil && pnoText == nil ? "PNUM and PNO are" : pnumText == nil ? "PNUM is" : "PNO is") missing")
        }
        if pnumText != nil || pnoText != nil {
            if let flag, !flag.isSplit {
                add(Rules.pnumWithoutSplit, at: headerOffset(pnumText != nil ? "PNUM" : "PNO"),
                    "PNUM/PNO present, but Flag=\(flag.rawValue) has D=0 (not split); expected Flag \(flag.rawValue | 2)")
            }
            let pnum = pnumText.flatMap { Int($0) }, pno = pnoText.flatMap { Int($0) }
            if (pnumText != nil && pnum == nil) || (pnoText != nil && pno == nil) {
                add(Rules.pnoRange, at: headerOffset("PNUM"), "PNUM '\(pnumText ?? "")' / PNO '\(pnoText ?? "")' are not numbers")
            } else if let pnum, let pno, !(pno >= 1 && pno <= pnum && pnum <= 9999) {
                add(Rules.pnoRange, at: headerOffset("PNO"), "PNO=\(pno) of PNUM=\(pnum); expected 1 ≤ PNO ≤ PNUM")
            }
            for (name, text) in [("PNUM", pnumText), ("PNO", pnoText)] {
                if let text, text.count > 1, text.hasPrefix("0") {
                    add(Rules.pnumFormat, at: headerOffset(name), "\(name)=\(text) is zero-padded; expected \(Int(text).map(String.init) ?? text)")
                }
            }
        }
    }

    // MARK: CP

    /// Splits `w01018-Rtd` into code and field at the last hyphen.
    static func splitKey(_ key: String) -> (code: String, field: String)? {
        let utf8 = key.utf8
        guard let dash = utf8.lastIndex(of: UInt8(ascii: "-")) else { return nil }
        return (String(utf8[..<dash])!, String(utf8[utf8.index(after: dash)...])!)
    }

    func label(_ code: String) -> String {
        if let factor = dictionary.factor(code) { return factor.label }
        return code
    }

    static let timeFields: Set<String> = ["DataTime", "SystemTime", "BeginTime", "EndTime", "RestartTime", "SKCreateTime"]

    mutating func checkTime(_ name: String, _ value: String, at offset: Int?) {
        let digitsOnly = value.utf8.allSatisfy { $0 &- 48 < 10 }
        if digitsOnly && value.utf8.count == 17 {
            if HJTime(value, allowMilliseconds: true) != nil {
                add(Rules.dateTimeMilliseconds, at: offset, "\(name)=\(value) has milliseconds; expected 14 digits YYYYMMDDhhmmss")
            } else {
                add(Rules.dateTimeInvalid, at: offset, "\(name)=\(value) is not a real date and time")
            }
            return
        }
        if !digitsOnly || value.utf8.count != 14 {
            add(Rules.dateTimeInvalid, at: offset, "\(name)=\(value): expected 14 digits YYYYMMDDhhmmss")
        } else if HJTime(value) == nil {
            add(Rules.dateTimeInvalid, at: offset, "\(name)=\(value) is not a real date and time")
        }
    }

    mutating func checkRange(_ name: String, _ value: String, _ range: ClosedRange<Int>, rule: Rule = Rules.parameterRange, at offset: Int?) {
        if let n = Int(value), range.contains(n) { return }
        add(rule, at: offset, "\(name)=\(value); expected an integer \(range.lowerBound)..\(range.upperBound)")
    }

    mutating func checkCP() {
        guard let cp = segment.cp else { return }
        if let area = parsed.cpArea {
            let limit = dialect == .hj2005 ? 960 : 950
            if area.count > limit {
                add(Rules.cpTooLong, at: base + area.lowerBound, "CP data area is \(area.count) bytes; \(dialect.title) allows \(limit)")
            }
        }
        if cp.count == 1, cp[0].count == 1, cp[0][0].name.isEmpty { return }  // encrypted
        var unknownCodes: Set<String> = []
        var unknownFields: Set<String> = []
        for (g, group) in cp.enumerated() {
            // Min/Avg/Max per code of this group (groups are small: arrays, not dictionaries).
            var stats: [(code: String, min: Double?, avg: Double?, max: Double?)] = []
            for (e, field) in group.enumerated() {
                let at = base + parsed.cpOffsets[g][e]
                if !field.name.isEmpty, group[..<e].contains(where: { $0.name == field.name }) {
                    add(Rules.cpDuplicateKey, at: at, "'\(field.name)' appears twice in one group")
                }
                let key: (code: String, name: String)?
                if let known = dictionary.keys[field.name] {
                    key = (known.code, known.field)
                    checkCodedEntry(code: known.code, name: known.field, factor: known.factor, knownField: true, kind: known.kind,
                                    value: field.value, at: at, unknownCodes: &unknownCodes, unknownFields: &unknownFields)
                    if known.kind.isMeasurement { hasMeasurements = true }
                } else if let r = resolve(field.name).coded {
                    key = (r.code, r.field)
                    checkCodedEntry(code: r.code, name: r.field, factor: r.factor, knownField: r.knownField, kind: r.kind, isFacility: r.isFacility,
                                    value: field.value, at: at, unknownCodes: &unknownCodes, unknownFields: &unknownFields)
                    if r.kind.isMeasurement { hasMeasurements = true }
                } else {
                    key = nil
                }
                if let (code, name) = key {
                    if name == "Min" || name == "Avg" || name == "Max", let v = Double(field.value) {
                        var i = stats.firstIndex { $0.code == code }
                        if i == nil { stats.append((code, nil, nil, nil)); i = stats.count - 1 }
                        switch name {
                        case "Min": stats[i!].min = v
                        case "Avg": stats[i!].avg = v
                        default: stats[i!].max = v
                        }
                    }
                } else {
                    checkPlainEntry(field, at: at, unknownFields: &unknownFields)
                }
            }
            for (code, values) in widthViolations.isEmpty ? [] : widthViolations.sorted(by: { $0.key < $1.key }) {
                guard let type = dictionary.factor(code)?.type, let first = values.first else { continue }
                add(Rules.numberWidth, at: first.offset,
                    "\(label(code)): \(values.map { "\($0.name)=\($0.value)" }.joined(separator: ", ")) exceed\(values.count == 1 ? "s" : "") the default type \(type) of Appendix B")
            }
            if !widthViolations.isEmpty { widthViolations = [:] }
            // Only the codes whose order is broken are sorted (usually none: no sort, no copy).
            func isBroken(_ s: (code: String, min: Double?, avg: Double?, max: Double?)) -> Bool {
                if let lo = s.min, let mid = s.avg, lo > mid { return true }
                if let mid = s.avg, let hi = s.max, mid > hi { return true }
                if let lo = s.min, let hi = s.max, lo > hi { return true }
                return false
            }
            guard stats.contains(where: isBroken) else { continue }
            for (code, lo, mid, hi) in stats.filter(isBroken).sorted(by: { $0.code < $1.code }) {
                add(Rules.minAvgMaxOrder, at: base + parsed.cpOffsets[g][0],
                    "\(label(code)): Min=\(lo.map { "\($0)" } ?? "–") Avg=\(mid.map { "\($0)" } ?? "–") Max=\(hi.map { "\($0)" } ?? "–"); expected Min ≤ Avg ≤ Max")
            }
        }
    }

    /// Values wider than their factor's default type, reported once per factor.
    var widthViolations: [String: [(name: String, value: String, offset: Int)]] = [:]

    /// SBxxx (RS/RT), and under HJ 212-2025 the electricity values SBxxx+quantity (ST=44).
    static func isFacilityCode(_ code: String, _ dialect: Dialect) -> Bool {
        code.hasPrefix("SB") && (code.utf8.dropFirst(2).allSatisfy { $0 &- 48 < 10 } || (dialect == .hj2025 && ElectricityCodes.shared.parse(code) != nil))
    }

    /// A key outside the dictionary's key table, split and looked up (through the cache when there is one).
    func resolve(_ name: String) -> LintCache.Resolved {
        if let cache, let hit = cache.lookup(name, dialect) { return hit }
        var resolved = LintCache.Resolved(coded: nil)
        if let (code, field) = Self.splitKey(name), !code.isEmpty {
            resolved = LintCache.Resolved(coded: LintCache.Coded(
                code: code, field: field, factor: dictionary.factor(code), knownField: dictionary.suffixFields[field] != nil,
                kind: CodeDictionary.FieldKind(field: field),
                isFacility: Self.isFacilityCode(code, dialect)))
        }
        cache?.store(name, resolved, dialect)
        return resolved
    }

    mutating func checkCodedEntry(code: String, name: String, factor: CodeDictionary.Factor?, knownField: Bool, kind: CodeDictionary.FieldKind,
                                  isFacility: Bool? = nil,
                                  value: String, at: Int, unknownCodes: inout Set<String>, unknownFields: inout Set<String>) {
        if !knownField, unknownFields.insert(name).inserted {
            add(Rules.cpFieldUnknown, at: at, "'\(code)-\(name)': '\(name)' is not a field of Table 4 (Rtd Min Avg Max Cou Flag EFlag SampleTime ZsRtd … Info SN)")
        }
        if factor == nil {
            let isFacility = isFacility ?? Self.isFacilityCode(code, dialect)
            if !isFacility, unknownCodes.insert(code).inserted {
                add(Rules.factorUnknown, at: at, "'\(code)' is not a code of Appendix B (\(dialect.title)); non-standard or vendor code")
            }
        }
        switch kind {
        case .number, .untypedNumber, .runningHours:
            guard let shape = NumberShape(value) else {
                add(Rules.numberInvalid, at: at, "\(label(code)) \(name)='\(value)' is not a decimal number")
                return
            }
            if kind == .runningHours {
                if let v = Double(value), !(0...24).contains(v) {
                    add(Rules.parameterRange, at: at, "\(code)-RT=\(value); expected 0..24 hours of running time")
                }
            } else if kind == .number, dialect != .hj2005, let type = factor?.type, !shape.fits(type) {
                widthViolations[code, default: []].append((name, value, at))
            }
        case .flag:
            if dictionary.dataFlags[value] == nil {
                let allowed = dictionary.dataFlags.keys.sorted().joined(separator: " ")
                add(Rules.dataFlagInvalid, at: at, "\(label(code)) Flag=\(value); expected one of \(allowed)")
            }
        case .time:
            checkTime("\(code)-\(name)", value, at: at)
        case .runState:
            if dictionary.infoValues["SB-RS"]?[value] == nil {
                add(Rules.infoValueInvalid, at: at, "\(code)-RS=\(value); expected 0 关闭 off, 1 运行 running, 2 校准 calibration, 3 维护 maintenance, 4 报警 alarm, 5 反吹 blowback")
            }
        case .info:
            if let values = dictionary.infoValues[code] ?? dictionary.infoValues[code.lowercased()], values[value] == nil {
                let allowed = values.values.sorted { (Int($0.code) ?? 0) < (Int($1.code) ?? 0) }.map { "\($0.code) \($0.nameZh)" }.joined(separator: ", ")
                add(Rules.infoValueInvalid, at: at, "\(label(code)) Info=\(value); expected one of \(allowed)")
            }
        case .other:
            break
        }
    }

    mutating func checkPlainEntry(_ field: Field, at: Int, unknownFields: inout Set<String>) {
        let (name, value) = (field.name, field.value)
        if name.isEmpty { return }
        if dictionary.fields[name] == nil, unknownFields.insert(name).inserted {
            add(Rules.cpFieldUnknown, at: at, "CP key '\(name)' is not a field of Table 4")
        }
        switch name {
        case _ where Self.timeFields.contains(name):
            checkTime(name, value, at: at)
        case "RtdInterval":
            checkRange(name, value, 30...3600, rule: Rules.rtdIntervalRange, at: at)
        case "MinInterval":
            if let n = Int(value), [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30].contains(n) { break }
            add(Rules.minIntervalInvalid, at: at, "MinInterval=\(value); expected one of 1 2 3 4 5 6 10 12 15 20 30 (minutes)")
        case "OverTime":
            checkRange(name, value, dialect == .hj2005 ? 1...86400 : 1...99, at: at)
        case "ReCount":
            checkRange(name, value, dialect == .hj2005 ? 0...99 : 1...99, at: at)
        case "VaseNo":
            checkRange(name, value, 1...99, at: at)
        case "Ctime", "CTime":
            checkRange(name, value, 1...24, at: at)
        case "Stime":
            checkRange(name, value, 1...120, at: at)
        case "CstartTime":
            let ok = value.utf8.count == 6 && value.utf8.allSatisfy { $0 &- 48 < 10 }
                && Int(value.prefix(2))! < 24 && Int(value.dropFirst(2).prefix(2))! < 60 && Int(value.suffix(2))! < 60
            if !ok { add(Rules.parameterRange, at: at, "CstartTime=\(value); expected hhmmss") }
        case "QnRtn":
            if dictionary.qnRtn[value] == nil {
                add(Rules.qnRtnInvalid, at: at, "QnRtn=\(value); expected one of \(dictionary.qnRtn.keys.sorted { (Int($0) ?? 0) < (Int($1) ?? 0) }.joined(separator: " "))")
            }
        case "ExeRtn":
            if dictionary.exeRtn[value] == nil {
                add(Rules.exeRtnInvalid, at: at, "ExeRtn=\(value); expected one of \(dictionary.exeRtn.keys.sorted { (Int($0) ?? 0) < (Int($1) ?? 0) }.joined(separator: " "))")
            }
        case "NewPW":
            if value.isEmpty || value.count > 6 || !value.utf8.allSatisfy({ $0 &- 48 < 10 || ($0 | 0x20) &- 97 < 26 }) {
                add(Rules.newPWFormat, at: at, "NewPW '\(value)'; expected 1-6 characters of 0-9 a-z A-Z")
            }
        case "PolId":
            if dictionary.factor(value) == nil {
                add(Rules.polIdUnknown, at: at, "PolId=\(value) is not a code of Appendix B")
            }
        default:
            break
        }
    }

    // MARK: Replies

    mutating func checkReply() {
        guard isReply, let cn = segment.cn else { return }
        if let st = segment.st, !segment.isST(.systemInteraction) {
            add(Rules.replySTNot91, at: headerOffset("ST"), "CN=\(cn) is a reply; expected ST=91, found ST=\(st)")
        }
        if let flag = segment.flag, flag.needsAck || flag.isSplit {
            add(Rules.replyFlag, at: headerOffset("Flag"),
                "reply CN=\(cn) with Flag=\(flag.rawValue); expected \(PacketFlag(version: flag.version, split: false, ack: false).rawValue) (no answer, not split)")
        }
        let fields = segment.cpFields
        switch CommandCode(cn) {
        case .notificationReply, .dataReply:
            // HJ/T 212-2005 put the answered QN (and CN) inside CP.
            let extra = fields.filter { !(dialect == .hj2005 && ["QN", "CN", "PNO", "PNUM"].contains($0.name)) }
            if !extra.isEmpty {
                add(Rules.replyCPNotEmpty, at: parsed.cpArea.map { base + $0.lowerBound },
                    "CN=\(cn) carries '\(segment.cpText)'; expected an empty CP=&&&&")
            }
        case .requestReply:
            if segment.cpValue("QnRtn") == nil {
                add(Rules.replyResultMissing, at: parsed.cpArea.map { base + $0.lowerBound }, "9011 without QnRtn")
            }
        case .executionResult:
            if segment.cpValue("ExeRtn") == nil {
                add(Rules.replyResultMissing, at: parsed.cpArea.map { base + $0.lowerBound }, "9012 without ExeRtn")
            }
        default:
            break
        }
    }

    // MARK: Per-command contents (Appendix C)

    func has(_ name: String) -> Bool { segment.cpValue(name) != nil }

    var cpOffset: Int? { parsed.cpArea.map { base + $0.lowerBound } }

    mutating func requireParameters(_ names: [String], for cn: String) {
        let missing = names.filter { name in
            name.contains("|") ? !name.split(separator: "|").contains { has(String($0)) } : !has(name)
        }
        if !missing.isEmpty {
            let title = dictionary.command(cn).map { " (\($0.nameZh))" } ?? ""
            add(Rules.parameterMissing, at: cpOffset,
                "CN=\(cn)\(title) needs \(missing.map { $0.replacingOccurrences(of: "|", with: " or ") }.joined(separator: ", ")); CP is '\(segment.cpText)'")
        }
    }

    /// Whether the CP has no entry at all (without flattening it).
    var cpIsEmpty: Bool { segment.cp?.allSatisfy { $0.isEmpty } ?? true }

    mutating func checkCommand() {
        guard let cn = segment.cn, segment.cp != nil else { return }
        if let c = segment.cp, c.count == 1, c[0].count == 1, c[0][0].name.isEmpty { return }  // encrypted
        switch CommandCode(cn) {
        case .setTimeoutAndRetries: requireParameters(["OverTime", "ReCount"], for: cn)
        case .setLoggerTime: requireParameters(["SystemTime"], for: cn)
        case .setRealTimeInterval: requireParameters(["RtdInterval"], for: cn)
        case .setMinuteInterval: requireParameters(["MinInterval"], for: cn)
        case .setPassword: requireParameters([dialect == .hj2005 ? "PW|NewPW" : "NewPW"], for: cn)
        case .bootTime: requireParameters(["DataTime", "RestartTime"], for: cn)
        case .calibrate, .sampleNow, .startCleaning, .comparisonSampling:
            if dialect != .hj2005 { requireParameters(["PolId"], for: cn) }
        case .setSamplingPeriod: requireParameters(["PolId", "CstartTime", "Ctime|CTime"], for: cn)
        case .getSamplingPeriod, .getSampleOutputTime, .getDeviceID:
            if !has("DataTime") && cpIsEmpty { requireParameters(["PolId"], for: cn) }
        case .setLoggerParameters:
            requireParameters(["InfoId"], for: cn)
            if let info = segment.cpValue("InfoId"), !has("\(info)-Info") {
                add(Rules.parameterMissing, at: cpOffset, "CN=3021 sets InfoId=\(info) but carries no \(info)-Info value")
            }
        case .realTimeData, .runningStatus:
            if cpIsEmpty { break }  // the request
            checkUpload(cn: cn, period: nil)
        case .dailyData, .dailyRunningTime, .minuteData, .hourData, .furnaceTemperature5Min, .standardCheckData:
            if has("BeginTime") || has("EndTime") {
                checkHistoryRequest(cn: cn)
            } else {
                checkUpload(cn: cn, period: cn)
            }
        case .loggerInfo:
            if has("DataTime") { break }
            if !has("InfoId") && !cpIsEmpty {
                add(Rules.dataTimeMissing, at: cpOffset, "3020 information upload without DataTime (a request would carry InfoId)")
            }
        default:
            break
        }
    }

    mutating func checkUpload(cn: String, period: String?) {
        let title = dictionary.command(cn).map { " (\($0.nameZh))" } ?? ""
        guard let dataTime = segment.cpValue("DataTime") else {
            add(Rules.dataTimeMissing, at: cpOffset, "CN=\(cn)\(title) upload without DataTime")
            return
        }
        if !hasMeasurements {
            add(Rules.emptyUpload, at: cpOffset, "CN=\(cn)\(title) upload carries no monitoring values")
        }
        guard let period, let t = HJTime(dataTime, allowMilliseconds: true) else { return }
        let aligned: Bool, expected: String
        switch CommandCode(period) {
        case .minuteData: (aligned, expected) = (t.second == 0 && t.millisecond == 0, "a whole minute (start of the MinInterval)")
        case .hourData: (aligned, expected) = (t.minute == 0 && t.second == 0 && t.millisecond == 0, "a whole hour")
        case .dailyData, .dailyRunningTime: (aligned, expected) = (t.hour == 0 && t.minute == 0 && t.second == 0 && t.millisecond == 0, "midnight")
        case .furnaceTemperature5Min: (aligned, expected) = (t.minute % 5 == 0 && t.second == 0 && t.millisecond == 0, "a 5-minute boundary")
        default: (aligned, expected) = (true, "")
        }
        if !aligned {
            add(Rules.dataTimeAlignment, at: cpOffset, "CN=\(cn)\(title) DataTime=\(dataTime); expected \(expected), the start of the period")
        }
    }

    mutating func checkHistoryRequest(cn: String) {
        requireParameters(["BeginTime", "EndTime"], for: cn)
        guard let begin = segment.cpValue("BeginTime"), let end = segment.cpValue("EndTime") else { return }
        if dialect != .hj2005, let cp = segment.cp, cp.contains(where: { g in g.contains { $0.name == "BeginTime" } && g.contains { $0.name == "EndTime" } }) {
            add(Rules.historySeparator, at: cpOffset, "BeginTime and EndTime separated by ','; Appendix C mostly uses ';'")
        }
        if let b = HJTime(begin, allowMilliseconds: true), let e = HJTime(end, allowMilliseconds: true), e < b {
            add(Rules.historyRange, at: cpOffset, "BeginTime=\(begin) is after EndTime=\(end)")
        }
    }
}
