// A Configuration (ALPN list, settings, credential) turned into what QuicCore needs for one
// connection: TLS settings from the credential flags, transport parameters from
// QUIC_SETTINGS (docs/Settings.md: each setting's transport parameter, RFC 9000 §18.2).

import QuicCore
import QuicCrypto
import QuicTLS
import QuicWire

extension Configuration {
    /// The engine configuration of a client connection to `serverName`, nil when the
    /// configuration has no client credential loaded.
    func clientEngineConfiguration(serverName: String?, overrides: Settings? = nil) -> ConnectionConfiguration? {
        // MsQuic (api.c) only asks for a loaded credential: one loaded without
        // QUIC_CREDENTIAL_FLAG_CLIENT still serves a client (its certificate for client auth).
        guard let credential else { return nil }
        var tls = TLSConfiguration(role: .client, alpnProtocols: alpns, serverName: serverName,
                                   credential: credential.certificate)
        // 0-RTT when resuming with a ticket that allows it (RFC 9001 §4.6.1); only sends marked
        // QUIC_SEND_FLAG_ALLOW_0_RTT go out before the handshake completes.
        tls.enableEarlyData = true
        applyValidation(&tls, credential: credential, purpose: .serverAuth, expectedName: serverName)
        return engineConfiguration(tls, overrides: overrides)
    }

    /// The engine configuration of an accepted connection that negotiated `alpn`; nil when
    /// the configuration has no server credential.
    func serverEngineConfiguration(alpn: [UInt8]?) -> ConnectionConfiguration? {
        guard let credential, !credential.isClient, credential.certificate != nil else { return nil }
        // The listener already chose the protocol (RFC 7301 §3.2: the server selects).
        let list = alpn.map { a in alpns.contains(a) ? [a] : alpns } ?? alpns
        var tls = TLSConfiguration(role: .server, alpnProtocols: list, credential: credential.certificate)
        tls.requestClientCertificate = credential.requiresClientAuthentication
            || credential.flags & (CredentialFlag.deferCertificateValidation | CredentialFlag.indicateCertificateReceived) != 0
                && credential.requiresClientAuthentication
        tls.requireClientCertificate = credential.requiresClientAuthentication
            && credential.flags & CredentialFlag.deferCertificateValidation == 0
        applyValidation(&tls, credential: credential, purpose: .clientAuth, expectedName: nil)
        // QUIC_SETTINGS.ServerResumptionLevel: RESUME_ONLY / RESUME_AND_ZERORTT let clients
        // resume with our tickets; with 0-RTT the engine still declines early data when a
        // limit the ticket remembers is above this configuration's (RFC 9000 §7.4.1).
        let resumption = effectiveSettings[.serverResumptionLevel]
        if resumption > 0 { tls.ticketSealer = ticketRing }
        if resumption >= SettingLimits.serverResumeAndZeroRtt { tls.enableEarlyData = true }   // RFC 9001 §4.6
        return engineConfiguration(tls)
    }

    private func applyValidation(_ tls: inout TLSConfiguration, credential: LoadedCredential,
                                 purpose: CertificateValidationPolicy.Purpose, expectedName: String?) {
        let skip = credential.flags & CredentialFlag.noCertificateValidation != 0
        tls.skipCertificateValidation = skip
        tls.deferCertificateValidation = credential.flags & CredentialFlag.deferCertificateValidation != 0
        tls.indicatePeerCertificate = credential.indicatesCertificateReceived
        let trust: CertificateValidationPolicy.Trust = credential.caCertificates.map { .caCertificates($0) } ?? .systemStore
        // An IP literal is checked against iPAddress SANs; a name with RFC 6125 rules.
        let policy = CertificateValidationPolicy(trust: trust, purpose: purpose, skipValidation: skip,
                                                 expectedName: expectedName)
        tls.certificateValidator = try? CertificateValidator(policy: policy)
        if credential.flags & CredentialFlag.setAllowedCipherSuites != 0 {
            var suites: [CipherSuite] = []
            if credential.allowedCipherSuites & AllowedCipherSuite.aes128GcmSha256 != 0 { suites.append(.aes128GcmSha256) }
            if credential.allowedCipherSuites & AllowedCipherSuite.aes256GcmSha384 != 0 { suites.append(.aes256GcmSha384) }
            if credential.allowedCipherSuites & AllowedCipherSuite.chacha20Poly1305Sha256 != 0 { suites.append(.chacha20Poly1305Sha256) }
            if !suites.isEmpty { tls.cipherSuites = suites }
        }
    }

