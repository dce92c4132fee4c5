import XCTest
@testable import QuicCore
import QuicCrypto
import QuicTLS
import QuicWire

/// Key update limits (RFC 9001 §6.1, §6.2) and AEAD usage limits (RFC 9001 §6.6).
final class ConnectionKeyUpdateRulesTests: XCTestCase {
    func pair() throws -> (SimNetwork, Connection, Connection) {
        let net = SimConfigs.network()
        let c = try net.connect(SimConfigs.client())
        XCTAssertTrue(net.run { c.isHandshakeConfirmed && (net.server.accepted.first?.isHandshakeComplete ?? false) })
        net.run(for: 1_000_000)  // every ACK exchanged, nothing pending
        return (net, c, try XCTUnwrap(net.server.accepted.first))
    }

    /// The client moves to the next key phase (skipping the §6.1 check) and sends a PING,
    /// delivered straight to the server.
    func clientUpdatesAndPings(_ net: SimNetwork, _ client: Connection) throws {
        try XCTUnwrap(client.oneRTT).update()
        client.ping()
        let (_, datagram) = try XCTUnwrap(client.pollTransmit(now: net.now))
        net.server.endpoint.handle(datagram: datagram, from: net.client.address, now: net.now)
    }

    /// The server sends whatever it has (its ACK), dropped on the way.
    func serverSendsAck(_ net: SimNetwork, _ server: Connection) {
        var sent = 0
        while server.pollTransmit(now: net.now + .milliseconds(100)) != nil { sent += 1 }
        XCTAssertGreaterThan(sent, 0)
    }

    func testConsecutiveKeyUpdateWithoutAcknowledgmentIsKeyUpdateError() throws {
        let (net, client, server) = try pair()
        try clientUpdatesAndPings(net, client)
        XCTAssertEqual(server.keyUpdateGeneration, 1)
        XCTAssertEqual(server.state, .open)
        // The server has not yet acknowledged the update's packet with its new keys.
        try clientUpdatesAndPings(net, client)
        XCTAssertEqual(server.drainedTransportClose()?.errorCode, TransportErrorCode.keyUpdateError.rawValue)
    }

    func testKeyUpdateAfterAcknowledgmentIsAccepted() throws {
        let (net, client, server) = try pair()
        try clientUpdatesAndPings(net, client)
        serverSendsAck(net, server)
        try clientUpdatesAndPings(net, client)
        XCTAssertEqual(server.keyUpdateGeneration, 2)
        XCTAssertNil(server.drainedTransportClose())
    }

    func testPeerUpdateRightAfterOurUpdateNeedsOurAcknowledgment() throws {
        // We update; the peer follows (its packets are in our current phase); it may update
        // again only once we acknowledged one of those (RFC 9001 §6.1).
        let (net, client, server) = try pair()
        try server.initiateKeyUpdate()
        server.ping()
        let (_, d) = try XCTUnwrap(server.pollTransmit(now: net.now))
        client.handle(datagram: d, from: net.server.address, now: net.now)
        XCTAssertEqual(client.keyUpdateGeneration, 1)
        client.ping()
        let (_, reply) = try XCTUnwrap(client.pollTransmit(now: net.now))
        net.server.endpoint.handle(datagram: reply, from: net.client.address, now: net.now)
        XCTAssertEqual(server.state, .open)
        try clientUpdatesAndPings(net, client)
        XCTAssertEqual(server.drainedTransportClose()?.errorCode, TransportErrorCode.keyUpdateError.rawValue)
    }

    func testConfidentialityLimitClosesWhenKeysCannotBeUpdated() throws {
        let (net, client, server) = try pair()
        let suite = try XCTUnwrap(client.tls.negotiatedCipherSuite)
        client.packetsWithCurrentKey = suite.confidentialityLimit - 100
        client.currentPhaseAcked = false  // an update is not allowed yet (RFC 9001 §6.1)
        client.ping()
        XCTAssertTrue(net.run(for: 5_000_000) { client.isClosed && server.isClosed })
        XCTAssertEqual(net.client.events(client).transportClose?.errorCode, TransportErrorCode.aeadLimitReached.rawValue)
        XCTAssertEqual(net.server.events(server).transportClose?.errorCode, TransportErrorCode.aeadLimitReached.rawValue)
    }

