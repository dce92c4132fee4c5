// Splitting a UDP datagram into its coalesced QUIC packets (RFC 9000 §12.2).
//
// Long header packets with a Length field (Initial, 0-RTT, Handshake) can be followed by
// further packets; the Length covers the packet number and payload, so the split works before
// header protection is removed. Short header, Retry, Version Negotiation and unknown-version
// packets extend to the end of the datagram.

public struct CoalescedPackets {
    public let datagram: UnsafeRawBufferPointer
    public let shortHeaderDCIDLength: Int
    public let allowFixedBitZero: Bool
    /// Where the next packet starts.
    public private(set) var position: Int = 0
    @usableFromInline var firstDCIDRange: Range<Int>? = nil

    public init(_ datagram: UnsafeRawBufferPointer, shortHeaderDCIDLength: Int, allowFixedBitZero: Bool = false) {
        self.datagram = datagram
        self.shortHeaderDCIDLength = shortHeaderDCIDLength
        self.allowFixedBitZero = allowFixedBitZero
    }

    /// The next packet header, nil at the end of the datagram. After an error the rest of
    /// the datagram is abandoned (RFC 9000 §12.2: the packets already returned stay valid)
    /// and further calls return nil.
    public mutating func next() throws(PacketHeaderError) -> PacketHeader? {
        guard position < datagram.count else { return nil }
        let header: PacketHeader
        do {
            header = try PacketHeader.parse(
                datagram, at: position, shortHeaderDCIDLength: shortHeaderDCIDLength,
                allowFixedBitZero: allowFixedBitZero)
        } catch {
            position = datagram.count
            throw error
        }
        // RFC 9000 §12.2: packets after the first with a different Destination Connection
        // ID SHOULD be ignored.
        if let first = firstDCIDRange {
            let a = UnsafeRawBufferPointer(rebasing: datagram[first])
            let b = UnsafeRawBufferPointer(rebasing: datagram[header.dcidRange])
            if !a.elementsEqual(b) {
                position = datagram.count
                throw .coalescedConnectionIDMismatch
            }
        } else {
            firstDCIDRange = header.dcidRange
        }
        position = header.end
        return header
    }
}
