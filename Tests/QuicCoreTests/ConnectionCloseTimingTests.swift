import XCTest
@testable import QuicCore
import QuicCrypto
import QuicTLS
import QuicWire

/// How long closing and draining last (RFC 9000 §10.2 leaves it to the endpoint, "SHOULD" three
/// PTOs), with MsQuic's timings (connection.c QuicConnTryClose): the endpoint that receives the
/// peer's close first drains max(15 ms, 2 x smoothed RTT); a client whose close was answered
/// ends at once, a server drains as long; with the answer lost, three PTOs.
final class ConnectionCloseTimingTests: XCTestCase {
    private func pair() throws -> (SimNetwork, Connection, Connection) {
        let net = SimConfigs.network(seed: 3, server: SimConfigs.server())
        let c = try net.connect(SimConfigs.client())
        XCTAssertTrue(net.run { c.isHandshakeConfirmed && (net.server.accepted.first?.isHandshakeComplete ?? false) })
        // Let the handshake's last ACKs settle.
        _ = net.run(for: 200_000) { false }
        return (net, c, try XCTUnwrap(net.server.accepted.first))
    }

    /// Runs until `c` is closed; returns the time it took.
    private func closeTime(_ net: SimNetwork, _ c: Connection, from start: QuicInstant) -> QuicDuration? {
        net.run(for: 10_000_000) { c.isClosed } ? net.now - start : nil
    }

    func testClientCloseAnsweredEndsTheClientAtOnceAndTheServerAfterTwoRTT() throws {
        let (net, client, server) = try pair()
        let srtt = server.smoothedRTT
        let start = net.now
        client.close(errorCode: 0, now: net.now)
        let clientTime = try XCTUnwrap(closeTime(net, client, from: start))
        // One round trip for the close and its answer (20 ms on this link), nothing more.
        XCTAssertLessThan(clientTime, .milliseconds(30), "client: \(clientTime)")
        let serverTime = try XCTUnwrap(closeTime(net, server, from: start))
        // Half a round trip for the close to arrive, then max(15 ms, 2 x SRTT).
        XCTAssertLessThanOrEqual(serverTime, .milliseconds(10) + max(.milliseconds(15), 2 * srtt) + .milliseconds(2),
                                 "server: \(serverTime), srtt \(srtt)")
        XCTAssertGreaterThanOrEqual(serverTime, .milliseconds(10) + 2 * srtt, "server drains 2 x SRTT")
    }

    func testServerCloseAnsweredLeavesTheServerDrainingTwoRTT() throws {
        let (net, client, server) = try pair()
        let srtt = server.smoothedRTT
        let start = net.now
        server.close(errorCode: 0, now: net.now)
        let serverTime = try XCTUnwrap(closeTime(net, server, from: start))
        // The answer comes back after one round trip; then the server drains max(15 ms, 2 x SRTT).
        XCTAssertLessThanOrEqual(serverTime, .milliseconds(22) + max(.milliseconds(15), 2 * srtt), "server: \(serverTime)")
        XCTAssertTrue(client.isClosed || (closeTime(net, client, from: start) != nil))
    }

    func testUnansweredCloseWaitsThreePTO() throws {
        let (net, client, _) = try pair()
        let start = net.now
        net.link.blackhole = true
        let pto = client.recovery.pto
        client.close(errorCode: 0, now: net.now)
        let clientTime = try XCTUnwrap(closeTime(net, client, from: start))
        XCTAssertGreaterThanOrEqual(clientTime, 3 * pto, "closing without an answer lasts three PTOs")
    }
}
