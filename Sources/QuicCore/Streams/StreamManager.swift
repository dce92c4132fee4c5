// The stream layer of one connection: the stream table, stream ID allocation and MAX_STREAMS
// limits (RFC 9000 §2.1, §4.6), connection flow control (§4.1), the application's calls, and
// events for the API layer. Incoming frames: StreamManager+Receive.swift; outgoing frames and
// ack/loss feedback: StreamManager+Send.swift.
//
// How the connection drives it:
//   init(config: StreamsConfig(role:local: ourTransportParameters))
//   setPeerTransportParameters(_:)            when the peer's parameters are known
//   handle(frame, payload:) throws(QuicError) for each decoded frame (returns false if the
//                                              frame is not a stream/flow control frame);
//   crypto.handle(_:level:payload:)            for CRYPTO frames, crypto.readable/consume → TLS
//   writeFrames(into: &writer, sent: &records) while building a 1-RTT/0-RTT packet;
//   crypto.write(level:into:sent:)             while building a packet of that level;
//   onAcked(record) / onLost(record)           for each record of an acknowledged/lost packet
//   pollEvent()                                after each step, for the API layer
// The application (through the API layer): openStream, send, finishSending, resetSending,
// stopReceiving, readable, receiveComplete, setPriority, closeAll.

import QuicTLS
import QuicWire

public final class StreamManager {
    public let role: EndpointRole
    public private(set) var config: StreamsConfig

    /// Open streams by raw ID.
    var streams: [UInt64: QuicStream] = [:]

    // Stream counts (RFC 9000 §4.6). Index 0: bidirectional, 1: unidirectional.
    /// The next index of a stream we open.
    var nextLocalIndex: [UInt64] = [0, 0]
    /// The peer's MAX_STREAMS: how many streams we may open.
    var localLimit: [UInt64] = [0, 0]
    /// The next index of a peer stream not yet opened.
    var nextRemoteIndex: [UInt64] = [0, 0]
    /// How many streams of each kind the peer may have open at once (the configured counts;
    /// raised by `raisePeerStreamCount`).
    var peerConcurrency: [UInt64] = [0, 0]
    /// The MAX_STREAMS we advertised: how many streams the peer may open.
    var remoteLimit: [UInt64]
    /// The MAX_STREAMS value to advertise next (grows as peer streams finish).
    var remoteLimitNext: [UInt64]
    var maxStreamsPending: [Bool] = [false, false]
    /// Ended peer streams whose MAX_STREAMS credit waits for the application's StreamClose
    /// (DELAY_ID_FC_UPDATES). Bounded by the peer's stream limit: no credit returns while held.
    var heldStreamCredits: Set<UInt64> = []
    /// Time the connection's stream data waited for the peer's MAX_DATA (RFC 9000 §4.1;
    /// QUIC_STREAM_STATISTICS ConnBlockedByFlowControlUs).
    public internal(set) var connectionFlowControlBlocked = BlockedTimer()
    /// Blocked times of streams that ended, until the API layer takes them
    /// (`takeFinishedBlockedTimings`, when it handles the stream's shutdownComplete event).
    var finishedBlockedTimings: [UInt64: StreamBlockedTimings] = [:]
    /// The limit at which we reported STREAMS_BLOCKED, and whether a frame is due.
    var streamsBlockedReportedAt: [UInt64?] = [nil, nil]
    var streamsBlockedPending: [Bool] = [false, false]

    // Connection flow control (RFC 9000 §4.1).
    var connectionSend: SendCredit
    var connectionReceive: ReceiveCredit

    /// The latest time and smoothed RTT the connection told us (set on each of its entry
    /// points), for receive window auto-tuning (FlowControl.swift). Without a time (a stream
    /// layer driven on its own) windows keep their size.
    public var now: QuicInstant?
    /// Reliable reset negotiated (draft-ietf-quic-reliable-stream-reset §3): the frame type
    /// the peer understands (MsQuic's 0x21 or the draft's RESET_STREAM_AT 0x24); nil if not.
    public internal(set) var reliableResetFrameType: UInt64? = nil
    /// We advertised reliable reset: RESET_STREAM_AT from the peer is accepted.
    public internal(set) var reliableResetAdvertised = false
    public var smoothedRTT: QuicDuration = .milliseconds(333)
    /// The connection's ideal send buffer bytes (StreamManager+Send.swift).
    public internal(set) var idealSendBytes: UInt64 = StreamManager.defaultIdealSendBytes

