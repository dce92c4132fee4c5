import CCrypto
import Foundation
import XCTest

/// A private key generated with libcrypto for the tests (`EVP_PKEY *`, owned).
final class TestKey {
    let pkey: OpaquePointer

    private init(_ pkey: OpaquePointer) { self.pkey = pkey }
    deinit { EVP_PKEY_free(pkey) }

    static func ec(_ curve: String) -> TestKey { generate("EC") { EVP_PKEY_CTX_set_group_name($0, curve) } }
    static func rsa(bits: Int32 = 2048) -> TestKey { generate("RSA") { EVP_PKEY_CTX_set_rsa_keygen_bits($0, bits) } }
    static func ed25519() -> TestKey { generate("ED25519") { _ in 1 } }

    private static func generate(_ algorithm: String, _ configure: (OpaquePointer) -> Int32) -> TestKey {
        let ctx = EVP_PKEY_CTX_new_from_name(nil, algorithm, nil)!
        defer { EVP_PKEY_CTX_free(ctx) }
        precondition(EVP_PKEY_keygen_init(ctx) == 1)
        precondition(configure(ctx) == 1)
        var key: OpaquePointer?
        precondition(EVP_PKEY_generate(ctx, &key) == 1)
        return TestKey(key!)
    }

    /// Unencrypted PKCS#8 PEM.
    var pem: String {
        let bio = BIO_new(BIO_s_mem())!
        defer { BIO_free(bio) }
        precondition(PEM_write_bio_PrivateKey(bio, pkey, nil, nil, 0, nil, nil) == 1)
        return bioString(bio)
    }

    /// Digest to sign certificates with (none for Ed25519).
    var certificateDigest: OpaquePointer? {
        ccrypto_EVP_PKEY_base_id(pkey) == EVP_PKEY_ED25519 ? nil : EVP_sha256()
    }
}

/// An X.509 certificate built with libcrypto (`X509 *`, owned).
final class TestCertificate {
    let x509: OpaquePointer
    let key: TestKey
    let serial: Int

    init(x509: OpaquePointer, key: TestKey, serial: Int) {
        self.x509 = x509
        self.key = key
        self.serial = serial
    }
    deinit { X509_free(x509) }

    var der: [UInt8] {
        let len = i2d_X509(x509, nil)
        var out = [UInt8](repeating: 0, count: Int(len))
        out.withUnsafeMutableBufferPointer { b in
            var p = b.baseAddress
            _ = i2d_X509(x509, &p)
        }
        return out
    }

    var pem: String {
        let bio = BIO_new(BIO_s_mem())!
        defer { BIO_free(bio) }
        precondition(PEM_write_bio_X509(bio, x509) == 1)
        return bioString(bio)
    }

    nonisolated(unsafe) private static var nextSerial = 1000

    /// Builds a certificate for `key`, signed by `issuer` (self-signed when nil).
    /// `validity` is in seconds relative to now.
    static func make(cn: String, key: TestKey, issuer: TestCertificate? = nil, isCA: Bool = false,
                     san: String? = nil, eku: String? = nil,
                     validity: (from: Int, to: Int) = (-3600, 365 * 86400)) -> TestCertificate {
        let x = X509_new()!
        nextSerial += 1
        let serial = nextSerial
        precondition(X509_set_version(x, 2) == 1) // v3
        precondition(ASN1_INTEGER_set(X509_get_serialNumber(x), serial) == 1)
        let name = X509_NAME_new()!
        defer { X509_NAME_free(name) }
        precondition(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, cn, -1, -1, 0) == 1)
        precondition(X509_set_subject_name(x, name) == 1)
        precondition(X509_set_issuer_name(x, issuer.map { X509_get_subject_name($0.x509) } ?? name) == 1)
        precondition(X509_gmtime_adj(X509_getm_notBefore(x), validity.from) != nil)
        precondition(X509_gmtime_adj(X509_getm_notAfter(x), validity.to) != nil)
        precondition(X509_set_pubkey(x, key.pkey) == 1)

