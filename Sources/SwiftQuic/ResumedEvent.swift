// QUIC_CONNECTION_EVENT_RESUMED (docs/api/QUIC_CONNECTION_EVENT.md): a server connection is
// told that the client presented one of our tickets, with the ResumptionData the server put
// in it (ConnectionSendResumptionTicket). A success status accepts the resumption; a failure
// status declines it and the handshake goes on as a full one (no 0-RTT).
//
// The decision is synchronous: QuicTLS asks `TLSConfiguration.resumptionAcceptance` while it
// processes the ClientHello, on this connection's worker, in the middle of the engine's
// datagram processing. The event is delivered right there, before CONNECTED. While it runs,
// calls that would drive the engine (a service round, ConnectionShutdown, ConnectionClose)
// are postponed to the next service round instead of re-entering the engine.

import QuicCore
import QuicTLS

extension EventType {
    static let resumed: UInt32 = 13                 // QUIC_CONNECTION_EVENT_RESUMED
}

extension ConnectionObject {
    /// The hook handed to the server's TLS configuration (captures the object weakly: the
    /// engine connection, which holds the configuration, is owned by this object).
    func resumptionAcceptanceHook() -> (_ appData: [UInt8]) -> Bool {
        { [weak self] appData in self?.indicateResumed(appData) ?? false }
    }

    /// Delivers RESUMED (ResumptionStateLength u16 at 8, ResumptionState pointer at 16; NULL
    /// when the ticket carries no data) and returns the application's decision. As in MsQuic,
    /// only QUIC_STATUS_SUCCESS accepts. QUIC_STATUS_PENDING (asynchronous ticket validation
    /// in MsQuic) is not supported: nothing would wait for
    /// ConnectionResumptionTicketValidationComplete, so it declines like any other status.
    func indicateResumed(_ appData: [UInt8]) -> Bool {
        // No application to ask (closed handle): resume as without the event.
        guard !appClosed else { return true }
        let wasInService = inService
        inService = true
        indicatingResumed = true
        defer {
            indicatingResumed = false
            inService = wasInService
        }
        let status: QuicStatus = appData.withUnsafeBufferPointer { d in
            let ev = RawEvent(type: EventType.resumed)
            ev.set(8, UInt16(clamping: d.count))
            let state: UnsafeRawPointer? = d.isEmpty ? nil : UnsafeRawPointer(d.baseAddress)
            ev.set(16, state)
            let s = deliver(ev)
            ev.free()
            return s
        }
        return status == Status.success
    }
}
