import QuicWire

// Streams through the streams branch's StreamManager. NOT INTEGRATED YET: until it is
// merged, stream frames from the peer close the connection with INTERNAL_ERROR and no
// stream data is sent.
extension Connection {
    var streamsHaveDataToSend: Bool { false }

    func writeStreamControlFrames(_ w: inout WireWriter, frames: inout [SentFrame], ackEliciting: inout Bool, now: UInt64) {}

    func writeStreamFrames(_ w: inout WireWriter, frames: inout [SentFrame], ackEliciting: inout Bool, now: UInt64) {}

    func handleStreamFrame(_ frame: Frame, payload: UnsafeRawBufferPointer, now: UInt64) throws {
        throw QuicError(code: .internalError, frameType: frame.frameType, reason: "streams not supported yet")
    }

    func streamFrameAcked(_ token: UInt64) {}
    func streamFrameLost(_ token: UInt64, probe: Bool = false) {}
    func onPeerTransportParameters(_ p: TransportParameters) {}
}
