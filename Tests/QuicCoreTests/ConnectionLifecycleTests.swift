import XCTest
@testable import QuicCore
import QuicCrypto
import QuicTLS
import QuicWire

final class ConnectionLifecycleTests: XCTestCase {
    func pair(seed: UInt64 = 1, server: ConnectionConfiguration = SimConfigs.server(),
              client: ConnectionConfiguration = SimConfigs.client(),
              endpoint: (inout EndpointConfiguration) -> Void = { _ in }) throws -> (SimNetwork, Connection, Connection) {
        let net = SimConfigs.network(seed: seed, server: server, configure: endpoint)
        let c = try net.connect(client)
        XCTAssertTrue(net.run { c.isHandshakeConfirmed && (net.server.accepted.first?.isHandshakeComplete ?? false) })
        return (net, c, try XCTUnwrap(net.server.accepted.first))
    }

    func testIdleTimeoutClosesBothSilently() throws {
        var s = SimConfigs.server()
        s.transportParameters.maxIdleTimeout = 5_000
        let (net, client, server) = try pair(server: s)
        let start = net.now
        net.link.blackhole = true
        XCTAssertTrue(net.run(for: 60_000_000) { client.isClosed && server.isClosed })
        let elapsed = net.now - start
        XCTAssertGreaterThanOrEqual(elapsed, .seconds(5))
        XCTAssertLessThan(elapsed, .seconds(8))
        XCTAssertEqual(net.client.events(client).transportClose?.idleTimeout, true)
        XCTAssertEqual(net.server.events(server).transportClose?.idleTimeout, true)
        XCTAssertTrue(net.client.events(client).shutdownComplete)
    }

    // QUIC_STATISTICS Timing as MsQuic records it: creation, first read-key change (the
    // peer's Initial flight consumed), handshake completion. 10 ms each way on the sim.
    func testTimingStatistics() throws {
        let net = SimConfigs.network()
        let start = net.now
        let client = try net.connect(SimConfigs.client())
        XCTAssertTrue(net.run { client.isHandshakeComplete && (net.server.accepted.first?.isHandshakeComplete ?? false) })
        let c = client.statistics
        XCTAssertEqual(c.timingStart, start.microseconds)
        XCTAssertGreaterThanOrEqual(c.timingInitialFlightEnd, c.timingStart + 20_000, "the ServerHello needs a round trip")
        XCTAssertGreaterThanOrEqual(c.timingHandshakeFlightEnd, c.timingInitialFlightEnd)
        let s = try XCTUnwrap(net.server.accepted.first).statistics
        XCTAssertGreaterThanOrEqual(s.timingStart, start.microseconds + 10_000, "created when the first Initial arrived")
        XCTAssertGreaterThanOrEqual(s.timingInitialFlightEnd, s.timingStart)
        XCTAssertGreaterThanOrEqual(s.timingHandshakeFlightEnd, s.timingInitialFlightEnd + 20_000,
                                    "the client's Finished comes a round trip after the server's flight")
    }

    // MsQuic's DisconnectTimeoutMs: data unacknowledged for that long ends the connection
    // silently, well before the (longer) idle timeout; nothing outstanding, nothing happens.
    func testDisconnectTimeoutGivesUpOnUnacknowledgedData() throws {
        var s = SimConfigs.server()
        s.transportParameters.maxIdleTimeout = 30_000
        var c = SimConfigs.client()
        c.transportParameters.maxIdleTimeout = 30_000
        c.disconnectTimeout = .seconds(1)
        let (net, client, server) = try pair(server: s, client: c)
        net.run(for: 3_000_000)
        XCTAssertFalse(client.isClosed, "nothing outstanding: no disconnect timeout")
        let start = net.now
        net.link.blackhole = true
        let id = try client.openStream(bidirectional: true)
        try client.send(stream: id, bytes: [UInt8](repeating: 7, count: 5_000), fin: false)
        XCTAssertTrue(net.run(for: 20_000_000) { client.isClosed })
        let elapsed = net.now - start
        XCTAssertGreaterThanOrEqual(elapsed, .seconds(1))
        XCTAssertLessThan(elapsed, .seconds(5), "given up at the disconnect deadline, not at idle")
        let reason = try XCTUnwrap(net.client.events(client).transportClose)
        XCTAssertTrue(reason.disconnectTimeout)
        XCTAssertFalse(reason.idleTimeout)
        XCTAssertFalse(server.isClosed, "silent: the server learns nothing")
    }

