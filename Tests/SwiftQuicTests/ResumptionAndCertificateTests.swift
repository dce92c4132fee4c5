// Session resumption through the API (server ConnectionSendResumptionTicket → client
// RESUMPTION_TICKET_RECEIVED → QUIC_PARAM_CONN_RESUMPTION_TICKET → CONNECTED.SessionResumed)
// and PEER_CERTIFICATE_RECEIVED with QUIC_STATUS_PENDING answered later by
// ConnectionCertificateValidationComplete, accepting and rejecting.

import CMsQuic
import Foundation
import XCTest

nonisolated(unsafe) var resumeServerConfiguration: HQUIC?

final class ResumptionAndCertificateTests: XCTestCase {
    var quic: Quic!
    var registration: HQUIC!
    /// Lives as long as the test case: the server's connections call into it until they end.
    let server = Recorder()

    override func setUp() {
        quic = Quic()
        testAPI = quic.api
        registration = quic.registration("resume")
    }

    override func tearDown() {
        quic.api.RegistrationClose!(registration)
        quic.close()
        quic = nil
    }

    func listen(_ server: Recorder, zeroRTT: Bool = false, requireClientCertificate: Bool = false) throws -> (HQUIC, UInt16) {
        var settings = QUIC_SETTINGS()
        settings.IsSet.ServerResumptionLevel = 1
        settings.ServerResumptionLevel = UInt8(zeroRTT ? QUIC_SERVER_RESUME_AND_ZERORTT.rawValue : QUIC_SERVER_RESUME_ONLY.rawValue)
        settings.IsSet.PeerBidiStreamCount = 1
        settings.PeerBidiStreamCount = 2
        let (status, config) = quic.openConfiguration(registration, alpns: ["res"], settings: &settings)
        XCTAssertEqual(status, S.success)
        let cert = try Certs.path("server.crt"), key = try Certs.path("server.key"), ca = try Certs.path("ca.crt")
        let loaded = cert.withCString { c in key.withCString { k in ca.withCString { a -> UInt32 in
            var files = QUIC_CERTIFICATE_FILE(PrivateKeyFile: k, CertificateFile: c)
            return withUnsafeMutablePointer(to: &files) { f in
                var cred = QUIC_CREDENTIAL_CONFIG()
                cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE
                cred.CertificateFile = f
                if requireClientCertificate {
                    cred.Flags = QUIC_CREDENTIAL_FLAGS(QUIC_CREDENTIAL_FLAG_REQUIRE_CLIENT_AUTHENTICATION.rawValue
                                                       | QUIC_CREDENTIAL_FLAG_SET_CA_CERTIFICATE_FILE.rawValue)
                    cred.CaCertificateFile = a
                }
                return quic.api.ConfigurationLoadCredential!(config, &cred)
            }
        } } }
        XCTAssertEqual(loaded, S.success)
        resumeServerConfiguration = config
        var listener: HQUIC?
        XCTAssertEqual(quic.api.ListenerOpen!(registration, resumeListenerCallback, server.pointer, &listener), S.success)
        var address = QUIC_ADDR()
        address.Ipv4.sin_family = sa_family_t(AF_INET)
        address.Ipv4.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        XCTAssertEqual(withBuffers([Array("res".utf8)]) { quic.api.ListenerStart!(listener, $0.baseAddress, 1, &address) }, S.success)
        let (_, local) = quic.get(listener, QUIC_PARAM_LISTENER_LOCAL_ADDRESS, as: QUIC_ADDR.self)
        return (listener!, UInt16(bigEndian: local?.Ipv4.sin_port ?? 0))
    }

    func clientConfiguration(flags: UInt32) throws -> HQUIC {
        let (status, config) = quic.openConfiguration(registration, alpns: ["res"])
        XCTAssertEqual(status, S.success)
        let ca = try Certs.path("ca.crt")
        let loaded = ca.withCString { caPath -> UInt32 in
            var cred = QUIC_CREDENTIAL_CONFIG()
            cred.Type = QUIC_CREDENTIAL_TYPE_NONE
            cred.Flags = QUIC_CREDENTIAL_FLAGS(QUIC_CREDENTIAL_FLAG_CLIENT.rawValue | QUIC_CREDENTIAL_FLAG_SET_CA_CERTIFICATE_FILE.rawValue | flags)
            cred.CaCertificateFile = caPath
            return quic.api.ConfigurationLoadCredential!(config, &cred)
        }
        XCTAssertEqual(loaded, S.success)
        return config!
    }

