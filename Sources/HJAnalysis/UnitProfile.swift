/// What the rules need to know about a monitored unit (from its unit template, Profiles/units):
/// limits, measuring ranges, flow, O₂ and cadence.
public struct UnitProfile: Sendable, Equatable {
    /// One monitoring factor of the unit.
    public struct Factor: Sendable, Equatable {
        public var code: String
        public var baseline: Double
        public var stopped: Double
        public var rangeMin: Double
        public var rangeMax: Double
        /// Emission limit (of the converted value when `zs`), nil when none.
        public var limit: Double?
        public var zs: Bool
        /// Cyclic analysers measure every N minutes and hold the value; 0 = continuous.
        public var cycleMinutes: Int

        public init(code: String, baseline: Double, stopped: Double, rangeMin: Double, rangeMax: Double, limit: Double?, zs: Bool, cycleMinutes: Int) {
            self.code = code
            self.baseline = baseline
            self.stopped = stopped
            self.rangeMin = rangeMin
            self.rangeMax = rangeMax
            self.limit = limit
            self.zs = zs
            self.cycleMinutes = cycleMinutes
        }
    }

    /// The template name (e.g. `industrial-wastewater`).
    public var template: String
    public var titleZh: String
    public var titleEn: String
    public var rtdIntervalSeconds: Int
    public var minIntervalMinutes: Int
    public var flowFactor: String?
    public var o2Factor: String?
    public var referenceO2: Double?
    public var factors: [Factor]

    public init(template: String, titleZh: String, titleEn: String, rtdIntervalSeconds: Int, minIntervalMinutes: Int,
                flowFactor: String?, o2Factor: String?, referenceO2: Double?, factors: [Factor]) {
        self.template = template
        self.titleZh = titleZh
        self.titleEn = titleEn
        self.rtdIntervalSeconds = rtdIntervalSeconds
        self.minIntervalMinutes = minIntervalMinutes
        self.flowFactor = flowFactor
        self.o2Factor = o2Factor
        self.referenceO2 = referenceO2
        self.factors = factors
    }

    public func factor(_ code: String) -> Factor? { factors.first { $0.code == code } }

    /// The furnace temperature factor (a01901) when the unit has one.
    public var furnaceFactor: String? { factor("a01901") != nil ? "a01901" : nil }
}
