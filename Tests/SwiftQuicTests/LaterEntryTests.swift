// Argument checks of the listener/connection/stream entries on handles of the wrong kind, and
// the entries that are still later work (connection pools): they check their arguments, then
// say NOT_SUPPORTED. Execution contexts once a registration exists: INVALID_STATE
// (ExecutionTests and CTests/execution.c cover them otherwise).

import CMsQuic
import XCTest

final class LaterEntryTests: XCTestCase {
    var quic: Quic!
    var registration: HQUIC!
    var configuration: HQUIC!

    override func setUp() {
        quic = Quic()
        registration = quic.registration()
        configuration = quic.configuration(registration)
    }

    override func tearDown() {
        quic.api.RegistrationClose!(registration)
        quic.close()
        quic = nil
    }

    func testListenerAndConnectionOpenValidate() {
        var handle: HQUIC?
        let listenerHandler: QUIC_LISTENER_CALLBACK_HANDLER = { _, _, _ in 0 }
        XCTAssertEqual(quic.api.ListenerOpen!(registration, listenerHandler, nil, &handle), S.success)
        XCTAssertNotNil(handle)
        quic.api.ListenerClose!(handle)
        handle = nil
        XCTAssertEqual(quic.api.ListenerOpen!(registration, nil, nil, &handle), S.invalidParameter)
        XCTAssertEqual(quic.api.ListenerOpen!(registration, listenerHandler, nil, nil), S.invalidParameter)
        XCTAssertEqual(quic.api.ListenerOpen!(configuration, listenerHandler, nil, &handle), S.invalidParameter)

        let connectionHandler: QUIC_CONNECTION_CALLBACK_HANDLER = { _, _, _ in 0 }
        XCTAssertEqual(quic.api.ConnectionOpen!(registration, connectionHandler, nil, &handle), S.success)
        XCTAssertNotNil(handle)
        quic.api.ConnectionClose!(handle)
        handle = nil
        XCTAssertEqual(quic.api.ConnectionOpen!(registration, nil, nil, &handle), S.invalidParameter)
        XCTAssertEqual(quic.api.ConnectionOpen!(nil, connectionHandler, nil, &handle), S.invalidParameter)
        XCTAssertEqual(quic.api.ConnectionOpenInPartition!(registration, 0, connectionHandler, nil, &handle), S.success)
        quic.api.ConnectionClose!(handle)
        handle = nil
        XCTAssertEqual(quic.api.ConnectionOpenInPartition!(registration, 0xFFFF, connectionHandler, nil, &handle),
                       S.invalidParameter, "no such partition")
        XCTAssertNil(handle)
    }

    func testEntriesOnConnectionsAndStreamsRefuseOtherHandles() {
        var handle: HQUIC?
        let streamHandler: QUIC_STREAM_CALLBACK_HANDLER = { _, _, _ in 0 }
        // No connection or stream can exist yet: the registration stands in for a wrong handle.
        XCTAssertEqual(quic.api.StreamOpen!(registration, QUIC_STREAM_OPEN_FLAG_NONE, streamHandler, nil, &handle), S.invalidParameter)
        XCTAssertEqual(quic.api.StreamStart!(registration, QUIC_STREAM_START_FLAG_NONE), S.invalidParameter)
        XCTAssertEqual(quic.api.StreamShutdown!(registration, QUIC_STREAM_SHUTDOWN_FLAG_ABORT, 0), S.invalidParameter)
        XCTAssertEqual(quic.api.StreamSend!(registration, nil, 0, QUIC_SEND_FLAG_NONE, nil), S.invalidParameter)
        XCTAssertEqual(quic.api.StreamReceiveSetEnabled!(registration, 1), S.invalidParameter)
        XCTAssertEqual(quic.api.StreamProvideReceiveBuffers!(registration, 0, nil), S.invalidParameter)
        XCTAssertEqual(quic.api.DatagramSend!(registration, nil, 0, QUIC_SEND_FLAG_NONE, nil), S.invalidParameter)
        XCTAssertEqual(quic.api.ConnectionStart!(registration, configuration, 0, "localhost", 443), S.invalidParameter)
        XCTAssertEqual(quic.api.ConnectionStart!(registration, configuration, 0, "localhost", 0), S.invalidParameter)
        XCTAssertEqual(quic.api.ConnectionStart!(registration, configuration, 99, "localhost", 443), S.invalidParameter)
        XCTAssertEqual(quic.api.ConnectionSetConfiguration!(registration, configuration), S.invalidParameter)
        XCTAssertEqual(quic.api.ConnectionSendResumptionTicket!(registration, QUIC_SEND_RESUMPTION_FLAG_NONE, 1001, nil), S.invalidParameter)
        XCTAssertEqual(quic.api.ConnectionResumptionTicketValidationComplete!(registration, 1), S.invalidParameter)
        XCTAssertEqual(quic.api.ConnectionCertificateValidationComplete!(registration, 1, QUIC_TLS_ALERT_CODE_SUCCESS), S.invalidParameter)
        XCTAssertEqual(quic.api.ListenerStart!(registration, nil, 0, nil), S.invalidParameter)
        var output = [UInt8](repeating: 0, count: 16)
        XCTAssertEqual(quic.api.ConnectionExportKeyingMaterial!(registration, nil, &output), S.invalidParameter)
        // The void entries ignore what is not theirs.
        quic.api.ListenerStop!(registration)
        quic.api.ListenerClose!(registration)
        quic.api.ConnectionShutdown!(registration, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0)
        quic.api.ConnectionClose!(registration)
        quic.api.StreamReceiveComplete!(registration, 0)
        quic.api.StreamClose!(registration)
        XCTAssertEqual(quic.openConfiguration(registration).0, S.success, "the registration is untouched")
    }

    func testConnectionPoolAndExecutionContexts() {
        let handler: QUIC_CONNECTION_CALLBACK_HANDLER = { _, _, _ in 0 }
        var pool = QUIC_CONNECTION_POOL_CONFIG()
        var connections = [HQUIC?](repeating: nil, count: 2)
        XCTAssertEqual(quic.api.ConnectionPoolCreate!(&pool, &connections), S.invalidParameter)
        let status = "localhost".withCString { name -> UInt32 in
            pool.Registration = registration
            pool.Configuration = configuration
            pool.Handler = handler
            pool.ServerName = name
            pool.Family = QUIC_ADDRESS_FAMILY(QUIC_ADDRESS_FAMILY_UNSPEC)
            pool.ServerPort = 443
            pool.NumberOfConnections = 2
            return quic.api.ConnectionPoolCreate!(&pool, &connections)
        }
        XCTAssertEqual(status, S.notSupported)
        XCTAssertEqual(quic.api.ConnectionPoolCreate!(nil, &connections), S.invalidParameter)

        var execConfig = QUIC_EXECUTION_CONFIG()
        var executions: OpaquePointer? = nil
        // A registration exists already: the library runs its own workers. MsQuic checks that
        // before anything else, so even Count 0 or a NULL EventQ answer INVALID_STATE.
        XCTAssertEqual(quic.api.ExecutionCreate!(QUIC_GLOBAL_EXECUTION_CONFIG_FLAG_NONE, 0, 0, &execConfig, &executions),
                       S.invalidState)
        XCTAssertEqual(quic.api.ExecutionCreate!(QUIC_GLOBAL_EXECUTION_CONFIG_FLAG_NONE, 0, 1, &execConfig, &executions),
                       S.invalidState)
        XCTAssertNil(executions)
        quic.api.ExecutionDelete!(0, nil)
        XCTAssertEqual(quic.api.ExecutionPoll!(nil), UInt32.max)
    }
}
