import XCTest
@testable import QuicCore
import QuicWire

/// Client active migration (RFC 9000 §9.2-§9.5) on the simulated network: the client moves to
/// a new local address mid-transfer, with a fresh CID of the server (§9.5), a PATH_CHALLENGE on
/// the new path (§8.2) that is resent when lost and, when the new path never answers, a return
/// to the previous address; refusals for disable_active_migration (§18.2), an unconfirmed
/// handshake (§9) and no spare CID (§9.5). The sim's client sends from `client.localAddress`
/// (as the runtime sends from the socket bound there) and still receives at its old address
/// while the new path is validated (the old socket stays open).
final class ClientMigrationTests: XCTestCase {
    let newAddress = SocketAddress(ipv4: 10, 0, 0, 3, port: 5100)

    func pair(server: ConnectionConfiguration = SimConfigs.server()) throws -> (SimNetwork, Connection, Connection) {
        let net = SimConfigs.network(server: server)
        let c = try net.connect(SimConfigs.client())
        XCTAssertTrue(net.run { c.isHandshakeConfirmed && (net.server.accepted.first?.isHandshakeConfirmed ?? false) })
        c.noteLocalAddress(net.client.address)
        net.clientAlsoReceivesAt = [net.client.address]
        return (net, c, try XCTUnwrap(net.server.accepted.first))
    }

    /// The sim sends the client's datagrams from the address it sends from now; `drop` decides
    /// which client datagrams the network loses (with the address they leave from).
    func follow(_ net: SimNetwork, _ client: Connection, drop: @escaping (SocketAddress, [UInt8]) -> Bool = { _, _ in false }) {
        net.tap = { toServer, bytes in
            guard toServer else { return bytes }
            net.client.address = client.localAddress
            return drop(client.localAddress, bytes) ? nil : bytes
        }
    }

    func localChanges(_ net: SimNetwork, _ client: Connection) -> [SocketAddress] {
        net.client.events(client).compactMap { if case .localAddressChanged(let a) = $0 { return a } else { return nil } }
    }

    /// Sends `bytes` on a new stream and runs until the server has them all, calling `midway`
    /// once a third has arrived.
    func transfer(_ net: SimNetwork, _ client: Connection, _ server: Connection, bytes: Int,
                  midway: @escaping () -> Void = {}) throws {
        let id = try client.openStream(bidirectional: true)
        let data = (0..<bytes).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        try client.send(stream: id, bytes: data, fin: true)
        let sink = StreamSink()
        sink.seen.insert(id)
        var fired = false
        XCTAssertTrue(net.run(for: 60_000_000) {
            sink.pump(server, events: [])
            if !fired, (sink.data[id]?.count ?? 0) > bytes / 3 { fired = true; midway() }
            return sink.fin.contains(id)
        })
        XCTAssertTrue(sink.data[id] == data, "the transfer survived")
    }

    func testMigrationMidTransferValidatesRotatesCIDsAndResetsRecovery() throws {
        let (net, client, server) = try pair()
        let original = net.client.address
        follow(net, client)
        let clientCID = client.cids.currentRemote
        let serverCID = server.cids.currentRemote
        var rttAtSwitch: QuicDuration?
        try transfer(net, client, server, bytes: 400_000) {
            do { try client.migrate(toLocal: self.newAddress, now: net.now) } catch { XCTFail("\(error)") }
            rttAtSwitch = client.recovery.smoothedRTT
        }
        XCTAssertTrue(net.run(for: 10_000_000) { !client.isProbingLocalPath && server.pathValidation == nil })
        XCTAssertEqual(rttAtSwitch, kInitialRTT, "§9.4: a new local IP address starts from the initial RTT")
        XCTAssertEqual(client.localAddress, newAddress)
        XCTAssertEqual(server.remoteAddress, newAddress, "the server followed (§9.3)")
        XCTAssertEqual(localChanges(net, client), [newAddress])
        XCTAssertNotEqual(client.cids.currentRemote, clientCID, "§9.5: a fresh CID of the server on the new path")
        XCTAssertNotEqual(server.cids.currentRemote, serverCID, "§9.5: the server answers with a fresh CID too")
        XCTAssertFalse(server.cids.remote.contains { $0.id == serverCID }, "the old client CID was retired by the server")
        XCTAssertFalse(client.cids.remote.contains { $0.id == clientCID }, "the old server CID was retired")
        XCTAssertEqual(client.statistics.pathChanges, 1)
        XCTAssertNotEqual(original, newAddress)
        XCTAssertNil(net.client.events(client).transportClose)
        XCTAssertNil(net.server.events(server).transportClose)
        // The connection keeps working on the new path, with the old address gone.
        net.clientAlsoReceivesAt = []
        try transfer(net, client, server, bytes: 50_000)
    }

