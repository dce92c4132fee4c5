import QuicCrypto

/// The server side of the handshake (RFC 8446 §2, §4; RFC 9001 §4).
extension TLSHandshake {
    func serverHandle(_ type: HandshakeType, message: [UInt8], body: [UInt8], now: UInt64) throws {
        switch (state, type) {
        case (.waitClientHello, .clientHello):
            try serverHandleClientHello(try ClientHello.decode(body), message: message, now: now)
        case (.waitClientCertificate, .certificate):
            if try receivePeerCertificate(body, expectedContext: []) {
                transcript.append(message)
                state = .waitClientCertificateVerify
            } else {
                // RFC 8446 §4.4.2.4: the server may abort with certificate_required.
                if configuration.requireClientCertificate {
                    throw TLSAlert(.certificateRequired, "client sent no certificate")
                }
                transcript.append(message)
                state = .waitClientFinished
                if configuration.indicatePeerCertificate {
                    emit(.peerCertificateReceived(PeerCertificateInfo(chainDER: [], validation: nil)))
                    awaitingCertificateDecision = true
                }
            }
        case (.waitClientCertificateVerify, .certificateVerify):
            guard let suite else { throw TLSAlert(.internalError) }
            try receivePeerCertificateVerify(message, body: body, offered: configuration.signatureSchemes, suite: suite)
            state = .waitClientFinished
            try concludePeerCertificate()
        case (.waitClientFinished, .finished):
            guard let suite else { throw TLSAlert(.internalError) }
            try checkFinished(body, baseKey: clientHandshakeSecret, suite: suite)
            transcript.append(message)
            emitSecret(.application, .read, clientApplicationSecret, suite: suite)
            deriveResumptionMasterSecret(suite: suite)
            state = .connected
            emit(.handshakeComplete(summary()))
        default:
            // Includes any handshake message after completion: a QUIC server receives no
            // post-handshake messages (RFC 9001 §4.1.3; KeyUpdate is forbidden, §6).
            throw TLSAlert(.unexpectedMessage, "\(type) unexpected in \(state)")
        }
    }

