// ConfigurationLoadCredential: QUIC_CREDENTIAL_CONFIG checked the way MsQuic's OpenSSL TLS
// provider checks it (src/platform/tls_openssl.c, CxPlatTlsSecConfigCreate), then the
// certificate and key loaded through QuicTLS.TLSCredential.
//
// Statuses (facts of MsQuic's OpenSSL provider):
//   - NULL handle / config, or not a configuration handle     -> INVALID_PARAMETER
//   - LOAD_ASYNCHRONOUS without AsyncHandler                   -> INVALID_PARAMETER
//   - ENABLE_OCSP, USE_SUPPLIED_CREDENTIALS, USE_SYSTEM_MAPPER,
//     INPROC_PEER_CERTIFICATE (Schannel features)              -> NOT_SUPPORTED
//   - DEFER_CERTIFICATE_VALIDATION without
//     INDICATE_CERTIFICATE_RECEIVED                            -> INVALID_PARAMETER
//   - a revocation flag (REVOCATION_CHECK_*, IGNORE_*_REVOCATION*,
//     CACHE_ONLY_URL_RETRIEVAL, DISABLE_AIA): on Linux MsQuic
//     always adds USE_TLS_BUILTIN_CERTIFICATE_VALIDATION
//     (CX_PLATFORM_USES_TLS_BUILTIN_CERTIFICATE), which refuses
//     them                                                     -> INVALID_PARAMETER
//   - Reserved != NULL                                         -> INVALID_PARAMETER
//   - CERTIFICATE_FILE(_PROTECTED)/PKCS12 with a NULL member
//     (or an empty PKCS#12 blob)                               -> INVALID_PARAMETER
//   - CERTIFICATE_HASH, _HASH_STORE, _CONTEXT (Windows only),
//     unknown type                                             -> NOT_SUPPORTED
//   - TYPE_NONE for a server                                   -> INVALID_PARAMETER
//   - SET_ALLOWED_CIPHER_SUITES naming no known suite          -> INVALID_PARAMETER
//   - a file that is missing or unreadable, a wrong password,
//     a key that does not match the certificate, a bad PKCS#12
//     blob, an unusable CA file: OpenSSL fails to load it      -> TLS_ERROR
// With LOAD_ASYNCHRONOUS the checks above still answer synchronously; the loading then runs
// on its own thread, the call returns PENDING and AsyncHandler(Configuration, Context, Status)
// reports the outcome from that thread. (MsQuic's OpenSSL provider loads inline and calls the
// handler before returning PENDING; a loading failure there is returned directly instead.)

import CCrypto
import Glibc
import QuicTLS
import Synchronization

/// QUIC_CREDENTIAL_FLAG_* and QUIC_CREDENTIAL_TYPE_* values (msquic.h 2.6.0).
enum CredentialFlag {
    static let client: UInt32 = 0x0000_0001
    static let loadAsynchronous: UInt32 = 0x0000_0002
    static let noCertificateValidation: UInt32 = 0x0000_0004
    static let enableOcsp: UInt32 = 0x0000_0008
    static let indicateCertificateReceived: UInt32 = 0x0000_0010
    static let deferCertificateValidation: UInt32 = 0x0000_0020
    static let requireClientAuthentication: UInt32 = 0x0000_0040
    static let useTlsBuiltinCertificateValidation: UInt32 = 0x0000_0080
    static let revocationCheckEndCert: UInt32 = 0x0000_0100
    static let revocationCheckChain: UInt32 = 0x0000_0200
    static let revocationCheckChainExcludeRoot: UInt32 = 0x0000_0400
    static let ignoreNoRevocationCheck: UInt32 = 0x0000_0800
    static let ignoreRevocationOffline: UInt32 = 0x0000_1000
    static let setAllowedCipherSuites: UInt32 = 0x0000_2000
    static let usePortableCertificates: UInt32 = 0x0000_4000
    static let useSuppliedCredentials: UInt32 = 0x0000_8000
    static let useSystemMapper: UInt32 = 0x0001_0000
    static let cacheOnlyUrlRetrieval: UInt32 = 0x0002_0000
    static let revocationCheckCacheOnly: UInt32 = 0x0004_0000
    static let inprocPeerCertificate: UInt32 = 0x0008_0000
    static let setCaCertificateFile: UInt32 = 0x0010_0000
    static let disableAia: UInt32 = 0x0020_0000

    static let revocationFlags: UInt32 = revocationCheckEndCert | revocationCheckChain
        | revocationCheckChainExcludeRoot | ignoreNoRevocationCheck | ignoreRevocationOffline
        | cacheOnlyUrlRetrieval | revocationCheckCacheOnly | disableAia
    static let schannelOnly: UInt32 = enableOcsp | useSuppliedCredentials | useSystemMapper
        | inprocPeerCertificate
}

