import XCTest
@testable import QuicCrypto

/// RFC 9001 §A.1 and RFC 9369 §A.1: Initial secrets and packet protection keys, and the
/// key/IV/hp/ku derivations of the A.5 examples.
final class KeyDerivationTests: XCTestCase {
    func testHkdfLabelStructuresOfRFC9001() {
        // HKDF-Expand-Label must feed HKDF-Expand exactly the HkdfLabel bytes that A.1 lists.
        let secret = RFC9001.clientInitialSecret
        let pairs: [(String, [UInt8], Int)] = [
            ("quic key", RFC9001.quicKeyLabel, 16), ("quic iv", RFC9001.quicIVLabel, 12),
            ("quic hp", RFC9001.quicHPLabel, 16), ("client in", RFC9001.clientInLabel, 32),
            ("server in", RFC9001.serverInLabel, 32),
            ("quicv2 key", RFC9369.quicv2KeyLabel, 16), ("quicv2 iv", RFC9369.quicv2IVLabel, 12),
            ("quicv2 hp", RFC9369.quicv2HPLabel, 16),
        ]
        for (label, info, length) in pairs {
            XCTAssertEqual(HKDF.expandLabel(.sha256, secret: secret, label: label, length: length),
                           HKDF.expand(.sha256, prk: secret, info: info, length: length), label)
        }
    }

    func testInitialSecretsV1() {
        let dcid = RFC9001.clientDestinationConnectionID
        XCTAssertEqual(hexString(InitialSecrets.initialSecret(version: .v1, destinationConnectionID: dcid)),
                       hexString(RFC9001.initialSecret))
        XCTAssertEqual(InitialSecrets.clientSecret(version: .v1, destinationConnectionID: dcid), RFC9001.clientInitialSecret)
        XCTAssertEqual(InitialSecrets.serverSecret(version: .v1, destinationConnectionID: dcid), RFC9001.serverInitialSecret)
        let keys = InitialSecrets.keys(version: .v1, destinationConnectionID: dcid)
        XCTAssertEqual(hexString(keys.client.key), hexString(RFC9001.clientKey))
        XCTAssertEqual(hexString(keys.client.iv), hexString(RFC9001.clientIV))
        XCTAssertEqual(hexString(keys.client.headerProtectionKey), hexString(RFC9001.clientHP))
        XCTAssertEqual(hexString(keys.server.key), hexString(RFC9001.serverKey))
        XCTAssertEqual(hexString(keys.server.iv), hexString(RFC9001.serverIV))
        XCTAssertEqual(hexString(keys.server.headerProtectionKey), hexString(RFC9001.serverHP))
        XCTAssertEqual(keys.client.suite, .aes128GcmSha256)
    }

    func testInitialSecretsV2() {
        let dcid = RFC9001.clientDestinationConnectionID
        XCTAssertEqual(hexString(InitialSecrets.initialSecret(version: .v2, destinationConnectionID: dcid)),
                       hexString(RFC9369.initialSecret))
        let keys = InitialSecrets.keys(version: .v2, destinationConnectionID: dcid)
        XCTAssertEqual(hexString(keys.client.secret), hexString(RFC9369.clientInitialSecret))
        XCTAssertEqual(hexString(keys.client.key), hexString(RFC9369.clientKey))
        XCTAssertEqual(hexString(keys.client.iv), hexString(RFC9369.clientIV))
        XCTAssertEqual(hexString(keys.client.headerProtectionKey), hexString(RFC9369.clientHP))
        XCTAssertEqual(hexString(keys.server.secret), hexString(RFC9369.serverInitialSecret))
        XCTAssertEqual(hexString(keys.server.key), hexString(RFC9369.serverKey))
        XCTAssertEqual(hexString(keys.server.iv), hexString(RFC9369.serverIV))
        XCTAssertEqual(hexString(keys.server.headerProtectionKey), hexString(RFC9369.serverHP))
    }

    func testChaChaKeysAndKeyUpdateSecretV1() {
        let keys = PacketProtectionKeys(suite: .chacha20Poly1305Sha256, secret: RFC9001.chachaSecret, version: .v1)
        XCTAssertEqual(hexString(keys.key), hexString(RFC9001.chachaKey))
        XCTAssertEqual(hexString(keys.iv), hexString(RFC9001.chachaIV))
        XCTAssertEqual(hexString(keys.headerProtectionKey), hexString(RFC9001.chachaHP))
        XCTAssertEqual(hexString(keys.nextSecret), hexString(RFC9001.chachaKU))
    }

    func testChaChaKeysAndKeyUpdateSecretV2() {
        let keys = PacketProtectionKeys(suite: .chacha20Poly1305Sha256, secret: RFC9001.chachaSecret, version: .v2)
        XCTAssertEqual(hexString(keys.key), hexString(RFC9369.chachaKey))
        XCTAssertEqual(hexString(keys.iv), hexString(RFC9369.chachaIV))
        XCTAssertEqual(hexString(keys.headerProtectionKey), hexString(RFC9369.chachaHP))
        XCTAssertEqual(hexString(keys.nextSecret), hexString(RFC9369.chachaKU))
    }

