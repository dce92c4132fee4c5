import XCTest
@testable import QuicCore
import QuicCrypto
import QuicTLS
import QuicWire

final class ConnectionHandshakeTests: XCTestCase {
    func handshake(versions: [QuicVersion] = [.v1], suite: CipherSuite? = nil, seed: UInt64 = 1,
                   link: SimLink = SimLink()) throws -> (SimNetwork, Connection, Connection) {
        let net = SimConfigs.network(seed: seed, server: SimConfigs.server(suites: suite.map { [$0] }))
        net.link = link
        let client = try net.connect(SimConfigs.client(versions: versions, suites: suite.map { [$0] }))
        let ok = net.run(for: 60_000_000) {
            client.isHandshakeConfirmed && (net.server.accepted.first?.isHandshakeConfirmed ?? false)
        }
        XCTAssertTrue(ok, "handshake did not complete")
        let server = try XCTUnwrap(net.server.accepted.first)
        return (net, client, server)
    }

    func testHandshakeCompletesV1() throws {
        let (net, client, server) = try handshake()
        XCTAssertTrue(net.client.events(client).connected)
        XCTAssertTrue(net.server.events(server).connected)
        XCTAssertEqual(client.negotiatedALPN, Array("sim".utf8))
        XCTAssertEqual(client.version, .v1)
        XCTAssertNotNil(client.peerTransportParameters?.initialSourceConnectionID)
    }
}

extension ConnectionHandshakeTests {
    func testHandshakeEachCipherSuite() throws {
        for suite in CipherSuite.allCases {
            let (_, client, server) = try handshake(suite: suite)
            XCTAssertEqual(client.handshake.negotiatedCipherSuite, suite)
            XCTAssertEqual(server.handshake.negotiatedCipherSuite, suite)
        }
    }

    func testHandshakeV2() throws {
        let (_, client, server) = try handshake(versions: [.v2])
        XCTAssertEqual(client.version, .v2)
        XCTAssertEqual(server.version, .v2)
    }

    func testHandshakeUnderLossReorderDuplicationCorruption() throws {
        for seed in UInt64(1)...12 {
            var link = SimLink()
            link.loss = 0.2
            link.jitter = 30_000
            link.duplication = 0.1
            link.corruption = 0.05
            let (_, client, server) = try handshake(seed: seed, link: link)
            XCTAssertTrue(client.isHandshakeComplete && server.isHandshakeComplete, "seed \(seed)")
        }
    }

    func testClientInitialPaddedAndServerAmplificationLimited() throws {
        let net = SimConfigs.network()
        var sizes: [(Bool, Int)] = []
        // The client's Initial reaches the server, then the client goes silent: the server may
        // send at most three times what it received (RFC 9000 §8.1).
        var clientDatagrams = 0
        net.tap = { toServer, bytes in
            sizes.append((toServer, bytes.count))
            if toServer { clientDatagrams += 1; return clientDatagrams == 1 ? bytes : nil }
            return bytes
        }
        let client = try net.connect(SimConfigs.client())
        net.run(for: 20_000_000)
        let first = try XCTUnwrap(sizes.first)
        XCTAssertTrue(first.0)
        XCTAssertGreaterThanOrEqual(first.1, 1200)  // RFC 9000 §14.1
        let received = first.1
        let sentByServer = sizes.filter { !$0.0 }.map(\.1).reduce(0, +)
        XCTAssertGreaterThan(sentByServer, 0)
        XCTAssertLessThanOrEqual(sentByServer, 3 * received)
        XCTAssertFalse(net.server.accepted.first?.isHandshakeComplete ?? true)
        _ = client
    }

    func testTransportParametersExchanged() throws {
        var serverConfig = SimConfigs.server()
        serverConfig.transportParameters.initialMaxData = 123_456
        serverConfig.transportParameters.maxIdleTimeout = 7_000
        let net = SimConfigs.network(server: serverConfig)
        let client = try net.connect(SimConfigs.client())
        XCTAssertTrue(net.run { client.isHandshakeConfirmed })
        XCTAssertEqual(client.peerTransportParameters?.initialMaxData, 123_456)
        XCTAssertEqual(client.peerTransportParameters?.maxIdleTimeout, 7_000)
        let server = try XCTUnwrap(net.server.accepted.first)
        XCTAssertEqual(server.peerTransportParameters?.initialSourceConnectionID, client.localConnectionIDs.first)
    }
}
