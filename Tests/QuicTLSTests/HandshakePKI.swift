import Foundation
import XCTest
@testable import QuicTLS

/// Keys and certificates generated once per test run with the `openssl` tool in a temp dir:
/// a CA, server leaves for every key type, a client leaf, plus odd ones for failure tests.
final class HandshakePKI: @unchecked Sendable {
    static let shared: HandshakePKI = HandshakePKI()

    let dir: URL
    private var cache: [String: TLSCredential] = [:]
    private let lock = NSLock()

    private init() {
        dir = HandshakePKI.directory()
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        // The keys and certificates go away with the test process.
        atexit { try? FileManager.default.removeItem(at: HandshakePKI.directory()) }
        openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key"])
        openssl(["req", "-x509", "-new", "-key", "ca.key", "-sha256", "-days", "30", "-subj", "/CN=QuicTLS Test CA",
                 "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                 "-out", "ca.pem"])
        openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "other-ca.key"])
        openssl(["req", "-x509", "-new", "-key", "other-ca.key", "-sha256", "-days", "30", "-subj", "/CN=Other CA",
                 "-addext", "basicConstraints=critical,CA:TRUE", "-out", "other-ca.pem"])
    }

    static func directory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("quictls-pki-\(getpid())")
    }

    @discardableResult
    func openssl(_ args: [String]) -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        p.arguments = args
        p.currentDirectoryURL = dir
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try? p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }

    enum KeyType: String, CaseIterable {
        case p256, p384, rsa, ed25519
        var genArgs: [String] {
            switch self {
            case .p256: return ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]
            case .p384: return ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"]
            case .rsa: return ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]
            case .ed25519: return ["genpkey", "-algorithm", "ED25519"]
            }
        }
    }

    /// A leaf signed by `ca` ("ca" or "other-ca"), with SAN `dns`, valid for `days`
    /// (negative: already expired), with optional extra extensions.
    func credential(_ name: String, key: KeyType = .p256, dns: String = "localhost", ca: String = "ca",
                    expired: Bool = false, extendedKeyUsage: String = "serverAuth,clientAuth") throws -> TLSCredential {
        lock.lock(); defer { lock.unlock() }
        if let c = cache[name] { return c }
        openssl(key.genArgs + ["-out", "\(name).key"])
        openssl(["req", "-new", "-key", "\(name).key", "-subj", "/CN=\(dns)", "-out", "\(name).csr"])
        let ext = "subjectAltName=DNS:\(dns)\nextendedKeyUsage=\(extendedKeyUsage)\nbasicConstraints=CA:FALSE\n"
        try ext.write(to: dir.appendingPathComponent("\(name).ext"), atomically: true, encoding: .utf8)
        var args = ["x509", "-req", "-in", "\(name).csr", "-CA", "\(ca).pem", "-CAkey", "\(ca).key", "-CAcreateserial",
                    "-extfile", "\(name).ext", "-out", "\(name).pem"]
        // `-days -1` gives a certificate whose validity ended a day ago.
        args += ["-days", expired ? "-1" : "30"]
        guard openssl(args) == 0 else { throw NSError(domain: "pki", code: 1) }
        let c = try TLSCredential.loadPEM(certificateFile: path("\(name).pem"), privateKeyFile: path("\(name).key"), password: nil)
        cache[name] = c
        return c
    }

    func path(_ file: String) -> String { dir.appendingPathComponent(file).path }
}
