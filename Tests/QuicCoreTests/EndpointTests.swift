import XCTest
@testable import QuicCore
import QuicCrypto
import QuicTLS
import QuicWire

final class EndpointTests: XCTestCase {
    func testVersionNegotiationEndsClientAttempt() throws {
        let net = SimConfigs.network { $0.supportedVersions = [.v1] }
        var sawVN = false
        net.tap = { toServer, bytes in
            if !toServer, bytes.count > 5, bytes[0] & 0x80 != 0, bytes[1...4].allSatisfy({ $0 == 0 }) { sawVN = true }
            return bytes
        }
        let client = try net.connect(SimConfigs.client(versions: [.v2]))
        XCTAssertTrue(net.run(for: 5_000_000) { client.isClosed })
        XCTAssertTrue(sawVN)
        XCTAssertEqual(net.client.events(client).transportClose?.versionNegotiation, true)
        XCTAssertTrue(net.server.accepted.isEmpty)
    }

    func testListenerWithoutServerConfigurationAnswersVersionNegotiation() throws {
        // A listener endpoint that creates its connections itself (server: nil) still answers
        // an Initial of a version it does not accept with VN listing its versions (RFC 9000 §6.1).
        var e = EndpointConfiguration(server: nil)
        e.supportedVersions = [.v1]
        e.answersVersionNegotiation = true
        let endpoint = Endpoint(configuration: e)
        let client = try Connection(client: SimConfigs.client(versions: [.v2]), remote: SocketAddress(ipv4: 10, 0, 0, 2, port: 4433), now: 0)
        let (_, initial) = try XCTUnwrap(client.pollTransmit(now: 0))
        XCTAssertGreaterThanOrEqual(initial.count, 1200)
        XCTAssertNil(endpoint.handle(datagram: initial, from: SocketAddress(ipv4: 10, 0, 0, 1, port: 5000), now: 0))
        let (_, vn) = try XCTUnwrap(endpoint.pollTransmit())
        XCTAssertEqual(Array(vn[1...4]), [0, 0, 0, 0])
        let header = try vn.withUnsafeBytes { try PacketHeader.parse($0, shortHeaderDCIDLength: 8) }
        let listed = vn.withUnsafeBytes { header.supportedVersions(in: $0) }
        XCTAssertTrue(listed.contains(.v1))
        XCTAssertFalse(listed.contains(.v2))
        // Without the flag (a client-only endpoint) nothing is answered.
        var quietConfiguration = EndpointConfiguration(server: nil)
        quietConfiguration.supportedVersions = [.v1]
        let quiet = Endpoint(configuration: quietConfiguration)
        _ = quiet.handle(datagram: initial, from: SocketAddress(ipv4: 10, 0, 0, 1, port: 5000), now: 0)
        XCTAssertNil(quiet.pollTransmit())
    }

    func testServerAcceptsV2WhenBothSupportIt() throws {
        let net = SimConfigs.network { $0.supportedVersions = [.v2, .v1] }
        let client = try net.connect(SimConfigs.client(versions: [.v2]))
        XCTAssertTrue(net.run { client.isHandshakeConfirmed })
        XCTAssertEqual(net.server.accepted.first?.version, .v2)
    }

    func testRetryThenHandshake() throws {
        for version in [QuicVersion.v1, .v2] {
            let net = SimConfigs.network { $0.requireRetry = true }
            var retries = 0
            net.tap = { toServer, bytes in
                if !toServer, let h = try? bytes.withUnsafeBytes({ try PacketHeader.parse($0, shortHeaderDCIDLength: 8) }),
                   h.kind == .retry { retries += 1 }
                return bytes
            }
            let client = try net.connect(SimConfigs.client(versions: [version]))
            XCTAssertTrue(net.run { client.isHandshakeConfirmed && (net.server.accepted.first?.isHandshakeComplete ?? false) })
            XCTAssertEqual(retries, 1)
            let server = try XCTUnwrap(net.server.accepted.first)
            XCTAssertNotNil(client.retrySourceCID)
            XCTAssertEqual(client.retrySourceCID, server.retrySourceCID)
            XCTAssertEqual(server.originalDestinationCID, client.originalDestinationCID)
            XCTAssertTrue(server.addressValidated)
        }
    }

    func testRetryWithBadIntegrityTagIsIgnored() throws {
        let net = SimConfigs.network { $0.requireRetry = true }
        net.tap = { toServer, bytes in
            var b = bytes
            if !toServer, let h = try? b.withUnsafeBytes({ try PacketHeader.parse($0, shortHeaderDCIDLength: 8) }),
               h.kind == .retry { b[b.count - 1] ^= 0xff }
            return b
        }
        let client = try net.connect(SimConfigs.client())
        net.run(for: 3_000_000)
        XCTAssertNil(client.retrySourceCID)
        XCTAssertFalse(client.isHandshakeComplete)
        XCTAssertTrue(net.server.accepted.isEmpty)
    }

