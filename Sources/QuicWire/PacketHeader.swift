// Parsing the parts of a QUIC packet header that are not covered by header protection
// (RFC 9000 §17, RFC 9001 §5.4), and finishing the parse once QuicCrypto has removed header
// protection from the first byte and the packet number bytes.
//
// Stage 1, `PacketHeader.parse`: first byte (form and fixed bit, plus the long header type bits,
// which header protection does not mask), version, connection IDs, token, and the Length field.
// That is enough to split coalesced packets (RFC 9000 §12.2), route the packet, and locate the
// packet number field and the header protection sample (RFC 9001 §5.4.2).
// Stage 2, `PacketHeader.unprotected`: after unmasking, read the packet number length, the
// packet number, the key phase and reserved bits.

/// Why a packet was discarded while parsing its header. Per RFC 9000 these packets are
/// dropped silently (§5.2, §12.2, §17.2), they are not connection errors.
public enum PacketHeaderError: Error, Equatable, Sendable {
    /// The header runs past the end of the datagram.
    case truncated
    /// The fixed bit is 0 and greasing was not advertised (RFC 9000 §17.2, RFC 9287 §3).
    case fixedBitZero
    /// A v1/v2 connection ID longer than 20 bytes (RFC 9000 §17.2).
    case connectionIDTooLong
    /// The Length field exceeds the bytes left in the datagram (RFC 9000 §17.2).
    case lengthExceedsDatagram
    /// Not enough bytes after the packet number offset for the header protection sample
    /// (RFC 9001 §5.4.2).
    case tooShortForHeaderProtectionSample
    /// A Version Negotiation packet whose version list is empty or not a multiple of 4 bytes.
    case malformedVersionNegotiation
    /// A Retry packet with an empty token or no room for the integrity tag (RFC 9000 §17.2.5.2).
    case malformedRetry
    /// A coalesced packet whose Destination Connection ID differs from the first packet's
    /// (RFC 9000 §12.2: receivers SHOULD ignore it).
    case coalescedConnectionIDMismatch
    /// The packet number length after unmasking leaves no payload.
    case emptyPayload
}

/// The kind of packet a header describes.
public enum PacketKind: Equatable, Sendable {
    case initial
    case zeroRTT
    case handshake
    case retry
    /// A short header (1-RTT) packet (RFC 9000 §17.3).
    case oneRTT
    /// Version Negotiation (RFC 9000 §17.2.1).
    case versionNegotiation
    /// A long header packet of a version we do not support: only the invariant fields
    /// (RFC 8999 §5.1) were parsed; the packet extends to the end of the datagram.
    case unsupportedVersion

    @inlinable
    public init(_ type: LongPacketType) {
        switch type {
        case .initial: self = .initial
        case .zeroRTT: self = .zeroRTT
        case .handshake: self = .handshake
        case .retry: self = .retry
        }
    }

    /// Packets that carry a protected packet number and payload.
    @inlinable public var hasPacketNumber: Bool {
        switch self {
        case .initial, .zeroRTT, .handshake, .oneRTT: return true
        default: return false
        }
    }
}

/// The header protection sample length for every QUIC v1/v2 AEAD (RFC 9001 §5.4.2).
public let headerProtectionSampleLength = 16

