// Encoding and decoding the quic_transport_parameters TLS extension body (RFC 9000 §18):
// a sequence of (ID varint, length varint, value) entries.

extension TransportParameters {
    /// Decodes transport parameters sent by `sender`. Malformed or invalid parameters,
    /// duplicates and parameters the sender's role must not send are a
    /// TRANSPORT_PARAMETER_ERROR (RFC 9000 §7.4, §18.2). Unknown parameters, including the
    /// reserved 31 * N + 27 ones, are skipped (RFC 9000 §18.1).
    public static func decode(
        _ bytes: UnsafeRawBufferPointer, sender: TransportParameterSender
    ) throws(QuicError) -> TransportParameters {
        var p = TransportParameters()
        var r = WireReader(bytes)
        var seen: UInt64 = 0        // RFC 9000 IDs 0x00...0x3f
        var seenExtensions: UInt16 = 0

        func markSeen(_ id: UInt64) throws(QuicError) {
            let bit: Int
            if id < 64 {
                let m: UInt64 = 1 << id
                if seen & m != 0 { throw .transportParameter("duplicate transport parameter 0x" + String(id, radix: 16)) }
                seen |= m
                return
            }
            switch id {
            case TransportParameterID.cibirEncoding: bit = 0
            case TransportParameterID.greaseQuicBit: bit = 1
            case TransportParameterID.enableTimestamp: bit = 2
            case TransportParameterID.disable1RTTEncryption: bit = 3
            case TransportParameterID.minAckDelay: bit = 4
            case TransportParameterID.reliableResetMsQuic: bit = 5
            case TransportParameterID.resetStreamAt: bit = 6
            default: return
            }
            let m: UInt16 = 1 << bit
            if seenExtensions & m != 0 {
                throw .transportParameter("duplicate transport parameter 0x" + String(id, radix: 16))
            }
            seenExtensions |= m
        }

        while !r.isAtEnd {
            guard let id = r.readVarInt(), let length = r.readVarInt(),
                  let value = r.readBytes(varIntCount: length) else {
                throw .transportParameter("truncated transport parameter")
            }
            try markSeen(id)
            var v = WireReader(bytes, start: value.lowerBound, end: value.upperBound)

            // A varint value must fill the parameter exactly.
            func integer() throws(QuicError) -> UInt64 {
                guard let x = v.readVarInt(), v.isAtEnd else {
                    throw .transportParameter("malformed integer transport parameter 0x" + String(id, radix: 16))
                }
                return x
            }
            func connectionID() throws(QuicError) -> ConnectionID {
                guard value.count <= ConnectionID.maxLength, let c = v.readConnectionID(length: value.count) else {
                    throw .transportParameter("connection ID transport parameter longer than 20 bytes")
                }
                return c
            }
            func empty() throws(QuicError) {
                guard value.isEmpty else {
                    throw .transportParameter("non-empty flag transport parameter 0x" + String(id, radix: 16))
                }
            }

            switch id {
            case TransportParameterID.originalDestinationConnectionID:
                p.originalDestinationConnectionID = try connectionID()
            case TransportParameterID.maxIdleTimeout:
                p.maxIdleTimeout = try integer()
            case TransportParameterID.statelessResetToken:
                guard value.count == 16, let t = v.readStatelessResetToken() else {
                    throw .transportParameter("stateless_reset_token not 16 bytes")
                }
                p.statelessResetToken = t
            case TransportParameterID.maxUDPPayloadSize:
                p.maxUDPPayloadSize = try integer()
            case TransportParameterID.initialMaxData:
                p.initialMaxData = try integer()
            case TransportParameterID.initialMaxStreamDataBidiLocal:
                p.initialMaxStreamDataBidiLocal = try integer()
            case TransportParameterID.initialMaxStreamDataBidiRemote:
                p.initialMaxStreamDataBidiRemote = try integer()
            case TransportParameterID.initialMaxStreamDataUni:
                p.initialMaxStreamDataUni = try integer()
            case TransportParameterID.initialMaxStreamsBidi:
                p.initialMaxStreamsBidi = try integer()
            case TransportParameterID.initialMaxStreamsUni:
                p.initialMaxStreamsUni = try integer()
            case TransportParameterID.ackDelayExponent:
                p.ackDelayExponent = try integer()
            case TransportParameterID.maxAckDelay:
                p.maxAckDelay = try integer()
            case TransportParameterID.disableActiveMigration:
                try empty()
                p.disableActiveMigration = true
            case TransportParameterID.preferredAddress:
                p.preferredAddress = try decodePreferredAddress(&v)
            case TransportParameterID.activeConnectionIDLimit:
                p.activeConnectionIDLimit = try integer()
            case TransportParameterID.initialSourceConnectionID:
                p.initialSourceConnectionID = try connectionID()
            case TransportParameterID.retrySourceConnectionID:
                p.retrySourceConnectionID = try connectionID()
            case TransportParameterID.versionInformation:
                // RFC 9368 §3: Chosen Version (32) followed by Available Versions (32) ...
                guard value.count >= 4, value.count % 4 == 0, let chosen = v.readUInt32() else {
                    throw .transportParameter("malformed version_information")
                }
                var available: [QuicVersion] = []
                available.reserveCapacity(value.count / 4 - 1)
                while let a = v.readUInt32() { available.append(QuicVersion(a)) }
                p.versionInformation = VersionInformation(chosenVersion: QuicVersion(chosen), availableVersions: available)
            case TransportParameterID.maxDatagramFrameSize:
                p.maxDatagramFrameSize = try integer()
            case TransportParameterID.greaseQuicBit:
                try empty()
                p.greaseQuicBit = true
            case TransportParameterID.minAckDelay:
                p.minAckDelay = try integer()
            case TransportParameterID.disable1RTTEncryption:
                try empty()
                p.disable1RTTEncryption = true
            case TransportParameterID.reliableResetMsQuic:
                try empty()
                p.reliableResetMsQuic = true
            case TransportParameterID.resetStreamAt:
                try empty()
                p.resetStreamAt = true
            case TransportParameterID.enableTimestamp:
                // MsQuic: flags 1 (send) | 2 (receive); larger values are rejected.
                let flags = try integer()
                guard flags <= 3 else { throw .transportParameter("enable_timestamp above 3") }
                p.enableTimestamp = flags
            case TransportParameterID.cibirEncoding:
                // MsQuic: {length 1...255, offset}, length + offset within a 255-byte CID.
                guard let length = v.readVarInt(), let offset = v.readVarInt(), v.isAtEnd,
                      length >= 1, length <= 255, offset <= 255, length + offset <= 255 else {
                    throw .transportParameter("malformed cibir_encoding")
                }
                p.cibirEncoding = CibirEncoding(length: length, offset: offset)
            default:
                break  // RFC 9000 §18.1: unknown parameters are ignored.
            }
        }
        try p.validate(sender: sender)
        return p
    }

