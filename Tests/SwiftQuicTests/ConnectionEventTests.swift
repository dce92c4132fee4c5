// Listeners, connections and streams end to end over 127.0.0.1 through the API table, checking
// MsQuic's execution model: every event of a connection and its streams arrives on one worker
// thread, one at a time, in MsQuic's order; calls made inside a callback run inline; blocking
// calls from a callback do not hang; RECEIVE with partial consumption and with PENDING.

import CMsQuic
import Foundation
import XCTest

/// What one side saw: event names in order, the threads they came on, and waiters.
final class Recorder: @unchecked Sendable {
    let condition = NSCondition()
    var events: [String] = []
    var threads: Set<UInt> = []
    var concurrent = false
    var inCallback = false
    // Callbacks (on workers) and the test thread both touch these: every access goes through
    // the condition's lock (`_modify` keeps it held for the whole in-place mutation).
    private var _data: [UInt8] = []
    private var _values: [String: UInt64] = [:]
    private var _handles: [String: HQUIC] = [:]
    var data: [UInt8] {
        get { condition.lock(); defer { condition.unlock() }; return _data }
        _modify { condition.lock(); defer { condition.unlock() }; yield &_data }
    }
    var values: [String: UInt64] {
        get { condition.lock(); defer { condition.unlock() }; return _values }
        _modify { condition.lock(); defer { condition.unlock() }; yield &_values }
    }
    var handles: [String: HQUIC] {
        get { condition.lock(); defer { condition.unlock() }; return _handles }
        _modify { condition.lock(); defer { condition.unlock() }; yield &_handles }
    }

    func record(_ name: String, _ body: () -> Void = {}) {
        condition.lock()
        if inCallback { concurrent = true }
        inCallback = true
        threads.insert(UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(bitPattern: UInt(pthread_self())))))
        condition.unlock()
        body()
        condition.lock()
        events.append(name)
        inCallback = false
        condition.broadcast()
        condition.unlock()
    }

    func wait(for name: String, count: Int = 1, timeout: TimeInterval = 10) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while events.filter({ $0 == name }).count < count {
            if !condition.wait(until: deadline) { return false }
        }
        return true
    }

    var pointer: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }
    static func from(_ p: UnsafeMutableRawPointer?) -> Recorder { Unmanaged<Recorder>.fromOpaque(p!).takeUnretainedValue() }
}

/// The API table for the C callbacks below (they cannot capture).
nonisolated(unsafe) var testAPI: QUIC_API_TABLE!
nonisolated(unsafe) var serverConfigurationHandle: HQUIC?

final class ConnectionEventTests: XCTestCase {
    var quic: Quic!
    var registration: HQUIC!
    var server: Recorder!

    override func setUp() {
        quic = Quic()
        testAPI = quic.api
        registration = quic.registration("events")
        server = Recorder()
    }

    override func tearDown() {
        quic.api.RegistrationClose!(registration)
        quic.close()
        quic = nil
    }

    // MARK: Setup

    func serverConfiguration() throws -> HQUIC {
        var settings = QUIC_SETTINGS()
        settings.IsSet.PeerBidiStreamCount = 1
        settings.PeerBidiStreamCount = 4
        settings.IsSet.IdleTimeoutMs = 1
        settings.IdleTimeoutMs = 5000
        let (status, config) = quic.openConfiguration(registration, alpns: ["evt"], settings: &settings)
        XCTAssertEqual(status, S.success)
        let cert = try Certs.path("server.crt"), key = try Certs.path("server.key")
        let loaded = cert.withCString { c in key.withCString { k -> UInt32 in
            var files = QUIC_CERTIFICATE_FILE(PrivateKeyFile: k, CertificateFile: c)
            return withUnsafeMutablePointer(to: &files) { f in
                var cred = QUIC_CREDENTIAL_CONFIG()
                cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE
                cred.CertificateFile = f
                return quic.api.ConfigurationLoadCredential!(config, &cred)
            }
        } }
        XCTAssertEqual(loaded, S.success)
        return config!
    }

