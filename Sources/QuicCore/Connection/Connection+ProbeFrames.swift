extension Connection {
    /// RFC 9002 §6.2.4: a PTO probe in the application space should carry data still
    /// unacknowledged rather than a bare PING. Stream data is requeued by the stream manager;
    /// this requeues the one-off control frames that matter to the peer's progress:
    /// HANDSHAKE_DONE (RFC 9000 §19.20: until the client gets it, its handshake is not
    /// confirmed, RFC 9001 §4.1.2, and it keeps its PTO in the handshake spaces only, so it
    /// never probes the 1-RTT data the server may have dropped) and NEW_TOKEN (§19.7).
    /// Without this, a server whose HANDSHAKE_DONE was lost and whose PING probes' ACKs were
    /// lost too sent PING after PING until the client's idle timeout (seen at 30% loss with
    /// aioquic as client). A copy that turns out spurious is harmless: both frames are
    /// idempotent for the client.
    func requeueUnacknowledgedControlFrames() {
        guard role == .server else { return }
        for record in sentPackets.values where record.space == .application {
            for frame in record.frames {
                switch frame {
                case .handshakeDone: handshakeDonePending = true
                case .newToken(let token): if newTokenPending == nil { newTokenPending = token }
                default: break
                }
            }
        }
    }
}
