import XCTest
@testable import QuicCore
import QuicCrypto
import QuicTLS
import QuicWire

/// A client that receives Version Negotiation listing another version it accepts starts a new
/// attempt in that version on the same connection (RFC 9000 §6.2, RFC 9368 §2.1, §4).
final class ConnectionVersionRestartTests: XCTestCase {
    func testRestartsInTheVersionTheServerSupports() throws {
        // The server speaks only v1; the client prefers v2 and also accepts v1.
        let net = SimConfigs.network { $0.supportedVersions = [.v1] }
        let client = try net.connect(SimConfigs.client(versions: [.v2, .v1]))
        XCTAssertEqual(client.version, .v2)
        XCTAssertTrue(net.run { client.isHandshakeConfirmed && (net.server.accepted.first?.isHandshakeComplete ?? false) })
        let server = try XCTUnwrap(net.server.accepted.first)
        XCTAssertEqual(client.version, .v1)
        XCTAssertEqual(server.version, .v1)
        XCTAssertEqual(client.versionNegotiationVersions?.contains(.v1), true)
        // RFC 9368 §3: the new attempt's version_information names v1 as chosen.
        XCTAssertNil(net.client.events(client).transportClose)
        XCTAssertTrue(net.client.events(client).connected)
        // Data flows in the new version.
        let id = try client.openStream(bidirectional: true)
        let data = (0..<20_000).map { UInt8(truncatingIfNeeded: $0 &* 3) }
        try client.send(stream: id, bytes: data, fin: true)
        let sink = StreamSink()
        sink.seen.insert(id)
        XCTAssertTrue(net.run { sink.pump(server, events: []); return sink.fin.contains(id) })
        XCTAssertTrue(sink.data[id] == data)
    }

    func testVersionNegotiationWithNoCommonVersionStillEnds() throws {
        let net = SimConfigs.network { $0.supportedVersions = [.v1] }
        let client = try net.connect(SimConfigs.client(versions: [.v2]))
        net.run(for: 2_000_000)
        XCTAssertEqual(net.client.events(client).transportClose?.versionNegotiation, true)
        XCTAssertTrue(net.server.accepted.isEmpty)
    }

    func testForgedVersionNegotiationIsDetectedAsDowngrade() throws {
        // An attacker answers the v2 Initial with a VN listing only v1 although the server
        // supports v2 and says so in its version_information: RFC 9368 §4 makes the client
        // close with VERSION_NEGOTIATION_ERROR.
        var serverConfig = SimConfigs.server()
        serverConfig.transportParameters.versionInformation = VersionInformation(chosenVersion: .v1, availableVersions: [.v2, .v1])
        let net = SimConfigs.network(server: serverConfig) { $0.supportedVersions = [.v1, .v2] }
        let client = try net.connect(SimConfigs.client(versions: [.v2, .v1]))
        let scid = try XCTUnwrap(client.cids.local.first?.id)
        XCTAssertNotNil(client.pollTransmit(now: net.now))  // the v2 Initial, lost
        let vn = try Crafted.versionNegotiation(clientDCID: client.originalDestinationCID, clientSCID: scid, versions: [.v1])
        client.handle(datagram: vn, from: net.server.address, now: net.now)
        XCTAssertEqual(client.version, .v1)
        net.run(for: 5_000_000)
        XCTAssertEqual(net.client.events(client).transportClose?.errorCode, TransportErrorCode.versionNegotiationError.rawValue)
        XCTAssertFalse(net.client.events(client).connected)
    }

    func testSecondVersionNegotiationEndsTheRestartedAttempt() throws {
        let c = try Connection(client: SimConfigs.client(versions: [.v2, .v1]), remote: SocketAddress(ipv4: 10, 0, 0, 2, port: 4433), now: 0)
        _ = c.pollTransmit(now: 0)
        let scid = try XCTUnwrap(c.cids.local.first?.id)
        let first = try Crafted.versionNegotiation(clientDCID: c.originalDestinationCID, clientSCID: scid, versions: [.v1])
        c.handle(datagram: first, from: SocketAddress(ipv4: 10, 0, 0, 2, port: 4433), now: 1)
        XCTAssertFalse(c.isClosed)
        XCTAssertEqual(c.version, .v1)
        XCTAssertNotNil(c.pollTransmit(now: 2))  // the v1 Initial
        let second = try Crafted.versionNegotiation(clientDCID: c.originalDestinationCID, clientSCID: scid, versions: [.v2])
        c.handle(datagram: second, from: SocketAddress(ipv4: 10, 0, 0, 2, port: 4433), now: 3)
        XCTAssertTrue(c.isClosed)
        XCTAssertEqual(c.drainedTransportClose()?.versionNegotiation, true)
    }
}

/// version_information in both roles (RFC 9368 §3).
final class ConnectionVersionInformationTests: XCTestCase {
    func testServerSendsVersionInformation() throws {
        let net = SimConfigs.network { $0.supportedVersions = [.v1, .v2] }
        let client = try net.connect(SimConfigs.client(versions: [.v1]))
        XCTAssertTrue(net.run { client.isHandshakeConfirmed && (net.server.accepted.first?.isHandshakeComplete ?? false) })
        let server = try XCTUnwrap(net.server.accepted.first)
        // The server lists every version it accepts, the version in use as chosen.
        let fromServer = try XCTUnwrap(client.peerTransportParameters?.versionInformation)
        XCTAssertEqual(fromServer.chosenVersion, .v1)
        XCTAssertEqual(Set(fromServer.availableVersions), [.v1, .v2])
        // A client sends it only with the extension enabled (MsQuic's VersionNegotiationExtEnabled).
        XCTAssertNil(server.peerTransportParameters?.versionInformation)
    }

    /// After Version Negotiation the server's version_information (only v1 accepted there)
    /// passes the client's downgrade check (§4), the case where MsQuic's client aborted.
    func testServerListPassesDowngradeCheckAfterVersionNegotiation() throws {
        let net = SimConfigs.network { $0.supportedVersions = [.v1] }
        let client = try net.connect(SimConfigs.client(versions: [.v2, .v1]))
        XCTAssertTrue(net.run { client.isHandshakeConfirmed && (net.server.accepted.first?.isHandshakeComplete ?? false) })
        XCTAssertEqual(client.peerTransportParameters?.versionInformation?.availableVersions, [.v1])
        XCTAssertNil(net.client.events(client).transportClose)
    }
}