    func clientConfiguration() -> HQUIC {
        var settings = QUIC_SETTINGS()
        settings.IsSet.IdleTimeoutMs = 1
        settings.IdleTimeoutMs = 5000
        let (status, config) = quic.openConfiguration(registration, alpns: ["evt"], settings: &settings)
        XCTAssertEqual(status, S.success)
        var cred = QUIC_CREDENTIAL_CONFIG()
        cred.Type = QUIC_CREDENTIAL_TYPE_NONE
        cred.Flags = QUIC_CREDENTIAL_FLAGS(QUIC_CREDENTIAL_FLAG_CLIENT.rawValue | QUIC_CREDENTIAL_FLAG_NO_CERTIFICATE_VALIDATION.rawValue)
        XCTAssertEqual(quic.api.ConfigurationLoadCredential!(config, &cred), S.success)
        return config!
    }

    /// A started listener on 127.0.0.1 with an ephemeral port whose accepted connections use
    /// `serverConnectionCallback` with `server` as context.
    func startListener(wildcard: Bool = false) throws -> (HQUIC, UInt16) {
        serverConfigurationHandle = try serverConfiguration()
        var listener: HQUIC?
        XCTAssertEqual(quic.api.ListenerOpen!(registration, listenerCallback, server.pointer, &listener), S.success)
        var address = QUIC_ADDR()
        address.Ipv4.sin_family = sa_family_t(AF_INET)
        address.Ipv4.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let alpn = [UInt8]("evt".utf8)
        let status = withBuffers([alpn]) { buffers in
            wildcard ? quic.api.ListenerStart!(listener, buffers.baseAddress, 1, nil)
                     : quic.api.ListenerStart!(listener, buffers.baseAddress, 1, &address)
        }
        XCTAssertEqual(status, S.success)
        let (got, local) = quic.get(listener, QUIC_PARAM_LISTENER_LOCAL_ADDRESS, as: QUIC_ADDR.self)
        XCTAssertEqual(got, S.success)
        let port = UInt16(bigEndian: wildcard ? local?.Ipv6.sin6_port ?? 0 : local?.Ipv4.sin_port ?? 0)
        XCTAssertNotEqual(port, 0)
        return (listener!, port)
    }

    func connect(_ port: UInt16, _ recorder: Recorder, _ configuration: HQUIC, host: String = "127.0.0.1") -> HQUIC {
        var connection: HQUIC?
        XCTAssertEqual(quic.api.ConnectionOpen!(registration, clientConnectionCallback, recorder.pointer, &connection), S.success)
        let family = host.contains(":") ? QUIC_ADDRESS_FAMILY_INET6 : QUIC_ADDRESS_FAMILY_INET
        XCTAssertEqual(quic.api.ConnectionStart!(connection, configuration, QUIC_ADDRESS_FAMILY(family), host, port), S.success)
        return connection!
    }

    // MARK: Tests

