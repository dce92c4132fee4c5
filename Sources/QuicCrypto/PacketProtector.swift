// Whole-packet protection for one direction of one encryption level: AEAD (RFC 9001 §5.3)
// followed by header protection (RFC 9001 §5.4), and the reverse, in the caller's buffer.

/// What `unprotect` found in a packet.
public struct UnprotectedPacket: Sendable, Equatable {
    /// The first byte with header protection removed.
    public var firstByte: UInt8
    /// The full packet number recovered from the truncated one (RFC 9000 §A.3).
    public var packetNumber: UInt64
    /// Length of the Packet Number field (1...4).
    public var packetNumberLength: Int
    /// Header length, packet number included: the AAD.
    public var headerLength: Int
    /// Where the plaintext payload lies in the buffer.
    public var payload: Range<Int>
}

/// AEAD and header protection keys of one direction at one encryption level.
///
/// Not thread-safe (see `PacketAEAD`).
///
/// Sendable (unchecked): confined to the worker of the connection that owns it, like
/// `OneRTTKeys`; the conformance only lets the connection be handed to that worker.
public final class PacketProtector: @unchecked Sendable {
    public let aead: PacketAEAD
    public let headerProtection: HeaderProtection

    public init(aead: PacketAEAD, headerProtection: HeaderProtection) {
        self.aead = aead
        self.headerProtection = headerProtection
    }

    public convenience init(keys: PacketProtectionKeys) throws(PacketProtectionError) {
        self.init(aead: try PacketAEAD(keys: keys), headerProtection: try HeaderProtection(keys: keys))
    }

    /// Protects a packet in place. `packet` is exactly one QUIC packet: the header with its
    /// Packet Number field (`pnLength` bytes at `pnOffset`, already holding the encoded
    /// packet number) and Length field final, then the plaintext payload, then 16 bytes of
    /// room for the tag. The payload is sealed with the header as AAD (RFC 9001 §5.3), then
    /// header protection is applied (RFC 9001 §5.4.1). The payload must be long enough for
    /// the sample: pnLength + payload + 16 >= 20 (RFC 9001 §5.4.2).
    public func protect(packet: UnsafeMutableRawBufferPointer, pnOffset: Int, pnLength: Int,
                        packetNumber: UInt64) throws(PacketProtectionError)
    {
        guard pnOffset >= 1, (1...4).contains(pnLength) else { throw .invalidArgument }
        // Differences rather than sums, so that no pnOffset can overflow.
        guard pnOffset <= packet.count,
              packet.count - pnOffset >= HeaderProtection.sampleOffsetFromPacketNumber + HeaderProtection.sampleLength,
              packet.count - pnOffset - pnLength >= PacketAEAD.tagLength
        else { throw .packetTooShort }
        let headerLength = pnOffset + pnLength
        try aead.seal(packet: packet, headerLength: headerLength, packetNumber: packetNumber)
        try headerProtection.apply(packet: packet, pnOffset: pnOffset, pnLength: pnLength)
    }

    /// Removes protection in place from one packet whose Packet Number field starts at
    /// `pnOffset` (for a long header, after the Length field; for a short header, after the
    /// Destination Connection ID). `packet` must end where the packet ends (the Length field
    /// for long headers, the datagram for short headers). `largestPacketNumber` is the largest
    /// packet number received so far in this packet number space, nil if none (RFC 9000 §A.3).
    ///
    /// For 1-RTT packets whose key phase may have changed, use `HeaderProtection.remove` and
    /// pick the AEAD from the key phase bit instead (RFC 9001 §6.3).
    public func unprotect(packet: UnsafeMutableRawBufferPointer, pnOffset: Int,
                          largestPacketNumber: UInt64?) throws(PacketProtectionError) -> UnprotectedPacket
    {
        let hp = try headerProtection.remove(packet: packet, pnOffset: pnOffset)
        let pn = PacketNumberDecoding.decode(truncated: UInt64(hp.truncatedPacketNumber),
                                             length: hp.pnLength, largest: largestPacketNumber)
        let headerLength = pnOffset + hp.pnLength
        let payload = try aead.open(packet: packet, headerLength: headerLength, packetNumber: pn)
        return UnprotectedPacket(firstByte: hp.firstByte, packetNumber: pn, packetNumberLength: hp.pnLength,
                                 headerLength: headerLength, payload: payload)
    }
}

extension PacketProtector {
    /// `protect` on an array, over `range` (default: the whole array).
    public func protect(packet: inout [UInt8], range: Range<Int>? = nil, pnOffset: Int, pnLength: Int,
                        packetNumber: UInt64) throws(PacketProtectionError)
    {
        let r = range ?? 0..<packet.count
        guard r.lowerBound >= 0, r.upperBound <= packet.count else { throw .invalidArgument }
        // Array's closure-taking methods are untyped `rethrows`: carry the typed error out
        // as a Result.
        let result = packet.withUnsafeMutableBytes { raw -> Result<Void, PacketProtectionError> in
            do throws(PacketProtectionError) {
                try protect(packet: UnsafeMutableRawBufferPointer(rebasing: raw[r]), pnOffset: pnOffset,
                            pnLength: pnLength, packetNumber: packetNumber)
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try result.get()
    }

    /// `unprotect` on an array, over `range` (default: the whole array). The returned
    /// offsets are relative to the start of `range`.
    public func unprotect(packet: inout [UInt8], range: Range<Int>? = nil, pnOffset: Int,
                          largestPacketNumber: UInt64?) throws(PacketProtectionError) -> UnprotectedPacket
    {
        let r = range ?? 0..<packet.count
        guard r.lowerBound >= 0, r.upperBound <= packet.count else { throw .invalidArgument }
        let result = packet.withUnsafeMutableBytes { raw -> Result<UnprotectedPacket, PacketProtectionError> in
            do throws(PacketProtectionError) {
                return .success(try unprotect(packet: UnsafeMutableRawBufferPointer(rebasing: raw[r]),
                                              pnOffset: pnOffset, largestPacketNumber: largestPacketNumber))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}

/// Packet number recovery (RFC 9000 §17.1, Appendix A.3).
public enum PacketNumberDecoding {
    /// The packet number closest to `largest + 1` whose low `length * 8` bits equal
    /// `truncated` (RFC 9000 §A.3). With no packet received yet, `largest` is nil and the
    /// expected packet number is 0.
    @inlinable
    public static func decode(truncated: UInt64, length: Int, largest: UInt64?) -> UInt64 {
        let bits = UInt64(max(1, min(length, 4)) * 8)
        // Packet numbers never exceed 2^62-1 (RFC 9000 §12.3); clamping a larger `largest`
        // keeps every sum below 2^63 so nothing can overflow.
        let expected: UInt64 = largest.map { Swift.min($0, (1 << 62) - 1) + 1 } ?? 0
        let window: UInt64 = 1 << bits
        let halfWindow = window / 2
        let mask = window - 1
        let candidate = (expected & ~mask) | (truncated & mask)
        // The bounds of RFC 9000 §A.3, written to avoid underflow and stay below 2^62.
        if expected >= halfWindow, candidate <= expected - halfWindow, candidate < (1 << 62) - window {
            return candidate + window
        }
        if candidate > expected + halfWindow, candidate >= window {
            return candidate - window
        }
        return candidate
    }
}
