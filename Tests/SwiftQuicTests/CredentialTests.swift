// ConfigurationLoadCredential: types, flags, loading errors and LOAD_ASYNCHRONOUS.

import CMsQuic
import Foundation
import XCTest

final class CredentialTests: XCTestCase {
    var quic: Quic!
    var registration: HQUIC!
    var configuration: HQUIC!

    override func setUp() {
        quic = Quic()
        registration = quic.registration()
        configuration = quic.configuration(registration)
    }

    override func tearDown() {
        quic.api.ConfigurationClose!(configuration)
        quic.api.RegistrationClose!(registration)
        quic.close()
        quic = nil
    }

    private func load(_ config: inout QUIC_CREDENTIAL_CONFIG, into handle: HQUIC? = nil) -> UInt32 {
        quic.api.ConfigurationLoadCredential!(handle ?? configuration, &config)
    }

    /// Loads PEM files (optionally with a password) as a server.
    private func loadPEM(cert: String, key: String, password: String? = nil, flags: UInt32 = 0) throws -> UInt32 {
        let certPath = try Certs.path(cert), keyPath = try Certs.path(key)
        return certPath.withCString { c in
            keyPath.withCString { k in
                var config = QUIC_CREDENTIAL_CONFIG()
                config.Flags = QUIC_CREDENTIAL_FLAGS(rawValue: flags)
                if let password {
                    return password.withCString { p in
                        var file = QUIC_CERTIFICATE_FILE_PROTECTED(PrivateKeyFile: k, CertificateFile: c, PrivateKeyPassword: p)
                        config.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE_PROTECTED
                        return withUnsafeMutablePointer(to: &file) { config.CertificateFileProtected = $0; return load(&config) }
                    }
                }
                var file = QUIC_CERTIFICATE_FILE(PrivateKeyFile: k, CertificateFile: c)
                config.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE
                return withUnsafeMutablePointer(to: &file) { config.CertificateFile = $0; return load(&config) }
            }
        }
    }

    private func loadPKCS12(_ name: String, password: String?) throws -> UInt32 {
        let blob = try [UInt8](Data(contentsOf: URL(fileURLWithPath: try Certs.path(name))))
        return blob.withUnsafeBufferPointer { bytes in
            func go(_ p: UnsafePointer<CChar>?) -> UInt32 {
                var pkcs12 = QUIC_CERTIFICATE_PKCS12(Asn1Blob: bytes.baseAddress, Asn1BlobLength: UInt32(bytes.count), PrivateKeyPassword: p)
                var config = QUIC_CREDENTIAL_CONFIG()
                config.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_PKCS12
                return withUnsafeMutablePointer(to: &pkcs12) { config.CertificatePkcs12 = $0; return load(&config) }
            }
            if let password { return password.withCString { go($0) } }
            return go(nil)
        }
    }

    func testServerCertificateFiles() throws {
        XCTAssertEqual(try loadPEM(cert: "rsa2048.crt", key: "rsa2048.key"), S.success)
        XCTAssertEqual(try loadPEM(cert: "ecdsa-p256.crt", key: "ecdsa-p256.key"), S.success)
        XCTAssertEqual(try loadPEM(cert: "ed25519.crt", key: "ed25519.key"), S.success)
        XCTAssertEqual(try loadPEM(cert: "server.crt", key: "server.key"), S.success)
    }

