// QUIC_CONNECTION_EVENT_RESUMED on the server through the API: a client resumes with the
// ticket of a first connection; the server's callback sees RESUMED with the exact
// ResumptionData it gave ConnectionSendResumptionTicket, before CONNECTED, and its status
// decides: success resumes (CONNECTED.SessionResumed = 1 on the client), a failure status
// gives a full handshake (SessionResumed = 0).

import CMsQuic
import Foundation
import XCTest

nonisolated(unsafe) var resumedServerConfiguration: HQUIC?
/// The ResumptionData the server puts in its tickets: bytes of every kind, zeros included.
let resumedTicketData: [UInt8] = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff] + Array("app-state".utf8) + [0x00]

final class ResumedEventTests: XCTestCase {
    var quic: Quic!
    var registration: HQUIC!
    /// Lives as long as the test case: the server's connections call into it until they end.
    let server = Recorder()

    override func setUp() {
        quic = Quic()
        testAPI = quic.api
        registration = quic.registration("resumed")
    }

    override func tearDown() {
        quic.api.RegistrationClose!(registration)
        quic.close()
        quic = nil
    }

    private func listen() throws -> (HQUIC, UInt16) {
        var settings = QUIC_SETTINGS()
        settings.IsSet.ServerResumptionLevel = 1
        settings.ServerResumptionLevel = UInt8(QUIC_SERVER_RESUME_ONLY.rawValue)
        let (status, config) = quic.openConfiguration(registration, alpns: ["rsm"], settings: &settings)
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
        resumedServerConfiguration = config
        var listener: HQUIC?
        XCTAssertEqual(quic.api.ListenerOpen!(registration, resumedListenerCallback, server.pointer, &listener), S.success)
        var address = QUIC_ADDR()
        address.Ipv4.sin_family = sa_family_t(AF_INET)
        address.Ipv4.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        XCTAssertEqual(withBuffers([Array("rsm".utf8)]) { quic.api.ListenerStart!(listener, $0.baseAddress, 1, &address) }, S.success)
        let (_, local) = quic.get(listener, QUIC_PARAM_LISTENER_LOCAL_ADDRESS, as: QUIC_ADDR.self)
        return (listener!, UInt16(bigEndian: local?.Ipv4.sin_port ?? 0))
    }

    private func clientConfiguration() throws -> HQUIC {
        let (status, config) = quic.openConfiguration(registration, alpns: ["rsm"])
        XCTAssertEqual(status, S.success)
        let ca = try Certs.path("ca.crt")
        let loaded = ca.withCString { caPath -> UInt32 in
            var cred = QUIC_CREDENTIAL_CONFIG()
            cred.Type = QUIC_CREDENTIAL_TYPE_NONE
            cred.Flags = QUIC_CREDENTIAL_FLAGS(QUIC_CREDENTIAL_FLAG_CLIENT.rawValue | QUIC_CREDENTIAL_FLAG_SET_CA_CERTIFICATE_FILE.rawValue)
            cred.CaCertificateFile = caPath
            return quic.api.ConfigurationLoadCredential!(config, &cred)
        }
        XCTAssertEqual(loaded, S.success)
        return config!
    }

    /// Connects (with `ticket` when given), waits for CONNECTED (and the server's ticket when
    /// `wantTicket`), shuts down, and returns what the client saw.
    private func connect(port: UInt16, config: HQUIC, ticket: [UInt8]?, wantTicket: Bool) -> Recorder {
        let client = Recorder()
        var c: HQUIC?
        XCTAssertEqual(quic.api.ConnectionOpen!(registration, resumedClientCallback, client.pointer, &c), S.success)
        if let ticket {
            let set = ticket.withUnsafeBytes {
                quic.api.SetParam!(c, UInt32(QUIC_PARAM_CONN_RESUMPTION_TICKET), UInt32($0.count), $0.baseAddress)
            }
            XCTAssertEqual(set, S.success)
        }
        XCTAssertEqual(quic.api.ConnectionStart!(c, config, QUIC_ADDRESS_FAMILY(QUIC_ADDRESS_FAMILY_INET), "localhost", port), S.success)
        XCTAssertTrue(client.wait(for: "CONNECTED"))
        if wantTicket { XCTAssertTrue(client.wait(for: "TICKET")) }
        quic.api.ConnectionShutdown!(c, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0)
        XCTAssertTrue(client.wait(for: "SHUTDOWN_COMPLETE"))
        quic.api.ConnectionClose!(c)
        return client
    }

