// The object behind a stream HQUIC (docs/Streams.md, docs/api/QUIC_STREAM_EVENT.md): a stream
// of the connection's engine, the application's send requests (buffers borrowed until
// SEND_COMPLETE, as MsQuic does) and receive indications (RECEIVE with partial consumption
// or QUIC_STATUS_PENDING then StreamReceiveComplete). Used on the connection's worker only.

import CMsQuic
import QuicCore
import QuicWire
import Synchronization

/// Sendable (unchecked): worker-bound. Every mutable field is used on `connection.worker` only
/// (API calls run there through perform/sync/runOrQueue; `deliver` asserts it in debug builds);
/// the handler and context are atomics (CallbackObject); the rest are `let`s.
final class StreamObject: CallbackObject, @unchecked Sendable {
    let connection: ConnectionObject
    let openFlags: UInt32
    var id: StreamID?
    /// The ID given at StreamStart, before the engine has the stream (the connection not
    /// started yet, or the peer's MAX_STREAMS reached); `id` once the engine opened it.
    var reservedID: StreamID?
    var startFlags: UInt32 = 0
    var startRequested = false
    var startCompleteDelivered = false
    var shutdownCompleteDelivered = false
    var sendShutdownCompleteDelivered = false
    /// StreamClose was called: no more events.
    var appClosed = false
    // Receive side
    var receiveEnabled = true
    /// The application returned QUIC_STATUS_PENDING from RECEIVE: `pendingLength` bytes wait
    /// for StreamReceiveComplete.
    var receivePending = false
    var pendingLength: UInt64 = 0
    /// Keeps the engine memory of a PENDING indication alive until StreamReceiveComplete (or
    /// the handle's close): the application may still read or write those bytes even after a
    /// reset dropped the stream's buffer (MsQuic keeps them too).
    var pendingStorage: AnyObject?
    /// The peer's FIN arrived while receives were disabled (or a receive was pending).
    var peerSendShutdownPending = false
    /// The engine finished the stream while that FIN was held: SHUTDOWN_COMPLETE follows it.
    var shutdownCompleteHeld = false
    var receivedTotal: UInt64 = 0
    // App-owned receive buffers (StreamAppOwned.swift).
    /// QUIC_STREAM_OPEN_FLAG_APP_OWNED_BUFFERS, or StreamProvideReceiveBuffers inside
    /// PEER_STREAM_STARTED: received data goes to the application's buffers.
    var appOwned = false
    /// PEER_STREAM_STARTED is being delivered for this stream.
    var peerStreamStartedActive = false
    /// The application's buffers not yet fully consumed, in the order given.
    var appBuffers: [AppBuffer] = []
    /// The stream offset of the first byte of `appBuffers[0]`.
    var appBaseOffset: UInt64 = 0
    /// The stream offset up to which buffers were provided (`appBaseOffset` + their lengths).
    var appProvidedEnd: UInt64 = 0
    /// The stream offset up to which received bytes were copied into the buffers.
    var appCopiedEnd: UInt64 = 0
    /// The stream offset up to which the application consumed the data.
    var appReadOffset: UInt64 = 0
    /// The offset of the data the current RECEIVE indicated (for StreamReceiveComplete).
    var appIndicatedOffset: UInt64 = 0
    /// QUIC_BUFFER array for RECEIVE events in this mode, one entry per provided buffer at most
    /// (grown when buffers are provided, so indications allocate nothing).
    var appEventBuffers: UnsafeMutableRawPointer?
    var appEventCapacity = 0
    /// An array replaced while a PENDING indication may still be read: freed at its completion.
    var appRetiredEventBuffers: UnsafeMutableRawPointer?
    // Send side: request number -> (ClientSendContext, engine requests still outstanding).
    var sendRequests: [UInt64: (context: UnsafeMutableRawPointer?, parts: Int)] = [:]
    var nextRequest: UInt64 = 1
    var sentTotal: UInt64 = 0
    var localFinSent = false
    /// StreamSend requests not yet handed to the engine (stream not started yet, or 1-RTT data
    /// before the handshake completed).
    struct HeldSend {
        var request: UInt64
        var pieces: [UnsafeRawBufferPointer]
        var fin: Bool
        var allow0RTT: Bool
        /// QUIC_SEND_FLAG_CANCEL_ON_LOSS: the stream turns cancel-on-loss when it is passed on.
        var cancelOnLoss = false
    }
    var heldSends: [HeldSend] = []
    /// StreamShutdown made while the stream waited for its ID (flags, error code).
    var pendingShutdown: (flags: UInt32, errorCode: UInt64)?
    /// Bytes handed to the engine before the handshake completed (QUIC_PARAM_STREAM_0RTT_LENGTH
    /// when the server accepted 0-RTT).
    var earlyBytes: UInt64 = 0

