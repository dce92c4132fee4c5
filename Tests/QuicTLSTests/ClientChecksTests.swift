import XCTest
import QuicCrypto
@testable import QuicTLS

/// What a client checks in the server's messages (RFC 8446 §4.1.3, §4.1.4, §4.2, §4.6.1;
/// RFC 7301; RFC 9001 §4.6.1, §8).
final class ClientChecksTests: XCTestCase {
    /// Splits a flight into whole handshake messages (header included).
    static func messages(_ flight: [UInt8]) -> [[UInt8]] {
        var out: [[UInt8]] = []
        var i = 0
        while i + 4 <= flight.count {
            let len = Int(flight[i + 1]) << 16 | Int(flight[i + 2]) << 8 | Int(flight[i + 3])
            out.append(Array(flight[i..<min(i + 4 + len, flight.count)]))
            i += 4 + len
        }
        return out
    }

    /// Runs a handshake in which `edit` may rewrite each server message.
    func runEditingServer(_ c: TLSConfiguration = TestConfigs.client(), server s: TLSConfiguration? = nil,
                          _ edit: @escaping (_ type: UInt8, _ message: [UInt8]) -> [UInt8]) throws -> HandshakePair {
        let server = try s ?? TestConfigs.server(try HandshakePKI.shared.credential("server-p256"))
        let pair = HandshakePair(client: c, server: server)
        pair.tamper = { fromClient, _, bytes in
            guard !fromClient else { return bytes }
            return Self.messages(bytes).flatMap { edit($0[0], $0) }
        }
        pair.run()
        return pair
    }

    func editExtensions(_ message: [UInt8], _ change: (inout [TLSExtension]) -> Void) -> [UInt8] {
        guard var ee = try? EncryptedExtensions.decode(Array(message[4...])) else { return message }
        change(&ee.extensions)
        return ee.encode()
    }

    func testServerSelectsALPNNotOffered() throws {
        let pair = try runEditingServer { type, m in
            guard type == HandshakeType.encryptedExtensions.rawValue else { return m }
            return self.editExtensions(m) { exts in
                exts = exts.map { $0.type == ExtensionType.alpn.rawValue ? TLSExtension(.alpn, ExtensionCodec.alpn([Array("h2".utf8)])) : $0 }
            }
        }
        XCTAssertEqual(pair.clientError?.description, .illegalParameter)
    }

    func testServerOmitsALPN() throws {
        let pair = try runEditingServer { type, m in
            guard type == HandshakeType.encryptedExtensions.rawValue else { return m }
            return self.editExtensions(m) { $0.removeAll { $0.type == ExtensionType.alpn.rawValue } }
        }
        XCTAssertEqual(pair.clientError?.description, .noApplicationProtocol)
    }

    func testUnsolicitedExtensionInEncryptedExtensions() throws {
        let pair = try runEditingServer { type, m in
            guard type == HandshakeType.encryptedExtensions.rawValue else { return m }
            return self.editExtensions(m) { $0.append(TLSExtension(rawType: 0x1c, body: [0x40, 0x01])) } // record_size_limit
        }
        XCTAssertEqual(pair.clientError?.description, .unsupportedExtension)
    }

    func testUnofferedEarlyDataAcceptance() throws {
        let pair = try runEditingServer { type, m in
            guard type == HandshakeType.encryptedExtensions.rawValue else { return m }
            return self.editExtensions(m) { $0.append(TLSExtension(.earlyData, [])) }
        }
        XCTAssertEqual(pair.clientError?.description, .illegalParameter)
    }

    func testServerHelloWithUnofferedSuiteOrGroup() throws {
        var c = TestConfigs.client()
        c.cipherSuites = [.aes128GcmSha256]
        var pair = try runEditingServer(c) { type, m in
            guard type == HandshakeType.serverHello.rawValue, var sh = try? ServerHello.decode(Array(m[4...])) else { return m }
            sh.cipherSuite = CipherSuite.aes256GcmSha384.rawValue
            return sh.encode()
        }
        XCTAssertEqual(pair.clientError?.description, .illegalParameter)

        pair = try runEditingServer { type, m in
            guard type == HandshakeType.serverHello.rawValue, var sh = try? ServerHello.decode(Array(m[4...])) else { return m }
            sh.extensions = sh.extensions.map {
                $0.type == ExtensionType.keyShare.rawValue
                    ? TLSExtension(.keyShare, ExtensionCodec.keyShareServer(group: NamedGroup.secp256r1.rawValue, key: [UInt8](repeating: 4, count: 65))) : $0
            }
            return sh.encode()
        }
        XCTAssertEqual(pair.clientError?.description, .illegalParameter)
    }

    func testServerHelloWithoutTLS13() throws {
        let pair = try runEditingServer { type, m in
            guard type == HandshakeType.serverHello.rawValue, var sh = try? ServerHello.decode(Array(m[4...])) else { return m }
            sh.extensions.removeAll { $0.type == ExtensionType.supportedVersions.rawValue }
            return sh.encode()
        }
        XCTAssertEqual(pair.clientError?.description, .protocolVersion)
    }

