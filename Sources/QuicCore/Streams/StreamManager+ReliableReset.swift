// Reliable stream reset (draft-ietf-quic-reliable-stream-reset, as MsQuic 2.6 has it: the
// transport parameter 0x17f7586d2cb570 with its RELIABLE_RESET_STREAM frame 0x21, and the
// draft's reset_stream_at 0x17f7586d2cb571 / RESET_STREAM_AT 0x24).
//
// Sending: the application sets a reliable offset (QUIC_PARAM_STREAM_RELIABLE_OFFSET); an
// abortive send shutdown then sends RESET_STREAM_AT and keeps sending and retransmitting the
// data below that offset; the send part ends (Reset Recvd) once the frame and that data are
// acknowledged. Receiving: data up to the peer's Reliable Size is delivered, then the reset is
// reported (PEER_SEND_ABORTED), as MsQuic does.

import QuicWire

extension StreamManager {
    /// Configures reliable reset from the two endpoints' transport parameters.
    public func setReliableReset(advertised: Bool, peer: TransportParameters?) {
        reliableResetAdvertised = advertised
        guard advertised, let p = peer else { reliableResetFrameType = nil; return }
        // draft §3: negotiated when both sent the parameter; MsQuic's own code point first.
        if p.reliableResetMsQuic {
            reliableResetFrameType = FrameType.reliableResetStreamMsQuic
        } else if p.resetStreamAt {
            reliableResetFrameType = FrameType.resetStreamAt
        } else {
            reliableResetFrameType = nil
        }
    }

    public var reliableResetNegotiated: Bool { reliableResetFrameType != nil }

    /// QUIC_PARAM_STREAM_RELIABLE_OFFSET (set): MsQuic refuses it (INVALID_STATE) unless
    /// reliable reset was negotiated, and an offset beyond the data queued so far
    /// (INVALID_PARAMETER here: the data is not there to deliver).
    public func setReliableOffset(_ id: StreamID, _ offset: UInt64) throws(StreamAPIError) {
        let s = try appStream(id)
        guard s.hasSendPart, reliableResetNegotiated, s.resetErrorCode == nil else { throw .invalidState }
        guard offset <= s.send.queuedEnd else { throw .invalidParameter }
        s.reliableOffset = offset
    }

    /// The reliable reset path of `resetSending`; false when it does not apply (not
    /// negotiated, no reliable offset, or nothing to keep), and the plain reset follows.
    func resetSendPartReliably(_ s: QuicStream, errorCode: UInt64) -> Bool {
        guard reliableResetNegotiated, s.reliableOffset > 0, s.resetErrorCode == nil, !s.sendState.isTerminal else {
            return false
        }
        let reliable = Swift.min(s.reliableOffset, s.send.queuedEnd)
        guard reliable > 0 else { return false }
        s.resetErrorCode = errorCode
        s.reliableResetSent = true
        s.resetReliableSize = reliable
        // The Final Size is fixed when the frame is first written (every byte below the
        // Reliable Size sent by then): at least what was sent so far (RFC 9000 §4.5).
        s.resetFinalSize = s.send.nextOffset
        s.sendState = .resetSent
        requestScratch.removeAll(keepingCapacity: true)
        s.send.truncate(at: reliable, canceled: &requestScratch)
        for q in requestScratch where q.context != Self.internalContext {
            emit(.sendComplete(s.id, context: q.context, canceled: true))
        }
        s.resetPending = true
        scheduleControl(s)
        if s.send.hasNewData || s.send.hasRetransmission { scheduleSend(s) }
        // Everything below the Reliable Size may already be acknowledged.
        finishReliableSendIfComplete(s)
        return true
    }

    /// Reset Sent → Reset Recvd for a reliable reset: the frame and the data below the
    /// Reliable Size are acknowledged (draft §4).
    func finishReliableSendIfComplete(_ s: QuicStream) {
        guard s.reliableResetSent, s.sendState == .resetSent, s.reliableResetAcked,
              s.send.ackedOffset >= s.resetReliableSize else { return }
        s.sendState = .resetRecvd
        signalSendShutdown(s, graceful: false)
        checkShutdown(s)
    }

    // MARK: Receiving

