// Packing a producer's datagrams into GSO sends. A sender that writes one datagram at a time
// (a QUIC connection's poll-transmit) hands this loop a closure; consecutive datagrams of the
// same size for the same peer are written back to back into one send buffer and queued as one
// message with that segment size, which the kernel cuts (UDP_SEGMENT) or, without GSO, the
// send queue splits into one message per datagram. One syscall and one pass through the stack
// then carry up to 64 datagrams instead of one each.

extension UDPSocket {
    /// Most datagrams packed into one buffer (the kernel's UDP_MAX_SEGMENTS is 64).
    public static let maxBatchedDatagrams = 64

    /// Calls `next` until it returns nil, each time with room for one datagram, and queues
    /// what it wrote. `next` writes one datagram at the start of the buffer it is given and
    /// returns its length and destination (a length of 0 means "nothing written, try again"
    /// is not allowed: return nil to stop). A datagram that is exactly `fullSize` bytes starts
    /// or continues a batch: the next datagram is then offered exactly `fullSize` bytes right
    /// after it in the same buffer, and joins the batch if it goes to the same peer (a shorter
    /// one ends the batch as its last segment, as UDP_SEGMENT allows). A datagram for another
    /// peer is moved to a buffer of its own.
    ///
    /// Returns the number of datagrams queued. Stops early (returning what was queued) when no
    /// send buffer can be freed by a flush.
    @discardableResult
    public func sendBatched(fullSize: Int,
                            _ next: (UnsafeMutableRawBufferPointer) -> (length: Int, to: UDPAddress)?) -> Int {
        sendBatched(fullSize: fullSize) { buffer in next(buffer).map { ($0.length, $0.to, ECNCodepoint.notECT) } }
    }

    /// `sendBatched` for datagrams that carry an ECN codepoint each (RFC 9000 §13.4): a batch
    /// holds datagrams of one codepoint (the ancillary data is per message).
    /// `source`: the local address every datagram of this call leaves from (IP_PKTINFO /
    /// IPV6_PKTINFO), for a socket bound to a wildcard address; nil lets the kernel choose.
    @discardableResult
    public func sendBatched(fullSize: Int, from source: UDPAddress? = nil,
                            _ next: (UnsafeMutableRawBufferPointer) -> (length: Int, to: UDPAddress, ecn: ECNCodepoint)?) -> Int {
        var queued = 0
        let maxSegments = Swift.max(1, Swift.min(features.maxGSOSegments, Self.maxBatchedDatagrams))
        var carried: (length: Int, to: UDPAddress, ecn: ECNCodepoint, from: UnsafeMutableRawPointer)? = nil
        while true {
            guard let buffer = reserveOrFlush(), let base = buffer.baseAddress else { return queued }
            var used = 0
            var segment = 0
            var count = 0
            var destination = UDPAddress.anyIPv4()
            var ecn = ECNCodepoint.notECT
            if let c = carried {
                // A datagram for another peer written at the end of the previous buffer: move it.
                base.copyMemory(from: c.from, byteCount: c.length)
                used = c.length; segment = c.length; count = 1; destination = c.to; ecn = c.ecn
                carried = nil
            } else {
                guard let first = next(buffer), first.length > 0, first.length <= buffer.count else { return queued }
                used = first.length; segment = first.length; count = 1; destination = first.to; ecn = first.ecn
            }
            var ended = false
            // Continue the batch while datagrams come full-size to the same peer.
            while segment == fullSize, count < maxSegments,
                  used + segment <= Swift.min(buffer.count, SendQueue.maxGSOBytes) {
                let slot = UnsafeMutableRawBufferPointer(start: base + used, count: segment)
                guard let d = next(slot) else { ended = true; break }
                guard d.length > 0, d.length <= segment else { ended = true; break }
                if d.to != destination || d.ecn != ecn {
                    carried = (d.length, d.to, d.ecn, base + used)
                    break
                }
                used += d.length
                count += 1
                if d.length < segment { break }  // a shorter datagram is the batch's last segment
            }
            guard commitSend(length: used, to: destination, from: source, ecn: ecn, segmentSize: count > 1 ? segment : 0) else {
                return queued
            }
            queued += count
            if ended { return queued }
        }
    }

    /// A free send buffer, flushing the queue once if none is free.
    private func reserveOrFlush() -> UnsafeMutableRawBufferPointer? {
        if let b = reserveSendBuffer() { return b }
        _ = try? flush()
        return reserveSendBuffer()
    }
}