    func testEventsOfAConnectionComeInOrderOnOneWorkerThread() throws {
        let (listener, port) = try startListener()
        let clientConfig = clientConfiguration()
        let client = Recorder()
        let connection = connect(port, client, clientConfig)
        XCTAssertTrue(client.wait(for: "CONNECTED"))
        XCTAssertTrue(server.wait(for: "SERVER_CONNECTED"))
        quic.api.ConnectionShutdown!(connection, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 7)
        XCTAssertTrue(client.wait(for: "SHUTDOWN_COMPLETE"))
        XCTAssertTrue(server.wait(for: "SERVER_SHUTDOWN_COMPLETE"))
        quic.api.ConnectionClose!(connection)

        XCTAssertEqual(client.events.first, "CONNECTED")
        XCTAssertEqual(client.events.last, "SHUTDOWN_COMPLETE")
        XCTAssertEqual(client.threads.count, 1, "one worker delivers every event of a connection")
        XCTAssertFalse(client.threads.contains(UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(bitPattern: UInt(pthread_self()))))),
                       "events come on a worker, not the application thread")
        XCTAssertFalse(client.concurrent, "one event at a time")
        XCTAssertEqual(server.values["peerErrorCode"], 7, "SHUTDOWN_INITIATED_BY_PEER carries the application error code")
        XCTAssertTrue(server.events.contains("SHUTDOWN_INITIATED_BY_PEER"))
        XCTAssertLessThan(server.events.firstIndex(of: "SHUTDOWN_INITIATED_BY_PEER") ?? 99,
                          server.events.firstIndex(of: "SERVER_SHUTDOWN_COMPLETE") ?? -1)
        quic.api.ListenerClose!(listener)
        XCTAssertTrue(server.events.contains("STOP_COMPLETE"), "ListenerClose delivers STOP_COMPLETE before it returns")
        quic.api.ConfigurationClose!(clientConfig)
        quic.api.ConfigurationClose!(serverConfigurationHandle)
    }

    func testStreamPartialAndPendingReceive() throws {
        let (listener, port) = try startListener()
        let clientConfig = clientConfiguration()
        let client = Recorder()
        let connection = connect(port, client, clientConfig)
        XCTAssertTrue(client.wait(for: "CONNECTED"))
        // The server's stream callback takes 5 bytes of the first RECEIVE, then (after
        // ReceiveSetEnabled) answers PENDING and completes from the test thread.
        var stream: HQUIC?
        XCTAssertEqual(quic.api.StreamOpen!(connection, QUIC_STREAM_OPEN_FLAG_NONE, clientStreamCallback, client.pointer, &stream), S.success)
        XCTAssertEqual(quic.api.StreamStart!(stream, QUIC_STREAM_START_FLAG_NONE), S.pending)
        XCTAssertTrue(client.wait(for: "START_COMPLETE"))
        let message = Array("0123456789abcdef".utf8)
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: message.count)
        buffer.initialize(from: message, count: message.count)
        var quicBuffer = QUIC_BUFFER(Length: UInt32(message.count), Buffer: buffer)
        XCTAssertEqual(quic.api.StreamSend!(stream, &quicBuffer, 1, QUIC_SEND_FLAG_FIN, UnsafeMutableRawPointer(bitPattern: 0x5E)), S.pending)
        XCTAssertTrue(client.wait(for: "SEND_COMPLETE"))
        XCTAssertEqual(client.values["sendContext"], 0x5E)
        buffer.deallocate()                      // ours again after SEND_COMPLETE

        XCTAssertTrue(server.wait(for: "RECEIVE"))
        Thread.sleep(forTimeInterval: 0.2)
        XCTAssertEqual(server.events.filter { $0 == "RECEIVE" }.count, 1, "a partial receive pauses indications")
        XCTAssertEqual(server.data, Array(message[0..<5]))
        guard let serverStream = server.handles["stream"] else { return XCTFail("no server stream") }
        server.values["pending"] = 1
        XCTAssertEqual(quic.api.StreamReceiveSetEnabled!(serverStream, 1), S.pending)
        XCTAssertTrue(server.wait(for: "RECEIVE", count: 2))
        XCTAssertEqual(server.values["offset2"], 5, "the rest starts at absolute offset 5")
        quic.api.StreamReceiveComplete!(serverStream, server.values["length2"] ?? 0)
        XCTAssertTrue(server.wait(for: "PEER_SEND_SHUTDOWN"))
        XCTAssertEqual(server.data, message)

        quic.api.ConnectionShutdown!(connection, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0)
        XCTAssertTrue(client.wait(for: "SHUTDOWN_COMPLETE"))
        XCTAssertTrue(client.events.contains("STREAM_SHUTDOWN_COMPLETE"))
        XCTAssertLessThan(client.events.lastIndex(of: "STREAM_SHUTDOWN_COMPLETE") ?? 99,
                          client.events.firstIndex(of: "SHUTDOWN_COMPLETE") ?? -1,
                          "streams end before their connection")
        quic.api.StreamClose!(stream)
        quic.api.ConnectionClose!(connection)
        XCTAssertTrue(server.wait(for: "SERVER_SHUTDOWN_COMPLETE"))
        quic.api.ListenerClose!(listener)
        quic.api.ConfigurationClose!(clientConfig)
        quic.api.ConfigurationClose!(serverConfigurationHandle)
    }

    func testBlockingCallsFromACallbackDoNotHang() throws {
        // The client's SHUTDOWN_COMPLETE handler calls ConnectionClose inline and the
        // RegistrationClose of a second, empty registration: both must return.
        let (listener, port) = try startListener()
        let clientConfig = clientConfiguration()
        let client = Recorder()
        var other: HQUIC?
        XCTAssertEqual(quic.api.RegistrationOpen!(nil, &other), S.success)
        client.handles["closeInline"] = other
        let connection = connect(port, client, clientConfig)
        XCTAssertTrue(client.wait(for: "CONNECTED"))
        client.values["closeInCallback"] = 1
        quic.api.ConnectionShutdown!(connection, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0)
        XCTAssertTrue(client.wait(for: "SHUTDOWN_COMPLETE"))
        XCTAssertTrue(client.wait(for: "CLOSED_INLINE"))
        // The handle is gone: calls on it are refused, not crashes.
        XCTAssertEqual(quic.api.StreamOpen!(connection, QUIC_STREAM_OPEN_FLAG_NONE, clientStreamCallback, nil, &other), S.invalidParameter)
        XCTAssertTrue(server.wait(for: "SERVER_SHUTDOWN_COMPLETE"))
        quic.api.ListenerClose!(listener)
        quic.api.ConfigurationClose!(clientConfig)
        quic.api.ConfigurationClose!(serverConfigurationHandle)
    }

    func testStreamSendFromAnotherConnectionsCallback() throws {
        // A callback of connection 1 sends on a stream of connection 2 (another worker when
        // there are several): MsQuic queues the send; it must neither fail nor wait.
        let (listener, port) = try startListener()
        let clientConfig = clientConfiguration()
        let one = Recorder(), two = Recorder()
        let c1 = connect(port, one, clientConfig)
        let c2 = connect(port, two, clientConfig)
        XCTAssertTrue(one.wait(for: "CONNECTED"))
        XCTAssertTrue(two.wait(for: "CONNECTED"))
        var stream: HQUIC?
        XCTAssertEqual(quic.api.StreamOpen!(c2, QUIC_STREAM_OPEN_FLAG_NONE, clientStreamCallback, two.pointer, &stream), S.success)
        XCTAssertEqual(quic.api.StreamStart!(stream, QUIC_STREAM_START_FLAG_NONE), S.pending)
        XCTAssertTrue(two.wait(for: "START_COMPLETE"))
        one.handles["foreignStream"] = stream
        quic.api.ConnectionShutdown!(c1, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0)
        XCTAssertTrue(one.wait(for: "SHUTDOWN_COMPLETE"))
        XCTAssertTrue(one.wait(for: "FOREIGN_SEND"))
        XCTAssertTrue(one.values["foreignStatus"] == UInt64(S.pending), "queued send: \(one.values["foreignStatus"] ?? 0)")
        XCTAssertTrue(two.wait(for: "SEND_COMPLETE"), "the queued send completed")
        XCTAssertTrue(server.wait(for: "PEER_SEND_SHUTDOWN"))
        XCTAssertEqual(server.data.count, 5, "the server got the 5 bytes (partial-receive callback takes 5)")
        quic.api.StreamClose!(stream)
        quic.api.ConnectionClose!(c1)
        quic.api.ConnectionShutdown!(c2, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0)
        XCTAssertTrue(two.wait(for: "SHUTDOWN_COMPLETE"))
        quic.api.ConnectionClose!(c2)
        XCTAssertTrue(server.wait(for: "SERVER_SHUTDOWN_COMPLETE", count: 2))
        quic.api.ListenerClose!(listener)
        quic.api.ConfigurationClose!(clientConfig)
        quic.api.ConfigurationClose!(serverConfigurationHandle)
    }

    func testConfigurationGivenAfterNewConnectionReturned() throws {
        // MsQuic lets the listener's app return SUCCESS and call ConnectionSetConfiguration
        // later; the client's first flight waits (and its retransmissions with it).
        server.values["deferConfiguration"] = 1
        let (listener, port) = try startListener()
        let clientConfig = clientConfiguration()
        let client = Recorder()
        let connection = connect(port, client, clientConfig)
        XCTAssertTrue(server.wait(for: "NEW_CONNECTION"))
        Thread.sleep(forTimeInterval: 0.3)
        XCTAssertFalse(client.events.contains("CONNECTED"), "no handshake before the configuration")
        guard let accepted = server.handles["accepted"] else { return XCTFail("no accepted connection") }
        XCTAssertEqual(quic.api.ConnectionSetConfiguration!(accepted, serverConfigurationHandle), S.success)
        XCTAssertEqual(quic.api.ConnectionSetConfiguration!(accepted, serverConfigurationHandle), S.invalidState,
                       "a configuration is given once")
        let configured = Date()
        XCTAssertTrue(client.wait(for: "CONNECTED"))
        XCTAssertLessThan(Date().timeIntervalSince(configured), 0.5, "the held first flight is answered at once")
        XCTAssertTrue(server.wait(for: "SERVER_CONNECTED"))
        quic.api.ConnectionShutdown!(connection, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0)
        XCTAssertTrue(client.wait(for: "SHUTDOWN_COMPLETE"))
        quic.api.ConnectionClose!(connection)
        // The server drains for three PTOs (RFC 9000 §10.2.2), long here: the first RTT
        // sample includes the wait for the configuration.
        XCTAssertTrue(server.wait(for: "SERVER_SHUTDOWN_COMPLETE"))
        quic.api.ListenerClose!(listener)
        quic.api.ConfigurationClose!(clientConfig)
        quic.api.ConfigurationClose!(serverConfigurationHandle)
    }

    func testIPv6LoopbackToAWildcardListener() throws {
        let (listener, port) = try startListener(wildcard: true)
        let clientConfig = clientConfiguration()
        let client = Recorder()
        let connection = connect(port, client, clientConfig, host: "::1")
        XCTAssertTrue(client.wait(for: "CONNECTED"))
        let (status, remote) = quic.get(connection, QUIC_PARAM_CONN_REMOTE_ADDRESS, as: QUIC_ADDR.self)
        XCTAssertEqual(status, S.success)
        XCTAssertEqual(Int32(remote?.Ip.sa_family ?? 0), AF_INET6)
        quic.api.ConnectionShutdown!(connection, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0)
        XCTAssertTrue(client.wait(for: "SHUTDOWN_COMPLETE"))
        quic.api.ConnectionClose!(connection)
        XCTAssertTrue(server.wait(for: "SERVER_SHUTDOWN_COMPLETE"))
        quic.api.ListenerClose!(listener)
        quic.api.ConfigurationClose!(clientConfig)
        quic.api.ConfigurationClose!(serverConfigurationHandle)
    }

    func testRetryFirstWhenRetryMemoryIsZero() throws {
        // QUIC_PARAM_GLOBAL_RETRY_MEMORY_PERCENT 0: every client is asked to prove its address
        // with a Retry (RFC 9000 §8.1.2) before the listener hears of it.
        XCTAssertEqual(quic.set(nil, QUIC_PARAM_GLOBAL_RETRY_MEMORY_PERCENT, UInt16(0)), S.success)
        let (listener, port) = try startListener()
        let clientConfig = clientConfiguration()
        let client = Recorder()
        let connection = connect(port, client, clientConfig)
        XCTAssertTrue(client.wait(for: "CONNECTED"))
        XCTAssertEqual(server.events.filter { $0 == "NEW_CONNECTION" }.count, 1, "one NEW_CONNECTION, after the Retry")
        quic.api.ConnectionShutdown!(connection, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0)
        XCTAssertTrue(client.wait(for: "SHUTDOWN_COMPLETE"))
        quic.api.ConnectionClose!(connection)
        XCTAssertTrue(server.wait(for: "SERVER_SHUTDOWN_COMPLETE"))
        quic.api.ListenerClose!(listener)
        quic.api.ConfigurationClose!(clientConfig)
        quic.api.ConfigurationClose!(serverConfigurationHandle)
    }

    func testStreamAbortsBothWays() throws {
        let (listener, port) = try startListener()
        let clientConfig = clientConfiguration()
        let client = Recorder()
        let connection = connect(port, client, clientConfig)
        XCTAssertTrue(client.wait(for: "CONNECTED"))
        server.values["abortReceive"] = 88            // the server answers with STOP_SENDING(88)
        var stream: HQUIC?
        XCTAssertEqual(quic.api.StreamOpen!(connection, QUIC_STREAM_OPEN_FLAG_NONE, abortStreamCallback, client.pointer, &stream), S.success)
        XCTAssertEqual(quic.api.StreamStart!(stream, QUIC_STREAM_START_FLAG_IMMEDIATE), S.pending)
        var one = QUIC_BUFFER(Length: 1, Buffer: foreignBuffer.withMemoryRebound(to: UInt8.self, capacity: 1) { $0 })
        XCTAssertEqual(quic.api.StreamSend!(stream, &one, 1, QUIC_SEND_FLAG_NONE, nil), S.pending)
        // The server's RECEIVE handler sends STOP_SENDING(88): RFC 9000 §3.5, the client's
        // send side is reset with it and the app sees PEER_RECEIVE_ABORTED(88).
        XCTAssertTrue(client.wait(for: "PEER_RECEIVE_ABORTED"))
        XCTAssertEqual(client.values["peerReceiveAborted"], 88)
        // Now the client aborts its receive side too; the stream ends.
        XCTAssertEqual(quic.api.StreamShutdown!(stream, QUIC_STREAM_SHUTDOWN_FLAG_ABORT_RECEIVE, 99), S.success)
        XCTAssertTrue(server.wait(for: "PEER_RECEIVE_ABORTED"))
        XCTAssertEqual(server.values["serverPeerReceiveAborted"], 99)
        XCTAssertTrue(client.wait(for: "STREAM_SHUTDOWN_COMPLETE"))
        XCTAssertEqual(client.values["sendShutdownGraceful"], 0, "SEND_SHUTDOWN_COMPLETE after a reset is not graceful")
        XCTAssertEqual(client.values["connectionShutdown"], 0, "the stream ended on its own, not with the connection")
        quic.api.StreamClose!(stream)
        // The peer's MAX_STREAMS grows back when the stream is gone (STREAMS_AVAILABLE).
        XCTAssertTrue(client.wait(for: "STREAMS_AVAILABLE"))
        XCTAssertGreaterThan(client.values["bidiAvailable"] ?? 0, 0)
        quic.api.ConnectionShutdown!(connection, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0)
        XCTAssertTrue(client.wait(for: "SHUTDOWN_COMPLETE"))
        quic.api.ConnectionClose!(connection)
        XCTAssertTrue(server.wait(for: "SERVER_SHUTDOWN_COMPLETE"))
        quic.api.ListenerClose!(listener)
        quic.api.ConfigurationClose!(clientConfig)
        quic.api.ConfigurationClose!(serverConfigurationHandle)
    }

    func testStreamCallsOnUnstartedAndClosedStreams() throws {
        let (listener, port) = try startListener()
        let clientConfig = clientConfiguration()
        let client = Recorder()
        let connection = connect(port, client, clientConfig)
        XCTAssertTrue(client.wait(for: "CONNECTED"))
        var stream: HQUIC?
        XCTAssertEqual(quic.api.StreamOpen!(connection, QUIC_STREAM_OPEN_FLAG_NONE, clientStreamCallback, client.pointer, &stream), S.success)
        var empty = QUIC_BUFFER(Length: 0, Buffer: nil)
        // MsQuic (api.c) queues a send on a stream not started yet: it waits for StreamStart.
        XCTAssertEqual(quic.api.StreamSend!(stream, &empty, 1, QUIC_SEND_FLAG_NONE, nil), S.pending, "send before start is held")
        XCTAssertEqual(quic.get(stream, QUIC_PARAM_STREAM_ID, as: UInt64.self).0, S.invalidState, "no ID before start")
        XCTAssertEqual(quic.api.StreamStart!(stream, QUIC_STREAM_START_FLAG_NONE), S.pending)
        XCTAssertEqual(quic.api.StreamStart!(stream, QUIC_STREAM_START_FLAG_NONE), S.invalidState, "start twice")
        XCTAssertTrue(client.wait(for: "START_COMPLETE"))
        quic.api.StreamClose!(stream)
        XCTAssertEqual(quic.api.StreamSend!(stream, &empty, 1, QUIC_SEND_FLAG_FIN, nil), S.invalidParameter, "closed handle")
        quic.api.ConnectionClose!(connection)   // implicit shutdown
        XCTAssertTrue(client.events.contains("SHUTDOWN_COMPLETE"), "ConnectionClose delivers SHUTDOWN_COMPLETE before returning")
        // The close above is silent: only the server's 5 s idle timeout ends its side, so the
        // wait leaves room for a loaded machine (it timed out once at 10 s under ASan).
        XCTAssertTrue(server.wait(for: "SERVER_SHUTDOWN_COMPLETE", timeout: 30))
        quic.api.ListenerClose!(listener)
        quic.api.ConfigurationClose!(clientConfig)
        quic.api.ConfigurationClose!(serverConfigurationHandle)
    }
}

