import XCTest
@testable import QuicCore
import QuicWire

/// Handshakes whose first flights are lost: PTO probes must carry the unacknowledged
/// CRYPTO data in every probe datagram and in both handshake spaces (RFC 9002 §6.2.4), so a
/// single surviving probe restarts the handshake. Times are virtual (SimNetwork's clock).
final class ConnectionHandshakeLossTests: XCTestCase {
    /// Runs a handshake where the first `drop` datagrams `fromClient` (or from the server)
    /// are lost; returns the virtual time it took until both sides confirmed it.
    func handshakeTime(droppingFirst drop: Int, fromClient: Bool, seed: UInt64 = 1) throws -> QuicDuration {
        let net = SimConfigs.network(seed: seed, server: SimConfigs.server())
        var seen = 0
        net.tap = { toServer, bytes in
            guard toServer == fromClient else { return bytes }
            seen += 1
            return seen <= drop ? nil : bytes
        }
        let start = net.now
        let client = try net.connect(SimConfigs.client())
        let ok = net.run(for: 60_000_000) {
            client.isHandshakeConfirmed && (net.server.accepted.first?.isHandshakeConfirmed ?? false)
        }
        XCTAssertTrue(ok, "handshake did not complete")
        XCTAssertGreaterThan(seen, drop)
        return net.now - start
    }

    /// The client's Initial and the first of its two PTO probes are lost: the handshake still
    /// ends right after the first PTO (≈1 s with the 333 ms initial RTT), not after the next,
    /// doubled one (≈3 s). (Against our own server this held before the fix as well: the
    /// server acknowledges a PING-only Initial and the client's loss detection resends the
    /// ClientHello; MsQuic's and aioquic's servers do not, which is what the fix is for.)
    func testClientFirstTwoDatagramsLost() throws {
        let elapsed = try handshakeTime(droppingFirst: 2, fromClient: true)
        XCTAssertLessThan(elapsed, .seconds(2), "took \(elapsed)")
    }

    /// The server's first flight (Initial with the ServerHello coalesced with Handshake
    /// packets, over two datagrams) is lost: its probes repeat the Initial data along with
    /// the Handshake data.
    func testServerFirstTwoDatagramsLost() throws {
        let elapsed = try handshakeTime(droppingFirst: 2, fromClient: false)
        XCTAssertLessThan(elapsed, .seconds(2), "took \(elapsed)")
    }

    /// 30% random loss both ways: 50 handshakes, every one completes (virtual time). Before
    /// probes repeated their CRYPTO data, seed 12 did not complete within 60 s.
    func testFiftyHandshakesAtThirtyPercentLoss() throws {
        var times: [QuicDuration] = []
        for seed in UInt64(1)...50 {
            let net = SimConfigs.network(seed: seed * 7919, server: SimConfigs.server())
            net.link.loss = 0.3
            let start = net.now
            let client = try net.connect(SimConfigs.client())
            let ok = net.run(for: 60_000_000) {
                client.isHandshakeConfirmed && (net.server.accepted.first?.isHandshakeConfirmed ?? false)
            }
            XCTAssertTrue(ok, "seed \(seed): handshake did not complete in 60 s")
            times.append(net.now - start)
        }
        XCTAssertEqual(times.count, 50)
    }
}
