import Foundation
import CCrypto
import QuicTLS
import XCTest

final class CertificatesValidatorTests: XCTestCase {
    private var pki: TestPKI!

    override func setUpWithError() throws { pki = try TestPKI() }
    override func tearDown() { pki = nil }

    private func validator(_ trust: CertificateValidationPolicy.Trust? = nil,
                           purpose: CertificateValidationPolicy.Purpose = .serverAuth,
                           name: String? = "localhost",
                           configure: (inout CertificateValidationPolicy) -> Void = { _ in }) throws -> CertificateValidator {
        var policy = CertificateValidationPolicy(trust: try trust ?? .caFile(pki.rootFile()), purpose: purpose,
                                                 expectedName: name)
        configure(&policy)
        return try CertificateValidator(policy: policy)
    }

    private func assertFails(_ result: PeerCertificateValidation, _ error: Int32, _ alert: AlertDescription,
                             _ status: CertificateValidationStatus, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(result.isAccepted, file: file, line: line)
        XCTAssertEqual(result.verifyError, error, result.errorDescription, file: file, line: line)
        XCTAssertEqual(result.alert, alert, file: file, line: line)
        XCTAssertEqual(result.status, status, file: file, line: line)
        XCTAssertEqual(result.failure?.description, alert, file: file, line: line)
    }

    func testGoodChainWithCAFile() throws {
        let leaf = pki.serverLeaf()
        let result = try validator().validate([leaf.der, pki.intermediate.der])
        XCTAssertTrue(result.isAccepted, result.errorDescription)
        XCTAssertEqual(result.verifyError, X509_V_OK)
        XCTAssertEqual(result.status, .valid)
        XCTAssertNil(result.alert)
        XCTAssertNil(result.failure)
        XCTAssertFalse(result.validationSkipped)
        // The built chain ends at the trust anchor.
        let chain = result.chain.verifiedChain
        XCTAssertEqual(chain.count, 3)
        XCTAssertEqual(X509_cmp(chain[0], leaf.x509), 0)
        XCTAssertEqual(X509_cmp(chain[1], pki.intermediate.x509), 0)
        XCTAssertEqual(X509_cmp(chain[2], pki.root.x509), 0)
        XCTAssertEqual(result.chain.certificates.count, 2)
        XCTAssertEqual(X509_cmp(result.chain.leaf, leaf.x509), 0)
        XCTAssertEqual(X509_STORE_CTX_get0_cert(result.chain.storeContext).map { X509_cmp($0, leaf.x509) }, 0)
    }

    func testPortableCertificateEncodings() throws {
        let leaf = pki.serverLeaf()
        let result = try validator().validate([leaf.der, pki.intermediate.der])
        XCTAssertEqual(result.chain.leafDER(), leaf.der)
        let p7der = try XCTUnwrap(result.chain.pkcs7ChainDER())
        // Parse it back: a signed-data with the three certificates of the verified chain.
        let p7 = try XCTUnwrap(p7der.withUnsafeBufferPointer { b in
            var p: UnsafePointer<UInt8>? = b.baseAddress
            return d2i_PKCS7(nil, &p, b.count)
        })
        defer { PKCS7_free(p7) }
        XCTAssertEqual(OBJ_obj2nid(p7.pointee.type), NID_pkcs7_signed)
        let signed = try XCTUnwrap(p7.pointee.d.sign)
        XCTAssertEqual(ccrypto_sk_X509_num(signed.pointee.cert), 3)
        XCTAssertEqual(X509_cmp(ccrypto_sk_X509_value(signed.pointee.cert, 0), leaf.x509), 0)
    }

