import XCTest
@testable import QuicCore
import QuicCrypto
import QuicTLS
import QuicWire

/// Compatible version negotiation (RFC 9368 §2.3) between v1 and v2 (RFC 9369 §4), and the
/// version_information checks against downgrade (RFC 9368 §4), on the simulated network.
final class ConnectionCompatibleVersionTests: XCTestCase {
    /// A server that accepts `serverVersions` in that preference order, extension on.
    func network(serverVersions: [QuicVersion], extensionEnabled: Bool = true, seed: UInt64 = 1,
                 adjust: (inout ConnectionConfiguration) -> Void = { _ in }) -> SimNetwork {
        var server = SimConfigs.server()
        server.sendsVersionInformation = extensionEnabled
        adjust(&server)
        return SimConfigs.network(seed: seed, server: server) { $0.supportedVersions = serverVersions }
    }

    func client(_ versions: [QuicVersion], extensionEnabled: Bool = true) -> ConnectionConfiguration {
        var c = SimConfigs.client(versions: versions)
        c.sendsVersionInformation = extensionEnabled
        return c
    }

    /// The version field of every long header datagram seen, per direction.
    final class VersionTap {
        var toServer: [QuicVersion] = []
        var toClient: [QuicVersion] = []
        func install(on net: SimNetwork) {
            net.tap = { [self] toServer, bytes in
                if bytes.count > 5, bytes[0] & 0x80 != 0 {
                    let v = QuicVersion(UInt32(bytes[1]) << 24 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 8 | UInt32(bytes[4]))
                    if toServer { self.toServer.append(v) } else { self.toClient.append(v) }
                }
                return bytes
            }
        }
    }

    func establish(_ net: SimNetwork, _ client: Connection, file: StaticString = #filePath, line: UInt = #line) throws -> Connection {
        XCTAssertTrue(net.run { client.isHandshakeConfirmed && (net.server.accepted.first?.isHandshakeConfirmed ?? false) },
                      file: file, line: line)
        return try XCTUnwrap(net.server.accepted.first, file: file, line: line)
    }

