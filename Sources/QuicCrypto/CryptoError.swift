// The typed error of packet protection. Every failure is a value: bad input from the network
// (short packets, forged tags) never traps.

/// Why packet protection or its removal failed.
public enum PacketProtectionError: Error, Sendable, Equatable {
    /// The AEAD tag did not verify (RFC 9001 §5.5: the packet is discarded, nothing else).
    case authenticationFailed
    /// The packet is too short for its header, the header protection sample
    /// (RFC 9001 §5.4.2) or the 16-byte tag.
    case packetTooShort
    /// A caller-supplied argument is out of range (offset, length, key size).
    case invalidArgument
    /// libcrypto reported an error it should not (allocation failure and the like).
    case cryptoLibraryFailure
}