enum CredentialType {
    static let none: UInt32 = 0
    static let certificateHash: UInt32 = 1
    static let certificateHashStore: UInt32 = 2
    static let certificateContext: UInt32 = 3
    static let certificateFile: UInt32 = 4
    static let certificateFileProtected: UInt32 = 5
    static let certificatePkcs12: UInt32 = 6
}

/// QUIC_ALLOWED_CIPHER_SUITE_* (RFC 8446 §B.4 suites usable by QUIC, RFC 9001 §5.3).
enum AllowedCipherSuite {
    static let aes128GcmSha256: UInt32 = 1
    static let aes256GcmSha384: UInt32 = 2
    static let chacha20Poly1305Sha256: UInt32 = 4
    static let all: UInt32 = 7
}

/// What a configuration keeps from a successful ConfigurationLoadCredential, for the TLS
/// engine (later work).
///
/// Sendable (unchecked): immutable after the load (every stored property is a `let`; the
/// `TLSCredential` it holds is immutable too).
final class LoadedCredential: @unchecked Sendable {
    let type: UInt32
    let flags: UInt32
    /// Our certificate chain and key (nil for QUIC_CREDENTIAL_TYPE_NONE).
    let certificate: TLSCredential?
    /// Trust anchors from CaCertificateFile (SET_CA_CERTIFICATE_FILE), DER, or nil for the
    /// system store.
    let caCertificates: [[UInt8]]?
    /// Cipher suites the handshake may use (QUIC_ALLOWED_CIPHER_SUITE_* mask).
    let allowedCipherSuites: UInt32
    /// QUIC_CREDENTIAL_CONFIG.Principal, if given.
    let principal: String?

    init(type: UInt32, flags: UInt32, certificate: TLSCredential?, caCertificates: [[UInt8]]?,
         allowedCipherSuites: UInt32, principal: String?) {
        self.type = type
        self.flags = flags
        self.certificate = certificate
        self.caCertificates = caCertificates
        self.allowedCipherSuites = allowedCipherSuites
        self.principal = principal
    }

    var isClient: Bool { flags & CredentialFlag.client != 0 }
    /// The peer's certificate chain is checked by us (RFC 5280 path validation) unless the
    /// application disabled it or will decide itself (DEFER + INDICATE).
    var validatesPeerCertificate: Bool {
        flags & (CredentialFlag.noCertificateValidation | CredentialFlag.deferCertificateValidation) == 0
    }
    var requiresClientAuthentication: Bool { flags & CredentialFlag.requireClientAuthentication != 0 }
    var indicatesCertificateReceived: Bool { flags & CredentialFlag.indicateCertificateReceived != 0 }
    var usesPortableCertificates: Bool { flags & CredentialFlag.usePortableCertificates != 0 }
}

/// A checked QUIC_CREDENTIAL_CONFIG with every string and blob copied, so loading can happen
/// after the application's structure is gone.
struct CredentialRequest: Sendable {
    enum Source: Sendable {
        case none
        case pem(certificateFile: String, privateKeyFile: String, password: String?)
        case pkcs12(blob: [UInt8], password: String?)
    }
    var type: UInt32
    var flags: UInt32
    var source: Source
    var caFile: String?
    var allowedCipherSuites: UInt32
    var principal: String?

