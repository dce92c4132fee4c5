// A bounds-checked writer appending into a caller-provided buffer (e.g. a pooled datagram
// buffer). Every write throws `BufferTooSmall` rather than overflowing; the position is left
// unchanged by a failed write.

/// Thrown when a write does not fit in the space left in the destination buffer.
public struct BufferTooSmall: Error, Equatable, Sendable {
    @inlinable public init() {}
}

public struct WireWriter {
    /// The destination buffer; positions index into it.
    public let buffer: UnsafeMutableRawBufferPointer
    /// Where the next byte goes.
    public var position: Int
    /// One past the last byte the writer may write.
    public let end: Int

    @inlinable
    public init(_ buffer: UnsafeMutableRawBufferPointer, start: Int = 0, end: Int? = nil) {
        self.buffer = buffer
        let e = Swift.min(Swift.max(end ?? buffer.count, 0), buffer.count)
        self.end = e
        self.position = Swift.min(Swift.max(start, 0), e)
    }

    @inlinable public var remaining: Int { end - position }

    @inlinable
    public mutating func writeUInt8(_ v: UInt8) throws(BufferTooSmall) {
        guard position < end else { throw BufferTooSmall() }
        buffer[position] = v
        position += 1
    }

    /// Writes the low `count` bytes (0...8) of `v` in network byte order.
    @inlinable
    public mutating func writeBigEndian(_ v: UInt64, count: Int) throws(BufferTooSmall) {
        guard count >= 0, count <= 8, remaining >= count else { throw BufferTooSmall() }
        var i = count - 1
        var x = v
        while i >= 0 {
            buffer[position + i] = UInt8(truncatingIfNeeded: x)
            x >>= 8
            i -= 1
        }
        position += count
    }

    @inlinable
    public mutating func writeUInt16(_ v: UInt16) throws(BufferTooSmall) {
        try writeBigEndian(UInt64(v), count: 2)
    }

    @inlinable
    public mutating func writeUInt32(_ v: UInt32) throws(BufferTooSmall) {
        try writeBigEndian(UInt64(v), count: 4)
    }

    @inlinable
    public mutating func writeUInt64(_ v: UInt64) throws(BufferTooSmall) {
        try writeBigEndian(v, count: 8)
    }

    /// Writes `value` as a variable-length integer in its shortest encoding (RFC 9000 §16).
    /// A value above 2^62-1 cannot be encoded: that is a caller bug, reported as
    /// `BufferTooSmall` rather than a trap.
    @inlinable
    public mutating func writeVarInt(_ value: UInt64) throws(BufferTooSmall) {
        let length = VarInt.encodedLength(value)
        guard length != 0 else { throw BufferTooSmall() }
        try writeVarInt(value, length: length)
    }

    /// Writes `value` as a variable-length integer of exactly `length` bytes (1, 2, 4 or 8),
    /// e.g. a 2-byte Length field patched after the payload is known.
    @inlinable
    public mutating func writeVarInt(_ value: UInt64, length: Int) throws(BufferTooSmall) {
        let prefix: UInt64
        switch length {
        case 1: guard value < (1 << 6) else { throw BufferTooSmall() }; prefix = 0
        case 2: guard value < (1 << 14) else { throw BufferTooSmall() }; prefix = 0x4000
        case 4: guard value < (1 << 30) else { throw BufferTooSmall() }; prefix = 0x8000_0000
        case 8: guard value <= VarInt.max else { throw BufferTooSmall() }; prefix = 0xc000_0000_0000_0000
        default: throw BufferTooSmall()
        }
        try writeBigEndian(value | prefix, count: length)
    }

    @inlinable
    public mutating func writeBytes(_ bytes: UnsafeRawBufferPointer) throws(BufferTooSmall) {
        guard remaining >= bytes.count else { throw BufferTooSmall() }
        if bytes.count > 0, let dst = buffer.baseAddress, let src = bytes.baseAddress {
            (dst + position).copyMemory(from: src, byteCount: bytes.count)
        }
        position += bytes.count
    }

    @inlinable
    public mutating func writeBytes(_ bytes: [UInt8]) throws(BufferTooSmall) {
        guard remaining >= bytes.count else { throw BufferTooSmall() }
        for b in bytes {
            buffer[position] = b
            position += 1
        }
    }

    /// Writes `count` zero bytes (PADDING frames, RFC 9000 §19.1).
    @inlinable
    public mutating func writeZeros(_ count: Int) throws(BufferTooSmall) {
        guard count >= 0, remaining >= count else { throw BufferTooSmall() }
        if count > 0, let dst = buffer.baseAddress {
            (dst + position).initializeMemory(as: UInt8.self, repeating: 0, count: count)
        }
        position += count
    }

    @inlinable
    public mutating func writeConnectionID(_ cid: ConnectionID) throws(BufferTooSmall) {
        guard remaining >= cid.length else { throw BufferTooSmall() }
        cid.withUnsafeBytes { src in
            for i in 0..<src.count { buffer[position + i] = src[i] }
        }
        position += cid.length
    }

    @inlinable
    public mutating func writeStatelessResetToken(_ token: StatelessResetToken) throws(BufferTooSmall) {
        guard remaining >= 16 else { throw BufferTooSmall() }
        token.withUnsafeBytes { src in
            for i in 0..<16 { buffer[position + i] = src[i] }
        }
        position += 16
    }
}

extension Array where Element == UInt8 {
    /// Runs `body` with a writer over a fresh zeroed buffer of `capacity` bytes and returns the
    /// bytes written. A convenience for tests and cold paths (it allocates).
    @inlinable
    public static func encoding<E: Error>(
        capacity: Int, _ body: (inout WireWriter) throws(E) -> Void
    ) throws(E) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: capacity)
        var written = 0
        var failure: E?
        out.withUnsafeMutableBytes { buf in
            var w = WireWriter(buf)
            do throws(E) {
                try body(&w)
            } catch {
                failure = error
            }
            written = w.position
        }
        if let failure { throw failure }
        out.removeSubrange(written...)
        return out
    }
}
