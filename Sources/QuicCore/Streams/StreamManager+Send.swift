// Frames the stream layer sends, written into the connection's packet buffer, and the
// acknowledgment/loss feedback for them (RFC 9000 §13.3: what is retransmitted, and how).

import QuicWire

extension StreamManager {
    /// True if the stream layer has frames to send in 1-RTT/0-RTT packets (control frames, or
    /// stream data that flow control allows).
    public var hasPendingFrames: Bool {
        if connectionReceive.updatePending || connectionSend.blockedPending { return true }
        if maxStreamsPending[0] || maxStreamsPending[1] || streamsBlockedPending[0] || streamsBlockedPending[1] {
            return true
        }
        if !controlQueue.isEmpty { return true }
        let credit = connectionSend.available
        for s in sendQueue where s.announcePending || s.wantsToSend(connectionCredit: credit) { return true }
        return false
    }

    /// Writes as many stream-layer frames as fit in `w`: connection credit and stream limit
    /// frames first, then per-stream control frames, then STREAM data by priority
    /// (round-robin among equal priorities). Appends a record per frame to `sent`; the
    /// connection reports each record's fate with `onAcked` / `onLost`. Returns true if
    /// anything was written. STREAM frames always carry a Length field.
    @discardableResult
    public func writeFrames(into w: inout WireWriter, sent: inout [StreamsSentFrame]) -> Bool {
        let start = w.position
        writeConnectionControl(into: &w, sent: &sent)
        writeStreamControl(into: &w, sent: &sent)
        writeStreamData(into: &w, sent: &sent)
        return w.position != start
    }

    // MARK: Connection-level control frames

    func writeConnectionControl(into w: inout WireWriter, sent: inout [StreamsSentFrame]) {
        // MAX_DATA (RFC 9000 §19.9, §4.2).
        if connectionReceive.updatePending {
            let v = connectionReceive.nextLimit
            if (try? FrameEncoder.write(.maxData(v), into: &w)) != nil {
                sent.append(.maxData(connectionReceive.didSendUpdate()))
            }
        }
        // MAX_STREAMS (RFC 9000 §19.11, §4.6).
        for k in 0..<2 where maxStreamsPending[k] {
            let bidi = k == 0
            let v = remoteLimitNext[k]
            if (try? FrameEncoder.write(.maxStreams(bidirectional: bidi, maximumStreams: v), into: &w)) != nil {
                remoteLimit[k] = Swift.max(remoteLimit[k], v)
                maxStreamsPending[k] = false
                sent.append(.maxStreams(bidirectional: bidi, v))
            }
        }
        // DATA_BLOCKED (RFC 9000 §19.12).
        if connectionSend.blockedPending {
            let v = connectionSend.limit
            if (try? FrameEncoder.write(.dataBlocked(maximumData: v), into: &w)) != nil {
                connectionSend.clearBlocked()
                sent.append(.dataBlocked(v))
            }
        }
        // STREAMS_BLOCKED (RFC 9000 §19.14).
        for k in 0..<2 where streamsBlockedPending[k] {
            let bidi = k == 0
            let v = localLimit[k]
            if (try? FrameEncoder.write(.streamsBlocked(bidirectional: bidi, maximumStreams: v), into: &w)) != nil {
                streamsBlockedPending[k] = false
                sent.append(.streamsBlocked(bidirectional: bidi, v))
            }
        }
    }

    // MARK: Per-stream control frames

