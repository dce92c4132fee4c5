import QuicWire

extension Connection {
    /// Server, once the handshake is confirmed (RFC 9001 §4.1.2: at completion): a token the
    /// client can put in the Initial of a later connection to this server, so that its
    /// address counts as validated there (RFC 9000 §8.1.3). The endpoint mints it (bound to
    /// the client's IP address, with an expiry); a NEW_TOKEN frame is only ever sent by a
    /// server in 1-RTT packets (§19.7, §12.5).
    func queueNewToken(now: QuicInstant) {
        guard role == .server, newTokenPending == nil, let token = registry.newToken(for: self, now: now),
              !token.isEmpty else { return }
        newTokenPending = token
    }

    /// Writes the pending NEW_TOKEN frame when it fits; a lost one goes again (RFC 9000 §13.3).
    func writeNewTokenFrame(_ w: inout WireWriter, frames: inout [SentFrame], ackEliciting: inout Bool) {
        guard let token = newTokenPending else { return }
        // The encoder takes the token as a range of a source buffer; a failed write leaves
        // the writer where it was.
        let written: Bool = token.withUnsafeBytes { t in
            (try? FrameEncoder.write(.newToken(token: 0..<t.count), source: t, into: &w)) != nil
        }
        guard written else { return }
        newTokenPending = nil
        frames.append(.newToken(token)); ackEliciting = true
    }
}
