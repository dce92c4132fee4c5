import XCTest
@testable import QuicWire

final class VarIntTests: XCTestCase {
    private func decode(_ bytes: [UInt8]) -> (UInt64, Int)? {
        bytes.withUnsafeBytes { buf in
            var r = WireReader(buf)
            guard let v = r.readVarInt() else { return nil }
            return (v, r.position)
        }
    }

    // RFC 9000 Appendix A.1 / §16 examples.
    func testRFC9000Examples() throws {
        let cases: [([UInt8], UInt64)] = [
            ([0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c], 151_288_809_941_952_652),
            ([0x9d, 0x7f, 0x3e, 0x7d], 494_878_333),
            ([0x7b, 0xbd], 15_293),
            ([0x25], 37),
            ([0x40, 0x25], 37),
        ]
        for (bytes, value) in cases {
            let d = try XCTUnwrap(decode(bytes))
            XCTAssertEqual(d.0, value)
            XCTAssertEqual(d.1, bytes.count)
        }
        // Encoding produces the shortest form, which is the example except for 0x4025.
        for (bytes, value) in cases where bytes != [0x40, 0x25] {
            let enc = try [UInt8].encoding(capacity: 8) { (w: inout WireWriter) throws(BufferTooSmall) in
                try w.writeVarInt(value)
            }
            XCTAssertEqual(enc, bytes)
        }
    }

    func testBoundaries() throws {
        let values: [UInt64] = [0, 63, 64, 16383, 16384, (1 << 30) - 1, 1 << 30, VarInt.max]
        let lengths = [1, 1, 2, 2, 4, 4, 8, 8]
        for (v, l) in zip(values, lengths) {
            XCTAssertEqual(VarInt.encodedLength(v), l)
            let enc = try [UInt8].encoding(capacity: 8) { (w: inout WireWriter) throws(BufferTooSmall) in
                try w.writeVarInt(v)
            }
            XCTAssertEqual(enc.count, l)
            XCTAssertEqual(decode(enc)?.0, v)
        }
        XCTAssertEqual(VarInt.encodedLength(VarInt.max + 1), 0)
        XCTAssertThrowsError(try [UInt8].encoding(capacity: 8) { (w: inout WireWriter) throws(BufferTooSmall) in
            try w.writeVarInt(VarInt.max + 1)
        })
        // Explicit lengths (non-minimal encodings are legal for values other than frame types).
        let two = try [UInt8].encoding(capacity: 8) { (w: inout WireWriter) throws(BufferTooSmall) in
            try w.writeVarInt(37, length: 2)
        }
        XCTAssertEqual(two, [0x40, 0x25])
        XCTAssertThrowsError(try [UInt8].encoding(capacity: 8) { (w: inout WireWriter) throws(BufferTooSmall) in
            try w.writeVarInt(64, length: 1)
        })
    }

    func testTruncatedAndFull() throws {
        // Every truncation of a multi-byte encoding is rejected.
        let full: [UInt8] = [0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c]
        for n in 0..<full.count {
            XCTAssertNil(decode(Array(full[0..<n])))
        }
        // Writing into a buffer too small fails without moving.
        var buf = [UInt8](repeating: 0, count: 3)
        let pos: Int = buf.withUnsafeMutableBytes { b in
            var w = WireWriter(b)
            do { try w.writeVarInt(1 << 20); return -1 } catch { return w.position }
        }
        XCTAssertEqual(pos, 0)
    }

    func testErrorCodes() {
        XCTAssertEqual(TransportErrorCode.cryptoError(alert: 0x28).rawValue, 0x128)
        XCTAssertEqual(TransportErrorCode(0x128).tlsAlert, 0x28)
        XCTAssertNil(TransportErrorCode.protocolViolation.tlsAlert)
        XCTAssertEqual(TransportErrorCode.versionNegotiationError.rawValue, 0x11)
        XCTAssertEqual(TransportErrorCode.noViablePath.rawValue, 0x10)
        XCTAssertEqual(QuicError.frameEncoding(0x08, "x").code, .frameEncodingError)
    }

    func testConnectionID() throws {
        let a = try XCTUnwrap(ConnectionID([1, 2, 3]))
        let b = try XCTUnwrap(ConnectionID([1, 2, 3, 0]))
        XCTAssertNotEqual(a, b)
        XCTAssertEqual(a.bytes, [1, 2, 3])
        XCTAssertNil(ConnectionID([UInt8](repeating: 1, count: 21)))
        XCTAssertEqual(ConnectionID([UInt8](repeating: 7, count: 20))?.length, 20)
    }
}
