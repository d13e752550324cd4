/// A fault's stable ID in `Profiles/faults/catalogue.json` (`crc-mismatch`, `outage`, `flatline` …).
/// The catalogue is data (a user may add a fault there), so the set is open; the constants name
/// the faults the code acts on, and a test checks each one is in the catalogue, so that renaming
/// a catalogue entry fails the tests instead of silently disabling the code that handles it.
///
/// ```swift
/// if spec.id == .outage { … }
/// ```
public struct FaultID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }
    public static func < (a: FaultID, b: FaultID) -> Bool { a.rawValue < b.rawValue }

    // Protocol faults
    /// crc-mismatch: CRC 校验码错误 (CRC digits do not match the data segment).
    public static let crcMismatch = FaultID("crc-mismatch")
    /// crc-modbus: 使用 CRC-16/MODBUS 校验 (CRC-16/MODBUS instead of the HJ 212 CRC).
    public static let crcModbus = FaultID("crc-modbus")
    /// crc-modbus-swapped: 使用低字节在前的 CRC-16/MODBUS (CRC-16/MODBUS printed low byte first).
    public static let crcModbusSwapped = FaultID("crc-modbus-swapped")
    /// crc-lowercase: CRC 使用小写字母 (CRC written in lower case).
    public static let crcLowercase = FaultID("crc-lowercase")
    /// length-wrong: 数据段长度错误 (Declared length one more than the data segment).
    public static let lengthWrong = FaultID("length-wrong")
    /// no-crlf: 缺少包尾 CR LF (Frame sent without CR LF).
    public static let noCRLF = FaultID("no-crlf")
    /// oversized-record: 超长数据包未拆分 (A record over 1024 bytes sent whole, without PNUM/PNO).
    public static let oversizedRecord = FaultID("oversized-record")
    /// wrong-pno: 拆分包 PNO 错误 (The last packet of a split record says PNO = PNUM + 1: the record never completes).
    public static let wrongPNO = FaultID("wrong-pno")
    /// wrong-pw: 访问密码错误 (Wrong password).
    public static let wrongPW = FaultID("wrong-pw")
    /// malformed-mn: MN 格式错误 (MN of 14 characters instead of 24 hex).
    public static let malformedMN = FaultID("malformed-mn")
    /// version-2005: Flag 版本位为 HJ/T 212-2005 (Flag version bits 000000).
    public static let version2005 = FaultID("version-2005")
    /// duplicate-qn: QN 重复 (The QN of the previous packet used again).
    public static let duplicateQN = FaultID("duplicate-qn")
    /// missing-record: 缺失分钟/小时/日数据 (A 2051, 2061 or 2031 record is not sent).
    public static let missingRecord = FaultID("missing-record")
    /// duplicate-record: 重复上传 (The same record).
    public static let duplicateRecord = FaultID("duplicate-record")
    /// out-of-order: 数据乱序上传 (A record).
    public static let outOfOrder = FaultID("out-of-order")
    /// clock-skew: 数采仪时钟偏差 (Logger clock 7 minutes fast: QN, DataTime and SampleTime shifted).
    public static let clockSkew = FaultID("clock-skew")
    /// clock-jump: 数采仪时钟跳变 (The logger clock jumps once by 'minutes').
    public static let clockJump = FaultID("clock-jump")
    /// misaligned-datatime: 数据时间未对齐 (2051/2061/2031 DataTime 37 s off the period start).
    public static let misalignedDataTime = FaultID("misaligned-datatime")
    /// inconsistent-cou: 累计值与分钟数据不一致 (2061/2031 Cou values inflated by 30 %).
    public static let inconsistentCou = FaultID("inconsistent-cou")
    /// inconsistent-avg: 均值与分钟数据不一致 (2061/2031 Avg values multiplied by 'scale').
    public static let inconsistentAvg = FaultID("inconsistent-avg")
    // Transport faults
    /// disconnect: 连接断开 (The logger drops its connection once at the start of the window).
    public static let disconnect = FaultID("disconnect")
    /// reconnect-storm: 频繁重连 (During the window the logger closes each new connection after 'interval_ms').
    public static let reconnectStorm = FaultID("reconnect-storm")
    /// outage: 长时间离线后补传 (No connection during the window).
    public static let outage = FaultID("outage")
    /// slow-drip: 逐字节慢速发送 (During the window every byte is written alone, one per 'interval_ms').
    public static let slowDrip = FaultID("slow-drip")
    /// batch-write: 多包一次写入 (During the window packets are held and written 'packets' at a time in one write).
    public static let batchWrite = FaultID("batch-write")
    /// half-open: 半开连接（不读不写不关闭） (During the window the logger neither reads nor writes nor closes: the connection looks open but is dead).
    public static let halfOpen = FaultID("half-open")
    /// never-read: 不读取平台应答 (During the window the logger stops reading the socket and keeps sending without waiting for 9014).
    public static let neverRead = FaultID("never-read")
    /// no-resend: 缺少 9014 时不重发 (During the window an upload whose 9014 does not come within OverTime is given up instead of resent).
    public static let noResend = FaultID("no-resend")
    // Instrument faults
    /// flatline: 数据恒值（疑似造假） (Readings frozen at a constant value).
    public static let flatline = FaultID("flatline")
    /// under-limit: 数据压线（略低于排放限值） (Readings held just under the emission limit).
    public static let underLimit = FaultID("under-limit")
    /// drift: 仪器漂移 (Readings drift upward by 5 % per hour).
    public static let drift = FaultID("drift")
    /// spike: 异常尖峰 (Occasional spikes).
    public static let spike = FaultID("spike")
    /// level-shift: 数据突变 (Sudden level shift).
    public static let levelShift = FaultID("level-shift")
    /// negative: 负值 (Negative).
    public static let negative = FaultID("negative")
    /// over-range: 超量程 (Readings at the upper measuring limit, flag T).
    public static let overRange = FaultID("over-range")
    /// missing-factor: 监测因子缺失 (The factor is absent from real-time, minute, hour and day records).
    public static let missingFactor = FaultID("missing-factor")
    /// calibration: 校准 (Instrument in calibration: flag C, and working state i12001=3).
    public static let calibration = FaultID("calibration")
    /// maintenance: 维护 (Maintenance: flag M, i12001=1).
    public static let maintenance = FaultID("maintenance")
    /// fault: 仪器故障 (Instrument fault: flag D, i12001=2).
    public static let deviceFault = FaultID("fault")
    /// stopped: 仪器停运 (Instrument stopped, flag F).
    public static let stopped = FaultID("stopped")
    /// comm-loss: 仪器与数采仪通讯异常 (Analyser-logger communication lost, flag B).
    public static let commLoss = FaultID("comm-loss")
    /// manual: 手工输入设定值 (Manually set values, flag S).
    public static let manual = FaultID("manual")
    /// standard-check-fail: 标样核查不合格 (The analyser's standard-sample check fails: deviation 'deviation' %).
    public static let standardCheckFail = FaultID("standard-check-fail")
    // Fraud faults
    /// parameter-tampering: 篡改分析仪参数 (Analyser parameters changed: slope x 'slope', intercept + 'intercept', range set to 'range').
    public static let parameterTampering = FaultID("parameter-tampering")
    /// o2-manipulation: 篡改氧含量降低折算浓度 (The O2 reading is lowered by 'points' percentage points, so that the converted).
    public static let o2Manipulation = FaultID("o2-manipulation")
    /// flow-bypass: 流量计篡改/旁路排放 (The flow reads 'fraction' of the true flow).
    public static let flowBypass = FaultID("flow-bypass")
    // Process faults
    /// furnace-low: 焚烧炉炉膛温度低于 850 ℃ (The furnace temperature a01901 runs at 'temperature' C).
    public static let furnaceLow = FaultID("furnace-low")
    // Reading faults (a logger that reads its instruments: simulate --read)
    /// reading-byte-order: 数采仪读取寄存器字节序错误 (The value register read in the wrong byte/word order).
    public static let readingByteOrder = FaultID("reading-byte-order")
    /// reading-scale: 数采仪读数倍率错误 (A wrong scale applied to the value read).
    public static let readingScale = FaultID("reading-scale")
    /// reading-no-status: 数采仪未映射仪器状态 (The status register ignored: every reading flagged N).
    public static let readingNoStatus = FaultID("reading-no-status")
    /// reading-stale: 仪器失联后数采仪仍上传旧值 (An instrument lost: its last reading uploaded as N instead of B).
    public static let readingStale = FaultID("reading-stale")

    /// Every named fault above.
    public static let named: [FaultID] = [
        .crcMismatch, .crcModbus, .crcModbusSwapped, .crcLowercase, .lengthWrong, .noCRLF, .oversizedRecord, .wrongPNO, .wrongPW, .malformedMN, .version2005, .duplicateQN, .missingRecord, .duplicateRecord, .outOfOrder, .clockSkew, .clockJump, .misalignedDataTime, .inconsistentCou, .inconsistentAvg, .disconnect, .reconnectStorm, .outage, .slowDrip, .batchWrite, .halfOpen, .neverRead, .noResend, .flatline, .underLimit, .drift, .spike, .levelShift, .negative, .overRange, .missingFactor, .calibration, .maintenance, .deviceFault, .stopped, .commLoss, .manual, .standardCheckFail, .parameterTampering, .o2Manipulation, .flowBypass, .furnaceLow, .readingByteOrder, .readingScale, .readingNoStatus, .readingStale,
    ]
}

/// Where a fault acts (the catalogue's `layer`).
public enum FaultLayer: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Changes the frames a logger sends (generate and simulate).
    case `protocol`
    /// Changes how a live link uses its TCP connection (simulate only).
    case transport
    /// Changes a factor's readings and flags before aggregation.
    case instrument
    /// Changed readings with changed device parameters (3020).
    case fraud
    /// Changes the plant itself (couplings follow).
    case process
    /// A logger that reads its instruments wrongly (byte order, scale, status, stale): `simulate --read` only.
    case reading

    public var description: String { rawValue }

    /// Layers whose faults act on a logger's values inside the simulator.
    public var actsOnValues: Bool { self == .instrument || self == .fraud || self == .process }
}
