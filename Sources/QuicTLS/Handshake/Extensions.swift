/// Extension code points used here (RFC 8446 §4.2, RFC 6066, RFC 7301, RFC 9001 §8.2).
enum ExtensionType: UInt16 {
    case serverName = 0
    case supportedGroups = 10
    case signatureAlgorithms = 13
    case alpn = 16
    case preSharedKey = 41
    case earlyData = 42
    case supportedVersions = 43
    case cookie = 44
    case pskKeyExchangeModes = 45
    case certificateAuthorities = 47
    case signatureAlgorithmsCert = 50
    case keyShare = 51
    case quicTransportParameters = 0x39
}

/// psk_dhe_ke (RFC 8446 §4.2.9): the only PSK mode offered or accepted here.
let pskDHEKeyExchange: UInt8 = 1

/// One extension: its type and opaque body.
struct TLSExtension: Equatable {
    var type: UInt16
    var body: [UInt8]

    init(_ type: ExtensionType, _ body: [UInt8]) {
        self.type = type.rawValue
        self.body = body
    }

    init(rawType: UInt16, body: [UInt8]) {
        self.type = rawType
        self.body = body
    }

    static func encodeList(_ list: [TLSExtension]) -> [UInt8] {
        var w = TLSWriter()
        for e in list {
            w.u16(e.type)
            w.vector16(e.body)
        }
        return w.bytes
    }

    /// Parses an extension list; a type appearing twice is illegal_parameter (RFC 8446 §4.2).
    static func decodeList(_ bytes: [UInt8]) throws -> [TLSExtension] {
        var r = TLSReader(bytes)
        var out: [TLSExtension] = []
        var seen = Set<UInt16>()
        while !r.isAtEnd {
            let type = try r.u16()
            let body = try r.vector16()
            guard seen.insert(type).inserted else { throw TLSAlert(.illegalParameter, "duplicate extension \(type)") }
            out.append(TLSExtension(rawType: type, body: body))
        }
        return out
    }
}

extension Array where Element == TLSExtension {
    func body(_ type: ExtensionType) -> [UInt8]? { first(where: { $0.type == type.rawValue })?.body }
    func has(_ type: ExtensionType) -> Bool { contains(where: { $0.type == type.rawValue }) }

    /// RFC 8446 §4.2: an extension we recognize in a message it is not specified for is
    /// illegal_parameter; one we do not recognize in a response cannot have been asked for,
    /// so it is unsupported_extension, unless the message says to ignore unknown ones
    /// (CertificateRequest §4.3.2, NewSessionTicket §4.6.1).
    func checkAllowed(_ allowed: [ExtensionType], in message: String, ignoreUnknown: Bool = false) throws {
        for e in self where !allowed.contains(where: { $0.rawValue == e.type }) {
            if ExtensionType(rawValue: e.type) != nil {
                throw TLSAlert(.illegalParameter, "extension \(e.type) is not allowed in \(message)")
            }
            if !ignoreUnknown {
                throw TLSAlert(.unsupportedExtension, "unsolicited extension \(e.type) in \(message)")
            }
        }
    }
}

/// Encoders and decoders of the extension bodies (RFC 8446 §4.2.x).
enum ExtensionCodec {
    // MARK: u16 lists (supported_groups, signature_algorithms, cipher lists)

    static func u16List(_ values: [UInt16]) -> [UInt8] {
        var w = TLSWriter()
        w.nested(2) { for v in values { $0.u16(v) } }
        return w.bytes
    }

    static func decodeU16List(_ body: [UInt8]) throws -> [UInt16] {
        var r = TLSReader(body)
        let list = try r.vector16()
        try r.expectEnd()
        guard list.count % 2 == 0 else { throw TLSAlert(.decodeError, "odd-length u16 list") }
        var lr = TLSReader(list)
        var out: [UInt16] = []
        while !lr.isAtEnd { out.append(try lr.u16()) }
        return out
    }

    // MARK: server_name (RFC 6066 §3)

