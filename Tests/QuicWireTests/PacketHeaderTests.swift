import XCTest
@testable import QuicWire

final class PacketHeaderTests: XCTestCase {
    let dcid8 = hex("8394c8f03e515708")

    /// A datagram made of `header` followed by `total - header.count` bytes of filler.
    func datagram(_ header: [UInt8], total: Int, fill: UInt8 = 0xa5) -> [UInt8] {
        header + [UInt8](repeating: fill, count: total - header.count)
    }

    // RFC 9001 Appendix A.2: the client Initial, unprotected header
    // c300000001088394c8f03e5157080000449e00000002 in a 1200-byte datagram.
    func testRFC9001ClientInitialUnprotected() throws {
        let header = hex("c300000001088394c8f03e5157080000449e00000002")
        let d = datagram(header, total: 1200)
        let h = try XCTUnwrap(parseHeader(d).value)
        XCTAssertEqual(h.kind, .initial)
        XCTAssertEqual(h.version, .v1)
        XCTAssertEqual(h.dcid.bytes, dcid8)
        XCTAssertTrue(h.scid.isEmpty)
        XCTAssertEqual(h.tokenRange.count, 0)
        XCTAssertEqual(h.length, 0x049e)
        XCTAssertEqual(h.packetNumberOffset, 18)
        XCTAssertEqual(h.sampleOffset, 22)
        XCTAssertEqual(h.end, 1200)
        let u = try d.withUnsafeBytes { buf in try h.unprotected(firstByte: d[0], in: buf) }
        XCTAssertEqual(u.packetNumberLength, 4)
        XCTAssertEqual(u.truncatedPacketNumber, 2)
        XCTAssertEqual(u.reservedBits, 0)
        XCTAssertEqual(u.payloadOffset, 22)
        XCTAssertEqual(PacketNumber.decode(truncated: u.truncatedPacketNumber, length: 4, largestReceived: nil), 2)
    }

    // RFC 9001 A.2 protected header c000000001088394c8f03e5157080000449e7b9aec34: the invariant
    // parse is identical before header protection removal; after unmasking with the mask
    // 437b9aec36 we get the A.2 values.
    func testRFC9001ClientInitialProtectedThenUnmasked() throws {
        var d = datagram(hex("c000000001088394c8f03e5157080000449e7b9aec34"), total: 1200)
        let h = try XCTUnwrap(parseHeader(d).value)
        XCTAssertEqual(h.kind, .initial)
        XCTAssertEqual(h.packetNumberOffset, 18)
        // What QuicCrypto would do: unmask the low 4 bits and the PN bytes in place.
        let mask = hex("437b9aec36")
        let first = d[0] ^ (mask[0] & 0x0f)
        let pnLength = Int(first & 0x03) + 1
        for i in 0..<pnLength { d[h.packetNumberOffset + i] ^= mask[1 + i] }
        let u = try d.withUnsafeBytes { buf in try h.unprotected(firstByte: first, in: buf) }
        XCTAssertEqual(first, 0xc3)
        XCTAssertEqual(u.truncatedPacketNumber, 2)
        XCTAssertEqual(u.packetNumberLength, 4)
    }

    // RFC 9001 A.3: server Initial header c1000000010008f067a5502a4262b50040750001.
    func testRFC9001ServerInitial() throws {
        let header = hex("c1000000010008f067a5502a4262b50040750001")
        let d = datagram(header, total: header.count - 2 + 0x75)
        let h = try XCTUnwrap(parseHeader(d).value)
        XCTAssertEqual(h.kind, .initial)
        XCTAssertTrue(h.dcid.isEmpty)
        XCTAssertEqual(h.scid.bytes, hex("f067a5502a4262b5"))
        XCTAssertEqual(h.length, 0x75)
        XCTAssertEqual(h.end, d.count)
        let u = try d.withUnsafeBytes { buf in try h.unprotected(firstByte: d[0], in: buf) }
        XCTAssertEqual(u.packetNumberLength, 2)
        XCTAssertEqual(u.truncatedPacketNumber, 1)
    }

