import CCrypto
import QuicTLS
import XCTest

final class CertificatesSignatureTests: XCTestCase {
    private let content = TLSSignature.certificateVerifyContent(
        fromServer: true, transcriptHash: [UInt8](repeating: 0xA5, count: 32))

    func testCertificateVerifyContentLayout() {
        // RFC 8446 §4.4.3: 64 × 0x20, context string, 0x00, transcript hash.
        let hash: [UInt8] = [1, 2, 3]
        let c = TLSSignature.certificateVerifyContent(fromServer: false, transcriptHash: hash)
        XCTAssertEqual(Array(c[0..<64]), [UInt8](repeating: 0x20, count: 64))
        let context = Array("TLS 1.3, client CertificateVerify".utf8)
        XCTAssertEqual(Array(c[64..<(64 + context.count)]), context)
        XCTAssertEqual(c[64 + context.count], 0)
        XCTAssertEqual(Array(c.suffix(3)), hash)
    }

    /// The schemes of a freshly generated key (kept alive while libcrypto looks at it).
    private func schemes(_ key: TestKey) -> [SignatureScheme] {
        withExtendedLifetime(key) { TLSSignature.schemes(for: key.pkey) }
    }

    func testSchemesPerKeyType() {
        XCTAssertEqual(schemes(.ec("P-256")), [.ecdsaSecp256r1Sha256])
        XCTAssertEqual(schemes(.ec("P-384")), [.ecdsaSecp384r1Sha384])
        XCTAssertEqual(schemes(.rsa()), [.rsaPssRsaeSha256, .rsaPssRsaeSha384, .rsaPssRsaeSha512])
        XCTAssertEqual(schemes(.ed25519()), [.ed25519])
        // 1024-bit RSA: emLen 128 < 2·64 + 2, so PSS with SHA-512 and a 64-byte salt is impossible.
        XCTAssertEqual(schemes(.rsa(bits: 1024)), [.rsaPssRsaeSha256, .rsaPssRsaeSha384])
        // P-521 has no scheme in our list.
        XCTAssertEqual(schemes(.ec("P-521")), [])
    }

    func testPKCS1NotAllowedInCertificateVerify() {
        for s in SignatureScheme.allCases {
            let pkcs1 = [SignatureScheme.rsaPkcs1Sha256, .rsaPkcs1Sha384, .rsaPkcs1Sha512].contains(s)
            XCTAssertEqual(s.isAllowedInCertificateVerify, !pkcs1, "\(s)")
        }
        XCTAssertFalse(SignatureScheme.certificateVerifySchemes.contains(.rsaPkcs1Sha256))
        XCTAssertTrue(SignatureScheme.advertised.contains(.rsaPkcs1Sha256))
    }

    /// Every scheme a key supports signs, verifies, and rejects a tampered message or signature.
    func testSignVerifyEveryScheme() throws {
        let keys = [TestKey.ec("P-256"), .ec("P-384"), .rsa(), .ed25519()]
        var covered = Set<SignatureScheme>()
        for key in keys {
            let cert = TestCertificate.make(cn: "signer", key: key)
            for scheme in TLSSignature.schemes(for: key.pkey) {
                covered.insert(scheme)
                let sig = try TLSSignature.sign(key: key.pkey, scheme: scheme, message: content)
                XCTAssertFalse(sig.isEmpty)
                XCTAssertNoThrow(try TLSSignature.verify(certificate: cert.x509, scheme: scheme,
                                                         message: content, signature: sig), "\(scheme)")
                var badMessage = content
                badMessage[badMessage.count - 1] ^= 1
                assertAlert(.decryptError, try TLSSignature.verify(certificate: cert.x509, scheme: scheme,
                                                                   message: badMessage, signature: sig))
                var badSig = sig
                badSig[badSig.count / 2] ^= 0x40
                assertAlert(.decryptError, try TLSSignature.verify(certificate: cert.x509, scheme: scheme,
                                                                   message: content, signature: badSig))
                assertAlert(.decryptError, try TLSSignature.verify(certificate: cert.x509, scheme: scheme,
                                                                   message: content, signature: []))
                assertAlert(.decryptError, try TLSSignature.verify(certificate: cert.x509, scheme: scheme,
                                                                   message: content, signature: Array(sig.prefix(10))))
            }
        }
        XCTAssertEqual(covered, Set(SignatureScheme.certificateVerifySchemes))
    }

