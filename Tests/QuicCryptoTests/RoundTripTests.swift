import XCTest
@testable import QuicCrypto

/// A small deterministic generator so failures reproduce (xorshift64*).
struct TestRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed | 1 }
    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_f491_4f6c_dd1d
    }
    mutating func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8.random(in: 0...255, using: &self) } }
}

/// Seal/open round trips for every suite, packet number and header shape; forged packets fail
/// with a typed error, never a trap.
final class RoundTripTests: XCTestCase {
    private let packetNumbers: [UInt64] = [0, 1, 2, 255, 256, 0x7fff, 65_535, 1 << 24, 654_360_564, (1 << 32) + 17,
                                           (1 << 62) - 1]

    private func randomKeys(_ suite: CipherSuite, _ version: ProtectionVersion, _ rng: inout TestRandom)
        -> PacketProtectionKeys
    {
        PacketProtectionKeys(suite: suite, secret: rng.bytes(suite.hash.digestLength), version: version)
    }

    /// A packet with a random header of `headerLength` bytes ending in the packet number, a
    /// random payload, and room for the tag. Returns (packet, pnOffset, payload).
    private func makePacket(longHeader: Bool, headerLength: Int, pnLength: Int, packetNumber: UInt64,
                            payloadLength: Int, rng: inout TestRandom) -> ([UInt8], Int, [UInt8]) {
        var header = rng.bytes(headerLength)
        let form: UInt8 = longHeader ? 0xc0 : 0x40
        header[0] = form | (header[0] & (longHeader ? 0x3c : 0x3c)) | UInt8(pnLength - 1)
        let pnOffset = headerLength - pnLength
        for i in 0..<pnLength {
            header[pnOffset + i] = UInt8(truncatingIfNeeded: packetNumber >> (8 * UInt64(pnLength - 1 - i)))
        }
        let payload = rng.bytes(payloadLength)
        return (header + payload + [UInt8](repeating: 0, count: 16), pnOffset, payload)
    }

    func testRoundTripEverySuite() throws {
        var rng = TestRandom(seed: 0x5eed)
        for version in ProtectionVersion.allCases {
            for suite in CipherSuite.allCases {
                let keys = randomKeys(suite, version, &rng)
                let sender = try PacketProtector(keys: keys)
                let receiver = try PacketProtector(keys: keys)
                for pn in packetNumbers {
                    for pnLength in 1...4 {
                        for longHeader in [false, true] {
                            // Short: 1 + DCID (0...20) + PN; long: up to ~60 bytes with a token.
                            let headerLength = pnLength + (longHeader ? Int.random(in: 7...60, using: &rng)
                                                                      : Int.random(in: 1...21, using: &rng))
                            // The sample needs pnLength + payload >= 4 (RFC 9001 §5.4.2).
                            let minPayload = max(0, 4 - pnLength)
                            let payloadLength = Int.random(in: minPayload...1400, using: &rng)
                            var (packet, pnOffset, payload) = makePacket(
                                longHeader: longHeader, headerLength: headerLength, pnLength: pnLength,
                                packetNumber: pn, payloadLength: payloadLength, rng: &rng)
                            let header = Array(packet[..<headerLength])
                            try sender.protect(packet: &packet, pnOffset: pnOffset, pnLength: pnLength, packetNumber: pn)
                            XCTAssertNotEqual(Array(packet[headerLength..<(headerLength + payloadLength)]), payload,
                                              "payload encrypted") // vanishingly unlikely to collide
                            let result = try receiver.unprotect(packet: &packet, pnOffset: pnOffset,
                                                                largestPacketNumber: pn == 0 ? nil : pn - 1)
                            XCTAssertEqual(result.packetNumber, pn, "\(suite) \(version) pn \(pn)/\(pnLength)")
                            XCTAssertEqual(Array(packet[..<headerLength]), header)
                            XCTAssertEqual(Array(packet[result.payload]), payload)
                        }
                    }
                }
            }
        }
    }

    func testEmptyPayloadAEAD() throws {
        // The AEAD itself accepts an empty plaintext (the packet layer never sends one).
        var rng = TestRandom(seed: 7)
        for suite in CipherSuite.allCases {
            let aead = try PacketAEAD(keys: randomKeys(suite, .v1, &rng))
            var packet = [UInt8](repeating: 0xab, count: 5 + 16)
            try packet.withUnsafeMutableBytes { try aead.seal(packet: $0, headerLength: 5, packetNumber: 9) }
            let range = try packet.withUnsafeMutableBytes { try aead.open(packet: $0, headerLength: 5, packetNumber: 9) }
            XCTAssertEqual(range, 5..<5)
        }
    }