// MARK: C callbacks

/// Memory for the cross-worker StreamSend (kept until the process ends).
nonisolated(unsafe) var foreignMessage: [UInt8] = Array("hello".utf8)
nonisolated(unsafe) let foreignBuffer = UnsafeMutablePointer<QUIC_BUFFER>.allocate(capacity: 1)

private let listenerCallback: QUIC_LISTENER_CALLBACK_HANDLER = { _, context, event in
    let r = Recorder.from(context)
    guard let event else { return S.invalidParameter }
    switch event.pointee.Type {
    case QUIC_LISTENER_EVENT_NEW_CONNECTION:
        var status = S.success
        r.record("NEW_CONNECTION") {
            let connection = event.pointee.NEW_CONNECTION.Connection
            testAPI.SetCallbackHandler!(connection, unsafeBitCast(serverConnectionCallback, to: UnsafeMutableRawPointer.self), context)
            if r.values["deferConfiguration"] == 1 {
                r.handles["accepted"] = connection      // configured later, from the test thread
            } else {
                status = testAPI.ConnectionSetConfiguration!(connection, serverConfigurationHandle)
            }
        }
        return status
    case QUIC_LISTENER_EVENT_STOP_COMPLETE:
        r.record("STOP_COMPLETE")
    default:
        break
    }
    return S.success
}

