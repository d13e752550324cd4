// libFuzzer harness: the strict JSON reader (RFC 8259). Built by .ci/fuzz.
// Any text parses or fails with an offset inside the input; what parses, serialised again,
// parses to the same value (the writer and the reader agree). The input's bytes escaped as a
// JSON string's contents are the same bytes through `JSONWriter` and through `ByteBuffer`, and
// (valid UTF-8) parse back to the input.
import HJ212

nonisolated(unsafe) let escapeBuffer = ByteBuffer(capacity: 1)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeBufferPointer(start: data, count: size)
    let text = String(decoding: input, as: UTF8.self)
    var escaped: [UInt8] = []
    JSONWriter.appendEscaped(input, to: &escaped)
    escapeBuffer.removeAll()
    escapeBuffer.appendEscapedJSON(input)
    guard escapeBuffer.withBytes({ $0.elementsEqual(escaped) }) else { fatalError("ByteBuffer escapes differently from JSONWriter") }
    if let valid = String(validating: input, as: UTF8.self) {
        let parsed = try? JSONValue.parse("\"" + String(decoding: escaped, as: UTF8.self) + "\"")
        guard parsed == .string(valid) else { fatalError("escaped text does not parse back to the input") }
    }
    do {
        let value = try JSONValue.parse(text)
        let again: JSONValue
        do { again = try JSONValue.parse(value.serialized) } catch { fatalError("our own output does not parse: \(error)") }
        guard again == value else { fatalError("round trip changed the value") }
    } catch let e as JSONParseError {
        guard e.offset >= 0 && e.offset <= text.utf8.count else { fatalError("error offset \(e.offset) outside the input") }
    } catch {
        fatalError("unexpected error type \(error)")
    }
    return 0
}
