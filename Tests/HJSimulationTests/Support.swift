import Foundation
import HJ212
@testable import HJSimulation

/// Decoded packets of a generated run, for checks that do not reuse the engine's arithmetic.
struct Decoded {
    var cn: String
    var st: String
    var segment: DataSegment
    var dataTime: String? { segment.cpValue("DataTime") }
    func number(_ key: String) -> Double? { segment.cpValue(key).flatMap(Double.init) }
    func text(_ key: String) -> String? { segment.cpValue(key) }
}

enum Run {
    /// Generates, frames, then decodes back through the codec (the way a platform would see it).
    static func packets(template: UnitTemplate, seed: UInt64 = 7, start: String = "2026-11-30", duration: String = "1d",
                        options: SimulationOptions = SimulationOptions()) throws -> (bytes: [UInt8], packets: [Decoded]) {
        let t0 = SimClock.parseStart(start)!
        var generator = try FleetGenerator(template: template, identity: LoggerIdentity(mn: "010000A8900016F000169DC0", pw: "123456"),
                                           seed: seed, start: t0, options: options)
        var bytes: [UInt8] = []
        generator.run(until: t0 + SimClock.parseDuration(duration)!) { _, p in bytes += FrameEncoder.frame(p.segment) }
        var reassembler = Reassembler()
        var out: [Decoded] = []
        for f in FrameDecoder.frames(in: bytes) {
            let seg = SegmentParser.parse(f.segmentBytes).segment
            switch reassembler.add(seg) {
            case .whole(let s), .complete(let s): out.append(Decoded(cn: s.cn ?? "", st: s.st ?? "", segment: s))
            default: break
            }
        }
        return (bytes, out)
    }

    /// A minimal water template for tests that must not depend on the shipped ones.
    static let waterJSON = """
    {"name":"t-water","title_zh":"测试废水","title_en":"Test water","medium":"water","st":"32","rtd_interval_seconds":30,"min_interval_minutes":10,"sample_seconds":5,
    "flow_factor":"w00000","reference_o2":null,"o2_factor":null,"operation":{"start_hour":0,"end_hour":24,"ramp_minutes":30},
    "factors":[
    {"code":"w01018","baseline":45,"stopped":10,"range":[0,500],"limit":100,"daily_amplitude":0.15,"peak_hour":14,"noise":0.05,"autocorrelation":0.98,"measure_every_minutes":60,"decimals":1,"zs":false,"couple":[{"to":"w00000","gain":0.2}]},
    {"code":"w00000","baseline":17.5,"stopped":0,"range":[0,200],"limit":null,"daily_amplitude":0.3,"peak_hour":10,"noise":0.05,"autocorrelation":0.99,"measure_every_minutes":0,"decimals":2,"zs":false,"couple":[]},
    {"code":"w01001","baseline":7.3,"stopped":7.3,"range":[0,14],"limit":null,"daily_amplitude":0.02,"peak_hour":12,"noise":0.01,"autocorrelation":0.99,"measure_every_minutes":0,"decimals":2,"zs":false,"couple":[]}
    ],
    "facilities":[{"id":"SB1","name_zh":"污水处理设施","name_en":"Treatment"}],"working_condition":null,
    "info":{"interval_minutes":60,"groups":[{"pol_id":"w01018","values":{"i12001":0,"i13004":165.0}}],"dynamic_control":null}}
    """

    static let gasJSON = """
    {"name":"t-gas","title_zh":"测试烟气","title_en":"Test flue gas","medium":"gas","st":"31","rtd_interval_seconds":30,"min_interval_minutes":10,"sample_seconds":5,
    "flow_factor":"a00000","reference_o2":6,"o2_factor":"a19001","operation":{"start_hour":0,"end_hour":24,"ramp_minutes":0},
    "factors":[
    {"code":"a21026","baseline":25,"stopped":0,"range":[0,200],"limit":35,"daily_amplitude":0.1,"peak_hour":14,"noise":0.08,"autocorrelation":0.95,"measure_every_minutes":0,"decimals":2,"zs":true,"couple":[]},
    {"code":"a19001","baseline":7.5,"stopped":20.6,"range":[0,25],"limit":null,"daily_amplitude":0.05,"peak_hour":3,"noise":0.03,"autocorrelation":0.97,"measure_every_minutes":0,"decimals":1,"zs":false,"couple":[]},
    {"code":"a00000","baseline":120,"stopped":0,"range":[0,500],"limit":null,"daily_amplitude":0.2,"peak_hour":18,"noise":0.03,"autocorrelation":0.99,"measure_every_minutes":0,"decimals":1,"zs":false,"couple":[]}
    ],
    "facilities":[],"working_condition":null,
    "info":{"interval_minutes":60,"groups":[],"dynamic_control":null}}
    """

    static var water: UnitTemplate { try! UnitTemplate.parse(waterJSON, file: "t-water.json") }
    static var gas: UnitTemplate { try! UnitTemplate.parse(gasJSON, file: "t-gas.json") }
}
