import XCTest
import QuicCrypto
@testable import QuicTLS

/// The server application's say over resumption (`TLSConfiguration.resumptionAcceptance`,
/// MsQuic's QUIC_CONNECTION_EVENT_RESUMED): a declined ticket means a full handshake
/// (RFC 8446 §4.2.11: the server may select none of the offered PSKs).
final class ResumptionAcceptanceTests: XCTestCase {
    let sealer = MemoryTicketStore()

    private func server() throws -> TLSConfiguration {
        var s = TestConfigs.server(try HandshakePKI.shared.credential("server-p256"))
        s.ticketSealer = sealer
        s.enableEarlyData = true
        return s
    }

    /// A client configuration holding a ticket that carries `appData`.
    private func resumingClient(_ server: TLSConfiguration, appData: [UInt8]) throws -> TLSConfiguration {
        let first = HandshakePair(client: TestConfigs.client(), server: server)
        first.run()
        first.assertCompleted()
        var c = TestConfigs.client()
        c.resumptionTicket = try ClientSessionTicket(serialized: try first.issueTicket(appData: appData))
        c.enableEarlyData = true
        return c
    }

    func testAcceptedResumptionSeesTheTicketAppData() throws {
        let appData: [UInt8] = [0, 1, 2, 0xfe, 0xff] + Array("resume-me".utf8)
        var s = try server()
        let client = try resumingClient(s, appData: appData)
        final class Seen: @unchecked Sendable { var calls: [[UInt8]] = [] }
        let seen = Seen()
        s.resumptionAcceptance = { data in seen.calls.append(data); return .accept }
        let pair = HandshakePair(client: client, server: s)
        pair.now += 1_000_000
        pair.run()
        pair.assertCompleted()
        XCTAssertEqual(seen.calls, [appData], "asked exactly once, with the ticket's app data")
        XCTAssertEqual(pair.clientSummary?.resumed, true)
        XCTAssertEqual(pair.serverSummary?.resumed, true)
        XCTAssertEqual(pair.serverSummary?.resumptionAppData, appData)
        XCTAssertEqual(pair.serverSummary?.earlyDataAccepted, true)
    }

    func testRejectedResumptionFallsBackToAFullHandshake() throws {
        var s = try server()
        let client = try resumingClient(s, appData: Array("state".utf8))
        final class Seen: @unchecked Sendable { var calls = 0 }
        let seen = Seen()
        s.resumptionAcceptance = { data in
            XCTAssertEqual(data, Array("state".utf8))
            seen.calls += 1
            return .reject
        }
        let pair = HandshakePair(client: client, server: s)
        pair.now += 1_000_000
        pair.run()
        pair.assertCompleted()
        XCTAssertEqual(seen.calls, 1)
        XCTAssertEqual(pair.clientSummary?.resumed, false)
        XCTAssertEqual(pair.serverSummary?.resumed, false)
        XCTAssertNil(pair.serverSummary?.resumptionAppData)
        // Full handshake: the server authenticated with its certificate, and no 0-RTT.
        XCTAssertFalse(pair.clientSummary?.peerCertificateChain.isEmpty ?? true)
        XCTAssertEqual(pair.clientSummary?.earlyDataAccepted, false)
        XCTAssertEqual(pair.serverSummary?.earlyDataAccepted, false)
        XCTAssertNil(pair.serverSecrets["earlyData-read"])
    }

    func testNotAskedWithoutAValidTicket() throws {
        var s = try server()
        final class Seen: @unchecked Sendable { var calls = 0 }
        let seen = Seen()
        s.resumptionAcceptance = { _ in seen.calls += 1; return .accept }
        // A ticket sealed by another server's keys does not open here.
        let other = try server()
        var otherServer = other
        otherServer.ticketSealer = MemoryTicketStore()
        let client = try resumingClient(otherServer, appData: [1])
        let pair = HandshakePair(client: client, server: s)
        pair.run()
        pair.assertCompleted()
        XCTAssertEqual(seen.calls, 0)
        XCTAssertEqual(pair.serverSummary?.resumed, false)
        // Nor in a handshake without any ticket.
        let plain = HandshakePair(client: TestConfigs.client(), server: s)
        plain.run()
        plain.assertCompleted()
        XCTAssertEqual(seen.calls, 0)
    }
}
