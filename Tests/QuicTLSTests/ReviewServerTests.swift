import XCTest
import QuicCrypto
@testable import QuicTLS

/// Review regressions on the server side and for the handshake machine's resource bounds:
/// the second ClientHello after HelloRetryRequest (RFC 8446 §4.1.2), resumption under another
/// server name (RFC 8446 §4.6.1), constant-time MAC checks, bounded buffering.
final class ReviewServerTests: XCTestCase {
    var pki: HandshakePKI { HandshakePKI.shared }

    /// A client offering x25519 first against a server that only takes P-256, so a
    /// HelloRetryRequest happens; `editSecond` may rewrite the second ClientHello.
    func runWithHRR(_ c: TLSConfiguration = TestConfigs.client(), server s: TLSConfiguration? = nil,
                    editSecond: @escaping (inout ClientHello) -> Void) throws -> HandshakePair {
        var server = try s ?? TestConfigs.server(try pki.credential("server-p256"))
        server.groups = [.secp256r1]
        let pair = HandshakePair(client: c, server: server)
        var initialFlights = 0
        pair.tamper = { fromClient, level, bytes in
            guard fromClient, level == .initial else { return bytes }
            initialFlights += 1
            guard initialFlights == 2, var ch = try? ClientHello.decode(Array(bytes[4...])) else { return bytes }
            editSecond(&ch)
            return ch.encode()
        }
        pair.run()
        return pair
    }

    func testUnchangedSecondClientHelloIsAccepted() throws {
        let pair = try runWithHRR { _ in }
        pair.assertCompleted()
        XCTAssertEqual(pair.clientSentLevels, [.initial, .initial, .handshake])
        XCTAssertEqual(pair.serverSummary?.group, .secp256r1)
        // Extension order is not compared: the server accepts a reordered second hello and
        // answers (only the client, whose transcript has its own bytes, then fails at
        // CertificateVerify because we altered its message in flight).
        let reordered = try runWithHRR { ch in
            let psk = ch.extensions.removeLast()
            ch.extensions.reverse()
            ch.extensions.append(psk)
        }
        XCTAssertNil(reordered.serverError)
        XCTAssertNotNil(reordered.serverSecrets["handshake-write"])
        XCTAssertEqual(reordered.clientError?.description, .decryptError)
    }

    func testSecondClientHelloMustMatchTheFirst() throws {
        let changes: [(String, (inout ClientHello) -> Void)] = [
            ("ALPN", { ch in
                ch.extensions = ch.extensions.map {
                    $0.type == ExtensionType.alpn.rawValue ? TLSExtension(.alpn, ExtensionCodec.alpn([Array("h3".utf8), Array("x".utf8)])) : $0
                }
            }),
            ("transport parameters", { ch in
                ch.extensions = ch.extensions.map {
                    $0.type == ExtensionType.quicTransportParameters.rawValue ? TLSExtension(.quicTransportParameters, [0x01, 0x01, 0x00]) : $0
                }
            }),
            ("cipher suites", { ch in ch.cipherSuites.removeLast() }),
            ("dropped server_name", { ch in ch.extensions.removeAll { $0.type == ExtensionType.serverName.rawValue } }),
            ("cookie never sent", { ch in
                ch.extensions.insert(TLSExtension(.cookie, TLSWriter.vector16([1, 2, 3])), at: 0)
            }),
        ]
        for (what, change) in changes {
            let pair = try runWithHRR(editSecond: change)
            XCTAssertEqual(pair.serverError?.description, .illegalParameter, what)
            XCTAssertNil(pair.serverSummary, what)
            XCTAssertNil(pair.serverSecrets["handshake-write"], what)
        }
    }

