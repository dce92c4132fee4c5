// QUIC_CONNECTION_EVENT_RESUMED (docs/api/QUIC_CONNECTION_EVENT.md): a server connection is
// told that the client presented one of our tickets, with the ResumptionData the server put
// in it (ConnectionSendResumptionTicket). The callback's status decides, as in MsQuic's
// QuicConnRecvResumptionTicket (src/core/connection.c):
//   QUIC_STATUS_SUCCESS  resume (with 0-RTT when offered and allowed);
//   QUIC_STATUS_PENDING  decide later with ConnectionResumptionTicketValidationComplete: the
//                        handshake sends nothing until then (QuicTLS keeps the ClientHello);
//   anything else        decline: a full handshake, no 0-RTT.
//
// QuicTLS asks `TLSConfiguration.resumptionAcceptance` while it processes the ClientHello, on
// this connection's worker, in the middle of the engine's datagram processing. The event is
// delivered right there, before CONNECTED. While it runs, calls that would drive the engine (a
// service round, ConnectionShutdown, ConnectionClose) are postponed to the next service round
// instead of re-entering the engine, and a ConnectionResumptionTicketValidationComplete made
// inside the callback is remembered and applied when the callback returns PENDING (MsQuic
// queues it as an operation that runs after the callback).

import QuicCore
import QuicTLS

extension EventType {
    static let resumed: UInt32 = 13                 // QUIC_CONNECTION_EVENT_RESUMED
}

extension ConnectionObject {
    /// The hook handed to the server's TLS configuration (captures the object weakly: the
    /// engine connection, which holds the configuration, is owned by this object).
    func resumptionAcceptanceHook() -> (_ appData: [UInt8]) -> ResumptionDecision {
        { [weak self] appData in self?.indicateResumed(appData) ?? .accept }
    }

    /// Delivers RESUMED (ResumptionStateLength u16 at 8, ResumptionState pointer at 16; NULL
    /// when the ticket carries no data) and turns the application's status into a decision.
    func indicateResumed(_ appData: [UInt8]) -> ResumptionDecision {
        // No application to ask (closed handle): resume as without the event.
        guard !appClosed else { return .accept }
        let wasInService = inService
        inService = true
        indicatingResumed = true
        earlyResumptionDecision = nil
        defer {
            indicatingResumed = false
            earlyResumptionDecision = nil
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
        switch status {
        case Status.success:
            return .accept
        case Status.pending:
            // Completed from inside the callback: that answer applies now.
            if let accept = earlyResumptionDecision { return accept ? .accept : .reject }
            resumptionValidationPending = true
            return .pending
        default:
            return .reject
        }
    }

    /// ConnectionResumptionTicketValidationComplete on the worker. MsQuic (src/core/api.c)
    /// queues the completion and answers QUIC_STATUS_PENDING; a completion that finds no
    /// validation waiting is ignored there (src/core/crypto.c). Here a call made while no
    /// validation was ever asked for answers QUIC_STATUS_INVALID_STATE instead, like one made
    /// after the handshake completed or resumed in MsQuic.
    func completeResumptionValidation(accept: Bool) -> QuicStatus {
        worker.assertIsCurrent()
        if indicatingResumed {
            // Inside the RESUMED callback: applied if the callback returns PENDING.
            earlyResumptionDecision = accept
            return Status.pending
        }
        guard resumptionValidationPending else { return Status.invalidState }
        resumptionValidationPending = false
        guard let core, !core.isClosed, core.isAwaitingResumptionDecision else {
            // The connection ended while the application was deciding: nothing to resume.
            return Status.pending
        }
        core.completeResumptionTicketValidation(accept: accept, now: Runtime.now)
        service()
        return Status.pending
    }
}
