import Foundation
import QuicCrypto
import XCTest

func hexBytes(_ s: String) -> [UInt8] {
    let digits = Array(s.filter { !$0.isWhitespace })
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
}

/// The test-only record layer against RFC 8448 §3 ("Simple 1-RTT Handshake"), and the
/// process/socket harness against a live `openssl`.
final class RecordLayerTests: XCTestCase {
    private let fiftyBytes = (0..<50).map { UInt8($0) }

    /// {client} application data: secret → key/iv, then the record at sequence 0.
    func testRFC8448ClientApplicationRecord() throws {
        let secret = hexBytes("9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5")
        let p = RecordProtection(suite: .aes128GcmSha256, secret: secret)
        XCTAssertEqual(p.key, hexBytes("17422dda596ed5d9acd890e3c63f5051"))
        XCTAssertEqual(p.iv, hexBytes("5b78923dee08579033e523d9"))
        let expected = hexBytes("""
            1703030043a23f7054b62c94d0affafe8228ba55cbefacea42f914aa66bcab3f2b9819a8a5b46b395bd5
            4a9a20441e2b62974e1f5a6292a2977014bd1e3deae63aeebb21694915e4
            """)
        XCTAssertEqual(try p.seal(.applicationData, fiftyBytes), expected)
        // The second client record is close_notify (01 00) at sequence 1.
        XCTAssertEqual(try p.seal(.alert, [1, 0]), hexBytes("1703030013c9872760655666b74d7ff1153efd6db6d0b0e3"))

        let reader = RecordProtection(suite: .aes128GcmSha256, secret: secret)
        let (type, content) = try reader.open(header: Array(expected[0..<5]), body: Array(expected[5...]))
        XCTAssertEqual(type, .applicationData)
        XCTAssertEqual(content, fiftyBytes)
    }

    /// {server} application data is its second application record (after a
    /// NewSessionTicket), so it checks the sequence number in the nonce.
    func testRFC8448ServerApplicationRecordAtSequenceOne() throws {
        let secret = hexBytes("a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643")
        let p = RecordProtection(suite: .aes128GcmSha256, secret: secret)
        XCTAssertEqual(p.key, hexBytes("9f02283b6c9c07efc26bb9f2ac92e356"))
        XCTAssertEqual(p.iv, hexBytes("cf782b88dd83549aadf1e984"))
        let record = hexBytes("""
            17030300432e937e11ef4ac740e538ad36005fc4a46932fc3225d05f82aa1b36e30efaf97d90e6dffc60
            2dcb501a59a8fcc49c4bf2e5f0a21c0047c2abf332540dd032e167c2955d
            """)
        // At sequence 0 the record does not authenticate.
        XCTAssertThrowsError(try RecordProtection(suite: .aes128GcmSha256, secret: secret)
            .open(header: Array(record[0..<5]), body: Array(record[5...])))
        // Read a first record (standing in for the NewSessionTicket), then the RFC's one.
        let ticketRecord = try RecordProtection(suite: .aes128GcmSha256, secret: secret).seal(.handshake, [4, 0, 0, 0])
        XCTAssertEqual(try p.open(header: Array(ticketRecord[0..<5]), body: Array(ticketRecord[5...])).1, [4, 0, 0, 0])
        let (type, content) = try p.open(header: Array(record[0..<5]), body: Array(record[5...]))
        XCTAssertEqual(type, .applicationData)
        XCTAssertEqual(content, fiftyBytes)
    }

    func testPaddingAndEveryCipherSuite() throws {
        for suite in CipherSuite.allCases {
            let secret = [UInt8](repeating: 0x5A, count: suite.hash.digestLength)
            let w = RecordProtection(suite: suite, secret: secret)
            let r = RecordProtection(suite: suite, secret: secret)
            for (i, payload) in [[UInt8](), [1, 2, 3], [UInt8](repeating: 9, count: 1000)].enumerated() {
                var record = try w.seal(.handshake, payload, padding: i * 7)
                let (type, content) = try r.open(header: Array(record[0..<5]), body: Array(record[5...]))
                XCTAssertEqual(type, .handshake, "\(suite)")
                XCTAssertEqual(content, payload, "\(suite)")
                record[record.count - 1] ^= 1
                let r2 = RecordProtection(suite: suite, secret: secret)
                XCTAssertThrowsError(try r2.open(header: Array(record[0..<5]), body: Array(record[5...])))
            }
        }
    }

    /// The harness: `s_server` starts on an ephemeral port, accepts TCP, answers a record
    /// that is not a ClientHello with a plaintext alert, and is stopped.
    func testHarnessAgainstSServer() throws {
        let pki = try TestPKI()
        let leaf = pki.serverLeaf()
        let certFile = try pki.write("cert.pem", leaf.pem + pki.intermediate.pem)
        let keyFile = try pki.write("key.pem", leaf.key.pem)
        let server = try OpenSSLProcess(["s_server", "-tls1_3", "-accept", "127.0.0.1:0", "-naccept", "1",
                                         "-cert", certFile, "-key", keyFile])
        defer { server.stop() }
        let port = try XCTUnwrap(server.acceptedPort(), server.output)
        let connection = try XCTUnwrap(TCPConnection.connect(port: port, within: 5))
        let stream = RecordStream(connection)
        // A handshake record holding a Finished message: unexpected before a ClientHello.
        try stream.writeHandshake([20, 0, 0, 4, 1, 2, 3, 4])
        let record = try stream.readRecord()
        XCTAssertEqual(record?.0, .alert)
        XCTAssertEqual(record?.1.first, 2) // fatal
    }

    /// The harness the other way: `s_client` connects to our listener and sends a
    /// ClientHello in a plaintext handshake record.
    func testHarnessAgainstSClient() throws {
        let listener = try TCPListener()
        let client = try OpenSSLProcess(["s_client", "-tls1_3", "-connect", "127.0.0.1:\(listener.port)",
                                         "-no_middlebox", "-alpn", "swiftquic-test"])
        defer { client.stop() }
        let connection = try listener.accept(within: 10)
        let stream = RecordStream(connection)
        let record = try XCTUnwrap(try stream.readRecord())
        XCTAssertEqual(record.0, .handshake)
        XCTAssertEqual(record.1.first, 1) // client_hello
        // The ALPN we asked for is in there.
        XCTAssertNotNil(record.1.firstRange(of: Array("swiftquic-test".utf8)))
    }
}