    /// Reads and checks the structure. Offsets: Type 0, Flags 4, union 8, Principal 16,
    /// Reserved 24, AsyncHandler 32, AllowedCipherSuites 40, CaCertificateFile 48.
    static func parse(_ config: UnsafeRawPointer) -> Result<CredentialRequest, CredentialStatus> {
        let type = config.load(fromByteOffset: 0, as: UInt32.self)
        let flags = config.load(fromByteOffset: 4, as: UInt32.self)
        let member = config.load(fromByteOffset: 8, as: UnsafeRawPointer?.self)
        let principal = config.load(fromByteOffset: 16, as: UnsafePointer<CChar>?.self)
        let reserved = config.load(fromByteOffset: 24, as: UnsafeRawPointer?.self)
        let asyncHandler = config.load(fromByteOffset: 32, as: UnsafeRawPointer?.self)

        if flags & CredentialFlag.loadAsynchronous != 0 && asyncHandler == nil {
            return .failure(.status(Status.invalidParameter))
        }
        if flags & CredentialFlag.schannelOnly != 0 {
            return .failure(.status(Status.notSupported))
        }
        if flags & CredentialFlag.deferCertificateValidation != 0
            && flags & CredentialFlag.indicateCertificateReceived == 0 {
            return .failure(.status(Status.invalidParameter))   // deferring to nobody
        }
        // MsQuic on Linux validates with the TLS library's built-in code whatever the application
        // asked, so USE_TLS_BUILTIN_CERTIFICATE_VALIDATION counts as set, and it takes no
        // revocation flag.
        if flags & CredentialFlag.revocationFlags != 0 {
            return .failure(.status(Status.invalidParameter))
        }
        if reserved != nil { return .failure(.status(Status.invalidParameter)) }

        func string(_ base: UnsafeRawPointer, _ offset: Int) -> String? {
            base.load(fromByteOffset: offset, as: UnsafePointer<CChar>?.self).map { String(cString: $0) }
        }
        var source = Source.none
        switch type {
        case CredentialType.certificateFile:
            // QUIC_CERTIFICATE_FILE: PrivateKeyFile 0, CertificateFile 8.
            guard let member, let key = string(member, 0), let cert = string(member, 8) else {
                return .failure(.status(Status.invalidParameter))
            }
            source = .pem(certificateFile: cert, privateKeyFile: key, password: nil)
        case CredentialType.certificateFileProtected:
            // QUIC_CERTIFICATE_FILE_PROTECTED: PrivateKeyFile 0, CertificateFile 8, PrivateKeyPassword 16.
            guard let member, let key = string(member, 0), let cert = string(member, 8),
                  let password = string(member, 16) else {
                return .failure(.status(Status.invalidParameter))
            }
            source = .pem(certificateFile: cert, privateKeyFile: key, password: password)
        case CredentialType.certificatePkcs12:
            // QUIC_CERTIFICATE_PKCS12: Asn1Blob 0, Asn1BlobLength 8, PrivateKeyPassword 16.
            guard let member,
                  let blob = member.load(fromByteOffset: 0, as: UnsafePointer<UInt8>?.self) else {
                return .failure(.status(Status.invalidParameter))
            }
            let length = Int(member.load(fromByteOffset: 8, as: UInt32.self))
            guard length > 0 else { return .failure(.status(Status.invalidParameter)) }
            source = .pkcs12(blob: Array(UnsafeBufferPointer(start: blob, count: length)),
                             password: string(member, 16))
        case CredentialType.certificateHash, CredentialType.certificateHashStore,
             CredentialType.certificateContext:
            return .failure(.status(Status.notSupported))        // Windows certificate stores
        case CredentialType.none:
            // A server must present a certificate (RFC 8446 §4.4.2).
            guard flags & CredentialFlag.client != 0 else {
                return .failure(.status(Status.invalidParameter))
            }
        default:
            return .failure(.status(Status.notSupported))
        }

        var allowed = AllowedCipherSuite.all
        if flags & CredentialFlag.setAllowedCipherSuites != 0 {
            allowed = config.load(fromByteOffset: 40, as: UInt32.self) & AllowedCipherSuite.all
            guard allowed != 0 else { return .failure(.status(Status.invalidParameter)) }
        }
        var caFile: String? = nil
        if flags & CredentialFlag.setCaCertificateFile != 0 {
            caFile = string(config, 48)
        }
        return .success(CredentialRequest(type: type, flags: flags, source: source, caFile: caFile,
                                          allowedCipherSuites: allowed,
                                          principal: principal.map { String(cString: $0) }))
    }

    /// Loads the certificate, key and trust anchors. Any failure is QUIC_STATUS_TLS_ERROR, as
    /// OpenSSL's failures are in MsQuic.
    func load() -> Result<LoadedCredential, CredentialStatus> {
        let certificate: TLSCredential?
        do {
            switch source {
            case .none:
                certificate = nil
            case .pem(let certificateFile, let privateKeyFile, let password):
                certificate = try TLSCredential.loadPEM(certificateFile: certificateFile,
                                                        privateKeyFile: privateKeyFile, password: password)
            case .pkcs12(let blob, let password):
                certificate = try TLSCredential.loadPKCS12(blob, password: password)
            }
        } catch {
            // CredentialError says which (missing file, password, key mismatch, bad data); at the
            // API every one of them is TLS_ERROR.
            return .failure(.loadFailed)
        }
        var anchors: [[UInt8]]? = nil
        if let caFile {
            guard let loaded = CertificateFile.loadCertificates(caFile), !loaded.isEmpty else {
                return .failure(.loadFailed)
            }
            anchors = loaded
        }
        return .success(LoadedCredential(type: type, flags: flags, certificate: certificate,
                                         caCertificates: anchors,
                                         allowedCipherSuites: allowedCipherSuites, principal: principal))
    }
}

enum CredentialStatus: Error {
    case status(QuicStatus)
    /// Loading failed (TLS_ERROR).
    case loadFailed

    var quicStatus: QuicStatus {
        switch self {
        case .status(let s): return s
        case .loadFailed: return Status.tlsError
        }
    }
}

