import XCTest
import CCrypto
import QuicCrypto
@testable import QuicTLS

/// RFC 8448 §3 ("Simple 1-RTT Handshake") and §4 ("Resumed 0-RTT Handshake"): every key
/// schedule secret and Finished value recomputed from the trace's private keys and messages.
final class RFC8448Tests: XCTestCase {
    static func hex(_ s: String) -> [UInt8] {
        let chars = Array(s.filter { !$0.isWhitespace }.utf8)
        return stride(from: 0, to: chars.count, by: 2).map { i in
            UInt8(String(decoding: chars[i..<i + 2], as: UTF8.self), radix: 16)!
        }
    }

    // §3 messages, with their handshake headers.
    static let clientHello = hex("""
        010000c00303cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece700000613011303130201
        0000910000000b0009000006736572766572ff01000100000a00140012001d0017001800190100010101020103010400
        230000003300260024001d002099381de560e4bd43d23d8e435a7dbafeb3c06e51c13cae4d5413691e529aaf2c002b00
        03020304000d0020001e040305030603020308040805080604010501060102010402050206020202002d00020101001c
        00024001
        """)
    static let serverHello = hex("""
        020000560303a6af06a4121860dc5e6e60249cd34c95930c8ac5cb1434dac155772ed3e2692800130100002e0033
        0024001d0020c9828876112095fe66762bdbf7c672e156d6cc253b833df1dd69b1b04e751f0f002b00020304
        """)
    static let encryptedExtensions = hex("080000240022000a00140012001d00170018001901000101010201030104001c0002400100000000")
    static let certificate = hex("""
        0b0001b9000001b50001b0308201ac30820115a003020102020102300d06092a864886f70d01010b0500300e310c
        300a06035504031303727361301e170d3136303733303031323335395a170d3236303733303031323335395a300e
        310c300a0603550403130372736130819f300d06092a864886f70d010101050003818d0030818902818100b4bb49
        8f8279303d980836399b36c6988c0c68de55e1bdb826d3901a2461eafd2de49a91d015abbc9a95137ace6c1af19e
        aa6af98c7ced43120998e187a80ee0ccb0524b1b018c3e0b63264d449a6d38e22a5fda430846748030530ef0461c
        8ca9d9efbfae8ea6d1d03e2bd193eff0ab9a8002c47428a6d35a8d88d79f7f1e3f0203010001a31a3018300906
        03551d1304023000300b0603551d0f0404030205a0300d06092a864886f70d01010b05000381810085aad2a0e5b9
        276b908c65f73a7267170618a54c5f8a7b337d2df7a594365417f2eae8f8a58c8f8172f9319cf36b7fd6c55b80f2
        1a03015156726096fd335e5e67f2dbf102702e608ccae6bec1fc63a42a99be5c3eb7107c3c54e9b9eb2bd5203b1c
        3b84e0a8b2f759409ba3eac9d91d402dcc0cc8f8961229ac9187b42b4de10000
        """)
    static let certificateVerify = hex("""
        0f000084080400805a747c5d88fa9bd2e55ab085a61015b7211f824cd484145ab3ff52f1fda8477b0b7abc90db78
        e2d33a5c141a078653fa6bef780c5ea248eeaaa785c4f394cab6d30bbe8d4859ee511f602957b15411ac02767145
        9e46445c9ea58c181e818e95b8c3fb0bf3278409d3be152a3da5043e063dda65cdf5aea20d53dfacd42f74f3
        """)
    static let serverFinished = hex("140000209b9b141d906337fbd2cbdce71df4deda4ab42c309572cb7fffee5454b78f0718")
    static let clientFinished = hex("14000020a8ec436d677634ae525ac1fcebe11a039ec17694fac6e98527b642f2edd5ce61")
    static let newSessionTicket = hex("""
        040000c90000001efad6aac502000000b22c035d829359ee5ff7af4ec900000000262a6494dc486d2c8a34cb33fa
        90bf1b0070ad3c498883c9367c09a2be785abc55cd226097a3a982117283f82a03a143efd3ff5dd36d64e861be7f
        d61d2827db279cce145077d454a3664d4e6da4d29ee03725a6a4dafcd0fc67d2aea70529513e3da2677fa5906c5b3
        f7d8f92f228bda40dda721470f9fbf297b5aea617646fac5c03272e970727c621a79141ef5f7de6505e5bfbc388e
        93343694093934ae4d3570008002a000400000400
        """)

