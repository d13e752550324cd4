import HJ212
import HJSimulation

/// A Modbus register map of a kind of instrument (`Profiles/instruments/NAME.json`, schema in
/// docs/instruments.md): which factors it measures (channels), which registers hold what, in
/// which type and word order, and its analyser parameters.
public struct InstrumentMap: Sendable, Hashable {
    /// What a register field shows.
    public enum Source: Sendable, Hashable {
        /// The channel's current reading.
        case value
        /// The channel's status code (from its HJ 212 flag, through `statusCodes`).
        case status
        /// Alarm bits (from its flag through `alarmBits`; bit `limit` when above the factor's limit).
        case alarm
        /// The totaliser: the integral of the reading over time, times the channel's `totalFactor`.
        case total
        /// The time of the reading's measurement (cyclic analysers hold it between cycles).
        case sampleTime
        /// An analyser parameter by name (`slope`, `intercept`, `range`, `last_calibration` …).
        case parameter(String)
        /// A fixed number (device type, firmware version …).
        case constant(Double)
    }

    public struct Register: Sendable, Hashable {
        public var address: Int
        public var type: RegisterType
        public var order: WordOrder
        public var scale: Double
        public var source: Source
        public var channel: Int
        public var writable: Bool
        public var name: String
    }

    public struct Channel: Sendable, Hashable {
        public var name: String
        /// Factor codes this channel can measure; `*` matches any.
        public var codes: [String]
        /// Multiplier from reading × seconds to the totaliser's unit (0.001: L/s to m³).
        public var totalFactor: Double
    }

    public struct Parameter: Sendable, Hashable {
        public var name: String
        /// The 3020 information code the simulator knows this parameter as, if any.
        public var info: String?
        /// A number, or `@range_max`, `@range_min`, `@calibration_time`.
        public var defaultValue: String
    }

    public var name: String
    public var titleZh: String
    public var titleEn: String
    /// `water`, `gas` or `any`.
    public var medium: String
    /// `each`: one instrument per matching factor; `group`: one instrument for all of them.
    public var assign: String
    /// Lower first when factors are assigned to instruments.
    public var priority: Int
    /// Whether function 04 serves the same map as 03.
    public var inputRegisters: Bool
    public var channels: [Channel]
    public var statusCodes: [UInt8: UInt16]
    public var alarmBits: [String: Int]
    public var parameters: [Parameter]
    public var registers: [Register]

    /// Loads `Profiles/instruments/NAME.json`.
    public static func load(_ name: String, from store: ProfileStore = .builtin) throws -> InstrumentMap {
        let path = "instruments/\(name).json"
        guard let text = try store.text(path) else {
            throw ProfileError(file: path, line: nil, message: "no such instrument map; available: \(available(in: store).joined(separator: ", "))")
        }
        return try parse(text, file: path)
    }