    func testNextGenerationKeepsHeaderProtectionKey() {
        for version in ProtectionVersion.allCases {
            let keys = PacketProtectionKeys(suite: .chacha20Poly1305Sha256, secret: RFC9001.chachaSecret, version: version)
            let next = keys.nextGeneration()
            // RFC 9001 §6.1: secret_1 = HKDF-Expand-Label(secret_0, "quic ku", "", Hash.length).
            XCTAssertEqual(next.secret, keys.nextSecret)
            XCTAssertEqual(next.secret, version == .v1 ? RFC9001.chachaKU : RFC9369.chachaKU)
            XCTAssertEqual(next.headerProtectionKey, keys.headerProtectionKey)
            // The new key and IV are those derived from the new secret.
            let fromSecret = PacketProtectionKeys(suite: .chacha20Poly1305Sha256, secret: next.secret, version: version)
            XCTAssertEqual(next.key, fromSecret.key)
            XCTAssertEqual(next.iv, fromSecret.iv)
            XCTAssertNotEqual(next.key, keys.key)
            XCTAssertNotEqual(next.headerProtectionKey, fromSecret.headerProtectionKey)
            XCTAssertEqual(next.generation, 1)
            XCTAssertEqual(next.nextGeneration().generation, 2)
            XCTAssertEqual(next.nextGeneration().secret, next.nextSecret)
        }
    }

    func testSha384SuiteLengths() {
        let secret = [UInt8](repeating: 0x5a, count: 48)
        let keys = PacketProtectionKeys(suite: .aes256GcmSha384, secret: secret)
        XCTAssertEqual(keys.key.count, 32)
        XCTAssertEqual(keys.iv.count, 12)
        XCTAssertEqual(keys.headerProtectionKey.count, 32)
        XCTAssertEqual(keys.nextSecret.count, 48)
    }

    func testVersionNumbers() {
        XCTAssertEqual(ProtectionVersion(wireVersion: 1), .v1)
        XCTAssertEqual(ProtectionVersion(wireVersion: 0x6b33_43cf), .v2)
        XCTAssertNil(ProtectionVersion(wireVersion: 0xff00_001d))
    }
}

import QuicWire

final class LimitsAndConveniencesTests: XCTestCase {
    func testAEADLimitsOfRFC9001Section6_6() {
        XCTAssertEqual(CipherSuite.aes128GcmSha256.confidentialityLimit, 8_388_608)
        XCTAssertEqual(CipherSuite.aes256GcmSha384.integrityLimit, 1 << 52)
        XCTAssertEqual(CipherSuite.chacha20Poly1305Sha256.integrityLimit, 68_719_476_736)
    }

    func testInitialKeysFromConnectionID() throws {
        let cid = try XCTUnwrap(ConnectionID(RFC9001.clientDestinationConnectionID))
        let keys = InitialSecrets.keys(version: .v1, destinationConnectionID: cid)
        XCTAssertEqual(keys.client.key, RFC9001.clientKey)
        XCTAssertEqual(keys.server.headerProtectionKey, RFC9001.serverHP)
    }
}

import CCrypto

/// HashAlgorithm.hmac (two digests over the padded key) against libcrypto's own HMAC().
final class HMACTests: XCTestCase {
    private func libcryptoHMAC(_ hash: HashAlgorithm, key: [UInt8], data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 64)
        var length: UInt32 = 0
        let md: OpaquePointer? = hash == .sha256 ? EVP_sha256() : EVP_sha384()
        _ = key.withUnsafeBufferPointer { k in
            data.withUnsafeBufferPointer { d in
                out.withUnsafeMutableBufferPointer { o in
                    HMAC(md, k.baseAddress ?? UnsafePointer(bitPattern: 1), Int32(k.count), d.baseAddress, d.count,
                         o.baseAddress, &length)
                }
            }
        }
        return Array(out[0..<Int(length)])
    }

    func testHMACMatchesLibcrypto() {
        var rng = TestRandom(seed: 4231)
        for hash in [HashAlgorithm.sha256, .sha384] {
            // Key lengths around the block size (64 / 128) exercise the hash-the-key path.
            for keyLength in [0, 1, 20, 32, 48, 63, 64, 65, 127, 128, 129, 131, 200] {
                for dataLength in [0, 1, 13, 55, 56, 64, 100, 128, 300] {
                    let key = rng.bytes(keyLength), data = rng.bytes(dataLength)
                    XCTAssertEqual(hash.hmac(key: key, data: data), libcryptoHMAC(hash, key: key, data: data),
                                   "\(hash) key \(keyLength) data \(dataLength)")
                }
            }
            XCTAssertEqual(hash.hash([]).count, hash.digestLength)
        }
    }

    func testHKDFExpandLongOutput() {
        // Several T(i) blocks: the concatenation must match HMAC chained by hand (RFC 5869 §2.3).
        let prk = (0..<32).map { UInt8($0) }, info: [UInt8] = [0xf0, 0xf1, 0xf2]
        let okm = HKDF.expand(.sha256, prk: prk, info: info, length: 82)
        let t1 = HashAlgorithm.sha256.hmac(key: prk, data: info + [1])
        let t2 = HashAlgorithm.sha256.hmac(key: prk, data: t1 + info + [2])
        let t3 = HashAlgorithm.sha256.hmac(key: prk, data: t2 + info + [3])
        XCTAssertEqual(okm, Array((t1 + t2 + t3)[0..<82]))
    }
}