    // The peer's initial stream data limits (from its transport parameters).
    var peerMaxStreamDataBidiLocal: UInt64 = 0
    var peerMaxStreamDataBidiRemote: UInt64 = 0
    var peerMaxStreamDataUni: UInt64 = 0

    /// Streams with STREAM data to send, highest priority first, round-robin among equals.
    var sendQueue: [QuicStream] = []
    /// Streams owing control frames (RESET_STREAM, STOP_SENDING, MAX_STREAM_DATA, ...).
    var controlQueue: [QuicStream] = []

    /// Events not yet polled, from `eventHead` on.
    var events: [StreamEvent] = []
    var eventHead = 0

    /// Scratch for completed/canceled send requests (reused, no allocation in steady state).
    var requestScratch: [SendRequest] = []

    /// CRYPTO streams per encryption level (RFC 9000 §19.6).
    public var crypto: CryptoStreams

    public init(config: StreamsConfig) {
        role = config.role
        self.config = config
        remoteLimit = [config.maxStreamsBidi, config.maxStreamsUni]
        remoteLimitNext = remoteLimit
        peerConcurrency = remoteLimit
        connectionSend = SendCredit(limit: 0)
        connectionReceive = ReceiveCredit(window: config.maxData)
        crypto = CryptoStreams(bufferLimit: config.cryptoBufferLimit)
    }

    @inline(__always) static func kind(_ bidirectional: Bool) -> Int { bidirectional ? 0 : 1 }

    // MARK: Peer transport parameters

    /// Applies the peer's transport parameters (RFC 9000 §18.2, §7.4). May be called again
    /// (e.g. remembered 0-RTT parameters, then the real ones): limits only grow.
    public func setPeerTransportParameters(_ p: TransportParameters) {
        peerMaxStreamDataBidiLocal = Swift.max(peerMaxStreamDataBidiLocal, p.initialMaxStreamDataBidiLocal)
        peerMaxStreamDataBidiRemote = Swift.max(peerMaxStreamDataBidiRemote, p.initialMaxStreamDataBidiRemote)
        peerMaxStreamDataUni = Swift.max(peerMaxStreamDataUni, p.initialMaxStreamDataUni)
        connectionSend.raise(to: p.initialMaxData)
        let before = (openableStreams(bidirectional: true), openableStreams(bidirectional: false))
        localLimit[0] = Swift.max(localLimit[0], Swift.min(p.initialMaxStreamsBidi, 1 << 60))
        localLimit[1] = Swift.max(localLimit[1], Swift.min(p.initialMaxStreamsUni, 1 << 60))
        // Streams opened before the parameters were known get the new limits.
        for s in streams.values where s.hasSendPart {
            if s.sendCredit.raise(to: initialSendLimit(for: s.id)) { scheduleSend(s) }
        }
        let after = (openableStreams(bidirectional: true), openableStreams(bidirectional: false))
        if after.0 > before.0 || after.1 > before.1 {
            emit(.streamsAvailable(bidirectional: after.0, unidirectional: after.1))
        }
    }

    /// The send limit a new stream starts with (RFC 9000 §18.2: the peer's bidi_local applies
    /// to streams it opened, bidi_remote to streams we opened, uni to our unidirectional ones).
    func initialSendLimit(for id: StreamID) -> UInt64 {
        if id.isUnidirectional { return peerMaxStreamDataUni }
        return id.initiator == role ? peerMaxStreamDataBidiRemote : peerMaxStreamDataBidiLocal
    }

    /// The largest a stream's receive window auto-tunes to: the connection window, as MsQuic
    /// bounds it (ConnFlowControlWindow); a stream's initial window is never lowered.
    var maxReceiveWindow: UInt64 { config.maxData }

    /// The receive window a new stream starts with (our own transport parameters).
    func initialReceiveWindow(for id: StreamID) -> UInt64 {
        if id.isUnidirectional { return id.initiator == role ? 0 : config.maxStreamDataUni }
        return id.initiator == role ? config.maxStreamDataBidiLocal : config.maxStreamDataBidiRemote
    }

    // MARK: Opening streams

