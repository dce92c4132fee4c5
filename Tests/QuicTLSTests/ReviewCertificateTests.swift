import XCTest
import QuicCrypto
import CCrypto
@testable import QuicTLS

/// Review regressions on peer certificate checks: the server name of the connection is
/// checked also with a validator shared by a configuration; deferral needs an indication.
final class ReviewCertificateTests: XCTestCase {
    var pki: HandshakePKI { HandshakePKI.shared }

    func sharedValidator(expectedName: String? = nil) throws -> CertificateValidator {
        try CertificateValidator(policy: CertificateValidationPolicy(
            trust: .caFile(pki.path("ca.pem")), purpose: .serverAuth, expectedName: expectedName))
    }

    func client(_ name: String, validator: CertificateValidator) -> TLSConfiguration {
        var c = TestConfigs.client(serverName: name)
        c.skipCertificateValidation = false
        c.certificateValidator = validator
        return c
    }

    func testSharedValidatorChecksEachConnectionsServerName() throws {
        let server = TestConfigs.server(try pki.credential("server-p256")) // SAN DNS:localhost
        // One validator for the whole configuration, built without a name (as a
        // configuration cannot know its connections' server names).
        let validator = try sharedValidator()
        var pair = HandshakePair(client: client("localhost", validator: validator), server: server)
        pair.run()
        pair.assertCompleted()
        XCTAssertEqual(pair.client.peerValidation?.verifyError, 0)

        pair = HandshakePair(client: client("evil.example", validator: validator), server: server)
        pair.run()
        XCTAssertEqual(pair.clientError?.description, .badCertificate)
        XCTAssertNil(pair.clientSummary)

        // A name in the shared policy does not override the connection's own.
        let named = try sharedValidator(expectedName: "localhost")
        pair = HandshakePair(client: client("evil.example", validator: named), server: server)
        pair.run()
        XCTAssertEqual(pair.clientError?.description, .badCertificate)
    }

    func testValidatorNameOverride() throws {
        let cred = try pki.credential("server-p256")
        let validator = try sharedValidator(expectedName: "localhost")
        XCTAssertTrue(try validator.validate(cred.chainDER).isAccepted)
        XCTAssertTrue(try validator.validate(cred.chainDER, expectedName: "localhost").isAccepted)
        XCTAssertFalse(try validator.validate(cred.chainDER, expectedName: "other.example").isAccepted)
        XCTAssertEqual(try validator.validate(cred.chainDER, expectedName: "other.example").alert, .badCertificate)
        // nil checks no name.
        XCTAssertTrue(try validator.validate(cred.chainDER, expectedName: nil).isAccepted)
    }

    func testDeferWithoutIndicationStaysFatal() throws {
        // Deferring the verdict to an application that is never told would accept any chain.
        var c = TestConfigs.client()
        c.skipCertificateValidation = false
        c.trustedCAFile = pki.path("ca.pem")
        c.deferCertificateValidation = true
        c.indicatePeerCertificate = false
        let pair = HandshakePair(client: c, server: TestConfigs.server(try pki.credential("foreign", ca: "other-ca")))
        pair.run()
        XCTAssertEqual(pair.clientError?.description, .unknownCA)
        XCTAssertNil(pair.clientSummary)
        XCTAssertTrue(pair.clientCertificateEvents.isEmpty)
    }
}

extension ReviewCertificateTests {
    /// A P-256 leaf for "localhost" signed by the handshake CA with the given keyUsage.
    func leaf(_ name: String, keyUsage: String) throws -> TLSCredential {
        pki.openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "\(name).key"])
        pki.openssl(["req", "-new", "-key", "\(name).key", "-subj", "/CN=localhost", "-out", "\(name).csr"])
        let ext = "subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,\(keyUsage)\nbasicConstraints=CA:FALSE\n"
        try ext.write(toFile: pki.path("\(name).ext"), atomically: true, encoding: .utf8)
        XCTAssertEqual(pki.openssl(["x509", "-req", "-in", "\(name).csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                                    "-extfile", "\(name).ext", "-days", "30", "-out", "\(name).pem"]), 0)
        return try TLSCredential.loadPEM(certificateFile: pki.path("\(name).pem"), privateKeyFile: pki.path("\(name).key"), password: nil)
    }

    func testLeafKeyUsageMustAllowSigning() throws {
        var c = TestConfigs.client()
        c.skipCertificateValidation = false
        c.trustedCAFile = pki.path("ca.pem")
        // RFC 8446 §4.4.2.2: keyAgreement alone does not let the key sign a CertificateVerify.
        var pair = HandshakePair(client: c, server: TestConfigs.server(try leaf("ku-agreement", keyUsage: "keyAgreement")))
        pair.run()
        XCTAssertEqual(pair.clientError?.description, .unsupportedCertificate)
        XCTAssertEqual(pair.client.peerValidation?.verifyError, X509_V_ERR_KEYUSAGE_NO_DIGITAL_SIGNATURE)
        // digitalSignature is enough.
        pair = HandshakePair(client: c, server: TestConfigs.server(try leaf("ku-signature", keyUsage: "digitalSignature")))
        pair.run()
        pair.assertCompleted()
        // Skipping validation skips this check too (like every other certificate check).
        c.skipCertificateValidation = true
        pair = HandshakePair(client: c, server: TestConfigs.server(try leaf("ku-agreement", keyUsage: "keyAgreement")))
        pair.run()
        pair.assertCompleted()
    }
}