private let serverConnectionCallback: QUIC_CONNECTION_CALLBACK_HANDLER = { connection, context, event in
    let r = Recorder.from(context)
    guard let event else { return S.invalidParameter }
    switch event.pointee.Type {
    case QUIC_CONNECTION_EVENT_CONNECTED: r.record("SERVER_CONNECTED")
    case QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_PEER:
        r.record("SHUTDOWN_INITIATED_BY_PEER") { r.values["peerErrorCode"] = event.pointee.SHUTDOWN_INITIATED_BY_PEER.ErrorCode }
    case QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED:
        r.record("PEER_STREAM_STARTED") {
            let stream = event.pointee.PEER_STREAM_STARTED.Stream
            r.handles["stream"] = stream
            testAPI.SetCallbackHandler!(stream, unsafeBitCast(serverStreamCallback, to: UnsafeMutableRawPointer.self), context)
        }
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        r.record("SERVER_SHUTDOWN_COMPLETE") { testAPI.ConnectionClose!(connection) }
    default: break
    }
    return S.success
}

private let serverStreamCallback: QUIC_STREAM_CALLBACK_HANDLER = { stream, context, event in
    let r = Recorder.from(context)
    guard let event else { return S.invalidParameter }
    var status = S.success
    switch event.pointee.Type {
    case QUIC_STREAM_EVENT_RECEIVE:
        r.record("RECEIVE") {
            let receive = event.pointee.RECEIVE
            var all: [UInt8] = []
            for i in 0..<Int(receive.BufferCount) {
                let b = receive.Buffers[i]
                all += UnsafeBufferPointer(start: b.Buffer, count: Int(b.Length))
            }
            if let code = r.values["abortReceive"] {
                r.values["abortReceive"] = nil
                testAPI.StreamShutdown!(stream, QUIC_STREAM_SHUTDOWN_FLAG_ABORT_RECEIVE, code)
                return
            }
            if r.values["pending"] == 1 {
                r.values["offset2"] = receive.AbsoluteOffset
                r.values["length2"] = receive.TotalBufferLength
                r.data += all
                status = S.pending
            } else {
                // Take 5 bytes only: indications pause until StreamReceiveSetEnabled(TRUE).
                r.data += all.prefix(5)
                event.pointee.RECEIVE.TotalBufferLength = 5
            }
        }
    case QUIC_STREAM_EVENT_PEER_SEND_SHUTDOWN:
        r.record("PEER_SEND_SHUTDOWN") {
            testAPI.StreamShutdown!(stream, QUIC_STREAM_SHUTDOWN_FLAG_GRACEFUL, 0)
        }
    case QUIC_STREAM_EVENT_PEER_RECEIVE_ABORTED:
        r.record("PEER_RECEIVE_ABORTED") { r.values["serverPeerReceiveAborted"] = event.pointee.PEER_RECEIVE_ABORTED.ErrorCode }
    case QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE:
        r.record("STREAM_SHUTDOWN_COMPLETE") { testAPI.StreamClose!(stream) }
    default: break
    }
    return status
}

