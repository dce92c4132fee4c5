import QuicCrypto
import QuicTLS
import QuicWire

// Compatible version negotiation (RFC 9368 §2.3) between QUIC v1 and v2 (RFC 9369 §4), and
// the version_information checks that prevent a downgrade (RFC 9368 §4).
//
// Server: the client's first flight (a ClientHello in Initial packets of the original
// version) is peeked before TLS processes it; when the client lists, in its
// version_information, a version the server prefers to the original one and that is
// compatible with it, the server answers in that version: Initial keys of the negotiated
// version for its packets (RFC 9369 §3.3.1), Handshake/1-RTT keys with its labels, and
// version_information naming it as the Chosen Version. It still reads the client's Initials
// of the original version until the Initial keys go (RFC 9369 §4), and 0-RTT only in the
// original version.
// Client: the first server Initial in a version it listed as compatible, which authenticates
// with that version's Initial keys, switches the connection to it (RFC 9368 §2.3); the
// server's version_information must then name it (RFC 9368 §4).

/// What compatible version negotiation remembers on a connection.
struct CompatibleVersionState {
    /// The version of the client's first Initial (RFC 9368 §2: "original version"), set when
    /// the connection changed version.
    var originalVersion: QuicVersion?
    /// Server: the Initial receive keys of the original version, for the client's Initials
    /// sent before it switched (RFC 9369 §4).
    var originalInitialReceive: PacketProtector?
    /// Server: the decision was taken (once, on the first complete ClientHello).
    var decided = false
    /// Server: the Initial CRYPTO bytes so far, until the ClientHello is whole.
    var clientHelloBytes: [UInt8] = []
    /// Client: the version whose first flight drew a Version Negotiation packet (RFC 9368 §4).
    var previousVersion: QuicVersion?

    var upgraded: Bool { originalVersion != nil }
}

extension Connection {
    /// RFC 9369 §4: v1 and v2 are compatible with each other (and each with itself).
    static func areVersionsCompatible(_ original: QuicVersion, _ negotiated: QuicVersion) -> Bool {
        if original == negotiated { return true }
        let pair: Set<QuicVersion> = [.v1, .v2]
        return pair.contains(original) && pair.contains(negotiated)
    }

    /// The version of the client's first flight: the original version (RFC 9368 §2).
    var originalVersion: QuicVersion { compatibleVN.originalVersion ?? version }

    /// The Available Versions of our version_information (RFC 9368 §3). Client: `chosen`
    /// first, then the fully deployed versions compatible with it (its first flight can be
    /// read as any of them). Server: its fully deployed versions (it may be empty).
    func availableVersions(chosen: QuicVersion) -> [QuicVersion] {
        let deployed = configuration.fullyDeployedVersions ?? configuration.versions
        if role == .server { return deployed }
        return [chosen] + deployed.filter {
            $0 != chosen && !$0.isReservedForNegotiation && Self.areVersionsCompatible(chosen, $0)
        }
    }

    // MARK: Server

    /// RFC 9368 §2.3: called with each Initial CRYPTO chunk a server receives before TLS sees
    /// it. Once the ClientHello is whole, decides whether to upgrade to a compatible version.
    func considerCompatibleUpgrade(_ bytes: [UInt8]) throws {
        guard role == .server, !compatibleVN.decided else { return }
        compatibleVN.clientHelloBytes += bytes
        let info: ClientHelloInfo?
        do {
            info = try TLSHandshake.peekClientHello(compatibleVN.clientHelloBytes)
        } catch {
            // TLS itself answers a malformed ClientHello with its alert.
            compatibleVN.decided = true
            compatibleVN.clientHelloBytes = []
            return
        }
        guard let info else { return }  // more CRYPTO data needed
        compatibleVN.decided = true
        compatibleVN.clientHelloBytes = []
        // MsQuic: only with the version negotiation extension enabled.
        guard configuration.sendsVersionInformation, let tp = info.transportParameters,
              let client = try? TransportParameters.decode(tp, sender: .client),
              let vi = client.versionInformation, vi.chosenVersion == version else { return }
        // RFC 9368 §2.3: a version the server prefers to the original one (earlier in its list),
        // that the client lists as compatible and that is compatible with the original; never
        // a reserved version (RFC 9000 §15).
        let preferred = configuration.versions.prefix { $0 != version }
        guard let target = preferred.first(where: {
            !$0.isReservedForNegotiation && vi.availableVersions.contains($0)
                && Self.areVersionsCompatible(version, $0) && ProtectionVersion(wireVersion: $0.rawValue) != nil
        }), let pv = ProtectionVersion(wireVersion: target.rawValue) else { return }
        try switchToCompatibleVersion(target, pv)
        // RFC 9368 §3: the server's Chosen Version is the negotiated version.
        let ours = ourTransportParameters(resetToken: cids.local.first?.token ?? StatelessResetToken())
        let encoded = try configuration.transportParametersEncoder?(ours) ?? ours.encoded()
        guard tls.replaceServerTransportParameters(encoded) else {
            throw QuicError(code: .internalError, reason: "transport parameters already sent")
        }
    }

    // MARK: Client

