import XCTest
@testable import QuicCore
import QuicWire
import QuicCrypto

/// The server's preferred address (RFC 9000 §9.6): the server issues the CID of sequence 1 with
/// it (§5.1.1); the client, once the handshake is confirmed, sends to it with that CID,
/// validates it and goes back to the original address when validation fails (§9.6.1).
final class PreferredAddressTests: XCTestCase {
    let preferred = SocketAddress(ipv4: 10, 0, 0, 9, port: 4500)

    func serverConfig() -> ConnectionConfiguration {
        var s = SimConfigs.server()
        // The CID and token are the server engine's to fill in (placeholders here).
        s.transportParameters.preferredAddress = PreferredAddress(ipv4Address: (10, 0, 0, 9), ipv4Port: 4500,
                                                                  connectionID: ConnectionID([1, 2, 3, 4])!,
                                                                  statelessResetToken: StatelessResetToken([UInt8](repeating: 7, count: 16)))
        return s
    }

    func pair(client: ConnectionConfiguration = SimConfigs.client(),
              tap: ((SimNetwork, Bool, [UInt8]) -> [UInt8]?)? = nil) throws -> (SimNetwork, Connection, Connection) {
        let net = SimConfigs.network(server: serverConfig())
        if let tap { net.tap = { tap(net, $0, $1) } }
        let c = try net.connect(client)
        XCTAssertTrue(net.run { c.isHandshakeConfirmed && (net.server.accepted.first?.isHandshakeConfirmed ?? false) })
        return (net, c, try XCTUnwrap(net.server.accepted.first))
    }

    func peerChanges(_ net: SimNetwork, _ client: Connection) -> [SocketAddress] {
        net.client.events(client).compactMap { if case .peerAddressChanged(let a) = $0 { return a } else { return nil } }
    }

    func echo(_ net: SimNetwork, _ client: Connection, _ server: Connection, bytes: Int) throws {
        let id = try client.openStream(bidirectional: true)
        let data = [UInt8](repeating: 9, count: bytes)
        try client.send(stream: id, bytes: data, fin: true)
        let sink = StreamSink()
        sink.seen.insert(id)
        XCTAssertTrue(net.run(for: 30_000_000) { sink.pump(server, events: []); return sink.fin.contains(id) })
        XCTAssertTrue(sink.data[id] == data)
    }

    func testServerIssuesSequenceOneAndClientMovesThere() throws {
        let (net, client, server) = try pair()
        let issued = try XCTUnwrap(server.cids.local.first { $0.sequence == 1 })
        let advertised = try XCTUnwrap(client.peerTransportParameters?.preferredAddress)
        XCTAssertEqual(advertised.connectionID, issued.id, "§5.1.1: the preferred address carries CID sequence 1")
        XCTAssertEqual(advertised.statelessResetToken, issued.token)
        XCTAssertEqual(client.remoteAddress, preferred, "§9.6.1: the client moved at confirmation")
        XCTAssertEqual(client.cids.currentRemote, issued.id)
        XCTAssertTrue(net.run(for: 10_000_000) { !client.isProbingLocalPath && (server.cids.local.first { $0.sequence == 0 }?.retired ?? false) })
        XCTAssertEqual(client.remoteAddress, preferred, "validated: no return")
        XCTAssertEqual(peerChanges(net, client), [preferred])
        try echo(net, client, server, bytes: 40_000)
        XCTAssertNil(net.client.events(client).transportClose)
    }

    func testUnreachablePreferredAddressFallsBack() throws {
        var preferredCID: [UInt8]?
        // Every short-header datagram to the preferred address's CID is lost.
        let (net, client, server) = try pair { net, toServer, bytes in
            guard toServer, bytes.count > 9, bytes[0] & 0x80 == 0 else { return bytes }
            if preferredCID == nil, let s = net.server.accepted.first, let c = s.cids.local.first(where: { $0.sequence == 1 }) {
                preferredCID = c.id.bytes
            }
            return Array(bytes[1..<9]) == preferredCID ? nil : bytes
        }
        let original = net.server.address
        XCTAssertEqual(client.remoteAddress, preferred)
        XCTAssertTrue(net.run(for: 30_000_000) { !client.isProbingLocalPath })
        XCTAssertEqual(client.remoteAddress, original, "§9.6.1: back to the original address")
        XCTAssertEqual(peerChanges(net, client), [preferred, original])
        try echo(net, client, server, bytes: 20_000)
    }

    func testClientThatDoesNotMigrateStays() throws {
        var config = SimConfigs.client()
        config.usesPreferredAddress = false
        let (net, client, server) = try pair(client: config)
        XCTAssertEqual(client.remoteAddress, net.server.address)
        XCTAssertNotNil(client.cids.remote.first { $0.sequence == 1 }, "the CID is kept all the same (§5.1.1)")
        XCTAssertEqual(peerChanges(net, client), [])
        try echo(net, client, server, bytes: 10_000)
    }
}
