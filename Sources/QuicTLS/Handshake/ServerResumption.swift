import QuicCrypto

/// The server's side of resumption (RFC 8446 §4.2.11, §4.2.10; RFC 9001 §4.6): which offered
/// ticket may resume, the application's say over it — answered at once or later, as MsQuic
/// lets a server return QUIC_STATUS_PENDING from QUIC_CONNECTION_EVENT_RESUMED and finish with
/// ConnectionResumptionTicketValidationComplete (src/core/connection.c
/// QuicConnRecvResumptionTicket, src/core/crypto.c QuicCryptoCustomTicketValidationComplete)
/// — and whether 0-RTT is accepted.

/// What the server keeps of a ClientHello between reading it and answering it: everything the
/// ServerHello flight needs once the PSK decision is made.
struct ReceivedClientHello {
    var hello: ClientHello
    /// The whole message, header included, for the transcript.
    var message: [UInt8]
    var suite: CipherSuite
    var group: NamedGroup
    var peerKey: [UInt8]
    var alpn: [UInt8]
    var transportParameters: [UInt8]?
    /// When it arrived (microseconds, the caller's clock): the server's view of the ticket
    /// age is taken then (RFC 8446 §8.3).
    var receivedAt: UInt64
}

/// A ticket that opened, passed its checks and whose binder verified: resuming with it only
/// needs the application's agreement.
struct ResumptionCandidate {
    var state: ServerTicketState
    /// The early secret derived from the ticket's PSK (RFC 8446 §7.1).
    var earlySecret: [UInt8]
}

/// A handshake paused while the application validates a ticket.
struct PendingResumption {
    var hello: ReceivedClientHello
    var candidate: ResumptionCandidate
}

/// The application's answer to a ticket (TLSConfiguration.resumptionAcceptance).
public enum ResumptionDecision: Sendable, Equatable {
    /// Resume with the ticket's PSK (and accept 0-RTT when offered and allowed).
    case accept
    /// Ignore the ticket: a full handshake, no 0-RTT (RFC 8446 §4.2.11 lets a server select
    /// none of the offered PSKs).
    case reject
    /// Decide later with `TLSHandshake.completeResumptionValidation(accept:now:)`; the
    /// handshake sends nothing until then.
    case pending
}

extension TLSHandshake {
    /// Server: true while the handshake waits for `completeResumptionValidation(accept:now:)`.
    public var isAwaitingResumptionDecision: Bool { pendingResumption != nil }

    /// Server: the application's late answer to a ticket it was asked about with
    /// `.pending`. accept resumes with the PSK (0-RTT too when the client offered it and the
    /// configuration allows it); reject goes on with a full handshake and refuses 0-RTT —
    /// what MsQuic does with ConnectionResumptionTicketValidationComplete(TRUE/FALSE).
    /// Throws internal_error, without failing the handshake, when nothing is pending.
    public func completeResumptionValidation(accept: Bool, now: UInt64) throws {
        if let failure { throw failure }
        guard let pending = pendingResumption else {
            throw TLSAlert(.internalError, "no resumption decision pending")
        }
        try guarded {
            pendingResumption = nil
            if accept { adoptResumption(pending.candidate) }
            try answerClientHello(pending.hello)
            // RFC 8446 §5.1, as after any message that changes keys (TLSHandshake.process):
            // nothing may follow the ClientHello at Initial.
            if expectedLevel != .initial && !buffers[EncryptionLevel.initial.rawValue].isEmpty {
                throw TLSAlert(.unexpectedMessage, "data left at initial after the ClientHello")
            }
            try process(now: now)
        }
    }

    /// Resumes with `candidate` (RFC 8446 §4.2.11: the server selects that PSK).
    func adoptResumption(_ candidate: ResumptionCandidate) {
        earlySecret = candidate.earlySecret
        resumed = true
        serverTicket = candidate.state
    }

