import CCrypto

/// Why a credential could not be loaded; SwiftQuic maps each case to a QUIC_STATUS.
public enum CredentialError: Error, Equatable, Sendable {
    case fileNotFound(String)
    case badPassword
    case privateKeyMismatch
    case invalidData(String)
}

/// A certificate chain and its private key, loaded through libcrypto. This is what a
/// configuration's credential holds for the TLS handshake: the server (or a client doing
/// client authentication) sends `chain` and signs with `privateKey`.
///
/// Sendable (unchecked): immutable after loading; the EVP_PKEY and X509 objects are only read
/// (signing uses a fresh EVP_MD_CTX per handshake), which OpenSSL 3 allows from any thread.
public final class TLSCredential: @unchecked Sendable {
    /// `EVP_PKEY *`, owned by this object.
    public let privateKey: OpaquePointer
    /// `X509 *` certificates, leaf first, owned by this object.
    public let chain: [OpaquePointer]

    private init(privateKey: OpaquePointer, chain: [OpaquePointer]) {
        self.privateKey = privateKey
        self.chain = chain
    }

    deinit {
        EVP_PKEY_free(privateKey)
        for cert in chain { X509_free(cert) }
    }

    /// The leaf certificate.
    public var leaf: OpaquePointer { chain[0] }

    /// DER encodings of the chain, leaf first (the TLS Certificate message's entries).
    public var chainDER: [[UInt8]] { chain.map(TLSCredential.der(of:)) }

    /// DER encoding of one `X509 *`.
    public static func der(of cert: OpaquePointer) -> [UInt8] {
        let len = i2d_X509(cert, nil)
        guard len > 0 else { return [] }
        var out = [UInt8](repeating: 0, count: Int(len))
        out.withUnsafeMutableBufferPointer { buf in
            var p = buf.baseAddress
            _ = i2d_X509(cert, &p)
        }
        return out
    }

    /// Loads a PEM certificate file (leaf then any intermediates) and a PEM private key
    /// file, the key optionally encrypted with `password` (QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE
    /// and ..._FILE_PROTECTED).
    public static func loadPEM(certificateFile: String, privateKeyFile: String, password: String?) throws -> TLSCredential {
        let certPEM = try readFile(certificateFile)
        let keyPEM = try readFile(privateKeyFile)
        var chain: [OpaquePointer] = []
        withMemoryBIO(certPEM) { bio in
            while let cert = PEM_read_bio_X509(bio, nil, nil, nil) { chain.append(cert) }
        }
        ERR_clear_error()
        guard !chain.isEmpty else {
            throw CredentialError.invalidData("no PEM certificate in \(certificateFile)")
        }
        let key: OpaquePointer? = withMemoryBIO(keyPEM) { bio in
            if let password {
                return password.withCString { ccrypto_read_private_key(bio, $0) }
            }
            return ccrypto_read_private_key(bio, nil)
        }
        ERR_clear_error()
        guard let key else {
            chain.forEach { X509_free($0) }
            // An encrypted key that does not open is a password problem, anything else is bad data.
            if contains(keyPEM, "ENCRYPTED") { throw CredentialError.badPassword }
            throw CredentialError.invalidData("no PEM private key in \(privateKeyFile)")
        }
        return try make(key: key, chain: chain)
    }

    /// Loads a PKCS#12 blob (QUIC_CREDENTIAL_TYPE_CERTIFICATE_PKCS12), with or without a password.
    public static func loadPKCS12(_ blob: [UInt8], password: String?) throws -> TLSCredential {
        let p12: OpaquePointer? = blob.withUnsafeBufferPointer { buf in
            var p: UnsafePointer<UInt8>? = buf.baseAddress
            return d2i_PKCS12(nil, &p, buf.count)
        }
        guard let p12 else {
            ERR_clear_error()
            throw CredentialError.invalidData("not a PKCS#12 blob")
        }
        defer { PKCS12_free(p12) }
        var key: OpaquePointer?
        var cert: OpaquePointer?
        var extra: OpaquePointer?
        let ok: Int32
        if let password {
            ok = password.withCString { PKCS12_parse(p12, $0, &key, &cert, &extra) }
        } else {
            ok = PKCS12_parse(p12, nil, &key, &cert, &extra)
        }
        ERR_clear_error()
        guard ok == 1, let key, let cert else {
            if let key { EVP_PKEY_free(key) }
            if let cert { X509_free(cert) }
            if let extra { ccrypto_sk_X509_pop_free(extra) }
            // Only a MAC that does not verify means a wrong password; a blob that opens but
            // lacks a key or certificate is bad data (PKCS#12 v1.1, RFC 7292 §5.1).
            if PKCS12_mac_present(p12) == 1 && !macVerifies(p12, password: password) {
                throw CredentialError.badPassword
            }
            throw CredentialError.invalidData("PKCS#12 blob holds no key and certificate")
        }
        var chain = [cert]
        if let extra {
            for i in 0..<ccrypto_sk_X509_num(extra) {
                if let c = ccrypto_sk_X509_value(extra, i), X509_up_ref(c) == 1 { chain.append(c) }
            }
            ccrypto_sk_X509_pop_free(extra)
        }
        return try make(key: key, chain: chain)
    }

    /// Whether the PKCS#12 integrity MAC verifies with `password` (no password: the empty and
    /// the absent one, both of which PKCS12_parse accepts).
    private static func macVerifies(_ p12: OpaquePointer, password: String?) -> Bool {
        defer { ERR_clear_error() }
        if let password {
            return password.withCString { PKCS12_verify_mac(p12, $0, -1) == 1 }
        }
        return PKCS12_verify_mac(p12, nil, 0) == 1 || PKCS12_verify_mac(p12, "", 0) == 1
    }

    private static func make(key: OpaquePointer, chain: [OpaquePointer]) throws -> TLSCredential {
        guard X509_check_private_key(chain[0], key) == 1 else {
            ERR_clear_error()
            EVP_PKEY_free(key)
            chain.forEach { X509_free($0) }
            throw CredentialError.privateKeyMismatch
        }
        return TLSCredential(privateKey: key, chain: chain)
    }

    /// Reads a whole file through libcrypto's BIO (no Foundation in the library).
    static func readFile(_ path: String) throws -> [UInt8] {
        guard let bio = BIO_new_file(path, "rb") else {
            ERR_clear_error()
            throw CredentialError.fileNotFound(path)
        }
        defer { BIO_free(bio) }
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { BIO_read(bio, $0.baseAddress, Int32($0.count)) }
            if n <= 0 { break }
            data += chunk[0..<Int(n)]
        }
        return data
    }

    private static func withMemoryBIO<R>(_ bytes: [UInt8], _ body: (OpaquePointer) -> R) -> R {
        bytes.withUnsafeBytes { raw in
            let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count))!
            defer { BIO_free(bio) }
            return body(bio)
        }
    }

    private static func contains(_ haystack: [UInt8], _ needle: String) -> Bool {
        let n = Array(needle.utf8)
        guard haystack.count >= n.count else { return false }
        for i in 0...(haystack.count - n.count) where haystack[i] == n[0] {
            if Array(haystack[i..<(i + n.count)]) == n { return true }
        }
        return false
    }
}
