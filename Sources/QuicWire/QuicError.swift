// The typed error of the QUIC stack: a transport error code (RFC 9000 §20.1), the frame type
// that triggered it (carried in CONNECTION_CLOSE 0x1c, RFC 9000 §19.19) and a reason phrase.
// Decoders in QuicWire throw it with `throws(QuicError)` so no existential box is allocated.

/// A QUIC transport error code (RFC 9000 §20.1). A struct rather than an enum because a
/// peer may send any 62-bit value in CONNECTION_CLOSE and we must carry it unchanged.
public struct TransportErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64

    @inlinable public init(rawValue: UInt64) { self.rawValue = rawValue }
    @inlinable public init(_ rawValue: UInt64) { self.rawValue = rawValue }

    // RFC 9000 §20.1
    public static let noError = TransportErrorCode(0x00)
    public static let internalError = TransportErrorCode(0x01)
    public static let connectionRefused = TransportErrorCode(0x02)
    public static let flowControlError = TransportErrorCode(0x03)
    public static let streamLimitError = TransportErrorCode(0x04)
    public static let streamStateError = TransportErrorCode(0x05)
    public static let finalSizeError = TransportErrorCode(0x06)
    public static let frameEncodingError = TransportErrorCode(0x07)
    public static let transportParameterError = TransportErrorCode(0x08)
    public static let connectionIDLimitError = TransportErrorCode(0x09)
    public static let protocolViolation = TransportErrorCode(0x0a)
    public static let invalidToken = TransportErrorCode(0x0b)
    public static let applicationError = TransportErrorCode(0x0c)
    public static let cryptoBufferExceeded = TransportErrorCode(0x0d)
    public static let keyUpdateError = TransportErrorCode(0x0e)
    public static let aeadLimitReached = TransportErrorCode(0x0f)
    public static let noViablePath = TransportErrorCode(0x10)
    // RFC 9368 §4
    public static let versionNegotiationError = TransportErrorCode(0x11)

    /// CRYPTO_ERROR (RFC 9000 §20.1): 0x0100 plus the TLS alert description (RFC 9001 §4.8).
    @inlinable public static func cryptoError(alert: UInt8) -> TransportErrorCode {
        TransportErrorCode(0x100 | UInt64(alert))
    }

    /// True for the CRYPTO_ERROR range 0x0100-0x01ff.
    @inlinable public var isCryptoError: Bool { rawValue & ~0xff == 0x100 }

    /// The TLS alert carried by a CRYPTO_ERROR code, nil otherwise.
    @inlinable public var tlsAlert: UInt8? { isCryptoError ? UInt8(truncatingIfNeeded: rawValue) : nil }

    public var description: String {
        switch rawValue {
        case 0x00: return "NO_ERROR"
        case 0x01: return "INTERNAL_ERROR"
        case 0x02: return "CONNECTION_REFUSED"
        case 0x03: return "FLOW_CONTROL_ERROR"
        case 0x04: return "STREAM_LIMIT_ERROR"
        case 0x05: return "STREAM_STATE_ERROR"
        case 0x06: return "FINAL_SIZE_ERROR"
        case 0x07: return "FRAME_ENCODING_ERROR"
        case 0x08: return "TRANSPORT_PARAMETER_ERROR"
        case 0x09: return "CONNECTION_ID_LIMIT_ERROR"
        case 0x0a: return "PROTOCOL_VIOLATION"
        case 0x0b: return "INVALID_TOKEN"
        case 0x0c: return "APPLICATION_ERROR"
        case 0x0d: return "CRYPTO_BUFFER_EXCEEDED"
        case 0x0e: return "KEY_UPDATE_ERROR"
        case 0x0f: return "AEAD_LIMIT_REACHED"
        case 0x10: return "NO_VIABLE_PATH"
        case 0x11: return "VERSION_NEGOTIATION_ERROR"
        default:
            if let alert = tlsAlert { return "CRYPTO_ERROR(\(alert))" }
            return "0x" + String(rawValue, radix: 16)
        }
    }
}

/// A connection error: the code and frame type to put in CONNECTION_CLOSE (RFC 9000 §10.2,
/// §19.19) and a human readable reason.
public struct QuicError: Error, Equatable, Sendable, CustomStringConvertible {
    public var code: TransportErrorCode
    /// The type of the frame that triggered the error, if any (RFC 9000 §19.19).
    public var frameType: UInt64?
    public var reason: String

    @inlinable
    public init(code: TransportErrorCode, frameType: UInt64? = nil, reason: String = "") {
        self.code = code
        self.frameType = frameType
        self.reason = reason
    }

    @inlinable public static func frameEncoding(_ frameType: UInt64?, _ reason: String) -> QuicError {
        QuicError(code: .frameEncodingError, frameType: frameType, reason: reason)
    }

    @inlinable public static func protocolViolation(_ frameType: UInt64?, _ reason: String) -> QuicError {
        QuicError(code: .protocolViolation, frameType: frameType, reason: reason)
    }

    @inlinable public static func transportParameter(_ reason: String) -> QuicError {
        QuicError(code: .transportParameterError, frameType: nil, reason: reason)
    }

    public var description: String {
        var s = code.description
        if let t = frameType { s += " (frame 0x" + String(t, radix: 16) + ")" }
        if !reason.isEmpty { s += ": " + reason }
        return s
    }
}
