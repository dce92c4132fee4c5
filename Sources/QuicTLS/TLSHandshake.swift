import CCrypto
import QuicCrypto

/// A TLS 1.3 handshake for QUIC (RFC 9001), client or server, with no I/O and no clock:
/// handshake bytes come in and go out per encryption level, secrets come out per level and
/// direction, and the caller passes the time (`now`, microseconds) where it matters.
///
/// Use: `start(now:)`, then feed CRYPTO frame data with `receive(_:at:now:)` and drain
/// `nextOutput()` after every call. A thrown `TLSAlert` ends the handshake; QuicCore closes
/// the connection with CRYPTO_ERROR 0x100 + alert (RFC 9001 §4.8).
public final class TLSHandshake {
    enum State: Equatable {
        // Client
        case clientStart
        case waitServerHello
        case waitEncryptedExtensions
        case waitCertificateOrRequest
        case waitServerCertificate
        case waitServerCertificateVerify
        case waitServerFinished
        // Server
        case waitClientHello
        case waitClientCertificate
        case waitClientCertificateVerify
        case waitClientFinished
        // Both
        case connected
    }

    public private(set) var configuration: TLSConfiguration
    public var role: TLSRole { configuration.role }

    var state: State
    var outputs: [TLSOutput] = []
    var outputIndex = 0
    var buffers: [[UInt8]] = [[], [], [], []]
    var failure: TLSAlert?
    /// Set while waiting for `completePeerCertificateValidation`.
    var awaitingCertificateDecision = false
    /// Server: set while the application validates a ticket asynchronously
    /// (`completeResumptionValidation`, ServerResumption.swift).
    var pendingResumption: PendingResumption?
    /// No message is handled while the application has a decision to make.
    var isPausedForApplication: Bool { awaitingCertificateDecision || pendingResumption != nil }
    /// Levels whose read secret was handed out (Initial needs none).
    var readableLevels: Set<EncryptionLevel> = [.initial]

    // Negotiated state
    var transcript = Transcript()
    var suite: CipherSuite?
    var group: NamedGroup?
    var clientRandom: [UInt8] = []
    var alpn: [UInt8]?
    var sniName: String?
    var peerTransportParameters: [UInt8]?
    var peerChainDER: [[UInt8]] = []
    /// The peer's leaf as `X509 *` (owned), for CertificateVerify.
    var peerLeaf: OpaquePointer?
    /// The validator's verdict on the peer chain.
    public internal(set) var peerValidation: PeerCertificateValidation?
    var resumed = false
    var earlyDataAccepted = false
    var sentHelloRetryRequest = false
    var receivedHelloRetryRequest = false

    // Key schedule
    var earlySecret: [UInt8] = []
    var handshakeSecret: [UInt8] = []
    var clientHandshakeSecret: [UInt8] = []
    var serverHandshakeSecret: [UInt8] = []
    var masterSecret: [UInt8] = []
    var clientApplicationSecret: [UInt8] = []
    var serverApplicationSecret: [UInt8] = []
    var exporterMasterSecret: [UInt8] = []
    var resumptionMasterSecret: [UInt8] = []
    var earlyExporterMasterSecret: [UInt8] = []

    /// SSLKEYLOGFILE secrets in the order they were derived.
    public private(set) var keyLog: [KeyLogEntry] = []

    // Client-only state
    var keyShares: [KeyShare] = []
    var clientHello: [UInt8]?
    var offeredPSK: ClientSessionTicket?
    var offeredEarlyData = false
    var certificateRequestContext: [UInt8]?
    var certificateRequestSchemes: [SignatureScheme] = []

    // Server-only state
    var serverTicket: ServerTicketState?
    var clientOfferedSchemes: [SignatureScheme] = []
    /// The first ClientHello, to check the second one against after a HelloRetryRequest.
    var firstClientHello: ClientHello?
    var ticketNonceCounter: UInt64 = 0

    public init(configuration: TLSConfiguration) {
        self.configuration = configuration
        self.state = configuration.role == .client ? .clientStart : .waitClientHello
    }

    deinit {
        if let peerLeaf { X509_free(peerLeaf) }
    }