    static let clientPrivate = hex("49af42ba7f7994852d713ef2784bcbcaa7911de26adc5642cb634540e7ea5005")
    static let serverPrivate = hex("b1580eeadf6dd589b8ef4f2d5652578cc810e9980191ec8d058308cea216a21e")

    let h = HashAlgorithm.sha256

    func testSimple1RTTKeySchedule() throws {
        // ECDHE from the trace's private keys, both ways (RFC 8448 §3).
        let client = try KeyShare.x25519(privateKey: Self.clientPrivate)
        let server = try KeyShare.x25519(privateKey: Self.serverPrivate)
        XCTAssertEqual(client.publicKey, Self.hex("99381de560e4bd43d23d8e435a7dbafeb3c06e51c13cae4d5413691e529aaf2c"))
        XCTAssertEqual(server.publicKey, Self.hex("c9828876112095fe66762bdbf7c672e156d6cc253b833df1dd69b1b04e751f0f"))
        let shared = try client.sharedSecret(peerKeyExchange: server.publicKey)
        XCTAssertEqual(try server.sharedSecret(peerKeyExchange: client.publicKey), shared)
        XCTAssertEqual(shared, Self.hex("8bd4054fb55b9d63fdfbacf9f04b9f0d35e6d63f537563efd46272900f89492d"))

        let early = KeySchedule.earlySecret(h, psk: nil)
        XCTAssertEqual(early, Self.hex("33ad0a1c607ec03b09e6cd9893680ce210adf300aa1f2660e1b22e10f170f92a"))
        XCTAssertEqual(KeySchedule.deriveSecretEmpty(h, secret: early, label: "derived"),
                       Self.hex("6f2615a108c702c5678f54fc9dbab69716c076189c48250cebeac3576c3611ba"))
        let hs = KeySchedule.handshakeSecret(h, earlySecret: early, sharedSecret: shared)
        XCTAssertEqual(hs, Self.hex("1dc826e93606aa6fdc0aadc12f741b01046aa6b99f691ed221a9f0ca043fbeac"))

        var transcript = Transcript()
        transcript.append(Self.clientHello)
        transcript.append(Self.serverHello)
        XCTAssertEqual(transcript.hash(h), Self.hex("860c06edc07858ee8e78f0e7428c58edd6b43f2ca3e6e95f02ed063cf0e1cad8"))
        let cHS = KeySchedule.deriveSecret(h, secret: hs, label: "c hs traffic", transcriptHash: transcript.hash(h))
        let sHS = KeySchedule.deriveSecret(h, secret: hs, label: "s hs traffic", transcriptHash: transcript.hash(h))
        XCTAssertEqual(cHS, Self.hex("b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21"))
        XCTAssertEqual(sHS, Self.hex("b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38"))
        let master = KeySchedule.masterSecret(h, handshakeSecret: hs)
        XCTAssertEqual(master, Self.hex("18df06843d13a08bf2a449844c5f8a478001bc4d4c627984d5a41da8d0402919"))

        // The server's authentication messages, then its Finished.
        transcript.append(Self.encryptedExtensions)
        transcript.append(Self.certificate)
        transcript.append(Self.certificateVerify)
        XCTAssertEqual(KeySchedule.finishedKey(h, baseKey: sHS),
                       Self.hex("008d3b66f816ea559f96b537e885c31fc068bf492c652f01f288a1d8cdc19fc8"))
        let serverVerify = KeySchedule.finishedVerifyData(h, baseKey: sHS, transcriptHash: transcript.hash(h))
        XCTAssertEqual(handshakeMessage(.finished, serverVerify), Self.serverFinished)
        transcript.append(Self.serverFinished)
        XCTAssertEqual(transcript.hash(h), Self.hex("9608102a0f1ccc6db6250b7b7e417b1a000eaada3daae4777a7686c9ff83df13"))
        let th = transcript.hash(h)
        XCTAssertEqual(KeySchedule.deriveSecret(h, secret: master, label: "c ap traffic", transcriptHash: th),
                       Self.hex("9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5"))
        XCTAssertEqual(KeySchedule.deriveSecret(h, secret: master, label: "s ap traffic", transcriptHash: th),
                       Self.hex("a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643"))
        XCTAssertEqual(KeySchedule.deriveSecret(h, secret: master, label: "exp master", transcriptHash: th),
                       Self.hex("fe22f881176eda18eb8f44529e6792c50c9a3f89452f68d8ae311b4309d3cf50"))

        // Client Finished and the resumption master secret.
        XCTAssertEqual(KeySchedule.finishedKey(h, baseKey: cHS),
                       Self.hex("b80ad01015fb2f0bd65ff7d4da5d6bf83f84821d1f87fdc7d3c75b5a7b42d9c4"))
        let clientVerify = KeySchedule.finishedVerifyData(h, baseKey: cHS, transcriptHash: th)
        XCTAssertEqual(handshakeMessage(.finished, clientVerify), Self.clientFinished)
        transcript.append(Self.clientFinished)
        XCTAssertEqual(transcript.hash(h), Self.hex("209145a96ee8e2a122ff810047cc952684658d6049e86429426db87c54ad143d"))
        let res = KeySchedule.deriveSecret(h, secret: master, label: "res master", transcriptHash: transcript.hash(h))
        XCTAssertEqual(res, Self.hex("7df235f2031d2a051287d02b0241b0bfdaf86cc856231f2d5aba46c434ec196c"))

        // The ticket's PSK (nonce 00 00) is the IKM of §4's early secret.
        let nst = try NewSessionTicket.decode(Array(Self.newSessionTicket[4...]))
        XCTAssertEqual(nst.lifetime, 30)
        XCTAssertEqual(nst.ageAdd, 0xfad6aac5)
        XCTAssertEqual(nst.nonce, [0, 0])
        XCTAssertEqual(try ExtensionCodec.decodeMaxEarlyData(nst.extensions.body(.earlyData) ?? []), 1024)
        XCTAssertEqual(nst.encode(), Self.newSessionTicket)
        XCTAssertEqual(KeySchedule.resumptionPSK(h, resumptionMasterSecret: res, nonce: nst.nonce),
                       Self.hex("4ecd0eb6ec3b4d87f5d6028f922ca4c5851a277fd41311c9e62d2c9492e1c4f3"))
    }

