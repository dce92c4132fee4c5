// The stream entries of the API table (docs/api/StreamOpen.md, StreamStart.md, StreamSend.md,
// StreamShutdown.md, StreamReceiveComplete.md, StreamReceiveSetEnabled.md, StreamClose.md).

import QuicCore
import QuicPlatform
import QuicWire

extension Api {
    static func streamOpen(_ connection: OpaquePointer?, _ flags: UInt32, _ handler: UnsafeRawPointer?,
                           _ context: UnsafeMutableRawPointer?,
                           _ newStream: UnsafeMutablePointer<OpaquePointer?>?) -> QuicStatus {
        guard let conn = Handles.object(connection, as: ConnectionObject.self), let newStream, handler != nil else {
            return Status.invalidParameter
        }
        // QUIC_STREAM_OPEN_FLAG_APP_OWNED_BUFFERS (0x8): the stream receives into buffers given
        // with StreamProvideReceiveBuffers (StreamAppOwned.swift).
        let stream = StreamObject(connection: conn, flags: flags, handler: handler, context: context)
        let open: () -> QuicStatus = {
            guard !conn.shutdownInitiated, !conn.shutdownCompleteDelivered, !conn.shutdownRequested else {
                return Status.invalidState
            }
            conn.unstarted.insert(ObjectIdentifier(stream))
            return Status.success
        }
        if conn.worker.isCurrent || Worker.current == nil {
            let status = conn.worker.sync(open) ?? Status.invalidState
            guard status == Status.success else { return status }
        } else {
            // From another worker's callback: the connection's state is checked when the
            // stream starts.
            let op = UnsafeSendable(open)
            conn.worker.post { _ = op.value() }
        }
        Handles.register(stream)
        newStream.pointee = stream.handle
        return Status.success
    }

    static func streamStart(_ stream: OpaquePointer?, _ flags: UInt32) -> QuicStatus {
        guard let s = Handles.object(stream, as: StreamObject.self) else { return Status.invalidParameter }
        return s.connection.worker.runOrQueue(queued: Status.pending, {
            guard !s.startRequested, !s.shutdownCompleteDelivered else { return Status.invalidState }
            let conn = s.connection
            s.startRequested = true
            guard conn.core != nil else {
                // A client stream started before ConnectionStart starts with the connection
                // (its ALLOW_0_RTT sends can then go out in 0-RTT, RFC 9001 §4.6.1); a server
                // stream started inside NEW_CONNECTION, once the configuration is set.
                guard !conn.started, !conn.shutdownRequested else {
                    s.startRequested = false
                    return Status.invalidState
                }
                s.startFlags = flags
                let bidirectional = !s.isUnidirectional
                if !conn.isServer, conn.ticketToResume == nil, flags & StartFlag.failBlocked != 0 {
                    // A client that has not started knows no limit of the server's (none
                    // remembered from a resumption ticket): MsQuic fails FAIL_BLOCKED at once.
                    s.startFailed(Status.streamLimitReached)
                    conn.service()
                    return Status.pending
                }
                // The stream takes its ID now, as in MsQuic (QUIC_PARAM_STREAM_ID answers it).
                guard let issued = conn.issueLocalStreamID(bidirectional: bidirectional) else {
                    s.startRequested = false
                    return Status.invalidState
                }
                s.reservedID = issued
                conn.pendingStarts.append(s)
                s.noteStatisticsStart()
                return Status.pending
            }
            s.startOnWorker(flags: flags)
            return Status.pending
        }, failedLater: { status in s.startFailed(status); s.connection.service() })
    }

