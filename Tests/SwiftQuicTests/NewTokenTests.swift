// NEW_TOKEN through the API (RFC 9000 §8.1.3): with QUIC_PARAM_GLOBAL_RETRY_MEMORY_PERCENT 0 a
// listener sends every client without a validated address a Retry first (§8.1.2). The first
// connection goes through one and receives a NEW_TOKEN; the second connection to the same
// server (name and port) sends that token and is admitted without a Retry.

import CMsQuic
import Glibc
@testable import SwiftQuic
import XCTest

extension ConnectionEventTests {
    func testSecondConnectionSkipsRetryWithNewToken() throws {
        XCTAssertEqual(quic.set(nil, QUIC_PARAM_GLOBAL_RETRY_MEMORY_PERCENT, UInt16(0)), S.success)
        defer { _ = quic.set(nil, QUIC_PARAM_GLOBAL_RETRY_MEMORY_PERCENT, UInt16(65)) }
        let (listener, port) = try startListener()
        let clientConfig = clientConfiguration()
        let key = NewTokenCache.key(server: "127.0.0.1", port: port)
        XCTAssertFalse(NewTokenCache.contains(key))
        let retriesBefore = Binding.retriesSent.load(ordering: .relaxed)

        func oneConnection() -> (retry: UInt32, handshakeCompleted: Bool) {
            let client = Recorder()
            let connection = connect(port, client, clientConfig)
            let connected = client.wait(for: "CONNECTED")
            // The NEW_TOKEN frame follows HANDSHAKE_DONE; wait for it (bounded), then close.
            for _ in 0..<200 where !NewTokenCache.contains(key) { usleep(10_000) }
            let (status, stats) = quic.get(connection, QUIC_PARAM_CONN_STATISTICS_V2, as: QUIC_STATISTICS_V2.self)
            XCTAssertEqual(status, S.success)
            quic.api.ConnectionShutdown!(connection, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0)
            XCTAssertTrue(client.wait(for: "SHUTDOWN_COMPLETE"))
            quic.api.ConnectionClose!(connection)
            return (stats?.StatelessRetry ?? 99, connected)
        }

        let first = oneConnection()
        XCTAssertTrue(first.handshakeCompleted)
        XCTAssertEqual(first.retry, 1, "no token yet: a Retry first")
        XCTAssertEqual(Binding.retriesSent.load(ordering: .relaxed) - retriesBefore, 1)
        XCTAssertTrue(NewTokenCache.contains(key), "the server's NEW_TOKEN is kept for this server")

        let second = oneConnection()
        XCTAssertTrue(second.handshakeCompleted)
        XCTAssertEqual(second.retry, 0, "the token validated the address: no Retry")
        XCTAssertEqual(Binding.retriesSent.load(ordering: .relaxed) - retriesBefore, 1)
        XCTAssertEqual(server.events.filter { $0 == "NEW_CONNECTION" }.count, 2)

        quic.api.ListenerClose!(listener)
        quic.api.ConfigurationClose!(clientConfig)
        quic.api.ConfigurationClose!(serverConfigurationHandle)
        _ = NewTokenCache.take(for: key)
    }
}