    /// The portable chain is what `openssl pkcs7 -inform DER -print_certs` reads.
    func testPortableChainReadableByOpenSSLCommand() throws {
        let exe = try OpenSSLProcess.requireInstalled()
        let leaf = pki.serverLeaf()
        let result = try validator().validate([leaf.der, pki.intermediate.der])
        let path = pki.directory.appendingPathComponent("chain.p7b")
        try Data(try XCTUnwrap(result.chain.pkcs7ChainDER())).write(to: path)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: exe)
        process.arguments = ["pkcs7", "-inform", "DER", "-in", path.path, "-print_certs", "-noout"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        process.waitUntilExit()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(process.terminationStatus, 0, output)
        XCTAssertTrue(output.contains("subject=CN = localhost"), output)
        XCTAssertTrue(output.contains("subject=CN = swiftquic test intermediate"), output)
        XCTAssertTrue(output.contains("subject=CN = swiftquic test root"), output)
    }

    /// Chains signed with RSA PKCS#1 v1.5 (allowed in certificates, RFC 8446 §4.2.3) and
    /// with Ed25519 validate too.
    func testRSAAndEd25519SignedChains() throws {
        for rootKey in [TestKey.rsa(), TestKey.ed25519()] {
            let root = TestCertificate.make(cn: "alt root", key: rootKey, isCA: true)
            let leaf = pki.serverLeaf(key: .rsa(), issuer: root)
            let path = try pki.write("alt-root.pem", root.pem)
            let result = try validator(.caFile(path)).validate([leaf.der])
            XCTAssertTrue(result.isAccepted, result.errorDescription)
            XCTAssertEqual(result.chain.verifiedChain.count, 2)
        }
    }

    func testUnknownCA() throws {
        let otherRoot = TestCertificate.make(cn: "other root", key: .ec("P-256"), isCA: true)
        let path = try pki.write("other.pem", otherRoot.pem)
        let result = try validator(.caFile(path)).validate([pki.serverLeaf().der, pki.intermediate.der])
        assertFails(result, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, .unknownCA, .untrustedRoot)
        // The chain is still there for a deferred decision.
        XCTAssertEqual(result.chain.leafDER().isEmpty, false)
    }

    func testMissingIntermediate() throws {
        let result = try validator().validate([pki.serverLeaf().der])
        assertFails(result, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, .unknownCA, .untrustedRoot)
    }

    func testSelfSignedLeafIsUntrustedRoot() throws {
        let selfSigned = TestCertificate.make(cn: "localhost", key: .ec("P-256"), san: "DNS:localhost", eku: "serverAuth")
        let result = try validator().validate([selfSigned.der])
        assertFails(result, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, .unknownCA, .untrustedRoot)
    }

    func testSystemStoreDoesNotTrustTestRoot() throws {
        let result = try validator(.systemStore).validate([pki.serverLeaf().der, pki.intermediate.der])
        assertFails(result, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, .unknownCA, .untrustedRoot)
    }

    func testInMemoryTrustAnchors() throws {
        let result = try validator(.caCertificates([pki.root.der])).validate([pki.serverLeaf().der, pki.intermediate.der])
        XCTAssertTrue(result.isAccepted, result.errorDescription)
    }

    func testNameMismatch() throws {
        let result = try validator(name: "example.com").validate([pki.serverLeaf().der, pki.intermediate.der])
        assertFails(result, X509_V_ERR_HOSTNAME_MISMATCH, .badCertificate, .tlsError)
    }

    func testWildcardMatchesOneLabelOnly() throws {
        let leaf = pki.serverLeaf(san: "DNS:*.example.com")
        XCTAssertTrue(try validator(name: "www.example.com").validate([leaf.der, pki.intermediate.der]).isAccepted)
        XCTAssertFalse(try validator(name: "a.b.example.com").validate([leaf.der, pki.intermediate.der]).isAccepted)
        XCTAssertFalse(try validator(name: "example.com").validate([leaf.der, pki.intermediate.der]).isAccepted)
    }

