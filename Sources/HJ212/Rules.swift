/// The catalogue of every judgement the validator makes. IDs are stable: scripts filter on them.
///
/// Clauses: "§" numbers are those of HJ 212-2017 unless another standard is named.
public enum Rules {
    static let framing = "HJ 212-2017 §6.3.1 Table 2"
    static let segmentTable = "HJ 212-2017 §6.3.2 Table 3"
    static let cpSyntax = "HJ 212-2017 §6.3.3"
    static let fieldTable = "HJ 212-2017 §6.3.3.2 Table 4"

    // MARK: Stream
    public static let skippedBytes = Rule("stream.skipped-bytes", framing, strict: .warning,
        "Bytes outside any frame were skipped", "跳过了不属于任何通讯包的字节")
    public static let incompleteTail = Rule("stream.incomplete-tail", framing, strict: .error, lenient: .warning,
        "The input ends inside a frame", "输入在通讯包中途结束")

    // MARK: Frame
    public static let lengthNotDigits = Rule("frame.length-not-digits", framing, strict: .error,
        "Length field is not four decimal digits", "数据段长度不是4位十进制数")
    public static let lengthMismatch = Rule("frame.length-mismatch", framing, strict: .error,
        "Declared length differs from the data segment", "数据段长度与实际不符")
    public static let lengthCountsCharacters = Rule("frame.length-counts-characters", framing + "; §6.3 (UTF-8)", strict: .warning,
        "Length counts characters, not UTF-8 bytes", "长度按字符而非UTF-8字节计算")
    public static let segmentTooLong = Rule("frame.segment-too-long", framing + "; §6.6 (PNUM/PNO)", strict: .error, lenient: .warning,
        "Data segment longer than 1024 bytes without splitting", "数据段超过1024字节且未拆分")
    public static let crcNotHex = Rule("frame.crc-not-hex", framing, strict: .error,
        "CRC is not four hex digits", "CRC不是4位十六进制数")
    public static let crcMismatch = Rule("frame.crc-mismatch", "HJ 212-2017 Appendix A", strict: .error,
        "CRC does not match the data segment", "CRC校验错误")
    public static let crcLowercase = Rule("frame.crc-lowercase", "HJ 212-2017 Appendix A (example 1C80)", strict: .warning,
        "CRC written in lower case", "CRC使用小写字母")
    public static let crcVariantModbus = Rule("frame.crc-variant-modbus", "HJ 212-2017 Appendix A", strict: .error, lenient: .warning,
        "CRC-16/MODBUS instead of the HJ 212 CRC", "使用了CRC-16/MODBUS而非HJ 212校验")
    public static let crcVariantModbusSwapped = Rule("frame.crc-variant-modbus-swapped", "HJ 212-2017 Appendix A", strict: .error, lenient: .warning,
        "CRC-16/MODBUS printed low byte first instead of the HJ 212 CRC", "使用了低字节在前的CRC-16/MODBUS")
    public static let trailerMissing = Rule("frame.trailer-missing", framing, strict: .error, lenient: .warning,
        "Frame not ended by CR LF", "包尾不是CR LF")
    public static let encodingNotUTF8 = Rule("frame.encoding-not-utf8", "HJ 212-2017 §6.3", strict: .error, lenient: .warning,
        "Bytes that are not UTF-8 (GBK?)", "存在非UTF-8字节（GBK？）")
    public static let nonASCIIOutsideLog = Rule("frame.non-ascii-outside-log", "HJ 212-2017 §6.3", strict: .warning,
        "Non-ASCII text outside a //log// value", "日志以外出现非ASCII字符")

