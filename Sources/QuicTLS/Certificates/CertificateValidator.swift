import CCrypto

/// An `X509_STORE` of trust anchors (and CRLs), shared by every validation of one
/// configuration. OpenSSL 3 locks the store internally, so concurrent verifications are safe.
///
/// Sendable (unchecked): the store is filled in `init` and then only used for verification,
/// which OpenSSL 3 locks internally.
final class CertificateTrustStore: @unchecked Sendable {
    /// `X509_STORE *`, owned.
    let store: OpaquePointer

    init(trust: CertificateValidationPolicy.Trust?, crlFiles: [String]) throws {
        guard let store = X509_STORE_new() else {
            throw CredentialError.invalidData("X509_STORE_new failed")
        }
        self.store = store
        switch trust {
        case nil:
            break
        case .systemStore?:
            // OpenSSL's built-in CA locations (and SSL_CERT_FILE / SSL_CERT_DIR). A system
            // without CA certificates is not an error here: validation fails later instead.
            _ = X509_STORE_set_default_paths(store)
            ERR_clear_error()
        case .caFile(let path)?:
            guard X509_STORE_load_file(store, path) == 1 else {
                ERR_clear_error()
                // Tell a missing file from one without certificates.
                _ = try TLSCredential.readFile(path)
                throw CredentialError.invalidData("no certificate in CA file \(path)")
            }
        case .caCertificates(let ders)?:
            for der in ders {
                guard let cert = CertificateValidator.parseDER(der) else {
                    throw CredentialError.invalidData("trust anchor is not a DER certificate")
                }
                let ok = X509_STORE_add_cert(store, cert)
                X509_free(cert)
                guard ok == 1 else {
                    ERR_clear_error()
                    throw CredentialError.invalidData("cannot add trust anchor")
                }
            }
        }
        for path in crlFiles {
            let pem = try TLSCredential.readFile(path)
            var count = 0
            pem.withUnsafeBytes { raw in
                guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return }
                defer { BIO_free(bio) }
                while let crl = PEM_read_bio_X509_CRL(bio, nil, nil, nil) {
                    if X509_STORE_add_crl(store, crl) == 1 { count += 1 }
                    X509_CRL_free(crl)
                }
            }
            ERR_clear_error()
            guard count > 0 else { throw CredentialError.invalidData("no CRL in \(path)") }
        }
    }

    deinit { X509_STORE_free(store) }

    /// The system store, loaded once per process: validators built per handshake then cost
    /// no file parsing. (X509_STORE is reference-counted and locked by OpenSSL.)
    static let system: CertificateTrustStore? = try? CertificateTrustStore(trust: .systemStore, crlFiles: [])
}

/// Validates peer certificate chains under one policy (RFC 8446 §4.4.2.4, RFC 5280 §6,
/// RFC 6125 for names). Build one per configuration; `validate` is thread-safe.
///
/// Sendable (unchecked): immutable policy plus a `CertificateTrustStore` (see there); each
/// validation makes its own OpenSSL verification context.
public final class CertificateValidator: @unchecked Sendable {
    public let policy: CertificateValidationPolicy
    private let trustStore: CertificateTrustStore

    /// Loads the trust anchors. Throws `CredentialError` when the CA or CRL file is
    /// missing or holds nothing usable.
    public init(policy: CertificateValidationPolicy) throws {
        self.policy = policy
        // Skipped validation only needs a store for chain building; do not pay for
        // loading the system store then, but honour an explicit CA file.
        let trust: CertificateValidationPolicy.Trust?
        if policy.skipValidation, case .systemStore = policy.trust { trust = nil } else { trust = policy.trust }
        if trust == .systemStore, policy.crlFiles.isEmpty, let shared = CertificateTrustStore.system {
            self.trustStore = shared
        } else {
            self.trustStore = try CertificateTrustStore(trust: trust, crlFiles: policy.crlFiles)
        }
    }

    /// Parses and checks the certificate_list of a Certificate message (DER, leaf first).
    ///
    /// Throws a TLSAlert only when there is nothing to judge: an empty list (the server
    /// case is decode_error, the client case certificate_required, RFC 8446 §4.4.2.4; a
    /// caller whose peer may legitimately send no certificate must not call this) or a
    /// certificate that does not parse (bad_certificate, RFC 8446 §6.2). Otherwise returns
    /// the parsed chain with the verdict, also when it is negative, so that a caller can
    /// defer the decision to the application (QUIC_CREDENTIAL_FLAG_DEFER_CERTIFICATE_VALIDATION).
    public func validate(_ certificateList: [[UInt8]]) throws -> PeerCertificateValidation {
        try validate(certificateList, expectedName: policy.expectedName)
    }

