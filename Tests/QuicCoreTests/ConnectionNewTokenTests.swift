import XCTest
@testable import QuicCore
import QuicWire

/// NEW_TOKEN (RFC 9000 §8.1.3, §19.7): the server gives the client a token after the
/// handshake; the client's next connection carries it in its Initials and the server takes it
/// as address validation (no Retry, no amplification limit, §8.1). A token that does not check
/// out is ignored, never an error. Times are virtual.
final class ConnectionNewTokenTests: XCTestCase {
    static let key = [UInt8](repeating: 0x5a, count: 32)

    /// A network whose server endpoint uses `key` for its tokens (as the endpoints of one
    /// listener, one per worker, share theirs), starting at virtual time `now`.
    func network(now: QuicInstant = 1_000_000, clientAddress: SocketAddress? = nil,
                 configure: (inout EndpointConfiguration) -> Void = { _ in }) -> SimNetwork {
        let net = SimConfigs.network(seed: 5, server: SimConfigs.server()) {
            $0.addressTokenKey = Self.key
            configure(&$0)
        }
        net.now = now
        if let clientAddress { net.client.address = clientAddress }
        return net
    }

    /// One handshake; returns the NEW_TOKEN tokens the client received.
    func firstConnection(_ net: SimNetwork) throws -> [[UInt8]] {
        let client = try net.connect(SimConfigs.client())
        XCTAssertTrue(net.run { client.isHandshakeConfirmed && (net.server.accepted.first?.isHandshakeConfirmed ?? false) })
        // The frame follows HANDSHAKE_DONE in 1-RTT: a few more round trips deliver it.
        _ = net.run(for: 200_000) { !Self.tokens(net.client.events(client)).isEmpty }
        return Self.tokens(net.client.events(client))
    }

    static func tokens(_ events: [ConnectionEvent]) -> [[UInt8]] {
        events.compactMap { if case .newTokenReceived(let t) = $0 { return t }; return nil }
    }

    /// Starts a connection with `token` and runs until the server created its connection
    /// (before the client could send a Handshake packet, which validates the address too,
    /// §8.1). Returns the client, the server's connection and the number of Retry packets seen.
    func secondConnection(_ net: SimNetwork, token: [UInt8]) throws -> (Connection, Connection?, Int) {
        var retries = 0
        net.tap = { toServer, bytes in
            if !toServer, let h = try? bytes.withUnsafeBytes({ try PacketHeader.parse($0, shortHeaderDCIDLength: 8) }),
               h.kind == .retry { retries += 1 }
            return bytes
        }
        var config = SimConfigs.client()
        config.initialToken = token
        let client = try net.connect(config)
        _ = net.run(for: 5_000_000) { !net.server.accepted.isEmpty }
        return (client, net.server.accepted.first, retries)
    }

    func testServerSendsNewTokenOnceHandshakeConfirmed() throws {
        let tokens = try firstConnection(network())
        XCTAssertEqual(tokens.count, 1)
        XCTAssertEqual(tokens.first?.count, NewTokenFormat.size)
        XCTAssertEqual(tokens.first?.first, NewTokenFormat.tag, "told apart from Retry tokens by its tag")
    }

    func testValidTokenValidatesAddressOnNextConnection() throws {
        let first = network()
        let token = try XCTUnwrap(try firstConnection(first).first)
        // The next connection: another endpoint with the same key (another worker), another
        // client port, later.
        var address = first.client.address
        address.port = 6000
        let net = network(now: first.now + .seconds(60), clientAddress: address)
        let (client, server, retries) = try secondConnection(net, token: token)
        let s = try XCTUnwrap(server)
        XCTAssertTrue(s.addressValidated, "RFC 9000 §8.1.3: a valid token validates the address")
        XCTAssertEqual(retries, 0)
        XCTAssertTrue(net.run { client.isHandshakeConfirmed && s.isHandshakeConfirmed })
        XCTAssertNil(client.retrySourceCID)
    }

    func testRetrySkippedWithValidToken() throws {
        let first = network { $0.requireRetry = true }
        let token = try XCTUnwrap(try firstConnection(first).first)
        let net = network(now: first.now + .seconds(1)) { $0.requireRetry = true }
        let (client, server, retries) = try secondConnection(net, token: token)
        XCTAssertEqual(retries, 0, "a valid NEW_TOKEN token stands for the Retry round trip")
        let s = try XCTUnwrap(server)
        XCTAssertTrue(s.addressValidated)
        XCTAssertTrue(net.run { client.isHandshakeConfirmed && s.isHandshakeConfirmed })
        // The same server without a token: one Retry first.
        let control = network(now: first.now + .seconds(1)) { $0.requireRetry = true }
        let (client2, server2, retries2) = try secondConnection(control, token: [])
        XCTAssertEqual(retries2, 1)
        XCTAssertTrue(control.run { client2.isHandshakeConfirmed && (server2 ?? control.server.accepted.first)?.isHandshakeConfirmed == true })
    }

