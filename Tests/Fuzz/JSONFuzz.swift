// libFuzzer harness: the strict JSON reader (RFC 8259). Built by .ci/fuzz.
// Any text parses or fails with an offset inside the input; what parses, serialised again,
// parses to the same value (the writer and the reader agree).
import HJ212

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
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
