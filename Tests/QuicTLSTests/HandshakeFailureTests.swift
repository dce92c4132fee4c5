import XCTest
import QuicCrypto
@testable import QuicTLS

/// Failure paths: each ends with the alert RFC 8446 / RFC 9001 call for.
final class HandshakeFailureTests: XCTestCase {
    var pki: HandshakePKI { HandshakePKI.shared }

    func validatingClient(_ name: String = "localhost") -> TLSConfiguration {
        var c = TestConfigs.client(serverName: name)
        c.skipCertificateValidation = false
        c.trustedCAFile = pki.path("ca.pem")
        return c
    }

    func run(_ c: TLSConfiguration, _ s: TLSConfiguration) -> HandshakePair {
        let pair = HandshakePair(client: c, server: s)
        pair.run()
        return pair
    }

    // MARK: Certificates

    func testValidChainAgainstCAFile() throws {
        let pair = run(validatingClient(), TestConfigs.server(try pki.credential("server-p256")))
        pair.assertCompleted()
        XCTAssertEqual(pair.client.peerValidation?.verifyError, 0)
    }

    func testUnknownCA() throws {
        let cred = try pki.credential("foreign", ca: "other-ca")
        let pair = run(validatingClient(), TestConfigs.server(cred))
        XCTAssertEqual(pair.clientError?.description, .unknownCA)
        XCTAssertEqual(pair.clientError?.description.cryptoErrorCode, 0x130)
        XCTAssertNil(pair.clientSummary)
    }

    func testNameMismatch() throws {
        let pair = run(validatingClient("example.com"), TestConfigs.server(try pki.credential("server-p256")))
        XCTAssertEqual(pair.clientError?.description, .badCertificate)
    }

    func testExpiredCertificate() throws {
        let pair = run(validatingClient(), TestConfigs.server(try pki.credential("expired", expired: true)))
        XCTAssertEqual(pair.clientError?.description, .certificateExpired)
    }

    func testWrongExtendedKeyUsage() throws {
        let cred = try pki.credential("client-only-eku", extendedKeyUsage: "clientAuth")
        let pair = run(validatingClient(), TestConfigs.server(cred))
        XCTAssertEqual(pair.clientError?.description, .unsupportedCertificate)
    }

    func testServerValidatesClientCertificate() throws {
        var s = TestConfigs.server(try pki.credential("server-p256"))
        s.skipCertificateValidation = false
        s.trustedCAFile = pki.path("ca.pem")
        s.requestClientCertificate = true
        var c = TestConfigs.client()
        c.credential = try pki.credential("client-p256", dns: "client")
        run(c, s).assertCompleted()
        c.credential = try pki.credential("foreign-client", dns: "client", ca: "other-ca")
        XCTAssertEqual(run(c, s).serverError?.description, .unknownCA)
    }

    func testDeferredValidationAppDecides() throws {
        let cred = try pki.credential("foreign", ca: "other-ca")
        var c = validatingClient()
        c.deferCertificateValidation = true
        c.indicatePeerCertificate = true
        // Accept despite the error.
        var pair = run(c, TestConfigs.server(cred))
        pair.assertCompleted()
        XCTAssertEqual(pair.clientCertificateEvents.count, 1)
        XCTAssertEqual(pair.clientCertificateEvents.first?.validationError, .unknownCA)
        XCTAssertNotEqual(pair.clientCertificateEvents.first?.verifyErrorCode, 0)
        XCTAssertEqual(pair.clientCertificateEvents.first?.chainDER, cred.chainDER)
        XCTAssertNotNil(pair.clientCertificateEvents.first?.validation?.chain.leaf)
        // Reject: bad_certificate.
        pair = HandshakePair(client: c, server: TestConfigs.server(cred))
        pair.clientCertificateDecision = false
        pair.run()
        XCTAssertEqual(pair.clientError?.description, .badCertificate)
    }

