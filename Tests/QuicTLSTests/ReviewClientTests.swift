import XCTest
import QuicCrypto
@testable import QuicTLS

/// Review regressions: what the client checks in the server's messages
/// (RFC 8446 §4.2, §4.2.10, §4.3.1, §4.3.2, §4.4.2, §4.6.1).
final class ReviewClientTests: XCTestCase {
    var pki: HandshakePKI { HandshakePKI.shared }

    /// Runs a handshake in which `edit` may rewrite each whole server message.
    func runEditingServer(_ c: TLSConfiguration = TestConfigs.client(), server s: TLSConfiguration? = nil,
                          _ edit: @escaping (_ type: UInt8, _ message: [UInt8]) -> [UInt8]) throws -> HandshakePair {
        let server = try s ?? TestConfigs.server(try pki.credential("server-p256"))
        let pair = HandshakePair(client: c, server: server)
        pair.tamper = { fromClient, _, bytes in
            guard !fromClient else { return bytes }
            return ClientChecksTests.messages(bytes).flatMap { edit($0[0], $0) }
        }
        pair.run()
        return pair
    }

    static func editEE(_ m: [UInt8], _ change: (inout [TLSExtension]) -> Void) -> [UInt8] {
        guard m[0] == HandshakeType.encryptedExtensions.rawValue,
              var ee = try? EncryptedExtensions.decode(Array(m[4...])) else { return m }
        change(&ee.extensions)
        return ee.encode()
    }

    // MARK: extensions a message may not carry

    func testKnownButForbiddenExtensionInEncryptedExtensionsIsIllegalParameter() throws {
        // RFC 8446 §4.3.1 / §4.2: key_share belongs to ServerHello, never to EncryptedExtensions.
        let pair = try runEditingServer { _, m in
            Self.editEE(m) { $0.append(TLSExtension(.keyShare, [0, 0x1d, 0, 0])) }
        }
        XCTAssertEqual(pair.clientError?.description, .illegalParameter)
        XCTAssertNil(pair.clientSummary)
    }

    func testALPNInServerHelloIsIllegalParameter() throws {
        let pair = try runEditingServer { type, m in
            guard type == HandshakeType.serverHello.rawValue, var sh = try? ServerHello.decode(Array(m[4...])) else { return m }
            sh.extensions.append(TLSExtension(.alpn, ExtensionCodec.alpn([Array("h3".utf8)])))
            return sh.encode()
        }
        XCTAssertEqual(pair.clientError?.description, .illegalParameter)
        XCTAssertNil(pair.clientSecrets["handshake-read"])
    }

    func testUnknownExtensionInServerHelloIsUnsupportedExtension() throws {
        let pair = try runEditingServer { type, m in
            guard type == HandshakeType.serverHello.rawValue, var sh = try? ServerHello.decode(Array(m[4...])) else { return m }
            sh.extensions.append(TLSExtension(rawType: 0xfe0d, body: [1, 2]))
            return sh.encode()
        }
        XCTAssertEqual(pair.clientError?.description, .unsupportedExtension)
    }

    // MARK: CertificateRequest

    func serverAskingForClientCertificate() throws -> TLSConfiguration {
        var s = TestConfigs.server(try pki.credential("server-p256"))
        s.requestClientCertificate = true
        return s
    }

    static func editCertificateRequest(_ m: [UInt8], _ change: (inout CertificateRequest) -> Void) -> [UInt8] {
        guard m[0] == HandshakeType.certificateRequest.rawValue,
              var cr = try? CertificateRequest.decode(Array(m[4...])) else { return m }
        change(&cr)
        return cr.encode()
    }

    func testCertificateRequestContextMustBeEmptyInTheHandshake() throws {
        // RFC 8446 §4.3.2: certificate_request_context is zero length in the main handshake.
        let pair = try runEditingServer(server: try serverAskingForClientCertificate()) { _, m in
            Self.editCertificateRequest(m) { $0.context = [1, 2, 3, 4] }
        }
        XCTAssertEqual(pair.clientError?.description, .illegalParameter)
    }

    func testCertificateRequestExtensions() throws {
        // A recognized extension that CertificateRequest may not carry: illegal_parameter.
        var pair = try runEditingServer(server: try serverAskingForClientCertificate()) { _, m in
            Self.editCertificateRequest(m) { $0.extensions.append(TLSExtension(.alpn, ExtensionCodec.alpn([Array("h3".utf8)]))) }
        }
        XCTAssertEqual(pair.clientError?.description, .illegalParameter)
        // An unknown one is ignored (RFC 8446 §4.3.2): the message is accepted and only the
        // altered transcript fails, at the server's Finished (decrypt_error).
        pair = try runEditingServer(server: try serverAskingForClientCertificate()) { _, m in
            Self.editCertificateRequest(m) { $0.extensions.append(TLSExtension(rawType: 0xfe77, body: [9])) }
        }
        XCTAssertEqual(pair.clientError?.description, .decryptError)
    }

