import Foundation
import QuicCrypto
import QuicTLS
import XCTest

/// Our server (TLSHandshake, role .server) against `openssl s_client -tls1_3`.
final class OpenSSLClientInteropTests: XCTestCase {
    private var fixtures: InteropFixtures!

    override func setUpWithError() throws {
        _ = try OpenSSLProcess.requireInstalled()
        fixtures = try InteropFixtures()
    }

    override func tearDown() { fixtures = nil }

    /// RFC 9001 §8.2: a QUIC server refuses a ClientHello without quic_transport_parameters
    /// with missing_extension; a plain TLS client is exactly that.
    func testServerRefusesClientHelloWithoutTransportParameters() throws {
        let files = try fixtures.leafFiles("server", key: .ec("P-256"))
        let listener = try TCPListener()
        let client = try fixtures.startClient(port: listener.port)
        defer { client.stop() }
        let driver = RecordLayerDriver(configuration: try fixtures.serverConfiguration(files.credential),
                                       connection: try listener.accept(within: 10))
        XCTAssertThrowsError(try driver.runHandshake()) {
            XCTAssertEqual(($0 as? TLSAlert)?.description, .missingExtension, "\($0)")
        }
    }

    /// Runs one connection from s_client to our server; returns s_client's output.
    private func serve(key: TestKey, configure: (inout TLSConfiguration) throws -> Void = { _ in },
                       clientArgs: [String] = [], file: StaticString = #filePath, line: UInt = #line) throws
        -> (output: String, driver: RecordLayerDriver) {
        let files = try fixtures.leafFiles("server", key: key)
        var config = try fixtures.serverConfiguration(files.credential)
        InteropFixtures.allowPeerWithoutTransportParameters(&config)
        try configure(&config)
        let listener = try TCPListener()
        let client = try fixtures.startClient(port: listener.port, extra: clientArgs)
        defer { client.stop() }
        let driver = RecordLayerDriver(configuration: config, connection: try listener.accept(within: 10))
        do {
            try driver.runHandshake()
        } catch {
            client.stop()
            XCTFail("handshake failed: \(error)\n--- s_client:\n\(client.output)", file: file, line: line)
            throw error
        }
        try driver.send("hello from swiftquic server\n")
        try driver.close()
        driver.stream.connection.shutdownWrite()
        XCTAssertTrue(client.waitForExit(within: 10), client.output, file: file, line: line)
        let output = client.output
        XCTAssertTrue(output.contains("Verify return code: 0 (ok)"), output, file: file, line: line)
        XCTAssertTrue(output.contains("hello from swiftquic server"), output, file: file, line: line)
        XCTAssertTrue(output.contains("ALPN protocol: \(InteropFixtures.alpn)"), output, file: file, line: line)
        return (output, driver)
    }

    func testECDSAServer() throws {
        let (output, driver) = try serve(key: .ec("P-256"))
        XCTAssertTrue(output.contains("TLSv1.3"), output)
        XCTAssertEqual(driver.summary?.serverName, "localhost")
    }

    func testRSAServer() throws { _ = try serve(key: .rsa()) }

    func testEd25519Server() throws { _ = try serve(key: .ed25519()) }

    func testCipherSuiteChoice() throws {
        let (output, driver) = try serve(key: .ec("P-256"), configure: { $0.cipherSuites = [.chacha20Poly1305Sha256] })
        XCTAssertEqual(driver.summary?.cipherSuite, .chacha20Poly1305Sha256)
        XCTAssertTrue(output.contains("TLS_CHACHA20_POLY1305_SHA256"), output)
    }

    func testHelloRetryRequestToOpenSSL() throws {
        // s_client shares X25519 first; our server only takes P-256 and asks for it.
        let (_, driver) = try serve(key: .ec("P-256"), configure: { $0.groups = [.secp256r1] },
                                    clientArgs: ["-groups", "X25519:P-256"])
        XCTAssertEqual(driver.summary?.group, .secp256r1)
    }

    func testClientCertificateFromOpenSSL() throws {
        let clientFiles = try fixtures.leafFiles("client", key: .ec("P-256"), eku: "clientAuth")
        let (_, driver) = try serve(key: .ec("P-256"), configure: {
            $0.requestClientCertificate = true
            $0.requireClientCertificate = true
        }, clientArgs: ["-cert", clientFiles.certFile, "-cert_chain", clientFiles.chainFile, "-key", clientFiles.keyFile])
        XCTAssertEqual(driver.summary?.peerCertificateChain.first, clientFiles.cert.der)
    }

    func testOpenSSLResumesWithOurTicket() throws {
        let files = try fixtures.leafFiles("server", key: .ec("P-256"))
        var config = try fixtures.serverConfiguration(files.credential)
        InteropFixtures.allowPeerWithoutTransportParameters(&config)
        let listener = try TCPListener()
        let session = fixtures.pki.directory.appendingPathComponent("session.pem").path
        for round in 0..<2 {
            let args = round == 0 ? ["-sess_out", session] : ["-sess_in", session]
            let client = try fixtures.startClient(port: listener.port, extra: args)
            defer { client.stop() }
            let connection: TCPConnection
            do {
                connection = try listener.accept(within: 10)
            } catch {
                client.stop()
                XCTFail("round \(round): s_client did not connect: \(client.output)")
                throw error
            }
            let driver = RecordLayerDriver(configuration: config, connection: connection)
            try driver.runHandshake()
            XCTAssertEqual(driver.summary?.resumed, round == 1)
            if round == 0 { try driver.sendSessionTicket() }
            try driver.send("round \(round)\n")
            try driver.close()
            driver.stream.connection.shutdownWrite()
            XCTAssertTrue(client.waitForExit(within: 10), client.output)
            XCTAssertTrue(client.output.contains(round == 0 ? "New, TLSv1.3" : "Reused, TLSv1.3"), client.output)
        }
    }
}