    static func streamShutdown(_ stream: OpaquePointer?, _ flags: UInt32, _ errorCode: UInt64) -> QuicStatus {
        // QUIC_STREAM_SHUTDOWN_FLAG_NONE and IMMEDIATE alone say nothing to do; error codes are
        // varints (RFC 9000 §16).
        guard let s = Handles.object(stream, as: StreamObject.self), flags != 0, flags != StreamShutdownFlag.immediate,
              errorCode <= Limits.uint62Max else {
            return Status.invalidParameter
        }
        // GRACEFUL cannot be combined with an abort (MsQuic: INVALID_PARAMETER).
        if flags & StreamShutdownFlag.graceful != 0,
           flags & (StreamShutdownFlag.abortSend | StreamShutdownFlag.abortReceive | StreamShutdownFlag.immediate) != 0 {
            return Status.invalidParameter
        }
        // IMMEDIATE only with an abort of both directions (MsQuic: INVALID_PARAMETER).
        if flags & StreamShutdownFlag.immediate != 0,
           flags & (StreamShutdownFlag.abortSend | StreamShutdownFlag.abortReceive)
               != StreamShutdownFlag.abortSend | StreamShutdownFlag.abortReceive {
            return Status.invalidParameter
        }
        return s.connection.worker.runOrQueue(queued: Status.success, {
            let conn = s.connection
            if s.id == nil, s.startRequested, !s.shutdownCompleteDelivered,
               conn.blockedStarts.contains(where: { $0 === s }) || conn.pendingStarts.contains(where: { $0 === s }) {
                // Started but waiting for an ID (the peer's MAX_STREAMS, or the connection's
                // start): the shutdown applies once the stream exists, as in MsQuic.
                s.pendingShutdown = (flags, errorCode)
                // The FIN is queued now: later sends are refused, as in MsQuic.
                if flags & StreamShutdownFlag.graceful != 0 { s.localFinSent = true }
                return Status.success
            }
            if s.id == nil {
                // Never started (or its start failed): the stream ends locally, also on a
                // connection not started yet.
                s.startRequested = true
                conn.deferred.append { s.deliverShutdownComplete(connectionShutdown: false) }
                conn.service()
                return Status.success
            }
            guard let core = conn.core, let id = s.id else { return Status.invalidState }
            let status = shutdownStarted(s, core: core, id: id, flags: flags, errorCode: errorCode)
            conn.service()
            return status
        })
    }

    /// StreamShutdown on a stream that has an ID (also the deferred one of a stream that
    /// was waiting for its ID).
    static func shutdownStarted(_ s: StreamObject, core: Connection, id: StreamID, flags: UInt32,
                                errorCode: UInt64) -> QuicStatus {
        if s.shutdownCompleteDelivered { return Status.success }
        do throws(StreamAPIError) {
            if flags & StreamShutdownFlag.immediate != 0 && flags & StreamShutdownFlag.abortSend != 0
                && flags & StreamShutdownFlag.abortReceive != 0 {
                try core.streams.shutdownImmediately(id, errorCode: errorCode)
            } else {
                if flags & StreamShutdownFlag.graceful != 0 {
                    if !s.heldSends.isEmpty {
                        // The FIN goes after the requests still waiting to be passed on.
                        s.heldSends[s.heldSends.count - 1].fin = true
                        s.localFinSent = true
                    } else {
                        try core.finishSending(stream: id)
                    }
                }
                if flags & StreamShutdownFlag.abortSend != 0, id.canSend(core.role) {
                    try core.resetStream(id, errorCode: errorCode)
                }
                if flags & StreamShutdownFlag.abortReceive != 0, id.isBidirectional || id.initiator != core.role {
                    try core.stopSending(id, errorCode: errorCode)
                }
            }
        } catch {
            // Already shut down in that direction: MsQuic ignores repeated shutdowns.
            if error == .invalidParameter { return Status.invalidParameter }
        }
        return Status.success
    }

    static func streamSend(_ stream: OpaquePointer?, _ buffers: UnsafeRawPointer?, _ bufferCount: UInt32,
                           _ flags: UInt32, _ context: UnsafeMutableRawPointer?) -> QuicStatus {
        guard let s = Handles.object(stream, as: StreamObject.self), buffers != nil || bufferCount == 0 else {
            return Status.invalidParameter
        }
        var parts: [UnsafeRawBufferPointer] = []
        var total: UInt64 = 0
        if let buffers {
            for i in 0..<Int(bufferCount) {
                let length = Int(QuicBuffers.length(buffers, i))
                let p = QuicBuffers.pointer(buffers, i)
                guard length == 0 || p != nil else { return Status.invalidParameter }
                total += UInt64(length)
                if length > 0 { parts.append(UnsafeRawBufferPointer(start: p, count: length)) }
            }
        }
        guard total <= UInt64(UInt32.max) else { return Status.invalidParameter }
        let chunks = UnsafeSendable(parts)
        return s.connection.worker.runOrQueue(queued: Status.pending, {
            let conn = s.connection
            // MsQuic (api.c) takes sends on a stream not started yet: they wait for the start,
            // which QUIC_SEND_FLAG_START requests (with the connection when it is not started).
            if s.id == nil && !s.startRequested && flags & SendFlag.start != 0 {
                if conn.core != nil {
                    s.startRequested = true
                    s.startOnWorker(flags: StartFlag.immediate)
                } else if !conn.started && !conn.shutdownRequested,
                          let issued = conn.issueLocalStreamID(bidirectional: !s.isUnidirectional) {
                    s.startRequested = true
                    s.startFlags = StartFlag.immediate
                    s.reservedID = issued
                    conn.pendingStarts.append(s)
                    s.noteStatisticsStart()
                } else {
                    return Status.invalidState
                }
            }
            guard !s.shutdownCompleteDelivered, !s.localFinSent else { return Status.invalidState }
            let fin = flags & SendFlag.fin != 0
            let request = s.nextRequest
            s.nextRequest += 1
            s.sendRequests[request] = (context, max(1, chunks.value.count))
            s.sentTotal += total
            conn.streamBytesSent += total
            PerfCounters.add(PerfCounters.appSendBytes, Int64(clamping: total))
            if fin { s.localFinSent = true }
            let send = StreamObject.HeldSend(request: request, pieces: chunks.value, fin: fin,
                                             allow0RTT: flags & SendFlag.allow0RTT != 0,
                                             cancelOnLoss: flags & SendFlag.cancelOnLoss != 0)
            // Before the stream has an ID (waiting for the peer's MAX_STREAMS), or before the
            // handshake for a client's data not marked ALLOW_0_RTT, the request waits here; a
            // server's goes to the engine, which sends it as 0.5-RTT data (MsQuic does too).
            if s.id == nil || !s.mayPassBeforeConnected(send) || !s.heldSends.isEmpty {
                s.heldSends.append(send)
            } else if let status = s.pass(send) {
                return status
            }
            conn.service()
            return Status.pending
        }, failedLater: { _ in
            // Queued from another worker and refused there: the send completes as canceled.
            let ev = RawEvent(type: EventType.sendComplete)
            ev.set(8, UInt8(1))
            ev.set(16, context)
            s.deliver(ev)
            ev.free()
        })
    }