    func testKeepAlivePreventsIdleTimeout() throws {
        var s = SimConfigs.server()
        s.transportParameters.maxIdleTimeout = 3_000
        var c = SimConfigs.client()
        c.keepAliveInterval = .seconds(1)
        let (net, client, server) = try pair(server: s, client: c)
        net.run(for: 20_000_000)
        XCTAssertFalse(client.isClosed)
        XCTAssertFalse(server.isClosed)
    }

    /// A server configured to refuse (the application turned the connection away) answers the
    /// client's first flight with CONNECTION_CLOSE in an Initial packet instead of a handshake:
    /// a transport error as given (CONNECTION_REFUSED), an application close as APPLICATION_ERROR
    /// (RFC 9000 §10.2.3). The client never completes its handshake.
    func testServerRefusalClosesInTheInitialSpace() throws {
        for (refusal, expected) in [(ConnectionConfiguration.Refusal.transportError(.connectionRefused), UInt64(0x02)),
                                    (.applicationClose(0x1234), UInt64(0x0c))] {
            var s = SimConfigs.server()
            s.refusal = refusal
            let net = SimConfigs.network(server: s)
            let c = try net.connect(SimConfigs.client())
            XCTAssertTrue(net.run(for: 5_000_000) { c.isClosed }, "\(refusal): the client ends at once")
            XCTAssertFalse(c.isHandshakeComplete, "\(refusal): no handshake")
            let reason = try XCTUnwrap(net.client.events(c).transportClose, "\(refusal)")
            XCTAssertTrue(reason.fromPeer)
            XCTAssertFalse(reason.isApplication, "\(refusal): CONNECTION_CLOSE 0x1c in an Initial packet")
            XCTAssertEqual(reason.errorCode, expected, "\(refusal)")
        }
    }

    func testApplicationCloseReachesPeer() throws {
        let (net, client, server) = try pair()
        client.close(errorCode: 42, reason: Array("bye".utf8), now: net.now)
        XCTAssertTrue(net.run(for: 10_000_000) { client.isClosed && server.isClosed })
        XCTAssertTrue(net.server.events(server).contains(.shutdownInitiatedByPeer(errorCode: 42)))
        XCTAssertTrue(net.server.events(server).shutdownComplete)
        XCTAssertTrue(net.client.events(client).shutdownComplete)
    }

    /// The peer's close is answered once with CONNECTION_CLOSE(NO_ERROR) (RFC 9000 §10.2.2),
    /// which the closing side takes as the peer acknowledging its shutdown (§10.2.1; MsQuic's
    /// PeerAcknowledgedShutdown); with the reply lost, the closing side times out unacknowledged.
    func testCloseIsAnsweredAndAcknowledged() throws {
        func peerAcknowledged(_ events: [ConnectionEvent]) -> Bool? {
            for e in events { if case .shutdownComplete(_, let acked, _) = e { return acked } }
            return nil
        }
        do {
            let (net, client, server) = try pair()
            client.close(errorCode: 9, now: net.now)
            XCTAssertTrue(net.run(for: 10_000_000) { client.isClosed && server.isClosed })
            XCTAssertEqual(peerAcknowledged(net.client.events(client)), true, "the server answered the close")
            XCTAssertEqual(peerAcknowledged(net.server.events(server)), true)
            XCTAssertTrue(net.server.events(server).contains(.shutdownInitiatedByPeer(errorCode: 9)))
        }
        do {
            let (net, client, server) = try pair()
            client.close(errorCode: 9, now: net.now)
            net.tap = { toServer, bytes in toServer ? bytes : nil }   // the reply is lost
            XCTAssertTrue(net.run(for: 10_000_000) { client.isClosed && server.isClosed })
            XCTAssertEqual(peerAcknowledged(net.client.events(client)), false)
        }
    }