    // MARK: Segment header
    public static let fieldMissing = Rule("segment.field-missing", segmentTable, strict: .error,
        "Required field missing", "缺少必需字段")
    public static let fieldSyntax = Rule("segment.field-syntax", segmentTable, strict: .error,
        "Header item is not name=value", "字段不是“名称=值”形式")
    public static let fieldUnknown = Rule("segment.field-unknown", segmentTable, strict: .warning,
        "Unknown header field", "未知的包头字段")
    public static let fieldDuplicate = Rule("segment.field-duplicate", segmentTable, strict: .error,
        "Header field appears twice", "包头字段重复")
    public static let fieldOrder = Rule("segment.field-order", segmentTable, strict: .warning,
        "Header fields out of the order of Table 3", "字段顺序与表3不同")
    public static let separator = Rule("segment.separator", segmentTable, strict: .error, lenient: .warning,
        "Wrong separator between header fields", "字段分隔符错误")
    public static let whitespace = Rule("segment.whitespace", segmentTable, strict: .error, lenient: .warning,
        "Stray spaces in a header field", "字段中有多余空格")
    public static let qnFormat = Rule("segment.qn-format", segmentTable, strict: .error,
        "QN is not a 17-digit time stamp YYYYMMDDhhmmsszzz", "QN不是17位时间戳")
    public static let stFormat = Rule("segment.st-format", segmentTable + "; §6.6.1", strict: .error,
        "ST is not two characters 0-9 A-Z", "ST格式错误")
    public static let stUnknown = Rule("segment.st-unknown", "HJ 212-2017 §6.6.1 Table 5", strict: .warning,
        "ST not in the system-code table", "ST不在系统编码表中")
    public static let cnFormat = Rule("segment.cn-format", segmentTable, strict: .error,
        "CN is not four digits", "CN不是4位数字")
    public static let cnUnknown = Rule("segment.cn-unknown", "HJ 212-2017 §6.6.5 Table 9", strict: .warning,
        "CN not in the command-code table", "CN不在命令编码表中")
    public static let pwFormat = Rule("segment.pw-format", segmentTable, strict: .warning,
        "PW is not six characters", "PW不是6位")
    public static let mnFormat = Rule("segment.mn-format", segmentTable, strict: .warning,
        "MN is not 24 hex characters (EPC-96)", "MN不是24位十六进制字符")
    public static let flagFormat = Rule("segment.flag-format", segmentTable, strict: .error,
        "Flag is not an integer 0-255", "Flag不是0-255的整数")
    public static let flagSplitWithoutPnum = Rule("segment.flag-split-without-pnum", segmentTable, strict: .error,
        "Flag says split (D=1) but PNUM/PNO are missing", "Flag标记拆分包但缺少PNUM/PNO")
    public static let pnumWithoutSplit = Rule("segment.pnum-without-split", segmentTable, strict: .error, lenient: .warning,
        "PNUM/PNO present but Flag says not split (D=0)", "有PNUM/PNO但Flag未标记拆分")
    public static let pnoRange = Rule("segment.pno-range", segmentTable, strict: .error,
        "PNUM/PNO not numbers with 1 <= PNO <= PNUM", "PNO/PNUM取值错误")
    public static let pnumFormat = Rule("segment.pnum-format", segmentTable, strict: .warning,
        "PNUM/PNO zero-padded", "PNUM/PNO补零")

    // MARK: CP syntax
    public static let cpOpenMissing = Rule("cp.open-missing", cpSyntax, strict: .error,
        "CP= not followed by &&", "CP=后缺少&&")
    public static let cpUnterminated = Rule("cp.unterminated", cpSyntax, strict: .error,
        "CP is missing its closing &&", "CP缺少结尾&&")
    public static let cpTrailingBytes = Rule("cp.trailing-bytes", cpSyntax, strict: .error,
        "Bytes after the closing && of CP", "CP结尾&&之后还有内容")
    public static let cpEntrySyntax = Rule("cp.entry-syntax", cpSyntax, strict: .error,
        "CP entry is not key=value", "CP项不是“键=值”形式")
    public static let cpTrailingSeparator = Rule("cp.trailing-separator", cpSyntax, strict: .warning,
        "CP ends with a stray separator", "CP末尾有多余分隔符")
    public static let cpEmptyEntry = Rule("cp.empty-entry", cpSyntax, strict: .warning,
        "Empty CP entry (doubled separator)", "CP中有空项")
    public static let cpWhitespace = Rule("cp.whitespace", cpSyntax, strict: .warning,
        "Stray spaces in CP", "CP中有多余空格")
    public static let cpTooLong = Rule("cp.too-long", segmentTable + " (CP 0≤n≤950)", strict: .warning,
        "CP longer than 950 characters", "CP超过950字符")
    public static let cpEncrypted = Rule("cp.encrypted", "HJ 212-2025 (SM4, UNCONFIRMED)", strict: .info,
        "CP data area is encrypted and was not inspected", "CP数据区已加密，未检查")
    public static let cpDuplicateKey = Rule("cp.duplicate-key", cpSyntax, strict: .warning,
        "Same key twice in one CP group", "同一组中键重复")
    public static let cpFieldUnknown = Rule("cp.field-unknown", fieldTable, strict: .warning,
        "Unknown field name", "未知字段名")
    public static let cpLogUnterminated = Rule("cp.log-unterminated", cpSyntax + "; C.40", strict: .error,
        "Log text //… not closed by //", "日志文本缺少结尾//")

