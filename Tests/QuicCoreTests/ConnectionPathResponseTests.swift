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

    /// RFC 9000 §8.2.2: a PATH_CHALLENGE that arrives from another address than the current one
    /// (a client probing a new path, §9.1) is answered on that path, in its own datagram, within
    /// 3x what that address sent (§8.1, §9.3); the connection does not move for a probing packet.
    func testProbeFromAnotherAddressIsAnsweredThere() throws {
        let net = SimConfigs.network()
        let client = try net.connect(SimConfigs.client())
        XCTAssertTrue(net.run { client.isHandshakeConfirmed && (net.server.accepted.first?.isHandshakeComplete ?? false) })
        let server = try XCTUnwrap(net.server.accepted.first)
        net.run(for: 1_000_000)  // settle: nothing owed either way
        let current = server.remoteAddress
        let probed = SocketAddress(ipv4: 10, 0, 0, 1, port: 7777)
        client.injectedFrames.append([0x1a, 9, 8, 7, 6, 5, 4, 3, 2])  // PATH_CHALLENGE only
        let (_, probe) = try XCTUnwrap(client.pollTransmit(now: net.now))
        net.server.endpoint.handle(datagram: probe, from: probed, now: net.now)
        let (transmit, reply) = try XCTUnwrap(server.pollTransmit(now: net.now))
        XCTAssertEqual(transmit.destination, probed, "answered on the probed path")
        // RFC 9000 §9.5: not the CID the server uses on the current path.
        XCTAssertNotEqual(Array(reply[1...8]), server.cids.currentRemote.bytes, "a spare CID of the client on the probed path")
        XCTAssertTrue(client.cids.local.contains { $0.id.bytes == Array(reply[1...8]) }, "one the client issued")
        XCTAssertLessThanOrEqual(reply.count, 3 * probe.count, "within 3x of what the probed address sent")
        XCTAssertEqual(server.remoteAddress, current, "a probing packet does not move the connection")
        XCTAssertTrue(server.probedPathResponses.isEmpty)
        // The answer is a real 1-RTT packet: the client reads it (and the connection lives on).
        client.handle(datagram: reply, from: net.server.address, now: net.now)
        XCTAssertFalse(client.isClosed)
        XCTAssertFalse(server.isClosed)
    }
}
