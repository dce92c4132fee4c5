import XCTest
@testable import QuicCore
import QuicTLS
import QuicWire

/// 0.5-RTT server data (RFC 9000 §7, RFC 9001 §4.1.1, §5.7): what a server sends before the
/// client's Finished goes out in 1-RTT packets with its first flight, as MsQuic's does.
final class ConnectionHalfRTTTests: XCTestCase {
    func run(upgrade: Bool) throws {
        var serverConfig = SimConfigs.server()
        serverConfig.sendsVersionInformation = upgrade
        let net = SimConfigs.network(server: serverConfig) { $0.supportedVersions = upgrade ? [.v2, .v1] : [.v1, .v2] }
        var clientConfig = SimConfigs.client(versions: [.v1, .v2])
        clientConfig.sendsVersionInformation = upgrade
        let client = try net.connect(clientConfig)
        let payload = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        var id: StreamID?
        var openedBeforeComplete = false
        // As soon as the server has read the ClientHello (its first flight not yet sent), it
        // opens a stream and sends on it.
        net.afterDelivery = {
            guard id == nil, let server = net.server.accepted.first else { return }
            openedBeforeComplete = !server.isHandshakeComplete
            id = try? server.openStream(bidirectional: false)
            if let id { try? server.send(stream: id, bytes: payload, fin: true) }
        }
        let sink = StreamSink()
        var serverCompleteAtArrival: Bool?
        var serverDatagramsBefore = 0
        var serverDatagrams = 0
        net.tap = { toServer, bytes in
            if !toServer { serverDatagrams += 1 }
            return bytes
        }
        XCTAssertTrue(net.run {
            if let id {
                sink.seen.insert(id)
                sink.pump(client, events: [])
                if sink.fin.contains(id), serverCompleteAtArrival == nil {
                    serverCompleteAtArrival = net.server.accepted.first?.isHandshakeComplete
                    serverDatagramsBefore = serverDatagrams
                }
            }
            return serverCompleteAtArrival != nil
        })
        XCTAssertTrue(openedBeforeComplete)
        // The data reached the client before the server could have read the client's Finished:
        // it went with the server's first flight.
        XCTAssertEqual(serverCompleteAtArrival, false)
        XCTAssertLessThanOrEqual(serverDatagramsBefore, 3)
        XCTAssertTrue(sink.data[try XCTUnwrap(id)] == payload)
        XCTAssertTrue(net.run { client.isHandshakeConfirmed && (net.server.accepted.first?.isHandshakeConfirmed ?? false) })
        XCTAssertEqual(client.version, upgrade ? .v2 : .v1)
    }

    func testServerDataGoesWithTheFirstFlight() throws { try run(upgrade: false) }

    func testServerDataGoesWithTheFirstFlightAfterACompatibleUpgrade() throws { try run(upgrade: true) }
}