/// A parsed, still protected, packet header. All offsets are absolute positions in the
/// datagram buffer passed to `parse`.
public struct PacketHeader: Equatable, Sendable {
    public var kind: PacketKind
    /// The version field of a long header; `.negotiation` (0) for Version Negotiation and
    /// for short headers, whose version is that of the connection.
    public var version: QuicVersion
    /// The first byte as received (header protection still applied).
    public var firstByte: UInt8
    /// Offset of the first byte of this packet.
    public var start: Int
    /// One past the last byte of this packet: the next coalesced packet starts here.
    public var end: Int
    /// The Destination and Source Connection ID fields. For a Version Negotiation or
    /// unsupported-version packet they may exceed 20 bytes (RFC 8999 §5.1); then only the
    /// ranges are meaningful and `dcid`/`scid` are empty.
    public var dcidRange: Range<Int>
    public var scidRange: Range<Int>
    public var dcid: ConnectionID
    public var scid: ConnectionID
    /// Initial: the Token field; Retry: the Retry Token. Empty otherwise.
    public var tokenRange: Range<Int>
    /// The Length field of Initial, 0-RTT and Handshake packets: packet number + payload.
    public var length: UInt64
    /// Offset of the Packet Number field, for packets that have one (`kind.hasPacketNumber`).
    public var packetNumberOffset: Int
    /// Retry: the Retry Integrity Tag (RFC 9001 §5.8). Version Negotiation: the list of
    /// supported versions. Empty otherwise.
    public var trailerRange: Range<Int>

    /// Offset of the header protection sample: 4 bytes after the start of the packet number
    /// field, whatever its actual length (RFC 9001 §5.4.2).
    @inlinable public var sampleOffset: Int { packetNumberOffset + 4 }

    /// True when the long packet type of a v1/v2 packet was parsed.
    @inlinable public var isLongHeader: Bool { firstByte & 0x80 != 0 }

    /// The fixed bit (RFC 9000 §17.2, §17.3; RFC 9287).
    @inlinable public var fixedBit: Bool { firstByte & 0x40 != 0 }

    /// Parses the header of the packet that starts at `offset` in `datagram`.
    ///
    /// - Parameters:
    ///   - shortHeaderDCIDLength: the length of the connection IDs this endpoint issued, needed
    ///     to parse a short header (RFC 9000 §17.3: the length is not encoded).
    ///   - allowFixedBitZero: true when this endpoint advertised grease_quic_bit (RFC 9287 §3),
    ///     so packets with the fixed bit 0 must be accepted.
    public static func parse(
        _ datagram: UnsafeRawBufferPointer,
        at offset: Int = 0,
        shortHeaderDCIDLength: Int,
        allowFixedBitZero: Bool = false
    ) throws(PacketHeaderError) -> PacketHeader {
        var r = WireReader(datagram, start: offset)
        guard offset >= 0, offset < datagram.count, let first = r.readUInt8() else {
            throw .truncated
        }
        if first & 0x80 == 0 {
            return try parseShort(r: &r, first: first, start: offset,
                                  dcidLength: shortHeaderDCIDLength, allowFixedBitZero: allowFixedBitZero)
        }
        return try parseLong(r: &r, first: first, start: offset, allowFixedBitZero: allowFixedBitZero)
    }

    // RFC 9000 §17.3.1: 1-RTT packet. The DCID length is the endpoint's own; the packet
    // extends to the end of the datagram.
    @usableFromInline
    static func parseShort(
        r: inout WireReader, first: UInt8, start: Int, dcidLength: Int, allowFixedBitZero: Bool
    ) throws(PacketHeaderError) -> PacketHeader {
        if first & 0x40 == 0 && !allowFixedBitZero { throw .fixedBitZero }
        guard dcidLength >= 0, dcidLength <= ConnectionID.maxLength else { throw .connectionIDTooLong }
        let dcidStart = r.position
        guard let dcid = r.readConnectionID(length: dcidLength) else { throw .truncated }
        let pnOffset = r.position
        // RFC 9001 §5.4.2: the sample must fit.
        guard r.end - pnOffset >= 4 + headerProtectionSampleLength else {
            throw .tooShortForHeaderProtectionSample
        }
        return PacketHeader(
            kind: .oneRTT, version: .negotiation, firstByte: first, start: start, end: r.end,
            dcidRange: dcidStart..<pnOffset, scidRange: pnOffset..<pnOffset,
            dcid: dcid, scid: ConnectionID(), tokenRange: pnOffset..<pnOffset, length: 0,
            packetNumberOffset: pnOffset, trailerRange: r.end..<r.end)
    }

