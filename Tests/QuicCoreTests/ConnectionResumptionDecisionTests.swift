import XCTest
@testable import QuicCore
import QuicCrypto
import QuicTLS
import QuicWire

/// The server application's decision on a resumption ticket (`tls.resumptionAcceptance`, the
/// engine side of MsQuic's RESUMED) on the simulated network: accepted → resumed with 0-RTT;
/// declined → a full handshake where the 0-RTT data is rejected and sent again in 1-RTT
/// (RFC 9001 §4.6.2).
final class ConnectionResumptionDecisionTests: XCTestCase {
    final class Decision: @unchecked Sendable {
        var accept = true
        /// Answer `.pending` instead, and decide `accept` later.
        var late = false
        var seen: [[UInt8]] = []
    }

    private func resumedConnection(accept: Bool, late: Bool = false) throws -> (client: Connection, server: Connection, net: SimNetwork, decision: Decision) {
        let decision = Decision()
        var s = SimConfigs.server()
        s.tls.ticketSealer = try TicketKeyRing(keys: [TicketKey.random()])
        s.tls.enableEarlyData = true
        s.tls.resumptionAcceptance = { appData in decision.seen.append(appData); 
            return decision.late ? .pending : decision.accept ? .accept : .reject
        }
        let net = SimConfigs.network(server: s)
        var c = SimConfigs.client()
        c.tls.enableEarlyData = true
        let first = try net.connect(c)
        XCTAssertTrue(net.run { first.isHandshakeConfirmed })
        XCTAssertEqual(decision.seen, [], "no ticket, no question")
        try XCTUnwrap(net.server.accepted.first).sendResumptionTicket(appData: [7, 0, 9], now: net.now)
        var raw: [UInt8]?
        XCTAssertTrue(net.run(for: 2_000_000) {
            for e in net.client.events(first) { if case .resumptionTicketReceived(let t) = e { raw = t } }
            return raw != nil
        })

        decision.accept = accept
        decision.late = late
        c.tls.resumptionTicket = try ClientSessionTicket(serialized: try XCTUnwrap(raw))
        let client = try net.connect(c)
        let id = try client.openStream(bidirectional: true)
        let data = Array("sent before the handshake".utf8)
        try client.send(stream: id, bytes: data, fin: true)
        let sink = StreamSink()
        sink.seen.insert(id)
        var server: Connection?
        if late {
            // The server waits: it has the ClientHello but sends no ServerHello (MsQuic's
            // RESUMED answered with PENDING), however long the application takes.
            XCTAssertTrue(net.run(for: 2_000_000) { net.server.accepted.count > 1 })
            let paused = try XCTUnwrap(net.server.accepted.last)
            let before = net.datagramsSent
            _ = net.run(for: 500_000) { false }
            // RFC 9000 §13.2.1: no ACK-only packet answers a non-ack-eliciting one, so the wait
            // is quiet: the client's PTO probes and the server's ACKs of them, nothing more
            // (an ACK ping-pong would take about 50 datagrams on this 20 ms path).
            XCTAssertLessThanOrEqual(net.datagramsSent - before, 16, "datagrams while the server waits")
            XCTAssertTrue(paused.isAwaitingResumptionDecision)
            XCTAssertFalse(client.isHandshakeComplete)
            XCTAssertFalse(paused.isHandshakeComplete)
            paused.completeResumptionTicketValidation(accept: decision.accept, now: net.now)
            XCTAssertFalse(paused.isAwaitingResumptionDecision)
        }
        XCTAssertTrue(net.run(for: 5_000_000) {
            server = net.server.accepted.count > 1 ? net.server.accepted.last : nil
            if let s = server { sink.pump(s, events: []) }
            return sink.fin.contains(id) && client.isHandshakeConfirmed
        })
        XCTAssertEqual(sink.data[id], data, "the stream data arrives either way")
        XCTAssertEqual(decision.seen, [[7, 0, 9]], "asked once, with the ticket's app data")
        return (client, try XCTUnwrap(server), net, decision)
    }

    func testAcceptedTicketResumes() throws {
        let (client, server, net, _) = try resumedConnection(accept: true)
        XCTAssertTrue(client.handshake.isResumed)
        XCTAssertTrue(server.handshake.isResumed)
        XCTAssertTrue(client.handshake.isEarlyDataAccepted)
        XCTAssertTrue(net.server.events(server).contains { if case .connected(_, true) = $0 { return true }; return false })
    }

    func testDeclinedTicketGivesAFullHandshake() throws {
        let (client, server, net, _) = try resumedConnection(accept: false)
        XCTAssertFalse(client.handshake.isResumed)
        XCTAssertFalse(server.handshake.isResumed)
        XCTAssertFalse(client.handshake.isEarlyDataAccepted)
        XCTAssertFalse(client.handshake.peerCertificateChain.isEmpty, "the server authenticated with its certificate")
        XCTAssertTrue(net.server.events(server).contains { if case .connected(_, false) = $0 { return true }; return false })
        XCTAssertTrue(net.client.events(client).contains { if case .connected(_, false) = $0 { return true }; return false })
    }

    func testTicketAcceptedLaterResumes() throws {
        let (client, server, net, _) = try resumedConnection(accept: true, late: true)
        XCTAssertTrue(client.handshake.isResumed)
        XCTAssertTrue(server.handshake.isResumed)
        XCTAssertTrue(client.handshake.isEarlyDataAccepted)
        XCTAssertTrue(net.server.events(server).contains { if case .connected(_, true) = $0 { return true }; return false })
    }

    func testTicketDeclinedLaterGivesAFullHandshake() throws {
        let (client, server, net, _) = try resumedConnection(accept: false, late: true)
        XCTAssertFalse(client.handshake.isResumed)
        XCTAssertFalse(server.handshake.isResumed)
        XCTAssertFalse(client.handshake.isEarlyDataAccepted)
        XCTAssertFalse(client.handshake.peerCertificateChain.isEmpty)
        XCTAssertTrue(net.client.events(client).contains { if case .connected(_, false) = $0 { return true }; return false })
    }
}
