import HJ212
import HJSimulation

/// The data items a DL/T 645-2007 meter answers (`Profiles/instruments/dlt645-meter.json`):
/// data identifier, what it shows, its BCD size and decimals.
public struct MeterMap: Sendable, Hashable {
    public struct Item: Sendable, Hashable {
        public var di: UInt32
        public var nameZh: String
        public var nameEn: String
        /// `energy`, `reverse_energy`, `voltage_a|b|c`, `current_a|b|c`, `power`, `power_a|b|c`,
        /// `power_factor`, `frequency`, `address`; empty for a block.
        public var source: String
        public var bytes: Int
        public var decimals: Int
        public var signed: Bool
        /// A block: the items whose data it concatenates.
        public var block: [UInt32]
    }

    public var name: String
    public var titleZh: String
    public var titleEn: String
    /// Rated active power (kW) of the first meter; later meters get 1.5×, 2× … of it.
    public var ratedKW: Double
    public var items: [Item]

    public static let sources: Set<String> = ["energy", "reverse_energy", "voltage_a", "voltage_b", "voltage_c", "current_a", "current_b",
                                              "current_c", "power", "power_a", "power_b", "power_c", "power_factor", "frequency", "address"]

    public func item(_ di: UInt32) -> Item? { items.first { $0.di == di } }

    public static func load(_ name: String = "dlt645-meter", from store: ProfileStore = .builtin) throws -> MeterMap {
        let path = "instruments/\(name).json"
        guard let text = try store.text(path) else { throw ProfileError(file: path, line: nil, message: "no such meter map") }
        return try parse(text, file: path)
    }

    public static func parse(_ text: String, file: String) throws -> MeterMap {
        let json: JSONValue
        do { json = try JSONValue.parse(text) } catch { throw ProfileError(file: file, line: nil, message: "not valid JSON: \(error)") }
        let r = MapReader(json: json, file: file, path: "")
        guard try r.string("protocol") == "dlt645-2007" else { throw r.fail("protocol", "expected \"dlt645-2007\"") }
        var m = MeterMap(name: try r.string("name"), titleZh: try r.string("title_zh"), titleEn: try r.string("title_en"),
                         ratedKW: try r.number("rated_kw"), items: [])
        func di(_ s: String, _ reader: MapReader, _ key: String) throws -> UInt32 {
            guard s.utf8.count == 8, let v = UInt32(s, radix: 16) else { throw reader.fail(key, "expected 8 hexadecimal digits DI3 DI2 DI1 DI0") }
            return v
        }
        for (i, item) in try r.array("items").enumerated() {
            let ir = r.sub(item, "items[\(i)]")
            var it = Item(di: try di(try ir.string("di"), ir, "di"), nameZh: try ir.string("name_zh"), nameEn: try ir.string("name_en"),
                          source: try ir.optionalString("source") ?? "", bytes: Int(try ir.optionalNumber("bytes") ?? 0),
                          decimals: Int(try ir.optionalNumber("decimals") ?? 0), signed: try ir.optionalBool("signed") ?? false, block: [])
            if case .array(let parts)? = item["block"] {
                for p in parts {
                    guard case .string(let s) = p else { throw ir.fail("block", "expected DI strings") }
                    let d = try di(s, ir, "block")
                    guard m.items.contains(where: { $0.di == d && $0.block.isEmpty }) else { throw ir.fail("block", "\(s) is not an item listed before the block") }
                    it.block.append(d)
                }
            } else {
                guard sources.contains(it.source) else { throw ir.fail("source", "'\(it.source)': expected one of \(sources.sorted().joined(separator: ", "))") }
                guard (1...8).contains(it.bytes), (0...6).contains(it.decimals) else { throw ir.fail("bytes", "bytes 1...8 and decimals 0...6") }
            }
            guard !m.items.contains(where: { $0.di == it.di }) else { throw ir.fail("di", "listed twice") }
            m.items.append(it)
        }
        return m
    }
}

/// What a DL/T 645 meter does with one frame addressed to the bus (pure).
public enum DLT645Slave {
    /// Whether a request address selects this meter: equal, or with high bytes AAH as wildcards
    /// (short addressing), or all AAH.
    public static func matches(_ requested: [UInt8], meter: [UInt8]) -> Bool {
        guard requested.count == 6, meter.count == 6 else { return false }
        var wildcard = true
        for i in (0..<6).reversed() {
            if wildcard && requested[i] == 0xAA { continue }
            wildcard = false
            if requested[i] != meter[i] { return false }
        }
        return true
    }

    /// The reply to `frame` from the meter at `address`, or nil for silence (a frame for another
    /// meter, a broadcast, a reply from another station).
    ///
    /// `reading` gives the meter's state when the reply needs it. Returns the reply frame and the
    /// item read (for the ground truth), if any.
    public static func respond(to frame: DLT645Frame, address: [UInt8], map: MeterMap, reading: () -> MeterReading) -> (reply: DLT645Frame, item: MeterMap.Item?)? {
        guard frame.control & 0x80 == 0 else { return nil }          // a slave's reply on the bus
        guard frame.address != DLT645Frame.broadcast else { return nil }  // broadcasts are never answered
        guard matches(frame.address, meter: address) else { return nil }
        let function = frame.control & 0x1F
        func abnormal(_ err: UInt8) -> (DLT645Frame, MeterMap.Item?) { (DLT645Frame(address: address, control: 0xC0 | function, data: [err]), nil) }
        switch function {
        case DLT645Frame.Function.readAddress.rawValue:
            return (DLT645Frame(address: address, control: 0x93, data: address), nil)
        case DLT645Frame.Function.readData.rawValue:
            guard frame.data.count >= 4 else { return abnormal(DLT645Frame.errOther) }
            let di = UInt32(frame.data[0]) | UInt32(frame.data[1]) << 8 | UInt32(frame.data[2]) << 16 | UInt32(frame.data[3]) << 24
            guard let item = map.item(di) else { return abnormal(DLT645Frame.errNoData) }
            let r = reading()
            var data = DLT645Frame.di(di)
            let parts = item.block.isEmpty ? [item] : item.block.compactMap { map.item($0) }
            for p in parts {
                if p.source == "address" {
                    data += address
                } else {
                    data += DLT645BCD.encode(r.value(p.source) ?? 0, bytes: p.bytes, decimals: p.decimals, signed: p.signed)
                }
            }
            return (DLT645Frame(address: address, control: 0x91, data: data), item)
        case DLT645Frame.Function.writeData.rawValue, DLT645Frame.Function.writeAddress.rawValue:
            // No password is accepted: writes are refused as unauthorised.
            return abnormal(DLT645Frame.errUnauthorised)
        case DLT645Frame.Function.broadcastTime.rawValue:
            return nil
        default:
            return abnormal(DLT645Frame.errOther)
        }
    }
}