    func testTicketDoesNotResumeUnderAnotherServerName() throws {
        let store = MemoryTicketStore()
        var s = TestConfigs.server(try pki.credential("server-p256"))
        s.ticketSealer = store
        s.enableEarlyData = true
        let first = HandshakePair(client: TestConfigs.client(serverName: "localhost"), server: s)
        first.run()
        first.assertCompleted()
        var ticket = try ClientSessionTicket(serialized: try first.issueTicket())

        // The same name resumes (control).
        var c = TestConfigs.client(serverName: "localhost")
        c.resumptionTicket = ticket
        var pair = HandshakePair(client: c, server: s)
        pair.run()
        pair.assertCompleted()
        XCTAssertEqual(pair.serverSummary?.resumed, true)

        // A client presenting the ticket for another name (its own record rewritten, or a
        // client that does not check) gets a full handshake with a certificate, no 0-RTT.
        ticket.serverName = "other.example"
        c = TestConfigs.client(serverName: "other.example")
        c.resumptionTicket = ticket
        c.enableEarlyData = true
        pair = HandshakePair(client: c, server: s)
        pair.run()
        pair.assertCompleted()
        XCTAssertEqual(pair.serverSummary?.resumed, false)
        XCTAssertEqual(pair.clientSummary?.resumed, false)
        XCTAssertEqual(pair.serverSummary?.earlyDataAccepted, false)
        XCTAssertNil(pair.serverSecrets["earlyData-read"])
        XCTAssertEqual(pair.clientSummary?.peerCertificateChain, try pki.credential("server-p256").chainDER)
    }

    func testConstantTimeEqual() {
        XCTAssertTrue(TLSHandshake.constantTimeEqual([], []))
        XCTAssertTrue(TLSHandshake.constantTimeEqual([1, 2, 3], [1, 2, 3]))
        XCTAssertFalse(TLSHandshake.constantTimeEqual([1, 2, 3], [1, 2, 4]))
        XCTAssertFalse(TLSHandshake.constantTimeEqual([1, 2, 3], [1, 2]))
        XCTAssertFalse(TLSHandshake.constantTimeEqual([], [0]))
    }

    func testBinderOfWrongLengthIsDecryptError() throws {
        // The binder is compared whole: a binder one byte longer than the hash (with the
        // right prefix) must not pass as a prefix match.
        let store = MemoryTicketStore()
        var s = TestConfigs.server(try pki.credential("server-p256"))
        s.ticketSealer = store
        let first = HandshakePair(client: TestConfigs.client(), server: s)
        first.run()
        let ticket = try ClientSessionTicket(serialized: try first.issueTicket())
        var c = TestConfigs.client()
        c.resumptionTicket = ticket
        let client = TLSHandshake(configuration: c)
        try client.start(now: first.now)
        guard case .handshakeData(_, let hello)? = client.nextOutput() else { return XCTFail("no ClientHello") }
        var ch = try ClientHello.decode(Array(hello[4...]))
        let offer = try ExtensionCodec.decodeOfferedPSKs(try XCTUnwrap(ch.extensions.body(.preSharedKey)))
        ch.extensions[ch.extensions.count - 1] = TLSExtension(.preSharedKey, ExtensionCodec.offeredPSKs(
            identities: offer.identities, binders: [offer.binders[0] + [0]]))
        let server = TLSHandshake(configuration: s)
        XCTAssertThrowsError(try server.receive(ch.encode(), at: .initial, now: first.now)) {
            XCTAssertEqual(($0 as? TLSAlert)?.description, .decryptError)
        }
    }

    // MARK: bounded buffering

    func testOversizedMessageHeaderIsRefusedBeforeItsBody() throws {
        let server = TLSHandshake(configuration: TestConfigs.server(try pki.credential("server-p256")))
        let length = TLSHandshake.maxMessageLength + 1
        XCTAssertThrowsError(try server.receive([1, UInt8(length >> 16), UInt8((length >> 8) & 0xff), UInt8(length & 0xff)],
                                                at: .initial, now: 0)) {
            XCTAssertEqual(($0 as? TLSAlert)?.description, .decodeError)
        }
        // The largest allowed message is buffered while incomplete.
        let other = TLSHandshake(configuration: TestConfigs.server(try pki.credential("server-p256")))
        let max = TLSHandshake.maxMessageLength
        XCTAssertNoThrow(try other.receive([1, UInt8(max >> 16), UInt8((max >> 8) & 0xff), UInt8(max & 0xff)] + [UInt8](repeating: 0, count: 1000),
                                           at: .initial, now: 0))
    }

