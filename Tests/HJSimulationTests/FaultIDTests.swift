import Foundation
import HJ212
import Testing
@testable import HJSimulation

/// The typed fault IDs and layers agree with `Profiles/faults/catalogue.json`: a constant the code
/// acts on that is renamed or dropped in the catalogue fails here, not silently at run time.
@Suite struct FaultIDTests {
    @Test func everyNamedFaultIsInTheCatalogue() throws {
        let definitions = try FaultSpec.definitions()
        let ids = Set(definitions.map(\.id))
        for id in FaultID.named { #expect(ids.contains(id), "FaultID.\(id) is not in faults/catalogue.json") }
        #expect(Set(FaultID.named).count == FaultID.named.count, "a fault is named twice")
    }

    @Test func layersOfTheNamedFaults() throws {
        let byID = Dictionary(try FaultSpec.definitions().map { ($0.id, $0.layer) }, uniquingKeysWith: { a, _ in a })
        // The code branches on these: each must keep its layer.
        #expect(byID[.outage] == .transport && byID[.halfOpen] == .transport && byID[.neverRead] == .transport)
        #expect(byID[.crcMismatch] == .protocol && byID[.missingRecord] == .protocol && byID[.duplicateQN] == .protocol)
        #expect(byID[.flatline] == .instrument && byID[.deviceFault] == .instrument)
        #expect(byID[.flowBypass] == .fraud && byID[.o2Manipulation] == .fraud && byID[.furnaceLow] == .process)
        #expect(FaultDefinition.valueLayers == [.instrument, .fraud, .process])
    }

    @Test func anUnknownLayerIsRejected() throws {
        let text = #"{"faults": [{"id": "x", "layer": "cosmic", "zh": "x", "en": "x"}]}"#
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("faultid-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("faults"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try text.write(to: dir.appendingPathComponent("faults/catalogue.json"), atomically: true, encoding: .utf8)
        #expect(throws: ProfileError.self) { try FaultSpec.definitions(store: ProfileStore(overrideDirectory: dir.path)) }
    }

    @Test func specsAndRecordsCarryTheTypedIDs() throws {
        let spec = try #require(try FaultSpec.parseList("outage@2026-11-30T10:00/30m,crc-mismatch%5").first)
        #expect(spec.id == .outage && spec.layer == .transport)
        let record = FaultRecord(time: 0, mn: "m", fault: FaultID.noCRLF, cn: "2011", qn: "q", detail: "d")
        #expect(record.fault == "no-crlf" && record.layer == "protocol" && record.faultID == .noCRLF && record.faultLayer == .protocol)
    }
}