    func testTamperedPacketsFailToOpen() throws {
        var rng = TestRandom(seed: 99)
        for suite in CipherSuite.allCases {
            let keys = randomKeys(suite, .v1, &rng)
            let sender = try PacketProtector(keys: keys)
            let receiver = try PacketProtector(keys: keys)
            var (packet, pnOffset, _) = makePacket(longHeader: false, headerLength: 1 + 8 + 2, pnLength: 2,
                                                   packetNumber: 1000, payloadLength: 100, rng: &rng)
            try sender.protect(packet: &packet, pnOffset: pnOffset, pnLength: 2, packetNumber: 1000)
            // Sanity: the untouched packet opens.
            var copy = packet
            XCTAssertNoThrow(try receiver.unprotect(packet: &copy, pnOffset: pnOffset, largestPacketNumber: 999))

            // Every single-byte change (header, packet number, first byte, ciphertext, tag) fails.
            for i in 0..<packet.count {
                var bad = packet
                bad[i] ^= (i == 0) ? 0x01 : 0x10
                XCTAssertThrowsError(try receiver.unprotect(packet: &bad, pnOffset: pnOffset, largestPacketNumber: 999),
                                     "\(suite) byte \(i)") { error in
                    XCTAssertEqual(error as? PacketProtectionError, .authenticationFailed)
                }
            }
            // A key phase flip of the first byte (bit 0x04) also fails.
            var flipped = packet
            flipped[0] ^= KeyPhase.bit
            XCTAssertThrowsError(try receiver.unprotect(packet: &flipped, pnOffset: pnOffset, largestPacketNumber: 999))

            // Wrong key.
            var wrong = packet
            let stranger = try PacketProtector(keys: randomKeys(suite, .v1, &rng))
            XCTAssertThrowsError(try stranger.unprotect(packet: &wrong, pnOffset: pnOffset, largestPacketNumber: 999)) {
                XCTAssertEqual($0 as? PacketProtectionError, .authenticationFailed)
            }
            // Wrong packet number recovery (the nonce differs).
            var far = packet
            XCTAssertThrowsError(try receiver.unprotect(packet: &far, pnOffset: pnOffset, largestPacketNumber: 200_000)) {
                XCTAssertEqual($0 as? PacketProtectionError, .authenticationFailed)
            }
            // Truncated: too short for the sample, then too short overall.
            for length in [0, 1, pnOffset + 19] {
                var short = Array(packet[..<length])
                XCTAssertThrowsError(try receiver.unprotect(packet: &short, pnOffset: pnOffset, largestPacketNumber: 999)) {
                    let e = $0 as? PacketProtectionError
                    XCTAssertTrue(e == .packetTooShort || e == .invalidArgument, "\(String(describing: e))")
                }
            }
            // One byte shorter than the real packet: the tag moves, authentication fails.
            var cut = Array(packet.dropLast())
            XCTAssertThrowsError(try receiver.unprotect(packet: &cut, pnOffset: pnOffset, largestPacketNumber: 999))
        }
    }

    func testProtectRejectsBadArguments() throws {
        var rng = TestRandom(seed: 3)
        let protector = try PacketProtector(keys: randomKeys(.aes128GcmSha256, .v1, &rng))
        var packet = [UInt8](repeating: 0x40, count: 40)
        XCTAssertThrowsError(try protector.protect(packet: &packet, pnOffset: 0, pnLength: 1, packetNumber: 0))
        XCTAssertThrowsError(try protector.protect(packet: &packet, pnOffset: 5, pnLength: 5, packetNumber: 0))
        XCTAssertThrowsError(try protector.protect(packet: &packet, pnOffset: 5, pnLength: 0, packetNumber: 0))
        XCTAssertThrowsError(try protector.protect(packet: &packet, pnOffset: 25, pnLength: 4, packetNumber: 0)) {
            XCTAssertEqual($0 as? PacketProtectionError, .packetTooShort)
        }
        XCTAssertThrowsError(try protector.protect(packet: &packet, range: 30..<50, pnOffset: 1, pnLength: 1,
                                                   packetNumber: 0))
        XCTAssertThrowsError(try PacketAEAD(suite: .aes128GcmSha256, key: [1, 2, 3], iv: [UInt8](repeating: 0, count: 12)))
        XCTAssertThrowsError(try HeaderProtection(suite: .chacha20Poly1305Sha256, key: [UInt8](repeating: 0, count: 16)))
    }

    func testProtectInsideLargerBuffer() throws {
        // Coalesced packets: protect and open a packet in the middle of a datagram buffer.
        var rng = TestRandom(seed: 11)
        let keys = randomKeys(.aes256GcmSha384, .v2, &rng)
        let protector = try PacketProtector(keys: keys)
        var (packet, pnOffset, payload) = makePacket(longHeader: true, headerLength: 30, pnLength: 4, packetNumber: 77,
                                                     payloadLength: 300, rng: &rng)
        let prefix = rng.bytes(50), suffix = rng.bytes(70)
        var datagram = prefix + packet + suffix
        let range = 50..<(50 + packet.count)
        try protector.protect(packet: &datagram, range: range, pnOffset: pnOffset, pnLength: 4, packetNumber: 77)
        XCTAssertEqual(Array(datagram[..<50]), prefix)
        XCTAssertEqual(Array(datagram[range.upperBound...]), suffix)
        let result = try protector.unprotect(packet: &datagram, range: range, pnOffset: pnOffset, largestPacketNumber: 70)
        XCTAssertEqual(result.packetNumber, 77)
        XCTAssertEqual(Array(datagram[(50 + result.payload.lowerBound)..<(50 + result.payload.upperBound)]), payload)
        packet = Array(datagram[range])
        XCTAssertEqual(Array(packet[..<30]), Array(packet[..<30]))
    }