    func testTicketFromServerResumesTheNextConnection() throws {
        let (listener, port) = try listen(server)
        let clientConfig = try clientConfiguration(flags: 0)

        let first = Recorder()
        var c1: HQUIC?
        XCTAssertEqual(quic.api.ConnectionOpen!(registration, resumeClientCallback, first.pointer, &c1), S.success)
        XCTAssertEqual(quic.api.ConnectionStart!(c1, clientConfig, QUIC_ADDRESS_FAMILY(QUIC_ADDRESS_FAMILY_INET), "localhost", port), S.success)
        XCTAssertTrue(first.wait(for: "CONNECTED"))
        XCTAssertEqual(first.values["resumed"], 0)
        XCTAssertTrue(first.wait(for: "TICKET"), "RESUMPTION_TICKET_RECEIVED after the server's ConnectionSendResumptionTicket")
        XCTAssertEqual(server.values["ticketStatus"], UInt64(S.success))
        let ticket = first.data
        XCTAssertFalse(ticket.isEmpty)
        quic.api.ConnectionShutdown!(c1, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0)
        XCTAssertTrue(first.wait(for: "SHUTDOWN_COMPLETE"))
        quic.api.ConnectionClose!(c1)

        let second = Recorder()
        var c2: HQUIC?
        XCTAssertEqual(quic.api.ConnectionOpen!(registration, resumeClientCallback, second.pointer, &c2), S.success)
        let set = ticket.withUnsafeBytes { quic.api.SetParam!(c2, UInt32(QUIC_PARAM_CONN_RESUMPTION_TICKET), UInt32($0.count), $0.baseAddress) }
        XCTAssertEqual(set, S.success)
        XCTAssertEqual(quic.api.ConnectionStart!(c2, clientConfig, QUIC_ADDRESS_FAMILY(QUIC_ADDRESS_FAMILY_INET), "localhost", port), S.success)
        XCTAssertTrue(second.wait(for: "CONNECTED"))
        XCTAssertEqual(second.values["resumed"], 1, "CONNECTED.SessionResumed with the ticket (RFC 8446 §2.2)")
        let (statsStatus, stats) = quic.get(c2, QUIC_PARAM_CONN_STATISTICS_V2, as: QUIC_STATISTICS_V2.self)
        XCTAssertEqual(statsStatus, S.success)
        XCTAssertEqual(stats?.ResumptionAttempted, 1)
        XCTAssertEqual(stats?.ResumptionSucceeded, 1)
        quic.api.ConnectionShutdown!(c2, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0)
        XCTAssertTrue(second.wait(for: "SHUTDOWN_COMPLETE"))
        quic.api.ConnectionClose!(c2)
        XCTAssertTrue(server.wait(for: "SERVER_SHUTDOWN_COMPLETE", count: 2))
        quic.api.ListenerClose!(listener)
        quic.api.ConfigurationClose!(clientConfig)
        quic.api.ConfigurationClose!(resumeServerConfiguration)
    }

    func testZeroRTTStreamDataOnAResumedConnection() throws {
        XCTAssertEqual(try resumeWithEarlyStream(), UInt64(Array("early data".utf8).count),
                       "the data went out as 0-RTT and was accepted")
    }

    /// RFC 9000 §7.4.1: the server's configuration now offers fewer bidirectional streams
    /// than the ticket remembers, so 0-RTT is declined; the stream data still arrives in
    /// 1-RTT on the resumed connection.
    func testZeroRTTRejectedWhenServerLoweredStreamLimit() throws {
        let early = try resumeWithEarlyStream {
            var settings = QUIC_SETTINGS()
            settings.IsSet.PeerBidiStreamCount = 1
            settings.PeerBidiStreamCount = 1
            let status = withUnsafeBytes(of: &settings) {
                self.quic.api.SetParam!(resumeServerConfiguration, UInt32(QUIC_PARAM_CONFIGURATION_SETTINGS),
                                        UInt32($0.count), $0.baseAddress)
            }
            XCTAssertEqual(status, S.success)
        }
        XCTAssertEqual(early, 0, "0-RTT declined: no stream data counted as accepted 0-RTT")
    }