    // RFC 9001 A.4 and RFC 9369 A.4 Retry packets.
    func testRetryVectors() throws {
        let v1 = hex("ff000000010008f067a5502a4262b5746f6b656e04a265ba2eff4d829058fb3f0f2496ba")
        let h1 = try XCTUnwrap(parseHeader(v1).value)
        XCTAssertEqual(h1.kind, .retry)
        XCTAssertEqual(h1.version, .v1)
        XCTAssertEqual(h1.scid.bytes, hex("f067a5502a4262b5"))
        XCTAssertEqual(Array(v1[h1.tokenRange]), Array("token".utf8))
        XCTAssertEqual(Array(v1[h1.trailerRange]), hex("04a265ba2eff4d829058fb3f0f2496ba"))

        let v2 = hex("cf6b3343cf0008f067a5502a4262b5746f6b656ec8646ce8bfe33952d955543665dcc7b6")
        let h2 = try XCTUnwrap(parseHeader(v2).value)
        XCTAssertEqual(h2.kind, .retry)
        XCTAssertEqual(h2.version, .v2)
        XCTAssertEqual(Array(v2[h2.tokenRange]), Array("token".utf8))
        XCTAssertEqual(Array(v2[h2.trailerRange]), hex("c8646ce8bfe33952d955543665dcc7b6"))

        // Writing the v1 Retry without its tag reproduces the vector's prefix.
        var out = [UInt8](repeating: 0, count: 100)
        let token = Array("token".utf8)
        let n = try out.withUnsafeMutableBytes { b in
            try token.withUnsafeBytes { t in
                var w = WireWriter(b)
                try PacketHeaderWriter.writeRetryWithoutTag(
                    into: &w, version: .v1, dcid: ConnectionID(), scid: ConnectionID(hex("f067a5502a4262b5"))!,
                    token: t, unusedBits: 0x0f)
                return w.position
            }
        }
        XCTAssertEqual(Array(out[0..<n]), Array(v1.prefix(v1.count - 16)))
        // A Retry with an empty token is discarded (RFC 9000 §17.2.5.2).
        XCTAssertEqual(parseHeader(Array(v1.prefix(15)) + hex("04a265ba2eff4d829058fb3f0f2496ba")).error, .malformedRetry)
    }

    // RFC 9369 Appendix A.2: v2 client Initial unprotected d36b3343cf...00000002 and its
    // protected form d76b3343cf...a0c95e82 (mask 94a0c95e80).
    func testRFC9369ClientInitial() throws {
        let plain = datagram(hex("d36b3343cf088394c8f03e5157080000449e00000002"), total: 1200)
        let h = try XCTUnwrap(parseHeader(plain).value)
        XCTAssertEqual(h.kind, .initial)
        XCTAssertEqual(h.version, .v2)
        XCTAssertEqual(h.dcid.bytes, dcid8)
        XCTAssertEqual(h.packetNumberOffset, 18)
        let u = try plain.withUnsafeBytes { buf in try h.unprotected(firstByte: plain[0], in: buf) }
        XCTAssertEqual(u.truncatedPacketNumber, 2)

        let protected = datagram(hex("d76b3343cf088394c8f03e5157080000449ea0c95e82"), total: 1200)
        let hp = try XCTUnwrap(parseHeader(protected).value)
        XCTAssertEqual(hp.kind, .initial)  // type bits are not masked
        XCTAssertEqual(hp.packetNumberOffset, 18)

        // The writer produces the same unprotected header.
        var buf = [UInt8](repeating: 0, count: 1200)
        let written = try buf.withUnsafeMutableBytes { b in
            var w = WireWriter(b)
            let wh = try PacketHeaderWriter.writeLongHeader(
                into: &w, type: .initial, version: .v2, dcid: ConnectionID(dcid8)!, scid: ConnectionID(),
                truncatedPacketNumber: 2, packetNumberLength: 4)
            try PacketHeaderWriter.patchLength(b, header: wh, packetEnd: 1200)
            return wh
        }
        XCTAssertEqual(Array(buf[0..<written.payloadOffset]), hex("d36b3343cf088394c8f03e5157080000449e00000002"))
    }

    func testV1TypeBitsAndV2Mapping() {
        for t in LongPacketType.allCases {
            XCTAssertEqual(QuicVersion.v1.longPacketType(typeBits: QuicVersion.v1.typeBits(of: t)), t)
            XCTAssertEqual(QuicVersion.v2.longPacketType(typeBits: QuicVersion.v2.typeBits(of: t)), t)
        }
        // RFC 9369 §3.2
        XCTAssertEqual(QuicVersion.v2.typeBits(of: .initial), 0b01)
        XCTAssertEqual(QuicVersion.v2.typeBits(of: .zeroRTT), 0b10)
        XCTAssertEqual(QuicVersion.v2.typeBits(of: .handshake), 0b11)
        XCTAssertEqual(QuicVersion.v2.typeBits(of: .retry), 0b00)
        XCTAssertTrue(QuicVersion(0x1a2a3a4a).isReservedForNegotiation)
        XCTAssertFalse(QuicVersion.v1.isReservedForNegotiation)
    }