    /// Server: replaces the quic_transport_parameters this server will send in
    /// EncryptedExtensions, before the ClientHello is processed (RFC 9368 §2.3: a server that
    /// upgrades to a compatible version sends a version_information naming it). Returns false,
    /// changing nothing, once the ClientHello has been processed or on a client.
    @discardableResult
    public func replaceServerTransportParameters(_ bytes: [UInt8]) -> Bool {
        guard role == .server, state == .waitClientHello, !sentHelloRetryRequest else { return false }
        configuration.transportParameters = bytes
        return true
    }

    // MARK: Public API

    /// Client: builds and queues the ClientHello (and the 0-RTT secret). Server: nothing to do.
    /// Misuse of the API (a second start, a decision nobody asked for, an oversized ticket)
    /// throws internal_error without failing the handshake.
    public func start(now: UInt64) throws {
        guard role == .client else { return }
        guard state == .clientStart, outputs.isEmpty else { throw TLSAlert(.internalError, "start called twice") }
        try guarded { try clientStart(now: now) }
    }

    /// Handshake bytes received in CRYPTO frames at `level`, in order within the level.
    public func receive(_ bytes: [UInt8], at level: EncryptionLevel, now: UInt64) throws {
        try guarded {
            // RFC 9001 §8.3: CRYPTO frames in 0-RTT packets are a PROTOCOL_VIOLATION.
            guard level != .earlyData else { throw TLSAlert.protocolViolation(.unexpectedMessage, "CRYPTO data in 0-RTT") }
            // RFC 9001 §4.1.3: data must arrive at a level we have read keys for ...
            guard readableLevels.contains(level) else {
                throw TLSAlert(.unexpectedMessage, "handshake data at \(level) before its keys exist")
            }
            // ... and not at a level the handshake has moved past: the caller hands us only
            // new bytes, and new data at an old level is a PROTOCOL_VIOLATION (RFC 9001 §4.1.3).
            guard level >= expectedLevel else {
                throw TLSAlert.protocolViolation(.unexpectedMessage, "handshake data at \(level) after moving past it")
            }
            buffers[level.rawValue] += bytes
            try process(now: now)
            // Bounded buffering: whatever `process` left is at most one incomplete message
            // (<= 4 + maxMessageLength) unless the handshake is paused for the application's
            // certificate or ticket decision, when a peer could otherwise make us hold unlimited
            // data. No legitimate peer sends more than its Finished during such a pause.
            if buffers[level.rawValue].count > 4 + TLSHandshake.maxMessageLength {
                throw TLSAlert(.unexpectedMessage, "too much handshake data buffered at \(level)")
            }
        }
    }

    /// The next queued output, or nil when there is nothing more for now.
    public func nextOutput() -> TLSOutput? {
        guard outputIndex < outputs.count else {
            if outputIndex > 0 { outputs.removeAll(keepingCapacity: true); outputIndex = 0 }
            return nil
        }
        defer { outputIndex += 1 }
        return outputs[outputIndex]
    }

    /// The application's decision after `.peerCertificateReceived`: accept continues the
    /// handshake, reject fails it with bad_certificate (or `alert`).
    public func completePeerCertificateValidation(accept: Bool, alert: AlertDescription = .badCertificate,
                                                  now: UInt64) throws {
        if let failure { throw failure }
        guard awaitingCertificateDecision else { throw TLSAlert(.internalError, "no certificate decision pending") }
        try guarded {
            awaitingCertificateDecision = false
            guard accept else { throw TLSAlert(alert, "peer certificate rejected by the application") }
            try process(now: now)
        }
    }

    /// True once the handshake completed.
    public var isComplete: Bool { state == .connected }
    public var negotiatedALPN: [UInt8]? { alpn }
    public var negotiatedCipherSuite: CipherSuite? { suite }
    public var negotiatedGroup: NamedGroup? { group }
    public var peerCertificateChain: [[UInt8]] { peerChainDER }
    public var isResumed: Bool { resumed }
    public var isEarlyDataAccepted: Bool { earlyDataAccepted }
    /// Server: the server_name the client sent.
    public var receivedServerName: String? { sniName }

    /// TLS-Exporter (RFC 8446 §7.5); available once the handshake completed.
    public func exportKeyingMaterial(label: [UInt8], context: [UInt8], length: Int) throws -> [UInt8] {
        guard let suite, !exporterMasterSecret.isEmpty else { throw TLSAlert(.internalError, "exporter not ready") }
        guard length >= 0 && length <= 255 * suite.hash.digestLength else { throw TLSAlert(.internalError, "exporter length") }
        // HkdfLabel.label is at most 255 bytes including "tls13 " (RFC 8446 §7.1).
        guard label.count <= 249 else { throw TLSAlert(.internalError, "exporter label too long") }
        return KeySchedule.exporter(suite.hash, exporterMasterSecret: exporterMasterSecret, label: label,
                                    context: context, length: length)
    }

