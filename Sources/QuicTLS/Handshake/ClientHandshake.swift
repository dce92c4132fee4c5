import QuicCrypto

/// The client side of the handshake (RFC 8446 §2, §4; RFC 9001 §4).
extension TLSHandshake {
    func clientStart(now: UInt64) throws {
        guard !configuration.alpnProtocols.isEmpty else {
            // RFC 9001 §8.1: QUIC requires ALPN.
            throw TLSAlert(.internalError, "a QUIC client must offer ALPN")
        }
        guard let first = configuration.groups.first, !configuration.cipherSuites.isEmpty else {
            throw TLSAlert(.internalError, "no groups or cipher suites configured")
        }
        clientRandom = try TLSHandshake.randomBytes(32)
        keyShares = [try KeyShare.generate(first)]
        offeredPSK = usableTicket(now: now)
        // 0-RTT runs under the ticket's own suite (RFC 8446 §4.2.10), so that suite must still
        // be allowed now; resumption alone only needs one with the same hash.
        offeredEarlyData = configuration.enableEarlyData && (offeredPSK?.maxEarlyData ?? 0) > 0
            && (offeredPSK.map { configuration.alpnProtocols.first == $0.alpn
                    && configuration.cipherSuites.contains($0.cipherSuite) } ?? false)
        let hello = try buildClientHello(now: now)
        clientHello = hello
        send(.initial, hello)
        state = .waitServerHello
        if offeredEarlyData, let ticket = offeredPSK {
            // client_early_traffic_secret = Derive-Secret(Early Secret, "c e traffic", ClientHello)
            let h = ticket.cipherSuite.hash
            let es = KeySchedule.earlySecret(h, psk: ticket.resumptionSecret)
            let th = transcript.hash(h)
            let secret = KeySchedule.deriveSecret(h, secret: es, label: "c e traffic", transcriptHash: th)
            earlyExporterMasterSecret = KeySchedule.deriveSecret(h, secret: es, label: "e exp master", transcriptHash: th)
            logSecret("CLIENT_EARLY_TRAFFIC_SECRET", secret)
            logSecret("EARLY_EXPORTER_SECRET", earlyExporterMasterSecret)
            emitSecret(.earlyData, .write, secret, suite: ticket.cipherSuite)
        }
    }

    /// The configured ticket if it can still be offered (RFC 8446 §4.6.1: never past its lifetime).
    private func usableTicket(now: UInt64) -> ClientSessionTicket? {
        guard let t = configuration.resumptionTicket,
              configuration.cipherSuites.contains(where: { $0.hash == t.cipherSuite.hash }),
              now >= t.issueTime, (now - t.issueTime) / 1_000_000 < UInt64(t.lifetime),
              t.serverName == configuration.serverName
        else { return nil }
        return t
    }

    /// Builds a ClientHello (the first one, or the second after a HelloRetryRequest with
    /// `cookie`) with PSK binders computed over the current transcript (RFC 8446 §4.2.11.2).
    func buildClientHello(now: UInt64, cookie: [UInt8]? = nil) throws -> [UInt8] {
        var exts: [TLSExtension] = []
        if let name = configuration.serverName, !TLSHandshake.isIPAddress(name) {
            exts.append(TLSExtension(.serverName, ExtensionCodec.serverName(name)))
        }
        exts.append(TLSExtension(.supportedVersions, ExtensionCodec.supportedVersionsClient()))
        exts.append(TLSExtension(.supportedGroups, ExtensionCodec.u16List(configuration.groups.map(\.rawValue))))
        exts.append(signatureAlgorithmsExtension())
        exts.append(TLSExtension(.keyShare, ExtensionCodec.keyShareClient(keyShares.map { ($0.group.rawValue, $0.publicKey) })))
        exts.append(TLSExtension(.alpn, ExtensionCodec.alpn(configuration.alpnProtocols)))
        exts.append(TLSExtension(.quicTransportParameters, configuration.transportParameters))
        if let cookie {
            var w = TLSWriter()
            w.vector16(cookie)
            exts.append(TLSExtension(.cookie, w.bytes))
        }
        // RFC 8446 §4.2.9: psk_key_exchange_modes goes in every ClientHello, not only with a
        // PSK: servers send NewSessionTicket only for modes the client listed (aioquic and
        // others send none without it), and MsQuic clients always take tickets.
        exts.append(TLSExtension(.pskKeyExchangeModes, ExtensionCodec.pskModes()))
        if let ticket = offeredPSK {
            // RFC 8446 §4.2.10: no early_data in the second ClientHello.
            if offeredEarlyData && !receivedHelloRetryRequest { exts.append(TLSExtension(.earlyData, [])) }
            // RFC 8446 §4.2.11.1: obfuscated_ticket_age = age in ms + ticket_age_add mod 2^32.
            let ageMs = now >= ticket.issueTime ? (now - ticket.issueTime) / 1000 : 0
            let obfuscated = UInt32(truncatingIfNeeded: ageMs &+ UInt64(ticket.ageAdd))
            let h = ticket.cipherSuite.hash
            let placeholder = [UInt8](repeating: 0, count: h.digestLength)
            let identity = ExtensionCodec.PSKIdentity(identity: ticket.ticket, obfuscatedTicketAge: obfuscated)
            // RFC 8446 §4.2.11: pre_shared_key comes last.
            exts.append(TLSExtension(.preSharedKey, ExtensionCodec.offeredPSKs(identities: [identity], binders: [placeholder])))
            var hello = ClientHello(random: clientRandom, cipherSuites: configuration.cipherSuites.map(\.rawValue),
                                    extensions: exts).encode()
            let tail = ExtensionCodec.bindersList([placeholder]).count
            let partial = hello[0..<(hello.count - tail)]
            let binderKey = KeySchedule.binderKey(h, earlySecret: KeySchedule.earlySecret(h, psk: ticket.resumptionSecret))
            let binder = KeySchedule.finishedVerifyData(h, baseKey: binderKey, transcriptHash: transcript.hash(h, appending: partial))
            hello.replaceSubrange((hello.count - tail)..., with: ExtensionCodec.bindersList([binder]))
            return hello
        }
        return ClientHello(random: clientRandom, cipherSuites: configuration.cipherSuites.map(\.rawValue),
                           extensions: exts).encode()
    }

