import CCrypto
import QuicCrypto

/// Certificate, CertificateVerify and their validation, shared by both roles
/// (RFC 8446 §4.4.2, §4.4.3).
extension TLSHandshake {
    /// Handles the peer's Certificate: records the chain, parses the leaf and validates the
    /// chain under the configuration's policy. An empty list is returned as `false`.
    func receivePeerCertificate(_ body: [UInt8], expectedContext: [UInt8]) throws -> Bool {
        let msg = try CertificateMessage.decode(body)
        // RFC 8446 §4.4.2: the context echoes the CertificateRequest's (empty otherwise).
        guard msg.context == expectedContext else { throw TLSAlert(.illegalParameter, "certificate_request_context mismatch") }
        guard let leafDER = msg.certificates.first else { return false }
        peerChainDER = msg.certificates
        let leaf: OpaquePointer? = leafDER.withUnsafeBufferPointer { buf in
            var p: UnsafePointer<UInt8>? = buf.baseAddress
            return d2i_X509(nil, &p, buf.count)
        }
        guard let leaf else {
            ERR_clear_error()
            throw TLSAlert(.badCertificate, "leaf certificate does not parse")
        }
        if let old = peerLeaf { X509_free(old) }
        peerLeaf = leaf
        return true
    }

    /// Validates the received chain with the configured validator (or one built from the
    /// configuration's trust settings) under the role's purpose and expected name.
    func validatePeerChain() throws -> PeerCertificateValidation {
        let validator: CertificateValidator
        if let v = configuration.certificateValidator {
            validator = v
        } else {
            let trust: CertificateValidationPolicy.Trust = configuration.trustedCAFile.map { .caFile($0) } ?? .systemStore
            let policy = CertificateValidationPolicy(
                trust: trust, purpose: role == .client ? .serverAuth : .clientAuth,
                skipValidation: configuration.skipCertificateValidation,
                expectedName: role == .client ? configuration.serverName : nil)
            do {
                validator = try CertificateValidator(policy: policy)
            } catch {
                throw TLSAlert(.internalError, "cannot load trust anchors: \(error)")
            }
        }
        // A client checks the server's certificate against the server name of THIS
        // connection (RFC 9001 §4.4, RFC 6125), also with a validator shared by a whole
        // configuration whose policy cannot know it.
        if role == .client, let name = configuration.serverName {
            return try validator.validate(peerChainDER, expectedName: name)
        }
        return try validator.validate(peerChainDER)
    }

    /// Handles the peer's CertificateVerify over the transcript up to its Certificate.
    func receivePeerCertificateVerify(_ message: [UInt8], body: [UInt8], offered: [SignatureScheme], suite: CipherSuite) throws {
        let cv = try CertificateVerify.decode(body)
        // RFC 8446 §4.4.3: the scheme must be one we offered.
        guard let scheme = SignatureScheme(rawValue: cv.scheme), offered.contains(scheme), scheme.isAllowedInCertificateVerify else {
            throw TLSAlert(.illegalParameter, "CertificateVerify with a scheme we did not offer")
        }
        guard let leaf = peerLeaf else { throw TLSAlert(.unexpectedMessage, "CertificateVerify without Certificate") }
        let content = TLSSignature.certificateVerifyContent(fromServer: role == .client, transcriptHash: transcript.hash(suite.hash))
        do {
            try TLSSignature.verify(certificate: leaf, scheme: scheme, message: content, signature: cv.signature)
        } catch let alert as TLSAlert where alert.description == .illegalParameter {
            throw alert
        } catch {
            throw TLSAlert(.decryptError, "CertificateVerify signature does not verify")
        }
        transcript.append(message)
    }

    /// After the peer's certificate (and CertificateVerify) checked out: fail, report or
    /// pause as configured. Returns with `awaitingCertificateDecision` set when pausing.
    func concludePeerCertificate() throws {
        // Validation switched off (MsQuic's NO_CERTIFICATE_VALIDATION) and no application to
        // show the chain to: there is nothing to judge, so no chain is built or verified. The
        // leaf was parsed once for CertificateVerify; that is all the handshake needs.
        let skip = configuration.certificateValidator?.policy.skipValidation ?? configuration.skipCertificateValidation
        if skip && !configuration.indicatePeerCertificate { return }
        let result = try validatePeerChain()
        peerValidation = result
        // Deferring only hands the verdict to the application; without the indication that
        // reports it nobody would see it, so a failure is then fatal as usual
        // (MsQuic pairs DEFER_CERTIFICATE_VALIDATION with INDICATE_CERTIFICATE_RECEIVED).
        if let failure = result.failure,
           !(configuration.deferCertificateValidation && configuration.indicatePeerCertificate) {
            throw failure
        }
        if configuration.indicatePeerCertificate {
            emit(.peerCertificateReceived(PeerCertificateInfo(chainDER: peerChainDER, validation: result)))
            awaitingCertificateDecision = true
        }
    }

    /// Sends our Certificate and CertificateVerify with `credential`, choosing a scheme the
    /// peer listed in signature_algorithms (RFC 8446 §4.4.2.2, §4.4.3).
    func sendCertificate(_ credential: TLSCredential, context: [UInt8], peerSchemes: [SignatureScheme],
                         suite: CipherSuite) throws {
        let ours = TLSSignature.schemes(for: credential.privateKey).filter { $0.isAllowedInCertificateVerify }
        guard let scheme = ours.first(where: { peerSchemes.contains($0) }) else {
            throw TLSAlert(.handshakeFailure, "no signature scheme in common with the peer")
        }
        send(.handshake, CertificateMessage(context: context, certificates: credential.chainDER).encode())
        let content = TLSSignature.certificateVerifyContent(fromServer: role == .server, transcriptHash: transcript.hash(suite.hash))
        let signature = try TLSSignature.sign(key: credential.privateKey, scheme: scheme, message: content)
        send(.handshake, CertificateVerify(scheme: scheme.rawValue, signature: signature).encode())
    }

    /// The signature_algorithms extension body for our accepted schemes.
    func signatureAlgorithmsExtension() -> TLSExtension {
        TLSExtension(.signatureAlgorithms, ExtensionCodec.u16List(configuration.signatureSchemes.map(\.rawValue)))
    }

    static func decodeSchemes(_ body: [UInt8]) throws -> [SignatureScheme] {
        try ExtensionCodec.decodeU16List(body).compactMap(SignatureScheme.init(rawValue:))
    }
}

