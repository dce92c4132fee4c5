import XCTest
@testable import QuicCore
import QuicCrypto
import QuicTLS
import QuicWire

/// Authentication of the handshake's connection IDs through transport parameters (RFC 9000
/// §7.3, §18.2): absence is TRANSPORT_PARAMETER_ERROR; presence without a Retry and mismatches
/// may be TRANSPORT_PARAMETER_ERROR or PROTOCOL_VIOLATION (we use TRANSPORT_PARAMETER_ERROR).
final class ConnectionTransportParameterTests: XCTestCase {
    let peerSCID = ConnectionID([1, 2, 3, 4])!

    func assertTransportParameterError(_ conn: Connection, _ p: TransportParameters, _ message: String,
                                       file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try conn.applyPeerTransportParameters(p.encoded()), message, file: file, line: line) { e in
            XCTAssertEqual((e as? QuicError)?.code, .transportParameterError, message, file: file, line: line)
        }
    }

    /// A client that saw the server's first Initial with SCID `peerSCID`, after a Retry if `retrySCID` is set.
    func client(retrySCID: ConnectionID? = nil) throws -> Connection {
        let c = try Connection(client: SimConfigs.client(), remote: SocketAddress(), now: 0)
        c.peerInitialSourceCID = peerSCID
        c.retrySourceCID = retrySCID
        return c
    }

    func serverParameters(for c: Connection) -> TransportParameters {
        var p = TransportParameters()
        p.initialSourceConnectionID = peerSCID
        p.originalDestinationConnectionID = c.originalDestinationCID
        return p
    }

    func testClientRequiresServerConnectionIDParameters() throws {
        let c = try client()
        var p = serverParameters(for: c)
        p.initialSourceConnectionID = nil
        assertTransportParameterError(c, p, "initial_source_connection_id absent")
        p = serverParameters(for: c)
        p.originalDestinationConnectionID = nil
        assertTransportParameterError(c, p, "original_destination_connection_id absent")
        XCTAssertNoThrow(try c.applyPeerTransportParameters(serverParameters(for: c).encoded()))
    }

    func testClientAfterRetryRequiresMatchingRetrySourceConnectionID() throws {
        let retrySCID = ConnectionID([5, 6, 7, 8, 9, 10, 11, 12])!
        let c = try client(retrySCID: retrySCID)
        var p = serverParameters(for: c)
        assertTransportParameterError(c, p, "retry_source_connection_id absent after a Retry")
        p.retrySourceConnectionID = ConnectionID([5, 6, 7, 8, 9, 10, 11, 13])
        assertTransportParameterError(c, p, "retry_source_connection_id mismatch")
        p.retrySourceConnectionID = retrySCID
        XCTAssertNoThrow(try c.applyPeerTransportParameters(p.encoded()))
    }

    func server() throws -> Connection {
        try Connection(server: SimConfigs.server(), remote: SocketAddress(), version: .v1,
                       originalDCID: ConnectionID([8, 8, 8, 8, 8, 8, 8, 8])!, clientSCID: peerSCID,
                       currentDCID: ConnectionID([8, 8, 8, 8, 8, 8, 8, 8])!, retrySCID: nil, registry: nil,
                       addressValidated: false, now: 0)
    }

    func testServerRequiresClientInitialSourceConnectionID() throws {
        let s = try server()
        var p = TransportParameters()
        assertTransportParameterError(s, p, "initial_source_connection_id absent")
        p.initialSourceConnectionID = ConnectionID([1, 2, 3, 5])
        assertTransportParameterError(s, p, "initial_source_connection_id mismatch")
        p.initialSourceConnectionID = peerSCID
        XCTAssertNoThrow(try s.applyPeerTransportParameters(p.encoded()))
    }

    func testServerRejectsServerOnlyParametersFromClient() throws {
        // RFC 9000 §18.2: a client must not send original_destination_connection_id,
        // retry_source_connection_id, stateless_reset_token or preferred_address.
        var p = TransportParameters()
        p.initialSourceConnectionID = peerSCID
        p.originalDestinationConnectionID = ConnectionID([8, 8, 8, 8, 8, 8, 8, 8])
        assertTransportParameterError(try server(), p, "original_destination_connection_id from a client")
        p.originalDestinationConnectionID = nil
        p.retrySourceConnectionID = ConnectionID([8, 8, 8, 8])
        assertTransportParameterError(try server(), p, "retry_source_connection_id from a client")
        p.retrySourceConnectionID = nil
        p.statelessResetToken = StatelessResetToken([UInt8](repeating: 7, count: 16))
        assertTransportParameterError(try server(), p, "stateless_reset_token from a client")
    }
}

extension ConnectionTransportParameterTests {
    /// The peer's timing parameters are converted once, when applied (issue 10):
    /// max_ack_delay in ms → QuicDuration, ack_delay_exponent used to scale ACK Delay.
    func testPeerTimingParametersApplied() throws {
        let c = try client()
        var p = serverParameters(for: c)
        p.maxAckDelay = (1 << 14) - 1
        p.ackDelayExponent = 20
        p.maxIdleTimeout = (1 << 62) - 1
        XCTAssertNoThrow(try c.applyPeerTransportParameters(p.encoded()))
        XCTAssertEqual(c.recovery.maxAckDelay, .milliseconds((1 << 14) - 1))
        XCTAssertEqual(c.recovery.ackDelayExponent, 20)
        c.restartIdleTimer(now: 5)
        // The handshake idle timeout (10 s) applies until the handshake completes; the peer's
        // huge max_idle_timeout does not overflow anything.
        XCTAssertEqual(c.idleDeadline, 5 + QuicDuration.seconds(10))
        c.isHandshakeComplete = true
        c.restartIdleTimer(now: 5)
        XCTAssertEqual(c.idleDeadline, 5 + QuicDuration.seconds(30))  // our 30 s, the smaller
    }
}