    /// A client with nothing left to send migrates: the one datagram it sends from the new
    /// address (PING + PATH_CHALLENGE, 1200 bytes) must let the server send its own
    /// PATH_CHALLENGE there (§9.3: 3x what it received from that address, that datagram
    /// included), or the server's validation fails and it goes back to the old address.
    func testIdleClientMigrationIsValidatedByTheServer() throws {
        let (net, client, server) = try pair()
        follow(net, client)
        XCTAssertTrue(net.run(for: 2_000_000) { client.recovery.recovery.bytesInFlight == 0 })
        try client.migrate(toLocal: newAddress, now: net.now)
        XCTAssertTrue(net.run(for: 10_000_000) { !client.isProbingLocalPath && server.pathValidation == nil })
        XCTAssertEqual(server.remoteAddress, newAddress)
        let moves = net.server.events(server).compactMap { if case .peerAddressChanged(let a) = $0 { return a } else { return nil } }
        XCTAssertEqual(moves, [newAddress], "validated at the first attempt, no return to the old address")
        net.clientAlsoReceivesAt = []
        try transfer(net, client, server, bytes: 20_000)
    }

    func testLostPathChallengeIsResent() throws {
        let (net, client, server) = try pair()
        var droppedChallenge = false
        var migratedAt: QuicInstant?
        follow(net, client) { from, bytes in
            // The first datagram from the new address carries the PATH_CHALLENGE (padded to
            // 1200 bytes, §8.2.1): lost.
            if from == self.newAddress, !droppedChallenge { droppedChallenge = true; return true }
            return false
        }
        try client.migrate(toLocal: newAddress, now: net.now)
        migratedAt = net.now
        XCTAssertTrue(client.isProbingLocalPath)
        XCTAssertTrue(net.run(for: 20_000_000) { !client.isProbingLocalPath })
        XCTAssertTrue(droppedChallenge)
        XCTAssertEqual(client.localAddress, newAddress, "validated by the resent challenge")
        XCTAssertEqual(localChanges(net, client), [newAddress], "no fallback")
        XCTAssertGreaterThan(net.now, try XCTUnwrap(migratedAt))
        try transfer(net, client, server, bytes: 30_000)
        XCTAssertEqual(server.remoteAddress, newAddress)
    }

    func testFailedValidationFallsBackToPreviousAddress() throws {
        let (net, client, server) = try pair()
        let original = net.client.address
        // The new network reaches nobody: everything sent from the new address is lost.
        follow(net, client) { from, _ in from == self.newAddress }
        try client.migrate(toLocal: newAddress, now: net.now)
        XCTAssertTrue(net.run(for: 30_000_000) { !client.isProbingLocalPath })
        XCTAssertEqual(client.localAddress, original)
        XCTAssertEqual(localChanges(net, client), [newAddress, original])
        XCTAssertFalse(client.isClosed)
        // The connection works again from the old address.
        try transfer(net, client, server, bytes: 60_000)
        XCTAssertEqual(server.remoteAddress, original)
        XCTAssertNil(net.client.events(client).transportClose)
    }