    /// Gets a ticket, runs `between` (server-side changes), then resumes with a stream
    /// sent as 0-RTT; checks the data arrives and returns QUIC_PARAM_STREAM_0RTT_LENGTH.
    func resumeWithEarlyStream(between: () -> Void = {}) throws -> UInt64? {
        let (listener, port) = try listen(server, zeroRTT: true)
        let clientConfig = try clientConfiguration(flags: 0)
        let first = Recorder()
        var c1: HQUIC?
        XCTAssertEqual(quic.api.ConnectionOpen!(registration, resumeClientCallback, first.pointer, &c1), S.success)
        XCTAssertEqual(quic.api.ConnectionStart!(c1, clientConfig, QUIC_ADDRESS_FAMILY(QUIC_ADDRESS_FAMILY_INET), "localhost", port), S.success)
        XCTAssertTrue(first.wait(for: "TICKET"))
        let ticket = first.data
        quic.api.ConnectionShutdown!(c1, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0)
        XCTAssertTrue(first.wait(for: "SHUTDOWN_COMPLETE"))
        quic.api.ConnectionClose!(c1)
        between()

        // Second connection: a stream started and sent on (ALLOW_0_RTT) before CONNECTED.
        let second = Recorder()
        var c2: HQUIC?
        XCTAssertEqual(quic.api.ConnectionOpen!(registration, resumeClientCallback, second.pointer, &c2), S.success)
        XCTAssertEqual(ticket.withUnsafeBytes { quic.api.SetParam!(c2, UInt32(QUIC_PARAM_CONN_RESUMPTION_TICKET), UInt32($0.count), $0.baseAddress) }, S.success)
        // The stream is started and given its data before ConnectionStart, so the data is
        // there when the first flight is built.
        var stream: HQUIC?
        XCTAssertEqual(quic.api.StreamOpen!(c2, QUIC_STREAM_OPEN_FLAG_NONE, zeroRTTStreamCallback, nil, &stream), S.success)
        XCTAssertEqual(quic.api.StreamStart!(stream, QUIC_STREAM_START_FLAG_NONE), S.pending)
        let message = Array("early data".utf8)
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: message.count)
        buffer.initialize(from: message, count: message.count)
        defer { buffer.deallocate() }
        var quicBuffer = QUIC_BUFFER(Length: UInt32(message.count), Buffer: buffer)
        let flags = QUIC_SEND_FLAGS(QUIC_SEND_FLAG_ALLOW_0_RTT.rawValue | QUIC_SEND_FLAG_FIN.rawValue)
        XCTAssertEqual(quic.api.StreamSend!(stream, &quicBuffer, 1, flags, nil), S.pending)
        XCTAssertEqual(quic.api.ConnectionStart!(c2, clientConfig, QUIC_ADDRESS_FAMILY(QUIC_ADDRESS_FAMILY_INET), "localhost", port), S.success)
        XCTAssertTrue(second.wait(for: "CONNECTED"))
        XCTAssertEqual(second.values["resumed"], 1)
        XCTAssertTrue(server.wait(for: "SERVER_STREAM_DATA"), "the server got the stream")
        XCTAssertEqual(server.data, message)
        let (status, early) = quic.get(stream, QUIC_PARAM_STREAM_0RTT_LENGTH, as: UInt64.self)
        XCTAssertEqual(status, S.success)
        quic.api.StreamClose!(stream)
        quic.api.ConnectionShutdown!(c2, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0)
        XCTAssertTrue(second.wait(for: "SHUTDOWN_COMPLETE"))
        quic.api.ConnectionClose!(c2)
        XCTAssertTrue(server.wait(for: "SERVER_SHUTDOWN_COMPLETE", count: 2))
        quic.api.ListenerClose!(listener)
        quic.api.ConfigurationClose!(clientConfig)
        quic.api.ConfigurationClose!(resumeServerConfiguration)
        return early
    }

    func testClientAuthentication() throws {
        let (listener, port) = try listen(server, requireClientCertificate: true)
        // With a certificate (server.crt carries clientAuth): accepted.
        let (status, withCert) = quic.openConfiguration(registration, alpns: ["res"])
        XCTAssertEqual(status, S.success)
        let cert = try Certs.path("server.crt"), key = try Certs.path("server.key"), ca = try Certs.path("ca.crt")
        let loaded = cert.withCString { c in key.withCString { k in ca.withCString { a -> UInt32 in
            var files = QUIC_CERTIFICATE_FILE(PrivateKeyFile: k, CertificateFile: c)
            return withUnsafeMutablePointer(to: &files) { f in
                var cred = QUIC_CREDENTIAL_CONFIG()
                cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE
                cred.CertificateFile = f
                cred.Flags = QUIC_CREDENTIAL_FLAGS(QUIC_CREDENTIAL_FLAG_CLIENT.rawValue | QUIC_CREDENTIAL_FLAG_SET_CA_CERTIFICATE_FILE.rawValue)
                cred.CaCertificateFile = a
                return quic.api.ConfigurationLoadCredential!(withCert, &cred)
            }
        } } }
        XCTAssertEqual(loaded, S.success)
        let good = Recorder()
        var c1: HQUIC?
        XCTAssertEqual(quic.api.ConnectionOpen!(registration, resumeClientCallback, good.pointer, &c1), S.success)
        XCTAssertEqual(quic.api.ConnectionStart!(c1, withCert, QUIC_ADDRESS_FAMILY(QUIC_ADDRESS_FAMILY_INET), "localhost", port), S.success)
        XCTAssertTrue(good.wait(for: "CONNECTED"))
        XCTAssertTrue(server.wait(for: "SERVER_CONNECTED"))
        quic.api.ConnectionShutdown!(c1, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0)
        XCTAssertTrue(good.wait(for: "SHUTDOWN_COMPLETE"))
        quic.api.ConnectionClose!(c1)

        // Without one: certificate_required (RFC 8446 §4.4.2.4), CRYPTO_ERROR 0x100 + 116.
        let withoutCert = try clientConfiguration(flags: 0)
        let bad = Recorder()
        var c2: HQUIC?
        XCTAssertEqual(quic.api.ConnectionOpen!(registration, resumeClientCallback, bad.pointer, &c2), S.success)
        XCTAssertEqual(quic.api.ConnectionStart!(c2, withoutCert, QUIC_ADDRESS_FAMILY(QUIC_ADDRESS_FAMILY_INET), "localhost", port), S.success)
        XCTAssertTrue(bad.wait(for: "SHUTDOWN_COMPLETE"))
        XCTAssertTrue(bad.events.contains("SHUTDOWN_INITIATED_BY_TRANSPORT"))
        XCTAssertEqual(bad.values["transportErrorCode"], 0x100 + 116)
        quic.api.ConnectionClose!(c2)
        XCTAssertTrue(server.wait(for: "SERVER_SHUTDOWN_COMPLETE", count: 2))
        quic.api.ListenerClose!(listener)
        quic.api.ConfigurationClose!(withCert)
        quic.api.ConfigurationClose!(withoutCert)
        quic.api.ConfigurationClose!(resumeServerConfiguration)
    }

    func testPendingCertificateDecision() throws {
        let (listener, port) = try listen(server)
        let flags = QUIC_CREDENTIAL_FLAG_INDICATE_CERTIFICATE_RECEIVED.rawValue
        let clientConfig = try clientConfiguration(flags: flags)
        for accept in [true, false] {
            let client = Recorder()
            client.values["pendingCertificate"] = 1
            var c: HQUIC?
            XCTAssertEqual(quic.api.ConnectionOpen!(registration, resumeClientCallback, client.pointer, &c), S.success)
            XCTAssertEqual(quic.api.ConnectionStart!(c, clientConfig, QUIC_ADDRESS_FAMILY(QUIC_ADDRESS_FAMILY_INET), "localhost", port), S.success)
            XCTAssertTrue(client.wait(for: "PEER_CERTIFICATE_RECEIVED"))
            XCTAssertEqual(client.values["deferredStatus"], UInt64(S.success), "the chain validates against ca.crt")
            XCTAssertEqual(client.values["hasCertificate"], 1)
            Thread.sleep(forTimeInterval: 0.1)
            XCTAssertFalse(client.events.contains("CONNECTED"), "the handshake waits for the decision")
            let status = quic.api.ConnectionCertificateValidationComplete!(c, accept ? 1 : 0,
                                                                          accept ? QUIC_TLS_ALERT_CODE_SUCCESS : QUIC_TLS_ALERT_CODE_BAD_CERTIFICATE)
            XCTAssertEqual(status, S.success)
            XCTAssertEqual(quic.api.ConnectionCertificateValidationComplete!(c, 1, QUIC_TLS_ALERT_CODE_SUCCESS), S.invalidState,
                           "nothing is pending any more")
            XCTAssertTrue(client.wait(for: "SHUTDOWN_COMPLETE", timeout: accept ? 0.5 : 10) || accept)
            if accept {
                XCTAssertTrue(client.wait(for: "CONNECTED"))
                quic.api.ConnectionShutdown!(c, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0)
                XCTAssertTrue(client.wait(for: "SHUTDOWN_COMPLETE"))
            } else {
                XCTAssertFalse(client.events.contains("CONNECTED"))
                XCTAssertTrue(client.events.contains("SHUTDOWN_INITIATED_BY_TRANSPORT"))
                // CRYPTO_ERROR 0x100 + bad_certificate (42), RFC 9001 §4.8.
                XCTAssertEqual(client.values["transportErrorCode"], 0x100 + 42)
            }
            quic.api.ConnectionClose!(c)
        }
        XCTAssertTrue(server.wait(for: "SERVER_SHUTDOWN_COMPLETE", count: 2))
        quic.api.ListenerClose!(listener)
        quic.api.ConfigurationClose!(clientConfig)
        quic.api.ConfigurationClose!(resumeServerConfiguration)
    }
}