private let clientConnectionCallback: QUIC_CONNECTION_CALLBACK_HANDLER = { connection, context, event in
    let r = Recorder.from(context)
    guard let event else { return S.invalidParameter }
    switch event.pointee.Type {
    case QUIC_CONNECTION_EVENT_CONNECTED: r.record("CONNECTED")
    case QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT: r.record("SHUTDOWN_INITIATED_BY_TRANSPORT")
    case QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_PEER: r.record("SHUTDOWN_INITIATED_BY_PEER")
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        r.record("SHUTDOWN_COMPLETE")
        if let foreign = r.handles["foreignStream"] {
            foreignMessage.withUnsafeMutableBufferPointer { b in
                foreignBuffer.pointee = QUIC_BUFFER(Length: UInt32(b.count), Buffer: b.baseAddress)
            }
            let status = testAPI.StreamSend!(foreign, foreignBuffer, 1, QUIC_SEND_FLAG_FIN, nil)
            r.record("FOREIGN_SEND") { r.values["foreignStatus"] = UInt64(status) }
        }
        if r.values["closeInCallback"] == 1 {
            testAPI.ConnectionClose!(connection)
            if let other = r.handles["closeInline"] { testAPI.RegistrationClose!(other) }
            r.record("CLOSED_INLINE")
        }
    case QUIC_CONNECTION_EVENT_STREAMS_AVAILABLE:
        r.record("STREAMS_AVAILABLE") { r.values["bidiAvailable"] = UInt64(event.pointee.STREAMS_AVAILABLE.BidirectionalCount) }
    default: r.record("EVENT_\(event.pointee.Type.rawValue)")
    }
    return S.success
}