    func testIPAddressSAN() throws {
        let chain = [pki.serverLeaf().der, pki.intermediate.der]
        XCTAssertTrue(try validator(name: "127.0.0.1").validate(chain).isAccepted)
        XCTAssertTrue(try validator(name: "::1").validate(chain).isAccepted)
        XCTAssertTrue(try validator(name: "[::1]").validate(chain).isAccepted)
        assertFails(try validator(name: "127.0.0.2").validate(chain), X509_V_ERR_IP_ADDRESS_MISMATCH, .badCertificate, .tlsError)
        // An IP literal is not matched against DNS names: a DNS-only certificate fails.
        let dnsOnly = pki.serverLeaf(san: "DNS:127.0.0.1")
        assertFails(try validator(name: "127.0.0.1").validate([dnsOnly.der, pki.intermediate.der]),
                    X509_V_ERR_IP_ADDRESS_MISMATCH, .badCertificate, .tlsError)
    }

    func testNoExpectedNameChecksNoName() throws {
        XCTAssertTrue(try validator(name: nil).validate([pki.serverLeaf(san: "DNS:elsewhere").der, pki.intermediate.der]).isAccepted)
    }

    func testExpiredCertificate() throws {
        let leaf = pki.serverLeaf(validity: (-2 * 365 * 86400, -365 * 86400))
        assertFails(try validator().validate([leaf.der, pki.intermediate.der]),
                    X509_V_ERR_CERT_HAS_EXPIRED, .certificateExpired, .expired)
    }

    func testNotYetValidCertificate() throws {
        let leaf = pki.serverLeaf(validity: (86400, 2 * 86400))
        assertFails(try validator().validate([leaf.der, pki.intermediate.der]),
                    X509_V_ERR_CERT_NOT_YET_VALID, .certificateExpired, .expired)
    }

    func testVerificationTime() throws {
        let chain = [pki.serverLeaf().der, pki.intermediate.der]
        let future = Int(time(nil)) + 2 * 365 * 86400
        assertFails(try validator(configure: { $0.verificationTime = future }).validate(chain),
                    X509_V_ERR_CERT_HAS_EXPIRED, .certificateExpired, .expired)
    }

    func testWrongExtendedKeyUsage() throws {
        // A client-only certificate presented by a server.
        let clientOnly = pki.serverLeaf(eku: "clientAuth")
        let chain = [clientOnly.der, pki.intermediate.der]
        assertFails(try validator().validate(chain), X509_V_ERR_INVALID_PURPOSE, .unsupportedCertificate, .tlsError)
        // The same certificate is fine as a client certificate checked by a server.
        XCTAssertTrue(try validator(purpose: .clientAuth, name: nil).validate(chain).isAccepted)
        // And a server-only certificate is not a client certificate.
        let serverOnly = pki.serverLeaf(eku: "serverAuth")
        assertFails(try validator(purpose: .clientAuth, name: nil).validate([serverOnly.der, pki.intermediate.der]),
                    X509_V_ERR_INVALID_PURPOSE, .unsupportedCertificate, .tlsError)
    }

    func testSkipValidationStillParsesTheLeaf() throws {
        let key = TestKey.ed25519()
        let selfSigned = TestCertificate.make(cn: "anything", key: key)
        let v = try CertificateValidator(policy: CertificateValidationPolicy(purpose: .serverAuth, skipValidation: true,
                                                                             expectedName: "localhost"))
        let result = try v.validate([selfSigned.der])
        XCTAssertTrue(result.validationSkipped)
        XCTAssertTrue(result.isAccepted)
        XCTAssertEqual(result.status, .valid)
        XCTAssertNil(result.alert)
        // What OpenSSL found is still reported.
        XCTAssertNotEqual(result.verifyError, X509_V_OK)
        // The CertificateVerify can be checked against the parsed leaf.
        let content = TLSSignature.certificateVerifyContent(fromServer: true, transcriptHash: [UInt8](repeating: 7, count: 32))
        let sig = try TLSSignature.sign(key: key.pkey, scheme: .ed25519, message: content)
        XCTAssertNoThrow(try TLSSignature.verify(certificate: result.chain.leaf, scheme: .ed25519, message: content, signature: sig))
        XCTAssertNotNil(result.chain.pkcs7ChainDER())
    }

