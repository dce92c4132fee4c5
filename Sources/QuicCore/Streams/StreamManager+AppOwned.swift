// MsQuic's app-owned receive buffers (its docs/Streams.md "App-Owned Buffer Mode" and
// docs/api/StreamProvideReceiveBuffers.md), the engine's part: the flow control rule. The API
// layer keeps the application's buffers and copies received bytes into them; here the stream
// learns how much space there is and limits the peer to it.
//
// The rule. Stream bytes fill the provided buffers in order and the memory is never reused, so
// the space provided so far covers stream offsets [0, providedEnd). The stream's
// MAX_STREAM_DATA is that offset (RFC 9000 §4.1: "a receiver advertises credit it is willing
// to buffer"; §4.2 leaves when to increase it to the receiver): each new provision offers the
// grown limit at once, and consuming data gives no credit by itself. The initial limit is the
// one every stream of that type got from our transport parameters (RFC 9000 §18.2
// initial_max_stream_data_*), which cannot be per stream: MsQuic documents that data received
// beyond the provided space (but within that initial limit) raises RECEIVE_BUFFER_NEEDED, and
// that the connection is closed if the application then does not provide enough space or shut
// the receive direction down inside that callback. Data beyond the advertised limit itself is
// FLOW_CONTROL_ERROR as always (RFC 9000 §4.1, StreamManager+Receive.swift).

import QuicWire

extension StreamManager {
    /// Puts a stream in app-owned receive mode (MsQuic: QUIC_STREAM_OPEN_FLAG_APP_OWNED_BUFFERS,
    /// or StreamProvideReceiveBuffers inside PEER_STREAM_STARTED). From now on its limit is the
    /// provided space (none yet). Data already received stays and is delivered into the
    /// provided space as it comes.
    public func setAppOwnedReceive(_ id: StreamID) throws(StreamAPIError) {
        let s = try appStream(id)
        guard s.hasReceivePart else { return }   // MsQuic takes the flag on any stream
        guard !s.appOwnedReceive else { return }
        s.appOwnedReceive = true
        s.receiveCredit.setCeiling(s.providedEnd)
        noteProvidedSpace(s)
    }

    /// The application provided `bytes` more receive space (MsQuic StreamProvideReceiveBuffers).
    /// Errors: `invalidState` if the stream is not in app-owned mode; `invalidParameter` if the
    /// space not yet consumed would exceed 2^32-1 bytes (MsQuic's limit) or the stream's end
    /// would pass 2^62-1 (RFC 9000 §4.5: no stream data beyond that).
    public func provideReceiveSpace(_ id: StreamID, bytes: UInt64) throws(StreamAPIError) {
        let s = try appStream(id)
        guard s.hasReceivePart else { return }   // a local unidirectional stream receives nothing
        guard s.appOwnedReceive else { throw .invalidState }
        guard bytes > 0 else { return }
        let (end, overflow) = s.providedEnd.addingReportingOverflow(bytes)
        guard !overflow else { throw .invalidParameter }
        let unconsumed = end - Swift.min(end, s.receive.readOffset)
        guard unconsumed <= UInt64(UInt32.max) else { throw .invalidParameter }
        s.providedEnd = Swift.min(end, VarInt.max)
        noteProvidedSpace(s)
    }

    /// After the provided space changed: offer the new limit (MsQuic sends MAX_STREAM_DATA
    /// right away), let the buffer hold it, and ask for more if data already lies beyond it.
    func noteProvidedSpace(_ s: QuicStream) {
        let readOffset = s.receive.readOffset
        if s.providedEnd > readOffset { s.receive.limit = Swift.max(s.receive.limit, s.providedEnd - readOffset) }
        // RFC 9000 §13.3: no MAX_STREAM_DATA once the final size is known or after STOP_SENDING.
        if s.receiveState == .recv, !s.receiveAborted, s.receiveCredit.setCeiling(s.providedEnd) {
            scheduleControl(s)
        }
        requestReceiveSpaceIfShort(s)
    }

    /// Bytes received beyond the provided space (0 when there is enough, when the stream is
    /// not in app-owned mode, or when its data is no longer delivered).
    public func receiveSpaceShortfall(_ id: StreamID) -> UInt64 {
        guard let s = streams[id.rawValue] else { return 0 }
        return shortfall(s)
    }

    func shortfall(_ s: QuicStream) -> UInt64 {
        guard s.appOwnedReceive, !s.receiveAborted else { return 0 }
        switch s.receiveState {
        case .recv, .sizeKnown, .dataRecvd: break
        default: return 0
        }
        let received = s.receiveCredit.received
        return received > s.providedEnd ? received - s.providedEnd : 0
    }

    /// Emits receiveBufferNeeded once while the stream lacks space.
    func requestReceiveSpaceIfShort(_ s: QuicStream) {
        let missing = shortfall(s)
        guard missing > 0, !s.receiveSpaceCheckPending else { return }
        s.receiveSpaceCheckPending = true
        emit(.receiveBufferNeeded(s.id, bytes: missing))
    }

    /// STREAM data to `end` arrived on `s` (before it is stored): asks for space if it lies
    /// beyond the provided space.
    func checkAppOwnedArrival(_ s: QuicStream, end: UInt64) {
        guard s.appOwnedReceive, end > s.providedEnd else { return }
        requestReceiveSpaceIfShort(s)
    }

    /// The application had its chance (the RECEIVE_BUFFER_NEEDED callback returned). Returns the
    /// bytes still missing; when that is not 0 the caller closes the connection (MsQuic closes it
    /// with FLOW_CONTROL_ERROR: the data cannot be stored where the application wants it).
    public func checkReceiveSpace(_ id: StreamID) -> UInt64 {
        guard let s = streams[id.rawValue] else { return 0 }
        s.receiveSpaceCheckPending = false
        return shortfall(s)
    }
}

extension Connection {
    /// Closes the connection because a stream in app-owned mode received more than the space
    /// its application provided (MsQuic: FLOW_CONTROL_ERROR, the transport error it uses when
    /// stream data does not fit the receive buffer).
    public func failReceiveSpace(stream: StreamID, missing: UInt64, now: QuicInstant) {
        closeWithError(QuicError(code: .flowControlError, frameType: FrameType.stream,
                                 reason: "stream \(stream): \(missing) bytes beyond the receive space provided"),
                       now: now)
    }
}