    /// QUIC_PARAM_STREAM_PRIORITY (0x7FFF by default), applied to the engine's stream.
    var priority: UInt16 = 0x7FFF
    /// The last QUIC_STREAM_EVENT_IDEAL_SEND_BUFFER_SIZE value indicated (MsQuic's
    /// LastIdealSendBuffer), reported by QUIC_PARAM_STREAM_IDEAL_SEND_BUFFER_SIZE.
    var idealSendBufferSize = StreamManager.defaultIdealSendBytes

    // QUIC_STREAM_STATISTICS (QuicCore BlockedTimings.swift).
    /// Time the stream waited for its ID: the peer's MAX_STREAMS (StreamBlockedByIdFlowControlUs).
    var idFlowControlBlocked = BlockedTimer()
    /// The connection's blocked times when the stream started: MsQuic caches them at
    /// StreamStart so that a stream's ConnBlockedBy* figures cover its own lifetime only.
    var connectionBlockedAtStart = ConnectionBlockedTimings()
    var statisticsStarted = false
    /// The engine stream's blocked times, taken when it ended.
    var finishedBlocked: StreamBlockedTimings?

    static let flagUnidirectional: UInt32 = 0x1

    /// A stream the application opens (StreamOpen).
    init(connection: ConnectionObject, flags: UInt32, handler: UnsafeRawPointer?, context: UnsafeMutableRawPointer?) {
        self.connection = connection
        self.openFlags = flags
        self.appOwned = flags & StreamOpenFlag.appOwnedBuffers != 0
        super.init(handleType: .stream, handler: handler)
        self.context = context
        PerfCounters.add(PerfCounters.streamActive)
    }

    deinit {
        PerfCounters.add(PerfCounters.streamActive, -1)
        appEventBuffers?.deallocate()
        appRetiredEventBuffers?.deallocate()
    }

    /// A stream the peer opened (PEER_STREAM_STARTED); the application sets its handler.
    init(connection: ConnectionObject, id: StreamID) {
        self.connection = connection
        self.openFlags = id.isUnidirectional ? StreamObject.flagUnidirectional : 0
        self.id = id
        self.startRequested = true
        self.startCompleteDelivered = true
        super.init(handleType: .stream, handler: nil)
        PerfCounters.add(PerfCounters.streamActive)
    }


    var isUnidirectional: Bool { openFlags & StreamObject.flagUnidirectional != 0 }

    @discardableResult
    func deliver(_ event: RawEvent) -> QuicStatus {
        connection.worker.assertIsCurrent()
        guard !appClosed else { return Status.success }
        return event.deliver(handler, handle, context)
    }

    // MARK: Send

    /// Hands one request to the engine; a status when the engine refused it.
    func pass(_ send: HeldSend) -> QuicStatus? {
        guard let id, let core = connection.core else { return Status.invalidState }
        // MsQuic (stream_send.c): one send with CANCEL_ON_LOSS makes the whole stream
        // cancel-on-loss, for the data already queued too.
        if send.cancelOnLoss { core.streams.setCancelOnLoss(id) }
        do throws(StreamAPIError) {
            if send.pieces.isEmpty {
                try core.send(stream: id, data: .owned([]), fin: send.fin, context: send.request)
            } else {
                for (i, p) in send.pieces.enumerated() {
                    try core.send(stream: id, data: .borrowed(p), fin: send.fin && i == send.pieces.count - 1,
                                  context: send.request)
                }
            }
        } catch {
            sendRequests[send.request] = nil
            return error.status
        }
        if !connection.connected && !connection.isServer { earlyBytes += UInt64(send.pieces.reduce(0) { $0 + $1.count }) }
        return nil
    }

