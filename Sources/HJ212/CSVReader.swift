import Foundation

/// RFC 4180 rows with their line numbers, as spreadsheets export them: quoted fields with
/// doubled quotes, CR LF or LF line ends; `#` comment lines and blank lines are dropped.
/// Errors name the file and line.
public enum CSVReader {
    public struct Row: Sendable { public var cells: [String]; public var line: Int }

    public static func rows(_ text: String, file: String) throws(ProfileError) -> [Row] {
        var rows: [Row] = []
        var cells: [String] = []
        var cell: [UInt8] = []
        var quoted = false
        var wasQuoted = false
        var line = 1
        var rowLine = 1
        var atRowStart = true
        var comment = false
        let bytes = Array(text.utf8)

        func endRow() {
            cells.append(String(decoding: cell, as: UTF8.self))
            cell = []
            let blank = cells.count == 1 && cells[0].trimmingCharacters(in: .whitespaces).isEmpty && !wasQuoted
            if !comment && !blank { rows.append(Row(cells: cells, line: rowLine)) }
            cells = []
            wasQuoted = false
            comment = false
            atRowStart = true
        }

        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if comment {
                if b == 0x0A { endRow(); line += 1; rowLine = line }
                i += 1
                continue
            }
            if quoted {
                if b == UInt8(ascii: "\"") {
                    if i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "\"") { cell.append(b); i += 2; continue }
                    quoted = false
                } else {
                    if b == 0x0A { line += 1 }
                    cell.append(b)
                }
                i += 1
                continue
            }
            if atRowStart && b != 0x20 && b != 0x09 {
                atRowStart = false
                if b == UInt8(ascii: "#") { comment = true; i += 1; continue }
            }
            switch b {
            case UInt8(ascii: "\""):
                if !cell.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) {
                    throw ProfileError(file: file, line: line, message: "a quote inside an unquoted field")
                }
                cell = []
                quoted = true
                wasQuoted = true
            case UInt8(ascii: ","):
                cells.append(String(decoding: cell, as: UTF8.self))
                cell = []
            case 0x0D:
                break
            case 0x0A:
                endRow()
                line += 1
                rowLine = line
            default:
                cell.append(b)
            }
            i += 1
        }
        if quoted { throw ProfileError(file: file, line: rowLine, message: "a quoted field is not closed") }
        if !cell.isEmpty || !cells.isEmpty || wasQuoted { endRow() }
        return rows
    }
}
