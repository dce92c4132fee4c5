import QuicWire

// Streams through the StreamManager (RFC 9000 §2-§4): frames in, frames out, ack/loss
// feedback, and the application calls the MsQuic API layer makes.
extension Connection {
    var streamsHaveDataToSend: Bool { streams.hasPendingFrames }

    func writeStreamFrames(_ w: inout WireWriter, frames: inout [SentFrame], ackEliciting: inout Bool, now: QuicInstant) {
        streamFrameScratch.removeAll(keepingCapacity: true)
        guard streams.writeFrames(into: &w, sent: &streamFrameScratch) else { return }
        for f in streamFrameScratch { frames.append(.streams(f)) }
        ackEliciting = true
    }

    func handleStreamFrame(_ frame: Frame, payload: UnsafeRawBufferPointer, now: QuicInstant) throws {
        try streams.handle(frame, payload: payload)
        // RFC 9000 §19.14: the peer wants more streams (MsQuic PEER_NEEDS_STREAMS).
        if case .streamsBlocked(let bidirectional, _) = frame { emit(.peerNeedsStreams(bidirectional: bidirectional)) }
    }

    func onPeerTransportParameters(_ p: TransportParameters) {
        streams.setPeerTransportParameters(p)
        // draft-ietf-quic-reliable-stream-reset §3; MsQuic raises RELIABLE_RESET_NEGOTIATED
        // when its setting is on, with whether the peer advertised it too.
        streams.setReliableReset(advertised: configuration.reliableResetEnabled, peer: p)
        if configuration.reliableResetEnabled { emit(.reliableResetNegotiated(streams.reliableResetNegotiated)) }
    }

    /// Moves the stream layer's events into the connection's queue.
    func drainStreamEvents() {
        while let e = streams.pollEvent() {
            switch e {
            case .peerStreamStarted(let id): events.append(.peerStreamStarted(id))
            case .streamsAvailable(let b, let u): events.append(.streamsAvailable(bidirectional: b, unidirectional: u))
            default: events.append(.stream(e))
            }
        }
    }

    // MARK: Application calls

    /// Opens a local stream (MsQuic StreamOpen + StreamStart); fails with
    /// `.streamLimitReached` when the peer's MAX_STREAMS does not allow it yet (RFC 9000 §4.6).
    public func openStream(bidirectional: Bool) throws(StreamAPIError) -> StreamID {
        guard state == .open else { throw .invalidState }
        return try streams.openStream(bidirectional: bidirectional)
    }

    /// Queues data on a stream (MsQuic StreamSend); `.sendComplete(context)` follows.
    public func send(stream: StreamID, data: SendData, fin: Bool = false, context: UInt64 = 0) throws(StreamAPIError) {
        guard state == .open else { throw .invalidState }
        try streams.send(stream, data: data, fin: fin, context: context)
    }

    /// `send` for an array (copied into the stream).
    public func send(stream: StreamID, bytes: [UInt8], fin: Bool = false, context: UInt64 = 0) throws(StreamAPIError) {
        try send(stream: stream, data: .owned(bytes), fin: fin, context: context)
    }

    /// Graceful end of the sending part (FIN).
    public func finishSending(stream: StreamID) throws(StreamAPIError) {
        guard state == .open else { throw .invalidState }
        try streams.finishSending(stream)
    }

    /// RESET_STREAM (RFC 9000 §19.4).
    public func resetStream(_ stream: StreamID, errorCode: UInt64) throws(StreamAPIError) {
        guard state == .open else { throw .invalidState }
        try streams.resetSending(stream, errorCode: errorCode)
    }

    /// STOP_SENDING (RFC 9000 §19.5).
    public func stopSending(_ stream: StreamID, errorCode: UInt64) throws(StreamAPIError) {
        guard state == .open else { throw .invalidState }
        try streams.stopReceiving(stream, errorCode: errorCode)
    }

    /// Tells the stream layer the time and RTT of this step: the application's
    /// `receiveComplete` (which takes no time) auto-tunes receive windows with them.
    func noteTime(_ now: QuicInstant) {
        if streams.now.map({ now > $0 }) ?? true { streams.now = now }
        streams.smoothedRTT = recovery.smoothedRTT
    }

    /// The contiguous received data of a stream (valid until `receiveComplete`).
    public func readable(stream: StreamID) -> (data: ReadableSpans, fin: Bool)? { streams.readable(stream) }

    /// The application consumed `count` bytes (MsQuic StreamReceiveComplete).
    @discardableResult
    public func receiveComplete(stream: StreamID, count: UInt64) throws(StreamAPIError) -> UInt64 {
        let n = try streams.receiveComplete(stream, count: count)
        return n
    }

    /// Reads and consumes everything readable (tests, simple users).
    public func read(stream: StreamID) -> (bytes: [UInt8], fin: Bool) {
        guard let r = streams.readable(stream) else { return ([], false) }
        let bytes = r.data.bytes
        _ = try? streams.receiveComplete(stream, count: UInt64(bytes.count))
        return (bytes, r.fin)
    }
}
