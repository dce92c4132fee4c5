// Batched send: outgoing datagrams are written straight into preallocated buffers, queued,
// and flushed with sendmmsg; a buffer holding several same-size datagrams for one peer goes
// out as one UDP GSO message (UDP_SEGMENT) where the kernel has it, else one message per
// datagram. ECN and source address ride along as ancillary data per message.
import CPlatform
import Glibc

struct PendingSend {
    var length = 0
    /// Bytes per datagram inside the buffer (== length for a single datagram).
    var segmentSize = 0
    var to = UDPAddress.anyIPv4()
    var from = UDPAddress.anyIPv4()
    var hasFrom = false
    var ecn = ECNCodepoint.notECT
    /// Bytes already handed to the kernel (a buffer can leave over several sendmmsg calls).
    var sentOffset = 0
}

/// One message of a sendmmsg batch: which queue entry it came from and how far it reaches.
struct PlannedMessage {
    var entry = 0
    var endOffset = 0
    var datagrams = 0
    var usesGSO = false
}

final class SendQueue {
    let bufferCount: Int
    let bufferSize: Int
    let batchSize: Int
    let data: UnsafeMutableRawPointer
    let entries: UnsafeMutablePointer<PendingSend>
    var head = 0
    var count = 0
    /// The kernel refused the head buffer as one GSO message: send it datagram by datagram.
    var splitHead = false
    /// Most payload bytes in one GSO message: the segments travel as one UDP datagram of at
    /// most 65,535 bytes inside the stack (IPv4: 65,507 of payload), kept below that.
    static let maxGSOBytes = 65_000

    static var controlSpace: Int {
        let s = cplatform_cmsg_space(MemoryLayout<UInt16>.size)
            + cplatform_cmsg_space(MemoryLayout<Int32>.size)
            + cplatform_cmsg_space(max(MemoryLayout<cplatform_in_pktinfo>.size, MemoryLayout<cplatform_in6_pktinfo>.size))
        return (s + 7) & ~7
    }
    let controlSize = SendQueue.controlSpace
    let headers: UnsafeMutablePointer<cplatform_mmsghdr>
    let iovecs: UnsafeMutablePointer<iovec>
    let names: UnsafeMutablePointer<sockaddr_storage>
    let control: UnsafeMutableRawPointer
    let plan: UnsafeMutablePointer<PlannedMessage>

    init(bufferCount: Int, bufferSize: Int, batchSize: Int) {
        self.bufferCount = bufferCount
        self.bufferSize = bufferSize
        self.batchSize = batchSize
        data = .allocate(byteCount: bufferCount * bufferSize, alignment: 16)
        entries = .allocate(capacity: bufferCount)
        entries.initialize(repeating: PendingSend(), count: bufferCount)
        headers = .allocate(capacity: batchSize)
        headers.initialize(repeating: cplatform_mmsghdr(), count: batchSize)
        iovecs = .allocate(capacity: batchSize)
        iovecs.initialize(repeating: iovec(), count: batchSize)
        names = .allocate(capacity: batchSize)
        names.initialize(repeating: sockaddr_storage(), count: batchSize)
        control = .allocate(byteCount: batchSize * controlSize, alignment: 8)
        plan = .allocate(capacity: batchSize)
        plan.initialize(repeating: PlannedMessage(), count: batchSize)
    }

    deinit {
        data.deallocate()
        entries.deinitialize(count: bufferCount)
        entries.deallocate()
        headers.deallocate()
        iovecs.deallocate()
        names.deinitialize(count: batchSize)
        names.deallocate()
        control.deallocate()
        plan.deallocate()
    }

    var tail: Int { (head + count) % bufferCount }

    func pop() {
        splitHead = false
        entries[head].sentOffset = 0
        head = (head + 1) % bufferCount
        count -= 1
    }
}

extension UDPSocket {
    /// Datagram buffers queued and not yet handed to the kernel.
    public var pendingSendCount: Int { sendQueue.count }

    /// The buffer the next outgoing datagram(s) go into, or nil when every buffer is queued
    /// (flush first). Write the bytes, then `commitSend`. Calling it again without a commit
    /// returns the same buffer.
    public func reserveSendBuffer() -> UnsafeMutableRawBufferPointer? {
        let q = sendQueue
        guard q.count < q.bufferCount else { return nil }
        return UnsafeMutableRawBufferPointer(start: q.data + q.tail * q.bufferSize, count: q.bufferSize)
    }