    /// Decodes from an array (allocates nothing beyond the result; convenience).
    public static func decode(_ bytes: [UInt8], sender: TransportParameterSender) throws(QuicError) -> TransportParameters {
        var result: Result<TransportParameters, QuicError> = .failure(.transportParameter(""))
        bytes.withUnsafeBytes { buf in
            do throws(QuicError) {
                result = .success(try decode(buf, sender: sender))
            } catch {
                result = .failure(error)
            }
        }
        return try result.get()
    }

    // RFC 9000 §18.2 Preferred Address: IPv4 (32), IPv4 port (16), IPv6 (128), IPv6 port (16),
    // CID length (8), CID, Stateless Reset Token (128).
    static func decodePreferredAddress(_ v: inout WireReader) throws(QuicError) -> PreferredAddress {
        guard let a = v.readBytes(4), let p4 = v.readUInt16(), let a6 = v.readBytes(16), let p6 = v.readUInt16(),
              let cidLength = v.readUInt8() else {
            throw .transportParameter("truncated preferred_address")
        }
        guard cidLength >= 1, cidLength <= 20 else {
            throw .transportParameter("preferred_address connection ID length not in 1...20")
        }
        guard let cid = v.readConnectionID(length: Int(cidLength)), let token = v.readStatelessResetToken(),
              v.isAtEnd else {
            throw .transportParameter("malformed preferred_address")
        }
        let b = v.bytes
        return PreferredAddress(
            ipv4Address: (b[a.lowerBound], b[a.lowerBound + 1], b[a.lowerBound + 2], b[a.lowerBound + 3]),
            ipv4Port: p4, ipv6Address: Array(b[a6]), ipv6Port: p6,
            connectionID: cid, statelessResetToken: token)
    }