    func testAsynchronousCertificateDecision() throws {
        var c = validatingClient()
        c.indicatePeerCertificate = true
        let pair = HandshakePair(client: c, server: TestConfigs.server(try pki.credential("server-p256")))
        pair.clientCertificateDecision = nil // leave it pending
        pair.run()
        XCTAssertEqual(pair.clientCertificateEvents.count, 1)
        XCTAssertNil(pair.clientCertificateEvents.first?.validationError)
        XCTAssertNil(pair.clientSummary)
        XCTAssertNil(pair.clientSecrets["application-write"])
        // The handshake resumes when the application says so, later.
        try pair.client.completePeerCertificateValidation(accept: true, now: pair.now)
        pair.pump()
        pair.assertCompleted()
        // A second decision is an error.
        XCTAssertThrowsError(try pair.client.completePeerCertificateValidation(accept: true, now: pair.now))
    }

    // MARK: ALPN and extensions

    func testALPNMismatch() throws {
        var c = TestConfigs.client()
        c.alpnProtocols = [Array("hq-interop".utf8)]
        let pair = run(c, TestConfigs.server(try pki.credential("server-p256")))
        XCTAssertEqual(pair.serverError?.description, .noApplicationProtocol)
        XCTAssertEqual(pair.serverError?.description.cryptoErrorCode, 0x178)
    }

    func testClientWithoutALPNIsRefused() throws {
        var c = TestConfigs.client()
        c.alpnProtocols = []
        XCTAssertThrowsError(try TLSHandshake(configuration: c).start(now: 0))
    }

    /// A raw ClientHello lacking one extension.
    func clientHello(dropping type: ExtensionType) throws -> [UInt8] {
        let client = TLSHandshake(configuration: TestConfigs.client())
        try client.start(now: 0)
        guard case .handshakeData(_, let bytes)? = client.nextOutput() else { throw TLSAlert(.internalError) }
        var ch = try ClientHello.decode(Array(bytes[4...]))
        ch.extensions.removeAll { $0.type == type.rawValue }
        return ch.encode()
    }

    func testServerRefusesMissingExtensions() throws {
        let s = TestConfigs.server(try pki.credential("server-p256"))
        let cases: [(ExtensionType, AlertDescription)] = [
            (.alpn, .noApplicationProtocol), (.quicTransportParameters, .missingExtension),
            (.supportedVersions, .protocolVersion), (.keyShare, .missingExtension),
            (.signatureAlgorithms, .missingExtension),
        ]
        for (type, alert) in cases {
            let server = TLSHandshake(configuration: s)
            XCTAssertThrowsError(try server.receive(try clientHello(dropping: type), at: .initial, now: 0)) {
                XCTAssertEqual(($0 as? TLSAlert)?.description, alert, "\(type)")
            }
            // Once failed, it stays failed.
            XCTAssertThrowsError(try server.receive([1], at: .initial, now: 0)) {
                XCTAssertEqual(($0 as? TLSAlert)?.description, alert)
            }
        }
    }

    func testClientRefusesMissingTransportParameters() throws {
        let pair = HandshakePair(client: TestConfigs.client(), server: TestConfigs.server(try pki.credential("server-p256")))
        pair.tamper = { fromClient, level, bytes in
            guard !fromClient, level == .handshake, bytes.first == HandshakeType.encryptedExtensions.rawValue,
                  let ee = try? EncryptedExtensions.decode(Array(bytes[4..<(4 + (Int(bytes[1]) << 16 | Int(bytes[2]) << 8 | Int(bytes[3])))])) else { return bytes }
            let len = Int(bytes[1]) << 16 | Int(bytes[2]) << 8 | Int(bytes[3])
            var stripped = ee
            stripped.extensions.removeAll { $0.type == ExtensionType.quicTransportParameters.rawValue }
            return stripped.encode() + bytes[(4 + len)...]
        }
        pair.run()
        XCTAssertEqual(pair.clientError?.description, .missingExtension)
    }

