import Foundation
import HJ212
import HJConformance
import Testing

/// A `--lang zh` check report quotes the linter's diagnostics (a logger check's wire log:
/// `error frame.crc-mismatch: declared CRC …`; the platform suite's problems: `rule: message`;
/// the noise of a logger check: the message alone). Each of them must read in Chinese.
///
/// Frames crafted to trigger every message shape of `Linter` (and `ByteLinter`, which writes the
/// same messages), plus the shared vectors: every rule of `Rules.all` must be reached, so that a
/// rule added without a frame here fails, and every message, localized by the built-in templates
/// (`Profiles/checks/messages.json`), must hold no English word.
@Suite("the linter's diagnostics read in Chinese in a --lang zh report")
struct LintMessagesZhTests {
    static let qn = "QN=20160801085857223"
    static let mn = "MN=010000A8900016F000169DC0"
    /// A 2017 header before CN, and after it.
    static func h(st: String = "32", cn: String, flag: String = "5", extra: String = "") -> String {
        "\(qn);ST=\(st);CN=\(cn);PW=123456;\(mn);Flag=\(flag);\(extra)"
    }
    static let upload = "CP=&&DataTime=20160801085857;w01018-Rtd=2.2,w01018-Flag=N&&"

    /// A frame of `segment`: declared length and CRC right unless given.
    static func frame(_ segment: [UInt8], length: String? = nil, crc: String? = nil, trailer: String = "\r\n") -> [UInt8] {
        let len = length ?? String(format: "%04d", segment.count)
        return Array("##\(len)".utf8) + segment + Array((crc ?? CRC.hex(CRC.hj212(segment))).utf8) + Array(trailer.utf8)
    }

    static func frame(_ segment: String, length: String? = nil, crc: String? = nil, trailer: String = "\r\n") -> [UInt8] {
        frame(Array(segment.utf8), length: length, crc: crc, trailer: trailer)
    }

    /// A segment whose HJ 212 CRC holds a letter (for the lower-case CRC).
    static var lettered: String {
        for ms in 100..<200 {
            let s = "QN=20160801085857\(ms);ST=32;CN=2011;PW=123456;\(mn);Flag=5;\(upload)"
            if CRC.hex(CRC.hj212(Array(s.utf8))).contains(where: \.isLetter) { return s }
        }
        return ""
    }

    /// What each case feeds (a byte stream), the rules it is meant to reach, and the linter options.
    struct Case {
        var name: String
        var bytes: [UInt8]
        var rules: [String]
        var dialect: Dialect? = nil
        /// CRC characters put into each decoded frame (the decoder delimits a frame only by four
        /// hex digits, so a CRC field of other characters comes from a frame built by hand).
        var crc: String? = nil
    }