    func testSimple1RTTMessagesParseAndCertificateVerifyVerifies() throws {
        let ch = try ClientHello.decode(Array(Self.clientHello[4...]))
        XCTAssertEqual(ch.cipherSuites, [0x1301, 0x1303, 0x1302])
        XCTAssertEqual(try ExtensionCodec.decodeServerName(ch.extensions.body(.serverName) ?? []), "server")
        XCTAssertEqual(ch.encode(), Self.clientHello)
        let shares = try ExtensionCodec.decodeKeyShareClient(ch.extensions.body(.keyShare) ?? [])
        XCTAssertEqual(shares.first?.group, NamedGroup.x25519.rawValue)
        let sh = try ServerHello.decode(Array(Self.serverHello[4...]))
        XCTAssertEqual(sh.cipherSuite, 0x1301)
        XCTAssertFalse(sh.isHelloRetryRequest)
        XCTAssertEqual(sh.encode(), Self.serverHello)
        XCTAssertEqual(try EncryptedExtensions.decode(Array(Self.encryptedExtensions[4...])).encode(), Self.encryptedExtensions)
        let cert = try CertificateMessage.decode(Array(Self.certificate[4...]))
        XCTAssertEqual(cert.certificates.count, 1)
        XCTAssertEqual(cert.encode(), Self.certificate)
        let cv = try CertificateVerify.decode(Array(Self.certificateVerify[4...]))
        XCTAssertEqual(cv.scheme, SignatureScheme.rsaPssRsaeSha256.rawValue)

        // The trace's RSA-PSS signature verifies over our CertificateVerify content.
        var transcript = Transcript()
        for m in [Self.clientHello, Self.serverHello, Self.encryptedExtensions, Self.certificate] { transcript.append(m) }
        let content = TLSSignature.certificateVerifyContent(fromServer: true, transcriptHash: transcript.hash(h))
        let x509: OpaquePointer? = cert.certificates[0].withUnsafeBufferPointer { buf in
            var p: UnsafePointer<UInt8>? = buf.baseAddress
            return d2i_X509(nil, &p, buf.count)
        }
        let leaf = try XCTUnwrap(x509)
        defer { X509_free(leaf) }
        XCTAssertNoThrow(try TLSSignature.verify(certificate: leaf, scheme: .rsaPssRsaeSha256, message: content, signature: cv.signature))
        var bad = cv.signature
        bad[10] ^= 1
        XCTAssertThrowsError(try TLSSignature.verify(certificate: leaf, scheme: .rsaPssRsaeSha256, message: content, signature: bad))
    }