    /// Names of the Modbus maps available (built in and in the override directory).
    public static func available(in store: ProfileStore = .builtin) -> [String] {
        var names = Set(ProfileStore.builtinPaths.filter { $0.hasPrefix("instruments/") && $0.hasSuffix(".json") }.map { String($0.dropFirst(12).dropLast(5)) })
        if let dir = store.overrideDirectory, let items = try? listDirectory(dir + "/instruments") {
            names.formUnion(items.filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) })
        }
        return names.sorted()
    }

    public static func parse(_ text: String, file: String) throws -> InstrumentMap {
        let json: JSONValue
        do { json = try JSONValue.parse(text) } catch { throw ProfileError(file: file, line: nil, message: "not valid JSON: \(error)") }
        let r = MapReader(json: json, file: file, path: "")
        guard try r.string("protocol") == "modbus" else { throw r.fail("protocol", "expected \"modbus\" (DL/T 645 meters have their own file)") }
        var m = InstrumentMap(name: try r.string("name"), titleZh: try r.string("title_zh"), titleEn: try r.string("title_en"),
                              medium: try r.string("medium"), assign: try r.string("assign"), priority: Int(try r.number("priority")),
                              inputRegisters: try r.bool("input_registers"), channels: [], statusCodes: [:], alarmBits: [:], parameters: [], registers: [])
        guard ["water", "gas", "any"].contains(m.medium) else { throw r.fail("medium", "expected water, gas or any") }
        guard ["each", "group"].contains(m.assign) else { throw r.fail("assign", "expected each or group") }
        for (i, c) in try r.array("channels").enumerated() {
            let cr = r.sub(c, "channels[\(i)]")
            let codes = try cr.array("codes").map { v -> String in
                guard case .string(let s) = v else { throw cr.fail("codes", "expected strings") }
                return s
            }
            m.channels.append(Channel(name: try cr.string("name"), codes: codes, totalFactor: try cr.optionalNumber("total_factor") ?? 1))
        }
        guard !m.channels.isEmpty else { throw r.fail("channels", "at least one channel") }
        if m.assign == "each" && m.channels.count != 1 { throw r.fail("channels", "assign \"each\" needs exactly one channel") }
        for (flag, v) in try r.object("status_codes") {
            guard flag.utf8.count == 1, case .int(let n) = v, (0...65535).contains(n) else { throw r.fail("status_codes", "expected one-letter flags with numbers 0...65535") }
            m.statusCodes[flag.utf8.first!] = UInt16(n)
        }
        for (name, v) in try r.object("alarm_bits") {
            guard case .int(let n) = v, (0...15).contains(n) else { throw r.fail("alarm_bits", "expected bit numbers 0...15") }
            m.alarmBits[name] = n
        }
        for (i, p) in try r.array("parameters").enumerated() {
            let pr = r.sub(p, "parameters[\(i)]")
            let d: String
            switch pr.json["default"] {
            case .int(let n)?: d = String(n)
            case .double(let x)?: d = String(x)
            case .string(let s)? where s.hasPrefix("@"): d = s
            default: throw pr.fail("default", "expected a number or @range_max, @range_min, @calibration_time")
            }
            let name = try pr.string("name")
            // A register names its parameter (`parameter:NAME`): a name declared twice would make
            // a written value and the value served two different things.
            if let j = m.parameters.firstIndex(where: { $0.name == name }) { throw pr.fail("name", "'\(name)' is already declared by parameters[\(j)]") }
            m.parameters.append(Parameter(name: name, info: try pr.optionalString("info"), defaultValue: d))
        }
        var used = [Int: String]()
        for (i, item) in try r.array("registers").enumerated() {
            let rr = r.sub(item, "registers[\(i)]")
            guard let type = RegisterType(rawValue: try rr.string("type")) else { throw rr.fail("type", "expected uint16, int16, uint32, int32, float32 or datetime") }
            let orderText = try rr.optionalString("order") ?? "ABCD"
            guard let order = WordOrder(rawValue: orderText) else { throw rr.fail("order", "expected ABCD, CDAB, BADC or DCBA") }
            let address = Int(try rr.number("address"))
            guard address >= 0, address + type.width <= 0x10000 else { throw rr.fail("address", "outside 0...65535") }
            let channel = Int(try rr.optionalNumber("channel") ?? 0)
            guard m.channels.indices.contains(channel) else { throw rr.fail("channel", "no channel \(channel)") }
            let sourceText = try rr.string("source")
            let source: Source
            switch sourceText {
            case "value": source = .value
            case "status": source = .status
            case "alarm": source = .alarm
            case "total": source = .total
            case "sample_time": source = .sampleTime
            case "constant": source = .constant(try rr.number("value"))
            default:
                guard sourceText.hasPrefix("parameter:"), m.parameters.contains(where: { $0.name == sourceText.dropFirst(10) }) else {
                    throw rr.fail("source", "'\(sourceText)': expected value, status, alarm, total, sample_time, constant or parameter:NAME of a declared parameter")
                }
                source = .parameter(String(sourceText.dropFirst(10)))
            }
            let writable = try rr.optionalBool("writable") ?? false
            if writable, case .parameter = source {} else if writable { throw rr.fail("writable", "only parameters are writable") }
            for a in address..<(address + type.width) {
                if let other = used[a] { throw rr.fail("address", "register \(a) already holds \(other)") }
                used[a] = "registers[\(i)]"
            }
            m.registers.append(Register(address: address, type: type, order: order, scale: try rr.optionalNumber("scale") ?? 1,
                                        source: source, channel: channel, writable: writable, name: try rr.optionalString("name") ?? sourceText))
        }
        guard !m.registers.isEmpty else { throw r.fail("registers", "at least one register") }
        m.registers.sort { $0.address < $1.address }
        return m
    }
}

/// Reads members of a JSON object with messages that name the file and the path.
struct MapReader {
    let json: JSONValue
    let file: String
    let path: String

    func fail(_ key: String, _ message: String) -> ProfileError {
        ProfileError(file: file, line: nil, message: "\(path.isEmpty ? key : path + "." + key): \(message)")
    }
    func sub(_ v: JSONValue, _ p: String) -> MapReader { MapReader(json: v, file: file, path: p) }

    func string(_ key: String) throws -> String {
        guard let s = try optionalString(key) else { throw fail(key, "required string") }
        return s
    }
    func optionalString(_ key: String) throws -> String? {
        switch json[key] {
        case nil, .null?: return nil
        case .string(let s)?: return s
        default: throw fail(key, "expected a string")
        }
    }
    func number(_ key: String) throws -> Double {
        guard let n = try optionalNumber(key) else { throw fail(key, "required number") }
        return n
    }
    func optionalNumber(_ key: String) throws -> Double? {
        switch json[key] {
        case nil, .null?: return nil
        case .int(let i)?: return Double(i)
        case .double(let d)?: return d
        default: throw fail(key, "expected a number")
        }
    }
    func bool(_ key: String) throws -> Bool {
        guard let b = try optionalBool(key) else { throw fail(key, "required true or false") }
        return b
    }
    func optionalBool(_ key: String) throws -> Bool? {
        switch json[key] {
        case nil, .null?: return nil
        case .bool(let b)?: return b
        default: throw fail(key, "expected true or false")
        }
    }
    func array(_ key: String) throws -> [JSONValue] {
        guard case .array(let a)? = json[key] else { throw fail(key, "required array") }
        return a
    }
    func object(_ key: String) throws -> [(String, JSONValue)] {
        guard case .object(let o)? = json[key] else { throw fail(key, "required object") }
        return o
    }
}