    /// Queues the first `length` bytes of the reserved buffer for `remote`.
    /// - segmentSize: when > 0 and smaller than `length`, the buffer holds back-to-back
    ///   datagrams of `segmentSize` bytes (the last may be shorter) for the same peer, sent with
    ///   GSO where available and one by one otherwise.
    /// - source: the local address to send from (for a socket bound to a wildcard address);
    ///   nil lets the kernel choose.
    /// Returns false (and queues nothing) for a bad length, an address the socket cannot
    /// reach, or a full queue.
    @discardableResult
    public func commitSend(length: Int, to remote: UDPAddress, from source: UDPAddress? = nil,
                           ecn: ECNCodepoint = .notECT, segmentSize: Int = 0) -> Bool {
        let q = sendQueue
        guard q.count < q.bufferCount, length >= 0, length <= q.bufferSize, segmentSize >= 0 else { return false }
        guard remote.family == .ipv4 || isIPv6Socket else { return false }
        if let source, source.family == .ipv6 && !isIPv6Socket { return false }
        var entry = PendingSend()
        entry.length = length
        entry.segmentSize = segmentSize > 0 && segmentSize < length ? segmentSize : length
        entry.to = remote
        if let source { entry.from = source; entry.hasFrom = true }
        entry.ecn = ecn
        q.entries[q.tail] = entry
        q.count += 1
        if !flushScheduled, let worker {
            flushScheduled = true
            worker.scheduleFlush(self)
        }
        return true
    }

    /// Copies `bytes` into a send buffer and queues it (a convenience over reserve + commit).
    @discardableResult
    public func send(_ bytes: UnsafeRawBufferPointer, to remote: UDPAddress, from source: UDPAddress? = nil,
                     ecn: ECNCodepoint = .notECT, segmentSize: Int = 0) -> Bool {
        guard let buffer = reserveSendBuffer(), bytes.count <= buffer.count else { return false }
        if let base = bytes.baseAddress, let target = buffer.baseAddress, bytes.count > 0 {
            target.copyMemory(from: base, byteCount: bytes.count)
        }
        return commitSend(length: bytes.count, to: remote, from: source, ecn: ecn, segmentSize: segmentSize)
    }

    /// Hands queued datagrams to the kernel with sendmmsg until the queue is empty (true) or
    /// the socket would block (false; the rest stays queued). Datagrams the kernel refuses
    /// (EMSGSIZE, unreachable, ...) are dropped and counted, as the network would drop them.
    /// Throws only when the socket itself is unusable (the queue is then discarded).
    @discardableResult
    public func flush() throws(PlatformError) -> Bool {
        let q = sendQueue
        var reportedPending = false
        while q.count > 0 {
            guard fileDescriptor >= 0 else {
                discardQueuedSends()
                throw .system(.sendmmsg, errno: EBADF)
            }
            let n = buildBatch()
            let rc = sendmmsgCall(fileDescriptor, q.headers, UInt32(n), Int32(MSG_DONTWAIT))
            if rc > 0 {
                consume(Int(rc), dropped: false)
                continue
            }
            if rc == 0 { return false }
            let code = errno
            switch code {
            case EINTR:
                continue
            case EAGAIN, EWOULDBLOCK:
                return false
            case EIO where q.plan[0].usesGSO:
                // The egress device cannot segment (no checksum offload): stop using GSO.
                features.gso = false
            case _ where (code == EMSGSIZE || code == EINVAL) && q.plan[0].usesGSO && !q.splitHead:
                // Refused as a whole (too long, segment above the MTU, ...): retry this buffer
                // one datagram per message so only the datagrams that are really bad are lost.
                q.splitHead = true
            case _ where connectedPeer != nil && UDPSocket.isICMPError(code) && !reportedPending:
                // The kernel returned an ICMP error pending from an earlier datagram and sent
                // nothing: keep it for the handler and try the same messages again.
                pendingUnreachable = code
                reportedPending = true
            case EBADF, ENOTSOCK, EFAULT, EOPNOTSUPP:
                discardQueuedSends()
                throw .system(.sendmmsg, errno: code)
            default:
                // EMSGSIZE, ECONNREFUSED (ICMP), EHOSTUNREACH, ENETUNREACH, EACCES, EPERM (firewall),
                // EINVAL, EADDRNOTAVAIL, ENOBUFS, ...: the first message is lost, go on.
                statistics.lastSendErrno = code
                consume(1, dropped: true)
            }
        }
        return true
    }

    func discardQueuedSends() {
        let q = sendQueue
        while q.count > 0 { q.pop() }
    }

