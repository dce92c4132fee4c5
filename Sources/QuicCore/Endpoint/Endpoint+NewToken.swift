import QuicCrypto
import QuicWire

/// Our NEW_TOKEN token (RFC 9000 §8.1.3, §19.7: format left to the server), sealed with the
/// same key as Retry tokens (`Endpoint.retryKey`) but with its own tag, so neither kind is
/// ever taken for the other (§8.1.1: a server must tell them apart):
///   tag (1) | issue time µs (8) | MAC (16),
///   MAC = HMAC-SHA256(key, tag | time | client IP address)[0..<16].
/// It binds the client's IP address only, not its port: the client's next connection comes
/// from another port (§8.1.3). It carries nothing the client could read or use elsewhere.
enum NewTokenFormat {
    static let tag: UInt8 = 0x4e
    static let size = 1 + 8 + 16

    static func macInput(time: UInt64, remote: SocketAddress) -> [UInt8] {
        var m: [UInt8] = [tag]
        for i in 0..<8 { m.append(UInt8(truncatingIfNeeded: time >> (56 - 8 * UInt64(i)))) }
        m.append(remote.family.rawValue)
        m += remote.bytes
        return m
    }
}

extension Endpoint {
    /// RFC 9000 §8.1.3: a token for a NEW_TOKEN frame, to validate `remote`'s address on a
    /// later connection. nil when the endpoint issues none (`newTokenLifetime` zero) or
    /// libcrypto fails.
    func mintNewToken(for remote: SocketAddress, now: QuicInstant) -> [UInt8]? {
        guard configuration.newTokenLifetime > .zero else { return nil }
        let time = now.microseconds
        guard let mac = retryKey.token(for: NewTokenFormat.macInput(time: time, remote: remote)) else { return nil }
        var token: [UInt8] = [NewTokenFormat.tag]
        for i in 0..<8 { token.append(UInt8(truncatingIfNeeded: time >> (56 - 8 * UInt64(i)))) }
        token += mac.bytes
        return token
    }

    /// Whether `token` is a NEW_TOKEN token of ours for `remote`'s IP address, within its
    /// lifetime (RFC 9000 §8.1.3: "servers SHOULD ensure that tokens ... have an expiration").
    func validateNewToken(_ token: [UInt8], remote: SocketAddress, now: QuicInstant) -> Bool {
        guard token.count == NewTokenFormat.size, token[0] == NewTokenFormat.tag else { return false }
        var time: UInt64 = 0
        for i in 1...8 { time = time << 8 | UInt64(token[i]) }
        // The time comes from the peer (checked by the MAC below): compared as instants, no
        // arithmetic on it that could trap.
        let issued = QuicInstant(microseconds: time)
        guard issued <= now, now - issued <= configuration.newTokenLifetime else { return false }
        guard let expected = retryKey.token(for: NewTokenFormat.macInput(time: time, remote: remote)) else { return false }
        let given: StatelessResetToken = token.withUnsafeBytes { StatelessResetToken(UnsafeRawBufferPointer(rebasing: $0[9...])) }
        return ConstantTime.equal(expected, given)
    }

    /// A fresh key for `EndpointConfiguration.addressTokenKey`.
    public static func freshAddressTokenKey() -> [UInt8] { randomBytes(32) }

    /// ConnectionIDRegistry: the token a server connection sends in NEW_TOKEN.
    public func newToken(for connection: Connection, now: QuicInstant) -> [UInt8]? {
        guard connection.role == .server else { return nil }
        return mintNewToken(for: connection.remoteAddress, now: now)
    }
}
