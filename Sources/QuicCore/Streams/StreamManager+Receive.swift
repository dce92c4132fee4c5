// Frames from the peer that concern streams and flow control (RFC 9000 §19.4, §19.5,
// §19.8-§19.14), with the stream state, stream limit, flow control and final size errors of
// RFC 9000 §3, §4 and §19.

import QuicWire

extension StreamManager {
    /// Handles a stream or flow control frame. Returns false if `frame` is not one (the
    /// connection handles it). `payload` is the buffer the frame was decoded from.
    @discardableResult
    public func handle(_ frame: Frame, payload: UnsafeRawBufferPointer) throws(QuicError) -> Bool {
        switch frame {
        case .stream(let f): try handleStream(f, payload: payload)
        case .resetStream(let f): try handleResetStream(f)
        case .resetStreamAt(let f): try handleResetStreamAt(f)
        case .stopSending(let f): try handleStopSending(f)
        case .maxData(let v): handleMaxData(v)
        case .maxStreamData(let id, let v): try handleMaxStreamData(streamID: id, maximum: v)
        case .maxStreams(let bidi, let v): try handleMaxStreams(bidirectional: bidi, maximum: v)
        case .dataBlocked: handleDataBlocked()
        case .streamDataBlocked(let id, let v): try handleStreamDataBlocked(streamID: id, maximum: v)
        case .streamsBlocked(let bidi, let v): try handleStreamsBlocked(bidirectional: bidi, maximum: v)
        default: return false
        }
        return true
    }

    // MARK: Stream lookup and implicit opening

    /// The stream a received frame refers to, opening peer streams as needed (RFC 9000 §3.2:
    /// opening a stream opens every lower-numbered stream of the same type). Nil if the stream
    /// existed and is finished (late frames are ignored). Errors: a locally initiated stream
    /// not yet opened is STREAM_STATE_ERROR (§19.8, §19.5, §19.10, §19.13); a peer stream
    /// beyond our MAX_STREAMS is STREAM_LIMIT_ERROR (§4.6).
    func streamForFrame(_ id: StreamID, frameType: UInt64) throws(QuicError) -> QuicStream? {
        if let s = streams[id.rawValue] { return s }
        let k = Self.kind(id.isBidirectional)
        if id.initiator == role {
            if id.index >= nextLocalIndex[k] {
                throw QuicError(code: .streamStateError, frameType: frameType,
                                reason: "frame for stream \(id) that we have not opened")
            }
            return nil
        }
        if id.index < nextRemoteIndex[k] { return nil }
        guard id.index < remoteLimit[k] else {
            throw QuicError(code: .streamLimitError, frameType: frameType,
                            reason: "peer opened stream \(id) beyond MAX_STREAMS \(remoteLimit[k])")
        }
        var created: QuicStream? = nil
        while nextRemoteIndex[k] <= id.index {
            guard let sid = StreamID(index: nextRemoteIndex[k], initiator: id.initiator,
                                     bidirectional: id.isBidirectional) else { break }
            nextRemoteIndex[k] += 1
            let s = QuicStream(id: sid, role: role, sendLimit: initialSendLimit(for: sid),
                               receiveWindow: initialReceiveWindow(for: sid),
                               maxReceiveWindow: maxReceiveWindow, now: now)
            streams[sid.rawValue] = s
            noteSendProgress(s)
            emit(.peerStreamStarted(sid))
            created = s
        }
        return created
    }

    // MARK: STREAM (RFC 9000 §19.8)