    /// Whether a send may reach the engine now: after CONNECTED; before it, a client's 0-RTT
    /// data (QUIC_SEND_FLAG_ALLOW_0_RTT) and everything a server sends (0.5-RTT, RFC 9001
    /// §4.1.1; MsQuic's packet builder uses the 1-RTT write key as soon as it exists).
    func mayPassBeforeConnected(_ send: HeldSend) -> Bool {
        connection.connected || send.allow0RTT || connection.isServer
    }

    /// Passes held requests on once the stream has an ID (and, for 1-RTT data, the handshake
    /// completed). A refused request completes as canceled.
    func flushHeldSends() {
        guard id != nil else { return }
        while let first = heldSends.first, mayPassBeforeConnected(first) {
            heldSends.removeFirst()
            if pass(first) != nil {
                connection.deferred.append { [self] in
                    let ev = RawEvent(type: EventType.sendComplete)
                    ev.set(8, UInt8(1))
                    ev.set(16, self.sendRequests[first.request]?.context ?? nil)
                    self.deliver(ev)
                    ev.free()
                }
            }
        }
    }

    // MARK: Start

    /// StreamStart on the worker. Returns the call's status; START_COMPLETE follows from the
    /// service loop.
    func startOnWorker(flags: UInt32, retrying: Bool = false) {
        startFlags = flags
        noteStatisticsStart()
        guard let core = connection.core, !connection.shutdownInitiated else {
            startFailed(Status.aborted)
            return
        }
        let bidirectional = !isUnidirectional
        let k = bidirectional ? 0 : 1
        if reservedID == nil {
            // MsQuic (stream_set.c): the stream takes the next ID now, unless FAIL_BLOCKED and
            // the peer's limit leaves no room for it (RFC 9000 §4.6); that failure takes no ID.
            let limit = core.streams.localStreamLimit(bidirectional: bidirectional)
            if flags & StartFlag.failBlocked != 0 && connection.localStreamIDsIssued[k] >= limit {
                _ = try? core.openStream(bidirectional: bidirectional)   // schedules STREAMS_BLOCKED
                startFailed(Status.streamLimitReached)
                connection.service()
                return
            }
            guard let issued = connection.issueLocalStreamID(bidirectional: bidirectional) else {
                startFailed(Status.streamLimitReached)
                connection.service()
                return
            }
            reservedID = issued
        }
        guard let wanted = reservedID else { return }
        // The engine opens local streams in the order their IDs were given. IDs of streams
        // closed before the engine had them are opened and aborted at once (the ID is used up,
        // as in MsQuic); a stream whose turn has not come yet waits behind the earlier ones.
        while core.streams.openedLocalStreams(bidirectional: bidirectional) < wanted.index {
            let next = core.streams.openedLocalStreams(bidirectional: bidirectional)
            if connection.isReservedAndWaiting(index: next, bidirectional: bidirectional, except: self) {
                connection.blockedStarts.append(self)
                idFlowControlBlocked.set(true, now: Runtime.now)
                completeBlockedStart()
                if core.streams.openableStreams(bidirectional: bidirectional) > 0 {
                    connection.deferred.append { [connection] in connection.retryBlockedStarts() }
                }
                connection.service()
                return
            }
            guard let filler = try? core.openStream(bidirectional: bidirectional) else { break }
            try? core.streams.shutdownImmediately(filler, errorCode: 0)
        }
        do throws(StreamAPIError) {
            guard core.streams.openedLocalStreams(bidirectional: bidirectional) == wanted.index else {
                throw StreamAPIError.streamLimitReached
            }
            let newID = try core.openStream(bidirectional: bidirectional)
            id = newID
            idFlowControlBlocked.set(false, now: Runtime.now)
            if appOwned { appOwnedStreamOpened(core: core, id: newID) }
            connection.unstarted.remove(ObjectIdentifier(self))
            connection.streams[newID.rawValue] = self
            if priority != 0x7FFF { try? core.streams.setPriority(newID, priority) }
            flushHeldSends()
            // QUIC_STREAM_START_FLAG_IMMEDIATE: the peer hears of the stream now, data or not.
            if flags & StartFlag.immediate != 0 { core.streams.announce(newID) }
            if let p = pendingShutdown {
                pendingShutdown = nil
                _ = Api.shutdownStarted(self, core: core, id: newID, flags: p.flags, errorCode: p.errorCode)
            }
            connection.deferred.append { [self] in
                if self.startCompleteDelivered {
                    // Started while the peer's limit held it back: now accepted (MsQuic
                    // QuicStreamIndicatePeerAccepted, with START_FLAG_INDICATE_PEER_ACCEPT).
                    if self.startFlags & StartFlag.indicatePeerAccept != 0 { self.deliverPeerAccepted() }
                } else {
                    self.deliverStartComplete(Status.success)
                }
            }
        } catch .streamLimitReached {
            if flags & StartFlag.failBlocked != 0 {
                startFailed(Status.streamLimitReached)
            } else {
                // Opened once the peer allows another stream (STREAMS_AVAILABLE).
                connection.blockedStarts.append(self)
                idFlowControlBlocked.set(true, now: Runtime.now)
                completeBlockedStart()
            }
        } catch {
            startFailed(Status.invalidState)
        }
        connection.service()
    }