    func testRefusals() throws {
        // Before the handshake is confirmed (RFC 9000 §9).
        let early = SimConfigs.network()
        let c0 = try early.connect(SimConfigs.client())
        XCTAssertThrowsError(try c0.migrate(toLocal: newAddress, now: early.now)) {
            XCTAssertEqual($0 as? LocalMigrationRefusal, .handshakeNotConfirmed)
        }
        // A server does not migrate actively.
        let (net, client, server) = try pair()
        XCTAssertEqual(server.localMigrationRefusal, .notClient)
        // §9.5: each migration takes an unused CID of the server; migrating again at once
        // (before the server's replacement NEW_CONNECTION_IDs arrive) runs out of them.
        follow(net, client)
        let spares = client.cids.remote.count - 1
        XCTAssertGreaterThanOrEqual(spares, 1)
        for i in 0..<spares {
            XCTAssertNoThrow(try client.migrate(toLocal: SocketAddress(ipv4: 10, 0, 1, UInt8(i), port: 1), now: net.now))
        }
        XCTAssertThrowsError(try client.migrate(toLocal: newAddress, now: net.now)) {
            XCTAssertEqual($0 as? LocalMigrationRefusal, .noSpareConnectionID)
        }
        XCTAssertEqual(client.localMigrationRefusal, .noSpareConnectionID)
        // The server replaces the retired CID (§5.1.1): migrating again works later.
        XCTAssertTrue(net.run(for: 10_000_000) { !client.isProbingLocalPath && client.localMigrationRefusal == nil })
        // After closing.
        client.close(errorCode: 0, now: net.now)
        XCTAssertEqual(client.localMigrationRefusal, .closed)
    }

    func testPeerDisabledActiveMigration() throws {
        var serverConfig = SimConfigs.server()
        serverConfig.transportParameters.disableActiveMigration = true
        let (net, client, _) = try pair(server: serverConfig)
        XCTAssertEqual(client.peerTransportParameters?.disableActiveMigration, true)
        XCTAssertThrowsError(try client.migrate(toLocal: newAddress, now: net.now)) {
            XCTAssertEqual($0 as? LocalMigrationRefusal, .peerDisabledMigration, "RFC 9000 §18.2")
        }
        XCTAssertEqual(localChanges(net, client), [])
    }

    /// A server that sent disable_active_migration (MigrationEnabled = FALSE) still follows a
    /// client whose address changes, after validating it: RFC 9000 §18.2 lets it ("proceed with
    /// path validation and allow the peer to migrate"), a NAT rebinding cannot be told apart,
    /// and MsQuic does the same.
    func testServerThatDisabledMigrationFollowsARebinding() throws {
        var serverConfig = SimConfigs.server()
        serverConfig.transportParameters.disableActiveMigration = true
        let (net, client, server) = try pair(server: serverConfig)
        let moved = SocketAddress(ipv4: 10, 0, 5, 5, port: 7000)
        try transfer(net, client, server, bytes: 100_000) { net.client.address = moved }
        XCTAssertTrue(net.run(for: 10_000_000) { server.pathValidation == nil })
        XCTAssertEqual(server.remoteAddress, moved)
        XCTAssertNil(net.server.events(server).transportClose)
    }

    /// A NAT rebinding (the client keeps its CID) leaves the server on its CID (§9.5 lets it).
    func testRebindingKeepsServerCID() throws {
        let (net, client, server) = try pair()
        let serverCID = server.cids.currentRemote
        try transfer(net, client, server, bytes: 100_000) {
            net.client.address = SocketAddress(ipv4: 10, 0, 0, 1, port: 6001)
        }
        XCTAssertEqual(server.remoteAddress, SocketAddress(ipv4: 10, 0, 0, 1, port: 6001))
        XCTAssertEqual(server.cids.currentRemote, serverCID)
    }
}