    static func serverName(_ host: String) -> [UInt8] {
        var w = TLSWriter()
        w.nested(2) { list in
            list.u8(0) // host_name
            list.vector16(Array(host.utf8))
        }
        return w.bytes
    }

    static func decodeServerName(_ body: [UInt8]) throws -> String? {
        var r = TLSReader(body)
        var list = TLSReader(try r.vector16())
        try r.expectEnd()
        var host: String?
        while !list.isAtEnd {
            let type = try list.u8()
            let name = try list.vector16()
            if type == 0 {
                guard host == nil, !name.isEmpty else { throw TLSAlert(.illegalParameter, "bad server_name") }
                guard let s = String(validating: name, as: UTF8.self) else {
                    throw TLSAlert(.decodeError, "server_name not UTF-8")
                }
                host = s
            }
        }
        return host
    }

    // MARK: ALPN (RFC 7301 §3.1)

    static func alpn(_ protocols: [[UInt8]]) -> [UInt8] {
        var w = TLSWriter()
        w.nested(2) { list in for p in protocols { list.vector8(p) } }
        return w.bytes
    }

    static func decodeALPN(_ body: [UInt8]) throws -> [[UInt8]] {
        var r = TLSReader(body)
        var list = TLSReader(try r.vector16())
        try r.expectEnd()
        var out: [[UInt8]] = []
        while !list.isAtEnd {
            let p = try list.vector8()
            guard !p.isEmpty else { throw TLSAlert(.decodeError, "empty ALPN protocol name") }
            out.append(p)
        }
        guard !out.isEmpty else { throw TLSAlert(.decodeError, "empty ALPN list") }
        return out
    }

    // MARK: supported_versions (RFC 8446 §4.2.1)

    static func supportedVersionsClient() -> [UInt8] { [2, 0x03, 0x04] }
    static func supportedVersionsServer() -> [UInt8] { [0x03, 0x04] }

    static func decodeSupportedVersionsClient(_ body: [UInt8]) throws -> [UInt16] {
        var r = TLSReader(body)
        let list = try r.vector8()
        try r.expectEnd()
        guard list.count % 2 == 0, !list.isEmpty else { throw TLSAlert(.decodeError, "bad supported_versions") }
        var lr = TLSReader(list)
        var out: [UInt16] = []
        while !lr.isAtEnd { out.append(try lr.u16()) }
        return out
    }

    static func decodeSupportedVersionServer(_ body: [UInt8]) throws -> UInt16 {
        var r = TLSReader(body)
        let v = try r.u16()
        try r.expectEnd()
        return v
    }

    // MARK: key_share (RFC 8446 §4.2.8)

    static func keyShareClient(_ entries: [(group: UInt16, key: [UInt8])]) -> [UInt8] {
        var w = TLSWriter()
        w.nested(2) { list in
            for e in entries { list.u16(e.group); list.vector16(e.key) }
        }
        return w.bytes
    }

    static func decodeKeyShareClient(_ body: [UInt8]) throws -> [(group: UInt16, key: [UInt8])] {
        var r = TLSReader(body)
        var list = TLSReader(try r.vector16())
        try r.expectEnd()
        var out: [(group: UInt16, key: [UInt8])] = []
        while !list.isAtEnd {
            let g = try list.u16()
            let k = try list.vector16()
            guard !k.isEmpty else { throw TLSAlert(.decodeError, "empty key_exchange") }
            // RFC 8446 §4.2.8: at most one share per group.
            guard !out.contains(where: { $0.group == g }) else { throw TLSAlert(.illegalParameter, "duplicate key_share group") }
            out.append((g, k))
        }
        return out
    }

    static func keyShareServer(group: UInt16, key: [UInt8]) -> [UInt8] {
        var w = TLSWriter()
        w.u16(group)
        w.vector16(key)
        return w.bytes
    }

    static func decodeKeyShareServer(_ body: [UInt8]) throws -> (group: UInt16, key: [UInt8]) {
        var r = TLSReader(body)
        let g = try r.u16()
        let k = try r.vector16()
        try r.expectEnd()
        return (g, k)
    }

