import Foundation
import HJ212

/// One monitored discharge point of a fleet manifest.
public struct FleetUnit: Sendable, Hashable {
    public var enterprise: String
    public var county: String
    public var category: String
    public var pollutants: [String]
    public var voc: Bool
    public var identity: LoggerIdentity
    public var unit: String
    /// Upstream platforms as written (HOST:PORT or a placeholder name such as `province:7001`).
    public var platforms: [String]
    /// Line in the manifest, for messages.
    public var line: Int
    /// Optional roster columns (`assessed`, `reason`, `installed_since`; Profiles/fleets/README.md).
    public var roster = FleetRosterColumns()
}

/// The optional roster columns of a fleet manifest, for the Annex 1 table (`hj212 roster`).
public struct FleetRosterColumns: Sendable, Hashable {
    /// 是否参与考核: `是` (default when the column is absent or empty) or `否`.
    public var assessed = true
    /// 不考核原因, e.g. 停产, 季节性生产, 新建未验收 (free text; empty when assessed).
    public var reason = ""
    /// When the monitoring equipment was installed (hours are due from then), `YYYY-MM-DD`.
    public var installedSince: HJTime?
    /// `installed_since` says `未安装` / `no`: the equipment is not installed (no hours due).
    public var notInstalled = false

    public init() {}
}

/// A fleet manifest: CSV with the columns the environmental bureaus keep
/// (`enterprise,county,category,pollutants,voc,mn,pw,unit,platforms`), see Profiles/fleets/README.md.
public struct Fleet: Sendable {
    public static let columns = ["enterprise", "county", "category", "pollutants", "voc", "mn", "pw", "unit", "platforms"]
    /// Optional columns after those: the roster's (see `FleetRosterColumns`).
    public static let rosterColumns = ["assessed", "reason", "installed_since"]

    public var file: String
    public var units: [FleetUnit]
    /// The templates the units use, by name.
    public var templates: [String: UnitTemplate]

    /// Loads a fleet from a file path, or a built-in one by name (`sample-city`, `mixed-demo`).
    public static func load(_ nameOrPath: String, store: ProfileStore = .builtin) throws -> Fleet {
        if let builtin = try store.text("fleets/\(nameOrPath).csv") {
            return try parse(builtin, file: "fleets/\(nameOrPath).csv", store: store)
        }
        guard let data = readFile(nameOrPath) else {
            throw ProfileError(file: nameOrPath, line: nil, message: "cannot be read (not a file, and not a built-in fleet: \(builtinNames.joined(separator: ", ")))")
        }
        return try parse(String(decoding: data, as: UTF8.self), file: nameOrPath, store: store)
    }

    public static var builtinNames: [String] {
        ProfileStore.builtinPaths.filter { $0.hasPrefix("fleets/") && $0.hasSuffix(".csv") }.map { String($0.dropFirst(7).dropLast(4)) }
    }