    func testVersionNegotiation() throws {
        let clientDCID = [UInt8](repeating: 7, count: 30)  // > 20 allowed for unknown versions
        let clientSCID = hex("0102030405")
        var d = [UInt8](repeating: 0, count: 200)
        let n = try d.withUnsafeMutableBytes { b in
            var w = WireWriter(b)
            try clientDCID.withUnsafeBytes { dc in
                try clientSCID.withUnsafeBytes { sc in
                    try PacketHeaderWriter.writeVersionNegotiation(
                        into: &w, dcid: sc, scid: dc, supportedVersions: [.v2, .v1], unusedBits: 0x55)
                }
            }
            return w.position
        }
        d = Array(d[0..<n])
        let h = try XCTUnwrap(parseHeader(d).value)
        XCTAssertEqual(h.kind, .versionNegotiation)
        XCTAssertEqual(Array(d[h.dcidRange]), clientSCID)
        XCTAssertEqual(Array(d[h.scidRange]), clientDCID)
        let versions = d.withUnsafeBytes { h.supportedVersions(in: $0) }
        XCTAssertEqual(versions, [.v2, .v1])
        // A version list that is not a multiple of 4 is malformed.
        XCTAssertEqual(parseHeader(d + [1]).error, .malformedVersionNegotiation)
        XCTAssertEqual(parseHeader(Array(d.prefix(d.count - 8))).error, .malformedVersionNegotiation)
    }

    func testUnsupportedVersionInvariants() throws {
        // A long header of an unknown version with a 25-byte DCID: invariants only.
        let d = [0xc0, 0x1a, 0x2a, 0x3a, 0x4a, 25] + [UInt8](repeating: 9, count: 25) + [3, 1, 2, 3]
            + [UInt8](repeating: 0, count: 1100)
        let h = try XCTUnwrap(parseHeader(d).value)
        XCTAssertEqual(h.kind, .unsupportedVersion)
        XCTAssertEqual(h.dcidRange.count, 25)
        XCTAssertTrue(h.dcid.isEmpty)
        XCTAssertEqual(Array(d[h.scidRange]), [1, 2, 3])
        XCTAssertEqual(h.end, d.count)
    }

    func testV1RejectsLongConnectionIDs() {
        let d = [0xc0, 0, 0, 0, 1, 21] + [UInt8](repeating: 9, count: 21) + [0, 0, 0x40, 30]
            + [UInt8](repeating: 0, count: 30)
        XCTAssertEqual(parseHeader(d).error, .connectionIDTooLong)
    }

    func testShortHeaderAndFixedBitGreasing() throws {
        var d = [UInt8](repeating: 0, count: 60)
        let written = try d.withUnsafeMutableBytes { b in
            var w = WireWriter(b)
            return try PacketHeaderWriter.writeShortHeader(
                into: &w, dcid: ConnectionID(dcid8)!, truncatedPacketNumber: 0x1234, packetNumberLength: 2,
                keyPhase: true, spinBit: true)
        }
        XCTAssertEqual(d[0], 0x40 | 0x20 | 0x04 | 0x01)
        let h = try XCTUnwrap(parseHeader(d).value)
        XCTAssertEqual(h.kind, .oneRTT)
        XCTAssertEqual(h.dcid.bytes, dcid8)
        XCTAssertEqual(h.packetNumberOffset, written.packetNumberOffset)
        let u = try d.withUnsafeBytes { buf in try h.unprotected(firstByte: d[0], in: buf) }
        XCTAssertTrue(u.keyPhase)
        XCTAssertTrue(u.spinBit)
        XCTAssertEqual(u.truncatedPacketNumber, 0x1234)

        // Fixed bit 0: discarded unless we advertised grease_quic_bit (RFC 9287 §3).
        var greased = d
        greased[0] &= ~0x40
        XCTAssertEqual(parseHeader(greased).error, .fixedBitZero)
        XCTAssertEqual(parseHeader(greased, grease: true).value?.kind, .oneRTT)
        var longGreased = datagram(hex("c300000001088394c8f03e5157080000449e00000002"), total: 1200)
        longGreased[0] &= ~0x40
        XCTAssertEqual(parseHeader(longGreased).error, .fixedBitZero)
        XCTAssertEqual(parseHeader(longGreased, grease: true).value?.kind, .initial)

        // Reserved bits are reported for the post-AEAD check (RFC 9000 §17.3.1).
        let u2 = try d.withUnsafeBytes { buf in try h.unprotected(firstByte: d[0] | 0x18, in: buf) }
        XCTAssertEqual(u2.reservedBits, 3)
        XCTAssertThrowsError(try u2.checkReservedBits())
        XCTAssertNoThrow(try u.checkReservedBits())
    }