        var v3 = X509V3_CTX()
        X509V3_set_ctx(&v3, issuer?.x509 ?? x, x, nil, nil, 0)
        func add(_ nid: Int32, _ value: String) {
            let ext = X509V3_EXT_conf_nid(nil, &v3, nid, value)!
            precondition(X509_add_ext(x, ext, -1) == 1)
            X509_EXTENSION_free(ext)
        }
        add(NID_basic_constraints, isCA ? "critical,CA:TRUE" : "critical,CA:FALSE")
        add(NID_key_usage, isCA ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature")
        add(NID_subject_key_identifier, "hash")
        if let san { add(NID_subject_alt_name, san) }
        if let eku { add(NID_ext_key_usage, eku) }

        let signer = issuer?.key ?? key
        precondition(X509_sign(x, signer.pkey, signer.certificateDigest) > 0)
        return TestCertificate(x509: x, key: key, serial: serial)
    }

    /// A PEM CRL issued by this CA that revokes `serials`.
    func crlPEM(revoking serials: [Int]) -> String {
        let crl = X509_CRL_new()!
        defer { X509_CRL_free(crl) }
        precondition(X509_CRL_set_version(crl, 1) == 1)
        precondition(X509_CRL_set_issuer_name(crl, X509_get_subject_name(x509)) == 1)
        let now = X509_gmtime_adj(nil, -60)!
        let next = X509_gmtime_adj(nil, 86400)!
        defer { ASN1_TIME_free(now); ASN1_TIME_free(next) }
        precondition(X509_CRL_set1_lastUpdate(crl, now) == 1)
        precondition(X509_CRL_set1_nextUpdate(crl, next) == 1)
        for serial in serials {
            let revoked = X509_REVOKED_new()!
            let number = ASN1_INTEGER_new()!
            precondition(ASN1_INTEGER_set(number, serial) == 1)
            precondition(X509_REVOKED_set_serialNumber(revoked, number) == 1)
            ASN1_INTEGER_free(number)
            precondition(X509_REVOKED_set_revocationDate(revoked, now) == 1)
            precondition(X509_CRL_add0_revoked(crl, revoked) == 1)
        }
        precondition(X509_CRL_sort(crl) == 1)
        precondition(X509_CRL_sign(crl, key.pkey, key.certificateDigest) > 0)
        let bio = BIO_new(BIO_s_mem())!
        defer { BIO_free(bio) }
        precondition(PEM_write_bio_X509_CRL(bio, crl) == 1)
        return bioString(bio)
    }
}

func bioString(_ bio: OpaquePointer) -> String {
    var out = [UInt8]()
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = chunk.withUnsafeMutableBytes { BIO_read(bio, $0.baseAddress, Int32($0.count)) }
        if n <= 0 { break }
        out += chunk[0..<Int(n)]
    }
    return String(decoding: out, as: UTF8.self)
}

/// A small PKI: root → intermediate → leaves, plus a temp directory for PEM files.
final class TestPKI {
    let directory: URL
    let rootKey = TestKey.ec("P-256")
    let root: TestCertificate
    let intermediate: TestCertificate

    init() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("swiftquic-tlscert-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        root = TestCertificate.make(cn: "swiftquic test root", key: rootKey, isCA: true)
        intermediate = TestCertificate.make(cn: "swiftquic test intermediate", key: TestKey.ec("P-256"),
                                            issuer: root, isCA: true)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    /// A server leaf for localhost / 127.0.0.1 / ::1 signed by the intermediate.
    func serverLeaf(key: TestKey = .ec("P-256"), issuer: TestCertificate? = nil,
                    san: String = "DNS:localhost,IP:127.0.0.1,IP:::1", eku: String? = "serverAuth",
                    validity: (from: Int, to: Int) = (-3600, 365 * 86400)) -> TestCertificate {
        TestCertificate.make(cn: "localhost", key: key, issuer: issuer ?? intermediate,
                             san: san, eku: eku, validity: validity)
    }

    /// Writes `text` to a file in the directory and returns its path.
    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let url = directory.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    /// The root as a CA file.
    func rootFile() throws -> String { try write("root.pem", root.pem) }
}
