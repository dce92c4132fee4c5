import XCTest
@testable import QuicWire

/// Regression tests added by the issue 3 review: edge cases of RFC 9000 that the first round
/// of tests did not pin down.
final class ReviewRegressionTests: XCTestCase {
    private func writeVN(unusedBits: UInt8) throws -> [UInt8] {
        var d = [UInt8](repeating: 0, count: 64)
        let n = try d.withUnsafeMutableBytes { b in
            var w = WireWriter(b)
            try [UInt8]([1, 2, 3]).withUnsafeBytes { dc in
                try [UInt8]([4, 5]).withUnsafeBytes { sc in
                    try PacketHeaderWriter.writeVersionNegotiation(
                        into: &w, dcid: dc, scid: sc, supportedVersions: [.v1], unusedBits: unusedBits)
                }
            }
            return w.position
        }
        return Array(d[0..<n])
    }

    /// RFC 9000 §17.2.1: the server SHOULD set 0x40 of the Unused field so that a Version
    /// Negotiation packet appears to have the Fixed Bit (QUIC multiplexed with other
    /// protocols, RFC 7983); the other bits are whatever the caller chose; version 0.
    func testVersionNegotiationFirstByte() throws {
        for unused: UInt8 in [0x00, 0x15, 0x2a, 0x3f, 0x7f, 0xff] {
            let d = try writeVN(unusedBits: unused)
            XCTAssertEqual(d[0] & 0xc0, 0xc0, "unused \(unused)")
            XCTAssertEqual(d[0] & 0x3f, unused & 0x3f, "unused \(unused)")
            XCTAssertEqual(Array(d[1..<5]), [0, 0, 0, 0])
            XCTAssertEqual(parseHeader(d).value?.kind, .versionNegotiation)
        }
    }

    /// RFC 9000 Appendix A.3 pseudo-code with unbounded integers, as the reference.
    static func referenceDecode(largest: UInt64?, truncated: UInt64, bits: Int) -> Int128 {
        let expected = Int128(largest.map { Int128($0) + 1 } ?? 0)
        let window = Int128(1) << bits
        let half = window / 2
        let mask = window - 1
        let candidate = (expected & ~mask) | (Int128(truncated) & mask)
        if candidate <= expected - half && candidate < (Int128(1) << 62) - window {
            return candidate + window
        }
        if candidate > expected + half && candidate >= window {
            return candidate - window
        }
        return candidate
    }

    /// Packet number recovery agrees with the RFC pseudo-code everywhere a largest packet
    /// number can be (0 ... 2^62-2), in particular near 2^62 where the pseudo-code stops
    /// adding a window.
    func testPacketNumberDecodeMatchesAppendixA3NearTheTop() {
        let top = PacketNumber.max
        var largests: [UInt64?] = [nil, 0, 1, 0xff, 0x100, 0xffff_ffff, 1 << 40]
        for d: UInt64 in [1, 2, 3, 127, 128, 129, 255, 256, 0x7fff, 0x8000, 0x8001, 0xffff, 0x10000,
                          0x7f_ffff, 0x80_0000, 0xff_ffff, 0x7fff_ffff, 0x8000_0000, 0x8000_0001, 0xffff_ffff,
                          0x1_0000_0000] {
            largests.append(top - d)
        }
        var g = SeededGenerator(seed: 0x9e17)
        for _ in 0..<2000 { largests.append(top - 1 - g.next() % (1 << 33)) }
        for largest in largests {
            for length in 1...4 {
                let bits = length * 8
                var truncs: [UInt64] = [0, 1, (1 << UInt64(bits - 1)) - 1, 1 << UInt64(bits - 1),
                                        (1 << UInt64(bits - 1)) + 1, (1 << UInt64(bits)) - 1]
                if let l = largest {
                    truncs.append((l &+ 1) & ((1 << UInt64(bits)) - 1))
                    truncs.append(l & ((1 << UInt64(bits)) - 1))
                }
                for _ in 0..<4 { truncs.append(g.next() & ((1 << UInt64(bits)) - 1)) }
                for t in truncs {
                    let reference = Self.referenceDecode(largest: largest, truncated: t, bits: bits)
                    let ours = PacketNumber.decode(truncated: t, length: length, largestReceived: largest)
                    XCTAssertEqual(Int128(ours), reference, "largest \(String(describing: largest)) t \(t) len \(length)")
                    XCTAssertLessThanOrEqual(ours, top)
                }
            }
        }
    }

