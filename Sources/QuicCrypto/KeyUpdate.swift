// Key update (RFC 9001 §6): the Key Phase bit, and the set of 1-RTT keys an endpoint keeps
// across updates: send keys of the current phase, receive keys of the previous, current and
// next phase (next ones computed ahead, RFC 9001 §6.3 and §9.5), and header protection keys
// that never change (RFC 9001 §6.1).

/// The Key Phase bit of a short header (RFC 9000 §17.3.1, RFC 9001 §6). Read it only after
/// header protection is removed.
public enum KeyPhase {
    public static let bit: UInt8 = 0x04

    /// The key phase of an unprotected short header first byte.
    @inlinable
    public static func isSet(firstByte: UInt8) -> Bool { firstByte & bit != 0 }

    /// `firstByte` with its key phase bit set to `phase`.
    @inlinable
    public static func setting(_ phase: Bool, in firstByte: UInt8) -> UInt8 {
        phase ? firstByte | bit : firstByte & ~bit
    }
}

/// The 1-RTT packet protection of a connection across key updates (RFC 9001 §6).
///
/// Not thread-safe; confined to the connection's worker.
///
/// Sendable (unchecked): only so a connection can be created on one thread and handed to its
/// worker; from then on every use is on that worker (a QuicCore `Connection` and everything it
/// owns is confined to the worker of its API object, see SwiftQuic/ConnectionObject.swift).
public final class OneRTTKeys: @unchecked Sendable {
    /// Which receive key matched a packet's key phase.
    public enum ReceiveKey: Sendable, Equatable {
        case previous, current, next
    }

    /// The current key phase bit (false for the keys TLS produced, RFC 9001 §6).
    public private(set) var keyPhase = false
    /// Number of key updates since the handshake.
    public private(set) var generation: UInt64 = 0
    public let sendHeaderProtection: HeaderProtection
    public let receiveHeaderProtection: HeaderProtection
    public private(set) var sendAEAD: PacketAEAD
    public private(set) var currentReceiveAEAD: PacketAEAD
    /// Keys of the phase before the current one, kept until `discardPreviousReceiveKeys`
    /// (RFC 9001 §6.5 suggests about three PTO).
    public private(set) var previousReceiveAEAD: PacketAEAD?
    /// Keys of the next phase, derived ahead so that a peer's update causes no timing signal
    /// (RFC 9001 §6.3, §9.5).
    public private(set) var nextReceiveAEAD: PacketAEAD
    /// The lowest packet number authenticated with the current receive keys, if any.
    public private(set) var lowestPacketNumberInCurrentPhase: UInt64?

    private var sendKeys: PacketProtectionKeys
    private var receiveKeys: PacketProtectionKeys
    private var nextReceiveKeys: PacketProtectionKeys

    /// `sendKeys`/`receiveKeys` come from the client/server application traffic secrets.
    public init(sendKeys: PacketProtectionKeys, receiveKeys: PacketProtectionKeys) throws(PacketProtectionError) {
        self.sendKeys = sendKeys
        self.receiveKeys = receiveKeys
        self.nextReceiveKeys = receiveKeys.nextGeneration()
        self.sendHeaderProtection = try HeaderProtection(keys: sendKeys)
        self.receiveHeaderProtection = try HeaderProtection(keys: receiveKeys)
        self.sendAEAD = try PacketAEAD(keys: sendKeys)
        self.currentReceiveAEAD = try PacketAEAD(keys: receiveKeys)
        self.nextReceiveAEAD = try PacketAEAD(keys: nextReceiveKeys)
    }

    /// The receive key to try for a packet with key phase bit `phase` and (decoded) packet
    /// number `packetNumber` (RFC 9001 §6.3, §6.5): the current keys if the phase matches;
    /// otherwise, while the previous keys are kept, the previous keys for a packet older than
    /// every packet of the current phase (or for any packet before the first one of the
    /// current phase arrived: after we initiate an update the peer keeps sending in the old
    /// phase until it sees ours, and it cannot move two phases ahead before we acknowledged a
    /// packet of the current one, RFC 9001 §6.1); else the next keys.
    public func receiveKey(keyPhase phase: Bool, packetNumber: UInt64) -> ReceiveKey {
        if phase == keyPhase { return .current }
        if previousReceiveAEAD != nil {
            guard let lowest = lowestPacketNumberInCurrentPhase else { return .previous }
            if packetNumber < lowest { return .previous }
        }
        return .next
    }

    /// The AEAD for a `receiveKey` answer, nil if the previous keys were discarded.
    public func aead(for key: ReceiveKey) -> PacketAEAD? {
        switch key {
        case .previous: return previousReceiveAEAD
        case .current: return currentReceiveAEAD
        case .next: return nextReceiveAEAD
        }
    }

    /// Records that a packet was authenticated with `key`. A packet authenticated with the next
    /// keys is the peer's key update: we update too (RFC 9001 §6.2).
    public func packetAuthenticated(with key: ReceiveKey, packetNumber: UInt64) throws(PacketProtectionError) {
        switch key {
        case .previous:
            return
        case .current:
            if let lowest = lowestPacketNumberInCurrentPhase, lowest <= packetNumber { return }
            lowestPacketNumberInCurrentPhase = packetNumber
        case .next:
            try update()
            lowestPacketNumberInCurrentPhase = packetNumber
        }
    }

    /// Moves both directions to the next key phase (RFC 9001 §6.1 when we initiate, §6.2 when
    /// responding): send and receive keys from the "ku" secrets, header protection unchanged,
    /// the old receive keys kept as previous, and the following receive keys derived ahead.
    /// The caller must respect RFC 9001 §6.1: no new update before the peer acknowledged a
    /// packet of the current phase.
    public func update() throws(PacketProtectionError) {
        let newSendKeys = sendKeys.nextGeneration()
        let newSendAEAD = try PacketAEAD(keys: newSendKeys)
        let followingKeys = nextReceiveKeys.nextGeneration()
        let followingAEAD = try PacketAEAD(keys: followingKeys)
        sendKeys = newSendKeys
        sendAEAD = newSendAEAD
        previousReceiveAEAD = currentReceiveAEAD
        currentReceiveAEAD = nextReceiveAEAD
        receiveKeys = nextReceiveKeys
        nextReceiveKeys = followingKeys
        nextReceiveAEAD = followingAEAD
        keyPhase.toggle()
        generation &+= 1
        lowestPacketNumberInCurrentPhase = nil
    }

    /// Drops the previous phase's receive keys (RFC 9001 §6.5: some time after the update).
    public func discardPreviousReceiveKeys() {
        previousReceiveAEAD = nil
    }
}