    /// Parses CSV (RFC 4180 quoting), checking every row: known template, factors that match it,
    /// unique 24-hex MN, 6-character PW. Nothing is returned from a half-valid file.
    public static func parse(_ text: String, file: String, store: ProfileStore = .builtin) throws -> Fleet {
        let rows = try CSVReader.rows(text, file: file)
        guard let header = rows.first else { throw ProfileError(file: file, line: 1, message: "empty manifest") }
        let names = header.cells.map { $0.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "\u{FEFF}", with: "") }
        var index: [String: Int] = [:]
        for column in columns {
            guard let i = names.firstIndex(of: column) else {
                throw ProfileError(file: file, line: header.line, message: "header lacks column '\(column)'; expected \(columns.joined(separator: ","))")
            }
            index[column] = i
        }
        var fleet = Fleet(file: file, units: [], templates: [:])
        var seenMN: [String: Int] = [:]
        for row in rows.dropFirst() where !(row.cells.count == 1 && row.cells[0].isEmpty) {
            func cell(_ c: String) throws -> String {
                let i = index[c]!
                guard i < row.cells.count else { throw ProfileError(file: file, line: row.line, message: "has \(row.cells.count) fields; expected \(names.count)") }
                return row.cells[i].trimmingCharacters(in: .whitespaces)
            }
            let unitName = try cell("unit")
            if fleet.templates[unitName] == nil {
                do { fleet.templates[unitName] = try UnitTemplate.load(unitName, from: store) } catch let e as ProfileError {
                    throw ProfileError(file: file, line: row.line, message: "unit '\(unitName)': \(e.message)")
                }
            }
            let template = fleet.templates[unitName]!
            let mn = try cell("mn"), pw = try cell("pw")
            guard Self.isManifestMN(mn) else {
                throw ProfileError(file: file, line: row.line,
                                   message: "mn '\(mn)': expected 24 characters 0-9 A-F (HJ 212-2017), or 14 letters and digits (HJ/T 212-2005)")
            }
            if let other = seenMN[mn] { throw ProfileError(file: file, line: row.line, message: "mn \(mn) already used on line \(other)") }
            seenMN[mn] = row.line
            guard pw.count == 6 else { throw ProfileError(file: file, line: row.line, message: "pw '\(pw)': expected 6 characters") }
            let pollutants = try cell("pollutants").split(separator: "|").map { String($0).trimmingCharacters(in: .whitespaces) }
            let templateCodes = template.factors.map(\.code)
            if Set(pollutants) != Set(templateCodes) {
                throw ProfileError(file: file, line: row.line,
                                   message: "pollutants \(pollutants.joined(separator: "|")) do not match unit '\(unitName)' (\(templateCodes.joined(separator: "|")))")
            }
            let voc = try cell("voc")
            guard ["是", "否", "yes", "no", "Y", "N", "1", "0"].contains(voc) else {
                throw ProfileError(file: file, line: row.line, message: "voc '\(voc)': expected 是 or 否")
            }
            let platforms = try cell("platforms").split(separator: "|").map { String($0).trimmingCharacters(in: .whitespaces) }
            var unit = FleetUnit(
                enterprise: try cell("enterprise"), county: try cell("county"), category: try cell("category"),
                pollutants: pollutants, voc: ["是", "yes", "Y", "1"].contains(voc), identity: LoggerIdentity(mn: mn, pw: pw),
                unit: unitName, platforms: platforms, line: row.line)
            unit.roster = try rosterColumns(row: row, names: names, file: file)
            fleet.units.append(unit)
        }
        guard !fleet.units.isEmpty else { throw ProfileError(file: file, line: nil, message: "no units") }
        return fleet
    }
}

extension Fleet {
    /// An MN a manifest may list: the 24 hexadecimal characters of HJ 212-2017 (EPC-96, upper
    /// case), or the 14 letters and digits of HJ/T 212-2005 (the last 7 characters of the maker's
    /// organisation code and a 7-character serial), which many loggers in the field still use.
    /// Other strings seen in the field are refused: a fleet keys units on their MN, and a typing
    /// slip in one would make a unit that never sends.
    public static func isManifestMN(_ mn: String) -> Bool {
        let u = mn.utf8
        if u.count == 24 { return u.allSatisfy { $0 &- 48 < 10 || $0 &- 65 < 6 } }
        if u.count == 14 { return u.allSatisfy { $0 &- 48 < 10 || $0 &- 65 < 26 || $0 &- 97 < 26 } }
        return false
    }

    /// Reads the optional roster columns of one row (absent or empty cells keep the defaults).
    static func rosterColumns(row: CSVReader.Row, names: [String], file: String) throws -> FleetRosterColumns {
        var r = FleetRosterColumns()
        func cell(_ c: String) -> String {
            guard let i = names.firstIndex(of: c), i < row.cells.count else { return "" }
            return row.cells[i].trimmingCharacters(in: .whitespaces)
        }
        switch cell("assessed") {
        case "", "是", "yes", "Y", "1": r.assessed = true
        case "否", "no", "N", "0": r.assessed = false
        case let other: throw ProfileError(file: file, line: row.line, message: "assessed '\(other)': expected 是 or 否")
        }
        r.reason = cell("reason")
        let since = cell("installed_since")
        if ["未安装", "no", "否"].contains(since) {
            r.notInstalled = true
        } else if !since.isEmpty {
            let digits = since.replacingOccurrences(of: "-", with: "")
            guard digits.count == 8, let t = HJTime(digits + "000000"), t.isValid else {
                throw ProfileError(file: file, line: row.line, message: "installed_since '\(since)': expected YYYY-MM-DD or 未安装")
            }
            r.installedSince = t
        }
        return r
    }
}

import Glibc

func readFile(_ path: String) -> [UInt8]? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, 65536) }
        if n < 0 { if errno == EINTR { continue }; return nil }
        if n == 0 { break }
        out += chunk[0..<n]
    }
    return out
}