    /// The stream started (StreamStart, or the peer opened it): from here its statistics run.
    func noteStatisticsStart() {
        guard !statisticsStarted else { return }
        statisticsStarted = true
        if let core = connection.core { connectionBlockedAtStart = core.blockedTimings }
    }

    /// QUIC_STREAM_STATISTICS as MsQuic fills it (stream.c): the stream's own blocked times,
    /// and the connection's since the stream started; each includes a wait still going on.
    func statistics(now: QuicInstant) -> QUIC_STREAM_STATISTICS {
        var st = QUIC_STREAM_STATISTICS()
        func since(_ t: BlockedTimer, _ start: BlockedTimer) -> UInt64 {
            (t.total(at: now) - start.total(at: now)).microseconds   // saturating
        }
        if let conn = connection.core?.blockedTimings {
            let start = connectionBlockedAtStart
            st.ConnBlockedBySchedulingUs = since(conn.scheduling, start.scheduling)
            st.ConnBlockedByPacingUs = since(conn.pacing, start.pacing)
            st.ConnBlockedByAmplificationProtUs = since(conn.amplification, start.amplification)
            st.ConnBlockedByCongestionControlUs = since(conn.congestionControl, start.congestionControl)
            st.ConnBlockedByFlowControlUs = since(conn.flowControl, start.flowControl)
        }
        st.StreamBlockedByIdFlowControlUs = idFlowControlBlocked.total(at: now).microseconds
        if let own = finishedBlocked ?? id.flatMap({ connection.core?.streams.stream($0)?.blocked }) {
            st.StreamBlockedByFlowControlUs = own.flowControl.total(at: now).microseconds
            st.StreamBlockedByAppUs = own.app.total(at: now).microseconds
        }
        return st
    }

    func startFailed(_ status: QuicStatus) {
        idFlowControlBlocked.set(false, now: Runtime.now)
        connection.deferred.append { [self] in
            self.deliverStartComplete(status)
            if self.startFlags & StartFlag.shutdownOnFail != 0 || status == Status.aborted {
                self.deliverShutdownComplete(connectionShutdown: self.connection.shutdownInitiated)
            }
        }
    }

    private func deliverStartComplete(_ status: QuicStatus, peerAccepted: Bool = true) {
        guard !startCompleteDelivered else { return }
        startCompleteDelivered = true
        let ev = RawEvent(type: EventType.startComplete)
        ev.set(8, status)
        ev.set(16, (id ?? reservedID)?.rawValue ?? 0)
        ev.set(24, UInt8(status == Status.success && peerAccepted ? 1 : 0))      // PeerAccepted
        deliver(ev)
        ev.free()
    }