private let resumeListenerCallback: QUIC_LISTENER_CALLBACK_HANDLER = { _, context, event in
    guard let event, event.pointee.Type == QUIC_LISTENER_EVENT_NEW_CONNECTION else { return S.success }
    let connection = event.pointee.NEW_CONNECTION.Connection
    testAPI.SetCallbackHandler!(connection, unsafeBitCast(resumeServerCallback, to: UnsafeMutableRawPointer.self), context)
    return testAPI.ConnectionSetConfiguration!(connection, resumeServerConfiguration)
}

private let resumeServerCallback: QUIC_CONNECTION_CALLBACK_HANDLER = { connection, context, event in
    let r = Recorder.from(context)
    guard let event else { return S.success }
    switch event.pointee.Type {
    case QUIC_CONNECTION_EVENT_CONNECTED:
        r.record("SERVER_CONNECTED") {
            let data: [UInt8] = [1, 2, 3]
            r.values["ticketStatus"] = UInt64(testAPI.ConnectionSendResumptionTicket!(connection, QUIC_SEND_RESUMPTION_FLAG_NONE, 3, data))
        }
    case QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED:
        testAPI.SetCallbackHandler!(event.pointee.PEER_STREAM_STARTED.Stream,
                                    unsafeBitCast(resumeServerStreamCallback, to: UnsafeMutableRawPointer.self), context)
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        r.record("SERVER_SHUTDOWN_COMPLETE") { testAPI.ConnectionClose!(connection) }
    default: break
    }
    return S.success
}

