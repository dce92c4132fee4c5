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