    func testLoadingFailuresAreTlsError() throws {
        XCTAssertEqual(try loadPEM(cert: "missing.crt", key: "server.key"), S.tlsError)
        XCTAssertEqual(try loadPEM(cert: "server.crt", key: "missing.key"), S.tlsError)
        XCTAssertEqual(try loadPEM(cert: "server.crt", key: "other.key"), S.tlsError, "key does not match")
        XCTAssertEqual(try loadPEM(cert: "encrypted-key.crt", key: "encrypted-key.pem"), S.tlsError, "no password")
        XCTAssertEqual(try loadPEM(cert: "encrypted-key.crt", key: "encrypted-key.pem", password: "wrong"), S.tlsError)
        XCTAssertEqual(try loadPEM(cert: "encrypted-key.crt", key: "encrypted-key.pem", password: "swiftquic"), S.success)
        XCTAssertEqual(try loadPKCS12("cert.p12", password: "swiftquic"), S.success)
        XCTAssertEqual(try loadPKCS12("cert.p12", password: "wrong"), S.tlsError)
        XCTAssertEqual(try loadPKCS12("cert-nopass.p12", password: nil), S.success)
        // Bytes that are no PKCS#12 at all.
        let junk = UnsafeMutablePointer<UInt8>.allocate(capacity: 4)
        junk.initialize(from: [1, 2, 3, 4], count: 4)
        let pkcs12 = UnsafeMutablePointer<QUIC_CERTIFICATE_PKCS12>.allocate(capacity: 1)
        pkcs12.initialize(to: QUIC_CERTIFICATE_PKCS12(Asn1Blob: junk, Asn1BlobLength: 4, PrivateKeyPassword: nil))
        defer { junk.deallocate(); pkcs12.deallocate() }
        var config = QUIC_CREDENTIAL_CONFIG()
        config.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_PKCS12
        config.CertificatePkcs12 = pkcs12
        XCTAssertEqual(load(&config), S.tlsError)
    }

    func testTypeAndMemberChecks() {
        var config = QUIC_CREDENTIAL_CONFIG()
        XCTAssertEqual(quic.api.ConfigurationLoadCredential!(configuration, nil), S.invalidParameter)
        config.Type = QUIC_CREDENTIAL_TYPE_NONE
        XCTAssertEqual(load(&config), S.invalidParameter, "a server needs a certificate")
        config.Flags = QUIC_CREDENTIAL_FLAG_CLIENT
        XCTAssertEqual(load(&config), S.success, "a client may have none")
        for windowsOnly in [QUIC_CREDENTIAL_TYPE_CERTIFICATE_HASH, QUIC_CREDENTIAL_TYPE_CERTIFICATE_HASH_STORE,
                            QUIC_CREDENTIAL_TYPE_CERTIFICATE_CONTEXT] {
            config.Type = windowsOnly
            XCTAssertEqual(load(&config), S.notSupported)
        }
        config.Type = QUIC_CREDENTIAL_TYPE(rawValue: 77)
        XCTAssertEqual(load(&config), S.notSupported)
        config.Flags = QUIC_CREDENTIAL_FLAG_NONE
        for type in [QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE, QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE_PROTECTED,
                     QUIC_CREDENTIAL_TYPE_CERTIFICATE_PKCS12] {
            config.Type = type
            config.CertificateFile = nil
            XCTAssertEqual(load(&config), S.invalidParameter, "NULL member")
        }
        "k".withCString { k in
            var file = QUIC_CERTIFICATE_FILE_PROTECTED(PrivateKeyFile: k, CertificateFile: k, PrivateKeyPassword: nil)
            config.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE_PROTECTED
            withUnsafeMutablePointer(to: &file) { config.CertificateFileProtected = $0
                XCTAssertEqual(load(&config), S.invalidParameter, "NULL password")
            }
        }
    }