    /// Writes the parameters. Parameters at their default value are omitted (RFC 9000 §18.2:
    /// absence means the default); optional ones are written when set.
    public func encode(into w: inout WireWriter) throws(BufferTooSmall) {
        let start = w.position
        do throws(BufferTooSmall) {
            func integer(_ id: UInt64, _ value: UInt64, default d: UInt64?) throws(BufferTooSmall) {
                if let d, value == d { return }
                try w.writeVarInt(id)
                try w.writeVarInt(UInt64(VarInt.encodedLength(value)))
                try w.writeVarInt(value)
            }
            func cid(_ id: UInt64, _ c: ConnectionID?) throws(BufferTooSmall) {
                guard let c else { return }
                try w.writeVarInt(id)
                try w.writeVarInt(UInt64(c.length))
                try w.writeConnectionID(c)
            }
            func flag(_ id: UInt64, _ on: Bool) throws(BufferTooSmall) {
                guard on else { return }
                try w.writeVarInt(id)
                try w.writeVarInt(0)
            }
            typealias ID = TransportParameterID
            try cid(ID.originalDestinationConnectionID, originalDestinationConnectionID)
            try integer(ID.maxIdleTimeout, maxIdleTimeout, default: 0)
            if let t = statelessResetToken {
                try w.writeVarInt(ID.statelessResetToken)
                try w.writeVarInt(16)
                try w.writeStatelessResetToken(t)
            }
            try integer(ID.maxUDPPayloadSize, maxUDPPayloadSize, default: 65527)
            try integer(ID.initialMaxData, initialMaxData, default: 0)
            try integer(ID.initialMaxStreamDataBidiLocal, initialMaxStreamDataBidiLocal, default: 0)
            try integer(ID.initialMaxStreamDataBidiRemote, initialMaxStreamDataBidiRemote, default: 0)
            try integer(ID.initialMaxStreamDataUni, initialMaxStreamDataUni, default: 0)
            try integer(ID.initialMaxStreamsBidi, initialMaxStreamsBidi, default: 0)
            try integer(ID.initialMaxStreamsUni, initialMaxStreamsUni, default: 0)
            try integer(ID.ackDelayExponent, ackDelayExponent, default: 3)
            try integer(ID.maxAckDelay, maxAckDelay, default: 25)
            try flag(ID.disableActiveMigration, disableActiveMigration)
            if let pa = preferredAddress {
                guard pa.ipv6Address.count == 16 else { throw BufferTooSmall() }
                try w.writeVarInt(ID.preferredAddress)
                try w.writeVarInt(UInt64(4 + 2 + 16 + 2 + 1 + pa.connectionID.length + 16))
                try w.writeBytes([pa.ipv4Address.0, pa.ipv4Address.1, pa.ipv4Address.2, pa.ipv4Address.3])
                try w.writeUInt16(pa.ipv4Port)
                try w.writeBytes(pa.ipv6Address)
                try w.writeUInt16(pa.ipv6Port)
                try w.writeUInt8(UInt8(pa.connectionID.length))
                try w.writeConnectionID(pa.connectionID)
                try w.writeStatelessResetToken(pa.statelessResetToken)
            }
            try integer(ID.activeConnectionIDLimit, activeConnectionIDLimit, default: 2)
            try cid(ID.initialSourceConnectionID, initialSourceConnectionID)
            try cid(ID.retrySourceConnectionID, retrySourceConnectionID)
            if let vi = versionInformation {
                try w.writeVarInt(ID.versionInformation)
                try w.writeVarInt(UInt64(4 * (1 + vi.availableVersions.count)))
                try w.writeUInt32(vi.chosenVersion.rawValue)
                for a in vi.availableVersions { try w.writeUInt32(a.rawValue) }
            }
            if let m = maxDatagramFrameSize { try integer(ID.maxDatagramFrameSize, m, default: nil) }
            if let c = cibirEncoding {
                try w.writeVarInt(ID.cibirEncoding)
                try w.writeVarInt(UInt64(VarInt.encodedLength(c.length) + VarInt.encodedLength(c.offset)))
                try w.writeVarInt(c.length)
                try w.writeVarInt(c.offset)
            }
            try flag(ID.greaseQuicBit, greaseQuicBit)
            if let t = enableTimestamp { try integer(ID.enableTimestamp, t, default: nil) }
            try flag(ID.disable1RTTEncryption, disable1RTTEncryption)
            if let m = minAckDelay { try integer(ID.minAckDelay, m, default: nil) }
            try flag(ID.reliableResetMsQuic, reliableResetMsQuic)
            try flag(ID.resetStreamAt, resetStreamAt)
            for extra in rawExtras {
                try w.writeVarInt(extra.id)
                try w.writeVarInt(UInt64(extra.value.count))
                try w.writeBytes(extra.value)
            }
        } catch {
            w.position = start
            throw error
        }
    }

    /// The encoding as an array (allocates; for the TLS extension built once per handshake).
    /// Throws only for an unencodable value (an IPv6 preferred address that is not 16 bytes,
    /// a value above 2^62-1, or more available versions than fit in 4 KiB).
    public func encoded() throws(BufferTooSmall) -> [UInt8] {
        let extras = rawExtras.reduce(0) { $0 + 16 + $1.value.count }
        return try [UInt8].encoding(capacity: 4096 + extras + 4 * (versionInformation?.availableVersions.count ?? 0)) {
            (w: inout WireWriter) throws(BufferTooSmall) in
            try encode(into: &w)
        }
    }
}
