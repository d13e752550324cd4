/// The protocol's vocabulary as types: command codes (CN), request and execution return codes
/// (QnRtn, ExeRtn) and the role a packet plays in each direction. The sets are open, as the
/// standard says the tables are extensible: an unknown code is representable (`CommandCode("2999")`)
/// and its names come from the dialect's code dictionary (`CodeDictionary.command(_:)`).
///
/// Use the named constants (`CommandCode.realTimeData`) instead of string literals: a reader can
/// find every use of a code by its name, and the compiler catches a misspelt one.

/// A command code, the `CN` field (HJ 212-2017 Table 9; 2025 additions in `hj212-2025/commands.tsv`).
public struct CommandCode: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The code as written on the wire (`"2011"`).
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }

    public var description: String { rawValue }
    public static func < (a: CommandCode, b: CommandCode) -> Bool { a.rawValue < b.rawValue }

    // Initialisation (初始化命令)
    /// 1000 设置超时时间及重发次数: set OverTime and ReCount.
    public static let setTimeoutAndRetries = CommandCode("1000")
    // Parameter commands (参数命令)
    /// 1011 提取现场机时间 / 上传现场机时间.
    public static let getLoggerTime = CommandCode("1011")
    /// 1012 设置现场机时间.
    public static let setLoggerTime = CommandCode("1012")
    /// 1013 现场机时间校准请求 (a notification from the logger).
    public static let timeCalibrationRequest = CommandCode("1013")
    /// 1061 提取实时数据间隔 / 上传实时数据间隔.
    public static let getRealTimeInterval = CommandCode("1061")
    /// 1062 设置实时数据间隔.
    public static let setRealTimeInterval = CommandCode("1062")
    /// 1063 提取分钟数据间隔 / 上传分钟数据间隔.
    public static let getMinuteInterval = CommandCode("1063")
    /// 1064 设置分钟数据间隔.
    public static let setMinuteInterval = CommandCode("1064")
    /// 1072 设置现场机密码.
    public static let setPassword = CommandCode("1072")
    // Data commands (数据命令)
    /// 2011 取污染物实时数据 / 上传污染物实时数据.
    public static let realTimeData = CommandCode("2011")
    /// 2012 停止察看污染物实时数据.
    public static let stopRealTimeData = CommandCode("2012")
    /// 2021 取设备运行状态数据 / 上传设备运行状态数据.
    public static let runningStatus = CommandCode("2021")
    /// 2022 停止察看设备运行状态.
    public static let stopRunningStatus = CommandCode("2022")
    /// 2031 取污染物日历史数据 / 上传污染物日历史数据.
    public static let dailyData = CommandCode("2031")
    /// 2041 取设备运行时间日历史数据 / 上传设备运行时间日历史数据.
    public static let dailyRunningTime = CommandCode("2041")
    /// 2051 取污染物分钟数据 / 上传污染物分钟数据.
    public static let minuteData = CommandCode("2051")
    /// 2061 取污染物小时数据 / 上传污染物小时数据.
    public static let hourData = CommandCode("2061")
    /// 2081 上传数采仪开机时间.
    public static let bootTime = CommandCode("2081")
    // Control commands (控制命令)
    /// 3011 零点校准量程校准.
    public static let calibrate = CommandCode("3011")
    /// 3012 即时采样.
    public static let sampleNow = CommandCode("3012")
    /// 3013 启动清洗/反吹.
    public static let startCleaning = CommandCode("3013")
    /// 3014 比对采样.
    public static let comparisonSampling = CommandCode("3014")
    /// 3015 超标留样 / 上传超标留样信息.
    public static let exceedanceSample = CommandCode("3015")
    /// 3016 设置采样时间周期.
    public static let setSamplingPeriod = CommandCode("3016")
    /// 3017 提取采样时间周期 / 上传采样时间周期.
    public static let getSamplingPeriod = CommandCode("3017")
    /// 3018 提取出样时间 / 上传出样时间.
    public static let getSampleOutputTime = CommandCode("3018")
    /// 3019 提取设备唯一标识 / 上传设备唯一标识.
    public static let getDeviceID = CommandCode("3019")
    /// 3020 提取现场机信息 / 上传现场机信息.
    public static let loggerInfo = CommandCode("3020")
    /// 3021 设置现场机参数.
    public static let setLoggerParameters = CommandCode("3021")
    // Interaction commands (交互命令)
    /// 9011 请求应答 (carries QnRtn).
    public static let requestReply = CommandCode("9011")
    /// 9012 执行结果 (carries ExeRtn).
    public static let executionResult = CommandCode("9012")
    /// 9013 通知应答.
    public static let notificationReply = CommandCode("9013")
    /// 9014 数据应答.
    public static let dataReply = CommandCode("9014")
    // HJ 212-2025 additions (UNCONFIRMED in the reference; see docs/decisions.md)
    /// 1001 上传数采仪硬件序号 (2025).
    public static let hardwareSerial = CommandCode("1001")
    /// 1002 设置数采仪MN编码 (2025).
    public static let setMN = CommandCode("1002")
    /// 1014 现场机获取新密钥 / 上位机下发新密钥 (2025).
    public static let newKey = CommandCode("1014")
    /// 2013 取原始监测数据（周期性监测）/ 上传原始监测数据 (2025).
    public static let rawMonitoringData = CommandCode("2013")
    /// 2052 噪声单次测量数据 (2025).
    public static let noiseMeasurement = CommandCode("2052")
    /// 2062 提取自动标样核查（校准）数据 / 上传自动标样核查（校准）数据 (2025).
    public static let standardCheckData = CommandCode("2062")
    /// 2111 上传炉膛温度5min均值 (2025).
    public static let furnaceTemperature5Min = CommandCode("2111")
    /// 3022 下发即时留样任务 (2025).
    public static let retainSampleNow = CommandCode("3022")
    /// 3024 启动（自动）标样核查 (2025).
    public static let startStandardCheck = CommandCode("3024")
    /// 9015 心跳包 (2025).
    public static let heartbeat = CommandCode("9015")

    /// Every named code above, for tests and listings.
    public static let named: [CommandCode] = [
        .setTimeoutAndRetries, .getLoggerTime, .setLoggerTime, .timeCalibrationRequest, .getRealTimeInterval, .setRealTimeInterval, .getMinuteInterval, .setMinuteInterval, .setPassword, .realTimeData, .stopRealTimeData, .runningStatus, .stopRunningStatus, .dailyData, .dailyRunningTime, .minuteData, .hourData, .bootTime, .calibrate, .sampleNow, .startCleaning, .comparisonSampling, .exceedanceSample, .setSamplingPeriod, .getSamplingPeriod, .getSampleOutputTime, .getDeviceID, .loggerInfo, .setLoggerParameters, .requestReply, .executionResult, .notificationReply, .dataReply, .hardwareSerial, .setMN, .newKey, .rawMonitoringData, .noiseMeasurement, .standardCheckData, .furnaceTemperature5Min, .retainSampleNow, .startStandardCheck, .heartbeat,
    ]

    /// The uploads of monitoring series: real-time, minute, hour and day data.
    public static let seriesUploads: [CommandCode] = [.realTimeData, .minuteData, .hourData, .dailyData]

    /// One of the four interaction codes (9011–9014) that answer another packet.
    public var isInteraction: Bool { self == .requestReply || self == .executionResult || self == .notificationReply || self == .dataReply }

}

