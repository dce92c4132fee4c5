/// Handshake message types (RFC 8446 §4).
enum HandshakeType: UInt8 {
    case clientHello = 1
    case serverHello = 2
    case newSessionTicket = 4
    case endOfEarlyData = 5
    case encryptedExtensions = 8
    case certificate = 11
    case certificateRequest = 13
    case certificateVerify = 15
    case finished = 20
    case keyUpdate = 24
    case messageHash = 254
}

/// TLS 1.3's version number in supported_versions, and the frozen legacy_version (RFC 8446 §4.1.2).
let tls13Version: UInt16 = 0x0304
let legacyVersion: UInt16 = 0x0303

/// ServerHello.random of a HelloRetryRequest: SHA-256("HelloRetryRequest") (RFC 8446 §4.1.3).
let helloRetryRequestRandom: [UInt8] = [
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
]

/// Frames a message body: msg_type || uint24 length || body (RFC 8446 §4).
func handshakeMessage(_ type: HandshakeType, _ body: [UInt8]) -> [UInt8] {
    var w = TLSWriter()
    w.u8(type.rawValue)
    w.vector24(body)
    return w.bytes
}

/// ClientHello (RFC 8446 §4.1.2).
struct ClientHello {
    var random: [UInt8]
    var legacySessionID: [UInt8] = []
    var cipherSuites: [UInt16]
    var extensions: [TLSExtension]

    func encode() -> [UInt8] {
        var w = TLSWriter()
        w.u16(legacyVersion)
        w.raw(random)
        w.vector8(legacySessionID)
        w.nested(2) { for s in cipherSuites { $0.u16(s) } }
        w.vector8([0]) // legacy_compression_methods = { null }
        w.vector16(TLSExtension.encodeList(extensions))
        return handshakeMessage(.clientHello, w.bytes)
    }

    static func decode(_ body: [UInt8]) throws -> ClientHello {
        var r = TLSReader(body)
        _ = try r.u16() // legacy_version: only supported_versions counts (RFC 8446 §4.2.1)
        let random = try r.raw(32)
        let sid = try r.vector8()
        guard sid.count <= 32 else { throw TLSAlert(.decodeError, "legacy_session_id too long") }
        let suitesBytes = try r.vector16()
        guard suitesBytes.count % 2 == 0, !suitesBytes.isEmpty else { throw TLSAlert(.decodeError, "bad cipher_suites") }
        var suites: [UInt16] = []
        var sr = TLSReader(suitesBytes)
        while !sr.isAtEnd { suites.append(try sr.u16()) }
        let compression = try r.vector8()
        // RFC 8446 §4.1.2: exactly one byte set to zero, otherwise illegal_parameter.
        guard compression == [0] else { throw TLSAlert(.illegalParameter, "legacy_compression_methods must be null") }
        let exts = try TLSExtension.decodeList(try r.vector16())
        try r.expectEnd()
        return ClientHello(random: random, legacySessionID: sid, cipherSuites: suites, extensions: exts)
    }
}

/// ServerHello and HelloRetryRequest (RFC 8446 §4.1.3, §4.1.4).
struct ServerHello {
    var random: [UInt8]
    var legacySessionIDEcho: [UInt8] = []
    var cipherSuite: UInt16
    var extensions: [TLSExtension]

    var isHelloRetryRequest: Bool { random == helloRetryRequestRandom }

    func encode() -> [UInt8] {
        var w = TLSWriter()
        w.u16(legacyVersion)
        w.raw(random)
        w.vector8(legacySessionIDEcho)
        w.u16(cipherSuite)
        w.u8(0) // legacy_compression_method
        w.vector16(TLSExtension.encodeList(extensions))
        return handshakeMessage(.serverHello, w.bytes)
    }

    static func decode(_ body: [UInt8]) throws -> ServerHello {
        var r = TLSReader(body)
        let version = try r.u16()
        guard version == legacyVersion else { throw TLSAlert(.protocolVersion, "ServerHello legacy_version") }
        let random = try r.raw(32)
        let sid = try r.vector8()
        let suite = try r.u16()
        guard try r.u8() == 0 else { throw TLSAlert(.illegalParameter, "legacy_compression_method must be 0") }
        let exts = try TLSExtension.decodeList(try r.vector16())
        try r.expectEnd()
        return ServerHello(random: random, legacySessionIDEcho: sid, cipherSuite: suite, extensions: exts)
    }
}

