import XCTest
@testable import QuicCore
import QuicCrypto
import QuicTLS
import QuicWire

/// DATAGRAM size limits (RFC 9221 §3): max_datagram_frame_size bounds the whole frame.
final class ConnectionDatagramRulesTests: XCTestCase {
    func pair(serverLimit: UInt64) throws -> (SimNetwork, Connection, Connection) {
        var s = SimConfigs.server()
        s.datagramReceiveEnabled = true
        s.transportParameters.maxDatagramFrameSize = serverLimit
        let net = SimConfigs.network(server: s)
        let c = try net.connect(SimConfigs.client())
        XCTAssertTrue(net.run { c.isHandshakeConfirmed && (net.server.accepted.first?.isHandshakeComplete ?? false) })
        return (net, c, try XCTUnwrap(net.server.accepted.first))
    }

    /// A DATAGRAM frame with explicit length, `size` bytes in all.
    func datagramFrame(size: Int) -> [UInt8] {
        let payload = size - 3  // type + 2-byte length varint
        return [0x31, 0x40 | UInt8(payload >> 8), UInt8(payload & 0xff)] + [UInt8](repeating: 0xab, count: payload)
    }

    func testDatagramAtLimitIsDelivered() throws {
        let (net, client, server) = try pair(serverLimit: 100)
        client.injectedFrames.append(datagramFrame(size: 100))
        net.run(for: 1_000_000)
        XCTAssertFalse(server.isClosed)
        XCTAssertTrue(net.server.events(server).contains(.datagramReceived([UInt8](repeating: 0xab, count: 97))))
    }

    func testDatagramAboveAdvertisedLimitIsProtocolViolation() throws {
        let (net, client, server) = try pair(serverLimit: 100)
        client.injectedFrames.append(datagramFrame(size: 101))
        XCTAssertTrue(net.run(for: 10_000_000) { server.isClosed && client.isClosed })
        XCTAssertEqual(net.server.events(server).transportClose?.errorCode, TransportErrorCode.protocolViolation.rawValue)
        XCTAssertEqual(net.client.events(client).transportClose?.errorCode, TransportErrorCode.protocolViolation.rawValue)
    }

    func testSendDatagramRespectsPeerLimit() throws {
        let (net, client, server) = try pair(serverLimit: 100)
        // 1 (type) + 1 (length < 64) + 62 = 64; 1 + 2 + 97 = 100; 98 would make 101.
        XCTAssertNoThrow(try client.sendDatagram([UInt8](repeating: 1, count: 62)))
        XCTAssertNoThrow(try client.sendDatagram([UInt8](repeating: 2, count: 97)))
        XCTAssertThrowsError(try client.sendDatagram([UInt8](repeating: 3, count: 98)))
        net.run(for: 1_000_000)
        XCTAssertNil(net.server.events(server).transportClose)
        XCTAssertEqual(net.server.events(server).filter { if case .datagramReceived = $0 { return true }; return false }.count, 2)
    }

    func testTinyPeerLimitReportsZeroSendLength() throws {
        let (net, client, _) = try pair(serverLimit: 2)
        let reported = net.client.events(client).compactMap { e -> Int? in
            if case .datagramStateChanged(_, let length) = e { return length }
            return nil
        }
        XCTAssertEqual(reported, [0])
        XCTAssertNoThrow(try client.sendDatagram([]))  // type + zero length: 2 bytes
        XCTAssertThrowsError(try client.sendDatagram([1]))
    }
}
