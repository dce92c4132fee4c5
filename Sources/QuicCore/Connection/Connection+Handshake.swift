import QuicCrypto
import QuicTLS
import QuicWire

// Driving the TLS handshake (RFC 9001 §4): CRYPTO data per level, keys from secrets,
// transport parameters (RFC 9000 §7.3, §7.4, §18), key discard (RFC 9001 §4.9).
extension Connection {
    /// Initial keys from the client's DCID (RFC 9001 §5.2; RFC 9369 §3.3.1 for v2).
    func installInitialKeys(dcid: ConnectionID) throws {
        let keys = InitialSecrets.keys(version: protectionVersion, destinationConnectionID: dcid)
        let client = try PacketProtector(keys: keys.client)
        let server = try PacketProtector(keys: keys.server)
        spaces[0].sendKeys = role == .client ? client : server
        spaces[0].receiveKeys = role == .client ? server : client
    }

    /// Our transport parameters with the connection ID fields of RFC 9000 §7.3 and §18.2.
    func ourTransportParameters(resetToken: StatelessResetToken) -> TransportParameters {
        var p = configuration.transportParameters
        p.initialSourceConnectionID = cids.local.first?.id
        // RFC 9368 §3: version_information when the extension is enabled.
        if configuration.sendsVersionInformation, p.versionInformation == nil {
            p.versionInformation = VersionInformation(chosenVersion: version, availableVersions: availableVersions(chosen: version))
        }
        p.activeConnectionIDLimit = max(2, p.activeConnectionIDLimit)
        ackFrequencyTransportParameter(&p)   // draft-ietf-quic-ack-frequency §3
        if configuration.reliableResetEnabled {
            // draft-ietf-quic-reliable-stream-reset §3: MsQuic's parameter and the draft's.
            p.reliableResetMsQuic = true
            p.resetStreamAt = true
        }
        if configuration.datagramReceiveEnabled {
            p.maxDatagramFrameSize = p.maxDatagramFrameSize ?? 65535
        } else {
            p.maxDatagramFrameSize = nil
        }
        // RFC 9368 §3: a server always sends version_information (Chosen Version = the version
        // in use) listing every version it accepts, so a client that reacted to Version
        // Negotiation can check it was not downgraded (§4; MsQuic's client aborts with
        // VERSION_NEGOTIATION_ERROR without it). A client sends it when the extension is
        // enabled (above; MsQuic's VersionNegotiationExtEnabled).
        if role == .server && p.versionInformation == nil {
            p.versionInformation = VersionInformation(chosenVersion: version, availableVersions: availableVersions(chosen: version))
        }
        if role == .server {
            p.originalDestinationConnectionID = originalDestinationCID
            p.retrySourceConnectionID = retrySourceCID
            p.statelessResetToken = resetToken
            p.preferredAddress = issuePreferredAddressCID(p.preferredAddress)   // RFC 9000 §5.1.1, §9.6
        } else {
            p.originalDestinationConnectionID = nil
            p.retrySourceConnectionID = nil
            p.statelessResetToken = nil
            p.preferredAddress = nil
        }
        return p
    }

    func startTLS(now: QuicInstant) throws {
        do {
            try tls.start(now: now.microseconds)
            try drainTLS(now: now)
        } catch let alert as TLSAlert {
            throw QuicError(code: TransportErrorCode(alert.quicErrorCode), reason: alert.reason)
        }
    }

    /// Feeds CRYPTO bytes of `level` to TLS and processes what it produces.
    func receiveCrypto(_ bytes: [UInt8], level: EncryptionLevel, now: QuicInstant) throws {
        guard !bytes.isEmpty else { return }
        // RFC 9368 §2.3: a server may answer the client's first flight in a compatible version.
        if role == .server && level == .initial && !compatibleVN.decided { try considerCompatibleUpgrade(bytes) }
        try tls.receive(bytes, at: level, now: now.microseconds)
        try drainTLS(now: now)
    }

    func drainTLS(now: QuicInstant) throws {
        defer { noteHandshakeFlightBytes() }
        while let output = tls.nextOutput() {
            switch output {
            case .handshakeData(let level, let bytes):
                if level != .earlyData { streams.crypto.send(bytes, level: level) }
            case .secret(let secret):
                try install(secret, now: now)
            case .peerTransportParameters(let bytes):
                try applyPeerTransportParameters(bytes)
            case .peerCertificateReceived(let info):
                emit(.peerCertificateReceived(info))
            case .handshakeComplete(let summary):
                onHandshakeComplete(summary, now: now)
            case .newSessionTicket(let ticket):
                emit(.resumptionTicketReceived(ticket))
            }
        }
    }

