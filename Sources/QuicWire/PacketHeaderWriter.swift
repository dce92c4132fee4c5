// Writing packet headers (RFC 9000 §17) into a caller-provided buffer. Header protection and
// packet protection are applied afterwards by QuicCrypto over the same buffer.

/// Where the parts of a written header are, as absolute offsets in the writer's buffer.
public struct WrittenHeader: Equatable, Sendable {
    /// Offset of the first byte.
    public var start: Int
    /// Offset of the Length field (long headers with a Length), or nil.
    public var lengthOffset: Int?
    /// Size of the reserved Length field in bytes (2 or 4 usually).
    public var lengthFieldSize: Int
    /// Offset of the Packet Number field.
    public var packetNumberOffset: Int
    /// Bytes of the packet number (1...4).
    public var packetNumberLength: Int
    /// Offset where the payload (frames) starts.
    @inlinable public var payloadOffset: Int { packetNumberOffset + packetNumberLength }
}

public enum PacketHeaderWriter {
    /// Writes an Initial, 0-RTT or Handshake header (RFC 9000 §17.2.2-17.2.4; RFC 9369 §3.2
    /// type bits for v2). The Length field is reserved with `lengthFieldSize` bytes and must
    /// be filled with `patchLength` once the payload (plus AEAD tag) is known.
    ///
    /// - Parameters:
    ///   - truncatedPacketNumber: the packet number already truncated to `packetNumberLength`.
    ///   - fixedBit: false only when the peer advertised grease_quic_bit (RFC 9287 §3).
    public static func writeLongHeader(
        into w: inout WireWriter,
        type: LongPacketType,
        version: QuicVersion,
        dcid: ConnectionID,
        scid: ConnectionID,
        token: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0),
        truncatedPacketNumber: UInt64,
        packetNumberLength: Int,
        lengthFieldSize: Int = 2,
        fixedBit: Bool = true
    ) throws(BufferTooSmall) -> WrittenHeader {
        guard type != .retry, (1...4).contains(packetNumberLength),
              [1, 2, 4, 8].contains(lengthFieldSize) else { throw BufferTooSmall() }
        let start = w.position
        do {
            // RFC 9000 §17.2: Header Form 1, Fixed Bit, Long Packet Type, Reserved 00,
            // Packet Number Length - 1.
            let first: UInt8 = 0x80 | (fixedBit ? 0x40 : 0) | (version.typeBits(of: type) << 4)
                | UInt8(packetNumberLength - 1)
            try w.writeUInt8(first)
            try w.writeUInt32(version.rawValue)
            try w.writeUInt8(UInt8(dcid.length))
            try w.writeConnectionID(dcid)
            try w.writeUInt8(UInt8(scid.length))
            try w.writeConnectionID(scid)
            if type == .initial {
                try w.writeVarInt(UInt64(token.count))  // RFC 9000 §17.2.2
                try w.writeBytes(token)
            }
            let lengthOffset = w.position
            try w.writeZeros(lengthFieldSize)
            let pnOffset = w.position
            try w.writeBigEndian(truncatedPacketNumber, count: packetNumberLength)
            return WrittenHeader(
                start: start, lengthOffset: lengthOffset, lengthFieldSize: lengthFieldSize,
                packetNumberOffset: pnOffset, packetNumberLength: packetNumberLength)
        } catch {
            w.position = start
            throw error
        }
    }

    /// Fills the Length field of a long header: packet number + payload up to `packetEnd`
    /// (which includes the AEAD tag), RFC 9000 §17.2.
    public static func patchLength(
        _ buffer: UnsafeMutableRawBufferPointer, header: WrittenHeader, packetEnd: Int
    ) throws(BufferTooSmall) {
        guard let lengthOffset = header.lengthOffset, packetEnd >= header.packetNumberOffset else {
            throw BufferTooSmall()
        }
        var w = WireWriter(buffer, start: lengthOffset, end: lengthOffset + header.lengthFieldSize)
        try w.writeVarInt(UInt64(packetEnd - header.packetNumberOffset), length: header.lengthFieldSize)
    }

    /// Writes a 1-RTT short header (RFC 9000 §17.3.1).
    public static func writeShortHeader(
        into w: inout WireWriter,
        dcid: ConnectionID,
        truncatedPacketNumber: UInt64,
        packetNumberLength: Int,
        keyPhase: Bool,
        spinBit: Bool = false,
        fixedBit: Bool = true
    ) throws(BufferTooSmall) -> WrittenHeader {
        guard (1...4).contains(packetNumberLength) else { throw BufferTooSmall() }
        let start = w.position
        do {
            // Header Form 0, Fixed Bit, Spin Bit, Reserved 00, Key Phase, PN Length - 1.
            let first: UInt8 = (fixedBit ? 0x40 : 0) | (spinBit ? 0x20 : 0) | (keyPhase ? 0x04 : 0)
                | UInt8(packetNumberLength - 1)
            try w.writeUInt8(first)
            try w.writeConnectionID(dcid)
            let pnOffset = w.position
            try w.writeBigEndian(truncatedPacketNumber, count: packetNumberLength)
            return WrittenHeader(
                start: start, lengthOffset: nil, lengthFieldSize: 0,
                packetNumberOffset: pnOffset, packetNumberLength: packetNumberLength)
        } catch {
            w.position = start
            throw error
        }
    }

    /// Writes a Retry packet without its integrity tag (RFC 9000 §17.2.5); QuicCrypto computes
    /// the 16-byte tag over the pseudo-packet (RFC 9001 §5.8) and appends it.
    /// `unusedBits` fills the low 4 bits of the first byte (arbitrary per RFC 9000 §17.2.5).
    public static func writeRetryWithoutTag(
        into w: inout WireWriter,
        version: QuicVersion,
        dcid: ConnectionID,
        scid: ConnectionID,
        token: UnsafeRawBufferPointer,
        unusedBits: UInt8 = 0,
        fixedBit: Bool = true
    ) throws(BufferTooSmall) {
        guard token.count > 0 else { throw BufferTooSmall() }  // RFC 9000 §17.2.5.2
        let start = w.position
        do {
            let first: UInt8 = 0x80 | (fixedBit ? 0x40 : 0) | (version.typeBits(of: .retry) << 4)
                | (unusedBits & 0x0f)
            try w.writeUInt8(first)
            try w.writeUInt32(version.rawValue)
            try w.writeUInt8(UInt8(dcid.length))
            try w.writeConnectionID(dcid)
            try w.writeUInt8(UInt8(scid.length))
            try w.writeConnectionID(scid)
            try w.writeBytes(token)
        } catch {
            w.position = start
            throw error
        }
    }

    /// Writes a Version Negotiation packet (RFC 9000 §17.2.1) answering a client packet: the
    /// DCID echoes the client's SCID and the SCID echoes the client's DCID (§6.1); these may
    /// be up to 255 bytes (RFC 8999 §6). `unusedBits` are the 7 arbitrary low bits of the
    /// first byte (the server picks them, RFC 9000 §17.2.1; random values are best), except
    /// 0x40, which is always set: RFC 9000 §17.2.1 says servers SHOULD set it so that the
    /// packet appears to have the Fixed Bit where QUIC is multiplexed with other protocols
    /// (RFC 7983).
    public static func writeVersionNegotiation(
        into w: inout WireWriter,
        dcid: UnsafeRawBufferPointer,
        scid: UnsafeRawBufferPointer,
        supportedVersions: [QuicVersion],
        unusedBits: UInt8 = 0
    ) throws(BufferTooSmall) {
        guard dcid.count <= 255, scid.count <= 255, !supportedVersions.isEmpty else { throw BufferTooSmall() }
        let start = w.position
        do {
            try w.writeUInt8(0x80 | 0x40 | (unusedBits & 0x3f))  // RFC 9000 §17.2.1
            try w.writeUInt32(0)
            try w.writeUInt8(UInt8(dcid.count))
            try w.writeBytes(dcid)
            try w.writeUInt8(UInt8(scid.count))
            try w.writeBytes(scid)
            for v in supportedVersions { try w.writeUInt32(v.rawValue) }
        } catch {
            w.position = start
            throw error
        }
    }
}
