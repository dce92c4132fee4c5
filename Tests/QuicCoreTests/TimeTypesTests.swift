import XCTest
@testable import QuicCore
import QuicWire

/// `QuicDuration` / `QuicInstant` (issue 10): saturating at both ends, never trapping.
final class TimeTypesTests: XCTestCase {
    func testConstructionSaturates() {
        XCTAssertEqual(QuicDuration.milliseconds(3).microseconds, 3_000)
        XCTAssertEqual(QuicDuration.seconds(2).microseconds, 2_000_000)
        XCTAssertEqual(QuicDuration.milliseconds(UInt64.max / 1000).microseconds, (UInt64.max / 1000) * 1000)
        XCTAssertTrue(QuicDuration.milliseconds(UInt64.max / 1000 + 1).isInfinite)
        XCTAssertTrue(QuicDuration.milliseconds((1 << 62) - 1).isInfinite)  // QUIC_VAR_INT_MAX ms
        XCTAssertTrue(QuicDuration.milliseconds(1 << 61).isInfinite)
        XCTAssertTrue(QuicDuration.milliseconds(.max).isInfinite)
        XCTAssertTrue(QuicDuration.seconds(.max).isInfinite)
        XCTAssertEqual(QuicDuration.milliseconds(0), .zero)
    }

    func testDurationArithmeticSaturates() {
        let big = QuicDuration.microseconds(.max - 1)
        XCTAssertTrue((big + .microseconds(5)).isInfinite)
        XCTAssertTrue((QuicDuration.infinite + .infinite).isInfinite)
        XCTAssertEqual(QuicDuration.microseconds(5) - .microseconds(9), .zero)   // floors at zero
        XCTAssertEqual(QuicDuration.microseconds(9) - .microseconds(5), .microseconds(4))
        XCTAssertTrue((QuicDuration.infinite - .seconds(1)).isInfinite)
        XCTAssertTrue((QuicDuration.milliseconds(1 << 40) * 1 << 40).isInfinite)
        XCTAssertEqual(3 * QuicDuration.milliseconds(5), .milliseconds(15))
        XCTAssertTrue((QuicDuration.infinite * 3).isInfinite)
        XCTAssertEqual(QuicDuration.infinite * 0, .zero)
        XCTAssertTrue((QuicDuration.seconds(1) / 0).isInfinite)
        XCTAssertEqual(QuicDuration.seconds(1) / 4, .milliseconds(250))
        XCTAssertEqual(QuicDuration.microseconds(3).shifted(left: 2), .microseconds(12))
        XCTAssertTrue(QuicDuration.microseconds(3).shifted(left: 63).isInfinite)
        XCTAssertTrue(QuicDuration.microseconds(1).shifted(left: 64).isInfinite)
        XCTAssertTrue(QuicDuration.microseconds(1).shifted(left: .max).isInfinite)
        XCTAssertEqual(QuicDuration.zero.shifted(left: .max), .zero)
        XCTAssertEqual(QuicDuration.microseconds((1 << 62) - 1).shifted(left: 1).microseconds, (1 << 63) - 2)
        XCTAssertTrue(QuicDuration.microseconds((1 << 62) - 1).shifted(left: 20).isInfinite)
        XCTAssertLessThan(QuicDuration.seconds(1_000_000_000), .infinite)
        XCTAssertEqual(min(QuicDuration.infinite, .milliseconds(1)), .milliseconds(1))
    }

    func testInstantArithmeticSaturates() {
        let t: QuicInstant = 1_000
        XCTAssertEqual(t + .milliseconds(1), 2_000)
        XCTAssertEqual(t + .infinite, .never)
        XCTAssertEqual(QuicInstant(microseconds: .max - 10) + .microseconds(11), .never)
        XCTAssertEqual(t - .milliseconds(5), .zero)                  // never before the origin
        XCTAssertEqual(t - .microseconds(1), 999)
        XCTAssertEqual(QuicInstant.never - .seconds(1), .never)
        XCTAssertEqual(t - QuicInstant(microseconds: 5_000), .zero)   // earlier minus later: zero
        XCTAssertEqual(QuicInstant(microseconds: 5_000) - t, .microseconds(4_000))
        XCTAssertTrue((QuicInstant.never - t).isInfinite)
        XCTAssertLessThan(QuicInstant(microseconds: .max - 1), .never)
        var u = t
        u += .infinite
        XCTAssertTrue(u.isNever)
        u -= .infinite
        XCTAssertTrue(u.isNever)
        var v: QuicInstant = 10
        v -= .infinite
        XCTAssertEqual(v, .zero)
    }
}