    // MARK: Values
    public static let dateTimeInvalid = Rule("value.datetime-invalid", fieldTable, strict: .error,
        "Time is not a valid YYYYMMDDhhmmss", "时间不是有效的YYYYMMDDhhmmss")
    public static let dateTimeMilliseconds = Rule("value.datetime-milliseconds", fieldTable, strict: .error, lenient: .warning,
        "Time carries milliseconds (17 digits, HJ/T 212-2005 habit)", "时间带毫秒（17位）")
    public static let rtdIntervalRange = Rule("value.rtdinterval-range", fieldTable, strict: .error,
        "RtdInterval outside 30..3600 s", "RtdInterval超出30~3600秒")
    public static let minIntervalInvalid = Rule("value.mininterval-invalid", fieldTable, strict: .error,
        "MinInterval not one of 1 2 3 4 5 6 10 12 15 20 30", "MinInterval取值错误")
    public static let parameterRange = Rule("value.parameter-range", fieldTable, strict: .error,
        "Parameter outside its range (OverTime, ReCount, VaseNo 1..99; Ctime 1..24; Stime 1..120; CstartTime hhmmss)",
        "参数超出取值范围")
    public static let dataFlagInvalid = Rule("value.data-flag-invalid", "HJ 212-2017 §6.6.4 Table 8", strict: .error,
        "Data flag not one of N F M S D C T B", "数据标记不在N F M S D C T B中")
    public static let qnRtnInvalid = Rule("value.qnrtn-invalid", "HJ 212-2017 §6.6.3 Table 7", strict: .error,
        "QnRtn not a defined reply code", "QnRtn取值错误")
    public static let exeRtnInvalid = Rule("value.exertn-invalid", "HJ 212-2017 §6.6.2 Table 6", strict: .error,
        "ExeRtn not a defined result code", "ExeRtn取值错误")
    public static let numberInvalid = Rule("value.number-invalid", "HJ 212-2017 §6.3.3.2.2", strict: .error,
        "Measured value is not a decimal number", "监测值不是十进制数")
    public static let numberWidth = Rule("value.number-width", "HJ 212-2017 §6.3.3.2.2; Appendix B", strict: .warning,
        "Value has more digits than the factor's default Nx.y", "数值位数超过附录B缺省类型")
    public static let newPWFormat = Rule("value.newpw-format", fieldTable, strict: .error,
        "NewPW is not 1-6 characters 0-9 a-z A-Z", "NewPW格式错误")
    public static let polIdUnknown = Rule("value.polid-unknown", "HJ 212-2017 Appendix B", strict: .warning,
        "PolId not in Appendix B", "PolId不在附录B中")
    public static let infoValueInvalid = Rule("value.info-value-invalid", "HJ 212-2017 Appendix B Table B.10; §6.3.3.2 (SBxxx-RS)", strict: .warning,
        "Status value outside its defined set", "状态值不在定义范围内")
    public static let minAvgMaxOrder = Rule("value.min-avg-max-order", "HJ 212-2017 Appendix D", strict: .warning,
        "Min ≤ Avg ≤ Max does not hold", "不满足最小值≤平均值≤最大值")

    // MARK: Codes
    public static let factorUnknown = Rule("code.factor-unknown", "HJ 212-2017 Appendix B", strict: .warning,
        "Factor code not in Appendix B", "因子编码不在附录B中")

    // MARK: Replies
    public static let replySTNot91 = Rule("reply.st-not-91", "HJ 212-2017 §6.6.1; Appendix C", strict: .error,
        "Reply (9011-9014) without ST=91", "应答包ST不是91")
    public static let replyFlag = Rule("reply.flag", "HJ 212-2017 §6.3.2 Table 3; Appendix C", strict: .warning,
        "Reply asks for an answer (A=1) or is split", "应答包Flag要求应答或拆分")
    public static let replyCPNotEmpty = Rule("reply.cp-not-empty", "HJ 212-2017 Appendix C (C.4, C.14)", strict: .error, lenient: .warning,
        "9013/9014 with a non-empty CP", "9013/9014的CP不为空")
    public static let replyResultMissing = Rule("reply.result-missing", "HJ 212-2017 Appendix C (C.1)", strict: .error,
        "9011 without QnRtn or 9012 without ExeRtn", "9011缺少QnRtn或9012缺少ExeRtn")