    /// Fills the mmsghdr batch from the head of the queue; returns the number of messages.
    private func buildBatch() -> Int {
        let q = sendQueue
        let gso = features.gso
        let maxSegments = max(1, features.maxGSOSegments)
        var n = 0
        var index = q.head
        var offset = q.entries[index].sentOffset
        var remainingEntries = q.count
        while n < q.batchSize && remainingEntries > 0 {
            let e = q.entries[index]
            let left = e.length - offset
            let segment = max(e.segmentSize, 1)
            var chunk: Int
            var usesGSO = false
            if gso && left > segment && !(q.splitHead && index == q.head) {
                // UDP GSO: one message, the kernel cuts it at `segment` bytes (RFC 9000 §14: each
                // piece is one QUIC datagram, so the cut points matter).
                let fit = max(1, min(maxSegments, SendQueue.maxGSOBytes / segment))
                chunk = min(left, segment * fit)
                usesGSO = chunk > segment
            } else {
                chunk = min(left, segment)
            }
            if e.length == 0 { chunk = 0 }
            let header = q.headers + n
            q.iovecs[n] = iovec(iov_base: q.data + index * q.bufferSize + offset, iov_len: chunk)
            let destination = isIPv6Socket ? e.to.mappedToIPv6 : e.to
            let nameLength = destination.write(to: q.names + n)
            let controlLength = writeControl(q.control + n * q.controlSize, entry: e,
                                             segmentSize: usesGSO ? segment : 0)
            header.pointee.msg_hdr = msghdr(
                msg_name: UnsafeMutableRawPointer(q.names + n), msg_namelen: nameLength,
                msg_iov: q.iovecs + n, msg_iovlen: 1,
                msg_control: controlLength > 0 ? q.control + n * q.controlSize : nil,
                msg_controllen: controlLength, msg_flags: 0)
            header.pointee.msg_len = 0
            offset += chunk
            q.plan[n] = PlannedMessage(entry: index, endOffset: offset,
                                       datagrams: usesGSO ? (chunk + segment - 1) / segment : 1,
                                       usesGSO: usesGSO)
            n += 1
            if offset >= e.length {
                index = (index + 1) % q.bufferCount
                offset = 0
                remainingEntries -= 1
            }
        }
        return n
    }

    /// Writes UDP_SEGMENT, ECN and source-address ancillary data; returns its length.
    private func writeControl(_ base: UnsafeMutableRawPointer, entry e: PendingSend, segmentSize: Int) -> Int {
        var offset = 0
        func add(level: Int32, type: Int32, length: Int, _ fill: (UnsafeMutableRawPointer) -> Void) {
            let cmsg = (base + offset).assumingMemoryBound(to: cmsghdr.self)
            cmsg.pointee.cmsg_len = cplatform_cmsg_len(length)
            cmsg.pointee.cmsg_level = level
            cmsg.pointee.cmsg_type = type
            let payload = UnsafeMutableRawPointer(cplatform_cmsg_data(cmsg)!)
            fill(payload)
            offset += cplatform_cmsg_space(length)
        }
        if segmentSize > 0 {
            add(level: cplatform_sol_udp(), type: cplatform_udp_segment(), length: 2) {
                $0.storeBytes(of: UInt16(truncatingIfNeeded: segmentSize), as: UInt16.self)
            }
        }
        // IPv4 peers (also when reached through a dual-stack IPv6 socket) take IP-level options.
        let v4 = e.to.family == .ipv4
        if e.ecn != .notECT {
            // RFC 9000 §13.4: the ECN codepoint is set per packet in the IP header.
            add(level: v4 ? Int32(IPPROTO_IP) : Int32(IPPROTO_IPV6), type: v4 ? cplatform_ip_tos() : cplatform_ipv6_tclass(),
                length: 4) { $0.storeBytes(of: Int32(e.ecn.rawValue), as: Int32.self) }
        }
        if e.hasFrom && !e.from.isWildcard {
            if v4 && e.from.family == .ipv4 {
                add(level: Int32(IPPROTO_IP), type: cplatform_ip_pktinfo(), length: MemoryLayout<cplatform_in_pktinfo>.size) {
                    var info = cplatform_in_pktinfo()
                    info.ipi_spec_dst.s_addr = UInt32(truncatingIfNeeded: e.from.high >> 32).bigEndian
                    $0.storeBytes(of: info, as: cplatform_in_pktinfo.self)
                }
            } else if !v4 && e.from.family == .ipv6 {
                add(level: Int32(IPPROTO_IPV6), type: cplatform_ipv6_pktinfo(), length: MemoryLayout<cplatform_in6_pktinfo>.size) {
                    $0.initializeMemory(as: UInt8.self, repeating: 0, count: MemoryLayout<cplatform_in6_pktinfo>.size)
                    $0.storeBytes(of: e.from.high.bigEndian, toByteOffset: 0, as: UInt64.self)
                    $0.storeBytes(of: e.from.low.bigEndian, toByteOffset: 8, as: UInt64.self)
                    $0.storeBytes(of: e.from.scopeID, toByteOffset: 16, as: UInt32.self)
                }
            }
        }
        return offset
    }

    /// Removes the first `k` planned messages from the queue.
    private func consume(_ k: Int, dropped: Bool) {
        let q = sendQueue
        var datagrams = 0
        for i in 0..<k { datagrams += q.plan[i].datagrams }
        if dropped {
            statistics.sendErrors += datagrams
        } else {
            statistics.sentMessages += k
            statistics.sentDatagrams += datagrams
        }
        let last = q.plan[k - 1]
        while q.count > 0 && q.head != last.entry { q.pop() }
        guard q.count > 0 else { return }
        if last.endOffset >= q.entries[q.head].length {
            q.pop()
        } else {
            q.entries[q.head].sentOffset = last.endOffset
        }
    }
}
