import XCTest
@testable import QuicCore
import QuicCrypto
import QuicTLS
import QuicWire

/// A client's handling of Version Negotiation packets (RFC 9000 §6.2).
final class ConnectionVersionNegotiationTests: XCTestCase {
    let serverAddress = SocketAddress(ipv4: 10, 0, 0, 2, port: 4433)

    func client() throws -> (Connection, ConnectionID) {
        let c = try Connection(client: SimConfigs.client(), remote: serverAddress, now: 0)
        _ = c.pollTransmit(now: 0)  // the first Initial went out
        return (c, try XCTUnwrap(c.cids.local.first?.id))
    }

    func testVersionNegotiationWithoutOurVersionEndsAttempt() throws {
        let (c, scid) = try client()
        let vn = try Crafted.versionNegotiation(clientDCID: c.originalDestinationCID, clientSCID: scid,
                                                versions: [.v2, QuicVersion(0x0a0a_0a0a)])
        c.handle(datagram: vn, from: serverAddress, now: 1)
        XCTAssertTrue(c.isClosed)
        XCTAssertEqual(c.drainedTransportClose()?.versionNegotiation, true)
    }

    func testVersionNegotiationListingOurVersionIsDiscarded() throws {
        let (c, scid) = try client()
        let vn = try Crafted.versionNegotiation(clientDCID: c.originalDestinationCID, clientSCID: scid,
                                                versions: [.v2, .v1])
        c.handle(datagram: vn, from: serverAddress, now: 1)
        XCTAssertFalse(c.isClosed)
        XCTAssertNil(c.drainedTransportClose())
    }

    func testVersionNegotiationWithWrongConnectionIDsIsDiscarded() throws {
        let (c, scid) = try client()
        let vn = try Crafted.versionNegotiation(clientDCID: ConnectionID([1, 2, 3, 4, 5, 6, 7, 8])!, clientSCID: scid,
                                                versions: [.v2])
        c.handle(datagram: vn, from: serverAddress, now: 1)
        XCTAssertFalse(c.isClosed)
    }

    func testVersionNegotiationAfterProcessedPacketIsDiscarded() throws {
        let (c, scid) = try client()
        // A server Handshake packet cannot be read yet, but an Initial can: the PING is processed.
        let initial = try Crafted.longPacket(dcid: scid, scid: ConnectionID([9, 9, 9, 9])!,
                                             keys: Crafted.initialKeys(c.originalDestinationCID).server, pn: 0, frames: [0x01])
        c.handle(datagram: initial, from: serverAddress, now: 1)
        XCTAssertEqual(c.counters.receivedPackets, 1)
        let vn = try Crafted.versionNegotiation(clientDCID: c.originalDestinationCID, clientSCID: scid, versions: [.v2])
        c.handle(datagram: vn, from: serverAddress, now: 2)
        XCTAssertFalse(c.isClosed)
        XCTAssertNil(c.drainedTransportClose())
    }

    func testSecondVersionNegotiationAfterOneProcessedIsDiscarded() throws {
        // The processed VN ended the attempt; nothing else happens on a second one.
        let (c, scid) = try client()
        let vn = try Crafted.versionNegotiation(clientDCID: c.originalDestinationCID, clientSCID: scid, versions: [.v2])
        c.handle(datagram: vn, from: serverAddress, now: 1)
        XCTAssertTrue(c.isClosed)
        var events: [ConnectionEvent] = []
        while let e = c.pollEvent() { events.append(e) }
        c.handle(datagram: vn, from: serverAddress, now: 2)
        XCTAssertNil(c.pollEvent())
        XCTAssertEqual(events.filter { if case .shutdownComplete = $0 { return true }; return false }.count, 1)
    }
}