    /// How many more streams of a kind we may open now (the peer's MAX_STREAMS, §4.6).
    public func openableStreams(bidirectional: Bool) -> UInt64 {
        let k = Self.kind(bidirectional)
        return localLimit[k] > nextLocalIndex[k] ? localLimit[k] - nextLocalIndex[k] : 0
    }

    /// How many local streams of a kind were opened so far (the index the next one gets).
    public func openedLocalStreams(bidirectional: Bool) -> UInt64 { nextLocalIndex[Self.kind(bidirectional)] }

    /// The peer's current limit on our streams of a kind (its MAX_STREAMS, RFC 9000 §4.6).
    public func localStreamLimit(bidirectional: Bool) -> UInt64 { localLimit[Self.kind(bidirectional)] }

    /// Opens the next local stream. Throws `streamLimitReached` when the peer's MAX_STREAMS
    /// does not allow it; a STREAMS_BLOCKED frame is then scheduled (RFC 9000 §4.6, §19.14).
    public func openStream(bidirectional: Bool) throws(StreamAPIError) -> StreamID {
        let k = Self.kind(bidirectional)
        guard nextLocalIndex[k] < localLimit[k] else {
            if streamsBlockedReportedAt[k] != localLimit[k] {
                streamsBlockedReportedAt[k] = localLimit[k]
                streamsBlockedPending[k] = true
            }
            throw .streamLimitReached
        }
        guard let id = StreamID(index: nextLocalIndex[k], initiator: role, bidirectional: bidirectional) else {
            throw .streamLimitReached
        }
        nextLocalIndex[k] += 1
        let s = QuicStream(id: id, role: role, sendLimit: initialSendLimit(for: id),
                           receiveWindow: initialReceiveWindow(for: id),
                           maxReceiveWindow: maxReceiveWindow, now: now)
        streams[id.rawValue] = s
        noteSendProgress(s)
        return id
    }

    /// The stream with `id`, if open.
    public func stream(_ id: StreamID) -> QuicStream? { streams[id.rawValue] }

    /// The number of streams in the table.
    public var openStreamCount: Int { streams.count }

    /// Whether a stream ID refers to a stream that existed at some point (open or finished).
    func hasExisted(_ id: StreamID) -> Bool {
        let k = Self.kind(id.isBidirectional)
        return id.initiator == role ? id.index < nextLocalIndex[k] : id.index < nextRemoteIndex[k]
    }

    // MARK: Application calls (MsQuic StreamSend / StreamShutdown / StreamReceiveComplete ...)

    func appStream(_ id: StreamID) throws(StreamAPIError) -> QuicStream {
        guard let s = streams[id.rawValue] else { throw .unknownStream }
        return s
    }

    /// Queues data (and optionally the FIN) as one send request identified by `context`;
    /// `sendComplete(context)` follows when it is fully acknowledged or canceled.
    public func send(_ id: StreamID, data: SendData, fin: Bool, context: UInt64) throws(StreamAPIError) {
        let s = try appStream(id)
        guard s.hasSendPart, s.resetErrorCode == nil, !s.send.finQueued,
              s.sendState == .ready || s.sendState == .send else { throw .invalidState }
        // RFC 9000 §4.5/§19.8: a stream never goes past 2^62-1. Bound: queuedEnd ≤ 2^62-1 and
        // data.count < 2^63, so the sum fits UInt64; beyond the limit the API answers
        // INVALID_PARAMETER.
        guard s.send.queuedEnd + UInt64(data.count) <= VarInt.max else { throw .invalidParameter }
        s.send.enqueue(data, fin: fin, context: context)
        completeRequests(s)
        scheduleSend(s)
        noteSendProgress(s)
    }

    /// Updates the stream's blocked timers (QUIC_STREAM_STATISTICS) after its sending part
    /// changed: waiting for the application while everything queued is sent and the stream is
    /// not ended (MsQuic's QUIC_FLOW_BLOCKED_APP); waiting for MAX_STREAM_DATA while new data
    /// is held by the stream's limit (RFC 9000 §4.1). Without a time (a stream layer driven on
    /// its own) nothing is measured.
    func noteSendProgress(_ s: QuicStream) {
        guard let now, s.hasSendPart else { return }
        let open = s.resetErrorCode == nil && !s.send.finQueued
        s.blocked.app.set(open && s.send.unsentCount == 0, now: now)
        s.blocked.flowControl.set(s.sendsData && s.send.hasNewData && s.sendCredit.available == 0, now: now)
    }