    private func serverHandleClientHello(_ ch: ClientHello, message: [UInt8], now: UInt64) throws {
        let exts = ch.extensions
        // RFC 8446 §4.2.1: TLS 1.3 only, negotiated through supported_versions.
        guard let svBody = exts.body(.supportedVersions),
              try ExtensionCodec.decodeSupportedVersionsClient(svBody).contains(tls13Version) else {
            throw TLSAlert(.protocolVersion, "client does not offer TLS 1.3")
        }
        // RFC 9001 §8.4: no middlebox compatibility mode, so legacy_session_id must be empty;
        // otherwise PROTOCOL_VIOLATION (illegal_parameter for a plain TLS view).
        guard ch.legacySessionID.isEmpty else {
            throw TLSAlert.protocolViolation(.illegalParameter, "non-empty legacy_session_id")
        }
        // RFC 8446 §4.2.11: pre_shared_key must be the last extension.
        if let i = exts.firstIndex(where: { $0.type == ExtensionType.preSharedKey.rawValue }), i != exts.count - 1 {
            throw TLSAlert(.illegalParameter, "pre_shared_key is not the last extension")
        }
        if sentHelloRetryRequest, let first = firstClientHello {
            // RFC 8446 §4.1.2: the second ClientHello keeps the random and drops early_data ...
            guard ch.random == clientRandom else { throw TLSAlert(.illegalParameter, "ClientHello random changed after HRR") }
            guard !exts.has(.earlyData) else { throw TLSAlert(.illegalParameter, "early_data after HelloRetryRequest") }
            // ... and is otherwise the same as the first.
            try TLSHandshake.checkSecondClientHello(ch, first: first)
        } else {
            firstClientHello = ch
        }
        clientRandom = ch.random

        // ALPN (RFC 9001 §8.1, RFC 7301 §3.2): our preference order wins.
        guard let alpnBody = exts.body(.alpn) else {
            throw TLSAlert(.noApplicationProtocol, "client offered no application protocol")
        }
        let offered = try ExtensionCodec.decodeALPN(alpnBody)
        guard let chosenALPN = configuration.alpnProtocols.first(where: { offered.contains($0) }) else {
            throw TLSAlert(.noApplicationProtocol, "no application protocol in common")
        }
        // RFC 9001 §8.2.
        let tp = exts.body(.quicTransportParameters)
        guard tp != nil || !configuration.requirePeerTransportParameters else {
            throw TLSAlert(.missingExtension, "client sent no quic_transport_parameters")
        }
        if let sni = exts.body(.serverName) { sniName = try ExtensionCodec.decodeServerName(sni) }

        // Cipher suite: ours first (RFC 8446 §4.1.1).
        guard let suite = configuration.cipherSuites.first(where: { ch.cipherSuites.contains($0.rawValue) }) else {
            throw TLSAlert(.handshakeFailure, "no cipher suite in common")
        }
        if sentHelloRetryRequest, let hrrSuite = self.suite, hrrSuite != suite {
            throw TLSAlert(.illegalParameter, "cipher suites changed after HelloRetryRequest")
        }

        // Key exchange (RFC 8446 §4.2.7, §4.2.8): psk_dhe_ke and (EC)DHE both need these.
        guard let groupsBody = exts.body(.supportedGroups), let ksBody = exts.body(.keyShare) else {
            throw TLSAlert(.missingExtension, "supported_groups and key_share are required")
        }
        let clientGroups = try ExtensionCodec.decodeU16List(groupsBody)
        let shares = try ExtensionCodec.decodeKeyShareClient(ksBody)
        // RFC 8446 §4.2.8: every share must be for a group listed in supported_groups.
        for s in shares where !clientGroups.contains(s.group) {
            throw TLSAlert(.illegalParameter, "key_share for a group not in supported_groups")
        }
        let share = configuration.groups.lazy.compactMap { g in shares.first(where: { $0.group == g.rawValue }).map { (g, $0.key) } }.first
        guard let (group, peerKey) = share else {
            guard !sentHelloRetryRequest else { throw TLSAlert(.illegalParameter, "second ClientHello lacks the requested key_share") }
            guard let g = configuration.groups.first(where: { clientGroups.contains($0.rawValue) }) else {
                throw TLSAlert(.handshakeFailure, "no key exchange group in common")
            }
            try sendHelloRetryRequest(group: g, suite: suite, message: message)
            return
        }
        if sentHelloRetryRequest, let requested = self.group, requested != group {
            throw TLSAlert(.illegalParameter, "second ClientHello uses another group than requested")
        }

        // Resumption (RFC 8446 §4.2.11): verifies the binder before trusting the ticket, then
        // lets the application decide (MsQuic's QUIC_CONNECTION_EVENT_RESUMED), possibly later.
        let hello = ReceivedClientHello(hello: ch, message: message, suite: suite, group: group, peerKey: peerKey,
                                        alpn: chosenALPN, transportParameters: tp, receivedAt: now)
        if let candidate = try resumptionCandidate(ch, message: message, suite: suite, now: now) {
            switch configuration.resumptionAcceptance?(candidate.state.appData) ?? .accept {
            case .accept:
                adoptResumption(candidate)
            case .reject:
                break
            case .pending:
                // Nothing is chosen yet (PSK or certificate, 0-RTT or not) and nothing is sent:
                // the handshake waits for `completeResumptionValidation(accept:now:)`.
                pendingResumption = PendingResumption(hello: hello, candidate: candidate)
                return
            }
        }
        try answerClientHello(hello)
    }