    /// A client that closes as soon as its handshake completes (an app shutting down inside
    /// CONNECTED) still delivers its Finished and ACKs ahead of CONNECTION_CLOSE: the server
    /// completes its handshake, has an RTT sample, and drains for 3 PTOs of a real RTT
    /// instead of 3 × the 1 s initial PTO (RFC 9000 §10.2.3; MsQuic does the same).
    func testCloseRightAfterHandshakeCarriesFinished() throws {
        let net = SimConfigs.network(seed: 3, server: SimConfigs.server())
        let client = try net.connect(SimConfigs.client())
        var closedAt: QuicInstant?
        net.afterDelivery = {
            if closedAt == nil, client.isHandshakeComplete {
                client.close(errorCode: 7, now: net.now)
                closedAt = net.now
            }
        }
        XCTAssertTrue(net.run(for: 20_000_000) { client.isClosed && (net.server.accepted.first?.isClosed ?? false) })
        let server = try XCTUnwrap(net.server.accepted.first)
        XCTAssertTrue(server.isHandshakeComplete, "the server read the client's Finished before its close")
        XCTAssertNotNil(server.closeReason)
        // Both ends are gone well inside one initial PTO (RTT here is 20 ms).
        XCTAssertLessThan(net.now - (closedAt ?? net.now), .milliseconds(500))
    }

    /// The client plays a misbehaving peer; the server must close with `code`.
    func assertServerCloses(with code: TransportErrorCode, frame: [UInt8], file: StaticString = #filePath, line: UInt = #line) throws {
        let (net, client, server) = try pair()
        client.injectedFrames.append(frame)
        XCTAssertTrue(net.run(for: 10_000_000) { server.isClosed && client.isClosed }, file: file, line: line)
        let local = net.server.events(server).transportClose
        XCTAssertEqual(local?.errorCode, code.rawValue, "server's close", file: file, line: line)
        XCTAssertEqual(local?.fromPeer, false, file: file, line: line)
        // The client learns the same code from CONNECTION_CLOSE.
        let remote = net.client.events(client).transportClose
        XCTAssertEqual(remote?.errorCode, code.rawValue, "client's view", file: file, line: line)
        XCTAssertEqual(remote?.fromPeer, true, file: file, line: line)
    }

    func testUnknownFrameTypeIsFrameEncodingError() throws {
        try assertServerCloses(with: .frameEncodingError, frame: [0x40, 0x99])  // type 0x0099
    }

    func testHandshakeDoneFromClientIsProtocolViolation() throws {
        try assertServerCloses(with: .protocolViolation, frame: [0x1e])
    }

    func testStreamFrameOnServersUnopenedStreamIsStreamStateError() throws {
        // STREAM (0x0a: LEN) on stream 1 (server-initiated bidi, never opened).
        try assertServerCloses(with: .streamStateError, frame: [0x0a, 0x01, 0x01, 0xaa])
    }

    func testStreamBeyondFlowControlIsFlowControlError() throws {
        // STREAM with OFF|LEN at offset 2^30 on stream 0: beyond max_stream_data.
        try assertServerCloses(with: .flowControlError, frame: [0x0e, 0x00, 0xc0, 0, 0, 0, 0x40, 0, 0, 0, 0x01, 0xaa])
    }

    func testDatagramWithoutSupportIsProtocolViolation() throws {
        try assertServerCloses(with: .protocolViolation, frame: [0x31, 0x01, 0xaa])
    }

    func testTruncatedFrameIsFrameEncodingError() throws {
        // MAX_STREAM_DATA missing its value, then packet end.
        try assertServerCloses(with: .frameEncodingError, frame: [0x11, 0x00])
    }

    func testTooManyStreamsIsStreamLimitError() throws {
        // STREAM on client bidi stream index 1000 while the server allows 100.
        try assertServerCloses(with: .streamLimitError, frame: [0x0a, 0x4f, 0xa0, 0x01, 0xaa])
    }

    func testFlowControlLimitsRespectedInTransfer() throws {
        var s = SimConfigs.server()
        s.transportParameters.initialMaxData = 16_000
        s.transportParameters.initialMaxStreamDataBidiRemote = 8_000
        let (net, client, server) = try pair(server: s)
        let id = try client.openStream(bidirectional: true)
        let data = (0..<300_000).map { UInt8(truncatingIfNeeded: $0) }
        try client.send(stream: id, bytes: data, fin: true)
        let sink = StreamSink()
        sink.seen.insert(id)
        XCTAssertTrue(net.run(for: 120_000_000) {
            sink.pump(server, events: [])
            return sink.fin.contains(id)
        })
        XCTAssertTrue(sink.data[id] == data)
        XCTAssertNil(net.server.events(server).transportClose)  // never a FLOW_CONTROL_ERROR
    }
}
