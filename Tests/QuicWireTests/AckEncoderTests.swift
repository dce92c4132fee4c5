// FrameEncoder.writeAck(ascending:newest:) — the non-generic ACK writer of the hot path —
// writes the same bytes as the generic writeAck(ranges:) given the newest ranges reversed.

import XCTest
@testable import QuicWire

final class AckEncoderTests: XCTestCase {
    private func bytes(_ body: (inout WireWriter) throws(BufferTooSmall) -> Void) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: 600)
        let n = out.withUnsafeMutableBytes { b -> Int? in
            var w = WireWriter(b)
            do { try body(&w) } catch { return nil }
            return w.position
        }
        return n.map { Array(out[0..<$0]) }
    }

    func testMatchesTheGenericWriterOnRandomRanges() {
        var seed: UInt64 = 0x5EED
        func next() -> UInt64 {
            seed &+= 0x9E37_79B9_7F4A_7C15
            var z = seed
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        for _ in 0..<2_000 {
            // Ascending, disjoint, with gaps of at least one packet number (§19.3.1).
            var ascending: [ClosedRange<UInt64>] = []
            var low = next() % 1_000_000
            for _ in 0..<(1 + Int(next() % 12)) {
                let high = low + next() % 40
                ascending.append(low...high)
                low = high + 2 + next() % 300
            }
            let count = 1 + Int(next() % UInt64(ascending.count))
            let delay = next() % 100_000
            let ecn = next() % 2 == 0 ? ECNCounts(ect0: next() % 1000, ect1: 0, ce: next() % 10) : nil
            let generic = bytes { (w: inout WireWriter) throws(BufferTooSmall) in
                try FrameEncoder.writeAck(ranges: ascending.suffix(count).reversed(), ackDelay: delay, ecn: ecn, into: &w)
            }
            let direct = bytes { (w: inout WireWriter) throws(BufferTooSmall) in
                try FrameEncoder.writeAck(ascending: ascending, newest: count, ackDelay: delay, ecn: ecn, into: &w)
            }
            XCTAssertNotNil(direct)
            XCTAssertEqual(generic, direct, "\(ascending) newest \(count)")
        }
    }

    func testRefusesBadArgumentsAndLeavesTheWriterAsItWas() throws {
        var out = [UInt8](repeating: 0, count: 8)
        try out.withUnsafeMutableBytes { b in
            var w = WireWriter(b)
            XCTAssertThrowsError(try FrameEncoder.writeAck(ascending: [], newest: 1, ackDelay: 0, into: &w))
            XCTAssertThrowsError(try FrameEncoder.writeAck(ascending: [1...2], newest: 2, ackDelay: 0, into: &w))
            XCTAssertThrowsError(try FrameEncoder.writeAck(ascending: [1...2], newest: 0, ackDelay: 0, into: &w))
            // Overlapping ranges cannot be encoded.
            XCTAssertThrowsError(try FrameEncoder.writeAck(ascending: [1...5, 6...9], newest: 2, ackDelay: 0, into: &w))
            // Too little room: nothing is left half-written.
            XCTAssertThrowsError(try FrameEncoder.writeAck(ascending: [0...1, 100_000...100_001, 1 << 40...(1 << 40) + 1],
                                                           newest: 3, ackDelay: 1 << 30, into: &w))
            XCTAssertEqual(w.position, 0)
        }
    }
}
