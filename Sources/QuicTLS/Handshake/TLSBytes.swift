/// Big-endian writer for TLS presentation-language structures (RFC 8446 §3): fixed-size
/// integers and vectors with a 1-, 2- or 3-byte length prefix.
struct TLSWriter {
    var bytes: [UInt8] = []

    init() {}

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { bytes.append(UInt8(v >> 8)); bytes.append(UInt8(v & 0xff)) }
    mutating func u24(_ v: Int) {
        bytes.append(UInt8((v >> 16) & 0xff)); bytes.append(UInt8((v >> 8) & 0xff)); bytes.append(UInt8(v & 0xff))
    }
    mutating func u32(_ v: UInt32) {
        u16(UInt16(v >> 16)); u16(UInt16(v & 0xffff))
    }
    mutating func u64(_ v: UInt64) { u32(UInt32(v >> 32)); u32(UInt32(v & 0xffff_ffff)) }
    mutating func raw(_ b: [UInt8]) { bytes += b }
    mutating func raw(_ b: ArraySlice<UInt8>) { bytes += b }

    /// opaque x<0..2^8-1>
    mutating func vector8(_ b: [UInt8]) { u8(UInt8(truncatingIfNeeded: b.count)); raw(b) }
    /// opaque x<0..2^16-1>
    mutating func vector16(_ b: [UInt8]) { u16(UInt16(truncatingIfNeeded: b.count)); raw(b) }
    /// opaque x<0..2^24-1>
    mutating func vector24(_ b: [UInt8]) { u24(b.count); raw(b) }

    /// Writes a vector whose body is produced by `body`, with a `prefix`-byte length.
    mutating func nested(_ prefix: Int, _ body: (inout TLSWriter) -> Void) {
        var inner = TLSWriter()
        body(&inner)
        switch prefix {
        case 1: vector8(inner.bytes)
        case 2: vector16(inner.bytes)
        default: vector24(inner.bytes)
        }
    }
}

/// Reader over received TLS structures. Every read checks bounds and throws
/// decode_error (RFC 8446 §6.2) on truncated input: network bytes never trap.
struct TLSReader {
    let bytes: [UInt8]
    private(set) var offset: Int
    let end: Int

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        self.offset = 0
        self.end = bytes.count
    }

    init(_ slice: ArraySlice<UInt8>) { self.init(Array(slice)) }

    var isAtEnd: Bool { offset >= end }
    var remaining: Int { end - offset }

    private static func truncated() -> TLSAlert { TLSAlert(.decodeError, "truncated handshake structure") }

    mutating func u8() throws -> UInt8 {
        guard remaining >= 1 else { throw Self.truncated() }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func u16() throws -> UInt16 {
        guard remaining >= 2 else { throw Self.truncated() }
        defer { offset += 2 }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    mutating func u24() throws -> Int {
        guard remaining >= 3 else { throw Self.truncated() }
        defer { offset += 3 }
        return Int(bytes[offset]) << 16 | Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2])
    }

    mutating func u32() throws -> UInt32 {
        let hi = try u16()
        let lo = try u16()
        return UInt32(hi) << 16 | UInt32(lo)
    }

    mutating func u64() throws -> UInt64 {
        let hi = try u32()
        let lo = try u32()
        return UInt64(hi) << 32 | UInt64(lo)
    }

    mutating func raw(_ count: Int) throws -> [UInt8] {
        guard count >= 0, remaining >= count else { throw Self.truncated() }
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }

    mutating func vector8() throws -> [UInt8] { try raw(Int(try u8())) }
    mutating func vector16() throws -> [UInt8] { try raw(Int(try u16())) }
    mutating func vector24() throws -> [UInt8] { try raw(try u24()) }

    /// Fails with decode_error unless the structure was consumed exactly.
    func expectEnd() throws {
        guard isAtEnd else { throw TLSAlert(.decodeError, "trailing bytes in handshake structure") }
    }
}
