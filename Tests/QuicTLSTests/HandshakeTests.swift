import XCTest
import QuicCrypto
@testable import QuicTLS

final class HandshakeTests: XCTestCase {
    func testBasicHandshakeX25519AES128ECDSA() throws {
        let cred = try HandshakePKI.shared.credential("server-p256")
        var c = TestConfigs.client()
        c.cipherSuites = [.aes128GcmSha256]
        let pair = HandshakePair(client: c, server: TestConfigs.server(cred))
        pair.run()
        pair.assertCompleted()
        XCTAssertEqual(pair.clientSummary?.cipherSuite, .aes128GcmSha256)
        XCTAssertEqual(pair.clientSummary?.group, .x25519)
        XCTAssertEqual(pair.clientSummary?.alpn, Array("h3".utf8))
        XCTAssertEqual(pair.serverSummary?.alpn, Array("h3".utf8))
        XCTAssertEqual(pair.serverSummary?.serverName, "localhost")
        XCTAssertEqual(pair.clientSummary?.resumed, false)
        XCTAssertEqual(pair.clientTransportParameters, TestConfigs.serverTP)
        XCTAssertEqual(pair.serverTransportParameters, TestConfigs.clientTP)
        XCTAssertEqual(pair.clientSummary?.peerCertificateChain, cred.chainDER)
        // Flight shape: client Initial then Handshake; server Initial then Handshake.
        XCTAssertEqual(pair.clientSentLevels, [.initial, .handshake])
        XCTAssertEqual(pair.serverSentLevels, [.initial, .handshake])
        // The exporter agrees on both sides (RFC 8446 §7.5).
        let a = try pair.client.exportKeyingMaterial(label: Array("EXPERIMENTAL test".utf8), context: [1, 2], length: 40)
        let b = try pair.server.exportKeyingMaterial(label: Array("EXPERIMENTAL test".utf8), context: [1, 2], length: 40)
        XCTAssertEqual(a, b)
        XCTAssertEqual(a.count, 40)
        XCTAssertNotEqual(a, try pair.client.exportKeyingMaterial(label: Array("EXPERIMENTAL test".utf8), context: [], length: 40))
        // Key log lines: same secrets on both sides, client random in every line.
        let labels = pair.client.keyLog.map(\.label)
        XCTAssertEqual(labels, ["CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                                "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0", "EXPORTER_SECRET"])
        XCTAssertEqual(pair.client.keyLog, pair.server.keyLog)
        XCTAssertEqual(pair.client.keyLog[0].line.split(separator: " ").map(\.count), [31, 64, 64])
    }
}