    static func isIPAddress(_ name: String) -> Bool {
        let isV4 = name.split(separator: ".", omittingEmptySubsequences: false).count == 4
            && name.allSatisfy { $0 == "." || $0.isNumber }
        return isV4 || name.contains(":")
    }

    func clientHandle(_ type: HandshakeType, message: [UInt8], body: [UInt8], now: UInt64) throws {
        switch (state, type) {
        case (.waitServerHello, .serverHello):
            let sh = try ServerHello.decode(body)
            if sh.isHelloRetryRequest {
                try clientHandleHelloRetryRequest(sh, message: message, now: now)
            } else {
                try clientHandleServerHello(sh, message: message)
            }
        case (.waitEncryptedExtensions, .encryptedExtensions):
            try clientHandleEncryptedExtensions(body, message: message)
        case (.waitCertificateOrRequest, .certificateRequest):
            let cr = try CertificateRequest.decode(body)
            // RFC 8446 §4.3.2: the context is empty in the main handshake ...
            guard cr.context.isEmpty else {
                throw TLSAlert(.illegalParameter, "non-empty certificate_request_context in the handshake")
            }
            // ... signature_algorithms is mandatory, unknown extensions are ignored.
            try cr.extensions.checkAllowed([.signatureAlgorithms, .certificateAuthorities, .signatureAlgorithmsCert],
                                           in: "CertificateRequest", ignoreUnknown: true)
            guard let algs = cr.extensions.body(.signatureAlgorithms) else {
                throw TLSAlert(.missingExtension, "CertificateRequest without signature_algorithms")
            }
            certificateRequestSchemes = try TLSHandshake.decodeSchemes(algs)
            certificateRequestContext = cr.context
            transcript.append(message)
            state = .waitServerCertificate
        case (.waitCertificateOrRequest, .certificate), (.waitServerCertificate, .certificate):
            guard try receivePeerCertificate(body, expectedContext: []) else {
                throw TLSAlert(.decodeError, "server sent an empty Certificate")
            }
            transcript.append(message)
            state = .waitServerCertificateVerify
        case (.waitServerCertificateVerify, .certificateVerify):
            guard let suite else { throw TLSAlert(.internalError) }
            try receivePeerCertificateVerify(message, body: body, offered: configuration.signatureSchemes, suite: suite)
            state = .waitServerFinished
            try concludePeerCertificate()
        case (.waitServerFinished, .finished):
            try clientHandleServerFinished(body, message: message)
        case (.connected, .newSessionTicket):
            try clientHandleNewSessionTicket(body, now: now)
        default:
            throw TLSAlert(.unexpectedMessage, "\(type) unexpected in \(state)")
        }
    }

