import XCTest
import QuicCrypto
@testable import QuicTLS

/// Session tickets, PSK resumption and 0-RTT (RFC 8446 §2.2, §2.3, §4.6.1; RFC 9001 §4.6).
final class ResumptionTests: XCTestCase {
    let sealer = MemoryTicketStore()

    func serverConfig(earlyData: Bool = true) throws -> TLSConfiguration {
        var s = TestConfigs.server(try HandshakePKI.shared.credential("server-p256"))
        s.ticketSealer = sealer
        s.enableEarlyData = earlyData
        return s
    }

    /// A first connection that ends with a client ticket.
    func firstConnection(server: TLSConfiguration, appData: [UInt8] = Array("state".utf8)) throws -> (HandshakePair, ClientSessionTicket) {
        let pair = HandshakePair(client: TestConfigs.client(), server: server)
        pair.run()
        pair.assertCompleted()
        let bytes = try pair.issueTicket(appData: appData)
        return (pair, try ClientSessionTicket(serialized: bytes))
    }

    func testTicketRoundTripsAndCarriesSessionFacts() throws {
        let (pair, ticket) = try firstConnection(server: try serverConfig())
        XCTAssertEqual(ticket.alpn, Array("h3".utf8))
        XCTAssertEqual(ticket.serverName, "localhost")
        XCTAssertEqual(ticket.cipherSuite, pair.clientSummary?.cipherSuite)
        XCTAssertEqual(ticket.maxEarlyData, 0xffff_ffff)
        XCTAssertEqual(ticket.serverTransportParameters, TestConfigs.serverTP)
        XCTAssertEqual(ticket.issueTime, pair.now)
        XCTAssertEqual(ticket.lifetime, 86_400)
        XCTAssertEqual(try ClientSessionTicket(serialized: ticket.serialize()), ticket)
        // NewSessionTicket travels at the application level (RFC 9001 §4.1.3).
        XCTAssertEqual(pair.serverSentLevels.last, .application)
        // Truncated or altered serializations are refused, never trapped on.
        let bytes = ticket.serialize()
        for cut in [0, 1, 5, bytes.count - 1] {
            XCTAssertThrowsError(try ClientSessionTicket(serialized: Array(bytes[0..<cut])))
        }
        XCTAssertThrowsError(try ClientSessionTicket(serialized: bytes + [0]))
        // Without early data the ticket says so.
        let (_, noEarly) = try firstConnection(server: try serverConfig(earlyData: false))
        XCTAssertEqual(noEarly.maxEarlyData, 0)
    }

    func testResumptionWithoutEarlyData() throws {
        let server = try serverConfig(earlyData: false)
        let (_, ticket) = try firstConnection(server: server)
        var c = TestConfigs.client()
        c.resumptionTicket = ticket
        c.enableEarlyData = true // ticket does not allow it
        let pair = HandshakePair(client: c, server: server)
        pair.now += 5_000_000
        pair.run()
        pair.assertCompleted()
        XCTAssertEqual(pair.clientSummary?.resumed, true)
        XCTAssertEqual(pair.serverSummary?.resumed, true)
        XCTAssertEqual(pair.serverSummary?.resumptionAppData, Array("state".utf8))
        XCTAssertEqual(pair.clientSummary?.earlyDataAccepted, false)
        XCTAssertNil(pair.clientSecrets["earlyData-write"])
        // No certificate in a resumed handshake (RFC 8446 §2.2).
        XCTAssertEqual(pair.clientSummary?.peerCertificateChain, [])
        // Resumption tickets can be chained.
        let again = try ClientSessionTicket(serialized: try pair.issueTicket(appData: []))
        XCTAssertEqual(again.cipherSuite, ticket.cipherSuite)
    }

    func testZeroRTTAccepted() throws {
        let server = try serverConfig()
        let (_, ticket) = try firstConnection(server: server)
        var c = TestConfigs.client()
        c.resumptionTicket = ticket
        c.enableEarlyData = true
        let pair = HandshakePair(client: c, server: server)
        pair.now += 2_000_000
        pair.run()
        pair.assertCompleted()
        XCTAssertEqual(pair.clientSummary?.earlyDataAccepted, true)
        XCTAssertEqual(pair.serverSummary?.earlyDataAccepted, true)
        let early = try XCTUnwrap(pair.clientSecrets["earlyData-write"])
        XCTAssertEqual(early.secret, pair.serverSecrets["earlyData-read"]?.secret)
        XCTAssertEqual(early.cipherSuite, ticket.cipherSuite)
        XCTAssertTrue(pair.client.keyLog.contains { $0.label == "CLIENT_EARLY_TRAFFIC_SECRET" && $0.secret == early.secret })
        XCTAssertEqual(pair.client.keyLog.first { $0.label == "CLIENT_EARLY_TRAFFIC_SECRET" },
                       pair.server.keyLog.first { $0.label == "CLIENT_EARLY_TRAFFIC_SECRET" })
    }

