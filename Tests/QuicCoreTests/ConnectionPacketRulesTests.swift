import XCTest
@testable import QuicCore
import QuicCrypto
import QuicTLS
import QuicWire

/// Packet-level rules of RFC 9000 §14.1, §17.2 and §17.2.2, checked with hand-made packets.
final class ConnectionPacketRulesTests: XCTestCase {
    let serverAddress = SocketAddress(ipv4: 10, 0, 0, 2, port: 4433)
    let clientAddress = SocketAddress(ipv4: 10, 0, 0, 1, port: 5000)

    /// A client that sent nothing yet, and a server Initial (PING) it would accept.
    func clientAndServerInitial(token: [UInt8] = [], reservedBits: UInt8 = 0) throws -> (Connection, [UInt8], ConnectionID) {
        let client = try Connection(client: SimConfigs.client(), remote: serverAddress, now: 0)
        let serverSCID = ConnectionID([9, 8, 7, 6, 5, 4, 3, 2])!
        let keys = Crafted.initialKeys(client.originalDestinationCID)
        let packet = try Crafted.longPacket(dcid: try XCTUnwrap(client.cids.local.first?.id), scid: serverSCID, token: token,
                                            keys: keys.server, pn: 0, frames: [0x01], reservedBits: reservedBits)
        return (client, packet, serverSCID)
    }

    func testServerInitialIsProcessed() throws {
        // Control for the two tests below: the same packet, well formed, is accepted.
        let (client, packet, serverSCID) = try clientAndServerInitial()
        client.handle(datagram: packet, from: serverAddress, now: 1)
        XCTAssertEqual(client.counters.receivedPackets, 1)
        XCTAssertEqual(client.peerInitialSourceCID, serverSCID)
        XCTAssertNil(client.drainedTransportClose())
    }

    func testServerInitialWithTokenIsDiscarded() throws {
        // RFC 9000 §17.2.2: the server's Initial must have an empty token.
        let (client, packet, _) = try clientAndServerInitial(token: [1, 2, 3])
        client.handle(datagram: packet, from: serverAddress, now: 1)
        XCTAssertEqual(client.counters.receivedPackets, 0)
        XCTAssertNil(client.peerInitialSourceCID)
        XCTAssertNil(client.drainedTransportClose())
        XCTAssertFalse(client.isClosed)
    }

    func testReservedBitsSetIsProtocolViolation() throws {
        // RFC 9000 §17.2: reserved bits non-zero after removing protection.
        for bits: UInt8 in [1, 2, 3] {
            let (client, packet, _) = try clientAndServerInitial(reservedBits: bits)
            client.handle(datagram: packet, from: serverAddress, now: 1)
            let close = client.drainedTransportClose()
            XCTAssertEqual(close?.errorCode, TransportErrorCode.protocolViolation.rawValue, "bits \(bits)")
            XCTAssertEqual(close?.fromPeer, false)
        }
    }
}