    /// Ends the sending part gracefully: a FIN after the queued data (RFC 9000 §3.1).
    public func finishSending(_ id: StreamID) throws(StreamAPIError) {
        let s = try appStream(id)
        guard s.hasSendPart, s.resetErrorCode == nil else { throw .invalidState }
        if s.send.finQueued { return }
        // The bookkeeping request of a bare FIN is not reported to the application.
        s.send.enqueue(.owned([]), fin: true, context: Self.internalContext)
        scheduleSend(s)
        noteSendProgress(s)
    }

    /// The context of internal send requests (never reported).
    static let internalContext: UInt64 = .max

    /// Abortive shutdown of the sending part: RESET_STREAM with `errorCode` (RFC 9000 §3.1,
    /// §19.4). Pending send requests complete as canceled.
    public func resetSending(_ id: StreamID, errorCode: UInt64) throws(StreamAPIError) {
        guard errorCode <= VarInt.max else { throw .invalidParameter }
        let s = try appStream(id)
        guard s.hasSendPart else { throw .invalidState }
        // draft-ietf-quic-reliable-stream-reset: with a reliable offset set and the extension
        // negotiated, the reset is a RESET_STREAM_AT that still delivers the data below it.
        if resetSendPartReliably(s, errorCode: errorCode) { return }
        resetSendPart(s, errorCode: errorCode)
    }

    func resetSendPart(_ s: QuicStream, errorCode: UInt64) {
        // §3.1: a reset is possible from Ready, Send and Data Sent, not from a terminal state.
        guard s.resetErrorCode == nil, !s.sendState.isTerminal else { return }
        s.resetErrorCode = errorCode
        // §4.5: the final size is the amount of flow control credit consumed by the stream.
        s.resetFinalSize = s.send.nextOffset
        s.sendState = .resetSent
        requestScratch.removeAll(keepingCapacity: true)
        s.send.abandon(canceled: &requestScratch)
        for q in requestScratch where q.context != Self.internalContext {
            emit(.sendComplete(s.id, context: q.context, canceled: true))
        }
        s.sendCredit.clearBlocked()
        s.resetPending = true
        scheduleControl(s)
        noteSendProgress(s)
    }

    /// Abortive shutdown of the receiving part: STOP_SENDING with `errorCode` (RFC 9000 §3.5,
    /// §19.5); buffered data is discarded and its flow control credit returned.
    public func stopReceiving(_ id: StreamID, errorCode: UInt64) throws(StreamAPIError) {
        guard errorCode <= VarInt.max else { throw .invalidParameter }
        let s = try appStream(id)
        guard s.hasReceivePart else { throw .invalidState }
        guard !s.receiveAborted, !s.receiveState.isTerminal else { return }
        s.receiveAborted = true
        discardReceived(s)
        // §3.5: STOP_SENDING is only useful while the peer may still be sending.
        if s.receiveState == .recv || s.receiveState == .sizeKnown {
            s.stopSendingErrorCode = errorCode
            s.stopSendingPending = true
            s.receiveCredit.cancelUpdates()
            scheduleControl(s)
        }
        finishReceiveIfComplete(s)
        checkShutdown(s)
    }

    /// Aborts both directions and ends the stream now (MsQuic QUIC_STREAM_SHUTDOWN_FLAG_ABORT |
    /// IMMEDIATE): RESET_STREAM and STOP_SENDING are sent once (not repeated after loss, the
    /// stream is gone), pending sends complete as canceled, and shutdownComplete follows at once.
    /// Later frames for the stream are ignored; a peer stream still counts as finished for
    /// MAX_STREAMS.
    public func shutdownImmediately(_ id: StreamID, errorCode: UInt64) throws(StreamAPIError) {
        guard errorCode <= VarInt.max else { throw .invalidParameter }
        let s = try appStream(id)
        if s.hasSendPart { resetSendPart(s, errorCode: errorCode) }
        if s.hasReceivePart, !s.receiveAborted, !s.receiveState.isTerminal {
            s.receiveAborted = true
            discardReceived(s)
            if s.receiveState == .recv || s.receiveState == .sizeKnown {
                s.stopSendingErrorCode = errorCode
                s.stopSendingPending = true
                scheduleControl(s)
            }
        }
        s.receiveCredit.cancelUpdates()
        s.sendCredit.clearBlocked()
        if !s.hasControlFrames, s.inControlQueue, let i = controlQueue.firstIndex(where: { $0 === s }) {
            controlQueue.remove(at: i)
            s.inControlQueue = false
        }
        forget(s)
    }