    /// MsQuic (stream.c): a stream started while the peer's MAX_STREAMS holds it back has its
    /// ID and completes its start at once, with PeerAccepted FALSE; PEER_ACCEPTED follows
    /// when the peer allows it (only with QUIC_STREAM_START_FLAG_INDICATE_PEER_ACCEPT).
    private func completeBlockedStart() {
        guard reservedID != nil, !startCompleteDelivered else { return }
        connection.deferred.append { [self] in self.deliverStartComplete(Status.success, peerAccepted: false) }
    }

    private func deliverPeerAccepted() {
        let ev = RawEvent(type: EventType.peerAccepted)
        deliver(ev)
        ev.free()
    }

    // MARK: Engine events -> QUIC_STREAM_EVENT

    /// The Reliable Size of the peer's RESET_STREAM_AT (QUIC_PARAM_STREAM_RELIABLE_OFFSET_RECV).
    var peerReliableSize: UInt64?

    func handle(_ e: StreamEvent) {
        switch e {
        case .dataAvailable:
            deliverReceive()
        case .sendComplete(_, let request, let canceled):
            guard var entry = sendRequests[request] else { return }
            entry.parts -= 1
            if entry.parts > 0 && !canceled { sendRequests[request] = entry; return }
            sendRequests[request] = nil
            let ev = RawEvent(type: EventType.sendComplete)
            ev.set(8, UInt8(canceled ? 1 : 0))
            ev.set(16, entry.context)
            deliver(ev)
            ev.free()
        case .peerSendShutdown:
            // MsQuic indicates the peer's FIN only while receives are enabled: with
            // StreamReceiveSetEnabled(FALSE) it waits for the next TRUE.
            if receiveEnabled && !receivePending {
                deliverPeerSendShutdown()
            } else {
                peerSendShutdownPending = true
            }
        case .peerReliableReset(_, let size):
            peerReliableSize = size    // QUIC_PARAM_STREAM_RELIABLE_OFFSET_RECV
        case .peerSendAborted(_, let code):
            let ev = RawEvent(type: EventType.peerSendAborted)
            ev.set(8, code)
            deliver(ev)
            ev.free()
        case .peerReceiveAborted(_, let code):
            let ev = RawEvent(type: EventType.peerReceiveAborted)
            ev.set(8, code)
            deliver(ev)
            ev.free()
        case .sendShutdownComplete(_, let graceful):
            sendShutdownCompleteDelivered = true
            let ev = RawEvent(type: EventType.sendShutdownComplete)
            ev.set(8, UInt8(graceful ? 1 : 0))
            deliver(ev)
            ev.free()
        case .shutdownComplete(let sid):
            if let t = connection.core?.streams.takeFinishedBlockedTimings(sid) { finishedBlocked = t }
            if peerSendShutdownPending && (!receiveEnabled || receivePending) && !connection.shutdownInitiated {
                // The peer's FIN waits for the application to take receives again (MsQuic
                // indicates PEER_SEND_SHUTDOWN only then); the stream is not complete before.
                shutdownCompleteHeld = true
            } else {
                deliverShutdownComplete(connectionShutdown: connection.shutdownInitiated)
            }
        case .idealSendBufferSize(_, let bytes):
            // QUIC_STREAM_EVENT_IDEAL_SEND_BUFFER_SIZE: ByteCount (uint64) at offset 8.
            idealSendBufferSize = bytes
            let ev = RawEvent(type: EventType.idealSendBufferSize)
            ev.set(8, bytes)
            deliver(ev)
            ev.free()
        case .cancelOnLoss:
            deliverCancelOnLoss()
        case .receiveBufferNeeded:
            receiveBufferNeeded()
        case .peerStreamStarted, .streamsAvailable:
            break
        }
    }

    /// QUIC_STREAM_EVENT_CANCEL_ON_LOSS (MsQuic stream_send.c): data of a stream sent with
    /// QUIC_SEND_FLAG_CANCEL_ON_LOSS was lost. The application may set ErrorCode (a QUIC_UINT62
    /// at offset 8, 0 by default) in the event; the stream is then aborted in both directions
    /// with it, and the lost data is never resent.
    private func deliverCancelOnLoss() {
        guard let id, let core = connection.core, !shutdownCompleteDelivered else { return }
        let ev = RawEvent(type: EventType.cancelOnLoss)
        ev.set(8, UInt64(0))
        deliver(ev)
        // A code above 2^62-1 cannot go on the wire (RFC 9000 §16): it is clamped.
        let code = Swift.min(ev.get(8, as: UInt64.self), Limits.uint62Max)
        ev.free()
        _ = Api.shutdownStarted(self, core: core, id: id,
                                flags: StreamShutdownFlag.abortSend | StreamShutdownFlag.abortReceive, errorCode: code)
    }

