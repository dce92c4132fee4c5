import XCTest
import QuicWire
@testable import QuicCrypto

/// Regression tests added by the issue 3 review.
final class CryptoReviewRegressionTests: XCTestCase {
    /// QuicCrypto's packet number recovery (used by `PacketProtector.unprotect`) and QuicWire's
    /// (used with `PacketHeader.unprotected`) are both RFC 9000 Appendix A.3: they must agree
    /// for every largest packet number a connection can have (0 ... 2^62-2), including the
    /// window next to 2^62.
    func testPacketNumberDecodersAgree() {
        let top = PacketNumber.max
        var rng = TestRandom(seed: 0x3a3)
        var largests: [UInt64?] = [nil, 0, 1, 127, 128, 255, 256, 0xffff, 0x1_0000, 0xffff_ffff, 1 << 32]
        for d: UInt64 in [1, 2, 127, 128, 129, 0x7fff, 0x8000, 0x8001, 0x7fff_ffff, 0x8000_0000, 0x8000_0001,
                          0xffff_ffff, 0x1_0000_0000] {
            largests.append(top - d)
        }
        for _ in 0..<3000 { largests.append(rng.next() % top) }
        for largest in largests {
            for length in 1...4 {
                let mask: UInt64 = (1 << UInt64(8 * length)) - 1
                var truncs: [UInt64] = [0, 1, mask / 2, mask / 2 + 1, mask]
                for _ in 0..<4 { truncs.append(rng.next() & mask) }
                for t in truncs {
                    let crypto = PacketNumberDecoding.decode(truncated: t, length: length, largest: largest)
                    let wire = PacketNumber.decode(truncated: t, length: length, largestReceived: largest)
                    XCTAssertEqual(crypto, wire, "largest \(String(describing: largest)) t \(t) len \(length)")
                    XCTAssertLessThanOrEqual(crypto, top)
                }
            }
        }
    }
    /// A `largest` beyond 2^62-1 (impossible on the wire; a caller bug) gives some value
    /// instead of trapping on overflow.
    func testPacketNumberDecodingDoesNotTrapOnExtremeLargest() {
        for largest: UInt64 in [UInt64.max, UInt64.max - 1, UInt64.max - 200, 1 << 63, (1 << 62) + 5] {
            for length in 1...4 {
                for t: UInt64 in [0, 0x7f, 0x80, 0xff, 0xffff_ffff] {
                    _ = PacketNumberDecoding.decode(truncated: t, length: length, largest: largest)
                    _ = PacketNumber.decode(truncated: t, length: length, largestReceived: largest)
                }
            }
        }
    }
    /// Offsets and header lengths far beyond the buffer (caller bugs) are typed errors, not
    /// integer overflow traps; the error kinds stay those of a too short packet.
    func testExtremeOffsetsAreErrorsNotTraps() throws {
        let keys = InitialSecrets.keys(version: .v1, destinationConnectionID: [1, 2, 3, 4, 5, 6, 7, 8]).client
        let protector = try PacketProtector(keys: keys)
        var packet = [UInt8](repeating: 0, count: 64)
        for offset in [Int.max, Int.max - 3, Int.max - 19, 65, 64] {
            try packet.withUnsafeMutableBytes { p in
                for call in 0..<5 {
                    do throws(PacketProtectionError) {
                        switch call {
                        case 0: try protector.protect(packet: p, pnOffset: offset, pnLength: 4, packetNumber: 1)
                        case 1: _ = try protector.unprotect(packet: p, pnOffset: offset, largestPacketNumber: nil)
                        case 2: try protector.headerProtection.apply(packet: p, pnOffset: offset, pnLength: 1)
                        case 3: try protector.aead.seal(packet: p, headerLength: offset, packetNumber: 1)
                        default: _ = try protector.aead.open(packet: p, headerLength: offset, packetNumber: 1)
                        }
                        XCTFail("offset \(offset) call \(call) succeeded")
                    } catch {
                        XCTAssertTrue(error == .packetTooShort || (call == 3 && error == .invalidArgument),
                                      "offset \(offset) call \(call): \(error)")
                    }
                }
            }
        }
    }
}
