/// The checks of `SegmentChecks`, on the ranges `ByteLinter` read: same rules, same order, same
/// offsets. Each `add` records what its message needs; `ByteLintMessages.swift` writes the text.
extension ByteLinter {
    /// `info`: 3020 (information upload or request), whose only command rule (DataTime, else
    /// InfoId) the byte path checks when DataTime is there and leaves to the full linter otherwise.
    enum CommandClass { case none, fallback, upload, periodic, info }

    private static let fallbackCommands: [[UInt8]] = [
        CommandCode.requestReply, .executionResult, .notificationReply, .dataReply,
        .setTimeoutAndRetries, .setLoggerTime, .setRealTimeInterval, .setMinuteInterval, .setPassword, .bootTime,
        .calibrate, .sampleNow, .startCleaning, .comparisonSampling, .setSamplingPeriod, .getSamplingPeriod,
        .getSampleOutputTime, .getDeviceID, .setLoggerParameters,
    ].map { Array($0.rawValue.utf8) }
    private static let uploadCommands: [[UInt8]] = [CommandCode.realTimeData, .runningStatus].map { Array($0.rawValue.utf8) }
    static let periodicCommands: [[UInt8]] = [CommandCode.dailyData, .dailyRunningTime, .minuteData, .hourData,
                                              .furnaceTemperature5Min, .standardCheckData].map { Array($0.rawValue.utf8) }
    private static let infoCommand = Array(CommandCode.loggerInfo.rawValue.utf8)

    @inline(__always)
    static func equals(_ buf: UnsafeBufferPointer<UInt8>, _ r: Range<Int>, _ text: [UInt8]) -> Bool {
        guard r.count == text.count else { return false }
        for k in 0..<text.count where buf[r.lowerBound + k] != text[k] { return false }
        return true
    }

    func commandClass(_ buf: UnsafeBufferPointer<UInt8>) -> CommandClass {
        guard let cn = value(2) else { return .none }
        // A 4-digit CN (every command code is one): its class, memoised (0…4 in the CN memo).
        if let code = Self.fourDigits(buf, cn) {
            let bits = cnMemo.value(code) { Self.commandBits(buf, cn) }
            switch bits {
            case 0: return .none
            case 1: return .fallback
            case 2: return .upload
            case 3: return .periodic
            default: return .info
            }
        }
        return Self.commandClassScan(buf, cn)
    }

    /// The CN's class by comparing it with every command of the byte path's lists.
    static func commandClassScan(_ buf: UnsafeBufferPointer<UInt8>, _ cn: Range<Int>) -> CommandClass {
        for c in Self.fallbackCommands where Self.equals(buf, cn, c) { return .fallback }
        for c in Self.uploadCommands where Self.equals(buf, cn, c) { return .upload }
        for c in Self.periodicCommands where Self.equals(buf, cn, c) { return .periodic }
        if Self.equals(buf, cn, Self.infoCommand) { return .info }
        return .none
    }

    private static func commandBits(_ buf: UnsafeBufferPointer<UInt8>, _ cn: Range<Int>) -> UInt8 {
        switch commandClassScan(buf, cn) {
        case .none: 0
        case .fallback: 1
        case .upload: 2
        case .periodic: 3
        case .info: 4
        }
    }