    /// RFC 9000 §12.2: the packets before trailing bytes that are not a QUIC packet (zero
    /// padding after the last packet, junk) are returned; the trailer is reported as an
    /// error and ends the datagram.
    func testCoalescedTrailingPaddingAndGarbage() throws {
        let cid = ConnectionID([1, 2, 3, 4, 5, 6, 7, 8])!
        var d = [UInt8](repeating: 0, count: 400)
        let end = try d.withUnsafeMutableBytes { b -> Int in
            var w = WireWriter(b)
            let h = try PacketHeaderWriter.writeLongHeader(
                into: &w, type: .initial, version: .v1, dcid: cid, scid: ConnectionID(),
                truncatedPacketNumber: 0, packetNumberLength: 1)
            try w.writeZeros(200)
            try PacketHeaderWriter.patchLength(b, header: h, packetEnd: w.position)
            return w.position
        }
        func split(_ datagram: [UInt8], grease: Bool) -> ([PacketKind], PacketHeaderError?) {
            datagram.withUnsafeBytes { buf in
                var it = CoalescedPackets(buf, shortHeaderDCIDLength: 8, allowFixedBitZero: grease)
                var kinds: [PacketKind] = []
                do throws(PacketHeaderError) {
                    while let h = try it.next() { kinds.append(h.kind) }
                    return (kinds, nil)
                } catch {
                    XCTAssertNil(try? it.next() ?? nil, "nothing after an error")
                    return (kinds, error)
                }
            }
        }
        // 100 zero bytes after the Initial: the fixed bit is 0, so not a packet.
        let padded = Array(d[0..<(end + 100)])
        XCTAssertEqual(split(padded, grease: false).0, [.initial])
        XCTAssertEqual(split(padded, grease: false).1, .fixedBitZero)
        // With greasing on, the zeros parse as a short header whose DCID (zeros) differs from
        // the Initial's, so they are ignored as a coalesced packet of another connection.
        XCTAssertEqual(split(padded, grease: true).0, [.initial])
        XCTAssertEqual(split(padded, grease: true).1, .coalescedConnectionIDMismatch)
        // A few junk bytes after the Initial: too short to be a packet.
        let junk = Array(d[0..<end]) + [0x40, 1, 2]
        XCTAssertEqual(split(junk, grease: false).0, [.initial])
        XCTAssertNotNil(split(junk, grease: false).1)
        // The Initial alone is the whole datagram.
        XCTAssertEqual(split(Array(d[0..<end]), grease: false).0, [.initial])
        XCTAssertNil(split(Array(d[0..<end]), grease: false).1)
    }
    /// RFC 9000 §17.2, §17.3.1: reserved bits are only checked once the packet was
    /// authenticated (they are under header protection); set, they are a PROTOCOL_VIOLATION.
    /// Stage 1 parsing must not look at them.
    func testReservedBitsAreAProtocolViolationAfterUnprotecting() throws {
        let cid = ConnectionID([9, 9, 9, 9])!
        // Long header (Handshake): reserved bits 0x0c; short header: 0x18.
        var long = [UInt8](repeating: 0, count: 80)
        try long.withUnsafeMutableBytes { b in
            var w = WireWriter(b)
            let h = try PacketHeaderWriter.writeLongHeader(
                into: &w, type: .handshake, version: .v1, dcid: cid, scid: cid,
                truncatedPacketNumber: 1, packetNumberLength: 2)
            try w.writeZeros(40)
            try PacketHeaderWriter.patchLength(b, header: h, packetEnd: w.position)
        }
        let short: [UInt8] = [0x41] + cid.bytes + [0, 1] + [UInt8](repeating: 0, count: 40)
        for (bytes, bits, dcidLength) in [(long, UInt8(0x0c), 8), (short, UInt8(0x18), 4)] {
            for value: UInt8 in [0, bits & (bits << 1), bits & (bits >> 1), bits] {
                var d = bytes
                d[0] |= value
                let h = try XCTUnwrap(parseHeader(d, dcidLength: dcidLength).value, "stage 1 ignores reserved bits")
                let u = try d.withUnsafeBytes { buf in try h.unprotected(firstByte: d[0], in: buf) }
                XCTAssertEqual(u.packetNumberLength, 2)
                XCTAssertEqual(u.truncatedPacketNumber, 1)
                do throws(QuicError) {
                    try u.checkReservedBits()
                    XCTAssertEqual(value, 0)
                } catch {
                    XCTAssertNotEqual(value, 0)
                    XCTAssertEqual(error.code, .protocolViolation)
                    XCTAssertNil(error.frameType)
                }
            }
        }
    }
    /// `==` of stateless reset tokens (now without an early exit, RFC 9000 §10.3.1) is still
    /// byte equality, whichever byte differs, and hashing stays consistent with it.
    func testStatelessResetTokenEquality() {
        let base = (0..<16).map { UInt8($0 * 7 + 1) }
        let a = StatelessResetToken(base)!
        XCTAssertEqual(a, StatelessResetToken(base)!)
        var set: Set<StatelessResetToken> = [a]
        for i in 0..<16 {
            for bit in 0..<8 {
                var other = base
                other[i] ^= UInt8(1 << bit)
                let b = StatelessResetToken(other)!
                XCTAssertNotEqual(a, b, "byte \(i) bit \(bit)")
                XCTAssertFalse(set.contains(b))
                set.insert(b)
            }
        }
        XCTAssertEqual(set.count, 1 + 16 * 8)
        XCTAssertTrue(set.contains(StatelessResetToken(base)!))
        XCTAssertEqual(StatelessResetToken(), StatelessResetToken([UInt8](repeating: 0, count: 16))!)
    }
    /// The encoders report impossible arguments as `BufferTooSmall` instead of trapping on
    /// arithmetic overflow: ACK ranges near 2^64, STREAM/CRYPTO lengths above 2^62.
    func testEncodersDoNotTrapOnExtremeArguments() {
        func fails(_ body: (inout WireWriter) throws(BufferTooSmall) -> Void) -> Bool {
            var buffer = [UInt8](repeating: 0, count: 64)
            return buffer.withUnsafeMutableBytes { b in
                var w = WireWriter(b)
                do throws(BufferTooSmall) {
                    try body(&w)
                    return false
                } catch {
                    XCTAssertEqual(w.position, 0, "a failed write leaves the position")
                    return true
                }
            }
        }
        XCTAssertTrue(fails { (w: inout WireWriter) throws(BufferTooSmall) in
            try FrameEncoder.writeAck(ranges: [10...20, (UInt64.max - 1)...UInt64.max], ackDelay: 0, into: &w)
        })
        XCTAssertTrue(fails { (w: inout WireWriter) throws(BufferTooSmall) in
            try FrameEncoder.writeAck(ranges: [10...20, 0...UInt64(19)], ackDelay: 0, into: &w)
        })
        XCTAssertFalse(fails { (w: inout WireWriter) throws(BufferTooSmall) in
            try FrameEncoder.writeAck(ranges: [10...20, 0...UInt64(8)], ackDelay: 0, into: &w)
        })
        XCTAssertTrue(fails { (w: inout WireWriter) throws(BufferTooSmall) in
            try FrameEncoder.writeStreamHeader(streamID: 0, offset: 0, length: Int.max, fin: false,
                                               explicitLength: true, into: &w)
        })
        XCTAssertTrue(fails { (w: inout WireWriter) throws(BufferTooSmall) in
            try FrameEncoder.writeStreamHeader(streamID: 0, offset: 1, length: Int(VarInt.max), fin: false,
                                               explicitLength: false, into: &w)
        })
        XCTAssertFalse(fails { (w: inout WireWriter) throws(BufferTooSmall) in
            try FrameEncoder.writeStreamHeader(streamID: 0, offset: 0, length: Int(VarInt.max), fin: false,
                                               explicitLength: false, into: &w)
        })
        XCTAssertTrue(fails { (w: inout WireWriter) throws(BufferTooSmall) in
            try FrameEncoder.writeCryptoHeader(offset: 0, length: Int.max, into: &w)
        })
        XCTAssertFalse(fails { (w: inout WireWriter) throws(BufferTooSmall) in
            try FrameEncoder.writeCryptoHeader(offset: VarInt.max - 5, length: 5, into: &w)
        })
    }
}
