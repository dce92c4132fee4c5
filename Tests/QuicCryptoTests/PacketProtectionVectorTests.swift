import XCTest
@testable import QuicCrypto

/// RFC 9001 §A.2, §A.3, §A.5 and RFC 9369 §A.2, §A.3, §A.5: packets protected byte for byte,
/// then opened back to the plaintext.
final class PacketProtectionVectorTests: XCTestCase {
    /// Protects `header + payload` and compares with `expected`, checks the header protection
    /// mask of `sample`, then removes protection from `expected` with a fresh receiver.
    private func check(keys: PacketProtectionKeys, header: [UInt8], payload: [UInt8], pnLength: Int,
                       packetNumber: UInt64, largestReceived: UInt64?, sample: [UInt8], mask: [UInt8],
                       protectedHeader: [UInt8], expected: [UInt8],
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let pnOffset = header.count - pnLength
        var packet = header + payload + [UInt8](repeating: 0, count: PacketAEAD.tagLength)
        XCTAssertEqual(packet.count, expected.count, "packet size", file: file, line: line)

        let sender = try PacketProtector(keys: keys)
        try sender.protect(packet: &packet, pnOffset: pnOffset, pnLength: pnLength, packetNumber: packetNumber)
        XCTAssertEqual(Array(packet[pnOffset + 4 ..< pnOffset + 20]), sample, "sample", file: file, line: line)
        XCTAssertEqual(try sender.headerProtection.mask(sample: sample), mask, "mask", file: file, line: line)
        XCTAssertEqual(hexString(Array(packet[..<header.count])), hexString(protectedHeader), "header",
                       file: file, line: line)
        XCTAssertEqual(hexString(packet), hexString(expected), "protected packet", file: file, line: line)

        var received = expected
        let receiver = try PacketProtector(keys: keys)
        let result = try receiver.unprotect(packet: &received, pnOffset: pnOffset, largestPacketNumber: largestReceived)
        XCTAssertEqual(result.packetNumber, packetNumber, file: file, line: line)
        XCTAssertEqual(result.packetNumberLength, pnLength, file: file, line: line)
        XCTAssertEqual(result.headerLength, header.count, file: file, line: line)
        XCTAssertEqual(result.firstByte, header[0], file: file, line: line)
        XCTAssertEqual(Array(received[..<result.headerLength]), header, "unprotected header", file: file, line: line)
        XCTAssertEqual(result.payload, header.count ..< header.count + payload.count, file: file, line: line)
        XCTAssertEqual(Array(received[result.payload]), payload, "plaintext", file: file, line: line)
    }

    func testRFC9001ClientInitial() throws {
        let keys = InitialSecrets.keys(version: .v1, destinationConnectionID: RFC9001.clientDestinationConnectionID)
        XCTAssertEqual(RFC9001.clientPayload.count, 1162)
        XCTAssertEqual(RFC9001.clientProtectedPacket.count, 1200)
        try check(keys: keys.client, header: RFC9001.clientUnprotectedHeader, payload: RFC9001.clientPayload,
                  pnLength: 4, packetNumber: RFC9001.clientPacketNumber, largestReceived: nil,
                  sample: RFC9001.clientSample, mask: RFC9001.clientMask,
                  protectedHeader: RFC9001.clientProtectedHeader, expected: RFC9001.clientProtectedPacket)
    }

    func testRFC9001ServerInitial() throws {
        let keys = InitialSecrets.keys(version: .v1, destinationConnectionID: RFC9001.clientDestinationConnectionID)
        try check(keys: keys.server, header: RFC9001.serverUnprotectedHeader, payload: RFC9001.serverPayload,
                  pnLength: 2, packetNumber: RFC9001.serverPacketNumber, largestReceived: nil,
                  sample: RFC9001.serverSample, mask: RFC9001.serverMask,
                  protectedHeader: RFC9001.serverProtectedHeader, expected: RFC9001.serverProtectedPacket)
    }