    // MARK: Internals shared by both roles

    /// Runs `body`; a handshake that failed once stays failed with the same alert.
    func guarded(_ body: () throws -> Void) throws {
        if let failure { throw failure }
        do {
            try body()
        } catch let alert as TLSAlert {
            failure = alert
            throw alert
        } catch {
            let alert = TLSAlert(.internalError, "\(error)")
            failure = alert
            throw alert
        }
    }

    /// The level the next handshake message must arrive at (RFC 9001 §4.1.3).
    var expectedLevel: EncryptionLevel {
        switch state {
        case .clientStart, .waitServerHello, .waitClientHello: return .initial
        case .waitEncryptedExtensions, .waitCertificateOrRequest, .waitServerCertificate,
             .waitServerCertificateVerify, .waitServerFinished, .waitClientCertificate,
             .waitClientCertificateVerify, .waitClientFinished: return .handshake
        case .connected: return .application
        }
    }

    /// Largest handshake message accepted; larger ones are refused as soon as their header
    /// arrives, before their body is buffered. 100 KiB is OpenSSL's default limit for a
    /// Certificate message (SSL_CTX_set_max_cert_list), the largest message in practice.
    static let maxMessageLength = 100 * 1024

    /// Parses and handles every complete message at the expected level.
    func process(now: UInt64) throws {
        while !isPausedForApplication {
            let level = expectedLevel
            var buffer = buffers[level.rawValue]
            guard buffer.count >= 4 else { return }
            let length = Int(buffer[1]) << 16 | Int(buffer[2]) << 8 | Int(buffer[3])
            guard length <= TLSHandshake.maxMessageLength else { throw TLSAlert(.decodeError, "handshake message too large") }
            guard buffer.count >= 4 + length else { return }
            let message = Array(buffer[0..<(4 + length)])
            buffer.removeFirst(4 + length)
            buffers[level.rawValue] = buffer
            guard let type = HandshakeType(rawValue: message[0]) else {
                throw TLSAlert(.unexpectedMessage, "unknown handshake type \(message[0])")
            }
            try handle(type, message: message, body: Array(message[4...]), now: now)
            // RFC 8446 §5.1: messages must not span a key change; leftovers at a level we
            // just left are an error.
            if expectedLevel != level && !buffers[level.rawValue].isEmpty {
                throw TLSAlert(.unexpectedMessage, "data left at \(level) after a key change")
            }
        }
    }

    func handle(_ type: HandshakeType, message: [UInt8], body: [UInt8], now: UInt64) throws {
        // RFC 9001 §6 / §8.3: KeyUpdate and EndOfEarlyData are forbidden in QUIC.
        if type == .keyUpdate || type == .endOfEarlyData {
            throw TLSAlert(.unexpectedMessage, "\(type) is not allowed in QUIC")
        }
        switch role {
        case .client: try clientHandle(type, message: message, body: body, now: now)
        case .server: try serverHandle(type, message: message, body: body, now: now)
        }
    }

    func emit(_ output: TLSOutput) { outputs.append(output) }

    func send(_ level: EncryptionLevel, _ message: [UInt8], inTranscript: Bool = true) {
        if inTranscript { transcript.append(message) }
        if case .handshakeData(let l, let prior)? = outputs.last, l == level, outputs.count > outputIndex {
            outputs[outputs.count - 1] = .handshakeData(level, prior + message)
        } else {
            emit(.handshakeData(level, message))
        }
    }

    func emitSecret(_ level: EncryptionLevel, _ direction: TrafficDirection, _ secret: [UInt8], suite: CipherSuite) {
        if direction == .read { readableLevels.insert(level) }
        emit(.secret(TrafficSecret(level: level, direction: direction, cipherSuite: suite, secret: secret)))
    }

    func logSecret(_ label: String, _ secret: [UInt8]) {
        keyLog.append(KeyLogEntry(label: label, clientRandom: clientRandom, secret: secret))
    }