private let resumeServerStreamCallback: QUIC_STREAM_CALLBACK_HANDLER = { stream, context, event in
    let r = Recorder.from(context)
    guard let event else { return S.success }
    switch event.pointee.Type {
    case QUIC_STREAM_EVENT_RECEIVE:
        let receive = event.pointee.RECEIVE
        for i in 0..<Int(receive.BufferCount) {
            r.data += UnsafeBufferPointer(start: receive.Buffers[i].Buffer, count: Int(receive.Buffers[i].Length))
        }
    case QUIC_STREAM_EVENT_PEER_SEND_SHUTDOWN:
        r.record("SERVER_STREAM_DATA")
        testAPI.StreamShutdown!(stream, QUIC_STREAM_SHUTDOWN_FLAG_GRACEFUL, 0)
    case QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE:
        testAPI.StreamClose!(stream)
    default: break
    }
    return S.success
}

private let zeroRTTStreamCallback: QUIC_STREAM_CALLBACK_HANDLER = { _, _, _ in S.success }

private let resumeClientCallback: QUIC_CONNECTION_CALLBACK_HANDLER = { _, context, event in
    let r = Recorder.from(context)
    guard let event else { return S.success }
    switch event.pointee.Type {
    case QUIC_CONNECTION_EVENT_CONNECTED:
        r.record("CONNECTED") { r.values["resumed"] = UInt64(event.pointee.CONNECTED.SessionResumed) }
    case QUIC_CONNECTION_EVENT_RESUMPTION_TICKET_RECEIVED:
        r.record("TICKET") {
            let t = event.pointee.RESUMPTION_TICKET_RECEIVED
            r.data = Array(UnsafeBufferPointer(start: t.ResumptionTicket, count: Int(t.ResumptionTicketLength)))
        }
    case QUIC_CONNECTION_EVENT_PEER_CERTIFICATE_RECEIVED:
        var status = S.success
        r.record("PEER_CERTIFICATE_RECEIVED") {
            let p = event.pointee.PEER_CERTIFICATE_RECEIVED
            r.values["deferredStatus"] = UInt64(p.DeferredStatus)
            r.values["hasCertificate"] = p.Certificate == nil ? 0 : 1
            if r.values["pendingCertificate"] == 1 { status = S.pending }
        }
        return status
    case QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT:
        r.record("SHUTDOWN_INITIATED_BY_TRANSPORT") {
            r.values["transportErrorCode"] = event.pointee.SHUTDOWN_INITIATED_BY_TRANSPORT.ErrorCode
        }
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE: r.record("SHUTDOWN_COMPLETE")
    default: break
    }
    return S.success
}
