import HJ212

/// `hj212 frame`: wrap data segments into frames.
struct FrameCommand: CLICommand {
    static let name = "frame"
    static let abstract = "Wrap data segments in ##, length, CRC and CR LF."
    static let operands = "[SEGMENT…|-]"
    static let options: [any OptionDeclaration] = [
        split, crc, noCRLF,
    ]
    static let split = Flag("split", help: "Split segments over 1024 bytes into PNUM/PNO packets (Flag D=1, one QN each).")
    static let crc = Option("crc", "STYLE", help: "How to write the CRC; anything but standard is non-conformant, for testing receivers.",
                            choices: FrameEncoder.CRCStyle.allCases.map(\.rawValue), parse: Parse.choice(FrameEncoder.CRCStyle.self))
    static let noCRLF = Flag("no-crlf", help: "Leave out the CR LF trailer.")
    static let discussion = """
    Each argument is one data segment; with none, or '-', segments are read from standard input,
    one per line. The length counts UTF-8 bytes.

    EXAMPLE:
      hj212 frame 'QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&'
    """

    var segments: [String]
    var split: Bool
    var style: FrameEncoder.CRCStyle
    var crlf: Bool

    init(_ a: ParsedArguments) throws(UsageError) {
        segments = a.positionals
        split = a[Self.split]
        style = a[Self.crc] ?? .standard
        crlf = !a[Self.noCRLF]
    }

    func run(_ io: CommandIO) -> Int32 {
        var texts = segments.filter { $0 != "-" }
        if segments.isEmpty || segments.contains("-") {
            do throws(UsageError) {
                var inputs = try InputFile.openAll(["-"], io: io)
                var bytes: [UInt8] = []
                while true {
                    let chunk = try inputs[0].read()
                    if chunk.isEmpty { break }
                    bytes += chunk
                    if bytes.count > 64 << 20 { throw UsageError("standard input over 64 MiB; frame takes segments, not captures") }
                }
                texts += String(decoding: bytes, as: UTF8.self).split(whereSeparator: { $0 == "\n" || $0 == "\r\n" })
                    .map { $0.hasSuffix("\r") ? String($0.dropLast()) : String($0) }.filter { !$0.isEmpty }
            } catch {
                io.stderr.line("hj212 frame: \(error.message)")
                return error.exitCode
            }
        }
        var status: Int32 = 0
        for text in texts {
            var pieces = [text]
            if split {
                do {
                    pieces = try PacketSplitter.split(SegmentParser.parse(text).segment).map { $0.serialized() }
                    if pieces.count == 1 { pieces = [text] }
                } catch {
                    io.stderr.line("hj212 frame: cannot split: \(error)")
                    status = 1
                    continue
                }
            } else if text.utf8.count > 1024 {
                io.stderr.line("hj212 frame: warning: segment of \(text.utf8.count) bytes exceeds 1024; use --split")
            }
            for piece in pieces {
                io.stdout.write(String(decoding: FrameEncoder.frame(piece, crcStyle: style, trailer: crlf), as: UTF8.self))
                if !crlf { io.stdout.write("\n") }
            }
        }
        return status
    }
}

/// `hj212 crc`: the HJ 212 CRC of a text.
struct CRCCommand: CLICommand {
    static let name = "crc"
    static let abstract = "Print the HJ 212 CRC of a data segment (or check a whole frame)."
    static let operands = "TEXT"
    static let options: [any OptionDeclaration] = [
        all,
    ]
    static let all = Flag("all", help: "Also print CRC-16/MODBUS and its byte-swapped form, which some devices send.")
    static let discussion = """
    TEXT is a data segment (the CRC covers the segment only). A whole frame ('##' + length +
    segment + CRC) is recognised: its CRC is checked and the verdict printed.

    EXAMPLES:
      hj212 crc 'QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&'   # 1C80
      hj212 crc 123456789   # 2F80
    """

    var text: String
    var all: Bool

    init(_ a: ParsedArguments) throws(UsageError) {
        guard a.positionals.count == 1 else {
            throw UsageError(a.positionals.isEmpty ? "missing TEXT; see 'hj212 crc --help'" : "expected one TEXT (quote it), got \(a.positionals.count)")
        }
        text = a.positionals[0]
        all = a[Self.all]
    }

    func run(_ io: CommandIO) -> Int32 {
        var bytes = Array(text.utf8)
        while let last = bytes.last, last == 0x0A || last == 0x0D { bytes.removeLast() }
        if bytes.count >= 10, bytes[0] == UInt8(ascii: "#"), bytes[1] == UInt8(ascii: "#") {
            var decoder = FrameDecoder()
            decoder.feed(bytes)
            decoder.feed([0x0D, 0x0A])
            var events: [FrameDecoder.Event] = []
            while let e = decoder.next() { events.append(e) }
            events += decoder.finish()
            if case .frame(let raw)? = events.first {
                let segment = raw.segmentBytes
                let declared = String(decoding: raw.crcBytes, as: UTF8.self)
                let computed = CRC.hex(CRC.hj212(segment))
                let verdict: String
                if let d = CRC.parseHex(raw.crcBytes) {
                    switch CRC.match(declared: d, segment: segment).match {
                    case .hj212: verdict = declared == computed ? "ok" : "ok (lower case)"
                    case .modbus: verdict = "CRC-16/MODBUS, not the HJ 212 CRC"
                    case .modbusSwapped: verdict = "byte-swapped CRC-16/MODBUS, not the HJ 212 CRC"
                    case .none: verdict = "WRONG"
                    }
                } else {
                    verdict = "not 4 hex digits"
                }
                io.stdout.line("\(computed)  (declared \(declared): \(verdict); segment \(segment.count) bytes, declared length \(raw.declaredLength.map(String.init) ?? "?"))")
                if all { printAll(segment, io) }
                return verdict.hasPrefix("ok") ? 0 : 1
            }
        }
        io.stdout.line(CRC.hex(CRC.hj212(bytes)))
        if all { printAll(bytes[...], io) }
        return 0
    }

    func printAll(_ bytes: ArraySlice<UInt8>, _ io: CommandIO) {
        let m = CRC.modbus(bytes)
        io.stdout.line("hj212           \(CRC.hex(CRC.hj212(bytes)))")
        io.stdout.line("modbus          \(CRC.hex(m))")
        io.stdout.line("modbus-swapped  \(CRC.hex(m.byteSwapped))")
    }
}