    /// The application allows the peer more concurrent streams of a kind (MsQuic: a new
    /// PeerBidiStreamCount/PeerUnidiStreamCount on a started connection): the difference is
    /// added to the MAX_STREAMS we advertise, sent at once (RFC 9000 §4.6, §19.11). A lower
    /// count is not taken back (MAX_STREAMS cannot decrease).
    public func raisePeerStreamCount(bidirectional: Bool, to count: UInt64) {
        let k = Self.kind(bidirectional)
        let count = Swift.min(count, 1 << 60)
        guard count > peerConcurrency[k] else { return }
        remoteLimitNext[k] = Swift.min(remoteLimitNext[k] + (count - peerConcurrency[k]), 1 << 60)
        peerConcurrency[k] = count
        maxStreamsPending[k] = true
    }

    /// Makes the peer learn of a local stream now, even with no data queued: an empty STREAM
    /// frame at offset 0 (RFC 9000 §19.8 allows a zero-length STREAM frame; §3.2: any frame
    /// opens the stream at the peer). Nothing is sent if data already went out.
    public func announce(_ id: StreamID) {
        guard let s = streams[id.rawValue], s.isLocal, s.hasSendPart, s.send.nextOffset == 0 else { return }
        s.announcePending = true
        scheduleSend(s)
    }

    /// The memory the stream's readable spans point into, as an opaque owner: the API layer
    /// holds it while the application keeps received buffers past its callback (MsQuic's
    /// QUIC_STATUS_PENDING from RECEIVE), so that a reset or the end of the stream, which drop
    /// the engine's buffer, does not free memory the application may still touch.
    public func receiveStorageOwner(_ id: StreamID) -> AnyObject? {
        streams[id.rawValue]?.receive.storage
    }

    /// How far a stream's data came in 0-RTT packets (0 if none did).
    public func zeroRTTReceivedEnd(_ id: StreamID) -> UInt64 {
        streams[id.rawValue]?.zeroRTTReceivedEnd ?? 0
    }

    /// Notes that STREAM data up to `end` arrived in a 0-RTT packet.
    func noteZeroRTTData(_ id: StreamID, end: UInt64) {
        guard let s = streams[id.rawValue] else { return }
        s.zeroRTTReceivedEnd = max(s.zeroRTTReceivedEnd, end)
    }

    /// The contiguous received data of a stream, in place, and whether it ends at the final
    /// size. The spans stay valid until `receiveComplete` (or the stream's shutdownComplete).
    public func readable(_ id: StreamID) -> (data: ReadableSpans, fin: Bool)? {
        guard let s = streams[id.rawValue], s.hasReceivePart else { return nil }
        var spans = s.receive.readable()
        // draft-ietf-quic-reliable-stream-reset §4: after RESET_STREAM_AT only the data below
        // the Reliable Size is delivered, and no FIN.
        if s.peerReliableSize != nil { spans = clipToReliableSize(s, spans); return (spans, false) }
        let fin = s.finalSize.map { $0 == spans.offset + UInt64(spans.count) } ?? false
        return (spans, fin)
    }

    /// The application consumed `count` bytes of the readable data (MsQuic
    /// StreamReceiveComplete). Returns flow control credit (RFC 9000 §4.2) and finishes the
    /// receiving part once everything up to the FIN is read (§3.2 "Data Read").
    @discardableResult
    public func receiveComplete(_ id: StreamID, count: UInt64) throws(StreamAPIError) -> UInt64 {
        let s = try appStream(id)
        guard s.hasReceivePart else { throw .invalidState }
        let n = s.receive.consume(count)
        if n > 0 {
            connectionReceive.onConsumed(n, now: now, smoothedRTT: smoothedRTT)
            if s.receiveState == .recv {
                s.receiveCredit.onConsumed(n, now: now, smoothedRTT: smoothedRTT)
                // The buffer may hold what the (possibly grown) window lets the peer send.
                if s.receive.limit < s.receiveCredit.window { s.receive.limit = s.receiveCredit.window }
            }
            if s.receiveCredit.updatePending { scheduleControl(s) }
        }
        if s.receive.readableCount > 0 { s.dataEventQueued = false }
        finishReceiveIfComplete(s)
        checkShutdown(s)
        return n
    }