    func testRFC9001ChaCha20ShortHeader() throws {
        let keys = PacketProtectionKeys(suite: .chacha20Poly1305Sha256, secret: RFC9001.chachaSecret, version: .v1)
        try check(keys: keys, header: RFC9001.chachaUnprotectedHeader, payload: RFC9001.chachaPlaintext,
                  pnLength: 3, packetNumber: RFC9001.chachaPacketNumber,
                  largestReceived: RFC9001.chachaPacketNumber - 1,
                  sample: RFC9001.chachaSample, mask: RFC9001.chachaMask,
                  protectedHeader: RFC9001.chachaProtectedHeader, expected: RFC9001.chachaPacket)
        XCTAssertEqual(Array(RFC9001.chachaPacket[4...]), RFC9001.chachaCiphertext)
        XCTAssertFalse(KeyPhase.isSet(firstByte: RFC9001.chachaUnprotectedHeader[0]))
    }

    func testRFC9369ClientInitial() throws {
        let keys = InitialSecrets.keys(version: .v2, destinationConnectionID: RFC9001.clientDestinationConnectionID)
        XCTAssertEqual(RFC9369.clientProtectedPacket.count, 1200)
        try check(keys: keys.client, header: RFC9369.clientUnprotectedHeader, payload: RFC9001.clientPayload,
                  pnLength: 4, packetNumber: 2, largestReceived: nil,
                  sample: RFC9369.clientSample, mask: RFC9369.clientMask,
                  protectedHeader: RFC9369.clientProtectedHeader, expected: RFC9369.clientProtectedPacket)
    }

    func testRFC9369ServerInitial() throws {
        let keys = InitialSecrets.keys(version: .v2, destinationConnectionID: RFC9001.clientDestinationConnectionID)
        try check(keys: keys.server, header: RFC9369.serverUnprotectedHeader, payload: RFC9001.serverPayload,
                  pnLength: 2, packetNumber: 1, largestReceived: nil,
                  sample: RFC9369.serverSample, mask: RFC9369.serverMask,
                  protectedHeader: RFC9369.serverProtectedHeader, expected: RFC9369.serverProtectedPacket)
    }

    func testRFC9369ChaCha20ShortHeader() throws {
        let keys = PacketProtectionKeys(suite: .chacha20Poly1305Sha256, secret: RFC9001.chachaSecret, version: .v2)
        try check(keys: keys, header: RFC9001.chachaUnprotectedHeader, payload: RFC9001.chachaPlaintext,
                  pnLength: 3, packetNumber: RFC9001.chachaPacketNumber,
                  largestReceived: RFC9001.chachaPacketNumber - 1,
                  sample: RFC9369.chachaSample, mask: RFC9369.chachaMask,
                  protectedHeader: RFC9369.chachaProtectedHeader, expected: RFC9369.chachaPacket)
        XCTAssertEqual(Array(RFC9369.chachaPacket[4...]), RFC9369.chachaCiphertext)
    }

    /// The AEAD step alone against the A.5 intermediate values (nonce, ciphertext).
    func testChaChaSealWithoutHeaderProtection() throws {
        for (version, ciphertext) in [(ProtectionVersion.v1, RFC9001.chachaCiphertext), (.v2, RFC9369.chachaCiphertext)] {
            let keys = PacketProtectionKeys(suite: .chacha20Poly1305Sha256, secret: RFC9001.chachaSecret, version: version)
            let aead = try PacketAEAD(keys: keys)
            var packet = RFC9001.chachaUnprotectedHeader + RFC9001.chachaPlaintext + [UInt8](repeating: 0, count: 16)
            try packet.withUnsafeMutableBytes { p in
                try aead.seal(packet: p, headerLength: 4, packetNumber: RFC9001.chachaPacketNumber)
            }
            XCTAssertEqual(hexString(Array(packet[4...])), hexString(ciphertext), "\(version)")
        }
    }
}