    func assertTransfer(_ net: SimNetwork, from client: Connection, to server: Connection) throws {
        let id = try client.openStream(bidirectional: true)
        let data = (0..<30_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try client.send(stream: id, bytes: data, fin: true)
        let sink = StreamSink()
        sink.seen.insert(id)
        XCTAssertTrue(net.run { sink.pump(server, events: []); return sink.fin.contains(id) })
        XCTAssertTrue(sink.data[id] == data)
    }

    func testServerUpgradesV1ClientToV2() throws {
        let net = network(serverVersions: [.v2, .v1])
        let tap = VersionTap()
        tap.install(on: net)
        let client = try net.connect(client([.v1, .v2]))
        let server = try establish(net, client)
        XCTAssertEqual(client.version, .v2)
        XCTAssertEqual(server.version, .v2)
        XCTAssertEqual(client.compatibleVN.originalVersion, .v1)
        XCTAssertEqual(server.compatibleVN.originalVersion, .v1)
        XCTAssertNil(client.versionNegotiationVersions)            // no Version Negotiation round trip
        // The client's first flight is v1; every long header packet of the server is v2 and
        // the client's later ones too (RFC 9369 §4).
        XCTAssertEqual(tap.toServer.first, .v1)
        XCTAssertFalse(tap.toClient.isEmpty)
        XCTAssertTrue(tap.toClient.allSatisfy { $0 == .v2 }, "\(tap.toClient)")
        XCTAssertEqual(tap.toServer.last, .v2)
        // RFC 9368 §3: the server's Chosen Version is v2, the client's v1 (its first flight).
        XCTAssertEqual(client.peerTransportParameters?.versionInformation?.chosenVersion, .v2)
        XCTAssertEqual(server.peerTransportParameters?.versionInformation?.chosenVersion, .v1)
        XCTAssertEqual(server.peerTransportParameters?.versionInformation?.availableVersions, [.v1, .v2])
        XCTAssertNil(net.client.events(client).transportClose)
        try assertTransfer(net, from: client, to: server)
    }

    func testServerPreferringV1DowngradesV2ClientToV1() throws {
        let net = network(serverVersions: [.v1, .v2])
        let tap = VersionTap()
        tap.install(on: net)
        let client = try net.connect(client([.v2, .v1]))
        let server = try establish(net, client)
        XCTAssertEqual(client.version, .v1)
        XCTAssertEqual(server.version, .v1)
        XCTAssertEqual(client.compatibleVN.originalVersion, .v2)
        XCTAssertEqual(tap.toServer.first, .v2)
        XCTAssertTrue(tap.toClient.allSatisfy { $0 == .v1 })
        try assertTransfer(net, from: client, to: server)
    }

    func testNoUpgradeWhenTheClientDoesNotListV2() throws {
        let net = network(serverVersions: [.v2, .v1])
        let client = try net.connect(client([.v1]))
        let server = try establish(net, client)
        XCTAssertEqual(client.version, .v1)
        XCTAssertEqual(server.version, .v1)
        XCTAssertNil(server.compatibleVN.originalVersion)
        XCTAssertEqual(server.peerTransportParameters?.versionInformation?.availableVersions, [.v1])
    }

    func testNoUpgradeWithoutClientVersionInformation() throws {
        let net = network(serverVersions: [.v2, .v1])
        let client = try net.connect(client([.v1, .v2], extensionEnabled: false))
        let server = try establish(net, client)
        XCTAssertEqual(client.version, .v1)
        XCTAssertEqual(server.version, .v1)
        XCTAssertNil(server.peerTransportParameters?.versionInformation)
    }

    func testNoUpgradeWhenTheServerExtensionIsOff() throws {
        // MsQuic upgrades only with VersionNegotiationExtEnabled.
        let net = network(serverVersions: [.v2, .v1], extensionEnabled: false)
        let client = try net.connect(client([.v1, .v2]))
        let server = try establish(net, client)
        XCTAssertEqual(client.version, .v1)
        XCTAssertEqual(server.version, .v1)
    }

    func testNoUpgradeWhenTheServerPrefersTheOriginalVersion() throws {
        let net = network(serverVersions: [.v1, .v2])
        let client = try net.connect(client([.v1, .v2]))
        let server = try establish(net, client)
        XCTAssertEqual(client.version, .v1)
        XCTAssertEqual(server.version, .v1)
    }

    func testUpgradeSurvivesLossOfTheFirstServerFlight() throws {
        // The server's first two datagrams (its v2 Initial and Handshake) are lost: the
        // client keeps sending v1 Initials, which the upgraded server still reads with the
        // original version's keys (RFC 9369 §4), until a v2 Initial gets through.
        let net = network(serverVersions: [.v2, .v1])
        var dropped = 0
        net.tap = { toServer, bytes in
            if !toServer && dropped < 2 { dropped += 1; return nil }
            return bytes
        }
        let client = try net.connect(client([.v1, .v2]))
        let server = try establish(net, client)
        XCTAssertEqual(dropped, 2)
        XCTAssertEqual(client.version, .v2)
        XCTAssertEqual(server.version, .v2)
        try assertTransfer(net, from: client, to: server)
    }

    func testUpgradeAfterLossOfTheClientsFirstFlight() throws {
        let net = network(serverVersions: [.v2, .v1])
        var dropped = 0
        net.tap = { toServer, bytes in
            if toServer && dropped < 2 { dropped += 1; return nil }
            return bytes
        }
        let client = try net.connect(client([.v1, .v2]))
        let server = try establish(net, client)
        XCTAssertEqual(client.version, .v2)
        XCTAssertEqual(server.version, .v2)
    }

    func testUpgradeUnderRandomLoss() throws {
        for seed in 1...8 as ClosedRange<UInt64> {
            let net = network(serverVersions: [.v2, .v1], seed: seed)
            net.link.loss = 0.3
            let client = try net.connect(client([.v1, .v2]))
            XCTAssertTrue(net.run { client.isHandshakeConfirmed && (net.server.accepted.first?.isHandshakeConfirmed ?? false) },
                          "seed \(seed)")
            XCTAssertEqual(client.version, .v2, "seed \(seed)")
            XCTAssertEqual(net.server.accepted.first?.version, .v2, "seed \(seed)")
        }
    }

    func testUpgradeAfterRetry() throws {
        // RFC 9369 §4: the Retry is in the original version; the upgrade follows on the
        // Initial that carries the token, keys from the Retry's SCID (RFC 9001 §5.2).
        var server = SimConfigs.server()
        server.sendsVersionInformation = true
        let net = SimConfigs.network(server: server) { $0.supportedVersions = [.v2, .v1]; $0.requireRetry = true }
        let tap = VersionTap()
        tap.install(on: net)
        let client = try net.connect(client([.v1, .v2]))
        let accepted = try establish(net, client)
        XCTAssertNotNil(client.retrySourceCID)
        XCTAssertEqual(client.version, .v2)
        XCTAssertEqual(accepted.version, .v2)
        XCTAssertEqual(tap.toClient.first, .v1)   // the Retry
        try assertTransfer(net, from: client, to: accepted)
    }

    // MARK: Downgrade protection (RFC 9368 §4)

    func testTamperedClientChosenVersionIsAVersionNegotiationError() throws {
        // A client whose version_information names v2 as chosen while its first flight is v1.
        let net = network(serverVersions: [.v1, .v2])
        var c = client([.v1, .v2])
        c.transportParametersEncoder = { p in
            var p = p
            p.versionInformation = VersionInformation(chosenVersion: .v2, availableVersions: [.v2, .v1])
            return try! p.encoded()
        }
        let client = try net.connect(c)
        net.run(for: 3_000_000)
        let server = try XCTUnwrap(net.server.accepted.first)
        XCTAssertEqual(net.server.events(server).transportClose?.errorCode, TransportErrorCode.versionNegotiationError.rawValue)
        XCTAssertFalse(net.client.events(client).connected)
    }

    func testTamperedServerChosenVersionIsAVersionNegotiationError() throws {
        // The server upgrades to v2 but its version_information claims v1.
        let net = network(serverVersions: [.v2, .v1]) { s in
            s.transportParametersEncoder = { p in
                var p = p
                p.versionInformation = VersionInformation(chosenVersion: .v1, availableVersions: [.v2, .v1])
                return try! p.encoded()
            }
        }
        let client = try net.connect(client([.v1, .v2]))
        net.run(for: 3_000_000)
        XCTAssertEqual(client.version, .v2)
        XCTAssertEqual(net.client.events(client).transportClose?.errorCode, TransportErrorCode.versionNegotiationError.rawValue)
        XCTAssertFalse(net.client.events(client).connected)
    }

    func testUpgradeWithoutServerVersionInformationIsAVersionNegotiationError() throws {
        let net = network(serverVersions: [.v2, .v1]) { s in
            s.transportParametersEncoder = { p in
                var p = p
                p.versionInformation = nil
                return try! p.encoded()
            }
        }
        let client = try net.connect(client([.v1, .v2]))
        net.run(for: 3_000_000)
        XCTAssertEqual(net.client.events(client).transportClose?.errorCode, TransportErrorCode.versionNegotiationError.rawValue)
    }

    func testForgedVersionNegotiationIsDetectedWithCompatibleServer() throws {
        // The client offers v2 first (compatible with v1); an attacker's VN lists only v1. The
        // server, which supports v2, says so in its version_information: downgrade detected.
        let net = network(serverVersions: [.v2, .v1])
        let client = try net.connect(client([.v2, .v1]))
        let scid = try XCTUnwrap(client.cids.local.first?.id)
        XCTAssertNotNil(client.pollTransmit(now: net.now))  // the v2 Initial, lost
        let vn = try Crafted.versionNegotiation(clientDCID: client.originalDestinationCID, clientSCID: scid, versions: [.v1])
        client.handle(datagram: vn, from: net.server.address, now: net.now)
        XCTAssertEqual(client.version, .v1)
        net.run(for: 5_000_000)
        XCTAssertEqual(net.client.events(client).transportClose?.errorCode, TransportErrorCode.versionNegotiationError.rawValue)
        XCTAssertFalse(net.client.events(client).connected)
    }

    func testClientIgnoresServerInitialInAVersionItDidNotOffer() throws {
        // A v2 Initial (authentic keys) to a client that listed only v1 is dropped, not adopted.
        let c = try Connection(client: client([.v1]), remote: SocketAddress(ipv4: 10, 0, 0, 2, port: 4433), now: 0)
        _ = c.pollTransmit(now: 0)
        let scid = try XCTUnwrap(c.cids.local.first?.id)
        let keys = InitialSecrets.keys(version: .v2, destinationConnectionID: c.originalDestinationCID)
        let initial = try Crafted.longPacket(version: .v2, dcid: scid, scid: ConnectionID([9, 9, 9, 9])!,
                                             keys: keys.server, pn: 0, frames: [0x01])
        c.handle(datagram: initial, from: SocketAddress(ipv4: 10, 0, 0, 2, port: 4433), now: 1)
        XCTAssertEqual(c.version, .v1)
        XCTAssertEqual(c.counters.receivedPackets, 0)
    }

    func testClientAdoptsOfferedVersionOnlyWhenTheInitialAuthenticates() throws {
        let remote = SocketAddress(ipv4: 10, 0, 0, 2, port: 4433)
        let c = try Connection(client: client([.v1, .v2]), remote: remote, now: 0)
        _ = c.pollTransmit(now: 0)
        let scid = try XCTUnwrap(c.cids.local.first?.id)
        // Keys from a wrong DCID: does not authenticate, nothing changes.
        let wrong = InitialSecrets.keys(version: .v2, destinationConnectionID: ConnectionID([1, 2, 3, 4, 5, 6, 7, 8])!)
        let forged = try Crafted.longPacket(version: .v2, dcid: scid, scid: ConnectionID([9, 9, 9, 9])!,
                                            keys: wrong.server, pn: 0, frames: [0x01])
        c.handle(datagram: forged, from: remote, now: 1)
        XCTAssertEqual(c.version, .v1)
        let keys = InitialSecrets.keys(version: .v2, destinationConnectionID: c.originalDestinationCID)
        let initial = try Crafted.longPacket(version: .v2, dcid: scid, scid: ConnectionID([9, 9, 9, 9])!,
                                             keys: keys.server, pn: 0, frames: [0x01])
        c.handle(datagram: initial, from: remote, now: 2)
        XCTAssertEqual(c.version, .v2)
        XCTAssertEqual(c.counters.receivedPackets, 1)
    }

    func testClientSwitchesAfterAnInitialInTheOriginalVersion() throws {
        // A server that ACKed part of a long ClientHello in v1 before deciding answers in v2.
        let remote = SocketAddress(ipv4: 10, 0, 0, 2, port: 4433)
        let c = try Connection(client: client([.v1, .v2]), remote: remote, now: 0)
        _ = c.pollTransmit(now: 0)
        let scid = try XCTUnwrap(c.cids.local.first?.id)
        let server = ConnectionID([9, 9, 9, 9])!
        let v1 = InitialSecrets.keys(version: .v1, destinationConnectionID: c.originalDestinationCID)
        c.handle(datagram: try Crafted.longPacket(dcid: scid, scid: server, keys: v1.server, pn: 0, frames: [0x01]),
                 from: remote, now: 1)
        XCTAssertEqual(c.version, .v1)
        // Another SCID in v2: not the server we talk to.
        let v2 = InitialSecrets.keys(version: .v2, destinationConnectionID: c.originalDestinationCID)
        c.handle(datagram: try Crafted.longPacket(version: .v2, dcid: scid, scid: ConnectionID([7, 7, 7, 7])!,
                                                  keys: v2.server, pn: 1, frames: [0x01]), from: remote, now: 2)
        XCTAssertEqual(c.version, .v1)
        c.handle(datagram: try Crafted.longPacket(version: .v2, dcid: scid, scid: server, keys: v2.server, pn: 2, frames: [0x01]),
                 from: remote, now: 3)
        XCTAssertEqual(c.version, .v2)
        XCTAssertEqual(c.counters.receivedPackets, 2)
    }

    // MARK: 0-RTT (RFC 9369 §4: 0-RTT stays in the original version)

    func testZeroRTTInTheOriginalVersionIsReadAfterAnUpgrade() throws {
        var serverConfig = SimConfigs.server()
        serverConfig.sendsVersionInformation = true
        serverConfig.tls.ticketSealer = try TicketKeyRing(keys: [TicketKey.random()])
        serverConfig.tls.enableEarlyData = true
        let net = SimConfigs.network(server: serverConfig) { $0.supportedVersions = [.v2, .v1] }
        var c = client([.v1, .v2])
        c.tls.enableEarlyData = true
        let first = try net.connect(c)
        XCTAssertTrue(net.run { first.isHandshakeConfirmed })
        XCTAssertEqual(first.version, .v2)
        try XCTUnwrap(net.server.accepted.first).sendResumptionTicket(appData: [], now: net.now)
        var raw: [UInt8]?
        XCTAssertTrue(net.run(for: 2_000_000) {
            for e in net.client.events(first) { if case .resumptionTicketReceived(let t) = e { raw = t } }
            return raw != nil
        })
        c.tls.resumptionTicket = try ClientSessionTicket(serialized: try XCTUnwrap(raw))
        // The second connection starts in v1 again with 0-RTT data; count its 0-RTT packets per version.
        var zeroRTTVersions: [QuicVersion] = []
        net.tap = { toServer, bytes in
            if toServer {
                var offset = 0
                while offset < bytes.count,
                      let h = try? bytes.withUnsafeBytes({ try PacketHeader.parse($0, at: offset, shortHeaderDCIDLength: 8) }) {
                    if h.kind == .zeroRTT { zeroRTTVersions.append(h.version) }
                    offset = h.end
                }
            }
            return bytes
        }
        let second = try net.connect(c)
        let id = try second.openStream(bidirectional: true)
        let data = (0..<3000).map { UInt8(truncatingIfNeeded: $0 &* 5) }
        try second.send(stream: id, bytes: data, fin: true)
        let sink = StreamSink()
        sink.seen.insert(id)
        var server: Connection?
        XCTAssertTrue(net.run(for: 5_000_000) {
            server = net.server.accepted.count > 1 ? net.server.accepted.last : nil
            if let s = server { sink.pump(s, events: []) }
            return sink.fin.contains(id) && second.isHandshakeConfirmed
        })
        XCTAssertFalse(zeroRTTVersions.isEmpty)
        XCTAssertTrue(zeroRTTVersions.allSatisfy { $0 == .v1 }, "\(zeroRTTVersions)")
        XCTAssertEqual(second.version, .v2)
        XCTAssertEqual(server?.version, .v2)
        XCTAssertTrue(second.handshake.isEarlyDataAccepted)
        XCTAssertTrue(sink.data[id] == data)
        // The stream arrived before the server's handshake completed: it came in 0-RTT (v1).
        let events = net.server.events(try XCTUnwrap(server))
        let started = try XCTUnwrap(events.firstIndex(of: .peerStreamStarted(id)))
        let connected = try XCTUnwrap(events.firstIndex { if case .connected = $0 { return true }; return false })
        XCTAssertLessThan(started, connected)
    }
}
