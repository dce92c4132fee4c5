import CCrypto
import QuicCrypto

/// Why ticket keys were refused.
public enum TicketKeyError: Error, Equatable, Sendable {
    /// The key id is not 16 bytes.
    case badIdentifierLength(Int)
    /// The material is empty or longer than 64 bytes.
    case badMaterialLength(Int)
    /// A ring needs at least one key.
    case noKeys
    /// Two keys share an id, so a ticket could not say which one sealed it.
    case duplicateIdentifier
    /// The system random generator failed.
    case randomFailure
}

/// One session ticket encryption key, as an application configures it with
/// QUIC_PARAM_CONFIGURATION_TICKET_KEYS: a QUIC_TICKET_KEY_CONFIG
/// `{ uint8_t Id[16]; uint8_t Material[64]; uint8_t MaterialLength; }`.
/// The id travels in the clear in every ticket so that the right key can be found;
/// the AEAD key is derived from the material (the material itself is never used as a key).
public struct TicketKey: Sendable, Equatable {
    public static let identifierLength = 16
    public static let maxMaterialLength = 64

    public let id: [UInt8]
    public let material: [UInt8]

    public init(id: [UInt8], material: [UInt8]) throws {
        guard id.count == TicketKey.identifierLength else {
            throw TicketKeyError.badIdentifierLength(id.count)
        }
        guard (1...TicketKey.maxMaterialLength).contains(material.count) else {
            throw TicketKeyError.badMaterialLength(material.count)
        }
        self.id = id
        self.material = material
    }

    /// A key with a random id and 32 bytes of random material, for configurations that
    /// set no ticket keys (tickets then only resume on the same process).
    public static func random() throws -> TicketKey {
        try TicketKey(id: randomBytes(identifierLength), material: randomBytes(32))
    }

    /// The AES-256-GCM key: HKDF-SHA256 (RFC 5869) of the material, salted with a fixed
    /// label and bound to the key id.
    var aeadKey: [UInt8] {
        let prk = HKDF.extract(.sha256, salt: Array("swiftquic session ticket".utf8), ikm: material)
        return HKDF.expand(.sha256, prk: prk, info: Array("aes-256-gcm key".utf8) + id, length: 32)
    }
}

/// `count` bytes from libcrypto's CSPRNG.
func randomBytes(_ count: Int) throws -> [UInt8] {
    var out = [UInt8](repeating: 0, count: count)
    let ok = out.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32($0.count)) }
    guard ok == 1 else {
        ERR_clear_error()
        throw TicketKeyError.randomFailure
    }
    return out
}