/// A system type, the `ST` field (HJ 212-2017 Table 5; extensible). Named here are the codes the
/// code refers to; the full table is in the reference (§5.1).
public struct SystemType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    /// 31 大气环境污染源: air pollution source (flue gas, CEMS).
    public static let airPollutionSource = SystemType("31")
    /// 32 地表水体环境污染源: surface-water pollution source (wastewater).
    public static let waterPollutionSource = SystemType("32")
    /// 51 烟气排放过程监控: flue-gas process (working-condition) monitoring.
    public static let flueGasProcess = SystemType("51")
    /// 52 污水排放过程监控: wastewater process monitoring.
    public static let wastewaterProcess = SystemType("52")
    /// 91 系统交互: host and field interaction; every reply (9011–9014) and the 2025 heartbeat.
    public static let systemInteraction = SystemType("91")

    /// Every named code above.
    public static let named: [SystemType] = [.airPollutionSource, .waterPollutionSource, .flueGasProcess, .wastewaterProcess, .systemInteraction]
}

/// The role a packet plays (HJ 212-2017 Table 9's 请求 / 上传 / 通知 / 交互).
public enum PacketRole: String, Sendable, Hashable, CaseIterable {
    case request, upload, notification, interaction
}

/// Which way a packet travels.
public enum PacketDirection: String, Sendable, Hashable, CaseIterable {
    /// Platform to logger (上位机 → 现场机).
    case down
    /// Logger to platform (现场机 → 上位机).
    case up
}