    /// A first (full) connection for a ticket, then a resuming one whose RESUMED the server
    /// answers with `status`. Returns the second client's recorder.
    private func resume(answering status: UInt32) throws -> Recorder {
        let (listener, port) = try listen()
        let clientConfig = try clientConfiguration()
        server.values["resumedStatus"] = UInt64(status)

        let first = connect(port: port, config: clientConfig, ticket: nil, wantTicket: true)
        XCTAssertEqual(first.values["resumed"], 0)
        XCTAssertFalse(server.events.contains("SERVER_RESUMED"), "no RESUMED without a ticket")
        XCTAssertTrue(server.wait(for: "SERVER_SHUTDOWN_COMPLETE"))

        let second = connect(port: port, config: clientConfig, ticket: first.data, wantTicket: false)
        XCTAssertTrue(server.wait(for: "SERVER_SHUTDOWN_COMPLETE", count: 2))
        // RESUMED came once, on the server, with the exact ResumptionData, before CONNECTED.
        XCTAssertEqual(server.events.filter { $0 == "SERVER_RESUMED" }.count, 1)
        XCTAssertEqual(server.data, resumedTicketData)
        let order = server.events.filter { $0 == "SERVER_RESUMED" || $0 == "SERVER_CONNECTED" }
        XCTAssertEqual(order, ["SERVER_CONNECTED", "SERVER_RESUMED", "SERVER_CONNECTED"])
        quic.api.ListenerClose!(listener)
        quic.api.ConfigurationClose!(clientConfig)
        quic.api.ConfigurationClose!(resumedServerConfiguration)
        return second
    }

    func testResumedCarriesTheTicketDataAndSuccessResumes() throws {
        let second = try resume(answering: S.success)
        XCTAssertEqual(second.values["resumed"], 1, "CONNECTED.SessionResumed on the client")
        XCTAssertEqual(server.values["serverResumed"], 1, "CONNECTED.SessionResumed on the server")
    }

    /// Asynchronous validation completed from inside the RESUMED callback (MsQuic queues the
    /// completion; it applies once the callback returned PENDING): TRUE resumes.
    func testPendingCompletedInsideResumedAccepts() throws {
        server.values["completeInResumed"] = 1
        let second = try resume(answering: S.pending)
        XCTAssertEqual(server.values["completeStatus"], UInt64(S.pending), "the completion is queued: PENDING")
        XCTAssertEqual(second.values["resumed"], 1)
        XCTAssertEqual(server.values["serverResumed"], 1)
    }

    /// ... and FALSE gives a full handshake.
    func testPendingCompletedInsideResumedRejects() throws {
        server.values["completeInResumed"] = 2
        let second = try resume(answering: S.pending)
        XCTAssertEqual(server.values["completeStatus"], UInt64(S.pending))
        XCTAssertEqual(second.values["resumed"], 0)
        XCTAssertEqual(server.values["serverResumed"], 0)
        // No validation is pending any more once connected: INVALID_STATE (MsQuic's answer
        // after the handshake completed).
        XCTAssertEqual(server.values["lateCompleteStatus"], UInt64(S.invalidState))
    }

    /// ConnectionShutdown from inside RESUMED (the engine is mid-ClientHello): postponed to
    /// the next service round, then the connection closes cleanly; nothing hangs or crashes.
    func testShutdownInsideResumed() throws {
        let (listener, port) = try listen()
        let clientConfig = try clientConfiguration()
        let first = connect(port: port, config: clientConfig, ticket: nil, wantTicket: true)
        XCTAssertTrue(server.wait(for: "SERVER_SHUTDOWN_COMPLETE"))
        server.values["shutdownInResumed"] = 1

        let client = Recorder()
        var c: HQUIC?
        XCTAssertEqual(quic.api.ConnectionOpen!(registration, resumedClientCallback, client.pointer, &c), S.success)
        let set = first.data.withUnsafeBytes {
            quic.api.SetParam!(c, UInt32(QUIC_PARAM_CONN_RESUMPTION_TICKET), UInt32($0.count), $0.baseAddress)
        }
        XCTAssertEqual(set, S.success)
        XCTAssertEqual(quic.api.ConnectionStart!(c, clientConfig, QUIC_ADDRESS_FAMILY(QUIC_ADDRESS_FAMILY_INET), "localhost", port), S.success)
        XCTAssertTrue(client.wait(for: "SHUTDOWN_COMPLETE"), "the client hears the server's close")
        XCTAssertFalse(client.events.contains("CONNECTED"))
        // RFC 9000 §10.2.3: an application close before the handshake completes goes out as a
        // transport CONNECTION_CLOSE with APPLICATION_ERROR (0x0c).
        XCTAssertTrue(client.events.contains("SHUTDOWN_INITIATED_BY_TRANSPORT"))
        XCTAssertEqual(client.values["transportErrorCode"], 0x0c)
        XCTAssertTrue(server.wait(for: "SERVER_SHUTDOWN_COMPLETE", count: 2))
        XCTAssertEqual(server.events.filter { $0 == "SERVER_RESUMED" }.count, 1)
        XCTAssertEqual(server.events.filter { $0 == "SERVER_CONNECTED" }.count, 1, "only the first connection connected")
        quic.api.ConnectionClose!(c)
        quic.api.ListenerClose!(listener)
        quic.api.ConfigurationClose!(clientConfig)
        quic.api.ConfigurationClose!(resumedServerConfiguration)
    }