    private func clientHandleHelloRetryRequest(_ hrr: ServerHello, message: [UInt8], now: UInt64) throws {
        // RFC 8446 §4.1.4: a second HelloRetryRequest is unexpected_message.
        guard !receivedHelloRetryRequest else { throw TLSAlert(.unexpectedMessage, "second HelloRetryRequest") }
        receivedHelloRetryRequest = true
        try checkServerHelloCommon(hrr)
        guard let suite = CipherSuite(rawValue: hrr.cipherSuite) else { throw TLSAlert(.illegalParameter) }
        // RFC 8446 §4.2.8: the group must be one we support and not already have sent.
        var newGroup: NamedGroup?
        if let groupBody = hrr.extensions.body(.keyShare) {
            let raw = try ExtensionCodec.decodeKeyShareHRR(groupBody)
            guard let group = NamedGroup(rawValue: raw), configuration.groups.contains(group),
                  !keyShares.contains(where: { $0.group == group })
            else { throw TLSAlert(.illegalParameter, "HelloRetryRequest selects an unusable group") }
            newGroup = group
        }
        // RFC 8446 §4.1.4: a HelloRetryRequest that would not change the ClientHello is illegal.
        guard newGroup != nil || hrr.extensions.has(.cookie) else {
            throw TLSAlert(.illegalParameter, "HelloRetryRequest that changes nothing")
        }
        try hrr.extensions.checkAllowed([.keyShare, .supportedVersions, .cookie], in: "HelloRetryRequest")
        let cookie = try hrr.extensions.body(.cookie).map(ExtensionCodec.decodeCookie)
        self.suite = suite
        // The 0-RTT attempt is over (RFC 8446 §4.2.10); the PSK stays if its hash matches.
        if let t = offeredPSK, t.cipherSuite.hash != suite.hash { offeredPSK = nil }
        transcript.replaceWithMessageHash(suite.hash)
        transcript.append(message)
        if let newGroup { keyShares = [try KeyShare.generate(newGroup)] }
        let hello = try buildClientHello(now: now, cookie: cookie)
        send(.initial, hello)
    }

    /// Checks shared by ServerHello and HelloRetryRequest (RFC 8446 §4.1.3, §4.2.1).
    private func checkServerHelloCommon(_ sh: ServerHello) throws {
        guard let v = sh.extensions.body(.supportedVersions) else {
            throw TLSAlert(.protocolVersion, "server did not negotiate TLS 1.3")
        }
        guard try ExtensionCodec.decodeSupportedVersionServer(v) == tls13Version else {
            throw TLSAlert(.illegalParameter, "server selected a version we did not offer")
        }
        guard sh.legacySessionIDEcho.isEmpty else { throw TLSAlert(.illegalParameter, "legacy_session_id_echo mismatch") }
        guard let suite = CipherSuite(rawValue: sh.cipherSuite), configuration.cipherSuites.contains(suite) else {
            throw TLSAlert(.illegalParameter, "server selected a cipher suite we did not offer")
        }
        if receivedHelloRetryRequest, let chosen = self.suite, chosen != suite, !sh.isHelloRetryRequest {
            throw TLSAlert(.illegalParameter, "ServerHello suite differs from HelloRetryRequest")
        }
    }

    private func clientHandleServerHello(_ sh: ServerHello, message: [UInt8]) throws {
        try checkServerHelloCommon(sh)
        guard let suite = CipherSuite(rawValue: sh.cipherSuite) else { throw TLSAlert(.illegalParameter) }
        try sh.extensions.checkAllowed([.keyShare, .supportedVersions, .preSharedKey], in: "ServerHello")
        // psk_dhe_ke only: key_share is mandatory (RFC 8446 §4.2.8, §4.2.9).
        guard let ksBody = sh.extensions.body(.keyShare) else { throw TLSAlert(.missingExtension, "ServerHello without key_share") }
        let ks = try ExtensionCodec.decodeKeyShareServer(ksBody)
        guard let share = keyShares.first(where: { $0.group.rawValue == ks.group }) else {
            throw TLSAlert(.illegalParameter, "server key_share for a group we did not send")
        }
        if let pskBody = sh.extensions.body(.preSharedKey) {
            guard let ticket = offeredPSK, try ExtensionCodec.decodeSelectedPSK(pskBody) == 0,
                  ticket.cipherSuite.hash == suite.hash else {
                throw TLSAlert(.illegalParameter, "server selected a PSK we did not offer")
            }
            resumed = true
            earlySecret = KeySchedule.earlySecret(suite.hash, psk: ticket.resumptionSecret)
        }
        let shared = try share.sharedSecret(peerKeyExchange: ks.key)
        self.suite = suite
        self.group = share.group
        transcript.append(message)
        deriveHandshakeSecrets(shared: shared, suite: suite)
        keyShares = []
        state = .waitEncryptedExtensions
    }