    /// The switch for plain TLS 1.3 peers: a ClientHello without the extension is served and
    /// the server does not send its own unsolicited (the client side is covered by the
    /// OpenSSL s_server interop tests).
    func testTransportParametersOptionalForPlainTLSPeers() throws {
        var s = TestConfigs.server(try pki.credential("server-p256"))
        s.requirePeerTransportParameters = false
        let server = TLSHandshake(configuration: s)
        try server.receive(try clientHello(dropping: .quicTransportParameters), at: .initial, now: 0)
        var sawEE = false
        while let out = server.nextOutput() {
            if case .peerTransportParameters = out { XCTFail("no parameters were sent") }
            if case .handshakeData(.handshake, let flight) = out {
                let ee = try EncryptedExtensions.decode(Array(flight[4..<(4 + Int(flight[3]) + Int(flight[2]) << 8)]))
                XCTAssertFalse(ee.extensions.has(.quicTransportParameters))
                XCTAssertTrue(ee.extensions.has(.alpn))
                sawEE = true
            }
        }
        XCTAssertTrue(sawEE)
    }

    // MARK: Tampering

    func testTamperedClientHelloBreaksFinished() throws {
        let pair = HandshakePair(client: TestConfigs.client(), server: TestConfigs.server(try pki.credential("server-p256")))
        pair.tamper = { fromClient, level, bytes in
            guard fromClient, level == .initial else { return bytes }
            var b = bytes
            b[10] ^= 0x01 // inside the random: both sides now hash different transcripts
            return b
        }
        pair.run()
        XCTAssertEqual(pair.clientError?.description, .decryptError) // CertificateVerify fails
    }

    func testTamperedServerFinished() throws {
        let pair = HandshakePair(client: TestConfigs.client(), server: TestConfigs.server(try pki.credential("server-p256")))
        pair.tamper = { fromClient, level, bytes in
            guard !fromClient, level == .handshake else { return bytes }
            var b = bytes
            b[b.count - 1] ^= 0x80 // last byte of verify_data
            return b
        }
        pair.run()
        XCTAssertEqual(pair.clientError?.description, .decryptError)
        XCTAssertEqual(pair.clientError?.description.cryptoErrorCode, 0x133)
    }

    func testTamperedClientFinished() throws {
        let pair = HandshakePair(client: TestConfigs.client(), server: TestConfigs.server(try pki.credential("server-p256")))
        pair.tamper = { fromClient, level, bytes in
            guard fromClient, level == .handshake else { return bytes }
            var b = bytes
            b[b.count - 3] ^= 0x01
            return b
        }
        pair.run()
        XCTAssertEqual(pair.serverError?.description, .decryptError)
        XCTAssertNil(pair.serverSummary)
    }

    func testTamperedCertificateVerifySignature() throws {
        let pair = HandshakePair(client: TestConfigs.client(), server: TestConfigs.server(try pki.credential("server-ed25519", key: .ed25519)))
        pair.tamper = { fromClient, level, bytes in
            guard !fromClient, level == .handshake else { return bytes }
            var b = bytes
            // Ed25519 CertificateVerify (4 + 2 + 2 + 64) precedes Finished (4 + 32).
            b[b.count - 36 - 10] ^= 0x01
            return b
        }
        pair.run()
        XCTAssertEqual(pair.clientError?.description, .decryptError)
    }

    func testInvalidKeyShares() throws {
        let s = TestConfigs.server(try pki.credential("server-p256"))
        for group in [NamedGroup.x25519, .secp256r1, .secp384r1] {
            var c = TestConfigs.client()
            c.groups = [group]
            let pair = HandshakePair(client: c, server: s)
            pair.tamper = { fromClient, level, bytes in
                guard fromClient, level == .initial, var ch = try? ClientHello.decode(Array(bytes[4...])) else { return bytes }
                let len = KeyShare.publicKeyLength(group)
                // x25519: the all-zero point (small order, zero output); EC: a point off the curve.
                var bad = [UInt8](repeating: 0, count: len)
                if group != .x25519 { bad[0] = 4; bad[len - 1] = 1 }
                ch.extensions = ch.extensions.map {
                    $0.type == ExtensionType.keyShare.rawValue
                        ? TLSExtension(.keyShare, ExtensionCodec.keyShareClient([(group.rawValue, bad)])) : $0
                }
                return ch.encode()
            }
            pair.run()
            XCTAssertEqual(pair.serverError?.description, .illegalParameter, "\(group)")
        }
    }

