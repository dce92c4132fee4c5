import QuicCrypto
import QuicTLS
import QuicWire

// A client's new connection attempt after Version Negotiation (RFC 9000 §6.2, RFC 9368 §2.1,
// §4): the application keeps the same connection; underneath, the handshake starts over in
// the chosen version.
extension Connection {
    /// Restarts the handshake in `next`: Initial keys of that version (RFC 9001 §5.2, RFC 9369
    /// §3.3.1), a fresh TLS handshake with the same configuration whose transport parameters
    /// carry version_information for `next` (RFC 9368 §3), the crypto streams emptied and the
    /// Initial packets of the abandoned attempt no longer in flight. Packet numbers continue
    /// (as after a Retry, RFC 9000 §17.2.5.3), which RFC 9000 §12.3 allows.
    func restartAttempt(in next: QuicVersion, versionNegotiationList: [QuicVersion], now: QuicInstant) throws {
        guard let pv = ProtectionVersion(wireVersion: next.rawValue) else {
            throw QuicError(code: .internalError, reason: "unsupported version \(next)")
        }
        compatibleVN.previousVersion = version
        version = next
        protectionVersion = pv
        versionNegotiationVersions = versionNegotiationList
        try installInitialKeys(dcid: originalDestinationCID)
        // Nothing of the abandoned attempt is retransmitted: its Initial packets leave the
        // bytes in flight; 0-RTT data (keys of the old version) is sent again later.
        for token in recovery.onRetryReceived(now: now) { sentPackets[token] = nil }
        zeroRTTSend = nil
        if sentZeroRTT {
            for token in recovery.discardOutstanding(.application, now: now) { onPacketLost(token) }
            sentZeroRTT = false
        }
        streams.crypto = CryptoStreams(bufferLimit: streams.crypto.bufferLimit)
        var tlsConfig = configuration.tls
        var parameters = ourTransportParameters(resetToken: StatelessResetToken())  // a client sends no token
        // RFC 9368 §3: Chosen Version is the version of this attempt, then the versions its
        // first flight is compatible with (§2.3).
        parameters.versionInformation = VersionInformation(chosenVersion: next, availableVersions: availableVersions(chosen: next))
        tlsConfig.transportParameters = try parameters.encoded()
        tls = TLSHandshake(configuration: tlsConfig)
        try startTLS(now: now)
    }
}
