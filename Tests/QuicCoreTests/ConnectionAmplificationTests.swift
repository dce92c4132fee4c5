import XCTest
@testable import QuicCore
import QuicCrypto
import QuicTLS
import QuicWire

/// The server's anti-amplification limit (RFC 9000 §8.1) when the handshake meets loss, and
/// the client's Initial retransmissions that unblock it (RFC 9002 §6.2.2.1).
final class ConnectionAmplificationTests: XCTestCase {
    /// Runs a handshake where the server's datagrams numbered in `dropServer` (1-based) and the
    /// client's in `dropClient` are lost; checks at each server send that it stays within three
    /// times the bytes the client got through to it while the address is unvalidated.
    func handshake(dropServer: Set<Int>, dropClient: Set<Int> = [], seed: UInt64 = 1,
                   file: StaticString = #filePath, line: UInt = #line) throws {
        let net = SimConfigs.network(seed: seed)
        var clientSent = 0, serverSent = 0
        var clientBytesThrough = 0, serverBytesBeforeValidation = 0
        net.tap = { toServer, bytes in
            if toServer {
                clientSent += 1
                if dropClient.contains(clientSent) { return nil }
                clientBytesThrough += bytes.count
                return bytes
            }
            serverSent += 1
            if let s = net.server.accepted.first, !s.addressValidated {
                serverBytesBeforeValidation += bytes.count
                XCTAssertLessThanOrEqual(serverBytesBeforeValidation, 3 * clientBytesThrough,
                                         "server datagram \(serverSent)", file: file, line: line)
            }
            return dropServer.contains(serverSent) ? nil : bytes
        }
        let client = try net.connect(SimConfigs.client())
        XCTAssertTrue(net.run(for: 30_000_000) { client.isHandshakeConfirmed && (net.server.accepted.first?.isHandshakeComplete ?? false) },
                      "handshake with server drops \(dropServer.sorted()) client drops \(dropClient.sorted())", file: file, line: line)
        let server = try XCTUnwrap(net.server.accepted.first, file: file, line: line)
        XCTAssertTrue(server.addressValidated, file: file, line: line)
        XCTAssertGreaterThan(server.bytesReceived, 0, file: file, line: line)
    }

    func testServerFirstFlightLost() throws {
        try handshake(dropServer: [1, 2, 3])
    }

    func testServerFlightLostTwice() throws {
        try handshake(dropServer: [1, 2, 3, 4, 5, 6])
    }

    func testClientInitialLostThenServerFlightLost() throws {
        try handshake(dropServer: [1, 2], dropClient: [1])
    }

    func testClientSecondFlightLost() throws {
        // The client's Handshake flight (its Finished) is lost: the server stays unvalidated
        // until a retransmission arrives.
        try handshake(dropServer: [], dropClient: [2, 3])
    }

    func testUndecryptableDatagramsCountTowardsTheLimit() throws {
        // RFC 9000 §8.1: all payload bytes of datagrams attributed to the connection count,
        // including those whose packets are all discarded.
        let ep = Endpoint(configuration: EndpointConfiguration(server: SimConfigs.server()))
        let client = try Connection(client: SimConfigs.client(), remote: SocketAddress(), now: 0)
        let (_, first) = try XCTUnwrap(client.pollTransmit(now: 0))
        let from = SocketAddress(ipv4: 10, 0, 0, 1, port: 5000)
        guard case .newConnection(let server)? = ep.handle(datagram: first, from: from, now: 0) else {
            return XCTFail("no connection")
        }
        XCTAssertEqual(server.bytesReceived, UInt64(first.count))
        var junk = first
        junk[junk.count - 1] ^= 0xff  // same DCID, AEAD fails
        ep.handle(datagram: junk, from: from, now: 1)
        XCTAssertEqual(server.bytesReceived, UInt64(2 * first.count))
    }

    func testClosingServerCountsReceivedBytes() throws {
        // A server closing before validation answers each datagram with CONNECTION_CLOSE,
        // still within three times what it received (RFC 9000 §8.1, §10.2.1).
        let ep = Endpoint(configuration: EndpointConfiguration(server: SimConfigs.server()))
        let client = try Connection(client: SimConfigs.client(), remote: SocketAddress(), now: 0)
        let (_, first) = try XCTUnwrap(client.pollTransmit(now: 0))
        let from = SocketAddress(ipv4: 10, 0, 0, 1, port: 5000)
        guard case .newConnection(let server)? = ep.handle(datagram: first, from: from, now: 0) else {
            return XCTFail("no connection")
        }
        var sent = 0
        while let (_, d) = server.pollTransmit(now: 0) { sent += d.count }
        server.close(errorCode: 7, now: 0)
        XCTAssertEqual(server.state, .closing)
        for i in 1...5 {
            var junk = first
            junk[junk.count - 1] ^= UInt8(i)
            ep.handle(datagram: junk, from: from, now: QuicInstant(microseconds: UInt64(i)))
            while let (_, d) = server.pollTransmit(now: QuicInstant(microseconds: UInt64(i))) { sent += d.count }
        }
        XCTAssertEqual(server.bytesReceived, UInt64(6 * first.count))
        XCTAssertLessThanOrEqual(sent, 3 * 6 * first.count)
        XCTAssertGreaterThan(sent, 0)
    }
}