/// EncryptedExtensions (RFC 8446 §4.3.1).
struct EncryptedExtensions {
    var extensions: [TLSExtension]

    func encode() -> [UInt8] { handshakeMessage(.encryptedExtensions, TLSWriter.vector16(TLSExtension.encodeList(extensions))) }

    static func decode(_ body: [UInt8]) throws -> EncryptedExtensions {
        var r = TLSReader(body)
        let exts = try TLSExtension.decodeList(try r.vector16())
        try r.expectEnd()
        return EncryptedExtensions(extensions: exts)
    }
}

/// CertificateRequest (RFC 8446 §4.3.2).
struct CertificateRequest {
    var context: [UInt8]
    var extensions: [TLSExtension]

    func encode() -> [UInt8] {
        var w = TLSWriter()
        w.vector8(context)
        w.vector16(TLSExtension.encodeList(extensions))
        return handshakeMessage(.certificateRequest, w.bytes)
    }

    static func decode(_ body: [UInt8]) throws -> CertificateRequest {
        var r = TLSReader(body)
        let ctx = try r.vector8()
        let exts = try TLSExtension.decodeList(try r.vector16())
        try r.expectEnd()
        return CertificateRequest(context: ctx, extensions: exts)
    }
}

/// Certificate (RFC 8446 §4.4.2): X.509 entries only (no raw public keys).
struct CertificateMessage {
    var context: [UInt8]
    var certificates: [[UInt8]]

    func encode() -> [UInt8] {
        var w = TLSWriter()
        w.vector8(context)
        w.nested(3) { list in
            for cert in certificates {
                list.vector24(cert)
                list.vector16([]) // no per-certificate extensions
            }
        }
        return handshakeMessage(.certificate, w.bytes)
    }

    static func decode(_ body: [UInt8]) throws -> CertificateMessage {
        var r = TLSReader(body)
        let ctx = try r.vector8()
        var list = TLSReader(try r.vector24())
        try r.expectEnd()
        var certs: [[UInt8]] = []
        while !list.isAtEnd {
            let cert = try list.vector24()
            guard !cert.isEmpty else { throw TLSAlert(.decodeError, "empty cert_data") }
            certs.append(cert)
            // Per-entry extensions (OCSP, SCT) are accepted and ignored; they are not
            // solicited, so any present would be the peer's error, not ours to judge here.
            _ = try list.vector16()
        }
        return CertificateMessage(context: ctx, certificates: certs)
    }
}

/// CertificateVerify (RFC 8446 §4.4.3).
struct CertificateVerify {
    var scheme: UInt16
    var signature: [UInt8]

    func encode() -> [UInt8] {
        var w = TLSWriter()
        w.u16(scheme)
        w.vector16(signature)
        return handshakeMessage(.certificateVerify, w.bytes)
    }

    static func decode(_ body: [UInt8]) throws -> CertificateVerify {
        var r = TLSReader(body)
        let scheme = try r.u16()
        let sig = try r.vector16()
        try r.expectEnd()
        return CertificateVerify(scheme: scheme, signature: sig)
    }
}

/// NewSessionTicket (RFC 8446 §4.6.1).
struct NewSessionTicket {
    var lifetime: UInt32
    var ageAdd: UInt32
    var nonce: [UInt8]
    var ticket: [UInt8]
    var extensions: [TLSExtension]

    func encode() -> [UInt8] {
        var w = TLSWriter()
        w.u32(lifetime)
        w.u32(ageAdd)
        w.vector8(nonce)
        w.vector16(ticket)
        w.vector16(TLSExtension.encodeList(extensions))
        return handshakeMessage(.newSessionTicket, w.bytes)
    }

    static func decode(_ body: [UInt8]) throws -> NewSessionTicket {
        var r = TLSReader(body)
        let lifetime = try r.u32()
        let ageAdd = try r.u32()
        let nonce = try r.vector8()
        let ticket = try r.vector16()
        guard !ticket.isEmpty else { throw TLSAlert(.decodeError, "empty ticket") }
        let exts = try TLSExtension.decodeList(try r.vector16())
        try r.expectEnd()
        return NewSessionTicket(lifetime: lifetime, ageAdd: ageAdd, nonce: nonce, ticket: ticket, extensions: exts)
    }
}

extension TLSWriter {
    /// A vector16 as a standalone byte array.
    static func vector16(_ b: [UInt8]) -> [UInt8] {
        var w = TLSWriter()
        w.vector16(b)
        return w.bytes
    }
}