    static func streamReceiveComplete(_ stream: OpaquePointer?, _ length: UInt64) {
        guard let s = Handles.object(stream, as: StreamObject.self) else { return }
        s.connection.worker.perform {
            s.receiveComplete(length)
            s.connection.service()
        }
    }

    static func streamReceiveSetEnabled(_ stream: OpaquePointer?, _ enabled: UInt8) -> QuicStatus {
        guard let s = Handles.object(stream, as: StreamObject.self) else { return Status.invalidParameter }
        return s.connection.worker.runOrQueue(queued: Status.pending, {
            // MsQuic queues the call whatever the stream's state (api.c: always PENDING).
            guard !s.shutdownCompleteDelivered else { return Status.pending }
            s.receiveEnabled = enabled != 0
            if s.receiveEnabled {
                s.deliverReceive()
                s.deliverHeldPeerSendShutdown()
            }
            s.connection.service()
            return Status.pending
        })
    }

    static func streamProvideReceiveBuffers(_ stream: OpaquePointer?, _ bufferCount: UInt32,
                                            _ buffers: UnsafeRawPointer?) -> QuicStatus {
        guard let s = Handles.object(stream, as: StreamObject.self), bufferCount > 0, let buffers else {
            return Status.invalidParameter
        }
        // MsQuic (docs/api/StreamProvideReceiveBuffers.md; its api.c): INVALID_PARAMETER for a
        // handle that is not a stream, no buffers, or a zero-length buffer; we also refuse a
        // NULL buffer pointer, which could only be written through. The array itself need not
        // outlive the call (its entries are copied); the memory it points to is the stream's
        // until its bytes were indicated and consumed, or the stream is closed.
        var list: [AppBuffer] = []
        list.reserveCapacity(Int(min(bufferCount, 1024)))
        for i in 0..<Int(bufferCount) {
            let length = QuicBuffers.length(buffers, i)
            guard length > 0, let p = QuicBuffers.pointer(buffers, i) else { return Status.invalidParameter }
            list.append(AppBuffer(base: UnsafeMutableRawPointer(mutating: p), length: Int(length)))
        }
        let items = UnsafeSendable(list)
        // Inline on the worker (a callback) or waited for from an application thread; queued
        // from another worker's callback, where MsQuic answers SUCCESS without waiting.
        return s.connection.worker.runOrQueue(queued: Status.success, {
            s.provideReceiveBuffers(items.value)
        })
    }

    static func streamClose(_ stream: OpaquePointer?) {
        guard let s = Handles.object(stream, as: StreamObject.self) else { return }
        // The handle stays valid until the worker has stopped its events (an event racing this
        // call from another thread still sees its handle and context), then becomes invalid.
        Handles.close(s, on: s.connection.worker) {
            // MsQuic: closing a stream that is not shut down aborts it silently.
            if !s.shutdownCompleteDelivered {
                s.appClosed = true
                if let id = s.id { try? s.connection.core?.streams.shutdownImmediately(id, errorCode: 0) }
                s.shutdownCompleteDelivered = true
            }
            s.appClosed = true
            // DELAY_ID_FC_UPDATES: the peer may open another stream now (MsQuic stream.c,
            // StreamClose releases the stream from the set).
            if let id = s.id { s.connection.core?.streams.releaseStreamCredit(id) }
            s.connection.forget(s)
            s.connection.service()
        }
    }
}
