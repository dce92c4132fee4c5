// Random API calls on live connections and streams from two application threads at once:
// starts, sends, shutdowns, closes, receive toggles, datagrams and Get/SetParam with random
// identifiers, lengths and flags. Nothing may crash or hang; afterwards everything still
// shuts down and closes, and RegistrationClose returns.

import CMsQuic
import Foundation
import XCTest

nonisolated(unsafe) private let chaosData = UnsafeMutablePointer<UInt8>.allocate(capacity: 1 << 16)
nonisolated(unsafe) private let chaosScratch = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 16)

final class ApiChaosTests: XCTestCase {
    func testRandomCallsOnLiveConnectionsNeverCrash() throws {
        let quic = Quic()
        testAPI = quic.api
        let registration = quic.registration("chaos")
        let server = Recorder()
        chaosData.initialize(repeating: 0x5A, count: 1 << 16)
        chaosScratch.initializeMemory(as: UInt8.self, repeating: 0, count: 4096)

        var settings = QUIC_SETTINGS()
        settings.IsSet.PeerBidiStreamCount = 1
        settings.PeerBidiStreamCount = 8
        settings.IsSet.PeerUnidiStreamCount = 1
        settings.PeerUnidiStreamCount = 8
        settings.IsSet.DatagramReceiveEnabled = 1
        settings.DatagramReceiveEnabled = 1
        let (status, config) = quic.openConfiguration(registration, alpns: ["evt"], settings: &settings)
        XCTAssertEqual(status, S.success)
        let cert = try Certs.path("server.crt"), key = try Certs.path("server.key")
        _ = cert.withCString { c in key.withCString { k -> UInt32 in
            var files = QUIC_CERTIFICATE_FILE(PrivateKeyFile: k, CertificateFile: c)
            return withUnsafeMutablePointer(to: &files) { f in
                var cred = QUIC_CREDENTIAL_CONFIG()
                cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE
                cred.CertificateFile = f
                return quic.api.ConfigurationLoadCredential!(config, &cred)
            }
        } }
        serverConfigurationHandle = config
        var listener: HQUIC?
        XCTAssertEqual(quic.api.ListenerOpen!(registration, chaosListenerCallback, server.pointer, &listener), S.success)
        var address = QUIC_ADDR()
        address.Ipv4.sin_family = sa_family_t(AF_INET)
        address.Ipv4.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        XCTAssertEqual(withBuffers([Array("evt".utf8)]) { quic.api.ListenerStart!(listener, $0.baseAddress, 1, &address) }, S.success)
        let (_, local) = quic.get(listener, QUIC_PARAM_LISTENER_LOCAL_ADDRESS, as: QUIC_ADDR.self)
        let port = UInt16(bigEndian: local?.Ipv4.sin_port ?? 0)

        let (clientStatus, clientConfig) = quic.openConfiguration(registration, alpns: ["evt"], settings: &settings)
        XCTAssertEqual(clientStatus, S.success)
        var cred = QUIC_CREDENTIAL_CONFIG()
        cred.Type = QUIC_CREDENTIAL_TYPE_NONE
        cred.Flags = QUIC_CREDENTIAL_FLAGS(QUIC_CREDENTIAL_FLAG_CLIENT.rawValue | QUIC_CREDENTIAL_FLAG_NO_CERTIFICATE_VALIDATION.rawValue)
        XCTAssertEqual(quic.api.ConfigurationLoadCredential!(clientConfig, &cred), S.success)

        let clients = [Recorder(), Recorder()]
        var connections: [HQUIC] = []
        for r in clients {
            var c: HQUIC?
            XCTAssertEqual(quic.api.ConnectionOpen!(registration, chaosClientCallback, r.pointer, &c), S.success)
            XCTAssertEqual(quic.api.ConnectionStart!(c, clientConfig, QUIC_ADDRESS_FAMILY(QUIC_ADDRESS_FAMILY_INET), "127.0.0.1", port), S.success)
            connections.append(c!)
        }
        for r in clients { XCTAssertTrue(r.wait(for: "CONNECTED")) }

        let api = quic.api
        let conns = UnsafeSendable(connections)
        DispatchQueue.concurrentPerform(iterations: 2) { thread in
            var rng = SystemRandomNumberGenerator()
            var streams: [HQUIC] = []
            let params: [UInt32] = Array(0x0500_0000...0x0500_0020) + [0x0600_0000, 0x0600_0001, 0x0600_0002]
                + Array(0x0800_0000...0x0800_0006) + [0x0400_0000, 0xFFFF_FFFF, 0]
            for _ in 0..<1500 {
                let connection = conns.value[Int.random(in: 0..<conns.value.count, using: &rng)]
                let stream = streams.randomElement(using: &rng)
                switch Int.random(in: 0..<11, using: &rng) {
                case 0, 1:
                    var s: HQUIC?
                    let flags = QUIC_STREAM_OPEN_FLAGS(UInt32.random(in: 0...3, using: &rng))
                    if api.StreamOpen!(connection, flags, chaosStreamCallback, nil, &s) == S.success, let s {
                        streams.append(s)
                    }
                case 2:
                    _ = api.StreamStart!(stream, QUIC_STREAM_START_FLAGS(UInt32.random(in: 0...31, using: &rng)))
                case 3, 4:
                    var buffers = [QUIC_BUFFER(Length: UInt32.random(in: 0...4096, using: &rng), Buffer: chaosData),
                                   QUIC_BUFFER(Length: UInt32.random(in: 0...60000, using: &rng), Buffer: chaosData)]
                    _ = api.StreamSend!(stream, &buffers, UInt32.random(in: 0...2, using: &rng),
                                        QUIC_SEND_FLAGS(UInt32.random(in: 0...0xFF, using: &rng)), nil)
                case 5:
                    let code = Bool.random(using: &rng) ? UInt64.random(in: 0...100, using: &rng) : UInt64.max
                    _ = api.StreamShutdown!(stream, QUIC_STREAM_SHUTDOWN_FLAGS(UInt32.random(in: 0...31, using: &rng)), code)
                case 6:
                    _ = api.StreamReceiveSetEnabled!(stream, UInt8.random(in: 0...1, using: &rng))
                    api.StreamReceiveComplete!(stream, UInt64.random(in: 0...100, using: &rng))
                case 7:
                    if let stream, Int.random(in: 0..<4, using: &rng) == 0 {
                        api.StreamClose!(stream)
                        streams.removeAll { $0 == stream }
                    }
                case 8:
                    var length = UInt32.random(in: 0...600, using: &rng)
                    let target: HQUIC? = Bool.random(using: &rng) ? connection : stream
                    _ = api.GetParam!(target, params.randomElement(using: &rng)!, &length,
                                      Bool.random(using: &rng) ? chaosScratch : nil)
                case 9:
                    // Random bytes, lengths and identifiers; TLS_SECRETS may keep the pointer:
                    // the scratch buffer lives for the whole process.
                    for i in 0..<64 { chaosScratch.storeBytes(of: UInt8.random(in: 0...255, using: &rng), toByteOffset: i, as: UInt8.self) }
                    let target: HQUIC? = Bool.random(using: &rng) ? connection : stream
                    _ = api.SetParam!(target, params.randomElement(using: &rng)!, UInt32.random(in: 0...400, using: &rng),
                                      Bool.random(using: &rng) ? UnsafeRawPointer(chaosScratch) : nil)
                default:
                    var b = QUIC_BUFFER(Length: UInt32.random(in: 0...2000, using: &rng), Buffer: chaosData)
                    _ = api.DatagramSend!(connection, &b, 1, QUIC_SEND_FLAGS(0), nil)
                }
            }
            for s in streams { api.StreamClose!(s) }
            _ = thread
        }
        for c in connections { quic.api.ConnectionShutdown!(c, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0) }
        for r in clients { XCTAssertTrue(r.wait(for: "SHUTDOWN_COMPLETE", timeout: 20)) }
        for c in connections { quic.api.ConnectionClose!(c) }
        XCTAssertTrue(server.wait(for: "SERVER_SHUTDOWN_COMPLETE", count: 2, timeout: 20))
        quic.api.ListenerClose!(listener)
        quic.api.ConfigurationClose!(clientConfig)
        quic.api.ConfigurationClose!(config)
        quic.api.RegistrationClose!(registration)
        quic.close()
    }
}