    func testApproachingConfidentialityLimitUpdatesKeys() throws {
        let (net, client, server) = try pair()
        let suite = try XCTUnwrap(client.tls.negotiatedCipherSuite)
        client.packetsWithCurrentKey = suite.confidentialityLimit - 1000
        client.ping()
        net.run(for: 1_000_000)
        XCTAssertEqual(client.keyUpdateGeneration, 1)
        XCTAssertEqual(server.keyUpdateGeneration, 1)
        XCTAssertEqual(client.state, .open)
    }

    func testIntegrityLimitClosesWithAEADLimitReached() throws {
        let (net, client, server) = try pair()
        let suite = try XCTUnwrap(server.tls.negotiatedCipherSuite)
        server.forgedPackets = suite.integrityLimit - 1
        client.ping()
        var (_, forged) = try XCTUnwrap(client.pollTransmit(now: net.now))
        forged[forged.count - 1] ^= 0x55  // the AEAD tag no longer verifies
        net.server.endpoint.handle(datagram: forged, from: net.client.address, now: net.now)
        XCTAssertEqual(server.state, .open, "reaching the limit is allowed, exceeding it is not")
        net.server.endpoint.handle(datagram: forged, from: net.client.address, now: net.now)
        XCTAssertEqual(server.drainedTransportClose()?.errorCode, TransportErrorCode.aeadLimitReached.rawValue)
    }

    func testFrequentUpdatesFromBothSidesUnderLossNeverTripTheChecks() throws {
        // Both ends update on their own every few dozen packets, with loss, reordering and
        // duplication: a legitimate peer never triggers KEY_UPDATE_ERROR.
        for seed in UInt64(2)...4 {
            var c = SimConfigs.client()
            c.keyUpdateInterval = 20
            var s = SimConfigs.server()
            s.keyUpdateInterval = 30
            let net = SimConfigs.network(seed: seed, server: s)
            net.link.loss = 0.05
            net.link.jitter = 8_000
            net.link.duplication = 0.02
            let client = try net.connect(c)
            XCTAssertTrue(net.run { client.isHandshakeConfirmed && (net.server.accepted.first?.isHandshakeComplete ?? false) })
            let server = try XCTUnwrap(net.server.accepted.first)
            let id = try client.openStream(bidirectional: true)
            let data = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            try client.send(stream: id, bytes: data, fin: true)
            let sink = StreamSink()
            sink.seen.insert(id)
            XCTAssertTrue(net.run(for: 120_000_000) { sink.pump(server, events: []); return sink.fin.contains(id) }, "seed \(seed)")
            XCTAssertTrue(sink.data[id] == data)
            XCTAssertGreaterThan(client.keyUpdateGeneration, 3)
            XCTAssertNil(net.server.events(server).transportClose, "seed \(seed)")
            XCTAssertNil(net.client.events(client).transportClose, "seed \(seed)")
        }
    }
}

/// Key updates driven by the bytes protected with one key (RFC 9001 §6; MsQuic's
/// QUIC_SETTINGS.MaxBytesPerKey).
final class ConnectionKeyUpdateBytesTests: XCTestCase {
    func transfer(client config: ConnectionConfiguration, bytes: Int) throws -> Connection {
        let net = SimConfigs.network()
        let client = try net.connect(config)
        XCTAssertTrue(net.run { client.isHandshakeConfirmed && (net.server.accepted.first?.isHandshakeComplete ?? false) })
        let server = try XCTUnwrap(net.server.accepted.first)
        let id = try client.openStream(bidirectional: true)
        let data = (0..<bytes).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        try client.send(stream: id, bytes: data, fin: true)
        let sink = StreamSink()
        sink.seen.insert(id)
        XCTAssertTrue(net.run(for: 60_000_000) { sink.pump(server, events: []); return sink.fin.contains(id) })
        XCTAssertTrue(sink.data[id] == data)
        XCTAssertNil(net.server.events(server).transportClose)
        return client
    }