/// A request return code, `QnRtn` in a 9011 (HJ 212-2017 Table 7; extensible).
public struct QnRtn: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    /// 1 准备执行请求: accepted, ready to execute.
    public static let ready = QnRtn("1")
    /// 2 请求被拒绝.
    public static let rejected = QnRtn("2")
    /// 3 PW 错误.
    public static let wrongPassword = QnRtn("3")
    /// 4 MN 错误.
    public static let wrongMN = QnRtn("4")
    /// 5 ST 错误.
    public static let wrongST = QnRtn("5")
    /// 6 Flag 错误.
    public static let wrongFlag = QnRtn("6")
    /// 7 QN 错误.
    public static let wrongQN = QnRtn("7")
    /// 8 CN 错误.
    public static let wrongCN = QnRtn("8")
    /// 9 CRC 校验错误.
    public static let crcError = QnRtn("9")
    /// 100 未知错误.
    public static let unknownError = QnRtn("100")

    /// Every named code above.
    public static let named: [QnRtn] = [.ready, .rejected, .wrongPassword, .wrongMN, .wrongST, .wrongFlag, .wrongQN, .wrongCN, .crcError, .unknownError]

    /// Only "ready" accepts a request; every other code refuses it.
    public var accepts: Bool { self == .ready }
}

/// An execution return code, `ExeRtn` in a 9012 (HJ 212-2017 Table 6; extensible).
public struct ExeRtn: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    /// 1 执行成功.
    public static let success = ExeRtn("1")
    /// 2 执行失败，但不知道原因.
    public static let failedUnknown = ExeRtn("2")
    /// 3 命令请求条件错误.
    public static let invalidConditions = ExeRtn("3")
    /// 4 通讯超时.
    public static let communicationTimeout = ExeRtn("4")
    /// 5 系统繁忙不能执行.
    public static let busy = ExeRtn("5")
    /// 6 系统故障.
    public static let systemFault = ExeRtn("6")
    /// 100 没有数据.
    public static let noData = ExeRtn("100")

    /// Every named code above.
    public static let named: [ExeRtn] = [.success, .failedUnknown, .invalidConditions, .communicationTimeout, .busy, .systemFault, .noData]
}

extension CodeDictionary {
    /// The command of this code in the dialect's table, if known.
    public func command(_ code: CommandCode) -> Command? { command(code.rawValue) }

    /// "2011 上传污染物实时数据" style label for users: the code with its Chinese name when known.
    public func label(_ code: CommandCode) -> String {
        guard let c = command(code) else { return code.rawValue }
        return "\(code.rawValue) \(c.nameZh)"
    }
}

extension CodeDictionary.Command {
    /// The typed code of this entry.
    public var code: CommandCode { CommandCode(cn) }

    /// The role of this command when it travels `direction`, or nil when it does not travel that way.
    public func role(_ direction: PacketDirection) -> PacketRole? {
        PacketRole(rawValue: direction == .down ? down : up)
    }
}

extension DataSegment {
    /// The typed command code of this segment, if it has a CN.
    public var command: CommandCode? { cn.map(CommandCode.init(rawValue:)) }

    /// Whether the CN is this code.
    public func isCN(_ code: CommandCode) -> Bool { cn == code.rawValue }

    /// Whether the ST is this system type.
    public func isST(_ type: SystemType) -> Bool { st == type.rawValue }

    /// The typed system type, if the segment has an ST.
    public var systemType: SystemType? { st.map(SystemType.init(rawValue:)) }

    /// The typed QnRtn of a 9011 (the first `QnRtn` entry of CP), if any.
    public var qnRtn: QnRtn? { cpValue("QnRtn").map(QnRtn.init(rawValue:)) }

    /// The typed ExeRtn of a 9012 (the first `ExeRtn` entry of CP), if any.
    public var exeRtn: ExeRtn? { cpValue("ExeRtn").map(ExeRtn.init(rawValue:)) }
}
