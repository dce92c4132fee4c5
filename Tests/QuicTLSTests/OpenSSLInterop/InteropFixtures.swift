import Foundation
import QuicCrypto
import QuicTLS

/// Files and configurations shared by the OpenSSL interop tests.
final class InteropFixtures {
    static let alpn = "swiftquic-test"
    /// What `s_server` answers our quic_transport_parameters with (a SERVERINFOV2 entry for
    /// extension 0x39 in EncryptedExtensions; OpenSSL only sends it because our ClientHello
    /// carries the extension). Its content is opaque to TLS: initial_max_data = 1024.
    static let serverTransportParameters: [UInt8] = [0x04, 0x02, 0x44, 0x00]
    /// Our quic_transport_parameters towards `s_server` must be empty: OpenSSL's serverinfo
    /// extension handler answers only an empty client extension (decode_error otherwise).
    static let clientTransportParameters: [UInt8] = []

    let pki: TestPKI
    let rootFile: String
    let serverInfoFile: String

    init() throws {
        pki = try TestPKI()
        rootFile = try pki.rootFile()
        // SERVERINFOV2: context (4 bytes: SSL_EXT_CLIENT_HELLO | SSL_EXT_TLS1_3_ENCRYPTED_EXTENSIONS),
        // extension type, length, data.
        let tp = InteropFixtures.serverTransportParameters
        let blob: [UInt8] = [0, 0, 0x04, 0x80, 0x00, 0x39, 0x00, UInt8(tp.count)] + tp
        serverInfoFile = try pki.write("serverinfo.pem", "-----BEGIN SERVERINFOV2 FOR QUIC-----\n"
            + Data(blob).base64EncodedString() + "\n-----END SERVERINFOV2 FOR QUIC-----\n")
    }

    /// A leaf (signed by the intermediate) written as cert/chain/key files; returns the
    /// certificate, the files and the loaded credential.
    func leafFiles(_ name: String, key: TestKey, eku: String = "serverAuth") throws
        -> (cert: TestCertificate, certFile: String, chainFile: String, keyFile: String, credential: TLSCredential) {
        let leaf = pki.serverLeaf(key: key, eku: eku)
        let certFile = try pki.write("\(name).pem", leaf.pem)
        let chainFile = try pki.write("\(name)-chain.pem", pki.intermediate.pem)
        let keyFile = try pki.write("\(name)-key.pem", key.pem)
        let fullChain = try pki.write("\(name)-full.pem", leaf.pem + pki.intermediate.pem)
        let credential = try TLSCredential.loadPEM(certificateFile: fullChain, privateKeyFile: keyFile, password: nil)
        return (leaf, certFile, chainFile, keyFile, credential)
    }

    func clientConfiguration(serverName: String? = "localhost") -> TLSConfiguration {
        var c = TLSConfiguration(role: .client, alpnProtocols: [Array(InteropFixtures.alpn.utf8)],
                                 serverName: serverName, transportParameters: InteropFixtures.clientTransportParameters)
        c.trustedCAFile = rootFile
        return c
    }

    /// Starts `openssl s_server` for one or more connections with the given leaf and extra arguments.
    func startServer(certFile: String, chainFile: String, keyFile: String, accepts: Int = 1,
                     extra: [String] = []) throws -> (OpenSSLProcess, UInt16) {
        let server = try OpenSSLProcess(["s_server", "-tls1_3", "-accept", "127.0.0.1:0",
                                         "-naccept", "\(accepts)", "-cert", certFile, "-cert_chain", chainFile,
                                         "-key", keyFile, "-alpn", InteropFixtures.alpn,
                                         "-serverinfo", serverInfoFile] + extra)
        guard let port = server.acceptedPort() else {
            server.stop()
            throw RecordLayerError("s_server did not start: \(server.output)")
        }
        return (server, port)
    }
}

extension InteropFixtures {
    /// A plain TLS 1.3 peer such as `s_client` knows nothing of quic_transport_parameters
    /// (RFC 9001 §8.2 makes the extension mandatory for QUIC), and `s_server` only sends
    /// it on full handshakes: tests against such a peer switch the requirement off.
    static func allowPeerWithoutTransportParameters(_ config: inout TLSConfiguration) {
        config.requirePeerTransportParameters = false
    }

    /// A server configuration with `leaf`'s credential and a random ticket key.
    func serverConfiguration(_ credential: TLSCredential) throws -> TLSConfiguration {
        var s = TLSConfiguration(role: .server, alpnProtocols: [Array(InteropFixtures.alpn.utf8)],
                                 credential: credential, transportParameters: InteropFixtures.serverTransportParameters)
        s.ticketSealer = try TicketKeyRing.makeDefault()
        s.trustedCAFile = rootFile
        return s
    }

    /// Starts `openssl s_client` towards `port` (no middlebox compatibility mode, so an
    /// empty legacy_session_id as QUIC requires, RFC 9001 §8.4).
    func startClient(port: UInt16, extra: [String] = []) throws -> OpenSSLProcess {
        try OpenSSLProcess(["s_client", "-tls1_3", "-connect", "127.0.0.1:\(port)", "-servername", "localhost",
                            "-no_middlebox", "-alpn", InteropFixtures.alpn, "-CAfile", rootFile,
                            "-verify_return_error", "-ign_eof"] + extra, directory: pki.directory)
    }
}