    /// As `validate(_:)` with the name the leaf must carry given per connection (a client's
    /// server name), overriding `policy.expectedName`: one validator serves a whole
    /// configuration while each connection checks its own server name. nil checks no name.
    public func validate(_ certificateList: [[UInt8]], expectedName: String?) throws -> PeerCertificateValidation {
        guard !certificateList.isEmpty else {
            switch policy.purpose {
            case .serverAuth: throw TLSAlert(.decodeError, "server sent an empty certificate list")
            case .clientAuth: throw TLSAlert(.certificateRequired, "client sent no certificate")
            }
        }
        var certificates: [OpaquePointer] = []
        for der in certificateList {
            guard let cert = CertificateValidator.parseDER(der) else {
                certificates.forEach { X509_free($0) }
                throw TLSAlert(.badCertificate, "certificate does not parse")
            }
            certificates.append(cert)
        }
        guard let untrusted = ccrypto_sk_X509_new_null() else {
            certificates.forEach { X509_free($0) }
            throw TLSAlert(.internalError, "sk_X509_new_null failed")
        }
        for cert in certificates.dropFirst() where ccrypto_sk_X509_push(untrusted, cert) <= 0 {
            ccrypto_sk_X509_free(untrusted)
            certificates.forEach { X509_free($0) }
            throw TLSAlert(.internalError, "sk_X509_push failed")
        }
        guard let ctx = X509_STORE_CTX_new() else {
            ccrypto_sk_X509_free(untrusted)
            certificates.forEach { X509_free($0) }
            throw TLSAlert(.internalError, "X509_STORE_CTX_new failed")
        }
        // From here `chain` owns every pointer.
        let chain = PeerCertificateChain(certificates: certificates, storeContext: ctx,
                                         untrusted: untrusted, trustStore: trustStore)
        guard X509_STORE_CTX_init(ctx, trustStore.store, certificates[0], untrusted) == 1 else {
            ERR_clear_error()
            throw TLSAlert(.internalError, "X509_STORE_CTX_init failed")
        }
        try configure(ctx, expectedName: expectedName)

        let ok = X509_verify_cert(ctx)
        var error = ok == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx)
        let depth = ok == 1 ? 0 : X509_STORE_CTX_get_error_depth(ctx)
        ERR_clear_error()
        // RFC 8446 §4.4.2.2 (and §4.4.2.3 for clients): the leaf signs the CertificateVerify,
        // so a keyUsage extension must include digitalSignature. OpenSSL's SSL purpose check
        // also lets keyEncipherment or keyAgreement alone pass, which TLS 1.2 needed.
        if error == X509_V_OK, !CertificateValidator.allowsSigning(certificates[0]) {
            error = X509_V_ERR_KEYUSAGE_NO_DIGITAL_SIGNATURE
        }
        return PeerCertificateValidation(chain: chain, validationSkipped: policy.skipValidation,
                                         verifyError: error == X509_V_OK && ok != 1 ? X509_V_ERR_UNSPECIFIED : error,
                                         errorDepth: depth)
    }

    /// Applies the policy to a store context's verification parameters.
    private func configure(_ ctx: OpaquePointer, expectedName: String?) throws {
        // RFC 5280 §4.2.1.12: the leaf must allow the use it is put to (checked by OpenSSL
        // through the purpose, which also covers key usage and the CA's EKU if present).
        let purpose = policy.purpose == .serverAuth ? X509_PURPOSE_SSL_SERVER : X509_PURPOSE_SSL_CLIENT
        guard X509_STORE_CTX_set_purpose(ctx, purpose) == 1,
              let param = X509_STORE_CTX_get0_param(ctx) else {
            ERR_clear_error()
            throw TLSAlert(.internalError, "cannot set the verification purpose")
        }
        X509_VERIFY_PARAM_set_depth(param, Int32(clamping: policy.maxDepth))
        if let time = policy.verificationTime {
            X509_VERIFY_PARAM_set_time(param, time_t(time))
        }
        if let name = expectedName, !name.isEmpty {
            try setExpectedName(name, param)
        }
        var flags: UInt = 0
        var callbackFlags = 0
        switch policy.revocation {
        case .none: break
        case .endCertificate: flags |= UInt(X509_V_FLAG_CRL_CHECK)
        case .chain: flags |= UInt(X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL)
        case .chainExcludingRoot:
            flags |= UInt(X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL)
            callbackFlags |= CertificateValidator.ignoreRootCRLFlag
        }
        if policy.ignoreMissingRevocationInformation { callbackFlags |= CertificateValidator.ignoreMissingCRLFlag }
        if flags != 0 { X509_VERIFY_PARAM_set_flags(param, flags) }
        if callbackFlags != 0 {
            _ = X509_STORE_CTX_set_ex_data(ctx, 0, UnsafeMutableRawPointer(bitPattern: callbackFlags))
            X509_STORE_CTX_set_verify_cb(ctx, CertificateValidator.verifyCallback)
        }
    }

    /// Names: an IP literal is matched against iPAddress SANs, anything else as a DNS
    /// name against dNSName SANs (or the CN when there is no SAN), with wildcards only as
    /// a whole left-most label (RFC 6125 §6.4.3).
    private func setExpectedName(_ name: String, _ param: OpaquePointer) throws {
        var literal = Substring(name)
        if literal.hasPrefix("["), literal.hasSuffix("]") { literal = literal.dropFirst().dropLast() }
        if let zone = literal.firstIndex(of: "%") { literal = literal[..<zone] }
        if CertificateValidator.isIPLiteral(String(literal)) {
            guard X509_VERIFY_PARAM_set1_ip_asc(param, String(literal)) == 1 else {
                ERR_clear_error()
                throw TLSAlert(.internalError, "cannot set the expected IP address")
            }
            return
        }
        X509_VERIFY_PARAM_set_hostflags(param, UInt32(X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS))
        let ok = name.withCString { X509_VERIFY_PARAM_set1_host(param, $0, strlen($0)) }
        guard ok == 1 else {
            ERR_clear_error()
            throw TLSAlert(.internalError, "cannot set the expected host name")
        }
    }

    /// True unless the certificate has a keyUsage extension without digitalSignature.
    static func allowsSigning(_ cert: OpaquePointer) -> Bool {
        let hasKeyUsage = X509_get_extension_flags(cert) & UInt32(EXFLAG_KUSAGE) != 0
        return !hasKeyUsage || X509_get_key_usage(cert) & UInt32(KU_DIGITAL_SIGNATURE) != 0
    }

    static func isIPLiteral(_ s: String) -> Bool {
        guard let addr = a2i_IPADDRESS(s) else {
            ERR_clear_error()
            return false
        }
        ASN1_OCTET_STRING_free(addr)
        return true
    }

    static let ignoreMissingCRLFlag = 1
    static let ignoreRootCRLFlag = 2

    /// Lets a missing CRL pass when the policy allows it (everywhere, or for the trust
    /// anchor only with `.chainExcludingRoot`); every other error stops verification.
    private static let verifyCallback: @convention(c) (Int32, OpaquePointer?) -> Int32 = { ok, ctx in
        guard ok != 1, let ctx else { return ok }
        let flags = Int(bitPattern: X509_STORE_CTX_get_ex_data(ctx, 0))
        guard X509_STORE_CTX_get_error(ctx) == X509_V_ERR_UNABLE_TO_GET_CRL else { return 0 }
        if flags & ignoreMissingCRLFlag != 0 { return 1 }
        if flags & ignoreRootCRLFlag != 0, let chain = X509_STORE_CTX_get0_chain(ctx),
           X509_STORE_CTX_get_error_depth(ctx) == ccrypto_sk_X509_num(chain) - 1 {
            return 1
        }
        return 0
    }

    /// One DER certificate; nil unless the bytes are exactly one certificate.
    static func parseDER(_ der: [UInt8]) -> OpaquePointer? {
        der.withUnsafeBufferPointer { buf -> OpaquePointer? in
            guard let base = buf.baseAddress, buf.count > 0, buf.count <= Int(Int32.max) else { return nil }
            var p: UnsafePointer<UInt8>? = base
            guard let cert = d2i_X509(nil, &p, buf.count) else {
                ERR_clear_error()
                return nil
            }
            guard let end = p, end == base + buf.count else {
                X509_free(cert)
                return nil
            }
            return cert
        }
    }
}