    /// The first offered ticket when it opens, is unexpired, fits `suite` and was issued for
    /// this server name; nil otherwise. Its binder is checked before it is returned
    /// (RFC 8446 §4.2.11.2: a bad binder aborts with decrypt_error).
    func resumptionCandidate(_ ch: ClientHello, message: [UInt8], suite: CipherSuite, now: UInt64) throws -> ResumptionCandidate? {
        guard let pskBody = ch.extensions.body(.preSharedKey) else { return nil }
        // RFC 8446 §4.2.9: a PSK offer without psk_key_exchange_modes is illegal.
        guard let modesBody = ch.extensions.body(.pskKeyExchangeModes) else {
            throw TLSAlert(.missingExtension, "pre_shared_key without psk_key_exchange_modes")
        }
        let offer = try ExtensionCodec.decodeOfferedPSKs(pskBody)
        guard try ExtensionCodec.decodePSKModes(modesBody).contains(pskDHEKeyExchange),
              let sealer = configuration.ticketSealer else { return nil }
        // A resumed handshake has no client Certificate (RFC 8446 §4.3.2: no
        // CertificateRequest with a PSK) and our tickets do not carry the client's identity,
        // so a server that requires one never resumes: otherwise a ticket issued without
        // client authentication (or by another configuration sharing the ticket keys) would
        // bypass the requirement.
        guard !configuration.requireClientCertificate else { return nil }
        // Only the first identity is ever selected, so 0-RTT stays possible (RFC 8446 §4.2.10);
        // the others are not even opened (a ClientHello can list thousands).
        guard let identity = offer.identities.first, let binder = offer.binders.first,
              let plain = sealer.open(identity.identity), let state = ServerTicketState.decode(plain),
              state.cipherSuite.hash == suite.hash,
              now >= state.issueTime, (now - state.issueTime) / 1_000_000 < UInt64(state.lifetime),
              // RFC 8446 §4.6.1, §4.2.11: a ticket resumes only the server identity it was
              // issued for; with another server_name the certificate was never shown for it.
              state.serverName == sniName
        else { return nil }
        let tail = ExtensionCodec.bindersList(offer.binders).count
        guard tail <= message.count else { throw TLSAlert(.decodeError) }
        let partial = message[0..<(message.count - tail)]
        let h = suite.hash
        let es = KeySchedule.earlySecret(h, psk: state.psk)
        let expected = KeySchedule.finishedVerifyData(h, baseKey: KeySchedule.binderKey(h, earlySecret: es),
                                                      transcriptHash: transcript.hash(h, appending: partial))
        // Compared in constant time like a Finished (the binder is a MAC).
        guard TLSHandshake.constantTimeEqual(expected, binder) else { throw TLSAlert(.decryptError, "PSK binder does not verify") }
        return ResumptionCandidate(state: state, earlySecret: es)
    }

    /// 0-RTT is accepted only for the ticket's own suite and ALPN, a plausible ticket age
    /// (RFC 8446 §4.2.10, §8.3), when enabled and when the application agrees.
    func earlyDataAllowed(_ t: ServerTicketState, ch: ClientHello, suite: CipherSuite, alpn: [UInt8], now: UInt64) -> Bool {
        guard configuration.enableEarlyData, !sentHelloRetryRequest, t.maxEarlyData > 0,
              t.cipherSuite == suite, t.alpn == alpn,
              let pskBody = ch.extensions.body(.preSharedKey),
              let offer = try? ExtensionCodec.decodeOfferedPSKs(pskBody), let first = offer.identities.first
        else { return false }
        // RFC 8446 §4.2.11.1: the obfuscated age is mod 2^32 (wrapping by design). issueTime
        // comes from a ticket we sealed, possibly on another host sharing the ticket keys:
        // never subtract it from an earlier clock.
        let clientAge = UInt64(first.obfuscatedTicketAge &- t.ageAdd)
        let serverAge = now >= t.issueTime ? (now - t.issueTime) / 1000 : 0
        let skew = clientAge > serverAge ? clientAge - serverAge : serverAge - clientAge
        guard skew <= configuration.maxTicketAgeSkewMs else { return false }
        return configuration.earlyDataAcceptance?(t.appData, t.transportParameters) ?? true
    }
}
