import HJ212

/// A conformance check's stable ID (`P-ACK-ST`, `L-CMD-1011` …), as in `Profiles/checks/*.json`.
/// The catalogue is data (a certifier reads and may extend it), so the set is open; the constants
/// below name every check of the built-in catalogue, the judgements use only them, and a test
/// checks that each constant is in the catalogue: renaming an entry fails the tests instead of
/// silently leaving a check unjudged (reported "not exercised").
///
/// ```swift
/// pass(.platformAckSt, "every answer carried ST=91")
/// ```
public struct RuleID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }
    public static func < (a: RuleID, b: RuleID) -> Bool { a.rawValue < b.rawValue }

    /// `P-ACK-<CN>`: the platform acknowledges an upload of this command.
    public static func platformAck(_ code: CommandCode) -> RuleID { RuleID("P-ACK-\(code.rawValue)") }
    /// `L-CMD-<CN>`: the logger executes this command.
    public static func loggerCommand(_ code: CommandCode) -> RuleID { RuleID("L-CMD-\(code.rawValue)") }

    // Platform checks (Profiles/checks/platform.json)
    /// P-ACK-2011 实时数据(2011)上传得到应答: Real-time data (2011) upload acknowledged.
    public static let platformAck2011 = RuleID("P-ACK-2011")
    /// P-ACK-2051 分钟数据(2051)上传得到应答: Minute data (2051) upload acknowledged.
    public static let platformAck2051 = RuleID("P-ACK-2051")
    /// P-ACK-2061 小时数据(2061)上传得到应答: Hour data (2061) upload acknowledged.
    public static let platformAck2061 = RuleID("P-ACK-2061")
    /// P-ACK-2031 日数据(2031)上传得到应答: Day data (2031) upload acknowledged.
    public static let platformAck2031 = RuleID("P-ACK-2031")
    /// P-ACK-2041 设备运行时间日历史数据(2041)上传得到应答: Facility run-time day data (2041) upload acknowledged.
    public static let platformAck2041 = RuleID("P-ACK-2041")
    /// P-ACK-2021 设备运行状态(2021)上传得到应答: Facility status (2021) upload acknowledged.
    public static let platformAck2021 = RuleID("P-ACK-2021")
    /// P-ACK-2081 数采仪开机时间(2081)上传得到应答: Logger boot time (2081) upload acknowledged.
    public static let platformAck2081 = RuleID("P-ACK-2081")
    /// P-ACK-3020 现场端信息(3020)上传得到应答: Field-side information (3020) upload acknowledged.
    public static let platformAck3020 = RuleID("P-ACK-3020")
    /// P-ACK-CN 上传用 9014 应答、通知用 9013 应答: Uploads answered with CN 9014, notifications with CN 9013.
    public static let platformAckCn = RuleID("P-ACK-CN")
    /// P-ACK-ST 应答的 ST 为 91: Acknowledgements carry ST=91.
    public static let platformAckSt = RuleID("P-ACK-ST")
    /// P-ACK-FLAG 应答的 Flag 为版本号且不要求应答(2017 为 4): Acknowledgements carry Flag = version bits, D=0, A=0 (4 for HJ 212-2017).
    public static let platformAckFlag = RuleID("P-ACK-FLAG")
    /// P-ACK-QN 应答回显被应答包的 QN: Acknowledgements echo the QN of the packet they answer.
    public static let platformAckQn = RuleID("P-ACK-QN")
    /// P-ACK-CP 应答的 CP 为空(CP=&&&&): Acknowledgements have an empty CP (CP=&&&&).
    public static let platformAckCp = RuleID("P-ACK-CP")
    /// P-ACK-PWMN 应答回显 PW 和 MN: Acknowledgements echo PW and MN.
    public static let platformAckPwmn = RuleID("P-ACK-PWMN")
    /// P-ACK-CRC 应答的 CRC 正确(HJ 212 算法): Acknowledgements carry a valid HJ 212 CRC.
    public static let platformAckCrc = RuleID("P-ACK-CRC")
    /// P-ACK-FRAMING 应答的包头、长度和包尾(CR LF)正确: Acknowledgements are framed right: ##, length, CR LF.
    public static let platformAckFraming = RuleID("P-ACK-FRAMING")
    /// P-ACK-TIME 在超时时间(OverTime)内应答: Acknowledgements arrive within OverTime.
    public static let platformAckTime = RuleID("P-ACK-TIME")
    /// P-ACK-ONCE 每个包只应答一次: Each packet is acknowledged once.
    public static let platformAckOnce = RuleID("P-ACK-ONCE")
    /// P-NOACK-FLAG Flag 的 A=0 时不应答: No acknowledgement when Flag A=0.
    public static let platformNoackFlag = RuleID("P-NOACK-FLAG")
    /// P-NOTIFY-1013 时间校准请求(1013)以 9013 应答: A 1013 time-calibration request is answered with 9013.
    public static let platformNotify1013 = RuleID("P-NOTIFY-1013")
    /// P-NOTIFY-1012 收到 1013 后下发 1012 设置时间: After a 1013 the platform sets the time (1012).
    public static let platformNotify1012 = RuleID("P-NOTIFY-1012")
    /// P-SPLIT-ACK 拆分包(PNUM/PNO)逐包应答: Split packets (PNUM/PNO) acknowledged one by one.
    public static let platformSplitAck = RuleID("P-SPLIT-ACK")
    /// P-RESEND-ACK 重发的上传包(同一 QN)再次得到应答: A resent upload (same QN) is acknowledged again.
    public static let platformResendAck = RuleID("P-RESEND-ACK")
    /// P-FRAME-CUT 跨多次 TCP 写入的数据包被正确接收: A frame cut across TCP writes is received.
    public static let platformFrameCut = RuleID("P-FRAME-CUT")
    /// P-FRAME-MULTI 一次写入多个数据包都被接收: Several frames in one TCP write are all received.
    public static let platformFrameMulti = RuleID("P-FRAME-MULTI")
    /// P-BAD-GARBAGE 乱码被忽略，连接继续服务: Garbage is ignored and the connection keeps serving.
    public static let platformBadGarbage = RuleID("P-BAD-GARBAGE")
    /// P-BAD-CRC CRC 错误的包不应答，连接继续服务: A frame with a wrong CRC is not acknowledged; the connection keeps serving.
    public static let platformBadCrc = RuleID("P-BAD-CRC")
    /// P-BAD-LENGTH 长度字段错误的包不应答，连接继续服务: A frame with a wrong length field is not acknowledged; the connection keeps serving.
    public static let platformBadLength = RuleID("P-BAD-LENGTH")
    /// P-BAD-OVERSIZE 超长(数据段>1024)的包不应答，连接继续服务: An oversized frame (data segment over 1024 bytes) is not acknowledged; the connection keeps serving.
    public static let platformBadOversize = RuleID("P-BAD-OVERSIZE")
    /// P-ACCESS-PW 密码错误的包不被接受: A packet with a wrong PW is not accepted.
    public static let platformAccessPw = RuleID("P-ACCESS-PW")
    /// P-ACCESS-MN 未登记的 MN 不被接受: A packet from an unknown MN is not accepted.
    public static let platformAccessMn = RuleID("P-ACCESS-MN")
    /// P-CMD-FORM 平台下发命令的格式正确: Commands from the platform are well formed.
    public static let platformCmdForm = RuleID("P-CMD-FORM")
    /// P-CMD-ST 命令的 ST 为数采仪的系统编码: Commands carry the logger's ST.
    public static let platformCmdSt = RuleID("P-CMD-ST")
    /// P-CMD-FLAG 命令的 Flag 要求应答(2017 为 5): Commands carry Flag with A=1 (5 for HJ 212-2017).
    public static let platformCmdFlag = RuleID("P-CMD-FLAG")
    /// P-CMD-QN 命令的 QN 有效且每次请求不同: Commands carry a valid QN, new for each request.
    public static let platformCmdQn = RuleID("P-CMD-QN")
    /// P-CMD-PWMN 命令携带数采仪的 PW 和 MN: Commands carry the logger's PW and MN.
    public static let platformCmdPwmn = RuleID("P-CMD-PWMN")
    /// P-CMD-FLOW 请求的 9011/9012 交互正确: The 9011/9012 request flow is followed.
    public static let platformCmdFlow = RuleID("P-CMD-FLOW")
    /// P-CMD-RESEND 未收到 9011 时按超时重发命令: A command left without 9011 is resent (same QN) after OverTime.
    public static let platformCmdResend = RuleID("P-CMD-RESEND")
    /// P-V2005-ACK HJ/T 212-2005 格式的上传得到应答: An HJ/T 212-2005 upload is acknowledged.
    public static let platformV2005Ack = RuleID("P-V2005-ACK")
    /// P-V2025-ACK HJ 212-2025 格式(Flag=9)的上传得到应答: An HJ 212-2025 upload (Flag=9) is acknowledged.
    public static let platformV2025Ack = RuleID("P-V2025-ACK")
    /// P-V2025-HEARTBEAT 心跳包(9015)以 9013 应答: A 9015 heartbeat is answered with 9013.
    public static let platformV2025Heartbeat = RuleID("P-V2025-HEARTBEAT")
    /// P-JS-DYNAMIC 动态管控参数(3020)上传得到应答: Dynamic-control parameters (3020) acknowledged.
    public static let platformJsDynamic = RuleID("P-JS-DYNAMIC")
    /// P-JS-PROCESS 工况数据(ST=51)上传得到应答: Working-condition data (ST=51) acknowledged.
    public static let platformJsProcess = RuleID("P-JS-PROCESS")
    /// P-LOAD-CONCURRENT 多个数采仪同时连接都得到服务: Several loggers connected at once are all served.
    public static let platformLoadConcurrent = RuleID("P-LOAD-CONCURRENT")
    /// P-LOAD-RECONNECT 断线重连后继续服务: A logger that reconnects is served again.
    public static let platformLoadReconnect = RuleID("P-LOAD-RECONNECT")
    /// P-LOAD-LATENCY 应答时延(p99)在超时时间内: Acknowledgement latency p99 within OverTime.
    public static let platformLoadLatency = RuleID("P-LOAD-LATENCY")
    // Logger checks (Profiles/checks/logger.json)
    /// L-CONNECT 数采仪连接并发送有效数据包: The logger connects and identifies itself with a valid packet.
    public static let loggerConnect = RuleID("L-CONNECT")
    /// L-BOOT 联网后上传数采仪开机时间（2081）: Boot time (2081) uploaded after connecting.
    public static let loggerBoot = RuleID("L-BOOT")
    /// L-RECONNECT 链路断开后自动重连: Reconnects after the platform drops the link.
    public static let loggerReconnect = RuleID("L-RECONNECT")
    /// L-LINT 每个数据包通过严格校验: Every packet conforms (strict lint).
    public static let loggerLint = RuleID("L-LINT")
    /// L-LINT-CLEAN 数据包无校验警告: Packets are free of lint warnings.
    public static let loggerLintClean = RuleID("L-LINT-CLEAN")
    /// L-CRC CRC 为 HJ 212 算法、4 位大写十六进制: CRC is the HJ 212 CRC in 4 upper-case hex digits.
    public static let loggerCrc = RuleID("L-CRC")
    /// L-FRAME 包头、数据段长度与包尾正确: Header, data-segment length and CR LF trailer.
    public static let loggerFrame = RuleID("L-FRAME")
    /// L-VERSION Flag 版本位符合所测版本: Flag version bits of the edition under test.
    public static let loggerVersion = RuleID("L-VERSION")
    /// L-MN MN 为本机设备唯一标识且格式正确: MN is the logger's, well-formed and constant.
    public static let loggerMn = RuleID("L-MN")
    /// L-PW 访问密码正确: PW is the logger's access password.
    public static let loggerPw = RuleID("L-PW")
    /// L-QN QN 为时间戳且每包唯一: QN is a 17-digit time stamp, unique per packet.
    public static let loggerQn = RuleID("L-QN")
    /// L-SPLIT 拆分包 PNUM/PNO 正确并可重组: Split packets carry consistent PNUM/PNO and reassemble.
    public static let loggerSplit = RuleID("L-SPLIT")
    /// L-RTD-CADENCE 实时数据按 RtdInterval 间隔上传: Real-time data (2011) every RtdInterval.
    public static let loggerRtdCadence = RuleID("L-RTD-CADENCE")
    /// L-MIN-CADENCE 分钟数据按 MinInterval 间隔上传: Minute data (2051) every MinInterval, none missing.
    public static let loggerMinCadence = RuleID("L-MIN-CADENCE")
    /// L-HOUR-CADENCE 小时数据每小时上传: Hour data (2061) every hour, none missing.
    public static let loggerHourCadence = RuleID("L-HOUR-CADENCE")
    /// L-DAY-CADENCE 日数据每日上传: Day data (2031) every day, none missing.
    public static let loggerDayCadence = RuleID("L-DAY-CADENCE")
    /// L-MIN-ALIGN 分钟数据 DataTime 对齐到统计周期起点: Minute data DataTime at the start of its interval.
    public static let loggerMinAlign = RuleID("L-MIN-ALIGN")
    /// L-HOUR-ALIGN 小时数据 DataTime 为整点: Hour data DataTime at hh:00:00.
    public static let loggerHourAlign = RuleID("L-HOUR-ALIGN")
    /// L-DAY-ALIGN 日数据 DataTime 为零点: Day data DataTime at 00:00:00.
    public static let loggerDayAlign = RuleID("L-DAY-ALIGN")
    /// L-DUPLICATE 不重复上传同一数据: No record uploaded twice.
    public static let loggerDuplicate = RuleID("L-DUPLICATE")
    /// L-ORDER 数据按时间顺序上传: Records uploaded in time order.
    public static let loggerOrder = RuleID("L-ORDER")
    /// L-CLOCK 数采仪时钟与平台一致: The logger's clock agrees with the platform's.
    public static let loggerClock = RuleID("L-CLOCK")
    /// L-CLOCK-CONSISTENT 上传数据时间与数采仪时钟一致: Upload time stamps agree with the clock the logger reports.
    public static let loggerClockConsistent = RuleID("L-CLOCK-CONSISTENT")
    /// L-FACTORS 上传所申报监测类型要求的全部因子: All factors required for the unit kind.
    public static let loggerFactors = RuleID("L-FACTORS")
    /// L-FIELDS 统计数据字段完整（Min/Max/Cou/折算值）: Statistics complete (Min, Max, Cou, converted values).
    public static let loggerFields = RuleID("L-FIELDS")
    /// L-AGG-HOUR 小时数据由分钟数据统计一致: Hour data consistent with minute data.
    public static let loggerAggHour = RuleID("L-AGG-HOUR")
    /// L-AGG-DAY 日数据由小时数据统计一致: Day data consistent with hour data.
    public static let loggerAggDay = RuleID("L-AGG-DAY")
    /// L-AGG-COU 排放量（Cou）累计一致: Cou totals add up.
    public static let loggerAggCou = RuleID("L-AGG-COU")
    /// L-AGG-ZS 折算浓度与基准含氧量一致: Converted values match the reference O₂.
    public static let loggerAggZs = RuleID("L-AGG-ZS")
    /// L-AGG-FLAG 数据标记按规则汇总: Data flags rolled up.
    public static let loggerAggFlag = RuleID("L-AGG-FLAG")
    /// L-RESEND 未收到应答时重发: Resends an upload whose 9014 does not come.
    public static let loggerResend = RuleID("L-RESEND")
    /// L-RESEND-QN 重发包 QN 不变: A resend repeats the same QN.
    public static let loggerResendQn = RuleID("L-RESEND-QN")
    /// L-RESEND-TIMING 重发间隔等于超时时间: Resends come after OverTime.
    public static let loggerResendTiming = RuleID("L-RESEND-TIMING")
    /// L-RESEND-COUNT 重发次数等于 ReCount: ReCount resends, no more.
    public static let loggerResendCount = RuleID("L-RESEND-COUNT")
    /// L-BACKFILL 断线期间的数据在重连后补传: Records of an outage sent after reconnecting.
    public static let loggerBackfill = RuleID("L-BACKFILL")
    /// L-CMD-1000 设置超时时间及重发次数（1000）: Sets OverTime and ReCount (1000).
    public static let loggerCmd1000 = RuleID("L-CMD-1000")
    /// L-CMD-1011 提取现场机时间（1011）: Answers a time request (1011).
    public static let loggerCmd1011 = RuleID("L-CMD-1011")
    /// L-CMD-1012 设置现场机时间（1012）: Sets its clock (1012).
    public static let loggerCmd1012 = RuleID("L-CMD-1012")
    /// L-CMD-1061 提取实时数据间隔（1061）: Reports RtdInterval (1061).
    public static let loggerCmd1061 = RuleID("L-CMD-1061")
    /// L-CMD-1062 设置实时数据间隔并生效（1062）: Sets RtdInterval and uploads at the new cadence (1062).
    public static let loggerCmd1062 = RuleID("L-CMD-1062")
    /// L-CMD-1063 提取分钟数据间隔（1063）: Reports MinInterval (1063).
    public static let loggerCmd1063 = RuleID("L-CMD-1063")
    /// L-CMD-1064 设置分钟数据间隔并生效（1064）: Sets MinInterval and uploads at the new cadence (1064).
    public static let loggerCmd1064 = RuleID("L-CMD-1064")
    /// L-CMD-1072 设置访问密码（1072）: Changes its password (1072).
    public static let loggerCmd1072 = RuleID("L-CMD-1072")
    /// L-CMD-2051 补发历史数据（2051）: Returns history minute data (2051).
    public static let loggerCmd2051 = RuleID("L-CMD-2051")
    /// L-CMD-2061 补发历史数据（2061）: Returns history hour data (2061).
    public static let loggerCmd2061 = RuleID("L-CMD-2061")
    /// L-CMD-2031 补发历史数据（2031）: Returns history day data (2031).
    public static let loggerCmd2031 = RuleID("L-CMD-2031")
    /// L-CMD-EMPTY 无数据的历史请求返回 ExeRtn=100: A history range without data ends with ExeRtn=100.
    public static let loggerCmdEmpty = RuleID("L-CMD-EMPTY")
    /// L-CMD-3020 提取现场机参数（3020）: Reports a parameter (3020).
    public static let loggerCmd3020 = RuleID("L-CMD-3020")
    /// L-CMD-3021 设置现场机参数（3021）: Sets a parameter (3021).
    public static let loggerCmd3021 = RuleID("L-CMD-3021")
    /// L-CMD-BADPW 密码错误的请求应答 QnRtn=3: A request with a wrong PW is refused with QnRtn=3.
    public static let loggerCmdBadpw = RuleID("L-CMD-BADPW")
    /// L-CMD-BADMN MN 错误的请求应答 QnRtn=4: A request with a wrong MN is refused with QnRtn=4.
    public static let loggerCmdBadmn = RuleID("L-CMD-BADMN")
    /// L-CMD-BADCN 未知命令应答 QnRtn=8: An unknown CN is refused with QnRtn=8.
    public static let loggerCmdBadcn = RuleID("L-CMD-BADCN")
    /// L-REPLY-FORM 应答包格式正确: Replies well-formed.
    public static let loggerReplyForm = RuleID("L-REPLY-FORM")
    /// L-REPLY-TIME 在超时时间内应答: Requests answered within OverTime.
    public static let loggerReplyTime = RuleID("L-REPLY-TIME")
    /// L-DYN-RUN 上传动态管控运行参数: Dynamic-control run parameters uploaded.
    public static let loggerDynRun = RuleID("L-DYN-RUN")
    /// L-DYN-CAL 上传动态管控校准/核查参数: Dynamic-control calibration and check parameters uploaded.
    public static let loggerDynCal = RuleID("L-DYN-CAL")
    /// L-DYN-QUERY 响应动态管控参数查询: Answers a dynamic-control parameter request.
    public static let loggerDynQuery = RuleID("L-DYN-QUERY")

    // Values against the instruments (Profiles/checks/logger.json, check logger --sensors)
    /// L-VALUE-RTD 实时数据与仪器读数一致: Each real-time value is a reading its instrument served (within the register's resolution).
    public static let loggerValueRtd = RuleID("L-VALUE-RTD")
    /// L-VALUE-FRESH 仪器失联时不上传旧值为有效数据: No stale value uploaded as valid after an instrument is lost.
    public static let loggerValueFresh = RuleID("L-VALUE-FRESH")
    /// L-VALUE-FLAG 数据标记与仪器状态一致: Data flags follow the instrument's status (calibration, maintenance, fault …).
    public static let loggerValueFlag = RuleID("L-VALUE-FLAG")
    /// L-VALUE-MIN 分钟数据为仪器读数的统计值: Minute data (2051) are the Appendix D aggregates of the readings served.
    public static let loggerValueMin = RuleID("L-VALUE-MIN")
    /// L-VALUE-HOUR 小时数据为仪器读数的统计值: Hour data (2061) are the Appendix D aggregates of the readings served.
    public static let loggerValueHour = RuleID("L-VALUE-HOUR")
    /// L-VALUE-INFO 3020 分析仪参数与仪器寄存器一致: Analyser parameters in 3020 are those in the analyser's registers.
    public static let loggerValueInfo = RuleID("L-VALUE-INFO")
    /// L-VALUE-POWER 用电监控数据与电能表读数一致: Each electricity value (ST=44) is a reading its meter served, for every metered facility.
    public static let loggerValuePower = RuleID("L-VALUE-POWER")

    /// Every named check above.
    public static let named: [RuleID] = [
        .loggerValueRtd, .loggerValueFresh, .loggerValueFlag, .loggerValueMin, .loggerValueHour, .loggerValueInfo, .loggerValuePower, .platformAck2011, .platformAck2051, .platformAck2061, .platformAck2031, .platformAck2041, .platformAck2021, .platformAck2081, .platformAck3020, .platformAckCn, .platformAckSt, .platformAckFlag, .platformAckQn, .platformAckCp, .platformAckPwmn, .platformAckCrc, .platformAckFraming, .platformAckTime, .platformAckOnce, .platformNoackFlag, .platformNotify1013, .platformNotify1012, .platformSplitAck, .platformResendAck, .platformFrameCut, .platformFrameMulti, .platformBadGarbage, .platformBadCrc, .platformBadLength, .platformBadOversize, .platformAccessPw, .platformAccessMn, .platformCmdForm, .platformCmdSt, .platformCmdFlag, .platformCmdQn, .platformCmdPwmn, .platformCmdFlow, .platformCmdResend, .platformV2005Ack, .platformV2025Ack, .platformV2025Heartbeat, .platformJsDynamic, .platformJsProcess, .platformLoadConcurrent, .platformLoadReconnect, .platformLoadLatency, .loggerConnect, .loggerBoot, .loggerReconnect, .loggerLint, .loggerLintClean, .loggerCrc, .loggerFrame, .loggerVersion, .loggerMn, .loggerPw, .loggerQn, .loggerSplit, .loggerRtdCadence, .loggerMinCadence, .loggerHourCadence, .loggerDayCadence, .loggerMinAlign, .loggerHourAlign, .loggerDayAlign, .loggerDuplicate, .loggerOrder, .loggerClock, .loggerClockConsistent, .loggerFactors, .loggerFields, .loggerAggHour, .loggerAggDay, .loggerAggCou, .loggerAggZs, .loggerAggFlag, .loggerResend, .loggerResendQn, .loggerResendTiming, .loggerResendCount, .loggerBackfill, .loggerCmd1000, .loggerCmd1011, .loggerCmd1012, .loggerCmd1061, .loggerCmd1062, .loggerCmd1063, .loggerCmd1064, .loggerCmd1072, .loggerCmd2051, .loggerCmd2061, .loggerCmd2031, .loggerCmdEmpty, .loggerCmd3020, .loggerCmd3021, .loggerCmdBadpw, .loggerCmdBadmn, .loggerCmdBadcn, .loggerReplyForm, .loggerReplyTime, .loggerDynRun, .loggerDynCal, .loggerDynQuery,
    ]
}