    func testDataBufferedDuringCertificateDecisionIsBounded() throws {
        // The client waits for the application's verdict on the server certificate; a peer
        // streaming handshake bytes meanwhile must not grow our buffer without limit.
        var c = TestConfigs.client()
        c.indicatePeerCertificate = true
        let pair = HandshakePair(client: c, server: TestConfigs.server(try pki.credential("server-p256")))
        pair.clientCertificateDecision = nil
        pair.run()
        XCTAssertEqual(pair.clientCertificateEvents.count, 1)
        XCTAssertNil(pair.clientError)
        // A few bytes are fine (e.g. the start of the server's next flight) ...
        XCTAssertNoThrow(try pair.client.receive([UInt8](repeating: 0x14, count: 100), at: .handshake, now: pair.now))
        // ... an unbounded stream is not.
        let chunk = [UInt8](repeating: 0x14, count: 16 * 1024)
        var thrown: TLSAlert?
        for _ in 0..<64 {
            do { try pair.client.receive(chunk, at: .handshake, now: pair.now) } catch {
                thrown = error as? TLSAlert
                break
            }
        }
        XCTAssertEqual(thrown?.description, .unexpectedMessage)
        XCTAssertLessThanOrEqual(pair.client.buffers[EncryptionLevel.handshake.rawValue].count,
                                 4 + TLSHandshake.maxMessageLength + chunk.count)
    }
}

extension ReviewServerTests {
    /// RFC 9001 names PROTOCOL_VIOLATION (0x0a), not a CRYPTO_ERROR, for these faults.
    func testProtocolViolationsCarryTheTransportErrorCode() throws {
        let cred = try pki.credential("server-p256")
        // §8.3: CRYPTO data in a 0-RTT packet.
        var server = TLSHandshake(configuration: TestConfigs.server(cred))
        XCTAssertThrowsError(try server.receive([1, 0, 0, 0], at: .earlyData, now: 0)) {
            XCTAssertEqual(($0 as? TLSAlert)?.quicErrorCode, 0x0a)
        }
        // §8.4: a non-empty legacy_session_id.
        let client = TLSHandshake(configuration: TestConfigs.client())
        try client.start(now: 0)
        guard case .handshakeData(_, let bytes)? = client.nextOutput() else { return XCTFail("no ClientHello") }
        var ch = try ClientHello.decode(Array(bytes[4...]))
        ch.legacySessionID = [UInt8](repeating: 7, count: 32)
        server = TLSHandshake(configuration: TestConfigs.server(cred))
        XCTAssertThrowsError(try server.receive(ch.encode(), at: .initial, now: 0)) {
            XCTAssertEqual(($0 as? TLSAlert)?.description, .illegalParameter)
            XCTAssertEqual(($0 as? TLSAlert)?.quicErrorCode, 0x0a)
        }
        // §4.1.3: new data at a level the handshake has left.
        let pair = HandshakePair(client: TestConfigs.client(), server: TestConfigs.server(cred))
        pair.run()
        pair.assertCompleted()
        XCTAssertThrowsError(try pair.client.receive([8, 0, 0, 2, 0, 0], at: .handshake, now: pair.now)) {
            XCTAssertEqual(($0 as? TLSAlert)?.quicErrorCode, 0x0a)
        }
        // §4.6.1: max_early_data_size other than 0xffffffff.
        var s = TestConfigs.server(cred)
        s.ticketSealer = MemoryTicketStore()
        s.enableEarlyData = true
        let p2 = HandshakePair(client: TestConfigs.client(), server: s)
        p2.tamper = { fromClient, _, bytes in
            guard !fromClient, bytes.first == HandshakeType.newSessionTicket.rawValue,
                  var nst = try? NewSessionTicket.decode(Array(bytes[4...])) else { return bytes }
            nst.extensions = [TLSExtension(.earlyData, ExtensionCodec.maxEarlyData(16384))]
            return nst.encode()
        }
        p2.run()
        p2.assertCompleted()
        XCTAssertThrowsError(try p2.issueTicket())
        XCTAssertEqual(p2.clientError?.quicErrorCode, 0x0a)
        // Everything else stays CRYPTO_ERROR 0x100 + alert.
        XCTAssertEqual(TLSAlert(.noApplicationProtocol).quicErrorCode, 0x178)
        XCTAssertEqual(TLSAlert(.certificateRequired).quicErrorCode, 0x174)
    }
}

