import Foundation
import QuicCrypto
import QuicTLS
import XCTest

/// Our client (TLSHandshake, role .client) against `openssl s_server -tls1_3`.
final class OpenSSLServerInteropTests: XCTestCase {
    private var fixtures: InteropFixtures!

    override func setUpWithError() throws {
        _ = try OpenSSLProcess.requireInstalled()
        fixtures = try InteropFixtures()
    }

    override func tearDown() { fixtures = nil }

    /// Full handshake, then application data both ways; returns the driver.
    @discardableResult
    private func handshake(key: TestKey, configure: (inout TLSConfiguration) -> Void = { _ in },
                           serverArgs: [String] = [],
                           file: StaticString = #filePath, line: UInt = #line) throws -> (RecordLayerDriver, OpenSSLProcess) {
        let files = try fixtures.leafFiles("server", key: key)
        let (server, port) = try fixtures.startServer(certFile: files.certFile, chainFile: files.chainFile,
                                                      keyFile: files.keyFile, extra: serverArgs)
        let connection = try XCTUnwrap(TCPConnection.connect(port: port, within: 5), file: file, line: line)
        var config = fixtures.clientConfiguration()
        configure(&config)
        let driver = RecordLayerDriver(configuration: config, connection: connection)
        do {
            try driver.runHandshake()
        } catch {
            server.stop()
            XCTFail("handshake failed: \(error)\n--- s_server:\n\(server.output)", file: file, line: line)
            throw error
        }
        let summary = try XCTUnwrap(driver.summary, file: file, line: line)
        XCTAssertEqual(summary.alpn, Array(InteropFixtures.alpn.utf8), file: file, line: line)
        XCTAssertEqual(driver.peerTransportParameters, InteropFixtures.serverTransportParameters, file: file, line: line)
        XCTAssertEqual(summary.peerCertificateChain, [files.cert.der, fixtures.pki.intermediate.der], file: file, line: line)

        // Application data: ours shows up on s_server's stdout, its stdin comes back to us.
        try driver.send("hello from swiftquic\n")
        XCTAssertTrue(server.waitForOutput("hello from swiftquic"), server.output, file: file, line: line)
        server.writeStdin("hello from openssl\n")
        XCTAssertTrue(try driver.read(until: { driver.receivedText.contains("hello from openssl") }),
                      file: file, line: line)
        return (driver, server)
    }

    func testECDSAP256Certificate() throws {
        let (driver, server) = try handshake(key: .ec("P-256"))
        defer { server.stop() }
        XCTAssertEqual(driver.summary?.group, .x25519)
        XCTAssertEqual(driver.summary?.resumed, false)
    }

    func testECDSAP384Certificate() throws {
        let (_, server) = try handshake(key: .ec("P-384"))
        server.stop()
    }

    func testRSACertificate() throws {
        // OpenSSL signs CertificateVerify with rsa_pss_rsae_sha256 (RFC 8446 §4.2.3).
        let (_, server) = try handshake(key: .rsa())
        server.stop()
    }

    func testEd25519Certificate() throws {
        let (_, server) = try handshake(key: .ed25519())
        server.stop()
    }

    func testEveryCipherSuite() throws {
        for suite in CipherSuite.allCases {
            let (driver, server) = try handshake(key: .ec("P-256"), configure: { $0.cipherSuites = [suite] })
            XCTAssertEqual(driver.summary?.cipherSuite, suite)
            server.stop()
        }
    }

    func testHelloRetryRequest() throws {
        // We send an x25519 key share first; the server only takes P-256 and asks again.
        let (driver, server) = try handshake(key: .ec("P-256"), serverArgs: ["-groups", "P-256"])
        defer { server.stop() }
        XCTAssertEqual(driver.summary?.group, .secp256r1)
    }

    func testClientCertificate() throws {
        let clientKey = TestKey.ec("P-256")
        let clientFiles = try fixtures.leafFiles("client", key: clientKey, eku: "clientAuth")
        let (driver, server) = try handshake(key: .ec("P-256"), configure: { $0.credential = clientFiles.credential },
                                             serverArgs: ["-Verify", "1", "-CAfile", fixtures.rootFile])
        defer { server.stop() }
        XCTAssertNotNil(driver.summary)
        // s_server checked our chain up to the root it trusts.
        XCTAssertTrue(server.output.contains("verify return:1"), server.output)
        XCTAssertFalse(server.output.contains("verify error"), server.output)
    }

    func testClientCertificateRequiredButMissing() throws {
        let files = try fixtures.leafFiles("server", key: .ec("P-256"))
        let (server, port) = try fixtures.startServer(certFile: files.certFile, chainFile: files.chainFile,
                                                      keyFile: files.keyFile,
                                                      extra: ["-Verify", "1", "-CAfile", fixtures.rootFile])
        defer { server.stop() }
        let connection = try XCTUnwrap(TCPConnection.connect(port: port, within: 5))
        let driver = RecordLayerDriver(configuration: fixtures.clientConfiguration(), connection: connection)
        // We answer the CertificateRequest with an empty Certificate; the server refuses.
        XCTAssertThrowsError(try { try driver.runHandshake(); try driver.send("x\n"); try driver.read(until: { false }) }()) {
            guard let alert = $0 as? TLSAlert else { return XCTFail("expected the server's alert, got \($0)") }
            XCTAssertTrue(alert.fromPeer, "\(alert)")
            XCTAssertEqual(alert.description, .certificateRequired, "\(alert)")
        }
    }

