// libFuzzer harness: the linter over a raw byte stream (decoder + every rule). Built by .ci/fuzz.
// Any bytes are judged without trapping; every diagnostic has a rule and a message, and the
// message is safe to print once passed through TerminalText.safe. Every frame that the byte path
// (`ByteLinter`, what `lint` runs) takes gets exactly the reference linter's diagnostics, also with
// its segment re-framed with a correct CRC (so that mutations reach the checks behind the CRC).
import HJ212

let linter: Linter = {
    do { return try Linter() } catch { fatalError("built-in profiles: \(error)") }
}()

nonisolated(unsafe) let byteLinter = ByteLinter(linter: linter)

func compareByteLinter(_ raw: RawFrame, index: Int, reference: [Diagnostic]) {
    guard byteLinter.lint(raw, index: index) else { return }
    let fast = byteLinter.materializedDiagnostics()
    guard fast == reference else { fatalError("byte path differs from Linter.check on \(raw.bytes): \(fast) vs \(reference)") }
}

/// Messages already checked (libFuzzer runs the harness on one thread).
nonisolated(unsafe) var checkedMessages = Set<String>()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLinter(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var decoder = FrameDecoder()
    decoder.feed(UnsafeBufferPointer(start: data, count: size))
    var events: [FrameDecoder.Event] = []
    while let e = decoder.next() { events.append(e) }
    events += decoder.finish()
    var index = 0
    for e in events {
        var diagnostics: [Diagnostic] = []
        switch e {
        case .frame(let raw):
            diagnostics = linter.check(raw, index: index).diagnostics
            compareByteLinter(raw, index: index, reference: diagnostics)
            // The same segment with a correct CRC and CR LF.
            var d = FrameDecoder()
            d.feed(FrameEncoder.frame(segmentBytes: Array(raw.segmentBytes)))
            if case .frame(let fixed)? = d.next() {
                compareByteLinter(fixed, index: index, reference: linter.check(fixed, index: index).diagnostics)
            }
            index += 1
        case .skipped(let s): diagnostics = [linter.diagnose(s)]
        case .incomplete(let t): diagnostics = [linter.diagnose(t)]
        }
        for d in diagnostics {
            guard !d.rule.isEmpty, !d.message.isEmpty else { fatalError("a diagnostic without rule or message") }
            // `safe` is a pure function: each distinct message is checked once (escaping every
            // message again, most of them the same rule texts with Chinese names that miss the
            // ASCII fast path, was a fifth of the time).
            guard checkedMessages.insert(d.message).inserted else { continue }
            if checkedMessages.count > 100_000 { checkedMessages.removeAll(keepingCapacity: true) }
            guard TerminalText.isSafe(TerminalText.safe(d.message)) else { fatalError("TerminalText.safe left a control character") }
        }
    }
    return 0
}