extension ReviewServerTests {
    func testRequiredClientAuthenticationIsNotBypassedByResumption() throws {
        // Same ticket keys, first without client authentication, then requiring it.
        let store = MemoryTicketStore()
        var open = TestConfigs.server(try pki.credential("server-p256"))
        open.ticketSealer = store
        open.enableEarlyData = true
        let first = HandshakePair(client: TestConfigs.client(), server: open)
        first.run()
        first.assertCompleted()
        let ticket = try ClientSessionTicket(serialized: try first.issueTicket())

        var strict = open
        strict.requireClientCertificate = true
        var c = TestConfigs.client()
        c.resumptionTicket = ticket
        c.enableEarlyData = true
        // Without a certificate the resumption attempt does not get in.
        var pair = HandshakePair(client: c, server: strict)
        pair.run()
        XCTAssertEqual(pair.serverError?.description, .certificateRequired)
        XCTAssertNil(pair.serverSummary)
        XCTAssertNil(pair.serverSecrets["earlyData-read"])
        // With one, a full handshake authenticates it.
        c.credential = try pki.credential("client-p256", dns: "client")
        pair = HandshakePair(client: c, server: strict)
        pair.run()
        pair.assertCompleted()
        XCTAssertEqual(pair.serverSummary?.resumed, false)
        XCTAssertEqual(pair.serverSummary?.peerCertificateChain, c.credential?.chainDER)
    }
}

extension ReviewServerTests {
    /// A sealer that counts how many tickets the server tries to open.
    final class CountingSealer: SessionTicketSealer, @unchecked Sendable {
        let inner = MemoryTicketStore()
        var opened = 0
        func seal(_ plaintext: [UInt8]) throws -> [UInt8] { try inner.seal(plaintext) }
        func open(_ ticket: [UInt8]) -> [UInt8]? { opened += 1; return inner.open(ticket) }
    }

    func testOnlyTheFirstPSKIdentityIsOpened() throws {
        let sealer = CountingSealer()
        var s = TestConfigs.server(try pki.credential("server-p256"))
        s.ticketSealer = sealer
        // A ClientHello listing 500 unknown identities: one decryption, then a full handshake.
        let client = TLSHandshake(configuration: TestConfigs.client())
        try client.start(now: 0)
        guard case .handshakeData(_, let hello)? = client.nextOutput() else { return XCTFail("no ClientHello") }
        var ch = try ClientHello.decode(Array(hello[4...]))
        let ids = (0..<500).map { i in ExtensionCodec.PSKIdentity(identity: [UInt8(i & 0xff), UInt8(i >> 8), 1, 2], obfuscatedTicketAge: 0) }
        // The client's hello already lists psk_key_exchange_modes (RFC 8446 §4.2.9).
        XCTAssertNotNil(ch.extensions.body(.pskKeyExchangeModes))
        ch.extensions.append(TLSExtension(.preSharedKey, ExtensionCodec.offeredPSKs(
            identities: ids, binders: Array(repeating: [UInt8](repeating: 0, count: 32), count: ids.count))))
        let server = TLSHandshake(configuration: s)
        try server.receive(ch.encode(), at: .initial, now: 0)
        XCTAssertEqual(sealer.opened, 1)
        XCTAssertFalse(server.isResumed)
        var sentServerHello = false
        while let out = server.nextOutput() { if case .handshakeData(.initial, _) = out { sentServerHello = true } }
        XCTAssertTrue(sentServerHello)
    }
}
