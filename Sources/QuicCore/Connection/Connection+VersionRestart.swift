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
        // RFC 9368 §3: Chosen Version is the version of this attempt; we list only it as
        // available since we do not implement compatible version negotiation (§2.3).
        parameters.versionInformation = VersionInformation(chosenVersion: next, availableVersions: [next])
        tlsConfig.transportParameters = try parameters.encoded()
        tls = TLSHandshake(configuration: tlsConfig)
        try startTLS(now: now)
    }

    /// RFC 9368 §4 (downgrade prevention): after a restart caused by Version Negotiation, the
    /// version we would pick from the server's Available Versions must be the one in use;
    /// otherwise the Version Negotiation packet lied. A server that sends no
    /// version_information is accepted (RFC 9000 servers without RFC 9368).
    func checkVersionDowngrade(_ info: VersionInformation?) throws {
        guard role == .client, versionNegotiationVersions != nil, let info else { return }
        let preferred = configuration.versions.first { info.availableVersions.contains($0) }
        if let preferred, preferred != version {
            throw QuicError(code: .versionNegotiationError,
                            reason: "the server's available versions do not match its Version Negotiation packet")
        }
    }
}
