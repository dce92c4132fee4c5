import XCTest
@testable import QuicCore
import QuicCrypto
import QuicTLS
import QuicWire

final class ConnectionZeroRTTTests: XCTestCase {
    /// A first connection that obtains a ticket; returns the network and the ticket.
    func ticket(accept: Bool) throws -> (SimNetwork, ClientSessionTicket) {
        var s = SimConfigs.server()
        s.tls.ticketSealer = try TicketKeyRing(keys: [TicketKey.random()])
        s.tls.enableEarlyData = true
        if !accept { s.tls.earlyDataAcceptance = { _, _ in false } }
        let net = SimConfigs.network(server: s)
        var c = SimConfigs.client()
        c.tls.enableEarlyData = true
        let first = try net.connect(c)
        XCTAssertTrue(net.run { first.isHandshakeConfirmed })
        let server = try XCTUnwrap(net.server.accepted.first)
        try server.sendResumptionTicket(appData: [], now: net.now)
        var raw: [UInt8]?
        XCTAssertTrue(net.run(for: 2_000_000) {
            for e in net.client.events(first) { if case .resumptionTicketReceived(let t) = e { raw = t } }
            return raw != nil
        })
        let t = try ClientSessionTicket(serialized: try XCTUnwrap(raw))
        XCTAssertGreaterThan(t.maxEarlyData, 0)
        return (net, t)
    }

    func sendEarly(_ net: SimNetwork, ticket: ClientSessionTicket) throws -> (Connection, StreamID, [UInt8], Int) {
        var c = SimConfigs.client()
        c.tls.enableEarlyData = true
        c.tls.resumptionTicket = ticket
        var zeroRTTPackets = 0
        net.tap = { toServer, bytes in
            if toServer {
                var offset = 0
                while offset < bytes.count,
                      let h = try? bytes.withUnsafeBytes({ try PacketHeader.parse($0, at: offset, shortHeaderDCIDLength: 8) }) {
                    if h.kind == .zeroRTT { zeroRTTPackets += 1 }
                    offset = h.end
                }
            }
            return bytes
        }
        let client = try net.connect(c)
        let id = try client.openStream(bidirectional: true)  // allowed by the remembered limits
        let data = (0..<3000).map { UInt8(truncatingIfNeeded: $0) }
        try client.send(stream: id, bytes: data, fin: true)
        _ = net.run(for: 0)  // first flight only
        return (client, id, data, zeroRTTPackets)
    }

    func testZeroRTTAccepted() throws {
        let (net, t) = try ticket(accept: true)
        let (client, id, data, zeroRTT) = try sendEarly(net, ticket: t)
        XCTAssertGreaterThan(zeroRTT, 0)
        let sink = StreamSink()
        sink.seen.insert(id)
        var server: Connection?
        XCTAssertTrue(net.run(for: 5_000_000) {
            server = net.server.accepted.last
            if let s = server { sink.pump(s, events: []) }
            return sink.fin.contains(id) && client.isHandshakeConfirmed
        })
        XCTAssertTrue(sink.data[id] == data)
        let events = net.server.events(try XCTUnwrap(server))
        // The stream arrived before the handshake completed: it came in 0-RTT.
        let started = events.firstIndex(of: .peerStreamStarted(id))
        let connected = events.firstIndex { if case .connected = $0 { return true }; return false }
        XCTAssertNotNil(started)
        XCTAssertLessThan(try XCTUnwrap(started), try XCTUnwrap(connected))
        XCTAssertTrue(client.handshake.isEarlyDataAccepted)
    }

    func testZeroRTTRejectedDataStillArrives() throws {
        let (net, t) = try ticket(accept: false)
        let (client, id, data, zeroRTT) = try sendEarly(net, ticket: t)
        XCTAssertGreaterThan(zeroRTT, 0)
        let sink = StreamSink()
        sink.seen.insert(id)
        XCTAssertTrue(net.run(for: 10_000_000) {
            if let s = net.server.accepted.last { sink.pump(s, events: []) }
            return sink.fin.contains(id)
        })
        XCTAssertTrue(sink.data[id] == data)
        XCTAssertFalse(client.handshake.isEarlyDataAccepted)
        XCTAssertTrue(client.handshake.isResumed)
    }