/// Extreme but valid timing values from the peer and the application (issue 10): the
/// connection works and nothing traps. Before the fix, max_idle_timeout = 2^61 ms from a client
/// trapped the server in `restartIdleTimer` while its first Initial was processed.
final class ExtremeTimingTests: XCTestCase {
    func pair(server: ConnectionConfiguration = SimConfigs.server(),
              client: ConnectionConfiguration = SimConfigs.client()) throws -> (SimNetwork, Connection, Connection) {
        let net = SimConfigs.network(server: server)
        let c = try net.connect(client)
        XCTAssertTrue(net.run { c.isHandshakeConfirmed && (net.server.accepted.first?.isHandshakeComplete ?? false) })
        return (net, c, try XCTUnwrap(net.server.accepted.first))
    }

    /// Transfers a little data both ways and checks neither side closed.
    func exchange(_ net: SimNetwork, _ client: Connection, _ server: Connection, file: StaticString = #filePath, line: UInt = #line) throws {
        let id = try client.openStream(bidirectional: true)
        let data = [UInt8](repeating: 0x5a, count: 30_000)
        try client.send(stream: id, bytes: data, fin: true)
        let sink = StreamSink()
        sink.seen.insert(id)
        XCTAssertTrue(net.run(for: 30_000_000) { sink.pump(server, events: []); return sink.fin.contains(id) }, file: file, line: line)
        XCTAssertTrue(sink.data[id] == data, file: file, line: line)
        XCTAssertFalse(client.isClosed, file: file, line: line)
        XCTAssertFalse(server.isClosed, file: file, line: line)
    }

    func testPeerMaxIdleTimeoutAtVarIntLimits() throws {
        for value: UInt64 in [(1 << 62) - 1, 1 << 61, UInt64.max / 1000 + 1] {
            // The client announces the huge value (the server's code path of the crash) ...
            var c = SimConfigs.client()
            c.transportParameters.maxIdleTimeout = value
            var (net, client, server) = try pair(client: c)
            try exchange(net, client, server)
            // ... and the idle timeout in effect is the other side's, finite one (30 s, RFC 9000 §10.1).
            net.link.blackhole = true
            XCTAssertTrue(net.run(for: 120_000_000) { client.isClosed && server.isClosed }, "value \(value)")
            XCTAssertEqual(net.server.events(server).transportClose?.idleTimeout, true)

            // The server announces it (the client's path, via EncryptedExtensions).
            var s = SimConfigs.server()
            s.transportParameters.maxIdleTimeout = value
            (net, client, server) = try pair(server: s)
            try exchange(net, client, server)
        }
    }

    func testBothSidesHugeIdleTimeoutIsEffectivelyInfinite() throws {
        var c = SimConfigs.client()
        c.transportParameters.maxIdleTimeout = (1 << 62) - 1
        c.handshakeIdleTimeout = .milliseconds((1 << 62) - 1)   // QUIC_SETTINGS allow up to QUIC_VAR_INT_MAX
        var s = SimConfigs.server()
        s.transportParameters.maxIdleTimeout = 1 << 61
        s.handshakeIdleTimeout = .milliseconds((1 << 62) - 1)
        let (net, client, server) = try pair(server: s, client: c)
        XCTAssertTrue(c.handshakeIdleTimeout.isInfinite)
        try exchange(net, client, server)
        // Silence for ten virtual minutes: nobody times out, and no timer is left spinning.
        net.run(for: 600_000_000)
        XCTAssertFalse(client.isClosed)
        XCTAssertFalse(server.isClosed)
        try exchange(net, client, server)
    }

    func testHugeHandshakeIdleTimeoutWithNoPeerAnswer() throws {
        // A client whose handshake idle timeout is "never" and whose server never answers: no
        // trap when the deadline is computed, and the connection is still open after an hour.
        // The disconnect timeout (MsQuic's DisconnectTimeoutMs, at most 10 minutes through the
        // API) is lifted here so that only the handshake idle timeout could end it.
        var c = SimConfigs.client()
        c.handshakeIdleTimeout = .milliseconds((1 << 62) - 1)
        c.transportParameters.maxIdleTimeout = 0
        c.disconnectTimeout = .infinite
        let net = SimConfigs.network()
        net.link.blackhole = true
        let client = try net.connect(c)
        net.run(for: 3_600_000_000)
        XCTAssertFalse(client.isClosed)
        XCTAssertFalse(client.isHandshakeComplete)
    }