    /// Everything after the PSK decision: the ServerHello flight (RFC 8446 §4.1.3, §4.3, §4.4),
    /// a full handshake unless `resumed` was set, 0-RTT only on a resumed one (§4.2.10).
    func answerClientHello(_ hello: ReceivedClientHello) throws {
        let ch = hello.hello, exts = ch.extensions, suite = hello.suite, group = hello.group
        let chosenALPN = hello.alpn, tp = hello.transportParameters
        if !resumed {
            guard let sigBody = exts.body(.signatureAlgorithms) else {
                throw TLSAlert(.missingExtension, "signature_algorithms is required for certificate authentication")
            }
            clientOfferedSchemes = try TLSHandshake.decodeSchemes(sigBody)
            guard configuration.credential != nil else { throw TLSAlert(.internalError, "server has no credential") }
        }
        self.suite = suite
        self.group = group
        self.alpn = chosenALPN
        self.peerTransportParameters = tp
        transcript.append(hello.message)
        if let tp { emit(.peerTransportParameters(tp)) }

        // 0-RTT (RFC 8446 §4.2.10, RFC 9001 §4.6). The ticket age is judged at the time the
        // ClientHello arrived (RFC 8446 §8.3), not when an asynchronous validation ended.
        if resumed, exts.has(.earlyData), let ticket = serverTicket,
           earlyDataAllowed(ticket, ch: ch, suite: suite, alpn: chosenALPN, now: hello.receivedAt) {
            earlyDataAccepted = true
            let h = suite.hash
            let th = transcript.hash(h)
            let secret = KeySchedule.deriveSecret(h, secret: earlySecret, label: "c e traffic", transcriptHash: th)
            earlyExporterMasterSecret = KeySchedule.deriveSecret(h, secret: earlySecret, label: "e exp master", transcriptHash: th)
            logSecret("CLIENT_EARLY_TRAFFIC_SECRET", secret)
            logSecret("EARLY_EXPORTER_SECRET", earlyExporterMasterSecret)
            emitSecret(.earlyData, .read, secret, suite: suite)
        }

        // ServerHello
        let ours = try KeyShare.generate(group)
        let shared = try ours.sharedSecret(peerKeyExchange: hello.peerKey)
        var shExts = [
            TLSExtension(.supportedVersions, ExtensionCodec.supportedVersionsServer()),
            TLSExtension(.keyShare, ExtensionCodec.keyShareServer(group: group.rawValue, key: ours.publicKey)),
        ]
        if resumed { shExts.append(TLSExtension(.preSharedKey, ExtensionCodec.selectedPSK(0))) }
        let sh = ServerHello(random: try TLSHandshake.randomBytes(32), cipherSuite: suite.rawValue, extensions: shExts)
        send(.initial, sh.encode())
        deriveHandshakeSecrets(shared: shared, suite: suite)

        // EncryptedExtensions
        var eeExts = [TLSExtension(.alpn, ExtensionCodec.alpn([chosenALPN]))]
        if tp != nil { eeExts.append(TLSExtension(.quicTransportParameters, configuration.transportParameters)) }
        if earlyDataAccepted { eeExts.append(TLSExtension(.earlyData, [])) }
        send(.handshake, EncryptedExtensions(extensions: eeExts).encode())

        if !resumed {
            if requestsClientCertificate {
                send(.handshake, CertificateRequest(context: [], extensions: [signatureAlgorithmsExtension()]).encode())
            }
            guard let credential = configuration.credential else { throw TLSAlert(.internalError) }
            try sendCertificate(credential, context: [], peerSchemes: clientOfferedSchemes, suite: suite)
        }
        send(.handshake, handshakeMessage(.finished, finishedVerifyData(baseKey: serverHandshakeSecret, suite: suite)))
        deriveApplicationSecrets(suite: suite)
        emitSecret(.application, .write, serverApplicationSecret, suite: suite)
        state = (requestsClientCertificate && !resumed) ? .waitClientCertificate : .waitClientFinished
    }

