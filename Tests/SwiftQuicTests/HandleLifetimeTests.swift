// A handle stays valid, with its context, until after its final callback (issue 7): the
// SHUTDOWN_COMPLETE that ConnectionClose delivers (AppCloseInProgress) sees GetContext return the
// application's context, as in MsQuic. Before the fix the handle was unregistered first and
// GetContext returned NULL there. The racing cases (stream events against StreamClose on another
// thread, ConnectionClose against events) are hammered by CTests/api_stress.c under TSan
// (Tests/SANITIZERS.md).

import CMsQuic
import XCTest

/// What the SHUTDOWN_COMPLETE callback saw (written on the worker while the test thread is
/// blocked in ConnectionClose, read after it returned).
private final class Seen: @unchecked Sendable {
    var shutdownComplete = 0
    var appCloseInProgress = false
    var contextInCallback: UnsafeMutableRawPointer?
    var getParamStatus: UInt32 = 0xFFFF
}

nonisolated(unsafe) private var lifetimeAPI: QUIC_API_TABLE!

private let recordingCallback: @convention(c) (HQUIC?, UnsafeMutableRawPointer?, UnsafeMutablePointer<QUIC_CONNECTION_EVENT>?) -> UInt32 = { handle, context, event in
    guard let context, let event, event.pointee.Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE else { return 0 }
    let seen = Unmanaged<Seen>.fromOpaque(context).takeUnretainedValue()
    seen.shutdownComplete += 1
    seen.appCloseInProgress = event.pointee.SHUTDOWN_COMPLETE.AppCloseInProgress != 0
    seen.contextInCallback = lifetimeAPI.GetContext!(handle)
    var version: UInt32 = 0
    var length = UInt32(MemoryLayout<UInt32>.size)
    seen.getParamStatus = lifetimeAPI.GetParam!(handle, UInt32(QUIC_PARAM_CONN_QUIC_VERSION), &length, &version)
    return 0
}

final class HandleLifetimeTests: XCTestCase {
    var quic: Quic!
    var registration: HQUIC!

    override func setUp() {
        quic = Quic()
        lifetimeAPI = quic.api
        registration = quic.registration()
    }

    override func tearDown() {
        quic.api.RegistrationClose!(registration)
        quic.close()
    }

    func testGetContextInsideTheShutdownCompleteOfConnectionClose() {
        let seen = Seen()
        let context = Unmanaged.passRetained(seen).toOpaque()
        defer { Unmanaged<Seen>.fromOpaque(context).release() }
        var connection: HQUIC?
        XCTAssertEqual(quic.api.ConnectionOpen!(registration, recordingCallback, context, &connection), S.success)
        // Never started: ConnectionClose shuts it down itself and delivers SHUTDOWN_COMPLETE
        // with AppCloseInProgress before it returns.
        quic.api.ConnectionClose!(connection)
        XCTAssertEqual(seen.shutdownComplete, 1)
        XCTAssertTrue(seen.appCloseInProgress)
        XCTAssertEqual(seen.contextInCallback, context, "GetContext inside the final callback")
        XCTAssertNotEqual(seen.getParamStatus, S.invalidParameter, "the handle is still valid in its final callback")
        // Afterwards the handle is closed.
        XCTAssertNil(quic.api.GetContext!(connection))
    }

    func testClosingAClosedHandleDeliversNothing() {
        let seen = Seen()
        let context = Unmanaged.passRetained(seen).toOpaque()
        defer { Unmanaged<Seen>.fromOpaque(context).release() }
        var connection: HQUIC?
        XCTAssertEqual(quic.api.ConnectionOpen!(registration, recordingCallback, context, &connection), S.success)
        quic.api.ConnectionClose!(connection)
        quic.api.ConnectionClose!(connection)
        XCTAssertEqual(seen.shutdownComplete, 1)
    }
}