    static var cases: [Case] {
        let u = upload
        let long = "CP=&&DataTime=20160801085857;" + (1...70).map { "w01018-Rtd=\($0).0,w01018-Flag=N" }.joined(separator: ";") + "&&"
        let gbk = Array(h(cn: "2011").utf8) + Array("CP=&&DataTime=20160801085857;w01018-Rtd=2.2;i11001-Info=//".utf8) + [0xC4, 0xE3] + Array("//&&".utf8)
        let good = frame(h(cn: "2011") + u)
        var c: [Case] = [
            // Stream
            Case(name: "noise", bytes: Array("AT+CSQ\r\n".utf8) + good, rules: ["stream.skipped-bytes"]),
            Case(name: "broken header", bytes: Array("##12xyz".utf8) + good, rules: ["stream.skipped-bytes"]),
            Case(name: "unframed", bytes: Array("##0010QN=1;ST=32;CN=XYZW\r\n".utf8) + good, rules: ["stream.skipped-bytes"]),
            Case(name: "one byte", bytes: Array("X".utf8) + good, rules: ["stream.skipped-bytes"]),
            Case(name: "truncated", bytes: Array(frame(h(cn: "2011") + u).prefix(60)) + good, rules: ["stream.skipped-bytes"]),
            Case(name: "tail", bytes: good + Array(good.prefix(60)), rules: ["stream.incomplete-tail"]),
            Case(name: "tail with a CRC that is not hex", bytes: good + Array(good.dropLast(6)) + Array("12G4\r\n".utf8), rules: ["stream.incomplete-tail"]),
            Case(name: "tail without length", bytes: good + Array("##02a8QN=2016".utf8), rules: ["stream.skipped-bytes"]),
            // Frame
            Case(name: "length counts characters", bytes: frame(h(cn: "2011") + "CP=&&DataTime=20160801085857;w01018-Rtd=2.2;i11001-Info=//日志文本//&&",
                                                                  length: String(format: "%04d", (h(cn: "2011") + "CP=&&DataTime=20160801085857;w01018-Rtd=2.2;i11001-Info=//日志文本//&&").count)),
                 rules: ["frame.length-counts-characters"]),
            Case(name: "length mismatch", bytes: frame(h(cn: "2011") + u, length: String(format: "%04d", (h(cn: "2011") + u).utf8.count + 1)), rules: ["frame.length-mismatch"]),
            Case(name: "length not digits", bytes: frame(h(cn: "2011") + u, length: "02a8"), rules: ["frame.length-not-digits"]),
            Case(name: "too long", bytes: frame(h(cn: "2011") + long), rules: ["frame.segment-too-long", "cp.too-long"]),
            Case(name: "crc lower case", bytes: frame(lettered, crc: CRC.hex(CRC.hj212(Array(lettered.utf8))).lowercased()), rules: ["frame.crc-lowercase"]),
            Case(name: "crc modbus", bytes: FrameEncoder.frame(h(cn: "2011") + u, crcStyle: .modbus), rules: ["frame.crc-variant-modbus"]),
            Case(name: "crc modbus swapped", bytes: FrameEncoder.frame(h(cn: "2011") + u, crcStyle: .modbusSwapped), rules: ["frame.crc-variant-modbus-swapped"]),
            Case(name: "crc mismatch", bytes: frame(h(cn: "2011") + u, crc: "0000"), rules: ["frame.crc-mismatch"]),
            Case(name: "crc not hex", bytes: frame(h(cn: "2011") + u), rules: ["frame.crc-not-hex"], crc: "12G4"),
            Case(name: "LF alone", bytes: frame(h(cn: "2011") + u, trailer: "\n") + good, rules: ["frame.trailer-missing"]),
            Case(name: "CR alone", bytes: frame(h(cn: "2011") + u, trailer: "\r") + good, rules: ["frame.trailer-missing"]),
            Case(name: "no trailer", bytes: frame(h(cn: "2011") + u, trailer: "") + good, rules: ["frame.trailer-missing"]),
            Case(name: "GBK", bytes: frame(gbk), rules: ["frame.encoding-not-utf8"]),
            Case(name: "non-ASCII outside log", bytes: frame(h(cn: "2011") + "CP=&&DataTime=20160801085857;w01018-Rtd=2.2;Ab=中&&"), rules: ["frame.non-ascii-outside-log"]),
            // Segment parser
            Case(name: "comma", bytes: frame("\(qn),ST=32;CN=2011;PW=123456;\(mn);Flag=5;" + u), rules: ["segment.separator"]),
            Case(name: "doubled separator", bytes: frame("\(qn);;ST=32;CN=2011;PW=123456;\(mn);Flag=5;" + u), rules: ["segment.separator"]),
            Case(name: "no ; before CP", bytes: frame("\(qn);ST=32;CN=2011;PW=123456;\(mn);Flag=5" + u), rules: ["segment.separator"]),
            Case(name: "spaces", bytes: frame("\(qn); ST=32;CN = 2011;PW=123456;\(mn);Flag=5;" + u), rules: ["segment.whitespace"]),
            Case(name: "no =", bytes: frame(h(cn: "2011", extra: "XY;") + u), rules: ["segment.field-syntax"]),
            Case(name: "CP open", bytes: frame(h(cn: "2011") + "CP=&DataTime=20160801085857;w01018-Rtd=2.2&&"), rules: ["cp.open-missing"]),
            Case(name: "CP unterminated", bytes: frame(h(cn: "2011") + "CP=&&DataTime=20160801085857;w01018-Rtd=2.2"), rules: ["cp.unterminated"]),
            Case(name: "CP trailing", bytes: frame(h(cn: "2011") + u + "12"), rules: ["cp.trailing-bytes"]),
            Case(name: "CP encrypted", bytes: frame(h(cn: "2011", flag: "9") + "CP=&&{0x12,0x34}&&"), rules: ["cp.encrypted"]),
            Case(name: "CP log", bytes: frame(h(cn: "3020") + "CP=&&DataTime=20160801085857;i11001-Info=//12&&"), rules: ["cp.log-unterminated"]),
            Case(name: "CP stray separator", bytes: frame(h(cn: "2011") + "CP=&&DataTime=20160801085857;w01018-Rtd=2.2;&&"), rules: ["cp.trailing-separator"]),
            Case(name: "CP empty entry", bytes: frame(h(cn: "2011") + "CP=&&DataTime=20160801085857;;w01018-Rtd=2.2&&"), rules: ["cp.empty-entry"]),
            Case(name: "CP spaces", bytes: frame(h(cn: "2011") + "CP=&&DataTime=20160801085857; w01018-Rtd=2.2,w01018-Flag = N&&"), rules: ["cp.whitespace"]),
            Case(name: "CP entry syntax", bytes: frame(h(cn: "2011") + "CP=&&DataTime=20160801085857;=2.2;w01018-Rtd&&"), rules: ["cp.entry-syntax"]),
            // Header
            Case(name: "duplicate", bytes: frame(h(cn: "2011", extra: "\(qn);Ab=1;Ab=1;") + u), rules: ["segment.field-duplicate", "segment.field-unknown"]),
            Case(name: "missing", bytes: frame("\(qn);ST=32;CN=2011;\(mn);Flag=5;" + u), rules: ["segment.field-missing"]),
            Case(name: "missing CP", bytes: frame(h(cn: "2011")), rules: ["segment.field-missing"]),
            Case(name: "missing 2005", bytes: frame("\(qn);ST=32;CN=2011;PW=123456;Flag=1;" + u), rules: ["segment.field-missing", "dialect.2005"]),
            Case(name: "order", bytes: frame("ST=32;\(qn);CN=2011;PW=123456;\(mn);Flag=5;" + u), rules: ["segment.field-order"]),
            Case(name: "QN length", bytes: frame("QN=2016080108585722;ST=32;CN=2011;PW=123456;\(mn);Flag=5;" + u), rules: ["segment.qn-format"]),
            Case(name: "QN date", bytes: frame("QN=20161301085857223;ST=32;CN=2011;PW=123456;\(mn);Flag=5;" + u), rules: ["segment.qn-format"]),
            Case(name: "ST", bytes: frame(h(st: "3", cn: "2011") + u), rules: ["segment.st-format"]),
            Case(name: "ST unknown", bytes: frame(h(st: "Z9", cn: "2011") + u), rules: ["segment.st-unknown"]),
            Case(name: "CN", bytes: frame(h(cn: "20A1") + u), rules: ["segment.cn-format"]),
            Case(name: "CN unknown", bytes: frame(h(cn: "7777") + u), rules: ["segment.cn-unknown"]),
            Case(name: "PW", bytes: frame("\(qn);ST=32;CN=2011;PW=123;\(mn);Flag=5;" + u), rules: ["segment.pw-format"]),
            Case(name: "MN 14", bytes: frame("\(qn);ST=32;CN=2011;PW=123456;MN=81733553213013;Flag=5;" + u), rules: ["segment.mn-format"]),
            Case(name: "MN not hex", bytes: frame("\(qn);ST=32;CN=2011;PW=123456;MN=010000A8900016F000169DCG;Flag=5;" + u), rules: ["segment.mn-format"]),
            Case(name: "MN 2005", bytes: frame("\(qn);ST=32;CN=2011;PW=123456;MN=12345;Flag=1;" + u), rules: ["segment.mn-format"]),
            Case(name: "Flag", bytes: frame(h(cn: "2011", flag: "X1") + u), rules: ["segment.flag-format"]),
            Case(name: "split without PNUM/PNO", bytes: frame(h(cn: "2011", flag: "7") + u), rules: ["segment.flag-split-without-pnum"]),
            Case(name: "split without PNO", bytes: frame(h(cn: "2011", flag: "7", extra: "PNUM=2;") + u), rules: ["segment.flag-split-without-pnum"]),
            Case(name: "split without PNUM", bytes: frame(h(cn: "2011", flag: "7", extra: "PNO=1;") + u), rules: ["segment.flag-split-without-pnum"]),
            Case(name: "PNUM not split", bytes: frame(h(cn: "2011", extra: "PNUM=2;PNO=1;") + u), rules: ["segment.pnum-without-split"]),
            Case(name: "PNO not numbers", bytes: frame(h(cn: "2011", flag: "7", extra: "PNUM=A;PNO=1;") + u), rules: ["segment.pno-range"]),
            Case(name: "PNO range", bytes: frame(h(cn: "2011", flag: "7", extra: "PNUM=2;PNO=3;") + u), rules: ["segment.pno-range"]),
            Case(name: "PNUM zero-padded", bytes: frame(h(cn: "2011", flag: "7", extra: "PNUM=02;PNO=01;") + u), rules: ["segment.pnum-format"]),
            // CP contents
            Case(name: "duplicate key", bytes: frame(h(cn: "2011") + "CP=&&DataTime=20160801085857;w01018-Rtd=2.2,w01018-Rtd=2.3&&"), rules: ["cp.duplicate-key"]),
            Case(name: "unknown fields", bytes: frame(h(cn: "2011") + "CP=&&DataTime=20160801085857;w01018-Rtd=2.2,w01018-Xyz=1;Ab=1&&"), rules: ["cp.field-unknown"]),
            Case(name: "unknown code", bytes: frame(h(cn: "2011") + "CP=&&DataTime=20160801085857;w99999-Rtd=2.2&&"), rules: ["code.factor-unknown"]),
            Case(name: "times", bytes: frame(h(cn: "2011") + "CP=&&DataTime=20160832085857;w01018-Rtd=2.2,w01018-SampleTime=2016;w01001-Rtd=7,w01001-SampleTime=20161301085857223&&"),
                 rules: ["value.datetime-invalid"]),
            Case(name: "milliseconds", bytes: frame(h(cn: "2011") + "CP=&&DataTime=20160801085857223;w01018-Rtd=2.2&&"), rules: ["value.datetime-milliseconds"]),
            Case(name: "RtdInterval", bytes: frame(h(cn: "1062") + "CP=&&RtdInterval=10&&"), rules: ["value.rtdinterval-range"]),
            Case(name: "MinInterval", bytes: frame(h(cn: "1063") + "CP=&&MinInterval=7&&"), rules: ["value.mininterval-invalid"]),
            Case(name: "parameters", bytes: frame(h(cn: "1000") + "CP=&&OverTime=0;ReCount=100&&"), rules: ["value.parameter-range"]),
            Case(name: "sampling period", bytes: frame(h(cn: "3016") + "CP=&&PolId=w01018;CstartTime=250000;Ctime=30;Stime=0;VaseNo=0&&"), rules: ["value.parameter-range"]),
            Case(name: "running time", bytes: frame(h(cn: "2041") + "CP=&&DataTime=20160801000000;SB1-RT=25&&"), rules: ["value.parameter-range"]),
            Case(name: "data flag", bytes: frame(h(cn: "2011") + "CP=&&DataTime=20160801085857;w01018-Rtd=2.2,w01018-Flag=X&&"), rules: ["value.data-flag-invalid"]),
            Case(name: "run state", bytes: frame(h(cn: "2021") + "CP=&&DataTime=20160801085857;SB1-RS=9&&"), rules: ["value.info-value-invalid"]),
            Case(name: "info value", bytes: frame(h(cn: "3020") + "CP=&&DataTime=20160801085857;PolId=w01018;i12001-Info=4&&"), rules: ["value.info-value-invalid"]),
            Case(name: "QnRtn", bytes: frame(h(st: "91", cn: "9011", flag: "4") + "CP=&&QnRtn=50&&"), rules: ["value.qnrtn-invalid"]),
            Case(name: "ExeRtn", bytes: frame(h(st: "91", cn: "9012", flag: "4") + "CP=&&ExeRtn=7&&"), rules: ["value.exertn-invalid"]),
            Case(name: "number", bytes: frame(h(cn: "2011") + "CP=&&DataTime=20160801085857;w01018-Rtd=1.2.3&&"), rules: ["value.number-invalid"]),
            Case(name: "width", bytes: frame(h(cn: "2051") + "CP=&&DataTime=20160801085800;w01018-Min=123456789.123,w01018-Avg=123456789.123,w01018-Max=123456789.123;w01001-Avg=123456789.123&&"),
                 rules: ["value.number-width"]),
            Case(name: "NewPW", bytes: frame(h(cn: "1072") + "CP=&&NewPW=1234567&&"), rules: ["value.newpw-format"]),
            Case(name: "PolId", bytes: frame(h(cn: "1011") + "CP=&&PolId=w99999&&"), rules: ["value.polid-unknown"]),
            Case(name: "Min Avg Max", bytes: frame(h(cn: "2051") + "CP=&&DataTime=20160801085800;w01018-Min=5,w01018-Avg=3,w01018-Max=4;w01001-Avg=7,w01001-Max=6&&"),
                 rules: ["value.min-avg-max-order"]),
            // Replies
            Case(name: "reply ST", bytes: frame(h(cn: "9014", flag: "4") + "CP=&&&&"), rules: ["reply.st-not-91"]),
            Case(name: "reply Flag", bytes: frame(h(st: "91", cn: "9014", flag: "5") + "CP=&&&&"), rules: ["reply.flag"]),
            Case(name: "reply CP", bytes: frame(h(st: "91", cn: "9014", flag: "4") + "CP=&&QnRtn=1&&"), rules: ["reply.cp-not-empty"]),
            Case(name: "9011 without QnRtn", bytes: frame(h(st: "91", cn: "9011", flag: "4") + "CP=&&&&"), rules: ["reply.result-missing"]),
            Case(name: "9012 without ExeRtn", bytes: frame(h(st: "91", cn: "9012", flag: "4") + "CP=&&&&"), rules: ["reply.result-missing"]),
            // Commands
            Case(name: "1000 without ReCount", bytes: frame(h(cn: "1000") + "CP=&&OverTime=5&&"), rules: ["command.parameter-missing"]),
            Case(name: "3016 without times", bytes: frame(h(cn: "3016") + "CP=&&PolId=w01018&&"), rules: ["command.parameter-missing"]),
            Case(name: "3016 without Ctime", bytes: frame(h(cn: "3016") + "CP=&&PolId=w01018;CstartTime=010000&&"), rules: ["command.parameter-missing"]),
            Case(name: "3021 without value", bytes: frame(h(cn: "3021") + "CP=&&PolId=w01018;InfoId=i13004&&"), rules: ["command.parameter-missing"]),
            Case(name: "1072 in 2005", bytes: frame("\(qn);ST=32;CN=1072;PW=123456;MN=81733553213013;Flag=1;CP=&&QN=1&&"), rules: ["command.parameter-missing"]),
            Case(name: "history request", bytes: frame(h(cn: "2051") + "CP=&&BeginTime=20160801090000,EndTime=20160801080000&&"),
                 rules: ["command.history-separator", "command.history-range"]),
            Case(name: "history without EndTime", bytes: frame(h(cn: "2061") + "CP=&&BeginTime=20160801090000&&"), rules: ["command.parameter-missing"]),
            Case(name: "upload without DataTime", bytes: frame(h(cn: "2011") + "CP=&&w01018-Rtd=2.2&&"), rules: ["command.datatime-missing"]),
            Case(name: "3020 without DataTime", bytes: frame(h(cn: "3020") + "CP=&&i13004-Info=1&&"), rules: ["command.datatime-missing"]),
            Case(name: "empty upload", bytes: frame(h(cn: "2011") + "CP=&&DataTime=20160801085857&&"), rules: ["command.empty-upload"]),
            Case(name: "minute", bytes: frame(h(cn: "2051") + "CP=&&DataTime=20160801085857;w01018-Avg=2.2&&"), rules: ["command.datatime-alignment"]),
            Case(name: "hour", bytes: frame(h(cn: "2061") + "CP=&&DataTime=20160801085800;w01018-Avg=2.2&&"), rules: ["command.datatime-alignment"]),
            Case(name: "day", bytes: frame(h(cn: "2031") + "CP=&&DataTime=20160801080000;w01018-Avg=2.2&&"), rules: ["command.datatime-alignment"]),
            Case(name: "5 min", bytes: frame(h(cn: "2111") + "CP=&&DataTime=20160801080100;w01018-Avg=2.2&&"), rules: ["command.datatime-alignment"]),
            // Dialects
            Case(name: "2005", bytes: frame(h(cn: "2011", flag: "1") + u), rules: ["dialect.2005"]),
            Case(name: "2005 without Flag", bytes: frame("\(qn);ST=32;CN=2011;PW=123456;MN=81733553213013;" + u), rules: ["dialect.2005"]),
            Case(name: "2025", bytes: frame(h(cn: "2011", flag: "9") + u), rules: ["dialect.2025"]),
            Case(name: "2005 where 2017 is required", bytes: frame(h(cn: "2011", flag: "1") + u), rules: ["dialect.mismatch"], dialect: .hj2017),
            Case(name: "2025 where 2017 is required", bytes: frame(h(cn: "2011", flag: "9") + u), rules: ["dialect.mismatch"], dialect: .hj2017),
            Case(name: "2005 without Flag where 2017 is required", bytes: frame("\(qn);ST=32;CN=2011;PW=123456;MN=81733553213013;" + u), rules: ["dialect.mismatch"],
                 dialect: .hj2017),
            Case(name: "2017 where 2005 is required", bytes: frame(h(cn: "2011") + u), rules: ["dialect.mismatch"], dialect: .hj2005),
        ]
        // The shared vectors, where they are (`../shared/vectors` beside the checkout, or HJ212_VECTORS).
        for (file, column) in [("malformed.tsv", 4), ("hj212-2017-appendix.tsv", 4)] {
            guard let text = try? String(contentsOfFile: vectors + "/" + file, encoding: .utf8) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let cols = line.split(separator: "\t", omittingEmptySubsequences: false)
                if cols.count > column { c.append(Case(name: "\(file) \(cols[0])", bytes: Array((cols[column] + "\r\n").utf8), rules: [])) }
            }
        }
        if let data = FileManager.default.contents(atPath: vectors + "/stream-with-noise.txt") {
            c.append(Case(name: "stream-with-noise.txt", bytes: Array(data), rules: []))
        }
        return c
    }

    static var vectors: String {
        if let env = ProcessInfo.processInfo.environment["HJ212_VECTORS"] { return env }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.deletingLastPathComponent().appendingPathComponent("shared/vectors").path
    }

    /// Every diagnostic of a case: the decoder's skipped bytes and tail, `Linter.check` of each
    /// frame, and `ByteLinter`'s messages for the frames it takes.
    static func diagnostics(_ c: Case) throws -> [Diagnostic] {
        let linter = try Linter(options: LintOptions(dialect: c.dialect, strict: true))
        let bytes = ByteLinter(linter: linter)
        var decoder = FrameDecoder()
        decoder.feed(c.bytes)
        var events: [FrameDecoder.Event] = []
        while let e = decoder.next() { events.append(e) }
        events += decoder.finish()
        var out: [Diagnostic] = []
        for (i, e) in events.enumerated() {
            switch e {
            case .frame(var raw):
                if let crc = c.crc { raw.bytes.replaceSubrange(raw.crcField, with: Array(crc.utf8)) }
                out += linter.check(raw, index: i).diagnostics
                if bytes.lint(raw, index: i) { out += bytes.materializedDiagnostics() }
            case .skipped(let s): out.append(linter.diagnose(s))
            case .incomplete(let t): out.append(linter.diagnose(t))
            }
        }
        return out
    }

    static let all: [(case: String, diagnostics: [Diagnostic])] = cases.map { c in (c.name, (try? diagnostics(c)) ?? []) }

    /// The factor labels of every dialect, longest first.
    static let labels: [String] = Set([Dialect.hj2017, .hj2005, .hj2025].flatMap { CodeDictionary.shared($0).factors.values.map(\.label) })
        .sorted { $0.count > $1.count }

    /// Field names of Tables 3 and 4 (and the dialects' own), time formats, protocol and encoding
    /// names: identifiers a Chinese text keeps, longest first.
    static let identifiers: [String] = {
        var names: Set<String> = ["YYYYMMDDhhmmsszzz", "YYYYMMDDhhmmss", "hhmmss", "CRC-16/MODBUS", "HJ/T", "UTF-8", "ASCII", "GBK", "EPC-96"]
        for d in [Dialect.hj2017, .hj2005, .hj2025] {
            let dictionary = CodeDictionary.shared(d)
            names.formUnion(dictionary.fields.keys)
            names.formUnion(dictionary.suffixFields.keys)
        }
        return names.filter { $0.count >= 4 }.sorted { $0.count > $1.count }
    }()

    /// Whether `text` still has an English word: four or more Latin letters in a row, once what is
    /// not prose is out (the idea of `hasEnglish` in the CLI tests): quoted bytes of the frame,
    /// factor labels (code and both names, by design), the standard's field names and formats,
    /// protocol names, rule IDs and CRCs.
    static func english(_ text: String) -> Bool {
        var rest = text
        // Bytes quoted from the frame or the stream are data.
        rest = rest.replacing(/'[^']*'/, with: "")
        // A factor keeps its label, `w01018 化学需氧量 Chemical oxygen demand (COD), mg/L`.
        for label in labels where rest.contains(label) { rest = rest.replacingOccurrences(of: label, with: "") }
        for n in identifiers { rest = rest.replacingOccurrences(of: n, with: "") }
        rest = rest.split(whereSeparator: { " []()，,；;：:（）=、".contains($0) })
            .filter { !($0.contains(".") && $0.allSatisfy { $0.isLowercase || $0 == "." || $0 == "-" || $0.isNumber }) }  // rule IDs
            .filter { !($0.count == 4 && $0.allSatisfy(\.isHexDigit) && $0.allSatisfy { !$0.isLowercase }) }  // CRCs
            .joined(separator: " ")
        var run = 0
        for ch in rest.unicodeScalars {
            run = (ch.properties.isAlphabetic && ch.isASCII) ? run + 1 : 0
            if run >= 4 { return true }
        }
        return false
    }

    @Test("the crafted frames reach every rule of the linter, each case the rules it is meant for")
    func coverage() throws {
        var reached = Set<String>()
        for c in Self.cases {
            let found = Set(try Self.diagnostics(c).map(\.rule))
            reached.formUnion(found)
            for rule in c.rules { #expect(found.contains(rule), "\(c.name): \(rule) not reached (found \(found.sorted()))") }
        }
        let missing = Rules.all.map(\.id).filter { !reached.contains($0) }
        #expect(missing.isEmpty, "rules no frame of this test reaches (add a frame, and the templates of its messages): \(missing)")
    }

    @Test("every diagnostic message is localized to Chinese: alone, as a wire note, and after its rule ID")
    func chinese() throws {
        let messages = try RuleCatalogue.load().messages
        #expect(Self.english("CRC '1c80' is correct but in lower case"), "the check sees English")
        #expect(!Self.english("错误 frame.crc-mismatch：声明的 CRC 为 '0000'，计算值为 '1C80'"))
        var seen = Set<String>()
        var failures: [String] = []
        for (name, diagnostics) in Self.all {
            for d in diagnostics where seen.insert(d.message).inserted {
                #expect(!d.message.isEmpty)
                for form in [d.message, "\(d.severity) \(d.rule): \(d.message)", "\(d.rule): \(d.message)"] {
                    let zh = messages.localized(form, .zh)
                    if Self.english(zh) { failures.append("\(name) [\(d.rule)] \(form) → \(zh)") }
                }
            }
        }
        for f in failures { Issue.record("not in Chinese: \(f)") }
        #expect(failures.isEmpty, "\(failures.count) forms of \(seen.count) messages not in Chinese")
    }
}