    func testFlagChecks() {
        var config = QUIC_CREDENTIAL_CONFIG()
        config.Type = QUIC_CREDENTIAL_TYPE_NONE
        let client = QUIC_CREDENTIAL_FLAG_CLIENT.rawValue
        func flags(_ f: UInt32) -> UInt32 {
            config.Flags = QUIC_CREDENTIAL_FLAGS(rawValue: client | f)
            return load(&config)
        }
        XCTAssertEqual(flags(QUIC_CREDENTIAL_FLAG_ENABLE_OCSP.rawValue), S.notSupported)
        XCTAssertEqual(flags(QUIC_CREDENTIAL_FLAG_USE_SUPPLIED_CREDENTIALS.rawValue), S.notSupported)
        XCTAssertEqual(flags(QUIC_CREDENTIAL_FLAG_USE_SYSTEM_MAPPER.rawValue), S.notSupported)
        XCTAssertEqual(flags(QUIC_CREDENTIAL_FLAG_INPROC_PEER_CERTIFICATE.rawValue), S.notSupported)
        XCTAssertEqual(flags(QUIC_CREDENTIAL_FLAG_DEFER_CERTIFICATE_VALIDATION.rawValue), S.invalidParameter)
        XCTAssertEqual(flags(QUIC_CREDENTIAL_FLAG_DEFER_CERTIFICATE_VALIDATION.rawValue
                             | QUIC_CREDENTIAL_FLAG_INDICATE_CERTIFICATE_RECEIVED.rawValue), S.success)
        XCTAssertEqual(flags(QUIC_CREDENTIAL_FLAG_USE_TLS_BUILTIN_CERTIFICATE_VALIDATION.rawValue), S.success)
        XCTAssertEqual(flags(QUIC_CREDENTIAL_FLAG_USE_TLS_BUILTIN_CERTIFICATE_VALIDATION.rawValue
                             | QUIC_CREDENTIAL_FLAG_REVOCATION_CHECK_CHAIN.rawValue), S.invalidParameter)
        // On Linux MsQuic always validates with the built-in code: revocation flags are refused
        // even without USE_TLS_BUILTIN_CERTIFICATE_VALIDATION.
        for revocation in [QUIC_CREDENTIAL_FLAG_REVOCATION_CHECK_END_CERT, QUIC_CREDENTIAL_FLAG_REVOCATION_CHECK_CHAIN,
                           QUIC_CREDENTIAL_FLAG_REVOCATION_CHECK_CHAIN_EXCLUDE_ROOT,
                           QUIC_CREDENTIAL_FLAG_IGNORE_NO_REVOCATION_CHECK,
                           QUIC_CREDENTIAL_FLAG_IGNORE_REVOCATION_OFFLINE,
                           QUIC_CREDENTIAL_FLAG_CACHE_ONLY_URL_RETRIEVAL,
                           QUIC_CREDENTIAL_FLAG_REVOCATION_CHECK_CACHE_ONLY, QUIC_CREDENTIAL_FLAG_DISABLE_AIA] {
            XCTAssertEqual(flags(revocation.rawValue), S.invalidParameter, "revocation flag \(revocation.rawValue)")
        }
        XCTAssertEqual(flags(QUIC_CREDENTIAL_FLAG_NO_CERTIFICATE_VALIDATION.rawValue
                             | QUIC_CREDENTIAL_FLAG_USE_PORTABLE_CERTIFICATES.rawValue), S.success)
        XCTAssertEqual(flags(QUIC_CREDENTIAL_FLAG_LOAD_ASYNCHRONOUS.rawValue), S.invalidParameter, "no AsyncHandler")
        config.AllowedCipherSuites = QUIC_ALLOWED_CIPHER_SUITE_NONE
        XCTAssertEqual(flags(QUIC_CREDENTIAL_FLAG_SET_ALLOWED_CIPHER_SUITES.rawValue), S.invalidParameter)
        config.AllowedCipherSuites = QUIC_ALLOWED_CIPHER_SUITE_FLAGS(rawValue: 8)
        XCTAssertEqual(flags(QUIC_CREDENTIAL_FLAG_SET_ALLOWED_CIPHER_SUITES.rawValue), S.invalidParameter)
        config.AllowedCipherSuites = QUIC_ALLOWED_CIPHER_SUITE_AES_256_GCM_SHA384
        XCTAssertEqual(flags(QUIC_CREDENTIAL_FLAG_SET_ALLOWED_CIPHER_SUITES.rawValue), S.success)
        config.Reserved = UnsafeMutableRawPointer(bitPattern: 1)
        XCTAssertEqual(flags(0), S.invalidParameter, "Reserved must be NULL")
    }

    func testCaCertificateFile() throws {
        let ca = try Certs.path("ca.crt")
        var config = QUIC_CREDENTIAL_CONFIG()
        config.Type = QUIC_CREDENTIAL_TYPE_NONE
        config.Flags = QUIC_CREDENTIAL_FLAGS(rawValue: QUIC_CREDENTIAL_FLAG_CLIENT.rawValue
                                             | QUIC_CREDENTIAL_FLAG_SET_CA_CERTIFICATE_FILE.rawValue)
        XCTAssertEqual(ca.withCString { config.CaCertificateFile = $0; return load(&config) }, S.success)
        XCTAssertEqual("/nonexistent/ca.pem".withCString { config.CaCertificateFile = $0; return load(&config) }, S.tlsError)
    }