    // MARK: QUIC-specific message rules

    func testForbiddenMessagesAndLevels() throws {
        let cred = try pki.credential("server-p256")
        // KeyUpdate after the handshake (RFC 9001 §6).
        var pair = run(TestConfigs.client(), TestConfigs.server(cred))
        pair.assertCompleted()
        XCTAssertThrowsError(try pair.client.receive([24, 0, 0, 1, 0], at: .application, now: 0)) {
            XCTAssertEqual(($0 as? TLSAlert)?.description, .unexpectedMessage)
        }
        // Anything post-handshake to a server, EndOfEarlyData included (RFC 9001 §8.3).
        XCTAssertThrowsError(try pair.server.receive([5, 0, 0, 0], at: .application, now: 0)) {
            XCTAssertEqual(($0 as? TLSAlert)?.description, .unexpectedMessage)
        }
        // Handshake data in 0-RTT, at a level without keys, after leaving a level.
        pair = run(TestConfigs.client(), TestConfigs.server(cred))
        XCTAssertThrowsError(try pair.client.receive([20, 0, 0, 0], at: .earlyData, now: 0))
        let server = TLSHandshake(configuration: TestConfigs.server(cred))
        XCTAssertThrowsError(try server.receive([1, 0, 0, 0], at: .handshake, now: 0)) {
            XCTAssertEqual(($0 as? TLSAlert)?.description, .unexpectedMessage)
        }
        pair = run(TestConfigs.client(), TestConfigs.server(cred))
        XCTAssertThrowsError(try pair.client.receive([2, 0, 0, 0], at: .initial, now: 0)) {
            XCTAssertEqual(($0 as? TLSAlert)?.description, .unexpectedMessage)
        }
        // An unknown message type (e.g. what a change_cipher_spec would look like).
        let fresh = TLSHandshake(configuration: TestConfigs.server(cred))
        XCTAssertThrowsError(try fresh.receive([0x14, 0, 0, 1, 1], at: .initial, now: 0)) {
            XCTAssertEqual(($0 as? TLSAlert)?.description, .unexpectedMessage)
        }
        let fresh2 = TLSHandshake(configuration: TestConfigs.server(cred))
        XCTAssertThrowsError(try fresh2.receive([0x63, 0, 0, 0], at: .initial, now: 0))
    }

    func testNonEmptyLegacySessionIDIsRefused() throws {
        let client = TLSHandshake(configuration: TestConfigs.client())
        try client.start(now: 0)
        guard case .handshakeData(_, let bytes)? = client.nextOutput() else { return XCTFail() }
        var ch = try ClientHello.decode(Array(bytes[4...]))
        ch.legacySessionID = [UInt8](repeating: 7, count: 32)
        let server = TLSHandshake(configuration: TestConfigs.server(try pki.credential("server-p256")))
        XCTAssertThrowsError(try server.receive(ch.encode(), at: .initial, now: 0))
    }

    func testGarbageNeverTraps() throws {
        let cred = try pki.credential("server-p256")
        var rng = SystemRandomNumberGenerator()
        for i in 0..<300 {
            let server = TLSHandshake(configuration: TestConfigs.server(cred))
            let len = Int.random(in: 0...200, using: &rng)
            var body = (0..<len).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if i % 2 == 0 { body = [1, 0, 0, UInt8(len)] + body } // plausible header
            _ = try? server.receive(body, at: .initial, now: 0)
            // Truncations of a real ClientHello as well.
            let client = TLSHandshake(configuration: TestConfigs.client())
            try client.start(now: 0)
            if case .handshakeData(_, var ch)? = client.nextOutput() {
                let cut = Int.random(in: 4..<ch.count, using: &rng)
                ch = Array(ch[0..<cut])
                ch[1] = 0; ch[2] = UInt8((cut - 4) >> 8); ch[3] = UInt8((cut - 4) & 0xff)
                XCTAssertThrowsError(try TLSHandshake(configuration: TestConfigs.server(cred)).receive(ch, at: .initial, now: 0))
            }
        }
    }
}
