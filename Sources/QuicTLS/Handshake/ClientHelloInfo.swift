/// What a server can learn from a ClientHello before it picks a configuration: MsQuic's
/// listener reports the server name and the client's ALPN list in NEW_CONNECTION and only
/// then gets the configuration (credential, ALPN) from ConnectionSetConfiguration. QuicCore
/// buffers the Initial CRYPTO bytes, peeks with `TLSHandshake.peekClientHello`, asks the
/// application, then builds the TLSHandshake and feeds it the same bytes.
public struct ClientHelloInfo: Sendable, Equatable {
    /// The server_name host name (RFC 6066 §3), nil when absent.
    public var serverName: String?
    /// The client's ALPN protocols in its order (RFC 7301), empty when absent.
    public var alpnProtocols: [[UInt8]]
    /// The client's quic_transport_parameters extension body, nil when absent.
    public var transportParameters: [UInt8]?
    /// Offered cipher suite code points, in the client's order.
    public var cipherSuites: [UInt16]
    /// True when the client offers a PSK (a resumption attempt).
    public var offersPreSharedKey: Bool
    /// True when the client asks for 0-RTT.
    public var offersEarlyData: Bool
}

extension TLSHandshake {
    /// Parses the first handshake message of `initialCryptoData` if it is a whole
    /// ClientHello. Returns nil while more bytes are needed; throws the alert a server would
    /// send for a malformed or unexpected first message.
    public static func peekClientHello(_ initialCryptoData: [UInt8]) throws -> ClientHelloInfo? {
        guard initialCryptoData.count >= 4 else { return nil }
        guard initialCryptoData[0] == HandshakeType.clientHello.rawValue else {
            throw TLSAlert(.unexpectedMessage, "first Initial message is not a ClientHello")
        }
        let length = Int(initialCryptoData[1]) << 16 | Int(initialCryptoData[2]) << 8 | Int(initialCryptoData[3])
        guard length <= maxMessageLength else { throw TLSAlert(.decodeError, "ClientHello too large") }
        guard initialCryptoData.count >= 4 + length else { return nil }
        let ch = try ClientHello.decode(Array(initialCryptoData[4..<(4 + length)]))
        let exts = ch.extensions
        return ClientHelloInfo(
            serverName: try exts.body(.serverName).flatMap(ExtensionCodec.decodeServerName),
            alpnProtocols: try exts.body(.alpn).map(ExtensionCodec.decodeALPN) ?? [],
            transportParameters: exts.body(.quicTransportParameters),
            cipherSuites: ch.cipherSuites,
            offersPreSharedKey: exts.has(.preSharedKey),
            offersEarlyData: exts.has(.earlyData))
    }

    /// The ClientHello random: with `keyLog`, what QUIC_PARAM_CONN_TLS_SECRETS reports.
    public var clientHelloRandom: [UInt8] { clientRandom }
}
