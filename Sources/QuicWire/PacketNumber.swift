// Packet number truncation and recovery (RFC 9000 §17.1, Appendix A.2 and A.3).

public enum PacketNumber {
    /// Packet numbers are in 0...2^62-1 (RFC 9000 §12.3).
    public static let max: UInt64 = (1 << 62) - 1

    /// The number of bytes (1...4) to encode `fullPacketNumber` so that the peer can recover
    /// it, given the largest packet number it acknowledged in this space (nil if none):
    /// enough bits for twice the number of packets in flight (RFC 9000 §17.1, Appendix A.2).
    @inlinable
    public static func encodedLength(fullPacketNumber: UInt64, largestAcknowledged: UInt64?) -> Int {
        let unacked: UInt64
        if let largest = largestAcknowledged, largest < fullPacketNumber {
            unacked = fullPacketNumber - largest
        } else if largestAcknowledged == nil {
            unacked = fullPacketNumber &+ 1
        } else {
            unacked = 1
        }
        // min_bits = log2(num_unacked) + 1, i.e. the bit width of num_unacked plus one.
        let minBits = (64 - unacked.leadingZeroBitCount) + 1
        let bytes = (minBits + 7) / 8
        return Swift.min(Swift.max(bytes, 1), 4)
    }

    /// The low `length` bytes of `fullPacketNumber`, as sent on the wire.
    @inlinable
    public static func truncate(_ fullPacketNumber: UInt64, length: Int) -> UInt64 {
        let bits = UInt64(Swift.min(Swift.max(length, 1), 4) * 8)
        return fullPacketNumber & ((1 << bits) - 1)
    }

    /// Recovers a full packet number from its truncated encoding of `length` bytes, given the
    /// largest packet number successfully processed in the space (nil if none):
    /// the value closest to largest + 1 (RFC 9000 §17.1, Appendix A.3).
    @inlinable
    public static func decode(truncated: UInt64, length: Int, largestReceived: UInt64?) -> UInt64 {
        let bits = Int64(Swift.min(Swift.max(length, 1), 4) * 8)
        let expected = Int64(bitPattern: (largestReceived.map { $0 &+ 1 } ?? 0) & max)
        let window: Int64 = 1 << bits
        let halfWindow = window / 2
        let mask = window - 1
        let candidate = (expected & ~mask) | (Int64(bitPattern: truncated) & mask)
        if candidate <= expected - halfWindow && candidate < (1 << 62) - window {
            return UInt64(candidate + window)
        }
        if candidate > expected + halfWindow && candidate >= window {
            return UInt64(candidate - window)
        }
        return UInt64(candidate)
    }
}
