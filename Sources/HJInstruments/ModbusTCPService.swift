import HJNetwork
import Synchronization

/// Counters of a Modbus TCP service (any thread).
public final class TCPServiceCounters: Sendable {
    public let open = Atomic<Int>(0)
    /// Connections closed at once because `maxConnections` were open.
    public let refused = Atomic<Int>(0)
    /// Connections closed for a broken MBAP header or unread replies.
    public let closedForAbuse = Atomic<Int>(0)
    public let requests = Atomic<Int>(0)
    /// Requests to a unit identifier with no instrument, answered 0x0B by the gateway (not by the bank).
    public let gatewayExceptions = Atomic<Int>(0)
    public init() {}
}

/// Modbus TCP in front of the instruments of a bank: one unit identifier per instrument (the
/// server acts as a gateway: an unknown unit gets exception 0x0B).
///
/// Budgets (docs/instruments.md): at most `maxConnections` connections (more are closed at
/// once); per connection at most one incomplete frame buffered (≤ 259 bytes) and at most
/// `maxPendingOutput` bytes of replies the master has not read (then it is disconnected); a
/// header that loses the framing (protocol identifier ≠ 0, length outside 2…254) closes it.
public final class ModbusTCPService: Sendable {
    public static let maxConnections = 32
    public static let maxPendingOutput = 65_536
    public let server: TCPServer
    public let bank: InstrumentBank
    public let counters: TCPServiceCounters

    public init(address: SocketAddress, group: EventLoopGroup, bank: InstrumentBank, trace: InstrumentTrace?,
                maxConnections: Int = ModbusTCPService.maxConnections, maxPendingOutput: Int = ModbusTCPService.maxPendingOutput) throws(NetworkError) {
        self.bank = bank
        let counters = TCPServiceCounters()
        self.counters = counters
        server = try TCPServer.start(on: address, group: group) { connection in
            let handler = ModbusTCPHandler(bank: bank, trace: trace, counters: counters, maxPendingOutput: maxPendingOutput)
            if counters.open.add(1, ordering: .relaxed).newValue > maxConnections {
                counters.refused.add(1, ordering: .relaxed)
                connection.loop.executeOnLoop { connection.close() }
            }
            return handler
        }
    }
}

/// One Modbus TCP connection. Not `Sendable`: it lives on its connection's loop thread.
final class ModbusTCPHandler: TCPConnectionHandler {
    let bank: InstrumentBank
    let trace: InstrumentTrace?
    let counters: TCPServiceCounters
    let maxPendingOutput: Int
    var decoder = MBAPDecoder()

    init(bank: InstrumentBank, trace: InstrumentTrace?, counters: TCPServiceCounters, maxPendingOutput: Int) {
        (self.bank, self.trace, self.counters, self.maxPendingOutput) = (bank, trace, counters, maxPendingOutput)
    }

    func connection(_ connection: TCPConnection, didRead bytes: [UInt8]) {
        let peer = connection.remoteAddress.description
        // Frames are taken out as they complete, so the decoder holds at most one partial frame
        // plus this read.
        var offset = 0
        while offset < bytes.count {
            let chunk = bytes[offset..<min(bytes.count, offset + 1024)]
            offset += chunk.count
            decoder.feed(chunk)
            while let result = decoder.next() {
                switch result {
                case .failure:
                    if let trace { trace.record(Array(chunk), incoming: true, line: "modbus-tcp", peer: peer, at: bank.clock()) }
                    counters.closedForAbuse.add(1, ordering: .relaxed)
                    connection.close()
                    return
                case .success(let frame):
                    counters.requests.add(1, ordering: .relaxed)
                    trace?.record(frame.bytes, incoming: true, line: "modbus-tcp", peer: peer, at: bank.clock())
                    let answered = bank.modbus(unit: frame.unitID, pdu: frame.pdu, line: "modbus-tcp", peer: peer)
                    if answered == nil { counters.gatewayExceptions.add(1, ordering: .relaxed) }
                    let pdu = answered ?? ModbusPDU.exception(function: frame.pdu.first ?? 0, .gatewayTargetFailedToRespond)
                    let reply = MBAPFrame(transactionID: frame.transactionID, unitID: frame.unitID, pdu: pdu).bytes
                    trace?.record(reply, incoming: false, line: "modbus-tcp", peer: peer, at: bank.clock())
                    _ = connection.write(reply)
                    if connection.pendingOutputBytes > maxPendingOutput {
                        counters.closedForAbuse.add(1, ordering: .relaxed)
                        connection.close()
                        return
                    }
                }
            }
        }
    }

    func connection(_ connection: TCPConnection, didCloseWith reason: CloseReason) {
        counters.open.subtract(1, ordering: .relaxed)
    }
}
