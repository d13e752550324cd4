// libFuzzer harness: the CSV reader, the TSV code-table reader and the logger registry.
// Built by .ci/fuzz. Any text reads or fails with a ProfileError; never a trap.
import HJ212
import HJRoles

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCSVRegistry(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    if let rows = try? CSVReader.rows(text, file: "fuzz.csv") {
        for row in rows { guard row.line >= 1 else { fatalError("row line \(row.line)") } }
    }
    if let table = try? TSVTable(file: "fuzz.tsv", text: text) {
        for row in table.rows { guard row.count == table.columns.count else { fatalError("ragged TSV row accepted") } }
        _ = table.records
    }
    if let registry = try? Registry.parse(text, file: "fuzz-registry") {
        _ = try? Registry.parse(registry.serialized(), file: "fuzz-registry-again")
    }
    return 0
}
