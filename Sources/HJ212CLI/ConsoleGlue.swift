import Foundation
import Synchronization
import HJ212
import HJAnalysis
import HJNetwork
import HJRoles
import HJStore
import HJWeb
import HJLive

/// The web console of `serve --http` (and `demo --http`): rules over the platform's uplink,
/// HTTP on the platform's event loops, bound to the given address only.
final class Console: Sendable {
    let state: ConsoleState
    let server: HTTPServer
    let ticker: TickerBox

    final class TickerBox: Sendable {
        let stopped = Atomic<Bool>(false)
    }

    /// Starts the console and attaches it to the platform: the one call `serve` makes.
    static func attach(to platform: LivePlatform, http: String, registry: Registry?, registryPath: String?, store: ProfileStore = .builtin) throws(UsageError) -> Console {
        let address: SocketAddress
        do { address = try SocketAddress(parsing: http) } catch { throw UsageError("--http: \(error.message)") }
        let catalogue: AnomalyCatalogue
        var profiles: [String: UnitProfile] = [:]
        do {
            catalogue = try AnomalyCatalogue.load(store: store)
            if let path = registryPath, let data = FileManager.default.contents(atPath: path),
               let fleet = try? UnitProfile.fleet(csv: String(decoding: data, as: UTF8.self), file: path, store: store) {
                profiles = fleet
            } else {
                profiles = try AnalysisGlue.profiles(fleet: nil, store: store)
            }
        } catch { throw UsageError("console: \(error)", exitCode: 2) }
        var names: [String: String] = [:]
        for e in (registry?.entries ?? [:]).values { names[e.mn] = e.enterprise ?? e.name ?? "" }
        let state = ConsoleState(catalogue: catalogue, profiles: profiles, names: names)
        let server: HTTPServer
        do {
            server = try HTTPServer.start(on: address, group: platform.group) { request in state.route(request) }
        } catch { throw UsageError("cannot listen on \(address) for HTTP: \(error)", exitCode: 2) }
        // The console sees what the platform accepted (its `packetAccepted` events) on which
        // connection, and each connection's close: a unit is online only while one serving it is open.
        platform.listeners.withLock {
            $0.append { event in
                switch event {
                case .packet(let packet, let connection): state.ingest(segment: packet.segment, at: packet.time, connection: connection)
                case .closed(let connection): state.forget(connection: connection)
                }
            }
        }
        let console = Console(state: state, server: server, ticker: TickerBox())
        console.scheduleTick(loop: platform.group.next(), clock: platform.clock)
        return console
    }

    init(state: ConsoleState, server: HTTPServer, ticker: TickerBox) {
        self.state = state
        self.server = server
        self.ticker = ticker
    }

    /// Offline detection every real second. It judges 5 real seconds behind the clock, so that
    /// scheduling jitter in an accelerated run (a minute is 0.1 s at 600x) is not an outage.
    func scheduleTick(loop: EventLoop, clock: LiveClock) {
        _ = loop.schedule(after: .seconds(1)) { [self] in
            guard !ticker.stopped.load(ordering: .relaxed) else { return }
            state.tick(now: clock.now - Int64(5000 * clock.speed))
            scheduleTick(loop: loop, clock: clock)
        }
    }

    func stop() {
        ticker.stopped.store(true, ordering: .relaxed)
        server.stop()
    }
}

extension Console {
    /// Packets of the platform's earlier runs a console is given at its start (`serve --store
    /// --http`): the newest ones, at most this many, so that a restarted platform's console shows
    /// the units and series it stored before (bounded: the console's own budget applies).
    static let historyPackets = 50_000

    /// Feeds the console the newest stored packets, oldest first; returns how many it took. They
    /// came on no open connection: they say when a unit was last seen, never that it is online.
    @discardableResult
    func seed(from store: Store, limit: Int = Console.historyPackets) throws(StoreError) -> Int {
        var n = 0
        try store.lastPackets(limit) { bytes, receivedAt in
            guard let at = ServeStoreSummary.time(receivedAt) else { return }
            var decoder = FrameDecoder()
            decoder.feed(bytes)
            while let event = decoder.next() {
                guard case .frame(let frame) = event else { continue }
                state.ingest(segment: SegmentParser.parse(frame.segmentBytes).segment, at: at)
                n += 1
            }
        }
        return n
    }
}
