// Stateless Reset packets (RFC 9000 §10.3): they look like short header packets and end with
// the 16-byte stateless reset token.

public enum StatelessReset {
    /// The smallest datagram that can be a Stateless Reset: the first byte and 4 more bytes
    /// carry at least 38 unpredictable bits, then the 16-byte token: 21 bytes (RFC 9000 §10.3).
    public static let minimumLength = 21

    /// The token candidate of a received datagram: its last 16 bytes, if the datagram is
    /// long enough and starts with a short header form bit (RFC 9000 §10.3.1). The caller
    /// compares it, in constant time (`==` of `StatelessResetToken` or `ConstantTime.equal`),
    /// to the tokens of its peer's connection IDs (RFC 9000 §10.3.1).
    @inlinable
    public static func candidateToken(in datagram: UnsafeRawBufferPointer) -> StatelessResetToken? {
        guard datagram.count >= minimumLength, datagram[0] & 0x80 == 0 else { return nil }
        return StatelessResetToken(UnsafeRawBufferPointer(rebasing: datagram[(datagram.count - 16)...]))
    }

    /// Writes a Stateless Reset of `unpredictableBytes.count + 16` bytes: first byte
    /// 0b01xxxxxx (RFC 9000 §10.3: fixed bit 1, form 0, the rest unpredictable), then the
    /// unpredictable bytes and the token. `unpredictableBytes` must be at least 5 bytes of
    /// random data supplied by the caller (the first of them provides the first byte's
    /// low 6 bits).
    public static func write(
        token: StatelessResetToken, unpredictableBytes: UnsafeRawBufferPointer, into w: inout WireWriter
    ) throws(BufferTooSmall) {
        guard unpredictableBytes.count >= 5 else { throw BufferTooSmall() }
        let start = w.position
        do throws(BufferTooSmall) {
            try w.writeUInt8(0x40 | (unpredictableBytes[0] & 0x3f))
            try w.writeBytes(UnsafeRawBufferPointer(rebasing: unpredictableBytes[1...]))
            try w.writeStatelessResetToken(token)
        } catch {
            w.position = start
            throw error
        }
    }
}
