import XCTest
import QuicWire
@testable import QuicCrypto

/// RFC 9001 §A.4 / RFC 9369 §A.4 Retry integrity tags; stateless reset tokens (RFC 9000 §10.3).
final class RetryAndResetTests: XCTestCase {
    private let odcid = RFC9001.clientDestinationConnectionID

    func testRetryTagV1() throws {
        let packet = RFC9001.retryPacket
        let body = Array(packet[..<(packet.count - 16)])
        let tag = try RetryIntegrity.tag(version: .v1, originalDestinationConnectionID: odcid, retryPacketWithoutTag: body)
        XCTAssertEqual(hexString(tag), hexString(Array(packet[(packet.count - 16)...])))
        XCTAssertEqual(try RetryIntegrity.seal(version: .v1, originalDestinationConnectionID: odcid,
                                               retryPacketWithoutTag: body), packet)
        XCTAssertTrue(RetryIntegrity.verify(version: .v1, originalDestinationConnectionID: odcid, retryPacket: packet))
    }

    func testRetryTagV2() throws {
        let packet = RFC9369.retryPacket
        let body = Array(packet[..<(packet.count - 16)])
        let tag = try RetryIntegrity.tag(version: .v2, originalDestinationConnectionID: odcid, retryPacketWithoutTag: body)
        XCTAssertEqual(hexString(tag), hexString(Array(packet[(packet.count - 16)...])))
        XCTAssertTrue(RetryIntegrity.verify(version: .v2, originalDestinationConnectionID: odcid, retryPacket: packet))
    }

    func testRetryVerificationRejectsTampering() {
        let packet = RFC9001.retryPacket
        // Wrong version, wrong ODCID, any flipped bit, truncation.
        XCTAssertFalse(RetryIntegrity.verify(version: .v2, originalDestinationConnectionID: odcid, retryPacket: packet))
        var otherODCID = odcid
        otherODCID[0] ^= 1
        XCTAssertFalse(RetryIntegrity.verify(version: .v1, originalDestinationConnectionID: otherODCID, retryPacket: packet))
        XCTAssertFalse(RetryIntegrity.verify(version: .v1, originalDestinationConnectionID: [], retryPacket: packet))
        for i in 0..<packet.count {
            var bad = packet
            bad[i] ^= 0x80
            XCTAssertFalse(RetryIntegrity.verify(version: .v1, originalDestinationConnectionID: odcid, retryPacket: bad),
                           "byte \(i)")
        }
        XCTAssertFalse(RetryIntegrity.verify(version: .v1, originalDestinationConnectionID: odcid,
                                             retryPacket: Array(packet.dropLast())))
        XCTAssertFalse(RetryIntegrity.verify(version: .v1, originalDestinationConnectionID: odcid, retryPacket: []))
        XCTAssertFalse(RetryIntegrity.verify(version: .v1, originalDestinationConnectionID: odcid,
                                             retryPacket: [UInt8](repeating: 0, count: 15)))
    }

    func testStatelessResetTokens() throws {
        let key = (0..<32).map { UInt8($0) }
        let generator = try XCTUnwrap(StatelessResetTokenGenerator(staticKey: key))
        let cid = try XCTUnwrap(ConnectionID([1, 2, 3, 4, 5, 6, 7, 8]))
        let token = try XCTUnwrap(generator.token(for: cid))
        // Deterministic for a key: a restarted endpoint recomputes the same token.
        let again = try XCTUnwrap(XCTUnwrap(StatelessResetTokenGenerator(staticKey: key)).token(for: cid))
        XCTAssertTrue(ConstantTime.equal(token, again))
        // It is HMAC-SHA256(key, cid) truncated to 16 bytes.
        XCTAssertEqual(token.bytes, Array(HashAlgorithm.sha256.hmac(key: key, data: cid.bytes)[0..<16]))
        // Another connection ID or another key gives another token.
        let other = try XCTUnwrap(generator.token(for: [1, 2, 3, 4, 5, 6, 7, 9]))
        XCTAssertFalse(ConstantTime.equal(token, other))
        let otherKey = try XCTUnwrap(XCTUnwrap(StatelessResetTokenGenerator(staticKey: [UInt8](repeating: 7, count: 32)))
            .token(for: cid))
        XCTAssertFalse(ConstantTime.equal(token, otherKey))
        // Empty connection IDs (allowed on the wire) still work.
        XCTAssertNotNil(generator.token(for: ConnectionID()))
        XCTAssertNil(StatelessResetTokenGenerator(staticKey: []))
        let random = try XCTUnwrap(StatelessResetTokenGenerator.random())
        XCTAssertFalse(ConstantTime.equal(try XCTUnwrap(random.token(for: cid)), token))
    }

    func testConstantTimeEqual() {
        XCTAssertTrue(ConstantTime.equal([1, 2, 3], [1, 2, 3]))
        XCTAssertFalse(ConstantTime.equal([1, 2, 3], [1, 2, 4]))
        XCTAssertFalse(ConstantTime.equal([1, 2, 3], [1, 2]))
        XCTAssertTrue(ConstantTime.equal([], []))
    }
}
