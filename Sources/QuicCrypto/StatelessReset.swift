// Stateless reset tokens (RFC 9000 §10.3) derived from a static key, and constant-time
// comparison of secrets.
import CCrypto
import QuicWire

/// Constant-time comparison (RFC 9000 §10.3.1: token comparisons must not leak timing).
public enum ConstantTime {
    /// True if `a` and `b` have the same length and bytes; the time depends only on the length.
    public static func equal(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        guard a.count > 0, let pa = a.baseAddress, let pb = b.baseAddress else { return true }
        return CRYPTO_memcmp(pa, pb, a.count) == 0
    }

    /// `equal` on arrays.
    public static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.withUnsafeBytes { pa in b.withUnsafeBytes { pb in equal(pa, pb) } }
    }

    /// Constant-time equality of two stateless reset tokens (through libcrypto; the tokens'
    /// own `==` has no early exit either).
    public static func equal(_ a: StatelessResetToken, _ b: StatelessResetToken) -> Bool {
        a.withUnsafeBytes { pa in b.withUnsafeBytes { pb in equal(pa, pb) } }
    }
}

/// Generates stateless reset tokens from a static key (RFC 9000 §10.3.2).
///
/// Choice: token = first 16 bytes of HMAC-SHA256(static key, connection ID). RFC 9000 §10.3.2
/// suggests a keyed function of the connection ID; HMAC-SHA256 is a PRF, so tokens of
/// different connection IDs are unrelated and unpredictable without the key, and an endpoint
/// that lost all state (a restart with the same key) recomputes the same token for the
/// connection ID of an incoming short header packet. The key should be at least 32 random
/// bytes and shared by every instance that may receive packets for those connection IDs.
public struct StatelessResetTokenGenerator: Sendable {
    private let key: [UInt8]

    /// `key` must not be empty; 32 random bytes are recommended.
    public init?(staticKey: [UInt8]) {
        guard !staticKey.isEmpty, staticKey.count <= Int(Int32.max) else { return nil }
        key = staticKey
    }

    /// A generator with a fresh random 32-byte key (tokens then change on restart).
    public static func random() -> StatelessResetTokenGenerator? {
        var k = [UInt8](repeating: 0, count: 32)
        let ok = k.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, 32) == 1 }
        return ok ? StatelessResetTokenGenerator(staticKey: k) : nil
    }

    /// The token of `connectionID`: HMAC-SHA256(key, connection ID)[0..<16]. Returns nil only
    /// if libcrypto fails.
    public func token(for connectionID: UnsafeRawBufferPointer) -> StatelessResetToken? {
        var digest: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
        var length: UInt32 = 0
        let ok = key.withUnsafeBufferPointer { k in
            withUnsafeMutableBytes(of: &digest) { d in
                HMAC(EVP_sha256(), k.baseAddress, Int32(k.count),
                     connectionID.baseAddress?.assumingMemoryBound(to: UInt8.self), connectionID.count,
                     d.baseAddress?.assumingMemoryBound(to: UInt8.self), &length) != nil
            }
        }
        guard ok, length == 32 else { return nil }
        return withUnsafeBytes(of: &digest) { StatelessResetToken(UnsafeRawBufferPointer(rebasing: $0[0..<16])) }
    }

    public func token(for connectionID: ConnectionID) -> StatelessResetToken? {
        connectionID.withUnsafeBytes { token(for: $0) }
    }

    public func token(for connectionID: [UInt8]) -> StatelessResetToken? {
        connectionID.withUnsafeBytes { token(for: $0) }
    }
}
