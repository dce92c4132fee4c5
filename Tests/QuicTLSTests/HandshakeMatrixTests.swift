import XCTest
import QuicCrypto
@testable import QuicTLS

/// Full handshakes in memory for every cipher suite, group and server key type, plus
/// HelloRetryRequest and client authentication.
final class HandshakeMatrixTests: XCTestCase {
    func testEverySuiteGroupAndSignatureScheme() throws {
        let keys: [(HandshakePKI.KeyType, SignatureScheme)] = [
            (.p256, .ecdsaSecp256r1Sha256), (.p384, .ecdsaSecp384r1Sha384),
            (.rsa, .rsaPssRsaeSha256), (.ed25519, .ed25519),
        ]
        for (keyType, _) in keys {
            let cred = try HandshakePKI.shared.credential("server-\(keyType.rawValue)", key: keyType)
            for suite in CipherSuite.allCases {
                for group in NamedGroup.allCases {
                    var c = TestConfigs.client()
                    c.cipherSuites = [suite]
                    c.groups = [group]
                    var s = TestConfigs.server(cred)
                    s.groups = [group]
                    let pair = HandshakePair(client: c, server: s)
                    pair.run()
                    pair.assertCompleted()
                    XCTAssertEqual(pair.clientSummary?.cipherSuite, suite, "\(keyType) \(suite) \(group)")
                    XCTAssertEqual(pair.serverSummary?.group, group, "\(keyType) \(suite) \(group)")
                    XCTAssertEqual(pair.clientSecrets["handshake-write"]?.cipherSuite, suite)
                    // No HelloRetryRequest when the client's share fits.
                    XCTAssertEqual(pair.serverSentLevels.first, .initial)
                    XCTAssertEqual(pair.clientSentLevels, [.initial, .handshake])
                }
            }
        }
    }

    /// Each signature scheme for CertificateVerify is negotiated by the key, and the client
    /// restricting its list to one scheme is honoured.
    func testSignatureSchemeRestriction() throws {
        let cred = try HandshakePKI.shared.credential("server-rsa", key: .rsa)
        for scheme in [SignatureScheme.rsaPssRsaeSha256, .rsaPssRsaeSha384, .rsaPssRsaeSha512] {
            var c = TestConfigs.client()
            c.signatureSchemes = [scheme]
            let pair = HandshakePair(client: c, server: TestConfigs.server(cred))
            pair.run()
            pair.assertCompleted()
        }
        // A client that accepts only ECDSA cannot talk to an RSA-only server.
        var c = TestConfigs.client()
        c.signatureSchemes = [.ecdsaSecp256r1Sha256]
        let pair = HandshakePair(client: c, server: TestConfigs.server(cred))
        pair.run()
        XCTAssertEqual(pair.serverError?.description, .handshakeFailure)
    }

    func testServerPreferenceForCipherSuiteAndALPN() throws {
        let cred = try HandshakePKI.shared.credential("server-p256")
        var c = TestConfigs.client()
        c.cipherSuites = [.aes128GcmSha256, .chacha20Poly1305Sha256, .aes256GcmSha384]
        c.alpnProtocols = [Array("a".utf8), Array("b".utf8), Array("c".utf8)]
        var s = TestConfigs.server(cred)
        s.cipherSuites = [.chacha20Poly1305Sha256, .aes128GcmSha256]
        s.alpnProtocols = [Array("z".utf8), Array("c".utf8), Array("a".utf8)]
        let pair = HandshakePair(client: c, server: s)
        pair.run()
        pair.assertCompleted()
        XCTAssertEqual(pair.clientSummary?.cipherSuite, .chacha20Poly1305Sha256)
        XCTAssertEqual(pair.clientSummary?.alpn, Array("c".utf8))
        XCTAssertEqual(pair.server.negotiatedALPN, Array("c".utf8))
    }