    func testFailureStatusFromResumedGivesAFullHandshake() throws {
        let second = try resume(answering: UInt32(EIO))        // QUIC_STATUS_INTERNAL_ERROR
        XCTAssertEqual(second.values["resumed"], 0, "the server declined: full handshake")
        XCTAssertEqual(server.values["serverResumed"], 0)
    }
}

private let resumedListenerCallback: QUIC_LISTENER_CALLBACK_HANDLER = { _, context, event in
    guard let event, event.pointee.Type == QUIC_LISTENER_EVENT_NEW_CONNECTION else { return S.success }
    let connection = event.pointee.NEW_CONNECTION.Connection
    testAPI.SetCallbackHandler!(connection, unsafeBitCast(resumedServerCallback, to: UnsafeMutableRawPointer.self), context)
    return testAPI.ConnectionSetConfiguration!(connection, resumedServerConfiguration)
}

private let resumedServerCallback: QUIC_CONNECTION_CALLBACK_HANDLER = { connection, context, event in
    let r = Recorder.from(context)
    guard let event else { return S.success }
    switch event.pointee.Type {
    case QUIC_CONNECTION_EVENT_RESUMED:
        var status = S.success
        r.record("SERVER_RESUMED") {
            let e = event.pointee.RESUMED
            r.data = e.ResumptionState.map { Array(UnsafeBufferPointer(start: $0, count: Int(e.ResumptionStateLength))) } ?? []
            status = UInt32(r.values["resumedStatus"] ?? 0)
            if let mode = r.values["completeInResumed"] {
                r.values["completeStatus"] = UInt64(testAPI.ConnectionResumptionTicketValidationComplete!(connection, mode == 1 ? 1 : 0))
            }
            if r.values["shutdownInResumed"] == 1 {
                testAPI.ConnectionShutdown!(connection, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0x77)
            }
        }
        return status
    case QUIC_CONNECTION_EVENT_CONNECTED:
        r.record("SERVER_CONNECTED") {
            r.values["serverResumed"] = UInt64(event.pointee.CONNECTED.SessionResumed)
            r.values["lateCompleteStatus"] = UInt64(testAPI.ConnectionResumptionTicketValidationComplete!(connection, 1))
            let sent = resumedTicketData.withUnsafeBufferPointer {
                testAPI.ConnectionSendResumptionTicket!(connection, QUIC_SEND_RESUMPTION_FLAG_NONE,
                                                        UInt16($0.count), $0.baseAddress)
            }
            r.values["ticketStatus"] = UInt64(sent)
        }
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        r.record("SERVER_SHUTDOWN_COMPLETE") { testAPI.ConnectionClose!(connection) }
    default: break
    }
    return S.success
}

private let resumedClientCallback: QUIC_CONNECTION_CALLBACK_HANDLER = { _, context, event in
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
    case QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT:
        r.record("SHUTDOWN_INITIATED_BY_TRANSPORT") {
            r.values["transportErrorCode"] = event.pointee.SHUTDOWN_INITIATED_BY_TRANSPORT.ErrorCode
        }
    case QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_PEER:
        r.record("SHUTDOWN_INITIATED_BY_PEER") { r.values["peerErrorCode"] = event.pointee.SHUTDOWN_INITIATED_BY_PEER.ErrorCode }
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE: r.record("SHUTDOWN_COMPLETE")
    default: break
    }
    return S.success
}