    /// Derives and emits the handshake traffic secrets from the (EC)DHE output
    /// (RFC 8446 §7.1); the transcript holds ClientHello..ServerHello.
    func deriveHandshakeSecrets(shared: [UInt8], suite: CipherSuite) {
        let h = suite.hash
        if earlySecret.isEmpty { earlySecret = KeySchedule.earlySecret(h, psk: nil) }
        handshakeSecret = KeySchedule.handshakeSecret(h, earlySecret: earlySecret, sharedSecret: shared)
        let th = transcript.hash(h)
        clientHandshakeSecret = KeySchedule.deriveSecret(h, secret: handshakeSecret, label: "c hs traffic", transcriptHash: th)
        serverHandshakeSecret = KeySchedule.deriveSecret(h, secret: handshakeSecret, label: "s hs traffic", transcriptHash: th)
        logSecret("CLIENT_HANDSHAKE_TRAFFIC_SECRET", clientHandshakeSecret)
        logSecret("SERVER_HANDSHAKE_TRAFFIC_SECRET", serverHandshakeSecret)
        let client = role == .client
        emitSecret(.handshake, .read, client ? serverHandshakeSecret : clientHandshakeSecret, suite: suite)
        emitSecret(.handshake, .write, client ? clientHandshakeSecret : serverHandshakeSecret, suite: suite)
    }

    /// Derives the application traffic and exporter secrets; the transcript holds
    /// ClientHello..server Finished (RFC 8446 §7.1).
    func deriveApplicationSecrets(suite: CipherSuite) {
        let h = suite.hash
        masterSecret = KeySchedule.masterSecret(h, handshakeSecret: handshakeSecret)
        let th = transcript.hash(h)
        clientApplicationSecret = KeySchedule.deriveSecret(h, secret: masterSecret, label: "c ap traffic", transcriptHash: th)
        serverApplicationSecret = KeySchedule.deriveSecret(h, secret: masterSecret, label: "s ap traffic", transcriptHash: th)
        exporterMasterSecret = KeySchedule.deriveSecret(h, secret: masterSecret, label: "exp master", transcriptHash: th)
        logSecret("CLIENT_TRAFFIC_SECRET_0", clientApplicationSecret)
        logSecret("SERVER_TRAFFIC_SECRET_0", serverApplicationSecret)
        logSecret("EXPORTER_SECRET", exporterMasterSecret)
    }

    /// resumption_master_secret over ClientHello..client Finished (RFC 8446 §7.1).
    func deriveResumptionMasterSecret(suite: CipherSuite) {
        resumptionMasterSecret = KeySchedule.deriveSecret(suite.hash, secret: masterSecret, label: "res master",
                                                          transcriptHash: transcript.hash(suite.hash))
    }

    /// Finished verify_data for the current transcript (RFC 8446 §4.4.4).
    func finishedVerifyData(baseKey: [UInt8], suite: CipherSuite) -> [UInt8] {
        KeySchedule.finishedVerifyData(suite.hash, baseKey: baseKey, transcriptHash: transcript.hash(suite.hash))
    }

    /// Checks a received Finished in constant time (RFC 8446 §4.4.4: decrypt_error on mismatch).
    func checkFinished(_ body: [UInt8], baseKey: [UInt8], suite: CipherSuite) throws {
        let expected = finishedVerifyData(baseKey: baseKey, suite: suite)
        guard TLSHandshake.constantTimeEqual(body, expected) else {
            throw TLSAlert(.decryptError, "Finished verify_data mismatch")
        }
    }

    /// Equality of two MACs whose running time does not depend on where they differ
    /// (Finished, PSK binders). Lengths are public.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        guard !a.isEmpty else { return true }
        return a.withUnsafeBytes { x in b.withUnsafeBytes { y in CRYPTO_memcmp(x.baseAddress, y.baseAddress, x.count) } } == 0
    }

    func summary() -> HandshakeSummary {
        HandshakeSummary(alpn: alpn ?? [], cipherSuite: suite ?? .aes128GcmSha256, group: group ?? .x25519,
                         resumed: resumed, earlyDataAccepted: earlyDataAccepted,
                         serverName: role == .client ? configuration.serverName : sniName,
                         resumptionAppData: role == .server ? serverTicket?.appData : nil,
                         peerCertificateChain: peerChainDER)
    }

    static func randomBytes(_ count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        guard out.withUnsafeMutableBufferPointer({ RAND_bytes($0.baseAddress, Int32(count)) }) == 1 else {
            throw TLSAlert(.internalError, "RAND_bytes failed")
        }
        return out
    }
}