    func testSampleMustFit() {
        // Short header with fewer than pn_offset + 4 + 16 bytes.
        let d = [UInt8](arrayLiteral: 0x40) + dcid8 + [UInt8](repeating: 0, count: 19)
        XCTAssertEqual(parseHeader(d).error, .tooShortForHeaderProtectionSample)
        XCTAssertNotNil(parseHeader(d + [0]).value)
    }

    /// Initial + Handshake + 1-RTT coalesced in one datagram are split by their Length fields
    /// before any header protection is removed (RFC 9000 §12.2).
    func testCoalescedSplit() throws {
        var d = [UInt8](repeating: 0, count: 1300)
        let cid = ConnectionID(dcid8)!
        let ends = try d.withUnsafeMutableBytes { b -> [Int] in
            var w = WireWriter(b)
            var ends: [Int] = []
            for (type, size) in [(LongPacketType.initial, 300), (.handshake, 200), (.zeroRTT, 100)] {
                let h = try PacketHeaderWriter.writeLongHeader(
                    into: &w, type: type, version: .v1, dcid: cid, scid: ConnectionID([1, 2])!,
                    truncatedPacketNumber: 7, packetNumberLength: 1)
                try w.writeZeros(size)
                try PacketHeaderWriter.patchLength(b, header: h, packetEnd: w.position)
                ends.append(w.position)
            }
            _ = try PacketHeaderWriter.writeShortHeader(
                into: &w, dcid: cid, truncatedPacketNumber: 9, packetNumberLength: 1, keyPhase: false)
            try w.writeZeros(50)
            ends.append(w.position)
            return ends
        }
        d = Array(d[0..<ends.last!])
        let kinds: [PacketKind] = try d.withUnsafeBytes { buf in
            var it = CoalescedPackets(buf, shortHeaderDCIDLength: 8)
            var kinds: [PacketKind] = []
            var i = 0
            while let h = try it.next() {
                XCTAssertEqual(h.end, ends[i])
                i += 1
                kinds.append(h.kind)
            }
            return kinds
        }
        XCTAssertEqual(kinds, [.initial, .handshake, .zeroRTT, .oneRTT])

        // A second packet with a different DCID is rejected, the first one stays valid.
        var other = d
        other[ends[0] + 6] ^= 0xff  // first DCID byte of the Handshake packet
        let outcome: (PacketKind?, PacketHeaderError?, Bool) = other.withUnsafeBytes { buf in
            var it = CoalescedPackets(buf, shortHeaderDCIDLength: 8)
            let first = try? it.next()?.kind
            var failure: PacketHeaderError? = nil
            do throws(PacketHeaderError) { _ = try it.next() } catch { failure = error }
            let after = (try? it.next()) ?? nil
            return (first, failure, after == nil)
        }
        XCTAssertEqual(outcome.0, .initial)
        XCTAssertEqual(outcome.1, .coalescedConnectionIDMismatch)
        XCTAssertTrue(outcome.2)
        // A Length pointing beyond the datagram.
        var long = d
        long[ends[0] - 300 - 1 - 2] = 0x7f  // Length field high byte of the first packet
        XCTAssertEqual(parseHeader(long).error, .lengthExceedsDatagram)
    }