    /// Records the handshake flight sizes once each flight is complete (after a TLS step, so
    /// the bytes TLS wrote with a new key, such as the client's Finished, are counted).
    func noteHandshakeFlightBytes() {
        let q = streams.crypto.queuedBytes
        let initial = q[EncryptionLevel.initial.rawValue], handshake = q[EncryptionLevel.handshake.rawValue]
        if role == .client {
            if counters.handshakeClientFlight1Bytes == 0, wroteHandshakeKey {
                counters.handshakeClientFlight1Bytes = UInt32(clamping: initial)
            }
            if counters.handshakeClientFlight2Bytes == 0, wroteOneRTTKey {
                counters.handshakeClientFlight2Bytes = UInt32(clamping: handshake)
            }
        } else if counters.handshakeServerFlight1Bytes == 0, wroteOneRTTKey {
            counters.handshakeServerFlight1Bytes = UInt32(clamping: initial &+ handshake)
        }
    }

    func install(_ secret: TrafficSecret, now: QuicInstant) throws {
        if secret.direction == .write {
            if secret.level == .handshake { wroteHandshakeKey = true }
            if secret.level == .application { wroteOneRTTKey = true }
        }
        // RFC 9369 §4: 0-RTT stays in the original version after a compatible upgrade.
        let keys = PacketProtectionKeys(suite: secret.cipherSuite, secret: secret.secret,
                                        version: secret.level == .earlyData ? earlyDataProtectionVersion : protectionVersion)
        switch secret.level {
        case .initial:
            return
        case .earlyData:
            // RFC 9001 §4.6.1: the client writes, the server reads 0-RTT packets.
            let p = try PacketProtector(keys: keys)
            if secret.direction == .write { zeroRTTSend = p } else { zeroRTTReceive = p }
        case .handshake:
            let p = try PacketProtector(keys: keys)
            if secret.direction == .read { spaces[1].receiveKeys = p } else { spaces[1].sendKeys = p }
            // MsQuic (crypto.c): the first read-key change ends the Initial flight.
            if secret.direction == .read && counters.timingInitialFlightEnd == 0 {
                counters.timingInitialFlightEnd = now.microseconds
            }
            if spaces[1].receiveKeys != nil && spaces[1].sendKeys != nil { recovery.onHandshakeKeysAvailable(now: now) }
        case .application:
            if secret.direction == .read { pendingOneRTTRead = secret } else { pendingOneRTTWrite = secret }
            // RFC 9001 §4.1.1, §5.7: a server may send 1-RTT (0.5-RTT) data from its Finished on.
            if role == .server, secret.direction == .write, pendingOneRTTRead == nil { halfRTTSend = try PacketProtector(keys: keys) }
            if let r = pendingOneRTTRead, let w = pendingOneRTTWrite {
                halfRTTSend = nil
                oneRTT = try OneRTTKeys(
                    sendKeys: PacketProtectionKeys(suite: w.cipherSuite, secret: w.secret, version: protectionVersion),
                    receiveKeys: PacketProtectionKeys(suite: r.cipherSuite, secret: r.secret, version: protectionVersion))
                pendingOneRTTRead = nil
                pendingOneRTTWrite = nil
            }
        }
        if let q = qlog { observeKeyInstalled(q, secret, now: now) }
    }

