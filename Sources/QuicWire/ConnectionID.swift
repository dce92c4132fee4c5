// Connection IDs and stateless reset tokens as inline values: no heap allocation, usable as
// dictionary keys.

/// A connection ID of 0 to 20 bytes (RFC 9000 §5.1, §17.2: at most 20 bytes in QUIC v1/v2),
/// stored inline.
public struct ConnectionID: Hashable, Sendable, CustomStringConvertible {
    /// The largest connection ID length allowed by QUIC v1 and v2 (RFC 9000 §17.2).
    public static let maxLength = 20

    // 24 bytes of inline storage, bytes past `length` are always zero so the synthesized
    // equality and hashing are those of the byte string.
    @usableFromInline var w0: UInt64 = 0
    @usableFromInline var w1: UInt64 = 0
    @usableFromInline var w2: UInt64 = 0
    @usableFromInline var storedLength: UInt8 = 0

    /// The empty (zero-length) connection ID.
    @inlinable public init() {}

    /// A connection ID holding the first min(count, 20) bytes of `bytes`.
    @inlinable
    public init(_ bytes: UnsafeRawBufferPointer) {
        let n = Swift.min(bytes.count, ConnectionID.maxLength)
        storedLength = UInt8(n)
        var copy = (UInt64(0), UInt64(0), UInt64(0))
        Swift.withUnsafeMutableBytes(of: &copy) { dst in
            for i in 0..<n { dst[i] = bytes[i] }
        }
        w0 = copy.0; w1 = copy.1; w2 = copy.2
    }

    /// A connection ID from an array; nil if longer than 20 bytes.
    @inlinable
    public init?(_ bytes: [UInt8]) {
        guard bytes.count <= ConnectionID.maxLength else { return nil }
        self = bytes.withUnsafeBytes { ConnectionID($0) }
    }

    @inlinable public var length: Int { Int(storedLength) }
    @inlinable public var isEmpty: Bool { storedLength == 0 }

    /// Calls `body` with the `length` bytes of the connection ID.
    @inlinable
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        var copy = (w0, w1, w2)
        let n = length
        return try Swift.withUnsafeBytes(of: &copy) { raw in
            try body(UnsafeRawBufferPointer(rebasing: raw[0..<n]))
        }
    }

    /// The bytes as an array (allocates; for tests and cold paths).
    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

    public var description: String {
        withUnsafeBytes { b in
            var s = ""
            for x in b {
                let h = String(x, radix: 16)
                s += h.count == 1 ? "0" + h : h
            }
            return s.isEmpty ? "<empty>" : s
        }
    }
}

/// A 16-byte stateless reset token (RFC 9000 §10.3), stored inline.
public struct StatelessResetToken: Hashable, Sendable {
    @usableFromInline var w0: UInt64 = 0
    @usableFromInline var w1: UInt64 = 0

    @inlinable public init() {}

    /// A token from the first 16 bytes of `bytes` (zero-filled if shorter).
    @inlinable
    public init(_ bytes: UnsafeRawBufferPointer) {
        var copy = (UInt64(0), UInt64(0))
        let n = Swift.min(bytes.count, 16)
        Swift.withUnsafeMutableBytes(of: &copy) { dst in
            for i in 0..<n { dst[i] = bytes[i] }
        }
        w0 = copy.0; w1 = copy.1
    }

    /// A token from an array; nil unless it has exactly 16 bytes.
    @inlinable
    public init?(_ bytes: [UInt8]) {
        guard bytes.count == 16 else { return nil }
        self = bytes.withUnsafeBytes { StatelessResetToken($0) }
    }

    @inlinable
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        var copy = (w0, w1)
        return try Swift.withUnsafeBytes(of: &copy) { try body($0) }
    }

    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

    /// Equality without an early exit, so its time does not depend on where two tokens
    /// differ: an endpoint compares the tail of incoming datagrams against its tokens and
    /// MUST NOT leak information about them (RFC 9000 §10.3.1). The hash is the synthesized
    /// one (Swift's hashing is seeded per process).
    @inlinable
    public static func == (a: StatelessResetToken, b: StatelessResetToken) -> Bool {
        ((a.w0 ^ b.w0) | (a.w1 ^ b.w1)) == 0
    }
}