    /// Sets the scheduling priority (MsQuic QUIC_PARAM_STREAM_PRIORITY).
    public func setPriority(_ id: StreamID, _ priority: UInt16) throws(StreamAPIError) {
        let s = try appStream(id)
        s.priority = priority
        if s.inSendQueue {
            if let i = sendQueue.firstIndex(where: { $0 === s }) { sendQueue.remove(at: i) }
            s.inSendQueue = false
            scheduleSend(s)
        }
    }

    /// Sets the receive window of a stream (MsQuic stream receive window settings); applied
    /// with the next MAX_STREAM_DATA.
    public func setReceiveWindow(_ id: StreamID, _ window: UInt64) throws(StreamAPIError) {
        let s = try appStream(id)
        guard window <= VarInt.max else { throw .invalidParameter }
        s.receiveCredit.setWindow(window)
        s.receive.limit = Swift.max(s.receive.limit, window)
    }

    /// The connection is closed: every stream ends now. Pending sends complete as canceled,
    /// then each stream reports shutdownComplete.
    public func closeAll() {
        let all = streams.values.sorted { $0.id < $1.id }
        for s in all {
            requestScratch.removeAll(keepingCapacity: true)
            s.send.abandon(canceled: &requestScratch)
            for q in requestScratch where q.context != Self.internalContext {
                emit(.sendComplete(s.id, context: q.context, canceled: true))
            }
            if !s.shutdownSignaled {
                s.shutdownSignaled = true
                emit(.shutdownComplete(s.id))
            }
        }
        streams.removeAll()
        sendQueue.removeAll()
        controlQueue.removeAll()
    }

    // MARK: Events

    /// The next event for the API layer.
    public func pollEvent() -> StreamEvent? {
        guard eventHead < events.count else { return nil }
        let e = events[eventHead]
        eventHead += 1
        if eventHead == events.count {
            events.removeAll(keepingCapacity: true)
            eventHead = 0
        }
        if case .dataAvailable(let id) = e { streams[id.rawValue]?.dataEventQueued = false }
        return e
    }

    func emit(_ e: StreamEvent) { events.append(e) }

    // MARK: Stream lifecycle helpers

    /// Reports send requests that are complete.
    func completeRequests(_ s: QuicStream) {
        requestScratch.removeAll(keepingCapacity: true)
        s.send.onAcked(offset: s.send.ackedOffset, length: 0, fin: false, completed: &requestScratch)
        for q in requestScratch where q.context != Self.internalContext {
            emit(.sendComplete(s.id, context: q.context, canceled: false))
        }
    }

    /// Discards buffered received data, returning its connection credit.
    func discardReceived(_ s: QuicStream) {
        let unread = s.receiveCredit.received - Swift.min(s.receiveCredit.received, s.receive.readOffset)
        s.receive.discardAll(upTo: s.receiveCredit.received)
        if unread > 0 { connectionReceive.onConsumed(unread) }
    }

    /// "Data Recvd" → "Data Read" once the application has read up to the final size (§3.2).
    func finishReceiveIfComplete(_ s: QuicStream) {
        // draft-ietf-quic-reliable-stream-reset §4: after RESET_STREAM_AT the reset is
        // reported once the application has read up to the Reliable Size.
        if s.peerReliableSize != nil { finishReliableReceiveIfComplete(s); return }
        guard let final = s.finalSize else { return }
        if s.receiveState == .sizeKnown, s.receiveCredit.received == final,
           s.receive.contiguousEnd >= final || s.receiveAborted {
            s.receiveState = .dataRecvd
        }
        if s.receiveState == .dataRecvd, s.receive.readOffset >= final || s.receiveAborted {
            s.receiveState = .dataRead
            s.receive.releaseIfIdle()
            if !s.receiveAborted { emit(.peerSendShutdown(s.id)) }
        }
    }