    /// The value of a 4-digit range, else nil.
    @inline(__always)
    static func fourDigits(_ buf: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Int? {
        guard r.count == 4 else { return nil }
        var v = 0
        for i in r {
            let d = buf[i] &- 48
            guard d < 10 else { return nil }
            v = v * 10 + Int(d)
        }
        return v
    }

    @inline(__always)
    static func equals(_ buf: UnsafeBufferPointer<UInt8>, _ r: Range<Int>, _ q: Range<Int>) -> Bool {
        guard r.count == q.count else { return false }
        for k in 0..<r.count where buf[r.lowerBound + k] != buf[q.lowerBound + k] { return false }
        return true
    }

    @inline(__always)
    static func allDigits(_ buf: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Bool {
        for i in r where buf[i] &- 48 >= 10 { return false }
        return true
    }

    /// `HJTime(text, allowMilliseconds:)` on bytes.
    static func time(_ buf: UnsafeBufferPointer<UInt8>, _ r: Range<Int>, allowMilliseconds: Bool) -> HJTime? {
        guard r.count == 14 || (allowMilliseconds && r.count == 17), allDigits(buf, r) else { return nil }
        func number(_ from: Int, _ count: Int) -> Int {
            var v = 0
            for k in 0..<count { v = v * 10 + Int(buf[r.lowerBound + from + k] - 48) }
            return v
        }
        let t = HJTime(year: number(0, 4), month: number(4, 2), day: number(6, 2), hour: number(8, 2), minute: number(10, 2),
                       second: number(12, 2), millisecond: r.count == 17 ? number(14, 3) : 0)
        return t.isValid ? t : nil
    }

    // MARK: Header

    static let required2005 = [1, 2, 3, 4]
    static let required2017 = [0, 1, 2, 3, 4, 5]

    func checkHeader(_ buf: UnsafeBufferPointer<UInt8>, dictionary: DictionaryRef, flag: Int, base: Int) {
        let required = dialect == .hj2005 ? Self.required2005 : Self.required2017
        for slot in required where slotItem[slot] < 0 { add(Rules.fieldMissing, base, .fieldMissing, slot) }
        var broken = false
        for k in headerSlots.indices.dropFirst() {
            let a = headerSlots[k - 1], b = headerSlots[k]
            if dialect == .hj2005 ? SegmentChecks.rank2005[a] > SegmentChecks.rank2005[b] : a > b { broken = true; break }
        }
        if broken { add(Rules.fieldOrder, base, .fieldOrder) }
        if let qn = value(0) {
            let at = offset(slotItem[0])
            if qn.count != 17 || !Self.allDigits(buf, qn) {
                add(Rules.qnFormat, at, .qnLength)
            } else if Self.time(buf, qn, allowMilliseconds: true) == nil {
                add(Rules.qnFormat, at, .qnDate)
            }
        }
        if let st = value(1) {
            let at = offset(slotItem[1])
            if st.count != 2 || !(buf[st.lowerBound] &- 48 < 10 || buf[st.lowerBound] &- 65 < 26)
                || !(buf[st.lowerBound + 1] &- 48 < 10 || buf[st.lowerBound + 1] &- 65 < 26) {
                add(Rules.stFormat, at, .stFormat)
            } else if stMemo.value(Int(dialect.index) << 16 | Int(buf[st.lowerBound]) << 8 | Int(buf[st.lowerBound + 1]), {
                dictionary.value.system(String(decoding: UnsafeBufferPointer(rebasing: buf[st]), as: UTF8.self)) == nil ? 0 : 1
            }) == 0 {
                add(Rules.stUnknown, at, .stUnknown)
            }
        }
        if let cn = value(2) {
            let at = offset(slotItem[2])
            if let code = Self.fourDigits(buf, cn) {
                // Keys with bit 20 set: whether the linter's dictionary of this dialect has the command (4) or not (0).
                let known = cnMemo.value(Int(dialect.index) << 16 | code | 1 << 20) {
                    dictionary.value.command(String(decoding: UnsafeBufferPointer(rebasing: buf[cn]), as: UTF8.self)) == nil ? 0 : 4
                }
                if known == 0 { add(Rules.cnUnknown, at, .cnUnknown) }
            } else {
                add(Rules.cnFormat, at, .cnFormat)
            }
        }
        if let pw = value(3), pw.count != 6 { add(Rules.pwFormat, offset(slotItem[3]), .pwFormat) }
        if let mn = value(4) {
            var hex = true
            for i in mn where !(buf[i] &- 48 < 10 || buf[i] &- 65 < 6) { hex = false; break }
            if dialect == .hj2005 {
                if mn.count != 14 && !(mn.count == 24 && hex) { add(Rules.mnFormat, offset(slotItem[4]), .mn2005) }
            } else if mn.count != 24 || !hex {
                add(Rules.mnFormat, offset(slotItem[4]), .mnFormat, hex ? 1 : 0)
            }
        }
    }

    // MARK: CP

    func checkCP(_ buf: UnsafeBufferPointer<UInt8>, dictionary: DictionaryRef) -> Bool {
        let limit = dialect == .hj2005 ? 960 : 950
        if areaEnd - areaStart > limit { add(Rules.cpTooLong, offset(areaStart), .cpTooLong, areaEnd - areaStart, limit) }
        unknownCodes.removeAll()
        unknownFields.removeAll()
        widthItems.removeAll()
        statItems.removeAll()
        var hasMeasurements = false
        var groupStart = 0
        return keys.tables[keySlot].entries.withUnsafeBufferPointer { keyTable in
            for groupEnd in groupEnds {
                width.removeAll()
                stats.removeAll()
                for e in groupStart..<groupEnd {
                    let k = entryKeys[e]
                    let at = offset(entryNames[e].lowerBound)
                    // The key table holds each distinct name once (within a frame, `run` starts over
                    // if the table was emptied), so equal names are equal key indices. Groups are a
                    // few entries long: a scan beats a table indexed by key (measured).
                    for e2 in groupStart..<e where entryKeys[e2] == k {
                        add(Rules.cpDuplicateKey, at, .cpDuplicateKey, e)
                        break
                    }
                    let key = keyTable[k]
                    if key.coded {
                        checkCoded(buf, key, k, e, at, dictionary: dictionary)
                        if key.kind.isMeasurement { hasMeasurements = true }
                        if key.stat != 0, let v = SegmentChecks.parseDouble(UnsafeBufferPointer(rebasing: buf[entryValues[e]])) {
                            var i = stats.firstIndex { keyTable[$0.key].codeID == key.codeID }
                            if i == nil { stats.append((k, nil, nil, nil)); i = stats.count - 1 }
                            switch key.stat {
                            case 1: stats[i!].min = v
                            case 2: stats[i!].avg = v
                            default: stats[i!].max = v
                            }
                        }
                    } else {
                        if !key.plainKnown && !unknownFields.contains(key.fieldID) {
                            unknownFields.append(key.fieldID)
                            add(Rules.cpFieldUnknown, at, .cpFieldUnknownPlain, e)
                        }
                        if key.plainClass == 1 { checkTime(buf, e, k, at) }
                    }
                }
                if !width.isEmpty {
                    // Per code (sorted by code), the violations in order.
                    let codes = widthCodes
                    codes.removeAll()
                    for w in width where !codes.contains(where: { keyTable[$0].codeID == keyTable[w.codeKey].codeID }) { codes.append(w.codeKey) }
                    let texts = keys.tables[keySlot].texts
                    codes.insertionSort { texts[$0].code < texts[$1].code }
                    for c in codes where keyTable[c].hasMessageType {
                        let start = widthItems.count
                        var first = -1
                        for w in width where keyTable[w.codeKey].codeID == keyTable[c].codeID {
                            widthItems.append(w.entry)
                            if first < 0 { first = w.entry }
                        }
                        add(Rules.numberWidth, offset(entryNames[first].lowerBound), .numberWidth, c, start, widthItems.count)
                    }
                }
                func isBroken(_ s: (key: Int, min: Double?, avg: Double?, max: Double?)) -> Bool {
                    if let lo = s.min, let mid = s.avg, lo > mid { return true }
                    if let mid = s.avg, let hi = s.max, mid > hi { return true }
                    if let lo = s.min, let hi = s.max, lo > hi { return true }
                    return false
                }
                if stats.contains(where: isBroken) {
                    let texts = keys.tables[keySlot].texts
                    let broken = brokenStats
                    broken.removeAll()
                    for s in stats where isBroken(s) { broken.append(s) }
                    broken.insertionSort { texts[$0.key].code < texts[$1.key].code }
                    for s in broken {
                        statItems.append((s.min, s.avg, s.max))
                        add(Rules.minAvgMaxOrder, offset(entryNames[groupStart].lowerBound), .minAvgMax, s.key, statItems.count - 1)
                    }
                }
                groupStart = groupEnd
            }
            return hasMeasurements
        }
    }

    private func checkCoded(_ buf: UnsafeBufferPointer<UInt8>, _ key: ByteLintKey, _ k: Int, _ e: Int, _ at: Int, dictionary: DictionaryRef) {
        if !key.knownField && !unknownFields.contains(key.fieldID) {
            unknownFields.append(key.fieldID)
            add(Rules.cpFieldUnknown, at, .cpFieldUnknownCoded, k)
        }
        if !key.hasFactor && !key.isFacility && !unknownCodes.contains(key.codeID) {
            unknownCodes.append(key.codeID)
            add(Rules.factorUnknown, at, .factorUnknown, k)
        }
        let valueRange = entryValues[e]
        switch key.kind {
        case .number, .untypedNumber:
            guard let shape = SegmentChecks.NumberShape(buf, valueRange) else {
                add(Rules.numberInvalid, at, .numberInvalid, k, e)
                return
            }
            if key.kind == .number, dialect != .hj2005, let type = key.checkType, !shape.fits(type) {
                width.append((k, e))
            }
        case .flag:
            let known: Bool
            if valueRange.count == 1 {
                // One-character flags (N, F, M, …), memoised per dialect.
                known = flagMemo.value(Int(dialect.index) << 8 | Int(buf[valueRange.lowerBound])) {
                    dictionary.value.dataFlags[String(decoding: UnsafeBufferPointer(rebasing: buf[valueRange]), as: UTF8.self)] == nil ? 0 : 1
                } == 1
            } else {
                known = dictionary.value.dataFlags[String(decoding: UnsafeBufferPointer(rebasing: buf[valueRange]), as: UTF8.self)] != nil
            }
            if !known {
                add(Rules.dataFlagInvalid, at, .dataFlagInvalid, k, e)
            }
        case .time:
            checkTime(buf, e, k, at)
        default:
            break
        }
    }

    private func checkTime(_ buf: UnsafeBufferPointer<UInt8>, _ e: Int, _ k: Int, _ at: Int) {
        let r = entryValues[e]
        let digitsOnly = Self.allDigits(buf, r)
        if digitsOnly && r.count == 17 {
            if Self.time(buf, r, allowMilliseconds: true) != nil {
                add(Rules.dateTimeMilliseconds, at, .timeMilliseconds, e, k)
            } else {
                add(Rules.dateTimeInvalid, at, .timeNotReal, e, k)
            }
            return
        }
        if !digitsOnly || r.count != 14 {
            add(Rules.dateTimeInvalid, at, .timeNot14, e, k)
        } else if Self.time(buf, r, allowMilliseconds: false) == nil {
            add(Rules.dateTimeInvalid, at, .timeNotReal, e, k)
        }
    }

    // MARK: Per-command contents

    static let dataTimeName = Array("DataTime".utf8)
    static let beginTimeName = Array("BeginTime".utf8)
    static let endTimeName = Array("EndTime".utf8)

    /// The first CP entry called `name` (`DataSegment.cpValue`).
    func cpEntry(_ buf: UnsafeBufferPointer<UInt8>, _ name: [UInt8]) -> Int? {
        for e in entryNames.indices where Self.equals(buf, entryNames[e], name) { return e }
        return nil
    }

    /// False when the command needs the full linter after all (a history request).
    func checkCommand(_ buf: UnsafeBufferPointer<UInt8>, _ command: CommandClass, hasMeasurements: Bool) -> Bool {
        switch command {
        case .none, .fallback:
            return true
        case .info:
            // SegmentChecks.checkCommand: a 3020 with DataTime has nothing more to check.
            return cpEntry(buf, Self.dataTimeName) != nil
        case .upload:
            if groupEnds.isEmpty { return true }
        case .periodic:
            if cpEntry(buf, Self.beginTimeName) != nil || cpEntry(buf, Self.endTimeName) != nil { return false }
        }
        let cpAt = offset(areaStart)
        guard let dataTime = cpEntry(buf, Self.dataTimeName) else {
            add(Rules.dataTimeMissing, cpAt, .dataTimeMissing)
            return true
        }
        if !hasMeasurements { add(Rules.emptyUpload, cpAt, .emptyUpload) }
        guard command == .periodic, let t = Self.time(buf, entryValues[dataTime], allowMilliseconds: true), let cn = value(2) else { return true }
        let p = Self.periodicCommands.firstIndex { Self.equals(buf, cn, $0) }!
        let aligned: Bool
        switch p {
        case 2: aligned = t.second == 0 && t.millisecond == 0
        case 3: aligned = t.minute == 0 && t.second == 0 && t.millisecond == 0
        case 0, 1: aligned = t.hour == 0 && t.minute == 0 && t.second == 0 && t.millisecond == 0
        case 4: aligned = t.minute % 5 == 0 && t.second == 0 && t.millisecond == 0
        default: aligned = true
        }
        if !aligned { add(Rules.dataTimeAlignment, cpAt, .dataTimeAlignment, dataTime, p) }
        return true
    }
}