    func testSecondHelloRetryRequestAndUselessHRR() throws {
        let cred = try HandshakePKI.shared.credential("server-p256")
        // The server asks for P-256 twice: the client refuses the second request.
        var c = TestConfigs.client()
        c.groups = [.x25519, .secp256r1]
        var s = TestConfigs.server(cred)
        s.groups = [.secp256r1]
        var hrr: [UInt8]?
        var pair = try runEditingServer(c, server: s) { type, m in
            guard type == HandshakeType.serverHello.rawValue else { return m }
            if let hrr { return hrr } // replay the HRR instead of the ServerHello
            if (try? ServerHello.decode(Array(m[4...])))?.isHelloRetryRequest == true { hrr = m }
            return m
        }
        XCTAssertEqual(pair.clientError?.description, .unexpectedMessage)

        // An HRR naming the group the client already sent changes nothing: illegal_parameter.
        pair = try runEditingServer(c, server: s) { type, m in
            guard type == HandshakeType.serverHello.rawValue, var sh = try? ServerHello.decode(Array(m[4...])),
                  sh.isHelloRetryRequest else { return m }
            sh.extensions = sh.extensions.map {
                $0.type == ExtensionType.keyShare.rawValue ? TLSExtension(.keyShare, ExtensionCodec.keyShareHRR(group: NamedGroup.x25519.rawValue)) : $0
            }
            return sh.encode()
        }
        XCTAssertEqual(pair.clientError?.description, .illegalParameter)
    }

    func testNewSessionTicketEarlyDataMustBeAllOnes() throws {
        var s = TestConfigs.server(try HandshakePKI.shared.credential("server-p256"))
        s.ticketSealer = MemoryTicketStore()
        s.enableEarlyData = true
        let pair = try runEditingServer(server: s) { type, m in
            guard type == HandshakeType.newSessionTicket.rawValue, var nst = try? NewSessionTicket.decode(Array(m[4...])) else { return m }
            nst.extensions = [TLSExtension(.earlyData, ExtensionCodec.maxEarlyData(16_384))]
            return nst.encode()
        }
        pair.assertCompleted()
        XCTAssertThrowsError(try pair.issueTicket())
        XCTAssertEqual(pair.clientError?.description, .illegalParameter)
    }

    func testServerNameAndIPAddresses() throws {
        XCTAssertTrue(TLSHandshake.isIPAddress("127.0.0.1"))
        XCTAssertTrue(TLSHandshake.isIPAddress("::1"))
        XCTAssertFalse(TLSHandshake.isIPAddress("example.com"))
        XCTAssertFalse(TLSHandshake.isIPAddress("1.2.3"))
        // An IP literal is not sent as server_name (RFC 6066 §3).
        let pair = HandshakePair(client: TestConfigs.client(serverName: "127.0.0.1"),
                                 server: TestConfigs.server(try HandshakePKI.shared.credential("server-p256")))
        pair.run()
        pair.assertCompleted()
        XCTAssertNil(pair.serverSummary?.serverName)
    }

    func testPeekClientHello() throws {
        var c = TestConfigs.client(serverName: "quic.example")
        c.alpnProtocols = [Array("h3".utf8), Array("hq-interop".utf8)]
        let client = TLSHandshake(configuration: c)
        try client.start(now: 0)
        guard case .handshakeData(.initial, let ch)? = client.nextOutput() else { return XCTFail() }
        XCTAssertNil(try TLSHandshake.peekClientHello(Array(ch[0..<3])))
        XCTAssertNil(try TLSHandshake.peekClientHello(Array(ch.dropLast())))
        let info = try XCTUnwrap(try TLSHandshake.peekClientHello(ch))
        XCTAssertEqual(info.serverName, "quic.example")
        XCTAssertEqual(info.alpnProtocols, c.alpnProtocols)
        XCTAssertEqual(info.transportParameters, TestConfigs.clientTP)
        XCTAssertEqual(info.cipherSuites, [0x1301, 0x1302, 0x1303])
        XCTAssertFalse(info.offersPreSharedKey)
        XCTAssertEqual(client.clientHelloRandom, Array(ch[6..<38]))
        XCTAssertThrowsError(try TLSHandshake.peekClientHello([2, 0, 0, 0]))
        // The same bytes then drive a server built afterwards.
        let server = TLSHandshake(configuration: TestConfigs.server(try HandshakePKI.shared.credential("server-p256")))
        XCTAssertNoThrow(try server.receive(ch, at: .initial, now: 0))
    }

    func testFirstClientHelloListsPSKModesSoServersIssueTickets() throws {
        // Interop (aioquic): a server sends NewSessionTicket only when the ClientHello listed
        // psk_key_exchange_modes (RFC 8446 §4.2.9), so the first, ticketless, hello has it too.
        let client = TLSHandshake(configuration: TestConfigs.client())
        try client.start(now: 0)
        guard case .handshakeData(.initial, let message)? = client.nextOutput() else { return XCTFail("no ClientHello") }
        let hello = try ClientHello.decode(Array(message[4...]))
        XCTAssertEqual(hello.extensions.body(.pskKeyExchangeModes), ExtensionCodec.pskModes())
        XCTAssertNil(hello.extensions.body(.preSharedKey))
    }
}
