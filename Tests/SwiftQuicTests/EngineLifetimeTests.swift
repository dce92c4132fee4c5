// Lifetime of the engine objects behind the API: a closed connection must not stay alive in
// its endpoint (QuicCore's Connection refers to its Endpoint as its connection ID registry, so
// an endpoint that keeps a closed connection forms a reference cycle). Before the fix every
// client connection and every connection a listener ever accepted stayed in memory for good.

import CMsQuic
import Foundation
import QuicCore
import XCTest
@testable import SwiftQuic

extension ConnectionEventTests {
    /// Polls `condition` for up to `seconds`.
    private func eventually(_ seconds: Double = 3, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(10_000)
        }
        return condition()
    }

    func testClosedEngineConnectionsAreFreedWhileTheListenerRuns() throws {
        let (listener, port) = try startListener()
        let clientConfig = clientConfiguration()
        weak var clientCore: Connection?
        weak var clientBinding: Binding?
        for round in 1...3 {
            let client = Recorder()
            let connection = connect(port, client, clientConfig)
            XCTAssertTrue(client.wait(for: "CONNECTED"))
            XCTAssertTrue(server.wait(for: "SERVER_CONNECTED", count: round))
            if let object = Handles.object(connection, as: ConnectionObject.self) {
                let (core, binding) = object.worker.sync { (object.core, object.binding) } ?? (nil, nil)
                clientCore = core
                clientBinding = binding
            }
            XCTAssertNotNil(clientCore)
            quic.api.ConnectionShutdown!(connection, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0)
            XCTAssertTrue(client.wait(for: "SHUTDOWN_COMPLETE"))
            XCTAssertTrue(server.wait(for: "SERVER_SHUTDOWN_COMPLETE", count: round))
            quic.api.ConnectionClose!(connection)
            XCTAssertTrue(eventually { clientCore == nil && clientBinding == nil },
                          "round \(round): the client's engine connection and socket binding are freed after ConnectionClose")
        }
        // The listener still runs: its endpoints hold no connection any more.
        let object = try XCTUnwrap(Handles.object(listener, as: ListenerObject.self))
        let bindings = object.state.withLock { $0.bindings }
        XCTAssertFalse(bindings.isEmpty)
        XCTAssertTrue(eventually {
            bindings.allSatisfy { b in (b.worker.sync { b.endpoint.allConnections.count } ?? 1) == 0 }
        }, "the listener's endpoints forgot the closed server connections")
        quic.api.ListenerClose!(listener)
        quic.api.ConfigurationClose!(clientConfig)
        quic.api.ConfigurationClose!(serverConfigurationHandle)
    }

    /// ConnectionClose right after ConnectionShutdown leaves the engine connection in its
    /// closing period (RFC 9000 §10.2.1); the last MsQuicClose stops the timers that would end
    /// it, so it must end it itself.
    func testMsQuicCloseFreesConnectionsStillClosing() throws {
        let (listener, port) = try startListener()
        let clientConfig = clientConfiguration()
        let client = Recorder()
        let connection = connect(port, client, clientConfig)
        XCTAssertTrue(client.wait(for: "CONNECTED"))
        XCTAssertTrue(server.wait(for: "SERVER_CONNECTED"))
        weak var clientCore: Connection?
        weak var clientBinding: Binding?
        if let object = Handles.object(connection, as: ConnectionObject.self) {
            let (core, binding) = object.worker.sync { (object.core, object.binding) } ?? (nil, nil)
            clientCore = core
            clientBinding = binding
        }
        XCTAssertNotNil(clientCore)
        quic.api.ConnectionShutdown!(connection, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0)
        quic.api.ConnectionClose!(connection)
        quic.api.ListenerClose!(listener)
        quic.api.ConfigurationClose!(clientConfig)
        quic.api.ConfigurationClose!(serverConfigurationHandle)
        quic.api.RegistrationClose!(registration)
        quic.close()                                  // the last MsQuicClose of this process
        XCTAssertNil(clientCore, "the closing engine connection is freed by MsQuicClose")
        XCTAssertNil(clientBinding, "its socket binding is freed by MsQuicClose")
        XCTAssertEqual(Binding.live.withLock { $0.count }, 0)
        // tearDown closes these.
        quic = Quic()
        testAPI = quic.api
        registration = quic.registration("events")
    }

    func testFailedListenerStartsLeaveNoBindingBehind() throws {
        // A plain UDP socket (no SO_REUSEPORT) holds a port: ListenerStart there fails.
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { Glibc.close(fd) }
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &sin) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { a -> Bool in
                bind(fd, a, length) == 0 && getsockname(fd, a, &length) == 0
            }
        }
        XCTAssertTrue(bound)
        var listener: HQUIC?
        XCTAssertEqual(quic.api.ListenerOpen!(registration, listenerCallback2, server.pointer, &listener), S.success)
        let before = Binding.live.withLock { $0.count }
        var address = QUIC_ADDR()
        address.Ipv4 = sin
        for _ in 0..<5 {
            let status = withBuffers([Array("evt".utf8)]) { quic.api.ListenerStart!(listener, $0.baseAddress, 1, &address) }
            XCTAssertEqual(status, UInt32(EADDRINUSE))
        }
        XCTAssertEqual(Binding.live.withLock { $0.count }, before, "failed starts keep no binding")
        quic.api.ListenerClose!(listener)
    }
}

private let listenerCallback2: QUIC_LISTENER_CALLBACK_HANDLER = { _, _, _ in S.success }