    func writeStreamControl(into w: inout WireWriter, sent: inout [StreamsSentFrame]) {
        var i = 0
        while i < controlQueue.count {
            let s = controlQueue[i]
            let raw = s.id.rawValue
            // RESET_STREAM (RFC 9000 §19.4).
            if s.resetPending, s.sendState == .resetSent, s.reliableResetSent, let code = s.resetErrorCode {
                // RESET_STREAM_AT (draft-ietf-quic-reliable-stream-reset §4), once every byte
                // below the Reliable Size went out once: the Final Size is then what was sent
                // (flow control already counted it, RFC 9000 §4.5).
                if s.send.nextOffset >= s.resetReliableSize, let type = reliableResetFrameType {
                    if s.resetFinalSize < s.send.nextOffset { s.resetFinalSize = s.send.nextOffset }
                    let f = ResetStreamAtFrame(streamID: raw, applicationErrorCode: code, finalSize: s.resetFinalSize,
                                               reliableSize: s.resetReliableSize, frameType: type)
                    if (try? FrameEncoder.write(.resetStreamAt(f), into: &w)) != nil {
                        s.resetPending = false
                        sent.append(.resetStream(id: raw))
                    }
                }
            } else if s.resetPending, s.sendState == .resetSent, let code = s.resetErrorCode {
                let f = ResetStreamFrame(streamID: raw, applicationErrorCode: code, finalSize: s.resetFinalSize)
                if (try? FrameEncoder.write(.resetStream(f), into: &w)) != nil {
                    s.resetPending = false
                    sent.append(.resetStream(id: raw))
                }
            }
            // STOP_SENDING (RFC 9000 §19.5).
            if s.stopSendingPending {
                let f = StopSendingFrame(streamID: raw, applicationErrorCode: s.stopSendingErrorCode)
                if (try? FrameEncoder.write(.stopSending(f), into: &w)) != nil {
                    s.stopSendingPending = false
                    sent.append(.stopSending(id: raw))
                }
            }
            // MAX_STREAM_DATA (RFC 9000 §19.10), only while the final size is unknown (§13.3).
            if s.receiveCredit.updatePending {
                if s.receiveState != .recv || s.receiveAborted {
                    s.receiveCredit.cancelUpdates()
                } else {
                    let v = s.receiveCredit.nextLimit
                    if (try? FrameEncoder.write(.maxStreamData(streamID: raw, maximumStreamData: v), into: &w)) != nil {
                        sent.append(.maxStreamData(id: raw, s.receiveCredit.didSendUpdate()))
                    }
                }
            }
            // STREAM_DATA_BLOCKED (RFC 9000 §19.13).
            if s.sendCredit.blockedPending {
                if !s.sendsData {
                    s.sendCredit.clearBlocked()
                } else {
                    let v = s.sendCredit.limit
                    if (try? FrameEncoder.write(.streamDataBlocked(streamID: raw, maximumStreamData: v), into: &w)) != nil {
                        s.sendCredit.clearBlocked()
                        sent.append(.streamDataBlocked(id: raw, v))
                    }
                }
            }
            if s.hasControlFrames {
                i += 1
            } else {
                controlQueue.remove(at: i)
                s.inControlQueue = false
                checkShutdown(s)
            }
        }
    }

    // MARK: STREAM data

    /// The most data bytes a STREAM frame with explicit length can carry in `room` bytes.
    static func maxStreamPayload(room: Int, streamID: UInt64, offset: UInt64) -> Int {
        let base = 1 + VarInt.encodedLength(streamID) + (offset != 0 ? VarInt.encodedLength(offset) : 0)
        var n = room - base - 1
        if n <= 0 { return n == 0 ? 0 : -1 }
        while n > 0, base + VarInt.encodedLength(UInt64(n)) + n > room { n -= 1 }
        return n
    }

