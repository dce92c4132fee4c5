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

    /// A server endpoint and a crafted client Initial (PING) with `dcid`, in a datagram of `size`.
    func clientInitial(dcid: ConnectionID, pn: UInt64 = 0, size: Int) throws -> [UInt8] {
        try Crafted.longPacket(dcid: dcid, scid: ConnectionID([1, 1, 1, 1])!, keys: Crafted.initialKeys(dcid).client,
                               pn: pn, frames: [0x01], padTo: size)
    }

    func testClientInitialNeedsEightByteDCID() throws {
        // RFC 9000 §7.2: the client's first DCID has at least 8 bytes.
        let ep = Endpoint(configuration: EndpointConfiguration(server: SimConfigs.server()))
        XCTAssertNil(ep.handle(datagram: try clientInitial(dcid: ConnectionID([1, 2, 3, 4, 5, 6, 7])!, size: 1200),
                               from: clientAddress, now: 0))
        XCTAssertTrue(ep.allConnections.isEmpty)
        XCTAssertNotNil(ep.handle(datagram: try clientInitial(dcid: ConnectionID([1, 2, 3, 4, 5, 6, 7, 8])!, size: 1200),
                                  from: clientAddress, now: 0))
        XCTAssertEqual(ep.allConnections.count, 1)
    }

    func testServerDiscardsLaterInitialInSmallDatagram() throws {
        // RFC 9000 §14.1: every client Initial, not only the first, comes in >= 1200 bytes.
        let ep = Endpoint(configuration: EndpointConfiguration(server: SimConfigs.server()))
        let dcid = ConnectionID([1, 2, 3, 4, 5, 6, 7, 8])!
        XCTAssertNil(ep.handle(datagram: try clientInitial(dcid: dcid, size: 1199), from: clientAddress, now: 0))
        XCTAssertTrue(ep.allConnections.isEmpty)
        guard case .newConnection(let conn)? = ep.handle(datagram: try clientInitial(dcid: dcid, size: 1200),
                                                         from: clientAddress, now: 0) else { return XCTFail("no connection") }
        XCTAssertEqual(conn.counters.receivedPackets, 1)
        ep.handle(datagram: try clientInitial(dcid: dcid, pn: 1, size: 600), from: clientAddress, now: 1)
        XCTAssertEqual(conn.counters.receivedPackets, 1)
        ep.handle(datagram: try clientInitial(dcid: dcid, pn: 2, size: 1200), from: clientAddress, now: 2)
        XCTAssertEqual(conn.counters.receivedPackets, 2)
    }
}