    func testHugeHandshakeIdleTimeoutStillEndsAtTheDisconnectTimeout() throws {
        // The same client with the default disconnect timeout (16 s): its unanswered first flight
        // ends the attempt silently, as MsQuic's does (CONNECTION_TIMEOUT at the API).
        var c = SimConfigs.client()
        c.handshakeIdleTimeout = .milliseconds((1 << 62) - 1)
        c.transportParameters.maxIdleTimeout = 0
        let net = SimConfigs.network()
        net.link.blackhole = true
        let start = net.now
        let client = try net.connect(c)
        XCTAssertTrue(net.run(for: 3_600_000_000) { client.isClosed })
        XCTAssertGreaterThanOrEqual(net.now - start, .seconds(16))
        XCTAssertLessThan(net.now - start, .seconds(17), "at the 16 s deadline, not at a later PTO")
        XCTAssertEqual(net.client.events(client).transportClose?.disconnectTimeout, true)
    }

    func testPeerMaxAckDelayAtLimit() throws {
        // RFC 9000 §18.2: max_ack_delay below 2^14 is valid; 2^14-1 ms (~16 s) must not break
        // the PTO arithmetic.
        var c = SimConfigs.client()
        c.transportParameters.maxAckDelay = (1 << 14) - 1
        var s = SimConfigs.server()
        s.transportParameters.maxAckDelay = (1 << 14) - 1
        s.transportParameters.ackDelayExponent = 20
        let (net, client, server) = try pair(server: s, client: c)
        try exchange(net, client, server)
    }
}

extension ExtremeTimingTests {
    /// An ACK whose ACK Delay is 2^62-1 (with the peer's ack_delay_exponent 20): the RTT
    /// arithmetic saturates; the connection lives on and still transfers (issue 10).
    func testHugeAckDelayFromPeer() throws {
        var c = SimConfigs.client()
        c.transportParameters.ackDelayExponent = 20
        let (net, client, server) = try pair(client: c)
        let maxVarInt: [UInt8] = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
        // ACK: Largest Acknowledged 0, ACK Delay 2^62-1, no additional range, First ACK Range 0.
        client.injectedFrames.append([0x02, 0x00] + maxVarInt + [0x00, 0x00])
        net.run(for: 1_000_000)
        XCTAssertFalse(server.isClosed)
        try exchange(net, client, server)
        XCTAssertLessThan(server.smoothedRTT, .seconds(10))
    }
}

/// Transport parameters out of RFC 9000 §18.2's range end a live handshake with
/// TRANSPORT_PARAMETER_ERROR (0x08) in CONNECTION_CLOSE, seen by both sides (issue 10 audit).
final class PeerTransportParameterLimitTests: XCTestCase {
    func assertHandshakeFails(client configure: (inout TransportParameters) -> Void,
                              file: StaticString = #filePath, line: UInt = #line) throws {
        var c = SimConfigs.client()
        configure(&c.transportParameters)
        let net = SimConfigs.network()
        let client = try net.connect(c)
        XCTAssertTrue(net.run(for: 30_000_000) { client.isClosed && (net.server.accepted.first?.isClosed ?? true) },
                      file: file, line: line)
        XCTAssertFalse(client.isHandshakeComplete, file: file, line: line)
        XCTAssertEqual(net.client.events(client).transportClose?.errorCode,
                       TransportErrorCode.transportParameterError.rawValue, file: file, line: line)
        XCTAssertEqual(net.client.events(client).transportClose?.fromPeer, true, file: file, line: line)
    }

    func testAckDelayExponentAbove20() throws {
        try assertHandshakeFails { $0.ackDelayExponent = 21 }
    }

    func testMaxAckDelayAt2To14() throws {
        try assertHandshakeFails { $0.maxAckDelay = 1 << 14 }
    }

    func testInitialMaxStreamsAbove2To60() throws {
        try assertHandshakeFails { $0.initialMaxStreamsBidi = (1 << 60) + 1 }
        try assertHandshakeFails { $0.initialMaxStreamsUni = (1 << 60) + 1 }
    }

    func testMaxUDPPayloadSizeBelow1200() throws {
        try assertHandshakeFails { $0.maxUDPPayloadSize = 1199 }
    }
}
