/// TLSPlaintext / TLSCiphertext framing over a TCP connection (RFC 8446 §5.1–§5.2), just
/// enough to carry a TLS 1.3 handshake and a little application data to and from OpenSSL.
final class RecordStream {
    let connection: TCPConnection
    /// Set when the handshake installs new traffic secrets.
    var readProtection: RecordProtection?
    var writeProtection: RecordProtection?
    /// Whether the first plaintext record has been written (RFC 8446 §5.1: the initial
    /// ClientHello may use legacy_record_version 0x0301, everything else 0x0303).
    private var wroteFirstRecord = false

    init(_ connection: TCPConnection) { self.connection = connection }

    /// Writes handshake bytes as one or more records, protected if write keys are set.
    func writeHandshake(_ bytes: [UInt8]) throws {
        try write(.handshake, bytes)
    }

    func writeApplicationData(_ bytes: [UInt8]) throws {
        guard writeProtection != nil else { throw RecordLayerError("application data before keys") }
        try write(.applicationData, bytes)
    }

    /// close_notify (RFC 8446 §6.1), a warning-level alert.
    func writeCloseNotify() throws { try write(.alert, [1, 0]) }

    /// A fatal alert (RFC 8446 §6: every alert but close_notify/user_canceled is fatal).
    func writeFatalAlert(_ description: UInt8) throws { try write(.alert, [2, description]) }

    private func write(_ type: RecordContentType, _ bytes: [UInt8]) throws {
        var offset = 0
        repeat {
            let end = min(bytes.count, offset + 16384)
            let fragment = Array(bytes[offset..<end])
            if let p = writeProtection {
                try connection.write(p.seal(type, fragment))
            } else {
                let version: UInt8 = wroteFirstRecord ? 0x03 : 0x01
                try connection.write([type.rawValue, 0x03, version,
                                      UInt8(fragment.count >> 8), UInt8(fragment.count & 0xFF)] + fragment)
            }
            wroteFirstRecord = true
            offset = end
        } while offset < bytes.count
    }

    /// Reads the next record that carries something: change_cipher_spec records are
    /// skipped (RFC 8446 §5: a peer in middlebox compatibility mode sends one, it is
    /// ignored), protected records are opened. Returns nil at a clean end of stream.
    func readRecord() throws -> (RecordContentType, [UInt8])? {
        while true {
            let header: [UInt8]
            do {
                header = try connection.read(exactly: 5)
            } catch let e as RecordLayerError where e.description.hasPrefix("connection closed after 0/") {
                return nil
            }
            let length = Int(header[3]) << 8 | Int(header[4])
            guard length <= 16384 + 256 else { throw RecordLayerError("record_overflow: \(length)") }
            let body = try connection.read(exactly: length)
            guard let type = RecordContentType(rawValue: header[0]) else {
                throw RecordLayerError("unknown record type \(header[0])")
            }
            if type == .changeCipherSpec {
                guard body == [1] else { throw RecordLayerError("bad change_cipher_spec") }
                continue
            }
            if let p = readProtection {
                guard type == .applicationData else {
                    if type == .alert, body.count == 2 {
                        throw RecordLayerError("peer sent plaintext alert \(body[1]) after keys")
                    }
                    throw RecordLayerError("unprotected \(type) record after keys")
                }
                let (innerType, content) = try p.open(header: header, body: body)
                if innerType == .alert, content.count == 2, content[1] == 0 { return nil } // close_notify
                return (innerType, content)
            }
            return (type, body)
        }
    }
}
