import XCTest
@testable import QuicCore
import QuicWire

/// PATH_CHALLENGE / PATH_RESPONSE (RFC 9000 §8.2), found by the adversarial battery
/// (interop/adversarial.py, adversarial_server_path_response_padded).
final class ConnectionPathResponseTests: XCTestCase {
    /// RFC 9000 §8.2.2: "An endpoint MUST expand datagrams that contain a PATH_RESPONSE frame to
    /// at least the smallest allowed maximum datagram size of 1200 bytes".
    func testPathResponseDatagramIsPaddedTo1200() throws {
        let net = SimConfigs.network()
        let client = try net.connect(SimConfigs.client())
        XCTAssertTrue(net.run { client.isHandshakeConfirmed && (net.server.accepted.first?.isHandshakeComplete ?? false) })
        let server = try XCTUnwrap(net.server.accepted.first)
        net.run(for: 1_000_000)  // settle: the handshake's ACKs are out
        var fromServer: [Int] = []
        net.tap = { toServer, bytes in
            if !toServer { fromServer.append(bytes.count) }
            return bytes
        }
        client.injectedFrames.append([0x1a, 1, 2, 3, 4, 5, 6, 7, 8])  // PATH_CHALLENGE
        XCTAssertTrue(net.run(for: 2_000_000) { !fromServer.isEmpty && server.pathResponses.isEmpty })
        XCTAssertGreaterThanOrEqual(fromServer.first ?? 0, 1200, "datagrams from the server: \(fromServer)")
        XCTAssertFalse(server.isClosed)
    }

    /// A flood of challenges queues a bounded number of responses (at most 4, the latest ones).
    func testChallengeFloodQueuesBoundedResponses() throws {
        let net = SimConfigs.network()
        let client = try net.connect(SimConfigs.client())
        XCTAssertTrue(net.run { client.isHandshakeConfirmed && (net.server.accepted.first?.isHandshakeComplete ?? false) })
        let server = try XCTUnwrap(net.server.accepted.first)
        var frames: [UInt8] = []
        for i in 0..<100 { frames += [0x1a] + [UInt8](repeating: UInt8(i), count: 8) }
        client.injectedFrames.append(frames)
        var most = 0
        net.run(for: 2_000_000) {
            most = max(most, server.pathResponses.count)
            return false
        }
        XCTAssertLessThanOrEqual(most, 4)
        XCTAssertTrue(server.pathResponses.isEmpty)
        XCTAssertFalse(server.isClosed)
    }
}
