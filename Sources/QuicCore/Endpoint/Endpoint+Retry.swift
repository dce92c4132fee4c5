import QuicCrypto
import QuicWire

/// Our Retry token (RFC 9000 §8.1.2, §8.1.4: format left to the server):
/// tag (1) | issue time µs (8) | ODCID length (1) | ODCID | MAC (16).
/// MAC = HMAC-SHA256(retry key, time | ODCID | Retry SCID | client address | port)[0..<16],
/// so the token only works from the address it was issued to, with the SCID of our Retry,
/// and within its lifetime.
enum RetryToken {
    static let tag: UInt8 = 0x52

    static func macInput(time: UInt64, odcid: ConnectionID, retrySCID: ConnectionID, remote: SocketAddress) -> [UInt8] {
        var m: [UInt8] = []
        for i in 0..<8 { m.append(UInt8(truncatingIfNeeded: time >> (56 - 8 * UInt64(i)))) }
        m.append(UInt8(odcid.length)); m += odcid.bytes
        m.append(UInt8(retrySCID.length)); m += retrySCID.bytes
        m += remote.bytes
        m.append(UInt8(remote.port >> 8)); m.append(UInt8(remote.port & 0xff))
        return m
    }
}

extension Endpoint {
    /// RFC 9000 §8.1.2, §17.2.5: a Retry with a fresh SCID and a token binding the client's
    /// original DCID, protected with the Retry Integrity Tag (RFC 9001 §5.8).
    func sendRetry(_ header: PacketHeader, _ bytes: UnsafeRawBufferPointer, to remote: SocketAddress, now: QuicInstant) {
        guard let pv = ProtectionVersion(wireVersion: header.version.rawValue) else { return }
        // The client's next Initial is sent to this CID: it must reach this endpoint again.
        let retrySCID = newConnectionID()
        guard let mac = retryKey.token(for: RetryToken.macInput(time: now.microseconds, odcid: header.dcid, retrySCID: retrySCID,
                                                                remote: remote)) else { return }
        var token: [UInt8] = [RetryToken.tag]
        for i in 0..<8 { token.append(UInt8(truncatingIfNeeded: now.microseconds >> (56 - 8 * UInt64(i)))) }
        token.append(UInt8(header.dcid.length)); token += header.dcid.bytes
        token += mac.bytes
        var out = [UInt8](repeating: 0, count: 1 + 4 + 2 + 2 * 20 + token.count)
        let size: Int? = out.withUnsafeMutableBytes { raw in
            token.withUnsafeBytes { t in
                var w = WireWriter(raw)
                guard (try? PacketHeaderWriter.writeRetryWithoutTag(
                    into: &w, version: header.version, dcid: header.scid, scid: retrySCID, token: t,
                    unusedBits: UInt8.random(in: 0...15))) != nil else { return nil }
                return w.position
            }
        }
        guard let size, let sealed = try? RetryIntegrity.seal(version: pv, originalDestinationConnectionID: header.dcid.bytes,
                                                              retryPacketWithoutTag: Array(out[0..<size])) else { return }
        queue(sealed, to: remote)
    }

    /// The original DCID carried by a valid token for this client and Retry SCID, nil otherwise.
    func validateRetryToken(_ token: [UInt8], retrySCID: ConnectionID, remote: SocketAddress, now: QuicInstant) -> ConnectionID? {
        guard token.count >= 1 + 8 + 1 + 16, token[0] == RetryToken.tag else { return nil }
        var time: UInt64 = 0
        for i in 1...8 { time = time << 8 | UInt64(token[i]) }
        let odcidLength = Int(token[9])
        guard odcidLength <= ConnectionID.maxLength, token.count == 10 + odcidLength + 16,
              let odcid = ConnectionID(Array(token[10..<(10 + odcidLength)])) else { return nil }
        // The issue time comes from the token (MAC-checked below): compared as instants, no arithmetic that can trap.
        let issued = QuicInstant(microseconds: time)
        guard issued <= now, now - issued <= configuration.retryTokenLifetime else { return nil }
        guard let expected = retryKey.token(for: RetryToken.macInput(time: time, odcid: odcid, retrySCID: retrySCID,
                                                                     remote: remote)) else { return nil }
        let given: StatelessResetToken = token.withUnsafeBytes { StatelessResetToken(UnsafeRawBufferPointer(rebasing: $0[(10 + odcidLength)...])) }
        return ConstantTime.equal(expected, given) ? odcid : nil
    }
}
