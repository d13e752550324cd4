import HJ212

/// The electrical state of one metered facility at a moment (what its DL/T 645 meter shows).
public struct MeterReading: Sendable, Hashable {
    public var energy: Double
    public var voltage: [Double]
    public var current: [Double]
    public var power: [Double]
    public var powerFactor: Double
    public var frequency: Double

    public init(energy: Double, voltage: [Double], current: [Double], power: [Double], powerFactor: Double, frequency: Double) {
        (self.energy, self.voltage, self.current, self.power, self.powerFactor, self.frequency) = (energy, voltage, current, power, powerFactor, frequency)
    }

    public var totalPower: Double { power.reduce(0, +) }

    /// The number a meter source shows (`power`, `energy`, `voltage_a` …, the sources of
    /// `Profiles/instruments/dlt645-meter.json`).
    public func value(_ source: String) -> Double? {
        switch source {
        case "energy": return energy
        case "reverse_energy": return 0
        case "voltage_a": return voltage[0]
        case "voltage_b": return voltage[1]
        case "voltage_c": return voltage[2]
        case "current_a": return current[0]
        case "current_b": return current[1]
        case "current_c": return current[2]
        case "power": return totalPower
        case "power_a": return power[0]
        case "power_b": return power[1]
        case "power_c": return power[2]
        case "power_factor": return powerFactor
        case "frequency": return frequency
        default: return nil
        }
    }
}

/// The electricity meters of a unit (用电监控): one per facility (production line or treatment
/// facility) of the template, or one for the main supply (`SB1` 总用电) when it has none; the load
/// follows the unit's running level. The one model behind both the emulated meters
/// (`hj212 sensors`) and the emulated logger's own electricity uploads (`simulate --dialect 2025`).
public enum ElectricityModel {
    /// Rated active power of the first meter when the meter map does not say (kW); later meters
    /// get 1.5×, 2× … of it.
    public static let defaultRatedKW = 20.0

    /// The metered facilities of a template: id and Chinese name.
    public static func facilities(_ template: UnitTemplate) -> [(id: String, nameZh: String)] {
        template.facilities.isEmpty ? [(id: "SB1", nameZh: "总用电")] : template.facilities.map { (id: $0.id, nameZh: $0.nameZh) }
    }

    /// Rated power of meter `i` (0-based).
    public static func rated(_ i: Int, first: Double) -> Double { first * (1 + 0.5 * Double(i)) }

    /// The first meter's rated power from the meter map of a store (`rated_kw`), else the default.
    public static func ratedKW(_ store: ProfileStore) -> Double {
        guard let text = try? store.text("instruments/dlt645-meter.json"), let json = try? JSONValue.parse(text) else { return defaultRatedKW }
        switch json["rated_kw"] {
        case .double(let v)? where v > 0: return v
        case .int(let v)? where v > 0: return Double(v)
        default: return defaultRatedKW
        }
    }

    /// A facility's electrical state: load follows the running level (2 % standby when stopped),
    /// voltage 220 V ± 1 %, power factor 0.82–0.92, frequency 50 Hz.
    public static func reading(level: Double, rated: Double, energy: Double, noise: inout SimRandom) -> MeterReading {
        let total = rated * max(0.02, level) * (0.9 + 0.04 * noise.gaussian())
        var voltage: [Double] = [], power: [Double] = [], current: [Double] = []
        let pf = min(0.99, 0.82 + 0.1 * level + 0.01 * noise.gaussian())
        for k in 0..<3 {
            let v = 220 * (1 + 0.01 * noise.gaussian())
            let p = max(0, total / 3 * (1 + 0.02 * noise.gaussian() + Double(k - 1) * 0.01))
            voltage.append(v)
            power.append(p)
            current.append(p * 1000 / (v * pf))
        }
        return MeterReading(energy: energy, voltage: voltage, current: current, power: power, powerFactor: pf, frequency: 50 + 0.02 * noise.gaussian())
    }
}