    func writeStreamData(into w: inout WireWriter, sent: inout [StreamsSentFrame]) {
        var skipped = 0  // streams at the head of the queue that cannot send now
        while skipped < sendQueue.count, w.remaining > 2 {
            let s = sendQueue[skipped]
            if s.announcePending {
                // An empty STREAM frame opens the stream at the peer (see `announce`); data
                // queued meanwhile opens it anyway.
                s.announcePending = false
                if s.send.nextOffset == 0, !s.send.hasNewData, s.resetErrorCode == nil {
                    let before = w.position
                    do {
                        try FrameEncoder.writeStreamHeader(streamID: s.id.rawValue, offset: 0, length: 0, fin: false,
                                                           explicitLength: true, into: &w)
                        if s.sendState == .ready { s.sendState = .send }
                        sent.append(.stream(id: s.id.rawValue, offset: 0, length: 0, fin: false))
                    } catch {
                        w.position = before
                        s.announcePending = true
                        skipped += 1
                        continue
                    }
                }
            }
            let credit = Swift.min(s.sendCredit.available, connectionSend.available)
            guard s.sendsData,
                  let probe = s.send.nextSegment(maxLength: Int.max, newDataCredit: credit) else {
                // Blocked by flow control (RFC 9000 §4.1: report with *_BLOCKED) or done.
                if s.sendsData, s.send.hasNewData {
                    if s.sendCredit.available == 0 {
                        s.sendCredit.noteBlocked()
                        if s.sendCredit.blockedPending { scheduleControl(s) }
                        noteSendProgress(s)
                    } else if connectionSend.available == 0 {
                        connectionSend.noteBlocked()
                        if let now { connectionFlowControlBlocked.set(true, now: now) }
                    }
                }
                sendQueue.remove(at: skipped)
                s.inSendQueue = false
                continue
            }
            let maxLen = Self.maxStreamPayload(room: w.remaining, streamID: s.id.rawValue, offset: probe.offset)
            guard maxLen >= 0,
                  let seg = s.send.nextSegment(maxLength: maxLen, newDataCredit: credit),
                  seg.length > 0 || seg.fin else {
                skipped += 1
                continue
            }
            let before = w.position
            do {
                try FrameEncoder.writeStreamHeader(streamID: s.id.rawValue, offset: seg.offset, length: seg.length,
                                                   fin: seg.fin, explicitLength: true, into: &w)
                try s.send.copy(offset: seg.offset, length: seg.length, into: &w)
            } catch {
                w.position = before
                skipped += 1
                continue
            }
            s.send.markSent(seg)
            if seg.isNew {
                // Flow control counts the highest offset sent (RFC 9000 §4.1).
                let newBytes = s.send.nextOffset - s.sendCredit.used
                s.sendCredit.consume(newBytes)
                connectionSend.consume(newBytes)
            }
            if s.sendState == .ready { s.sendState = .send }
            if seg.fin, s.sendState == .send { s.sendState = .dataSent }  // §3.1
            sent.append(.stream(id: s.id.rawValue, offset: seg.offset, length: seg.length, fin: seg.fin))
            if s.send.unsentCount == 0 || s.sendCredit.available == 0 { noteSendProgress(s) }
            // Round-robin: move behind the other streams of the same priority.
            sendQueue.remove(at: skipped)
            s.inSendQueue = false
            if s.wantsToSend(connectionCredit: connectionSend.available) || s.send.hasNewData {
                scheduleSend(s)
            }
        }
        if connectionSend.available == 0 {
            for s in sendQueue where s.send.hasNewData && !s.send.hasRetransmission {
                connectionSend.noteBlocked()
                if let now { connectionFlowControlBlocked.set(true, now: now) }
                break
            }
        }
    }

    // MARK: Acknowledgment and loss (RFC 9000 §13.3)

