// Issue 10: QUIC_SETTINGS at their largest accepted values. ConfigurationOpen accepts
// IdleTimeoutMs and HandshakeIdleTimeoutMs up to QUIC_VAR_INT_MAX (2^62-1) as MsQuic does; the
// connection then starts and works (before the fix ConnectionStart trapped on the worker, and
// a client announcing such a max_idle_timeout made the listening server trap).

import CMsQuic
import Foundation
import XCTest

extension ConnectionEventTests {
    func maximalClientConfiguration() -> HQUIC? {
        var settings = QUIC_SETTINGS()
        settings.IsSet.IdleTimeoutMs = 1
        settings.IdleTimeoutMs = (1 << 62) - 1
        settings.IsSet.HandshakeIdleTimeoutMs = 1
        settings.HandshakeIdleTimeoutMs = (1 << 62) - 1
        settings.IsSet.KeepAliveIntervalMs = 1
        settings.KeepAliveIntervalMs = .max
        settings.IsSet.SendIdleTimeoutMs = 1
        settings.SendIdleTimeoutMs = .max
        settings.IsSet.InitialRttMs = 1
        settings.InitialRttMs = 1
        let (status, config) = quic.openConfiguration(registration, alpns: ["evt"], settings: &settings)
        XCTAssertEqual(status, S.success, "MsQuic accepts these values (bound: QUIC_VAR_INT_MAX)")
        guard let config else { return nil }
        var cred = QUIC_CREDENTIAL_CONFIG()
        cred.Type = QUIC_CREDENTIAL_TYPE_NONE
        cred.Flags = QUIC_CREDENTIAL_FLAGS(QUIC_CREDENTIAL_FLAG_CLIENT.rawValue | QUIC_CREDENTIAL_FLAG_NO_CERTIFICATE_VALIDATION.rawValue)
        XCTAssertEqual(quic.api.ConfigurationLoadCredential!(config, &cred), S.success)
        return config
    }

    func testMaximalIdleTimeoutSettingsConnectAndServerSurvives() throws {
        let (listener, port) = try startListener()
        let clientConfig = try XCTUnwrap(maximalClientConfiguration())
        var settings = QUIC_SETTINGS()
        settings.IsSet.IdleTimeoutMs = 1
        settings.IdleTimeoutMs = (1 << 62)   // one above QUIC_VAR_INT_MAX: refused
        XCTAssertEqual(quic.openConfiguration(registration, alpns: ["evt"], settings: &settings).0, S.invalidParameter)

        // The client announces max_idle_timeout = 2^62-1 in its first Initial.
        let client = Recorder()
        let connection = connect(port, client, clientConfig)
        XCTAssertTrue(client.wait(for: "CONNECTED"))
        XCTAssertTrue(server.wait(for: "SERVER_CONNECTED"))
        quic.api.ConnectionShutdown!(connection, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 3)
        XCTAssertTrue(client.wait(for: "SHUTDOWN_COMPLETE"))
        XCTAssertTrue(server.wait(for: "SERVER_SHUTDOWN_COMPLETE"))
        quic.api.ConnectionClose!(connection)

        // The server lives and serves the next (ordinary) client.
        let normalConfig = clientConfiguration()
        let next = Recorder()
        let second = connect(port, next, normalConfig)
        XCTAssertTrue(next.wait(for: "CONNECTED"))
        XCTAssertTrue(server.wait(for: "SERVER_CONNECTED", count: 2))
        quic.api.ConnectionShutdown!(second, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0)
        XCTAssertTrue(next.wait(for: "SHUTDOWN_COMPLETE"))
        quic.api.ConnectionClose!(second)
        quic.api.ListenerClose!(listener)
        quic.api.ConfigurationClose!(clientConfig)
        quic.api.ConfigurationClose!(normalConfig)
        quic.api.ConfigurationClose!(serverConfigurationHandle)
    }
}