    func testSmallInitialDatagramIsDropped() throws {
        let net = SimConfigs.network()
        let client = try net.connect(SimConfigs.client())
        // Cut every client datagram to 1199 bytes: the server must not create state (RFC 9000 §14.1).
        net.tap = { toServer, bytes in toServer ? Array(bytes.prefix(1199)) : bytes }
        net.run(for: 2_000_000)
        XCTAssertTrue(net.server.accepted.isEmpty)
        XCTAssertFalse(client.isHandshakeComplete)
    }

    func testStatelessResetClosesClient() throws {
        let net = SimConfigs.network()
        let client = try net.connect(SimConfigs.client())
        XCTAssertTrue(net.run { client.isHandshakeConfirmed && (net.server.accepted.first?.isHandshakeConfirmed ?? false) })
        // The server loses all state (as after a restart with the same reset key).
        net.server.endpoint.routes.removeAll()
        net.server.endpoint.initialRoutes.removeAll()
        net.server.endpoint.initialRouteOf.removeAll()
        net.server.endpoint.connections.removeAll()
        net.server.accepted.removeAll()
        client.ping()
        XCTAssertTrue(net.run(for: 5_000_000) { client.isClosed })
        XCTAssertEqual(net.client.events(client).transportClose?.statelessReset, true)
    }

    func testUnknownShortHeaderGetsSmallerStatelessReset() throws {
        let ep = Endpoint(configuration: EndpointConfiguration(server: SimConfigs.server()))
        var junk = [UInt8](repeating: 0x55, count: 60)
        junk[0] = 0x41
        ep.handle(datagram: junk, from: SocketAddress(ipv4: 1, 2, 3, 4, port: 9), now: 0)
        let (_, reset) = try XCTUnwrap(ep.pollTransmit())
        XCTAssertLessThan(reset.count, junk.count)
        XCTAssertGreaterThanOrEqual(reset.count, 21)
        XCTAssertEqual(reset[0] & 0xc0, 0x40)
        let dcid = ConnectionID(Array(junk[1...8]))!
        XCTAssertEqual(Array(reset.suffix(16)), ep.resetTokens.token(for: dcid)?.bytes)
        // A tiny datagram gets no reply (RFC 9000 §10.3.3 loop prevention).
        ep.handle(datagram: Array(junk.prefix(22)), from: SocketAddress(ipv4: 1, 2, 3, 4, port: 9), now: 0)
        XCTAssertNil(ep.pollTransmit())
    }

    // QUIC_PARAM_GLOBAL_STATELESS_RESET_KEY on a running listener: resets sent afterwards carry
    // tokens of the new key (RFC 9000 §10.3.2), which the old tokens no longer match.
    func testStatelessResetKeyCanBeReplaced() throws {
        var config = EndpointConfiguration(server: SimConfigs.server())
        config.statelessResetKey = [UInt8](repeating: 1, count: 32)
        let ep = Endpoint(configuration: config)
        let dcid = ConnectionID([UInt8](repeating: 0x55, count: 8))!
        let before = try XCTUnwrap(ep.resetTokens.token(for: dcid))
        ep.setStatelessResetKey([UInt8](repeating: 2, count: 32))
        let after = try XCTUnwrap(ep.resetTokens.token(for: dcid))
        XCTAssertNotEqual(before, after)
        var junk = [UInt8](repeating: 0x55, count: 60)
        junk[0] = 0x41
        ep.handle(datagram: junk, from: SocketAddress(ipv4: 1, 2, 3, 4, port: 9), now: 0)
        let (_, reset) = try XCTUnwrap(ep.pollTransmit())
        XCTAssertEqual(Array(reset.suffix(16)), after.bytes)
        // An empty key is ignored.
        ep.setStatelessResetKey([])
        XCTAssertEqual(ep.resetTokens.token(for: dcid), after)
    }

    func testHandshakingConnectionsAreBounded() throws {
        // The last-resort cap counts connections whose handshake is in progress, whatever the
        // client's address or port.
        let net = SimConfigs.network { $0.maxHandshakingConnections = 2 }
        net.tap = { toServer, bytes in toServer ? bytes : nil }  // the server never gets an answer through
        for _ in 0..<5 { _ = try net.connect(SimConfigs.client()) }
        net.run(for: 500_000)
        XCTAssertEqual(net.server.endpoint.allConnections.count, 2)
        XCTAssertEqual(net.server.endpoint.handshakingConnectionCount, 2)
    }

