import Foundation

/// Where profile data (code tables, unit templates, fleets, scenarios) comes from: the copy
/// embedded at build time from `Profiles/`, optionally overridden file by file from a directory.
public struct ProfileStore: Sendable {
    /// A directory whose files take precedence over the embedded ones, if any.
    public let overrideDirectory: String?

    /// The built-in profiles only.
    public static let builtin = ProfileStore(overrideDirectory: nil)

    public init(overrideDirectory: String?) {
        self.overrideDirectory = overrideDirectory
    }

    /// The directories of a profile tree; in an override directory each, when present, must be a directory.
    public static let knownDirectories = ["dialects", "units", "fleets", "scenarios", "faults", "checks", "dynamic-control"]

    /// The largest profile file read (bytes). A code table of the national dictionary is a few
    /// hundred rows; 8 MiB leaves room for any real table while keeping a mistaken or hostile file
    /// (a 300,000-row `factors.tsv`, a log file named like a profile) from costing minutes and gigabytes.
    public static let maxFileBytes = 8 << 20

    /// A store for `--profiles DIR`, checked before anything runs: the directory must exist, each
    /// known subdirectory present must be a directory, and a `faults/catalogue.json` present must be
    /// JSON. A mistake is a `ProfileError` (one line, the CLI exits 2) instead of a silent fallback
    /// to the built-in profiles.
    public static func opening(_ directory: String?) throws(ProfileError) -> ProfileStore {
        guard let directory else { return .builtin }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDir) else {
            throw ProfileError(file: directory, line: nil, message: "no such profiles directory")
        }
        guard isDir.boolValue else { throw ProfileError(file: directory, line: nil, message: "is not a directory (expected a profiles directory)") }
        for name in knownDirectories {
            let full = (directory as NSString).appendingPathComponent(name)
            var sub: ObjCBool = false
            if FileManager.default.fileExists(atPath: full, isDirectory: &sub), !sub.boolValue {
                throw ProfileError(file: full, line: nil, message: "is not a directory (the profile layout expects \(name)/)")
            }
        }
        let store = ProfileStore(overrideDirectory: directory)
        let catalogue = (directory as NSString).appendingPathComponent("faults/catalogue.json")
        if FileManager.default.fileExists(atPath: catalogue), let text = try store.checkedText("faults/catalogue.json") {
            do { _ = try JSONValue.parse(text) } catch {
                throw ProfileError(file: catalogue, line: nil, message: "not valid JSON: \(error)")
            }
        }
        return store
    }

    /// Like `text(_:)`, with a typed error.
    func checkedText(_ path: String) throws(ProfileError) -> String? {
        do { return try text(path) } catch let e as ProfileError { throw e } catch {
            throw ProfileError(file: path, line: nil, message: "\(error)")
        }
    }

    /// The text of a profile file by its path relative to `Profiles/` (e.g. `dialects/hj212-2017/factors.tsv`).
    public func text(_ path: String) throws -> String? {
        if let dir = overrideDirectory {
            let full = (dir as NSString).appendingPathComponent(path)
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: full, isDirectory: &isDir) {
                if isDir.boolValue { throw ProfileError(file: full, line: nil, message: "is a directory, expected a file") }
                if let size = (try? FileManager.default.attributesOfItem(atPath: full))?[.size] as? Int, size > ProfileStore.maxFileBytes {
                    throw ProfileError(file: full, line: nil, message: "is \(size) bytes, over the profile file budget of \(ProfileStore.maxFileBytes) bytes")
                }
                guard let data = FileManager.default.contents(atPath: full) else {
                    throw ProfileError(file: full, line: nil, message: "cannot be read")
                }
                guard let text = String(data: data, encoding: .utf8) else {
                    throw ProfileError(file: full, line: nil, message: "is not UTF-8")
                }
                return text
            }
        }
        return EmbeddedProfiles.files[path]
    }

    /// Whether any file lies under `path` (built in or in the override directory).
    public func hasDirectory(_ path: String) -> Bool {
        if ProfileStore.builtinPaths.contains(where: { $0.hasPrefix(path + "/") }) { return true }
        if let dir = overrideDirectory {
            var isDir: ObjCBool = false
            return FileManager.default.fileExists(atPath: (dir as NSString).appendingPathComponent(path), isDirectory: &isDir) && isDir.boolValue
        }
        return false
    }

    /// Rule profiles that can overlay the dialects (directories of `dialects/` other than the editions).
    public func profileNames() -> [String] {
        var names = Set(ProfileStore.builtinPaths.filter { $0.hasPrefix("dialects/") }.compactMap { $0.split(separator: "/").dropFirst().first.map(String.init) })
        if let dir = overrideDirectory, let items = try? FileManager.default.contentsOfDirectory(atPath: (dir as NSString).appendingPathComponent("dialects")) {
            names.formUnion(items)
        }
        return names.filter { !$0.hasPrefix("hj212-") && !$0.hasSuffix(".md") }.sorted()
    }

    /// Paths of the built-in profile files.
    public static var builtinPaths: [String] { EmbeddedProfiles.files.keys.sorted() }
}

/// A profile file that cannot be used, with the place and the reason.
public struct ProfileError: Error, CustomStringConvertible, Sendable, Equatable {
    public var file: String
    public var line: Int?
    public var message: String

    public init(file: String, line: Int?, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String { line.map { "\(file):\($0): \(message)" } ?? "\(file): \(message)" }
}

/// A tab-separated table: `#` comments, a header line, rows of exactly as many columns.
/// A first line `#! replace` says that the table replaces the one it overlays.
public struct TSVTable: Sendable {
    public var file: String
    public var columns: [String]
    public var rows: [[String]]
    /// Line number of each row, for messages.
    public var lines: [Int]
    public var replacesBase: Bool