    func testUpdatesAfterTheConfiguredBytesPerKey() throws {
        var c = SimConfigs.client()
        c.keyUpdateBytes = 50_000
        let client = try transfer(client: c, bytes: 1_000_000)
        // Each phase protects at least the configured bytes (more while an update waits for
        // the acknowledgment of the current phase, RFC 9001 §6.1, and then 3 PTOs, §6.5): the
        // bytes on the wire bound the number of updates from above; the transfer lasts long
        // enough for several.
        let sent = client.statistics.sentBytes
        XCTAssertLessThanOrEqual(client.keyUpdateGeneration, sent / 50_000)
        XCTAssertGreaterThanOrEqual(client.keyUpdateGeneration, 2)
    }

    func testNoByteLimitMeansNoUpdate() throws {
        let client = try transfer(client: SimConfigs.client(), bytes: 300_000)
        XCTAssertEqual(client.keyUpdateGeneration, 0)
    }

    func testNextUpdateWaitsForAcknowledgmentOfTheCurrentPhase() throws {
        // RFC 9001 §6.1, §6.5: past the limit again, a new update waits until the peer
        // acknowledged a packet sent with the current keys.
        let net = SimConfigs.network()
        var c = SimConfigs.client()
        c.keyUpdateBytes = 3_000
        let client = try net.connect(c)
        XCTAssertTrue(net.run { client.isHandshakeConfirmed && (net.server.accepted.first?.isHandshakeComplete ?? false) })
        net.run(for: 1_000_000)
        XCTAssertEqual(client.keyUpdateGeneration, 0)
        net.tap = { toServer, bytes in toServer ? bytes : nil }   // nothing reaches the client
        let id = try client.openStream(bidirectional: true)
        try client.send(stream: id, bytes: [UInt8](repeating: 7, count: 40_000), fin: true)
        net.run(for: 500_000)
        XCTAssertEqual(client.keyUpdateGeneration, 1)
        net.tap = nil
        // Traffic after the 3-PTO wait of RFC 9001 §6.5 gives the next update its occasion.
        net.run(for: 1_000_000)
        let more = try client.openStream(bidirectional: true)
        try client.send(stream: more, bytes: [UInt8](repeating: 8, count: 40_000), fin: true)
        net.run(for: 5_000_000)
        XCTAssertGreaterThan(client.keyUpdateGeneration, 1)
    }

    /// RFC 9001 §6.5: with a tiny MaxBytesPerKey, successive updates we start are at least
    /// three PTOs apart (each waits 3 PTOs after the acknowledgment that confirmed the one
    /// before), and the transfer completes. Before, the next update followed ~1 RTT after the
    /// confirmation and ngtcp2 dropped the packets of the new phase.
    func testSuccessiveUpdatesWaitThreePTOs() throws {
        let net = SimConfigs.network()
        var c = SimConfigs.client()
        c.keyUpdateBytes = 3_000
        let client = try net.connect(c)
        XCTAssertTrue(net.run { client.isHandshakeConfirmed && (net.server.accepted.first?.isHandshakeComplete ?? false) })
        let server = try XCTUnwrap(net.server.accepted.first)
        var updates: [(at: QuicInstant, pto: QuicDuration)] = []
        var generation = client.keyUpdateGeneration
        net.afterDelivery = {
            if client.keyUpdateGeneration != generation {
                generation = client.keyUpdateGeneration
                updates.append((net.now, client.recovery.pto))
            }
        }
        let id = try client.openStream(bidirectional: true)
        let data = [UInt8](repeating: 5, count: 400_000)
        try client.send(stream: id, bytes: data, fin: true)
        let sink = StreamSink()
        sink.seen.insert(id)
        XCTAssertTrue(net.run(for: 60_000_000) { sink.pump(server, events: []); return sink.fin.contains(id) })
        XCTAssertTrue(sink.data[id] == data)
        XCTAssertGreaterThanOrEqual(updates.count, 2)
        for (a, b) in zip(updates, updates.dropFirst()) {
            // The decision used the PTO of its moment (b's), counted from a confirmation after a.
            XCTAssertGreaterThanOrEqual(b.at - a.at, 3 * b.pto, "updates at \(a.at) and \(b.at)")
        }
    }
}
