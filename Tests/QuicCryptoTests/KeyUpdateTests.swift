import XCTest
@testable import QuicCrypto

/// Key update (RFC 9001 §6) with OneRTTKeys on both ends.
final class KeyUpdateTests: XCTestCase {
    private func endpoints() throws -> (client: OneRTTKeys, server: OneRTTKeys) {
        var rng = TestRandom(seed: 42)
        let c2s = PacketProtectionKeys(suite: .aes128GcmSha256, secret: rng.bytes(32), version: .v1)
        let s2c = PacketProtectionKeys(suite: .aes128GcmSha256, secret: rng.bytes(32), version: .v1)
        return (try OneRTTKeys(sendKeys: c2s, receiveKeys: s2c), try OneRTTKeys(sendKeys: s2c, receiveKeys: c2s))
    }

    /// Sends a short header packet (DCID of 4 bytes, 2-byte packet number) from `from`, and
    /// receives it at `to` the way QuicCore will: header protection first, then the AEAD
    /// chosen by the key phase bit. Returns which receive key matched.
    @discardableResult
    private func send(_ pn: UInt64, from: OneRTTKeys, to: OneRTTKeys, largest: UInt64?) throws -> OneRTTKeys.ReceiveKey {
        var packet: [UInt8] = [KeyPhase.setting(from.keyPhase, in: 0x41), 1, 2, 3, 4,
                               UInt8(truncatingIfNeeded: pn >> 8), UInt8(truncatingIfNeeded: pn)]
        packet += [UInt8](repeating: 0x01, count: 30) + [UInt8](repeating: 0, count: 16)
        try packet.withUnsafeMutableBytes { p in
            try from.sendAEAD.seal(packet: p, headerLength: 7, packetNumber: pn)
            try from.sendHeaderProtection.apply(packet: p, pnOffset: 5, pnLength: 2)
        }
        return try packet.withUnsafeMutableBytes { p in
            let hp = try to.receiveHeaderProtection.remove(packet: p, pnOffset: 5)
            let decoded = PacketNumberDecoding.decode(truncated: UInt64(hp.truncatedPacketNumber), length: hp.pnLength,
                                                      largest: largest)
            XCTAssertEqual(decoded, pn)
            let which = to.receiveKey(keyPhase: KeyPhase.isSet(firstByte: hp.firstByte), packetNumber: decoded)
            let aead = try XCTUnwrap(to.aead(for: which))
            let payload = try aead.open(packet: p, headerLength: 7, packetNumber: decoded)
            XCTAssertEqual(Array(p[payload]), [UInt8](repeating: 0x01, count: 30))
            try to.packetAuthenticated(with: which, packetNumber: decoded)
            return which
        }
    }

    func testKeyUpdateInitiatedByClient() throws {
        let (client, server) = try endpoints()
        XCTAssertEqual(try send(0, from: client, to: server, largest: nil), .current)
        XCTAssertEqual(try send(0, from: server, to: client, largest: nil), .current)

        // The client updates (RFC 9001 §6.1): new phase, new send key, same header protection.
        let oldSend = client.sendAEAD
        try client.update()
        XCTAssertTrue(client.keyPhase)
        XCTAssertFalse(client.sendAEAD === oldSend)
        XCTAssertEqual(client.generation, 1)

        // Before the server sees the update it still sends in phase 0: the client opens that
        // with its previous keys and stays in phase 1.
        XCTAssertEqual(try send(1, from: server, to: client, largest: 0), .previous)
        XCTAssertTrue(client.keyPhase)

        // The server sees the flipped bit, opens with its precomputed next keys and updates
        // too (RFC 9001 §6.2).
        XCTAssertEqual(try send(1, from: client, to: server, largest: 0), .next)
        XCTAssertTrue(server.keyPhase)
        XCTAssertEqual(server.generation, 1)
        XCTAssertEqual(try send(2, from: server, to: client, largest: 1), .current)

        // A delayed packet of the old phase (lower packet number) still opens with the
        // previous keys (RFC 9001 §6.5).
        let (staleClient, _) = try endpoints() // same secrets, still in phase 0
        XCTAssertEqual(try send(0, from: staleClient, to: server, largest: 1), .previous)
        XCTAssertTrue(server.keyPhase, "an old packet does not change the phase")

        // After the previous keys are dropped, such a packet has no key.
        server.discardPreviousReceiveKeys()
        XCTAssertNil(server.aead(for: .previous))
        XCTAssertEqual(server.receiveKey(keyPhase: false, packetNumber: 0), .next)

        // Second update, this time by the server (the client drops its previous keys first).
        client.discardPreviousReceiveKeys()
        try server.update()
        XCTAssertFalse(server.keyPhase)
        XCTAssertEqual(try send(3, from: server, to: client, largest: 2), .next)
        XCTAssertFalse(client.keyPhase)
        XCTAssertEqual(client.generation, 2)
        XCTAssertEqual(try send(2, from: client, to: server, largest: 1), .current)
    }

    func testForgedPacketWithFlippedPhaseDoesNotUpdate() throws {
        let (client, server) = try endpoints()
        XCTAssertEqual(try send(5, from: client, to: server, largest: 4), .current)
        // A packet with the other key phase that fails authentication must not change state.
        var packet: [UInt8] = [KeyPhase.setting(true, in: 0x41), 1, 2, 3, 4, 0, 6] + [UInt8](repeating: 9, count: 46)
        let which = server.receiveKey(keyPhase: true, packetNumber: 6)
        XCTAssertEqual(which, .next)
        XCTAssertThrowsError(try packet.withUnsafeMutableBytes { p in
            try server.aead(for: which)!.open(packet: p, headerLength: 7, packetNumber: 6)
        }) { XCTAssertEqual($0 as? PacketProtectionError, .authenticationFailed) }
        XCTAssertFalse(server.keyPhase)
        XCTAssertEqual(server.generation, 0)
    }

    func testKeyPhaseBitHelpers() {
        XCTAssertTrue(KeyPhase.isSet(firstByte: 0x44))
        XCTAssertFalse(KeyPhase.isSet(firstByte: 0x43))
        XCTAssertEqual(KeyPhase.setting(true, in: 0x40), 0x44)
        XCTAssertEqual(KeyPhase.setting(false, in: 0x47), 0x43)
        // The key phase bit is covered by header protection in short headers only.
        XCTAssertEqual(HeaderProtection.protectedBits(firstByte: 0x40), 0x1f)
        XCTAssertEqual(HeaderProtection.protectedBits(firstByte: 0xc0), 0x0f)
    }
}
