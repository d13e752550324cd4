import Foundation

/// The shared test vectors (`../shared/vectors` beside the checkout, or `HJ212_VECTORS`).
enum Vectors {
    static var directory: String {
        if let env = ProcessInfo.processInfo.environment["HJ212_VECTORS"] { return env }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.deletingLastPathComponent().appendingPathComponent("shared/vectors").path
    }

    static func text(_ name: String) throws -> String {
        try String(contentsOfFile: directory + "/" + name, encoding: .utf8)
    }

    static func bytes(_ name: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: directory + "/" + name) else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: directory + "/" + name])
        }
        return Array(data)
    }

    /// Rows of a vector TSV file as column → value, header taken from the first line.
    static func table(_ name: String) throws -> [[String: String]] {
        let lines = try text(name).split(separator: "\n").map { $0.hasSuffix("\r") ? String($0.dropLast()) : String($0) }
        let columns = lines[0].split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        return lines.dropFirst().filter { !$0.isEmpty }.map { line in
            let cells = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            return Dictionary(uniqueKeysWithValues: zip(columns, cells))
        }
    }

    struct Appendix: CustomTestStringConvertible, Sendable {
        let id: String, cn: String, direction: String, note: String, frame: String
        var testDescription: String { "\(id) \(cn) \(note)" }
    }

    struct Malformed: CustomTestStringConvertible, Sendable {
        let id: String, category: String, severity: String, note: String, frame: String
        var testDescription: String { "\(id) \(category)" }
    }

    static let appendix: [Appendix] = ((try? table("hj212-2017-appendix.tsv")) ?? []).map {
        Appendix(id: $0["id"]!, cn: $0["cn"]!, direction: $0["direction"]!, note: $0["note"]!, frame: $0["frame"]!)
    }

    static let malformed: [Malformed] = ((try? table("malformed.tsv")) ?? []).map {
        Malformed(id: $0["id"]!, category: $0["category"]!, severity: $0["severity"]!, note: $0["note"]!, frame: $0["frame"]!)
    }
}

import Testing
