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

    func listen(_ server: Recorder) throws -> (HQUIC, UInt16) {
        var settings = QUIC_SETTINGS()
        settings.IsSet.ServerResumptionLevel = 1
        settings.ServerResumptionLevel = UInt8(QUIC_SERVER_RESUME_ONLY.rawValue)
        let (status, config) = quic.openConfiguration(registration, alpns: ["res"], settings: &settings)
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
        quic.api.ConnectionShutdown!(c2, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0)
        XCTAssertTrue(second.wait(for: "SHUTDOWN_COMPLETE"))
        quic.api.ConnectionClose!(c2)
        XCTAssertTrue(server.wait(for: "SERVER_SHUTDOWN_COMPLETE", count: 2))
        quic.api.ListenerClose!(listener)
        quic.api.ConfigurationClose!(clientConfig)
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
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        r.record("SERVER_SHUTDOWN_COMPLETE") { testAPI.ConnectionClose!(connection) }
    default: break
    }
    return S.success
}

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