    @usableFromInline
    static func parseLong(
        r: inout WireReader, first: UInt8, start: Int, allowFixedBitZero: Bool
    ) throws(PacketHeaderError) -> PacketHeader {
        // RFC 8999 §5.1 invariants: version, DCID length + DCID, SCID length + SCID.
        guard let rawVersion = r.readUInt32() else { throw .truncated }
        let version = QuicVersion(rawVersion)
        guard let dcidLength = r.readUInt8() else { throw .truncated }
        guard let dcidRange = r.readBytes(Int(dcidLength)) else { throw .truncated }
        guard let scidLength = r.readUInt8() else { throw .truncated }
        guard let scidRange = r.readBytes(Int(scidLength)) else { throw .truncated }
        let bytes = r.bytes
        func cid(_ range: Range<Int>) -> ConnectionID {
            range.count <= ConnectionID.maxLength
                ? ConnectionID(UnsafeRawBufferPointer(rebasing: bytes[range])) : ConnectionID()
        }
        var header = PacketHeader(
            kind: .unsupportedVersion, version: version, firstByte: first, start: start, end: r.end,
            dcidRange: dcidRange, scidRange: scidRange, dcid: cid(dcidRange), scid: cid(scidRange),
            tokenRange: r.position..<r.position, length: 0, packetNumberOffset: r.position,
            trailerRange: r.end..<r.end)

        if version == .negotiation {
            // RFC 9000 §17.2.1: the rest of the datagram is a list of 32-bit versions; the
            // fixed bit and type bits are unused.
            let listLength = r.remaining
            guard listLength > 0, listLength % 4 == 0 else { throw .malformedVersionNegotiation }
            header.kind = .versionNegotiation
            header.trailerRange = r.position..<r.end
            return header
        }
        guard let type = version.longPacketType(typeBits: (first >> 4) & 0x03) else {
            // Unknown version: only the invariants are meaningful (RFC 8999 §5.1).
            return header
        }
        // RFC 9000 §17.2: v1 connection IDs are at most 20 bytes (also v2, RFC 9369 §3).
        guard dcidLength <= 20, scidLength <= 20 else { throw .connectionIDTooLong }
        // RFC 9000 §17.2 fixed bit; RFC 9287 §3 lets it be 0 once grease_quic_bit was sent.
        if first & 0x40 == 0 && !allowFixedBitZero { throw .fixedBitZero }
        header.kind = PacketKind(type)

        switch type {
        case .retry:
            // RFC 9000 §17.2.5: Retry Token fills the packet up to the 16-byte integrity tag.
            guard r.remaining > 16 else { throw .malformedRetry }
            header.tokenRange = r.position..<(r.end - 16)
            header.trailerRange = (r.end - 16)..<r.end
            header.packetNumberOffset = r.end
            return header
        case .initial:
            // RFC 9000 §17.2.2: Token Length + Token.
            guard let tokenLength = r.readVarInt() else { throw .truncated }
            guard let token = r.readBytes(varIntCount: tokenLength) else { throw .truncated }
            header.tokenRange = token
        case .zeroRTT, .handshake:
            header.tokenRange = r.position..<r.position
        }
        // RFC 9000 §17.2: Length covers the packet number and the payload.
        guard let length = r.readVarInt() else { throw .truncated }
        guard length <= UInt64(r.remaining) else { throw .lengthExceedsDatagram }
        header.length = length
        header.packetNumberOffset = r.position
        header.end = r.position + Int(length)
        // RFC 9001 §5.4.2: the sample must fit inside this packet.
        guard length >= UInt64(4 + headerProtectionSampleLength) else {
            throw .tooShortForHeaderProtectionSample
        }
        return header
    }

