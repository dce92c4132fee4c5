// Variable-length integer encoding (RFC 9000 §16).
//
// The two most significant bits of the first byte give the encoded length
// (00 = 1, 01 = 2, 10 = 4, 11 = 8 bytes); the rest is the value in network byte order.
// Values up to 2^62-1 can be encoded.

public enum VarInt {
    /// The largest value a variable-length integer can hold: 2^62-1 (RFC 9000 §16).
    public static let max: UInt64 = (1 << 62) - 1

    /// The number of bytes of the shortest encoding of `value`, or 0 if `value` exceeds
    /// `VarInt.max` and cannot be encoded.
    @inlinable
    public static func encodedLength(_ value: UInt64) -> Int {
        if value < (1 << 6) { return 1 }
        if value < (1 << 14) { return 2 }
        if value < (1 << 30) { return 4 }
        if value <= max { return 8 }
        return 0
    }

    /// The encoded length (1, 2, 4 or 8) announced by the first byte of an encoding.
    @inlinable
    public static func length(firstByte: UInt8) -> Int {
        1 << Int(firstByte >> 6)
    }

    /// True if `value` is encodable as a variable-length integer.
    @inlinable
    public static func isValid(_ value: UInt64) -> Bool { value <= max }
}
