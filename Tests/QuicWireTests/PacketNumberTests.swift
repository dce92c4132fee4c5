import XCTest
@testable import QuicWire

final class PacketNumberTests: XCTestCase {
    // RFC 9000 Appendix A.2: largest acked 0xabe8b3; sending 0xac5c02 needs 16 bits,
    // 0xace8fe needs 24 bits.
    func testAppendixA2() {
        XCTAssertEqual(PacketNumber.encodedLength(fullPacketNumber: 0xac5c02, largestAcknowledged: 0xabe8b3), 2)
        XCTAssertEqual(PacketNumber.encodedLength(fullPacketNumber: 0xace8fe, largestAcknowledged: 0xabe8b3), 3)
        XCTAssertEqual(PacketNumber.truncate(0xac5c02, length: 2), 0x5c02)
        XCTAssertEqual(PacketNumber.truncate(0xace8fe, length: 3), 0xace8fe)
        // Nothing acknowledged yet: num_unacked = full_pn + 1.
        XCTAssertEqual(PacketNumber.encodedLength(fullPacketNumber: 0, largestAcknowledged: nil), 1)
        XCTAssertEqual(PacketNumber.encodedLength(fullPacketNumber: 200, largestAcknowledged: nil), 2)
    }

    // RFC 9000 Appendix A.3: largest 0xa82f30ea, 16-bit 0x9b32 decodes to 0xa82f9b32.
    func testAppendixA3() {
        XCTAssertEqual(PacketNumber.decode(truncated: 0x9b32, length: 2, largestReceived: 0xa82f30ea), 0xa82f9b32)
        // RFC 9001 A.2/A.3: first packets with nothing received.
        XCTAssertEqual(PacketNumber.decode(truncated: 2, length: 4, largestReceived: nil), 2)
        XCTAssertEqual(PacketNumber.decode(truncated: 1, length: 2, largestReceived: nil), 1)
    }

    func testEdges() {
        // Wrap downward: largest 0x100 and truncated 0xff (8 bits) is 0xff, not 0x1ff.
        XCTAssertEqual(PacketNumber.decode(truncated: 0xff, length: 1, largestReceived: 0x100), 0xff)
        // Upward: largest 0xff, truncated 0x00 is 0x100.
        XCTAssertEqual(PacketNumber.decode(truncated: 0x00, length: 1, largestReceived: 0xff), 0x100)
        // Near 2^62 no overflow past the maximum.
        let top = PacketNumber.max
        XCTAssertLessThanOrEqual(PacketNumber.decode(truncated: 0xff, length: 1, largestReceived: top - 1), top)
    }

    /// Property: encoding with the A.2 length and decoding with A.3 recovers the number
    /// whenever the receiver's largest is within the acknowledged window.
    func testRoundTripProperty() {
        var g = SeededGenerator(seed: 0x5eed_0001)
        for _ in 0..<100_000 {
            let largestAcked = g.next() % (1 << 40)
            let full = largestAcked + 1 + g.next() % (1 << UInt64(g.int(1...30)))
            let length = PacketNumber.encodedLength(fullPacketNumber: full, largestAcknowledged: largestAcked)
            let truncated = PacketNumber.truncate(full, length: length)
            // The receiver has seen something between largestAcked and full - 1.
            let received = largestAcked + g.next() % (full - largestAcked)
            XCTAssertEqual(
                PacketNumber.decode(truncated: truncated, length: length, largestReceived: received), full,
                "full \(full) acked \(largestAcked) received \(received) len \(length)")
        }
    }
}