    /// The HelloRetryRequest form: only the selected group (RFC 8446 §4.2.8).
    static func keyShareHRR(group: UInt16) -> [UInt8] { [UInt8(group >> 8), UInt8(group & 0xff)] }

    static func decodeKeyShareHRR(_ body: [UInt8]) throws -> UInt16 {
        var r = TLSReader(body)
        let g = try r.u16()
        try r.expectEnd()
        return g
    }

    // MARK: psk_key_exchange_modes (RFC 8446 §4.2.9)

    static func pskModes() -> [UInt8] { [1, pskDHEKeyExchange] }

    static func decodePSKModes(_ body: [UInt8]) throws -> [UInt8] {
        var r = TLSReader(body)
        let modes = try r.vector8()
        try r.expectEnd()
        return modes
    }

    // MARK: pre_shared_key (RFC 8446 §4.2.11)

    struct PSKIdentity {
        var identity: [UInt8]
        var obfuscatedTicketAge: UInt32
    }

    static func offeredPSKs(identities: [PSKIdentity], binders: [[UInt8]]) -> [UInt8] {
        var w = TLSWriter()
        w.nested(2) { list in
            for id in identities { list.vector16(id.identity); list.u32(id.obfuscatedTicketAge) }
        }
        w.raw(bindersList(binders))
        return w.bytes
    }

    /// PskBinderEntry binders<33..2^16-1>: the tail of the ClientHello that binders do not cover.
    static func bindersList(_ binders: [[UInt8]]) -> [UInt8] {
        var w = TLSWriter()
        w.nested(2) { list in for b in binders { list.vector8(b) } }
        return w.bytes
    }

    static func decodeOfferedPSKs(_ body: [UInt8]) throws -> (identities: [PSKIdentity], binders: [[UInt8]]) {
        var r = TLSReader(body)
        var ids = TLSReader(try r.vector16())
        var bs = TLSReader(try r.vector16())
        try r.expectEnd()
        var identities: [PSKIdentity] = []
        while !ids.isAtEnd {
            let id = try ids.vector16()
            guard !id.isEmpty else { throw TLSAlert(.decodeError, "empty PSK identity") }
            identities.append(PSKIdentity(identity: id, obfuscatedTicketAge: try ids.u32()))
        }
        var binders: [[UInt8]] = []
        while !bs.isAtEnd {
            let b = try bs.vector8()
            guard b.count >= 32 else { throw TLSAlert(.decodeError, "PSK binder too short") }
            binders.append(b)
        }
        // RFC 8446 §4.2.11: as many binders as identities, at least one of each.
        guard !identities.isEmpty, identities.count == binders.count else {
            throw TLSAlert(.illegalParameter, "PSK identities and binders do not match")
        }
        return (identities, binders)
    }

    static func selectedPSK(_ index: UInt16) -> [UInt8] { [UInt8(index >> 8), UInt8(index & 0xff)] }

    static func decodeSelectedPSK(_ body: [UInt8]) throws -> UInt16 {
        var r = TLSReader(body)
        let v = try r.u16()
        try r.expectEnd()
        return v
    }

    // MARK: early_data (RFC 8446 §4.2.10)

    static func decodeMaxEarlyData(_ body: [UInt8]) throws -> UInt32 {
        var r = TLSReader(body)
        let v = try r.u32()
        try r.expectEnd()
        return v
    }

    static func maxEarlyData(_ v: UInt32) -> [UInt8] {
        var w = TLSWriter()
        w.u32(v)
        return w.bytes
    }

    // MARK: cookie (RFC 8446 §4.2.2)

    static func decodeCookie(_ body: [UInt8]) throws -> [UInt8] {
        var r = TLSReader(body)
        let c = try r.vector16()
        try r.expectEnd()
        guard !c.isEmpty else { throw TLSAlert(.decodeError, "empty cookie") }
        return c
    }
}