    /// Emits shutdownComplete and forgets the stream once both parts are finished; a finished
    /// peer stream lets the peer open another one (MAX_STREAMS, RFC 9000 §4.6).
    func checkShutdown(_ s: QuicStream) {
        guard s.sendFinished, s.receiveFinished, !s.shutdownSignaled else { return }
        // Owed control frames (e.g. STOP_SENDING is moot now, but a RESET_STREAM still needs
        // its acknowledgment) keep the stream until they are done.
        if s.resetPending { return }
        if s.inControlQueue, let i = controlQueue.firstIndex(where: { $0 === s }) { controlQueue.remove(at: i) }
        s.inControlQueue = false
        forget(s)
    }

    /// Emits shutdownComplete and removes the stream from the table and the data queue (a
    /// stream still in the control queue keeps its owed frames until they are written once).
    func forget(_ s: QuicStream) {
        guard !s.shutdownSignaled else { return }
        s.shutdownSignaled = true
        if let now {
            // The stream's blocked times end with it; the API layer takes them with the event.
            s.blocked.app.set(false, now: now)
            s.blocked.flowControl.set(false, now: now)
            finishedBlockedTimings[s.id.rawValue] = s.blocked
        }
        emit(.shutdownComplete(s.id))
        streams[s.id.rawValue] = nil
        if s.inSendQueue, let i = sendQueue.firstIndex(where: { $0 === s }) { sendQueue.remove(at: i) }
        s.inSendQueue = false
        if !s.isLocal {
            if s.delaysStreamCredit {
                // Held until the application closes its handle (releaseStreamCredit).
                heldStreamCredits.insert(s.id.rawValue)
            } else {
                returnStreamCredit(bidirectional: s.id.isBidirectional)
            }
        }
    }

    /// A finished peer stream lets the peer open another one (RFC 9000 §4.6: MAX_STREAMS).
    func returnStreamCredit(bidirectional: Bool) {
        let k = Self.kind(bidirectional)
        remoteLimitNext[k] = Swift.min(remoteLimitNext[k] + 1, 1 << 60)
        maxStreamsPending[k] = true
    }

    /// The blocked times of a stream that ended (its shutdownComplete event), once.
    public func takeFinishedBlockedTimings(_ id: StreamID) -> StreamBlockedTimings? {
        finishedBlockedTimings.removeValue(forKey: id.rawValue)
    }

    /// MsQuic's QUIC_STREAM_OPEN_FLAG_DELAY_ID_FC_UPDATES (set by the application in
    /// PEER_STREAM_STARTED): the stream's MAX_STREAMS credit is returned to the peer only when
    /// `releaseStreamCredit` is called (the application's StreamClose), not when the stream
    /// ends. Only peer streams count against MAX_STREAMS; the flag is ignored on ours.
    public func delayStreamCredit(_ id: StreamID) {
        guard let s = streams[id.rawValue], !s.isLocal else { return }
        s.delaysStreamCredit = true
    }

    /// The application closed the handle of a stream with delayed credit: a stream that has
    /// ended returns its credit now; one still running returns it when it ends, as usual.
    public func releaseStreamCredit(_ id: StreamID) {
        if let s = streams[id.rawValue] {
            s.delaysStreamCredit = false
        } else if heldStreamCredits.remove(id.rawValue) != nil {
            returnStreamCredit(bidirectional: id.isBidirectional)
        }
    }

    /// Marks a stream cancel-on-loss (MsQuic's QUIC_SEND_FLAG_CANCEL_ON_LOSS): from now on a
    /// loss of its data is reported once as `StreamEvent.cancelOnLoss` instead of being
    /// retransmitted (StreamManager+Send.swift `onLost`).
    public func setCancelOnLoss(_ id: StreamID) {
        guard let s = streams[id.rawValue], s.hasSendPart else { return }
        s.cancelOnLoss = true
    }

    /// Puts a stream in the data send queue, behind streams of the same or higher priority.
    func scheduleSend(_ s: QuicStream) {
        guard !s.inSendQueue, s.hasSendPart, s.sendsData else { return }
        var i = sendQueue.count
        while i > 0, sendQueue[i - 1].priority < s.priority { i -= 1 }
        sendQueue.insert(s, at: i)
        s.inSendQueue = true
    }

    func scheduleControl(_ s: QuicStream) {
        guard !s.inControlQueue else { return }
        controlQueue.append(s)
        s.inControlQueue = true
    }
}