    func testExpiredTokenIsIgnored() throws {
        let first = network { $0.newTokenLifetime = .seconds(10) }
        let token = try XCTUnwrap(try firstConnection(first).first)
        let net = network(now: first.now + .seconds(11)) { $0.newTokenLifetime = .seconds(10) }
        let (client, server, _) = try secondConnection(net, token: token)
        let s = try XCTUnwrap(server, "an invalid token is not an error: the connection goes on (§8.1.3)")
        XCTAssertFalse(s.addressValidated)
        XCTAssertTrue(net.run { client.isHandshakeConfirmed && s.isHandshakeConfirmed })
    }

    func testTokenFromAnotherAddressIsIgnoredAndRetried() throws {
        let first = network()
        let token = try XCTUnwrap(try firstConnection(first).first)
        // Another IP address: not validated; with Retry required, a Retry comes first.
        let other = SocketAddress(ipv4: 10, 0, 0, 9, port: 5000)
        let net = network(now: first.now + .seconds(1), clientAddress: other) { $0.requireRetry = true }
        let (client, _, retries) = try secondConnection(net, token: token)
        XCTAssertEqual(retries, 1)
        XCTAssertTrue(net.run { client.isHandshakeConfirmed && (net.server.accepted.first?.isHandshakeConfirmed ?? false) })
    }

    func testTokenOfAnotherKeyIsIgnored() throws {
        let first = network()
        var token = try XCTUnwrap(try firstConnection(first).first)
        token[token.count - 1] ^= 1
        let net = network(now: first.now + .seconds(1))
        let (_, server, _) = try secondConnection(net, token: token)
        XCTAssertFalse(try XCTUnwrap(server).addressValidated)
    }

    func testRetryAndNewTokenTokensAreNotInterchangeable() throws {
        let net = network()
        let remote = SocketAddress(ipv4: 10, 0, 0, 1, port: 5000)
        let now: QuicInstant = 2_000_000
        let newToken = try XCTUnwrap(net.server.endpoint.mintNewToken(for: remote, now: now))
        XCTAssertTrue(net.server.endpoint.validateNewToken(newToken, remote: remote, now: now))
        XCTAssertNil(net.server.endpoint.validateRetryToken(newToken, retrySCID: ConnectionID([1, 2, 3, 4, 5, 6, 7, 8])!,
                                                            remote: remote, now: now))
        // A token issued in the future (a forged time) and one past its lifetime fail.
        XCTAssertFalse(net.server.endpoint.validateNewToken(newToken, remote: remote, now: 1_000_000))
        XCTAssertFalse(net.server.endpoint.validateNewToken(newToken, remote: remote, now: now + .seconds(24 * 3600 + 1)))
        XCTAssertFalse(net.server.endpoint.validateNewToken(Array(newToken.dropLast()), remote: remote, now: now))
    }

    /// The packet that carried NEW_TOKEN is lost: the frame goes again (RFC 9000 §13.3).
    func testLostNewTokenIsResent() throws {
        let net = network()
        var serverShort = 0
        net.tap = { toServer, bytes in
            // Drop the server's first two datagrams that start with a short header (1-RTT):
            // the ones carrying HANDSHAKE_DONE and NEW_TOKEN.
            guard !toServer, let b = bytes.first, b & 0x80 == 0 else { return bytes }
            serverShort += 1
            return serverShort <= 2 ? nil : bytes
        }
        let tokens = try firstConnection(net)
        _ = net.run(for: 3_000_000) { !Self.tokens(net.client.events(net.tracedConnections[0])).isEmpty }
        XCTAssertGreaterThan(serverShort, 2)
        XCTAssertEqual(Set(tokens + Self.tokens(net.client.events(net.tracedConnections[0]))).count, 1)
    }

    func testNoNewTokenWhenLifetimeIsZero() throws {
        let tokens = try firstConnection(network { $0.newTokenLifetime = .zero })
        XCTAssertEqual(tokens, [])
    }
}