private let abortStreamCallback: QUIC_STREAM_CALLBACK_HANDLER = { _, context, event in
    guard let context, let event else { return S.success }
    let r = Recorder.from(context)
    switch event.pointee.Type {
    case QUIC_STREAM_EVENT_PEER_RECEIVE_ABORTED:
        r.record("PEER_RECEIVE_ABORTED") { r.values["peerReceiveAborted"] = event.pointee.PEER_RECEIVE_ABORTED.ErrorCode }
    case QUIC_STREAM_EVENT_SEND_SHUTDOWN_COMPLETE:
        r.record("SEND_SHUTDOWN_COMPLETE") { r.values["sendShutdownGraceful"] = UInt64(event.pointee.SEND_SHUTDOWN_COMPLETE.Graceful) }
    case QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE:
        r.record("STREAM_SHUTDOWN_COMPLETE") {
            r.values["connectionShutdown"] = UInt64(event.pointee.SHUTDOWN_COMPLETE.ConnectionShutdown)
        }
    default: r.record("STREAM_EVENT_\(event.pointee.Type.rawValue)")
    }
    return S.success
}

private let clientStreamCallback: QUIC_STREAM_CALLBACK_HANDLER = { _, context, event in
    guard let context, let event else { return S.success }
    let r = Recorder.from(context)
    switch event.pointee.Type {
    case QUIC_STREAM_EVENT_START_COMPLETE: r.record("START_COMPLETE")
    case QUIC_STREAM_EVENT_SEND_COMPLETE:
        r.record("SEND_COMPLETE") { r.values["sendContext"] = UInt64(UInt(bitPattern: event.pointee.SEND_COMPLETE.ClientContext)) }
    case QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE: r.record("STREAM_SHUTDOWN_COMPLETE")
    default: r.record("STREAM_EVENT_\(event.pointee.Type.rawValue)")
    }
    return S.success
}