    func handleStream(_ f: StreamFrame, payload: UnsafeRawBufferPointer) throws(QuicError) {
        let type = FrameType.stream
        let id = StreamID(f.streamID)
        // §19.8: STREAM on a send-only stream is STREAM_STATE_ERROR.
        guard id.canReceive(role) else {
            throw QuicError(code: .streamStateError, frameType: type, reason: "STREAM frame on send-only stream \(id)")
        }
        guard f.data.lowerBound >= 0, f.data.upperBound <= payload.count else {
            throw QuicError(code: .frameEncodingError, frameType: type, reason: "STREAM data outside the packet")
        }
        // §19.8: offset + length must not exceed 2^62-1.
        let (end, overflow) = f.offset.addingReportingOverflow(UInt64(f.data.count))
        guard !overflow, end <= VarInt.max else {
            throw QuicError(code: .frameEncodingError, frameType: type, reason: "STREAM data beyond 2^62-1")
        }
        guard let s = try streamForFrame(id, frameType: type) else { return }
        try checkFinalSize(s, end: end, fin: f.fin, frameType: type)
        try accountReceived(s, end: end, frameType: type)
        if f.fin, s.finalSize == nil {
            s.finalSize = end
            if s.receiveState == .recv { s.receiveState = .sizeKnown }
            // §13.3: no more MAX_STREAM_DATA once the final size is known.
            s.receiveCredit.cancelUpdates()
        }
        switch s.receiveState {
        case .recv, .sizeKnown:
            if s.receiveAborted {
                discardReceived(s)
            } else if f.data.count > 0 {
                // App-owned mode: data beyond the application's space is asked for first
                // (RECEIVE_BUFFER_NEEDED comes before the RECEIVE, as in MsQuic).
                checkAppOwnedArrival(s, end: end)
                let bytes = UnsafeRawBufferPointer(rebasing: payload[f.data])
                let grew: Bool
                do {
                    grew = try s.receive.insert(offset: f.offset, bytes: bytes)
                } catch .exceedsLimit {
                    // Cannot happen when flow control holds (the window bounds the buffer).
                    throw QuicError(code: .flowControlError, frameType: type, reason: "stream \(id) receive buffer exceeded")
                } catch {
                    // Thousands of disjoint pieces: refuse rather than spend unbounded work.
                    throw QuicError(code: .internalError, frameType: type,
                                    reason: "stream \(id): received data too fragmented")
                }
                if grew && !s.dataEventQueued {
                    s.dataEventQueued = true
                    emit(.dataAvailable(id))
                }
            }
            // A FIN with nothing left to read goes straight to Data Read (peerSendShutdown).
            finishReceiveIfComplete(s)
            checkShutdown(s)
        default:
            break  // Data Recvd / Data Read / Reset: duplicates are ignored (§3.2).
        }
    }

    /// Final size rules (RFC 9000 §4.5): once known it cannot change, and no data may lie
    /// beyond it; a FIN may not end below data already received.
    func checkFinalSize(_ s: QuicStream, end: UInt64, fin: Bool, frameType: UInt64) throws(QuicError) {
        if let final = s.finalSize {
            if end > final || (fin && end != final) {
                throw QuicError(code: .finalSizeError, frameType: frameType,
                                reason: "stream \(s.id): data or FIN at \(end) against final size \(final)")
            }
        } else if fin, end < s.receiveCredit.received {
            throw QuicError(code: .finalSizeError, frameType: frameType,
                            reason: "stream \(s.id): FIN at \(end) below received offset \(s.receiveCredit.received)")
        }
    }

    /// Flow control on receipt (RFC 9000 §4.1): the stream limit by offset, the connection
    /// limit by the sum of the highest offsets of all streams.
    func accountReceived(_ s: QuicStream, end: UInt64, frameType: UInt64) throws(QuicError) {
        let previous = s.receiveCredit.received
        guard end > previous else { return }
        guard s.receiveCredit.onReceived(upTo: end) else {
            throw QuicError(code: .flowControlError, frameType: frameType,
                            reason: "stream \(s.id): data to \(end) beyond MAX_STREAM_DATA \(s.receiveCredit.advertised)")
        }
        guard connectionReceive.onReceived(count: end - previous) else {
            throw QuicError(code: .flowControlError, frameType: frameType,
                            reason: "connection data beyond MAX_DATA \(connectionReceive.advertised)")
        }
    }

    // MARK: RESET_STREAM (RFC 9000 §19.4)

    func handleResetStream(_ f: ResetStreamFrame, frameType: UInt64 = FrameType.resetStream) throws(QuicError) {
        let type = frameType
        let id = StreamID(f.streamID)
        guard id.canReceive(role) else {
            throw QuicError(code: .streamStateError, frameType: type, reason: "RESET_STREAM on send-only stream \(id)")
        }
        guard f.finalSize <= VarInt.max else {
            throw QuicError(code: .frameEncodingError, frameType: type, reason: "final size beyond 2^62-1")
        }
        guard let s = try streamForFrame(id, frameType: type) else { return }
        // §4.5: the final size must match a known one and cover all data received.
        if let final = s.finalSize, final != f.finalSize {
            throw QuicError(code: .finalSizeError, frameType: type,
                            reason: "stream \(id): RESET_STREAM final size \(f.finalSize) != \(final)")
        }
        if f.finalSize < s.receiveCredit.received {
            throw QuicError(code: .finalSizeError, frameType: type,
                            reason: "stream \(id): RESET_STREAM final size \(f.finalSize) below received data")
        }
        try accountReceived(s, end: f.finalSize, frameType: type)
        s.finalSize = f.finalSize
        // Recv/Size Known always; Data Recvd only after a RESET_STREAM_AT (reliable size).
        let resettable: Bool
        switch s.receiveState {
        case .recv, .sizeKnown: resettable = true
        case .dataRecvd: resettable = s.peerReliableSize != nil
        default: resettable = false
        }
        // Otherwise (§3.2) all data was already received: the reset changes nothing.
        if resettable {
            // §3.2: Recv/Size Known → Reset Recvd; the application is told (→ Reset Read).
            // After RESET_STREAM_AT, a plain RESET_STREAM (Reliable Size 0) ends it now.
            s.receiveState = .resetRecvd
            s.receiveCredit.cancelUpdates()
            s.stopSendingPending = false
            discardReceived(s)
            if !s.receiveAborted { emit(.peerSendAborted(id, errorCode: f.applicationErrorCode)) }
            s.receiveState = .resetRead
            checkShutdown(s)
        }
    }