    func testSchemeThatDoesNotFitTheKey() throws {
        let p256 = TestKey.ec("P-256")
        let cert = TestCertificate.make(cn: "p256", key: p256)
        let sig = try TLSSignature.sign(key: p256.pkey, scheme: .ecdsaSecp256r1Sha256, message: content)
        // The curve is part of the scheme in TLS 1.3 (RFC 8446 §4.2.3).
        assertAlert(.illegalParameter, try TLSSignature.verify(certificate: cert.x509, scheme: .ecdsaSecp384r1Sha384,
                                                               message: content, signature: sig))
        assertAlert(.illegalParameter, try TLSSignature.verify(certificate: cert.x509, scheme: .rsaPssRsaeSha256,
                                                               message: content, signature: sig))
        XCTAssertThrowsError(try TLSSignature.sign(key: p256.pkey, scheme: .ed25519, message: content))

        let rsa = TestKey.rsa()
        let rsaCert = TestCertificate.make(cn: "rsa", key: rsa)
        // PKCS#1 v1.5 is never acceptable in a CertificateVerify.
        assertAlert(.illegalParameter, try TLSSignature.verify(certificate: rsaCert.x509, scheme: .rsaPkcs1Sha256,
                                                               message: content, signature: sig))
        XCTAssertThrowsError(try TLSSignature.sign(key: rsa.pkey, scheme: .rsaPkcs1Sha256, message: content))
    }

    /// Our RSA-PSS signatures use a salt as long as the digest: check with libcrypto
    /// directly, both ways, with the salt length spelled out.
    func testRSAPSSSaltLengthIsDigestLength() throws {
        let key = TestKey.rsa()
        for (scheme, md, saltLength) in [(SignatureScheme.rsaPssRsaeSha256, EVP_sha256(), Int32(32)),
                                         (.rsaPssRsaeSha384, EVP_sha384(), 48), (.rsaPssRsaeSha512, EVP_sha512(), 64)] {
            let sig = try TLSSignature.sign(key: key.pkey, scheme: scheme, message: content)
            let ctx = EVP_MD_CTX_new()!
            defer { EVP_MD_CTX_free(ctx) }
            var pctx: OpaquePointer?
            XCTAssertEqual(EVP_DigestVerifyInit(ctx, &pctx, md, nil, key.pkey), 1)
            XCTAssertEqual(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 1)
            XCTAssertEqual(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, saltLength), 1)
            XCTAssertEqual(EVP_DigestVerify(ctx, sig, sig.count, content, content.count), 1, "\(scheme)")

            // And a signature made by libcrypto with that salt length verifies with ours.
            let sctx = EVP_MD_CTX_new()!
            defer { EVP_MD_CTX_free(sctx) }
            var spctx: OpaquePointer?
            XCTAssertEqual(EVP_DigestSignInit(sctx, &spctx, md, nil, key.pkey), 1)
            XCTAssertEqual(EVP_PKEY_CTX_set_rsa_padding(spctx, RSA_PKCS1_PSS_PADDING), 1)
            XCTAssertEqual(EVP_PKEY_CTX_set_rsa_pss_saltlen(spctx, saltLength), 1)
            var len = 0
            XCTAssertEqual(EVP_DigestSign(sctx, nil, &len, content, content.count), 1)
            var theirs = [UInt8](repeating: 0, count: len)
            XCTAssertEqual(EVP_DigestSign(sctx, &theirs, &len, content, content.count), 1)
            XCTAssertNoThrow(try TLSSignature.verify(publicKey: key.pkey, scheme: scheme,
                                                     message: content, signature: Array(theirs[0..<len])))
        }
    }

    func testEd25519IsDeterministicAndEmptyMessage() throws {
        let key = TestKey.ed25519()
        let a = try TLSSignature.sign(key: key.pkey, scheme: .ed25519, message: [])
        let b = try TLSSignature.sign(key: key.pkey, scheme: .ed25519, message: [])
        XCTAssertEqual(a.count, 64)
        XCTAssertEqual(a, b) // RFC 8032 §5.1.6: deterministic
        XCTAssertNoThrow(try TLSSignature.verify(publicKey: key.pkey, scheme: .ed25519, message: [], signature: a))
    }
}

func assertAlert<T>(_ expected: AlertDescription, _ body: @autoclosure () throws -> T,
                    file: StaticString = #filePath, line: UInt = #line) {
    do {
        _ = try body()
        XCTFail("expected alert \(expected), got success", file: file, line: line)
    } catch let alert as TLSAlert {
        XCTAssertEqual(alert.description, expected, alert.reason, file: file, line: line)
    } catch {
        XCTFail("expected alert \(expected), got \(error)", file: file, line: line)
    }
}