    /// A packet carrying `frame` was acknowledged.
    public func onAcked(_ frame: StreamsSentFrame) {
        switch frame {
        case .stream(let raw, let offset, let length, let fin):
            guard let s = streams[raw], s.sendsData else { return }
            requestScratch.removeAll(keepingCapacity: true)
            s.send.onAcked(offset: offset, length: length, fin: fin, completed: &requestScratch)
            for q in requestScratch where q.context != Self.internalContext {
                emit(.sendComplete(s.id, context: q.context, canceled: false))
            }
            if s.reliableResetSent { finishReliableSendIfComplete(s); return }
            // §3.1: Data Sent → Data Recvd when everything is acknowledged.
            if s.sendState == .dataSent, s.send.isFullyAcknowledged {
                s.sendState = .dataRecvd
                signalSendShutdown(s, graceful: true)
                checkShutdown(s)
            }
        case .crypto(let level, let offset, let length):
            crypto.onAcked(level: level, offset: offset, length: length)
        case .resetStream(let raw):
            // §3.1: Reset Sent → Reset Recvd.
            guard let s = streams[raw], s.sendState == .resetSent else { return }
            s.resetPending = false  // an earlier copy was acknowledged: no resend needed
            if s.reliableResetSent {
                // draft-ietf-quic-reliable-stream-reset §4: Reset Recvd once the data below
                // the Reliable Size is acknowledged too.
                s.reliableResetAcked = true
                finishReliableSendIfComplete(s)
                return
            }
            s.sendState = .resetRecvd
            signalSendShutdown(s, graceful: false)
            checkShutdown(s)
        case .stopSending, .maxData, .maxStreamData, .maxStreams, .dataBlocked, .streamDataBlocked,
             .streamsBlocked:
            break
        }
    }

    /// A packet carrying `frame` was declared lost: schedule what RFC 9000 §13.3 says to resend.
    public func onLost(_ frame: StreamsSentFrame) {
        switch frame {
        case .stream(let raw, let offset, let length, let fin):
            // "Application data sent in STREAM frames is retransmitted in new STREAM frames
            // unless the endpoint has sent a RESET_STREAM for that stream."
            guard let s = streams[raw], s.sendsData else { return }
            if s.cancelOnLoss {
                // MsQuic's QUIC_SEND_FLAG_CANCEL_ON_LOSS (stream_send.c, loss handling): data
                // that would need resending cancels the stream instead; the API layer reports
                // QUIC_STREAM_EVENT_CANCEL_ON_LOSS and aborts both directions.
                if !s.cancelOnLossSignaled, s.send.lossNeedsResend(offset: offset, length: length, fin: fin) {
                    s.cancelOnLossSignaled = true
                    emit(.cancelOnLoss(s.id))
                }
                return
            }
            s.send.onLost(offset: offset, length: length, fin: fin)
            if s.send.hasRetransmission || s.send.finPending { scheduleSend(s) }
        case .crypto(let level, let offset, let length):
            crypto.onLost(level: level, offset: offset, length: length)
        case .resetStream(let raw):
            // "Cancellation of stream transmission ... is sent until acknowledged."
            guard let s = streams[raw], s.sendState == .resetSent, !s.reliableResetAcked else { return }
            s.resetPending = true
            scheduleControl(s)
        case .stopSending(let raw):
            // "... until the receiving part enters either a Data Recvd or Reset Recvd state."
            guard let s = streams[raw], s.receiveState == .recv || s.receiveState == .sizeKnown else { return }
            s.stopSendingPending = true
            scheduleControl(s)
        case .maxData(let v):
            connectionReceive.updateLost(value: v)
        case .maxStreamData(let raw, let v):
            // "... stops when the receiving part enters the Size Known or Reset Recvd state."
            guard let s = streams[raw], s.receiveState == .recv, !s.receiveAborted else { return }
            s.receiveCredit.updateLost(value: v)
            if s.receiveCredit.updatePending { scheduleControl(s) }
        case .maxStreams(let bidi, let v):
            let k = Self.kind(bidi)
            if v >= remoteLimit[k] { maxStreamsPending[k] = true }
        case .dataBlocked(let v):
            connectionSend.blockedLost(at: v)
        case .streamDataBlocked(let raw, let v):
            guard let s = streams[raw], s.resetErrorCode == nil else { return }
            s.sendCredit.blockedLost(at: v)
            if s.sendCredit.blockedPending { scheduleControl(s) }
        case .streamsBlocked(let bidi, let v):
            let k = Self.kind(bidi)
            if localLimit[k] == v, nextLocalIndex[k] >= v { streamsBlockedPending[k] = true }
        }
    }

