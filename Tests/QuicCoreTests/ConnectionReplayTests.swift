import XCTest
@testable import QuicCore
import QuicCrypto
import QuicTLS
import QuicWire

/// RFC 9000 §12.3: a packet already processed is discarded, also after its number left the
/// ACK ranges (forgotten once our ACK was acknowledged, §13.2.4): the floor keeps it a duplicate.
final class ConnectionReplayTests: XCTestCase {
    func testVeryLateDuplicateBelowForgottenRangesIsDropped() throws {
        let net = SimConfigs.network()
        let client = try net.connect(SimConfigs.client())
        XCTAssertTrue(net.run { client.isHandshakeConfirmed && (net.server.accepted.first?.isHandshakeComplete ?? false) })
        net.run(for: 1_000_000)
        let server = try XCTUnwrap(net.server.accepted.first)
        var captured: [UInt8]?
        net.tap = { toServer, bytes in
            if toServer, captured == nil, bytes[0] & 0x80 == 0 { captured = bytes }  // a 1-RTT datagram
            return bytes
        }
        let id = try client.openStream(bidirectional: true)
        try client.send(stream: id, bytes: Array("first".utf8), fin: false)
        net.run(for: 200_000)
        net.tap = nil
        let largestAtCapture = try XCTUnwrap(server.spaces[PacketNumberSpace.application.rawValue].largestReceived)
        let replay = try XCTUnwrap(captured)
        // Many round trips: the server's ACKs get acknowledged and their ranges forgotten.
        for _ in 0..<20 {
            client.ping()
            server.ping()
            net.run(for: 100_000)
        }
        let tracker = server.recovery.recovery.ackTrackers[.application]
        // The replayed packet number is no longer in any ACK range, only below the floor.
        XCTAssertGreaterThan(tracker.received.floor, largestAtCapture)
        XCTAssertGreaterThan(tracker.received.smallest ?? .max, largestAtCapture)
        let received = server.counters.receivedPackets
        let dropped = server.counters.droppedPackets
        net.server.endpoint.handle(datagram: replay, from: net.client.address, now: net.now)
        XCTAssertEqual(server.counters.receivedPackets, received)
        XCTAssertEqual(server.counters.droppedPackets, dropped + 1)
        XCTAssertEqual(server.state, .open)
    }
}