    /// RFC 9368 §2.3: a server Initial in another version than ours. Switches to it when we
    /// offered it as compatible (version_information) and the packet authenticates with that
    /// version's Initial keys (tried on a copy; the packet is processed normally afterwards).
    func acceptsCompatibleServerInitial(_ header: PacketHeader, datagram: UnsafeMutableRawBufferPointer) -> Bool {
        guard role == .client, header.kind == .initial, !compatibleVN.upgraded, configuration.sendsVersionInformation,
              !isHandshakeComplete, spaces[1].largestReceived == nil,
              availableVersions(chosen: version).contains(header.version),
              Self.areVersionsCompatible(version, header.version),
              let pv = ProtectionVersion(wireVersion: header.version.rawValue) else { return false }
        // A server that answered before it read the whole ClientHello (an ACK in the original
        // version) switches later: same SCID (RFC 9000 §7.2).
        if let peer = peerInitialSourceCID, header.scid != peer { return false }
        let keys = InitialSecrets.keys(version: pv, destinationConnectionID: retrySourceCID ?? originalDestinationCID)
        guard let trial = try? PacketProtector(keys: keys.server) else { return false }
        var copy = Array(UnsafeRawBufferPointer(rebasing: datagram[header.start..<header.end]))
        let pnOffset = header.packetNumberOffset - header.start
        guard (try? trial.unprotect(packet: &copy, pnOffset: pnOffset, largestPacketNumber: spaces[0].largestReceived)) != nil else {
            return false
        }
        do { try switchToCompatibleVersion(header.version, pv) } catch { return false }
        // RFC 9369 §4: no 0-RTT in the negotiated version; what was sent in 0-RTT is resent
        // in 1-RTT if it is lost or rejected.
        zeroRTTSend = nil
        return true
    }

    // MARK: Both

    /// The connection now speaks `next`: Initial keys of that version from the same DCID
    /// (RFC 9001 §5.2, RFC 9369 §3.3.1); Handshake and 1-RTT keys, derived later, use its
    /// labels (RFC 9369 §3.3.2). A server keeps the original Initial read keys (RFC 9369 §4).
    private func switchToCompatibleVersion(_ next: QuicVersion, _ pv: ProtectionVersion) throws {
        if role == .server { compatibleVN.originalInitialReceive = spaces[0].receiveKeys }
        compatibleVN.originalVersion = version
        version = next
        protectionVersion = pv
        try installInitialKeys(dcid: retrySourceCID ?? originalDestinationCID)
    }

    /// Whether a long header packet of `header.version` (not the connection's) may be read:
    /// a server reads the client's Initials and 0-RTT of the original version (RFC 9369 §4);
    /// a client may be switched by a server Initial (above).
    func acceptsOtherVersion(_ header: PacketHeader, datagram: UnsafeMutableRawBufferPointer) -> Bool {
        if role == .server {
            guard compatibleVN.upgraded, header.version == originalVersion else { return false }
            return header.kind == .initial || header.kind == .zeroRTT
        }
        return acceptsCompatibleServerInitial(header, datagram: datagram)
    }

    /// The keys that open a server's received Initial: the original version's for a packet
    /// in that version after an upgrade.
    func initialReceiveKeys(for header: PacketHeader, default keys: PacketProtector?) -> PacketProtector? {
        if role == .server, header.kind == .initial, compatibleVN.upgraded, header.version != version {
            return spaces[0].discarded ? nil : compatibleVN.originalInitialReceive
        }
        return keys
    }

    /// 0-RTT keys are those of the original version (RFC 9369 §4).
    var earlyDataProtectionVersion: ProtectionVersion {
        compatibleVN.originalVersion.flatMap { ProtectionVersion(wireVersion: $0.rawValue) } ?? protectionVersion
    }

    /// RFC 9368 §4: checks of the peer's version_information.
    func checkPeerVersionInformation(_ info: VersionInformation?) throws {
        if role == .server {
            // The client's Chosen Version is the version of its first flight.
            if let info, info.chosenVersion != originalVersion {
                throw QuicError(code: .versionNegotiationError, reason: "client chosen version differs from its first flight's")
            }
            return
        }
        guard let info else {
            // RFC 9368 §4: a client that reacted to Version Negotiation, or was switched to
            // another version, needs the server's version_information.
            if versionNegotiationVersions != nil || compatibleVN.upgraded {
                throw QuicError(code: .versionNegotiationError, reason: "server sent no version_information")
            }
            return
        }
        // RFC 9368 §4: the server's Chosen Version is the version in use.
        if info.chosenVersion != version {
            throw QuicError(code: .versionNegotiationError, reason: "server chosen version differs from the version in use")
        }
        if compatibleVN.upgraded {
            // RFC 9368 §2.3: only to a version we listed, compatible with the original.
            guard availableVersions(chosen: originalVersion).contains(version),
                  Self.areVersionsCompatible(originalVersion, version) else {
                throw QuicError(code: .versionNegotiationError, reason: "server upgraded to a version we did not offer")
            }
        }
        if versionNegotiationVersions != nil {
            // RFC 9368 §4: the version that drew the Version Negotiation packet cannot be the
            // server's, nor among its Available Versions (the VN packet lied) ...
            if let previous = compatibleVN.previousVersion, !previous.isReservedForNegotiation,
               info.chosenVersion == previous || info.availableVersions.contains(previous) {
                throw QuicError(code: .versionNegotiationError,
                                reason: "the server supports the version its Version Negotiation packet refused")
            }
            // ... and we would have picked the same version from the server's Available
            // Versions plus its Chosen Version.
            let listed = info.availableVersions + [info.chosenVersion]
            let preferred = configuration.versions.first {
                listed.contains($0) && !$0.isReservedForNegotiation && ProtectionVersion(wireVersion: $0.rawValue) != nil
            }
            if let preferred, preferred != version {
                throw QuicError(code: .versionNegotiationError,
                                reason: "the server's available versions do not match its Version Negotiation packet")
            }
        }
    }
}
