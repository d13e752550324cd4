import HJ212

/// The electricity (用电监控) side of an emulated logger: one meter per facility
/// (`ElectricityModel`), uploaded as HJ 212-2025 ST=44 CN=2011 every RtdInterval with the
/// real-time data (docs/decisions.md, session 5):
///
/// ```
/// ST=44;CN=2011;…;Flag=5;CP=&&DataTime=20261130100000;SB1P-Rtd=18.0123,SB1P-Flag=N;SB1E-Rtd=1012.37,SB1E-Flag=N;SB1Ua-Rtd=220.1,…&&
/// ```
///
/// Value names are the facility number followed by the quantity suffix of
/// `Profiles/dialects/hj212-2025/electricity.tsv` (P kW, E kWh, Ua/Ub/Uc V, Ia/Ib/Ic A), with
/// the meter's decimals. Only a 2025 logger sends them (ST=44 is not in HJ 212-2017). A logger
/// that reads instruments (`simulate --read` with a DL/T 645 line) uploads what it read: a meter
/// never read, or last read more than a minute ago, is uploaded flagged B (通讯异常) with its last
/// value; a plain logger uploads its own meters, the same model and seeds as `hj212 sensors`.
struct ElectricityMeters: Sendable {
    var facilities: [String]
    var rated: [Double]
    var energy: [Double]
    var noise: [SimRandom]
    var latest: [MeterReading]
    let codes: ElectricityCodes

    init(template: UnitTemplate, seed: UInt64, mn: String, store: ProfileStore, level: Double) {
        let list = ElectricityModel.facilities(template)
        let first = ElectricityModel.ratedKW(store)
        facilities = list.map(\.id)
        rated = list.indices.map { ElectricityModel.rated($0, first: first) }
        energy = list.indices.map { 1000 + 250 * Double($0) }
        noise = list.indices.map { SimRandom(seed: seed &+ 7 &+ UInt64($0), label: mn) }
        codes = (try? ElectricityCodes.load(from: store)) ?? .shared
        latest = []
        for i in list.indices { latest.append(ElectricityModel.reading(level: level, rated: rated[i], energy: energy[i], noise: &noise[i])) }
    }

    /// One sample of every meter at running level `level`, `dt` seconds long (energy integrates).
    mutating func step(level: Double, dt: Double) {
        for i in facilities.indices {
            let r = ElectricityModel.reading(level: level, rated: rated[i], energy: energy[i], noise: &noise[i])
            energy[i] += r.totalPower * dt / 3600
            latest[i] = r
            latest[i].energy = energy[i]
        }
    }
}

extension UnitSimulator {
    /// The meters of a 2025 logger (nil otherwise: HJ 212-2017 has no electricity upload).
    static func electricityMeters(template: UnitTemplate, seed: UInt64, mn: String, options: SimulationOptions, level: Double) -> ElectricityMeters? {
        guard options.dialect == .hj2025 else { return nil }
        return ElectricityMeters(template: template, seed: seed, mn: mn, store: options.profiles, level: level)
    }

    /// The ST=44 upload at `t`: the logger's own meters, or what it read from the meters.
    mutating func electricityPackets(at t: Int64, _ out: (GeneratedPacket) -> Void) {
        guard let meters = electricity else { return }
        var cp: [[Field]] = [[Field("DataTime", Self.time14(t))]]
        if let source = options.readingSource {
            let facilities = source.meterFacilities()
            guard !facilities.isEmpty else { return }
            let read = source.meterReadings(at: t)
            for facility in facilities {
                let r = read[facility]
                let valid = r.map { t - $0.time <= Self.staleReadingMs } ?? false
                for q in meters.codes.quantities {
                    let code = meters.codes.code(facility: facility, q)
                    let v = r?.values[q.source] ?? 0
                    cp.append([Field("\(code)-Rtd", ValueFormat.fixed(v, decimals: q.decimals)), Field("\(code)-Flag", valid && r?.values[q.source] != nil ? "N" : "B")])
                }
            }
        } else {
            for (i, facility) in meters.facilities.enumerated() {
                for q in meters.codes.quantities {
                    let code = meters.codes.code(facility: facility, q)
                    cp.append([Field("\(code)-Rtd", ValueFormat.fixed(meters.latest[i].value(q.source) ?? 0, decimals: q.decimals)), Field("\(code)-Flag", "N")])
                }
            }
        }
        emit(packet(.realTimeData, at: t, st: .electricityMonitoring, cp: cp), out)
    }
}