    private func clientHandleEncryptedExtensions(_ body: [UInt8], message: [UInt8]) throws {
        let ee = try EncryptedExtensions.decode(body)
        // RFC 8446 §4.3.1: the client checks EncryptedExtensions for forbidden extensions.
        try ee.extensions.checkAllowed([.serverName, .supportedGroups, .alpn, .earlyData, .quicTransportParameters],
                                       in: "EncryptedExtensions")
        // RFC 9001 §8.1 / RFC 7301 §3.2: exactly one protocol, one we offered.
        guard let alpnBody = ee.extensions.body(.alpn) else {
            throw TLSAlert(.noApplicationProtocol, "server did not select an application protocol")
        }
        let selected = try ExtensionCodec.decodeALPN(alpnBody)
        guard selected.count == 1, configuration.alpnProtocols.contains(selected[0]) else {
            throw TLSAlert(.illegalParameter, "server selected an ALPN we did not offer")
        }
        alpn = selected[0]
        // RFC 9001 §8.2: missing quic_transport_parameters is missing_extension.
        let tp = ee.extensions.body(.quicTransportParameters)
        guard tp != nil || !configuration.requirePeerTransportParameters else {
            throw TLSAlert(.missingExtension, "server sent no quic_transport_parameters")
        }
        if ee.extensions.has(.earlyData) {
            guard offeredEarlyData, !receivedHelloRetryRequest, resumed else {
                throw TLSAlert(.illegalParameter, "early_data accepted but not offered")
            }
            earlyDataAccepted = true
        }
        // RFC 8446 §4.2.10: accepted 0-RTT must keep the ticket's cipher suite and ALPN.
        if offeredEarlyData, let t = offeredPSK, earlyDataAccepted, alpn != t.alpn || suite != t.cipherSuite {
            throw TLSAlert(.illegalParameter, "0-RTT accepted with a different ALPN or cipher suite")
        }
        if let tp {
            peerTransportParameters = tp
            emit(.peerTransportParameters(tp))
        }
        transcript.append(message)
        state = resumed ? .waitServerFinished : .waitCertificateOrRequest
    }

    private func clientHandleServerFinished(_ body: [UInt8], message: [UInt8]) throws {
        guard let suite else { throw TLSAlert(.internalError) }
        try checkFinished(body, baseKey: serverHandshakeSecret, suite: suite)
        transcript.append(message)
        deriveApplicationSecrets(suite: suite)
        emitSecret(.application, .read, serverApplicationSecret, suite: suite)
        // Client authentication (RFC 8446 §4.4.2): an empty Certificate when we have none.
        // RFC 8446 §4.4.2: with no suitable certificate (none, or its key cannot sign with a
        // scheme the server listed) the client sends an empty one and the server decides.
        if let context = certificateRequestContext {
            if let credential = configuration.credential,
               TLSSignature.schemes(for: credential.privateKey).contains(where: certificateRequestSchemes.contains) {
                try sendCertificate(credential, context: context, peerSchemes: certificateRequestSchemes, suite: suite)
            } else {
                send(.handshake, CertificateMessage(context: context, certificates: []).encode())
            }
        }
        send(.handshake, handshakeMessage(.finished, finishedVerifyData(baseKey: clientHandshakeSecret, suite: suite)))
        emitSecret(.application, .write, clientApplicationSecret, suite: suite)
        deriveResumptionMasterSecret(suite: suite)
        state = .connected
        emit(.handshakeComplete(summary()))
    }

    private func clientHandleNewSessionTicket(_ body: [UInt8], now: UInt64) throws {
        guard let suite, let alpn else { throw TLSAlert(.internalError) }
        let nst = try NewSessionTicket.decode(body)
        // RFC 8446 §4.6.1: early_data is the only extension defined here; unknown ones are ignored.
        try nst.extensions.checkAllowed([.earlyData], in: "NewSessionTicket", ignoreUnknown: true)
        // RFC 8446 §4.6.1: lifetime 0 means do not use; over 7 days is illegal.
        guard nst.lifetime <= 604_800 else { throw TLSAlert(.illegalParameter, "ticket_lifetime over 7 days") }
        var maxEarly: UInt32 = 0
        if let ed = nst.extensions.body(.earlyData) {
            maxEarly = try ExtensionCodec.decodeMaxEarlyData(ed)
            // RFC 9001 §4.6.1: any value other than 0xffffffff is PROTOCOL_VIOLATION.
            guard maxEarly == 0xffff_ffff else {
                throw TLSAlert.protocolViolation(.illegalParameter, "max_early_data_size must be 0xffffffff in QUIC")
            }
        }
        guard nst.lifetime > 0 else { return }
        let psk = KeySchedule.resumptionPSK(suite.hash, resumptionMasterSecret: resumptionMasterSecret, nonce: nst.nonce)
        let ticket = ClientSessionTicket(
            serverName: configuration.serverName, alpn: alpn, cipherSuite: suite, ticket: nst.ticket,
            ageAdd: nst.ageAdd, lifetime: nst.lifetime, issueTime: now, maxEarlyData: maxEarly,
            resumptionSecret: psk, serverTransportParameters: peerTransportParameters ?? [])
        emit(.newSessionTicket(ticket.serialize()))
    }
}