    // MARK: Command contents
    public static let dataTimeMissing = Rule("command.datatime-missing", "HJ 212-2017 Appendix C", strict: .error,
        "Upload without DataTime", "上传数据缺少DataTime")
    public static let parameterMissing = Rule("command.parameter-missing", "HJ 212-2017 Appendix C; §6.6", strict: .error,
        "Command without a parameter it requires", "命令缺少必需参数")
    public static let historySeparator = Rule("command.history-separator", "HJ 212-2017 Appendix C (C.20 vs C.23)", strict: .warning,
        "BeginTime and EndTime separated by ',' (elsewhere ';')", "BeginTime与EndTime之间用了逗号")
    public static let historyRange = Rule("command.history-range", "HJ 212-2017 §6.5", strict: .error,
        "BeginTime after EndTime", "BeginTime晚于EndTime")
    public static let dataTimeAlignment = Rule("command.datatime-alignment", "HJ 212-2017 Appendix C (C.16-C.19)", strict: .warning,
        "DataTime not at the start of its period", "DataTime未对齐到统计周期起点")
    public static let emptyUpload = Rule("command.empty-upload", "HJ 212-2017 Appendix C (C.14-C.18)", strict: .warning,
        "Data upload carries no monitoring values", "数据上传不含监测值")

    // MARK: Dialect
    public static let dialect2005 = Rule("dialect.2005", "HJ/T 212-2005; HJ 212-2017 §6.3.2 (version bits)", strict: .info,
        "HJ/T 212-2005 packet", "HJ/T 212-2005格式的通讯包")
    public static let dialect2025 = Rule("dialect.2025", "HJ 212-2025 (version bits 000010, UNCONFIRMED)", strict: .info,
        "HJ 212-2025 packet", "HJ 212-2025格式的通讯包")
    public static let dialectMismatch = Rule("dialect.mismatch", "HJ 212-2017 §6.3.2 Table 3 (version bits)", strict: .error,
        "Packet is of another dialect than the one required", "通讯包版本与要求不符")

    /// Every rule, in catalogue order.
    public static let all: [Rule] = [
        skippedBytes, incompleteTail,
        lengthNotDigits, lengthMismatch, lengthCountsCharacters, segmentTooLong, crcNotHex, crcMismatch, crcLowercase,
        crcVariantModbus, crcVariantModbusSwapped, trailerMissing, encodingNotUTF8, nonASCIIOutsideLog,
        fieldMissing, fieldSyntax, fieldUnknown, fieldDuplicate, fieldOrder, separator, whitespace, qnFormat, stFormat,
        stUnknown, cnFormat, cnUnknown, pwFormat, mnFormat, flagFormat, flagSplitWithoutPnum, pnumWithoutSplit, pnoRange,
        pnumFormat,
        cpOpenMissing, cpUnterminated, cpTrailingBytes, cpEntrySyntax, cpTrailingSeparator, cpEmptyEntry, cpWhitespace,
        cpTooLong, cpEncrypted, cpDuplicateKey, cpFieldUnknown, cpLogUnterminated,
        dateTimeInvalid, dateTimeMilliseconds, rtdIntervalRange, minIntervalInvalid, parameterRange, dataFlagInvalid,
        qnRtnInvalid, exeRtnInvalid, numberInvalid, numberWidth, newPWFormat, polIdUnknown, infoValueInvalid,
        minAvgMaxOrder,
        factorUnknown,
        replySTNot91, replyFlag, replyCPNotEmpty, replyResultMissing,
        dataTimeMissing, parameterMissing, historySeparator, historyRange, dataTimeAlignment, emptyUpload,
        dialect2005, dialect2025, dialectMismatch,
    ]

    /// Looks a rule up by its ID.
    public static func rule(id: String) -> Rule? { byID[id] }
    private static let byID: [String: Rule] = Dictionary(uniqueKeysWithValues: all.map { ($0.id, $0) })
}