    // §4: the resumed ClientHello, binders included (512 bytes).
    static let resumedClientHello = hex("""
        010001fc03031bc3ceb6bbe39cff938355b5a50adb6db21b7a6af649d7b4bc41
        9d7876487d95000006130113031302010001cd0000000b000900000673657276
        6572ff01000100000a00140012001d0017001800190100010101020103010400
        3300260024001d0020e4ffb68ac05f8d96c99da26698346c6be16482badddafe
        051a66b4f18d668f0b002a0000002b0003020304000d0020001e040305030603
        020308040805080604010501060102010402050206020202002d00020101001c
        0002400100150057000000000000000000000000000000000000000000000000
        0000000000000000000000000000000000000000000000000000000000000000
        0000000000000000000000000000000000000000000000000000000000000000
        2900dd00b800b22c035d829359ee5ff7af4ec900000000262a6494dc486d2c8a
        34cb33fa90bf1b0070ad3c498883c9367c09a2be785abc55cd226097a3a98211
        7283f82a03a143efd3ff5dd36d64e861be7fd61d2827db279cce145077d454a3
        664d4e6da4d29ee03725a6a4dafcd0fc67d2aea70529513e3da2677fa5906c5b
        3f7d8f92f228bda40dda721470f9fbf297b5aea617646fac5c03272e970727c6
        21a79141ef5f7de6505e5bfbc388e93343694093934ae4d357fad6aacb002120
        3add4fb2d8fdf822a0ca3cf7678ef5e88dae990141c5924d57bb6fa31b9e5f9d
        """)

