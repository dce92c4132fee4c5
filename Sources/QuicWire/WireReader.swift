// A bounds-checked cursor over a borrowed byte buffer, the base of every decoder in QuicWire.
//
// Positions are absolute offsets into `bytes`, so a range returned by `readBytes` (e.g. the data
// of a STREAM frame) designates bytes of the caller's buffer without copying them. Every read
// returns nil (or false) when the buffer is too short; decoders map that to the error of their
// context (FRAME_ENCODING_ERROR for frames, TRANSPORT_PARAMETER_ERROR for transport
// parameters, a discarded packet for headers). Nothing here traps on input data.

public struct WireReader {
    /// The whole borrowed buffer; positions index into it.
    public let bytes: UnsafeRawBufferPointer
    /// The next byte to read.
    public var position: Int
    /// One past the last byte this reader may read.
    public var end: Int

    /// A reader over `bytes[start..<end]` (end defaults to the whole buffer). Out-of-range
    /// bounds are clamped so the reader is merely empty.
    @inlinable
    public init(_ bytes: UnsafeRawBufferPointer, start: Int = 0, end: Int? = nil) {
        self.bytes = bytes
        let e = Swift.min(Swift.max(end ?? bytes.count, 0), bytes.count)
        self.end = e
        self.position = Swift.min(Swift.max(start, 0), e)
    }

    @inlinable public var remaining: Int { end - position }
    @inlinable public var isAtEnd: Bool { position >= end }

    @inlinable
    public func peekUInt8() -> UInt8? {
        guard position < end else { return nil }
        return bytes[position]
    }

    @inlinable
    public mutating func readUInt8() -> UInt8? {
        guard position < end else { return nil }
        let b = bytes[position]
        position += 1
        return b
    }

    /// Reads an unsigned big-endian integer of `count` bytes (0...8).
    @inlinable
    public mutating func readBigEndian(count: Int) -> UInt64? {
        guard count >= 0, count <= 8, remaining >= count else { return nil }
        var v: UInt64 = 0
        for i in 0..<count {
            v = (v << 8) | UInt64(bytes[position + i])
        }
        position += count
        return v
    }

    @inlinable
    public mutating func readUInt16() -> UInt16? {
        guard let v = readBigEndian(count: 2) else { return nil }
        return UInt16(truncatingIfNeeded: v)
    }

    @inlinable
    public mutating func readUInt32() -> UInt32? {
        guard let v = readBigEndian(count: 4) else { return nil }
        return UInt32(truncatingIfNeeded: v)
    }

    @inlinable
    public mutating func readUInt64() -> UInt64? { readBigEndian(count: 8) }

    /// Reads a variable-length integer (RFC 9000 §16).
    @inlinable
    public mutating func readVarInt() -> UInt64? {
        guard position < end else { return nil }
        let first = bytes[position]
        let length = VarInt.length(firstByte: first)
        guard remaining >= length else { return nil }
        var v = UInt64(first & 0x3f)
        var i = 1
        while i < length {
            v = (v << 8) | UInt64(bytes[position + i])
            i += 1
        }
        position += length
        return v
    }

    /// Reads a variable-length integer and also reports how many bytes it used, for rules
    /// that require the shortest encoding (frame types, RFC 9000 §12.4).
    @inlinable
    public mutating func readVarIntWithLength() -> (value: UInt64, length: Int)? {
        let start = position
        guard let v = readVarInt() else { return nil }
        return (v, position - start)
    }

    /// Consumes `count` bytes and returns their absolute range in `bytes`.
    @inlinable
    public mutating func readBytes(_ count: Int) -> Range<Int>? {
        guard count >= 0, remaining >= count else { return nil }
        let r = position..<(position + count)
        position += count
        return r
    }

    /// Consumes `count` bytes, as a length announced in a varint (may exceed Int).
    @inlinable
    public mutating func readBytes(varIntCount count: UInt64) -> Range<Int>? {
        guard count <= UInt64(remaining) else { return nil }
        return readBytes(Int(count))
    }

    @inlinable
    public mutating func skip(_ count: Int) -> Bool {
        guard count >= 0, remaining >= count else { return false }
        position += count
        return true
    }

    /// Reads a connection ID of `length` bytes (0...20).
    @inlinable
    public mutating func readConnectionID(length: Int) -> ConnectionID? {
        guard length >= 0, length <= ConnectionID.maxLength, remaining >= length else { return nil }
        let cid = ConnectionID(UnsafeRawBufferPointer(rebasing: bytes[position..<(position + length)]))
        position += length
        return cid
    }

    /// Reads a 16-byte stateless reset token (RFC 9000 §10.3).
    @inlinable
    public mutating func readStatelessResetToken() -> StatelessResetToken? {
        guard remaining >= 16 else { return nil }
        let t = StatelessResetToken(UnsafeRawBufferPointer(rebasing: bytes[position..<(position + 16)]))
        position += 16
        return t
    }
}
