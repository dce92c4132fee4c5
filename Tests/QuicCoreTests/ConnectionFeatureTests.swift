import XCTest
@testable import QuicCore
import QuicCrypto
import QuicTLS
import QuicWire

final class ConnectionFeatureTests: XCTestCase {
    func pair(seed: UInt64 = 1, server: ConnectionConfiguration = SimConfigs.server(),
              client: ConnectionConfiguration = SimConfigs.client(), link: SimLink = SimLink()) throws -> (SimNetwork, Connection, Connection) {
        let net = SimConfigs.network(seed: seed, server: server)
        net.link = link
        let c = try net.connect(client)
        XCTAssertTrue(net.run { c.isHandshakeConfirmed && (net.server.accepted.first?.isHandshakeComplete ?? false) })
        return (net, c, try XCTUnwrap(net.server.accepted.first))
    }

    func testKeyUpdatesDuringTransfer() throws {
        var c = SimConfigs.client()
        c.keyUpdateInterval = 40
        var link = SimLink()
        link.loss = 0.03
        link.jitter = 5_000
        let (net, client, server) = try pair(client: c, link: link)
        let id = try client.openStream(bidirectional: true)
        let data = (0..<400_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try client.send(stream: id, bytes: data, fin: true)
        let sink = StreamSink()
        sink.seen.insert(id)
        XCTAssertTrue(net.run(for: 120_000_000) { sink.pump(server, events: []); return sink.fin.contains(id) })
        XCTAssertTrue(sink.data[id] == data)
        XCTAssertGreaterThan(client.keyUpdateGeneration, 2)
        // The server followed every update (RFC 9001 §6.2).
        XCTAssertEqual(server.keyUpdateGeneration, client.keyUpdateGeneration)
        XCTAssertNil(net.server.events(server).transportClose)
    }

    func testKeyUpdateRefusedBeforePeerAcknowledgesPhase() throws {
        let (net, client, _) = try pair()
        net.run(for: 1_000_000)
        XCTAssertNoThrow(try client.initiateKeyUpdate())
        XCTAssertThrowsError(try client.initiateKeyUpdate())  // RFC 9001 §6.1
        client.ping()
        net.run(for: 1_000_000)
        XCTAssertNoThrow(try client.initiateKeyUpdate())
    }

    func testDatagramsBothWays() throws {
        var s = SimConfigs.server()
        s.datagramReceiveEnabled = true
        var c = SimConfigs.client()
        c.datagramReceiveEnabled = true
        let (net, client, server) = try pair(server: s, client: c)
        XCTAssertTrue(net.client.events(client).contains { if case .datagramStateChanged(true, _) = $0 { return true }; return false })
        let id = try client.sendDatagram(Array("hello".utf8))
        _ = try server.sendDatagram(Array("world".utf8))
        net.run(for: 1_000_000)
        XCTAssertTrue(net.server.events(server).contains(.datagramReceived(Array("hello".utf8))))
        XCTAssertTrue(net.client.events(client).contains(.datagramReceived(Array("world".utf8))))
        XCTAssertTrue(net.client.events(client).contains(.datagramSendStateChanged(id: id, state: .acknowledged)))
    }

    func testDatagramRefusedWhenPeerDoesNotAdvertise() throws {
        let (_, client, _) = try pair()
        XCTAssertThrowsError(try client.sendDatagram([1, 2, 3]))
    }

    func testConnectionIDsIssuedAndRetired() throws {
        let (net, client, server) = try pair()
        net.run(for: 1_000_000)
        // Each side received NEW_CONNECTION_ID frames up to the configured count (RFC 9000 §5.1.1).
        XCTAssertEqual(client.cids.remote.count, 4)
        XCTAssertEqual(server.cids.remote.count, 4)
        XCTAssertEqual(client.localConnectionIDs.count, 4)
        // The server retires sequence 1 of the client's: the client issues a replacement.
        server.cids.pendingRetirements.append(client.cids.local[1].sequence)
        server.cids.remote.removeAll { $0.sequence == client.cids.local[1].sequence }
        server.ping()
        net.run(for: 1_000_000)
        XCTAssertTrue(client.cids.local[1].retired)
        XCTAssertEqual(client.localConnectionIDs.count, 4)
        XCTAssertEqual(server.cids.remote.count, 4)
    }

    func testPeerCertificatePauseAndAccept() throws {
        var c = SimConfigs.client()
        c.tls.indicatePeerCertificate = true
        let net = SimConfigs.network()
        let client = try net.connect(c)
        XCTAssertTrue(net.run(for: 5_000_000) {
            net.client.events(client).contains { if case .peerCertificateReceived = $0 { return true }; return false }
        })
        net.run(for: 2_000_000)
        XCTAssertFalse(client.isHandshakeComplete)  // paused until the application decides
        client.completePeerCertificateValidation(accept: true, now: net.now)
        XCTAssertTrue(net.run { client.isHandshakeConfirmed })
    }

    func testPeerCertificateRejectedClosesWithTLSAlert() throws {
        var c = SimConfigs.client()
        c.tls.indicatePeerCertificate = true
        let net = SimConfigs.network()
        let client = try net.connect(c)
        XCTAssertTrue(net.run(for: 5_000_000) {
            net.client.events(client).contains { if case .peerCertificateReceived = $0 { return true }; return false }
        })
        client.completePeerCertificateValidation(accept: false, now: net.now)
        XCTAssertTrue(net.run(for: 5_000_000) { client.isClosed })
        let reason = try XCTUnwrap(net.client.events(client).transportClose)
        XCTAssertTrue(reason.isTLSAlert)
        XCTAssertEqual(reason.errorCode, 0x100 + UInt64(AlertDescription.badCertificate.rawValue))
    }

    func testALPNMismatchIsTLSAlert() throws {
        var c = SimConfigs.client()
        c.tls.alpnProtocols = [Array("other".utf8)]
        let net = SimConfigs.network()
        let client = try net.connect(c)
        XCTAssertTrue(net.run(for: 5_000_000) { client.isClosed })
        let reason = try XCTUnwrap(net.client.events(client).transportClose)
        XCTAssertTrue(reason.fromPeer)
        XCTAssertEqual(reason.errorCode, 0x100 + UInt64(AlertDescription.noApplicationProtocol.rawValue))
    }

    func testTransportParameterCIDAuthentication() throws {
        // A client that sees original_destination_connection_id differ from its first DCID
        // closes with TRANSPORT_PARAMETER_ERROR (RFC 9000 §7.3).
        let client = try Connection(client: SimConfigs.client(), remote: SocketAddress(), now: 0)
        client.peerInitialSourceCID = ConnectionID([1, 2, 3, 4])
        var p = TransportParameters()
        p.initialSourceConnectionID = ConnectionID([1, 2, 3, 4])
        p.originalDestinationConnectionID = ConnectionID([9, 9, 9, 9, 9, 9, 9, 9])
        XCTAssertThrowsError(try client.applyPeerTransportParameters(p.encoded())) { e in
            XCTAssertEqual((e as? QuicError)?.code, .transportParameterError)
        }
        p.originalDestinationConnectionID = client.originalDestinationCID
        p.initialSourceConnectionID = ConnectionID([5, 5, 5, 5])
        XCTAssertThrowsError(try client.applyPeerTransportParameters(p.encoded()))
        p.initialSourceConnectionID = ConnectionID([1, 2, 3, 4])
        p.retrySourceConnectionID = ConnectionID([7, 7, 7, 7])  // no Retry happened
        XCTAssertThrowsError(try client.applyPeerTransportParameters(p.encoded()))
        p.retrySourceConnectionID = nil
        XCTAssertNoThrow(try client.applyPeerTransportParameters(p.encoded()))
    }

    func testResumptionTicketReachesClient() throws {
        var s = SimConfigs.server()
        s.tls.ticketSealer = try TicketKeyRing(keys: [TicketKey.random()])
        let (net, client, server) = try pair(server: s)
        try server.sendResumptionTicket(appData: [1, 2, 3], now: net.now)
        net.run(for: 1_000_000)
        XCTAssertTrue(net.client.events(client).contains { if case .resumptionTicketReceived = $0 { return true }; return false })
    }

    func testSilentCloseSendsNothingAndPeerTimesOut() throws {
        var s = SimConfigs.server()
        s.transportParameters.maxIdleTimeout = 2_000
        let (net, client, server) = try pair(server: s)
        var fromClient: [[UInt8]] = []
        net.tap = { toServer, bytes in if toServer { fromClient.append(bytes) }; return bytes }
        client.close(errorCode: 1, silent: true, now: net.now)
        XCTAssertTrue(client.isClosed)
        XCTAssertNil(client.pollTransmit(now: net.now))
        XCTAssertTrue(net.run(for: 10_000_000) { server.isClosed })
        // Only the endpoint's stateless resets answer the server's packets (RFC 9000 §10.3),
        // and they end the server's connection.
        XCTAssertTrue(fromClient.allSatisfy { $0[0] & 0xc0 == 0x40 && $0.count <= 43 })
        XCTAssertTrue(net.client.events(client).shutdownComplete)
        let r = net.server.events(server).transportClose
        XCTAssertTrue(r?.statelessReset == true || r?.idleTimeout == true)
    }

    func testStatisticsCount() throws {
        let (net, client, server) = try pair()
        net.run(for: 1_000_000)
        let c = client.statistics, s = server.statistics
        XCTAssertGreaterThan(c.sentPackets, 0)
        XCTAssertGreaterThan(c.receivedPackets, 0)
        XCTAssertEqual(c.smoothedRTT, 20_000)  // two 10 ms hops
        XCTAssertGreaterThan(s.sentBytes, c.sentBytes / 2)
        XCTAssertGreaterThan(c.congestionWindow, 0)
    }
}