    /// RESET_STREAM_AT / RELIABLE_RESET_STREAM from the peer (draft §4). Without our
    /// advertisement it is a PROTOCOL_VIOLATION (RFC 9000 §19.21, an unnegotiated frame).
    func handleResetStreamAt(_ f: ResetStreamAtFrame) throws(QuicError) {
        guard reliableResetAdvertised else {
            throw QuicError(code: .protocolViolation, frameType: f.frameType, reason: "reliable reset not negotiated")
        }
        // draft §4: a Reliable Size of 0 is a plain RESET_STREAM.
        if f.reliableSize == 0 {
            try handleResetStream(ResetStreamFrame(streamID: f.streamID, applicationErrorCode: f.applicationErrorCode,
                                                   finalSize: f.finalSize), frameType: f.frameType)
            return
        }
        let type = f.frameType
        let id = StreamID(f.streamID)
        guard id.canReceive(role) else {
            throw QuicError(code: .streamStateError, frameType: type, reason: "RESET_STREAM_AT on send-only stream \(id)")
        }
        // The decoder checked Reliable Size <= Final Size (FRAME_ENCODING_ERROR, draft §4).
        guard f.finalSize <= VarInt.max else {
            throw QuicError(code: .frameEncodingError, frameType: type, reason: "final size beyond 2^62-1")
        }
        guard let s = try streamForFrame(id, frameType: type) else { return }
        // RFC 9000 §4.5 final size rules, as for RESET_STREAM.
        if let final = s.finalSize, final != f.finalSize {
            throw QuicError(code: .finalSizeError, frameType: type,
                            reason: "stream \(id): RESET_STREAM_AT final size \(f.finalSize) != \(final)")
        }
        if f.finalSize < s.receiveCredit.received {
            throw QuicError(code: .finalSizeError, frameType: type,
                            reason: "stream \(id): RESET_STREAM_AT final size \(f.finalSize) below received data")
        }
        try accountReceived(s, end: f.finalSize, frameType: type)
        s.finalSize = f.finalSize
        guard s.receiveState == .recv || s.receiveState == .sizeKnown || s.receiveState == .dataRecvd else { return }
        // draft §4: a later RESET_STREAM_AT cannot raise the Reliable Size, only lower it.
        if let seen = s.peerReliableSize, seen <= f.reliableSize { return }
        s.peerReliableSize = f.reliableSize
        s.peerReliableResetCode = f.applicationErrorCode
        if s.receiveState == .recv { s.receiveState = .sizeKnown }
        s.receiveCredit.cancelUpdates()
        if s.receiveAborted {
            finishReliableReceiveIfComplete(s)
        } else if s.receive.readableCount > 0 && !s.dataEventQueued {
            // What is already buffered below the Reliable Size is still to be read.
            s.dataEventQueued = true
            emit(.dataAvailable(id))
        }
        finishReliableReceiveIfComplete(s)
        checkShutdown(s)
    }

    /// After RESET_STREAM_AT: once the application has read to the Reliable Size (or stopped
    /// receiving), the reset is reported and the receive part ends (Reset Read).
    func finishReliableReceiveIfComplete(_ s: QuicStream) {
        guard let reliable = s.peerReliableSize, !s.receiveState.isTerminal else { return }
        guard s.receive.readOffset >= reliable || s.receiveAborted else { return }
        s.receiveState = .resetRecvd
        s.stopSendingPending = false
        discardReceived(s)
        if !s.receiveAborted {
            emit(.peerReliableReset(s.id, reliableSize: reliable))
            emit(.peerSendAborted(s.id, errorCode: s.peerReliableResetCode))
        }
        s.receiveState = .resetRead
    }

    /// Readable data after RESET_STREAM_AT stops at the Reliable Size.
    func clipToReliableSize(_ s: QuicStream, _ spans: ReadableSpans) -> ReadableSpans {
        guard let reliable = s.peerReliableSize else { return spans }
        var out = spans
        let end = spans.offset + UInt64(spans.count)
        guard end > reliable else { return out }
        var keep = reliable > spans.offset ? Int(reliable - spans.offset) : 0
        let firstKeep = Swift.min(keep, out.first.count)
        out.first = UnsafeRawBufferPointer(rebasing: out.first[0..<firstKeep])
        keep -= firstKeep
        out.second = UnsafeRawBufferPointer(rebasing: out.second[0..<Swift.min(keep, out.second.count)])
        return out
    }
}

extension StreamManager {
    /// The reliable offset the application set on a stream (0: none), for GetParam.
    public func reliableOffset(_ id: StreamID) -> UInt64? { streams[id.rawValue]?.reliableOffset }
    /// The Reliable Size of the peer's RESET_STREAM_AT on a stream, nil when none arrived.
    public func peerReliableSize(_ id: StreamID) -> UInt64? { streams[id.rawValue]?.peerReliableSize }
}