    /// RECEIVE: the contiguous data in place (at most two buffers). The application may take
    /// less (TotalBufferLength lowered: indications pause until StreamReceiveSetEnabled) or
    /// return QUIC_STATUS_PENDING and call StreamReceiveComplete later.
    func deliverReceive() {
        while let id, receiveEnabled, !receivePending, !shutdownCompleteDelivered, let core = connection.core,
              let (spans, fin) = core.readable(stream: id) {
            var total = spans.count
            var fin = fin
            var count = 0
            let buffers: UnsafeMutableRawPointer
            if appOwned {
                // The data is copied into the application's buffers and indicated there.
                guard let indication = appOwnedIndication(spans, fin: fin) else { return }
                (buffers, count, total, fin) = indication
                appIndicatedOffset = spans.offset
            } else {
                buffers = UnsafeMutableRawPointer.allocate(byteCount: 2 * QuicBuffers.stride, alignment: 8)
                if !spans.first.isEmpty {
                    QuicBuffers.write(buffers, count, length: spans.first.count, pointer: spans.first.baseAddress)
                    count += 1
                }
                if !spans.second.isEmpty {
                    QuicBuffers.write(buffers, count, length: spans.second.count, pointer: spans.second.baseAddress)
                    count += 1
                }
            }
            if total == 0 && !fin {
                if !appOwned { buffers.deallocate() }
                return
            }
            let ev = RawEvent(type: EventType.receive)
            ev.set(8, spans.offset)
            ev.set(16, UInt64(total))
            ev.set(24, UnsafeRawPointer(buffers))
            ev.set(32, UInt32(count))
            // QUIC_RECEIVE_FLAG_0_RTT (0x1) when data at the start of the indication came in
            // 0-RTT packets (RFC 9001 §4.6.1); QUIC_RECEIVE_FLAG_FIN (0x2).
            let early = spans.offset < core.streams.zeroRTTReceivedEnd(id)
            ev.set(36, UInt32(fin ? 0x2 : 0) | UInt32(early ? 0x1 : 0))
            let status = appClosed ? Status.success : deliver(ev)
            let taken = min(ev.get(16, as: UInt64.self), UInt64(total))
            ev.free()
            if !appOwned { buffers.deallocate() }
            if status == Status.pending {
                receivePending = true
                pendingLength = UInt64(total)
                pendingStorage = core.streams.receiveStorageOwner(id)
                return
            }
            let consumed = Status.isFailure(status) ? UInt64(total) : taken
            receivedTotal += consumed
            connection.streamBytesReceived += consumed
            PerfCounters.add(PerfCounters.appReceiveBytes, Int64(clamping: consumed))
            _ = try? core.receiveComplete(stream: id, count: consumed)
            if appOwned { appOwnedConsumed(upTo: spans.offset + consumed) }
            if consumed < UInt64(total) {
                // QUIC_STATUS_CONTINUE: indicate the rest right away; otherwise a partial
                // consumption pauses indications until StreamReceiveSetEnabled(TRUE).
                if status == Status.continue { continue }
                receiveEnabled = false
                return
            }
            if total == 0 { return }
        }
    }

    /// StreamReceiveComplete after a PENDING indication.
    func receiveComplete(_ length: UInt64) {
        guard receivePending, let id, let core = connection.core else { return }
        receivePending = false
        pendingStorage = nil
        let consumed = min(length, pendingLength)
        receivedTotal += consumed
        connection.streamBytesReceived += consumed
        PerfCounters.add(PerfCounters.appReceiveBytes, Int64(clamping: consumed))
        _ = try? core.receiveComplete(stream: id, count: consumed)
        if appOwned { appOwnedConsumed(upTo: appIndicatedOffset + consumed) }
        deliverReceive()
        deliverHeldPeerSendShutdown()
    }