    func testUntrustedServerIsRejected() throws {
        let files = try fixtures.leafFiles("server", key: .ec("P-256"))
        let (server, port) = try fixtures.startServer(certFile: files.certFile, chainFile: files.chainFile, keyFile: files.keyFile)
        defer { server.stop() }
        let connection = try XCTUnwrap(TCPConnection.connect(port: port, within: 5))
        var config = fixtures.clientConfiguration()
        let other = TestCertificate.make(cn: "other root", key: .ec("P-256"), isCA: true)
        config.trustedCAFile = try fixtures.pki.write("other-root.pem", other.pem)
        let driver = RecordLayerDriver(configuration: config, connection: connection)
        XCTAssertThrowsError(try driver.runHandshake()) {
            XCTAssertEqual(($0 as? TLSAlert)?.description, .unknownCA, "\($0)")
        }
    }

    /// Our validation failures reach OpenSSL as the alerts RFC 8446 §6.2 names.
    func testValidationAlertsReachOpenSSL() throws {
        let cases: [(TestCertificate, String?, AlertDescription, String)] = [
            (fixtures.pki.serverLeaf(validity: (-2 * 86400, -86400)), "localhost", .certificateExpired, "certificate expired"),
            (fixtures.pki.serverLeaf(), "example.com", .badCertificate, "bad certificate"),
            (fixtures.pki.serverLeaf(eku: "clientAuth"), "localhost", .unsupportedCertificate, "unsupported certificate"),
        ]
        for (i, (leaf, name, alert, text)) in cases.enumerated() {
            let certFile = try fixtures.pki.write("alert\(i).pem", leaf.pem)
            let chainFile = try fixtures.pki.write("alert\(i)-chain.pem", fixtures.pki.intermediate.pem)
            let keyFile = try fixtures.pki.write("alert\(i)-key.pem", leaf.key.pem)
            let (server, port) = try fixtures.startServer(certFile: certFile, chainFile: chainFile, keyFile: keyFile)
            defer { server.stop() }
            let driver = RecordLayerDriver(configuration: fixtures.clientConfiguration(serverName: name),
                                           connection: try XCTUnwrap(TCPConnection.connect(port: port, within: 5)))
            XCTAssertThrowsError(try driver.runHandshake()) {
                XCTAssertEqual(($0 as? TLSAlert)?.description, alert, "\($0)")
            }
            // s_server reports the alert it received ("... alert certificate expired ...").
            XCTAssertTrue(server.waitForOutput(text), "expected '\(text)' in:\n\(server.output)")
        }
    }

    func testResumptionWithOpenSSLTicket() throws {
        let files = try fixtures.leafFiles("server", key: .ec("P-256"))
        let (server, port) = try fixtures.startServer(certFile: files.certFile, chainFile: files.chainFile,
                                                      keyFile: files.keyFile, accepts: 2)
        defer { server.stop() }
        // First connection: full handshake; s_server sends its tickets right after it.
        let first = RecordLayerDriver(configuration: fixtures.clientConfiguration(),
                                      connection: try XCTUnwrap(TCPConnection.connect(port: port, within: 5)))
        try first.runHandshake()
        XCTAssertEqual(first.summary?.resumed, false)
        XCTAssertTrue(try first.read(until: { !first.tickets.isEmpty }), "no NewSessionTicket")
        try first.close()
        let ticket = try ClientSessionTicket(serialized: try XCTUnwrap(first.tickets.first))
        XCTAssertEqual(ticket.alpn, Array(InteropFixtures.alpn.utf8))
        XCTAssertEqual(ticket.serverTransportParameters, InteropFixtures.serverTransportParameters)

        // Second connection: the PSK from that ticket is accepted. s_server sends no
        // quic_transport_parameters on a resumed handshake (its serverinfo hangs off the
        // certificate, and a PSK handshake has none).
        var config = fixtures.clientConfiguration()
        InteropFixtures.allowPeerWithoutTransportParameters(&config)
        config.resumptionTicket = ticket
        let second = RecordLayerDriver(configuration: config,
                                       connection: try XCTUnwrap(TCPConnection.connect(port: port, within: 5)))
        do {
            try second.runHandshake()
        } catch {
            XCTFail("resumed handshake failed: \(error)\n\(server.output)")
            throw error
        }
        XCTAssertEqual(second.summary?.resumed, true)
        // No certificate in a PSK handshake (RFC 8446 §2.2).
        XCTAssertEqual(second.summary?.peerCertificateChain, [])
        try second.send("resumed hello\n")
        XCTAssertTrue(server.waitForOutput("resumed hello"), server.output)
        XCTAssertTrue(server.output.contains("Reused session-id") || server.output.contains("Reused"), server.output)
    }
}