    func testZeroRTTRejected() throws {
        let accepting = try serverConfig()
        let (_, ticket) = try firstConnection(server: accepting)
        var c = TestConfigs.client()
        c.resumptionTicket = ticket
        c.enableEarlyData = true

        // 1. The server has 0-RTT disabled now: resumed, early data rejected.
        var s = accepting
        s.enableEarlyData = false
        var pair = HandshakePair(client: c, server: s)
        pair.run()
        pair.assertCompleted()
        XCTAssertEqual(pair.clientSummary?.resumed, true)
        XCTAssertEqual(pair.clientSummary?.earlyDataAccepted, false)
        XCTAssertNotNil(pair.clientSecrets["earlyData-write"])
        XCTAssertNil(pair.serverSecrets["earlyData-read"])

        // 2. The application refuses it (e.g. transport parameters changed).
        s = accepting
        s.earlyDataAcceptance = { appData, tp in
            XCTAssertEqual(appData, Array("state".utf8))
            XCTAssertEqual(tp, TestConfigs.serverTP)
            return false
        }
        pair = HandshakePair(client: c, server: s)
        pair.run()
        pair.assertCompleted()
        XCTAssertEqual(pair.serverSummary?.earlyDataAccepted, false)
        XCTAssertEqual(pair.serverSummary?.resumed, true)

        // 3. The ticket age is implausible (RFC 8446 §8.3): client clock far ahead.
        var skewed = c
        skewed.resumptionTicket?.issueTime -= 60_000_000
        pair = HandshakePair(client: skewed, server: accepting)
        pair.run()
        pair.assertCompleted()
        XCTAssertEqual(pair.serverSummary?.earlyDataAccepted, false)

        // 4. HelloRetryRequest ends the 0-RTT attempt (RFC 8446 §4.2.10), resumption survives.
        s = accepting
        s.groups = [.secp256r1]
        pair = HandshakePair(client: c, server: s)
        pair.run()
        pair.assertCompleted()
        XCTAssertEqual(pair.clientSummary?.earlyDataAccepted, false)
        XCTAssertEqual(pair.clientSummary?.resumed, true)
        XCTAssertEqual(pair.clientSentLevels, [.initial, .initial, .handshake])

        // 5. A different ALPN: resumption yes, 0-RTT no.
        s = accepting
        s.alpnProtocols = [Array("h3-29".utf8), Array("h3".utf8)]
        var c2 = c
        c2.alpnProtocols = [Array("h3-29".utf8), Array("h3".utf8)]
        pair = HandshakePair(client: c2, server: s)
        pair.run()
        pair.assertCompleted()
        XCTAssertEqual(pair.clientSummary?.earlyDataAccepted, false)
    }

    func testTicketRemembersChosenTransportParameters() throws {
        var server = try serverConfig()
        server.ticketTransportParameters = [9, 9, 9]
        server.earlyDataAcceptance = { _, tp in tp == [9, 9, 9] }
        let (_, ticket) = try firstConnection(server: server)
        var c = TestConfigs.client()
        c.resumptionTicket = ticket
        c.enableEarlyData = true
        let pair = HandshakePair(client: c, server: server)
        pair.run()
        pair.assertCompleted()
        XCTAssertEqual(pair.serverSummary?.earlyDataAccepted, true)
    }

    func testUnknownOrExpiredTicketFallsBackToFullHandshake() throws {
        let server = try serverConfig()
        let (_, ticket) = try firstConnection(server: server)
        // Another server (other ticket keys) does not know the ticket.
        var other = server
        other.ticketSealer = MemoryTicketStore()
        var c = TestConfigs.client()
        c.resumptionTicket = ticket
        c.enableEarlyData = true
        var pair = HandshakePair(client: c, server: other)
        pair.run()
        pair.assertCompleted()
        XCTAssertEqual(pair.clientSummary?.resumed, false)
        XCTAssertEqual(pair.clientSummary?.earlyDataAccepted, false)
        XCTAssertEqual(pair.clientSummary?.peerCertificateChain.isEmpty, false)
        // An expired ticket is not even offered.
        pair = HandshakePair(client: c, server: server)
        pair.now += 86_401 * 1_000_000
        pair.run()
        pair.assertCompleted()
        XCTAssertEqual(pair.clientSummary?.resumed, false)
        XCTAssertNil(pair.clientSecrets["earlyData-write"])
    }

    func testTicketKeyRingSealsRealTickets() throws {
        var s = TestConfigs.server(try HandshakePKI.shared.credential("server-p256"))
        s.ticketSealer = try TicketKeyRing.makeDefault()
        s.enableEarlyData = true
        let (_, ticket) = try firstConnection(server: s)
        var c = TestConfigs.client()
        c.resumptionTicket = ticket
        c.enableEarlyData = true
        let pair = HandshakePair(client: c, server: s)
        pair.run()
        pair.assertCompleted()
        XCTAssertEqual(pair.serverSummary?.earlyDataAccepted, true)
    }

    func testBadBinderIsDecryptError() throws {
        let server = try serverConfig()
        let (_, ticket) = try firstConnection(server: server)
        var c = TestConfigs.client()
        c.resumptionTicket = ticket
        c.resumptionTicket?.resumptionSecret[0] ^= 1 // wrong PSK -> wrong binder
        let pair = HandshakePair(client: c, server: server)
        pair.run()
        XCTAssertEqual(pair.serverError?.description, .decryptError)
    }

    func testTicketAppDataLimitAndPreconditions() throws {
        let server = try serverConfig()
        let (pair, _) = try firstConnection(server: server)
        XCTAssertThrowsError(try pair.server.sendSessionTicket(appData: [UInt8](repeating: 1, count: 1001), now: pair.now))
        // The refusal does not break the connection: a valid ticket still goes out.
        XCTAssertNoThrow(try pair.issueTicket(appData: [UInt8](repeating: 1, count: 1000)))
        XCTAssertThrowsError(try pair.client.start(now: 0))
        XCTAssertThrowsError(try pair.client.completePeerCertificateValidation(accept: true, now: 0))
        XCTAssertEqual(pair.clientTickets.count, 2)
        let fresh = TLSHandshake(configuration: server)
        XCTAssertThrowsError(try fresh.sendSessionTicket(now: 0))
    }
}
