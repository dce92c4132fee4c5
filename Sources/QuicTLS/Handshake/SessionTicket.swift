import QuicCrypto

/// What a client keeps from a NewSessionTicket to resume later (RFC 8446 §4.6.1, §2.2):
/// serialized to bytes for QUIC_PARAM_CONN_RESUMPTION_TICKET.
public struct ClientSessionTicket: Sendable, Equatable {
    public var serverName: String?
    public var alpn: [UInt8]
    public var cipherSuite: CipherSuite
    /// The opaque ticket (PSK identity).
    public var ticket: [UInt8]
    public var ageAdd: UInt32
    /// ticket_lifetime, seconds.
    public var lifetime: UInt32
    /// When the ticket arrived, microseconds on the caller's `now` clock.
    public var issueTime: UInt64
    /// max_early_data_size, 0 when the server does not allow 0-RTT.
    public var maxEarlyData: UInt32
    /// The PSK derived from the resumption master secret and the ticket nonce.
    public var resumptionSecret: [UInt8]
    /// The server's transport parameters of the original connection (RFC 9001 §7.4.1).
    public var serverTransportParameters: [UInt8]

    static let formatVersion: UInt8 = 1

    public func serialize() -> [UInt8] {
        var w = TLSWriter()
        w.u8(Self.formatVersion)
        w.vector16(Array((serverName ?? "").utf8))
        w.vector8(alpn)
        w.u16(cipherSuite.rawValue)
        w.vector16(ticket)
        w.u32(ageAdd)
        w.u32(lifetime)
        w.u64(issueTime)
        w.u32(maxEarlyData)
        w.vector8(resumptionSecret)
        w.vector16(serverTransportParameters)
        return w.bytes
    }

    /// Parses `serialize()` output; throws on anything malformed.
    public init(serialized bytes: [UInt8]) throws {
        var r = TLSReader(bytes)
        guard try r.u8() == Self.formatVersion else { throw TLSAlert(.decodeError, "unknown ticket format") }
        let name = try r.vector16()
        serverName = name.isEmpty ? nil : String(decoding: name, as: UTF8.self)
        alpn = try r.vector8()
        guard let suite = CipherSuite(rawValue: try r.u16()) else { throw TLSAlert(.decodeError, "ticket cipher suite") }
        cipherSuite = suite
        ticket = try r.vector16()
        ageAdd = try r.u32()
        lifetime = try r.u32()
        issueTime = try r.u64()
        maxEarlyData = try r.u32()
        resumptionSecret = try r.vector8()
        serverTransportParameters = try r.vector16()
        try r.expectEnd()
        guard !ticket.isEmpty, resumptionSecret.count == suite.hash.digestLength else {
            throw TLSAlert(.decodeError, "inconsistent ticket")
        }
    }

    public init(serverName: String?, alpn: [UInt8], cipherSuite: CipherSuite, ticket: [UInt8], ageAdd: UInt32,
                lifetime: UInt32, issueTime: UInt64, maxEarlyData: UInt32, resumptionSecret: [UInt8],
                serverTransportParameters: [UInt8]) {
        self.serverName = serverName
        self.alpn = alpn
        self.cipherSuite = cipherSuite
        self.ticket = ticket
        self.ageAdd = ageAdd
        self.lifetime = lifetime
        self.issueTime = issueTime
        self.maxEarlyData = maxEarlyData
        self.resumptionSecret = resumptionSecret
        self.serverTransportParameters = serverTransportParameters
    }
}

/// The server's state inside a sealed ticket: what it needs to resume and to judge 0-RTT.
struct ServerTicketState: Equatable {
    var cipherSuite: CipherSuite
    var psk: [UInt8]
    var alpn: [UInt8]
    var serverName: String?
    var ageAdd: UInt32
    var issueTime: UInt64
    var lifetime: UInt32
    var maxEarlyData: UInt32
    var appData: [UInt8]
    var transportParameters: [UInt8]

    static let formatVersion: UInt8 = 1

    func encode() -> [UInt8] {
        var w = TLSWriter()
        w.u8(Self.formatVersion)
        w.u16(cipherSuite.rawValue)
        w.vector8(psk)
        w.vector8(alpn)
        w.vector16(Array((serverName ?? "").utf8))
        w.u32(ageAdd)
        w.u64(issueTime)
        w.u32(lifetime)
        w.u32(maxEarlyData)
        w.vector16(appData)
        w.vector16(transportParameters)
        return w.bytes
    }

    static func decode(_ bytes: [UInt8]) -> ServerTicketState? {
        var r = TLSReader(bytes)
        do {
            guard try r.u8() == formatVersion, let suite = CipherSuite(rawValue: try r.u16()) else { return nil }
            let psk = try r.vector8()
            let alpn = try r.vector8()
            let name = try r.vector16()
            let state = ServerTicketState(
                cipherSuite: suite, psk: psk, alpn: alpn,
                serverName: name.isEmpty ? nil : String(decoding: name, as: UTF8.self),
                ageAdd: try r.u32(), issueTime: try r.u64(), lifetime: try r.u32(), maxEarlyData: try r.u32(),
                appData: try r.vector16(), transportParameters: try r.vector16())
            try r.expectEnd()
            return psk.count == suite.hash.digestLength ? state : nil
        } catch {
            return nil
        }
    }
}
