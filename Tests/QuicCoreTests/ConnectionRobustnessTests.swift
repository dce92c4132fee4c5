import XCTest
@testable import QuicCore
import QuicCrypto
import QuicTLS
import QuicWire

final class ConnectionRobustnessTests: XCTestCase {
    /// Random frame bytes from an authenticated peer: the server must never trap, and either
    /// stay open or close with a transport error code from RFC 9000 §20.1.
    func testRandomFramesFromPeerNeverTrap() throws {
        var rng = SimRandom(seed: 42)
        var closes: [UInt64: Int] = [:]
        for i in 0..<150 {
            let net = SimConfigs.network(seed: UInt64(i))
            let client = try net.connect(SimConfigs.client())
            XCTAssertTrue(net.run { client.isHandshakeConfirmed && (net.server.accepted.first?.isHandshakeComplete ?? false) })
            let server = try XCTUnwrap(net.server.accepted.first)
            var frame: [UInt8] = []
            // Half the time a plausible frame type (0x00...0x1f, 0x30, 0x31), then random bytes.
            if rng.next() % 2 == 0 { frame.append(UInt8(rng.next() % 0x20)) } else { frame.append(UInt8(0x30 + rng.next() % 2)) }
            for _ in 0..<(rng.next() % 40) { frame.append(UInt8(truncatingIfNeeded: rng.next())) }
            client.injectedFrames.append(frame)
            net.run(for: 3_000_000)
            if let r = net.server.events(server).transportClose, !r.fromPeer {
                XCTAssertLessThanOrEqual(r.errorCode, 0x11, "frame \(frame)")
                closes[r.errorCode, default: 0] += 1
            }
        }
        XCTAssertGreaterThan(closes.count, 2)  // several error classes reached
    }

    /// Random datagrams at both endpoints (long and short headers, all sizes): no trap, no state.
    func testRandomDatagramsAtEndpoints() throws {
        var rng = SimRandom(seed: 7)
        let net = SimConfigs.network()
        let client = try net.connect(SimConfigs.client())
        XCTAssertTrue(net.run { client.isHandshakeConfirmed })
        for _ in 0..<3000 {
            var d = (0..<(Int(rng.next() % 1500) + 1)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            if rng.next() % 3 == 0, d.count > 9 {
                // Aim at a live connection ID so the packet reaches a connection's decryption.
                let cid = client.localConnectionIDs[0].bytes
                d[0] = 0x40 | (d[0] & 0x3f)
                for (j, b) in cid.enumerated() where j + 1 < d.count { d[j + 1] = b }
                net.client.endpoint.handle(datagram: d, from: net.server.address, now: net.now)
            } else {
                net.server.endpoint.handle(datagram: d, from: SocketAddress(ipv4: 9, 9, 9, 9, port: 1), now: net.now)
            }
        }
        XCTAssertFalse(client.isClosed)
        XCTAssertEqual(net.server.endpoint.allConnections.count, 1)
    }

    func testStreamResetAndStopSendingReachPeer() throws {
        let net = SimConfigs.network()
        let client = try net.connect(SimConfigs.client())
        XCTAssertTrue(net.run { client.isHandshakeConfirmed })
        let server = try XCTUnwrap(net.server.accepted.first)
        let a = try client.openStream(bidirectional: true)
        try client.send(stream: a, bytes: [1, 2, 3])
        net.run(for: 500_000)
        try client.resetStream(a, errorCode: 77)
        try client.stopSending(a, errorCode: 88)
        net.run(for: 1_000_000)
        let events = net.server.events(server)
        XCTAssertTrue(events.contains(.stream(.peerSendAborted(a, errorCode: 77))))
        XCTAssertTrue(events.contains(.stream(.peerReceiveAborted(a, errorCode: 88))))
    }

    func testPeerNeedsStreamsEvent() throws {
        var s = SimConfigs.server()
        s.transportParameters.initialMaxStreamsUni = 1
        let net = SimConfigs.network(server: s)
        let client = try net.connect(SimConfigs.client())
        XCTAssertTrue(net.run { client.isHandshakeConfirmed })
        let server = try XCTUnwrap(net.server.accepted.first)
        _ = try client.openStream(bidirectional: false)
        XCTAssertThrowsError(try client.openStream(bidirectional: false))
        // The stream layer announces STREAMS_BLOCKED when asked to open past the limit.
        net.run(for: 1_000_000)
        XCTAssertTrue(net.server.events(server).contains(.peerNeedsStreams(bidirectional: false)))
    }

    func testResumedHandshake() throws {
        var s = SimConfigs.server()
        s.tls.ticketSealer = try TicketKeyRing(keys: [TicketKey.random()])
        let net = SimConfigs.network(server: s)
        let first = try net.connect(SimConfigs.client())
        XCTAssertTrue(net.run { first.isHandshakeConfirmed })
        let server = try XCTUnwrap(net.server.accepted.first)
        try server.sendResumptionTicket(appData: [], now: net.now)
        var ticket: [UInt8]?
        XCTAssertTrue(net.run(for: 2_000_000) {
            for e in net.client.events(first) { if case .resumptionTicketReceived(let t) = e { ticket = t } }
            return ticket != nil
        })
        var c = SimConfigs.client()
        c.tls.resumptionTicket = try ClientSessionTicket(serialized: try XCTUnwrap(ticket))
        let second = try net.connect(c)
        XCTAssertTrue(net.run { second.isHandshakeConfirmed })
        XCTAssertTrue(net.client.events(second).contains(.connected(alpn: Array("sim".utf8), resumed: true)))
    }
}