    // RFC 9000 §7.4.1: the server, restarted with other limits, judges 0-RTT against the
    // limits the ticket remembers. Runs the resumed connection; returns whether 0-RTT was
    // accepted after checking the early stream's data arrived either way.
    func resume(changing change: (inout ConnectionConfiguration) -> Void) throws -> Bool {
        let (net, t) = try ticket(accept: true)
        if var s = net.server.endpoint.configuration.server {
            change(&s)
            net.server.endpoint.configuration.server = s
        }
        let (client, id, data, zeroRTT) = try sendEarly(net, ticket: t)
        XCTAssertGreaterThan(zeroRTT, 0)
        let sink = StreamSink()
        sink.seen.insert(id)
        XCTAssertTrue(net.run(for: 10_000_000) {
            if let s = net.server.accepted.last { sink.pump(s, events: []) }
            return sink.fin.contains(id) && client.isHandshakeConfirmed
        })
        XCTAssertTrue(sink.data[id] == data)
        XCTAssertTrue(client.handshake.isResumed)
        return client.handshake.isEarlyDataAccepted
    }

    func testZeroRTTRejectedWhenInitialMaxDataShrank() throws {
        XCTAssertFalse(try resume { $0.transportParameters.initialMaxData = 64 * 1024 })
    }

    func testZeroRTTRejectedWhenStreamLimitShrank() throws {
        XCTAssertFalse(try resume { $0.transportParameters.initialMaxStreamsBidi = 10 })
    }

    func testZeroRTTRejectedWhenStreamDataLimitShrank() throws {
        XCTAssertFalse(try resume { $0.transportParameters.initialMaxStreamDataBidiRemote = 8 * 1024 })
    }

    func testZeroRTTAcceptedWithSameLimits() throws {
        XCTAssertTrue(try resume { _ in })
    }

    func testZeroRTTAcceptedWithLargerLimits() throws {
        XCTAssertTrue(try resume {
            $0.transportParameters.initialMaxData *= 2
            $0.transportParameters.initialMaxStreamsBidi += 50
            $0.transportParameters.activeConnectionIDLimit += 2
        })
    }

    func testZeroRTTAcceptedWhenOnlyIdleTimeoutChanged() throws {
        // max_idle_timeout is not among the limits RFC 9000 §7.4.1 requires to hold.
        XCTAssertTrue(try resume { $0.transportParameters.maxIdleTimeout = 10_000 })
    }

    func testEarlyDataLimitCheck() throws {
        var old = ConnectionConfiguration.defaultTransportParameters
        old.maxDatagramFrameSize = 1200
        old.statelessResetToken = StatelessResetToken()
        let bytes = try old.encoded()
        XCTAssertTrue(Connection.earlyDataLimitsHold(remembered: bytes, current: old))
        // RFC 9221 §3: datagram support shrinking or disappearing refuses 0-RTT.
        var c = old
        c.maxDatagramFrameSize = nil
        XCTAssertFalse(Connection.earlyDataLimitsHold(remembered: bytes, current: c))
        c.maxDatagramFrameSize = 1000
        XCTAssertFalse(Connection.earlyDataLimitsHold(remembered: bytes, current: c))
        c.maxDatagramFrameSize = 1500
        XCTAssertTrue(Connection.earlyDataLimitsHold(remembered: bytes, current: c))
        c = old
        c.activeConnectionIDLimit = 2
        XCTAssertFalse(Connection.earlyDataLimitsHold(remembered: bytes, current: c))
        c = old
        c.initialMaxStreamsUni -= 1
        XCTAssertFalse(Connection.earlyDataLimitsHold(remembered: bytes, current: c))
        c = old
        c.initialMaxStreamDataUni -= 1
        XCTAssertFalse(Connection.earlyDataLimitsHold(remembered: bytes, current: c))
        c = old
        c.initialMaxStreamDataBidiLocal -= 1
        XCTAssertFalse(Connection.earlyDataLimitsHold(remembered: bytes, current: c))
        // Nothing remembered, or garbage: nothing proves the limits.
        XCTAssertFalse(Connection.earlyDataLimitsHold(remembered: [], current: old))
        XCTAssertFalse(Connection.earlyDataLimitsHold(remembered: [0x04, 0x09], current: old))
    }

    func testApplicationAcceptanceStillConsulted() throws {
        let f = Connection.earlyDataAcceptance(current: ConnectionConfiguration.defaultTransportParameters,
                                               application: { _, _ in false })
        let bytes = try ConnectionConfiguration.defaultTransportParameters.encoded()
        XCTAssertFalse(f([], bytes))
        let g = Connection.earlyDataAcceptance(current: ConnectionConfiguration.defaultTransportParameters, application: nil)
        XCTAssertTrue(g([], bytes))
    }
}