    func testClosingConnectionsAreNotCountedAsHandshaking() throws {
        let net = SimConfigs.network { $0.maxHandshakingConnections = 2 }
        net.tap = { toServer, bytes in toServer ? bytes : nil }
        for _ in 0..<2 { _ = try net.connect(SimConfigs.client()) }
        net.run(for: 200_000)
        XCTAssertEqual(net.server.endpoint.handshakingConnectionCount, 2)
        // The server closes both: they are closing (not yet forgotten) and no longer count.
        for c in net.server.endpoint.allConnections { c.close(errorCode: 0, now: net.now) }
        XCTAssertEqual(net.server.endpoint.handshakingConnectionCount, 0)
        _ = try net.connect(SimConfigs.client())
        net.run(for: 200_000)
        XCTAssertEqual(net.server.endpoint.handshakingConnectionCount, 1)
    }

    func testStatelessResetsAreRateLimited() throws {
        // RFC 9000 §10.3.3: 1,000 trigger datagrams from one remote within 50 ms get one reset
        // (one answer per remote per interval); from 1,000 remotes, at most the token bucket's
        // burst (plus what it refills in that time).
        var c = EndpointConfiguration(server: SimConfigs.server())
        c.statelessResetBurst = 8
        c.statelessResetsPerSecond = 100
        let ep = Endpoint(configuration: c)
        var junk = [UInt8](repeating: 0x55, count: 60)
        junk[0] = 0x41
        var resets = 0
        let start: QuicInstant = 10_000_000
        for i in 0..<1000 {
            ep.handle(datagram: junk, from: SocketAddress(ipv4: 1, 2, 3, 4, port: 9), now: start + .microseconds(UInt64(i) * 50))
            while ep.pollTransmit() != nil { resets += 1 }
        }
        XCTAssertEqual(resets, 1)
        resets = 0
        for i in 0..<1000 {
            ep.handle(datagram: junk, from: SocketAddress(ipv4: 1, 2, 3, 4, port: UInt16(1000 + i)),
                      now: start + .seconds(1) + .microseconds(UInt64(i) * 50))
            while ep.pollTransmit() != nil { resets += 1 }
        }
        // 50 ms at 100/s refills 5 tokens at most.
        XCTAssertGreaterThanOrEqual(resets, 1)
        XCTAssertLessThanOrEqual(resets, 8 + 5)
        // The remembered remotes stay bounded.
        XCTAssertLessThanOrEqual(ep.statelessLimiter.rememberedRemotes, c.maxStatelessResponseRemotes)
        // Much later the same remote is answered again.
        ep.handle(datagram: junk, from: SocketAddress(ipv4: 1, 2, 3, 4, port: 9), now: start + .seconds(10))
        XCTAssertNotNil(ep.pollTransmit())
    }

}

/// The Endpoint finds the connection of a Stateless Reset by its token without scanning
/// every connection (RFC 9000 §10.3.1).
final class EndpointResetTokenTests: XCTestCase {
    func testResetTokensRoutedWhileConnectionLives() throws {
        let net = SimConfigs.network()
        let client = try net.connect(SimConfigs.client())
        XCTAssertTrue(net.run { client.isHandshakeConfirmed && (net.server.accepted.first?.isHandshakeComplete ?? false) })
        net.run(for: 1_000_000)
        let tokens = client.cids.remote.compactMap(\.token)
        XCTAssertGreaterThan(tokens.count, 1, "handshake CID token and NEW_CONNECTION_ID tokens")
        XCTAssertEqual(Set(net.client.endpoint.resetTokenRoutes.keys), Set(tokens))
        XCTAssertTrue(net.client.endpoint.resetTokenRoutes.values.allSatisfy { $0 === client })
        client.close(errorCode: 0, now: net.now)
        XCTAssertTrue(net.run(for: 5_000_000) { client.isClosed })
        XCTAssertTrue(net.client.endpoint.resetTokenRoutes.isEmpty)
    }

    func testUnknownTokenDoesNotCloseAnything() throws {
        let net = SimConfigs.network()
        let client = try net.connect(SimConfigs.client())
        XCTAssertTrue(net.run { client.isHandshakeConfirmed })
        var fake = [UInt8](repeating: 0x42, count: 40)
        fake[0] = 0x40
        net.client.endpoint.handle(datagram: fake, from: net.server.address, now: net.now)
        XCTAssertEqual(client.state, .open)
        // The real token, in an unroutable short header datagram, resets the connection.
        let token = try XCTUnwrap(client.cids.remote.first?.token)
        fake.replaceSubrange(24..<40, with: token.bytes)
        net.client.endpoint.handle(datagram: fake, from: net.server.address, now: net.now)
        XCTAssertTrue(client.isClosed)
        XCTAssertEqual(client.drainedTransportClose()?.statelessReset, true)
    }
}