    func testResumed0RTTEarlySecretsAndBinder() throws {
        let psk = Self.hex("4ecd0eb6ec3b4d87f5d6028f922ca4c5851a277fd41311c9e62d2c9492e1c4f3")
        let early = KeySchedule.earlySecret(h, psk: psk)
        XCTAssertEqual(early, Self.hex("9b2188e9b2fc6d64d71dc329900e20bb41915000f678aa839cbb797cb7d8332c"))
        let binderKey = KeySchedule.binderKey(h, earlySecret: early)
        XCTAssertEqual(binderKey, Self.hex("69fe131a3bbad5d63c64eebcc30e395b9d8107726a13d074e389dbc8a4e47256"))
        XCTAssertEqual(KeySchedule.finishedKey(h, baseKey: binderKey),
                       Self.hex("5588673e72cb59c87d220caffe94f2dea9a3b1609f7d50e90a48227db9ed7eaa"))

        // The binder covers the ClientHello up to the binders list, which our parser locates.
        let ch = try ClientHello.decode(Array(Self.resumedClientHello[4...]))
        let offer = try ExtensionCodec.decodeOfferedPSKs(ch.extensions.body(.preSharedKey) ?? [])
        XCTAssertEqual(offer.identities.count, 1)
        XCTAssertEqual(offer.identities[0].obfuscatedTicketAge, 0xfad6aacb)
        let prefixLength = Self.resumedClientHello.count - ExtensionCodec.bindersList(offer.binders).count
        XCTAssertEqual(prefixLength, 477)
        let prefix = Self.resumedClientHello[0..<prefixLength]
        let transcript = Transcript()
        let binderHash = transcript.hash(h, appending: prefix)
        XCTAssertEqual(binderHash, Self.hex("63224b2e4573f2d3454ca84b9d009a04f6be9e05711a8396473aefa01e924a14"))
        let binder = KeySchedule.finishedVerifyData(h, baseKey: binderKey, transcriptHash: binderHash)
        XCTAssertEqual(binder, Self.hex("3add4fb2d8fdf822a0ca3cf7678ef5e88dae990141c5924d57bb6fa31b9e5f9d"))
        XCTAssertEqual(offer.binders, [binder])

        let chHash = h.hash(Self.resumedClientHello)
        XCTAssertEqual(chHash, Self.hex("08ad0fa05d7c7233b1775ba2ff9f4c5b8b59276b7f227f13a976245f5d960913"))
        XCTAssertEqual(KeySchedule.deriveSecret(h, secret: early, label: "c e traffic", transcriptHash: chHash),
                       Self.hex("3fbbe6a60deb66c30a32795aba0eff7eaa10105586e7be5c09678d63b6caab62"))
        XCTAssertEqual(KeySchedule.deriveSecret(h, secret: early, label: "e exp master", transcriptHash: chHash),
                       Self.hex("b2026866610937d7423e5be90862ccf24c0e6091186d34f812089ff5be2ef7df"))
    }

