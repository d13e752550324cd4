import Foundation
import Testing
@testable import HJ212

@Suite("Code dictionary")
struct DictionaryTests {
    @Test("every built-in profile file parses, and the 2017 tables are complete")
    func tables() throws {
        let d = try CodeDictionary.builtin(.hj2017)
        let all = Array(d.factors.values) + d.factorPatterns
        #expect(all.filter { $0.table == "B.1" }.count == 63)
        #expect(all.filter { $0.table == "B.2" }.count == 121)
        #expect(all.filter { $0.table == "B.3" }.count == 12)
        #expect(d.systems.count == 20)
        #expect(Set(d.qnRtn.keys) == ["1", "2", "3", "4", "5", "6", "7", "8", "9", "100"])
        #expect(Set(d.exeRtn.keys) == ["1", "2", "3", "4", "5", "6", "100"])
        #expect(Set(d.dataFlags.keys) == ["N", "F", "M", "S", "D", "C", "T", "B"])
        for cn in ["1000", "1011", "1012", "1013", "1061", "1062", "1063", "1064", "1072", "2011", "2012", "2021", "2022", "2031", "2041",
                   "2051", "2061", "2081", "3011", "3015", "3020", "3021", "9011", "9012", "9013", "9014"] {
            #expect(d.command(cn) != nil, "CN \(cn)")
        }
        for name in ["Rtd", "Min", "Avg", "Max", "Cou", "Flag", "EFlag", "SampleTime", "ZsRtd", "ZsAvg", "RS", "RT", "Info", "SN"] {
            #expect(d.suffixFields[name] != nil, "suffix field \(name)")
        }
        for name in ["QN", "ST", "CN", "PW", "MN", "Flag", "PNUM", "PNO", "DataTime", "PolId", "RtdInterval", "MinInterval", "NewPW", "InfoId"] {
            #expect(d.fields[name] != nil, "field \(name)")
        }
    }

    @Test("factors carry Chinese and English names, units, Cou units and default types")
    func factors() throws {
        let d = try CodeDictionary.builtin(.hj2017)
        let cod = try #require(d.factor("w01018"))
        #expect(cod.nameZh == "化学需氧量")
        #expect(cod.nameEn.contains("COD"))
        #expect(cod.unit == "mg/L" && cod.couUnit == "kg" && cod.type == NumberType(integerDigits: 5, fractionDigits: 1))
        #expect(cod.code2005 == "011")
        #expect(cod.label.hasPrefix("w01018 化学需氧量 "))
        #expect(d.factor("w00000")?.unit == "L/s")
        #expect(d.factor("w00000")?.couUnit == "m³")
        #expect(d.factor("a00000")?.unit == "m³/s")
        #expect(d.factor("a21026")?.type == NumberType(integerDigits: 5, fractionDigits: 2))
        // Placeholder codes: equipment numbers and furnace measuring points.
        #expect(d.factor("e10101")?.nameZh == "进水口流量")
        #expect(d.factor("i33312")?.nameZh == "炉膛内上部焚烧温度")
        #expect(d.factor("e1010") == nil)
        // LMx is a noise code, not a pattern.
        #expect(d.factor("LMx") != nil)
        #expect(d.factor("LM5") == nil)
        // Appendix B prints I33400 with a capital I; the lower-case form is found too.
        #expect(d.factor("i33400") != nil)
    }

    @Test("documented errata: e711xx 加药量 and g200xx 脱硫率")
    func errata() throws {
        let d = try CodeDictionary.builtin(.hj2017)
        #expect(d.factor("e71101")?.nameZh == "加药量")
        #expect(d.factor("g20001")?.nameZh == "脱硫率")
        #expect(d.factor("e70101")?.nameZh != "加药量")
    }

    @Test("the 2005 overlay replaces the reply tables and adds the 3-character codes")
    func dialect2005() throws {
        let d = try CodeDictionary.builtin(.hj2005)
        #expect(Set(d.qnRtn.keys) == ["1", "2", "3"])
        #expect(Set(d.exeRtn.keys) == ["1", "2", "100"])
        #expect(d.dataFlags["P"] != nil && d.dataFlags["B"] == nil)
        #expect(d.factor("011")?.nameZh == "化学需氧量")
        #expect(d.factor("B01")?.nameZh == "污水")
        #expect(d.command("2072") != nil && d.command("1013") == nil)
        #expect(d.factor("w01018") != nil)  // the 2017 base stays underneath
    }

    @Test("the 2025 overlay adds its commands and systems to the 2017 base")
    func dialect2025() throws {
        let d = try CodeDictionary.builtin(.hj2025)
        for cn in ["2111", "2062", "9015", "3024", "1001"] { #expect(d.command(cn) != nil, "\(cn)") }
        #expect(d.command("2011") != nil)
        #expect(d.system("44") != nil && d.system("45") != nil)
        #expect(d.suffixFields["SampleRd"] != nil)
    }

    @Test("a profile directory overrides a built-in file; a broken one is reported with file and line")
    func overrides() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hj212-profiles-\(UUID().uuidString)")
        let sub = dir.appendingPathComponent("dialects/hj212-2017")
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "code\tname_zh\tname_en\tcategory\n99\t测试\tTest system\tprocess\n".write(to: sub.appendingPathComponent("systems.tsv"), atomically: true, encoding: .utf8)
        let d = try CodeDictionary.load(.hj2017, from: ProfileStore(overrideDirectory: dir.path))
        #expect(d.system("99")?.nameEn == "Test system")
        #expect(d.factor("w01018") != nil)  // other files still built in
        try "code\tname_zh\tname_en\tcategory\n99\t测试\n".write(to: sub.appendingPathComponent("systems.tsv"), atomically: true, encoding: .utf8)
        #expect {
            _ = try CodeDictionary.load(.hj2017, from: ProfileStore(overrideDirectory: dir.path))
        } throws: { error in
            let e = error as? ProfileError
            return e?.line == 2 && e?.file == "dialects/hj212-2017/systems.tsv" && e?.message.contains("4 tab-separated columns") == true
        }
    }

    @Test("the embedded profiles equal the files under Profiles/")
    func embeddedMatchesFiles() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Profiles")
        #expect(!ProfileStore.builtinPaths.isEmpty)
        for path in ProfileStore.builtinPaths {
            let disk = try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
            #expect(try ProfileStore.builtin.text(path) == disk, "\(path)")
        }
    }

    @Test("NumberType parses Nx.y and judges digit counts")
    func numberType() {
        let t = NumberType("N5.2")
        #expect(t == NumberType(integerDigits: 5, fractionDigits: 2))
        #expect(t?.fits("12345.67") == true)
        #expect(t?.fits("-0.05") == true)
        #expect(t?.fits("123456") == false)
        #expect(t?.fits("1.234") == false)
        #expect(NumberType("C890") == nil)
        #expect(NumberType("N4")?.fits("1.5") == false)
    }
}