    /// The settings a connection of this configuration runs with: the connection's own
    /// (QUIC_PARAM_CONN_SETTINGS) over the configuration's over the global ones.
    func connectionSettings(_ overrides: Settings?) -> Settings {
        guard var own = overrides else { return effectiveSettings }
        own.inheritUnset(from: effectiveSettings)
        return own
    }

    /// Bounds (issue 10 audit): every value here passed `Settings.valuesAreValid` (INVALID_PARAMETER
    /// otherwise) and has its QUIC_SETTINGS field width: IdleTimeoutMs and HandshakeIdleTimeoutMs
    /// ≤ 2^62-1 (varint), MaxAckDelayMs < 2^14, InitialRttMs 1...2^32-1 (clamped to 2^40 µs by the
    /// RTT estimator), the windows and KeepAlive/SendIdle timeouts UInt32, stream counts UInt16.
    /// Durations become saturating `QuicDuration`s; nothing below multiplies a raw setting.
    private func engineConfiguration(_ tls: TLSConfiguration, overrides: Settings? = nil) -> ConnectionConfiguration {
        let s = connectionSettings(overrides)
        var p = ConnectionConfiguration.defaultTransportParameters
        p.maxIdleTimeout = s[.idleTimeoutMs]                                  // RFC 9000 §18.2 max_idle_timeout
        p.initialMaxData = s[.connFlowControlWindow]                          // initial_max_data
        let window = s[.streamRecvWindowDefault]
        p.initialMaxStreamDataBidiLocal = s.isSet(.streamRecvWindowBidiLocalDefault) ? s[.streamRecvWindowBidiLocalDefault] : window
        p.initialMaxStreamDataBidiRemote = s.isSet(.streamRecvWindowBidiRemoteDefault) ? s[.streamRecvWindowBidiRemoteDefault] : window
        p.initialMaxStreamDataUni = s.isSet(.streamRecvWindowUnidiDefault) ? s[.streamRecvWindowUnidiDefault] : window
        p.initialMaxStreamsBidi = s[.peerBidiStreamCount]                     // initial_max_streams_bidi
        p.initialMaxStreamsUni = s[.peerUnidiStreamCount]                     // initial_max_streams_uni
        p.maxAckDelay = s[.maxAckDelayMs]                                     // max_ack_delay
        p.greaseQuicBit = s[.greaseQuicBitEnabled] != 0                       // RFC 9287 grease_quic_bit
        var c = ConnectionConfiguration(tls: tls, transportParameters: p)
        // Durations: converted once here, saturating (IdleTimeoutMs and HandshakeIdleTimeoutMs
        // go up to QUIC_VAR_INT_MAX ms, which is "never" in µs; issue 10).
        c.handshakeIdleTimeout = .milliseconds(s[.handshakeIdleTimeoutMs])
        c.keepAliveInterval = .milliseconds(s[.keepAliveIntervalMs])
        // QUIC_SETTINGS.MaxBytesPerKey: bytes protected with one 1-RTT key before a key update.
        c.keyUpdateBytes = s[.maxBytesPerKey]
        c.initialRTT = .milliseconds(s[.initialRttMs])
        c.datagramReceiveEnabled = s[.datagramReceiveEnabled] != 0
        c.reliableResetEnabled = s[.reliableResetEnabled] != 0               // draft-ietf-quic-reliable-stream-reset
        c.congestionControl.initialWindowPackets = UInt32(clamping: s[.initialWindowPackets])
        c.congestionControl.sendIdleTimeout = .milliseconds(s[.sendIdleTimeoutMs])
        if let v = s.versions?.offered.map({ QuicVersion($0) }), !v.isEmpty {
            c.versions = v.filter { $0 == .v1 || $0 == .v2 }
            if c.versions.isEmpty { c.versions = [.v1, .v2] }
        }
        return c
    }
}