    func testRevocation() throws {
        // root → leaf directly so that the root's CRL covers the leaf.
        let leaf = pki.serverLeaf(issuer: pki.root)
        let other = pki.serverLeaf(issuer: pki.root)
        let crl = try pki.write("root.crl", pki.root.crlPEM(revoking: [leaf.serial]))
        let revoked = try validator(configure: { $0.revocation = .endCertificate; $0.crlFiles = [crl] }).validate([leaf.der])
        assertFails(revoked, X509_V_ERR_CERT_REVOKED, .certificateRevoked, .revoked)
        XCTAssertTrue(try validator(configure: { $0.revocation = .endCertificate; $0.crlFiles = [crl] })
            .validate([other.der]).isAccepted)
        // Without a CRL the status is unknown ...
        assertFails(try validator(configure: { $0.revocation = .endCertificate }).validate([other.der]),
                    X509_V_ERR_UNABLE_TO_GET_CRL, .certificateUnknown, .tlsError)
        // ... unless missing revocation information is tolerated.
        XCTAssertTrue(try validator(configure: { $0.revocation = .chain; $0.ignoreMissingRevocationInformation = true })
            .validate([other.der]).isAccepted)
        // A revoked certificate stays revoked when missing information is tolerated.
        assertFails(try validator(configure: {
            $0.revocation = .chain; $0.crlFiles = [crl]; $0.ignoreMissingRevocationInformation = true
        }).validate([leaf.der]), X509_V_ERR_CERT_REVOKED, .certificateRevoked, .revoked)
        // Whole chain, trust anchor excluded: the root needs no CRL of its own.
        XCTAssertTrue(try validator(configure: { $0.revocation = .chainExcludingRoot; $0.crlFiles = [crl] })
            .validate([other.der]).isAccepted)
    }

    func testMalformedInput() throws {
        let v = try validator()
        assertAlert(.decodeError, try v.validate([]))
        assertAlert(.certificateRequired, try validator(purpose: .clientAuth, name: nil).validate([]))
        assertAlert(.badCertificate, try v.validate([[0x30, 0x03, 0x01, 0x02]]))
        assertAlert(.badCertificate, try v.validate([[]]))
        let leaf = pki.serverLeaf()
        assertAlert(.badCertificate, try v.validate([leaf.der + [0]]))
        assertAlert(.badCertificate, try v.validate([Array(leaf.der.dropLast())]))
        assertAlert(.badCertificate, try v.validate([leaf.der, [1, 2, 3]]))
    }

    func testBadTrustConfiguration() throws {
        XCTAssertThrowsError(try validator(.caFile(pki.directory.appendingPathComponent("missing.pem").path))) {
            guard case CredentialError.fileNotFound = $0 else { return XCTFail("\($0)") }
        }
        let junk = try pki.write("junk.pem", "not a certificate\n")
        XCTAssertThrowsError(try validator(.caFile(junk))) {
            guard case CredentialError.invalidData = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try validator(.caCertificates([[1, 2, 3]])))
    }

    func testAlertAndStatusMapping() {
        XCTAssertNil(certificateAlert(forVerifyError: X509_V_OK))
        XCTAssertEqual(certificateAlert(forVerifyError: X509_V_ERR_CERT_SIGNATURE_FAILURE), .badCertificate)
        XCTAssertEqual(certificateAlert(forVerifyError: X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN), .unknownCA)
        XCTAssertEqual(CertificateValidationStatus(verifyError: X509_V_ERR_CERT_REJECTED), .badCertificate)
        XCTAssertEqual(CertificateValidationStatus(verifyError: X509_V_ERR_CERT_UNTRUSTED), .untrustedRoot)
        XCTAssertEqual(CertificateValidationStatus(verifyError: X509_V_ERR_CERT_SIGNATURE_FAILURE), .tlsError)
    }
}