    /// Marks every sent, unacknowledged STREAM byte (and FIN) of every stream for resending,
    /// e.g. to fill PTO probe packets (RFC 9002 §6.2.4).
    public func requeueUnacknowledged() {
        for s in streams.values where s.hasSendPart && s.sendsData {
            if s.cancelOnLoss {
                // A probe resends what may be lost: for a cancel-on-loss stream that is a loss
                // (MsQuic retransmits probe frames through the same loss path).
                if !s.cancelOnLossSignaled, s.send.lossNeedsResend(offset: s.send.ackedOffset,
                        length: Int(clamping: s.send.nextOffset - s.send.ackedOffset), fin: true) {
                    s.cancelOnLossSignaled = true
                    emit(.cancelOnLoss(s.id))
                }
                continue
            }
            s.send.requeueUnacknowledged()
            if s.send.hasRetransmission || s.send.finPending { scheduleSend(s) }
        }
    }

    func signalSendShutdown(_ s: QuicStream, graceful: Bool) {
        guard !s.sendShutdownSignaled else { return }
        s.sendShutdownSignaled = true
        emit(.sendShutdownComplete(s.id, graceful: graceful))
    }
}

// MARK: Ideal send buffer size (QUIC_STREAM_EVENT_IDEAL_SEND_BUFFER_SIZE)
//
// MsQuic's rule (its send_buffer.c): the connection keeps "ideal bytes", the amount an
// application should keep queued so that its queue never limits the bytes in flight. It starts
// at 128 KiB and, whenever the congestion controller's largest bytes in flight reaches it, grows
// to the next step of a 1.5× ladder above that figure (up to 128 MiB); it never shrinks. Each
// stream is told min(ideal bytes, the ladder step above its flow control send window), when that
// value changes.
extension StreamManager {
    /// MsQuic's QUIC_DEFAULT_IDEAL_SEND_BUFFER_SIZE.
    public static let defaultIdealSendBytes: UInt64 = 128 * 1024
    /// MsQuic's QUIC_MAX_IDEAL_SEND_BUFFER_SIZE.
    public static let maxIdealSendBytes: UInt64 = 128 * 1024 * 1024

    /// The first step of the ladder (128 KiB × 1.5^k, capped at the maximum) above `base`.
    public static func nextIdealSendBytes(above base: UInt64) -> UInt64 {
        var step = defaultIdealSendBytes
        while step <= base {
            let next = step + step / 2
            if next > maxIdealSendBytes { return maxIdealSendBytes }
            step = next
        }
        return step
    }

    /// The congestion controller's largest bytes in flight is now `bytesInFlightMax`: raise the
    /// connection's ideal bytes if it reached them, and tell each sending stream.
    public func raiseIdealSendBytes(bytesInFlightMax: UInt64) {
        guard idealSendBytes < Self.maxIdealSendBytes, bytesInFlightMax >= idealSendBytes else { return }
        let next = Self.nextIdealSendBytes(above: bytesInFlightMax)
        guard next > idealSendBytes else { return }
        idealSendBytes = next
        for s in streams.values { adjustIdealSendBuffer(s) }
    }

    /// Reports a stream's ideal send buffer size if it changed.
    func adjustIdealSendBuffer(_ s: QuicStream) {
        guard s.hasSendPart, s.sendState == .ready || s.sendState == .send else { return }
        var bytes = idealSendBytes
        // The stream's send window: what flow control lets it have unacknowledged.
        let window = s.sendCredit.limit > s.send.ackedOffset ? s.sendCredit.limit - s.send.ackedOffset : 0
        if window < bytes { bytes = Swift.min(bytes, Self.nextIdealSendBytes(above: window)) }
        guard bytes != s.idealSendBufferSize else { return }
        s.idealSendBufferSize = bytes
        emit(.idealSendBufferSize(s.id, bytes: bytes))
    }

    /// The ideal send buffer size last reported for a stream (QUIC_PARAM_STREAM_IDEAL_SEND_BUFFER_SIZE).
    public func idealSendBufferSize(_ id: StreamID) -> UInt64? { streams[id.rawValue]?.idealSendBufferSize }
}