/// PEM certificate files (CA bundles) through libcrypto.
enum CertificateFile {
    /// Every certificate of a PEM file as DER, or nil if the file cannot be opened.
    static func loadCertificates(_ path: String) -> [[UInt8]]? {
        guard let bio = BIO_new_file(path, "rb") else {
            ERR_clear_error()
            return nil
        }
        defer { BIO_free(bio) }
        var certificates: [[UInt8]] = []
        while let cert = PEM_read_bio_X509(bio, nil, nil, nil) {
            certificates.append(TLSCredential.der(of: cert))
            X509_free(cert)
        }
        ERR_clear_error()
        return certificates
    }
}

extension Api {
    /// QUIC_CONFIGURATION_LOAD_CREDENTIAL_FN.
    static func configurationLoadCredential(_ handle: OpaquePointer?, _ config: UnsafeRawPointer?) -> QuicStatus {
        guard let configuration = Handles.object(handle, as: Configuration.self), let config else {
            return Status.invalidParameter
        }
        let request: CredentialRequest
        switch CredentialRequest.parse(config) {
        case .failure(let failure): return failure.quicStatus
        case .success(let parsed): request = parsed
        }
        if request.flags & CredentialFlag.loadAsynchronous != 0 {
            let handler = config.load(fromByteOffset: 32, as: CredentialLoadHandler.self)
            guard let handler else { return Status.invalidParameter }
            configuration.state.withLock { $0.credentialLoadPending = true }
            guard AsyncCredentialLoad.start(configuration: configuration, request: request,
                                            handler: handler) else {
                configuration.state.withLock { $0.credentialLoadPending = false }
                return Status.outOfMemory
            }
            return Status.pending
        }
        switch request.load() {
        case .failure(let failure):
            return failure.quicStatus
        case .success(let credential):
            configuration.state.withLock { $0.credential = credential }
            return Status.success
        }
    }
}

/// QUIC_CREDENTIAL_LOAD_COMPLETE_HANDLER.
typealias CredentialLoadHandler =
    (@convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, UInt32) -> Void)?

/// LOAD_ASYNCHRONOUS loads: one detached pthread each (there is no worker pool yet).
enum AsyncCredentialLoad {
    /// Sendable (unchecked): immutable, handed to the one thread that runs the load.
    private final class Job: @unchecked Sendable {
        let configuration: Configuration
        let request: CredentialRequest
        let handler: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, UInt32) -> Void
        init(configuration: Configuration, request: CredentialRequest,
             handler: @escaping @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, UInt32) -> Void) {
            self.configuration = configuration
            self.request = request
            self.handler = handler
        }
    }

    /// Threads still running a load (pthread_self values).
    private static let running = Mutex<Set<UInt>>([])
    /// Loads started whose thread has not registered yet.
    private static let starting = Atomic<Int>(0)

    static func start(configuration: Configuration, request: CredentialRequest,
                      handler: @escaping @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, UInt32) -> Void) -> Bool {
        let job = Unmanaged.passRetained(Job(configuration: configuration, request: request, handler: handler))
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        defer { pthread_attr_destroy(&attributes) }
        starting.add(1, ordering: .sequentiallyConsistent)
        var thread = pthread_t()
        let created = pthread_create(&thread, &attributes, { raw in
            guard let raw else { return nil }
            AsyncCredentialLoad.run(Unmanaged<Job>.fromOpaque(raw).takeRetainedValue())
            return nil
        }, job.toOpaque())
        if created != 0 {
            starting.subtract(1, ordering: .sequentiallyConsistent)
            job.release()
            return false
        }
        return true
    }

    private static func run(_ job: Job) {
        let me = UInt(pthread_self())
        running.withLock { _ = $0.insert(me) }
        starting.subtract(1, ordering: .sequentiallyConsistent)
        let status: QuicStatus
        switch job.request.load() {
        case .failure(let failure):
            status = failure.quicStatus
            job.configuration.state.withLock { $0.credentialLoadPending = false }
        case .success(let credential):
            status = Status.success
            job.configuration.state.withLock { s in
                s.credential = credential
                s.credentialLoadPending = false
            }
        }
        job.handler(job.configuration.handle, job.configuration.context, status)
        running.withLock { _ = $0.remove(me) }
    }

    /// Waits until no load is running except on the calling thread (MsQuicClose from inside a
    /// completion handler must not wait for itself).
    static func joinAll() {
        let me = UInt(pthread_self())
        while true {
            let busy = running.withLock { set in !set.subtracting([me]).isEmpty }
            if !busy && starting.load(ordering: .sequentiallyConsistent) == 0 { return }
            usleep(1000)
        }
    }
}