    // MARK: STOP_SENDING (RFC 9000 §19.5)

    func handleStopSending(_ f: StopSendingFrame) throws(QuicError) {
        let type = FrameType.stopSending
        let id = StreamID(f.streamID)
        // §19.5: STOP_SENDING for a receive-only stream is STREAM_STATE_ERROR.
        guard id.canSend(role) else {
            throw QuicError(code: .streamStateError, frameType: type, reason: "STOP_SENDING on receive-only stream \(id)")
        }
        guard let s = try streamForFrame(id, frameType: type) else { return }
        guard s.resetErrorCode == nil, !s.sendState.isTerminal else { return }
        // §3.5: "An endpoint that receives a STOP_SENDING frame MUST send a RESET_STREAM
        // frame if the stream is in the Ready or Send state"; we do so also from Data Sent,
        // which §3.5 allows, so that unacknowledged data is not retransmitted.
        emit(.peerReceiveAborted(id, errorCode: f.applicationErrorCode))
        resetSendPart(s, errorCode: f.applicationErrorCode)
    }

    // MARK: Credit frames

    /// MAX_DATA (RFC 9000 §19.9).
    func handleMaxData(_ v: UInt64) {
        if connectionSend.raise(to: v) {
            for s in streams.values where s.send.hasNewData { scheduleSend(s) }
            if let now { connectionFlowControlBlocked.set(false, now: now) }
        }
    }

    /// MAX_STREAM_DATA (RFC 9000 §19.10): STREAM_STATE_ERROR on a receive-only stream or a
    /// local stream not yet opened.
    func handleMaxStreamData(streamID: UInt64, maximum: UInt64) throws(QuicError) {
        let type = FrameType.maxStreamData
        let id = StreamID(streamID)
        guard id.canSend(role) else {
            throw QuicError(code: .streamStateError, frameType: type, reason: "MAX_STREAM_DATA on receive-only stream \(id)")
        }
        guard let s = try streamForFrame(id, frameType: type) else { return }
        if s.sendCredit.raise(to: maximum) {
            scheduleSend(s)
            noteSendProgress(s)
            adjustIdealSendBuffer(s)
        }
    }

    /// MAX_STREAMS (RFC 9000 §19.11): above 2^60 is FRAME_ENCODING_ERROR; smaller values than
    /// before are ignored (§4.6).
    func handleMaxStreams(bidirectional: Bool, maximum: UInt64) throws(QuicError) {
        guard maximum <= (1 << 60) else {
            throw QuicError(code: .frameEncodingError,
                            frameType: bidirectional ? FrameType.maxStreamsBidi : FrameType.maxStreamsUni,
                            reason: "MAX_STREAMS above 2^60")
        }
        let k = Self.kind(bidirectional)
        guard maximum > localLimit[k] else { return }
        localLimit[k] = maximum
        streamsBlockedPending[k] = false
        emit(.streamsAvailable(bidirectional: openableStreams(bidirectional: true),
                               unidirectional: openableStreams(bidirectional: false)))
    }

    /// STREAM_DATA_BLOCKED (RFC 9000 §19.13): STREAM_STATE_ERROR on a send-only stream. The
    /// peer is blocked: offer credit now if the application has freed some.
    func handleStreamDataBlocked(streamID: UInt64, maximum: UInt64) throws(QuicError) {
        let type = FrameType.streamDataBlocked
        let id = StreamID(streamID)
        guard id.canReceive(role) else {
            throw QuicError(code: .streamStateError, frameType: type, reason: "STREAM_DATA_BLOCKED on send-only stream \(id)")
        }
        guard let s = try streamForFrame(id, frameType: type) else { return }
        if s.receiveState == .recv, !s.receiveAborted, s.receiveCredit.offerUpdate() { scheduleControl(s) }
    }

    /// DATA_BLOCKED (RFC 9000 §19.12): the peer is blocked; offer credit now if the
    /// application has consumed some since the last MAX_DATA.
    func handleDataBlocked() {
        connectionReceive.offerUpdate()
    }

    /// STREAMS_BLOCKED (RFC 9000 §19.14): above 2^60 is FRAME_ENCODING_ERROR; otherwise
    /// informational.
    func handleStreamsBlocked(bidirectional: Bool, maximum: UInt64) throws(QuicError) {
        guard maximum <= (1 << 60) else {
            throw QuicError(code: .frameEncodingError,
                            frameType: bidirectional ? FrameType.streamsBlockedBidi : FrameType.streamsBlockedUni,
                            reason: "STREAMS_BLOCKED above 2^60")
        }
    }
}