    func testHelloRetryRequest() throws {
        let cred = try HandshakePKI.shared.credential("server-p256")
        for (clientGroups, serverGroups, expected) in [
            ([NamedGroup.x25519, .secp256r1], [NamedGroup.secp256r1], NamedGroup.secp256r1),
            ([.secp384r1, .x25519], [.x25519], .x25519),
            ([.x25519, .secp256r1, .secp384r1], [.secp384r1], .secp384r1),
        ] {
            var c = TestConfigs.client()
            c.groups = clientGroups
            var s = TestConfigs.server(cred)
            s.groups = serverGroups
            let pair = HandshakePair(client: c, server: s)
            pair.run()
            pair.assertCompleted()
            XCTAssertEqual(pair.clientSummary?.group, expected)
            // Client: ClientHello, second ClientHello, Finished; server: HRR, ServerHello, flight.
            XCTAssertEqual(pair.clientSentLevels, [.initial, .initial, .handshake])
            XCTAssertEqual(pair.serverSentLevels, [.initial, .initial, .handshake])
        }
    }

    func testNoCommonGroupIsHandshakeFailure() throws {
        let cred = try HandshakePKI.shared.credential("server-p256")
        var c = TestConfigs.client()
        c.groups = [.x25519]
        var s = TestConfigs.server(cred)
        s.groups = [.secp384r1]
        let pair = HandshakePair(client: c, server: s)
        pair.run()
        XCTAssertEqual(pair.serverError?.description, .handshakeFailure)
    }

    func testNoCommonCipherSuiteIsHandshakeFailure() throws {
        let cred = try HandshakePKI.shared.credential("server-p256")
        var c = TestConfigs.client()
        c.cipherSuites = [.aes128GcmSha256]
        var s = TestConfigs.server(cred)
        s.cipherSuites = [.aes256GcmSha384]
        let pair = HandshakePair(client: c, server: s)
        pair.run()
        XCTAssertEqual(pair.serverError?.description, .handshakeFailure)
        XCTAssertEqual(pair.serverError?.description.cryptoErrorCode, 0x128)
    }

    func testClientAuthentication() throws {
        let serverCred = try HandshakePKI.shared.credential("server-p256")
        for keyType in HandshakePKI.KeyType.allCases {
            let clientCred = try HandshakePKI.shared.credential("client-\(keyType.rawValue)", key: keyType, dns: "client")
            var c = TestConfigs.client()
            c.credential = clientCred
            var s = TestConfigs.server(serverCred)
            s.requestClientCertificate = true
            s.requireClientCertificate = true
            let pair = HandshakePair(client: c, server: s)
            pair.run()
            pair.assertCompleted()
            XCTAssertEqual(pair.serverSummary?.peerCertificateChain, clientCred.chainDER, "\(keyType)")
        }
    }

    func testClientWithoutCertificate() throws {
        let serverCred = try HandshakePKI.shared.credential("server-p256")
        // Optional: an empty Certificate is fine.
        var s = TestConfigs.server(serverCred)
        s.requestClientCertificate = true
        var pair = HandshakePair(client: TestConfigs.client(), server: s)
        pair.run()
        pair.assertCompleted()
        XCTAssertEqual(pair.serverSummary?.peerCertificateChain, [])
        // Required: certificate_required (RFC 8446 §4.4.2.4).
        s.requireClientCertificate = true
        pair = HandshakePair(client: TestConfigs.client(), server: s)
        pair.run()
        XCTAssertEqual(pair.serverError?.description, .certificateRequired)
        XCTAssertEqual(pair.serverError?.description.cryptoErrorCode, 0x174)
    }

    /// Bytes delivered one at a time still make whole messages.
    func testFragmentedDelivery() throws {
        let cred = try HandshakePKI.shared.credential("server-p256")
        let client = TLSHandshake(configuration: TestConfigs.client())
        let server = TLSHandshake(configuration: TestConfigs.server(cred))
        try client.start(now: 0)
        var done = (false, false)
        for _ in 0..<10 {
            while let out = client.nextOutput() {
                if case .handshakeData(let level, let bytes) = out {
                    for b in bytes { try server.receive([b], at: level, now: 0) }
                }
                if case .handshakeComplete = out { done.0 = true }
            }
            while let out = server.nextOutput() {
                if case .handshakeData(let level, let bytes) = out {
                    for chunk in stride(from: 0, to: bytes.count, by: 7) {
                        try client.receive(Array(bytes[chunk..<min(chunk + 7, bytes.count)]), at: level, now: 0)
                    }
                }
                if case .handshakeComplete = out { done.1 = true }
            }
        }
        XCTAssertTrue(done.0 && done.1)
    }
}
