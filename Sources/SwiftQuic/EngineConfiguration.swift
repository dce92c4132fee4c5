// A Configuration (ALPN list, settings, credential) turned into what QuicCore needs for one
// connection: TLS settings from the credential flags, transport parameters from
// QUIC_SETTINGS (docs/Settings.md: each setting's transport parameter, RFC 9000 §18.2).

import QuicCore
import QuicCrypto
import QuicQlog
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
        var c = engineConfiguration(tls, overrides: overrides)
        // A client that does not migrate (MigrationEnabled = FALSE) stays on the server's
        // handshake address even when it offers a preferred_address (RFC 9000 §9.6).
        c.usesPreferredAddress = connectionSettings(overrides)[.migrationEnabled] != 0
        return c
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
        var c = engineConfiguration(tls)
        // QUIC_SETTINGS.MigrationEnabled = FALSE: the server sends disable_active_migration
        // (RFC 9000 §18.2), as MsQuic does; a client that moves anyway is followed after path
        // validation (the option §18.2 leaves, and what MsQuic does: NAT rebindings look the same).
        c.transportParameters.disableActiveMigration = effectiveSettings[.migrationEnabled] == 0
        return c
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
        c.disconnectTimeout = .milliseconds(s[.disconnectTimeoutMs])          // MsQuic DisconnectTimeoutMs
        // QUIC_SETTINGS.MaxBytesPerKey: bytes protected with one 1-RTT key before a key update.
        c.keyUpdateBytes = s[.maxBytesPerKey]
        c.initialRTT = .milliseconds(s[.initialRttMs])
        c.datagramReceiveEnabled = s[.datagramReceiveEnabled] != 0
        c.reliableResetEnabled = s[.reliableResetEnabled] != 0               // draft-ietf-quic-reliable-stream-reset
        c.congestionControl.initialWindowPackets = UInt32(clamping: s[.initialWindowPackets])
        c.congestionControl.sendIdleTimeout = .milliseconds(s[.sendIdleTimeoutMs])
        // QUIC_SETTINGS.CongestionControlAlgorithm: CUBIC (0) or BBR (1); larger values were
        // refused when the settings were set (Settings.swift), so nil cannot happen here.
        c.congestionControl.algorithm = CongestionControlAlgorithm.forMsQuicSetting(
            UInt16(clamping: s[.congestionControlAlgorithm])) ?? .cubic
        c.congestionControl.hyStartEnabled = s[.hyStartEnabled] != 0          // RFC 9406 HyStart++
        // DPLPMTUD (RFC 8899) within MinimumMtu...MaximumMtu, as MsQuic always runs it; and
        // EcnEnabled (RFC 9000 §13.4). QuicCore Connection+PMTU.swift / Connection+ECN.swift.
        c.mtuDiscovery = MTUDiscoveryConfig(minimumMtu: Int(clamping: s[.minimumMtu]), maximumMtu: Int(clamping: s[.maximumMtu]),
                                            searchCompleteTimeout: .microseconds(s[.mtuDiscoverySearchCompleteTimeoutUs]),
                                            missingProbeCount: Int(clamping: s[.mtuDiscoveryMissingProbeCount]))
        c.ecnEnabled = s[.ecnEnabled] != 0
        // MsQuic: a client takes its connection's or its configuration's version lists; the
        // global lists are the listeners' (a client with only global lists starts in v1, as
        // msquictest's CompatibleVersionNegotiationDefaultClient checks).
        let versions: VersionSettings?
        if tls.role == .client {
            let own = state.withLock { $0.settings }
            if let o = overrides, o.versionsSet { versions = o.versions } else { versions = own.versionsSet ? own.versions : nil }
        } else {
            versions = s.versions
        }
        Self.applyVersionSettings(versions, to: &c)
        // qlog: a trace per connection when QLOGDIR names a folder (read once per process).
        c.observerFactory = qlogFactory
        return c
    }

    /// QUIC_VERSION_SETTINGS with MsQuic's meaning (docs/Versions.md, version_neg.c). Client:
    /// the first FullyDeployedVersion is the version it starts with, the others are its
    /// preference after Version Negotiation and the compatible versions its version_information
    /// lists (RFC 9368 §3); MsQuic wants the three lists equal on a client. Server: its
    /// version_information lists the FullyDeployedVersions; the AcceptableVersions (global)
    /// decide what the listener accepts and prefers (Listener.acceptedVersions). Versions we
    /// do not implement (draft-29, MS-1) are left out; a client whose first version is one of
    /// them gets no version (ConnectionStart answers NOT_SUPPORTED).
    static func applyVersionSettings(_ settings: VersionSettings?, to c: inout ConnectionConfiguration) {
        guard let settings else { return }
        let implemented = { (v: UInt32) in Versions.isSupported(v) }
        // RFC 9000 §15: a reserved version may start a client's connection (to exercise
        // Version Negotiation); it is never listed as compatible.
        let startable = { (v: UInt32) in Versions.isSupported(v) || SettingsCodec.isReservedVersion(v) }
        let deployed = settings.fullyDeployed.isEmpty ? settings.offered : settings.fullyDeployed
        guard !deployed.isEmpty else { return }
        if c.role == .client {
            c.versions = startable(deployed[0]) ? deployed.filter(startable).map { QuicVersion($0) } : []
        }
        c.fullyDeployedVersions = deployed.filter(implemented).map { QuicVersion($0) }
    }
}

/// The qlog trace factory for the folder named by the QLOGDIR environment variable, nil when
/// it is unset (the convention of quiche, ngtcp2 and aioquic). A global: read once, at the
/// first connection.
let qlogFactory: QlogDirectoryFactory? = QlogDirectoryFactory.fromEnvironment()