private struct UnsafeSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

private let chaosListenerCallback: QUIC_LISTENER_CALLBACK_HANDLER = { _, context, event in
    guard let event, event.pointee.Type == QUIC_LISTENER_EVENT_NEW_CONNECTION else { return S.success }
    let connection = event.pointee.NEW_CONNECTION.Connection
    testAPI.SetCallbackHandler!(connection, unsafeBitCast(chaosServerCallback, to: UnsafeMutableRawPointer.self), context)
    return testAPI.ConnectionSetConfiguration!(connection, serverConfigurationHandle)
}

private let chaosServerCallback: QUIC_CONNECTION_CALLBACK_HANDLER = { connection, context, event in
    let r = Recorder.from(context)
    guard let event else { return S.success }
    switch event.pointee.Type {
    case QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED:
        testAPI.SetCallbackHandler!(event.pointee.PEER_STREAM_STARTED.Stream,
                                    unsafeBitCast(chaosStreamCallback, to: UnsafeMutableRawPointer.self), nil)
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        r.record("SERVER_SHUTDOWN_COMPLETE") { testAPI.ConnectionClose!(connection) }
    default: break
    }
    return S.success
}

private let chaosClientCallback: QUIC_CONNECTION_CALLBACK_HANDLER = { _, context, event in
    let r = Recorder.from(context)
    guard let event else { return S.success }
    switch event.pointee.Type {
    case QUIC_CONNECTION_EVENT_CONNECTED: r.record("CONNECTED")
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE: r.record("SHUTDOWN_COMPLETE")
    case QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED:
        testAPI.SetCallbackHandler!(event.pointee.PEER_STREAM_STARTED.Stream,
                                    unsafeBitCast(chaosStreamCallback, to: UnsafeMutableRawPointer.self), nil)
    default: break
    }
    return S.success
}

/// Streams consume what arrives, sometimes partially or PENDING, and close peer streams when
/// they end (the application's own streams are closed by the test threads).
private let chaosStreamCallback: QUIC_STREAM_CALLBACK_HANDLER = { stream, context, event in
    guard let event else { return S.success }
    switch event.pointee.Type {
    case QUIC_STREAM_EVENT_RECEIVE:
        switch Int.random(in: 0..<4) {
        case 0: event.pointee.RECEIVE.TotalBufferLength /= 2
        case 1: return S.pending
        default: break
        }
    default: break
    }
    return S.success
}