    func testClientWithoutSuitableKeySendsEmptyCertificate() throws {
        // RFC 8446 §4.4.2: the server only accepts Ed25519 client signatures and our client
        // key is P-256: the client sends an empty Certificate instead of failing.
        var s = try serverAskingForClientCertificate()
        s.signatureSchemes = [.ed25519]
        var c = TestConfigs.client()
        c.credential = try pki.credential("client-p256", dns: "client")
        var pair = HandshakePair(client: c, server: s)
        pair.run()
        pair.assertCompleted()
        XCTAssertEqual(pair.serverSummary?.peerCertificateChain, [])
        // When the server requires a certificate, it is the server that refuses.
        s.requireClientCertificate = true
        pair = HandshakePair(client: c, server: s)
        pair.run()
        XCTAssertNil(pair.clientError)
        XCTAssertEqual(pair.serverError?.description, .certificateRequired)
    }

    // MARK: NewSessionTicket

    func testNewSessionTicketExtensions() throws {
        var s = TestConfigs.server(try pki.credential("server-p256"))
        s.ticketSealer = MemoryTicketStore()
        s.enableEarlyData = true
        // Unknown extensions are ignored (RFC 8446 §4.6.1): the ticket is still usable.
        var pair = try runEditingServer(server: s) { type, m in
            guard type == HandshakeType.newSessionTicket.rawValue, var nst = try? NewSessionTicket.decode(Array(m[4...])) else { return m }
            nst.extensions.insert(TLSExtension(rawType: 0xfe55, body: [1]), at: 0)
            return nst.encode()
        }
        pair.assertCompleted()
        let bytes = try pair.issueTicket()
        XCTAssertEqual(try ClientSessionTicket(serialized: bytes).maxEarlyData, 0xffff_ffff)
        // A recognized extension NewSessionTicket may not carry: illegal_parameter.
        pair = try runEditingServer(server: s) { type, m in
            guard type == HandshakeType.newSessionTicket.rawValue, var nst = try? NewSessionTicket.decode(Array(m[4...])) else { return m }
            nst.extensions.append(TLSExtension(.alpn, ExtensionCodec.alpn([Array("h3".utf8)])))
            return nst.encode()
        }
        pair.assertCompleted()
        XCTAssertThrowsError(try pair.issueTicket())
        XCTAssertEqual(pair.clientError?.description, .illegalParameter)
        XCTAssertTrue(pair.clientTickets.isEmpty)
    }

    // MARK: 0-RTT

    func testEarlyDataAcceptedWithAnotherCipherSuiteIsIllegalParameter() throws {
        // The ticket is for AES-128-GCM; the resumed handshake negotiates ChaCha20 (same
        // hash, so the PSK is usable). A server claiming to accept 0-RTT then is lying:
        // RFC 8446 §4.2.10 has the client check the suite and abort with illegal_parameter.
        let store = MemoryTicketStore()
        var s = TestConfigs.server(try pki.credential("server-p256"))
        s.ticketSealer = store
        s.enableEarlyData = true
        s.cipherSuites = [.aes128GcmSha256]
        var c = TestConfigs.client()
        c.cipherSuites = [.aes128GcmSha256]
        let first = HandshakePair(client: c, server: s)
        first.run()
        first.assertCompleted()
        let ticket = try ClientSessionTicket(serialized: try first.issueTicket())
        XCTAssertEqual(ticket.cipherSuite, .aes128GcmSha256)

        s.cipherSuites = [.chacha20Poly1305Sha256, .aes128GcmSha256]
        c.cipherSuites = [.aes128GcmSha256, .chacha20Poly1305Sha256]
        c.resumptionTicket = ticket
        c.enableEarlyData = true
        // Untouched, the server resumes with ChaCha20 and declines 0-RTT.
        var pair = HandshakePair(client: c, server: s)
        pair.run()
        pair.assertCompleted()
        XCTAssertEqual(pair.clientSummary?.resumed, true)
        XCTAssertEqual(pair.clientSummary?.cipherSuite, .chacha20Poly1305Sha256)
        XCTAssertEqual(pair.clientSummary?.earlyDataAccepted, false)
        // With early_data forced into EncryptedExtensions the client refuses.
        pair = try runEditingServer(c, server: s) { _, m in Self.editEE(m) { $0.append(TLSExtension(.earlyData, [])) } }
        XCTAssertEqual(pair.clientError?.description, .illegalParameter)
    }
}

extension ReviewClientTests {
    func testNoEarlyDataUnderASuiteNoLongerAllowed() throws {
        // A ticket from an AES-128-GCM session; the client now allows only ChaCha20 (same
        // hash): it may resume, but must not send 0-RTT under the disallowed AES-128-GCM.
        var s = TestConfigs.server(try pki.credential("server-p256"))
        s.ticketSealer = MemoryTicketStore()
        s.enableEarlyData = true
        var c = TestConfigs.client()
        c.cipherSuites = [.aes128GcmSha256]
        let first = HandshakePair(client: c, server: s)
        first.run()
        let ticket = try ClientSessionTicket(serialized: try first.issueTicket())
        XCTAssertEqual(ticket.cipherSuite, .aes128GcmSha256)
        c.cipherSuites = [.chacha20Poly1305Sha256]
        c.resumptionTicket = ticket
        c.enableEarlyData = true
        let pair = HandshakePair(client: c, server: s)
        pair.run()
        pair.assertCompleted()
        XCTAssertNil(pair.clientSecrets["earlyData-write"])
        XCTAssertEqual(pair.clientSummary?.resumed, true)
        XCTAssertEqual(pair.clientSummary?.cipherSuite, .chacha20Poly1305Sha256)
    }
}
