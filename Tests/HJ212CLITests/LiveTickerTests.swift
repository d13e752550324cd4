import Glibc
import Synchronization
import Testing
import HJ212
import HJLive
import HJNetwork
import HJRoles
import HJSimulation
@testable import HJ212CLI

/// An emulated logger's next tick is one `LoopTimer`, made with the logger and re-armed at every
/// tick: a timer handle and a closure context made anew on the loop at every tick had scattered
/// over the pages the boot burst freed, ~4.5 KiB resident per idle logger (performance.md, session 11).
@Suite("live logger ticker")
struct LiveTickerTests {
    @Test("a live logger re-arms the one ticker it was made with at every tick; stop disarms it")
    func tickerReused() throws {
        let group = try EventLoopGroup(threads: 1, name: "ticker-test")
        defer { group.shutdown() }
        let loop = group.loops[0]
        let template = try UnitTemplate.load("industrial-wastewater")
        let start = LiveClock.wallNow(offsetMinutes: SimClock.chinaOffsetMinutes)
        let simulator = try UnitSimulator(template: template, identity: LoggerIdentity(mn: "0100BE000000000000000001", pw: "123456"), seed: 1, start: start, options: .liveBench)
        // 600x: a real-time interval of 30 s every 50 ms. Port 1 refuses: the logger keeps ticking offline.
        let speed = 600.0
        var sessionOptions = LoggerSession.Options()
        sessionOptions.timeScale = speed
        let logger = LiveLogger(loop: loop, device: LoggerDevice(simulator: simulator), platforms: [SocketAddress.loopback(port: 1)],
                                clock: LiveClock(start: start, speed: speed), produceUntil: .max, sessionOptions: sessionOptions, trace: nil)
        let made = ObjectIdentifier(logger.ticker)
        logger.start()
        let seen = Mutex<(sameTicker: Bool, armed: Bool, deviceTime: Int64)>((true, false, 0))
        let interval = Int64(template.rtdIntervalSeconds) * 1000
        for _ in 0..<200 {
            usleep(20_000)
            #expect(LiveSetup.onLoops([(loop, { @Sendable in
                seen.withLock { $0 = (ObjectIdentifier(logger.ticker) == made, logger.ticker.isArmed, logger.device.simulator.now) }
            })]))
            let s = seen.withLock { $0 }
            #expect(s.sameTicker)
            if s.deviceTime - start > 4 * interval { break }
        }
        let s = seen.withLock { $0 }
        #expect(s.deviceTime - start > 4 * interval, "the logger did not tick through four intervals")
        #expect(s.armed)
        let disarmed = Mutex(false)
        #expect(LiveSetup.onLoops([(loop, { @Sendable in logger.stop(); disarmed.withLock { $0 = !logger.ticker.isArmed } })]))
        #expect(disarmed.withLock { $0 })
    }
}