    /// RFC 9000 §7.3, §7.4, §18.2: decode, validate and apply the peer's parameters.
    func applyPeerTransportParameters(_ bytes: [UInt8]) throws {
        let peerRole: EndpointRole = role == .client ? .server : .client
        let p = try TransportParameters.decode(bytes, sender: peerRole)
        try p.validate(sender: peerRole)
        // §7.3: authenticate the connection IDs of the handshake.
        guard let isc = p.initialSourceConnectionID else {
            throw QuicError.transportParameter("initial_source_connection_id missing")
        }
        if isc != peerInitialSourceCID {
            throw QuicError.transportParameter("initial_source_connection_id does not match the peer's SCID")
        }
        if role == .client {
            guard let odcid = p.originalDestinationConnectionID else {
                throw QuicError.transportParameter("original_destination_connection_id missing")
            }
            if odcid != originalDestinationCID {
                throw QuicError.transportParameter("original_destination_connection_id mismatch")
            }
            if p.retrySourceConnectionID != retrySourceCID {
                throw QuicError.transportParameter(retrySourceCID == nil ? "unexpected retry_source_connection_id"
                                                   : "retry_source_connection_id mismatch")
            }
            if let token = p.statelessResetToken, !cids.remote.isEmpty {
                cids.remote[0].token = token  // §10.3: the token of the handshake CID
                syncPeerResetTokens()
            }
            notePreferredAddressCID(p)   // RFC 9000 §5.1.1: sequence 1 (Connection+LocalMigration.swift)
        }
        // RFC 9368 §4: the chosen version and downgrade checks (Connection+CompatibleVersion.swift).
        try checkPeerVersionInformation(p.versionInformation)
        peerTransportParameters = p
        qlog?.parametersSet(local: false, p, now: observedNow)
        // Converted once, here (issue 10). Bounds from validate() above (RFC 9000 §18.2):
        // max_ack_delay < 2^14 ms, ack_delay_exponent ≤ 20. max_idle_timeout (any varint) is
        // converted, saturating, by restartIdleTimer.
        recovery.maxAckDelay = .milliseconds(p.maxAckDelay)
        recovery.ackDelayExponent = p.ackDelayExponent
        if let m = p.maxDatagramFrameSize, m > 0 {
            emit(.datagramStateChanged(sendEnabled: true, maxSendLength: Swift.max(0, min(Int(clamping: m) - 3, maxDatagramPayload))))
        }
        onPeerTransportParameters(p)
    }

    func onHandshakeComplete(_ summary: HandshakeSummary, now: QuicInstant) {
        isHandshakeComplete = true
        // MsQuic: TLS consuming 1-RTT data ends the Handshake flight.
        counters.timingHandshakeFlightEnd = now.microseconds
        if role == .client {
            // RFC 9001 §4.9.3: no more 0-RTT once 1-RTT keys exist. RFC 9001 §4.6.2: when the
            // server rejected 0-RTT, everything sent in it is lost and goes again in 1-RTT.
            zeroRTTSend = nil
            if sentZeroRTT && !summary.earlyDataAccepted {
                for token in recovery.discardOutstanding(.application, now: now) { onPacketLost(token) }
            }
        }
        emit(.connected(alpn: summary.alpn, resumed: summary.resumed))
        if role == .server {
            // RFC 9001 §4.1.2: the server's handshake is confirmed at completion; it sends
            // HANDSHAKE_DONE (RFC 9000 §19.20) and drops its Handshake keys (RFC 9001 §4.9.2).
            handshakeDonePending = true
            confirmHandshake(now: now)
            queueNewToken(now: now)
        }
        issueConnectionIDs()
    }

    func confirmHandshake(now: QuicInstant) {
        guard !isHandshakeConfirmed else { return }
        isHandshakeConfirmed = true
        qlog?.connectionStateUpdated(.handshakeConfirmed, now: now)
        recovery.onHandshakeConfirmed(now: now)
        discardKeys(.handshake, now: now)
        migrateToPreferredAddress(now: now)   // RFC 9000 §9.6.1 (client; Connection+LocalMigration.swift)
    }

    /// RFC 9001 §4.9: keys of a level we no longer need, with their in-flight packets.
    func discardKeys(_ space: PacketNumberSpace, now: QuicInstant) {
        guard !spaces[space.rawValue].discarded else { return }
        spaces[space.rawValue].discarded = true
        if let q = qlog { observeKeysDiscarded(q, space, now: now) }
        spaces[space.rawValue].sendKeys = nil
        spaces[space.rawValue].receiveKeys = nil
        streams.crypto.discard(level: space.encryptionLevel)
        spaces[space.rawValue].probesPending = 0
        for token in recovery.discard(space, now: now) { sentPackets[token] = nil }
    }

    /// Issues more connection IDs up to the peer's active_connection_id_limit (RFC 9000 §5.1.1).
    func issueConnectionIDs() {
        guard configuration.localConnectionIDLength > 0, let p = peerTransportParameters else { return }
        let target = min(UInt64(max(2, configuration.issuedConnectionIDs)), p.activeConnectionIDLimit)
        while UInt64(cids.local.filter({ !$0.retired }).count) < target {
            let (id, token) = registry.issueConnectionID(for: self)
            cids.addLocal(id, token: token, announce: true)
        }
    }

    func closeOnTLSAlert(_ alert: TLSAlert, now: QuicInstant) {
        closeWithError(QuicError(code: TransportErrorCode(alert.quicErrorCode), reason: alert.reason), now: now)
    }
}