    func testTicketKeysNeedAServerCredential() throws {
        var keys = [QUIC_TICKET_KEY_CONFIG](repeating: QUIC_TICKET_KEY_CONFIG(), count: 2)
        keys[0].MaterialLength = 64
        keys[1].MaterialLength = 32
        let size = UInt32(MemoryLayout<QUIC_TICKET_KEY_CONFIG>.stride * 2)
        XCTAssertEqual(MemoryLayout<QUIC_TICKET_KEY_CONFIG>.stride, 81)
        let param = UInt32(QUIC_PARAM_CONFIGURATION_TICKET_KEYS)
        XCTAssertEqual(quic.api.SetParam!(configuration, param, size, &keys), S.invalidState, "no credential yet")
        XCTAssertEqual(try loadPEM(cert: "server.crt", key: "server.key"), S.success)
        XCTAssertEqual(quic.api.SetParam!(configuration, param, 80, &keys), S.invalidParameter, "shorter than one key")
        XCTAssertEqual(quic.api.SetParam!(configuration, param, size, nil), S.invalidParameter)
        XCTAssertEqual(quic.api.SetParam!(configuration, param, size, &keys), S.success)
        keys[1].MaterialLength = 65
        XCTAssertEqual(quic.api.SetParam!(configuration, param, size, &keys), S.invalidParameter)
        var length: UInt32 = size
        XCTAssertEqual(quic.api.GetParam!(configuration, param, &length, &keys), S.invalidParameter, "set-only")
        // A client credential has no tickets to issue.
        var config = QUIC_CREDENTIAL_CONFIG()
        config.Type = QUIC_CREDENTIAL_TYPE_NONE
        config.Flags = QUIC_CREDENTIAL_FLAG_CLIENT
        XCTAssertEqual(load(&config), S.success)
        keys[1].MaterialLength = 32
        XCTAssertEqual(quic.api.SetParam!(configuration, param, size, &keys), S.notSupported)
    }

    /// The state the async handler reports into.
    final class AsyncResult: @unchecked Sendable {
        let lock = NSLock()
        var status: UInt32?
        var configuration: HQUIC?
        var context: UnsafeMutableRawPointer?
        var onCallerThread = true
        let done = DispatchSemaphore(value: 0)
        var caller: pthread_t = pthread_self()
    }
    nonisolated(unsafe) static var current: AsyncResult?

    private func loadAsync(cert: String, key: String) throws -> (UInt32, AsyncResult) {
        let result = AsyncResult()
        CredentialTests.current = result
        quic.api.SetContext!(configuration, Unmanaged.passUnretained(result).toOpaque())
        let certPath = try Certs.path(cert), keyPath = try Certs.path(key)
        let status = certPath.withCString { c in
            keyPath.withCString { k in
                var file = QUIC_CERTIFICATE_FILE(PrivateKeyFile: k, CertificateFile: c)
                var config = QUIC_CREDENTIAL_CONFIG()
                config.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE
                config.Flags = QUIC_CREDENTIAL_FLAG_LOAD_ASYNCHRONOUS
                config.AsyncHandler = { configuration, context, status in
                    let result = Unmanaged<AsyncResult>.fromOpaque(context!).takeUnretainedValue()
                    result.lock.lock()
                    result.status = status
                    result.configuration = configuration
                    result.context = context
                    result.onCallerThread = pthread_equal(pthread_self(), result.caller) != 0
                    result.lock.unlock()
                    result.done.signal()
                }
                return withUnsafeMutablePointer(to: &file) { config.CertificateFile = $0; return load(&config) }
            }
        }
        return (status, result)
    }

    func testLoadAsynchronousReportsFromAnotherThread() throws {
        let (status, result) = try loadAsync(cert: "server.crt", key: "server.key")
        XCTAssertEqual(status, S.pending)
        XCTAssertEqual(result.done.wait(timeout: .now() + 10), .success)
        result.lock.lock(); defer { result.lock.unlock() }
        XCTAssertEqual(result.status, S.success)
        XCTAssertEqual(result.configuration, configuration)
        XCTAssertEqual(result.context, Unmanaged.passUnretained(result).toOpaque())
        XCTAssertFalse(result.onCallerThread)
    }

    func testLoadAsynchronousReportsFailure() throws {
        let (status, result) = try loadAsync(cert: "server.crt", key: "other.key")
        XCTAssertEqual(status, S.pending)
        XCTAssertEqual(result.done.wait(timeout: .now() + 10), .success)
        result.lock.lock(); defer { result.lock.unlock() }
        XCTAssertEqual(result.status, S.tlsError)
    }
}