    func deliverPeerSendShutdown() {
        peerSendShutdownPending = false
        let ev = RawEvent(type: EventType.peerSendShutdown)
        deliver(ev)
        ev.free()
    }

    /// After receives were enabled again: a held PEER_SEND_SHUTDOWN follows the data.
    func deliverHeldPeerSendShutdown() {
        if peerSendShutdownPending && receiveEnabled && !receivePending { deliverPeerSendShutdown() }
        if shutdownCompleteHeld && !peerSendShutdownPending {
            shutdownCompleteHeld = false
            deliverShutdownComplete(connectionShutdown: connection.shutdownInitiated)
        }
    }

    func deliverShutdownComplete(connectionShutdown: Bool) {
        guard !shutdownCompleteDelivered else { return }
        if peerSendShutdownPending { deliverPeerSendShutdown() }
        shutdownCompleteDelivered = true
        // Sends still outstanding complete as canceled first.
        for (_, entry) in sendRequests.sorted(by: { $0.key < $1.key }) {
            let ev = RawEvent(type: EventType.sendComplete)
            ev.set(8, UInt8(1))
            ev.set(16, entry.context)
            deliver(ev)
            ev.free()
        }
        sendRequests.removeAll()
        // MsQuic: a connection that ends under a stream whose send direction is still open
        // shuts that direction down first (SEND_SHUTDOWN_COMPLETE, not graceful). A peer's
        // unidirectional stream has no send direction.
        if connectionShutdown, !sendShutdownCompleteDelivered, let id,
           id.isBidirectional || (id.initiator == .server) == connection.isServer {
            sendShutdownCompleteDelivered = true
            let send = RawEvent(type: EventType.sendShutdownComplete)
            send.set(8, UInt8(0))
            deliver(send)
            send.free()
        }
        let ev = RawEvent(type: EventType.streamShutdownComplete)
        ev.set(8, UInt8(connectionShutdown ? 1 : 0))
        var bits: UInt8 = 0
        if appClosed { bits |= 1 }
        if connectionShutdown && connection.closedByApp { bits |= 2 }
        if connectionShutdown && connection.closedRemotely { bits |= 4 }
        ev.set(9, bits)
        ev.set(16, connection.closeErrorCode)
        ev.set(24, connection.closeStatus)
        deliver(ev)
        ev.free()
        connection.forget(self)
    }

    /// The connection ended before this stream did.
    func connectionEnded() {
        deliverShutdownComplete(connectionShutdown: true)
    }

    /// The application refused a peer stream: abort both directions and close the handle.
    func abortAndForget() {
        appClosed = true
        if let id { try? connection.core?.streams.shutdownImmediately(id, errorCode: 0) }
        shutdownCompleteDelivered = true
        connection.forget(self)
        Handles.unregister(self)
    }
}

enum StreamOpenFlag {
    static let unidirectional: UInt32 = 0x1
    static let zeroRTT: UInt32 = 0x2
    static let delayIDFlowControlUpdates: UInt32 = 0x4
    static let appOwnedBuffers: UInt32 = 0x8
}

enum StartFlag {
    static let immediate: UInt32 = 0x1
    static let failBlocked: UInt32 = 0x2
    static let shutdownOnFail: UInt32 = 0x4
    static let indicatePeerAccept: UInt32 = 0x8
}

enum StreamShutdownFlag {
    static let graceful: UInt32 = 0x1
    static let abortSend: UInt32 = 0x2
    static let abortReceive: UInt32 = 0x4
    static let immediate: UInt32 = 0x8
    static let inline: UInt32 = 0x10
}

enum SendFlag {
    static let allow0RTT: UInt32 = 0x1
    static let start: UInt32 = 0x2
    static let fin: UInt32 = 0x4
    static let cancelOnLoss: UInt32 = 0x20
}


extension StreamAPIError {
    var status: QuicStatus {
        switch self {
        case .unknownStream, .invalidState: return Status.invalidState
        case .streamLimitReached: return Status.streamLimitReached
        case .invalidParameter: return Status.invalidParameter
        }
    }
}