    /// RFC 8446 §4.1.2: after a HelloRetryRequest the client sends the same ClientHello
    /// except that it may replace key_share, remove early_data, add the cookie, update
    /// pre_shared_key (and, dropping every PSK, psk_key_exchange_modes) and change padding.
    /// Extension order is not compared. Anything else changed is illegal_parameter.
    static func checkSecondClientHello(_ second: ClientHello, first: ClientHello) throws {
        let mayChange: Set<UInt16> = [ExtensionType.keyShare.rawValue, ExtensionType.earlyData.rawValue,
                                      ExtensionType.cookie.rawValue, ExtensionType.preSharedKey.rawValue,
                                      ExtensionType.pskKeyExchangeModes.rawValue, 21 /* padding, RFC 7685 */]
        func fixed(_ h: ClientHello) -> [UInt16: [UInt8]] {
            var out: [UInt16: [UInt8]] = [:]
            for e in h.extensions where !mayChange.contains(e.type) { out[e.type] = e.body }
            return out
        }
        guard second.legacySessionID == first.legacySessionID, second.cipherSuites == first.cipherSuites,
              fixed(second) == fixed(first) else {
            throw TLSAlert(.illegalParameter, "second ClientHello differs from the first beyond what HRR allows")
        }
        // A PSK mode offered in the first hello may only be dropped with every PSK.
        if let modes = second.extensions.body(.pskKeyExchangeModes), modes != first.extensions.body(.pskKeyExchangeModes) {
            throw TLSAlert(.illegalParameter, "psk_key_exchange_modes changed after HelloRetryRequest")
        }
        // We never send a cookie, so the client cannot echo one (RFC 8446 §4.2.2).
        if second.extensions.has(.cookie) {
            throw TLSAlert(.illegalParameter, "cookie in ClientHello that HelloRetryRequest did not send")
        }
    }

    /// requireClientCertificate implies asking for one.
    private var requestsClientCertificate: Bool {
        configuration.requestClientCertificate || configuration.requireClientCertificate
    }

    /// HelloRetryRequest (RFC 8446 §4.1.4): the transcript restarts from message_hash(CH1).
    private func sendHelloRetryRequest(group: NamedGroup, suite: CipherSuite, message: [UInt8]) throws {
        sentHelloRetryRequest = true
        self.suite = suite
        self.group = group
        transcript.append(message)
        transcript.replaceWithMessageHash(suite.hash)
        let hrr = ServerHello(random: helloRetryRequestRandom, cipherSuite: suite.rawValue, extensions: [
            TLSExtension(.supportedVersions, ExtensionCodec.supportedVersionsServer()),
            TLSExtension(.keyShare, ExtensionCodec.keyShareHRR(group: group.rawValue)),
        ])
        send(.initial, hrr.encode())
    }

    /// Server: sends a NewSessionTicket at the application level (RFC 8446 §4.6.1) carrying
    /// up to 1000 bytes of application data; needs a completed handshake and a ticket sealer.
    public func sendSessionTicket(appData: [UInt8] = [], now: UInt64) throws {
        if let failure { throw failure }
        guard role == .server, state == .connected, let suite, let alpn else {
            throw TLSAlert(.internalError, "tickets are sent by a server after the handshake")
        }
        guard let sealer = configuration.ticketSealer else { throw TLSAlert(.internalError, "no ticket keys") }
        guard appData.count <= 1000 else { throw TLSAlert(.internalError, "ticket application data over 1000 bytes") }
        try guarded {
            var nonce = TLSWriter()
            nonce.u64(ticketNonceCounter)
            ticketNonceCounter += 1
            let ageAddBytes = try TLSHandshake.randomBytes(4)
            let ageAdd = ageAddBytes.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            // RFC 9001 §4.6.1: max_early_data_size is 0xffffffff when 0-RTT is allowed.
            let maxEarly: UInt32 = configuration.enableEarlyData ? 0xffff_ffff : 0
            let state = ServerTicketState(
                cipherSuite: suite,
                psk: KeySchedule.resumptionPSK(suite.hash, resumptionMasterSecret: resumptionMasterSecret, nonce: nonce.bytes),
                alpn: alpn, serverName: sniName, ageAdd: ageAdd, issueTime: now,
                lifetime: min(configuration.ticketLifetime, 604_800), maxEarlyData: maxEarly,
                appData: appData,
                transportParameters: configuration.ticketTransportParameters ?? configuration.transportParameters)
            let ticket = try sealer.seal(state.encode())
            let exts = maxEarly > 0 ? [TLSExtension(.earlyData, ExtensionCodec.maxEarlyData(maxEarly))] : []
            let nst = NewSessionTicket(lifetime: state.lifetime, ageAdd: ageAdd, nonce: nonce.bytes, ticket: ticket, extensions: exts)
            send(.application, nst.encode(), inTranscript: false)
        }
    }
}