    /// Headers written with random fields parse back to the same fields.
    func testRandomHeaderRoundTrip() throws {
        var g = SeededGenerator(seed: 0x4ead_e400)
        for _ in 0..<5000 {
            let version: QuicVersion = g.bool() ? .v1 : .v2
            let dcid = ConnectionID(g.bytes(g.int(0...20)))!
            let scid = ConnectionID(g.bytes(g.int(0...20)))!
            let pnLength = g.int(1...4)
            let pn = g.next() & ((1 << UInt64(8 * pnLength)) - 1)
            let payload = g.int(20...300)
            let token = g.bytes(g.int(0...40))
            let type = [LongPacketType.initial, .zeroRTT, .handshake][g.int(0...2)]
            let fixed = g.bool()
            let short = g.int(0...3) == 0
            var d = [UInt8](repeating: 0, count: 1500)
            let wh = try d.withUnsafeMutableBytes { b in
                var w = WireWriter(b)
                let wh: WrittenHeader
                if short {
                    wh = try PacketHeaderWriter.writeShortHeader(
                        into: &w, dcid: dcid, truncatedPacketNumber: pn, packetNumberLength: pnLength,
                        keyPhase: g.bool(), fixedBit: fixed)
                    try w.writeZeros(payload)
                } else {
                    wh = try token.withUnsafeBytes { t in
                        try PacketHeaderWriter.writeLongHeader(
                            into: &w, type: type, version: version, dcid: dcid, scid: scid, token: t,
                            truncatedPacketNumber: pn, packetNumberLength: pnLength,
                            lengthFieldSize: [2, 4, 8][g.int(0...2)], fixedBit: fixed)
                    }
                    try w.writeZeros(payload)
                    try PacketHeaderWriter.patchLength(b, header: wh, packetEnd: w.position)
                }
                return (wh, w.position)
            }
            d = Array(d[0..<wh.1])
            let parsed = parseHeader(d, dcidLength: dcid.length, grease: !fixed)
            let h = try XCTUnwrap(parsed.value, "\(parsed)")
            XCTAssertEqual(h.kind, short ? .oneRTT : PacketKind(type))
            XCTAssertEqual(h.dcid, dcid)
            XCTAssertEqual(h.packetNumberOffset, wh.0.packetNumberOffset)
            XCTAssertEqual(h.end, d.count)
            if !short {
                XCTAssertEqual(h.version, version)
                XCTAssertEqual(h.scid, scid)
                XCTAssertEqual(Array(d[h.tokenRange]), type == .initial ? token : [])
            }
            let u = try d.withUnsafeBytes { buf in try h.unprotected(firstByte: d[0], in: buf) }
            XCTAssertEqual(u.packetNumberLength, pnLength)
            XCTAssertEqual(u.truncatedPacketNumber, pn)
            // Without greasing a zero fixed bit is dropped.
            if !fixed { XCTAssertEqual(parseHeader(d, dcidLength: dcid.length).error, .fixedBitZero) }
        }
    }

    /// Every truncation of valid datagrams and random datagrams: the splitter and header parser
    /// return in-bounds headers or a PacketHeaderError, never trap.
    func testTruncationAndGarbage() {
        func walk(_ d: [UInt8], dcidLength: Int = 8, grease: Bool = false) -> Int {
            d.withUnsafeBytes { buf in
                var it = CoalescedPackets(buf, shortHeaderDCIDLength: dcidLength, allowFixedBitZero: grease)
                var n = 0
                while let h = try? it.next() {
                    XCTAssertTrue(h.start < h.end && h.end <= d.count)
                    XCTAssertTrue(h.dcidRange.upperBound <= d.count && h.tokenRange.upperBound <= h.end)
                    if h.kind.hasPacketNumber {
                        XCTAssertLessThanOrEqual(h.sampleOffset + 16, h.end)
                        if let u = try? h.unprotected(firstByte: h.firstByte, in: buf) {
                            XCTAssertTrue(u.payloadOffset < u.payloadEnd && u.payloadEnd <= h.end)
                        }
                    }
                    n += 1
                }
                return n
            }
        }
        let initial = hex("c300000001088394c8f03e5157080000449e00000002") + [UInt8](repeating: 0, count: 1178)
        XCTAssertEqual(walk(initial), 1)
        for n in 0..<initial.count { XCTAssertEqual(walk(Array(initial.prefix(n))), 0, "prefix \(n)") }
        let retry = hex("ff000000010008f067a5502a4262b5746f6b656e04a265ba2eff4d829058fb3f0f2496ba")
        for n in 0..<retry.count { _ = walk(Array(retry.prefix(n))) }
        var g = SeededGenerator(seed: 0x9a4b)
        var parsed = 0
        for _ in 0..<50000 {
            var d = g.bytes(g.int(0...200))
            // Make long-header v1/v2 packets common so the deeper paths are exercised.
            if d.count > 6, g.bool() {
                d[0] |= 0x80
                let v: [UInt8] = g.bool() ? [0, 0, 0, 1] : [0x6b, 0x33, 0x43, 0xcf]
                d.replaceSubrange(1..<5, with: v)
                d[5] %= 21
            }
            parsed += walk(d, dcidLength: g.int(0...20), grease: g.bool())
        }
        XCTAssertGreaterThan(parsed, 0)
    }
}
