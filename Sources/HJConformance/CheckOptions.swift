/// Progress and interruption hooks of a running check (the CLI prints progress on a terminal
/// and sets `shouldContinue` to false on Ctrl-C; the run then returns what it has).
public struct CheckHooks: Sendable {
    public var progress: @Sendable (String) -> Void
    public var shouldContinue: @Sendable () -> Bool

    public init(progress: @escaping @Sendable (String) -> Void = { _ in }, shouldContinue: @escaping @Sendable () -> Bool = { true }) {
        self.progress = progress
        self.shouldContinue = shouldContinue
    }
}

/// Options of `hj212 check platform HOST:PORT`.
public struct PlatformCheckOptions: Sendable {
    public var host: String
    public var port: UInt16
    /// Credentials of the loggers the tool plays: one MN/PW (other loggers derive MNs from it)
    /// or a registry of pairs (the platform's own list of accepted loggers).
    public var credentials: [(mn: String, pw: String)]
    public var selection: CheckSelection
    /// How long to wait for an acknowledgement (HJ 212 OverTime, seconds).
    public var overTime: Double
    /// How long to watch for commands the platform sends on its own (seconds).
    public var commandWindow: Double
    /// Loggers connected at once for the concurrency check.
    public var concurrency: Int
    /// Where the whole exchange is recorded (bytes, up = sent by the tool's loggers, the
    /// logger's local address), when set: `check platform --trace`.
    public var trace: (@Sendable (_ bytes: [UInt8], _ up: Bool, _ peer: String) -> Void)?

    public init(host: String, port: UInt16, credentials: [(mn: String, pw: String)], selection: CheckSelection = CheckSelection(),
                overTime: Double = 10, commandWindow: Double = 15, concurrency: Int = 20) {
        self.host = host
        self.port = port
        self.credentials = credentials
        self.selection = selection
        self.overTime = overTime
        self.commandWindow = commandWindow
        self.concurrency = concurrency
    }
}

/// Options of `hj212 check logger --listen HOST:PORT`.
public struct LoggerCheckOptions: Sendable {
    public var host: String
    /// 0 picks a free port (reported through `listening`).
    public var port: UInt16
    /// The MN and PW of the logger under test (MN nil: accept the first MN that connects; PW nil:
    /// 123456, as `--help` says; a password is never learnt from the logger's packets).
    public var mn: String?
    public var pw: String?
    /// The unit kind the logger declares (a template name such as `industrial-wastewater`), for the
    /// required factors; nil: inferred from the factors it sends.
    public var unitKind: String?
    public var selection: CheckSelection
    /// How long to observe uploads before and between the active steps (seconds of real time).
    public var window: Double
    /// OverTime and ReCount configured on the logger (for the resend checks).
    public var overTime: Double
    public var reCount: Int
    /// How long to wait for the logger to connect at all (seconds).
    public var connectTimeout: Double
    /// Called once the listening socket is open, with the port actually bound.
    public var listening: @Sendable (UInt16) -> Void
    /// The plan (nil: every check of the selection is in scope, observed for `window`). With a
    /// plan, checks beyond it are out of scope and the observation ends once the logger's own
    /// time has advanced by `plan.loggerSpan` (or `window` of real time has passed).
    public var plan: CheckPlan?
    /// Where the whole exchange is recorded (each frame, up or down), when set.
    public var trace: (@Sendable (_ bytes: [UInt8], _ up: Bool, _ peer: String) -> Void)?
    /// Most connections open at once; more are closed at accept (a budget against a peer that
    /// opens thousands). A logger needs one; a few allow for reconnects that overlap.
    public var maxConnections = 16
    /// The instruments the check runs for the logger (`--sensors`): what they served is the
    /// evidence of the L-VALUE checks; nil: those checks are out of scope.
    public var sensors: SensorEvidence?

    public init(host: String = "0.0.0.0", port: UInt16, mn: String? = nil, pw: String? = nil, unitKind: String? = nil,
                selection: CheckSelection = CheckSelection(), window: Double = 180, overTime: Double = 10, reCount: Int = 3,
                connectTimeout: Double = 120, listening: @escaping @Sendable (UInt16) -> Void = { _ in }) {
        self.host = host
        self.port = port
        self.mn = mn
        self.pw = pw
        self.unitKind = unitKind
        self.selection = selection
        self.window = window
        self.overTime = overTime
        self.reCount = reCount
        self.connectTimeout = connectTimeout
        self.listening = listening
    }
}