    /// RFC 8448 §4 after the ClientHello: the ServerHello's ECDHE with the client's trace
    /// key, the handshake, application, exporter and resumption secrets and both Finished.
    /// (TLS over TCP sends EndOfEarlyData, which QUIC forbids; the trace's transcript has it.)
    func testResumed0RTTHandshakeSecretsAndFinished() throws {
        let serverHello = Self.hex("""
            0200005c03033ccfd2dec890222763472ae8136777c9d7358777bb66e91ea5122495f559ea2d00130100003400290002000000330024001d0020121761ee42c333e1b9e77b60dd57c2053cd94512ab47f115e86eff50942cea31002b00020304
            """)
        let encryptedExtensions = Self.hex("080000280026000a00140012001d00170018001901000101010201030104001c0002400100000000002a0000")
        let serverFinished = Self.hex("1400002048d3e0e1b3d907c6acff145e16090388c77b05c050b634ab1a88bbd0dd1a34b2")
        let endOfEarlyData = Self.hex("05000000")
        let clientFinished = Self.hex("140000207230a9c952c25cd6138fc5e6628308c41c5335dd81b9f96bcea50fd32bda416d")

        let sh = try ServerHello.decode(Array(serverHello[4...]))
        XCTAssertEqual(sh.encode(), serverHello)
        XCTAssertEqual(try ExtensionCodec.decodeSelectedPSK(sh.extensions.body(.preSharedKey) ?? []), 0)
        let ee = try EncryptedExtensions.decode(Array(encryptedExtensions[4...]))
        XCTAssertTrue(ee.extensions.has(.earlyData))

        let client = try KeyShare.x25519(privateKey: Self.hex("bff91188283846dd6a2134ef7180ca2b0b14fb10dce707b5098c0dddc813b2df"))
        XCTAssertEqual(client.publicKey, Self.hex("e4ffb68ac05f8d96c99da26698346c6be16482badddafe051a66b4f18d668f0b"))
        let serverShare = try ExtensionCodec.decodeKeyShareServer(sh.extensions.body(.keyShare) ?? [])
        let shared = try client.sharedSecret(peerKeyExchange: serverShare.key)
        XCTAssertEqual(shared, Self.hex("f44194756ff9ec9d25180635d66ea6824c6ab3bf179977be37f723570e7ccb2e"))

        let early = KeySchedule.earlySecret(h, psk: Self.hex("4ecd0eb6ec3b4d87f5d6028f922ca4c5851a277fd41311c9e62d2c9492e1c4f3"))
        XCTAssertEqual(KeySchedule.deriveSecretEmpty(h, secret: early, label: "derived"),
                       Self.hex("5f1790bbd82c5e7d376ed2e1e52f8e6038c9346db61b43be9a52f77ef3998e80"))
        let hs = KeySchedule.handshakeSecret(h, earlySecret: early, sharedSecret: shared)
        XCTAssertEqual(hs, Self.hex("005cb112fd8eb4ccc623bb88a07c64b3ede1605363fc7d0df8c7ce4ff0fb4ae6"))
        var transcript = Transcript()
        transcript.append(Self.resumedClientHello)
        transcript.append(serverHello)
        XCTAssertEqual(transcript.hash(h), Self.hex("f736cb34fe25e701551bee6fd24c1cc7102a7daf9405cb15d97aafe16f757d03"))
        let cHS = KeySchedule.deriveSecret(h, secret: hs, label: "c hs traffic", transcriptHash: transcript.hash(h))
        let sHS = KeySchedule.deriveSecret(h, secret: hs, label: "s hs traffic", transcriptHash: transcript.hash(h))
        XCTAssertEqual(cHS, Self.hex("2faac08f851d35fea3604fcb4de82dc62c9b164a70974d0462e27f1ab278700f"))
        XCTAssertEqual(sHS, Self.hex("fe927ae271312e8bf0275b581c54eef020450dc4ecffaa05a1a35d27518e7803"))
        XCTAssertEqual(KeySchedule.deriveSecretEmpty(h, secret: hs, label: "derived"),
                       Self.hex("e2f16030251df0874ba19b9aba257610bc6d531c1dd206df0ca6e84ae2a26742"))
        let master = KeySchedule.masterSecret(h, handshakeSecret: hs)
        XCTAssertEqual(master, Self.hex("e2d32d4ed66dd37897a0e80c84107503ce58bf8aad4cb55a5002d77ecb890ece"))

        transcript.append(encryptedExtensions)
        XCTAssertEqual(handshakeMessage(.finished, KeySchedule.finishedVerifyData(h, baseKey: sHS, transcriptHash: transcript.hash(h))),
                       serverFinished)
        transcript.append(serverFinished)
        let th = transcript.hash(h)
        XCTAssertEqual(KeySchedule.deriveSecret(h, secret: master, label: "c ap traffic", transcriptHash: th),
                       Self.hex("2abbf2b8e381d23dbebe1dd2a7d16a8bf484cb4950d23fb7fb7fa8547062d9a1"))
        XCTAssertEqual(KeySchedule.deriveSecret(h, secret: master, label: "s ap traffic", transcriptHash: th),
                       Self.hex("cc21f1bf8feb7dd5fa505bd9c4b468a9984d554a993dc49e6d285598fb672691"))
        XCTAssertEqual(KeySchedule.deriveSecret(h, secret: master, label: "exp master", transcriptHash: th),
                       Self.hex("3fd93d4ffddc98e64b14dd107aedf8ee4add23f4510f58a4592d0b201bee56b4"))

        transcript.append(endOfEarlyData)
        XCTAssertEqual(handshakeMessage(.finished, KeySchedule.finishedVerifyData(h, baseKey: cHS, transcriptHash: transcript.hash(h))),
                       clientFinished)
        transcript.append(clientFinished)
        XCTAssertEqual(KeySchedule.deriveSecret(h, secret: master, label: "res master", transcriptHash: transcript.hash(h)),
                       Self.hex("5e95bdf1f89005ea2e9aa0ba85e728e3c19c5fe0c699e3f5bee59faebd0b5406"))
    }

    /// HelloRetryRequest's special random is SHA-256("HelloRetryRequest") (RFC 8446 §4.1.3).
    func testHelloRetryRequestRandom() {
        XCTAssertEqual(h.hash(Array("HelloRetryRequest".utf8)), helloRetryRequestRandom)
    }
}