    func testPacketNumberDecoding() {
        // RFC 9000 §A.3 example: largest 0xa82f30ea, 2-byte 0x9b32 -> 0xa82f9b32.
        XCTAssertEqual(PacketNumberDecoding.decode(truncated: 0x9b32, length: 2, largest: 0xa82f_30ea), 0xa82f_9b32)
        XCTAssertEqual(PacketNumberDecoding.decode(truncated: 0, length: 1, largest: nil), 0)
        XCTAssertEqual(PacketNumberDecoding.decode(truncated: 1, length: 1, largest: 255), 257)
        XCTAssertEqual(PacketNumberDecoding.decode(truncated: 0xff, length: 1, largest: 256), 255)
        // Near the top of the packet number space no wrap past 2^62 happens.
        let top: UInt64 = (1 << 62) - 1
        XCTAssertEqual(PacketNumberDecoding.decode(truncated: top & 0xffff_ffff, length: 4, largest: top - 1), top)
    }
}

/// Batched header protection masks equal the one-at-a-time masks.
final class HeaderProtectionBatchTests: XCTestCase {
    func testBatchMasksMatchSingleMasks() throws {
        var rng = TestRandom(seed: 2024)
        for suite in CipherSuite.allCases {
            let hp = try HeaderProtection(suite: suite, key: rng.bytes(suite.keyLength))
            let count = 37
            let samples = rng.bytes(16 * count)
            var masks = [UInt8](repeating: 0xee, count: 16 * count)
            try samples.withUnsafeBytes { s in
                try masks.withUnsafeMutableBytes { m in
                    try hp.masks(samples: s.baseAddress!, count: count, into: m.baseAddress!)
                }
            }
            for i in 0..<count {
                let single = try hp.mask(sample: Array(samples[(16 * i)..<(16 * i + 16)]))
                XCTAssertEqual(Array(masks[(16 * i)..<(16 * i + 5)]), single, "\(suite) #\(i)")
            }
            // In place (samples overwritten by their masks).
            var inPlace = samples
            try inPlace.withUnsafeMutableBytes { b in
                try hp.masks(samples: b.baseAddress!, count: count, into: b.baseAddress!)
            }
            for i in 0..<count {
                XCTAssertEqual(Array(inPlace[(16 * i)..<(16 * i + 5)]), Array(masks[(16 * i)..<(16 * i + 5)]))
            }
        }
        // The RFC 9001 A.2 sample through the batch path.
        let keys = InitialSecrets.keys(version: .v1, destinationConnectionID: RFC9001.clientDestinationConnectionID)
        let hp = try HeaderProtection(keys: keys.client)
        var out = [UInt8](repeating: 0, count: 16)
        try RFC9001.clientSample.withUnsafeBytes { s in
            try out.withUnsafeMutableBytes { try hp.masks(samples: s.baseAddress!, count: 1, into: $0.baseAddress!) }
        }
        XCTAssertEqual(Array(out[..<5]), RFC9001.clientMask)
    }
}

/// Garbage in never traps: random buffers, lengths and offsets only produce typed errors.
final class GarbageInputTests: XCTestCase {
    func testRandomInputsNeverTrap() throws {
        var rng = TestRandom(seed: 0xbad)
        for suite in CipherSuite.allCases {
            let protector = try PacketProtector(keys: PacketProtectionKeys(suite: suite,
                                                                           secret: rng.bytes(suite.hash.digestLength)))
            for _ in 0..<2000 {
                var packet = rng.bytes(Int.random(in: 0...120, using: &rng))
                let pnOffset = Int.random(in: -2...130, using: &rng)
                let largest: UInt64? = Bool.random(using: &rng) ? nil : UInt64.random(in: 0...(1 << 62), using: &rng)
                XCTAssertThrowsError(try protector.unprotect(packet: &packet, pnOffset: pnOffset,
                                                             largestPacketNumber: largest))
                let headerLength = Int.random(in: -2...130, using: &rng)
                XCTAssertThrowsError(try packet.withUnsafeMutableBytes {
                    try protector.aead.open(packet: $0, headerLength: headerLength, packetNumber: 1)
                })
            }
            // Empty buffers (nil base address) are rejected, not dereferenced.
            XCTAssertThrowsError(try protector.aead.seal(packet: UnsafeMutableRawBufferPointer(start: nil, count: 0),
                                                         headerLength: 0, packetNumber: 0))
            XCTAssertThrowsError(try protector.headerProtection.remove(
                packet: UnsafeMutableRawBufferPointer(start: nil, count: 0), pnOffset: 1))
        }
        XCTAssertFalse(RetryIntegrity.verify(version: .v1, originalDestinationConnectionID: [UInt8](repeating: 1, count: 300),
                                             retryPacket: [UInt8](repeating: 0, count: 40)))
    }
}
