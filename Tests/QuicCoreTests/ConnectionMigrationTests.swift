import XCTest
@testable import QuicCore
import QuicWire

/// The server follows a client whose address changes (RFC 9000 §9): NAT rebinding of the
/// port, a new IP address, path validation with PATH_CHALLENGE/RESPONSE (§8.2), the
/// anti-amplification limit on the unvalidated path (§9.3) and the return to the validated
/// address when validation fails (§9.3.2).
final class ConnectionMigrationTests: XCTestCase {
    func pair() throws -> (SimNetwork, Connection, Connection) {
        let net = SimConfigs.network()
        let c = try net.connect(SimConfigs.client())
        XCTAssertTrue(net.run { c.isHandshakeConfirmed && (net.server.accepted.first?.isHandshakeConfirmed ?? false) })
        return (net, c, try XCTUnwrap(net.server.accepted.first))
    }

    /// Sends `bytes` from the client on a new stream and runs until the server has them all,
    /// calling `midway` once when about a third has arrived. Checks the amplification limit of
    /// the server's unvalidated path at every step.
    func transfer(_ net: SimNetwork, _ client: Connection, _ server: Connection, bytes: Int,
                  observe: (() -> Void)? = nil, midway: @escaping () -> Void) throws {
        let id = try client.openStream(bidirectional: true)
        let data = (0..<bytes).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try client.send(stream: id, bytes: data, fin: true)
        let sink = StreamSink()
        sink.seen.insert(id)
        var fired = false
        net.afterDelivery = {
            observe?()
            if let v = server.pathValidation {
                XCTAssertLessThanOrEqual(v.sent, 3 * v.received, "§9.3: at most 3x to an unvalidated address")
            }
        }
        XCTAssertTrue(net.run(for: 60_000_000) {
            sink.pump(server, events: [])
            if !fired, (sink.data[id]?.count ?? 0) > bytes / 3 { fired = true; midway() }
            return sink.fin.contains(id)
        })
        XCTAssertTrue(fired)
        XCTAssertTrue(sink.data[id] == data, "the transfer survived")
    }

    func changes(_ net: SimNetwork, _ server: Connection) -> [SocketAddress] {
        net.server.events(server).compactMap { if case .peerAddressChanged(let a) = $0 { return a } else { return nil } }
    }

    func testNATRebindingOfThePortMidTransfer() throws {
        let (net, client, server) = try pair()
        let moved = SocketAddress(ipv4: 10, 0, 0, 1, port: 6001)
        try transfer(net, client, server, bytes: 300_000) { net.client.address = moved }
        XCTAssertEqual(server.remoteAddress, moved)
        XCTAssertEqual(changes(net, server), [moved])
        XCTAssertNil(server.pathValidation, "the new path was validated")
        XCTAssertEqual(server.statistics.pathChanges, 1)
        XCTAssertGreaterThan(net.misaddressed, 0, "some datagrams went to the old address")
        // Port only: the path's RTT estimate was kept (§9.4 lets a rebinding keep it).
        XCTAssertLessThan(server.recovery.smoothedRTT, kInitialRTT)
        XCTAssertNil(net.server.events(server).transportClose)
    }

    func testNewAddressResetsCongestionStateAndValidates() throws {
        let (net, client, server) = try pair()
        let moved = SocketAddress(ipv4: 10, 0, 7, 9, port: 5000)
        var atSwitch: (rtt: QuicDuration, window: UInt64)?
        try transfer(net, client, server, bytes: 300_000, observe: {
            if atSwitch == nil, server.remoteAddress == moved {
                atSwitch = (server.recovery.smoothedRTT, server.recovery.recovery.congestionWindow)
            }
        }) { net.client.address = moved }
        // §9.4: a new IP address starts with the initial RTT and window.
        XCTAssertEqual(atSwitch?.rtt, kInitialRTT)
        XCTAssertEqual(atSwitch?.window, server.recovery.recovery.congestion.initialWindow)
        XCTAssertEqual(server.remoteAddress, moved)
        XCTAssertEqual(changes(net, server), [moved])
        XCTAssertNil(server.pathValidation)
        XCTAssertNil(net.server.events(server).transportClose)
    }

    /// The client shows up once from another address and then is back on the old one, which
    /// sends the next, higher-numbered packets: the server returns to the validated address
    /// at once (no validation needed) and the transfer goes on.
    func testReorderedOldAddressReturnsToValidatedPath() throws {
        let (net, client, server) = try pair()
        let original = net.client.address
        let detour = SocketAddress(ipv4: 10, 0, 0, 1, port: 7001)
        try transfer(net, client, server, bytes: 200_000) { net.client.address = detour }
        // Back to the original address after the transfer's first third went via the detour.
        net.client.address = original
        let id = try client.openStream(bidirectional: true)
        try client.send(stream: id, bytes: [UInt8](repeating: 1, count: 50_000), fin: true)
        let sink = StreamSink()
        sink.seen.insert(id)
        XCTAssertTrue(net.run(for: 30_000_000) { sink.pump(server, events: []); return sink.fin.contains(id) })
        XCTAssertEqual(server.remoteAddress, original)
        XCTAssertEqual(changes(net, server).last, original)
    }

    /// A new address that never answers the PATH_CHALLENGE (a spoofed source): validation is
    /// abandoned and the server goes back to the address it had validated (§9.3.2).
    func testFailedValidationReturnsToPreviousAddress() throws {
        let (net, client, server) = try pair()
        let original = net.client.address
        let spoofed = SocketAddress(ipv4: 10, 9, 9, 9, port: 4444)
        // One genuine client packet re-sent by an attacker from a spoofed address, carrying
        // the highest packet number the server has seen (the real one never arrives).
        client.ping()
        let (_, datagram) = try XCTUnwrap(client.pollTransmit(now: net.now))
        net.server.endpoint.handle(datagram: datagram, from: spoofed, now: net.now)
        XCTAssertEqual(server.remoteAddress, spoofed)
        XCTAssertNotNil(server.pathValidation)
        // The spoofed address is a black hole: the server's challenges there go nowhere, and
        // at most 3x the 1 datagram it got.
        XCTAssertTrue(net.run(for: 10_000_000) { server.pathValidation == nil })
        XCTAssertEqual(server.remoteAddress, original)
        XCTAssertEqual(changes(net, server), [spoofed, original])
        XCTAssertFalse(server.isClosed)
        // The connection still works on the original path.
        let id = try client.openStream(bidirectional: true)
        try client.send(stream: id, bytes: [UInt8](repeating: 2, count: 10_000), fin: true)
        let sink = StreamSink()
        sink.seen.insert(id)
        XCTAssertTrue(net.run(for: 30_000_000) { sink.pump(server, events: []); return sink.fin.contains(id) })
    }
}