    public init(file: String, text: String, required: [String] = []) throws {
        self.file = file
        columns = []
        rows = []
        lines = []
        replacesBase = false
        // Read as UTF-8 bytes: lines end at LF (a CR before it is dropped), cells at TAB; both are
        // ASCII and never part of a multi-byte sequence, so the cuts fall on scalar boundaries. (The
        // reader split Swift Characters before: 140 k instructions a row, and a CR LF pair, one
        // Character, never ended a line.)
        var text = text
        try text.withUTF8 { (u: UnsafeBufferPointer<UInt8>) throws in
            var lineNumber = 0
            var start = 0
            while start <= u.count {
                var end = start
                while end < u.count && u[end] != 0x0A { end += 1 }
                lineNumber += 1
                var lineEnd = end
                if lineEnd > start && u[lineEnd - 1] == 0x0D { lineEnd -= 1 }
                let next = end + 1
                defer { start = next }
                let trimmed = Self.trimmedRange(u, start, lineEnd)
                if lineNumber == 1 && Self.equals(u, trimmed, "#! replace") {
                    replacesBase = true
                    continue
                }
                if lineEnd > start && u[start] == UInt8(ascii: "#") || trimmed.isEmpty { continue }
                var cells: [String] = []
                var cellStart = start
                while true {
                    var cellEnd = cellStart
                    while cellEnd < lineEnd && u[cellEnd] != 0x09 { cellEnd += 1 }
                    let cell = Self.trimmedRange(u, cellStart, cellEnd)
                    cells.append(String(decoding: UnsafeBufferPointer(rebasing: u[cell]), as: UTF8.self))
                    if cellEnd == lineEnd { break }
                    cellStart = cellEnd + 1
                }
                if columns.isEmpty {
                    columns = cells
                    for name in required where !columns.contains(name) {
                        throw ProfileError(file: file, line: lineNumber, message: "header lacks column '\(name)' (has: \(columns.joined(separator: ", ")))")
                    }
                    continue
                }
                guard cells.count == columns.count else {
                    throw ProfileError(file: file, line: lineNumber, message: "expected \(columns.count) tab-separated columns, found \(cells.count)")
                }
                rows.append(cells)
                lines.append(lineNumber)
            }
        }
        if columns.isEmpty { throw ProfileError(file: file, line: nil, message: "has no header line") }
    }

    /// Whether the bytes in `range` are exactly `literal`'s.
    private static func equals(_ u: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, _ literal: StaticString) -> Bool {
        guard range.count == literal.utf8CodeUnitCount else { return false }
        let l = UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount)
        return zip(range, l).allSatisfy { u[$0] == $1 }
    }

    /// `start..<end` without leading and trailing whitespace as `CharacterSet.whitespaces` defines it
    /// on this platform (CoreFoundation's list: TAB, SPACE, U+00A0, U+1680, U+2000…U+200B, U+202F,
    /// U+205F, U+3000; Foundation's trimming took half of the linter's start-up), recognised by their
    /// UTF-8 encodings (`u` is valid UTF-8, so a sequence matched at either end is a whole scalar).
    static func trimmedRange(_ u: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Range<Int> {
        /// The length of the whitespace scalar at `i`, or 0.
        func spaceAt(_ i: Int) -> Int {
            switch u[i] {
            case 0x09, 0x20: return 1
            case 0xC2: return i + 1 < end && u[i + 1] == 0xA0 ? 2 : 0
            case 0xE1, 0xE2, 0xE3: return i + 2 < end && isThreeByteSpace(u[i], u[i + 1], u[i + 2]) ? 3 : 0
            default: return 0
            }
        }
        /// The length of the whitespace scalar ending just before `j`, or 0.
        func spaceBefore(_ j: Int, _ lower: Int) -> Int {
            let b = u[j - 1]
            if b == 0x09 || b == 0x20 { return 1 }
            if b == 0xA0 && j - 2 >= lower && u[j - 2] == 0xC2 { return 2 }
            if j - 3 >= lower && isThreeByteSpace(u[j - 3], u[j - 2], b) { return 3 }
            return 0
        }
        var a = start
        while a < end {
            let n = spaceAt(a)
            if n == 0 { break }
            a += n
        }
        var b = end
        while b > a {
            let n = spaceBefore(b, a)
            if n == 0 { break }
            b -= n
        }
        return a..<b
    }

    /// U+1680 (E1 9A 80), U+2000…U+200B (E2 80 80…8B), U+202F (E2 80 AF), U+205F (E2 81 9F), U+3000 (E3 80 80).
    @inline(__always)
    private static func isThreeByteSpace(_ a: UInt8, _ b: UInt8, _ c: UInt8) -> Bool {
        switch (a, b) {
        case (0xE1, 0x9A): return c == 0x80
        case (0xE2, 0x80): return c <= 0x8B && c >= 0x80 || c == 0xAF
        case (0xE2, 0x81): return c == 0x9F
        case (0xE3, 0x80): return c == 0x80
        default: return false
        }
    }

    /// The index of a column by name, if the header has it.
    public func column(_ name: String) -> Int? { columns.firstIndex(of: name) }

    /// Rows as dictionaries from column name to cell, `-` read as empty.
    public var records: [[String: String]] {
        rows.map { row in
            var record: [String: String] = [:]
            for (column, cell) in zip(columns, row) { record[column] = cell == "-" ? "" : cell }
            return record
        }
    }
}