    /// The connection ID bytes of this packet as a buffer slice (works for any length).
    @inlinable
    public func dcidBytes(in datagram: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: datagram[dcidRange])
    }

    @inlinable
    public func scidBytes(in datagram: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: datagram[scidRange])
    }

    /// The 32-bit versions listed by a Version Negotiation packet (RFC 9000 §17.2.1).
    public func supportedVersions(in datagram: UnsafeRawBufferPointer) -> [QuicVersion] {
        guard kind == .versionNegotiation else { return [] }
        var r = WireReader(datagram, start: trailerRange.lowerBound, end: trailerRange.upperBound)
        var out: [QuicVersion] = []
        out.reserveCapacity(trailerRange.count / 4)
        while let v = r.readUInt32() { out.append(QuicVersion(v)) }
        return out
    }

    /// Finishes the parse once header protection was removed: `unmaskedFirstByte` is the first
    /// byte with its protected bits restored and the packet number bytes at
    /// `packetNumberOffset` in `datagram` have been unmasked in place (RFC 9001 §5.4.1).
    @inlinable
    public func unprotected(
        firstByte unmaskedFirstByte: UInt8, in datagram: UnsafeRawBufferPointer
    ) throws(PacketHeaderError) -> UnprotectedHeader {
        let pnLength = Int(unmaskedFirstByte & 0x03) + 1  // RFC 9000 §17.2, §17.3.1
        var r = WireReader(datagram, start: packetNumberOffset, end: end)
        guard let pn = r.readBigEndian(count: pnLength) else { throw .truncated }
        guard r.remaining > 0 else { throw .emptyPayload }
        let isShort = unmaskedFirstByte & 0x80 == 0
        return UnprotectedHeader(
            firstByte: unmaskedFirstByte,
            packetNumberLength: pnLength,
            truncatedPacketNumber: pn,
            // RFC 9000 §17.2: long header reserved bits 0x0c; §17.3.1: short header 0x18.
            reservedBits: isShort ? (unmaskedFirstByte & 0x18) >> 3 : (unmaskedFirstByte & 0x0c) >> 2,
            keyPhase: isShort && unmaskedFirstByte & 0x04 != 0,
            spinBit: isShort && unmaskedFirstByte & 0x20 != 0,
            payloadOffset: r.position,
            payloadEnd: end)
    }
}

/// The header fields that header protection hides (RFC 9001 §5.4.1).
public struct UnprotectedHeader: Equatable, Sendable {
    public var firstByte: UInt8
    /// 1...4 bytes (RFC 9000 §17.1).
    public var packetNumberLength: Int
    /// The packet number as sent; recover it with `PacketNumber.decode`.
    public var truncatedPacketNumber: UInt64
    /// Must be 0 once the packet is authenticated (RFC 9000 §17.2, §17.3.1).
    public var reservedBits: UInt8
    /// 1-RTT only (RFC 9000 §17.3.1).
    public var keyPhase: Bool
    /// 1-RTT only (RFC 9000 §17.4).
    public var spinBit: Bool
    /// The protected payload (AEAD ciphertext + tag): the header is `start..<payloadOffset`.
    public var payloadOffset: Int
    public var payloadEnd: Int

    @inlinable
    public init(
        firstByte: UInt8, packetNumberLength: Int, truncatedPacketNumber: UInt64, reservedBits: UInt8,
        keyPhase: Bool, spinBit: Bool, payloadOffset: Int, payloadEnd: Int
    ) {
        self.firstByte = firstByte
        self.packetNumberLength = packetNumberLength
        self.truncatedPacketNumber = truncatedPacketNumber
        self.reservedBits = reservedBits
        self.keyPhase = keyPhase
        self.spinBit = spinBit
        self.payloadOffset = payloadOffset
        self.payloadEnd = payloadEnd
    }

    /// RFC 9000 §17.2/§17.3.1: non-zero reserved bits after removing packet and header
    /// protection are a PROTOCOL_VIOLATION. Call after the AEAD succeeded.
    @inlinable
    public func checkReservedBits() throws(QuicError) {
        if reservedBits != 0 {
            throw QuicError(code: .protocolViolation, reason: "reserved header bits set")
        }
    }
}
