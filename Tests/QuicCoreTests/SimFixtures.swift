import Foundation
import XCTest
@testable import QuicCore
import QuicTLS
import QuicCrypto
import QuicWire

/// A self-signed server certificate made once per test run with the `openssl` tool.
enum SimPKI {
    static let credential: TLSCredential = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("quiccore-pki-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        p.arguments = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                       "-keyout", dir.appendingPathComponent("key.pem").path, "-out", dir.appendingPathComponent("cert.pem").path,
                       "-days", "30", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try? p.run()
        p.waitUntilExit()
        defer { try? FileManager.default.removeItem(at: dir) }
        return try! TLSCredential.loadPEM(certificateFile: dir.appendingPathComponent("cert.pem").path,
                                          privateKeyFile: dir.appendingPathComponent("key.pem").path, password: nil)
    }()
}

enum SimConfigs {
    static let alpn: [[UInt8]] = [Array("sim".utf8)]

    static func client(versions: [QuicVersion] = [.v1], suites: [CipherSuite]? = nil) -> ConnectionConfiguration {
        var tls = TLSConfiguration(role: .client, alpnProtocols: alpn, serverName: "localhost")
        tls.skipCertificateValidation = true
        if let suites { tls.cipherSuites = suites }
        var c = ConnectionConfiguration(tls: tls)
        c.versions = versions
        return c
    }

    static func server(suites: [CipherSuite]? = nil) -> ConnectionConfiguration {
        var tls = TLSConfiguration(role: .server, alpnProtocols: alpn, credential: SimPKI.credential)
        if let suites { tls.cipherSuites = suites }
        return ConnectionConfiguration(tls: tls)
    }

    static func network(seed: UInt64 = 1, server: ConnectionConfiguration = SimConfigs.server(),
                        configure: (inout EndpointConfiguration) -> Void = { _ in }) -> SimNetwork {
        var e = EndpointConfiguration(server: server)
        configure(&e)
        return SimNetwork(seed: seed, server: e)
    }
}

extension Array where Element == ConnectionEvent {
    var connected: Bool { contains { if case .connected = $0 { return true }; return false } }
    var shutdownComplete: Bool { contains { if case .shutdownComplete = $0 { return true }; return false } }
    var transportClose: ConnectionCloseReason? {
        for e in self { if case .shutdownInitiatedByTransport(let r) = e { return r } }
        return nil
    }
}
